"""Who holds a cohort's places: admitting accepted referrals, the waitlist, offers, ending and moving enrolments,
and changing a cohort's places. Reading enrolments and places is in reading.py, allocating key workers to the
children holding them in allocations.py (api/caseloads keeps the allocations).

Every function that changes who holds a cohort's places first takes that cohort's row lock
(select_cohort_for_update), then lapses any expired offers, then decides. So two coordinators, or a
hundred simultaneous requests, can never take a cohort over its places. The rules are in rules.py.

Ending or moving an enrolment here does not end its session patterns: patterns sit above places, so the use cases
the API calls to end or move an enrolment are api.schedules.service's, which call these and then end the patterns.
"""

from __future__ import annotations

import uuid
from datetime import date, datetime
from typing import Any

from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from api.actors import Actor
from api.audit import service as audit
from api.caseloads import service as caseloads_service
from api.caseloads.rules import AllocationEndReason
from api.changes.rules import EntityType
from api.changes.service import record_change
from api.db import step, transaction, use_case
from api.enrolments import errors, queries, rules
from api.enrolments.models import Enrolment
from api.enrolments.reading import EnrolmentWithPosition, get_enrolment_for_staff, with_position
from api.enrolments.rules import EndReason, EnrolmentStatus, Priority
from api.programmes import service as programmes_service
from api.programmes.errors import CohortKindFixed, CohortNotFound, PlacesBelowTaken
from api.programmes.models import Cohort, Programme
from api.programmes.queries import get_cohort_or_none, select_cohort_for_update
from api.programmes.rules import places_cut_below_taken


def _lock_cohort(db_session: Session, cohort_id: uuid.UUID) -> tuple[Cohort, Programme]:
    cohort = select_cohort_for_update(db_session, cohort_id)
    if cohort is None:
        raise CohortNotFound()
    programme = db_session.get(Programme, cohort.programme_id)
    assert programme is not None
    return cohort, programme


def _child_record_changed(db_session: Session, enrolment: Enrolment, now: datetime) -> None:
    """The child's record shows its enrolment: the phones and coordinators' copies must hear of every change."""
    record_change(
        db_session, entity_type=EntityType.CHILD, entity_id=enrolment.child_id, child_id=enrolment.child_id, now=now
    )


def _start(enrolment: Enrolment, *, cohort: Cohort, programme: Programme, now: datetime) -> None:
    enrolment.status = EnrolmentStatus.ACTIVE
    enrolment.started_at = now
    enrolment.planned_end_on = rules.planned_end_on(
        now, time_zone=programme.time_zone, planned_weeks=cohort.planned_weeks
    )


@step
def offer_free_places(db_session: Session, *, actor: Actor | None, cohort: Cohort, now: datetime) -> list[Enrolment]:
    """Offer every free place to the head of the waitlist. The caller holds the cohort lock."""
    programme = db_session.get(Programme, cohort.programme_id)
    assert programme is not None
    db_session.flush()
    free = rules.free_places(places=cohort.places, taken=queries.count_places_taken(db_session, cohort_id=cohort.id))
    offered = list(queries.waitlist_heads(db_session, cohort_id=cohort.id, limit=free)) if free else []
    for enrolment in offered:
        enrolment.status = EnrolmentStatus.OFFERED
        enrolment.offered_at = now
        enrolment.offer_expires_at = rules.offer_expires_at(now, offer_lapse_hours=programme.offer_lapse_hours)
        enrolment.status_note = None
        _child_record_changed(db_session, enrolment, now)
        audit.record(
            db_session, actor=actor, action="enrolment.offer", record=enrolment, child_id=enrolment.child_id, now=now
        )
    return offered


def _end_allocation(db_session: Session, *, actor: Actor | None, enrolment: Enrolment, now: datetime) -> None:
    """A child whose place ends (or was never taken up) no longer counts on their key worker's caseload."""
    caseloads_service.end_current_allocation(
        db_session,
        actor=actor,
        enrolment_id=enrolment.id,
        child_id=enrolment.child_id,
        reason=AllocationEndReason.ENROLMENT_ENDED,
        now=now,
    )


