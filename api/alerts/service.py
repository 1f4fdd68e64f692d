"""Raising alerts, sending them to the person on duty, escalating them, and closing them.

Every write here is part of the transaction that raised or answered the alert: the alert, its history and the SMS
to the duty coordinator are committed together or not at all (api/outbox), so an alert is never saved without its
message, nor a message queued for an alert that was rolled back. Who is on duty comes from the rota (api/duty).
"""

from __future__ import annotations

import uuid
from collections.abc import Collection, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import exists, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from api.accounts.models import AppUser
from api.actors import Actor, Role
from api.alerts import errors, rules
from api.alerts.models import Alert, AlertEvent
from api.alerts.rules import AlertEventKind, AlertKind, AlertState, AlertThresholds, EscalationStep, Urgency
from api.audit import service as audit
from api.changes.rules import EntityType
from api.changes.service import record_change
from api.db import step, use_case
from api.duty import queries as duty
from api.outbox.rules import MessagePurpose, RecipientType
from api.outbox.service import queue_message
from api.programmes.models import Programme
from api.programmes.rules import thresholds_from

# An alert's SMS is worth sending for this long; past it the alert is long escalated and the message is dropped.
ALERT_SMS_USEFUL_FOR = timedelta(hours=24)


def thresholds_for(db_session: Session, programme_id: uuid.UUID) -> AlertThresholds:
    return thresholds_from(db_session.get_one(Programme, programme_id).alert_thresholds)


# --- Raising -------------------------------------------------------------------------------------------------


@step
def raise_alert(
    db_session: Session,
    *,
    programme_id: uuid.UUID,
    kind: AlertKind,
    detail: str,
    now: datetime,
    child_id: uuid.UUID | None = None,
    actor: Actor | None = None,
    session_id: uuid.UUID | None = None,
    check_in_id: uuid.UUID | None = None,
    subject: dict[str, str] | None = None,
) -> Alert:
    """Open an alert, or count a repeat on the one already open for this child and kind (programme, for a
    programme-wide kind). A new urgent or high alert is texted to the duty coordinator in this transaction, and an
    urgent repeat on an acknowledged alert is texted again: a second concern about the same child is news someone
    must hear at once."""
    if (child_id is None) != (kind in rules.PROGRAMME_WIDE):
        raise ValueError(f"{kind} alerts are {'about the programme' if child_id is None else 'about one child'}")
    alert = _open_alert(db_session, programme_id=programme_id, child_id=child_id, kind=kind)
    created = False
    if alert is None:
        alert, created = _insert(
            db_session,
            Alert(
                programme_id=programme_id,
                child_id=child_id,
                kind=kind,
                urgency=rules.URGENCY[kind],
                state=AlertState.RAISED,
                session_id=session_id,
                detail=detail,
                check_in_id=check_in_id,
                raised_by_user_id=actor.user_id if actor else None,
                raised_at=now,
                occurrences=1,
                last_raised_at=now,
                subject=subject,
            ),
        )
    if created:
        _event(db_session, alert, AlertEventKind.RAISED, now, user_id=actor.user_id if actor else None, detail=detail)
        if rules.is_texted(alert.urgency):
            _text_from(db_session, alert, EscalationStep.DUTY, now)
        action = "alert.raise"
    else:
        alert.occurrences += 1
        alert.last_raised_at = now
        alert.detail = detail
        alert.session_id = session_id or alert.session_id
        alert.check_in_id = check_in_id or alert.check_in_id
        alert.subject = subject or alert.subject
        _event(db_session, alert, AlertEventKind.REPEATED, now, user_id=actor.user_id if actor else None, detail=detail)
        if alert.urgency is Urgency.URGENT and alert.state is AlertState.ACKNOWLEDGED:
            # Someone has it, but this is news they must hear at once. (One still waiting is being chased
            # already: its escalation goes on as timed, not restarted.)
            _text_from(db_session, alert, EscalationStep.DUTY, now, escalate=False)
        action = "alert.repeat"
    _changed(db_session, alert, actor=actor, action=action, now=now)
    return alert


def latest_alerts(db_session: Session, *, kind: AlertKind, child_ids: Collection[uuid.UUID]) -> dict[uuid.UUID, Alert]:
    """Each child's most recent alert of this kind, open or resolved, in one query: what a scheduled check compares
    its findings with (the alert's subject) so that it raises only on something not already counted, even when
    a coordinator has resolved the alert and the situation has not changed."""
    latest: dict[uuid.UUID, Alert] = {}
    if not child_ids:
        return latest
    query = (
        select(Alert)
        .where(Alert.kind == kind, Alert.child_id.in_(list(child_ids)))
        .order_by(Alert.raised_at, Alert.last_raised_at, Alert.id)
    )
    for alert in db_session.scalars(query):
        assert alert.child_id is not None
        latest[alert.child_id] = alert
    return latest


