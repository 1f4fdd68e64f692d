"""SMS burst bench: N messages due at once, drained by the real scheduler at a configured rate per sender, while
urgent alerts are raised at random moments (issue 20).

    .venv/bin/python bench/sms_burst.py [--rate 10] [--burst 10] [--send-threads 4] [--messages 1000] [--alerts 20]

It builds a throwaway PostgreSQL database (or `--database-url`, which must be empty), migrates it with Alembic and
fills it through the services, as bench/sms_dispatch.py does: one programme, N children each with a drama-range
mobile, consent and a place, and one check-in invitation each, all due at the same moment. The programme has a
duty rota (a coordinator and a fallback with work mobiles) for the alerts.

Then the real scheduler runs (scheduling.runner.build_scheduler: the job table, the system clock, without
invite_due_check_ins, which would queue a second link for every child at start-up): its
dispatch_outbox job drains the burst and dispatch_urgent polls for urgent messages, both through one SendPacer at
`--rate` messages a second (bucket `--burst`) for the one sender, `--send-threads` sends at once, with the real
TwilioSender against the stand-in for Twilio of bench/sms_dispatch.py (a process of its own that answers after
`--provider-delay-ms` and notes when each request arrived). Quiet hours are off, so the run does not depend on
the time of day. While the burst drains, one thread raises `--alerts` urgent safeguarding alerts at random
moments, each in its own transaction (api.alerts.service.raise_alert queues its SMS to the duty coordinator).

It prints the burst's wall time (due to the last of its messages arriving at the stand-in) against the target of
1.1 x N / rate, the sends per second overall and the most in any one-second window (the bucket allows rate +
burst), and the urgent alerts' lag (arrival at the stand-in minus the alert's commit) at p50/p90/p99/max against
the target of 10 s. Speed is measured, never asserted: it exits 1 only if a message was lost or sent twice.
"""

from __future__ import annotations

import argparse
import logging
import math
import random
import secrets
import sys
import time
import uuid
from collections import Counter
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from sqlalchemy import select

from api.accounts.models import AppUser
from api.actors import Role
from api.alerts import service as alerts_service
from api.alerts.rules import AlertKind
from api.clock import SystemClock
from api.config import DefaultConfig
from api.db import Database, transaction
from api.duty.models import DutyShift
from api.outbox.models import OutboundMessage
from api.outbox.rules import MessageState
from api.sms.dispatch import DispatchSettings
from api.sms.pacing import SendPacer
from api.sms.rules import SendRate
from api.wellbeing.instruments import SHIPPED_INSTRUMENTS, load_instruments
from bench.sms_dispatch import (
    AUTH_TOKEN,
    DEFAULT_POSTGRES_ADMIN_URL,
    DISPATCH_ACCOUNT_SID,
    MAX_MESSAGES,
    MESSAGING_SERVICE_SID,
    PUBLIC_BASE_URL,
    STATUS_CALLBACK_URL,
    Arrival,
    arrivals,
    create_children,
    exactly_once,
    fake_twilio,
    invite_all,
    pending,
    percentile,
    throwaway_database,
)
from notifications.twilio_adapter import TwilioSender
from scheduling.jobs import JobContext
from scheduling.runner import build_scheduler

URGENT_TARGET_SECONDS = 10.0
# Staff work mobiles: the children hold 07700 900000 upwards, so these take the top of the drama range. With
# --messages 1000 two children share a number with them; every text differs, so each message is still told apart.
DUTY_MOBILE, FALLBACK_MOBILE = "+447700900998", "+447700900999"


def add_duty_rota(database: Database, programme_id: uuid.UUID, now: datetime) -> None:
    """A duty coordinator and a fallback with work mobiles, on duty from an hour ago for a day."""
    with database.session() as db_session, transaction(db_session):
        people = [
            AppUser(
                email=f"bench-{label}-{secrets.token_hex(3)}@example.org",
                display_name=f"Bench {label.title()}",
                role=Role.COORDINATOR,
                programme_id=programme_id,
                password_hash="not-a-real-hash",
                mobile_e164=mobile,
                created_at=now,
            )
            for label, mobile in (("duty", DUTY_MOBILE), ("fallback", FALLBACK_MOBILE))
        ]
        db_session.add_all(people)
        db_session.flush()
        db_session.add(
            DutyShift(
                programme_id=programme_id,
                coordinator_user_id=people[0].id,
                fallback_user_id=people[1].id,
                starts_at=now - timedelta(hours=1),
                ends_at=now + timedelta(days=1),
                created_by_user_id=people[0].id,
                created_at=now,
                updated_at=now,
            )
        )


def raise_alerts(
    database: Database, programme_id: uuid.UUID, child_ids: Sequence[uuid.UUID], offsets: Sequence[float],
    started: float,
) -> dict[str, float]:  # fmt: skip
    """An urgent alert for each child, `offsets` seconds after `started` (monotonic); each one's commit, by code."""
    committed: dict[str, float] = {}
    for child_id, offset in zip(child_ids, offsets, strict=True):
        time.sleep(max(0.0, started + offset - time.monotonic()))
        with database.session() as db_session:
            with transaction(db_session):
                alert = alerts_service.raise_alert(
                    db_session, programme_id=programme_id, child_id=child_id, kind=AlertKind.SAFEGUARDING_CONCERN,
                    detail="Bench concern.", now=datetime.now(UTC),
                )  # fmt: skip
                code = alert.code
            committed[code] = time.time()
    return committed


