from __future__ import annotations

import uuid
from collections.abc import Collection, Sequence
from datetime import datetime

from sqlalchemy import ColumnElement, func, select, true
from sqlalchemy.orm import Session

from api.actors import Actor, Role
from api.children.models import Child
from api.children.queries import visible_to
from api.pagination import Page, Window, page_of
from api.sessions.models import MentoringSession, SessionAttendee, WeeklyCapOverride
from api.sessions.rules import COUNTS_TOWARDS_CAP


def week_load(
    db_session: Session,
    *,
    child_id: uuid.UUID,
    enrolment_id: uuid.UUID,
    local_week: str,
    excluding: uuid.UUID | None = None,
) -> tuple[int, int | None]:
    """For one child's week, in one round trip: the sessions that count towards the weekly cap (across all mentors
    and group sessions, read from the attendance rows' copy of each session's status) and the week's cap override,
    if a coordinator set one."""
    counted = (
        select(func.count())
        .select_from(SessionAttendee)
        .where(
            SessionAttendee.child_id == child_id,
            SessionAttendee.local_week == local_week,
            SessionAttendee.status.in_(COUNTS_TOWARDS_CAP),
        )
    )
    if excluding is not None:
        counted = counted.where(SessionAttendee.session_id != excluding)
    override = select(WeeklyCapOverride.max_sessions).where(
        WeeklyCapOverride.enrolment_id == enrolment_id, WeeklyCapOverride.local_week == local_week
    )
    count, max_sessions = db_session.execute(select(counted.scalar_subquery(), override.scalar_subquery())).one()
    return int(count), max_sessions


def counts_by_week(db_session: Session, *, child_id: uuid.UUID, weeks: set[str]) -> dict[str, int]:
    rows = db_session.execute(
        select(SessionAttendee.local_week, func.count())
        .join(MentoringSession, MentoringSession.id == SessionAttendee.session_id)
        .where(
            SessionAttendee.child_id == child_id,
            SessionAttendee.local_week.in_(weeks),
            MentoringSession.status.in_(COUNTS_TOWARDS_CAP),
        )
        .group_by(SessionAttendee.local_week)
    ).all()
    return {week: count for week, count in rows}


def cap_overrides(db_session: Session, *, enrolment_id: uuid.UUID) -> dict[str, int]:
    rows = db_session.execute(
        select(WeeklyCapOverride.local_week, WeeklyCapOverride.max_sessions).where(
            WeeklyCapOverride.enrolment_id == enrolment_id
        )
    ).all()
    return {week: max_sessions for week, max_sessions in rows}


def cap_override(db_session: Session, *, enrolment_id: uuid.UUID, local_week: str) -> WeeklyCapOverride | None:
    return db_session.scalar(
        select(WeeklyCapOverride).where(
            WeeklyCapOverride.enrolment_id == enrolment_id, WeeklyCapOverride.local_week == local_week
        )
    )


def attendees(db_session: Session, *, session_id: uuid.UUID) -> Sequence[tuple[SessionAttendee, str]]:
    rows = db_session.execute(
        select(SessionAttendee, Child.reference)
        .join(Child, Child.id == SessionAttendee.child_id)
        .where(SessionAttendee.session_id == session_id)
        .order_by(Child.reference)
    ).all()
    return [(attendee, reference) for attendee, reference in rows]


def attendees_of_sessions(
    db_session: Session, *, session_ids: Collection[uuid.UUID]
) -> dict[uuid.UUID, list[tuple[SessionAttendee, str]]]:
    """The children at each of the sessions, read together, by session."""
    found: dict[uuid.UUID, list[tuple[SessionAttendee, str]]] = {}
    if not session_ids:
        return found
    rows = db_session.execute(
        select(SessionAttendee, Child.reference)
        .join(Child, Child.id == SessionAttendee.child_id)
        .where(SessionAttendee.session_id.in_(session_ids))
        .order_by(Child.reference)
    ).all()
    for attendee, reference in rows:
        found.setdefault(attendee.session_id, []).append((attendee, reference))
    return found


def session_visible_to(actor: Actor) -> ColumnElement[bool]:
    """A session is visible to whoever may see any child at it."""
    if actor.role is Role.ADMIN:
        return true()
    return MentoringSession.id.in_(
        select(SessionAttendee.session_id).join(Child, Child.id == SessionAttendee.child_id).where(visible_to(actor))
    )


def get_visible_session(
    db_session: Session, *, actor: Actor, session_id: uuid.UUID, for_update: bool = False
) -> MentoringSession | None:
    query = select(MentoringSession).where(MentoringSession.id == session_id, session_visible_to(actor))
    if for_update:
        query = query.with_for_update(of=MentoringSession).execution_options(populate_existing=True)
    return db_session.scalar(query)


def list_sessions(
    db_session: Session,
    *,
    actor: Actor,
    child_id: uuid.UUID | None,
    starts_from: datetime | None,
    starts_before: datetime | None,
    window: Window,
) -> Page[MentoringSession]:
    query = select(MentoringSession).where(session_visible_to(actor))
    if child_id is not None:
        query = query.where(
            MentoringSession.id.in_(select(SessionAttendee.session_id).where(SessionAttendee.child_id == child_id))
        )
    if starts_from is not None:
        query = query.where(MentoringSession.planned_start_at >= starts_from)
    if starts_before is not None:
        query = query.where(MentoringSession.planned_start_at < starts_before)
    return page_of(db_session, query, order_by=(MentoringSession.planned_start_at, MentoringSession.id), window=window)


def sessions_of_child(db_session: Session, *, child_id: uuid.UUID) -> Sequence[MentoringSession]:
    return db_session.scalars(
        select(MentoringSession)
        .join(SessionAttendee, SessionAttendee.session_id == MentoringSession.id)
        .where(SessionAttendee.child_id == child_id)
        .order_by(MentoringSession.planned_start_at)
    ).all()
