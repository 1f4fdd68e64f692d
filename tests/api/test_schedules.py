"""Recurring session patterns over HTTP: setting one plans its sessions, changing or ending one replaces only
the future sessions nobody has touched.

The clock stands on Monday 23 November 2026, 14:00 UTC (GMT). Children are admitted then, so an enrolment of
8 planned weeks ends on Monday 18 January 2027, and a Tuesday 18:00 pattern plans eight sessions:
24 November, 1, 8, 15, 22 and 29 December, 5 and 12 January.
"""

from __future__ import annotations

import uuid
from datetime import date, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from api.accounts.models import AppUser
from api.actors import Role
from api.audit.models import AuditEvent
from api.changes.models import ChangeEvent
from api.changes.rules import ChangeOp
from api.enrolments.models import Enrolment
from api.enrolments.rules import EnrolmentStatus
from api.schedules.models import SessionPattern
from api.sessions.models import MentoringSession, SessionAttendee
from api.sessions.rules import SessionStatus
from tests.builders import Team, admit_child, make_cohort, make_user, utc
from tests.conftest import DEFAULT_NOW

TUESDAY, THURSDAY = 2, 4


EIGHT_TUESDAYS = [
    utc(2026, 11, 24, 18),
    utc(2026, 12, 1, 18),
    utc(2026, 12, 8, 18),
    utc(2026, 12, 15, 18),
    utc(2026, 12, 22, 18),
    utc(2026, 12, 29, 18),
    utc(2027, 1, 5, 18),
    utc(2027, 1, 12, 18),
]


@pytest.fixture()
def team(db_session, clock) -> Team:
    return Team(db_session, clock, planned_weeks=8)


def pattern_body(*slots: tuple[int, str], **fields: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "slots": [{"weekday": weekday, "start": start} for weekday, start in slots],
        "duration_minutes": 60,
        "location_category": "community_venue",
    }
    return body | fields


def set_pattern(client, team: Team, enrolment: Enrolment, body: dict[str, Any], *, by: AppUser | None = None):
    return client.post(f"/enrolments/{enrolment.id}/patterns", json=body, headers=team.headers(by))


def pattern_set(client, team: Team, enrolment: Enrolment, *slots: tuple[int, str], **fields: Any) -> dict[str, Any]:
    response = set_pattern(client, team, enrolment, pattern_body(*slots, **fields))
    assert response.status_code == 201, response.json
    return response.json


def change(client, team: Team, pattern_id, body: dict[str, Any], *, if_match: str | None, by: AppUser | None = None):
    extra = {"If-Match": if_match} if if_match is not None else {}
    return client.put(f"/patterns/{pattern_id}", json=body, headers=team.headers(by, **extra))


def end(client, team: Team, pattern_id, *, if_match: str | None, by: AppUser | None = None):
    extra = {"If-Match": if_match} if if_match is not None else {}
    return client.post(f"/patterns/{pattern_id}/end", headers=team.headers(by, **extra))


def patch_session(client, team: Team, session_id, body: dict[str, Any], *, if_match: str = '"1"'):
    response = client.patch(f"/sessions/{session_id}", json=body, headers=team.headers(**{"If-Match": if_match}))
    assert response.status_code == 200, response.json
    return response.json


def plan_session(client, team: Team, enrolment: Enrolment, start: datetime) -> dict[str, Any]:
    body = {
        "enrolment_ids": [str(enrolment.id)],
        "kind": "one_to_one",
        "location_category": "home",
        "planned_start_at": start.isoformat(),
        "planned_end_at": (start + timedelta(hours=1)).isoformat(),
    }
    response = client.post("/sessions", json=body, headers=team.headers())
    assert response.status_code == 201, response.json
    return response.json


def error(response) -> tuple[int, str]:
    return response.status_code, response.json["reason"]


def at(value: str) -> datetime:
    return datetime.fromisoformat(value)


def pattern_sessions(db_session: Session, pattern_id) -> list[tuple[datetime, SessionStatus, int]]:
    """(start, status, version) of every session the pattern made, in time order, read straight from the table."""
    rows = db_session.execute(
        select(MentoringSession.planned_start_at, MentoringSession.status, MentoringSession.version)
        .where(MentoringSession.pattern_id == uuid.UUID(str(pattern_id)))
        .order_by(MentoringSession.planned_start_at)
    ).all()
    return [tuple(row) for row in rows]


def starts_of(db_session: Session, pattern_id) -> list[datetime]:
    return [start for start, _, _ in pattern_sessions(db_session, pattern_id)]


def child_session_starts(db_session: Session, enrolment: Enrolment) -> list[datetime]:
    return list(
        db_session.scalars(
            select(MentoringSession.planned_start_at)
            .join(SessionAttendee, SessionAttendee.session_id == MentoringSession.id)
            .where(SessionAttendee.enrolment_id == enrolment.id)
            .order_by(MentoringSession.planned_start_at)
        )
    )


def list_sessions(client, team: Team, enrolment: Enrolment, starts_from: datetime, starts_before: datetime):
    response = client.get(
        "/sessions",
        query_string={
            "child_id": str(enrolment.child_id),
            "starts_from": starts_from.isoformat(),
            "starts_before": starts_before.isoformat(),
            "page_size": 100,
        },
        headers=team.headers(),
    )
    assert response.status_code == 200, response.json
    return response.json


def count(db_session: Session, model: Any, *conditions: Any) -> int:
    return db_session.scalar(select(func.count()).select_from(model).where(*conditions))


# --- setting a pattern ---------------------------------------------------------------------------------------


def test_a_mentor_sets_a_weekly_pattern_and_sessions_are_planned_to_the_enrolments_planned_end(
    client, db_session, team
):
    enrolment = team.child()

    response = set_pattern(client, team, enrolment, pattern_body((TUESDAY, "18:00"), location_category="home"))

    assert response.status_code == 201
    assert response.headers["ETag"] == '"1"'
    body = response.json
    assert uuid.UUID(body["id"])
    assert {key: value for key, value in body.items() if key != "id"} == {
        "enrolment_id": str(enrolment.id),
        "child_id": str(enrolment.child_id),
        "mentor_id": str(team.mentor.id),
        "slots": [{"weekday": 2, "start": "18:00"}],
        "duration_minutes": 60,
        "kind": "one_to_one",
        "location_category": "home",
        "starts_on": "2026-11-23",
        "ends_on": "2027-01-18",
        "ended_at": None,
        "version": 1,
        "sessions_planned": 8,
        "sessions_removed": 0,
        "weeks_skipped_at_cap": [],
    }
    assert pattern_sessions(db_session, body["id"]) == [(start, SessionStatus.PLANNED, 1) for start in EIGHT_TUESDAYS]