def open_alert_about(db_session: Session, *, child_id: uuid.UUID, kind: AlertKind) -> Alert | None:
    """The child's open alert of this kind, if any (not locked: raise_alert locks it when it counts a repeat)."""
    return db_session.scalar(
        select(Alert).where(Alert.kind == kind, Alert.child_id == child_id, Alert.state != AlertState.RESOLVED)
    )


def _open_alert(
    db_session: Session, *, programme_id: uuid.UUID, child_id: uuid.UUID | None, kind: AlertKind
) -> Alert | None:
    query = select(Alert).where(Alert.kind == kind, Alert.state != AlertState.RESOLVED)
    if child_id is None:
        query = query.where(Alert.programme_id == programme_id, Alert.child_id.is_(None))
    else:
        query = query.where(Alert.child_id == child_id)
    return db_session.scalar(query.with_for_update())


def _insert(db_session: Session, alert: Alert) -> tuple[Alert, bool]:
    """Insert a new open alert; if another transaction opened the same one first (the unique index on open alerts
    says so), count this as a repeat of theirs instead."""
    alert.code = _unused_code(db_session)
    try:
        with db_session.begin_nested():
            db_session.add(alert)
    except IntegrityError:
        existing = _open_alert(db_session, programme_id=alert.programme_id, child_id=alert.child_id, kind=alert.kind)
        if existing is None:
            raise
        return existing, False
    return alert, True


def _unused_code(db_session: Session) -> str:
    while True:
        code = rules.new_code()
        if not db_session.scalar(select(exists().where(Alert.code == code))):
            return code


# --- Texting the person on duty, and escalating --------------------------------------------------------------


def _recipients(db_session: Session, alert: Alert, at_step: EscalationStep, now: datetime) -> list[uuid.UUID]:
    """Who this step texts: active staff with a work mobile."""
    if at_step is EscalationStep.DUTY:
        candidates = [duty.cover_at(db_session, programme_id=alert.programme_id, at=now).duty_user_id]
    elif at_step is EscalationStep.FALLBACK:
        candidates = [duty.cover_at(db_session, programme_id=alert.programme_id, at=now).fallback_user_id]
    elif at_step is EscalationStep.ALL_COORDINATORS:
        candidates = list(duty.coordinators_of(db_session, programme_id=alert.programme_id))
    else:
        return []
    reachable = []
    for user_id in dict.fromkeys(candidate for candidate in candidates if candidate is not None):
        user = db_session.get(AppUser, user_id)
        if user is not None and user.is_active and user.mobile_e164:
            reachable.append(user_id)
    return reachable


def _text_from(
    db_session: Session, alert: Alert, first_step: EscalationStep, now: datetime, *, escalate: bool = True
) -> None:
    """Queue the alert's SMS to the first step, from `first_step` on, that has someone to text; steps with nobody
    are recorded and passed at once. With `escalate`, records the step reached and when it escalates next if
    nobody acknowledges it."""
    assert alert.child_id is not None, "only alerts about a child are texted"
    at_step = first_step
    recipients = _recipients(db_session, alert, at_step, now)
    while not recipients and at_step is not EscalationStep.EXHAUSTED:
        _event(db_session, alert, AlertEventKind.NOBODY_TO_TEXT, now, detail=f"nobody with a work mobile: {at_step}")
        at_step = rules.NEXT_STEP[at_step]
        recipients = _recipients(db_session, alert, at_step, now)
    if escalate:
        alert.escalation_step = at_step
        if at_step is EscalationStep.EXHAUSTED:
            alert.escalate_at = None
    if at_step is EscalationStep.EXHAUSTED:
        return
    for user_id in recipients:
        queue_message(
            db_session,
            dedupe_key=f"alert:{alert.id}:{alert.occurrences}:{at_step}:{user_id}",
            purpose=MessagePurpose.ALERT,
            recipient_type=RecipientType.COORDINATOR,
            child_id=alert.child_id,
            phone_number_id=None,
            recipient_user_id=user_id,
            alert_id=alert.id,
            urgent=alert.urgency is Urgency.URGENT,
            send_after=now,
            drop_after=now + ALERT_SMS_USEFUL_FOR,
            now=now,
        )
        _event(db_session, alert, AlertEventKind.TEXTED, now, user_id=user_id, detail=str(at_step))
    if escalate and alert.state is AlertState.RAISED:
        alert.escalate_at = rules.escalate_at(
            urgency=alert.urgency, thresholds=thresholds_for(db_session, alert.programme_id), since=now
        )


