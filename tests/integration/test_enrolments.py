"""Places, the waitlist, offers, ending and moving, through the enrolment services (api/enrolments/rules.py).

Every test also checks the two invariants of the places logic after each operation: a cohort never has more
children holding a place (active + offered) than it has places, and a cohort with a free place has nobody
waiting.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from api.accounts.models import AppUser
from api.actors import Role
from api.caseloads import queries as caseload_queries
from api.caseloads.rules import AllocationEndReason
from api.children import service as children_service
from api.children.models import Child
from api.enrolments import errors, reading, service
from api.enrolments.models import Enrolment
from api.enrolments.queries import count_by_status
from api.enrolments.rules import EndReason, EnrolmentStatus, Priority
from api.programmes.errors import CohortNotFound, PlacesBelowTaken
from api.programmes.models import Cohort, Programme
from api.referrals import service as referrals_service
from tests.builders import actor_for, admit_child, allocate, make_cohort, make_programme, make_referral, make_user
from tests.conftest import DEFAULT_NOW

LATER = DEFAULT_NOW + timedelta(days=1)
CHOSEN_END_REASONS = [reason for reason in EndReason if reason is not EndReason.MOVED_COHORT]


# --- helpers -------------------------------------------------------------------------------------------------


def at(minutes: int) -> datetime:
    """Distinct arrival times, so the waitlist's last tie-break (arrival) is deterministic."""
    return DEFAULT_NOW + timedelta(minutes=minutes)


def programme_of(db_session: Session, cohort: Cohort) -> Programme:
    programme = db_session.get(Programme, cohort.programme_id)
    assert programme is not None
    return programme


def coordinator_of(db_session: Session, cohort: Cohort) -> AppUser:
    return make_user(db_session, Role.COORDINATOR, programme=programme_of(db_session, cohort))


def mentor_of(db_session: Session, cohort: Cohort, **overrides) -> AppUser:
    return make_user(db_session, Role.MENTOR, programme=programme_of(db_session, cohort), **overrides)


def fill(db_session: Session, cohort: Cohort, *, by: AppUser, count: int, first_minute: int = 0) -> list[Enrolment]:
    """Admit `count` children, one a minute (normal priority, referred today)."""
    return [admit_child(db_session, cohort=cohort, by=by, now=at(first_minute + i)) for i in range(count)]


def reload(db_session: Session, enrolment: Enrolment) -> Enrolment:
    db_session.refresh(enrolment)
    return enrolment


def statuses(db_session: Session, *enrolments: Enrolment) -> list[EnrolmentStatus]:
    return [reload(db_session, enrolment).status for enrolment in enrolments]


def waiting_order(db_session: Session, cohort: Cohort, by: AppUser) -> list[tuple[object, EnrolmentStatus, int | None]]:
    entries = children_service.list_waitlist(db_session, actor=actor_for(by), cohort_id=cohort.id, now=LATER)
    return [(entry.enrolment.id, entry.enrolment.status, entry.position) for entry in entries]


def assert_places_invariants(db_session: Session, *cohorts: Cohort) -> None:
    for cohort in cohorts:
        db_session.refresh(cohort)
        counts = count_by_status(db_session, cohort_id=cohort.id)
        taken = counts[EnrolmentStatus.ACTIVE] + counts[EnrolmentStatus.OFFERED]
        assert taken <= cohort.places, f"{cohort.name}: {taken} places taken of {cohort.places}"
        if taken < cohort.places:
            assert counts[EnrolmentStatus.WAITLISTED] == 0, f"{cohort.name} has a free place and a waitlist"


def count_enrolments(db_session: Session) -> int:
    return int(db_session.scalar(select(func.count()).select_from(Enrolment)) or 0)


# --- accepting a referral ------------------------------------------------------------------------------------


def test_a_child_accepted_into_a_cohort_with_a_free_place_starts_support_at_once(db_session):
    cohort = make_cohort(db_session, places=2, planned_weeks=52)
    coordinator = coordinator_of(db_session, cohort)
    referral = make_referral(db_session, cohort=cohort, by=coordinator)

    result = referrals_service.accept_referral(
        db_session, actor=actor_for(coordinator), referral_id=referral.id, now=DEFAULT_NOW
    )

    assert result.enrolment.status is EnrolmentStatus.ACTIVE
    assert result.waitlist_position is None
    assert result.enrolment.started_at == DEFAULT_NOW
    assert result.enrolment.planned_end_on == date(2027, 11, 22)
    assert result.enrolment.offered_at is None
    assert result.enrolment.referral_id == referral.id
    assert_places_invariants(db_session, cohort)


def test_the_planned_end_counts_the_cohorts_weeks_from_the_local_start_date(db_session):
    cohort = make_cohort(db_session, places=1, planned_weeks=12)
    coordinator = coordinator_of(db_session, cohort)
    late_evening_in_summer = datetime.fromisoformat("2026-06-01T23:30:00+00:00")  # 00:30 BST on 2 June

    enrolment = admit_child(db_session, cohort=cohort, by=coordinator, now=late_evening_in_summer)

    assert enrolment.planned_end_on == date(2026, 6, 2) + timedelta(weeks=12)


def test_a_child_accepted_into_a_full_cohort_is_waitlisted_with_a_position(db_session):
    cohort = make_cohort(db_session, places=1)
    coordinator = coordinator_of(db_session, cohort)
    fill(db_session, cohort, by=coordinator, count=1)
    first_waiting = make_referral(db_session, cohort=cohort, by=coordinator, now=at(5))
    second_waiting = make_referral(db_session, cohort=cohort, by=coordinator, now=at(6))

    first = referrals_service.accept_referral(
        db_session, actor=actor_for(coordinator), referral_id=first_waiting.id, now=at(5)
    )
    second = referrals_service.accept_referral(
        db_session, actor=actor_for(coordinator), referral_id=second_waiting.id, now=at(6)
    )

    assert (first.enrolment.status, first.waitlist_position) == (EnrolmentStatus.WAITLISTED, 1)
    assert (second.enrolment.status, second.waitlist_position) == (EnrolmentStatus.WAITLISTED, 2)
    assert first.enrolment.started_at is None
    assert first.enrolment.planned_end_on is None
    assert first.enrolment.offered_at is None
    assert_places_invariants(db_session, cohort)


