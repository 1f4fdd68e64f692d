"""Planning and logging sessions, within each child's weekly cap.

Every write that could add a session to a child's week first locks that child's enrolment row (in id order,
so group sessions cannot deadlock each other), then counts, then writes: simultaneous requests for the same
child and week queue on the lock and the cap holds (tests/concurrency). Each write also records the change
for the phones' sync and an audit row per child, in the same transaction.
"""

from __future__ import annotations

import uuid
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from api.accounts.models import AppUser
from api.actors import Actor, Role
from api.alerts.models import Alert
from api.alerts.rules import AlertKind
from api.audit import service as audit
from api.caseloads.models import Allocation
from api.changes.rules import ChangeOp, EntityType
from api.changes.service import record_change
from api.children.models import Child
from api.children.service import visible_child
from api.enrolments.errors import EnrolmentNotFound
from api.enrolments.models import Enrolment
from api.enrolments.rules import EnrolmentStatus
from api.errors import check_version
from api.outbox import service as outbox
from api.pagination import Page, Window
from api.programmes.models import Cohort, Programme
from api.sessions import errors, queries, rules
from api.sessions.models import MentoringSession, SessionAttendee, WeeklyCapOverride
from api.sessions.rules import LocationCategory, SessionKind, SessionLog, SessionStatus


@dataclass(frozen=True)
class Attendee:
    enrolment_id: uuid.UUID
    child_id: uuid.UUID
    child_reference: str


@dataclass(frozen=True)
class SessionView:
    """A session as one caller may see it: notes only for its mentor, coordinators and admins."""

    session: MentoringSession
    attendees: list[Attendee]
    is_evening: bool
    is_weekend: bool
    notes_visible: bool

    @property
    def notes(self) -> str | None:
        return self.session.notes if self.notes_visible else None

    def __getattr__(self, name: str) -> Any:
        return getattr(self.session, name)


@dataclass(frozen=True)
class Place:
    enrolment: Enrolment
    cohort: Cohort
    # Read with the lock, so checking the caller and answering need no more round trips.
    programme: Programme
    key_worker_id: uuid.UUID | None
    child_reference: str


def view_session(
    db_session: Session, session: MentoringSession, *, actor: Actor, places: list[Place] | None = None
) -> SessionView:
    """The session as `actor` may see it. `places`: its children, when the caller has just locked them."""
    if places is None:
        attendees = [
            Attendee(attendee.enrolment_id, attendee.child_id, reference)
            for attendee, reference in queries.attendees(db_session, session_id=session.id)
        ]
    else:
        attendees = sorted(
            (Attendee(place.enrolment.id, place.enrolment.child_id, place.child_reference) for place in places),
            key=lambda attendee: attendee.child_reference,
        )
    programme = db_session.get(Programme, session.programme_id)
    assert programme is not None
    return _view(session, programme, actor=actor, attendees=attendees)


def view_sessions(db_session: Session, sessions: Sequence[MentoringSession], *, actor: Actor) -> list[SessionView]:
    """Many sessions as `actor` may see them, their children read in one statement (the sync feed's pages)."""
    attendees = queries.attendees_of_sessions(db_session, session_ids=[session.id for session in sessions])
    # Held here: the identity map keeps only what something references, so get() per session would re-read.
    programmes = {
        programme_id: db_session.get_one(Programme, programme_id)
        for programme_id in {session.programme_id for session in sessions}
    }
    return [
        _view(
            session,
            programmes[session.programme_id],
            actor=actor,
            attendees=[
                Attendee(attendee.enrolment_id, attendee.child_id, reference)
                for attendee, reference in attendees.get(session.id, [])
            ],
        )
        for session in sessions
    ]


