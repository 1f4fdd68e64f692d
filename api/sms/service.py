"""The SMS use cases that are one transaction each: Twilio's webhooks (status callbacks and replies), the staff's
ledger reads, and the scheduler's housekeeping of the queue (late messages dropped, old ones purged).

Sending is api/sms/dispatch.py and api/sms/reconcile.py, which commit step by step around the provider's calls.
"""

from __future__ import annotations

import logging
import uuid
from datetime import datetime, timedelta

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from api.actors import Actor
from api.audit import service as audit
from api.children import contact
from api.db import use_case
from api.outbox import queries as outbox_queries
from api.outbox.models import MessageEvent, OutboundMessage
from api.outbox.rules import FINAL_STATES, MessageState
from api.outbox.service import move_message
from api.sessions import queries as sessions_queries
from api.sessions.errors import SessionNotFound
from api.sms import rules
from api.sms.provider_status import (
    alert_contact_lost,
    apply_provider_status,
    keep_early_report,
    purge_early_reports,
)
from api.sms.queries import LedgerEntry, ledger
from api.wellbeing import queries as wellbeing_queries
from api.wellbeing.errors import InvitationNotFound

log = logging.getLogger(__name__)


# --- Webhooks: status callbacks and replies ------------------------------------------------------------------


@use_case
def apply_status(db_session: Session, *, provider_id: str, status: str, error_code: int | None, now: datetime) -> bool:
    """A status callback: moves the message forward only; repeats and late arrivals change nothing. One for a
    provider id no message carries yet is kept, and applied once the send is recorded (api/sms/provider_status.py).
    """
    message = db_session.scalar(
        select(OutboundMessage).where(OutboundMessage.provider_id == provider_id).with_for_update()
    )
    if message is None:
        keep_early_report(db_session, provider_id=provider_id, status=status, error_code=error_code, now=now)
        return False
    if status not in rules.PROVIDER_STATUS:
        return False
    apply_provider_status(db_session, message, status=status, error_code=error_code, now=now)
    return True


@use_case
def apply_reply(db_session: Session, *, from_number: str, body: str, now: datetime) -> str | None:
    """An inbound SMS: STOP withdraws SMS consent for every child this number belongs to; START lifts a
    withdrawal that a STOP made (never one that staff recorded: that was a decision about the child).

    Returns the keyword understood ("stop", "start", "help") or None. Twilio itself answers STOP/START/HELP
    with its own compliance replies, so nothing is sent back from here.
    """
    action = rules.reply_keyword(body)
    if action not in ("stop", "start"):
        return action
    granted = action == "start"
    for number in contact.numbers_in_use(db_session, e164=from_number):
        if granted and not contact.withdrawn_by_reply(db_session, number):
            continue
        contact.record_reply_consent(db_session, number=number, granted=granted, now=now)
        if not granted:
            # Nothing more goes to this number: its pending messages are dropped at once, with the reason.
            for message in outbox_queries.queued_for_number(db_session, phone_number_id=number.id):
                move_message(db_session, message, MessageState.DROPPED, "the recipient replied STOP", now)
            alert_contact_lost(db_session, number, what="stopped: they replied STOP", now=now)
    return action


# --- The ledger ----------------------------------------------------------------------------------------------


@use_case
def session_ledger(db_session: Session, *, actor: Actor, session_id: uuid.UUID, now: datetime) -> list[LedgerEntry]:
    """The messages about a session the caller may see (404 otherwise), each with its history. Audited."""
    session = sessions_queries.get_visible_session(db_session, actor=actor, session_id=session_id)
    if session is None:
        raise SessionNotFound()
    return _audited(db_session, ledger(db_session, session_id=session.id), actor=actor, now=now)


@use_case
def invitation_ledger(
    db_session: Session, *, actor: Actor, invitation_id: uuid.UUID, now: datetime
) -> list[LedgerEntry]:
    """The messages carrying a check-in link the caller may see (404 otherwise). Audited."""
    invitation = wellbeing_queries.get_visible_invitation(db_session, actor=actor, invitation_id=invitation_id)
    if invitation is None:
        raise InvitationNotFound()
    return _audited(db_session, ledger(db_session, invitation_id=invitation.id), actor=actor, now=now)


def _audited(db_session: Session, entries: list[LedgerEntry], *, actor: Actor, now: datetime) -> list[LedgerEntry]:
    """A ledger shows messages to or about children: each one shown is an audited read."""
    audit.record_many(
        db_session,
        actor=actor,
        action="outbound_message.list",
        of=OutboundMessage,
        records=[(entry.message.id, entry.message.child_id) for entry in entries],
        now=now,
    )
    return entries


# --- Housekeeping of the queue -------------------------------------------------------------------------------


@use_case
def drop_late_messages(db_session: Session, *, now: datetime) -> int:
    """Queued messages whose moment has passed are dropped with that reason, never sent late."""
    late = db_session.scalars(
        select(OutboundMessage)
        .where(OutboundMessage.state == MessageState.QUEUED, OutboundMessage.drop_after <= now)
        .with_for_update(skip_locked=True)
    ).all()
    for message in late:
        move_message(db_session, message, MessageState.DROPPED, "too late: its moment has passed", now)
    return len(late)


@use_case
def purge_old_messages(db_session: Session, *, retention_days: int, now: datetime) -> int:
    """Delete messages in a final state last changed before the retention period (their events go with them)."""
    cutoff = now - timedelta(days=retention_days)
    old = db_session.scalars(
        select(OutboundMessage.id).where(
            # Sent ones too: many never hear back (no callback from the development sender, lost callbacks).
            OutboundMessage.state.in_(FINAL_STATES | {MessageState.SENT}),
            OutboundMessage.updated_at < cutoff,
        )
    ).all()
    if old:
        db_session.execute(delete(MessageEvent).where(MessageEvent.message_id.in_(old)))
        db_session.execute(delete(OutboundMessage).where(OutboundMessage.id.in_(old)))
    purge_early_reports(db_session, retention_days=retention_days, now=now)
    log.info("purged %d SMS records older than %d days", len(old), retention_days)
    return len(old)
