"""Reading the outbox queue."""

from __future__ import annotations

import uuid
from collections.abc import Collection, Sequence

from sqlalchemy import select
from sqlalchemy.orm import Session

from api.outbox.models import OutboundMessage
from api.outbox.rules import MessagePurpose, MessageState


def messages_for_invitation(db_session: Session, *, invitation_id: uuid.UUID) -> list[OutboundMessage]:
    query = select(OutboundMessage).where(OutboundMessage.check_in_invitation_id == invitation_id)
    return list(db_session.scalars(query.order_by(OutboundMessage.created_at)))


def has_queued_for_session(db_session: Session, *, session_id: uuid.UUID) -> bool:
    found = db_session.scalar(
        select(OutboundMessage.id)
        .where(
            OutboundMessage.session_id == session_id,
            OutboundMessage.state == MessageState.QUEUED,
            # A lone-working text also names its session, but it follows its check, not the session's reminders.
            OutboundMessage.purpose == MessagePurpose.SESSION_REMINDER,
        )
        .limit(1)
    )
    return found is not None


def queued_for_session(db_session: Session, *, session_id: uuid.UUID) -> Sequence[OutboundMessage]:
    return db_session.scalars(
        select(OutboundMessage).where(
            OutboundMessage.session_id == session_id,
            OutboundMessage.state == MessageState.QUEUED,
            OutboundMessage.purpose == MessagePurpose.SESSION_REMINDER,
        )
    ).all()


def queued_for_number(db_session: Session, *, phone_number_id: uuid.UUID) -> Sequence[OutboundMessage]:
    return db_session.scalars(
        select(OutboundMessage).where(
            OutboundMessage.phone_number_id == phone_number_id, OutboundMessage.state == MessageState.QUEUED
        )
    ).all()


def dedupe_keys_taken(db_session: Session, *, keys: Collection[str]) -> set[str]:
    """Which of these keys are already in the queue (in any state: a key is never queued twice)."""
    return set(db_session.scalars(select(OutboundMessage.dedupe_key).where(OutboundMessage.dedupe_key.in_(list(keys)))))
