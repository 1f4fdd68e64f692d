"""Planning, logging, correcting and rescheduling sessions, within each child's weekly cap.

Every write that could add a session to a child's week first locks that child's enrolment row (in id order,
so group sessions cannot deadlock each other), then counts, then writes: simultaneous requests for the same
child and week queue on the lock and the cap holds (tests/concurrency). Each write also records the change
for the phones' sync and an audit row per child, in the same transaction.

The use cases (`@use_case`) own their transaction; `lock_places_to_plan` and `add_session` are steps (`@step`)
that join their caller's, which is how the schedules domain plans a pattern's sessions; `plan_group_session`,
`book_children` and `cancel_lines` (with `record_written` after them) are how the groups domain plans a series'
sessions and books or cancels its roster's lines. Reading sessions is in
reading.py, a week's cap override in cap_overrides.py, a child's delivery summary in delivery.py.
"""

from __future__ import annotations

import functools
import uuid
from datetime import datetime
from typing import Any, cast

from sqlalchemy import Select, Table, bindparam, insert, select, update
from sqlalchemy.orm import Session

from api.accounts.models import AppUser
from api.actors import Actor, Role
from api.alerts import service as alerts
from api.alerts.rules import AlertKind
from api.audit import service as audit
from api.changes.rules import EntityType
from api.changes.service import record_changes
from api.db import step, use_case
from api.enrolments.errors import EnrolmentNotFound
from api.enrolments.models import Enrolment
from api.enrolments.rules import EnrolmentStatus
from api.errors import check_version
from api.programmes.models import Programme
from api.reminders import service as reminders
from api.sessions import errors, lone_working, queries, register, rules
from api.sessions.fitting import check_session_fits
from api.sessions.models import MentoringSession, SessionAttendee
from api.sessions.queries import Attendee, Place
from api.sessions.reading import SessionView, view_session
from api.sessions.register_rules import CANCELLED, Attendance, CarerAtSession, RegisterLine, line_for_status
from api.sessions.rules import LocalTiming, LocationCategory, SessionKind, SessionLog, SessionStatus


def _attendees_at(places: list[Place], session: MentoringSession) -> list[Attendee]:
    attendance = register.first_line(session.kind, session.status)
    return sorted(
        (Attendee(place.enrolment.id, place.enrolment.child_id, place.child_reference, attendance) for place in places),
        key=lambda attendee: attendee.child_reference,
    )


@step
def lock_places_to_plan(db_session: Session, *, actor: Actor, enrolment_ids: list[uuid.UUID]) -> list[Place]:
    """Lock the enrolments a session or pattern is for, and check the caller may plan for each (404 if not, so
    existence does not leak), that they are in one programme and that each is active."""
    places = queries.lock_places(db_session, enrolment_ids=enrolment_ids)
    if len(places) != len(set(enrolment_ids)) or not all(
        rules.may_plan_for(actor, programme_id=place.cohort.programme_id, key_worker_id=place.key_worker_id)
        for place in places
    ):
        raise EnrolmentNotFound()
    if len({place.cohort.programme_id for place in places}) != 1:
        raise errors.InvalidSession("A session's children must all be in one programme.")
    if any(place.enrolment.status is not EnrolmentStatus.ACTIVE for place in places):
        raise errors.EnrolmentNotActiveForSession()
    return places


def check_kind_fits_places(places: list[Place], kind: SessionKind) -> None:
    """Refuse a one-to-one or phone session for a child whose place is in a group-only cohort (every path that
    plans, logs, corrects or moves a session, and the schedules' patterns, ask this)."""
    for place in places:
        problem = rules.group_only_problem(cohort_kind=place.cohort.kind, session_kind=kind)
        if problem:
            raise errors.GroupOnlyEnrolment(problem, errors={"kind": [problem]}, child_id=str(place.enrolment.child_id))


