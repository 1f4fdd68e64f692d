"""Allocating key workers to enrolled children, within each mentor's maximum caseload.

The enrolment an allocation belongs to is checked by api.enrolments (allocations.py, service.py), which calls these
steps.
"""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from api.accounts.models import AppUser
from api.actors import Actor, Role
from api.audit import service as audit
from api.caseloads import errors, queries, rules
from api.caseloads.models import Allocation
from api.caseloads.rules import AllocationEndReason
from api.changes.rules import ChangeOp, EntityType
from api.changes.service import record_change
from api.db import step


@step
def allocate_mentor(
    db_session: Session,
    *,
    actor: Actor,
    enrolment_id: uuid.UUID,
    child_id: uuid.UUID,
    programme_id: uuid.UUID,
    mentor_id: uuid.UUID,
    now: datetime,
) -> Allocation:
    """Allocate a key worker to an enrolment holding a place (checked, and locked, by api.enrolments.allocations), or
    reallocate: the previous allocation ends and stays in the history."""
    # The mentor's row lock serialises allocations to one mentor, so two coordinators cannot both take
    # the last slot of a caseload.
    mentor = db_session.scalar(
        select(AppUser)
        .where(
            AppUser.id == mentor_id,
            AppUser.role == Role.MENTOR,
            AppUser.programme_id == programme_id,
            AppUser.is_active.is_(True),
        )
        .with_for_update()
        .execution_options(populate_existing=True)
    )
    if mentor is None:
        raise errors.MentorNotFound()
    current = queries.current_allocation(db_session, enrolment_id=enrolment_id)
    if current is not None and current.mentor_id == mentor.id:
        raise errors.AlreadyAllocated()
    caseload = queries.count_caseload(db_session, mentor_id=mentor.id)
    if not rules.has_room(caseload=caseload, max_caseload=mentor.max_caseload):
        raise errors.MentorCaseloadFull(caseload=caseload, max_caseload=mentor.max_caseload)
    if current is not None:
        _end(db_session, current, actor=actor, child_id=child_id, reason=AllocationEndReason.REALLOCATED, now=now)
        db_session.flush()
    allocation = Allocation(
        enrolment_id=enrolment_id, mentor_id=mentor.id, started_at=now, started_by_user_id=actor.user_id
    )
    db_session.add(allocation)
    db_session.flush()
    _tell_phones(db_session, allocation, ChangeOp.ACCESS_GRANTED, child_id=child_id, now=now)
    audit.record(db_session, actor=actor, action="allocation.create", record=allocation, child_id=child_id, now=now)
    return allocation


def list_mentor_caseloads(db_session: Session, *, actor: Actor) -> list[queries.MentorCaseload]:
    return queries.list_mentor_caseloads(db_session, programme_id=actor.programme_scope)


@step
def end_current_allocation(
    db_session: Session,
    *,
    actor: Actor | None,
    enrolment_id: uuid.UUID,
    child_id: uuid.UUID,
    reason: AllocationEndReason,
    now: datetime,
) -> Allocation | None:
    """Part of ending, moving, withdrawing or lapsing an enrolment (the child is the enrolment's). actor is None
    when the scheduler lapses an offer."""
    current = queries.current_allocation(db_session, enrolment_id=enrolment_id)
    if current is not None:
        _end(db_session, current, actor=actor, child_id=child_id, reason=reason, now=now)
        db_session.flush()
    return current


@step
def carry_allocation(
    db_session: Session,
    *,
    actor: Actor,
    child_id: uuid.UUID,
    from_enrolment_id: uuid.UUID,
    to_enrolment_id: uuid.UUID,
    now: datetime,
) -> None:
    """A child moving cohort keeps their key worker; the mentor's caseload does not change."""
    previous = end_current_allocation(
        db_session,
        actor=actor,
        enrolment_id=from_enrolment_id,
        child_id=child_id,
        reason=AllocationEndReason.MOVED_COHORT,
        now=now,
    )
    if previous is not None:
        allocation = Allocation(
            enrolment_id=to_enrolment_id,
            mentor_id=previous.mentor_id,
            started_at=now,
            started_by_user_id=actor.user_id,
        )
        db_session.add(allocation)
        db_session.flush()
        _tell_phones(db_session, allocation, ChangeOp.ACCESS_GRANTED, child_id=child_id, now=now)


def _end(
    db_session: Session,
    allocation: Allocation,
    *,
    actor: Actor | None,
    child_id: uuid.UUID,
    reason: AllocationEndReason,
    now: datetime,
) -> None:
    allocation.ended_at = now
    allocation.ended_by_user_id = actor.user_id if actor is not None else None
    allocation.end_reason = reason
    _tell_phones(db_session, allocation, ChangeOp.ACCESS_REVOKED, child_id=child_id, now=now)


def _tell_phones(
    db_session: Session, allocation: Allocation, op: ChangeOp, *, child_id: uuid.UUID, now: datetime
) -> None:
    """Tell the mentor's phone it gained or lost a child, and everyone else who syncs the child that its key
    worker changed, in this transaction."""
    record_change(
        db_session,
        entity_type=EntityType.CHILD,
        entity_id=child_id,
        child_id=child_id,
        op=op,
        mentor_id=allocation.mentor_id,
        now=now,
    )
    record_change(db_session, entity_type=EntityType.CHILD, entity_id=child_id, child_id=child_id, now=now)