@use_case
def escalate_unacknowledged(db_session: Session, *, now: datetime) -> int:
    """Alerts not acknowledged in time go to the next step (the fallback, then every coordinator). Each alert is
    locked while it escalates, so an acknowledgement committed first stops it, and one arriving during it waits
    and then finds the alert escalated: never two escalations, never a lost acknowledgement."""
    query = (
        select(Alert)
        .where(Alert.escalate_at.is_not(None), Alert.escalate_at <= now, Alert.state == AlertState.RAISED)
        .order_by(Alert.escalate_at)
    )
    if db_session.get_bind().dialect.name == "postgresql":
        query = query.with_for_update(skip_locked=True)
    escalated = 0
    for alert in db_session.scalars(query).all():
        assert alert.escalation_step is not None
        next_step = rules.NEXT_STEP[alert.escalation_step]
        _event(db_session, alert, AlertEventKind.ESCALATED, now, detail=f"not acknowledged: {next_step}")
        _text_from(db_session, alert, next_step, now)
        audit.record(db_session, actor=None, action="alert.escalate", record=alert, child_id=alert.child_id, now=now)
        escalated += 1
    return escalated


# --- Reading and answering -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class AlertFilter:
    acknowledged: bool | None = None
    state: AlertState | None = None
    urgency: Urgency | None = None
    kind: AlertKind | None = None


@use_case
def list_alerts(db_session: Session, *, actor: Actor, where: AlertFilter, now: datetime) -> Sequence[Alert]:
    query = select(Alert).order_by(Alert.raised_at.desc(), Alert.id)
    if actor.role is not Role.ADMIN:
        query = query.where(Alert.programme_id == actor.programme_id)
    if where.acknowledged is not None:
        query = query.where(
            Alert.acknowledged_at.is_not(None) if where.acknowledged else Alert.acknowledged_at.is_(None)
        )
    if where.state is not None:
        query = query.where(Alert.state == where.state)
    if where.urgency is not None:
        query = query.where(Alert.urgency == where.urgency)
    if where.kind is not None:
        query = query.where(Alert.kind == where.kind)
    alerts = db_session.scalars(query).all()
    audit.record_many(
        db_session,
        actor=actor,
        action="alert.list",
        of=Alert,
        records=[(alert.id, alert.child_id) for alert in alerts if alert.child_id is not None],
        now=now,
    )
    return alerts


@dataclass(frozen=True)
class AlertWithHistory:
    """An alert with its history, oldest first, as AlertWithHistorySchema dumps it."""

    alert: Alert
    history: list[AlertEvent]


@use_case
def get_alert(db_session: Session, *, actor: Actor, alert_id: uuid.UUID, now: datetime) -> AlertWithHistory:
    alert = db_session.get(Alert, alert_id)
    if alert is None or not actor.sees_programme(alert.programme_id):
        raise errors.AlertNotFound()
    events = db_session.scalars(select(AlertEvent).where(AlertEvent.alert_id == alert.id).order_by(AlertEvent.id)).all()
    audit.record(db_session, actor=actor, action="alert.read", record=alert, child_id=alert.child_id, now=now)
    return AlertWithHistory(alert, list(events))


def _locked(db_session: Session, actor: Actor, alert_id: uuid.UUID) -> Alert:
    alert = db_session.scalar(select(Alert).where(Alert.id == alert_id).with_for_update())
    if alert is None or not actor.sees_programme(alert.programme_id):
        raise errors.AlertNotFound()
    return alert


@use_case
def acknowledge_alert(db_session: Session, *, actor: Actor, alert_id: uuid.UUID, note: str, now: datetime) -> Alert:
    """A named person has it. Escalation stops; SMS still queued for it are dropped when the dispatcher reaches
    them (api/sms/dispatch.py checks the alert before sending)."""
    alert = _locked(db_session, actor, alert_id)
    if alert.state is AlertState.RESOLVED:
        raise errors.AlertAlreadyResolved()
    if alert.acknowledged_at is not None:
        raise errors.AlertAlreadyAcknowledged()
    _acknowledge(db_session, alert, actor=actor, note=note.strip(), now=now)
    _changed(db_session, alert, actor=actor, action="alert.acknowledge", now=now)
    return alert