def test_the_planned_sessions_are_ordinary_sessions_of_the_child_led_by_the_key_worker(client, team):
    enrolment = team.child()
    pattern = pattern_set(client, team, enrolment, (TUESDAY, "18:00"), duration_minutes=90, kind="phone_video")

    sessions = list_sessions(client, team, enrolment, utc(2026, 11, 23), utc(2026, 12, 2))

    assert [
        (
            session["planned_start_at"],
            session["planned_end_at"],
            session["status"],
            session["kind"],
            session["location_category"],
            session["mentor_id"],
            session["pattern_id"],
            session["week"],
            session["version"],
            [attendee["enrolment_id"] for attendee in session["attendees"]],
        )
        for session in sessions
    ] == [
        (
            "2026-11-24T18:00:00+00:00",
            "2026-11-24T19:30:00+00:00",
            "planned",
            "phone_video",
            "community_venue",
            str(team.mentor.id),
            pattern["id"],
            "2026-W48",
            1,
            [str(enrolment.id)],
        ),
        (
            "2026-12-01T18:00:00+00:00",
            "2026-12-01T19:30:00+00:00",
            "planned",
            "phone_video",
            "community_venue",
            str(team.mentor.id),
            pattern["id"],
            "2026-W49",
            1,
            [str(enrolment.id)],
        ),
    ]


def test_several_slots_plan_a_session_for_each_slot_each_week(client, db_session, team):
    enrolment = team.child()

    body = pattern_set(client, team, enrolment, (THURSDAY, "16:30"), (TUESDAY, "18:00"))

    assert body["slots"] == [{"weekday": 2, "start": "18:00"}, {"weekday": 4, "start": "16:30"}]
    assert body["sessions_planned"] == 16
    starts = starts_of(db_session, body["id"])
    assert starts[:4] == [
        utc(2026, 11, 24, 18),
        utc(2026, 11, 26, 16, 30),
        utc(2026, 12, 1, 18),
        utc(2026, 12, 3, 16, 30),
    ]
    assert starts[-1] == utc(2027, 1, 14, 16, 30)


def test_an_occurrence_on_the_planned_end_date_itself_is_planned(client, db_session, team):
    enrolment = team.child()

    body = pattern_set(client, team, enrolment, (1, "10:00"))  # Mondays; the enrolment ends Monday 18 January

    assert starts_of(db_session, body["id"])[-1] == utc(2027, 1, 18, 10)


def test_occurrences_already_past_today_are_not_planned(client, db_session, team):
    enrolment = team.child()

    # Monday 23 November: 13:00 is an hour ago, 15:00 is an hour away.
    earlier = pattern_set(client, team, enrolment, (1, "13:00"))
    later = pattern_set(client, team, team.child(), (1, "15:00"))

    assert (earlier["sessions_planned"], starts_of(db_session, earlier["id"])[0]) == (8, utc(2026, 11, 30, 13))
    assert (later["sessions_planned"], starts_of(db_session, later["id"])[0]) == (9, utc(2026, 11, 23, 15))


def test_a_pattern_may_start_on_a_later_date(client, db_session, team):
    enrolment = team.child()

    body = pattern_set(client, team, enrolment, (TUESDAY, "18:00"), starts_on="2026-12-15")

    assert (body["starts_on"], body["sessions_planned"]) == ("2026-12-15", 5)
    assert starts_of(db_session, body["id"]) == EIGHT_TUESDAYS[3:]


def test_a_start_date_in_the_past_starts_the_pattern_today(client, db_session, team):
    enrolment = team.child()

    body = pattern_set(client, team, enrolment, (TUESDAY, "18:00"), starts_on="2026-10-01")

    assert (body["starts_on"], body["sessions_planned"]) == ("2026-11-23", 8)
    assert starts_of(db_session, body["id"]) == EIGHT_TUESDAYS


def test_a_week_other_sessions_already_fill_is_skipped_and_reported(client, db_session, team):
    enrolment = team.child()
    # Week 2026-W49 (30 November to 6 December) already holds three sessions: the cap.
    for start in (utc(2026, 11, 30, 10), utc(2026, 12, 2, 10), utc(2026, 12, 3, 10)):
        plan_session(client, team, enrolment, start)

    body = pattern_set(client, team, enrolment, (TUESDAY, "18:00"))

    assert (body["sessions_planned"], body["weeks_skipped_at_cap"]) == (7, ["2026-W49"])
    assert starts_of(db_session, body["id"]) == [EIGHT_TUESDAYS[0], *EIGHT_TUESDAYS[2:]]


def test_a_week_with_room_for_only_one_more_plans_one_of_two_slots_and_reports_the_week_once(client, db_session, team):
    enrolment = team.child()
    for start in (utc(2026, 11, 30, 10), utc(2026, 12, 2, 10)):
        plan_session(client, team, enrolment, start)

    body = pattern_set(client, team, enrolment, (TUESDAY, "18:00"), (THURSDAY, "18:00"))

    assert (body["sessions_planned"], body["weeks_skipped_at_cap"]) == (15, ["2026-W49"])
    in_week_49 = [start for start in starts_of(db_session, body["id"]) if utc(2026, 11, 30) <= start < utc(2026, 12, 7)]
    assert in_week_49 == [utc(2026, 12, 1, 18)]


def test_cancelled_sessions_do_not_fill_a_week(client, team):
    enrolment = team.child()
    sessions = [plan_session(client, team, enrolment, start) for start in (utc(2026, 11, 30, 10), utc(2026, 12, 2, 10))]
    third = plan_session(client, team, enrolment, utc(2026, 12, 3, 10))
    patch_session(client, team, third["id"], {"status": "cancelled_by_child"})
    assert len(sessions) == 2

    body = pattern_set(client, team, enrolment, (TUESDAY, "18:00"))

    assert (body["sessions_planned"], body["weeks_skipped_at_cap"]) == (8, [])


