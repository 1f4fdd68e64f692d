"""The duty rota: a programme's coordinators (and admins) say who is on duty for each period, evenings and weekends
included, and see the gaps in cover for the days ahead.

The clock stands on Monday 23 November 2026, 14:00 UTC (GMT). The clocks go forward on Sunday 28 March 2027 and
back on Sunday 31 October 2027.
"""

from __future__ import annotations

import itertools
import uuid
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select

from api.accounts.models import AppUser
from api.actors import Role
from api.audit.models import AuditEvent
from api.duty.models import DutyShift
from tests.builders import Team, make_user, utc
from tests.conftest import DEFAULT_NOW

LONDON = ZoneInfo("Europe/London")
# Ofcom drama numbers, handed out in turn.
MOBILES = (f"+447700900{n:03d}" for n in itertools.cycle(range(1000)))


def on_call(team: Team, role: Role = Role.COORDINATOR, **overrides: Any) -> AppUser:
    """Someone who may be on duty for the team's programme: an active coordinator with a work mobile."""
    return team.user(role, **({"mobile_e164": next(MOBILES)} | overrides))


@pytest.fixture()
def team(db_session, clock) -> Team:
    team = Team(db_session, clock)
    team.coordinator.mobile_e164 = next(MOBILES)
    db_session.commit()
    return team


@pytest.fixture()
def admin(db_session) -> AppUser:
    return make_user(db_session, Role.ADMIN, mobile_e164=next(MOBILES))


def shift_body(team: Team, starts_at: datetime, ends_at: datetime, **fields: Any) -> dict[str, Any]:
    return {
        "coordinator_user_id": str(team.coordinator.id),
        "starts_at": starts_at.isoformat(),
        "ends_at": ends_at.isoformat(),
    } | fields


def add(client, team: Team, starts_at: datetime, ends_at: datetime, *, by: AppUser | None = None, **fields: Any):
    return client.post(
        "/duty-rota", json=shift_body(team, starts_at, ends_at, **fields), headers=team.headers(by or team.coordinator)
    )


def added(client, team: Team, starts_at: datetime, ends_at: datetime, **fields: Any) -> dict[str, Any]:
    response = add(client, team, starts_at, ends_at, **fields)
    assert response.status_code == 201, response.json
    return response.json


def rota(client, team: Team, *, by: AppUser | None = None, **query: str):
    return client.get("/duty-rota", query_string=query, headers=team.headers(by or team.coordinator))


def refused(response) -> tuple[int, str]:
    return response.status_code, response.json["reason"]


def instant(text: str) -> datetime:
    return datetime.fromisoformat(text)


# Tuesday 24 November 2026, the evening and night after the clock's Monday.
EVENING = utc(2026, 11, 24, 18)
MORNING = utc(2026, 11, 25, 8)


# --- adding a shift -----------------------------------------------------------------------------------------


def test_a_coordinator_puts_someone_on_duty_with_a_fallback(client, team, db_session):
    second = on_call(team, display_name="Second Coordinator")
    response = add(client, team, EVENING, MORNING, fallback_user_id=str(second.id))

    assert response.status_code == 201, response.json
    shift = response.json
    assert response.headers["ETag"] == '"1"'
    assert shift["programme_id"] == str(team.programme.id)
    assert shift["coordinator"] == {
        "user_id": str(team.coordinator.id),
        "display_name": team.coordinator.display_name,
        "has_mobile": True,
    }
    assert shift["fallback"] == {"user_id": str(second.id), "display_name": "Second Coordinator", "has_mobile": True}
    assert (instant(shift["starts_at"]), instant(shift["ends_at"])) == (EVENING, MORNING)
    assert shift["created_by_user_id"] == str(team.coordinator.id)
    [event] = db_session.scalars(select(AuditEvent).where(AuditEvent.action == "duty_shift.create")).all()
    assert (event.record_type, str(event.record_id), event.actor_user_id) == (
        "duty_shift",
        shift["id"],
        team.coordinator.id,
    )


