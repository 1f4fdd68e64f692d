"""The duty rota's queries, as the alerts service calls them: who is on duty at an instant, the gaps in cover, and
the programme's coordinators who can be reached by text."""

from __future__ import annotations

from datetime import timedelta

import pytest

from api.actors import Role
from api.duty.models import DutyShift
from api.duty.queries import Cover, coordinators_of, cover_at, gaps
from tests.builders import Team, make_user, utc
from tests.conftest import DEFAULT_NOW

EVENING, MORNING = utc(2026, 11, 24, 18), utc(2026, 11, 25, 8)


@pytest.fixture()
def team(db_session, clock) -> Team:
    return Team(db_session, clock)


def put_on_duty(db_session, team: Team, starts_at, ends_at, *, coordinator, fallback=None) -> DutyShift:
    shift = DutyShift(
        programme_id=team.programme.id,
        coordinator_user_id=coordinator.id,
        fallback_user_id=fallback.id if fallback else None,
        starts_at=starts_at,
        ends_at=ends_at,
        created_by_user_id=team.coordinator.id,
        created_at=DEFAULT_NOW,
        updated_at=DEFAULT_NOW,
    )
    db_session.add(shift)
    db_session.commit()
    return shift


def test_cover_at_names_the_shifts_people_from_its_first_instant_to_before_its_last(db_session, team):
    fallback = team.user(Role.COORDINATOR)
    put_on_duty(db_session, team, EVENING, MORNING, coordinator=team.coordinator, fallback=fallback)
    on_duty = Cover(duty_user_id=team.coordinator.id, fallback_user_id=fallback.id)

    assert cover_at(db_session, programme_id=team.programme.id, at=EVENING) == on_duty
    assert cover_at(db_session, programme_id=team.programme.id, at=MORNING - timedelta(seconds=1)) == on_duty
    assert cover_at(db_session, programme_id=team.programme.id, at=MORNING) == Cover(None, None)
    assert cover_at(db_session, programme_id=team.programme.id, at=EVENING - timedelta(seconds=1)) == Cover(None, None)


def test_cover_at_reads_only_the_programme_asked_about(db_session, team, clock):
    other = Team(db_session, clock)
    put_on_duty(db_session, other, EVENING, MORNING, coordinator=other.coordinator)
    assert cover_at(db_session, programme_id=team.programme.id, at=EVENING) == Cover(None, None)


def test_the_next_shift_takes_over_the_instant_the_last_ends(db_session, team):
    second = team.user(Role.COORDINATOR)
    put_on_duty(db_session, team, EVENING, MORNING, coordinator=team.coordinator)
    put_on_duty(db_session, team, MORNING, MORNING + timedelta(hours=10), coordinator=second)
    assert cover_at(db_session, programme_id=team.programme.id, at=MORNING).duty_user_id == second.id


def test_gaps_are_the_uncovered_stretches_of_the_window(db_session, team):
    put_on_duty(db_session, team, EVENING, MORNING, coordinator=team.coordinator)
    start, end = EVENING - timedelta(hours=2), MORNING + timedelta(hours=2)
    assert gaps(db_session, programme_id=team.programme.id, start=start, end=end) == [
        (start, EVENING),
        (MORNING, end),
    ]
    assert gaps(db_session, programme_id=team.programme.id, start=EVENING, end=MORNING) == []


def test_coordinators_of_are_the_active_coordinators_with_a_mobile(db_session, team, clock):
    reachable = [team.user(Role.COORDINATOR, mobile_e164=f"+44770090010{n}", display_name=f"C{n}") for n in (2, 1)]
    team.user(Role.COORDINATOR, mobile_e164=None)
    team.user(Role.COORDINATOR, mobile_e164="+447700900103", is_active=False)
    team.user(Role.MENTOR, mobile_e164="+447700900104")
    make_user(db_session, Role.ADMIN, mobile_e164="+447700900105")
    Team(db_session, clock).user(Role.COORDINATOR, mobile_e164="+447700900106")

    # In order of name, so a caller trying them in turn always tries them in one order.
    assert coordinators_of(db_session, programme_id=team.programme.id) == [reachable[1].id, reachable[0].id]
