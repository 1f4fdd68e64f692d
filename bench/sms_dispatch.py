"""SMS dispatch bench: how many check-in links a second the outbox dispatcher gets out, and how late they go.

    .venv/bin/python bench/sms_dispatch.py [--database-url URL] [--messages 1000] [--dispatchers 4]

It builds a throwaway database (by default a new PostgreSQL database on 127.0.0.1, dropped at the end; or
`--database-url sqlite:///path`), migrates it with Alembic and fills it through the services, as the API
would: one programme, a cohort, a coordinator, and N invented children, each with a mobile in Ofcom's drama
range (+447700900000 to +447700900999), consent to SMS, a place in the cohort and one check-in invitation,
which queues one outbox message. All N messages fall due at the same moment, like a scheduler sweep.

Then K dispatcher threads loop `api.sms.dispatch.dispatch_due` (claim, re-check, send, record: the real
code, with the real `TwilioSender`, quiet hours off, the system clock) until nothing is queued or sending.
Twilio is a local stand-in in a process of its own (so it does not share this one's interpreter lock): it
answers `POST .../Messages.json` with 201 and a Twilio-shaped message after a fixed delay (20 ms by default,
like a short network round trip) and notes when each request arrived.

It prints the messages sent, the wall time, messages a second, and the due-to-sent lag (arrival at the
stand-in minus the message's send_after) at p50/p90/p95/p99/max. It checks that each message reached the
stand-in exactly once (counting arrivals per recipient and text) and exits 1 if not.

The FLOOR is the same number of sends from K threads straight through `TwilioSender` to the same stand-in, with
no database at all: what K threads can do against this provider delay and this HTTP client on this machine.
The ratio dispatcher/floor is the share of that the dispatcher achieves; the rest is the price of the database
work around each send (its share of a batch claim, a transaction to re-check it before sending and one to record
the outcome), shown as statements and pool checkouts a message. Speed is measured here, never asserted in tests.

Only one of Ofcom's drama ranges is for mobiles (07700 900xxx; the others are landline and non-geographic numbers,
which the app refuses for SMS), and no number is shared between children here, so --messages is capped at 1000.
"""

from __future__ import annotations

import argparse
import json
import logging
import math
import multiprocessing
import re
import secrets
import sys
import threading
import time
import urllib.request
import uuid
from collections import Counter
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from email.utils import format_datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

from sqlalchemy import Engine, create_engine, event, func, inspect, select, text
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session, sessionmaker

from api import migrate
from api.accounts import service as accounts_service
from api.actors import Actor, Role
from api.children import service as children_service
from api.children.rules import ConsentGivenBy, ContactChannel, NewPhoneNumber, PhoneOwner
from api.clock import SystemClock
from api.db import Database
from api.enrolments.rules import Priority
from api.outbox.models import OutboundMessage
from api.outbox.rules import MessageState
from api.programmes import service as programmes_service
from api.referrals import service as referrals_service
from api.referrals.rules import ReferralSource
from api.sms import dispatch as sms_dispatch
from api.wellbeing import invitations as wellbeing_invitations
from api.wellbeing.instruments import SHIPPED_INSTRUMENTS, load_instruments
from notifications.port import Outcome, OutgoingSms
from notifications.twilio_adapter import TwilioSender

DEFAULT_POSTGRES_ADMIN_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
DRAMA_MOBILE_PREFIX = "+447700900"  # Ofcom's drama range for mobiles: 07700 900000 to 900999
MAX_MESSAGES = 1000  # one child per drama number, never two children on one number

