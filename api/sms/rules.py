"""Sending SMS from the outbox: when a message may go, how failures are retried, and what replies mean.

From docs/domain.md ("SMS to children: safeguarding", "Twilio behaviour") and issue 5 (the queue itself and its
states are api/outbox/rules.py):

- Quiet hours per recipient type, in local time (children and carers: nothing between 21:00 and 08:00 by
  default). A held message goes when the window opens unless it would then arrive after its session started:
  then it is dropped with that reason, not sent late.
- 429 / 20429 is retried with exponential backoff and jitter; permanent errors (21211, 21610, 21614 ...) are
  never retried; attempts are capped and the last state is kept.
- A reply whose first word is STOP (or UNSUBSCRIBE, CANCEL ...) withdraws SMS consent; only START or UNSTOP
  restores it.
- Sends are paced per sender (a from number or a Messaging Service) by a token bucket: the provider allows a
  sender so many messages a second (about 10 for a UK long code, more for a Messaging Service with several
  numbers), and a burst of due messages is sent at that rate rather than refused with 429s (issue 20).
"""

from __future__ import annotations

import math
import random
from dataclasses import dataclass, replace
from datetime import datetime, time, timedelta
from enum import StrEnum
from zoneinfo import ZoneInfo

from api.outbox.rules import MessageState, RecipientType

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


STOP_WORDS = frozenset({"STOP", "STOPALL", "UNSUBSCRIBE", "CANCEL", "END", "QUIT", "OPTOUT", "REVOKE"})
# Only words that clearly ask to start again: a child's "yes" to something else must not restore SMS.
START_WORDS = frozenset({"START", "UNSTOP"})
HELP_WORDS = frozenset({"HELP", "INFO"})


def reply_keyword(body: str) -> str | None:
    """What a reply asks: "stop", "start", "help", or None (anything else is left to a person)."""
    # The first word, without punctuation: "Stop!" and "STOP." mean STOP; "please stop" is left to a person.
    keyword = "".join(ch for ch in body.strip().split()[0] if ch.isalnum()).upper() if body.strip() else ""
    if keyword in STOP_WORDS:
        return "stop"
    if keyword in START_WORDS:
        return "start"
    if keyword in HELP_WORDS:
        return "help"
    return None


# --- Pacing sends per sender (issue 20) -----------------------------------------------------------------------


@dataclass(frozen=True)
class SendRate:
    """What a provider allows one sender: `per_second` messages a second on average, and at most `burst` at once
    (after a quiet spell the bucket is full, and that many may go back to back)."""

    per_second: float
    burst: int

    def __post_init__(self) -> None:
        if not (math.isfinite(self.per_second) and self.per_second > 0):
            raise ValueError("the SMS rate must be a positive number of messages a second")
        if isinstance(self.burst, bool) or not isinstance(self.burst, int) or self.burst < 1:
            raise ValueError("the SMS burst must be a whole number of messages, at least 1")


_TOKEN_ROUNDING = 1e-9


@dataclass(frozen=True)
class TokenBucket:
    """A token bucket, as plain values: `tokens` were in the bucket at `at` (seconds on a monotonic clock, whose
    reading the caller passes in: nothing here reads a clock or sleeps). Tokens flow in at the rate, up to the
    burst; each send takes one. So over any span of t seconds at most burst + rate * t sends are let through."""

    rate: SendRate
    tokens: float
    at: float

    @classmethod
    def full(cls, rate: SendRate, now: float) -> TokenBucket:
        return cls(rate, float(rate.burst), now)

    def refilled(self, now: float) -> TokenBucket:
        """The bucket as it is at `now` (a clock that seems to go back adds nothing)."""
        if now <= self.at:
            return self
        return replace(self, tokens=min(float(self.rate.burst), self.tokens + (now - self.at) * self.rate.per_second),
                       at=now)  # fmt: skip

    def take(self, now: float) -> tuple[TokenBucket, float]:
        """Take one token at `now`: (the bucket after, 0.0) when there was one, else (the bucket unchanged but
        refilled, the seconds until there will be one)."""
        bucket = self.refilled(now)
        if bucket.tokens >= 1 - _TOKEN_ROUNDING:  # a token that float arithmetic left a hair short is a token
            return replace(bucket, tokens=max(0.0, bucket.tokens - 1)), 0.0
        return bucket, (1 - bucket.tokens) / self.rate.per_second
