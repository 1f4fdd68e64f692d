"""Reading the outbox."""

from __future__ import annotations

import uuid

from sqlalchemy import select
from sqlalchemy.orm import Session

from api.outbox.models import OutboundMessage


def messages_for_invitation(db_session: Session, *, invitation_id: uuid.UUID) -> list[OutboundMessage]:
    query = select(OutboundMessage).where(OutboundMessage.check_in_invitation_id == invitation_id)
    return list(db_session.scalars(query.order_by(OutboundMessage.created_at)))
