"""Taking referrals and deciding them. Accepting one admits the child to a place or to the waitlist."""

from __future__ import annotations

import uuid
from datetime import date, datetime
from zoneinfo import ZoneInfo

from sqlalchemy.orm import Session

from api.actors import Actor
from api.audit import service as audit
from api.children.errors import ChildNotFound
from api.children.models import Child
from api.db import use_case
from api.enrolments import reading as enrolments_reading
from api.enrolments import service as enrolments_service
from api.enrolments.errors import ChildAlreadyEnrolled
from api.enrolments.queries import open_enrolment_for_child
from api.enrolments.rules import Priority
from api.pagination import Page, Window
from api.programmes.errors import CohortNotFound
from api.programmes.models import Cohort, Programme
from api.referrals import errors, queries, rules
from api.referrals.models import Referral
from api.referrals.rules import ReferralSource, ReferralStatus


@use_case
def create_referral(
    db_session: Session,
    *,
    actor: Actor,
    child_id: uuid.UUID,
    cohort_id: uuid.UUID,
    source: ReferralSource,
    source_name: str,
    reason: str,
    priority: Priority,
    referred_on: date | None,
    now: datetime,
) -> Referral:
    child = db_session.get(Child, child_id)
    if child is None or not actor.sees_programme(child.programme_id):
        raise ChildNotFound()
    cohort = db_session.get(Cohort, cohort_id)
    if cohort is None or cohort.programme_id != child.programme_id:
        raise CohortNotFound(errors={"cohort_id": ["Choose a cohort of the child's programme."]})
    programme = db_session.get(Programme, child.programme_id)
    assert programme is not None
    today = now.astimezone(ZoneInfo(programme.time_zone)).date()
    referred_on = referred_on or today
    if referred_on > today:
        raise errors.ReferralDateInFuture(errors={"referred_on": [errors.ReferralDateInFuture.default_message]})
    if queries.pending_referral_for_child(db_session, child_id=child.id) is not None:
        raise errors.ReferralAlreadyPending()
    if open_enrolment_for_child(db_session, child_id=child.id) is not None:
        raise ChildAlreadyEnrolled("This child already has a place or is waiting for one; move them instead.")
    referral = Referral(
        child_id=child.id,
        cohort_id=cohort.id,
        source=source,
        source_name=source_name.strip(),
        reason=reason.strip(),
        priority=priority,
        referred_on=referred_on,
        status=ReferralStatus.PENDING,
        created_at=now,
        created_by_user_id=actor.user_id,
    )
    db_session.add(referral)
    db_session.flush()
    audit.record(
        db_session, actor=actor, action="referral.create", record=referral, child_id=referral.child_id, now=now
    )
    return referral


@use_case
def get_referral(db_session: Session, *, actor: Actor, referral_id: uuid.UUID, now: datetime) -> Referral:
    referral = _get(db_session, actor=actor, referral_id=referral_id)
    audit.record(db_session, actor=actor, action="referral.read", record=referral, child_id=referral.child_id, now=now)
    return referral


@use_case
def list_referrals(
    db_session: Session,
    *,
    actor: Actor,
    status: ReferralStatus | None,
    cohort_id: uuid.UUID | None,
    child_id: uuid.UUID | None,
    window: Window,
    now: datetime,
) -> Page[Referral]:
    page = queries.list_referrals(
        db_session,
        programme_id=actor.programme_scope,
        status=status,
        cohort_id=cohort_id,
        child_id=child_id,
        window=window,
    )
    audit.record_many(
        db_session,
        actor=actor,
        action="referral.list",
        of=Referral,
        records=[(referral.id, referral.child_id) for referral in page.items],
        now=now,
    )
    return page


@use_case
def accept_referral(
    db_session: Session, *, actor: Actor, referral_id: uuid.UUID, now: datetime
) -> enrolments_reading.EnrolmentWithPosition:
    """Accept, and in the same transaction give the child a place or a waitlist position."""
    referral = _get(db_session, actor=actor, referral_id=referral_id, for_update=True)
    if not rules.can_decide(referral.status):
        raise errors.ReferralAlreadyDecided()
    referral.status = ReferralStatus.ACCEPTED
    referral.decided_at = now
    referral.decided_by_user_id = actor.user_id
    audit.record(
        db_session, actor=actor, action="referral.accept", record=referral, child_id=referral.child_id, now=now
    )
    enrolment = enrolments_service.admit(
        db_session,
        actor=actor,
        referral_id=referral.id,
        child_id=referral.child_id,
        cohort_id=referral.cohort_id,
        priority=referral.priority,
        referred_on=referral.referred_on,
        now=now,
    )
    return enrolments_reading.with_position(db_session, enrolment)


@use_case
def decline_referral(
    db_session: Session, *, actor: Actor, referral_id: uuid.UUID, reason: str, now: datetime
) -> Referral:
    referral = _get(db_session, actor=actor, referral_id=referral_id, for_update=True)
    if not rules.can_decide(referral.status):
        raise errors.ReferralAlreadyDecided()
    referral.status = ReferralStatus.DECLINED
    referral.decided_at = now
    referral.decided_by_user_id = actor.user_id
    referral.decision_reason = reason.strip()
    audit.record(
        db_session, actor=actor, action="referral.decline", record=referral, child_id=referral.child_id, now=now
    )
    return referral


def _get(db_session: Session, *, actor: Actor, referral_id: uuid.UUID, for_update: bool = False) -> Referral:
    referral = queries.get_referral_in_programme(
        db_session, referral_id=referral_id, programme_id=actor.programme_scope, for_update=for_update
    )
    if referral is None:
        raise errors.ReferralNotFound()
    return referral
