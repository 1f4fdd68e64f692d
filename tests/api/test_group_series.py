"""Group series (issue 17): a series and its sessions made at once, a roster that books its children on the sessions
to come within their weekly caps, leaving cancels those lines, and who completed the series (K of N) from the
registers. The clock stands on Monday 23 November 2026, 14:00 UTC; the series meets on Tuesday evenings from the 24th.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import select

from api.actors import Role
from api.changes.models import ChangeEvent
from api.changes.rules import EntityType
from api.programmes.rules import CohortKind
from api.sessions.models import SessionAttendee
from tests.api.sessions_over_http import ENROLLED_FROM, TUESDAY_EVENING, WEDNESDAY_MORNING, error, planned
from tests.builders import Team, iso, make_cohort

EIGHT_TUESDAYS = [TUESDAY_EVENING + timedelta(weeks=week) for week in range(8)]


@pytest.fixture()
def team(db_session, clock) -> Team:
    return Team(db_session, clock, enrolled_from=ENROLLED_FROM, places=20)


def times(starts: list[datetime], *, minutes: int = 90) -> list[dict[str, str]]:
    return [
        {"planned_start_at": iso(start), "planned_end_at": iso(start + timedelta(minutes=minutes))} for start in starts
    ]


def series_body(team: Team, **fields: Any) -> dict[str, Any]:
    return {
        "programme_id": str(team.programme.id),
        "name": "Staying safe online",
        "capacity": 8,
        "lead_facilitator_id": str(team.mentor.id),
        "location_category": "community_venue",
        "sessions": times(EIGHT_TUESDAYS),
    } | fields


def create(client, team: Team, *, by=None, **fields: Any):
    return client.post("/group-series", json=series_body(team, **fields), headers=team.headers(by or team.coordinator))


def created(client, team: Team, **fields: Any) -> dict[str, Any]:
    response = create(client, team, **fields)
    assert response.status_code == 201, response.json
    return response.json


def join(client, team: Team, series: dict, enrolment, *, by=None):
    return client.post(
        f"/group-series/{series['id']}/members",
        json={"enrolment_id": str(enrolment.id)},
        headers=team.headers(by or team.coordinator),
    )


def joined(client, team: Team, series: dict, enrolment, **kwargs: Any) -> dict[str, Any]:
    response = join(client, team, series, enrolment, **kwargs)
    assert response.status_code == 201, response.json
    return response.json


def read(client, team: Team, series: dict, *, by=None):
    return client.get(f"/group-series/{series['id']}", headers=team.headers(by or team.coordinator))


def lines_of(db_session, enrolment) -> dict[str, str]:
    """The child's register lines, by session id."""
    rows = db_session.execute(
        select(SessionAttendee.session_id, SessionAttendee.attendance).where(
            SessionAttendee.enrolment_id == enrolment.id
        )
    )
    return {str(session_id): attendance.value for session_id, attendance in rows}


# --- creating a series ---------------------------------------------------------------------------------------


def test_a_series_of_eight_is_made_with_its_sessions_led_by_the_lead_facilitator(client, team, db_session):
    response = create(client, team)

    assert response.status_code == 201, response.json
    assert response.headers["ETag"] == '"1"'
    series = response.json
    assert (series["name"], series["capacity"], series["session_count"], series["members"]) == (
        "Staying safe online",
        8,
        8,
        0,
    )
    # Three quarters of eight by default.
    assert series["complete_after_sessions"] == 6
    assert [session["planned_start_at"] for session in series["sessions"]] == [iso(start) for start in EIGHT_TUESDAYS]
    assert {(s["status"], s["mentor_id"], s["booked"]) for s in series["sessions"]} == {
        ("planned", str(team.mentor.id), 0)
    }
    assert series["roster"] == []
    # Each is an ordinary group session, which knows its series.
    session = client.get(f"/sessions/{series['sessions'][0]['id']}", headers=team.headers(team.coordinator)).json
    assert (session["kind"], session["series_id"], session["attendees"]) == ("group", series["id"], [])


def test_a_mentor_creates_a_series_they_lead_by_default(client, team):
    response = create(client, team, by=team.mentor, lead_facilitator_id=None, complete_after_sessions=4)

    assert response.status_code == 201, response.json
    assert (response.json["lead_facilitator_id"], response.json["complete_after_sessions"]) == (str(team.mentor.id), 4)