# Invented credentials, only ever sent to the local stand-in. Dispatchers and the floor use different accounts
# so the stand-in can tell their requests apart; a Messaging Service is named, so no drama number is "ours".
DISPATCH_ACCOUNT_SID = "AC" + "d15ba7c4" * 4
FLOOR_ACCOUNT_SID = "AC" + "f100f100" * 4
AUTH_TOKEN = "bench-auth-token-not-a-secret"
MESSAGING_SERVICE_SID = "MG" + "be7c4be7" * 4
PUBLIC_BASE_URL = "https://checkin.example.org"
STATUS_CALLBACK_URL = f"{PUBLIC_BASE_URL}/webhooks/twilio/status"
MESSAGES_PATH = re.compile(r"/2010-04-01/Accounts/(AC[0-9a-f]{32})/Messages\.json")
ARRIVALS_PATH = "/bench/arrivals"

FIRST_NAMES = ["Sam", "Ali", "Jordan", "Casey", "Riley", "Alex", "Morgan", "Taylor", "Jamie", "Charlie"]
IDLE_SECONDS = 0.01  # a dispatcher with nothing to claim while others still work waits this long


# --- The stand-in for Twilio (runs in a child process) -------------------------------------------------------


@dataclass(frozen=True)
class Arrival:
    account_sid: str
    at: datetime
    sid: str
    to: str
    body: str


def _twilio_message(account_sid: str, sid: str, fields: dict[str, list[str]], created: datetime) -> dict[str, Any]:
    """A message resource as Twilio's Messages API returns it on create (status queued, not sent yet)."""
    stamp = format_datetime(created, usegmt=True)
    uri = f"/2010-04-01/Accounts/{account_sid}/Messages/{sid}.json"
    return {
        "account_sid": account_sid,
        "api_version": "2010-04-01",
        "body": fields.get("Body", [""])[0],
        "date_created": stamp,
        "date_sent": None,
        "date_updated": stamp,
        "direction": "outbound-api",
        "error_code": None,
        "error_message": None,
        "from": fields.get("From", [None])[0],
        "messaging_service_sid": fields.get("MessagingServiceSid", [None])[0],
        "num_media": "0",
        "num_segments": "1",
        "price": None,
        "price_unit": "GBP",
        "sid": sid,
        "status": "queued",
        "subresource_uris": {"media": uri.replace(".json", "/Media.json")},
        "to": fields["To"][0],
        "uri": uri,
    }


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    request_queue_size = 128


def serve_fake_twilio(delay_seconds: float, ready: Connection) -> None:
    """Answer like Twilio's Messages API, noting each create's arrival time; GET /bench/arrivals lists them."""
    arrivals: list[tuple[str, float, str, str, str]] = []
    lock = threading.Lock()

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"  # keep-alive, as the twilio client's pooled session expects
        # One write per answer, no Nagle: otherwise headers and body go as two packets and the client's delayed
        # ACK adds some 40 ms to every request, which would be this stand-in's cost, not the dispatcher's.
        wbufsize = -1
        disable_nagle_algorithm = True

        def log_message(self, format: str, *args: Any) -> None:
            pass

        def reply(self, status: int, payload: object) -> None:
            data = json.dumps(payload).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def do_POST(self) -> None:
            arrived = time.time()
            length = int(self.headers.get("Content-Length", 0))
            fields = parse_qs(self.rfile.read(length).decode(), keep_blank_values=True)
            match = MESSAGES_PATH.fullmatch(urlsplit(self.path).path)
            if match is None:
                self.reply(404, {"code": 20404, "message": "The requested resource was not found", "status": 404})
                return
            if "To" not in fields:
                self.reply(400, {"code": 21604, "message": "A 'To' phone number is required.", "status": 400})
                return
            sid = "SM" + uuid.uuid4().hex
            with lock:
                arrivals.append((match[1], arrived, sid, fields["To"][0], fields.get("Body", [""])[0]))
            if delay_seconds > 0:
                time.sleep(delay_seconds)
            self.reply(201, _twilio_message(match[1], sid, fields, datetime.fromtimestamp(arrived, UTC)))

        def do_GET(self) -> None:
            if urlsplit(self.path).path != ARRIVALS_PATH:
                self.reply(404, {"code": 20404, "status": 404})
                return
            with lock:
                listed = list(arrivals)
            self.reply(200, listed)

    server = _Server(("127.0.0.1", 0), Handler)
    ready.send(server.server_address[1])
    server.serve_forever(poll_interval=0.05)