def check_weekly_caps(
    db_session: Session, *, places: list[Place], local_week: str, excluding: uuid.UUID | None = None
) -> None:
    """Refuse a session that would take any of its children past their cap for that week."""
    for place in places:
        load = queries.week_loads(
            db_session,
            child_id=place.enrolment.child_id,
            enrolment_id=place.enrolment.id,
            weeks=[local_week],
            excluding=excluding,
        )[local_week]
        check = rules.check_weekly_cap(
            week=local_week,
            sessions_in_week=load.sessions_in_week,
            adding=1,
            max_sessions=place.cohort.max_sessions_per_week,
            override=load.override,
        )
        if not check.allowed:
            raise errors.WeeklySessionCapReached(
                f"This child already has {check.sessions_in_week} of {check.max_sessions} sessions in {local_week}.",
                week=local_week,
                sessions_in_week=check.sessions_in_week,
                max_sessions=check.max_sessions,
                child_id=str(place.enrolment.child_id),
            )


def _refuse_outcome_before_start(*, status: SessionStatus, planned_start_at: datetime, now: datetime) -> None:
    problem = rules.not_started_problem(status=status, planned_start_at=planned_start_at, now=now)
    if problem:
        raise errors.SessionNotStarted(problem, errors={"status": [problem]})


def _session_exists(db_session: Session, session_id: uuid.UUID) -> bool:
    """Whether a session has this id already (a phone's retry): its id only, no object to load."""
    return db_session.scalar(_session_with_id(), {"session_id": session_id}) is not None


@functools.cache
def _session_with_id() -> Select[uuid.UUID]:
    return select(MentoringSession.id).where(MentoringSession.id == bindparam("session_id"))


def _session_mentor(
    db_session: Session, *, actor: Actor, mentor_id: uuid.UUID | None, places: list[Place]
) -> uuid.UUID:
    if actor.role is Role.MENTOR:
        return actor.user_id
    chosen = mentor_id or places[0].key_worker_id
    mentor = db_session.get(AppUser, chosen) if chosen else None
    if mentor is None or mentor.role is not Role.MENTOR or mentor.programme_id != places[0].cohort.programme_id:
        raise errors.InvalidSession(
            "Name the mentor who leads the session.", errors={"mentor_id": ["Choose a mentor of this programme."]}
        )
    return mentor.id


def record_written(
    db_session: Session,
    session: MentoringSession,
    child_ids: list[uuid.UUID],
    *,
    actor: Actor,
    action: str,
    now: datetime,
    created: bool = False,
) -> None:
    """A session written: one change for the phones' sync and one audit row per child at it, and its reminders."""
    record_changes(db_session, entity_type=EntityType.SESSION, entity_id=session.id, child_ids=child_ids, now=now)
    audit.record_many(
        db_session,
        actor=actor,
        action=action,
        of=MentoringSession,
        records=[(session.id, child_id) for child_id in child_ids],
        now=now,
    )
    follow_with_reminders(db_session, session, child_ids, now=now, created=created)


@step
def follow_with_reminders(
    db_session: Session, session: MentoringSession, child_ids: list[uuid.UUID], *, now: datetime, created: bool
) -> None:
    """A session's SMS reminders follow it in the same transaction: queued, moved or cancelled with it, and only for
    the children still expected (a cancelled line of the register is not reminded). The reminder sweep relies on
    it: it looks at a session once, when it enters the horizon (api/sessions/reminder_sweep.py)."""
    expected = child_ids if created else queries.children_to_remind(db_session, session_id=session.id)
    reminders.resync_if_reminded(db_session, session=queries.to_remind(session, expected), now=now, created=created)


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
    alerts.raise_alert(
        db_session,
        programme_id=session.programme_id,
        child_id=child_id,
        kind=AlertKind.SAFEGUARDING_CONCERN,
        session_id=session.id,
        detail=log.safeguarding_concern,
        actor=actor,
        now=now,
    )


