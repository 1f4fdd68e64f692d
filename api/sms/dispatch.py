"""Dispatching queued SMS so none is lost and none is sent twice.

Dispatch, one message at a time after a batch claim (api/sms/rules.py has the rules):

1. claim_due: in one short transaction, take due queued rows (`FOR UPDATE SKIP LOCKED` on PostgreSQL, so
   several dispatchers share the work; SQLite's write lock serialises claims), mark them `sending` under a
   fresh claim id, commit.
2. prepare: in its own transaction, re-check the row against the records as they are now (consent, opt-out,
   the number, the session, the link) and quiet hours; hold, drop, or note the attempt and commit.
3. send, outside any transaction.
4. record: in its own transaction, write the outcome only if the claim is still ours (compare-and-set).

Pacing (issue 20): before each send the dispatcher takes a token from its sender's bucket (api/sms/pacing.py), so
the provider is never asked for more than the configured rate, urgent messages first. The regular drain
(dispatch_until_idle) keeps a few sending threads busy, claiming a little ahead of the tokens: a burst of due
messages leaves continuously at the rate, and no claim is held for more than a couple of seconds' worth of sends.

A dispatcher that dies after 1 leaves a `sending` row; after 2 or 3, one that may or may not have gone out.
Either way the row's claim goes stale, and reconcile (api/sms/reconcile.py) looks the message up at the provider
before anything is sent again: found, it is marked sent; not found, it is queued again. An UNKNOWN outcome takes
the same path.
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import math
import os
import uuid
from collections.abc import Callable, Mapping
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from functools import partial
from typing import Any
from zoneinfo import ZoneInfo

from prometheus_client import Counter
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from api.accounts.models import AppUser
from api.alerts.models import Alert
from api.alerts.rules import SMS_KIND_WORDS, AlertState, EscalationStep, Urgency
from api.children.models import Child, PhoneNumber
from api.children.queries import consents_in_force
from api.children.rules import ContactChannel
from api.db import step, use_case
from api.logs import request_id_bound
from api.outbox.models import OutboundMessage
from api.outbox.rules import MessagePurpose, MessageState, RecipientType
from api.outbox.service import move_message
from api.programmes.models import Programme
from api.sessions.models import LoneWorkingCheck, MentoringSession
from api.sessions.rules import SessionStatus
from api.sms import rules
from api.sms.pacing import SendPacer
from api.sms.provider_status import apply_early_reports, stop_sending_to_number
from api.sms.rules import QuietHours, Verdict
from api.wellbeing.links import link_path, link_token
from api.wellbeing.models import CheckInInvitation
from notifications import templates
from notifications.port import Outcome, OutgoingSms, SendResult, SmsSender

log = logging.getLogger(__name__)

# Every send handed to the provider, by its outcome (notifications/port.py), or "error" when the sender raised.
# Counted in the scheduler's process: see api/metrics for how a scrape reaches it.
SENDS = Counter("reachable_sms_sends_total", "SMS handed to the provider, by outcome", ["outcome"])
for _outcome in [*Outcome, "error"]:
    SENDS.labels(outcome=str(_outcome))

DISPATCH_BATCH = 50
# With pacing, the regular drain claims about this many seconds of sends ahead (never more than DISPATCH_BATCH):
# enough to keep its threads busy, short enough that a claim is sent soon after it is made.
CLAIM_AHEAD_SECONDS = 2
_CLAIMANTS: dict[int, uuid.UUID] = {}


def this_process() -> uuid.UUID:
    """This process, as named on every claim it makes: once a scheduler holds the lock, a claim any other process
    made is a dead one (api/sms/reconcile.py, recover_dead_claims). Keyed by pid, so a forked child is another."""
    return _CLAIMANTS.setdefault(os.getpid(), uuid.uuid4())


@dataclass(frozen=True)
class DispatchSettings:
    sender: SmsSender
    secret_key: str
    public_base_url: str
    status_callback_url: str | None
    quiet_hours: Mapping[RecipientType, QuietHours | None] = field(
        default_factory=lambda: dict(rules.DEFAULT_QUIET_HOURS)
    )
    # The provider's rate per sender (api/sms/pacing.py). The scheduler always sets one from configuration
    # (scheduling/runner.py); None sends unpaced, for tests and tools that call the dispatcher directly.
    pacer: SendPacer | None = None
    # Whose rate the sends count against: the from number or Messaging Service SID (TwilioSender.identity).
    sender_identity: str = "default"
    # Threads the regular drain sends from at once: enough to reach the rate when a send takes longer than 1/rate.
    send_threads: int = 1


@dataclass(frozen=True)
class Prepared:
    message_id: uuid.UUID
    claim_id: uuid.UUID
    sms: OutgoingSms
    # The request that queued it, if one did: the send's log line carries it.
    request_id: str | None = None
    # An urgent message takes its sender's next token ahead of regular ones.
    urgent: bool = False


# --- Claiming ------------------------------------------------------------------------------------------------


@use_case
def claim_due(
    db_session: Session, *, now: datetime, limit: int = DISPATCH_BATCH, urgent_only: bool = False
) -> tuple[uuid.UUID, list[uuid.UUID]]:
    """Claim up to `limit` due messages for this dispatcher, urgent ones first; other dispatchers skip them.
    `urgent_only`: the few-second poll for urgent messages (scheduling/jobs.py). Commits."""
    query = (
        select(OutboundMessage.id)
        .where(OutboundMessage.state == MessageState.QUEUED, OutboundMessage.send_after <= now)
        .order_by(OutboundMessage.urgent.desc(), OutboundMessage.send_after, OutboundMessage.id)
        .limit(limit)
    )
    if urgent_only:
        query = query.where(OutboundMessage.urgent.is_(True))
    return claim(
        db_session,
        query,
        claimable=lambda message: message.state is MessageState.QUEUED and message.send_after <= now,
        now=now,
    )


@step
def claim(
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
        message.claimed_by = this_process()
        previous = message.state
        move_message(db_session, message, MessageState.SENDING, f"claimed (was {previous})", now)
        claimed.append(message_id)
    return claim_id, claimed


# --- The message as the records are now ----------------------------------------------------------------------


def time_zone_of(db_session: Session, message: OutboundMessage) -> ZoneInfo:
    """The child's programme's time zone: quiet hours and the session's time in the text are local to it."""
    return ZoneInfo(db_session.get_one(Programme, db_session.get_one(Child, message.child_id).programme_id).time_zone)