def test_a_raised_cap_for_one_week_lets_the_pattern_plan_in_that_week(client, db_session, team):
    enrolment = team.child()
    for start in (utc(2026, 11, 30, 10), utc(2026, 12, 2, 10), utc(2026, 12, 3, 10)):
        plan_session(client, team, enrolment, start)
    override = client.put(
        f"/enrolments/{enrolment.id}/weekly-cap-overrides",
        json={"week": "2026-W49", "max_sessions": 4, "reason": "Extra support during a school exclusion."},
        headers=team.headers(team.coordinator),
    )
    assert override.status_code == 200, override.json

    body = pattern_set(client, team, enrolment, (TUESDAY, "18:00"))

    assert (body["sessions_planned"], body["weeks_skipped_at_cap"]) == (8, [])


def test_a_lowered_cap_for_one_week_makes_the_pattern_skip_that_week(client, db_session, team):
    enrolment = team.child()
    plan_session(client, team, enrolment, utc(2026, 11, 30, 10))
    override = client.put(
        f"/enrolments/{enrolment.id}/weekly-cap-overrides",
        json={"week": "2026-W49", "max_sessions": 1, "reason": "A week of exams: one session only."},
        headers=team.headers(team.coordinator),
    )
    assert override.status_code == 200, override.json

    body = pattern_set(client, team, enrolment, (TUESDAY, "18:00"))

    assert (body["sessions_planned"], body["weeks_skipped_at_cap"]) == (7, ["2026-W49"])


def test_a_group_session_led_by_another_mentor_fills_the_childs_week_for_the_pattern(client, db_session, team):
    # The same count as planning one session: per child, across every mentor and group session.
    enrolment, other_mentor = team.child(), make_user(db_session, Role.MENTOR, programme=team.programme)
    classmate = team.child(other_mentor)
    for start in (utc(2026, 11, 30, 10), utc(2026, 12, 2, 10), utc(2026, 12, 3, 10)):
        group = {
            "enrolment_ids": [str(enrolment.id), str(classmate.id)],
            "mentor_id": str(other_mentor.id),
            "kind": "group",
            "location_category": "community_venue",
            "planned_start_at": start.isoformat(),
            "planned_end_at": (start + timedelta(hours=1)).isoformat(),
        }
        response = client.post("/sessions", json=group, headers=team.headers(team.coordinator))
        assert response.status_code == 201, response.json

    body = pattern_set(client, team, enrolment, (TUESDAY, "18:00"))

    assert (body["sessions_planned"], body["weeks_skipped_at_cap"]) == (7, ["2026-W49"])


def test_a_pattern_with_more_slots_a_week_than_the_cohort_allows_is_refused_and_plans_nothing(
    client, db_session, clock
):
    team = Team(db_session, clock, max_sessions_per_week=2, planned_weeks=8)
    enrolment = team.child()

    response = set_pattern(client, team, enrolment, pattern_body((1, "16:00"), (TUESDAY, "18:00"), (THURSDAY, "18:00")))

    assert error(response) == (409, "pattern_exceeds_weekly_cap")
    assert (response.json["max_sessions"], response.json["slots"]) == (2, 3)
    assert count(db_session, SessionPattern, SessionPattern.enrolment_id == enrolment.id) == 0
    assert child_session_starts(db_session, enrolment) == []


def test_as_many_slots_as_the_cohort_allows_is_accepted(client, db_session, clock):
    team = Team(db_session, clock, max_sessions_per_week=2, planned_weeks=8)

    body = pattern_set(client, team, team.child(), (TUESDAY, "18:00"), (THURSDAY, "18:00"))

    assert body["sessions_planned"] == 16


def test_a_slot_listed_twice_is_refused(client, db_session, team):
    enrolment = team.child()

    response = set_pattern(client, team, enrolment, pattern_body((TUESDAY, "18:00"), (TUESDAY, "18:00")))

    assert error(response) == (422, "invalid_pattern")
    assert list(response.json["errors"]) == ["slots"]
    assert count(db_session, SessionPattern, SessionPattern.enrolment_id == enrolment.id) == 0
    assert child_session_starts(db_session, enrolment) == []


@pytest.mark.parametrize(
    "slot",
    [
        {"weekday": 2, "start": "25:00"},
        {"weekday": 2, "start": "24:00"},
        {"weekday": 2, "start": "18:60"},
        {"weekday": 2, "start": "6:00"},
        {"weekday": 2, "start": "18:00:00"},
        {"weekday": 2, "start": "six"},
        {"weekday": 0, "start": "18:00"},
        {"weekday": 8, "start": "18:00"},
        {"weekday": 2},
        {"start": "18:00"},
    ],
    ids=["25h", "24h", "60min", "one-digit-hour", "seconds", "words", "weekday-0", "weekday-8", "no-start", "no-day"],
)
def test_a_slot_that_is_not_an_iso_weekday_and_24_hour_time_is_refused(client, db_session, team, slot):
    enrolment = team.child()
    body = pattern_body() | {"slots": [slot]}

    response = set_pattern(client, team, enrolment, body)

    assert error(response) == (422, "invalid_request")
    assert "slots" in response.json["errors"]
    assert child_session_starts(db_session, enrolment) == []


@pytest.mark.parametrize(
    ("field", "value"),
    [("slots", []), ("duration_minutes", 14), ("duration_minutes", 481), ("location_category", "moon")],
)
def test_a_pattern_needs_slots_a_sensible_duration_and_a_known_place(client, team, field, value):
    response = set_pattern(client, team, team.child(), pattern_body((TUESDAY, "18:00")) | {field: value})

    assert error(response) == (422, "invalid_request")
    assert field in response.json["errors"]


def test_a_coordinator_sets_a_pattern_and_its_sessions_are_led_by_the_childs_key_worker(client, db_session, team):
    enrolment = team.child()

    response = set_pattern(client, team, enrolment, pattern_body((TUESDAY, "18:00")), by=team.coordinator)

    assert response.status_code == 201
    assert response.json["mentor_id"] == str(team.mentor.id)
    mentors = db_session.scalars(
        select(MentoringSession.mentor_id).where(MentoringSession.pattern_id == uuid.UUID(response.json["id"]))
    ).all()
    assert set(mentors) == {team.mentor.id} and len(mentors) == 8