def test_a_shift_needs_no_fallback(client, team):
    assert added(client, team, EVENING, MORNING)["fallback"] is None


def test_an_admin_names_the_programme_and_may_be_on_duty_or_fall_back(client, team, admin):
    body = shift_body(team, EVENING, MORNING, fallback_user_id=str(admin.id))
    response = client.post("/duty-rota", json=body, headers=team.headers(admin))
    assert refused(response) == (422, "duty_programme_required")
    assert "programme_id" in response.json["errors"]

    response = client.post(
        "/duty-rota", json=body | {"programme_id": str(team.programme.id)}, headers=team.headers(admin)
    )
    assert response.status_code == 201, response.json
    response = add(client, team, MORNING, MORNING + timedelta(hours=10), coordinator_user_id=str(admin.id))
    assert response.status_code == 201, response.json


@pytest.mark.parametrize("role", [Role.MENTOR, Role.COMMISSIONER])
def test_mentors_and_commissioners_may_not_read_or_manage_the_rota(client, team, role):
    shift = added(client, team, EVENING, MORNING)
    caller = team.user(role)
    headers = team.headers(caller)
    answers = [
        client.get("/duty-rota", headers=headers),
        client.post("/duty-rota", json=shift_body(team, MORNING, MORNING + timedelta(hours=2)), headers=headers),
        client.patch(
            f"/duty-rota/{shift['id']}", json={"fallback_user_id": None}, headers=headers | {"If-Match": '"1"'}
        ),
        client.delete(f"/duty-rota/{shift['id']}", headers=headers),
    ]
    assert [refused(answer) for answer in answers] == [(403, "forbidden")] * 4


def test_a_coordinator_sees_and_manages_only_their_own_programmes_rota(client, team, db_session, clock):
    other = Team(db_session, clock)
    other.coordinator.mobile_e164 = next(MOBILES)
    db_session.commit()
    theirs = added(client, other, EVENING, MORNING)
    headers = team.headers(team.coordinator)

    assert refused(rota(client, team, programme_id=str(other.programme.id))) == (404, "programme_not_found")
    patch = client.patch(
        f"/duty-rota/{theirs['id']}", json={"fallback_user_id": None}, headers=headers | {"If-Match": '"1"'}
    )
    assert refused(patch) == (404, "duty_shift_not_found")
    assert refused(client.delete(f"/duty-rota/{theirs['id']}", headers=headers)) == (404, "duty_shift_not_found")
    body = shift_body(team, EVENING, MORNING, programme_id=str(other.programme.id))
    assert refused(client.post("/duty-rota", json=body, headers=headers)) == (404, "programme_not_found")
    assert db_session.scalar(select(DutyShift).where(DutyShift.id == uuid.UUID(theirs["id"]))) is not None


# --- who may be on duty -------------------------------------------------------------------------------------


@pytest.mark.parametrize("field", ["coordinator_user_id", "fallback_user_id"])
def test_someone_without_a_work_mobile_cannot_be_on_the_rota(client, team, field):
    unreachable = on_call(team, mobile_e164=None)
    response = add(client, team, EVENING, MORNING, **{field: str(unreachable.id)})
    assert refused(response) == (422, "duty_person_without_mobile")
    assert list(response.json["errors"]) == [field]


@pytest.mark.parametrize("field", ["coordinator_user_id", "fallback_user_id"])
@pytest.mark.parametrize("who", ["mentor", "commissioner", "inactive coordinator", "other programme", "nobody"])
def test_only_active_coordinators_of_the_programme_or_admins_can_be_on_the_rota(
    client, team, db_session, clock, field, who
):
    if who == "mentor":
        person_id = team.user(Role.MENTOR, mobile_e164=next(MOBILES)).id
    elif who == "commissioner":
        person_id = team.user(Role.COMMISSIONER, mobile_e164=next(MOBILES)).id
    elif who == "inactive coordinator":
        person_id = on_call(team, is_active=False).id
    elif who == "other programme":
        person_id = make_user(db_session, Role.COORDINATOR, mobile_e164=next(MOBILES)).id
    else:
        person_id = "6d1c1e7e-0000-4000-8000-000000000000"
    response = add(client, team, EVENING, MORNING, **{field: str(person_id)})
    assert refused(response) == (422, "duty_person_not_eligible")
    assert list(response.json["errors"]) == [field]


