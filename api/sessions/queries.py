"""Reading sessions, and the two reads that planning one rests on: the places it is for, locked, and the weeks of the
children at it, counted for the weekly cap."""

from __future__ import annotations

import functools
import uuid
from collections.abc import Collection, Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import (
    BindParameter,
    ColumnElement,
    CompoundSelect,
    Integer,
    Select,
    and_,
    bindparam,
    cast,
    func,
    literal,
    null,
    select,
    true,
    union,
    union_all,
)
from sqlalchemy.orm import Session

from api.actors import Actor, Role
from api.caseloads.models import Allocation
from api.children.models import Child
from api.children.queries import visible_to
from api.enrolments.models import Enrolment
from api.pagination import Page, Window, page_of
from api.programmes.models import Cohort, Programme
from api.reminders.rules import REMINDER_HORIZON, SessionToRemind, SweepWindow
from api.sessions.models import MentoringSession, SessionAttendee, WeeklyCapOverride
from api.sessions.register_rules import CANCELLED, HOLDS_A_PLACE, Attendance
from api.sessions.rules import STILL_ON, SessionStatus


@dataclass(frozen=True)
class Place:
    """A child's place (enrolment) locked for planning, with what planning for it needs, read with the lock."""

    enrolment: Enrolment
    cohort: Cohort
    programme: Programme
    key_worker_id: uuid.UUID | None
    child_reference: str


def lock_places(db_session: Session, *, enrolment_ids: Collection[uuid.UUID]) -> list[Place]:
    """Lock the enrolments, in id order so group sessions cannot deadlock each other, and read with them their cohort,
    programme, current key worker and child's reference (the enrolments not found are absent)."""
    rows = db_session.execute(_lock_places(), {"enrolment_ids": list(enrolment_ids)}).all()
    return [Place(*row) for row in rows]


# The statements every session write runs are built once, with their values bound at each call: building them anew
# (columns compared, clauses coerced) cost more of a request's CPU than SQLAlchemy's cache of their compiled SQL saves.
@functools.cache
def _lock_places() -> Select[Enrolment, Cohort, Programme, uuid.UUID, str]:
    return (
        select(Enrolment, Cohort, Programme, Allocation.mentor_id, Child.reference)
        .join(Cohort, Cohort.id == Enrolment.cohort_id)
        .join(Programme, Programme.id == Cohort.programme_id)
        .join(Child, Child.id == Enrolment.child_id)
        .outerjoin(Allocation, (Allocation.enrolment_id == Enrolment.id) & Allocation.ended_at.is_(None))
        .where(Enrolment.id.in_(bindparam("enrolment_ids", expanding=True)))
        .order_by(Enrolment.id)
        .with_for_update(of=Enrolment)
        .execution_options(populate_existing=True)
    )


@dataclass(frozen=True)
class WeekLoad:
    """One child's week as the weekly cap sees it."""

    week: str
    # Sessions counting towards the cap, across all mentors and group sessions.
    sessions_in_week: int
    # The most sessions a coordinator allowed this child's place in this week, if they set one.
    override: int | None


def week_loads(
    db_session: Session,
    *,
    child_id: uuid.UUID,
    enrolment_id: uuid.UUID,
    weeks: Collection[str],
    excluding: uuid.UUID | None = None,
) -> dict[str, WeekLoad]:
    """For each of one child's weeks, in one round trip: the sessions that count towards the weekly cap (the child's
    register lines that hold a place: booked, attended or did not attend; a cancelled line frees it) and the week's
    cap override for the place, if any. `excluding`: a session left out of the count (one being moved)."""
    loads = {week: WeekLoad(week, 0, None) for week in weeks}
    if not loads:
        return loads
    values = {"child_id": child_id, "enrolment_id": enrolment_id, "weeks": list(loads), "excluding": excluding}
    for week, sessions_in_week, override in db_session.execute(_week_loads(excluding is not None), values):
        load = loads[week]
        loads[week] = WeekLoad(
            week,
            load.sessions_in_week + int(sessions_in_week),
            override if override is not None else load.override,
        )
    return loads


@functools.cache
def _week_loads(excluding: bool) -> CompoundSelect[Any]:
    weeks: BindParameter[str] = bindparam("weeks", expanding=True)
    counted = (
        select(SessionAttendee.local_week, func.count(), cast(null(), Integer))
        .where(
            SessionAttendee.child_id == bindparam("child_id"),
            SessionAttendee.local_week.in_(weeks),
            SessionAttendee.attendance.in_(HOLDS_A_PLACE),
        )
        .group_by(SessionAttendee.local_week)
    )
    if excluding:
        counted = counted.where(SessionAttendee.session_id != bindparam("excluding"))
    overrides = select(WeeklyCapOverride.local_week, literal(0, Integer), WeeklyCapOverride.max_sessions).where(
        WeeklyCapOverride.enrolment_id == bindparam("enrolment_id"), WeeklyCapOverride.local_week.in_(weeks)
    )
    return union_all(counted, overrides)