@step
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
    timing: LocalTiming,
    pattern_id: uuid.UUID | None = None,
    series_id: uuid.UUID | None = None,
    log: SessionLog | None = None,
    now: datetime,
) -> MentoringSession:
    """Add a session and its attendee rows. The caller locked the places and checked the cap for `timing.week`
    (`timing`: the planned start in programme time)."""
    log = log or SessionLog()
    session = MentoringSession(
        id=session_id or uuid.uuid4(),
        programme_id=places[0].cohort.programme_id,
        mentor_id=mentor_id,
        kind=kind,
        location_category=location_category,
        status=status,
        planned_start_at=planned_start_at,
        planned_end_at=planned_end_at,
        local_week=timing.week,
        actual_duration_minutes=log.actual_duration_minutes,
        activities=log.activities,
        notes=log.notes,
        pattern_id=pattern_id,
        series_id=series_id,
        created_at=now,
        created_by_user_id=actor.user_id,
        updated_at=now,
        updated_by_user_id=actor.user_id,
    )
    db_session.add(session)
    # The session's row first: its attendees' rows point at it, and go in by a Core statement (nothing in this
    # transaction changes them through the ORM; a later read of the register selects them).
    db_session.flush()
    rows = [attendee_values(session, place.enrolment, timing) | {"id": uuid.uuid4()} for place in places]
    db_session.execute(insert(ATTENDEES), rows)
    return session


ATTENDEES = cast(Table, SessionAttendee.__table__)


def attendee_row(session: MentoringSession, enrolment: Enrolment, timing: LocalTiming) -> SessionAttendee:
    """A child's attendance at a session, as an ORM object (a child booked onto a group session already planned)."""
    return SessionAttendee(**attendee_values(session, enrolment, timing))


def attendee_values(session: MentoringSession, enrolment: Enrolment, timing: LocalTiming) -> dict[str, Any]:
    """A child's attendance at a session, with the session's facts the dashboards count copied onto it (`timing`:
    the session's start in programme time)."""
    return dict(
        session_id=session.id,
        enrolment_id=enrolment.id,
        child_id=enrolment.child_id,
        local_week=session.local_week,
        status=session.status,
        attendance=register.first_line(session.kind, session.status),
        planned_start_at=session.planned_start_at,
        starts_in_evening=timing.is_evening,
        starts_at_weekend=timing.is_weekend,
    )


@step
def plan_group_session(
    db_session: Session,
    *,
    actor: Actor,
    programme: Programme,
    series_id: uuid.UUID,
    mentor_id: uuid.UUID,
    location_category: LocationCategory,
    planned_start_at: datetime,
    planned_end_at: datetime,
    now: datetime,
) -> MentoringSession:
    """Plan one of a series' group sessions, no one booked yet: children are booked as they join the series'
    roster (`book_children`)."""
    session = MentoringSession(
        programme_id=programme.id,
        mentor_id=mentor_id,
        kind=SessionKind.GROUP,
        location_category=location_category,
        status=SessionStatus.PLANNED,
        planned_start_at=planned_start_at,
        planned_end_at=planned_end_at,
        local_week=rules.local_week(planned_start_at, programme.time_zone),
        series_id=series_id,
        created_at=now,
        created_by_user_id=actor.user_id,
        updated_at=now,
        updated_by_user_id=actor.user_id,
    )
    db_session.add(session)
    return session


@step
def book_children(
    db_session: Session, *, actor: Actor, session: MentoringSession, places: list[Place], now: datetime
) -> None:
    """Book children onto a group session already planned (a series' roster grew): a booked line for each, or a
    cancelled line booked again, each within the child's planned support and weekly cap. The caller holds the
    session's lock and the places' locks; the session's version moves on (its register changed)."""
    timing = rules.local_timing(session.planned_start_at, places[0].programme.time_zone)
    lines = {
        row.enrolment_id: row
        for row in db_session.scalars(select(SessionAttendee).where(SessionAttendee.session_id == session.id))
    }
    booking = [
        place
        for place in places
        if lines.get(place.enrolment.id) is None or lines[place.enrolment.id].attendance in CANCELLED
    ]
    if not booking:
        return
    # The session itself is no copy of itself (a child booked again after leaving has a line at it already).
    check_session_fits(
        db_session,
        places=booking,
        mentor_id=session.mentor_id,
        planned_start_at=session.planned_start_at,
        replacing=session.id,
    )
    check_weekly_caps(db_session, places=booking, local_week=session.local_week)
    for place in booking:
        line = lines.get(place.enrolment.id)
        if line is None:
            db_session.add(attendee_row(session, place.enrolment, timing))
        else:
            line.attendance = Attendance.BOOKED
    _changed(session, actor=actor, now=now)
    # Counted by the next session's cap check in this transaction (two of a series' sessions in one week).
    db_session.flush()