def test_the_fallback_is_someone_other_than_the_coordinator_on_duty(client, team):
    response = add(client, team, EVENING, MORNING, fallback_user_id=str(team.coordinator.id))
    assert refused(response) == (422, "duty_fallback_is_on_duty")


# --- the times ----------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("starts_at", "ends_at", "field"),
    [
        (MORNING, EVENING, "ends_at"),
        (EVENING, EVENING, "ends_at"),
        (EVENING, EVENING + timedelta(days=7, minutes=1), "ends_at"),
        (DEFAULT_NOW - timedelta(hours=10), DEFAULT_NOW - timedelta(hours=1), "ends_at"),
    ],
    ids=["ends before it starts", "no length", "longer than a week", "over already"],
)
def test_a_shift_ends_after_it_starts_in_the_future_within_a_week(client, team, starts_at, ends_at, field):
    response = add(client, team, starts_at, ends_at)
    assert refused(response) == (422, "invalid_duty_shift_times")
    assert list(response.json["errors"]) == [field]


def test_a_shift_of_exactly_a_week_is_allowed(client, team):
    assert add(client, team, EVENING, EVENING + timedelta(days=7)).status_code == 201


def test_times_without_an_offset_are_refused(client, team):
    body = shift_body(team, EVENING, MORNING) | {"starts_at": "2026-11-24T18:00:00"}
    response = client.post("/duty-rota", json=body, headers=team.headers(team.coordinator))
    assert response.status_code == 422
    assert "starts_at" in response.json["errors"]


def test_the_night_the_clocks_go_back_an_evening_to_morning_shift_lasts_15_hours(client, team):
    # Saturday 30 October 2027, 18:00 BST, to Sunday 31 October, 08:00 GMT.
    starts_at = datetime(2027, 10, 30, 18, tzinfo=LONDON)
    ends_at = datetime(2027, 10, 31, 8, tzinfo=LONDON)
    shift = added(client, team, starts_at, ends_at)

    assert shift["starts_at"] == "2027-10-30T18:00:00+01:00"
    assert shift["ends_at"] == "2027-10-31T08:00:00+00:00"
    assert instant(shift["ends_at"]) - instant(shift["starts_at"]) == timedelta(hours=15)
    answer = rota(client, team, **{"from": "2027-10-30T17:00:00Z", "to": "2027-10-31T09:00:00Z"}).json
    assert [(instant(gap["starts_at"]), instant(gap["ends_at"])) for gap in answer["gaps"]] == [
        (utc(2027, 10, 31, 8), utc(2027, 10, 31, 9))
    ]


def test_the_night_the_clocks_go_forward_an_evening_to_morning_shift_lasts_13_hours(client, team):
    # Saturday 27 March 2027, 18:00 GMT, to Sunday 28 March, 08:00 BST.
    starts_at = datetime(2027, 3, 27, 18, tzinfo=LONDON)
    ends_at = datetime(2027, 3, 28, 8, tzinfo=LONDON)
    shift = added(client, team, starts_at, ends_at)

    assert (shift["starts_at"], shift["ends_at"]) == ("2027-03-27T18:00:00+00:00", "2027-03-28T08:00:00+01:00")
    assert instant(shift["ends_at"]) - instant(shift["starts_at"]) == timedelta(hours=13)


def test_a_week_on_the_local_calendar_is_a_week_even_when_the_clocks_go_back_in_it(client, team):
    # Saturday to Saturday 18:00 local: 7 days and an hour pass.
    starts_at = datetime(2027, 10, 30, 18, tzinfo=LONDON)
    assert add(client, team, starts_at, datetime(2027, 11, 6, 18, tzinfo=LONDON)).status_code == 201
    response = add(client, team, datetime(2027, 11, 6, 18, tzinfo=LONDON), datetime(2027, 11, 13, 18, 1, tzinfo=LONDON))
    assert refused(response) == (422, "invalid_duty_shift_times")