def test_a_coordinator_cannot_set_a_pattern_before_a_key_worker_is_allocated(client, db_session, team):
    enrolment = team.admit()
    assert enrolment.status is EnrolmentStatus.ACTIVE

    response = set_pattern(client, team, enrolment, pattern_body((TUESDAY, "18:00")), by=team.coordinator)

    assert error(response) == (422, "invalid_pattern")
    assert count(db_session, SessionPattern, SessionPattern.enrolment_id == enrolment.id) == 0
    assert child_session_starts(db_session, enrolment) == []


def test_a_mentor_cannot_set_a_pattern_for_a_child_they_are_not_key_worker_for(client, db_session, team):
    enrolment = team.child(mentor=make_user(db_session, Role.MENTOR, programme=team.programme))

    response = set_pattern(client, team, enrolment, pattern_body((TUESDAY, "18:00")))

    assert error(response) == (404, "enrolment_not_found")
    assert child_session_starts(db_session, enrolment) == []


def test_a_coordinator_of_another_programme_cannot_set_a_pattern(client, db_session, team):
    stranger = make_user(db_session, Role.COORDINATOR)

    response = set_pattern(client, team, team.child(), pattern_body((TUESDAY, "18:00")), by=stranger)

    assert error(response) == (404, "enrolment_not_found")


def test_an_unknown_enrolment_is_not_found(client, team):
    response = client.post(
        f"/enrolments/{uuid.uuid4()}/patterns", json=pattern_body((2, "18:00")), headers=team.headers()
    )

    assert error(response) == (404, "enrolment_not_found")


def test_a_commissioner_may_not_set_patterns(client, db_session, team):
    enrolment = team.child()

    response = set_pattern(client, team, enrolment, pattern_body((TUESDAY, "18:00")), by=team.user(Role.COMMISSIONER))

    assert error(response) == (403, "forbidden")
    assert child_session_starts(db_session, enrolment) == []


def test_setting_a_pattern_needs_a_signed_in_caller(client, team):
    response = client.post(f"/enrolments/{team.child().id}/patterns", json=pattern_body((TUESDAY, "18:00")))

    assert response.status_code == 401


def test_no_pattern_for_a_child_still_on_the_waitlist(client, db_session, clock):
    team = Team(db_session, clock, planned_weeks=8)
    team.cohort.places = 0
    db_session.commit()
    waiting = admit_child(db_session, cohort=team.cohort, by=team.coordinator, now=clock.now())
    assert waiting.status is EnrolmentStatus.WAITLISTED

    response = set_pattern(client, team, waiting, pattern_body((TUESDAY, "18:00")), by=team.coordinator)

    assert error(response) == (409, "enrolment_not_active")


def test_a_retried_create_with_the_same_idempotency_key_plans_the_sessions_once(client, db_session, team):
    enrolment = team.child()
    headers = team.headers(**{"Idempotency-Key": "pattern-retry-1"})
    body = pattern_body((TUESDAY, "18:00"))

    first = client.post(f"/enrolments/{enrolment.id}/patterns", json=body, headers=headers)
    again = client.post(f"/enrolments/{enrolment.id}/patterns", json=body, headers=headers)

    assert (first.status_code, again.status_code) == (201, 201)
    assert again.json == first.json
    assert count(db_session, SessionPattern, SessionPattern.enrolment_id == enrolment.id) == 1
    assert len(child_session_starts(db_session, enrolment)) == 8


# --- wall-clock time across the changes -----------------------------------------------------------------------


class TestAcrossTheClockChanges:
    """A year-long enrolment: Tuesday 18:00 London is 18:00 UTC in GMT and 17:00 UTC in BST."""

    @pytest.fixture()
    def year(self, client, db_session, clock):
        team = Team(db_session, clock, planned_weeks=52)
        enrolment = team.child()
        pattern = pattern_set(client, team, enrolment, (TUESDAY, "18:00"))
        return team, enrolment, pattern

    def test_the_pattern_runs_for_the_whole_planned_year(self, year):
        _, _, pattern = year

        assert (pattern["ends_on"], pattern["sessions_planned"]) == ("2027-11-22", 52)

    def test_tuesday_1800_moves_to_1700_utc_when_the_clocks_go_forward(self, client, year):
        team, enrolment, _ = year

        sessions = list_sessions(client, team, enrolment, utc(2027, 3, 15), utc(2027, 4, 10))

        assert [(at(s["planned_start_at"]), at(s["planned_end_at"]), s["is_evening"]) for s in sessions] == [
            (utc(2027, 3, 16, 18), utc(2027, 3, 16, 19), True),
            (utc(2027, 3, 23, 18), utc(2027, 3, 23, 19), True),
            (utc(2027, 3, 30, 17), utc(2027, 3, 30, 18), True),
            (utc(2027, 4, 6, 17), utc(2027, 4, 6, 18), True),
        ]
        assert [s["week"] for s in sessions] == ["2027-W11", "2027-W12", "2027-W13", "2027-W14"]

    def test_tuesday_1800_moves_back_to_1800_utc_when_the_clocks_go_back(self, client, year):
        team, enrolment, _ = year

        # BST ends on Sunday 31 October 2027.
        sessions = list_sessions(client, team, enrolment, utc(2027, 10, 18), utc(2027, 11, 10))

        assert [(at(s["planned_start_at"]), s["is_evening"]) for s in sessions] == [
            (utc(2027, 10, 19, 17), True),
            (utc(2027, 10, 26, 17), True),
            (utc(2027, 11, 2, 18), True),
            (utc(2027, 11, 9, 18), True),
        ]

    def test_every_session_of_the_year_starts_at_1800_london_time(self, db_session, year):
        from zoneinfo import ZoneInfo

        _, _, pattern = year
        london = [start.astimezone(ZoneInfo("Europe/London")) for start in starts_of(db_session, pattern["id"])]

        assert len(london) == 52
        assert {(moment.isoweekday(), moment.hour, moment.minute) for moment in london} == {(TUESDAY, 18, 0)}


def test_an_afternoon_slot_is_not_an_evening_even_in_summer(client, db_session, clock):
    team = Team(db_session, clock, planned_weeks=52)
    enrolment = team.child()
    pattern_set(client, team, enrolment, (TUESDAY, "16:30"))

    sessions = list_sessions(client, team, enrolment, utc(2027, 6, 1), utc(2027, 6, 9))

    # 16:30 BST is 15:30 UTC.
    assert [(at(s["planned_start_at"]), s["is_evening"]) for s in sessions] == [
        (utc(2027, 6, 1, 15, 30), False),
        (utc(2027, 6, 8, 15, 30), False),
    ]


