"""Urgent alert lag bench: how long after an urgent alert is committed its SMS is handed to the provider.

    .venv/bin/python bench/alert_lag.py [--database-url URL] [--alerts 200] [--spread-seconds 60]

It builds a throwaway PostgreSQL database (REACHABLE_BENCH_DATABASE_URL if set and empty, else a new database on
the local server, dropped at the end), migrates it with Alembic, and makes one programme with a duty rota covering
the next day: a duty coordinator and a fallback, each with a work mobile in Ofcom's drama range, and N invented
children (no numbers of their own: an alert's SMS goes to staff).

Then the real scheduler (scheduling.runner.build_scheduler, every job of the table, the system clock) runs while
one thread raises N urgent safeguarding alerts, one per child, at random moments over --spread-seconds, each in a
transaction of its own (api.alerts.service.raise_alert, which queues its SMS to the duty coordinator). The sender
is the in-memory fake, wrapped to note the moment each message is handed to it.

It prints the count, and the lag (handed to the provider minus the alert's commit) at p50/p90/p99/max in
seconds. `dispatch_urgent` polls every 2 seconds, so expect a lag of about 0 to 2 seconds plus the dispatch
itself. Speed is measured here, never asserted; the bench exits 1 only if an alert's SMS never went out or went
out twice.
"""

from __future__ import annotations

import argparse
import logging
import math
import os
import random
import sys
import threading
import time
import uuid
from collections import Counter
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

from sqlalchemy import create_engine, inspect, text
from sqlalchemy.engine import make_url

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from api import migrate
from api.accounts.models import AppUser
from api.actors import Actor, Role
from api.alerts import service as alerts_service
from api.alerts.rules import AlertKind
from api.children import service as children_service
from api.clock import SystemClock
from api.db import Database, transaction
from api.duty.models import DutyShift
from api.programmes.models import Programme
from api.sms.dispatch import DispatchSettings
from api.wellbeing.instruments import SHIPPED_INSTRUMENTS, load_instruments
from notifications.fake import FakeSmsSender
from notifications.port import OutgoingSms, SendResult
from scheduling.jobs import JobContext
from scheduling.runner import build_scheduler

DEFAULT_POSTGRES_ADMIN_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
SECRET_KEY = "bench-secret-key-" + "x" * 32


class HandoverRecordingSender(FakeSmsSender):
    """The fake provider, noting when each message was handed to it (by the alert code in its text)."""

    def __init__(self) -> None:
        super().__init__()
        self.handed_at: dict[str, list[float]] = {}
        self._noted = threading.Lock()

    def send(self, sms: OutgoingSms) -> SendResult:
        moment = time.time()
        code = next(word for word in sms.body.split() if word.startswith("A-"))
        with self._noted:
            self.handed_at.setdefault(code, []).append(moment)
        return super().send(sms)


