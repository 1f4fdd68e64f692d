"""Places in a cohort: admitting accepted referrals, the waitlist, offers, ending and moving enrolments.

Every function that changes who holds a cohort's places first takes that cohort's row lock
(select_cohort_for_update), then lapses any expired offers, then decides. So two coordinators, or a
hundred simultaneous requests, can never take a cohort over its places. The rules are in rules.py.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from api.actors import Actor, Role
from api.audit import service as audit
from api.caseloads import service as caseloads_service
from api.caseloads.rules import AllocationEndReason
from api.changes.rules import EntityType
from api.changes.service import record_change
from api.disclosure import is_suppressed, suppress
from api.enrolments import errors, queries, rules
from api.enrolments.models import Enrolment
from api.enrolments.rules import EndReason, EnrolmentStatus
from api.pagination import Page, Window
from api.programmes.errors import CohortNotFound, ProgrammeNotFound
from api.programmes.models import Cohort, Programme
from api.programmes.queries import get_cohort_or_none, list_cohorts, select_cohort_for_update
from api.referrals.models import Referral
from api.referrals.rules import Priority
from api.schedules import service as schedules_service


def _lock_cohort(db_session: Session, cohort_id: uuid.UUID) -> tuple[Cohort, Programme]:
    cohort = select_cohort_for_update(db_session, cohort_id)
    if cohort is None:
        raise CohortNotFound()
    programme = db_session.get(Programme, cohort.programme_id)
    assert programme is not None
    return cohort, programme


def _audit(db_session: Session, actor: Actor | None, action: str, enrolment: Enrolment, now: datetime) -> None:
    if not action.endswith((".read", ".list", ".list_waitlist")):
        # The child's record shows its enrolment: the phones and coordinators' copies must hear of the change.
        record_change(
            db_session, entity_type=EntityType.CHILD, entity_id=enrolment.child_id, child_id=enrolment.child_id, now=now
        )
    audit.record(
        db_session,
        actor=actor,
        action=action,
        record=enrolment,
        child_id=enrolment.child_id,
        now=now,
    )


def _start(enrolment: Enrolment, *, cohort: Cohort, programme: Programme, now: datetime) -> None:
    enrolment.status = EnrolmentStatus.ACTIVE
    enrolment.started_at = now
    enrolment.planned_end_on = rules.planned_end_on(
        now, time_zone=programme.time_zone, planned_weeks=cohort.planned_weeks
    )


def offer_free_places(db_session: Session, *, actor: Actor | None, cohort: Cohort, now: datetime) -> list[Enrolment]:
    """Offer every free place to the head of the waitlist. Caller holds the cohort lock and commits."""
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
        _audit(db_session, actor, "enrolment.offer", enrolment, now)
    return offered


def lapse_expired_offers_in_cohort(
    db_session: Session, *, actor: Actor | None, cohort: Cohort, now: datetime
) -> list[Enrolment]:
    lapsed = list(queries.expired_offers(db_session, cohort_id=cohort.id, now=now))
    for enrolment in lapsed:
        enrolment.status = EnrolmentStatus.OFFER_LAPSED
        enrolment.status_note = "The offer was not confirmed in time."
        # A key worker may be allocated while the offer is open; the child no longer counts on their caseload.
        caseloads_service.end_current_allocation(
            db_session, actor=actor, enrolment_id=enrolment.id, reason=AllocationEndReason.ENROLMENT_ENDED, now=now
        )
        _audit(db_session, actor, "enrolment.offer_lapse", enrolment, now)
    if lapsed:
        offer_free_places(db_session, actor=actor, cohort=cohort, now=now)
    return lapsed


def lapse_expired_offers(db_session: Session, *, now: datetime) -> int:
    """The scheduler's job: pass every expired offer on to the next child. One transaction per cohort."""
    lapsed = 0
    for cohort_id in queries.cohorts_with_expired_offers(db_session, now=now):
        db_session.rollback()  # end the read transaction before taking the lock
        cohort, _ = _lock_cohort(db_session, cohort_id)
        lapsed += len(lapse_expired_offers_in_cohort(db_session, actor=None, cohort=cohort, now=now))
        db_session.commit()
    db_session.rollback()
    return lapsed