def test_a_cohort_with_no_places_waitlists_every_child(db_session):
    cohort = make_cohort(db_session, places=0)
    coordinator = coordinator_of(db_session, cohort)

    enrolment = admit_child(db_session, cohort=cohort, by=coordinator)

    assert enrolment.status is EnrolmentStatus.WAITLISTED
    assert_places_invariants(db_session, cohort)


def test_a_cohort_never_admits_more_children_than_it_has_places(db_session):
    cohort = make_cohort(db_session, places=3)
    coordinator = coordinator_of(db_session, cohort)

    enrolments = fill(db_session, cohort, by=coordinator, count=5)

    assert [enrolment.status for enrolment in enrolments] == [EnrolmentStatus.ACTIVE] * 3 + [
        EnrolmentStatus.WAITLISTED
    ] * 2
    assert_places_invariants(db_session, cohort)


# --- the waitlist order --------------------------------------------------------------------------------------


def test_the_waitlist_puts_urgent_before_high_before_normal_whatever_the_arrival(db_session):
    cohort = make_cohort(db_session, places=1)
    coordinator = coordinator_of(db_session, cohort)
    fill(db_session, cohort, by=coordinator, count=1)
    normal = admit_child(db_session, cohort=cohort, by=coordinator, now=at(1), priority=Priority.NORMAL)
    high = admit_child(db_session, cohort=cohort, by=coordinator, now=at(2), priority=Priority.HIGH)
    urgent = admit_child(db_session, cohort=cohort, by=coordinator, now=at(3), priority=Priority.URGENT)

    assert waiting_order(db_session, cohort, coordinator) == [
        (urgent.id, EnrolmentStatus.WAITLISTED, 1),
        (high.id, EnrolmentStatus.WAITLISTED, 2),
        (normal.id, EnrolmentStatus.WAITLISTED, 3),
    ]


def test_within_a_priority_the_earlier_referral_date_comes_first_even_if_accepted_later(db_session):
    cohort = make_cohort(db_session, places=1)
    coordinator = coordinator_of(db_session, cohort)
    fill(db_session, cohort, by=coordinator, count=1)
    referred_last_week = admit_child(
        db_session, cohort=cohort, by=coordinator, now=at(1), referred_on=date(2026, 11, 16)
    )
    referred_last_month = admit_child(
        db_session, cohort=cohort, by=coordinator, now=at(2), referred_on=date(2026, 10, 20)
    )

    assert waiting_order(db_session, cohort, coordinator) == [
        (referred_last_month.id, EnrolmentStatus.WAITLISTED, 1),
        (referred_last_week.id, EnrolmentStatus.WAITLISTED, 2),
    ]


def test_priority_outranks_an_earlier_referral_date(db_session):
    cohort = make_cohort(db_session, places=1)
    coordinator = coordinator_of(db_session, cohort)
    fill(db_session, cohort, by=coordinator, count=1)
    old_normal = admit_child(
        db_session, cohort=cohort, by=coordinator, now=at(1), referred_on=date(2026, 1, 5), priority=Priority.NORMAL
    )
    new_high = admit_child(
        db_session, cohort=cohort, by=coordinator, now=at(2), referred_on=date(2026, 11, 23), priority=Priority.HIGH
    )

    assert [entry[0] for entry in waiting_order(db_session, cohort, coordinator)] == [new_high.id, old_normal.id]


def test_with_the_same_priority_and_referral_date_the_first_to_take_the_cohorts_lock_comes_first(db_session):
    cohort = make_cohort(db_session, places=1)
    coordinator = coordinator_of(db_session, cohort)
    fill(db_session, cohort, by=coordinator, count=1)
    # The requests' own clocks disagree with the order they reached the cohort: the queue follows the cohort's lock
    # (a request's clock is read before it waits for the lock, so it cannot order the queue).
    arrivals = [
        admit_child(db_session, cohort=cohort, by=coordinator, now=at(minute), referred_on=date(2026, 11, 2))
        for minute in (30, 10, 20)
    ]

    positions = [
        reading.get_enrolment(db_session, actor=actor_for(coordinator), enrolment_id=e.id, now=LATER) for e in arrivals
    ]

    assert [position.waitlist_position for position in positions] == [1, 2, 3]


def test_waitlist_positions_run_from_one_without_gaps(db_session):
    cohort = make_cohort(db_session, places=2)
    coordinator = coordinator_of(db_session, cohort)
    fill(db_session, cohort, by=coordinator, count=6)

    assert [entry[2] for entry in waiting_order(db_session, cohort, coordinator)] == [1, 2, 3, 4]


def test_the_waitlist_lists_children_holding_an_offer_first_without_a_position(db_session):
    cohort = make_cohort(db_session, places=1)
    coordinator = coordinator_of(db_session, cohort)
    active, first, second, third = fill(db_session, cohort, by=coordinator, count=4)
    service.end_enrolment(
        db_session,
        actor=actor_for(coordinator),
        enrolment_id=active.id,
        reason=EndReason.COMPLETED,
        note=None,
        now=LATER,
    )

    assert waiting_order(db_session, cohort, coordinator) == [
        (first.id, EnrolmentStatus.OFFERED, None),
        (second.id, EnrolmentStatus.WAITLISTED, 1),
        (third.id, EnrolmentStatus.WAITLISTED, 2),
    ]


def test_the_waitlist_of_another_programmes_cohort_is_not_found(db_session):
    cohort = make_cohort(db_session, places=1)
    stranger = make_user(db_session, Role.COORDINATOR, programme=make_programme(db_session))

    with pytest.raises(CohortNotFound):
        children_service.list_waitlist(db_session, actor=actor_for(stranger), cohort_id=cohort.id, now=LATER)


# --- changing priority ---------------------------------------------------------------------------------------


def test_raising_a_waiting_childs_priority_moves_them_up_the_waitlist(db_session):
    cohort = make_cohort(db_session, places=1)
    coordinator = coordinator_of(db_session, cohort)
    _, first, second, third = fill(db_session, cohort, by=coordinator, count=4)

    result = service.change_priority(
        db_session, actor=actor_for(coordinator), enrolment_id=third.id, priority=Priority.URGENT, now=LATER
    )

    assert result.enrolment.priority is Priority.URGENT
    assert result.waitlist_position == 1
    assert [entry[0] for entry in waiting_order(db_session, cohort, coordinator)] == [third.id, first.id, second.id]


