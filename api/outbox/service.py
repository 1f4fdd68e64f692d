"""Queueing SMS in the caller's transaction, and dispatching them so none is lost and none is sent twice.

Dispatch, one message at a time after a batch claim (api/outbox/rules.py has the rules):

1. claim_due: in one short transaction, take due queued rows (`FOR UPDATE SKIP LOCKED` on PostgreSQL, so
   several dispatchers share the work; SQLite's write lock serialises claims), mark them `sending` under a
   fresh claim id, commit.
2. prepare: in its own transaction, re-check the row against the records as they are now (consent, opt-out,
   the number, the session, the link) and quiet hours; hold, drop, or note the attempt and commit.
3. send, outside any transaction.
4. record: in its own transaction, write the outcome only if the claim is still ours (compare-and-set).

A dispatcher that dies after 1 leaves a `sending` row; after 2 or 3, one that may or may not have gone out.
Either way the row's claim goes stale, and reconcile looks the message up at the provider before anything is
sent again: found, it is marked sent; not found, it is queued again. An UNKNOWN outcome takes the same path.
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import and_, delete, func, or_, select
from sqlalchemy.orm import Session, sessionmaker

from api.accounts.models import AppUser
from api.actors import Actor
from api.audit import service as audit
from api.changes.rules import EntityType
from api.changes.service import record_change
from api.children.models import Child, ContactConsent, PhoneNumber
from api.children.queries import consents_in_force
from api.children.rules import ConsentGivenBy, ContactChannel, PhoneOwner
from api.outbox import rules
from api.outbox.models import MessageEvent, OutboundMessage
from api.outbox.rules import MessagePurpose, MessageState, QuietHours, RecipientType, Verdict
from api.programmes.models import Programme
from api.sessions import queries as sessions_queries
from api.sessions.errors import SessionNotFound
from api.sessions.models import MentoringSession, SessionAttendee
from api.sessions.rules import SessionStatus
from api.wellbeing import queries as wellbeing_queries
from api.wellbeing.errors import InvitationNotFound
from api.wellbeing.links import link_path, link_token
from api.wellbeing.models import CheckInInvitation
from notifications import templates
from notifications.port import OPT_OUT_ERROR_CODE, Outcome, OutgoingSms, ProviderLookupFailed, SendResult, SmsSender

log = logging.getLogger(__name__)

DISPATCH_BATCH = 50


# --- Queueing (always inside the caller's transaction) -------------------------------------------------------


def _event(
    db_session: Session, message: OutboundMessage, state: MessageState, detail: str | None, now: datetime
) -> None:
    db_session.add(MessageEvent(message_id=message.id, occurred_at=now, state=state, detail=detail))


def queue_message(
    db_session: Session,
    *,
    dedupe_key: str,
    purpose: MessagePurpose,
    recipient_type: RecipientType,
    child_id: uuid.UUID,
    phone_number_id: uuid.UUID | None,
    send_after: datetime,
    drop_after: datetime,
    now: datetime,
    check_in_invitation_id: uuid.UUID | None = None,
    session_id: uuid.UUID | None = None,
    recipient_user_id: uuid.UUID | None = None,
) -> OutboundMessage:
    """Part of the caller's transaction; the unique key makes a second queueing of the same message fail."""
    message = OutboundMessage(
        dedupe_key=dedupe_key,
        purpose=purpose,
        recipient_type=recipient_type,
        child_id=child_id,
        phone_number_id=phone_number_id,
        check_in_invitation_id=check_in_invitation_id,
        session_id=session_id,
        recipient_user_id=recipient_user_id,
        state=MessageState.QUEUED,
        send_after=send_after,
        drop_after=drop_after,
        attempts=0,
        created_at=now,
        updated_at=now,
    )
    db_session.add(message)
    db_session.flush()
    _event(db_session, message, MessageState.QUEUED, None, now)
    return message