def _view(session: MentoringSession, programme: Programme, *, actor: Actor, attendees: list[Attendee]) -> SessionView:
    return SessionView(
        session=session,
        attendees=attendees,
        is_evening=rules.is_evening(session.planned_start_at, programme.time_zone),
        is_weekend=rules.is_weekend(session.planned_start_at, programme.time_zone),
        notes_visible=actor.role in (Role.ADMIN, Role.COORDINATOR) or session.mentor_id == actor.user_id,
    )


def lock_places(db_session: Session, *, actor: Actor, enrolment_ids: list[uuid.UUID]) -> list[Place]:
    """Lock the enrolments (in id order), check the caller may plan for each, and that each is active."""
    rows = db_session.execute(
        select(Enrolment, Cohort, Programme, Allocation.mentor_id, Child.reference)
        .join(Cohort, Cohort.id == Enrolment.cohort_id)
        .join(Programme, Programme.id == Cohort.programme_id)
        .join(Child, Child.id == Enrolment.child_id)
        .outerjoin(Allocation, (Allocation.enrolment_id == Enrolment.id) & Allocation.ended_at.is_(None))
        .where(Enrolment.id.in_(enrolment_ids))
        .order_by(Enrolment.id)
        .with_for_update(of=Enrolment)
        .execution_options(populate_existing=True)
    ).all()
    places = [Place(*row) for row in rows]
    if len(places) != len(set(enrolment_ids)) or not all(_may_plan_for(actor, place) for place in places):
        raise EnrolmentNotFound()
    if len({place.cohort.programme_id for place in places}) != 1:
        raise errors.InvalidSession("A session's children must all be in one programme.")
    if any(place.enrolment.status is not EnrolmentStatus.ACTIVE for place in places):
        raise errors.EnrolmentNotActiveForSession()
    return places


def _may_plan_for(actor: Actor, place: Place) -> bool:
    if actor.role is Role.ADMIN:
        return True
    if actor.role is Role.COORDINATOR:
        return place.cohort.programme_id == actor.programme_id
    if actor.role is Role.MENTOR:
        return place.key_worker_id == actor.user_id
    return False


def key_worker_id(db_session: Session, enrolment_id: uuid.UUID) -> uuid.UUID | None:
    return db_session.scalar(
        select(Allocation.mentor_id).where(Allocation.enrolment_id == enrolment_id, Allocation.ended_at.is_(None))
    )


def check_weekly_caps(
    db_session: Session, *, places: list[Place], local_week: str, excluding: uuid.UUID | None = None
) -> None:
    """Refuse a session that would take any of its children past their cap for that week."""
    for place in places:
        count, override = queries.week_load(
            db_session,
            child_id=place.enrolment.child_id,
            enrolment_id=place.enrolment.id,
            local_week=local_week,
            excluding=excluding,
        )
        max_sessions = override if override is not None else place.cohort.max_sessions_per_week
        check = rules.check_weekly_cap(week=local_week, sessions_in_week=count, adding=1, max_sessions=max_sessions)
        if not check.allowed:
            raise errors.WeeklySessionCapReached(
                f"This child already has {count} of {max_sessions} sessions in {local_week}.",
                week=local_week,
                sessions_in_week=count,
                max_sessions=max_sessions,
                child_id=str(place.enrolment.child_id),
            )


def _session_mentor(
    db_session: Session, *, actor: Actor, mentor_id: uuid.UUID | None, places: list[Place]
) -> uuid.UUID:
    if actor.role is Role.MENTOR:
        return actor.user_id
    chosen = mentor_id or key_worker_id(db_session, places[0].enrolment.id)
    mentor = db_session.get(AppUser, chosen) if chosen else None
    if mentor is None or mentor.role is not Role.MENTOR or mentor.programme_id != places[0].cohort.programme_id:
        raise errors.InvalidSession(
            "Name the mentor who leads the session.", errors={"mentor_id": ["Choose a mentor of this programme."]}
        )
    return mentor.id