def test_lowering_a_waiting_childs_priority_moves_them_down_the_waitlist(db_session):
    cohort = make_cohort(db_session, places=1)
    coordinator = coordinator_of(db_session, cohort)
    fill(db_session, cohort, by=coordinator, count=1)
    urgent = admit_child(db_session, cohort=cohort, by=coordinator, now=at(1), priority=Priority.URGENT)
    high = admit_child(db_session, cohort=cohort, by=coordinator, now=at(2), priority=Priority.HIGH)

    result = service.change_priority(
        db_session, actor=actor_for(coordinator), enrolment_id=urgent.id, priority=Priority.NORMAL, now=LATER
    )

    assert result.waitlist_position == 2
    assert [entry[0] for entry in waiting_order(db_session, cohort, coordinator)] == [high.id, urgent.id]


def test_the_next_free_place_goes_to_the_child_whose_priority_was_raised(db_session):
    cohort = make_cohort(db_session, places=1)
    coordinator = coordinator_of(db_session, cohort)
    active, first, second = fill(db_session, cohort, by=coordinator, count=3)
    service.change_priority(
        db_session, actor=actor_for(coordinator), enrolment_id=second.id, priority=Priority.HIGH, now=LATER
    )

    service.end_enrolment(
        db_session,
        actor=actor_for(coordinator),
        enrolment_id=active.id,
        reason=EndReason.COMPLETED,
        note=None,
        now=LATER,
    )

    assert statuses(db_session, first, second) == [EnrolmentStatus.WAITLISTED, EnrolmentStatus.OFFERED]


@pytest.mark.parametrize("holds", ["active", "offered"])
def test_only_a_waiting_child_can_have_their_priority_changed(db_session, holds):
    cohort = make_cohort(db_session, places=1)
    coordinator = coordinator_of(db_session, cohort)
    active, waiting = fill(db_session, cohort, by=coordinator, count=2)
    if holds == "offered":
        service.end_enrolment(
            db_session,
            actor=actor_for(coordinator),
            enrolment_id=active.id,
            reason=EndReason.OTHER,
            note=None,
            now=LATER,
        )
    target = active if holds == "active" else waiting

    with pytest.raises(errors.NotOnWaitlist) as raised:
        service.change_priority(
            db_session, actor=actor_for(coordinator), enrolment_id=target.id, priority=Priority.URGENT, now=LATER
        )

    assert raised.value.reason == "not_on_waitlist"
    db_session.rollback()
    assert reload(db_session, target).priority is Priority.NORMAL


# --- ending an enrolment -------------------------------------------------------------------------------------


def test_ending_support_offers_the_freed_place_to_the_head_of_the_waitlist(db_session):
    cohort = make_cohort(db_session, places=1)
    coordinator = coordinator_of(db_session, cohort)
    active = admit_child(db_session, cohort=cohort, by=coordinator, now=at(0))
    normal = admit_child(db_session, cohort=cohort, by=coordinator, now=at(1))
    urgent = admit_child(db_session, cohort=cohort, by=coordinator, now=at(2), priority=Priority.URGENT)

    ended = service.end_enrolment(
        db_session,
        actor=actor_for(coordinator),
        enrolment_id=active.id,
        reason=EndReason.COMPLETED,
        note="Finished the programme.",
        now=LATER,
    )

    assert ended.enrolment.status is EnrolmentStatus.ENDED
    assert ended.enrolment.end_reason is EndReason.COMPLETED
    assert ended.enrolment.end_note == "Finished the programme."
    assert ended.enrolment.ended_at == LATER
    reload(db_session, urgent)
    assert urgent.status is EnrolmentStatus.OFFERED
    assert urgent.offered_at == LATER
    assert urgent.offer_expires_at == LATER + timedelta(hours=72)
    assert urgent.started_at is None
    assert reload(db_session, normal).status is EnrolmentStatus.WAITLISTED
    assert (
        reading.get_enrolment(
            db_session, actor=actor_for(coordinator), enrolment_id=normal.id, now=LATER
        ).waitlist_position
        == 1
    )
    assert_places_invariants(db_session, cohort)


def test_an_offer_is_held_for_the_programmes_own_offer_window(db_session):
    programme = make_programme(db_session, offer_lapse_hours=48)
    cohort = make_cohort(db_session, programme=programme, places=1)
    coordinator = coordinator_of(db_session, cohort)
    active, waiting = fill(db_session, cohort, by=coordinator, count=2)

    service.end_enrolment(
        db_session, actor=actor_for(coordinator), enrolment_id=active.id, reason=EndReason.OTHER, note=None, now=LATER
    )

    assert reload(db_session, waiting).offer_expires_at == LATER + timedelta(hours=48)


@pytest.mark.parametrize("reason", CHOSEN_END_REASONS, ids=str)
def test_support_can_be_ended_for_each_reason_a_coordinator_chooses(db_session, reason):
    cohort = make_cohort(db_session, places=1)
    coordinator = coordinator_of(db_session, cohort)
    (active,) = fill(db_session, cohort, by=coordinator, count=1)

    ended = service.end_enrolment(
        db_session, actor=actor_for(coordinator), enrolment_id=active.id, reason=reason, note=None, now=LATER
    )

    assert reload(db_session, ended.enrolment).end_reason is reason
    assert ended.enrolment.status is EnrolmentStatus.ENDED


def test_ending_support_with_nobody_waiting_leaves_a_free_place(db_session):
    cohort = make_cohort(db_session, places=2)
    coordinator = coordinator_of(db_session, cohort)
    first, _ = fill(db_session, cohort, by=coordinator, count=2)

    service.end_enrolment(
        db_session,
        actor=actor_for(coordinator),
        enrolment_id=first.id,
        reason=EndReason.MOVED_AWAY,
        note=None,
        now=LATER,
    )

    counts = count_by_status(db_session, cohort_id=cohort.id)
    assert (counts[EnrolmentStatus.ACTIVE], counts[EnrolmentStatus.OFFERED]) == (1, 0)
    assert reload(db_session, admit_child(db_session, cohort=cohort, by=coordinator, now=LATER)).status is (
        EnrolmentStatus.ACTIVE
    )
    assert_places_invariants(db_session, cohort)