def admit(db_session: Session, *, actor: Actor, referral: Referral, now: datetime) -> Enrolment:
    """Enrol the referred child if the cohort has a free place, else waitlist them. Caller commits."""
    cohort, programme = _lock_cohort(db_session, referral.cohort_id)
    lapse_expired_offers_in_cohort(db_session, actor=actor, cohort=cohort, now=now)
    if queries.open_enrolment_for_child(db_session, child_id=referral.child_id) is not None:
        raise errors.ChildAlreadyEnrolled()
    taken = queries.count_places_taken(db_session, cohort_id=cohort.id)
    enrolment = Enrolment(
        child_id=referral.child_id,
        cohort_id=cohort.id,
        referral_id=referral.id,
        status=rules.status_on_acceptance(places=cohort.places, taken=taken),
        priority=referral.priority,
        referred_on=referral.referred_on,
        created_at=now,
        last_changed_by_user_id=actor.user_id,
    )
    if enrolment.status is EnrolmentStatus.ACTIVE:
        _start(enrolment, cohort=cohort, programme=programme, now=now)
    db_session.add(enrolment)
    _flush_refusing_second_open_enrolment(db_session)
    _audit(db_session, actor, f"enrolment.{enrolment.status.value}", enrolment, now)
    return enrolment


@dataclass(frozen=True)
class EnrolmentWithPosition:
    enrolment: Enrolment
    waitlist_position: int | None

    def __getattr__(self, name: str) -> Any:
        # Read everything else straight from the enrolment, so one schema dumps both.
        return getattr(self.enrolment, name)


@dataclass(frozen=True)
class PlacesSummary:
    cohort_id: uuid.UUID
    cohort_name: str
    places: int
    active: int | str
    offered: int | str
    free: int | None
    waitlisted: int | str


def get_places(
    db_session: Session, *, actor: Actor, programme_id: uuid.UUID, suppression_threshold: int
) -> list[PlacesSummary]:
    """Places used against places funded, per cohort. Commissioners get small numbers suppressed."""
    if not actor.sees_programme(programme_id) or db_session.get(Programme, programme_id) is None:
        raise ProgrammeNotFound()
    summaries = []
    for cohort in list_cohorts(db_session, programme_id=programme_id):
        counts = queries.count_by_status(db_session, cohort_id=cohort.id)
        active, offered = counts[EnrolmentStatus.ACTIVE], counts[EnrolmentStatus.OFFERED]
        waitlisted = counts[EnrolmentStatus.WAITLISTED]
        free: int | None = rules.free_places(places=cohort.places, taken=active + offered)
        if actor.role is not Role.COMMISSIONER:
            summaries.append(PlacesSummary(cohort.id, cohort.name, cohort.places, active, offered, free, waitlisted))
            continue
        threshold = suppression_threshold
        if is_suppressed(active, threshold=threshold) or is_suppressed(offered, threshold=threshold):
            free = None
        summaries.append(
            PlacesSummary(
                cohort.id,
                cohort.name,
                cohort.places,
                active=suppress(active, threshold=threshold),
                offered=suppress(offered, threshold=threshold),
                free=free,
                waitlisted=suppress(waitlisted, threshold=threshold),
            )
        )
    return summaries


def _with_position(db_session: Session, enrolment: Enrolment) -> EnrolmentWithPosition:
    return EnrolmentWithPosition(enrolment, queries.waitlist_position(db_session, enrolment=enrolment))


def get_enrolment(
    db_session: Session, *, actor: Actor, enrolment_id: uuid.UUID, now: datetime
) -> EnrolmentWithPosition:
    enrolment = _get_for_staff(db_session, actor=actor, enrolment_id=enrolment_id)
    _audit(db_session, actor, "enrolment.read", enrolment, now)
    result = _with_position(db_session, enrolment)
    db_session.commit()
    return result


