from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import ForeignKey, Index, String
from sqlalchemy.orm import Mapped, mapped_column

from api.db import Base, new_id
from api.enums import enum_column_type
from api.outbox.rules import MessagePurpose, MessageState


class OutboundMessage(Base):
    """One SMS to send: to whom, why, and from when until when it is still worth sending."""

    __tablename__ = "outbound_message"

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=new_id)
    # What the message is for ("check_in_link:<invitation id>"): unique, so it can never be queued twice.
    dedupe_key: Mapped[str] = mapped_column(String(120), unique=True)
    purpose: Mapped[MessagePurpose] = mapped_column(enum_column_type(MessagePurpose, "message_purpose"))
    child_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("child.id"))
    phone_number_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("phone_number.id"))
    check_in_invitation_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("check_in_invitation.id"))
    state: Mapped[MessageState] = mapped_column(enum_column_type(MessageState, "message_state"))
    send_after: Mapped[datetime]
    # Past this it is not sent at all (a check-in link that has expired).
    drop_after: Mapped[datetime]
    created_at: Mapped[datetime]


Index("ix_outbound_message_state_send_after", OutboundMessage.state, OutboundMessage.send_after)
Index("ix_outbound_message_check_in_invitation_id", OutboundMessage.check_in_invitation_id)
