"""Writing a session's register (register_rules.py): the lines a session's status sets, the lines a mentor takes at
a group session, and the carers who came to one. All are steps (`@step`), inside the sessions service's use cases,
which lock the session, check its version and record the change for the phones' sync and the audit."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from api.actors import Actor
from api.db import step
from api.sessions import errors, queries, rules
from api.sessions.models import MentoringSession, SessionAttendee, SessionCarer
from api.sessions.register_rules import (
    CANCELLED,
    HOLDS_A_PLACE,
    REGISTER_OPEN,
    Attendance,
    CarerAtSession,
    RegisterLine,
    check_carers,
    check_register,
    has_register,
    line_for_status,
    lines_before_start,
)
from api.sessions.rules import SessionKind, SessionStatus


def first_line(kind: SessionKind, status: SessionStatus) -> Attendance:
    """A new session's line for each child: booked, or what its status already says (logged afterwards)."""
    return line_for_status(kind, status) or Attendance.BOOKED


@step
def record_lines(
    db_session: Session, *, session: MentoringSession, lines: Sequence[RegisterLine], now: datetime
) -> None:
    """Take (or correct) a group session's register: the lines sent are set, the others stay as they are. The
    caller holds the session's lock and has checked its version."""
    if not has_register(session.kind):
        raise errors.InvalidSession(
            errors={"lines": ["Only a group session has a register to take: log this session's status instead."]}
        )
    if session.status not in REGISTER_OPEN:
        raise errors.SessionStatusFinal("The register of a session cancelled, moved or not attended cannot change.")
    rows = {
        row.child_id: row
        for row in db_session.scalars(select(SessionAttendee).where(SessionAttendee.session_id == session.id))
    }
    check_register(
        lines,
        booked_child_ids=rows.keys(),
        planned_start_at=session.planned_start_at,
        planned_end_at=session.planned_end_at,
    )
    early = lines_before_start(lines, planned_start_at=session.planned_start_at, now=now)
    if early:
        [problem] = next(iter(early.values()))["attendance"]
        raise errors.SessionNotStarted(problem, errors={"lines": early})
    returning = [
        rows[line.child_id]
        for line in lines
        if rows[line.child_id].attendance in CANCELLED and line.attendance in HOLDS_A_PLACE
    ]
    if returning:
        _check_places_back(db_session, session=session, rows=returning)
    for line in lines:
        row = rows[line.child_id]
        row.attendance = line.attendance
        row.arrived_at = line.arrived_at
        row.left_at = line.left_at


@step
def record_carers(
    db_session: Session, *, session: MentoringSession, carers: Sequence[CarerAtSession], actor: Actor, now: datetime
) -> None:
    """Replace the carers recorded at a group session with those sent. Like the register, only at a session held or
    still planned, and only once it has started (the caller holds the session's lock and has checked its
    version)."""
    booked = db_session.scalars(select(SessionAttendee.child_id).where(SessionAttendee.session_id == session.id))
    check_carers(carers, kind=session.kind, booked_child_ids=set(booked))
    if session.status not in REGISTER_OPEN:
        raise errors.SessionStatusFinal("The carers of a session cancelled, moved or not attended cannot change.")
    # The same rule as a line saying a child came: carers who came are recorded once the session has started.
    problem = carers and rules.not_started_problem(
        status=SessionStatus.COMPLETED, planned_start_at=session.planned_start_at, now=now
    )
    if problem:
        raise errors.SessionNotStarted(problem, errors={"carers": [problem]})
    db_session.execute(delete(SessionCarer).where(SessionCarer.session_id == session.id))
    for carer in carers:
        db_session.add(
            SessionCarer(
                session_id=session.id,
                relationship=carer.relationship,
                child_id=carer.child_id,
                recorded_at=now,
                recorded_by_user_id=actor.user_id,
            )
        )


def _check_places_back(db_session: Session, *, session: MentoringSession, rows: list[SessionAttendee]) -> None:
    """A cancelled line freed the child's place in their week; taking it back must still fit their weekly cap
    (with their enrolment locked, as planning does, so a session planned meanwhile cannot take the same place)."""
    for place in queries.lock_places(db_session, enrolment_ids=[row.enrolment_id for row in rows]):
        load = queries.week_loads(
            db_session,
            child_id=place.enrolment.child_id,
            enrolment_id=place.enrolment.id,
            weeks=[session.local_week],
            excluding=session.id,
        )[session.local_week]
        check = rules.check_weekly_cap(
            week=session.local_week,
            sessions_in_week=load.sessions_in_week,
            adding=1,
            max_sessions=place.cohort.max_sessions_per_week,
            override=load.override,
        )
        if not check.allowed:
            raise errors.WeeklySessionCapReached(
                f"This child already has {check.sessions_in_week} of {check.max_sessions} sessions in "
                f"{session.local_week}.",
                week=session.local_week,
                sessions_in_week=check.sessions_in_week,
                max_sessions=check.max_sessions,
                child_id=str(place.enrolment.child_id),
            )
