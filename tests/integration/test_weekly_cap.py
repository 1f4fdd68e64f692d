"""The weekly cap through the sessions service (api/sessions/service.py), on SQLite and PostgreSQL.

Up to the cohort's max_sessions_per_week per child per ISO week in Europe/London time, across every mentor
and group session; cancelled and rescheduled-away sessions do not count; a coordinator may raise one child's
cap for one week (docs/domain.md, "Timings").
"""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import select

from api.accounts.models import AppUser
from api.actors import Role
from api.enrolments.errors import EnrolmentNotFound
from api.enrolments.models import Enrolment
from api.enrolments.rules import EnrolmentStatus
from api.errors import StaleVersion
from api.sessions import cap_overrides, errors, queries, reading, service
from api.sessions.models import MentoringSession, SessionAttendee
from api.sessions.rules import LocationCategory, SessionKind, SessionLog, SessionStatus
from tests.builders import Team, actor_for, make_cohort, make_user, utc
from tests.conftest import DEFAULT_NOW

# Children are enrolled two months before the weeks these tests plan in, a minute apart: their year of planned
# support covers every session these tests plan or log, from November 2026 to the summer of 2027.
ENROLLED_FROM = DEFAULT_NOW - timedelta(days=60)
# Week 2026-W48: Monday 23 to Sunday 29 November 2026 (GMT).
W48 = [utc(2026, 11, 24, 17), utc(2026, 11, 25, 10), utc(2026, 11, 26, 10), utc(2026, 11, 27, 10)]


@pytest.fixture()
def team(db_session) -> Team:
    return Team(db_session, enrolled_from=ENROLLED_FROM)


def create_session(
    team: Team,
    enrolments: Enrolment | list[Enrolment],
    start: datetime,
    *,
    by: AppUser | None = None,
    status: SessionStatus = SessionStatus.PLANNED,
    log: SessionLog | None = None,
    **overrides: Any,
) -> reading.SessionView:
    enrolments = enrolments if isinstance(enrolments, list) else [enrolments]
    values: dict[str, Any] = {
        "session_id": None,
        "enrolment_ids": [enrolment.id for enrolment in enrolments],
        "mentor_id": None,
        "kind": SessionKind.GROUP if len(enrolments) > 1 else SessionKind.ONE_TO_ONE,
        "location_category": LocationCategory.COMMUNITY_VENUE,
        "planned_start_at": start,
        "planned_end_at": start + timedelta(hours=1),
        "status": status,
        "log": log or SessionLog(),
        "now": team.clock.now(),
    }
    return service.create_session(team.db_session, actor=actor_for(by or team.mentor), **(values | overrides))


def set_status(team: Team, view: reading.SessionView, status: SessionStatus) -> reading.SessionView:
    return service.update_session(
        team.db_session,
        actor=actor_for(team.mentor),
        session_id=view.id,
        expected_version=view.version,
        changes={"status": status},
        log=SessionLog(),
        now=DEFAULT_NOW,
    )


def reschedule(team: Team, view: reading.SessionView, start: datetime, **overrides: Any) -> reading.SessionView:
    values: dict[str, Any] = {
        "session_id": view.id,
        "expected_version": view.version,
        "new_session_id": None,
        "planned_start_at": start,
        "planned_end_at": start + timedelta(hours=1),
        "now": DEFAULT_NOW,
    }
    return service.reschedule_session(team.db_session, actor=actor_for(team.mentor), **(values | overrides))


def override_cap(team: Team, enrolment: Enrolment, week: str, max_sessions: int, reason: str = "Exceptional week."):
    return cap_overrides.override_weekly_cap(
        team.db_session,
        actor=actor_for(team.coordinator),
        enrolment_id=enrolment.id,
        local_week=week,
        max_sessions=max_sessions,
        reason=reason,
        now=DEFAULT_NOW,
    )


def sessions_in_week(team: Team, enrolment: Enrolment, week: str) -> int:
    loads = queries.week_loads(team.db_session, child_id=enrolment.child_id, enrolment_id=enrolment.id, weeks=[week])
    return loads[week].sessions_in_week


def refusal(raised: pytest.ExceptionInfo[errors.WeeklySessionCapReached]) -> dict[str, Any]:
    return raised.value.details


# --- counting ------------------------------------------------------------------------------------------------


def test_planned_completed_and_missed_sessions_all_count_towards_the_week(team):
    enrolment = team.child()
    team.travel_to(W48[3])  # a session is logged as held or missed only once it has started
    create_session(team, enrolment, W48[0])
    create_session(team, enrolment, W48[1], status=SessionStatus.COMPLETED, log=SessionLog(actual_duration_minutes=60))
    create_session(team, enrolment, W48[2], status=SessionStatus.DID_NOT_ATTEND)

    assert sessions_in_week(team, enrolment, "2026-W48") == 3


