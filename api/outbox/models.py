from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import ForeignKey, Index, String, Text, text
from sqlalchemy.orm import Mapped, mapped_column

from api.db import BIG_ID, Base, new_id
from api.enums import enum_column_type
from api.outbox.rules import MessagePurpose, MessageState, RecipientType


class OutboundMessage(Base):
    """One SMS to send: to whom, why, from when until when it is worth sending, and where it has got to.

    No text is stored: it is made from its template when sent (and again, identically, to look it up at the
    provider), so neither a check-in link's token nor a child's name sits in the outbox.
    """

    __tablename__ = "outbound_message"

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=new_id)
    # What the message is for ("check_in_link:<invitation id>"): unique, so it can never be queued twice.
    dedupe_key: Mapped[str] = mapped_column(String(200), unique=True)
    purpose: Mapped[MessagePurpose] = mapped_column(enum_column_type(MessagePurpose, "message_purpose"))
    recipient_type: Mapped[RecipientType] = mapped_column(enum_column_type(RecipientType, "message_recipient_type"))
    child_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("child.id"))
    # A child's or carer's number; for a mentor, their user (and the mobile on it) instead.
    phone_number_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("phone_number.id"))
    recipient_user_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("app_user.id"))
    check_in_invitation_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("check_in_invitation.id"))
    # Set null if the session is deleted (a pattern's future sessions when an enrolment ends): the dispatcher
    # then drops the reminder, and its ledger stays.
    session_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("mentoring_session.id", ondelete="SET NULL"))
    # The alert a message to a coordinator is about: it is dropped if the alert is acknowledged before it goes.
    alert_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("alert.id", ondelete="CASCADE"))
    # Urgent messages (an urgent alert, a lone-working check) are never held by quiet hours, are claimed first,
    # have a poll of their own every 2 seconds (scheduling/jobs.py, dispatch_urgent), and take the provider's next
    # token ahead of regular messages (api/sms/pacing.py).
    urgent: Mapped[bool] = mapped_column(default=False)
    state: Mapped[MessageState] = mapped_column(enum_column_type(MessageState, "message_state"))
    # Why it is in its state: "quiet hours", "too late: ...", "permanent error 21211" ...
    state_reason: Mapped[str | None] = mapped_column(String(200))
    send_after: Mapped[datetime]
    # Past this it is not sent at all (a check-in link that has expired, a session that has started).
    drop_after: Mapped[datetime]
    attempts: Mapped[int] = mapped_column(default=0)
    # The dispatcher's claim: who holds it and since when (a stale claim is reconciled, never resent blindly).
    claim_id: Mapped[uuid.UUID | None]
    claimed_at: Mapped[datetime | None]
    # Which process claimed it: once a scheduler holds the lock, every other process's claim is a dead one, and is
    # reconciled at once rather than after the lease (api/sms/reconcile.py, recover_dead_claims).
    claimed_by: Mapped[uuid.UUID | None]
    provider_id: Mapped[str | None] = mapped_column(String(64), unique=True)
    provider_status: Mapped[str | None] = mapped_column(String(32))
    error_code: Mapped[int | None]
    # When it was last handed to the provider: reconciliation looks for it from then on.
    attempted_at: Mapped[datetime | None]
    # HMAC of the number and text last handed over: reconciliation makes them again, and if they no longer match
    # (a name corrected since), it cannot tell whether that send went, so it does not send again.
    body_digest: Mapped[str | None] = mapped_column(String(64))
    sent_at: Mapped[datetime | None]
    # The id of the request that queued it (none if a scheduler job did): the dispatcher logs it with the send, so a
    # request can be followed from its access line to its SMS (api/logs.py).
    request_id: Mapped[str | None] = mapped_column(String(128))
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]


# The dispatcher's query: due messages by state and time.
Index("ix_outbound_message_state_send_after", OutboundMessage.state, OutboundMessage.send_after)
Index(
    "ix_outbound_message_urgent_due",
    OutboundMessage.send_after,
    postgresql_where=text("urgent AND state = 'queued'"),
    sqlite_where=text("urgent AND state = 'queued'"),
)
Index("ix_outbound_message_check_in_invitation_id", OutboundMessage.check_in_invitation_id)
Index(
    "ix_outbound_message_session_id_pending",
    OutboundMessage.session_id,
    postgresql_where=text("session_id IS NOT NULL"),
    sqlite_where=text("session_id IS NOT NULL"),
)


class MessageEvent(Base):
    """The message's ledger: every state it passed through and why, oldest first."""

    __tablename__ = "outbound_message_event"

    id: Mapped[int] = mapped_column(BIG_ID, primary_key=True, autoincrement=True)
    message_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("outbound_message.id", ondelete="CASCADE"))
    occurred_at: Mapped[datetime]
    state: Mapped[MessageState] = mapped_column(enum_column_type(MessageState, "message_event_state"))
    detail: Mapped[str | None] = mapped_column(Text)


Index("ix_outbound_message_event_message_id", MessageEvent.message_id)
