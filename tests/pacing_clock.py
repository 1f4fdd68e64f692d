"""A monotonic clock for the SMS pacer (api/sms/pacing.py) that moves only when told, so pacing is tested in logical
time: no test sleeps for real or measures the machine's speed.

- `sleep_advancing`: a caller's sleep moves time on by what it asked (a drain paced against the fake runs at once,
  and its sends are stamped with the logical moments the pacer let them go);
- `sleep_blocking`: a caller's sleep waits until the test moves time past its end (`advance`), so a test decides
  exactly when a token comes and who is waiting for it.
"""

from __future__ import annotations

import threading

# Only a guard against a test hanging forever: every wait here ends long before it when the code is right.
PATIENCE_SECONDS = 30.0


class FakeMonotonic:
    def __init__(self, start: float = 1000.0) -> None:
        self._now = start
        self._changed = threading.Condition()
        self.sleepers = 0

    def now(self) -> float:
        with self._changed:
            return self._now

    def advance(self, seconds: float) -> None:
        with self._changed:
            self._now += seconds
            self._changed.notify_all()

    def sleep_advancing(self, seconds: float) -> None:
        self.advance(seconds)

    def sleep_blocking(self, seconds: float) -> None:
        with self._changed:
            until = self._now + seconds
            self.sleepers += 1
            self._changed.notify_all()
            try:
                if not self._changed.wait_for(lambda: self._now >= until, PATIENCE_SECONDS):
                    raise TimeoutError("the test never moved the clock on")
            finally:
                self.sleepers -= 1
                self._changed.notify_all()

    def wait_for_sleepers(self, count: int) -> None:
        with self._changed:
            if not self._changed.wait_for(lambda: self.sleepers >= count, PATIENCE_SECONDS):
                raise TimeoutError(f"{count} sleepers never came (there are {self.sleepers})")
