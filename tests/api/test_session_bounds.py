"""A session falls within its child's planned support, is not a second copy of one already planned, and is not
logged as held (or missed) before it starts: for every way a session is made or moved (issue 17).

The clock stands on Monday 23 November 2026, 14:00 UTC (GMT). Children are enrolled at that moment, with ten
planned weeks of support: their planned end is Monday 1 February 2027.
"""

from __future__ import annotations

import uuid
from datetime import date, timedelta

import pytest
from sqlalchemy import select

from api.enrolments.models import Enrolment
from api.sessions.models import MentoringSession, SessionAttendee
from tests.api.sessions_over_http import error, patch, plan, planned, reschedule
from tests.builders import Team, utc

PLANNED_END = date(2027, 2, 1)
ON_THE_PLANNED_END = utc(2027, 2, 1, 16)
DAY_AFTER_THE_PLANNED_END = utc(2027, 2, 2, 10)
THE_DAY_BEFORE_SUPPORT_STARTED = utc(2026, 11, 22, 10)
EARLIER_ON_THE_DAY_SUPPORT_STARTED = utc(2026, 11, 23, 9)
LATER_TODAY = utc(2026, 11, 23, 17)
TOMORROW = utc(2026, 11, 24, 10)
FEBRUARY = utc(2027, 1, 26, 10)


@pytest.fixture()
def team(db_session, clock) -> Team:
    return Team(db_session, clock, planned_weeks=10)


def starts_of_child(db_session, enrolment: Enrolment) -> list:
    return list(
        db_session.scalars(
            select(MentoringSession.planned_start_at)
            .join(SessionAttendee, SessionAttendee.session_id == MentoringSession.id)
            .where(SessionAttendee.enrolment_id == enrolment.id)
            .order_by(MentoringSession.planned_start_at)
        )
    )


# --- within the enrolment's planned period ---------------------------------------------------------------------


def test_the_enrolment_ends_as_planned_ten_weeks_after_support_started(team):
    assert team.child().planned_end_on == PLANNED_END


def test_a_session_after_the_enrolments_planned_end_is_refused_naming_the_field(client, db_session, team):
    enrolment = team.child()

    response = plan(client, team, enrolment, DAY_AFTER_THE_PLANNED_END)

    assert error(response) == (422, "session_outside_enrolment")
    assert list(response.json["errors"]) == ["planned_start_at"]
    assert "2027-02-01" in response.json["errors"]["planned_start_at"][0]
    assert starts_of_child(db_session, enrolment) == []


def test_a_session_on_the_planned_end_date_itself_is_accepted(client, team):
    assert plan(client, team, team.child(), ON_THE_PLANNED_END).status_code == 201


def test_a_session_logged_as_held_before_support_started_is_refused(client, team):
    response = plan(
        client, team, team.child(), THE_DAY_BEFORE_SUPPORT_STARTED, status="completed", actual_duration_minutes=60
    )

    assert error(response) == (422, "session_outside_enrolment")
    assert list(response.json["errors"]) == ["planned_start_at"]


def test_a_session_logged_earlier_on_the_day_support_started_is_accepted(client, team):
    # The period is counted in the programme's local dates, as the planned end is: the first meeting often comes
    # before the coordinator records the place that morning.
    response = plan(
        client, team, team.child(), EARLIER_ON_THE_DAY_SUPPORT_STARTED, status="completed", actual_duration_minutes=60
    )

    assert response.status_code == 201


def test_a_group_session_is_refused_when_it_falls_outside_any_one_childs_enrolment(client, db_session, clock):
    team = Team(db_session, clock, planned_weeks=52)
    long_support, short_support = team.child(), team.child()
    short_support.planned_end_on = PLANNED_END
    db_session.flush()

    response = plan(client, team, [long_support, short_support], DAY_AFTER_THE_PLANNED_END, kind="group")

    assert error(response) == (422, "session_outside_enrolment")
    assert response.json["child_id"] == str(short_support.child_id)