def test_an_enrolment_cannot_be_ended_twice(db_session):
    cohort = make_cohort(db_session, places=1)
    coordinator = coordinator_of(db_session, cohort)
    (active,) = fill(db_session, cohort, by=coordinator, count=1)
    service.end_enrolment(
        db_session,
        actor=actor_for(coordinator),
        enrolment_id=active.id,
        reason=EndReason.COMPLETED,
        note=None,
        now=LATER,
    )

    with pytest.raises(errors.EnrolmentNotActive) as raised:
        service.end_enrolment(
            db_session,
            actor=actor_for(coordinator),
            enrolment_id=active.id,
            reason=EndReason.CUSTODY,
            note=None,
            now=LATER + timedelta(hours=1),
        )

    assert raised.value.reason == "enrolment_not_active"
    db_session.rollback()
    assert reload(db_session, active).end_reason is EndReason.COMPLETED
    assert active.ended_at == LATER


@pytest.mark.parametrize("status", ["waitlisted", "offered"])
def test_a_child_not_yet_started_cannot_have_support_ended(db_session, status):
    cohort = make_cohort(db_session, places=1)
    coordinator = coordinator_of(db_session, cohort)
    active, waiting = fill(db_session, cohort, by=coordinator, count=2)
    if status == "offered":
        service.end_enrolment(
            db_session,
            actor=actor_for(coordinator),
            enrolment_id=active.id,
            reason=EndReason.OTHER,
            note=None,
            now=LATER,
        )

    with pytest.raises(errors.EnrolmentNotActive):
        service.end_enrolment(
            db_session,
            actor=actor_for(coordinator),
            enrolment_id=waiting.id,
            reason=EndReason.OTHER,
            note=None,
            now=LATER,
        )

    db_session.rollback()
    assert reload(db_session, waiting).status.value == status


def test_ending_support_ends_the_key_workers_allocation_and_frees_their_caseload(db_session):
    cohort = make_cohort(db_session, places=1)
    coordinator = coordinator_of(db_session, cohort)
    mentor = mentor_of(db_session, cohort)
    (active,) = fill(db_session, cohort, by=coordinator, count=1)
    allocate(db_session, enrolment=active, mentor=mentor, by=coordinator)

    service.end_enrolment(
        db_session,
        actor=actor_for(coordinator),
        enrolment_id=active.id,
        reason=EndReason.DISENGAGED,
        note=None,
        now=LATER,
    )

    (allocation,) = caseload_queries.list_allocations(db_session, enrolment_id=active.id)
    assert allocation.ended_at == LATER
    assert allocation.end_reason is AllocationEndReason.ENROLMENT_ENDED
    assert allocation.ended_by_user_id == coordinator.id
    assert caseload_queries.current_allocation(db_session, enrolment_id=active.id) is None
    assert caseload_queries.count_caseload(db_session, mentor_id=mentor.id) == 0


def test_a_coordinator_cannot_end_another_programmes_enrolment(db_session):
    cohort = make_cohort(db_session, places=1)
    (active,) = fill(db_session, cohort, by=coordinator_of(db_session, cohort), count=1)
    stranger = make_user(db_session, Role.COORDINATOR, programme=make_programme(db_session))

    with pytest.raises(errors.EnrolmentNotFound):
        service.end_enrolment(
            db_session, actor=actor_for(stranger), enrolment_id=active.id, reason=EndReason.OTHER, note=None, now=LATER
        )

    db_session.rollback()
    assert reload(db_session, active).status is EnrolmentStatus.ACTIVE


def test_an_admin_can_end_an_enrolment_in_any_programme(db_session):
    cohort = make_cohort(db_session, places=1)
    (active,) = fill(db_session, cohort, by=coordinator_of(db_session, cohort), count=1)
    admin = make_user(db_session, Role.ADMIN)

    ended = service.end_enrolment(
        db_session, actor=actor_for(admin), enrolment_id=active.id, reason=EndReason.OTHER, note=None, now=LATER
    )

    assert ended.enrolment.status is EnrolmentStatus.ENDED


# --- offers: confirming and lapsing --------------------------------------------------------------------------


def offered_place(db_session: Session, *, places: int = 1, waiting: int = 2, offer_lapse_hours: int = 72):
    """A full cohort whose first child has just left, so the head of the waitlist holds an offer."""
    programme = make_programme(db_session, offer_lapse_hours=offer_lapse_hours)
    cohort = make_cohort(db_session, programme=programme, places=places, planned_weeks=10)
    coordinator = coordinator_of(db_session, cohort)
    children = fill(db_session, cohort, by=coordinator, count=places + waiting)
    service.end_enrolment(
        db_session,
        actor=actor_for(coordinator),
        enrolment_id=children[0].id,
        reason=EndReason.COMPLETED,
        note=None,
        now=LATER,
    )
    return cohort, coordinator, children[places:]


def test_confirming_an_offer_starts_the_childs_support(db_session):
    cohort, coordinator, (offered, next_waiting) = offered_place(db_session)
    confirmed_at = LATER + timedelta(hours=5)

    result = service.confirm_offer(db_session, actor=actor_for(coordinator), enrolment_id=offered.id, now=confirmed_at)

    assert result.enrolment.status is EnrolmentStatus.ACTIVE
    assert result.enrolment.started_at == confirmed_at
    assert result.enrolment.planned_end_on == date(2026, 11, 24) + timedelta(weeks=10)
    assert result.waitlist_position is None
    assert reload(db_session, next_waiting).status is EnrolmentStatus.WAITLISTED
    assert_places_invariants(db_session, cohort)


def test_an_offer_can_be_confirmed_up_to_the_last_second_of_its_window(db_session):
    _, coordinator, (offered, _) = offered_place(db_session)

    result = service.confirm_offer(
        db_session,
        actor=actor_for(coordinator),
        enrolment_id=offered.id,
        now=LATER + timedelta(hours=72) - timedelta(seconds=1),
    )

    assert result.enrolment.status is EnrolmentStatus.ACTIVE


@pytest.mark.parametrize("after", [timedelta(0), timedelta(hours=1), timedelta(days=30)], ids=["at", "hour", "month"])
def test_confirming_a_lapsed_offer_fails_but_the_lapse_and_the_next_offer_are_kept(db_session, after):
    cohort, coordinator, (offered, next_waiting) = offered_place(db_session)
    too_late = offered.offer_expires_at + after

    with pytest.raises(errors.OfferLapsed) as raised:
        service.confirm_offer(db_session, actor=actor_for(coordinator), enrolment_id=offered.id, now=too_late)

    assert raised.value.reason == "offer_lapsed"
    db_session.rollback()  # what the end of a failed request does: only what the service committed survives
    reload(db_session, offered)
    assert offered.status is EnrolmentStatus.OFFER_LAPSED
    assert offered.started_at is None
    assert offered.status_note == "The offer was not confirmed in time."
    reload(db_session, next_waiting)
    assert next_waiting.status is EnrolmentStatus.OFFERED
    assert next_waiting.offered_at == too_late
    assert next_waiting.offer_expires_at == too_late + timedelta(hours=72)
    assert_places_invariants(db_session, cohort)


