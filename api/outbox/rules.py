"""The SMS outbox: every message is a row written in the same transaction as what caused it.

From docs/design.md, docs/domain.md ("SMS to children: safeguarding", "Twilio behaviour") and issue 5:

- Nothing is sent inside a request. A message is queued with a key naming what it is for, so the same
  message can never be queued twice; the scheduler's dispatcher sends it later (api/sms). Its text is made from
  its template when it is sent, from the records as they are then, so no link token is stored in the outbox.
- A message moves forward only: queued -> sending (claimed by one dispatcher) -> sent (the provider took it)
  -> delivered / undelivered / failed (status callbacks). Held messages stay queued with a later send time;
  dropped and cancelled messages are never sent. A send whose outcome is unknown (timeout, 5xx, a dispatcher
  that died after claiming) is looked up at the provider before anything is sent again.
"""

from __future__ import annotations

from enum import StrEnum


class MessagePurpose(StrEnum):
    CHECK_IN_LINK = "check_in_link"
    SESSION_REMINDER = "session_reminder"
    ALERT = "alert"  # to a coordinator: an alert needs them (api/alerts)
    LONE_WORKING_CHECK = "lone_working_check"  # to a mentor: check in after a session, to say they are safe


class RecipientType(StrEnum):
    CHILD = "child"
    CARER = "carer"
    MENTOR = "mentor"
    COORDINATOR = "coordinator"  # the duty coordinator, the fallback, or every coordinator when it escalates


class MessageState(StrEnum):
    QUEUED = "queued"  # waiting for its send time (held messages too, with a later one)
    SENDING = "sending"  # claimed by one dispatcher, which is sending it now
    UNKNOWN = "unknown"  # the send's outcome is unknown: look it up at the provider before any resend
    SENT = "sent"  # the provider accepted it
    DELIVERED = "delivered"
    UNDELIVERED = "undelivered"
    FAILED = "failed"  # the provider refused it, or it reported failure, or attempts ran out
    DROPPED = "dropped"  # not sent: too late, no consent, opted out, session gone ...
    CANCELLED = "cancelled"  # not sent: what it was about changed (a session moved or cancelled)


# The order states can move in. Callbacks and reconciliation only ever move a message to a later rank.
STATE_RANK = {
    MessageState.QUEUED: 0,
    MessageState.SENDING: 1,
    MessageState.UNKNOWN: 2,
    MessageState.SENT: 3,
    MessageState.DELIVERED: 4,
    MessageState.UNDELIVERED: 4,
    MessageState.FAILED: 4,
    MessageState.DROPPED: 4,
    MessageState.CANCELLED: 4,
}
FINAL_STATES = frozenset(state for state, rank in STATE_RANK.items() if rank == 4)
PENDING_STATES = frozenset({MessageState.QUEUED, MessageState.SENDING, MessageState.UNKNOWN})


def can_move(current: MessageState, new: MessageState) -> bool:
    """Forward only: a repeated or out-of-order callback never moves a message back."""
    return STATE_RANK[new] > STATE_RANK[current]


def check_in_link_key(invitation_id: object) -> str:
    return f"check_in_link:{invitation_id}"