@step
def lapse_expired_offers_in_cohort(
    db_session: Session, *, actor: Actor | None, cohort: Cohort, now: datetime
) -> list[Enrolment]:
    lapsed = list(queries.expired_offers(db_session, cohort_id=cohort.id, now=now))
    for enrolment in lapsed:
        enrolment.status = EnrolmentStatus.OFFER_LAPSED
        enrolment.status_note = "The offer was not confirmed in time."
        # A key worker may be allocated while the offer is open.
        _end_allocation(db_session, actor=actor, enrolment=enrolment, now=now)
        _child_record_changed(db_session, enrolment, now)
        audit.record(
            db_session,
            actor=actor,
            action="enrolment.offer_lapse",
            record=enrolment,
            child_id=enrolment.child_id,
            now=now,
        )
    if lapsed:
        offer_free_places(db_session, actor=actor, cohort=cohort, now=now)
    return lapsed


def lapse_expired_offers(db_session: Session, *, now: datetime) -> int:
    """The scheduler's job: pass every expired offer on to the next child. One transaction per cohort, each taking
    its cohort's lock afresh (after the read of which cohorts have expired offers has ended)."""
    with transaction(db_session):
        cohort_ids = queries.cohorts_with_expired_offers(db_session, now=now)
    lapsed = 0
    for cohort_id in cohort_ids:
        with transaction(db_session):
            cohort, _ = _lock_cohort(db_session, cohort_id)
            lapsed += len(lapse_expired_offers_in_cohort(db_session, actor=None, cohort=cohort, now=now))
    return lapsed


@step
def admit(
    db_session: Session,
    *,
    actor: Actor,
    referral_id: uuid.UUID,
    child_id: uuid.UUID,
    cohort_id: uuid.UUID,
    priority: Priority,
    referred_on: date,
    now: datetime,
) -> Enrolment:
    """Enrol a child whose referral was accepted if the cohort has a free place, else waitlist them."""
    cohort, programme = _lock_cohort(db_session, cohort_id)
    lapse_expired_offers_in_cohort(db_session, actor=actor, cohort=cohort, now=now)
    if queries.open_enrolment_for_child(db_session, child_id=child_id) is not None:
        raise errors.ChildAlreadyEnrolled()
    taken = queries.count_places_taken(db_session, cohort_id=cohort.id)
    enrolment = Enrolment(
        child_id=child_id,
        cohort_id=cohort.id,
        referral_id=referral_id,
        status=rules.status_on_acceptance(places=cohort.places, taken=taken),
        priority=priority,
        referred_on=referred_on,
        queue_number=queries.next_queue_number(db_session, cohort_id=cohort.id),
        created_at=now,
        last_changed_by_user_id=actor.user_id,
    )
    if enrolment.status is EnrolmentStatus.ACTIVE:
        _start(enrolment, cohort=cohort, programme=programme, now=now)
    db_session.add(enrolment)
    _flush_refusing_second_open_enrolment(db_session)
    _child_record_changed(db_session, enrolment, now)
    audit.record(
        db_session,
        actor=actor,
        action=f"enrolment.{enrolment.status.value}",
        record=enrolment,
        child_id=enrolment.child_id,
        now=now,
    )
    return enrolment


def confirm_offer(
    db_session: Session, *, actor: Actor, enrolment_id: uuid.UUID, now: datetime
) -> EnrolmentWithPosition:
    """Support starts now. An offer found past its window lapses and passes to the next child, and that stands
    even though the confirmation fails: its transaction commits before OfferLapsed is answered."""
    with transaction(db_session):
        enrolment = get_enrolment_for_staff(db_session, actor=actor, enrolment_id=enrolment_id)
        cohort, programme = _lock_cohort(db_session, enrolment.cohort_id)
        db_session.refresh(enrolment)
        lapsed = lapse_expired_offers_in_cohort(db_session, actor=actor, cohort=cohort, now=now)
        if enrolment not in lapsed:
            if enrolment.status is EnrolmentStatus.OFFER_LAPSED:  # the scheduler lapsed it first: the same answer
                raise errors.OfferLapsed()
            if enrolment.status is not EnrolmentStatus.OFFERED:
                raise errors.NoOfferToConfirm()
            _start(enrolment, cohort=cohort, programme=programme, now=now)
            enrolment.last_changed_by_user_id = actor.user_id
            _child_record_changed(db_session, enrolment, now)
            audit.record(
                db_session,
                actor=actor,
                action="enrolment.confirm_offer",
                record=enrolment,
                child_id=enrolment.child_id,
                now=now,
            )
            return with_position(db_session, enrolment)
    raise errors.OfferLapsed()


