"""Reading the duty rota. `cover_at`, `gaps` and `coordinators_of` are what the alerts service calls to find the
person an alert must reach; the rest serve this domain's own use cases."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from api.accounts.models import AppUser
from api.actors import Role
from api.duty import rules
from api.duty.models import DutyShift
from api.programmes.models import Programme


@dataclass(frozen=True)
class Cover:
    """Who is on duty at one instant, and who to try when they do not answer; both None in a gap."""

    duty_user_id: uuid.UUID | None
    fallback_user_id: uuid.UUID | None


NO_COVER = Cover(duty_user_id=None, fallback_user_id=None)


def shift_covering(db_session: Session, *, programme_id: uuid.UUID, at: datetime) -> DutyShift | None:
    """The programme's shift covering `at` (starts_at <= at < ends_at), if any (shifts never overlap)."""
    return db_session.scalar(
        select(DutyShift)
        .where(DutyShift.programme_id == programme_id, DutyShift.starts_at <= at, DutyShift.ends_at > at)
        .order_by(DutyShift.starts_at)
        .limit(1)
    )


def cover_at(db_session: Session, *, programme_id: uuid.UUID, at: datetime) -> Cover:
    """The people of the programme's shift covering `at`, as the rota records them."""
    shift = shift_covering(db_session, programme_id=programme_id, at=at)
    if shift is None:
        return NO_COVER
    return Cover(duty_user_id=shift.coordinator_user_id, fallback_user_id=shift.fallback_user_id)


def gaps(
    db_session: Session, *, programme_id: uuid.UUID, start: datetime, end: datetime
) -> list[tuple[datetime, datetime]]:
    """The stretches of [start, end) that no shift of the programme covers, in time order (UTC)."""
    shifts = list_shifts_between(db_session, programme_id=programme_id, start=start, end=end)
    return rules.uncovered([(shift.starts_at, shift.ends_at) for shift in shifts], start=start, end=end)


def coordinators_of(db_session: Session, *, programme_id: uuid.UUID) -> list[uuid.UUID]:
    """The programme's active coordinators who have a work mobile recorded: who an alert can reach when the rota
    names no one. In order of name, so a caller that tries them in turn always tries them in one order."""
    return list(
        db_session.scalars(
            select(AppUser.id)
            .where(
                AppUser.programme_id == programme_id,
                AppUser.role == Role.COORDINATOR,
                AppUser.is_active.is_(True),
                AppUser.mobile_e164.is_not(None),
            )
            .order_by(AppUser.display_name, AppUser.id)
        )
    )


def list_shifts_between(
    db_session: Session, *, programme_id: uuid.UUID, start: datetime, end: datetime
) -> Sequence[DutyShift]:
    """The programme's shifts that cover any instant of [start, end), by start (a shift begun before `start` too)."""
    return db_session.scalars(
        select(DutyShift)
        .where(DutyShift.programme_id == programme_id, DutyShift.starts_at < end, DutyShift.ends_at > start)
        .order_by(DutyShift.starts_at, DutyShift.id)
    ).all()


def get_shift_or_none(db_session: Session, shift_id: uuid.UUID) -> DutyShift | None:
    return db_session.get(DutyShift, shift_id)


def select_shift_for_update(db_session: Session, shift_id: uuid.UUID) -> DutyShift | None:
    return db_session.scalar(
        select(DutyShift).where(DutyShift.id == shift_id).with_for_update().execution_options(populate_existing=True)
    )


def lock_programme_rota(db_session: Session, programme_id: uuid.UUID) -> Programme | None:
    """Load the programme and hold its row lock to the end of the transaction.

    Every write to a programme's rota takes this lock before it checks for overlapping shifts, so two writes that
    would each overlap the other cannot both pass the check. (PostgreSQL: FOR UPDATE. SQLite ignores it, but its
    transactions begin IMMEDIATE and already hold the database write lock; see api/db.py.)"""
    return db_session.scalar(
        select(Programme)
        .where(Programme.id == programme_id)
        .with_for_update()
        .execution_options(populate_existing=True)
    )


def get_users(db_session: Session, user_ids: set[uuid.UUID]) -> dict[uuid.UUID, AppUser]:
    if not user_ids:
        return {}
    return {user.id: user for user in db_session.scalars(select(AppUser).where(AppUser.id.in_(user_ids)))}
