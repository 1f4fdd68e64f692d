"""Reading sessions: a session as one caller may see it (notes only for its mentor, coordinators and admins), one
at a time or a page of them. Each read is audited, a row per child at the session.

`view_session` is a step (`@step`): the writing use cases answer with the session they wrote through it.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from api.actors import Actor, Role
from api.audit import service as audit
from api.db import step, use_case
from api.pagination import Page, Window
from api.programmes.models import Programme
from api.sessions import errors, queries, rules
from api.sessions.models import LoneWorkingCheck, MentoringSession, SessionCarer
from api.sessions.queries import Attendee
from api.sessions.register_rules import CarerAtSession, register_taken
from api.sessions.rules import LocalTiming, LocationCategory, LoneWorkingClosedHow, SessionKind, SessionStatus


@dataclass(frozen=True)
class LoneWorkingState:
    """A session's lone-working check as the phone and a supplier's app show it (api/sessions/lone_working.py)."""

    check_in_by: datetime
    started_at: datetime
    closed_at: datetime | None
    closed_how: LoneWorkingClosedHow | None

    @classmethod
    def of(cls, check: LoneWorkingCheck | None) -> LoneWorkingState | None:
        if check is None:
            return None
        return cls(check.check_in_by, check.started_at, check.closed_at, check.closed_how)


@dataclass(frozen=True)
class SessionView:
    """A session as one caller may see it (what SessionSchema answers): notes only for its mentor, coordinators and
    admins; its week and evening and weekend flags in programme time."""

    id: uuid.UUID
    programme_id: uuid.UUID
    mentor_id: uuid.UUID
    kind: SessionKind
    location_category: LocationCategory
    status: SessionStatus
    planned_start_at: datetime
    planned_end_at: datetime
    local_week: str
    is_evening: bool
    is_weekend: bool
    attendees: list[Attendee]
    actual_duration_minutes: int | None
    activities: list[str] | None
    notes: str | None
    pattern_id: uuid.UUID | None
    series_id: uuid.UUID | None
    rescheduled_to_id: uuid.UUID | None
    version: int
    updated_at: datetime
    lone_working: LoneWorkingState | None
    # Parents and carers who came (a group session): not children, so in no line, place or count of children.
    carers: list[CarerAtSession]

    @property
    def carers_attended(self) -> int:
        return len(self.carers)

    @property
    def register(self) -> list[Attendee]:
        """Each child's line: the attendees, whose attendance, arrival and leaving SessionSchema's register shows."""
        return self.attendees

    @property
    def register_taken(self) -> bool:
        return register_taken([attendee.attendance for attendee in self.attendees])


def _view(
    session: MentoringSession,
    timing: LocalTiming,
    *,
    actor: Actor,
    attendees: list[Attendee],
    lone_working: LoneWorkingCheck | None,
    carers: list[CarerAtSession],
) -> SessionView:
    notes_visible = actor.role in (Role.ADMIN, Role.COORDINATOR) or session.mentor_id == actor.user_id
    return SessionView(
        id=session.id,
        programme_id=session.programme_id,
        mentor_id=session.mentor_id,
        kind=session.kind,
        location_category=session.location_category,
        status=session.status,
        planned_start_at=session.planned_start_at,
        planned_end_at=session.planned_end_at,
        local_week=session.local_week,
        is_evening=timing.is_evening,
        is_weekend=timing.is_weekend,
        attendees=attendees,
        actual_duration_minutes=session.actual_duration_minutes,
        activities=session.activities,
        notes=session.notes if notes_visible else None,
        pattern_id=session.pattern_id,
        series_id=session.series_id,
        rescheduled_to_id=session.rescheduled_to_id,
        version=session.version,
        updated_at=session.updated_at,
        lone_working=LoneWorkingState.of(lone_working),
        carers=carers,
    )


def _lone_working_checks(db_session: Session, session_ids: list[uuid.UUID]) -> dict[uuid.UUID, LoneWorkingCheck]:
    if not session_ids:
        return {}
    checks = db_session.scalars(select(LoneWorkingCheck).where(LoneWorkingCheck.session_id.in_(session_ids)))
    return {check.session_id: check for check in checks}


def _carers(db_session: Session, session_ids: list[uuid.UUID]) -> dict[uuid.UUID, list[CarerAtSession]]:
    """The carers recorded at each session, read together, in a stable order."""
    found: dict[uuid.UUID, list[CarerAtSession]] = {}
    if not session_ids:
        return found
    rows = db_session.execute(
        select(SessionCarer.session_id, SessionCarer.relationship, SessionCarer.child_id)
        .where(SessionCarer.session_id.in_(session_ids))
        .order_by(SessionCarer.session_id, SessionCarer.recorded_at, SessionCarer.id)
    )
    for session_id, relationship, child_id in rows:
        found.setdefault(session_id, []).append(CarerAtSession(relationship, child_id))
    return found


@step
def view_session(
    db_session: Session,
    session: MentoringSession,
    *,
    actor: Actor,
    attendees: list[Attendee] | None = None,
    timing: LocalTiming | None = None,
    created: bool = False,
) -> SessionView:
    """The session as `actor` may see it. `attendees`, `timing`: when the caller has them already. `created`: the
    session was made in this transaction, so it has no lone-working check and no carers yet (nothing to read)."""
    if attendees is None:
        attendees = queries.attendees(db_session, session_id=session.id)
    if timing is None:
        programme = db_session.get_one(Programme, session.programme_id)
        timing = rules.local_timing(session.planned_start_at, programme.time_zone)
    if created:
        return _view(session, timing, actor=actor, attendees=attendees, lone_working=None, carers=[])
    checks = _lone_working_checks(db_session, [session.id])
    carers = _carers(db_session, [session.id]).get(session.id, [])
    return _view(session, timing, actor=actor, attendees=attendees, lone_working=checks.get(session.id), carers=carers)


def view_sessions(db_session: Session, sessions: Sequence[MentoringSession], *, actor: Actor) -> list[SessionView]:
    """Many sessions as `actor` may see them, their children read in one statement (a page of a list or of the
    sync feed)."""
    attendees = queries.attendees_of_sessions(db_session, session_ids=[session.id for session in sessions])
    checks = _lone_working_checks(db_session, [session.id for session in sessions])
    carers = _carers(db_session, [session.id for session in sessions])
    # One statement however many programmes the sessions span (an admin's page may span several).
    programme_ids = {session.programme_id for session in sessions}
    time_zones: dict[uuid.UUID, str] = {}
    if programme_ids:
        query = select(Programme.id, Programme.time_zone).where(Programme.id.in_(programme_ids))
        time_zones = {programme_id: time_zone for programme_id, time_zone in db_session.execute(query)}
    return [
        _view(
            session,
            rules.local_timing(session.planned_start_at, time_zones[session.programme_id]),
            actor=actor,
            attendees=attendees.get(session.id, []),
            lone_working=checks.get(session.id),
            carers=carers.get(session.id, []),
        )
        for session in sessions
    ]


@use_case
def get_session(db_session: Session, *, actor: Actor, session_id: uuid.UUID, now: datetime) -> SessionView:
    session = queries.get_visible_session(db_session, actor=actor, session_id=session_id)
    if session is None:
        raise errors.SessionNotFound()
    view = view_session(db_session, session, actor=actor)
    audit.record_many(
        db_session,
        actor=actor,
        action="session.read",
        of=MentoringSession,
        records=[(session.id, attendee.child_id) for attendee in view.attendees],
        now=now,
    )
    return view


@use_case
def list_sessions(
    db_session: Session,
    *,
    actor: Actor,
    child_id: uuid.UUID | None,
    starts_from: datetime | None,
    starts_before: datetime | None,
    window: Window,
    now: datetime,
) -> Page[SessionView]:
    page = queries.list_sessions(
        db_session,
        actor=actor,
        child_id=child_id,
        starts_from=starts_from,
        starts_before=starts_before,
        window=window,
    )
    views = view_sessions(db_session, page.items, actor=actor)
    audit.record_many(
        db_session,
        actor=actor,
        action="session.list",
        of=MentoringSession,
        records=[(view.id, attendee.child_id) for view in views for attendee in view.attendees],
        now=now,
    )
    return Page(views, page.total)