def _recipients(db_session: Session, child_id: uuid.UUID) -> list[tuple[RecipientType, PhoneNumber]]:
    """Who gets a child's session reminders: the child's own mobile and/or a carer's, per the consent in force."""
    consents = consents_in_force(db_session, child_id=child_id)
    numbers = db_session.scalars(
        select(PhoneNumber)
        .where(PhoneNumber.child_id == child_id, PhoneNumber.removed_at.is_(None))
        .order_by(PhoneNumber.created_at.desc(), PhoneNumber.id)
    ).all()
    chosen: list[tuple[RecipientType, PhoneNumber]] = []
    for recipient, channel, owners in (
        (RecipientType.CHILD, ContactChannel.SMS_TO_CHILD, {PhoneOwner.CHILD}),
        (RecipientType.CARER, ContactChannel.SMS_TO_CARER, {PhoneOwner.PARENT, PhoneOwner.CARER}),
    ):
        consent = consents.get(channel)
        number = next((number for number in numbers if number.belongs_to in owners), None)
        if consent is not None and consent.granted and number is not None:
            chosen.append((recipient, number))
    return chosen


# Reminders are queued by the scheduler for sessions starting within this; sooner changes re-sync at once.
REMINDER_HORIZON = timedelta(hours=48)


def resync_if_reminded(db_session: Session, *, session: MentoringSession, now: datetime, created: bool = False) -> None:
    """After a session changed: re-sync its reminders if it is close enough to have any, or already has some
    (`created`: it was made in this transaction, so it has none yet)."""
    # A session already begun gets no new reminders; any still pending are cancelled below.
    soon = now < session.planned_start_at <= now + REMINDER_HORIZON
    if not soon and created:
        return
    db_session.flush()
    has_pending = db_session.scalar(
        select(OutboundMessage.id)
        .where(OutboundMessage.session_id == session.id, OutboundMessage.state == MessageState.QUEUED)
        .limit(1)
    )
    if soon or has_pending is not None:
        sync_session_reminders(db_session, session_id=session.id, now=now)


def sync_session_reminders(db_session: Session, *, session_id: uuid.UUID, now: datetime) -> None:
    """Make a session's pending reminders match the session as it is now, in the caller's transaction.

    Called whenever a session is created, moved or cancelled, and by the scheduler for sessions coming due.
    Reminders for another start time, or for a session no longer planned, are cancelled; missing ones queued.
    """
    session = db_session.get(MentoringSession, session_id)
    pending = db_session.scalars(
        select(OutboundMessage).where(
            OutboundMessage.session_id == session_id, OutboundMessage.state == MessageState.QUEUED
        )
    ).all()
    wanted: dict[str, tuple[RecipientType, PhoneNumber | AppUser, uuid.UUID, rules.ReminderTime]] = {}
    # Every reminder the session as it is now should have, due or not: a queued one among them stays queued
    # (held for quiet hours, requeued after a 429, or simply not dispatched yet).
    current: set[str] = set()
    if session is not None and session.status is SessionStatus.PLANNED and session.planned_start_at > now:
        programme = db_session.get_one(Programme, session.programme_id)
        zone = ZoneInfo(programme.time_zone)
        child_ids = list(
            db_session.scalars(select(SessionAttendee.child_id).where(SessionAttendee.session_id == session_id))
        )
        reminders = rules.reminder_times(
            session.planned_start_at,
            zone,
            now=None,
            day_before_at=programme.reminder_day_before_at,
            hours_before=programme.reminder_hours_before,
        )
        recipients: list[tuple[RecipientType, PhoneNumber | AppUser, uuid.UUID]] = [
            (recipient, number, child_id)
            for child_id in child_ids
            for recipient, number in _recipients(db_session, child_id)
        ]
        mentor = db_session.get_one(AppUser, session.mentor_id)
        if mentor.mobile_e164 and mentor.is_active and child_ids:
            # One reminder to the mentor per session, however many children attend (named after the first).
            recipients.append((RecipientType.MENTOR, mentor, child_ids[0]))
        for recipient, addressee, child_id in recipients:
            for reminder in reminders:
                who = f"{recipient}:{addressee.id}"
                key = rules.reminder_key(session_id, who, reminder.lead, session.planned_start_at)
                current.add(key)
                if reminder.send_at > now:  # only reminders still ahead are queued
                    wanted[key] = (recipient, addressee, child_id, reminder)
    for message in pending:
        if message.dedupe_key not in current:
            _move(db_session, message, MessageState.CANCELLED, "the session changed", now)
    existing = set(
        db_session.scalars(select(OutboundMessage.dedupe_key).where(OutboundMessage.dedupe_key.in_(list(wanted))))
    )
    for key, (recipient, addressee, child_id, reminder) in wanted.items():
        if key in existing:
            continue
        assert session is not None
        queue_message(
            db_session,
            dedupe_key=key,
            purpose=MessagePurpose.SESSION_REMINDER,
            recipient_type=recipient,
            child_id=child_id,
            phone_number_id=addressee.id if isinstance(addressee, PhoneNumber) else None,
            recipient_user_id=addressee.id if isinstance(addressee, AppUser) else None,
            session_id=session_id,
            send_after=reminder.send_at,
            drop_after=session.planned_start_at,
            now=now,
        )