@use_case
def withdraw_from_waitlist(
    db_session: Session, *, actor: Actor, enrolment_id: uuid.UUID, note: str, now: datetime
) -> EnrolmentWithPosition:
    """The child no longer wants or needs the place they wait for (or were offered)."""
    enrolment = get_enrolment_for_staff(db_session, actor=actor, enrolment_id=enrolment_id)
    cohort, _ = _lock_cohort(db_session, enrolment.cohort_id)
    db_session.refresh(enrolment)
    if not rules.can_leave_waitlist(enrolment.status):
        raise errors.NotOnWaitlist()
    enrolment.status = EnrolmentStatus.WITHDRAWN
    enrolment.status_note = note
    enrolment.last_changed_by_user_id = actor.user_id
    # A child who declines an offer may already have a key worker.
    _end_allocation(db_session, actor=actor, enrolment=enrolment, now=now)
    _child_record_changed(db_session, enrolment, now)
    audit.record(
        db_session, actor=actor, action="enrolment.withdraw", record=enrolment, child_id=enrolment.child_id, now=now
    )
    offer_free_places(db_session, actor=actor, cohort=cohort, now=now)
    return with_position(db_session, enrolment)


@use_case
def change_priority(
    db_session: Session, *, actor: Actor, enrolment_id: uuid.UUID, priority: Priority, now: datetime
) -> EnrolmentWithPosition:
    enrolment = get_enrolment_for_staff(db_session, actor=actor, enrolment_id=enrolment_id)
    _lock_cohort(db_session, enrolment.cohort_id)
    db_session.refresh(enrolment)
    if enrolment.status is not EnrolmentStatus.WAITLISTED:
        raise errors.NotOnWaitlist()
    enrolment.priority = priority
    enrolment.last_changed_by_user_id = actor.user_id
    _child_record_changed(db_session, enrolment, now)
    audit.record(
        db_session,
        actor=actor,
        action="enrolment.change_priority",
        record=enrolment,
        child_id=enrolment.child_id,
        now=now,
    )
    return with_position(db_session, enrolment)


@use_case
def end_enrolment(
    db_session: Session,
    *,
    actor: Actor,
    enrolment_id: uuid.UUID,
    reason: EndReason,
    note: str | None,
    now: datetime,
) -> EnrolmentWithPosition:
    """End support; the place goes to the next child on the waitlist in the same transaction. (Its session
    patterns end in api.schedules.service.end_enrolment_and_its_patterns, which the API calls.)"""
    enrolment = get_enrolment_for_staff(db_session, actor=actor, enrolment_id=enrolment_id)
    cohort, _ = _lock_cohort(db_session, enrolment.cohort_id)
    db_session.refresh(enrolment)
    if not rules.can_end(enrolment.status):
        raise errors.EnrolmentNotActive()
    _close(enrolment, actor=actor, reason=reason, note=note, now=now)
    _end_allocation(db_session, actor=actor, enrolment=enrolment, now=now)
    _child_record_changed(db_session, enrolment, now)
    audit.record(
        db_session, actor=actor, action="enrolment.end", record=enrolment, child_id=enrolment.child_id, now=now
    )
    lapse_expired_offers_in_cohort(db_session, actor=actor, cohort=cohort, now=now)
    offer_free_places(db_session, actor=actor, cohort=cohort, now=now)
    return with_position(db_session, enrolment)