# --- one person on duty at a time ---------------------------------------------------------------------------


def test_a_shift_overlapping_another_is_refused(client, team):
    added(client, team, EVENING, MORNING)
    second = on_call(team)
    for starts_at, ends_at in [
        (EVENING - timedelta(hours=1), EVENING + timedelta(minutes=1)),
        (MORNING - timedelta(minutes=1), MORNING + timedelta(hours=1)),
        (EVENING + timedelta(hours=1), MORNING - timedelta(hours=1)),
        (EVENING - timedelta(hours=1), MORNING + timedelta(hours=1)),
    ]:
        response = add(client, team, starts_at, ends_at, coordinator_user_id=str(second.id))
        assert refused(response) == (409, "duty_shift_overlaps"), (starts_at, ends_at)


def test_a_shift_may_start_the_moment_another_ends(client, team):
    added(client, team, EVENING, MORNING)
    assert add(client, team, MORNING, MORNING + timedelta(hours=10)).status_code == 201
    assert add(client, team, EVENING - timedelta(hours=4), EVENING).status_code == 201


def test_another_programmes_shifts_do_not_clash(client, team, db_session, clock):
    other = Team(db_session, clock)
    other.coordinator.mobile_e164 = next(MOBILES)
    db_session.commit()
    added(client, other, EVENING, MORNING)
    assert add(client, team, EVENING, MORNING).status_code == 201


# --- changing and removing ----------------------------------------------------------------------------------


def change(client, team: Team, shift: dict[str, Any], body: dict[str, Any], *, version: int | None = None):
    headers = team.headers(team.coordinator) | {"If-Match": f'"{version or shift["version"]}"'}
    return client.patch(f"/duty-rota/{shift['id']}", json=body, headers=headers)


def test_a_coordinator_changes_who_falls_back_and_the_times(client, team, db_session):
    second = on_call(team)
    shift = added(client, team, EVENING, MORNING, fallback_user_id=str(second.id))

    response = change(
        client, team, shift, {"fallback_user_id": None, "ends_at": (MORNING + timedelta(hours=1)).isoformat()}
    )
    assert response.status_code == 200, response.json
    assert response.headers["ETag"] == '"2"'
    assert response.json["fallback"] is None
    assert instant(response.json["ends_at"]) == MORNING + timedelta(hours=1)
    assert response.json["version"] == 2
    [event] = db_session.scalars(select(AuditEvent).where(AuditEvent.action == "duty_shift.change")).all()
    assert event.details == {"changed": ["ends_at", "fallback_user_id"]}


def test_a_change_checks_what_it_changes(client, team):
    shift = added(client, team, EVENING, MORNING)
    added(client, team, MORNING, MORNING + timedelta(hours=10))

    assert refused(change(client, team, shift, {"ends_at": (MORNING + timedelta(hours=1)).isoformat()})) == (
        409,
        "duty_shift_overlaps",
    )
    unreachable = on_call(team, mobile_e164=None)
    assert refused(change(client, team, shift, {"fallback_user_id": str(unreachable.id)})) == (
        422,
        "duty_person_without_mobile",
    )
    assert refused(change(client, team, shift, {"starts_at": MORNING.isoformat()})) == (422, "invalid_duty_shift_times")
    # Moving a shift within its own time is no overlap with itself.
    assert change(client, team, shift, {"starts_at": (EVENING + timedelta(hours=1)).isoformat()}).status_code == 200


def test_a_change_to_an_old_version_is_refused(client, team):
    shift = added(client, team, EVENING, MORNING)
    assert change(client, team, shift, {"fallback_user_id": None}).status_code == 200

    response = change(client, team, shift, {"fallback_user_id": None}, version=1)
    assert refused(response) == (412, "stale_version")
    assert response.json["current_version"] == 2
    headers = team.headers(team.coordinator)
    response = client.patch(f"/duty-rota/{shift['id']}", json={"fallback_user_id": None}, headers=headers)
    assert refused(response) == (428, "if_match_required")