def queue_due_reminders(db_session: Session, *, now: datetime) -> int:
    """Queue the reminders of planned sessions starting within the next 48 hours (each exactly once)."""
    session_ids = db_session.scalars(
        select(MentoringSession.id).where(
            MentoringSession.status == SessionStatus.PLANNED,
            MentoringSession.planned_start_at > now,
            MentoringSession.planned_start_at <= now + REMINDER_HORIZON,
        )
    ).all()
    before = _count(db_session)
    for session_id in session_ids:
        sync_session_reminders(db_session, session_id=session_id, now=now)
    queued = _count(db_session) - before
    db_session.commit()
    return queued


def _count(db_session: Session) -> int:
    return db_session.scalar(select(func.count()).select_from(OutboundMessage)) or 0


# --- Moving a message (forward only) -------------------------------------------------------------------------


def _move(
    db_session: Session, message: OutboundMessage, state: MessageState, reason: str | None, now: datetime
) -> None:
    message.state = state
    message.state_reason = reason
    message.updated_at = now
    _event(db_session, message, state, reason, now)


# --- Dispatch ------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class DispatchSettings:
    sender: SmsSender
    secret_key: str
    public_base_url: str
    status_callback_url: str | None
    quiet_hours: Mapping[RecipientType, QuietHours | None] = field(
        default_factory=lambda: dict(rules.DEFAULT_QUIET_HOURS)
    )


@dataclass(frozen=True)
class Prepared:
    message_id: uuid.UUID
    claim_id: uuid.UUID
    sms: OutgoingSms


def claim_due(db_session: Session, *, now: datetime, limit: int = DISPATCH_BATCH) -> tuple[uuid.UUID, list[uuid.UUID]]:
    """Claim up to `limit` due messages for this dispatcher; other dispatchers skip them. Commits."""
    query = (
        select(OutboundMessage.id)
        .where(OutboundMessage.state == MessageState.QUEUED, OutboundMessage.send_after <= now)
        .order_by(OutboundMessage.send_after, OutboundMessage.id)
        .limit(limit)
    )
    return _claim(
        db_session,
        query,
        claimable=lambda message: message.state is MessageState.QUEUED and message.send_after <= now,
        now=now,
    )


def _claim(
    db_session: Session, query: Any, *, claimable: Callable[[OutboundMessage], bool], now: datetime
) -> tuple[uuid.UUID, list[uuid.UUID]]:
    """Take the rows the query selects, each only if it is still claimable when read under the lock."""
    if db_session.get_bind().dialect.name == "postgresql":
        query = query.with_for_update(skip_locked=True)
    ids = list(db_session.scalars(query))
    claim_id = uuid.uuid4()
    claimed: list[uuid.UUID] = []
    for message_id in ids:
        message = db_session.get_one(OutboundMessage, message_id, populate_existing=True)
        # Compare-and-set: a row another dispatcher claimed (or settled) since it was selected is left alone.
        if not claimable(message):
            continue
        message.claim_id = claim_id
        message.claimed_at = now
        previous = message.state
        _move(db_session, message, MessageState.SENDING, f"claimed (was {previous})", now)
        claimed.append(message_id)
    db_session.commit()
    return claim_id, claimed


def _render(db_session: Session, message: OutboundMessage, settings: DispatchSettings, zone: ZoneInfo) -> str | None:
    """The message's text from the records as they are now; None when what it was about is gone."""
    child = db_session.get_one(Child, message.child_id)
    if message.purpose is MessagePurpose.CHECK_IN_LINK:
        invitation = db_session.get(CheckInInvitation, message.check_in_invitation_id)
        if invitation is None:
            return None
        link = settings.public_base_url.rstrip("/") + link_path(link_token(settings.secret_key, invitation.token_nonce))
        return templates.check_in_link(first_name=child.first_name, link=link)
    session = db_session.get(MentoringSession, message.session_id) if message.session_id else None
    if session is None:
        return None
    when = session.planned_start_at.astimezone(zone)
    if message.recipient_type is RecipientType.CHILD:
        return templates.session_reminder_to_child(first_name=child.first_name, when=when)
    if message.recipient_type is RecipientType.MENTOR:
        return templates.session_reminder_to_mentor(first_name=child.first_name, when=when)
    return templates.session_reminder_to_carer(first_name=child.first_name, when=when)