def _record(
    db_session: Session,
    session: MentoringSession,
    child_ids: list[uuid.UUID],
    actor: Actor | None,
    action: str,
    now: datetime,
    op: ChangeOp = ChangeOp.UPSERT,
    *,
    created: bool = False,
) -> None:
    for child_id in child_ids:
        record_change(
            db_session, entity_type=EntityType.SESSION, entity_id=session.id, child_id=child_id, op=op, now=now
        )
        audit.record(
            db_session,
            actor=actor,
            action=action,
            record=session,
            child_id=child_id,
            now=now,
        )
    # Its SMS reminders follow the session in the same transaction: queued, moved or cancelled with it.
    if op is ChangeOp.UPSERT:
        outbox.resync_if_reminded(db_session, session=session, now=now, created=created)


def _check_log(programme: Programme, status: SessionStatus, log: SessionLog, child_ids: list[uuid.UUID]) -> None:
    problems: dict[str, list[str]] = {}
    logs_delivery = any(value is not None for value in (log.actual_duration_minutes, log.activities, log.notes))
    if logs_delivery and status is not SessionStatus.COMPLETED:
        problems["status"] = ["Duration, activities and notes are recorded for completed sessions."]
    unknown = sorted(set(log.activities or []) - set(programme.session_activities))
    if unknown:
        problems["activities"] = [f"Not one of the programme's activities: {', '.join(unknown)}."]
    if log.safeguarding_concern and len(child_ids) > 1 and log.concern_child_id not in child_ids:
        problems["concern_child_id"] = ["Say which child at this group session the concern is about."]
    elif log.concern_child_id is not None and log.concern_child_id not in child_ids:
        # Never silently ignored: a child not at the session (perhaps another programme's) is named back as wrong.
        problems["concern_child_id"] = ["Not a child at this session."]
    if problems:
        raise errors.InvalidSession(errors=problems)


def _raise_concern(
    db_session: Session,
    *,
    actor: Actor,
    session: MentoringSession,
    log: SessionLog,
    child_ids: list[uuid.UUID],
    now: datetime,
) -> None:
    if not log.safeguarding_concern:
        return
    child_id = log.concern_child_id if len(child_ids) > 1 else child_ids[0]
    assert child_id is not None
    alert = Alert(
        programme_id=session.programme_id,
        child_id=child_id,
        kind=AlertKind.SAFEGUARDING_CONCERN,
        session_id=session.id,
        detail=log.safeguarding_concern,
        raised_by_user_id=actor.user_id,
        raised_at=now,
    )
    db_session.add(alert)
    db_session.flush()
    record_change(db_session, entity_type=EntityType.ALERT, entity_id=alert.id, child_id=child_id, now=now)
    audit.record(
        db_session,
        actor=actor,
        action="alert.raise",
        record=alert,
        child_id=child_id,
        now=now,
    )


def add_session(
    db_session: Session,
    *,
    actor: Actor,
    places: list[Place],
    session_id: uuid.UUID | None,
    mentor_id: uuid.UUID,
    kind: SessionKind,
    location_category: LocationCategory,
    status: SessionStatus,
    planned_start_at: datetime,
    planned_end_at: datetime,
    time_zone: str,
    pattern_id: uuid.UUID | None = None,
    log: SessionLog | None = None,
    now: datetime,
) -> MentoringSession:
    """Add a session and its attendee rows. Part of the caller's transaction: the caller checked the cap."""
    log = log or SessionLog()
    local_week = rules.local_week(planned_start_at, time_zone)
    session = MentoringSession(
        id=session_id or uuid.uuid4(),
        programme_id=places[0].cohort.programme_id,
        mentor_id=mentor_id,
        kind=kind,
        location_category=location_category,
        status=status,
        planned_start_at=planned_start_at,
        planned_end_at=planned_end_at,
        local_week=local_week,
        actual_duration_minutes=log.actual_duration_minutes,
        activities=log.activities,
        notes=log.notes,
        pattern_id=pattern_id,
        created_at=now,
        created_by_user_id=actor.user_id,
        updated_at=now,
        updated_by_user_id=actor.user_id,
    )
    db_session.add(session)
    db_session.flush()
    for place in places:
        db_session.add(attendee_row(session, place.enrolment, time_zone))
    return session


