"""Reading group series: which a caller may read, their sessions with the counts of their registers, their rosters,
and the locks a roster change takes (the series, then its sessions to book, in id order)."""

from __future__ import annotations

import uuid
from collections import Counter
from collections.abc import Collection
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import ColumnElement, false, func, or_, select, true
from sqlalchemy.orm import Session

from api.actors import Actor, Role
from api.children.models import Child
from api.children.queries import visible_to
from api.enrolments.models import Enrolment
from api.groups.models import GroupSeries, SeriesMember
from api.pagination import Page, Window, page_of
from api.programmes.models import Cohort
from api.programmes.rules import CohortKind
from api.sessions.models import MentoringSession, SessionAttendee
from api.sessions.register_rules import Attendance
from api.sessions.rules import SessionStatus

# A session moved away lives on as its replacement (also the series'): only the replacement is one of its N.
NOT_COUNTED = (SessionStatus.RESCHEDULED,)


def series_readable_by(actor: Actor) -> ColumnElement[bool]:
    """Who may read a series: admins any; coordinators their programme's; a mentor the series they facilitate and
    those with a child of their caseload on the roster now; commissioners none (they read the dashboards)."""
    if actor.role is Role.ADMIN:
        return true()
    if actor.role is Role.COORDINATOR:
        return GroupSeries.programme_id == actor.programme_id
    if actor.role is Role.MENTOR:
        with_their_child = select(SeriesMember.series_id).where(
            SeriesMember.left_at.is_(None), SeriesMember.child_id.in_(select(Child.id).where(visible_to(actor)))
        )
        return or_(
            GroupSeries.lead_facilitator_id == actor.user_id,
            GroupSeries.co_facilitator_id == actor.user_id,
            GroupSeries.id.in_(with_their_child),
        )
    return false()


def get_readable_series(
    db_session: Session, *, actor: Actor, series_id: uuid.UUID, for_update: bool = False
) -> GroupSeries | None:
    query = select(GroupSeries).where(GroupSeries.id == series_id, series_readable_by(actor))
    if for_update:
        query = query.with_for_update(of=GroupSeries).execution_options(populate_existing=True)
    return db_session.scalar(query)


def readable_series(db_session: Session, *, actor: Actor, series_ids: Collection[uuid.UUID]) -> list[GroupSeries]:
    if not series_ids:
        return []
    return list(
        db_session.scalars(select(GroupSeries).where(GroupSeries.id.in_(series_ids), series_readable_by(actor)))
    )


def list_series(
    db_session: Session, *, actor: Actor, programme_id: uuid.UUID | None, window: Window
) -> Page[GroupSeries]:
    query = select(GroupSeries).where(series_readable_by(actor))
    if programme_id is not None:
        query = query.where(GroupSeries.programme_id == programme_id)
    return page_of(db_session, query, order_by=(GroupSeries.name, GroupSeries.id), window=window)


def name_taken(db_session: Session, *, programme_id: uuid.UUID, name: str, excluding: uuid.UUID | None = None) -> bool:
    query = select(GroupSeries.id).where(GroupSeries.programme_id == programme_id, GroupSeries.name == name)
    if excluding is not None:
        query = query.where(GroupSeries.id != excluding)
    return db_session.scalar(query.limit(1)) is not None


def sessions_of(db_session: Session, *, series_ids: Collection[uuid.UUID]) -> dict[uuid.UUID, list[MentoringSession]]:
    """Each series' sessions in time order (those moved away left out: their replacements are the series')."""
    found: dict[uuid.UUID, list[MentoringSession]] = {series_id: [] for series_id in series_ids}
    if not series_ids:
        return found
    sessions = db_session.scalars(
        select(MentoringSession)
        .where(MentoringSession.series_id.in_(series_ids), MentoringSession.status.not_in(NOT_COUNTED))
        .order_by(MentoringSession.planned_start_at, MentoringSession.id)
    )
    for session in sessions:
        assert session.series_id is not None
        found[session.series_id].append(session)
    return found


def session_count(db_session: Session, *, series_id: uuid.UUID) -> int:
    return int(
        db_session.scalar(
            select(func.count()).where(
                MentoringSession.series_id == series_id, MentoringSession.status.not_in(NOT_COUNTED)
            )
        )
        or 0
    )