def _destination(db_session: Session, message: OutboundMessage) -> str | None:
    """The number to send to, as recorded now: the child's or carer's number, or the mentor's mobile."""
    if message.recipient_user_id is not None:
        return db_session.get_one(AppUser, message.recipient_user_id).mobile_e164
    return db_session.get_one(PhoneNumber, message.phone_number_id).e164


def _blocked_reason(db_session: Session, message: OutboundMessage, now: datetime) -> str | None:
    """Why this message must not go now, checked against the records at the moment of sending."""
    if message.recipient_user_id is not None:
        staff = db_session.get_one(AppUser, message.recipient_user_id)
        if not staff.is_active or not staff.mobile_e164:
            return "the mentor has no mobile recorded or is no longer active"
        return _session_blocked_reason(db_session, message)
    number = db_session.get_one(PhoneNumber, message.phone_number_id)
    if number.removed_at is not None:
        return "the number was removed"
    if number.sms_blocked_at is not None:
        return f"the number is blocked: {number.sms_blocked_reason}"
    channel = (
        ContactChannel.SMS_TO_CHILD if message.recipient_type is RecipientType.CHILD else ContactChannel.SMS_TO_CARER
    )
    consent = consents_in_force(db_session, child_id=message.child_id).get(channel)
    if consent is None or not consent.granted:
        return "no consent to SMS in force (or the recipient replied STOP)"
    if message.purpose is MessagePurpose.CHECK_IN_LINK:
        invitation = db_session.get(CheckInInvitation, message.check_in_invitation_id)
        if invitation is None or invitation.completed_at is not None or invitation.revoked_at is not None:
            return "the check-in link was used or withdrawn"
    return _session_blocked_reason(db_session, message)


def _session_blocked_reason(db_session: Session, message: OutboundMessage) -> str | None:
    if message.purpose is MessagePurpose.SESSION_REMINDER:
        session = db_session.get(MentoringSession, message.session_id) if message.session_id else None
        if session is None or session.status is not SessionStatus.PLANNED:
            return "the session was cancelled, moved or deleted"
    return None


def prepare(
    db_session: Session, *, message_id: uuid.UUID, claim_id: uuid.UUID, settings: DispatchSettings, now: datetime
) -> Prepared | None:
    """Re-check a claimed message; hold or drop it, or note the attempt and return what to send. Commits."""
    message = db_session.get_one(OutboundMessage, message_id, with_for_update=True)
    if message.claim_id != claim_id or message.state is not MessageState.SENDING:
        db_session.rollback()
        return None  # no longer ours (a reconciler took over a stale claim)
    zone = ZoneInfo(db_session.get_one(Programme, db_session.get_one(Child, message.child_id).programme_id).time_zone)
    body = _render(db_session, message, settings, zone)
    decision = rules.decide(
        now=now,
        drop_after=message.drop_after,
        quiet=settings.quiet_hours.get(message.recipient_type),
        zone=zone,
        blocked_reason=_blocked_reason(db_session, message, now) if body is not None else "what it was about is gone",
    )
    if decision.verdict is Verdict.DROP:
        _move(db_session, message, MessageState.DROPPED, decision.reason, now)
        db_session.commit()
        return None
    if decision.verdict is Verdict.HOLD:
        assert decision.hold_until is not None
        message.send_after = decision.hold_until
        _move(db_session, message, MessageState.QUEUED, f"held for {decision.reason}", now)
        db_session.commit()
        return None
    assert body is not None
    message.attempts += 1
    message.attempted_at = now
    # The lease runs from the attempt, not the batch's claim: a slow batch never looks like a dead dispatcher.
    message.claimed_at = now
    message.updated_at = now
    to = _destination(db_session, message)
    assert to is not None  # checked by _blocked_reason
    message.body_digest = _digest(settings, to, body)
    sms = OutgoingSms(to=to, body=body, status_callback_url=settings.status_callback_url)
    db_session.commit()
    return Prepared(message_id, claim_id, sms)


def _digest(settings: DispatchSettings, to: str, body: str) -> str:
    return hmac.new(settings.secret_key.encode(), f"{to}\n{body}".encode(), hashlib.sha256).hexdigest()