def cap_override(db_session: Session, *, enrolment_id: uuid.UUID, local_week: str) -> WeeklyCapOverride | None:
    return db_session.scalar(
        select(WeeklyCapOverride).where(
            WeeklyCapOverride.enrolment_id == enrolment_id, WeeklyCapOverride.local_week == local_week
        )
    )


@dataclass(frozen=True)
class Attendee:
    """A child at a session, as its answer names them, with their line of the register."""

    enrolment_id: uuid.UUID
    child_id: uuid.UUID
    child_reference: str
    attendance: Attendance = Attendance.BOOKED
    arrived_at: datetime | None = None
    left_at: datetime | None = None


def attendees(db_session: Session, *, session_id: uuid.UUID) -> list[Attendee]:
    return attendees_of_sessions(db_session, session_ids=[session_id]).get(session_id, [])


def attendees_of_sessions(
    db_session: Session, *, session_ids: Collection[uuid.UUID]
) -> dict[uuid.UUID, list[Attendee]]:
    """The children at each of the sessions, read together, by session, in order of their reference."""
    found: dict[uuid.UUID, list[Attendee]] = {}
    if not session_ids:
        return found
    rows = db_session.execute(
        select(
            SessionAttendee.session_id,
            SessionAttendee.enrolment_id,
            SessionAttendee.child_id,
            Child.reference,
            SessionAttendee.attendance,
            SessionAttendee.arrived_at,
            SessionAttendee.left_at,
        )
        .join(Child, Child.id == SessionAttendee.child_id)
        .where(SessionAttendee.session_id.in_(session_ids))
        .order_by(Child.reference)
    ).all()
    for session_id, enrolment_id, child_id, reference, attendance, arrived_at, left_at in rows:
        found.setdefault(session_id, []).append(
            Attendee(enrolment_id, child_id, reference, attendance, arrived_at, left_at)
        )
    return found


def session_visible_to(actor: Actor) -> ColumnElement[bool]:
    """A session is visible to whoever may see any child at it; a series' session (api/groups) also to the mentor who
    leads it and its programme's coordinators, even before anyone is booked or when no child at it is theirs (the
    lead facilitator takes its register)."""
    if actor.role is Role.ADMIN:
        return true()
    through_a_child = MentoringSession.id.in_(
        select(SessionAttendee.session_id).join(Child, Child.id == SessionAttendee.child_id).where(visible_to(actor))
    )
    if actor.role is Role.MENTOR:
        return through_a_child | (
            MentoringSession.series_id.is_not(None) & (MentoringSession.mentor_id == actor.user_id)
        )
    if actor.role is Role.COORDINATOR:
        return through_a_child | (
            MentoringSession.series_id.is_not(None) & (MentoringSession.programme_id == actor.programme_id)
        )
    return through_a_child


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


def lines_of_child(db_session: Session, *, child_id: uuid.UUID) -> list[tuple[MentoringSession, Attendance]]:
    """Each of one child's sessions with their line of its register, in time order."""
    rows = db_session.execute(
        select(MentoringSession, SessionAttendee.attendance)
        .join(SessionAttendee, SessionAttendee.session_id == MentoringSession.id)
        .where(SessionAttendee.child_id == child_id)
        .order_by(MentoringSession.planned_start_at)
    ).all()
    return [(session, attendance) for session, attendance in rows]