def _acknowledge(db_session: Session, alert: Alert, *, actor: Actor, note: str | None, now: datetime) -> None:
    alert.state = AlertState.ACKNOWLEDGED
    alert.acknowledged_at = now
    alert.acknowledged_by_user_id = actor.user_id
    alert.acknowledgement_note = note
    alert.escalate_at = None
    _event(db_session, alert, AlertEventKind.ACKNOWLEDGED, now, user_id=actor.user_id, detail=note)


@use_case
def resolve_alert(db_session: Session, *, actor: Actor, alert_id: uuid.UUID, outcome: str, now: datetime) -> Alert:
    """Close the alert with what came of it. Resolving one nobody acknowledged acknowledges it too. A new
    occurrence after this opens a new alert."""
    alert = _locked(db_session, actor, alert_id)
    if alert.state is AlertState.RESOLVED:
        raise errors.AlertAlreadyResolved()
    if alert.acknowledged_at is None:
        _acknowledge(db_session, alert, actor=actor, note=None, now=now)
    alert.state = AlertState.RESOLVED
    alert.resolved_at = now
    alert.resolved_by_user_id = actor.user_id
    alert.resolution_note = outcome.strip()
    _event(db_session, alert, AlertEventKind.RESOLVED, now, user_id=actor.user_id, detail=alert.resolution_note)
    _changed(db_session, alert, actor=actor, action="alert.resolve", now=now)
    return alert


# --- History, the phones' sync and the audit log -------------------------------------------------------------


def _event(
    db_session: Session,
    alert: Alert,
    event: AlertEventKind,
    now: datetime,
    *,
    user_id: uuid.UUID | None = None,
    detail: str | None = None,
) -> None:
    db_session.add(AlertEvent(alert_id=alert.id, occurred_at=now, event=event, user_id=user_id, detail=detail))


def _changed(db_session: Session, alert: Alert, *, actor: Actor | None, action: str, now: datetime) -> None:
    db_session.flush()
    if alert.child_id is not None:
        # The key worker's phone hears of it (and of its acknowledgement) through GET /sync.
        record_change(db_session, entity_type=EntityType.ALERT, entity_id=alert.id, child_id=alert.child_id, now=now)
    audit.record(db_session, actor=actor, action=action, record=alert, child_id=alert.child_id, now=now)


# --- Gaps in duty cover --------------------------------------------------------------------------------------


@use_case
def check_duty_cover(db_session: Session, *, now: datetime) -> int:
    """Alert each programme whose rota leaves part of the coming days uncovered (how many days: its thresholds).
    A changed set of gaps counts as a repeat (not the same gaps seen an hour on: the alert's subject keeps the
    gaps counted); once cover is complete, the open alert is resolved by the system.
    Returns how many programmes have gaps."""
    with_gaps = 0
    for programme in db_session.scalars(select(Programme).order_by(Programme.name)):
        days = thresholds_from(programme.alert_thresholds).duty_cover_days_ahead
        window = (now, now + timedelta(days=days))
        gaps = duty.gaps(db_session, programme_id=programme.id, start=window[0], end=window[1])
        open_alert = _open_alert(db_session, programme_id=programme.id, child_id=None, kind=AlertKind.DUTY_COVER_GAP)
        if not gaps:
            if open_alert is not None:
                _close_by_system(db_session, open_alert, outcome="The rota now covers the coming days.", now=now)
            continue
        with_gaps += 1
        detail = rules.describe_gaps(gaps, window=window, zone=ZoneInfo(programme.time_zone), days=days)
        if open_alert is None or not rules.gaps_already_counted(open_alert.subject, gaps, window=window):
            raise_alert(
                db_session,
                programme_id=programme.id,
                kind=AlertKind.DUTY_COVER_GAP,
                detail=detail,
                now=now,
                subject=rules.gaps_subject(gaps, window=window),
            )
        elif open_alert.detail != detail:
            # The same gaps, only described from a later moment ("now to ..." once a gap has begun): no repeat.
            open_alert.detail = detail
    return with_gaps


def _close_by_system(db_session: Session, alert: Alert, *, outcome: str, now: datetime) -> None:
    alert.state = AlertState.RESOLVED
    alert.resolved_at = now
    alert.resolution_note = outcome
    alert.escalate_at = None
    _event(db_session, alert, AlertEventKind.RESOLVED, now, detail=outcome)
    _changed(db_session, alert, actor=None, action="alert.resolve", now=now)