@step
def cancel_lines(
    db_session: Session, *, actor: Actor, session: MentoringSession, child_ids: list[uuid.UUID], now: datetime
) -> None:
    """The service calls off these children's places at a session not yet held (they left a series): their lines
    become cancelled_by_service, which frees the place in their week. The caller holds the session's lock."""
    db_session.execute(
        update(SessionAttendee)
        .where(
            SessionAttendee.session_id == session.id,
            SessionAttendee.child_id.in_(child_ids),
            SessionAttendee.attendance.not_in(CANCELLED),
        )
        .values(attendance=Attendance.CANCELLED_BY_SERVICE, arrived_at=None, left_at=None)
    )
    _changed(session, actor=actor, now=now)


def _changed(session: MentoringSession, *, actor: Actor, now: datetime) -> None:
    session.version += 1
    session.updated_at = now
    session.updated_by_user_id = actor.user_id


def _set_status(db_session: Session, session: MentoringSession, status: SessionStatus) -> None:
    """The only way a session's status changes: its attendees' copy changes with it, in the same transaction (so an
    unchanged status leaves the copy as it is, already equal), and so do their register lines, except a group
    session's held or planned, whose register is taken child by child (register_rules.py)."""
    if session.status is status:
        return
    session.status = status
    values: dict[str, Any] = {"status": status}
    attendance = line_for_status(session.kind, status)
    if attendance is not None:
        values |= {"attendance": attendance, "arrived_at": None, "left_at": None}
    db_session.execute(update(SessionAttendee).where(SessionAttendee.session_id == session.id).values(**values))


@use_case
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
    places = lock_places_to_plan(db_session, actor=actor, enrolment_ids=enrolment_ids)
    check_kind_fits_places(places, kind)
    # Checked under the enrolment lock, so a phone's retry racing its first create finds it committed (409).
    if session_id is not None and _session_exists(db_session, session_id):
        raise errors.SessionAlreadyExists()
    programme = places[0].programme
    child_ids = [place.enrolment.child_id for place in places]
    rules.check_log(programme_activities=programme.session_activities, status=status, log=log, child_ids=child_ids)
    _refuse_outcome_before_start(status=status, planned_start_at=planned_start_at, now=now)
    mentor_id = _session_mentor(db_session, actor=actor, mentor_id=mentor_id, places=places)
    check_session_fits(db_session, places=places, mentor_id=mentor_id, planned_start_at=planned_start_at)
    timing = rules.local_timing(planned_start_at, programme.time_zone)
    check_weekly_caps(db_session, places=places, local_week=timing.week)
    session = add_session(
        db_session,
        actor=actor,
        places=places,
        session_id=session_id,
        mentor_id=mentor_id,
        kind=kind,
        location_category=location_category,
        status=status,
        planned_start_at=planned_start_at,
        planned_end_at=planned_end_at,
        timing=timing,
        log=log,
        now=now,
    )
    _raise_concern(db_session, actor=actor, session=session, log=log, child_ids=child_ids, now=now)
    record_written(db_session, session, child_ids, actor=actor, action="session.create", now=now, created=True)
    return view_session(
        db_session, session, actor=actor, attendees=_attendees_at(places, session), timing=timing, created=True
    )


def _get_session_to_change(db_session: Session, *, actor: Actor, session_id: uuid.UUID) -> MentoringSession:
    """Lock a session for an edit. A mentor who sees a group session only through their own child may read
    it (without its notes) but not change it: the session belongs to the mentor who leads it."""
    session = queries.get_visible_session(db_session, actor=actor, session_id=session_id, for_update=True)
    if session is None:
        raise errors.SessionNotFound()
    if actor.role is Role.MENTOR and session.mentor_id != actor.user_id:
        raise errors.NotTheSessionsMentor()
    return session