def test_cancelled_and_rescheduled_away_sessions_do_not_count(team):
    enrolment = team.child()
    cancelled = create_session(team, enrolment, W48[0])
    moved = create_session(team, enrolment, W48[1])
    set_status(team, cancelled, SessionStatus.CANCELLED_BY_MENTOR)
    reschedule(team, moved, utc(2026, 12, 1, 10))

    assert sessions_in_week(team, enrolment, "2026-W48") == 0
    assert sessions_in_week(team, enrolment, "2026-W49") == 1


def test_the_count_is_per_child_across_mentors_and_group_sessions(team):
    enrolment, classmate = team.child(), team.child()
    cover = team.new_mentor()
    create_session(team, enrolment, W48[0])
    create_session(team, enrolment, W48[1], by=team.coordinator, mentor_id=cover.id)
    create_session(team, [enrolment, classmate], W48[2])

    assert sessions_in_week(team, enrolment, "2026-W48") == 3
    assert sessions_in_week(team, classmate, "2026-W48") == 1


def test_every_attendee_row_carries_the_sessions_london_week(db_session, team):
    first, second = team.child(), team.child()
    team_view = create_session(team, [first, second], utc(2027, 3, 28, 23, 30))  # Monday 29 March, 00:30 BST

    weeks = db_session.scalars(select(SessionAttendee.local_week).where(SessionAttendee.session_id == team_view.id))
    assert team_view.local_week == "2027-W13"
    assert list(weeks) == ["2027-W13", "2027-W13"]


# --- the cap ---------------------------------------------------------------------------------------------------


def test_a_fourth_session_in_a_week_is_refused_with_the_week_and_the_counts(db_session, team):
    enrolment = team.child()
    for start in W48[:3]:
        create_session(team, enrolment, start)
    session_id = uuid.uuid4()

    with pytest.raises(errors.WeeklySessionCapReached) as raised:
        create_session(team, enrolment, W48[3], session_id=session_id)

    assert refusal(raised) == {
        "week": "2026-W48",
        "sessions_in_week": 3,
        "max_sessions": 3,
        "child_id": str(enrolment.child_id),
    }
    assert raised.value.reason == "weekly_session_cap_reached"
    db_session.rollback()
    assert db_session.get(MentoringSession, session_id) is None
    assert sessions_in_week(team, enrolment, "2026-W48") == 3


def test_a_third_session_is_allowed_when_the_cap_is_three(team):
    enrolment = team.child()
    create_session(team, enrolment, W48[0])
    create_session(team, enrolment, W48[1])

    assert create_session(team, enrolment, W48[2]).status is SessionStatus.PLANNED


def test_a_cancelled_session_makes_room_for_another(team):
    enrolment = team.child()
    first, _, _ = (create_session(team, enrolment, start) for start in W48[:3])
    set_status(team, first, SessionStatus.CANCELLED_BY_CHILD)

    assert create_session(team, enrolment, W48[3]).local_week == "2026-W48"


def test_logging_a_completed_session_afterwards_is_still_capped(team):
    enrolment = team.child()
    for start in W48[:3]:
        create_session(team, enrolment, start)

    with pytest.raises(errors.WeeklySessionCapReached):
        create_session(
            team,
            enrolment,
            utc(2026, 11, 23, 9),
            status=SessionStatus.COMPLETED,
            log=SessionLog(actual_duration_minutes=30),
        )


def test_a_session_led_by_another_mentor_is_refused_when_the_child_is_at_their_cap(team):
    enrolment = team.child()
    cover = team.new_mentor()
    for start in W48[:3]:
        create_session(team, enrolment, start)

    with pytest.raises(errors.WeeklySessionCapReached):
        create_session(team, enrolment, W48[3], by=team.coordinator, mentor_id=cover.id)


def test_a_group_session_is_refused_when_any_child_at_it_is_at_their_cap(db_session, team):
    free, full = team.child(), team.child()
    for start in W48[:3]:
        create_session(team, full, start)

    with pytest.raises(errors.WeeklySessionCapReached) as raised:
        create_session(team, [free, full], W48[3])

    assert refusal(raised)["child_id"] == str(full.child_id)
    db_session.rollback()
    assert sessions_in_week(team, free, "2026-W48") == 0


