"""A dispatcher in a process of its own, for tests/concurrency/test_sms_races.py to kill with SIGKILL.

    python -m tests.concurrency.outbox_dispatcher_process DATABASE_URL SMS_FILE NOW [--die-at POINT] [--until-idle]

It does what the scheduler's dispatch_outbox and reconcile_messages jobs do, over and over: reconcile, then
dispatch a small batch. Its clock stands still at NOW (an ISO datetime), so the test decides how much time
passes between one run and the next (a restart after the claim lease has passed). The provider is
notifications.dev_sender.RecordingSmsSender: every message it takes is a line in SMS_FILE, which outlives the
process, so the file is what the children's phones received.

It prints "ready" once connected, just before it starts work, so the test can time its kill from there.

- `--die-at POINT` makes the process kill itself with SIGKILL at one exact point, the first time it gets there:
  `claimed` (a batch claimed, nothing prepared), `before-send` (a message prepared, so its attempt is noted,
  and not yet handed to the provider), `after-send` (handed to the provider, its outcome not recorded),
  `reconciling` (stale claims taken over by reconcile, none settled yet).
- `--until-idle` stops (exit 0) once no message is queued, being sent or in doubt; without it the process
  works until it is killed, idling when there is nothing to do.
"""

from __future__ import annotations

import argparse
import os
import signal
import sys
import time
from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import Any

from sqlalchemy import func, select

from api.clock import FixedClock
from api.db import Database
from api.outbox import rules
from api.outbox.models import OutboundMessage
from api.sms import dispatch as sms_dispatch
from api.sms import reconcile as sms_reconcile
from notifications.dev_sender import RecordingSmsSender
from notifications.port import OutgoingSms, ProviderMessage, SendResult

DIE_POINTS = ("claimed", "before-send", "after-send", "reconciling")
BATCH = 2
# A real provider takes a while to answer: the request's way there, and the answer's way back. These widen the
# moments a kill can land in (attempt noted, not yet sent; sent, not yet recorded) as Twilio's latency does.
LATENCY_SECONDS = 0.01
IDLE_SECONDS = 0.02
MAX_ROUNDS_UNTIL_IDLE = 200


def die() -> None:
    sys.stdout.flush()
    os.kill(os.getpid(), signal.SIGKILL)


class SlowProvider:
    """The file-backed provider behind a little latency, dying at the chosen point of the first send."""

    def __init__(self, recorder: RecordingSmsSender, die_at: str | None) -> None:
        self.recorder = recorder
        self.die_at = die_at

    def send(self, sms: OutgoingSms) -> SendResult:
        if self.die_at == "before-send":
            die()
        time.sleep(LATENCY_SECONDS)
        result = self.recorder.send(sms)
        if self.die_at == "after-send":
            die()
        time.sleep(LATENCY_SECONDS)
        return result

    def find_sent(self, *, to: str, body: str, since: datetime) -> ProviderMessage | None:
        return self.recorder.find_sent(to=to, body=body, since=since)


def dying_after(function: Callable[..., Any]) -> Callable[..., Any]:
    def run(*args: Any, **kwargs: Any) -> Any:
        result = function(*args, **kwargs)
        die()
        return result

    return run


def dying_before(function: Callable[..., Any]) -> Callable[..., Any]:
    def run(*args: Any, **kwargs: Any) -> Any:
        die()
        return function(*args, **kwargs)

    return run


def pending(database: Database) -> int:
    with database.session() as db_session:
        return db_session.scalar(
            select(func.count()).select_from(OutboundMessage).where(OutboundMessage.state.in_(rules.PENDING_STATES))
        )


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("database_url")
    parser.add_argument("sms_file", type=Path)
    parser.add_argument("now", type=datetime.fromisoformat)
    parser.add_argument("--secret-key", required=True)
    parser.add_argument("--public-base-url", required=True)
    parser.add_argument("--die-at", choices=DIE_POINTS)
    parser.add_argument("--until-idle", action="store_true")
    arguments = parser.parse_args()

    clock = FixedClock(arguments.now)
    if arguments.die_at == "claimed":
        sms_dispatch.claim_due = dying_after(sms_dispatch.claim_due)
    if arguments.die_at == "reconciling":
        sms_reconcile._reconcile_one = dying_before(sms_reconcile._reconcile_one)
    # The provider stamps what it takes with the same clock, as Twilio's clock and ours agree (near enough).
    provider = SlowProvider(RecordingSmsSender(arguments.sms_file, now=clock.now), arguments.die_at)
    settings = sms_dispatch.DispatchSettings(
        sender=provider,
        secret_key=arguments.secret_key,
        public_base_url=arguments.public_base_url,
        status_callback_url=None,
    )
    database = Database(arguments.database_url)
    try:
        with database.session() as db_session:
            db_session.scalar(select(1))
        print("ready", flush=True)
        for _ in range(MAX_ROUNDS_UNTIL_IDLE) if arguments.until_idle else iter(int, 1):
            sms_reconcile.reconcile(database.session_factory, settings=settings, clock=clock.now)
            sms_dispatch.dispatch_due(database.session_factory, settings=settings, clock=clock.now, limit=BATCH)
            if pending(database) == 0:
                if arguments.until_idle:
                    print("idle", flush=True)
                    return 0
                time.sleep(IDLE_SECONDS)
        print(f"still {pending(database)} pending after {MAX_ROUNDS_UNTIL_IDLE} rounds", flush=True)
        return 3
    finally:
        database.dispose()


if __name__ == "__main__":
    sys.exit(main())