@pytest.mark.parametrize(
    ("fields", "field"),
    [
        ({"sessions": []}, "sessions"),
        ({"sessions": times([TUESDAY_EVENING + timedelta(days=day) for day in range(25)])}, "sessions"),
        ({"capacity": 0}, "capacity"),
        ({"capacity": 31}, "capacity"),
        ({"sessions": times([TUESDAY_EVENING, TUESDAY_EVENING])}, "sessions.1.planned_start_at"),
        ({"sessions": times([TUESDAY_EVENING], minutes=0)}, "sessions.0.planned_end_at"),
        ({"complete_after_sessions": 9}, "complete_after_sessions"),
    ],
)
def test_a_series_that_breaks_a_rule_is_refused_naming_the_field(client, team, fields, field):
    response = create(client, team, **fields)

    assert response.status_code == 422, response.json
    assert any(key == field or key.startswith(field + ".") for key in response.json["errors"]), response.json


def test_a_facilitator_who_is_not_an_active_mentor_of_the_programme_is_refused(client, team, db_session):
    other_team = Team(db_session)
    coordinator_as_lead = create(client, team, lead_facilitator_id=str(team.coordinator.id))
    foreign_mentor = create(client, team, lead_facilitator_id=str(other_team.mentor.id))
    same_twice = create(client, team, co_facilitator_id=str(team.mentor.id))

    for response, field in (
        (coordinator_as_lead, "lead_facilitator_id"),
        (foreign_mentor, "lead_facilitator_id"),
        (same_twice, "co_facilitator_id"),
    ):
        assert error(response) == (422, "invalid_series")
        assert field in response.json["errors"]


def test_a_coordinator_may_co_facilitate(client, team):
    series = created(client, team, co_facilitator_id=str(team.coordinator.id))

    assert series["co_facilitator_id"] == str(team.coordinator.id)


def test_a_duplicate_name_in_the_programme_is_refused(client, team):
    created(client, team)

    assert error(create(client, team)) == (409, "series_name_taken")


def test_who_may_create_a_series(client, team, db_session):
    other_mentor = team.new_mentor()
    commissioner = team.user(Role.COMMISSIONER)
    other_team = Team(db_session)

    assert error(create(client, team, by=other_mentor)) == (403, "not_a_facilitator")
    assert error(create(client, team, by=commissioner)) == (403, "forbidden")
    assert error(create(client, team, by=other_team.coordinator)) == (404, "programme_not_found")


# --- the roster -------------------------------------------------------------------------------------------


def test_joining_books_the_child_on_every_session_not_yet_started_and_leaving_cancels_them(
    client, team, clock, db_session
):
    series = created(client, team)
    child = team.child()
    team.travel_to(EIGHT_TUESDAYS[0] + timedelta(hours=3))  # the first session is over

    answer = joined(client, team, series, child)

    sessions = [session["id"] for session in answer["sessions"]]
    assert lines_of(db_session, child) == {session_id: "booked" for session_id in sessions[1:]}
    assert [(s["booked"]) for s in answer["sessions"]] == [0] + [1] * 7
    [entry] = answer["roster"]
    assert (entry["child_id"], entry["enrolment_id"], entry["cohort_kind"], entry["left_at"]) == (
        str(child.child_id),
        str(child.id),
        "one_to_one",
        None,
    )
    assert (entry["sessions_attended"], entry["started"], entry["completed"]) == (0, False, False)
    assert "first_name" not in entry

    team.travel_to(EIGHT_TUESDAYS[3] + timedelta(hours=3))
    response = client.delete(
        f"/group-series/{series['id']}/members/{child.child_id}", headers=team.headers(team.coordinator)
    )

    assert response.status_code == 204
    lines = lines_of(db_session, child)
    assert [lines[session_id] for session_id in sessions[1:4]] == ["booked"] * 3  # held (or not): kept
    assert [lines[session_id] for session_id in sessions[4:]] == ["cancelled_by_service"] * 4
    [entry] = read(client, team, series).json["roster"]
    assert entry["left_at"] == iso(EIGHT_TUESDAYS[3] + timedelta(hours=3))


def test_a_child_who_left_may_join_again_and_is_booked_again(client, team, db_session):
    series = created(client, team)
    child = team.child()
    joined(client, team, series, child)
    assert (
        client.delete(
            f"/group-series/{series['id']}/members/{child.child_id}", headers=team.headers(team.coordinator)
        ).status_code
        == 204
    )

    answer = joined(client, team, series, child)

    assert set(lines_of(db_session, child).values()) == {"booked"}
    assert [entry["left_at"] is None for entry in answer["roster"]] == [False, True]
    assert answer["members"] == 1


def test_a_child_on_the_roster_cannot_join_twice_and_one_not_on_it_cannot_leave(client, team):
    series = created(client, team)
    child, other = team.child(), team.child()
    joined(client, team, series, child)

    assert error(join(client, team, series, child)) == (409, "already_on_roster")
    response = client.delete(
        f"/group-series/{series['id']}/members/{other.child_id}", headers=team.headers(team.coordinator)
    )
    assert error(response) == (404, "not_on_roster")