def render(db_session: Session, message: OutboundMessage, settings: DispatchSettings, zone: ZoneInfo) -> str | None:
    """The message's text from the records as they are now; None when what it was about is gone."""
    if message.purpose is MessagePurpose.ALERT:
        alert = db_session.get(Alert, message.alert_id) if message.alert_id else None
        if alert is None:
            return None
        return templates.alert_to_coordinator(
            urgent=alert.urgency is Urgency.URGENT,
            kind_words=SMS_KIND_WORDS.get(alert.kind, "alert"),
            code=alert.code,
            escalated=alert.state is AlertState.RAISED and alert.escalation_step not in (None, EscalationStep.DUTY),
        )
    if message.purpose is MessagePurpose.LONE_WORKING_CHECK:
        return templates.lone_working_check()
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


def destination(db_session: Session, message: OutboundMessage) -> str | None:
    """The number to send to, as recorded now: the child's or carer's number, or the mentor's mobile."""
    if message.recipient_user_id is not None:
        return db_session.get_one(AppUser, message.recipient_user_id).mobile_e164
    return db_session.get_one(PhoneNumber, message.phone_number_id).e164


def body_digest(settings: DispatchSettings, to: str, body: str) -> str:
    return hmac.new(settings.secret_key.encode(), f"{to}\n{body}".encode(), hashlib.sha256).hexdigest()


def _blocked_reason(db_session: Session, message: OutboundMessage, now: datetime) -> str | None:
    """Why this message must not go now, checked against the records at the moment of sending."""
    if message.recipient_user_id is not None:
        staff = db_session.get_one(AppUser, message.recipient_user_id)
        if not staff.is_active or not staff.mobile_e164:
            return f"the {message.recipient_type} has no mobile recorded or is no longer active"
        if message.purpose is MessagePurpose.ALERT:
            return _alert_blocked_reason(db_session, message)
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


def _alert_blocked_reason(db_session: Session, message: OutboundMessage) -> str | None:
    alert = db_session.get(Alert, message.alert_id) if message.alert_id else None
    if alert is None:
        return "the alert is gone"
    handled_at = alert.resolved_at if alert.state is AlertState.RESOLVED else alert.acknowledged_at
    # Somebody has it (or it was closed) since this was queued: texting more people now only adds noise. (A repeat
    # of an acknowledged urgent alert is queued after the acknowledgement, and goes.)
    if handled_at is not None and handled_at >= message.created_at:
        return "the alert was acknowledged or resolved before this was sent"
    return None


