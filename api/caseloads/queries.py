from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy import and_, func, select
from sqlalchemy.orm import Session

from api.accounts.models import AppUser
from api.actors import Role
from api.caseloads.models import Allocation


def current_allocation(db_session: Session, *, enrolment_id: uuid.UUID) -> Allocation | None:
    return db_session.scalar(
        select(Allocation).where(Allocation.enrolment_id == enrolment_id, Allocation.ended_at.is_(None))
    )


def count_caseload(db_session: Session, *, mentor_id: uuid.UUID) -> int:
    query = select(func.count()).where(Allocation.mentor_id == mentor_id, Allocation.ended_at.is_(None))
    return int(db_session.scalar(query) or 0)


def list_allocations(db_session: Session, *, enrolment_id: uuid.UUID) -> Sequence[Allocation]:
    return db_session.scalars(
        select(Allocation).where(Allocation.enrolment_id == enrolment_id).order_by(Allocation.started_at)
    ).all()


@dataclass(frozen=True)
class MentorCaseload:
    mentor: AppUser
    caseload: int


def list_mentor_caseloads(db_session: Session, *, programme_id: uuid.UUID | None) -> list[MentorCaseload]:
    caseload = func.count(Allocation.id)
    query = (
        select(AppUser, caseload)
        .outerjoin(Allocation, and_(Allocation.mentor_id == AppUser.id, Allocation.ended_at.is_(None)))
        .where(AppUser.role == Role.MENTOR)
        .group_by(AppUser.id)
        .order_by(AppUser.display_name)
    )
    if programme_id is not None:
        query = query.where(AppUser.programme_id == programme_id)
    return [MentorCaseload(mentor, count) for mentor, count in db_session.execute(query).all()]