# --- listing ------------------------------------------------------------------------------------------------


def test_an_enrolments_patterns_are_listed_oldest_first_and_each_read_is_audited(client, db_session, team):
    enrolment = team.child()
    first = pattern_set(client, team, enrolment, (TUESDAY, "18:00"))
    team.clock.advance(minutes=5)
    second = pattern_set(client, team, enrolment, (THURSDAY, "18:00"))

    response = client.get(f"/enrolments/{enrolment.id}/patterns", headers=team.headers())

    assert response.status_code == 200
    assert [(p["id"], p["slots"], p["version"], p["ended_at"]) for p in response.json] == [
        (first["id"], [{"weekday": 2, "start": "18:00"}], 1, None),
        (second["id"], [{"weekday": 4, "start": "18:00"}], 1, None),
    ]
    assert "sessions_planned" not in response.json[0]
    reads = db_session.execute(
        select(AuditEvent.record_id, AuditEvent.actor_user_id, AuditEvent.child_id).where(
            AuditEvent.action == "pattern.read"
        )
    ).all()
    assert sorted(reads) == sorted((uuid.UUID(p["id"]), team.mentor.id, enrolment.child_id) for p in (first, second))


def test_an_enrolment_without_patterns_lists_none(client, team):
    response = client.get(f"/enrolments/{team.child().id}/patterns", headers=team.headers())

    assert (response.status_code, response.json) == (200, [])


def test_another_mentors_child_patterns_are_not_found(client, db_session, team):
    enrolment = team.child()
    pattern_set(client, team, enrolment, (TUESDAY, "18:00"))
    other = make_user(db_session, Role.MENTOR, programme=team.programme)

    response = client.get(f"/enrolments/{enrolment.id}/patterns", headers=team.headers(other))

    assert error(response) == (404, "enrolment_not_found")


def test_a_commissioner_may_not_list_patterns(client, team):
    response = client.get(f"/enrolments/{team.child().id}/patterns", headers=team.headers(team.user(Role.COMMISSIONER)))

    assert error(response) == (403, "forbidden")


# --- changing a pattern -------------------------------------------------------------------------------------


def test_changing_a_pattern_replaces_its_future_untouched_sessions(client, db_session, team):
    enrolment = team.child()
    pattern = pattern_set(client, team, enrolment, (TUESDAY, "18:00"))

    response = change(
        client, team, pattern["id"], pattern_body((THURSDAY, "17:00"), duration_minutes=45), if_match='"1"'
    )

    assert response.status_code == 200
    assert response.headers["ETag"] == '"2"'
    body = response.json
    assert (body["id"], body["version"], body["slots"], body["duration_minutes"]) == (
        pattern["id"],
        2,
        [{"weekday": 4, "start": "17:00"}],
        45,
    )
    assert (body["sessions_removed"], body["sessions_planned"], body["weeks_skipped_at_cap"]) == (8, 8, [])
    thursdays = [utc(2026, 11, 26, 17) + timedelta(weeks=week) for week in range(8)]
    assert pattern_sessions(db_session, pattern["id"]) == [(start, SessionStatus.PLANNED, 1) for start in thursdays]
    assert child_session_starts(db_session, enrolment) == thursdays
    ends = db_session.scalars(
        select(MentoringSession.planned_end_at).where(MentoringSession.pattern_id == uuid.UUID(pattern["id"]))
    ).all()
    assert {end - start for start, end in zip(sorted(thursdays), sorted(ends), strict=True)} == {timedelta(minutes=45)}


@pytest.mark.parametrize(
    ("touch", "kept_status", "kept_version"),
    [
        # (A future session cannot be logged as held or missed: one that has is past, kept by the test below.)
        ({"status": "cancelled_by_child"}, SessionStatus.CANCELLED_BY_CHILD, 2),
        ({"status": "cancelled_by_mentor"}, SessionStatus.CANCELLED_BY_MENTOR, 2),
        ({"location_category": "school"}, SessionStatus.PLANNED, 2),
    ],
    ids=["cancelled-by-child", "cancelled-by-mentor", "edited"],
)
def test_a_future_session_that_was_logged_cancelled_or_edited_is_kept_when_the_pattern_changes(
    client, db_session, team, touch, kept_status, kept_version
):
    enrolment = team.child()
    pattern = pattern_set(client, team, enrolment, (TUESDAY, "18:00"))
    second = list_sessions(client, team, enrolment, utc(2026, 12, 1), utc(2026, 12, 2))[0]
    patch_session(client, team, second["id"], touch)

    response = change(client, team, pattern["id"], pattern_body((THURSDAY, "18:00")), if_match='"1"')

    assert response.status_code == 200, response.json
    assert (response.json["sessions_removed"], response.json["sessions_planned"]) == (7, 8)
    kept = db_session.execute(
        select(MentoringSession.status, MentoringSession.version, MentoringSession.pattern_id).where(
            MentoringSession.id == uuid.UUID(second["id"])
        )
    ).one()
    assert tuple(kept) == (kept_status, kept_version, uuid.UUID(pattern["id"]))
    tuesdays = [start for start in child_session_starts(db_session, enrolment) if start.isoweekday() == TUESDAY]
    assert tuesdays == [utc(2026, 12, 1, 18)]


def test_a_session_that_has_started_or_is_past_is_kept_when_the_pattern_changes(client, db_session, team):
    enrolment = team.child()
    pattern = pattern_set(client, team, enrolment, (TUESDAY, "18:00"))
    team.travel_to(utc(2026, 12, 1, 18, 30))  # the first session is over, the second has started

    response = change(client, team, pattern["id"], pattern_body((THURSDAY, "18:00")), if_match='"1"')

    assert response.status_code == 200, response.json
    assert (response.json["sessions_removed"], response.json["sessions_planned"]) == (6, 7)
    # The pattern now starts today, Tuesday 1 December; Thursday 26 November is past and not planned.
    assert response.json["starts_on"] == "2026-12-01"
    assert pattern_sessions(db_session, pattern["id"]) == [
        (utc(2026, 11, 24, 18), SessionStatus.PLANNED, 1),
        (utc(2026, 12, 1, 18), SessionStatus.PLANNED, 1),
        *[(utc(2026, 12, 3, 18) + timedelta(weeks=week), SessionStatus.PLANNED, 1) for week in range(7)],
    ]


