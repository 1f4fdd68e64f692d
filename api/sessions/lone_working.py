"""Lone working: a mentor meeting a child alone checks in by a time, or somebody is told.

The mentor starts a check on a planned session (`start_lone_working`) with a time to check in by (default: the
planned end plus the programme's lone_working_grace_minutes). The scheduler's `check_lone_working` texts the mentor
once that time passes, and raises one urgent `lone_working_overdue` alert to the duty coordinator
lone_working_alert_after_minutes later. Saying "I'm safe" (`confirm_safe`) or logging the session (`close_check`,
called by the sessions service in the same transaction as the log) closes the check: nothing more is queued, and a
text still in the outbox is dropped by the dispatcher ("the mentor checked in").

Closing a check after its alert was raised records the closing on the check but leaves the alert open: the
coordinator who was alerted resolves it, knowing the mentor is safe (an alert is never closed behind their back).

Lock order, shared with the sessions service: the session, then its check, then any alert. The scheduler locks only
checks (SKIP LOCKED on PostgreSQL), so two schedulers never text or alert twice, and a mentor checking in while the
job runs waits for it and then closes the check.
"""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from api.actors import Actor
from api.alerts import service as alerts
from api.alerts.rules import AlertKind
from api.audit import service as audit
from api.changes.rules import EntityType
from api.changes.service import record_change
from api.db import step, use_case
from api.outbox.rules import MessagePurpose, RecipientType
from api.outbox.service import queue_message
from api.programmes.models import Programme
from api.programmes.rules import AlertThresholds, thresholds_from
from api.sessions import errors, queries, rules
from api.sessions.models import LoneWorkingCheck, MentoringSession
from api.sessions.rules import LoneWorkingClosedHow, SessionStatus

# The mentor's text is worth sending for this long after check-in-by; by then the coordinator has been alerted.
MENTOR_TEXT_USEFUL_FOR = timedelta(hours=2)


def _session_of_its_mentor(db_session: Session, *, actor: Actor, session_id: uuid.UUID) -> MentoringSession:
    """Lock the session; only the mentor who leads it may start its check or check in (others who may see it: 403;
    those who may not: 404, so its existence does not leak)."""
    session = queries.get_visible_session(db_session, actor=actor, session_id=session_id, for_update=True)
    if session is None:
        raise errors.SessionNotFound()
    if session.mentor_id != actor.user_id:
        raise errors.NotTheMentorWorkingAlone()
    return session


def _check_of(db_session: Session, session_id: uuid.UUID) -> LoneWorkingCheck | None:
    return db_session.scalar(
        select(LoneWorkingCheck)
        .where(LoneWorkingCheck.session_id == session_id)
        .with_for_update()
        .execution_options(populate_existing=True)
    )


def _record(db_session: Session, check: LoneWorkingCheck, *, actor: Actor | None, action: str, now: datetime) -> None:
    """The session's phones see the check's new state (it is part of the session they sync); one audit row per
    child at the session."""
    for attendee in queries.attendees(db_session, session_id=check.session_id):
        record_change(
            db_session, entity_type=EntityType.SESSION, entity_id=check.session_id, child_id=attendee.child_id, now=now
        )
        audit.record(db_session, actor=actor, action=action, record=check, child_id=attendee.child_id, now=now)


@use_case
def start_lone_working(
    db_session: Session, *, actor: Actor, session_id: uuid.UUID, check_in_by: datetime | None, now: datetime
) -> LoneWorkingCheck:
    """Start the lone-working check of a planned session the actor leads."""
    session = _session_of_its_mentor(db_session, actor=actor, session_id=session_id)
    if session.status is not SessionStatus.PLANNED:
        raise errors.SessionStatusFinal("Lone working can be started only for a planned session.")
    if _check_of(db_session, session.id) is not None:
        raise errors.LoneWorkingAlreadyStarted()
    if check_in_by is None:
        grace = thresholds_from(db_session.get_one(Programme, session.programme_id).alert_thresholds)
        check_in_by = rules.default_check_in_by(session.planned_end_at, grace_minutes=grace.lone_working_grace_minutes)
    problem = rules.check_in_by_problem(check_in_by, planned_start_at=session.planned_start_at, now=now)
    if problem:
        raise errors.InvalidSession(problem, errors={"check_in_by": [problem]})
    check = LoneWorkingCheck(
        session_id=session.id,
        programme_id=session.programme_id,
        mentor_id=session.mentor_id,
        check_in_by=check_in_by,
        started_at=now,
    )
    db_session.add(check)
    db_session.flush()
    _record(db_session, check, actor=actor, action="lone_working.start", now=now)
    return check