def test_a_shift_that_is_over_stays_as_the_record_of_who_was_on_duty(client, team):
    shift = added(client, team, DEFAULT_NOW - timedelta(hours=1), DEFAULT_NOW + timedelta(hours=1))
    team.travel_to(DEFAULT_NOW + timedelta(hours=2))

    assert refused(change(client, team, shift, {"fallback_user_id": None})) == (409, "duty_shift_ended")
    response = client.delete(f"/duty-rota/{shift['id']}", headers=team.headers(team.coordinator))
    assert refused(response) == (409, "duty_shift_ended")


def test_removing_a_shift_leaves_a_gap(client, team, db_session):
    shift = added(client, team, EVENING, MORNING)
    response = client.delete(f"/duty-rota/{shift['id']}", headers=team.headers(team.coordinator))

    assert response.status_code == 204
    answer = rota(client, team).json
    assert answer["shifts"] == []
    assert [(instant(gap["starts_at"]), instant(gap["ends_at"])) for gap in answer["gaps"]] == [
        (DEFAULT_NOW, DEFAULT_NOW + timedelta(days=7))
    ]
    actions = db_session.scalars(select(AuditEvent.action).where(AuditEvent.record_id == uuid.UUID(shift["id"])))
    assert sorted(actions) == ["duty_shift.create", "duty_shift.remove"]
    assert refused(client.delete(f"/duty-rota/{shift['id']}", headers=team.headers(team.coordinator))) == (
        404,
        "duty_shift_not_found",
    )


# --- reading the rota and its gaps --------------------------------------------------------------------------


def test_the_rota_shows_the_next_seven_days_with_their_gaps(client, team):
    # On duty from before now until Tuesday 08:00, then nobody until Tuesday 18:00, then the night.
    second = on_call(team, mobile_e164=None)
    first = added(client, team, DEFAULT_NOW - timedelta(hours=2), utc(2026, 11, 24, 8))
    night = added(client, team, EVENING, MORNING, coordinator_user_id=str(on_call(team).id))
    beyond = added(client, team, DEFAULT_NOW + timedelta(days=8), DEFAULT_NOW + timedelta(days=9))

    answer = rota(client, team).json

    assert answer["programme_id"] == str(team.programme.id)
    assert answer["time_zone"] == "Europe/London"
    assert (instant(answer["starts_at"]), instant(answer["ends_at"])) == (DEFAULT_NOW, DEFAULT_NOW + timedelta(days=7))
    assert [shift["id"] for shift in answer["shifts"]] == [first["id"], night["id"]]
    assert beyond["id"] not in str(answer)
    assert [(instant(gap["starts_at"]), instant(gap["ends_at"])) for gap in answer["gaps"]] == [
        (utc(2026, 11, 24, 8), EVENING),
        (MORNING, DEFAULT_NOW + timedelta(days=7)),
    ]
    assert instant(answer["covered_until"]) == utc(2026, 11, 24, 8)
    assert second.id  # someone without a mobile, on no shift, changes nothing


def test_the_rota_says_when_someone_on_it_has_lost_their_mobile(client, team, db_session):
    added(client, team, EVENING, MORNING)
    team.coordinator.mobile_e164 = None
    db_session.commit()

    [shift] = rota(client, team).json["shifts"]
    assert shift["coordinator"]["has_mobile"] is False


def test_no_one_on_duty_now_means_no_cover(client, team):
    added(client, team, EVENING, MORNING)
    assert rota(client, team).json["covered_until"] is None


def test_cover_running_past_the_period_is_covered_to_its_end(client, team):
    added(client, team, DEFAULT_NOW, DEFAULT_NOW + timedelta(days=7))
    added(client, team, DEFAULT_NOW + timedelta(days=7), DEFAULT_NOW + timedelta(days=8))
    answer = rota(client, team, **{"to": (DEFAULT_NOW + timedelta(days=3)).isoformat()}).json
    assert answer["gaps"] == []
    assert instant(answer["covered_until"]) == DEFAULT_NOW + timedelta(days=3)


