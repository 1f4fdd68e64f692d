"""Reading the SMS ledger: every message about one session or one check-in link, each with its history."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from api.outbox.models import MessageEvent, OutboundMessage


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