def test_each_child_at_a_group_session_is_held_to_their_own_cohorts_cap(db_session, team):
    strict_cohort = make_cohort(db_session, programme=team.programme, places=5, max_sessions_per_week=1)
    relaxed, strict = team.child(), team.child(cohort=strict_cohort)
    create_session(team, [relaxed, strict], W48[0])

    with pytest.raises(errors.WeeklySessionCapReached) as raised:
        create_session(team, [relaxed, strict], W48[1])

    assert refusal(raised) == {
        "week": "2026-W48",
        "sessions_in_week": 1,
        "max_sessions": 1,
        "child_id": str(strict.child_id),
    }
    assert create_session(team, relaxed, W48[1]).status is SessionStatus.PLANNED


def test_the_week_crosses_into_the_new_year_as_iso_week_53_of_2026(team):
    enrolment = team.child()
    # Monday 28 December 2026 to Sunday 3 January 2027 is 2026-W53.
    for start in (utc(2026, 12, 28, 10), utc(2026, 12, 30, 10), utc(2026, 12, 31, 18)):
        assert create_session(team, enrolment, start).local_week == "2026-W53"

    with pytest.raises(errors.WeeklySessionCapReached) as raised:
        create_session(team, enrolment, utc(2027, 1, 1, 10))

    assert refusal(raised)["week"] == "2026-W53"
    assert create_session(team, enrolment, utc(2027, 1, 4, 10)).local_week == "2027-W01"


def test_sunday_night_in_summer_time_belongs_to_the_next_london_week(team):
    enrolment = team.child()
    for start in (utc(2027, 6, 8, 10), utc(2027, 6, 9, 10), utc(2027, 6, 10, 10)):
        create_session(team, enrolment, start)

    with pytest.raises(errors.WeeklySessionCapReached) as raised:
        create_session(team, enrolment, utc(2027, 6, 6, 23, 30))  # Monday 7 June, 00:30 BST

    assert refusal(raised)["week"] == "2027-W23"
    sunday = create_session(team, enrolment, utc(2027, 6, 6, 22, 59))  # Sunday 6 June, 23:59 BST
    assert (sunday.local_week, sunday.is_weekend, sunday.is_evening) == ("2027-W22", True, True)


@pytest.mark.parametrize(
    ("starts", "fourth", "week"),
    [
        # Last Sunday of March 2027: Tuesday 18:00 GMT, Thursday 18:00 GMT, Sunday 18:00 BST, Sunday 23:30 BST.
        (
            [utc(2027, 3, 23, 18), utc(2027, 3, 25, 18), utc(2027, 3, 28, 17)],
            utc(2027, 3, 28, 22, 30),
            "2027-W12",
        ),
        # Last Sunday of October 2026: Tuesday 18:00 BST, Thursday 18:00 BST, Sunday 18:00 GMT, Sunday 23:30 GMT.
        (
            [utc(2026, 10, 20, 17), utc(2026, 10, 22, 17), utc(2026, 10, 25, 18)],
            utc(2026, 10, 25, 23, 30),
            "2026-W43",
        ),
    ],
    ids=["march-2027", "october-2026"],
)
def test_a_changeover_week_counts_sessions_either_side_of_the_clock_change(team, starts, fourth, week):
    enrolment = team.child()
    views = [create_session(team, enrolment, start) for start in starts]

    with pytest.raises(errors.WeeklySessionCapReached) as raised:
        create_session(team, enrolment, fourth)

    assert [(view.local_week, view.is_evening) for view in views] == [(week, True)] * 3
    assert [view.is_weekend for view in views] == [False, False, True]
    assert refusal(raised)["week"] == week
    assert sessions_in_week(team, enrolment, week) == 3


# --- overrides -------------------------------------------------------------------------------------------------


def test_an_override_raises_the_cap_for_its_week_only(team):
    enrolment = team.child()
    for start in W48[:3]:
        create_session(team, enrolment, start)
    for start in (utc(2026, 12, 1, 10), utc(2026, 12, 2, 10), utc(2026, 12, 3, 10)):
        create_session(team, enrolment, start)
    override = override_cap(team, enrolment, "2026-W48", 4, "  Court hearing.  ")

    fourth = create_session(team, enrolment, W48[3])

    assert (override.local_week, override.max_sessions, override.reason) == ("2026-W48", 4, "Court hearing.")
    assert fourth.local_week == "2026-W48"
    with pytest.raises(errors.WeeklySessionCapReached) as in_week:
        create_session(team, enrolment, utc(2026, 11, 28, 10))
    assert refusal(in_week)["max_sessions"] == 4
    with pytest.raises(errors.WeeklySessionCapReached) as next_week:
        create_session(team, enrolment, utc(2026, 12, 4, 10))
    assert refusal(next_week)["max_sessions"] == 3