def test_a_full_roster_refuses_the_next_child_with_its_capacity(client, team):
    series = created(client, team, capacity=2)
    for _ in range(2):
        joined(client, team, series, team.child())

    response = join(client, team, series, team.child())

    assert error(response) == (409, "series_full")
    assert (response.json["capacity"], response.json["members"]) == (2, 2)


def test_joining_is_refused_past_the_childs_weekly_cap_with_the_week(client, team, db_session):
    series = created(client, team)
    child = team.child()
    # Three sessions already in the week of the series' second Tuesday (2026-W49): the cap is three.
    for day in range(3):
        planned(client, team, child, WEDNESDAY_MORNING + timedelta(weeks=1, days=day))

    response = join(client, team, series, child)

    assert error(response) == (409, "weekly_session_cap_reached")
    assert (response.json["week"], response.json["child_id"]) == ("2026-W49", str(child.child_id))
    # All or nothing: no line, no roster row.
    assert set(lines_of(db_session, child).values()) == {"booked"} and len(lines_of(db_session, child)) == 3
    assert read(client, team, series).json["roster"] == []


def test_a_child_in_a_group_only_cohort_joins(client, team, db_session):
    group_only = make_cohort(db_session, programme=team.programme, places=5, kind=CohortKind.GROUP_ONLY)
    series = created(client, team)
    child = team.child(cohort=group_only)

    answer = joined(client, team, series, child)

    assert [entry["cohort_kind"] for entry in answer["roster"]] == ["group_only"]
    assert len(lines_of(db_session, child)) == 8


def test_an_enrolment_not_active_or_of_another_programme_is_refused(client, team, db_session):
    series = created(client, team)
    ended = team.child()
    response = client.post(
        f"/enrolments/{ended.id}/end", json={"reason": "completed"}, headers=team.headers(team.coordinator)
    )
    assert response.status_code == 200, response.json
    other_team = Team(db_session, places=5)
    foreign = other_team.child()

    assert error(join(client, team, series, ended)) == (422, "enrolment_not_active_for_series")
    admin = team.user(Role.ADMIN, programme_id=None)
    assert error(join(client, team, series, foreign, by=admin)) == (422, "enrolment_in_another_programme")


def test_a_mentor_facilitating_the_series_adds_only_their_own_caseload(client, team):
    series = created(client, team)
    colleague = team.new_mentor()
    theirs = team.child(colleague)
    mine = team.child()

    assert join(client, team, series, mine, by=team.mentor).status_code == 201
    assert error(join(client, team, series, theirs, by=team.mentor)) == (404, "enrolment_not_found")
    # The colleague reads the series once their child... is not on it: 404, and may not change it either.
    assert error(join(client, team, series, theirs, by=colleague)) == (404, "group_series_not_found")


def test_a_mentor_whose_child_is_on_the_roster_reads_the_series_but_may_not_change_it(client, team):
    series = created(client, team)
    colleague = team.new_mentor()
    theirs = team.child(colleague)
    assert error(read(client, team, series, by=colleague)) == (404, "group_series_not_found")
    joined(client, team, series, theirs)

    assert read(client, team, series, by=colleague).status_code == 200
    assert error(join(client, team, series, team.child(colleague), by=colleague)) == (403, "not_a_facilitator")
    listed = client.get("/group-series", headers=team.headers(colleague)).json
    assert [(brief["id"], brief["members"]) for brief in listed] == [(series["id"], 1)]


# --- completing it ---------------------------------------------------------------------------------------------


def test_a_child_who_attended_k_of_n_completed_the_series(client, team):
    series = created(client, team, complete_after_sessions=2, sessions=times(EIGHT_TUESDAYS[:3]))
    came, started_only = team.child(), team.child()
    for child in (came, started_only):
        joined(client, team, series, child)
    team.travel_to(EIGHT_TUESDAYS[2] + timedelta(hours=3))

    registers = [
        {came: "attended", started_only: "attended"},
        {came: "attended", started_only: "did_not_attend"},
        {came: "did_not_attend", started_only: "cancelled_by_child"},
    ]
    for session, register in zip(read(client, team, series).json["sessions"], registers, strict=True):
        lines = [{"child_id": str(child.child_id), "attendance": attendance} for child, attendance in register.items()]
        response = client.put(
            f"/sessions/{session['id']}/register",
            json={"lines": lines},
            headers=team.headers(team.mentor, **{"If-Match": f'"{session["version"]}"'}),
        )
        assert response.status_code == 200, response.json

    answer = read(client, team, series).json
    assert {
        entry["child_id"]: (entry["sessions_attended"], entry["started"], entry["completed"])
        for entry in answer["roster"]
    } == {str(came.child_id): (2, True, True), str(started_only.child_id): (1, True, False)}
    assert [(s["attended"], s["did_not_attend"], s["cancelled"]) for s in answer["sessions"]] == [
        (2, 0, 0),
        (1, 1, 0),
        (0, 1, 1),
    ]