def attendee_row(session: MentoringSession, enrolment: Enrolment, time_zone: str) -> SessionAttendee:
    """A child's attendance at a session, with the session's facts the dashboards count copied onto it."""
    return SessionAttendee(
        session_id=session.id,
        enrolment_id=enrolment.id,
        child_id=enrolment.child_id,
        local_week=session.local_week,
        status=session.status,
        planned_start_at=session.planned_start_at,
        starts_in_evening=rules.is_evening(session.planned_start_at, time_zone),
        starts_at_weekend=rules.is_weekend(session.planned_start_at, time_zone),
    )


def _set_status(db_session: Session, session: MentoringSession, status: SessionStatus) -> None:
    """The only way a session's status changes: its attendees' copy changes with it, in the same transaction."""
    session.status = status
    db_session.execute(update(SessionAttendee).where(SessionAttendee.session_id == session.id).values(status=status))


def create_session(
    db_session: Session,
    *,
    actor: Actor,
    session_id: uuid.UUID | None,
    enrolment_ids: list[uuid.UUID],
    mentor_id: uuid.UUID | None,
    kind: SessionKind,
    location_category: LocationCategory,
    planned_start_at: datetime,
    planned_end_at: datetime,
    status: SessionStatus,
    log: SessionLog,
    now: datetime,
) -> SessionView:
    """Plan a session, or log one that already happened (a phone that was offline)."""
    problem = rules.duration_problem(planned_start_at, planned_end_at)
    if problem:
        raise errors.InvalidSession(problem, errors={"planned_end_at": [problem]})
    if kind is not SessionKind.GROUP and len(enrolment_ids) != 1:
        raise errors.InvalidSession(errors={"enrolment_ids": ["A one-to-one or phone session has one child."]})
    places = lock_places(db_session, actor=actor, enrolment_ids=enrolment_ids)
    # Checked under the enrolment lock, so a phone's retry racing its first create finds it committed (409).
    if session_id is not None and db_session.get(MentoringSession, session_id) is not None:
        raise errors.SessionAlreadyExists()
    programme = places[0].programme
    child_ids = [place.enrolment.child_id for place in places]
    _check_log(programme, status, log, child_ids)
    local_week = rules.local_week(planned_start_at, programme.time_zone)
    check_weekly_caps(db_session, places=places, local_week=local_week)
    session = add_session(
        db_session,
        actor=actor,
        places=places,
        session_id=session_id,
        mentor_id=_session_mentor(db_session, actor=actor, mentor_id=mentor_id, places=places),
        kind=kind,
        location_category=location_category,
        status=status,
        planned_start_at=planned_start_at,
        planned_end_at=planned_end_at,
        time_zone=programme.time_zone,
        log=log,
        now=now,
    )
    _raise_concern(db_session, actor=actor, session=session, log=log, child_ids=child_ids, now=now)
    _record(db_session, session, child_ids, actor, "session.create", now, created=True)
    db_session.commit()
    return view_session(db_session, session, actor=actor, places=places)


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
    db_session.commit()
    return view


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
    views = [view_session(db_session, session, actor=actor) for session in page.items]
    audit.record_many(
        db_session,
        actor=actor,
        action="session.list",
        of=MentoringSession,
        records=[(view.session.id, attendee.child_id) for view in views for attendee in view.attendees],
        now=now,
    )
    db_session.commit()
    return Page(views, page.total)


def _get_session_to_change(db_session: Session, *, actor: Actor, session_id: uuid.UUID) -> MentoringSession:
    """Lock a session for an edit. A mentor who sees a group session only through their own child may read
    it (without its notes) but not change it: the session belongs to the mentor who leads it."""
    session = queries.get_visible_session(db_session, actor=actor, session_id=session_id, for_update=True)
    if session is None:
        raise errors.SessionNotFound()
    if actor.role is Role.MENTOR and session.mentor_id != actor.user_id:
        raise errors.NotTheSessionsMentor()
    return session