def test_changing_a_pattern_keeps_everything_touched_and_replaces_the_rest(client, db_session, team):
    enrolment = team.child()
    pattern = pattern_set(client, team, enrolment, (TUESDAY, "18:00"))
    tuesdays = list_sessions(client, team, enrolment, utc(2026, 11, 23), utc(2027, 2, 1))
    patch_session(client, team, tuesdays[1]["id"], {"status": "cancelled_by_mentor"})
    patch_session(client, team, tuesdays[2]["id"], {"status": "cancelled_by_child"})
    patch_session(client, team, tuesdays[3]["id"], {"location_category": "school"})
    team.travel_to(utc(2026, 11, 25, 9))  # the first Tuesday is past

    response = change(client, team, pattern["id"], pattern_body((THURSDAY, "18:00")), if_match='"1"')

    assert response.status_code == 200, response.json
    assert (response.json["sessions_removed"], response.json["sessions_planned"]) == (4, 8)
    kept = {tuesdays[index]["id"] for index in range(4)}
    removed = {session["id"] for session in tuesdays[4:]}
    remaining = {str(session_id) for session_id in db_session.scalars(select(MentoringSession.id))}
    assert kept <= remaining
    assert not removed & remaining
    assert child_session_starts(db_session, enrolment) == sorted(
        EIGHT_TUESDAYS[:4] + [utc(2026, 11, 26, 18) + timedelta(weeks=week) for week in range(8)]
    )


def test_changing_only_the_duration_does_not_plan_a_second_session_beside_a_kept_one(client, db_session, team):
    enrolment = team.child()
    pattern = pattern_set(client, team, enrolment, (TUESDAY, "18:00"))
    tuesdays = list_sessions(client, team, enrolment, utc(2026, 11, 23), utc(2027, 2, 1))
    patch_session(client, team, tuesdays[1]["id"], {"location_category": "school"})  # edited, still planned

    response = change(
        client, team, pattern["id"], pattern_body((TUESDAY, "18:00"), duration_minutes=90), if_match='"1"'
    )

    assert response.status_code == 200, response.json
    assert (response.json["sessions_removed"], response.json["sessions_planned"]) == (7, 7)
    assert child_session_starts(db_session, enrolment) == EIGHT_TUESDAYS


def test_changing_a_pattern_does_not_bring_back_a_cancelled_occurrence(client, db_session, team):
    enrolment = team.child()
    pattern = pattern_set(client, team, enrolment, (TUESDAY, "18:00"))
    tuesdays = list_sessions(client, team, enrolment, utc(2026, 11, 23), utc(2027, 2, 1))
    patch_session(client, team, tuesdays[2]["id"], {"status": "cancelled_by_child"})

    response = change(
        client, team, pattern["id"], pattern_body((TUESDAY, "18:00"), duration_minutes=90), if_match='"1"'
    )

    assert response.status_code == 200, response.json
    planned = db_session.scalars(
        select(MentoringSession.planned_start_at)
        .where(
            MentoringSession.pattern_id == uuid.UUID(pattern["id"]), MentoringSession.status == SessionStatus.PLANNED
        )
        .order_by(MentoringSession.planned_start_at)
    ).all()
    assert planned == EIGHT_TUESDAYS[:2] + EIGHT_TUESDAYS[3:]


def test_a_changed_pattern_skips_weeks_its_kept_sessions_and_others_fill(client, db_session, team):
    enrolment = team.child()
    pattern = pattern_set(client, team, enrolment, (TUESDAY, "18:00"))
    # Week 2026-W49 gets two more sessions besides the pattern's Tuesday, which is then edited: kept, full week.
    plan_session(client, team, enrolment, utc(2026, 11, 30, 10))
    plan_session(client, team, enrolment, utc(2026, 12, 2, 10))
    second = list_sessions(client, team, enrolment, utc(2026, 12, 1), utc(2026, 12, 2))[0]
    patch_session(client, team, second["id"], {"location_category": "school"})

    response = change(client, team, pattern["id"], pattern_body((THURSDAY, "18:00")), if_match='"1"')

    assert (response.json["sessions_planned"], response.json["weeks_skipped_at_cap"]) == (7, ["2026-W49"])


def test_changing_to_more_slots_than_the_cohort_allows_is_refused_and_removes_nothing(client, db_session, clock):
    team = Team(db_session, clock, max_sessions_per_week=1, planned_weeks=8)
    enrolment = team.child()
    pattern = pattern_set(client, team, enrolment, (TUESDAY, "18:00"))

    response = change(
        client, team, pattern["id"], pattern_body((TUESDAY, "18:00"), (THURSDAY, "18:00")), if_match='"1"'
    )

    assert error(response) == (409, "pattern_exceeds_weekly_cap")
    assert starts_of(db_session, pattern["id"]) == EIGHT_TUESDAYS
    assert db_session.scalar(select(SessionPattern.version).where(SessionPattern.id == uuid.UUID(pattern["id"]))) == 1


def test_changing_to_a_slot_listed_twice_is_refused(client, db_session, team):
    enrolment = team.child()
    pattern = pattern_set(client, team, enrolment, (TUESDAY, "18:00"))

    response = change(
        client, team, pattern["id"], pattern_body((THURSDAY, "18:00"), (THURSDAY, "18:00")), if_match='"1"'
    )

    assert error(response) == (422, "invalid_pattern")
    assert starts_of(db_session, pattern["id"]) == EIGHT_TUESDAYS


def test_a_change_from_a_stale_version_is_refused_and_changes_nothing(client, db_session, team):
    enrolment = team.child()
    pattern = pattern_set(client, team, enrolment, (TUESDAY, "18:00"))
    assert change(client, team, pattern["id"], pattern_body((THURSDAY, "18:00")), if_match='"1"').status_code == 200
    before = child_session_starts(db_session, enrolment)

    response = change(client, team, pattern["id"], pattern_body((1, "18:00")), if_match='"1"')

    assert error(response) == (412, "stale_version")
    assert response.json["current_version"] == 2
    assert child_session_starts(db_session, enrolment) == before