def test_a_session_cannot_be_rescheduled_past_the_planned_end(client, db_session, team):
    enrolment = team.child()
    created = planned(client, team, enrolment, FEBRUARY)

    response = reschedule(client, team, created["id"], DAY_AFTER_THE_PLANNED_END, if_match='"1"')

    assert error(response) == (422, "session_outside_enrolment")
    assert starts_of_child(db_session, enrolment) == [FEBRUARY]


def test_a_pattern_plans_no_session_after_the_planned_end(client, db_session, team):
    enrolment = team.child()

    response = client.post(
        f"/enrolments/{enrolment.id}/patterns",
        json={
            "slots": [{"weekday": 1, "start": "16:00"}, {"weekday": 2, "start": "10:00"}],
            "duration_minutes": 60,
            "kind": "one_to_one",
            "location_category": "home",
        },
        headers=team.headers(),
    )

    assert response.status_code == 201, response.json
    starts = starts_of_child(db_session, enrolment)
    assert starts[-1] == ON_THE_PLANNED_END
    assert DAY_AFTER_THE_PLANNED_END not in starts


# --- no second copy of a session ---------------------------------------------------------------------------------


def test_a_second_identical_session_is_refused_naming_the_one_already_planned(client, db_session, team):
    enrolment = team.child()
    first = planned(client, team, enrolment, TOMORROW)

    response = plan(client, team, enrolment, TOMORROW)

    assert error(response) == (409, "duplicate_session")
    assert response.json["existing_session_id"] == first["id"]
    assert starts_of_child(db_session, enrolment) == [TOMORROW]


def test_a_session_logged_twice_is_refused_the_second_time(client, team):
    enrolment = team.child()
    held = {"status": "completed", "actual_duration_minutes": 60}
    first = planned(client, team, enrolment, EARLIER_ON_THE_DAY_SUPPORT_STARTED, **held)

    response = plan(client, team, enrolment, EARLIER_ON_THE_DAY_SUPPORT_STARTED, **held)

    assert error(response) == (409, "duplicate_session")
    assert response.json["existing_session_id"] == first["id"]


def test_a_cancelled_session_does_not_block_planning_it_again(client, team):
    enrolment = team.child()
    first = planned(client, team, enrolment, TOMORROW)
    assert patch(client, team, first["id"], {"status": "cancelled_by_child"}, if_match='"1"').status_code == 200

    assert plan(client, team, enrolment, TOMORROW).status_code == 201


def test_the_same_child_at_the_same_time_with_another_mentor_is_not_a_duplicate(client, team):
    enrolment = team.child()
    planned(client, team, enrolment, TOMORROW)
    other = team.new_mentor()

    response = plan(client, team, enrolment, TOMORROW, by=team.coordinator, mentor_id=str(other.id))

    assert response.status_code == 201


def test_a_group_session_repeating_one_childs_session_is_refused(client, db_session, team):
    first_child, second_child = team.child(), team.child()
    existing = planned(client, team, first_child, TOMORROW)

    response = plan(client, team, [first_child, second_child], TOMORROW, kind="group")

    assert error(response) == (409, "duplicate_session")
    assert response.json["existing_session_id"] == existing["id"]
    assert response.json["child_id"] == str(first_child.child_id)


def test_a_retry_with_the_same_idempotency_key_still_replays_the_first_answer(client, db_session, team):
    enrolment = team.child()
    headers = team.headers(**{"Idempotency-Key": "session-retry-17"})
    body = {
        "enrolment_ids": [str(enrolment.id)],
        "kind": "one_to_one",
        "location_category": "home",
        "planned_start_at": TOMORROW.isoformat(),
        "planned_end_at": (TOMORROW + timedelta(hours=1)).isoformat(),
    }

    first = client.post("/sessions", json=body, headers=headers)
    again = client.post("/sessions", json=body, headers=headers)

    assert (first.status_code, again.status_code) == (201, 201)
    assert again.headers["Idempotent-Replayed"] == "true"
    assert again.json == first.json
    assert starts_of_child(db_session, enrolment) == [TOMORROW]