def register_counts(db_session: Session, *, session_ids: Collection[uuid.UUID]) -> dict[uuid.UUID, Counter[Attendance]]:
    """How many lines of each session's register say each attendance."""
    counts: dict[uuid.UUID, Counter[Attendance]] = {session_id: Counter() for session_id in session_ids}
    if not session_ids:
        return counts
    rows = db_session.execute(
        select(SessionAttendee.session_id, SessionAttendee.attendance, func.count())
        .where(SessionAttendee.session_id.in_(session_ids))
        .group_by(SessionAttendee.session_id, SessionAttendee.attendance)
    )
    for session_id, attendance, count in rows:
        counts[session_id][attendance] = int(count)
    return counts


@dataclass(frozen=True)
class RosterRow:
    member: SeriesMember
    child_reference: str
    cohort_kind: CohortKind


def rosters(db_session: Session, *, series_ids: Collection[uuid.UUID]) -> dict[uuid.UUID, list[RosterRow]]:
    """Each series' roster, everyone who was ever on it (a child who left keeps their row), in order of joining."""
    found: dict[uuid.UUID, list[RosterRow]] = {series_id: [] for series_id in series_ids}
    if not series_ids:
        return found
    rows = db_session.execute(
        select(SeriesMember, Child.reference, Cohort.kind)
        .join(Child, Child.id == SeriesMember.child_id)
        .join(Enrolment, Enrolment.id == SeriesMember.enrolment_id)
        .join(Cohort, Cohort.id == Enrolment.cohort_id)
        .where(SeriesMember.series_id.in_(series_ids))
        .order_by(SeriesMember.joined_at, Child.reference)
    )
    for member, reference, kind in rows:
        found[member.series_id].append(RosterRow(member, reference, kind))
    return found


def attended(db_session: Session, *, series_ids: Collection[uuid.UUID]) -> dict[tuple[uuid.UUID, uuid.UUID], int]:
    """(series, child) -> how many of the series' sessions the child attended, as the registers say."""
    if not series_ids:
        return {}
    rows = db_session.execute(
        select(MentoringSession.series_id, SessionAttendee.child_id, func.count())
        .join(MentoringSession, MentoringSession.id == SessionAttendee.session_id)
        .where(MentoringSession.series_id.in_(series_ids), SessionAttendee.attendance == Attendance.ATTENDED)
        .group_by(MentoringSession.series_id, SessionAttendee.child_id)
    )
    return {(series_id, child_id): int(count) for series_id, child_id, count in rows if series_id is not None}


def current_memberships(db_session: Session, *, enrolment_id: uuid.UUID) -> list[SeriesMember]:
    """The rosters a child is on through this enrolment, in series order (the order their locks are taken in)."""
    return list(
        db_session.scalars(
            select(SeriesMember)
            .where(SeriesMember.enrolment_id == enrolment_id, SeriesMember.left_at.is_(None))
            .order_by(SeriesMember.series_id)
        )
    )


def lock_series(db_session: Session, *, series_id: uuid.UUID) -> GroupSeries:
    return db_session.execute(
        select(GroupSeries)
        .where(GroupSeries.id == series_id)
        .with_for_update(of=GroupSeries)
        .execution_options(populate_existing=True)
    ).scalar_one()


def current_members(db_session: Session, *, series_id: uuid.UUID) -> list[SeriesMember]:
    return list(
        db_session.scalars(
            select(SeriesMember).where(SeriesMember.series_id == series_id, SeriesMember.left_at.is_(None))
        )
    )


def sessions_not_started(db_session: Session, *, series_id: uuid.UUID, now: datetime) -> list[MentoringSession]:
    """Lock the series' sessions still planned and not yet started, in id order (a roster change books or cancels
    children's lines on them; take_register locks a session before any enrolment, and so does this, after the
    series)."""
    return list(
        db_session.scalars(
            select(MentoringSession)
            .where(
                MentoringSession.series_id == series_id,
                MentoringSession.status == SessionStatus.PLANNED,
                MentoringSession.planned_start_at > now,
            )
            .order_by(MentoringSession.id)
            .with_for_update(of=MentoringSession)
            .execution_options(populate_existing=True)
        )
    )