def test_a_change_without_if_match_is_refused_and_changes_nothing(client, db_session, team):
    enrolment = team.child()
    pattern = pattern_set(client, team, enrolment, (TUESDAY, "18:00"))

    response = change(client, team, pattern["id"], pattern_body((THURSDAY, "18:00")), if_match=None)

    assert error(response) == (428, "if_match_required")
    assert starts_of(db_session, pattern["id"]) == EIGHT_TUESDAYS


def test_a_weak_etag_is_accepted_for_a_change(client, team):
    pattern = pattern_set(client, team, team.child(), (TUESDAY, "18:00"))

    response = change(client, team, pattern["id"], pattern_body((THURSDAY, "18:00")), if_match='W/"1"')

    assert (response.status_code, response.headers["ETag"]) == (200, '"2"')


def test_a_change_to_a_bad_start_time_is_refused(client, db_session, team):
    pattern = pattern_set(client, team, team.child(), (TUESDAY, "18:00"))

    response = change(client, team, pattern["id"], pattern_body((THURSDAY, "25:00")), if_match='"1"')

    assert error(response) == (422, "invalid_request")
    assert starts_of(db_session, pattern["id"]) == EIGHT_TUESDAYS


def test_a_mentor_cannot_change_a_pattern_for_a_child_they_are_not_key_worker_for(client, db_session, team):
    pattern = pattern_set(client, team, team.child(), (TUESDAY, "18:00"))
    other = make_user(db_session, Role.MENTOR, programme=team.programme)

    response = change(client, team, pattern["id"], pattern_body((THURSDAY, "18:00")), if_match='"1"', by=other)

    assert error(response) == (404, "pattern_not_found")
    assert starts_of(db_session, pattern["id"]) == EIGHT_TUESDAYS


def test_an_unknown_pattern_is_not_found(client, team):
    response = change(client, team, uuid.uuid4(), pattern_body((THURSDAY, "18:00")), if_match='"1"')

    assert error(response) == (404, "pattern_not_found")


def test_a_coordinator_may_change_a_pattern_in_their_programme(client, team):
    pattern = pattern_set(client, team, team.child(), (TUESDAY, "18:00"))

    response = change(
        client, team, pattern["id"], pattern_body((THURSDAY, "18:00")), if_match='"1"', by=team.coordinator
    )

    assert (response.status_code, response.json["mentor_id"]) == (200, str(team.mentor.id))


def test_a_commissioner_may_not_change_a_pattern(client, team):
    pattern = pattern_set(client, team, team.child(), (TUESDAY, "18:00"))

    response = change(
        client, team, pattern["id"], pattern_body((THURSDAY, "18:00")), if_match='"1"', by=team.user(Role.COMMISSIONER)
    )

    assert error(response) == (403, "forbidden")


# --- ending a pattern ---------------------------------------------------------------------------------------


def test_ending_a_pattern_removes_its_future_untouched_sessions_and_keeps_the_rest(client, db_session, team):
    enrolment = team.child()
    pattern = pattern_set(client, team, enrolment, (TUESDAY, "18:00"))
    tuesdays = list_sessions(client, team, enrolment, utc(2026, 11, 23), utc(2027, 2, 1))
    patch_session(client, team, tuesdays[2]["id"], {"status": "cancelled_by_mentor"})
    team.travel_to(utc(2026, 12, 2, 9))

    response = end(client, team, pattern["id"], if_match='"1"')

    assert response.status_code == 200
    assert response.headers["ETag"] == '"2"'
    body = response.json
    assert (body["ended_at"], body["version"], body["sessions_removed"], body["sessions_planned"]) == (
        "2026-12-02T09:00:00+00:00",
        2,
        5,
        0,
    )
    assert pattern_sessions(db_session, pattern["id"]) == [
        (EIGHT_TUESDAYS[0], SessionStatus.PLANNED, 1),
        (EIGHT_TUESDAYS[1], SessionStatus.PLANNED, 1),
        (EIGHT_TUESDAYS[2], SessionStatus.CANCELLED_BY_MENTOR, 2),
    ]
    assert count(db_session, SessionAttendee, SessionAttendee.enrolment_id == enrolment.id) == 3


def test_a_pattern_cannot_be_ended_twice(client, team):
    pattern = pattern_set(client, team, team.child(), (TUESDAY, "18:00"))
    assert end(client, team, pattern["id"], if_match='"1"').status_code == 200

    response = end(client, team, pattern["id"], if_match='"2"')

    assert error(response) == (409, "pattern_ended")


def test_an_ended_pattern_cannot_be_changed(client, db_session, team):
    enrolment = team.child()
    pattern = pattern_set(client, team, enrolment, (TUESDAY, "18:00"))
    assert end(client, team, pattern["id"], if_match='"1"').status_code == 200

    response = change(client, team, pattern["id"], pattern_body((THURSDAY, "18:00")), if_match='"2"')

    assert error(response) == (409, "pattern_ended")
    assert child_session_starts(db_session, enrolment) == []


def test_ending_from_a_stale_version_is_refused_and_removes_nothing(client, db_session, team):
    pattern = pattern_set(client, team, team.child(), (TUESDAY, "18:00"))

    response = end(client, team, pattern["id"], if_match='"7"')

    assert error(response) == (412, "stale_version")
    assert starts_of(db_session, pattern["id"]) == EIGHT_TUESDAYS


def test_ending_without_if_match_is_refused(client, db_session, team):
    pattern = pattern_set(client, team, team.child(), (TUESDAY, "18:00"))

    response = end(client, team, pattern["id"], if_match=None)

    assert error(response) == (428, "if_match_required")
    assert starts_of(db_session, pattern["id"]) == EIGHT_TUESDAYS


def test_another_mentor_cannot_end_the_pattern(client, db_session, team):
    pattern = pattern_set(client, team, team.child(), (TUESDAY, "18:00"))
    other = make_user(db_session, Role.MENTOR, programme=team.programme)

    response = end(client, team, pattern["id"], if_match='"1"', by=other)

    assert error(response) == (404, "pattern_not_found")
    assert starts_of(db_session, pattern["id"]) == EIGHT_TUESDAYS


def test_an_ended_pattern_is_listed_with_when_it_ended(client, team):
    enrolment = team.child()
    pattern = pattern_set(client, team, enrolment, (TUESDAY, "18:00"))
    end(client, team, pattern["id"], if_match='"1"')

    response = client.get(f"/enrolments/{enrolment.id}/patterns", headers=team.headers())

    assert [(p["id"], p["ended_at"], p["version"]) for p in response.json] == [
        (pattern["id"], DEFAULT_NOW.isoformat(), 2)
    ]