def test_confirming_an_offer_the_scheduler_already_lapsed_says_the_offer_lapsed(db_session):
    _, coordinator, (offered, _) = offered_place(db_session)
    too_late = offered.offer_expires_at + timedelta(hours=1)
    service.lapse_expired_offers(db_session, now=too_late)

    with pytest.raises(errors.OfferLapsed):
        service.confirm_offer(db_session, actor=actor_for(coordinator), enrolment_id=offered.id, now=too_late)


@pytest.mark.parametrize("status", ["waitlisted", "active"])
def test_only_an_offered_place_can_be_confirmed(db_session, status):
    cohort = make_cohort(db_session, places=1)
    coordinator = coordinator_of(db_session, cohort)
    active, waiting = fill(db_session, cohort, by=coordinator, count=2)
    target = waiting if status == "waitlisted" else active

    with pytest.raises(errors.NoOfferToConfirm) as raised:
        service.confirm_offer(db_session, actor=actor_for(coordinator), enrolment_id=target.id, now=LATER)

    assert raised.value.reason == "no_offer_to_confirm"
    db_session.rollback()
    assert statuses(db_session, active, waiting) == [EnrolmentStatus.ACTIVE, EnrolmentStatus.WAITLISTED]


def test_a_lapsed_offer_closes_that_waitlist_entry_for_good(db_session):
    cohort, coordinator, (offered, next_waiting) = offered_place(db_session)
    service.lapse_expired_offers(db_session, now=LATER + timedelta(hours=72))

    entries = waiting_order(db_session, cohort, coordinator)

    assert entries == [(next_waiting.id, EnrolmentStatus.OFFERED, None)]
    assert reload(db_session, offered).status is EnrolmentStatus.OFFER_LAPSED


def test_a_child_whose_offer_lapsed_can_be_referred_again_and_joins_the_waitlist(db_session):
    cohort, coordinator, (offered, _, _) = offered_place(db_session, waiting=3)
    service.lapse_expired_offers(db_session, now=LATER + timedelta(hours=72))
    again = make_referral(
        db_session,
        cohort=cohort,
        by=coordinator,
        child=db_session.get(Child, offered.child_id),
        now=LATER + timedelta(days=4),
    )

    result = referrals_service.accept_referral(
        db_session, actor=actor_for(coordinator), referral_id=again.id, now=LATER + timedelta(days=4)
    )

    assert result.enrolment.status is EnrolmentStatus.WAITLISTED
    assert result.waitlist_position == 2
    assert reload(db_session, offered).status is EnrolmentStatus.OFFER_LAPSED


def test_the_scheduler_lapses_every_expired_offer_in_every_cohort_and_counts_them(db_session):
    first_cohort, _, (first_offered, first_next) = offered_place(db_session, offer_lapse_hours=24)
    second_cohort, _, (second_offered, second_next) = offered_place(db_session, offer_lapse_hours=24)
    fresh_cohort, _, (fresh_offer, fresh_next) = offered_place(db_session, offer_lapse_hours=96)
    now = LATER + timedelta(hours=30)

    lapsed = service.lapse_expired_offers(db_session, now=now)

    assert lapsed == 2
    assert statuses(db_session, first_offered, second_offered) == [EnrolmentStatus.OFFER_LAPSED] * 2
    assert statuses(db_session, first_next, second_next) == [EnrolmentStatus.OFFERED] * 2
    assert reload(db_session, first_next).offer_expires_at == now + timedelta(hours=24)
    assert statuses(db_session, fresh_offer, fresh_next) == [EnrolmentStatus.OFFERED, EnrolmentStatus.WAITLISTED]
    assert_places_invariants(db_session, first_cohort, second_cohort, fresh_cohort)


def test_the_scheduler_finds_nothing_to_lapse_before_any_offer_expires(db_session):
    _, _, (offered, _) = offered_place(db_session)

    assert service.lapse_expired_offers(db_session, now=offered.offer_expires_at - timedelta(seconds=1)) == 0
    assert reload(db_session, offered).status is EnrolmentStatus.OFFERED


def test_a_lapsed_offer_with_nobody_else_waiting_leaves_a_free_place(db_session):
    cohort, _, (offered,) = offered_place(db_session, waiting=1)

    assert service.lapse_expired_offers(db_session, now=LATER + timedelta(hours=72)) == 1

    assert reload(db_session, offered).status is EnrolmentStatus.OFFER_LAPSED
    counts = count_by_status(db_session, cohort_id=cohort.id)
    assert (counts[EnrolmentStatus.ACTIVE], counts[EnrolmentStatus.OFFERED]) == (0, 0)
    assert_places_invariants(db_session, cohort)


def test_a_child_admitted_after_an_offer_expired_does_not_jump_the_waitlist(db_session):
    cohort, coordinator, (offered, next_waiting) = offered_place(db_session)
    too_late = LATER + timedelta(hours=80)

    newcomer = admit_child(db_session, cohort=cohort, by=coordinator, now=too_late)

    assert newcomer.status is EnrolmentStatus.WAITLISTED
    assert statuses(db_session, offered, next_waiting) == [EnrolmentStatus.OFFER_LAPSED, EnrolmentStatus.OFFERED]
    assert_places_invariants(db_session, cohort)


def test_a_lapsed_offer_ends_the_key_worker_allocated_while_it_was_open(db_session):
    cohort, coordinator, (offered, _) = offered_place(db_session)
    mentor = mentor_of(db_session, cohort)
    allocate(db_session, enrolment=offered, mentor=mentor, by=coordinator, now=LATER)
    too_late = LATER + timedelta(hours=72)

    service.lapse_expired_offers(db_session, now=too_late)

    assert caseload_queries.current_allocation(db_session, enrolment_id=offered.id) is None
    assert caseload_queries.count_caseload(db_session, mentor_id=mentor.id) == 0
    (allocation,) = caseload_queries.list_allocations(db_session, enrolment_id=offered.id)
    assert allocation.ended_at == too_late
    assert allocation.end_reason is AllocationEndReason.ENROLMENT_ENDED


