from __future__ import annotations

import uuid
from collections.abc import Collection, Sequence
from datetime import datetime

from sqlalchemy import Select, case, func, select
from sqlalchemy.orm import Session

from api.enrolments.models import Enrolment
from api.enrolments.rules import HOLDS_PLACE, OPEN, PRIORITY_RANK, EnrolmentStatus
from api.pagination import Page, Window, page_of
from api.programmes.models import Cohort

_priority_rank = case({priority.value: rank for priority, rank in PRIORITY_RANK.items()}, value=Enrolment.priority)
# The waitlist order (api/enrolments/rules.py): priority, then referral date, then arrival, which is the order the
# cohort's lock was taken in (queue_number, unique per cohort), the order places are handed out in.
WAITLIST_ORDER = (_priority_rank, Enrolment.referred_on, Enrolment.queue_number)


def next_queue_number(db_session: Session, *, cohort_id: uuid.UUID) -> int:
    """The queue number of the next enrolment to join the cohort. The caller holds the cohort's lock, so no other
    transaction can take the same number (and the unique index would refuse it if one did)."""
    highest = db_session.scalar(select(func.max(Enrolment.queue_number)).where(Enrolment.cohort_id == cohort_id))
    return (highest or 0) + 1


def count_places_taken(db_session: Session, *, cohort_id: uuid.UUID) -> int:
    query = select(func.count()).where(Enrolment.cohort_id == cohort_id, Enrolment.status.in_(HOLDS_PLACE))
    return int(db_session.scalar(query) or 0)


def has_enrolments(db_session: Session, cohort_id: uuid.UUID) -> bool:
    """Whether any child was ever enrolled in the cohort (offered, waiting, holding a place or since ended)."""
    return db_session.scalar(select(Enrolment.id).where(Enrolment.cohort_id == cohort_id).limit(1)) is not None


def count_by_status(db_session: Session, *, cohort_id: uuid.UUID) -> dict[EnrolmentStatus, int]:
    rows = db_session.execute(
        select(Enrolment.status, func.count())
        .where(Enrolment.cohort_id == cohort_id, Enrolment.status.in_(HOLDS_PLACE | {EnrolmentStatus.WAITLISTED}))
        .group_by(Enrolment.status)
    ).all()
    counts = dict.fromkeys(EnrolmentStatus, 0)
    counts.update({status: count for status, count in rows})
    return counts


def waitlist_heads(db_session: Session, *, cohort_id: uuid.UUID, limit: int) -> Sequence[Enrolment]:
    return db_session.scalars(
        select(Enrolment)
        .where(Enrolment.cohort_id == cohort_id, Enrolment.status == EnrolmentStatus.WAITLISTED)
        .order_by(*WAITLIST_ORDER)
        .limit(limit)
    ).all()


def expired_offers(db_session: Session, *, cohort_id: uuid.UUID, now: datetime) -> Sequence[Enrolment]:
    return db_session.scalars(
        select(Enrolment).where(
            Enrolment.cohort_id == cohort_id,
            Enrolment.status == EnrolmentStatus.OFFERED,
            Enrolment.offer_expires_at <= now,
        )
    ).all()


def cohorts_with_expired_offers(db_session: Session, *, now: datetime) -> Sequence[uuid.UUID]:
    return db_session.scalars(
        select(Enrolment.cohort_id)
        .where(Enrolment.status == EnrolmentStatus.OFFERED, Enrolment.offer_expires_at <= now)
        .distinct()
    ).all()


def waitlist_positions(cohort_ids: Collection[uuid.UUID]) -> Select[uuid.UUID, int]:
    """(enrolment id, position) of every child waiting in these cohorts; 1 is next in line in its cohort."""
    return select(
        Enrolment.id,
        func.row_number().over(partition_by=Enrolment.cohort_id, order_by=WAITLIST_ORDER).label("position"),
    ).where(Enrolment.cohort_id.in_(cohort_ids), Enrolment.status == EnrolmentStatus.WAITLISTED)


def waitlist_position(db_session: Session, *, enrolment: Enrolment) -> int | None:
    if enrolment.status is not EnrolmentStatus.WAITLISTED:
        return None
    positions = waitlist_positions([enrolment.cohort_id]).subquery()
    return db_session.scalar(select(positions.c.position).where(positions.c.id == enrolment.id))


def waitlist_positions_of(db_session: Session, *, enrolments: Collection[Enrolment]) -> dict[uuid.UUID, int]:
    """waitlist_position for many enrolments in one statement, by enrolment id (absent: not waiting)."""
    waiting = [enrolment for enrolment in enrolments if enrolment.status is EnrolmentStatus.WAITLISTED]
    if not waiting:
        return {}
    positions = waitlist_positions({enrolment.cohort_id for enrolment in waiting}).subquery()
    rows = db_session.execute(
        select(positions.c.id, positions.c.position).where(positions.c.id.in_([e.id for e in waiting]))
    ).all()
    return {enrolment_id: position for enrolment_id, position in rows}


def open_enrolment_for_child(db_session: Session, *, child_id: uuid.UUID) -> Enrolment | None:
    return db_session.scalar(select(Enrolment).where(Enrolment.child_id == child_id, Enrolment.status.in_(OPEN)))


def get_enrolment_in_programme(
    db_session: Session, *, enrolment_id: uuid.UUID, programme_id: uuid.UUID | None, for_update: bool = False
) -> Enrolment | None:
    """An enrolment, if it belongs to the programme (None: any programme, for admins). With for_update, the
    row stays locked to the end of the transaction (see select_cohort_for_update)."""
    query = select(Enrolment).join(Cohort, Cohort.id == Enrolment.cohort_id).where(Enrolment.id == enrolment_id)
    if programme_id is not None:
        query = query.where(Cohort.programme_id == programme_id)
    if for_update:
        query = query.with_for_update(of=Enrolment).execution_options(populate_existing=True)
    return db_session.scalar(query)


def list_enrolments(
    db_session: Session,
    *,
    programme_id: uuid.UUID | None,
    cohort_id: uuid.UUID | None,
    child_id: uuid.UUID | None,
    status: EnrolmentStatus | None,
    window: Window,
) -> Page[Enrolment]:
    query = select(Enrolment).join(Cohort, Cohort.id == Enrolment.cohort_id)
    if programme_id is not None:
        query = query.where(Cohort.programme_id == programme_id)
    if cohort_id is not None:
        query = query.where(Enrolment.cohort_id == cohort_id)
    if child_id is not None:
        query = query.where(Enrolment.child_id == child_id)
    if status is not None:
        query = query.where(Enrolment.status == status)
    return page_of(db_session, query, order_by=(Enrolment.created_at.desc(), Enrolment.id), window=window)