# --- the phones' change log and the audit trail -------------------------------------------------------------


def test_sessions_removed_by_a_change_are_logged_as_deletes_for_the_phones(client, db_session, team):
    enrolment = team.child()
    pattern = pattern_set(client, team, enrolment, (TUESDAY, "18:00"))
    tuesdays = list_sessions(client, team, enrolment, utc(2026, 11, 23), utc(2027, 2, 1))
    patch_session(client, team, tuesdays[0]["id"], {"location_category": "school"})

    change(client, team, pattern["id"], pattern_body((THURSDAY, "18:00")), if_match='"1"')

    deletes = db_session.execute(
        select(ChangeEvent.entity_type, ChangeEvent.entity_id, ChangeEvent.child_id).where(
            ChangeEvent.op == ChangeOp.DELETE
        )
    ).all()
    assert sorted(deletes) == sorted(
        ("session", uuid.UUID(session["id"]), enrolment.child_id) for session in tuesdays[1:]
    )


def test_sessions_removed_by_ending_are_logged_as_deletes_for_the_phones(client, db_session, team):
    enrolment = team.child()
    pattern = pattern_set(client, team, enrolment, (TUESDAY, "18:00"))
    tuesdays = list_sessions(client, team, enrolment, utc(2026, 11, 23), utc(2027, 2, 1))

    end(client, team, pattern["id"], if_match='"1"')

    deletes = db_session.scalars(
        select(ChangeEvent.entity_id).where(ChangeEvent.op == ChangeOp.DELETE, ChangeEvent.entity_type == "session")
    ).all()
    assert sorted(deletes) == sorted(uuid.UUID(session["id"]) for session in tuesdays)


def test_every_planned_session_and_the_pattern_itself_are_logged_as_upserts(client, db_session, team):
    enrolment = team.child()

    pattern = pattern_set(client, team, enrolment, (TUESDAY, "18:00"))

    upserts = db_session.execute(
        select(ChangeEvent.entity_type, ChangeEvent.entity_id).where(
            ChangeEvent.op == ChangeOp.UPSERT,
            ChangeEvent.child_id == enrolment.child_id,
            ChangeEvent.entity_type.in_(["session", "pattern"]),
        )
    ).all()
    session_ids = db_session.scalars(
        select(MentoringSession.id).where(MentoringSession.pattern_id == uuid.UUID(pattern["id"]))
    ).all()
    assert sorted(upserts) == sorted(
        [("pattern", uuid.UUID(pattern["id"]))] + [("session", session_id) for session_id in session_ids]
    )


def test_creating_changing_and_ending_a_pattern_are_audited(client, db_session, team):
    enrolment = team.child()
    pattern = pattern_set(client, team, enrolment, (TUESDAY, "18:00"))
    team.clock.advance(minutes=1)
    change(client, team, pattern["id"], pattern_body((THURSDAY, "18:00")), if_match='"1"', by=team.coordinator)
    team.clock.advance(minutes=1)
    end(client, team, pattern["id"], if_match='"2"')

    rows = db_session.execute(
        select(
            AuditEvent.action,
            AuditEvent.actor_user_id,
            AuditEvent.actor_role,
            AuditEvent.record_type,
            AuditEvent.record_id,
            AuditEvent.child_id,
            AuditEvent.occurred_at,
        )
        .where(AuditEvent.action.like("pattern.%"))
        .order_by(AuditEvent.occurred_at)
    ).all()
    pattern_id = uuid.UUID(pattern["id"])
    assert [tuple(row) for row in rows] == [
        ("pattern.create", team.mentor.id, Role.MENTOR, "session_pattern", pattern_id, enrolment.child_id, DEFAULT_NOW),
        (
            "pattern.change",
            team.coordinator.id,
            Role.COORDINATOR,
            "session_pattern",
            pattern_id,
            enrolment.child_id,
            DEFAULT_NOW + timedelta(minutes=1),
        ),
        (
            "pattern.end",
            team.mentor.id,
            Role.MENTOR,
            "session_pattern",
            pattern_id,
            enrolment.child_id,
            DEFAULT_NOW + timedelta(minutes=2),
        ),
    ]


def test_a_refused_pattern_leaves_no_audit_row_or_change(client, db_session, clock):
    team = Team(db_session, clock, max_sessions_per_week=1, planned_weeks=8)
    enrolment = team.child()

    set_pattern(client, team, enrolment, pattern_body((TUESDAY, "18:00"), (THURSDAY, "18:00")))

    assert count(db_session, AuditEvent, AuditEvent.action.like("pattern.%")) == 0
    assert count(db_session, ChangeEvent, ChangeEvent.entity_type.in_(["pattern", "session"])) == 0


def test_the_pattern_date_fields_are_local_dates(client, team):
    body = pattern_set(client, team, team.child(), (TUESDAY, "18:00"))

    assert date.fromisoformat(body["starts_on"]) == date(2026, 11, 23)
    assert date.fromisoformat(body["ends_on"]) == date(2027, 1, 18)


@pytest.mark.parametrize("how", ["end", "move"])
def test_ending_or_moving_an_enrolment_ends_its_patterns_and_their_future_untouched_sessions(client, team, how):
    enrolment = team.child()
    pattern = client.post(
        f"/enrolments/{enrolment.id}/patterns", headers=team.headers(), json=pattern_body((2, "18:00"))
    ).json
    assert pattern["sessions_planned"] > 0
    coordinator = team.headers(team.coordinator)
    if how == "end":
        answer = client.post(f"/enrolments/{enrolment.id}/end", headers=coordinator, json={"reason": "completed"})
    else:
        other = make_cohort(team.db_session, programme=team.programme, places=5, max_sessions_per_week=1)
        answer = client.post(f"/enrolments/{enrolment.id}/move", headers=coordinator, json={"cohort_id": str(other.id)})
    assert answer.status_code in (200, 201)

    patterns = client.get(f"/enrolments/{enrolment.id}/patterns", headers=coordinator)
    sessions = client.get(f"/sessions?child_id={enrolment.child_id}&page_size=100", headers=coordinator).json

    assert patterns.status_code == 200
    assert [(p["id"], p["ended_at"]) for p in patterns.json] == [(pattern["id"], team.clock.now().isoformat())]
    assert sessions == []
