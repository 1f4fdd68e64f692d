"""Settling messages whose send outcome is unknown, and the stale claims of dispatchers that died.

A dispatcher that dies after claiming leaves a `sending` row; after preparing or sending, one that may or may
not have gone out. Either way the row's claim goes stale (api/sms/rules.py, CLAIM_LEASE), and the message is
looked up at the provider before anything is sent again: found, it is marked sent; not found, it is queued
again. An UNKNOWN outcome (a timeout, a 5xx) takes the same path. Each step is its own transaction, and the
look-up happens outside any.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Callable
from datetime import datetime

from sqlalchemy import and_, or_, select
from sqlalchemy.orm import Session, sessionmaker

from api.db import transaction
from api.outbox.models import OutboundMessage
from api.outbox.rules import MessageState
from api.outbox.service import move_message
from api.sms import rules
from api.sms.dispatch import DISPATCH_BATCH, DispatchSettings, body_digest, claim, destination, render, time_zone_of
from notifications.port import ProviderLookupFailed

log = logging.getLogger(__name__)


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
    with session_factory() as db_session, transaction(db_session):
        claim_id, claimed = claim(db_session, query, claimable=_needs_settling(now), now=now)
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