# --- withdrawing from the waitlist ---------------------------------------------------------------------------


def test_withdrawing_a_waiting_child_takes_them_off_the_waitlist(db_session):
    cohort = make_cohort(db_session, places=1)
    coordinator = coordinator_of(db_session, cohort)
    active, first, second = fill(db_session, cohort, by=coordinator, count=3)

    result = service.withdraw_from_waitlist(
        db_session, actor=actor_for(coordinator), enrolment_id=first.id, note="Family moved away.", now=LATER
    )

    assert result.enrolment.status is EnrolmentStatus.WITHDRAWN
    assert result.enrolment.status_note == "Family moved away."
    assert result.waitlist_position is None
    assert waiting_order(db_session, cohort, coordinator) == [(second.id, EnrolmentStatus.WAITLISTED, 1)]
    assert reload(db_session, active).status is EnrolmentStatus.ACTIVE
    assert_places_invariants(db_session, cohort)


def test_withdrawing_a_child_holding_an_offer_passes_the_place_to_the_next_child(db_session):
    cohort, coordinator, (offered, next_waiting) = offered_place(db_session)
    declined_at = LATER + timedelta(hours=2)

    result = service.withdraw_from_waitlist(
        db_session, actor=actor_for(coordinator), enrolment_id=offered.id, note="Declined the place.", now=declined_at
    )

    assert result.enrolment.status is EnrolmentStatus.WITHDRAWN
    reload(db_session, next_waiting)
    assert next_waiting.status is EnrolmentStatus.OFFERED
    assert next_waiting.offer_expires_at == declined_at + timedelta(hours=72)
    assert_places_invariants(db_session, cohort)


def test_withdrawing_a_child_holding_an_offer_ends_their_key_worker_allocation(db_session):
    cohort, coordinator, (offered, _) = offered_place(db_session)
    mentor = mentor_of(db_session, cohort)
    allocate(db_session, enrolment=offered, mentor=mentor, by=coordinator, now=LATER)

    service.withdraw_from_waitlist(
        db_session, actor=actor_for(coordinator), enrolment_id=offered.id, note="Declined.", now=LATER
    )

    assert caseload_queries.current_allocation(db_session, enrolment_id=offered.id) is None
    assert caseload_queries.count_caseload(db_session, mentor_id=mentor.id) == 0


@pytest.mark.parametrize("status", ["active", "ended"])
def test_a_child_who_is_not_waiting_cannot_be_withdrawn(db_session, status):
    cohort = make_cohort(db_session, places=1)
    coordinator = coordinator_of(db_session, cohort)
    (active,) = fill(db_session, cohort, by=coordinator, count=1)
    if status == "ended":
        service.end_enrolment(
            db_session,
            actor=actor_for(coordinator),
            enrolment_id=active.id,
            reason=EndReason.OTHER,
            note=None,
            now=LATER,
        )

    with pytest.raises(errors.NotOnWaitlist):
        service.withdraw_from_waitlist(
            db_session, actor=actor_for(coordinator), enrolment_id=active.id, note="No.", now=LATER
        )

    db_session.rollback()
    assert reload(db_session, active).status.value == status


# --- changing a cohort's places ------------------------------------------------------------------------------


def update_places(db_session: Session, cohort: Cohort, places: int, *, now: datetime = LATER) -> Cohort:
    admin = make_user(db_session, Role.ADMIN)
    return service.update_cohort(
        db_session, actor=actor_for(admin), cohort_id=cohort.id, changes={"places": places}, now=now
    )


def test_new_places_are_offered_to_the_waitlist_at_once_in_waitlist_order(db_session):
    cohort = make_cohort(db_session, places=1)
    coordinator = coordinator_of(db_session, cohort)
    fill(db_session, cohort, by=coordinator, count=1)
    normal = admit_child(db_session, cohort=cohort, by=coordinator, now=at(1))
    high = admit_child(db_session, cohort=cohort, by=coordinator, now=at(2), priority=Priority.HIGH)
    urgent = admit_child(db_session, cohort=cohort, by=coordinator, now=at(3), priority=Priority.URGENT)

    update_places(db_session, cohort, 3)

    assert statuses(db_session, urgent, high, normal) == [
        EnrolmentStatus.OFFERED,
        EnrolmentStatus.OFFERED,
        EnrolmentStatus.WAITLISTED,
    ]
    assert reload(db_session, urgent).offer_expires_at == LATER + timedelta(hours=72)
    assert_places_invariants(db_session, cohort)


def test_more_new_places_than_children_waiting_leaves_the_rest_free(db_session):
    cohort = make_cohort(db_session, places=1)
    coordinator = coordinator_of(db_session, cohort)
    _, waiting = fill(db_session, cohort, by=coordinator, count=2)

    update_places(db_session, cohort, 5)

    assert reload(db_session, waiting).status is EnrolmentStatus.OFFERED
    counts = count_by_status(db_session, cohort_id=cohort.id)
    assert (counts[EnrolmentStatus.ACTIVE], counts[EnrolmentStatus.OFFERED], counts[EnrolmentStatus.WAITLISTED]) == (
        1,
        1,
        0,
    )
    assert_places_invariants(db_session, cohort)


def test_places_cannot_be_cut_below_the_places_taken_and_nothing_changes(db_session):
    cohort, _, (offered, waiting) = offered_place(db_session, places=3)

    with pytest.raises(PlacesBelowTaken) as raised:
        update_places(db_session, cohort, 2)

    assert raised.value.reason == "places_below_taken"
    assert raised.value.details == {"places_taken": 3}
    db_session.rollback()
    assert db_session.get(Cohort, cohort.id).places == 3
    assert statuses(db_session, offered, waiting) == [EnrolmentStatus.OFFERED, EnrolmentStatus.WAITLISTED]


def test_places_can_be_cut_to_exactly_the_places_taken(db_session):
    cohort = make_cohort(db_session, places=5)
    coordinator = coordinator_of(db_session, cohort)
    fill(db_session, cohort, by=coordinator, count=2)

    result = update_places(db_session, cohort, 2)

    assert result.places == 2
    assert admit_child(db_session, cohort=cohort, by=coordinator, now=LATER).status is EnrolmentStatus.WAITLISTED
    assert_places_invariants(db_session, cohort)


# --- moving between cohorts ----------------------------------------------------------------------------------