def update_session(
    db_session: Session,
    *,
    actor: Actor,
    session_id: uuid.UUID,
    expected_version: int,
    changes: dict[str, Any],
    log: SessionLog,
    now: datetime,
) -> SessionView:
    """Log what happened, cancel, or correct a planned session. A stale version is refused (412)."""
    session = _get_session_to_change(db_session, actor=actor, session_id=session_id)
    check_version(current=session.version, expected=expected_version)
    new_status = changes.get("status", session.status)
    # A rescheduled session lives on as its replacement: nothing about it may change any more.
    if session.status is SessionStatus.RESCHEDULED or not rules.can_change_to(session.status, new_status):
        raise errors.SessionStatusFinal()
    if new_status is SessionStatus.RESCHEDULED:
        raise errors.InvalidSession(errors={"status": ["Use the reschedule operation to move a session."]})
    if session.status is not SessionStatus.PLANNED and ({"kind", "location_category"} & changes.keys()):
        raise errors.SessionStatusFinal("Only a planned session's kind and place can change.")
    programme = db_session.get(Programme, session.programme_id)
    assert programme is not None
    child_ids = [attendee.child_id for attendee, _ in queries.attendees(db_session, session_id=session.id)]
    _check_log(programme, new_status, log, child_ids)
    _set_status(db_session, session, new_status)
    for field in ("kind", "location_category"):
        if field in changes:
            setattr(session, field, changes[field])
    for field in ("actual_duration_minutes", "activities", "notes"):
        value = getattr(log, field)
        if value is not None:
            setattr(session, field, value)
    session.version += 1
    session.updated_at = now
    session.updated_by_user_id = actor.user_id
    _raise_concern(db_session, actor=actor, session=session, log=log, child_ids=child_ids, now=now)
    _record(db_session, session, child_ids, actor, "session.update", now)
    db_session.commit()
    return view_session(db_session, session, actor=actor)


def reschedule_session(
    db_session: Session,
    *,
    actor: Actor,
    session_id: uuid.UUID,
    expected_version: int,
    new_session_id: uuid.UUID | None,
    planned_start_at: datetime,
    planned_end_at: datetime,
    now: datetime,
) -> SessionView:
    """Move a planned session: it is marked rescheduled and a new planned session takes its place."""
    old = _get_session_to_change(db_session, actor=actor, session_id=session_id)
    check_version(current=old.version, expected=expected_version)
    if old.status is not SessionStatus.PLANNED:
        raise errors.SessionStatusFinal()
    problem = rules.duration_problem(planned_start_at, planned_end_at)
    if problem:
        raise errors.InvalidSession(problem, errors={"planned_end_at": [problem]})
    if new_session_id is not None and db_session.get(MentoringSession, new_session_id) is not None:
        raise errors.SessionAlreadyExists()
    enrolment_ids = [attendee.enrolment_id for attendee, _ in queries.attendees(db_session, session_id=old.id)]
    places = lock_places(db_session, actor=actor, enrolment_ids=enrolment_ids)
    programme = db_session.get(Programme, old.programme_id)
    assert programme is not None
    local_week = rules.local_week(planned_start_at, programme.time_zone)
    check_weekly_caps(db_session, places=places, local_week=local_week, excluding=old.id)
    new = add_session(
        db_session,
        actor=actor,
        places=places,
        session_id=new_session_id,
        mentor_id=old.mentor_id,
        kind=old.kind,
        location_category=old.location_category,
        status=SessionStatus.PLANNED,
        planned_start_at=planned_start_at,
        planned_end_at=planned_end_at,
        time_zone=programme.time_zone,
        now=now,
    )
    _set_status(db_session, old, SessionStatus.RESCHEDULED)
    old.rescheduled_to_id = new.id
    old.version += 1
    old.updated_at = now
    old.updated_by_user_id = actor.user_id
    child_ids = [place.enrolment.child_id for place in places]
    _record(db_session, old, child_ids, actor, "session.reschedule", now)
    _record(db_session, new, child_ids, actor, "session.create", now, created=True)
    db_session.commit()
    return view_session(db_session, new, actor=actor, places=places)


