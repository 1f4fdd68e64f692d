"""Queueing messages, always inside the caller's transaction."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy.orm import Session

from api.outbox.models import OutboundMessage
from api.outbox.rules import MessagePurpose, MessageState


def queue_message(
    db_session: Session,
    *,
    dedupe_key: str,
    purpose: MessagePurpose,
    child_id: uuid.UUID,
    phone_number_id: uuid.UUID,
    send_after: datetime,
    drop_after: datetime,
    now: datetime,
    check_in_invitation_id: uuid.UUID | None = None,
) -> OutboundMessage:
    """Part of the caller's transaction; the unique key makes a second queueing of the same message fail."""
    message = OutboundMessage(
        dedupe_key=dedupe_key,
        purpose=purpose,
        child_id=child_id,
        phone_number_id=phone_number_id,
        check_in_invitation_id=check_in_invitation_id,
        state=MessageState.QUEUED,
        send_after=send_after,
        drop_after=drop_after,
        created_at=now,
    )
    db_session.add(message)
    db_session.flush()
    return message