# --- editing it --------------------------------------------------------------------------------------------------


def patch(client, team: Team, series: dict, body: dict, *, if_match: str | None, by=None):
    extra = {"If-Match": if_match} if if_match is not None else {}
    return client.patch(
        f"/group-series/{series['id']}", json=body, headers=team.headers(by or team.coordinator, **extra)
    )


def test_a_series_is_edited_with_if_match(client, team):
    series = created(client, team)
    for _ in range(3):
        joined(client, team, series, team.child())

    assert error(patch(client, team, series, {"name": "Renamed"}, if_match=None)) == (428, "if_match_required")
    response = patch(client, team, series, {"name": "Renamed", "complete_after_sessions": 5}, if_match='"1"')
    assert response.status_code == 200, response.json
    assert (response.headers["ETag"], response.json["name"], response.json["complete_after_sessions"]) == (
        '"2"',
        "Renamed",
        5,
    )
    stale = patch(client, team, series, {"capacity": 10}, if_match='"1"')
    assert error(stale) == (412, "stale_version")
    below = patch(client, team, series, {"capacity": 2}, if_match='"2"')
    assert error(below) == (409, "capacity_below_roster")
    assert (below.json["capacity"], below.json["members"]) == (2, 3)
    assert error(patch(client, team, series, {"complete_after_sessions": 9}, if_match='"2"')) == (422, "invalid_series")
    cleared = patch(client, team, series, {"co_facilitator_id": None, "capacity": 3}, if_match='"2"')
    assert cleared.status_code == 200, cleared.json
    assert (cleared.json["co_facilitator_id"], cleared.json["capacity"]) == (None, 3)


# --- what the phones hear -----------------------------------------------------------------------------------


def test_every_roster_change_is_logged_for_each_child_on_it_and_one_who_just_left(client, team, db_session):
    series = created(client, team)
    stays, leaves = team.child(), team.child()
    joined(client, team, series, stays)
    joined(client, team, series, leaves)
    before = db_session.scalar(select(ChangeEvent.id).order_by(ChangeEvent.id.desc()).limit(1))

    client.delete(f"/group-series/{series['id']}/members/{leaves.child_id}", headers=team.headers(team.coordinator))

    logged = db_session.execute(
        select(ChangeEvent.entity_id, ChangeEvent.child_id).where(
            ChangeEvent.id > before, ChangeEvent.entity_type == EntityType.GROUP_SERIES.value
        )
    ).all()
    assert sorted((str(entity), str(child)) for entity, child in logged) == sorted(
        [(series["id"], str(stays.child_id)), (series["id"], str(leaves.child_id))]
    )


def test_a_child_whose_support_ends_leaves_every_roster_and_frees_the_place(client, team, db_session):
    series = created(client, team, capacity=1)
    child, waiting = team.child(), team.child()
    joined(client, team, series, child)

    response = client.post(
        f"/enrolments/{child.id}/end",
        json={"reason": "completed", "note": "Support ended."},
        headers=team.headers(team.coordinator),
    )

    assert response.status_code == 200, response.json
    assert set(lines_of(db_session, child).values()) == {"cancelled_by_service"}
    [entry] = read(client, team, series).json["roster"]
    assert entry["left_at"] is not None
    joined(client, team, series, waiting)


def test_a_child_moved_to_another_cohort_leaves_the_series_and_can_be_put_back_through_the_new_place(
    client, team, db_session
):
    series = created(client, team)
    child = team.child()
    joined(client, team, series, child)
    other = make_cohort(db_session, programme=team.programme, places=5)
    db_session.commit()

    response = client.post(
        f"/enrolments/{child.id}/move",
        json={"cohort_id": str(other.id)},
        headers=team.headers(team.coordinator),
    )

    assert response.status_code == 201, response.json
    assert set(lines_of(db_session, child).values()) == {"cancelled_by_service"}
    [entry] = read(client, team, series).json["roster"]
    assert entry["left_at"] is not None
    answer = client.post(
        f"/group-series/{series['id']}/members",
        json={"enrolment_id": response.json["id"]},
        headers=team.headers(team.coordinator),
    )
    assert answer.status_code == 201, answer.json
    assert [entry["enrolment_id"] for entry in answer.json["roster"] if entry["left_at"] is None] == [
        response.json["id"]
    ]