def test_a_chosen_period_of_up_to_31_days(client, team):
    added(client, team, EVENING + timedelta(days=20), MORNING + timedelta(days=20))
    start, end = DEFAULT_NOW + timedelta(days=19), DEFAULT_NOW + timedelta(days=22)
    answer = rota(client, team, **{"from": start.isoformat(), "to": end.isoformat()}).json
    assert len(answer["shifts"]) == 1
    assert len(answer["gaps"]) == 2

    too_long = rota(
        client, team, **{"from": start.isoformat(), "to": (start + timedelta(days=31, seconds=1)).isoformat()}
    )
    assert refused(too_long) == (422, "invalid_rota_window")
    backwards = rota(client, team, **{"from": end.isoformat(), "to": start.isoformat()})
    assert refused(backwards) == (422, "invalid_rota_window")


def test_an_admin_reads_a_programmes_rota_by_naming_it(client, team, admin):
    added(client, team, EVENING, MORNING)
    assert refused(rota(client, team, by=admin)) == (422, "duty_programme_required")
    answer = rota(client, team, by=admin, programme_id=str(team.programme.id)).json
    assert len(answer["shifts"]) == 1


@pytest.mark.parametrize(
    ("start", "reason"),
    [
        # Found by the fuzzer: a time in year 480 read in Europe/London's local mean time (-00:01:15), an offset no
        # client can parse, was answered.
        ("0480-10-15T04:46:08.7-20:36", "before"),
        ("2024-11-01T00:00:00Z", "before"),
        ("2029-01-01T00:00:00Z", "after"),
    ],
)
def test_the_rota_is_read_only_around_today(client, team, start, reason):
    response = rota(client, team, **{"from": start})

    assert response.status_code == 422
    assert response.json["reason"] == "invalid_rota_window"
    assert "from" in response.json["errors"]


def test_a_shift_is_planned_at_most_two_years_ahead(client, team):
    starts_at = DEFAULT_NOW + timedelta(days=2 * 366 + 1)

    response = add(client, team, starts_at, starts_at + timedelta(hours=12))

    assert response.status_code == 422
    assert "starts_at" in response.json["errors"]


# --- who to phone now (a mentor alone with a child who may be in danger) --------------------------------------------


def on_duty_now(client, team: Team, *, by: AppUser | None = None, **query: str):
    return client.get("/duty-rota/now", query_string=query, headers=team.headers(by or team.mentor))


def test_a_mentor_sees_who_is_on_duty_now_with_their_work_mobile_and_the_fallback(client, team):
    fallback = on_call(team)
    added(
        client,
        team,
        DEFAULT_NOW - timedelta(hours=2),
        DEFAULT_NOW + timedelta(hours=4),
        fallback_user_id=str(fallback.id),
    )

    response = on_duty_now(client, team)

    assert response.status_code == 200, response.json
    assert response.json["on_duty"] == {
        "user_id": str(team.coordinator.id),
        "display_name": team.coordinator.display_name,
        "mobile": team.coordinator.mobile_e164,
    }
    assert response.json["fallback"]["mobile"] == fallback.mobile_e164
    assert instant(response.json["until"]) == DEFAULT_NOW + timedelta(hours=4)


def test_in_a_gap_in_cover_nobody_is_on_duty_and_the_answer_says_so(client, team):
    added(client, team, DEFAULT_NOW + timedelta(hours=1), DEFAULT_NOW + timedelta(hours=4))

    answer = on_duty_now(client, team).json

    assert (answer["on_duty"], answer["fallback"], answer["until"]) == (None, None, None)


def test_a_commissioner_does_not_see_the_duty_numbers(client, team):
    commissioner = team.user(Role.COMMISSIONER)

    assert on_duty_now(client, team, by=commissioner).status_code == 403