def _session_blocked_reason(db_session: Session, message: OutboundMessage) -> str | None:
    if message.purpose is MessagePurpose.LONE_WORKING_CHECK:
        check = db_session.scalar(select(LoneWorkingCheck).where(LoneWorkingCheck.session_id == message.session_id))
        if check is None or check.closed_at is not None:
            return "the mentor checked in"
        return None
    if message.purpose is MessagePurpose.SESSION_REMINDER:
        session = db_session.get(MentoringSession, message.session_id) if message.session_id else None
        if session is None or session.status is not SessionStatus.PLANNED:
            return "the session was cancelled, moved or deleted"
    return None


# --- Preparing, and recording the outcome --------------------------------------------------------------------


@use_case
def prepare(
    db_session: Session, *, message_id: uuid.UUID, claim_id: uuid.UUID, settings: DispatchSettings, now: datetime
) -> Prepared | None:
    """Re-check a claimed message; hold or drop it, or note the attempt and return what to send. Commits."""
    message = db_session.get_one(OutboundMessage, message_id, with_for_update=True)
    if message.claim_id != claim_id or message.state is not MessageState.SENDING:
        return None  # no longer ours (a reconciler took over a stale claim)
    zone = time_zone_of(db_session, message)
    body = render(db_session, message, settings, zone)
    decision = rules.decide(
        now=now,
        drop_after=message.drop_after,
        # Urgent messages (an urgent alert, a lone-working check) are never held by anyone's quiet hours.
        quiet=None if message.urgent else settings.quiet_hours.get(message.recipient_type),
        zone=zone,
        blocked_reason=_blocked_reason(db_session, message, now) if body is not None else "what it was about is gone",
    )
    if decision.verdict is Verdict.DROP:
        move_message(db_session, message, MessageState.DROPPED, decision.reason, now)
        return None
    if decision.verdict is Verdict.HOLD:
        assert decision.hold_until is not None
        message.send_after = decision.hold_until
        move_message(db_session, message, MessageState.QUEUED, f"held for {decision.reason}", now)
        return None
    assert body is not None
    message.attempts += 1
    message.attempted_at = now
    # The lease runs from the attempt, not the batch's claim: a slow batch never looks like a dead dispatcher.
    message.claimed_at = now
    message.updated_at = now
    to = destination(db_session, message)
    assert to is not None  # checked by _blocked_reason
    message.body_digest = body_digest(settings, to, body)
    sms = OutgoingSms(to=to, body=body, status_callback_url=settings.status_callback_url)
    return Prepared(message_id, claim_id, sms, request_id=message.request_id, urgent=message.urgent)


@use_case
def record(db_session: Session, *, prepared: Prepared, result: SendResult, now: datetime) -> MessageState | None:
    """Write a send's outcome, only if the claim is still ours. Commits."""
    message = db_session.get_one(OutboundMessage, prepared.message_id, with_for_update=True)
    if message.claim_id != prepared.claim_id or message.state is not MessageState.SENDING:
        return None
    message.error_code = result.error_code
    if result.outcome is Outcome.ACCEPTED:
        message.provider_id = result.provider_id
        message.provider_status = result.provider_status
        message.sent_at = now
        move_message(db_session, message, MessageState.SENT, None, now)
        apply_early_reports(db_session, message, now)
    elif result.outcome is Outcome.RETRY_LATER:
        if message.attempts >= rules.MAX_ATTEMPTS:
            move_message(
                db_session,
                message,
                MessageState.FAILED,
                f"gave up after {message.attempts} attempts (rate limited)",
                now,
            )
        else:
            delay = max(rules.retry_delay(message.attempts), timedelta(seconds=result.retry_after_seconds or 0))
            message.send_after = now + delay
            move_message(
                db_session, message, MessageState.QUEUED, f"rate limited ({result.error_code or 429}): retry", now
            )
    elif result.outcome is Outcome.PERMANENT_FAILURE:
        move_message(db_session, message, MessageState.FAILED, f"refused for good: error {result.error_code}", now)
        stop_sending_to_number(db_session, message, result.error_code, now)
    else:
        message.send_after = now + rules.RECONCILE_AFTER
        move_message(db_session, message, MessageState.UNKNOWN, f"outcome unknown ({result.detail}): look it up", now)
    return message.state


# --- The dispatcher's loop -----------------------------------------------------------------------------------


def claim_window(settings: DispatchSettings) -> int:
    """How many messages the drain holds claimed at most: a batch unpaced; paced, CLAIM_AHEAD_SECONDS of sends at
    the rate (at least one per sending thread, at most a batch)."""
    if settings.pacer is None:
        return DISPATCH_BATCH
    ahead = math.ceil(settings.pacer.rate.per_second * CLAIM_AHEAD_SECONDS)
    return max(1, settings.send_threads, min(DISPATCH_BATCH, ahead))