def two_cohorts(db_session: Session, *, source_places: int = 1, target_places: int = 2):
    programme = make_programme(db_session)
    source = make_cohort(db_session, programme=programme, places=source_places, name="Protect", planned_weeks=52)
    target = make_cohort(db_session, programme=programme, places=target_places, name="Prevent", planned_weeks=26)
    coordinator = make_user(db_session, Role.COORDINATOR, programme=programme)
    mentor = make_user(db_session, Role.MENTOR, programme=programme, max_caseload=1)
    return source, target, coordinator, mentor


def test_moving_a_child_starts_them_in_the_target_cohort_and_ends_the_old_enrolment(db_session):
    source, target, coordinator, _ = two_cohorts(db_session)
    (active,) = fill(db_session, source, by=coordinator, count=1)

    moved = service.move_enrolment(
        db_session,
        actor=actor_for(coordinator),
        enrolment_id=active.id,
        to_cohort_id=target.id,
        note="Stepped down to Prevent.",
        now=LATER,
    )

    assert moved.enrolment.id != active.id
    assert moved.enrolment.cohort_id == target.id
    assert moved.enrolment.child_id == active.child_id
    assert moved.enrolment.status is EnrolmentStatus.ACTIVE
    assert moved.enrolment.moved_from_enrolment_id == active.id
    assert moved.enrolment.referral_id is None
    assert moved.enrolment.started_at == LATER
    assert moved.enrolment.planned_end_on == date(2026, 11, 24) + timedelta(weeks=26)
    assert (moved.enrolment.priority, moved.enrolment.referred_on) == (active.priority, active.referred_on)
    reload(db_session, active)
    assert active.status is EnrolmentStatus.ENDED
    assert active.end_reason is EndReason.MOVED_COHORT
    assert active.ended_at == LATER
    assert active.end_note == "Stepped down to Prevent."
    assert_places_invariants(db_session, source, target)


def test_a_moved_child_keeps_their_key_worker_without_changing_the_caseload(db_session):
    source, target, coordinator, mentor = two_cohorts(db_session)
    (active,) = fill(db_session, source, by=coordinator, count=1)
    allocate(db_session, enrolment=active, mentor=mentor, by=coordinator)  # the mentor is now at their maximum

    moved = service.move_enrolment(
        db_session, actor=actor_for(coordinator), enrolment_id=active.id, to_cohort_id=target.id, note=None, now=LATER
    )

    (old,) = caseload_queries.list_allocations(db_session, enrolment_id=active.id)
    assert (old.ended_at, old.end_reason) == (LATER, AllocationEndReason.MOVED_COHORT)
    new = caseload_queries.current_allocation(db_session, enrolment_id=moved.enrolment.id)
    assert new is not None
    assert new.mentor_id == mentor.id
    assert new.started_at == LATER
    assert caseload_queries.count_caseload(db_session, mentor_id=mentor.id) == 1


def test_moving_a_child_without_a_key_worker_gives_them_none(db_session):
    source, target, coordinator, _ = two_cohorts(db_session)
    (active,) = fill(db_session, source, by=coordinator, count=1)

    moved = service.move_enrolment(
        db_session, actor=actor_for(coordinator), enrolment_id=active.id, to_cohort_id=target.id, note=None, now=LATER
    )

    assert caseload_queries.list_allocations(db_session, enrolment_id=moved.enrolment.id) == []


def test_the_place_a_moved_child_leaves_is_offered_to_the_source_waitlist(db_session):
    source, target, coordinator, _ = two_cohorts(db_session)
    active, waiting = fill(db_session, source, by=coordinator, count=2)

    service.move_enrolment(
        db_session, actor=actor_for(coordinator), enrolment_id=active.id, to_cohort_id=target.id, note=None, now=LATER
    )

    reload(db_session, waiting)
    assert waiting.status is EnrolmentStatus.OFFERED
    assert waiting.offer_expires_at == LATER + timedelta(hours=72)
    assert_places_invariants(db_session, source, target)


def test_a_child_cannot_move_into_a_full_cohort_and_nothing_changes(db_session):
    source, target, coordinator, mentor = two_cohorts(db_session, target_places=1)
    active, source_waiting = fill(db_session, source, by=coordinator, count=2)
    fill(db_session, target, by=coordinator, count=1, first_minute=10)
    allocate(db_session, enrolment=active, mentor=mentor, by=coordinator)
    enrolments_before = count_enrolments(db_session)

    with pytest.raises(errors.CohortFull) as raised:
        service.move_enrolment(
            db_session,
            actor=actor_for(coordinator),
            enrolment_id=active.id,
            to_cohort_id=target.id,
            note=None,
            now=LATER,
        )

    assert raised.value.reason == "cohort_full"
    assert raised.value.details == {"places": 1, "places_taken": 1}
    db_session.rollback()
    assert count_enrolments(db_session) == enrolments_before
    reload(db_session, active)
    assert (active.status, active.ended_at, active.end_reason) == (EnrolmentStatus.ACTIVE, None, None)
    assert reload(db_session, source_waiting).status is EnrolmentStatus.WAITLISTED
    current = caseload_queries.current_allocation(db_session, enrolment_id=active.id)
    assert current is not None
    assert (current.mentor_id, current.ended_at) == (mentor.id, None)
    assert caseload_queries.count_caseload(db_session, mentor_id=mentor.id) == 1
    assert_places_invariants(db_session, source, target)


def test_a_place_held_by_an_offer_counts_against_a_move_into_the_cohort(db_session):
    source, target, coordinator, _ = two_cohorts(db_session, target_places=1)
    (active,) = fill(db_session, source, by=coordinator, count=1)
    target_active, target_waiting = fill(db_session, target, by=coordinator, count=2, first_minute=10)
    service.end_enrolment(
        db_session,
        actor=actor_for(coordinator),
        enrolment_id=target_active.id,
        reason=EndReason.OTHER,
        note=None,
        now=LATER,
    )

    with pytest.raises(errors.CohortFull):
        service.move_enrolment(
            db_session,
            actor=actor_for(coordinator),
            enrolment_id=active.id,
            to_cohort_id=target.id,
            note=None,
            now=LATER,
        )

    db_session.rollback()
    assert statuses(db_session, active, target_waiting) == [EnrolmentStatus.ACTIVE, EnrolmentStatus.OFFERED]