@use_case
def update_session(
    db_session: Session,
    *,
    actor: Actor,
    session_id: uuid.UUID,
    expected_version: int,
    changes: dict[str, Any],
    log: SessionLog,
    now: datetime,
    register_lines: list[RegisterLine] | None = None,
) -> SessionView:
    """Log what happened, cancel, or correct a planned session, and (a group session) take its register with it. A
    stale version is refused (412)."""
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
    programme = db_session.get_one(Programme, session.programme_id)
    attendees = queries.attendees(db_session, session_id=session.id)
    child_ids = [attendee.child_id for attendee in attendees]
    if changes.get("kind", session.kind) is not session.kind:
        places = queries.lock_places(db_session, enrolment_ids=[attendee.enrolment_id for attendee in attendees])
        check_kind_fits_places(places, changes["kind"])
    rules.check_log(programme_activities=programme.session_activities, status=new_status, log=log, child_ids=child_ids)
    if new_status is not session.status:
        _refuse_outcome_before_start(status=new_status, planned_start_at=session.planned_start_at, now=now)
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
    # Last, so the session's row is written once, with its new status, when the attendees' copy follows it.
    _set_status(db_session, session, new_status)
    if register_lines is not None:
        register.record_lines(db_session, session=session, lines=register_lines, now=now)
    if new_status is not SessionStatus.PLANNED:
        # Logged or cancelled: the mentor's lone-working check ends with the session, in this transaction.
        lone_working.close_check(db_session, session_id=session.id, actor=actor, now=now)
    _raise_concern(db_session, actor=actor, session=session, log=log, child_ids=child_ids, now=now)
    record_written(db_session, session, child_ids, actor=actor, action="session.update", now=now)
    timing = rules.local_timing(session.planned_start_at, programme.time_zone)
    # Read again: the status or the register may have changed the lines.
    return view_session(db_session, session, actor=actor, timing=timing)


@use_case
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
    if new_session_id is not None and _session_exists(db_session, new_session_id):
        raise errors.SessionAlreadyExists()
    enrolment_ids = [attendee.enrolment_id for attendee in queries.attendees(db_session, session_id=old.id)]
    places = lock_places_to_plan(db_session, actor=actor, enrolment_ids=enrolment_ids)
    check_kind_fits_places(places, old.kind)
    check_session_fits(
        db_session, places=places, mentor_id=old.mentor_id, planned_start_at=planned_start_at, replacing=old.id
    )
    timing = rules.local_timing(planned_start_at, places[0].programme.time_zone)
    check_weekly_caps(db_session, places=places, local_week=timing.week, excluding=old.id)
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
        timing=timing,
        # A series' session moved stays one of the series' (its register counts towards completing it).
        series_id=old.series_id,
        now=now,
    )
    _set_status(db_session, old, SessionStatus.RESCHEDULED)
    old.rescheduled_to_id = new.id
    old.version += 1
    old.updated_at = now
    old.updated_by_user_id = actor.user_id
    child_ids = [place.enrolment.child_id for place in places]
    record_written(db_session, old, child_ids, actor=actor, action="session.reschedule", now=now)
    record_written(db_session, new, child_ids, actor=actor, action="session.create", now=now, created=True)
    return view_session(db_session, new, actor=actor, attendees=_attendees_at(places, new), timing=timing, created=True)


@use_case
def take_register(
    db_session: Session,
    *,
    actor: Actor,
    session_id: uuid.UUID,
    expected_version: int,
    lines: list[RegisterLine] | None,
    now: datetime,
    carers: list[CarerAtSession] | None = None,
) -> SessionView:
    """Record who came to a group session (register_rules.py): the lines sent are set, the others kept; the carers
    sent, if any list is, replace those recorded. Only the session's mentor (or staff); a stale version is refused
    (412)."""
    session = _get_session_to_change(db_session, actor=actor, session_id=session_id)
    check_version(current=session.version, expected=expected_version)
    if lines is not None:
        register.record_lines(db_session, session=session, lines=lines, now=now)
    if carers is not None:
        register.record_carers(db_session, session=session, carers=carers, actor=actor, now=now)
    session.version += 1
    session.updated_at = now
    session.updated_by_user_id = actor.user_id
    attendees = queries.attendees(db_session, session_id=session.id)
    record_written(
        db_session,
        session,
        [attendee.child_id for attendee in attendees],
        actor=actor,
        action="session.register",
        now=now,
    )
    return view_session(db_session, session, actor=actor, attendees=attendees)
