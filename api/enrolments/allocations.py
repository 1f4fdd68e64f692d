"""Allocating key workers to the children holding a cohort's places: the enrolment is checked (and locked) here,
and api/caseloads keeps the allocations and the caseload limits."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from api.actors import Actor
from api.audit import service as audit
from api.caseloads import queries as caseloads_queries
from api.caseloads import service as caseloads_service
from api.caseloads.errors import EnrolmentNotAllocatable
from api.caseloads.models import Allocation
from api.db import use_case
from api.enrolments import errors, queries, rules
from api.enrolments.models import Enrolment
from api.enrolments.reading import get_enrolment_for_staff
from api.programmes.models import Cohort


@use_case
def allocate_mentor(
    db_session: Session, *, actor: Actor, enrolment_id: uuid.UUID, mentor_id: uuid.UUID, now: datetime
) -> Allocation:
    """Allocate a key worker to a child holding a place (offered or active), or reallocate (api/caseloads)."""
    enrolment = queries.get_enrolment_in_programme(
        db_session, enrolment_id=enrolment_id, programme_id=actor.programme_scope, for_update=True
    )
    if enrolment is None:
        raise errors.EnrolmentNotFound()
    if enrolment.status not in rules.HOLDS_PLACE:
        raise EnrolmentNotAllocatable()
    return caseloads_service.allocate_mentor(
        db_session,
        actor=actor,
        enrolment_id=enrolment.id,
        child_id=enrolment.child_id,
        programme_id=enrolment_programme_id(db_session, enrolment),
        mentor_id=mentor_id,
        now=now,
    )


@use_case
def list_allocations(
    db_session: Session, *, actor: Actor, enrolment_id: uuid.UUID, now: datetime
) -> Sequence[Allocation]:
    """Every key worker the child has had on this enrolment, oldest first."""
    enrolment = get_enrolment_for_staff(db_session, actor=actor, enrolment_id=enrolment_id)
    allocations = caseloads_queries.list_allocations(db_session, enrolment_id=enrolment.id)
    audit.record(
        db_session, actor=actor, action="allocation.list", record=enrolment, child_id=enrolment.child_id, now=now
    )
    return allocations


def enrolment_programme_id(db_session: Session, enrolment: Enrolment) -> uuid.UUID:
    programme_id = db_session.scalar(select(Cohort.programme_id).where(Cohort.id == enrolment.cohort_id))
    assert programme_id is not None
    return programme_id
