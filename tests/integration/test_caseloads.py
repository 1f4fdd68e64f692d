"""Key-worker allocation within each mentor's maximum caseload (api/caseloads), through the services."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy.orm import Session

from api.actors import Role
from api.caseloads import errors, queries, service
from api.caseloads.rules import AllocationEndReason
from api.clock import FixedClock
from api.enrolments import allocations
from api.enrolments import service as enrolments_service
from api.enrolments.errors import EnrolmentNotFound
from api.enrolments.rules import EndReason, EnrolmentStatus
from tests.builders import Team, actor_for, allocate, make_cohort, make_programme, make_user
from tests.conftest import DEFAULT_NOW

LATER = DEFAULT_NOW + timedelta(days=1)


def caseload_team(db_session: Session, *, places: int = 5, max_caseload: int = 2) -> Team:
    """Children admitted a minute apart from DEFAULT_NOW; key workers allocated a day later (LATER) by default."""
    return Team(db_session, FixedClock(LATER), places=places, max_caseload=max_caseload, enrolled_from=DEFAULT_NOW)


@pytest.fixture()
def team(db_session) -> Team:
    return caseload_team(db_session)


def test_allocating_a_key_worker_makes_them_the_childs_current_mentor(db_session, team):
    enrolment = team.admit()

    allocation = team.allocate(enrolment)

    assert allocation.enrolment_id == enrolment.id
    assert allocation.mentor_id == team.mentor.id
    assert allocation.started_at == LATER
    assert allocation.started_by_user_id == team.coordinator.id
    assert (allocation.ended_at, allocation.end_reason) == (None, None)
    assert queries.current_allocation(db_session, enrolment_id=enrolment.id).id == allocation.id
    assert queries.count_caseload(db_session, mentor_id=team.mentor.id) == 1


def test_a_mentor_at_their_maximum_caseload_cannot_take_another_child(db_session, team):
    first, second, third = team.admit(), team.admit(), team.admit()
    team.allocate(first)
    team.allocate(second)

    with pytest.raises(errors.MentorCaseloadFull) as raised:
        team.allocate(third)

    assert raised.value.reason == "mentor_caseload_full"
    assert raised.value.details == {"caseload": 2, "max_caseload": 2}
    db_session.rollback()
    assert queries.current_allocation(db_session, enrolment_id=third.id) is None
    assert queries.count_caseload(db_session, mentor_id=team.mentor.id) == 2


def test_a_mentor_with_a_maximum_of_zero_takes_no_children(db_session, team):
    resting = team.new_mentor(max_caseload=0)

    with pytest.raises(errors.MentorCaseloadFull) as raised:
        team.allocate(team.admit(), resting)

    assert raised.value.details == {"caseload": 0, "max_caseload": 0}


def test_a_mentor_has_room_again_once_one_of_their_children_finishes(db_session, team):
    first, second, third = team.admit(), team.admit(), team.admit()
    team.allocate(first)
    team.allocate(second)
    enrolments_service.end_enrolment(
        db_session,
        actor=actor_for(team.coordinator),
        enrolment_id=first.id,
        reason=EndReason.COMPLETED,
        note=None,
        now=LATER,
    )

    allocation = team.allocate(third, now=LATER + timedelta(hours=1))

    assert allocation.mentor_id == team.mentor.id
    assert queries.count_caseload(db_session, mentor_id=team.mentor.id) == 2


def test_reallocating_ends_the_old_allocation_and_keeps_the_history_oldest_first(db_session, team):
    enrolment = team.admit()
    second_mentor = team.new_mentor()
    first = team.allocate(enrolment, now=LATER)
    reallocated_at = LATER + timedelta(days=3)

    second = team.allocate(enrolment, second_mentor, now=reallocated_at)

    history = allocations.list_allocations(
        db_session, actor=actor_for(team.coordinator), enrolment_id=enrolment.id, now=reallocated_at
    )
    assert [allocation.id for allocation in history] == [first.id, second.id]
    old, new = history
    assert (old.mentor_id, old.ended_at, old.end_reason) == (
        team.mentor.id,
        reallocated_at,
        AllocationEndReason.REALLOCATED,
    )
    assert old.ended_by_user_id == team.coordinator.id
    assert (new.mentor_id, new.started_at, new.ended_at) == (second_mentor.id, reallocated_at, None)
    assert queries.current_allocation(db_session, enrolment_id=enrolment.id).id == second.id
    assert queries.count_caseload(db_session, mentor_id=team.mentor.id) == 0
    assert queries.count_caseload(db_session, mentor_id=second_mentor.id) == 1


def test_allocating_the_current_key_worker_again_is_refused(db_session, team):
    enrolment = team.admit()
    first = team.allocate(enrolment)

    with pytest.raises(errors.AlreadyAllocated) as raised:
        team.allocate(enrolment, now=LATER + timedelta(hours=1))

    assert raised.value.reason == "already_allocated"
    db_session.rollback()
    assert [allocation.id for allocation in queries.list_allocations(db_session, enrolment_id=enrolment.id)] == [
        first.id
    ]


def test_the_current_key_worker_at_their_maximum_is_told_already_allocated_not_full(db_session):
    team = caseload_team(db_session, max_caseload=1)
    enrolment = team.admit()
    team.allocate(enrolment)

    with pytest.raises(errors.AlreadyAllocated):
        team.allocate(enrolment, now=LATER + timedelta(hours=1))


def test_reallocating_to_a_full_mentor_is_refused_and_the_current_key_worker_stays(db_session, team):
    enrolment, other = team.admit(), team.admit()
    full_mentor = team.new_mentor(max_caseload=1)
    current = team.allocate(enrolment)
    team.allocate(other, full_mentor)

    with pytest.raises(errors.MentorCaseloadFull):
        team.allocate(enrolment, full_mentor, now=LATER + timedelta(hours=1))

    db_session.rollback()
    still = queries.current_allocation(db_session, enrolment_id=enrolment.id)
    assert (still.id, still.mentor_id, still.ended_at) == (current.id, team.mentor.id, None)


def test_a_mentor_of_another_programme_is_not_found(db_session, team):
    outsider = make_user(db_session, Role.MENTOR, programme=make_programme(db_session))

    with pytest.raises(errors.MentorNotFound) as raised:
        team.allocate(team.admit(), outsider)

    assert raised.value.reason == "mentor_not_found"


def test_an_inactive_mentor_is_not_found(db_session, team):
    inactive = team.new_mentor(is_active=False)

    with pytest.raises(errors.MentorNotFound):
        team.allocate(team.admit(), inactive)


def test_only_a_mentor_can_be_a_key_worker(db_session, team):
    with pytest.raises(errors.MentorNotFound):
        team.allocate(team.admit(), team.coordinator)


def test_a_child_on_the_waitlist_cannot_have_a_key_worker(db_session):
    team = caseload_team(db_session, places=1)
    team.admit()
    waiting = team.admit()
    assert waiting.status is EnrolmentStatus.WAITLISTED

    with pytest.raises(errors.EnrolmentNotAllocatable) as raised:
        team.allocate(waiting)

    assert raised.value.reason == "enrolment_not_allocatable"
    db_session.rollback()
    assert queries.count_caseload(db_session, mentor_id=team.mentor.id) == 0


def test_a_child_holding_an_offer_can_have_a_key_worker(db_session):
    team = caseload_team(db_session, places=1)
    active, waiting = team.admit(), team.admit()
    enrolments_service.end_enrolment(
        db_session,
        actor=actor_for(team.coordinator),
        enrolment_id=active.id,
        reason=EndReason.OTHER,
        note=None,
        now=LATER,
    )
    assert waiting.status is EnrolmentStatus.OFFERED

    allocation = team.allocate(waiting)

    assert allocation.mentor_id == team.mentor.id


def test_a_child_whose_support_ended_cannot_have_a_key_worker(db_session, team):
    enrolment = team.admit()
    enrolments_service.end_enrolment(
        db_session,
        actor=actor_for(team.coordinator),
        enrolment_id=enrolment.id,
        reason=EndReason.OTHER,
        note=None,
        now=LATER,
    )

    with pytest.raises(errors.EnrolmentNotAllocatable):
        team.allocate(enrolment)


def test_a_coordinator_cannot_allocate_in_another_programme(db_session, team):
    enrolment = team.admit()
    stranger = make_user(db_session, Role.COORDINATOR, programme=make_programme(db_session))

    with pytest.raises(EnrolmentNotFound):
        team.allocate(enrolment, by=stranger)
    with pytest.raises(EnrolmentNotFound):
        allocations.list_allocations(db_session, actor=actor_for(stranger), enrolment_id=enrolment.id, now=LATER)


def test_an_admin_can_allocate_in_any_programme(db_session, team):
    admin = make_user(db_session, Role.ADMIN)

    allocation = team.allocate(team.admit(), by=admin)

    assert allocation.started_by_user_id == admin.id


def test_the_mentor_list_shows_each_mentors_current_caseload_against_their_maximum(db_session, team):
    second_mentor = team.new_mentor(max_caseload=4, display_name="Zz second mentor")
    first, second = team.admit(), team.admit()
    team.allocate(first)
    team.allocate(second, second_mentor)
    team.allocate(first, second_mentor, now=LATER + timedelta(hours=1))  # reallocated: the first mentor drops to 0
    make_user(db_session, Role.MENTOR, programme=make_programme(db_session))  # another programme's mentor

    caseloads = service.list_mentor_caseloads(db_session, actor=actor_for(team.coordinator))

    assert {(entry.mentor.id, entry.caseload, entry.mentor.max_caseload) for entry in caseloads} == {
        (team.mentor.id, 0, 2),
        (second_mentor.id, 2, 4),
    }


def test_an_admin_sees_mentors_of_every_programme(db_session, team):
    elsewhere = make_user(db_session, Role.MENTOR, programme=make_programme(db_session))
    admin = make_user(db_session, Role.ADMIN)

    mentor_ids = {entry.mentor.id for entry in service.list_mentor_caseloads(db_session, actor=actor_for(admin))}

    assert {team.mentor.id, elsewhere.id} <= mentor_ids


def test_a_moved_child_keeps_their_key_worker_even_when_the_mentor_is_at_their_maximum(db_session):
    team = caseload_team(db_session, max_caseload=1)
    target = make_cohort(db_session, programme=team.programme, places=1)
    enrolment = team.admit()
    allocate(db_session, enrolment=enrolment, mentor=team.mentor, by=team.coordinator)

    moved = enrolments_service.move_enrolment(
        db_session,
        actor=actor_for(team.coordinator),
        enrolment_id=enrolment.id,
        to_cohort_id=target.id,
        note=None,
        now=LATER,
    )

    assert queries.current_allocation(db_session, enrolment_id=moved.enrolment.id).mentor_id == team.mentor.id
    assert queries.count_caseload(db_session, mentor_id=team.mentor.id) == 1
    assert [a.end_reason for a in queries.list_allocations(db_session, enrolment_id=enrolment.id)] == [
        AllocationEndReason.MOVED_COHORT
    ]