def most_in_one_second(moments: Sequence[float]) -> int:
    ordered = sorted(moments)
    most, first = 0, 0
    for last, moment in enumerate(ordered):
        while moment - ordered[first] >= 1.0:
            first += 1
        most = max(most, last - first + 1)
    return most


def parse_arguments(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    parser.add_argument("--database-url", help="an empty database to use; default: a new PostgreSQL database")
    parser.add_argument("--postgres-admin-url", default=DEFAULT_POSTGRES_ADMIN_URL)
    parser.add_argument("--messages", type=int, default=1000, help=f"the burst, 1 to {MAX_MESSAGES}")
    parser.add_argument("--rate", type=float, default=float(DefaultConfig.SMS_RATE_PER_SECOND),
                        help="messages a second for the sender (REACHABLE_SMS_RATE_PER_SECOND)")  # fmt: skip
    parser.add_argument("--burst", type=int, default=None,
                        help="the bucket's burst (REACHABLE_SMS_RATE_BURST); default: one second's worth")  # fmt: skip
    parser.add_argument("--send-threads", type=int, default=DefaultConfig.SMS_SEND_THREADS,
                        help="sends at once (REACHABLE_SMS_SEND_THREADS)")  # fmt: skip
    parser.add_argument("--provider-delay-ms", type=float, default=100, help="the stand-in's delay per answer")
    parser.add_argument("--alerts", type=int, default=20, help="urgent alerts raised while the burst drains")
    parser.add_argument("--timeout", type=float, default=None,
                        help="give up this long after the burst fell due (default 3 x N / rate + 60)")  # fmt: skip
    arguments = parser.parse_args(argv)
    if not 1 <= arguments.messages <= MAX_MESSAGES:
        parser.error(f"--messages must be 1 to {MAX_MESSAGES} (one drama-range mobile per child)")
    if arguments.alerts > arguments.messages:
        parser.error("--alerts must be at most --messages (one alert per child)")
    if arguments.burst is None:
        arguments.burst = max(1, math.ceil(arguments.rate))
    return arguments


def main(argv: Sequence[str] | None = None) -> int:
    arguments = parse_arguments(argv)
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s [%(name)s] %(message)s")
    rate = SendRate(arguments.rate, arguments.burst)
    count = arguments.messages
    print(
        f"SMS burst bench: {count} messages due at once, {rate.per_second:g}/s (burst {rate.burst}) for one sender, "
        f"{arguments.send_threads} send threads, {arguments.alerts} urgent alerts meanwhile, fake Twilio answering "
        f"after {arguments.provider_delay_ms:g} ms"
    )
    secret_key = secrets.token_urlsafe(48)
    with (
        fake_twilio(arguments.provider_delay_ms / 1000) as base_url,
        throwaway_database(arguments.database_url, postgres_admin_url=arguments.postgres_admin_url, keep=False) as url,
    ):
        database = Database(url, pool_size=arguments.send_threads + 6)
        try:
            return measure(database, base_url=base_url, arguments=arguments, rate=rate, secret_key=secret_key)
        finally:
            database.dispose()


def measure(
    database: Database, *, base_url: str, arguments: argparse.Namespace, rate: SendRate, secret_key: str
) -> int:
    count = arguments.messages
    session_factory = database.session_factory
    print("creating invented data through the services:")
    data_started = time.perf_counter()
    actor, child_ids = create_children(session_factory, count=count, now=datetime.now(UTC))
    assert actor.programme_id is not None
    add_duty_rota(database, actor.programme_id, datetime.now(UTC))
    due = datetime.now(UTC) + timedelta(seconds=1 + 0.5 * (time.perf_counter() - data_started))
    invite_all(session_factory, actor=actor, child_ids=child_ids, secret_key=secret_key, due=due)
    print(f"  data created in {time.perf_counter() - data_started:.1f} s")
    if pending(session_factory) != count:
        print(f"FAILED: expected {count} queued messages, found {pending(session_factory)}")
        return 1

    # As the scheduler builds it (scheduling/runner.py): a kept-alive connection per sending thread and the urgent poll.
    sender = TwilioSender(
        DISPATCH_ACCOUNT_SID, AUTH_TOKEN, messaging_service_sid=MESSAGING_SERVICE_SID, api_base_url=base_url,
        connections=arguments.send_threads + 1,
    )  # fmt: skip
    context = JobContext(
        session_factory,
        SystemClock(),
        secret_key,
        load_instruments(SHIPPED_INSTRUMENTS, licensed_wording_file=None),
        DispatchSettings(
            sender=sender,
            secret_key=secret_key,
            public_base_url=PUBLIC_BASE_URL,
            status_callback_url=STATUS_CALLBACK_URL,
            quiet_hours={},
            pacer=SendPacer(rate),
            sender_identity=sender.identity,
            send_threads=arguments.send_threads,
        ),
    )
    ideal = count / rate.per_second
    target = 1.1 * ideal
    # The alerts fall over the first 80% of the drain's ideal length, so each one lands while the burst drains.
    alert_children = random.sample(list(child_ids), arguments.alerts)
    offsets = sorted(random.uniform(0, 0.8 * ideal) for _ in alert_children)
    wait = (due - datetime.now(UTC)).total_seconds()
    if wait > 0:
        time.sleep(wait)
    late = (datetime.now(UTC) - due).total_seconds()
    if late > 0.05:
        print(f"  note: the scheduler started {late:.2f} s after the messages fell due; the wall time includes it")
    timeout = arguments.timeout or 3 * ideal + 60
    print(f"draining with the scheduler (ideal {ideal:.0f} s, target {target:.0f} s) ...", flush=True)
    scheduler = build_scheduler(context)
    # The routine would invite every child to a check-in of their own at start-up: a second burst, not this one.
    scheduler.remove_job("invite_due_check_ins")
    scheduler.start()
    committed: dict[str, float] = {}
    try:
        committed = raise_alerts(database, actor.programme_id, alert_children, offsets, time.monotonic())
        deadline = due.timestamp() + timeout
        while time.time() < deadline:
            if pending(session_factory) == 0:
                break
            time.sleep(0.2)
        else:
            print(f"note: messages still queued or sending {timeout:.0f} s after they fell due")
    finally:
        context.stopping.set()
        scheduler.shutdown(wait=True)
        sender.close()

    received = arrivals(base_url, DISPATCH_ACCOUNT_SID)
    with session_factory() as db_session:
        rows = db_session.execute(
            select(
                OutboundMessage.state, OutboundMessage.provider_id, OutboundMessage.alert_id, OutboundMessage.send_after
            )
        ).all()
    burst_sids = {row.provider_id for row in rows if row.alert_id is None}
    burst = sorted(arrival.at.timestamp() for arrival in received if arrival.sid in burst_sids)
    report_burst(burst, count=count, due=due, rate=rate, target=target)
    report_alerts(received, committed)
    states = Counter(row.state for row in rows)
    print(f"message states: {', '.join(f'{n} {state}' for state, n in sorted(states.items()))}")
    return 0 if exactly_once(received, rows, len(rows)) and not _lost(rows) else 1


def report_burst(burst: Sequence[float], *, count: int, due: datetime, rate: SendRate, target: float) -> None:
    print()
    print(f"Burst ({count} check-in links due at once)")
    print(f"  sent                     {len(burst)} of {count}")
    if not burst:
        return
    wall = burst[-1] - due.timestamp()
    verdict = "within" if wall <= target else "OVER"
    print(
        f"  wall seconds, due to last {wall:.1f} ({verdict} the target {target:.1f} = 1.1 x {count} / "
        f"{rate.per_second:g})"
    )
    print(f"  first send after due, s  {burst[0] - due.timestamp():.2f}")
    spread = burst[-1] - burst[0]
    if spread > 0:
        print(
            f"  sends per second         {(len(burst) - 1) / spread:.2f} (first to last; the rate is "
            f"{rate.per_second:g})"
        )
    print(
        f"  most in any 1 s window   {most_in_one_second(burst)} (the bucket allows {rate.per_second:g} + "
        f"burst {rate.burst})"
    )


def report_alerts(received: Sequence[Arrival], committed: dict[str, float]) -> None:
    arrived: dict[str, list[float]] = {}
    for arrival in received:
        for word in arrival.body.split():
            if word.startswith("A-") and word in committed:
                arrived.setdefault(word, []).append(arrival.at.timestamp())
    lags = sorted(min(arrived[code]) - at for code, at in committed.items() if code in arrived)
    print(f"Urgent alerts raised while it drained: {len(committed)}; their SMS at the stand-in: {len(lags)}")
    if lags:
        over = sum(1 for lag in lags if lag > URGENT_TARGET_SECONDS)
        print(
            f"  commit-to-provider lag, s p50 {percentile(lags, 50):.2f}  p90 {percentile(lags, 90):.2f}  "
            f"p99 {percentile(lags, 99):.2f}  max {lags[-1]:.2f}  (target p99 <= {URGENT_TARGET_SECONDS:g}; "
            f"{over} over)"
        )


def _lost(rows: Sequence[object]) -> bool:
    """A message neither sent nor settled otherwise: still queued, sending or unknown after the run."""
    stuck = [row for row in rows if row.state in (MessageState.QUEUED, MessageState.SENDING, MessageState.UNKNOWN)]  # type: ignore[attr-defined]
    if stuck:
        print(f"FAILED: {len(stuck)} messages were not sent ({Counter(row.state for row in stuck)})")  # type: ignore[attr-defined]
    return bool(stuck)


if __name__ == "__main__":
    sys.exit(main())