@contextmanager
def scratch_database(url: str | None, admin_url: str) -> Iterator[str]:
    if url:
        engine = create_engine(url)
        tables = inspect(engine).get_table_names()
        engine.dispose()
        if tables:
            raise SystemExit(f"{make_url(url).render_as_string()} is not empty; give an empty database.")
        yield url
        return
    name = f"bench_alerts_{uuid.uuid4().hex[:10]}"
    admin = create_engine(admin_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        yield make_url(admin_url).set(database=name).render_as_string(hide_password=False)
    finally:
        with admin.connect() as connection:
            connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


def make_world(database: Database, children: int) -> tuple[uuid.UUID, list[uuid.UUID]]:
    now = datetime.now(UTC)
    with database.session() as db_session:
        programme = Programme(
            name="Bench programme",
            time_zone="Europe/London",
            offer_lapse_hours=72,
            districts=["Dartford"],
            session_activities=["Talking and listening"],
            check_in_every_weeks=4,
            created_at=now,
        )
        db_session.add(programme)
        db_session.flush()
        people = [
            AppUser(
                email=f"{label}@example.org",
                display_name=label.title(),
                role=Role.COORDINATOR,
                programme_id=programme.id,
                password_hash="not-a-real-hash",
                mobile_e164=f"+44770090099{n}",
                created_at=now,
            )
            for n, label in enumerate(["duty", "fallback"])
        ]
        db_session.add_all(people)
        db_session.flush()
        db_session.add(
            DutyShift(
                programme_id=programme.id,
                coordinator_user_id=people[0].id,
                fallback_user_id=people[1].id,
                starts_at=now - timedelta(hours=1),
                ends_at=now + timedelta(days=1),
                created_by_user_id=people[0].id,
                created_at=now,
                updated_at=now,
            )
        )
        db_session.commit()
        actor = Actor(user_id=people[0].id, role=Role.COORDINATOR, programme_id=programme.id)
        child_ids = []
        for n in range(children):
            record = children_service.create_child(
                db_session,
                actor=actor,
                programme_id=programme.id,
                first_name=f"Bench{n}",
                last_name="Child",
                date_of_birth=date(2012, 5, 17),
                district="Dartford",
                school=None,
                phone_numbers=[],
                accept_drama_numbers=True,
                now=now,
            )
            child_ids.append(record.child.id)
        return programme.id, child_ids


def raise_alerts(
    database: Database, programme_id: uuid.UUID, child_ids: Sequence[uuid.UUID], spread_seconds: float
) -> dict[str, float]:
    """Raise one urgent alert per child at random moments over the spread; the moment each committed, by code."""
    offsets = sorted(random.uniform(0, spread_seconds) for _ in child_ids)
    started = time.monotonic()
    committed: dict[str, float] = {}
    for child_id, offset in zip(child_ids, offsets, strict=True):
        time.sleep(max(0.0, started + offset - time.monotonic()))
        with database.session() as db_session:
            with transaction(db_session):
                alert = alerts_service.raise_alert(
                    db_session,
                    programme_id=programme_id,
                    child_id=child_id,
                    kind=AlertKind.SAFEGUARDING_CONCERN,
                    detail="Bench concern.",
                    now=datetime.now(UTC),
                )
                code = alert.code
            committed[code] = time.time()
    return committed


def percentile(values: Sequence[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[max(0, math.ceil(share * len(ordered)) - 1)]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--database-url", default=os.environ.get("REACHABLE_BENCH_DATABASE_URL"))
    parser.add_argument("--postgres-admin-url", default=DEFAULT_POSTGRES_ADMIN_URL)
    parser.add_argument("--alerts", type=int, default=200)
    parser.add_argument("--spread-seconds", type=float, default=60.0)
    parser.add_argument(
        "--timeout", type=float, default=60.0, help="seconds to wait for the last SMS after the last alert"
    )
    args = parser.parse_args()
    logging.basicConfig(level=logging.WARNING)

    with scratch_database(args.database_url, args.postgres_admin_url) as url:
        migrate.upgrade(url)
        database = Database(url)
        try:
            print(f"making {args.alerts} children and a duty rota ...", flush=True)
            programme_id, child_ids = make_world(database, args.alerts)
            sender = HandoverRecordingSender()
            context = JobContext(
                database.session_factory,
                SystemClock(),
                SECRET_KEY,
                load_instruments(SHIPPED_INSTRUMENTS, licensed_wording_file=None),
                DispatchSettings(
                    sender=sender,
                    secret_key=SECRET_KEY,
                    public_base_url="https://checkin.example.org",
                    status_callback_url=None,
                ),
            )
            scheduler = build_scheduler(context)
            scheduler.start()
            try:
                print(f"raising {args.alerts} urgent alerts over {args.spread_seconds:.0f} s ...", flush=True)
                committed = raise_alerts(database, programme_id, child_ids, args.spread_seconds)
                deadline = time.monotonic() + args.timeout
                while len(sender.handed_at.keys() & committed.keys()) < len(committed):
                    if time.monotonic() > deadline:
                        break
                    time.sleep(0.1)
            finally:
                context.stopping.set()
                scheduler.shutdown(wait=True)
        finally:
            database.dispose()

    lags = [sender.handed_at[code][0] - at for code, at in committed.items() if code in sender.handed_at]
    twice = [code for code, moments in sender.handed_at.items() if len(moments) > 1]
    missing = len(committed) - len(lags)
    print(f"alerts committed: {len(committed)}; SMS handed to the provider: {len(lags)}; missing: {missing}")
    print(f"sent more than once: {len(twice)}; sends by recipient: {dict(Counter(s.sms.to for s in sender.sent))}")
    if lags:
        print(
            "lag, handed to provider minus alert commit (s): "
            f"p50 {percentile(lags, 0.5):.3f}  p90 {percentile(lags, 0.9):.3f}  "
            f"p99 {percentile(lags, 0.99):.3f}  max {max(lags):.3f}  min {min(lags):.3f}"
        )
    return 1 if missing or twice else 0


if __name__ == "__main__":
    sys.exit(main())
