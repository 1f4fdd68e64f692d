from __future__ import annotations

import uuid
from collections.abc import Collection, Sequence
from datetime import datetime

from sqlalchemy import ColumnElement, func, select, true
from sqlalchemy.orm import Session

from api.actors import Actor, Role
from api.children.models import Child
from api.children.queries import visible_to
from api.reminders.rules import REMINDER_HORIZON, SessionToRemind
from api.sessions.models import MentoringSession, SessionAttendee, WeeklyCapOverride
from api.sessions.rules import COUNTS_TOWARDS_CAP, SessionStatus


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
    offset: int,
    limit: int,
) -> tuple[Sequence[MentoringSession], int]:
    query = select(MentoringSession).where(session_visible_to(actor))
    if child_id is not None:
        query = query.where(
            MentoringSession.id.in_(select(SessionAttendee.session_id).where(SessionAttendee.child_id == child_id))
        )
    if starts_from is not None:
        query = query.where(MentoringSession.planned_start_at >= starts_from)
    if starts_before is not None:
        query = query.where(MentoringSession.planned_start_at < starts_before)
    total = int(db_session.scalar(select(func.count()).select_from(query.subquery())) or 0)
    page = db_session.scalars(
        query.order_by(MentoringSession.planned_start_at, MentoringSession.id).offset(offset).limit(limit)
    ).all()
    return page, total


def sessions_of_child(db_session: Session, *, child_id: uuid.UUID) -> Sequence[MentoringSession]:
    return db_session.scalars(
        select(MentoringSession)
        .join(SessionAttendee, SessionAttendee.session_id == MentoringSession.id)
        .where(SessionAttendee.child_id == child_id)
        .order_by(MentoringSession.planned_start_at)
    ).all()


def session_to_remind(db_session: Session, session: MentoringSession) -> SessionToRemind:
    """The session as the reminder policy (api/reminders) needs it, with its children as they are now."""
    child_ids = db_session.scalars(
        select(SessionAttendee.child_id)
        .where(SessionAttendee.session_id == session.id)
        .order_by(SessionAttendee.child_id)
    )
    return _to_remind(session, tuple(child_ids))


def sessions_to_remind(db_session: Session, *, now: datetime) -> list[SessionToRemind]:
    """The planned sessions starting within the reminder horizon, for the scheduler's reminder sweep: two selects
    however many sessions are due (the sessions, then all their children at once)."""
    due = (
        MentoringSession.status == SessionStatus.PLANNED,
        MentoringSession.planned_start_at > now,
        MentoringSession.planned_start_at <= now + REMINDER_HORIZON,
    )
    sessions = db_session.scalars(select(MentoringSession).where(*due)).all()
    children: dict[uuid.UUID, tuple[uuid.UUID, ...]] = {}
    attendees = select(SessionAttendee.session_id, SessionAttendee.child_id).join(
        MentoringSession, MentoringSession.id == SessionAttendee.session_id
    )
    # A fixed order, the same as for one session: a group session's mentor reminder names the first child.
    for session_id, child_id in db_session.execute(attendees.where(*due).order_by(SessionAttendee.child_id)):
        children[session_id] = (*children.get(session_id, ()), child_id)
    return [_to_remind(session, children.get(session.id, ())) for session in sessions]


def _to_remind(session: MentoringSession, child_ids: tuple[uuid.UUID, ...]) -> SessionToRemind:
    return SessionToRemind(
        session_id=session.id,
        programme_id=session.programme_id,
        mentor_id=session.mentor_id,
        planned_start_at=session.planned_start_at,
        planned=session.status is SessionStatus.PLANNED,
        child_ids=child_ids,
    )