def record(db_session: Session, *, prepared: Prepared, result: SendResult, now: datetime) -> MessageState | None:
    """Write a send's outcome, only if the claim is still ours. Commits."""
    message = db_session.get_one(OutboundMessage, prepared.message_id, with_for_update=True)
    if message.claim_id != prepared.claim_id or message.state is not MessageState.SENDING:
        db_session.rollback()
        return None
    message.error_code = result.error_code
    if result.outcome is Outcome.ACCEPTED:
        message.provider_id = result.provider_id
        message.provider_status = result.provider_status
        message.sent_at = now
        _move(db_session, message, MessageState.SENT, None, now)
    elif result.outcome is Outcome.RETRY_LATER:
        if message.attempts >= rules.MAX_ATTEMPTS:
            _move(
                db_session,
                message,
                MessageState.FAILED,
                f"gave up after {message.attempts} attempts (rate limited)",
                now,
            )
        else:
            delay = max(rules.retry_delay(message.attempts), timedelta(seconds=result.retry_after_seconds or 0))
            message.send_after = now + delay
            _move(db_session, message, MessageState.QUEUED, f"rate limited ({result.error_code or 429}): retry", now)
    elif result.outcome is Outcome.PERMANENT_FAILURE:
        _move(db_session, message, MessageState.FAILED, f"refused for good: error {result.error_code}", now)
        _flag_number(db_session, message, result.error_code, now)
    else:
        message.send_after = now + rules.RECONCILE_AFTER
        _move(db_session, message, MessageState.UNKNOWN, f"outcome unknown ({result.detail}): look it up", now)
    db_session.commit()
    return message.state


def _flag_number(db_session: Session, message: OutboundMessage, error_code: int | None, now: datetime) -> None:
    if message.phone_number_id is None:
        log.warning("a mentor's mobile was refused by the SMS provider (error %s)", error_code)
        return
    number = db_session.get_one(PhoneNumber, message.phone_number_id)
    if error_code == OPT_OUT_ERROR_CODE:
        _record_opt_out(db_session, number, granted=False, now=now)
    elif number.sms_blocked_at is None:
        number.sms_blocked_at = now
        number.sms_blocked_reason = f"SMS provider error {error_code}"
        record_change(
            db_session, entity_type=EntityType.CHILD, entity_id=number.child_id, child_id=number.child_id, now=now
        )
        # A change to the child's record made by no one (the provider's answer): audited with no actor.
        audit.record(
            db_session,
            actor=None,
            action="phone_number.block",
            record=number,
            child_id=number.child_id,
            now=now,
        )


def dispatch_until_idle(
    session_factory: sessionmaker[Session],
    *,
    settings: DispatchSettings,
    clock: Callable[[], datetime],
    budget: timedelta = timedelta(seconds=50),
    stop_requested: Callable[[], bool] = lambda: False,
) -> int:
    """Dispatch batch after batch until nothing is due or the time budget is spent (a burst is not throttled to
    one batch per scheduler tick). Once stop_requested() (the scheduler got SIGTERM), no further batch is
    claimed: the batch in hand is always finished, so nothing is left claimed when the process exits."""
    started = clock()
    sent = 0
    while not stop_requested():
        claimed, batch_sent = _dispatch_batch(session_factory, settings=settings, clock=clock)
        sent += batch_sent
        if not claimed or clock() - started >= budget:
            break
    return sent


def dispatch_due(
    session_factory: sessionmaker[Session],
    *,
    settings: DispatchSettings,
    clock: Callable[[], datetime],
    limit: int = DISPATCH_BATCH,
) -> int:
    """Claim, check, send and record due messages one by one; one bad message never stops the batch."""
    return _dispatch_batch(session_factory, settings=settings, clock=clock, limit=limit)[1]


def _dispatch_batch(
    session_factory: sessionmaker[Session],
    *,
    settings: DispatchSettings,
    clock: Callable[[], datetime],
    limit: int = DISPATCH_BATCH,
) -> tuple[int, int]:
    """One batch: (how many were claimed, how many were sent)."""
    with session_factory() as db_session:
        claim_id, claimed = claim_due(db_session, now=clock(), limit=limit)
    sent = 0
    for message_id in claimed:
        try:
            with session_factory() as db_session:
                prepared = prepare(db_session, message_id=message_id, claim_id=claim_id, settings=settings, now=clock())
            if prepared is None:
                continue
            result = settings.sender.send(prepared.sms)
            with session_factory() as db_session:
                state = record(db_session, prepared=prepared, result=result, now=clock())
            sent += state is MessageState.SENT
        except Exception:  # the row stays claimed; its stale claim is reconciled, never resent blindly
            log.exception("dispatching message %s failed", message_id)
    return len(claimed), sent