@contextmanager
def fake_twilio(delay_seconds: float) -> Iterator[str]:
    """The stand-in's base URL, served from a child process that is ended on leaving."""
    context = multiprocessing.get_context("spawn")
    ours, theirs = context.Pipe()
    process = context.Process(target=serve_fake_twilio, args=(delay_seconds, theirs), daemon=True)
    process.start()
    try:
        if not ours.poll(30):
            raise SystemExit("the fake Twilio endpoint did not start")
        yield f"http://127.0.0.1:{ours.recv()}"
    finally:
        process.terminate()
        process.join(5)


def arrivals(base_url: str, account_sid: str) -> list[Arrival]:
    with urllib.request.urlopen(base_url + ARRIVALS_PATH, timeout=30) as response:
        rows = json.load(response)
    return [
        Arrival(account, datetime.fromtimestamp(at, UTC), sid, to, body)
        for account, at, sid, to, body in rows
        if account == account_sid
    ]


def twilio_sender(base_url: str, account_sid: str) -> TwilioSender:
    return TwilioSender(account_sid, AUTH_TOKEN, messaging_service_sid=MESSAGING_SERVICE_SID, api_base_url=base_url)


# --- The throwaway database ----------------------------------------------------------------------------------


@contextmanager
def throwaway_database(
    database_url: str | None, *, postgres_admin_url: str, keep: bool, prefix: str = "bench_sms"
) -> Iterator[str]:
    """An empty database migrated to head: a new PostgreSQL database (dropped afterwards), or the one named, which
    must be empty (a SQLite file this run creates is deleted afterwards; any other database is left as it is)."""
    if database_url is None:
        name = f"{prefix}_{secrets.token_hex(6)}"
        admin = create_engine(postgres_admin_url, isolation_level="AUTOCOMMIT")
        try:
            with admin.connect() as connection:
                connection.execute(text(f'CREATE DATABASE "{name}"'))
            url = make_url(postgres_admin_url).set(database=name).render_as_string(hide_password=False)
            print(f"database: new PostgreSQL database {name} ({'kept' if keep else 'dropped at the end'})")
            try:
                migrate.upgrade(url)
                yield url
            finally:
                if not keep:
                    with admin.connect() as connection:
                        connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        finally:
            admin.dispose()
        return
    named = make_url(database_url)
    new_file: Path | None = None
    if named.get_backend_name() == "sqlite":
        if not named.database or named.database == ":memory:":
            raise SystemExit("SQLite needs a file, shared by the dispatcher threads: sqlite:///path/to/bench.sqlite3")
        if not Path(named.database).exists():
            new_file = Path(named.database)
    engine = create_engine(database_url)
    try:
        tables = inspect(engine).get_table_names()
    finally:
        engine.dispose()
    if tables:
        raise SystemExit(f"{named.render_as_string()} is not empty: give a new, empty database.")
    removed = new_file is not None and not keep
    print(f"database: {named.render_as_string()} ({'deleted at the end' if removed else 'kept afterwards'})")
    try:
        migrate.upgrade(database_url)
        yield database_url
    finally:
        if removed and new_file is not None:
            for suffix in ("", "-wal", "-shm", "-journal"):
                new_file.with_name(new_file.name + suffix).unlink(missing_ok=True)


# --- Invented data, through the services ---------------------------------------------------------------------


