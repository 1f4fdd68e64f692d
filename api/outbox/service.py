"""The SMS outbox queue: queueing a message in the caller's transaction, and moving it forward.

Every message is a row written in the same transaction as what caused it (a check-in link, a session's
reminders), so none is lost and none is queued twice (its key is unique). Sending it, reconciling unknown
outcomes and the provider's webhooks are the SMS domain's (api/sms); which reminders a session needs, the
reminder policy's (api/reminders).
"""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy.orm import Session

from api.db import step
from api.logs import current_request_id
from api.outbox.models import MessageEvent, OutboundMessage
from api.outbox.rules import MessagePurpose, MessageState, RecipientType


def _event(
    db_session: Session, message: OutboundMessage, state: MessageState, detail: str | None, now: datetime
) -> None:
    db_session.add(MessageEvent(message_id=message.id, occurred_at=now, state=state, detail=detail))


@step
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
    alert_id: uuid.UUID | None = None,
    urgent: bool = False,
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
        alert_id=alert_id,
        urgent=urgent,
        state=MessageState.QUEUED,
        send_after=send_after,
        drop_after=drop_after,
        attempts=0,
        request_id=current_request_id(),
        created_at=now,
        updated_at=now,
    )
    db_session.add(message)
    db_session.flush()
    _event(db_session, message, MessageState.QUEUED, None, now)
    return message


@step
def move_message(
    db_session: Session, message: OutboundMessage, state: MessageState, reason: str | None, now: datetime
) -> None:
    """Put a message in its next state, with why, and write that step to its ledger (the callers keep it forward
    only: api/outbox/rules.py, can_move)."""
    message.state = state
    message.state_reason = reason
    message.updated_at = now
    _event(db_session, message, state, reason, now)