# --- Reconciliation ------------------------------------------------------------------------------------------


def reconcile(
    session_factory: sessionmaker[Session],
    *,
    settings: DispatchSettings,
    clock: Callable[[], datetime],
    limit: int = DISPATCH_BATCH,
) -> int:
    """Settle messages whose send outcome is unknown, and stale claims of dispatchers that died.

    Each is looked up at the provider first: found, it is marked sent; not found, queued to send again (or
    failed once attempts are used up); the provider cannot be asked, it waits for the next run.
    """
    now = clock()
    query = (
        select(OutboundMessage.id)
        .where(
            or_(
                and_(OutboundMessage.state == MessageState.UNKNOWN, OutboundMessage.send_after <= now),
                and_(
                    OutboundMessage.state == MessageState.SENDING, OutboundMessage.claimed_at < now - rules.CLAIM_LEASE
                ),
            )
        )
        .order_by(OutboundMessage.send_after, OutboundMessage.id)
        .limit(limit)
    )
    with session_factory() as db_session:
        claim_id, claimed = _claim(db_session, query, claimable=_needs_settling(now), now=now)
    settled = 0
    for message_id in claimed:
        try:
            settled += _reconcile_one(
                session_factory, message_id=message_id, claim_id=claim_id, settings=settings, clock=clock
            )
        except Exception:
            log.exception("reconciling message %s failed", message_id)
    return settled


def _needs_settling(now: datetime) -> Callable[[OutboundMessage], bool]:
    def needs_settling(message: OutboundMessage) -> bool:
        if message.state is MessageState.UNKNOWN:
            return message.send_after <= now
        return (
            message.state is MessageState.SENDING
            and message.claimed_at is not None
            and message.claimed_at < now - rules.CLAIM_LEASE
        )

    return needs_settling


def _reconcile_one(
    session_factory: sessionmaker[Session],
    *,
    message_id: uuid.UUID,
    claim_id: uuid.UUID,
    settings: DispatchSettings,
    clock: Callable[[], datetime],
) -> int:
    with session_factory() as db_session:
        message = db_session.get_one(OutboundMessage, message_id)
        attempted_at = message.attempted_at
        zone = ZoneInfo(
            db_session.get_one(Programme, db_session.get_one(Child, message.child_id).programme_id).time_zone
        )
        body = _render(db_session, message, settings, zone)
        to = _destination(db_session, message)
        changed = (
            body is not None
            and to is not None
            and message.body_digest is not None
            and message.body_digest != _digest(settings, to, body)
        )
    found = None
    if changed:
        # Looking up the new text would find nothing even if the old one went: never risk a second send.
        with session_factory() as db_session:
            message = db_session.get_one(OutboundMessage, message_id, with_for_update=True)
            if message.claim_id == claim_id and message.state is MessageState.SENDING:
                reason = "its text or number changed after a send with an unknown outcome: not resent (check by hand)"
                _move(db_session, message, MessageState.FAILED, reason, clock())
            db_session.commit()
        return 1
    if attempted_at is not None and body is not None and to is not None:
        try:
            found = settings.sender.find_sent(to=to, body=body, since=attempted_at)
        except ProviderLookupFailed as problem:
            with session_factory() as db_session:
                message = db_session.get_one(OutboundMessage, message_id, with_for_update=True)
                if message.claim_id == claim_id:
                    message.send_after = clock() + rules.RECONCILE_AFTER
                    _move(db_session, message, MessageState.UNKNOWN, f"look-up failed ({problem}): try again", clock())
                db_session.commit()
            return 0
    with session_factory() as db_session:
        message = db_session.get_one(OutboundMessage, message_id, with_for_update=True)
        if message.claim_id != claim_id or message.state is not MessageState.SENDING:
            return 0
        now = clock()
        if found is not None:
            message.provider_id = found.provider_id
            message.provider_status = found.status
            message.sent_at = attempted_at
            _move(db_session, message, MessageState.SENT, "found at the provider", now)
        elif attempted_at is None:
            # Claimed but never handed to the provider: safe to queue again at once.
            message.send_after = now
            _move(db_session, message, MessageState.QUEUED, "a dispatcher stopped before sending", now)
        elif message.attempts >= rules.MAX_ATTEMPTS:
            _move(
                db_session, message, MessageState.FAILED, f"not at the provider after {message.attempts} attempts", now
            )
        else:
            message.send_after = now
            _move(db_session, message, MessageState.QUEUED, "not at the provider: send again", now)
        db_session.commit()
        return 1


