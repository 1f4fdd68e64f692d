"""Pacing SMS sends to what the provider allows each sender, urgent messages first (issue 20).

One SendPacer per scheduler process, shared by the regular drain and the urgent poll (scheduling/jobs.py: both
jobs take it from the same DispatchSettings). The scheduler holds an advisory lock (scheduling/lock.py), so only
one process dispatches at a time, and this per-process pacer is the whole of the pacing: a second process that
dispatched would need a pacer of its own share of the rate.

Each sender identity (the Twilio from number or Messaging Service SID: TwilioSender.identity) has its own token
bucket (api/sms/rules.py, TokenBucket), so two senders never share one. `acquire` blocks until the sender's
bucket has a token; while an urgent send waits for a token, no regular send takes one, so an urgent alert goes
at the next token whatever backlog the regular drain has.

The clock (a monotonic one, in seconds) and the sleep are injectable, so tests drive the pacer with a fake clock
and never sleep for real. This is physical pacing, not domain time: it never reads the application's Clock,
which tests stand still.
"""

from __future__ import annotations

import threading
import time
from collections import defaultdict
from collections.abc import Callable

from api.sms.rules import SendRate, TokenBucket

# A regular send that stands aside for an urgent one looks again after this long at most.
STAND_ASIDE_SECONDS = 0.05


class SendPacer:
    """Token buckets per sender identity, thread-safe, urgent sends first."""

    def __init__(
        self,
        rate: SendRate,
        *,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.rate = rate
        self._clock = clock
        self._sleep = sleep
        self._lock = threading.Lock()
        self._buckets: dict[str, TokenBucket] = {}
        self._urgent_waiting: defaultdict[str, int] = defaultdict(int)

    def acquire(self, sender: str, *, urgent: bool = False) -> None:
        """Wait until `sender` may send one more message, and take that place. Urgent callers go first."""
        if urgent:
            with self._lock:
                self._urgent_waiting[sender] += 1
        try:
            while True:
                wait = self._try_take(sender, urgent=urgent)
                if wait is None:
                    return
                self._sleep(wait)
        finally:
            if urgent:
                with self._lock:
                    self._urgent_waiting[sender] -= 1

    def _try_take(self, sender: str, *, urgent: bool) -> float | None:
        """None when a token was taken, else how long to wait before trying again."""
        with self._lock:
            now = self._clock()
            bucket = self._buckets.get(sender) or TokenBucket.full(self.rate, now)
            if not urgent and self._urgent_waiting[sender]:
                self._buckets[sender] = bucket.refilled(now)
                return min(STAND_ASIDE_SECONDS, 1 / self.rate.per_second)
            self._buckets[sender], wait = bucket.take(now)
            return wait if wait > 0 else None

    def urgent_waiting(self, sender: str) -> int:
        """How many urgent sends are waiting for `sender`'s next token (tests watch it)."""
        with self._lock:
            return self._urgent_waiting[sender]