def confirm_offer(
    db_session: Session, *, actor: Actor, enrolment_id: uuid.UUID, now: datetime
) -> EnrolmentWithPosition:
    enrolment = _get_for_staff(db_session, actor=actor, enrolment_id=enrolment_id)
    cohort, programme = _lock_cohort(db_session, enrolment.cohort_id)
    db_session.refresh(enrolment)
    lapsed = lapse_expired_offers_in_cohort(db_session, actor=actor, cohort=cohort, now=now)
    if enrolment in lapsed:
        db_session.commit()  # the lapse and the next offer stand even though this request fails
        raise errors.OfferLapsed()
    if enrolment.status is EnrolmentStatus.OFFER_LAPSED:  # the scheduler lapsed it first: the same answer
        raise errors.OfferLapsed()
    if enrolment.status is not EnrolmentStatus.OFFERED:
        raise errors.NoOfferToConfirm()
    _start(enrolment, cohort=cohort, programme=programme, now=now)
    enrolment.last_changed_by_user_id = actor.user_id
    _audit(db_session, actor, "enrolment.confirm_offer", enrolment, now)
    db_session.commit()
    return _with_position(db_session, enrolment)


def withdraw_from_waitlist(
    db_session: Session, *, actor: Actor, enrolment_id: uuid.UUID, note: str, now: datetime
) -> EnrolmentWithPosition:
    """The child no longer wants or needs the place they wait for (or were offered)."""
    enrolment = _get_for_staff(db_session, actor=actor, enrolment_id=enrolment_id)
    cohort, _ = _lock_cohort(db_session, enrolment.cohort_id)
    db_session.refresh(enrolment)
    if not rules.can_leave_waitlist(enrolment.status):
        raise errors.NotOnWaitlist()
    enrolment.status = EnrolmentStatus.WITHDRAWN
    enrolment.status_note = note
    enrolment.last_changed_by_user_id = actor.user_id
    # A child who declines an offer may already have a key worker; free that place on the caseload too.
    caseloads_service.end_current_allocation(
        db_session, actor=actor, enrolment_id=enrolment.id, reason=AllocationEndReason.ENROLMENT_ENDED, now=now
    )
    _audit(db_session, actor, "enrolment.withdraw", enrolment, now)
    offer_free_places(db_session, actor=actor, cohort=cohort, now=now)
    db_session.commit()
    return _with_position(db_session, enrolment)


def change_priority(
    db_session: Session, *, actor: Actor, enrolment_id: uuid.UUID, priority: Priority, now: datetime
) -> EnrolmentWithPosition:
    enrolment = _get_for_staff(db_session, actor=actor, enrolment_id=enrolment_id)
    _lock_cohort(db_session, enrolment.cohort_id)
    db_session.refresh(enrolment)
    if enrolment.status is not EnrolmentStatus.WAITLISTED:
        raise errors.NotOnWaitlist()
    enrolment.priority = priority
    enrolment.last_changed_by_user_id = actor.user_id
    _audit(db_session, actor, "enrolment.change_priority", enrolment, now)
    db_session.commit()
    return _with_position(db_session, enrolment)


def end_enrolment(
    db_session: Session,
    *,
    actor: Actor,
    enrolment_id: uuid.UUID,
    reason: EndReason,
    note: str | None,
    now: datetime,
) -> EnrolmentWithPosition:
    """End support; the place goes to the next child on the waitlist in the same transaction."""
    enrolment = _get_for_staff(db_session, actor=actor, enrolment_id=enrolment_id)
    cohort, _ = _lock_cohort(db_session, enrolment.cohort_id)
    db_session.refresh(enrolment)
    if not rules.can_end(enrolment.status):
        raise errors.EnrolmentNotActive()
    _close(db_session, enrolment, actor=actor, reason=reason, note=note, now=now)
    caseloads_service.end_current_allocation(
        db_session,
        actor=actor,
        enrolment_id=enrolment.id,
        reason=AllocationEndReason.ENROLMENT_ENDED,
        now=now,
    )
    _audit(db_session, actor, "enrolment.end", enrolment, now)
    lapse_expired_offers_in_cohort(db_session, actor=actor, cohort=cohort, now=now)
    offer_free_places(db_session, actor=actor, cohort=cohort, now=now)
    db_session.commit()
    return _with_position(db_session, enrolment)


