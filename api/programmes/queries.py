from __future__ import annotations

import uuid
from collections.abc import Sequence

from sqlalchemy import select
from sqlalchemy.orm import Session

from api.actors import Actor, Role
from api.programmes.models import Cohort, Programme


def get_programme_or_none(db_session: Session, programme_id: uuid.UUID) -> Programme | None:
    return db_session.get(Programme, programme_id)


def list_programmes(db_session: Session, *, actor: Actor) -> Sequence[Programme]:
    query = select(Programme).order_by(Programme.name)
    if actor.role is not Role.ADMIN:
        query = query.where(Programme.id == actor.programme_id)
    return db_session.scalars(query).all()


def list_cohorts(db_session: Session, *, programme_id: uuid.UUID) -> Sequence[Cohort]:
    return db_session.scalars(select(Cohort).where(Cohort.programme_id == programme_id).order_by(Cohort.name)).all()


def get_cohort_or_none(db_session: Session, cohort_id: uuid.UUID) -> Cohort | None:
    return db_session.get(Cohort, cohort_id)


def select_cohort_for_update(db_session: Session, cohort_id: uuid.UUID) -> Cohort | None:
    """Load a cohort and hold its row lock to the end of the transaction.

    Every change to who holds a cohort's places takes this lock first, so place counts read afterwards are
    not stale. (PostgreSQL: FOR UPDATE. SQLite ignores it, but its transactions begin IMMEDIATE and so
    already hold the database write lock; see api/db.py.) populate_existing refreshes a row this session
    had loaded before the lock was taken.
    """
    return db_session.scalar(
        select(Cohort).where(Cohort.id == cohort_id).with_for_update().execution_options(populate_existing=True)
    )
