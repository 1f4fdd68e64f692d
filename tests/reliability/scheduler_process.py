"""The scheduler, in a process of its own, for tests/reliability/test_scheduler_sigterm.py to stop with SIGTERM.

    python -m tests.reliability.scheduler_process DATABASE_URL SMS_FILE GATE_FILE NOW

It runs scheduling.runner.run, the very function `python -m scheduling` runs (signal handling, job table, lock),
with three test-only differences: the clock stands still at NOW (an ISO datetime, outside quiet hours), the job
context is built here rather than from REACHABLE_* variables, and the SMS provider is the development sender
(every message it takes is a line in SMS_FILE, which outlives the process) behind a gate: its first send prints
"provider blocked" and waits until GATE_FILE exists, so the test decides when the claimed batch may go on.
Log lines go to stdout, where the test reads them.
"""

from __future__ import annotations

import logging
import sys
import time
from datetime import datetime
from pathlib import Path

from api.clock import FixedClock
from api.db import Database
from api.sms.dispatch import DispatchSettings
from api.wellbeing.instruments import SHIPPED_INSTRUMENTS, load_instruments
from notifications.dev_sender import RecordingSmsSender
from notifications.port import OutgoingSms, ProviderMessage, SendResult
from scheduling import runner
from scheduling.jobs import JobContext
from tests.conftest import SECRET_KEY

PUBLIC_BASE_URL = "https://checkin.example.org"
# Only a guard against hanging forever if the test dies: the test opens the gate long before this.
GATE_PATIENCE_SECONDS = 120


class GatedProvider:
    """The file-backed provider; its first send waits for the gate (a provider slow to answer)."""

    def __init__(self, recorder: RecordingSmsSender, gate: Path) -> None:
        self.recorder = recorder
        self.gate = gate
        self.waited = False

    def send(self, sms: OutgoingSms) -> SendResult:
        if not self.waited:
            self.waited = True
            print("provider blocked", flush=True)
            deadline = time.monotonic() + GATE_PATIENCE_SECONDS
            while not self.gate.exists():
                if time.monotonic() > deadline:
                    raise TimeoutError("the test never opened the gate")
                time.sleep(0.01)
        return self.recorder.send(sms)

    def find_sent(self, *, to: str, body: str, since: datetime) -> ProviderMessage | None:
        return self.recorder.find_sent(to=to, body=body, since=since)


def main() -> None:
    database_url, sms_file, gate_file, now = sys.argv[1:5]
    logging.basicConfig(level=logging.INFO, stream=sys.stdout, format="%(asctime)s %(levelname)s %(name)s %(message)s")
    clock = FixedClock(datetime.fromisoformat(now))
    provider = GatedProvider(RecordingSmsSender(Path(sms_file), now=clock.now), Path(gate_file))
    dispatch = DispatchSettings(
        sender=provider, secret_key=SECRET_KEY, public_base_url=PUBLIC_BASE_URL, status_callback_url=None
    )
    instruments = load_instruments(SHIPPED_INSTRUMENTS, licensed_wording_file=None)
    database = Database(database_url)
    runner.run(database, JobContext(database.session_factory, clock, SECRET_KEY, instruments, dispatch))
    print("exited cleanly", flush=True)


if __name__ == "__main__":
    main()
