"""Allocating key workers to enrolled children, within each mentor's maximum caseload."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
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
from api.enrolments.errors import EnrolmentNotFound
from api.enrolments.models import Enrolment
from api.enrolments.queries import get_enrolment_in_programme
from api.enrolments.rules import HOLDS_PLACE
from api.programmes.models import Cohort


def allocate_mentor(
    db_session: Session, *, actor: Actor, enrolment_id: uuid.UUID, mentor_id: uuid.UUID, now: datetime
) -> Allocation:
    """Allocate a key worker, or reallocate: the previous allocation ends and stays in the history."""
    enrolment = get_enrolment_in_programme(
        db_session, enrolment_id=enrolment_id, programme_id=actor.programme_scope, for_update=True
    )
    if enrolment is None:
        raise EnrolmentNotFound()
    if enrolment.status not in HOLDS_PLACE:
        raise errors.EnrolmentNotAllocatable()
    programme_id = enrolment_programme_id(db_session, enrolment)
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
    current = queries.current_allocation(db_session, enrolment_id=enrolment.id)
    if current is not None and current.mentor_id == mentor.id:
        raise errors.AlreadyAllocated()
    caseload = queries.count_caseload(db_session, mentor_id=mentor.id)
    if not rules.has_room(caseload=caseload, max_caseload=mentor.max_caseload):
        raise errors.MentorCaseloadFull(caseload=caseload, max_caseload=mentor.max_caseload)
    if current is not None:
        _end(db_session, current, actor=actor, reason=AllocationEndReason.REALLOCATED, now=now)
        db_session.flush()
    allocation = Allocation(
        enrolment_id=enrolment.id, mentor_id=mentor.id, started_at=now, started_by_user_id=actor.user_id
    )
    db_session.add(allocation)
    db_session.flush()
    _record_access(db_session, allocation, ChangeOp.ACCESS_GRANTED, now=now)
    audit.record(
        db_session,
        actor=actor,
        action="allocation.create",
        record=allocation,
        child_id=enrolment.child_id,
        now=now,
    )
    db_session.commit()
    return allocation


def list_allocations(
    db_session: Session, *, actor: Actor, enrolment_id: uuid.UUID, now: datetime
) -> Sequence[Allocation]:
    enrolment = get_enrolment_in_programme(db_session, enrolment_id=enrolment_id, programme_id=actor.programme_scope)
    if enrolment is None:
        raise EnrolmentNotFound()
    allocations = queries.list_allocations(db_session, enrolment_id=enrolment.id)
    audit.record(
        db_session,
        actor=actor,
        action="allocation.list",
        record=enrolment,
        child_id=enrolment.child_id,
        now=now,
    )
    db_session.commit()
    return allocations


def list_mentor_caseloads(db_session: Session, *, actor: Actor) -> list[queries.MentorCaseload]:
    return queries.list_mentor_caseloads(db_session, programme_id=actor.programme_scope)


def end_current_allocation(
    db_session: Session, *, actor: Actor | None, enrolment_id: uuid.UUID, reason: AllocationEndReason, now: datetime
) -> Allocation | None:
    """Part of a caller's transaction (ending, moving, withdrawing or lapsing an enrolment); does not commit.
    actor is None when the scheduler lapses an offer."""
    current = queries.current_allocation(db_session, enrolment_id=enrolment_id)
    if current is not None:
        _end(db_session, current, actor=actor, reason=reason, now=now)
        db_session.flush()
    return current


def carry_allocation(
    db_session: Session,
    *,
    actor: Actor,
    from_enrolment_id: uuid.UUID,
    to_enrolment_id: uuid.UUID,
    now: datetime,
) -> None:
    """A child moving cohort keeps their key worker; the mentor's caseload does not change. Does not commit."""
    previous = end_current_allocation(
        db_session,
        actor=actor,
        enrolment_id=from_enrolment_id,
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
        _record_access(db_session, allocation, ChangeOp.ACCESS_GRANTED, now=now)


def enrolment_programme_id(db_session: Session, enrolment: Enrolment) -> uuid.UUID:
    programme_id = db_session.scalar(select(Cohort.programme_id).where(Cohort.id == enrolment.cohort_id))
    assert programme_id is not None
    return programme_id


def _end(
    db_session: Session, allocation: Allocation, *, actor: Actor | None, reason: AllocationEndReason, now: datetime
) -> None:
    allocation.ended_at = now
    allocation.ended_by_user_id = actor.user_id if actor is not None else None
    allocation.end_reason = reason
    _record_access(db_session, allocation, ChangeOp.ACCESS_REVOKED, now=now)


def _record_access(db_session: Session, allocation: Allocation, op: ChangeOp, *, now: datetime) -> None:
    """Tell the mentor's phone it gained or lost a child, and everyone else who syncs the child that its key
    worker changed, in this transaction."""
    child_id = db_session.scalar(select(Enrolment.child_id).where(Enrolment.id == allocation.enrolment_id))
    assert child_id is not None
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