def drop_late_messages(db_session: Session, *, now: datetime) -> int:
    """Queued messages whose moment has passed are dropped with that reason, never sent late."""
    late = db_session.scalars(
        select(OutboundMessage)
        .where(OutboundMessage.state == MessageState.QUEUED, OutboundMessage.drop_after <= now)
        .with_for_update(skip_locked=True)
    ).all()
    for message in late:
        _move(db_session, message, MessageState.DROPPED, "too late: its moment has passed", now)
    db_session.commit()
    return len(late)


def purge_old_messages(db_session: Session, *, retention_days: int, now: datetime) -> int:
    """Delete messages in a final state last changed before the retention period (their events go with them)."""
    cutoff = now - timedelta(days=retention_days)
    old = db_session.scalars(
        select(OutboundMessage.id).where(
            # Sent ones too: many never hear back (no callback from the development sender, lost callbacks).
            OutboundMessage.state.in_(rules.FINAL_STATES | {MessageState.SENT}),
            OutboundMessage.updated_at < cutoff,
        )
    ).all()
    if old:
        db_session.execute(delete(MessageEvent).where(MessageEvent.message_id.in_(old)))
        db_session.execute(delete(OutboundMessage).where(OutboundMessage.id.in_(old)))
    db_session.commit()
    log.info("purged %d SMS records older than %d days", len(old), retention_days)
    return len(old)


# --- Webhooks: status callbacks and replies ------------------------------------------------------------------


def apply_status(db_session: Session, *, provider_id: str, status: str, error_code: int | None, now: datetime) -> bool:
    """A status callback: moves the message forward only; repeats and late arrivals change nothing."""
    new_state = rules.PROVIDER_STATUS.get(status)
    message = db_session.scalar(
        select(OutboundMessage).where(OutboundMessage.provider_id == provider_id).with_for_update()
    )
    if message is None or new_state is None:
        db_session.rollback()
        return False
    if rules.can_move(message.state, new_state):
        message.provider_status = status
        message.error_code = error_code or message.error_code
        reason = f"provider error {error_code}" if error_code else None
        _move(db_session, message, new_state, reason, now)
        if error_code in rules.UNREACHABLE_NUMBER_ERRORS:
            # The number does not exist, or is a landline (SMS read aloud in the home): send nothing more to it.
            _flag_number(db_session, message, error_code, now)
    db_session.commit()
    return True


STOP_WORDS = frozenset({"STOP", "STOPALL", "UNSUBSCRIBE", "CANCEL", "END", "QUIT", "OPTOUT", "REVOKE"})
# Only words that clearly ask to start again: a child's "yes" to something else must not restore SMS.
START_WORDS = frozenset({"START", "UNSTOP"})
HELP_WORDS = frozenset({"HELP", "INFO"})


def _record_opt_out(db_session: Session, number: PhoneNumber, *, granted: bool, now: datetime) -> None:
    channel = _channel_of(number)
    given_by = {
        PhoneOwner.CHILD: ConsentGivenBy.CHILD,
        PhoneOwner.PARENT: ConsentGivenBy.PARENT,
        PhoneOwner.CARER: ConsentGivenBy.CARER,
    }[number.belongs_to]
    consent = ContactConsent(
        child_id=number.child_id,
        channel=channel,
        granted=granted,
        given_by=given_by,
        recorded_by_user_id=None,
        recorded_at=now,
    )
    db_session.add(consent)
    db_session.flush()
    # Consents are part of the child's record on the mentors' phones, as when staff record one.
    record_change(
        db_session, entity_type=EntityType.CHILD, entity_id=number.child_id, child_id=number.child_id, now=now
    )
    # The row staff write when they record a consent, with no actor: a texted STOP or START (or the
    # provider's opt-out error) comes from no user.
    audit.record(
        db_session,
        actor=None,
        action="contact_consent.create",
        record=consent,
        child_id=number.child_id,
        now=now,
    )


def _channel_of(number: PhoneNumber) -> ContactChannel:
    return ContactChannel.SMS_TO_CHILD if number.belongs_to is PhoneOwner.CHILD else ContactChannel.SMS_TO_CARER