def dispatch_until_idle(
    session_factory: sessionmaker[Session],
    *,
    settings: DispatchSettings,
    clock: Callable[[], datetime],
    budget: timedelta = timedelta(seconds=50),
    stop_requested: Callable[[], bool] = lambda: False,
    urgent_only: bool = False,
) -> int:
    """Dispatch due messages until nothing is due or the time budget is spent: a burst drains continuously at the
    pacer's rate, urgent messages claimed first (claim_due's order) and sent first (the pacer's priority).

    Up to settings.send_threads messages are checked, sent and recorded at once (the urgent poll, `urgent_only`,
    sends one at a time: there are few). The drain holds at most claim_window() claimed, and claims again once half
    of them are done. Once stop_requested() (the scheduler got SIGTERM), or the budget is spent, it claims nothing
    more: the messages in hand are always finished, so nothing is left claimed when the process exits."""
    started = clock()
    window = claim_window(settings)
    threads = 1 if urgent_only else max(1, settings.send_threads)
    sent = 0
    in_hand: set[Future[bool]] = set()
    more_due = True
    with ThreadPoolExecutor(max_workers=threads, thread_name_prefix="sms-send") as pool:
        while True:
            may_claim = more_due and not stop_requested() and clock() - started < budget
            if may_claim and len(in_hand) <= window // 2:
                limit = window - len(in_hand)
                with session_factory() as db_session:
                    claim_id, claimed = claim_due(db_session, now=clock(), limit=limit, urgent_only=urgent_only)
                # Fewer than asked: nothing more is due now. Finish these; the next run looks again.
                more_due = len(claimed) == limit
                send = partial(_dispatch_one, session_factory, settings=settings, clock=clock, claim_id=claim_id)
                in_hand.update(pool.submit(send, message_id=message_id) for message_id in claimed)
            if not in_hand:
                return sent
            done, in_hand = wait(in_hand, return_when=FIRST_COMPLETED)
            sent += sum(future.result() for future in done)


def dispatch_due(
    session_factory: sessionmaker[Session],
    *,
    settings: DispatchSettings,
    clock: Callable[[], datetime],
    limit: int = DISPATCH_BATCH,
) -> int:
    """Claim, check, send and record due messages one by one; one bad message never stops the batch."""
    with session_factory() as db_session:
        claim_id, claimed = claim_due(db_session, now=clock(), limit=limit)
    return sum(
        _dispatch_one(session_factory, settings=settings, clock=clock, message_id=message_id, claim_id=claim_id)
        for message_id in claimed
    )


def _dispatch_one(
    session_factory: sessionmaker[Session],
    *,
    settings: DispatchSettings,
    clock: Callable[[], datetime],
    message_id: uuid.UUID,
    claim_id: uuid.UUID,
) -> bool:
    """Check, pace, send and record one claimed message; True when it was sent. Each step is its own transaction
    (a use case). Never raises: a failure is logged and the row stays claimed, so its stale claim is reconciled,
    never resent blindly."""
    try:
        with session_factory() as db_session:
            prepared = prepare(db_session, message_id=message_id, claim_id=claim_id, settings=settings, now=clock())
        if prepared is None:
            return False
        # The token is taken after the re-check, so a held or dropped message costs none; the wait between the two
        # is about one token per sending thread.
        if settings.pacer is not None:
            settings.pacer.acquire(settings.sender_identity, urgent=prepared.urgent)
        # Every line the send causes (the provider's adapter's too) carries the request that queued it.
        with request_id_bound(prepared.request_id):
            try:
                result = settings.sender.send(prepared.sms)
            except Exception:
                SENDS.labels(outcome="error").inc()
                raise
            SENDS.labels(outcome=result.outcome.value).inc()
            with session_factory() as db_session:
                state = record(db_session, prepared=prepared, result=result, now=clock())
            _log_send(prepared, result, state)
        return state is MessageState.SENT
    except Exception:
        log.exception("dispatching message %s failed", message_id)
        return False


def _log_send(prepared: Prepared, result: SendResult, state: MessageState | None) -> None:
    """One line per send: which message, what the provider said and where that left it. Never the number or the
    text (the text of a check-in link holds its token)."""
    log.info(
        "sms_sent" if state is MessageState.SENT else "sms_not_sent",
        extra={
            "message_id": str(prepared.message_id),
            "request_id": prepared.request_id,
            "outcome": str(result.outcome),
            # None: the claim was lost meanwhile (a reconciler took it over), so nothing was recorded.
            "state": str(state) if state is not None else None,
            "error_code": result.error_code,
        },
    )