def test_a_session_cannot_be_rescheduled_onto_a_copy_of_another(client, db_session, team):
    enrolment = team.child()
    staying = planned(client, team, enrolment, TOMORROW)
    moving = planned(client, team, enrolment, FEBRUARY)

    response = reschedule(client, team, moving["id"], TOMORROW, if_match='"1"')

    assert error(response) == (409, "duplicate_session")
    assert response.json["existing_session_id"] == staying["id"]


def test_a_session_may_be_rescheduled_to_its_own_start_with_a_new_end(client, team):
    created = planned(client, team, team.child(), TOMORROW)

    response = reschedule(
        client,
        team,
        created["id"],
        TOMORROW,
        if_match='"1"',
        planned_end_at=(TOMORROW + timedelta(hours=2)).isoformat(),
    )

    assert response.status_code == 201, response.json


def test_a_pattern_does_not_plan_a_copy_of_a_session_the_mentor_already_planned(client, db_session, team):
    enrolment = team.child()
    by_hand = planned(client, team, enrolment, TOMORROW)

    response = client.post(
        f"/enrolments/{enrolment.id}/patterns",
        json={
            "slots": [{"weekday": 2, "start": "10:00"}],
            "duration_minutes": 60,
            "kind": "one_to_one",
            "location_category": "home",
        },
        headers=team.headers(),
    )

    assert response.status_code == 201, response.json
    at_that_time = db_session.scalars(
        select(MentoringSession.id)
        .join(SessionAttendee, SessionAttendee.session_id == MentoringSession.id)
        .where(SessionAttendee.enrolment_id == enrolment.id, MentoringSession.planned_start_at == TOMORROW)
    ).all()
    assert at_that_time == [uuid.UUID(by_hand["id"])]
    assert response.json["sessions_planned"] == len(starts_of_child(db_session, enrolment)) - 1


# --- not held before it starts -------------------------------------------------------------------------------------


@pytest.mark.parametrize("status", ["completed", "did_not_attend"])
def test_a_session_that_has_not_started_cannot_be_logged_as_held_or_missed(client, db_session, team, status):
    enrolment = team.child()

    response = plan(client, team, enrolment, FEBRUARY, status=status)

    assert error(response) == (422, "session_not_started")
    assert list(response.json["errors"]) == ["status"]
    assert starts_of_child(db_session, enrolment) == []


def test_a_session_later_today_cannot_be_logged_as_held_yet(client, team):
    response = plan(client, team, team.child(), LATER_TODAY, status="completed", actual_duration_minutes=60)

    assert error(response) == (422, "session_not_started")


@pytest.mark.parametrize("status", ["completed", "did_not_attend"])
def test_a_planned_session_cannot_be_marked_held_or_missed_before_it_starts(client, team, status):
    created = planned(client, team, team.child(), FEBRUARY)

    response = patch(client, team, created["id"], {"status": status}, if_match='"1"')

    assert error(response) == (422, "session_not_started")
    assert list(response.json["errors"]) == ["status"]


def test_a_planned_session_is_marked_held_once_it_has_started(client, team):
    created = planned(client, team, team.child(), TOMORROW)
    team.travel_to(TOMORROW)

    response = patch(client, team, created["id"], {"status": "completed"}, if_match='"1"')

    assert response.status_code == 200, response.json


@pytest.mark.parametrize("status", ["cancelled_by_child", "cancelled_by_mentor"])
def test_a_session_may_be_cancelled_in_advance(client, team, status):
    created = planned(client, team, team.child(), FEBRUARY)

    assert patch(client, team, created["id"], {"status": status}, if_match='"1"').status_code == 200