def _withdrawn_by_reply(db_session: Session, number: PhoneNumber) -> bool:
    consent = consents_in_force(db_session, child_id=number.child_id).get(_channel_of(number))
    return consent is not None and not consent.granted and consent.recorded_by_user_id is None


def apply_reply(db_session: Session, *, from_number: str, body: str, now: datetime) -> str | None:
    """An inbound SMS: STOP withdraws SMS consent for every child this number belongs to; START lifts a
    withdrawal that a STOP made (never one that staff recorded: that was a decision about the child).

    Returns the keyword understood ("stop", "start", "help") or None. Twilio itself answers STOP/START/HELP
    with its own compliance replies, so nothing is sent back from here.
    """
    # The first word, without punctuation: "Stop!" and "STOP." mean STOP; "please stop" is left to a person.
    keyword = "".join(ch for ch in body.strip().split()[0] if ch.isalnum()).upper() if body.strip() else ""
    if keyword in STOP_WORDS:
        action, granted = "stop", False
    elif keyword in START_WORDS:
        action, granted = "start", True
    elif keyword in HELP_WORDS:
        return "help"
    else:
        return None
    numbers = db_session.scalars(
        select(PhoneNumber).where(PhoneNumber.e164 == from_number, PhoneNumber.removed_at.is_(None))
    ).all()
    for number in numbers:
        if granted and not _withdrawn_by_reply(db_session, number):
            continue
        _record_opt_out(db_session, number, granted=granted, now=now)
        if not granted:
            # Nothing more goes to this number: its pending messages are dropped at once, with the reason.
            for message in db_session.scalars(
                select(OutboundMessage).where(
                    OutboundMessage.phone_number_id == number.id, OutboundMessage.state == MessageState.QUEUED
                )
            ):
                _move(db_session, message, MessageState.DROPPED, "the recipient replied STOP", now)
    db_session.commit()
    return action


# --- The ledger ----------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class LedgerEntry:
    message: OutboundMessage
    events: list[MessageEvent]

    def __getattr__(self, name: str) -> Any:
        return getattr(self.message, name)


def ledger(
    db_session: Session, *, session_id: uuid.UUID | None = None, invitation_id: uuid.UUID | None = None
) -> list[LedgerEntry]:
    """Every message about one session or one check-in link, each with its history."""
    query = select(OutboundMessage)
    if session_id is not None:
        query = query.where(OutboundMessage.session_id == session_id)
    if invitation_id is not None:
        query = query.where(OutboundMessage.check_in_invitation_id == invitation_id)
    messages = db_session.scalars(query.order_by(OutboundMessage.created_at, OutboundMessage.id)).all()
    events: dict[uuid.UUID, list[MessageEvent]] = {message.id: [] for message in messages}
    if messages:
        for event in db_session.scalars(
            select(MessageEvent).where(MessageEvent.message_id.in_(list(events))).order_by(MessageEvent.id)
        ):
            events[event.message_id].append(event)
    return [LedgerEntry(message, events[message.id]) for message in messages]


def session_ledger(db_session: Session, *, actor: Actor, session_id: uuid.UUID, now: datetime) -> list[LedgerEntry]:
    """The messages about a session the caller may see (404 otherwise), each with its history. Audited."""
    session = sessions_queries.get_visible_session(db_session, actor=actor, session_id=session_id)
    if session is None:
        raise SessionNotFound()
    entries = ledger(db_session, session_id=session.id)
    _audit_ledger(db_session, actor, entries, now)
    return entries


def invitation_ledger(
    db_session: Session, *, actor: Actor, invitation_id: uuid.UUID, now: datetime
) -> list[LedgerEntry]:
    """The messages carrying a check-in link the caller may see (404 otherwise). Audited."""
    invitation = wellbeing_queries.get_visible_invitation(db_session, actor=actor, invitation_id=invitation_id)
    if invitation is None:
        raise InvitationNotFound()
    entries = ledger(db_session, invitation_id=invitation.id)
    _audit_ledger(db_session, actor, entries, now)
    return entries


def _audit_ledger(db_session: Session, actor: Actor, entries: list[LedgerEntry], now: datetime) -> None:
    audit.record_many(
        db_session,
        actor=actor,
        action="outbound_message.list",
        of=OutboundMessage,
        records=[(entry.message.id, entry.message.child_id) for entry in entries],
        now=now,
    )
    db_session.commit()
