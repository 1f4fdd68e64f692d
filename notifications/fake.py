"""An in-memory SmsSender for tests, whose answers can be planned one call at a time.

Each recipient has a queue of planned steps; a send to that number takes the next one, and an empty queue means
ACCEPT. The fake keeps apart what it *answered* from what it *really sent*, because the case the dispatcher must
get right is the one where they differ: UNKNOWN_BUT_SENT answers UNKNOWN yet delivers the message, and
`find_sent` then finds it, exactly as Twilio would after a timeout on a request it had processed.

    fake = FakeSmsSender()
    fake.script("+447700900001", [Step.UNKNOWN_BUT_SENT])        # first send: unknown, but it went
    fake.script("+447700900002", [Step.UNKNOWN_NOT_SENT, Step.ACCEPT])
    fake.script("+447700900003", [Step.RETRY_LATER, Step.OPTED_OUT])
    fake.script("+447700900004", [permanent_failure(21614)])      # any SendResult can be a step
    ...
    assert fake.count_sent(to="+447700900001") == 1               # never twice
"""

from __future__ import annotations

import threading
from collections import defaultdict, deque
from collections.abc import Callable, Iterable
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from enum import StrEnum

from notifications.port import (
    OPT_OUT_ERROR_CODE,
    Outcome,
    OutgoingSms,
    ProviderLookupFailed,
    ProviderMessage,
    SendResult,
    SmsSender,
)


class Step(StrEnum):
    ACCEPT = "accept"  # sent; ACCEPTED with a provider id
    UNKNOWN_BUT_SENT = "unknown_but_sent"  # sent, but the answer was lost: UNKNOWN
    UNKNOWN_NOT_SENT = "unknown_not_sent"  # never reached the provider: UNKNOWN, nothing sent
    RETRY_LATER = "retry_later"  # rate limited (429 / 20429): RETRY_LATER, nothing sent
    OPTED_OUT = "opted_out"  # the recipient replied STOP: PERMANENT_FAILURE 21610, nothing sent


def permanent_failure(code: int) -> SendResult:
    """A step for any other permanent failure, for example 21211 (invalid number) or 21614 (not a mobile)."""
    return SendResult(outcome=Outcome.PERMANENT_FAILURE, error_code=code, detail=f"fake: provider error {code}")


@dataclass(frozen=True)
class SentSms:
    """A message the fake really sent (whatever it answered)."""

    provider_id: str
    sms: OutgoingSms
    created_at: datetime
    status: str = "queued"


def _utc(moment: datetime) -> datetime:
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


class FakeSmsSender(SmsSender):
    """Thread-safe: the dispatcher's concurrency tests may send from several threads at once."""

    def __init__(self, *, now: Callable[[], datetime] | None = None, retry_after_seconds: float | None = 30.0):
        self._now = now or (lambda: datetime.now(UTC))
        self._retry_after_seconds = retry_after_seconds
        self._lock = threading.Lock()
        self._plans: defaultdict[str, deque[Step | SendResult]] = defaultdict(deque)
        self._lookup_failures: defaultdict[str, int] = defaultdict(int)
        self._attempts: list[OutgoingSms] = []
        self._sent: list[SentSms] = []
        self._lookups: list[tuple[str, str, datetime]] = []

    # Planning

    def script(self, to: str, steps: Iterable[Step | SendResult]) -> None:
        """Queue what the next sends to `to` do, in order (after any steps already queued for it)."""
        with self._lock:
            self._plans[to].extend(steps)

    def fail_lookups(self, to: str, times: int = 1) -> None:
        """Make the next `times` calls of find_sent for `to` raise ProviderLookupFailed."""
        with self._lock:
            self._lookup_failures[to] += times

    def report_status(self, provider_id: str, status: str) -> None:
        """The status the provider now holds for a message it sent (delivered, say), as find_sent reports it."""
        with self._lock:
            self._sent = [
                replace(sent, status=status) if sent.provider_id == provider_id else sent for sent in self._sent
            ]

    # SmsSender

    def send(self, sms: OutgoingSms) -> SendResult:
        with self._lock:
            self._attempts.append(sms)
            plan = self._plans[sms.to]
            step: Step | SendResult = plan.popleft() if plan else Step.ACCEPT
            if isinstance(step, SendResult):
                if step.outcome is not Outcome.ACCEPTED:
                    return step
                sent = self._record(sms)
                return replace(step, provider_id=step.provider_id or sent.provider_id)
            if step is Step.ACCEPT:
                sent = self._record(sms)
                return SendResult(outcome=Outcome.ACCEPTED, provider_id=sent.provider_id, provider_status=sent.status)
            if step is Step.UNKNOWN_BUT_SENT:
                self._record(sms)
                return SendResult(outcome=Outcome.UNKNOWN, detail="fake: sent, but the answer was lost")
            if step is Step.UNKNOWN_NOT_SENT:
                return SendResult(outcome=Outcome.UNKNOWN, detail="fake: the request never reached the provider")
            if step is Step.RETRY_LATER:
                return SendResult(
                    outcome=Outcome.RETRY_LATER,
                    error_code=20429,
                    detail="fake: rate limited",
                    retry_after_seconds=self._retry_after_seconds,
                )
            return permanent_failure(OPT_OUT_ERROR_CODE)

    def find_sent(self, *, to: str, body: str, since: datetime) -> ProviderMessage | None:
        since = _utc(since)
        with self._lock:
            self._lookups.append((to, body, since))
            if self._lookup_failures[to] > 0:
                self._lookup_failures[to] -= 1
                raise ProviderLookupFailed("fake: the provider could not be asked")
            for sent in self._sent:
                if sent.sms.to == to and sent.sms.body == body and sent.created_at >= since:
                    return ProviderMessage(
                        provider_id=sent.provider_id,
                        to=sent.sms.to,
                        body=sent.sms.body,
                        status=sent.status,
                        created_at=sent.created_at,
                    )
        return None

    # What happened, for assertions

    @property
    def attempts(self) -> list[OutgoingSms]:
        """Every call to send, in order, whatever its outcome."""
        with self._lock:
            return list(self._attempts)

    @property
    def sent(self) -> list[SentSms]:
        """Every message really sent, in order (ACCEPT and UNKNOWN_BUT_SENT steps)."""
        with self._lock:
            return list(self._sent)

    @property
    def lookups(self) -> list[tuple[str, str, datetime]]:
        """Every call to find_sent as (to, body, since in UTC), in order."""
        with self._lock:
            return list(self._lookups)

    def count_sent(self, *, to: str | None = None, body: str | None = None) -> int:
        """How many messages really went, to this number and/or with this body."""
        with self._lock:
            return sum(
                1
                for sent in self._sent
                if (to is None or sent.sms.to == to) and (body is None or sent.sms.body == body)
            )

    def steps_left(self, to: str) -> int:
        """Planned steps not yet used for `to` (so a test can check its script was played out)."""
        with self._lock:
            return len(self._plans[to])

    def _record(self, sms: OutgoingSms) -> SentSms:
        sent = SentSms(provider_id=f"SM{len(self._sent) + 1:032x}", sms=sms, created_at=_utc(self._now()))
        self._sent.append(sent)
        return sent
