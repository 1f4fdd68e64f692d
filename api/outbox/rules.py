"""The SMS outbox: every message is a row written in the same transaction as what caused it.

From docs/design.md, docs/domain.md ("SMS to children: safeguarding", "Twilio behaviour") and issue 5:

- Nothing is sent inside a request. A message is queued with a key naming what it is for, so the same
  message can never be queued twice; the scheduler's dispatcher sends it later. Its text is made from its
  template when it is sent, from the records as they are then, so no link token is stored in the outbox.
- A message moves forward only: queued -> sending (claimed by one dispatcher) -> sent (the provider took it)
  -> delivered / undelivered / failed (status callbacks). Held messages stay queued with a later send time;
  dropped and cancelled messages are never sent. A send whose outcome is unknown (timeout, 5xx, a dispatcher
  that died after claiming) is looked up at the provider before anything is sent again.
- Quiet hours per recipient type, in local time (children and carers: nothing between 21:00 and 08:00 by
  default). A held message goes when the window opens unless it would then arrive after its session started:
  then it is dropped with that reason, not sent late.
- 429 / 20429 is retried with exponential backoff and jitter; permanent errors (21211, 21610, 21614 ...) are
  never retried; attempts are capped and the last state is kept.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import UTC, datetime, time, timedelta
from enum import StrEnum
from zoneinfo import ZoneInfo


class MessagePurpose(StrEnum):
    CHECK_IN_LINK = "check_in_link"
    SESSION_REMINDER = "session_reminder"


class RecipientType(StrEnum):
    CHILD = "child"
    CARER = "carer"
    MENTOR = "mentor"


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

# Twilio's message statuses, as they arrive in status callbacks, mapped onto ours.
PROVIDER_STATUS = {
    "accepted": MessageState.SENT,
    "queued": MessageState.SENT,
    "sending": MessageState.SENT,
    "sent": MessageState.SENT,
    "delivered": MessageState.DELIVERED,
    "undelivered": MessageState.UNDELIVERED,
    "failed": MessageState.FAILED,
}

# Delivery failures reported by status callback that mean the number itself is wrong for SMS: 30005 unknown
# destination handset, 30006 landline or unreachable carrier. (30003 and 30004 can be temporary or personal.)
UNREACHABLE_NUMBER_ERRORS = frozenset({30005, 30006})

MAX_ATTEMPTS = 5
RETRY_BASE_SECONDS = 30
RETRY_CAP_SECONDS = 30 * 60
# A claim older than this belongs to a dispatcher that died: its message is reconciled, not resent blindly.
CLAIM_LEASE = timedelta(minutes=5)
# How long to wait before looking up a send whose outcome is unknown (the provider may still be writing it).
RECONCILE_AFTER = timedelta(minutes=2)


def can_move(current: MessageState, new: MessageState) -> bool:
    """Forward only: a repeated or out-of-order callback never moves a message back."""
    return STATE_RANK[new] > STATE_RANK[current]


def retry_delay(attempts: int, *, rng: random.Random | None = None) -> timedelta:
    """Exponential backoff with full jitter after `attempts` tries (1 = the first try failed)."""
    ceiling = min(RETRY_CAP_SECONDS, RETRY_BASE_SECONDS * 2 ** max(attempts - 1, 0))
    return timedelta(seconds=(rng or random).uniform(ceiling / 2, ceiling))


@dataclass(frozen=True)
class QuietHours:
    """No messages from `start` until `end` local time (the window may cross midnight)."""

    start: time
    end: time

    def contains(self, moment: time) -> bool:
        if self.start <= self.end:
            return self.start <= moment < self.end
        return moment >= self.start or moment < self.end


def parse_quiet_hours(settings: dict[str, str | None]) -> dict[RecipientType, QuietHours | None]:
    """{"child": "21:00-08:00", ...} as configured; a type left out or set to ""/null has no quiet hours."""
    parsed: dict[RecipientType, QuietHours | None] = {}
    for name, window in settings.items():
        recipient = RecipientType(name)  # ValueError names an unknown recipient type
        if not window:
            parsed[recipient] = None
            continue
        start, _, end = window.partition("-")
        parsed[recipient] = QuietHours(time.fromisoformat(start.strip()), time.fromisoformat(end.strip()))
    return parsed


DEFAULT_QUIET_HOURS = {
    RecipientType.CHILD: QuietHours(time(21, 0), time(8, 0)),
    RecipientType.CARER: QuietHours(time(21, 0), time(8, 0)),
    RecipientType.MENTOR: QuietHours(time(22, 0), time(7, 0)),
}


def next_allowed(at: datetime, quiet: QuietHours | None, zone: ZoneInfo) -> datetime:
    """`at` itself when outside quiet hours, else the moment the window opens (wall-clock time in `zone`)."""
    local = at.astimezone(zone)
    if quiet is None or not quiet.contains(local.time().replace(tzinfo=None)):
        return at
    opens_on = local.date() if local.time().replace(tzinfo=None) < quiet.end else local.date() + timedelta(days=1)
    # Combined in the zone, so a BST/GMT change in between is zoneinfo's business, not arithmetic on hours.
    return datetime.combine(opens_on, quiet.end, tzinfo=zone).astimezone(at.tzinfo)


class Verdict(StrEnum):
    SEND = "send"
    HOLD = "hold"
    DROP = "drop"


@dataclass(frozen=True)
class Decision:
    verdict: Verdict
    reason: str = ""
    hold_until: datetime | None = None


def decide(
    *,
    now: datetime,
    drop_after: datetime,
    quiet: QuietHours | None,
    zone: ZoneInfo,
    blocked_reason: str | None,
) -> Decision:
    """Send now, hold until quiet hours end, or drop (too late, or something blocks it)."""
    if blocked_reason:
        return Decision(Verdict.DROP, blocked_reason)
    if now >= drop_after:
        return Decision(Verdict.DROP, "too late: its moment has passed")
    allowed = next_allowed(now, quiet, zone)
    if allowed == now:
        return Decision(Verdict.SEND)
    if allowed >= drop_after:
        return Decision(Verdict.DROP, "quiet hours last until after it would be useful")
    return Decision(Verdict.HOLD, "quiet hours", allowed)


# --- Session reminders ---------------------------------------------------------------------------------------


@dataclass(frozen=True)
class ReminderTime:
    lead: str  # names the reminder ("day_before", "2h_before") in its unique key
    send_at: datetime


# A programme's defaults (each programme can change them or switch either off).
DAY_BEFORE_AT = time(17, 0)
HOURS_BEFORE = 2


def reminder_times(
    planned_start_at: datetime,
    zone: ZoneInfo,
    *,
    now: datetime | None,
    day_before_at: time | None = DAY_BEFORE_AT,
    hours_before: int | None = HOURS_BEFORE,
) -> list[ReminderTime]:
    """The day before at `day_before_at` local, and `hours_before` hours before (None: not sent); with `now`,
    only those still ahead of it."""
    local_start = planned_start_at.astimezone(zone)
    day_before = (local_start - timedelta(days=1)).date()
    times = []
    if day_before_at is not None:
        evening_before = datetime.combine(day_before, day_before_at, tzinfo=zone).astimezone(planned_start_at.tzinfo)
        times.append(ReminderTime("day_before", evening_before))
    if hours_before is not None:
        times.append(ReminderTime(f"{hours_before}h_before", planned_start_at - timedelta(hours=hours_before)))
    return [
        reminder
        for reminder in times
        if (now is None or reminder.send_at > now) and reminder.send_at < planned_start_at
    ]


def check_in_link_key(invitation_id: object) -> str:
    return f"check_in_link:{invitation_id}"


def reminder_key(session_id: object, recipient: str, lead: str, planned_start_at: datetime) -> str:
    """One reminder per session, recipient, lead time and start time: a moved session gets new ones."""
    # In UTC, so the key does not depend on the offset the start time happened to be written with.
    return f"reminder:{session_id}:{recipient}:{lead}:{planned_start_at.astimezone(UTC).strftime('%Y%m%dT%H%MZ')}"