def move_enrolment(
    db_session: Session,
    *,
    actor: Actor,
    enrolment_id: uuid.UUID,
    to_cohort_id: uuid.UUID,
    note: str | None,
    now: datetime,
) -> EnrolmentWithPosition:
    """Step a child up or down between cohorts of one programme: all of it happens, or none of it."""
    enrolment = _get_for_staff(db_session, actor=actor, enrolment_id=enrolment_id)
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
    _close(db_session, enrolment, actor=actor, reason=EndReason.MOVED_COHORT, note=note, now=now)
    db_session.flush()
    moved = Enrolment(
        child_id=enrolment.child_id,
        cohort_id=target.id,
        moved_from_enrolment_id=enrolment.id,
        priority=enrolment.priority,
        referred_on=enrolment.referred_on,
        created_at=now,
        last_changed_by_user_id=actor.user_id,
        status=EnrolmentStatus.ACTIVE,
        status_note=note,
    )
    _start(moved, cohort=target, programme=programme, now=now)
    db_session.add(moved)
    _flush_refusing_second_open_enrolment(db_session)
    caseloads_service.carry_allocation(
        db_session, actor=actor, from_enrolment_id=enrolment.id, to_enrolment_id=moved.id, now=now
    )
    _audit(db_session, actor, "enrolment.move_out", enrolment, now)
    _audit(db_session, actor, "enrolment.move_in", moved, now)
    lapse_expired_offers_in_cohort(db_session, actor=actor, cohort=source, now=now)
    offer_free_places(db_session, actor=actor, cohort=source, now=now)
    db_session.commit()
    return _with_position(db_session, moved)


def list_waitlist(
    db_session: Session, *, actor: Actor, cohort_id: uuid.UUID, now: datetime
) -> list[queries.WaitlistEntry]:
    cohort = get_cohort_or_none(db_session, cohort_id)
    if cohort is None or not actor.sees_programme(cohort.programme_id):
        raise CohortNotFound()
    entries = queries.list_waitlist(db_session, cohort_id=cohort.id)
    audit.record_many(
        db_session,
        actor=actor,
        action="enrolment.list_waitlist",
        of=Enrolment,
        records=[(entry.enrolment.id, entry.enrolment.child_id) for entry in entries],
        now=now,
    )
    db_session.commit()
    return entries


def list_enrolments(
    db_session: Session,
    *,
    actor: Actor,
    cohort_id: uuid.UUID | None,
    child_id: uuid.UUID | None,
    status: EnrolmentStatus | None,
    window: Window,
    now: datetime,
) -> Page[EnrolmentWithPosition]:
    page = queries.list_enrolments(
        db_session,
        programme_id=actor.programme_scope,
        cohort_id=cohort_id,
        child_id=child_id,
        status=status,
        window=window,
    )
    audit.record_many(
        db_session,
        actor=actor,
        action="enrolment.list",
        of=Enrolment,
        records=[(enrolment.id, enrolment.child_id) for enrolment in page.items],
        now=now,
    )
    results = [_with_position(db_session, enrolment) for enrolment in page.items]
    db_session.commit()
    return Page(results, page.total)


def _close(
    db_session: Session, enrolment: Enrolment, *, actor: Actor, reason: EndReason, note: str | None, now: datetime
) -> None:
    enrolment.status = EnrolmentStatus.ENDED
    enrolment.ended_at = now
    enrolment.end_reason = reason
    enrolment.end_note = note
    enrolment.last_changed_by_user_id = actor.user_id
    # Its patterns end too (a moved child's new cohort may allow a different number of sessions a week, so
    # the mentor sets a new pattern); sessions already logged, edited or past stay as they are.
    schedules_service.end_patterns_of_enrolment(db_session, actor=actor, enrolment_id=enrolment.id, now=now)


def _get_for_staff(db_session: Session, *, actor: Actor, enrolment_id: uuid.UUID) -> Enrolment:
    enrolment = queries.get_enrolment_in_programme(
        db_session, enrolment_id=enrolment_id, programme_id=actor.programme_scope
    )
    if enrolment is None:
        raise errors.EnrolmentNotFound()
    return enrolment


def _flush_refusing_second_open_enrolment(db_session: Session) -> None:
    # The partial unique index is the last line of defence if two referrals for one child race.
    try:
        db_session.flush()
    except IntegrityError as error:
        db_session.rollback()
        raise errors.ChildAlreadyEnrolled() from error
