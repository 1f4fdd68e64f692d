"""The SMS port: what the outbox dispatcher needs from an SMS provider, and nothing of any provider's own API.

Twilio has no idempotency key for creating a message (docs/domain.md, "Twilio behaviour"), so a send can end in one of
four ways, and only one of them leaves the dispatcher in doubt: UNKNOWN (a timeout, a dropped connection or a
5xx) may or may not have sent the SMS. The dispatcher must not resend after UNKNOWN until `find_sent` has
looked the message up and found nothing; sending twice to a child's phone is the failure this port exists to
prevent. RETRY_LATER is the one outcome the provider promises was not processed.

Nothing here may carry a message body or a phone number into a log line: `SendResult.detail` and the text of
`ProviderLookupFailed` are written for logs and hold neither.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Protocol


class Outcome(StrEnum):
    ACCEPTED = "accepted"  # the provider took it; provider_id set
    RETRY_LATER = "retry_later"  # 429 / 20429: not processed, safe to retry (retry_after_seconds may be set)
    PERMANENT_FAILURE = "permanent"  # 21211, 21610, 21614, 21408, 21612 and other 4xx: never retry; error_code set
    UNKNOWN = "unknown"  # timeout, connection error, 5xx: may or may not have been sent


@dataclass(frozen=True)
class OutgoingSms:
    to: str  # E.164
    body: str
    status_callback_url: str | None


@dataclass(frozen=True)
class SendResult:
    outcome: Outcome
    provider_id: str | None = None
    provider_status: str | None = None
    error_code: int | None = None
    detail: str = ""  # short, never containing the body or the number
    retry_after_seconds: float | None = None


@dataclass(frozen=True)
class ProviderMessage:
    provider_id: str
    to: str
    body: str
    status: str
    created_at: datetime | None


class ProviderLookupFailed(Exception):
    """`find_sent` could not get an answer from the provider (timeout, 5xx, 429, bad credentials ...).

    This is not "not found": the outcome of the earlier send is still unknown, so do not resend; look again
    later. The message text is safe to log (no body, no number).
    """


class SmsSender(Protocol):
    def send(self, sms: OutgoingSms) -> SendResult: ...

    def find_sent(self, *, to: str, body: str, since: datetime) -> ProviderMessage | None:
        """Reconciliation: the message with this recipient and body created at or after `since`, if the provider
        has one. Raises ProviderLookupFailed when the provider cannot be asked. A naive `since` is read as UTC."""
        ...


# Twilio error codes after which the same message must never be retried (docs/domain.md, "Twilio behaviour"):
# 21211 invalid 'To' number, 21610 recipient replied STOP, 21614 'To' is not a mobile,
# 21408 permission to send to that region not enabled, 21612 cannot route between these numbers.
PERMANENT_ERROR_CODES = frozenset({21211, 21610, 21614, 21408, 21612})
# The recipient replied STOP: send nothing more to this number until they reply START.
OPT_OUT_ERROR_CODE = 21610