def override_weekly_cap(
    db_session: Session,
    *,
    actor: Actor,
    enrolment_id: uuid.UUID,
    local_week: str,
    max_sessions: int,
    reason: str,
    now: datetime,
) -> WeeklyCapOverride:
    """A coordinator allows one child more sessions in one exceptional week (audited, with the reason)."""
    places = lock_places(db_session, actor=actor, enrolment_ids=[enrolment_id])
    enrolment = places[0].enrolment
    override = queries.cap_override(db_session, enrolment_id=enrolment.id, local_week=local_week)
    if override is None:
        override = WeeklyCapOverride(
            enrolment_id=enrolment.id,
            local_week=local_week,
            max_sessions=max_sessions,
            reason=reason.strip(),
            created_by_user_id=actor.user_id,
            created_at=now,
        )
        db_session.add(override)
    else:
        override.max_sessions, override.reason = max_sessions, reason.strip()
        override.created_by_user_id, override.created_at = actor.user_id, now
    db_session.flush()
    audit.record(
        db_session,
        actor=actor,
        action="weekly_cap_override.set",
        record=override,
        child_id=enrolment.child_id,
        now=now,
    )
    db_session.commit()
    return override


@dataclass(frozen=True)
class WeekOfSessions:
    week: str
    planned: int
    delivered: int


@dataclass(frozen=True)
class DeliverySummary:
    planned: int
    delivered: int
    did_not_attend: int
    cancelled: int
    rescheduled: int
    evening_share: float | None
    weekend_share: float | None
    weeks: list[WeekOfSessions]


def summarise_delivery(db_session: Session, *, actor: Actor, child_id: uuid.UUID, now: datetime) -> DeliverySummary:
    """Planned against delivered, missed and cancelled, evening and weekend share, and sessions per week."""
    child = visible_child(db_session, actor=actor, child_id=child_id)
    programme = db_session.get(Programme, child.programme_id)
    assert programme is not None
    sessions = queries.sessions_of_child(db_session, child_id=child.id)
    by_status = Counter(session.status for session in sessions)
    delivered = [session for session in sessions if session.status is SessionStatus.COMPLETED]
    weeks: dict[str, Counter[str]] = {}
    for session in sessions:
        if session.status in rules.COUNTS_TOWARDS_CAP:
            week = weeks.setdefault(session.local_week, Counter())
            week["planned"] += 1
            week["delivered"] += session.status is SessionStatus.COMPLETED
    audit.record(
        db_session,
        actor=actor,
        action="session.summary",
        record=child,
        child_id=child.id,
        now=now,
    )
    db_session.commit()
    return DeliverySummary(
        planned=sum(by_status[status] for status in rules.COUNTS_TOWARDS_CAP),
        delivered=len(delivered),
        did_not_attend=by_status[SessionStatus.DID_NOT_ATTEND],
        cancelled=sum(by_status[status] for status in rules.CANCELLED),
        rescheduled=by_status[SessionStatus.RESCHEDULED],
        evening_share=_share(delivered, lambda s: rules.is_evening(s.planned_start_at, programme.time_zone)),
        weekend_share=_share(delivered, lambda s: rules.is_weekend(s.planned_start_at, programme.time_zone)),
        weeks=[WeekOfSessions(week, counts["planned"], counts["delivered"]) for week, counts in sorted(weeks.items())],
    )


def _share(sessions: list[MentoringSession], predicate: Any) -> float | None:
    if not sessions:
        return None
    return round(sum(1 for session in sessions if predicate(session)) / len(sessions), 3)