@use_case
def confirm_safe(db_session: Session, *, actor: Actor, session_id: uuid.UUID, now: datetime) -> LoneWorkingCheck:
    """ "I'm safe": close the check. A repeat (or a check already closed by logging the session) answers the check
    as it is and changes nothing."""
    _session_of_its_mentor(db_session, actor=actor, session_id=session_id)
    check = _check_of(db_session, session_id)
    if check is None:
        raise errors.LoneWorkingNotStarted()
    if check.closed_at is None:
        _close(db_session, check, how=LoneWorkingClosedHow.SAFE, actor=actor, now=now)
    return check


@step
def close_check(db_session: Session, *, session_id: uuid.UUID, actor: Actor, now: datetime) -> None:
    """The session was logged (completed, did not attend) or cancelled: its open check, if any, closes with it."""
    check = _check_of(db_session, session_id)
    if check is not None and check.closed_at is None:
        _close(db_session, check, how=LoneWorkingClosedHow.SESSION_LOGGED, actor=actor, now=now)


def _close(
    db_session: Session, check: LoneWorkingCheck, *, how: LoneWorkingClosedHow, actor: Actor, now: datetime
) -> None:
    # An alert already raised stays open for the coordinator to resolve (see the module's docstring).
    check.closed_at = now
    check.closed_how = how
    _record(db_session, check, actor=actor, action=f"lone_working.close.{how}", now=now)


# --- The scheduler's check ---------------------------------------------------------------------------------------


@use_case
def check_lone_working(db_session: Session, *, now: datetime) -> int:
    """Text each mentor whose open check is past its time (once), and raise the urgent alert for each still open
    lone_working_alert_after_minutes later (once). Returns how many texts and alerts it queued."""
    query = (
        select(LoneWorkingCheck)
        .where(
            LoneWorkingCheck.closed_at.is_(None),
            LoneWorkingCheck.check_in_by <= now,
            LoneWorkingCheck.alert_id.is_(None),
        )
        .order_by(LoneWorkingCheck.check_in_by)
        .execution_options(populate_existing=True)
    )
    if db_session.get_bind().dialect.name == "postgresql":
        # A check another scheduler (or a mentor checking in) holds is left to it: never texted or alerted twice.
        query = query.with_for_update(skip_locked=True)
    thresholds: dict[uuid.UUID, AlertThresholds] = {}
    acted = 0
    for check in db_session.scalars(query).all():
        if check.programme_id not in thresholds:
            programme = db_session.get_one(Programme, check.programme_id)
            thresholds[check.programme_id] = thresholds_from(programme.alert_thresholds)
        session = db_session.get_one(MentoringSession, check.session_id)
        child_id = queries.attendees(db_session, session_id=session.id)[0].child_id
        if check.mentor_texted_at is None and rules.mentor_text_due(check_in_by=check.check_in_by, now=now):
            _text_mentor(db_session, check, child_id=child_id, now=now)
            acted += 1
        alert_after = thresholds[check.programme_id].lone_working_alert_after_minutes
        if rules.alert_due(check_in_by=check.check_in_by, alert_after_minutes=alert_after, now=now):
            _raise_overdue(db_session, check, session, child_id=child_id, now=now)
            acted += 1
    return acted


def _text_mentor(db_session: Session, check: LoneWorkingCheck, *, child_id: uuid.UUID, now: datetime) -> None:
    queue_message(
        db_session,
        dedupe_key=f"lone_working:{check.session_id}",
        purpose=MessagePurpose.LONE_WORKING_CHECK,
        recipient_type=RecipientType.MENTOR,
        # The message's child only places it in a programme (its time zone) and its retention; the text never
        # names anyone.
        child_id=child_id,
        phone_number_id=None,
        recipient_user_id=check.mentor_id,
        session_id=check.session_id,
        urgent=True,
        send_after=now,
        drop_after=check.check_in_by + MENTOR_TEXT_USEFUL_FOR,
        now=now,
    )
    check.mentor_texted_at = now


def _raise_overdue(
    db_session: Session, check: LoneWorkingCheck, session: MentoringSession, *, child_id: uuid.UUID, now: datetime
) -> None:
    programme = db_session.get_one(Programme, session.programme_id)
    alert = alerts.raise_alert(
        db_session,
        programme_id=session.programme_id,
        kind=AlertKind.LONE_WORKING_OVERDUE,
        detail=rules.overdue_detail(session.planned_end_at, programme.time_zone),
        child_id=child_id,
        session_id=session.id,
        subject={"session_id": str(session.id)},
        now=now,
    )
    check.alert_id = alert.id
    check.alert_raised_at = now
    audit.record(db_session, actor=None, action="lone_working.overdue", record=check, child_id=child_id, now=now)