@use_case
def move_enrolment(
    db_session: Session,
    *,
    actor: Actor,
    enrolment_id: uuid.UUID,
    to_cohort_id: uuid.UUID,
    note: str | None,
    now: datetime,
) -> EnrolmentWithPosition:
    """Step a child up or down between cohorts of one programme: all of it happens, or none of it. (The old
    enrolment's session patterns end in api.schedules.service.move_enrolment_ending_its_patterns, which the API
    calls: the new cohort may allow a different number of sessions a week, so the mentor sets a new pattern.)"""
    enrolment = get_enrolment_for_staff(db_session, actor=actor, enrolment_id=enrolment_id)
    target = get_cohort_or_none(db_session, to_cohort_id)
    source = get_cohort_or_none(db_session, enrolment.cohort_id)
    assert source is not None
    if target is None or target.programme_id != source.programme_id:
        raise CohortNotFound()
    if target.id == source.id:
        raise errors.SameCohort()
    # Lock both cohorts in a fixed order so two opposite moves cannot deadlock.
    locked = {cohort_id: _lock_cohort(db_session, cohort_id) for cohort_id in sorted([source.id, target.id])}
    source, _ = locked[source.id]
    target, programme = locked[target.id]
    db_session.refresh(enrolment)
    if not rules.can_end(enrolment.status):
        raise errors.EnrolmentNotActive()
    lapse_expired_offers_in_cohort(db_session, actor=actor, cohort=target, now=now)
    taken = queries.count_places_taken(db_session, cohort_id=target.id)
    if rules.free_places(places=target.places, taken=taken) == 0:
        raise errors.CohortFull(places=target.places, places_taken=taken)
    _close(enrolment, actor=actor, reason=EndReason.MOVED_COHORT, note=note, now=now)
    db_session.flush()
    moved = Enrolment(
        child_id=enrolment.child_id,
        cohort_id=target.id,
        moved_from_enrolment_id=enrolment.id,
        priority=enrolment.priority,
        referred_on=enrolment.referred_on,
        queue_number=queries.next_queue_number(db_session, cohort_id=target.id),
        created_at=now,
        last_changed_by_user_id=actor.user_id,
        status=EnrolmentStatus.ACTIVE,
        status_note=note,
    )
    _start(moved, cohort=target, programme=programme, now=now)
    db_session.add(moved)
    _flush_refusing_second_open_enrolment(db_session)
    caseloads_service.carry_allocation(
        db_session,
        actor=actor,
        child_id=enrolment.child_id,
        from_enrolment_id=enrolment.id,
        to_enrolment_id=moved.id,
        now=now,
    )
    _child_record_changed(db_session, enrolment, now)
    audit.record(
        db_session, actor=actor, action="enrolment.move_out", record=enrolment, child_id=enrolment.child_id, now=now
    )
    _child_record_changed(db_session, moved, now)
    audit.record(db_session, actor=actor, action="enrolment.move_in", record=moved, child_id=moved.child_id, now=now)
    lapse_expired_offers_in_cohort(db_session, actor=actor, cohort=source, now=now)
    offer_free_places(db_session, actor=actor, cohort=source, now=now)
    return with_position(db_session, moved)


@use_case
def update_cohort(
    db_session: Session, *, actor: Actor, cohort_id: uuid.UUID, changes: dict[str, Any], now: datetime
) -> Cohort:
    """Change a cohort's name, intensity, kind (api/programmes) or places. Places cannot be cut below those held or
    offered (lapsed offers are let go first); new places go straight to the children waiting for them. The kind is
    fixed once any child has been enrolled in the cohort (whatever became of the enrolment)."""
    if "kind" in changes:
        # A child's place stays what it was when they took it: one-to-one support never turns group-only under them
        # (nor the reverse). Read under the cohort's lock, which every admission takes.
        locked = select_cohort_for_update(db_session, cohort_id)
        if locked is not None and locked.kind is not changes["kind"] and queries.has_enrolments(db_session, cohort_id):
            raise CohortKindFixed()
    cohort = programmes_service.update_cohort(db_session, cohort_id=cohort_id, changes=changes)
    if "places" in changes:
        lapse_expired_offers_in_cohort(db_session, actor=actor, cohort=cohort, now=now)
        taken = queries.count_places_taken(db_session, cohort_id=cohort.id)
        if places_cut_below_taken(new_places=changes["places"], taken=taken):
            raise PlacesBelowTaken(places_taken=taken)
        cohort.places = changes["places"]
        offer_free_places(db_session, actor=actor, cohort=cohort, now=now)
    return cohort


def _close(enrolment: Enrolment, *, actor: Actor, reason: EndReason, note: str | None, now: datetime) -> None:
    enrolment.status = EnrolmentStatus.ENDED
    enrolment.ended_at = now
    enrolment.end_reason = reason
    enrolment.end_note = note
    enrolment.last_changed_by_user_id = actor.user_id


def _flush_refusing_second_open_enrolment(db_session: Session) -> None:
    # The partial unique index is the last line of defence if two referrals for one child race; the use case's
    # transaction rolls back when the refusal leaves it.
    try:
        db_session.flush()
    except IntegrityError as error:
        raise errors.ChildAlreadyEnrolled() from error
