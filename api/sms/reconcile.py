"""Settling messages whose send outcome is unknown, and the stale claims of dispatchers that died.

A dispatcher that dies after claiming leaves a `sending` row; after preparing or sending, one that may or may
not have gone out. Either way the row's claim goes stale (api/sms/rules.py, CLAIM_LEASE), or, when the scheduler
that made it is gone, is recovered as soon as the next scheduler takes the lock (recover_dead_claims); the message
is looked up at the provider before anything is sent again: found, it is marked sent and moved on to the status
the provider reports; not found, it is queued again. An UNKNOWN outcome (a timeout, a 5xx) takes the same path.
Each step is its own transaction, and the look-up happens outside any. The scheduler's job drains the backlog
batch after batch (reconcile_until_idle), as the dispatcher does.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import and_, or_, select
from sqlalchemy.orm import Session, sessionmaker

from api.db import transaction
from api.outbox.models import OutboundMessage
from api.outbox.rules import MessageState
from api.outbox.service import move_message
from api.sms import rules
from api.sms.dispatch import (
    DISPATCH_BATCH,
    DispatchSettings,
    body_digest,
    claim,
    destination,
    render,
    this_process,
    time_zone_of,
)
from api.sms.provider_status import apply_crossed_early_reports, apply_early_reports, apply_provider_status
from notifications.port import ProviderLookupFailed

log = logging.getLogger(__name__)


def reconcile(
    session_factory: sessionmaker[Session],
    *,
    settings: DispatchSettings,
    clock: Callable[[], datetime],
    limit: int = DISPATCH_BATCH,
) -> int:
    """Settle one batch of messages whose send outcome is unknown, and stale claims of dispatchers that died.

    Each is looked up at the provider first: found, it is marked sent, then moved on to the status the provider
    reports for it; not found, queued to send again (or failed once attempts are used up); the provider cannot be
    asked, it waits for the next run.
    """
    return _reconcile_batch(session_factory, settings=settings, clock=clock, limit=limit)[1]


def reconcile_until_idle(
    session_factory: sessionmaker[Session],
    *,
    settings: DispatchSettings,
    clock: Callable[[], datetime],
    budget: timedelta = timedelta(seconds=50),
    stop_requested: Callable[[], bool] = lambda: False,
) -> int:
    """Batch after batch until nothing needs settling or the time budget is spent: a backlog (a scheduler killed
    with hundreds of messages claimed) is settled at once, not one batch a minute."""
    return _until_idle(
        lambda: _reconcile_batch(session_factory, settings=settings, clock=clock), clock, budget, stop_requested
    )


def recover_dead_claims(
    session_factory: sessionmaker[Session],
    *,
    settings: DispatchSettings,
    clock: Callable[[], datetime],
    budget: timedelta = timedelta(minutes=5),
    stop_requested: Callable[[], bool] = lambda: False,
) -> int:
    """Settle at once every claim another process made, without waiting out its lease. Call it only while this
    process holds the scheduler lock (scheduling/lock.py): only one scheduler runs, and only a scheduler claims,
    so a claim made by any other process was made by one that is gone. This process's own claims (its dispatcher
    may be running) are never touched. Each is looked up at the provider before any resend, as in reconcile."""

    def batch() -> tuple[int, int]:
        query = (
            select(OutboundMessage.id)
            .where(
                OutboundMessage.state == MessageState.SENDING,
                or_(OutboundMessage.claimed_by.is_(None), OutboundMessage.claimed_by != this_process()),
            )
            .order_by(OutboundMessage.send_after, OutboundMessage.id)
            .limit(DISPATCH_BATCH)
        )
        return _settle(session_factory, query, claimable=_claimed_by_another_process, settings=settings, clock=clock)

    return _until_idle(batch, clock, budget, stop_requested)


def _claimed_by_another_process(message: OutboundMessage) -> bool:
    return message.state is MessageState.SENDING and message.claimed_by != this_process()


def _until_idle(
    batch: Callable[[], tuple[int, int]],
    clock: Callable[[], datetime],
    budget: timedelta,
    stop_requested: Callable[[], bool],
) -> int:
    started = clock()
    settled = 0
    while not stop_requested():
        claimed, batch_settled = batch()
        settled += batch_settled
        if not claimed or clock() - started >= budget:
            break
    return settled


def _reconcile_batch(
    session_factory: sessionmaker[Session],
    *,
    settings: DispatchSettings,
    clock: Callable[[], datetime],
    limit: int = DISPATCH_BATCH,
) -> tuple[int, int]:
    """One batch: (how many were claimed, how many were settled)."""
    now = clock()
    with session_factory() as db_session, transaction(db_session):
        apply_crossed_early_reports(db_session, now=now)
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
    return _settle(session_factory, query, claimable=_needs_settling(now), settings=settings, clock=clock)


def _settle(
    session_factory: sessionmaker[Session],
    query: Any,
    *,
    claimable: Callable[[OutboundMessage], bool],
    settings: DispatchSettings,
    clock: Callable[[], datetime],
) -> tuple[int, int]:
    with session_factory() as db_session, transaction(db_session):
        claim_id, claimed = claim(db_session, query, claimable=claimable, now=clock())
    settled = 0
    for message_id in claimed:
        try:
            settled += _reconcile_one(
                session_factory, message_id=message_id, claim_id=claim_id, settings=settings, clock=clock
            )
        except Exception:
            log.exception("reconciling message %s failed", message_id)
    return len(claimed), settled


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
        body = render(db_session, message, settings, time_zone_of(db_session, message))
        to = destination(db_session, message)
        changed = (
            body is not None
            and to is not None
            and message.body_digest is not None
            and message.body_digest != body_digest(settings, to, body)
        )
    found = None
    if changed:
        # Looking up the new text would find nothing even if the old one went: never risk a second send.
        with session_factory() as db_session, transaction(db_session):
            message = db_session.get_one(OutboundMessage, message_id, with_for_update=True)
            if message.claim_id == claim_id and message.state is MessageState.SENDING:
                reason = "its text or number changed after a send with an unknown outcome: not resent (check by hand)"
                move_message(db_session, message, MessageState.FAILED, reason, clock())
        return 1
    if attempted_at is not None and body is not None and to is not None:
        try:
            found = settings.sender.find_sent(to=to, body=body, since=attempted_at)
        except ProviderLookupFailed as problem:
            with session_factory() as db_session, transaction(db_session):
                message = db_session.get_one(OutboundMessage, message_id, with_for_update=True)
                if message.claim_id == claim_id:
                    message.send_after = clock() + rules.RECONCILE_AFTER
                    move_message(
                        db_session, message, MessageState.UNKNOWN, f"look-up failed ({problem}): try again", clock()
                    )
            return 0
    with session_factory() as db_session, transaction(db_session):
        message = db_session.get_one(OutboundMessage, message_id, with_for_update=True)
        if message.claim_id != claim_id or message.state is not MessageState.SENDING:
            return 0
        now = clock()
        if found is not None:
            message.provider_id = found.provider_id
            message.provider_status = found.status
            message.sent_at = attempted_at
            move_message(db_session, message, MessageState.SENT, "found at the provider", now)
            # What the provider knows of it since (delivered, say): no callback will come again to say so.
            apply_provider_status(
                db_session, message, status=found.status, error_code=None, now=now, reason="its status at the provider"
            )
            apply_early_reports(db_session, message, now)
        elif attempted_at is None:
            # Claimed but never handed to the provider: safe to queue again at once.
            message.send_after = now
            move_message(db_session, message, MessageState.QUEUED, "a dispatcher stopped before sending", now)
        elif message.attempts >= rules.MAX_ATTEMPTS:
            move_message(
                db_session, message, MessageState.FAILED, f"not at the provider after {message.attempts} attempts", now
            )
        else:
            message.send_after = now
            move_message(db_session, message, MessageState.QUEUED, "not at the provider: send again", now)
        return 1