def progress(label: str, done: int, total: int, started: float) -> None:
    if done == total or done % max(1, total // 10) == 0:
        elapsed = time.perf_counter() - started
        print(f"  {label}: {done}/{total} ({done / elapsed:.0f}/s)", flush=True)


def create_children(session_factory: sessionmaker[Session], *, count: int, now: datetime) -> tuple[Actor, list[Any]]:
    """A programme, a cohort with a place for each child, a coordinator, and the children: each with a drama-range
    mobile of their own, their consent to SMS, and a place in the cohort."""
    tag = secrets.token_hex(3)
    with session_factory() as db_session:
        programme = programmes_service.create_programme(
            db_session,
            name=f"Bench programme {tag}",
            time_zone="Europe/London",
            offer_lapse_hours=72,
            districts=["Medway"],
            session_activities=["Talking and listening"],
            now=now,
            check_in_instruments=["ons4"],
        )
        cohort = programmes_service.add_cohort(
            db_session,
            programme_id=programme.id,
            name="Bench cohort",
            places=count,
            max_sessions_per_week=1,
            planned_weeks=26,
            now=now,
        )
        coordinator = accounts_service.create_user(
            db_session,
            email=f"bench-coordinator-{tag}@example.org",
            display_name="Bench Coordinator",
            role=Role.COORDINATOR,
            password=secrets.token_urlsafe(24),
            programme_id=programme.id,
            max_caseload=None,
            now=now,
        )
    actor = Actor(user_id=coordinator.id, role=coordinator.role, programme_id=coordinator.programme_id)
    child_ids = []
    started = time.perf_counter()
    for index in range(count):
        with session_factory() as db_session:
            record = children_service.create_child(
                db_session,
                actor=actor,
                programme_id=programme.id,
                first_name=FIRST_NAMES[index % len(FIRST_NAMES)],
                last_name=f"Bench{index:03d}",
                date_of_birth=date(2012, 5, 17),
                district="Medway",
                school=None,
                phone_numbers=[NewPhoneNumber(f"{DRAMA_MOBILE_PREFIX}{index:03d}", PhoneOwner.CHILD)],
                accept_drama_numbers=True,
                now=now,
            )
            child_id = record.child.id
            children_service.record_consent(
                db_session,
                actor=actor,
                child_id=child_id,
                channel=ContactChannel.SMS_TO_CHILD,
                granted=True,
                given_by=ConsentGivenBy.CHILD,
                now=now,
            )
            referral = referrals_service.create_referral(
                db_session,
                actor=actor,
                child_id=child_id,
                cohort_id=cohort.id,
                source=ReferralSource.SCHOOL,
                source_name="Bench school",
                reason="Invented referral for the SMS dispatch bench.",
                priority=Priority.NORMAL,
                referred_on=None,
                now=now,
            )
            referrals_service.accept_referral(db_session, actor=actor, referral_id=referral.id, now=now)
        child_ids.append(child_id)
        progress("children (mobile, consent, place)", index + 1, count, started)
    return actor, child_ids


def invite_all(
    session_factory: sessionmaker[Session], *, actor: Actor, child_ids: Sequence[Any], secret_key: str, due: datetime
) -> None:
    """One check-in invitation a child, each queueing one outbox message, all due at `due`."""
    instruments = load_instruments(SHIPPED_INSTRUMENTS, licensed_wording_file=None)
    started = time.perf_counter()
    for index, child_id in enumerate(child_ids):
        with session_factory() as db_session:
            wellbeing_invitations.invite_check_in(
                db_session,
                actor=actor,
                instruments=instruments,
                child_id=child_id,
                instrument_keys=None,
                secret_key=secret_key,
                now=due,
            )
        progress("check-in invitations (one SMS each)", index + 1, len(child_ids), started)


# --- The runs ------------------------------------------------------------------------------------------------


class DatabaseWork:
    """Statements sent to the database and connections checked out of the pool (PostgreSQL: each checkout pings
    the server first), leaving out the bench's own polls for whether anything is left to do."""

    def __init__(self, engine: Engine) -> None:
        self.statements = 0
        self.checkouts = 0
        self._lock = threading.Lock()
        self._paused = threading.local()
        event.listen(engine, "before_cursor_execute", self._statement)
        event.listen(engine.pool, "checkout", self._checkout)

    def _counting(self) -> bool:
        return not getattr(self._paused, "value", False)

    def _statement(self, *_: Any) -> None:
        if self._counting():
            with self._lock:
                self.statements += 1

    def _checkout(self, *_: Any) -> None:
        if self._counting():
            with self._lock:
                self.checkouts += 1

    @contextmanager
    def paused(self) -> Iterator[None]:
        self._paused.value = True
        try:
            yield
        finally:
            self._paused.value = False

    def snapshot(self) -> tuple[int, int]:
        with self._lock:
            return self.statements, self.checkouts


def pending(session_factory: sessionmaker[Session]) -> int:
    with session_factory() as db_session:
        return (
            db_session.scalar(
                select(func.count())
                .select_from(OutboundMessage)
                .where(OutboundMessage.state.in_([MessageState.QUEUED, MessageState.SENDING]))
            )
            or 0
        )


def run_dispatchers(
    session_factory: sessionmaker[Session],
    *,
    base_url: str,
    dispatchers: int,
    batch: int,
    secret_key: str,
    timeout_seconds: float,
    work: DatabaseWork,
) -> tuple[float, list[BaseException]]:
    """K threads looping dispatch_due until nothing is queued or sending; the wall seconds and any crashes."""
    clock = SystemClock()
    deadline = time.monotonic() + timeout_seconds
    errors: list[BaseException] = []

    def dispatch() -> None:
        try:
            with twilio_sender(base_url, DISPATCH_ACCOUNT_SID) as sender:
                settings = sms_dispatch.DispatchSettings(
                    sender=sender,
                    secret_key=secret_key,
                    public_base_url=PUBLIC_BASE_URL,
                    status_callback_url=STATUS_CALLBACK_URL,
                    quiet_hours={},
                )
                while time.monotonic() < deadline:
                    if sms_dispatch.dispatch_due(session_factory, settings=settings, clock=clock.now, limit=batch):
                        continue
                    with work.paused():
                        if pending(session_factory) == 0:
                            return
                    time.sleep(IDLE_SECONDS)
                raise TimeoutError(f"messages still queued or sending after {timeout_seconds:.0f} s")
        except BaseException as error:
            errors.append(error)

    threads = [threading.Thread(target=dispatch, name=f"dispatcher-{n}") for n in range(dispatchers)]
    started = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return time.perf_counter() - started, errors


def run_floor(base_url: str, *, messages: Sequence[OutgoingSms], threads: int) -> tuple[float, Counter[Outcome]]:
    """The same sends from K threads straight through TwilioSender, no database: the wall seconds and outcomes."""
    to_send = iter(messages)
    lock = threading.Lock()
    outcomes: Counter[Outcome] = Counter()

    def send_all() -> None:
        with twilio_sender(base_url, FLOOR_ACCOUNT_SID) as sender:
            while True:
                with lock:
                    sms = next(to_send, None)
                if sms is None:
                    return
                outcome = sender.send(sms).outcome
                with lock:
                    outcomes[outcome] += 1

    workers = [threading.Thread(target=send_all, name=f"floor-{n}") for n in range(threads)]
    started = time.perf_counter()
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()
    return time.perf_counter() - started, outcomes


def percentile(ordered: Sequence[float], p: float) -> float:
    """Nearest rank: the smallest value with at least p% of the values at or below it."""
    return ordered[max(0, math.ceil(p / 100 * len(ordered)) - 1)]


# --- Main ----------------------------------------------------------------------------------------------------


def parse_arguments(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    parser.add_argument(
        "--database-url",
        help="an empty database to use and keep (e.g. sqlite:///instance/bench.sqlite3); "
        "default: a new PostgreSQL database, dropped at the end",
    )
    parser.add_argument(
        "--postgres-admin-url",
        default=DEFAULT_POSTGRES_ADMIN_URL,
        help=f"where the default throwaway database is created (default {DEFAULT_POSTGRES_ADMIN_URL})",
    )
    parser.add_argument(
        "--keep-database", action="store_true", help="keep the database this run made (to look at the ledger)"
    )
    parser.add_argument("--messages", type=int, default=1000, help=f"messages to send, 1 to {MAX_MESSAGES}")
    parser.add_argument("--dispatchers", type=int, default=4, help="dispatcher threads (and floor threads)")
    parser.add_argument(
        "--batch", type=int, default=sms_dispatch.DISPATCH_BATCH, help="messages claimed per dispatch_due call"
    )
    parser.add_argument(
        "--provider-delay-ms", type=float, default=20, help="the fake Twilio's delay before each answer"
    )
    parser.add_argument("--timeout", type=float, default=600, help="give up dispatching after this many seconds")
    arguments = parser.parse_args(argv)
    if not 1 <= arguments.messages <= MAX_MESSAGES:
        parser.error(
            f"--messages must be 1 to {MAX_MESSAGES}: Ofcom's only drama range for mobiles, 07700 900000 to "
            "900999, has 1000 numbers, and no number is shared between children"
        )
    if arguments.dispatchers < 1 or arguments.batch < 1 or arguments.provider_delay_ms < 0:
        parser.error("--dispatchers and --batch must be at least 1, --provider-delay-ms not negative")
    return arguments


def main(argv: Sequence[str] | None = None) -> int:
    arguments = parse_arguments(argv)
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s [%(name)s] %(message)s")
    count, dispatchers = arguments.messages, arguments.dispatchers
    secret_key = secrets.token_urlsafe(48)
    print(
        f"SMS dispatch bench: {count} messages, {dispatchers} dispatchers, batch {arguments.batch}, "
        f"fake Twilio answering after {arguments.provider_delay_ms:g} ms"
    )
    with (
        fake_twilio(arguments.provider_delay_ms / 1000) as base_url,
        throwaway_database(
            arguments.database_url, postgres_admin_url=arguments.postgres_admin_url, keep=arguments.keep_database
        ) as url,
    ):
        # Each dispatcher holds at most one connection at a time; leave room for them all.
        database = Database(url, pool_size=dispatchers + 1)
        try:
            with database.engine.connect() as connection:
                dialect = connection.dialect
                version = ".".join(str(part) for part in (dialect.server_version_info or ()))
            print(f"backend: {dialect.name} {version}; fake Twilio at {base_url}")
            return measure(database, base_url=base_url, arguments=arguments, secret_key=secret_key)
        finally:
            database.dispose()


def measure(database: Database, *, base_url: str, arguments: argparse.Namespace, secret_key: str) -> int:
    count, dispatchers = arguments.messages, arguments.dispatchers
    session_factory = database.session_factory
    print("creating invented data through the services:")
    data_started = time.perf_counter()
    actor, child_ids = create_children(session_factory, count=count, now=datetime.now(UTC))
    # All the messages fall due at one moment, just after they will all have been queued, so the lag below is the
    # dispatcher's own and not the time it took to create them. An invitation takes a fifth to a third of a child's
    # set-up (one service call against four); the margin allows half, and an overrun is reported.
    due = datetime.now(UTC) + timedelta(seconds=1 + 0.5 * (time.perf_counter() - data_started))
    invite_all(session_factory, actor=actor, child_ids=child_ids, secret_key=secret_key, due=due)
    print(f"  data created in {time.perf_counter() - data_started:.1f} s")
    if pending(session_factory) != count:
        print(f"FAILED: expected {count} queued messages, found {pending(session_factory)}")
        return 1
    wait = (due - datetime.now(UTC)).total_seconds()
    if wait > 0:
        time.sleep(wait)
    late = (datetime.now(UTC) - due).total_seconds()
    if late > 0.05:
        print(f"  note: dispatchers started {late:.2f} s after the messages fell due; the lag below includes it")

    print(f"dispatching with {dispatchers} threads ...", flush=True)
    work = DatabaseWork(database.engine)
    wall, crashes = run_dispatchers(
        session_factory,
        base_url=base_url,
        dispatchers=dispatchers,
        batch=arguments.batch,
        secret_key=secret_key,
        timeout_seconds=arguments.timeout,
        work=work,
    )
    statements, checkouts = work.snapshot()
    for crash in crashes:
        print(f"FAILED: a dispatcher stopped: {crash!r}")
    received = arrivals(base_url, DISPATCH_ACCOUNT_SID)
    with session_factory() as db_session:
        rows = db_session.execute(
            select(OutboundMessage.state, OutboundMessage.send_after, OutboundMessage.provider_id)
        ).all()
    states = Counter(row.state for row in rows)
    sent = states[MessageState.SENT]
    arrived_at = {arrival.sid: arrival.at for arrival in received}
    lags = sorted(
        (arrived_at[row.provider_id] - row.send_after).total_seconds() for row in rows if row.provider_id in arrived_at
    )

    print(f"flooring: the same {len(received)} sends from {dispatchers} threads, no database ...", flush=True)
    floor_wall, floor_outcomes = run_floor(
        base_url, messages=[OutgoingSms(a.to, a.body, STATUS_CALLBACK_URL) for a in received], threads=dispatchers
    )
    floor_sent = floor_outcomes[Outcome.ACCEPTED]

    print()
    print("Dispatcher (dispatch_due + TwilioSender + fake Twilio)")
    print(f"  messages sent            {sent} of {count}" + _other_states(states))
    print(f"  wall seconds             {wall:.2f}")
    print(f"  messages per second      {sent / wall:.1f}")
    if lags:
        figures = "  ".join(f"p{p} {percentile(lags, p):.2f}" for p in (50, 90, 95, 99))
        print(f"  due-to-sent lag, s       {figures}  max {lags[-1]:.2f}")
    if sent:
        print(
            f"  per message sent         {statements / sent:.1f} SQL statements, {checkouts / sent:.1f} connection "
            "checkouts (idle claims included)"
        )
    print(f"Floor (TwilioSender + fake Twilio, {dispatchers} thread{'s' if dispatchers > 1 else ''}, no database)")
    print(f"  messages sent            {floor_sent} of {len(received)}")
    print(f"  wall seconds             {floor_wall:.2f}")
    floor_rate = floor_sent / floor_wall if floor_wall > 0 else 0.0
    print(f"  messages per second      {floor_rate:.1f}")
    if arguments.provider_delay_ms > 0:
        ceiling = dispatchers / (arguments.provider_delay_ms / 1000)
        print(
            f"  (the provider delay alone caps {dispatchers} thread{'s' if dispatchers > 1 else ''} at {ceiling:.0f}/s)"
        )
    if floor_rate > 0:
        print(f"Dispatcher / floor         {sent / wall / floor_rate:.0%}")

    if floor_sent != len(received):
        print(f"FAILED: the floor's sends were not all accepted: {dict(floor_outcomes)}")
    ok = exactly_once(received, rows, count) and not crashes and floor_sent == len(received)
    return 0 if ok else 1


def _other_states(states: Counter[MessageState]) -> str:
    others = {state.value: n for state, n in states.items() if state is not MessageState.SENT}
    return f" (also: {', '.join(f'{n} {state}' for state, n in sorted(others.items()))})" if others else ""


def exactly_once(received: Sequence[Arrival], rows: Sequence[Any], count: int) -> bool:
    """Each message reached the stand-in once: one arrival per recipient and text, one per message sent."""
    per_message = Counter((arrival.to, arrival.body) for arrival in received)
    duplicates = sum(n - 1 for n in per_message.values() if n > 1)
    sids = {arrival.sid for arrival in received}
    unmatched = sum(1 for row in rows if row.state is not MessageState.SENT or row.provider_id not in sids)
    ok = duplicates == 0 and unmatched == 0 and len(per_message) == count == len(rows)
    verdict = "yes" if ok else "NO"
    print(
        f"Every message sent exactly once: {verdict} ({len(rows)} messages, {len(received)} requests, "
        f"{len(per_message)} distinct recipient+text, {duplicates} duplicates, {unmatched} not sent or unmatched)"
    )
    return ok


if __name__ == "__main__":
    sys.exit(main())