def test_a_child_cannot_move_to_the_cohort_they_are_in(db_session):
    source, _, coordinator, _ = two_cohorts(db_session, source_places=2)
    (active,) = fill(db_session, source, by=coordinator, count=1)

    with pytest.raises(errors.SameCohort) as raised:
        service.move_enrolment(
            db_session,
            actor=actor_for(coordinator),
            enrolment_id=active.id,
            to_cohort_id=source.id,
            note=None,
            now=LATER,
        )

    assert raised.value.reason == "same_cohort"
    db_session.rollback()
    assert reload(db_session, active).status is EnrolmentStatus.ACTIVE


def test_a_child_cannot_move_to_another_programmes_cohort(db_session):
    source, _, coordinator, _ = two_cohorts(db_session)
    elsewhere = make_cohort(db_session, places=5)
    (active,) = fill(db_session, source, by=coordinator, count=1)

    with pytest.raises(CohortNotFound):
        service.move_enrolment(
            db_session,
            actor=actor_for(coordinator),
            enrolment_id=active.id,
            to_cohort_id=elsewhere.id,
            note=None,
            now=LATER,
        )

    db_session.rollback()
    assert reload(db_session, active).status is EnrolmentStatus.ACTIVE
    assert count_by_status(db_session, cohort_id=elsewhere.id)[EnrolmentStatus.ACTIVE] == 0


@pytest.mark.parametrize("status", ["waitlisted", "offered", "ended"])
def test_only_an_active_child_can_move(db_session, status):
    source, target, coordinator, _ = two_cohorts(db_session)
    active, waiting = fill(db_session, source, by=coordinator, count=2)
    if status != "waitlisted":
        service.end_enrolment(
            db_session,
            actor=actor_for(coordinator),
            enrolment_id=active.id,
            reason=EndReason.OTHER,
            note=None,
            now=LATER,
        )
    target_enrolment = active if status == "ended" else waiting

    with pytest.raises(errors.EnrolmentNotActive):
        service.move_enrolment(
            db_session,
            actor=actor_for(coordinator),
            enrolment_id=target_enrolment.id,
            to_cohort_id=target.id,
            note=None,
            now=LATER,
        )

    db_session.rollback()
    assert reload(db_session, target_enrolment).status.value == status
    assert count_by_status(db_session, cohort_id=target.id)[EnrolmentStatus.ACTIVE] == 0


def test_a_moved_child_can_be_moved_back_and_the_chain_is_kept(db_session):
    source, target, coordinator, _ = two_cohorts(db_session)
    (active,) = fill(db_session, source, by=coordinator, count=1)
    actor = actor_for(coordinator)
    moved = service.move_enrolment(
        db_session, actor=actor, enrolment_id=active.id, to_cohort_id=target.id, note=None, now=LATER
    )

    back = service.move_enrolment(
        db_session,
        actor=actor,
        enrolment_id=moved.enrolment.id,
        to_cohort_id=source.id,
        note=None,
        now=LATER + timedelta(days=7),
    )

    assert back.enrolment.cohort_id == source.id
    assert back.enrolment.moved_from_enrolment_id == moved.enrolment.id
    assert statuses(db_session, active, moved.enrolment) == [EnrolmentStatus.ENDED, EnrolmentStatus.ENDED]
    assert_places_invariants(db_session, source, target)


# --- a place's whole journey ---------------------------------------------------------------------------------


def test_a_single_place_passes_down_the_waitlist_and_the_invariants_hold_at_every_step(db_session):
    cohort = make_cohort(db_session, places=1)
    coordinator = coordinator_of(db_session, cohort)
    actor = actor_for(coordinator)
    first, second, third, fourth = fill(db_session, cohort, by=coordinator, count=4)
    assert_places_invariants(db_session, cohort)

    service.end_enrolment(
        db_session, actor=actor, enrolment_id=first.id, reason=EndReason.COMPLETED, note=None, now=LATER
    )
    assert statuses(db_session, second, third, fourth) == [
        EnrolmentStatus.OFFERED,
        EnrolmentStatus.WAITLISTED,
        EnrolmentStatus.WAITLISTED,
    ]
    assert_places_invariants(db_session, cohort)

    service.withdraw_from_waitlist(db_session, actor=actor, enrolment_id=second.id, note="Declined.", now=LATER)
    assert statuses(db_session, third, fourth) == [EnrolmentStatus.OFFERED, EnrolmentStatus.WAITLISTED]
    assert_places_invariants(db_session, cohort)

    assert service.lapse_expired_offers(db_session, now=LATER + timedelta(hours=72)) == 1
    assert statuses(db_session, third, fourth) == [EnrolmentStatus.OFFER_LAPSED, EnrolmentStatus.OFFERED]
    assert_places_invariants(db_session, cohort)

    service.confirm_offer(db_session, actor=actor, enrolment_id=fourth.id, now=LATER + timedelta(hours=73))
    assert reload(db_session, fourth).status is EnrolmentStatus.ACTIVE
    assert_places_invariants(db_session, cohort)

    service.end_enrolment(
        db_session,
        actor=actor,
        enrolment_id=fourth.id,
        reason=EndReason.STEPPED_DOWN,
        note=None,
        now=LATER + timedelta(days=9),
    )
    counts = count_by_status(db_session, cohort_id=cohort.id)
    assert (counts[EnrolmentStatus.ACTIVE], counts[EnrolmentStatus.OFFERED], counts[EnrolmentStatus.WAITLISTED]) == (
        0,
        0,
        0,
    )
    assert_places_invariants(db_session, cohort)


# --- the places summary --------------------------------------------------------------------------------------


def test_a_coordinator_sees_exact_place_counts(db_session):
    cohort, coordinator, _ = offered_place(db_session, places=3, waiting=2)

    (summary,) = reading.get_places(
        db_session, actor=actor_for(coordinator), programme_id=cohort.programme_id, suppression_threshold=5
    )

    assert (summary.places, summary.active, summary.offered, summary.free, summary.waitlisted) == (3, 2, 1, 0, 1)


def test_a_commissioner_sees_small_counts_suppressed_and_free_withheld(db_session):
    cohort, _, _ = offered_place(db_session, places=3, waiting=2)
    commissioner = make_user(db_session, Role.COMMISSIONER, programme=programme_of(db_session, cohort))

    (summary,) = reading.get_places(
        db_session, actor=actor_for(commissioner), programme_id=cohort.programme_id, suppression_threshold=5
    )

    assert (summary.places, summary.active, summary.offered, summary.free, summary.waitlisted) == (
        3,
        "<5",
        "<5",
        None,
        "<5",
    )