def test_an_override_may_also_lower_a_childs_cap_for_a_week(team):
    enrolment = team.child()
    create_session(team, enrolment, W48[0])
    override_cap(team, enrolment, "2026-W48", 1, "Exams: one session only.")

    with pytest.raises(errors.WeeklySessionCapReached) as raised:
        create_session(team, enrolment, W48[1])

    assert (refusal(raised)["sessions_in_week"], refusal(raised)["max_sessions"]) == (1, 1)


def test_setting_an_override_again_replaces_the_first(team):
    enrolment = team.child()
    first = override_cap(team, enrolment, "2026-W48", 4)

    second = override_cap(team, enrolment, "2026-W48", 6, "More again.")

    assert second.id == first.id
    assert (second.max_sessions, second.reason) == (6, "More again.")
    assert queries.cap_override(team.db_session, enrolment_id=enrolment.id, local_week="2026-W48").max_sessions == 6


def test_an_override_cannot_be_set_for_a_child_of_another_programme(db_session, team):
    elsewhere = Team(db_session, enrolled_from=ENROLLED_FROM)
    enrolment = elsewhere.child()

    with pytest.raises(EnrolmentNotFound):
        override_cap(team, enrolment, "2026-W48", 4)


# --- rescheduling ------------------------------------------------------------------------------------------------


def test_moving_a_session_within_its_full_week_is_allowed(team):
    enrolment = team.child()
    first, _, _ = (create_session(team, enrolment, start) for start in W48[:3])

    moved = reschedule(team, first, W48[3])

    assert moved.local_week == "2026-W48"
    assert sessions_in_week(team, enrolment, "2026-W48") == 3


def test_moving_a_session_into_a_full_week_is_refused_and_changes_nothing(db_session, team):
    enrolment = team.child()
    elsewhere = create_session(team, enrolment, utc(2026, 12, 1, 10))
    for start in W48[:3]:
        create_session(team, enrolment, start)

    with pytest.raises(errors.WeeklySessionCapReached) as raised:
        reschedule(team, elsewhere, W48[3])

    assert refusal(raised)["week"] == "2026-W48"
    db_session.rollback()
    old = db_session.get(MentoringSession, elsewhere.id)
    db_session.refresh(old)
    assert (old.status, old.version, old.rescheduled_to_id) == (SessionStatus.PLANNED, 1, None)


def test_a_group_session_moved_into_a_week_where_one_child_is_full_is_refused(team):
    free, full = team.child(), team.child()
    group = create_session(team, [free, full], utc(2026, 12, 1, 10))
    for start in W48[:3]:
        create_session(team, full, start)

    with pytest.raises(errors.WeeklySessionCapReached) as raised:
        reschedule(team, group, W48[3])

    assert refusal(raised)["child_id"] == str(full.child_id)


def test_rescheduling_from_a_stale_version_reports_the_current_one(team):
    enrolment = team.child()
    view = create_session(team, enrolment, W48[0])
    service.update_session(
        team.db_session,
        actor=actor_for(team.mentor),
        session_id=view.id,
        expected_version=1,
        changes={"location_category": LocationCategory.HOME},
        log=SessionLog(),
        now=DEFAULT_NOW,
    )

    with pytest.raises(StaleVersion) as raised:
        reschedule(team, view, W48[1], expected_version=1)

    assert raised.value.details == {"current_version": 2}


# --- who and what may be planned -----------------------------------------------------------------------------


def test_a_waitlisted_child_cannot_have_sessions(db_session):
    team = Team(db_session, enrolled_from=ENROLLED_FROM)
    team.cohort.places = 1
    db_session.commit()
    team.child()
    waiting = team.admit()
    assert waiting.status is EnrolmentStatus.WAITLISTED

    with pytest.raises(errors.EnrolmentNotActiveForSession):
        create_session(team, waiting, W48[0], by=team.coordinator, mentor_id=team.mentor.id)


def test_a_mentor_who_is_not_the_key_worker_cannot_plan_for_the_child(team):
    enrolment = team.child(team.new_mentor())

    with pytest.raises(EnrolmentNotFound):
        create_session(team, enrolment, W48[0])


def test_a_group_session_cannot_mix_children_of_two_programmes(db_session, team):
    elsewhere = Team(db_session, enrolled_from=ENROLLED_FROM)
    admin = make_user(db_session, Role.ADMIN)

    with pytest.raises(errors.InvalidSession) as raised:
        create_session(team, [team.child(), elsewhere.child()], W48[0], by=admin, mentor_id=team.mentor.id)

    assert raised.value.message == "A session's children must all be in one programme."


def test_the_session_is_led_by_the_key_worker_when_a_coordinator_plans_it(team):
    enrolment = team.child()

    view = create_session(team, enrolment, W48[0], by=team.coordinator)

    assert view.mentor_id == team.mentor.id