def sessions_to_remind(
    db_session: Session, *, now: datetime, window: SweepWindow | None = None
) -> list[SessionToRemind]:
    """The planned sessions a reminder sweep looks at, in two selects however many (the sessions, then all their
    children at once): without a window, every one starting within the reminder horizon; with one, those entering
    the horizon in (window.after, window.until] and those within it of the children, mentors and programmes the
    window names."""
    window = window or SweepWindow(after=now, until=now + REMINDER_HORIZON)
    starts = MentoringSession.planned_start_at
    # Each way in reads its own index (start time; a child's lines; a mentor's or a programme's sessions by start),
    # so a sweep reads the rows of what entered or changed, not every session of the horizon.
    ways_in: list[Select[uuid.UUID]] = []
    if window.child_ids:
        ways_in.append(
            select(SessionAttendee.session_id).where(
                SessionAttendee.child_id.in_(window.child_ids),
                SessionAttendee.planned_start_at > now,
                SessionAttendee.planned_start_at <= window.until,
            )
        )
    if window.mentor_ids:
        ways_in.append(
            select(MentoringSession.id).where(
                MentoringSession.mentor_id.in_(window.mentor_ids), starts > now, starts <= window.until
            )
        )
    if window.programme_ids:
        ways_in.append(
            select(MentoringSession.id).where(
                MentoringSession.programme_id.in_(window.programme_ids), starts > now, starts <= window.until
            )
        )
    entering = and_(starts > window.after, starts <= window.until)
    looked_at = (
        MentoringSession.id.in_(union(select(MentoringSession.id).where(entering), *ways_in)) if ways_in else entering
    )
    due = (MentoringSession.status == SessionStatus.PLANNED, starts > now, looked_at)
    sessions = db_session.scalars(select(MentoringSession).where(*due)).all()
    if not sessions:
        return []
    children: dict[uuid.UUID, tuple[uuid.UUID, ...]] = {}
    attendees = select(SessionAttendee.session_id, SessionAttendee.child_id).join(
        MentoringSession, MentoringSession.id == SessionAttendee.session_id
    )
    # A child whose place at the session is cancelled is not reminded of it.
    for session_id, child_id in db_session.execute(attendees.where(*due, SessionAttendee.attendance.not_in(CANCELLED))):
        children[session_id] = (*children.get(session_id, ()), child_id)
    return [to_remind(session, children.get(session.id, ())) for session in sessions]


def children_to_remind(db_session: Session, *, session_id: uuid.UUID) -> list[uuid.UUID]:
    """The children at a session still expected at it: those whose line of the register is not cancelled."""
    return list(
        db_session.scalars(
            select(SessionAttendee.child_id).where(
                SessionAttendee.session_id == session_id, SessionAttendee.attendance.not_in(CANCELLED)
            )
        )
    )


def to_remind(session: MentoringSession, child_ids: Iterable[uuid.UUID]) -> SessionToRemind:
    """The session as the reminder policy (api/reminders) needs it. Its children in a fixed order (by id): a group
    session's mentor reminder names the first."""
    return SessionToRemind(
        session_id=session.id,
        programme_id=session.programme_id,
        mentor_id=session.mentor_id,
        planned_start_at=session.planned_start_at,
        planned=session.status is SessionStatus.PLANNED,
        child_ids=tuple(sorted(child_ids)),
    )


def copy_of_session(
    db_session: Session,
    *,
    child_ids: Collection[uuid.UUID],
    mentor_id: uuid.UUID,
    planned_start_at: datetime,
    excluding: uuid.UUID | None = None,
) -> tuple[uuid.UUID, uuid.UUID] | None:
    """(session id, child id) of a session that one of these children already has with this mentor at this start,
    if any. Cancelled and rescheduled-away sessions are not there any more, so they do not count (as for the cap).
    `excluding`: a session being moved, which may move to its own start."""
    values = {
        "child_ids": list(child_ids),
        "mentor_id": mentor_id,
        "planned_start_at": planned_start_at,
        "excluding": excluding,
    }
    row = db_session.execute(_copy_of_session(excluding is not None), values).first()
    return (row[0], row[1]) if row else None


@functools.cache
def _copy_of_session(excluding: bool) -> Select[uuid.UUID, uuid.UUID]:
    query = (
        select(MentoringSession.id, SessionAttendee.child_id)
        .join(SessionAttendee, SessionAttendee.session_id == MentoringSession.id)
        .where(
            SessionAttendee.child_id.in_(bindparam("child_ids", expanding=True)),
            MentoringSession.mentor_id == bindparam("mentor_id"),
            MentoringSession.planned_start_at == bindparam("planned_start_at"),
            MentoringSession.status.in_(STILL_ON),
        )
        .order_by(MentoringSession.created_at, MentoringSession.id)
        .limit(1)
    )
    if excluding:
        query = query.where(MentoringSession.id != bindparam("excluding"))
    return query


def starts_with_mentor(
    db_session: Session, *, child_id: uuid.UUID, mentor_id: uuid.UUID, after: datetime
) -> set[datetime]:
    """When a child has sessions (not cancelled or moved away) with this mentor after `after`: a pattern plans no
    copy of one."""
    return set(
        db_session.scalars(
            select(MentoringSession.planned_start_at)
            .join(SessionAttendee, SessionAttendee.session_id == MentoringSession.id)
            .where(
                SessionAttendee.child_id == child_id,
                MentoringSession.mentor_id == mentor_id,
                MentoringSession.planned_start_at > after,
                MentoringSession.status.in_(STILL_ON),
            )
        )
    )
