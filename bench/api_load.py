"""API load bench: the API under gunicorn and PostgreSQL through a mentor's day, beside two floor apps (issues 7, 20).

    .venv/bin/python bench/api_load.py [--mentors 16] [--children-per-mentor 8] [--seconds 10] [--rounds 2]

It makes a new PostgreSQL database (dropped at the end unless --keep-database), migrates it with Alembic and creates
invented data through the services: one programme, a cohort, a coordinator, M mentors, each with N children
allocated (active enrolments). Every mentor and child has a drama-range mobile of their own (+447700900000 to
+447700900999, never shared), so (M + 1) x (N + 1) is at most 1000 (one more mentor is used in this process).

Before any load, the same-work floor's statements are checked against the API's (bench/same_work_check.py): one
request of each compared operation on each, in this process; a mismatch exits 1.

Three gunicorn servers are started with the same settings (gthread, --workers x --threads, on free local ports, no
access log, not ./gunicorn.conf.py): the API (`wsgi:app`, rate limits off), the same-work floor
(`bench/same_work_floor.py`: Flask + SQLAlchemy Core + psycopg running the statements the API must run for the same
request, the target's measure) and the bare floor (`bench/floor_app.py`:
bare Flask + SQLAlchemy Core doing the same inserts and reads with no validation, auth or rules; it reads the API's
tables and writes copies of them, made with `LIKE ... INCLUDING ALL` and the same foreign keys, in the schema
`floor` of the same database; it is handed what the API would have looked up or worked out). The load
generator runs in a process of its own (so it shares neither server's interpreter lock): one thread per virtual
mentor, each a closed loop (a new request as soon as the previous answer is read) over a keep-alive http.client
connection.

1. A mentor's day, against the API, for --day-seconds: sign in, sync (every page, keeping the cursor as a phone
   does; each phone's first sync, with no cursor, brings everything and is reported apart), list the caseload, then
   for --sessions-per-day of their children: log a completed session (with the attendee, a phone-made id and an
   Idempotency-Key, as the mentor app sends it) and record a check-in in it; then sync again. Again with a new
   sign-in until time is up. Every request asks for gzip (Accept-Encoding), as a phone does, and the syncs are also
   reported per pass: pages, KB a page on the wire (gzip'd) and of JSON, the whole pass's p50/p95. With --profile, a
   phone's first sync in-process, for a mentor with 8 children and one with 14 (each with a weekly pattern's
   sessions, a check-in and a goal): statements, KB and wall time a page.
2. API against the floors, for "log a session" and "caseload list": a warm-up of each, then --rounds rounds, each
   measuring the three sides one after the other (the order turns each round) for --seconds each, same clients.

It prints, per operation: requests, throughput (req/s), p50/p90/p95/p99 latency (ms, nearest rank) and errors, and
the ratios of throughput API / same-work floor (the target is 0.8) and API / bare floor (information) for the two
compared operations. Every answer is checked:
the status, a caseload's children against the allocations made, a logged session's id and attendee; afterwards
the sessions and attendees stored on each side are counted against the 201s, and each floor's change events, audit
rows and idempotency records against what it answered. It exits 1 on any error or wrong result, never on
slowness. --profile N adds, for N in-process requests of each compared operation on each app (Flask test client,
same database), wall and CPU per request, statements, pool checkouts and commits, and a cProfile of the API's: its
own steps by wall time and its CPU by package. Speed is measured here, never asserted in tests.
"""

from __future__ import annotations

import argparse
import cProfile
import gzip
import http.client
import json
import math
import multiprocessing
import os
import platform
import pstats
import secrets
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.parse
import urllib.request
import uuid
from collections import defaultdict
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import same_work_check  # bench/ is on sys.path when this file is run
from floor_app import create_floor_tables
from same_work_floor import PREFIX as SAME_WORK_PREFIX
from same_work_floor import SCHEMA as SAME_WORK_SCHEMA
from sqlalchemy import create_engine, event, text
from sqlalchemy.engine import make_url

from api import migrate
from api.accounts import service as accounts_service
from api.actors import Actor, Role
from api.children import service as children_service
from api.children.rules import NewPhoneNumber, PhoneOwner
from api.db import Database
from api.enrolments import allocations as enrolments_allocations
from api.enrolments.rules import Priority
from api.programmes import service as programmes_service
from api.referrals import service as referrals_service
from api.referrals.rules import ReferralSource
from api.sessions import rules as session_rules

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_POSTGRES_ADMIN_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
DRAMA_MOBILE_PREFIX = "+447700900"  # Ofcom's drama range for mobiles: 07700 900000 to 900999
DRAMA_NUMBERS = 1000
PASSWORD = "bench-password-not-a-secret"
TIME_ZONE = "Europe/London"
ACTIVITIES = ["Talking and listening", "Sport", "Homework"]
ONS4_ANSWERS = {"life_satisfaction": 8, "worthwhile": 7, "happy_yesterday": 8, "anxious_yesterday": 2}
FIRST_NAMES = ["Sam", "Ali", "Jordan", "Casey", "Riley", "Alex", "Morgan", "Taylor", "Jamie", "Charlie"]
CASELOAD_PAGE_SIZE = 50

SIGN_IN, SYNC, CASELOAD, LOG_SESSION, CHECK_IN = "sign in", "sync", "caseload list", "log a session", "check-in"
FIRST_SYNC = "first sync (everything)"
DAY_OPERATIONS = [SIGN_IN, FIRST_SYNC, SYNC, CASELOAD, LOG_SESSION, CHECK_IN]
COMPARED = [LOG_SESSION, CASELOAD]
API, SAME_WORK, FLOOR = "API", "same-work floor", "bare floor"
SIDES = (API, SAME_WORK, FLOOR)
# The target (issue 20): the API at 0.8 or more of the same-work floor's throughput. The bare floor is information.
TARGET_RATIO = 0.8


# --- The plan handed to the load generator --------------------------------------------------------------------


@dataclass(frozen=True)
class ChildPlace:
    child_id: str
    enrolment_id: str


@dataclass(frozen=True)
class Mentor:
    user_id: str
    email: str
    programme_id: str
    children: list[ChildPlace]


@dataclass(frozen=True)
class Phase:
    name: str  # "day", or one of COMPARED
    side: str  # API or FLOOR
    seconds: float
    counted: bool  # False for warm-ups


@dataclass(frozen=True)
class Plan:
    api_url: str
    same_work_url: str
    floor_url: str
    mentors: list[Mentor]
    phases: list[Phase]
    sessions_per_day: int


@dataclass
class Tally:
    """What one phase's clients saw: latencies (s) per operation, errors, and the wall time."""

    latencies: dict[str, list[float]] = field(default_factory=lambda: defaultdict(list))
    errors: dict[str, list[str]] = field(default_factory=lambda: defaultdict(list))
    sessions_created: int = 0
    children_listed: int = 0  # children in the caseload answers that passed their checks
    # Per operation, each answer's size: (bytes on the wire, bytes of JSON), gzip'd when the client asked for it.
    sizes: dict[str, list[tuple[int, int]]] = field(default_factory=lambda: defaultdict(list))
    # Per sync operation, each pass's pages and its time (s) from the first page's request to the last's answer.
    passes: dict[str, list[tuple[int, float]]] = field(default_factory=lambda: defaultdict(list))
    wall: float = 0.0
    generator_cpu: float = 0.0  # the load generator's own CPU seconds over the phase, all its threads


# --- The load generator (runs in its own process) ---------------------------------------------------------------


class Client:
    """One virtual mentor's phone: a keep-alive connection to one server, timing and checking each request."""

    def __init__(self, base_url: str, tally: Tally, lock: threading.Lock) -> None:
        parts = urllib.parse.urlsplit(base_url)
        self.host, self.port = parts.hostname or "127.0.0.1", parts.port or 80
        self.tally, self.lock = tally, lock
        self.connection: http.client.HTTPConnection | None = None
        self.token: str | None = None
        self.accepts_gzip = False  # as a phone: the API then gzips JSON answers (api/compression.py)

    def close(self) -> None:
        if self.connection is not None:
            self.connection.close()
            self.connection = None

    def request(
        self,
        operation: str,
        method: str,
        path: str,
        *,
        body: object = None,
        expect: int,
        headers: dict[str, str] | None = None,
        check: Callable[[Any, http.client.HTTPResponse], str | None] | None = None,
    ) -> Any:
        """The parsed answer, or None after recording an error (a wrong status, a failed check, a broken link)."""
        sent = {"Accept": "application/json", **(headers or {})}
        if self.accepts_gzip:
            sent["Accept-Encoding"] = "gzip"
        if self.token:
            sent["Authorization"] = f"Bearer {self.token}"
        data = None
        if body is not None:
            data = json.dumps(body).encode()
            sent["Content-Type"] = "application/json"
        started = time.perf_counter()
        try:
            if self.connection is None:
                self.connection = http.client.HTTPConnection(self.host, self.port, timeout=60)
            self.connection.request(method, path, body=data, headers=sent)
            response = self.connection.getresponse()
            raw = response.read()
        except (OSError, http.client.HTTPException) as error:
            self.close()
            self._error(operation, f"{method} {path}: {error!r}")
            return None
        elapsed = time.perf_counter() - started
        wire = len(raw)
        if response.getheader("Content-Encoding") == "gzip":
            raw = gzip.decompress(raw)
        if response.status != expect:
            self._error(operation, f"{method} {path}: {response.status} {raw[:300]!r}")
            return None
        payload = json.loads(raw) if raw else None
        problem = check(payload, response) if check else None
        if problem:
            self._error(operation, f"{method} {path}: {problem}")
            return None
        with self.lock:
            self.tally.latencies[operation].append(elapsed)
            self.tally.sizes[operation].append((wire, len(raw)))
        return payload

    def _error(self, operation: str, message: str) -> None:
        with self.lock:
            self.tally.errors[operation].append(message)


@dataclass(frozen=True)
class SessionRequest:
    path: str
    body: dict[str, Any]
    headers: dict[str, str]
    session_id: str
    place: ChildPlace

    def problem(self, answer: Any) -> str | None:
        attendees = [attendee["child_id"] for attendee in answer["attendees"]]
        if answer["id"] != self.session_id or attendees != [self.place.child_id]:
            return f"wrong session answer: {answer['id']} with {attendees}"
        return None


class MentorsPhone:
    """Everything one virtual mentor does; the week counters make each logged session fall in a week of its own
    for its child (the cohort allows one session a week), going back from last week."""

    def __init__(self, mentor: Mentor, weeks_back: dict[str, int]) -> None:
        self.mentor = mentor
        self.weeks_back = weeks_back
        self.next_child = 0
        self.cursor: str | None = None
        self.expected_children = sorted(place.child_id for place in mentor.children)

    def sign_in(self, client: Client) -> bool:
        client.token = None
        answer = client.request(
            SIGN_IN, "POST", "/auth/sign-in", body={"email": self.mentor.email, "password": PASSWORD}, expect=200
        )
        client.token = answer["access_token"] if answer else None
        return client.token is not None

    def sync(self, client: Client) -> None:
        # A phone's first sync (no cursor yet) brings everything about each child; later ones what changed since.
        operation = SYNC if self.cursor else FIRST_SYNC
        pages, started = 0, time.perf_counter()
        while True:
            query = f"?limit=200&cursor={self.cursor}" if self.cursor else "?limit=200"
            answer = client.request(operation, "GET", "/sync" + query, expect=200)
            if answer is None:
                return
            pages += 1
            self.cursor = answer["cursor"]
            if not answer["has_more"]:
                with client.lock:
                    client.tally.passes[operation].append((pages, time.perf_counter() - started))
                return

    def list_caseload(self, client: Client, side: str) -> None:
        answer = client.request(CASELOAD, "GET", self.caseload_path(side), expect=200, check=self.caseload_problem)
        if answer is not None:
            with client.lock:
                client.tally.children_listed += len(answer)

    def caseload_problem(self, answer: Any, _: object = None) -> str | None:
        got = sorted(child["id"] for child in answer)
        keyworkers = {child["key_worker"]["id"] if child["key_worker"] else None for child in answer}
        if got != self.expected_children or keyworkers != {self.mentor.user_id}:
            return f"wrong caseload: {len(got)} children, key workers {keyworkers}"
        return None

    def next_session(self, side: str) -> SessionRequest:
        """The next session to log: the next child in turn, in a week of its own for that child."""
        place = self.mentor.children[self.next_child % len(self.mentor.children)]
        self.next_child += 1
        self.weeks_back[place.child_id] = self.weeks_back.get(place.child_id, 0) + 1
        start = session_start(self.weeks_back[place.child_id])
        session_id = str(uuid.uuid4())
        body: dict[str, Any] = {
            "id": session_id,
            "enrolment_ids": [place.enrolment_id],
            "kind": "one_to_one",
            "location_category": "community_venue",
            "planned_start_at": start.isoformat(),
            "planned_end_at": (start + timedelta(hours=1)).isoformat(),
            "status": "completed",
            "actual_duration_minutes": 55,
            "activities": ACTIVITIES[:2],
            "notes": "Invented notes for the load bench: talked about school and football.",
        }
        # As the mentor app sends it: a phone-made id and an Idempotency-Key, so a retry is safe.
        headers = {"Idempotency-Key": str(uuid.uuid4())}
        if side == API:
            return SessionRequest("/sessions", body, headers, session_id, place)
        if side == SAME_WORK:
            # The same request as the API's: it looks up and checks what the API does (bench/same_work_floor.py).
            return SessionRequest(f"{SAME_WORK_PREFIX}/sessions", body, headers, session_id, place)
        # The floor looks nothing up and decides nothing: it is handed what the API would have found (mentor,
        # programme, the child of the enrolment) or worked out in the programme's time zone, with the API's own
        # functions (the ISO week, and the evening and weekend flags its attendee rows copy).
        floor_body = body | {
            "mentor_id": self.mentor.user_id,
            "programme_id": self.mentor.programme_id,
            "local_week": session_rules.local_week(start, TIME_ZONE),
            "starts_in_evening": session_rules.is_evening(start, TIME_ZONE),
            "starts_at_weekend": session_rules.is_weekend(start, TIME_ZONE),
            "attendees": [{"enrolment_id": place.enrolment_id, "child_id": place.child_id}],
        }
        return SessionRequest("/floor/sessions", floor_body, headers, session_id, place)

    def log_session(self, client: Client, side: str) -> tuple[str, ChildPlace] | None:
        wanted = self.next_session(side)
        answer = client.request(
            LOG_SESSION,
            "POST",
            wanted.path,
            body=wanted.body,
            expect=201,
            headers=wanted.headers,
            check=lambda answer, _: wanted.problem(answer),
        )
        if answer is None:
            return None
        with client.lock:
            client.tally.sessions_created += 1
        return wanted.session_id, wanted.place

    def caseload_path(self, side: str) -> str:
        if side == API:
            return f"/children?page_size={CASELOAD_PAGE_SIZE}"
        if side == SAME_WORK:
            return f"{SAME_WORK_PREFIX}/children?page_size={CASELOAD_PAGE_SIZE}"
        return f"/floor/mentors/{self.mentor.user_id}/children?page_size={CASELOAD_PAGE_SIZE}"

    def record_check_in(self, client: Client, session_id: str, place: ChildPlace) -> None:
        client.request(
            CHECK_IN,
            "POST",
            f"/children/{place.child_id}/check-ins",
            body={"instrument": "ons4", "answers": ONS4_ANSWERS, "session_id": session_id},
            expect=201,
            headers={"Idempotency-Key": str(uuid.uuid4())},
            check=lambda answer, _: None if answer["session_id"] == session_id else "wrong check-in answer",
        )


def session_start(weeks_back: int) -> datetime:
    """Tuesday 16:00 in London, `weeks_back` weeks before this week."""
    today = datetime.now(ZoneInfo(TIME_ZONE)).date()
    monday = today - timedelta(days=today.weekday())
    day = monday - timedelta(weeks=weeks_back) + timedelta(days=1)
    return datetime(day.year, day.month, day.day, 16, 0, tzinfo=ZoneInfo(TIME_ZONE)).astimezone(UTC)


def mentors_day(phone: MentorsPhone, client: Client, deadline: float, sessions_per_day: int) -> None:
    def time_left() -> bool:
        return time.perf_counter() < deadline

    client.accepts_gzip = True  # as a phone does (the compared operations stay as they were)

    while time_left():
        if not phone.sign_in(client):
            continue
        for step in (lambda: phone.sync(client), lambda: phone.list_caseload(client, API)):
            if not time_left():
                return
            step()
        for _ in range(sessions_per_day):
            if not time_left():
                return
            logged = phone.log_session(client, API)
            if logged and time_left():
                phone.record_check_in(client, *logged)
        if time_left():
            phone.sync(client)


def run_phase(plan: Plan, phase: Phase, phones: list[MentorsPhone], tokens: dict[str, str]) -> Tally:
    tally, lock = Tally(), threading.Lock()
    base_url = {API: plan.api_url, SAME_WORK: plan.same_work_url, FLOOR: plan.floor_url}[phase.side]
    signed_in = (API, SAME_WORK)  # the sides that take the API's bearer token
    start_together = threading.Barrier(len(phones) + 1)
    deadline = [0.0]

    def drive(phone: MentorsPhone) -> None:
        client = Client(base_url, tally, lock)
        client.token = tokens.get(phone.mentor.user_id) if phase.side in signed_in else None
        if phase.side in signed_in and phase.name != "day" and not client.token:
            # Before the start, and always through the API: its time is not counted in the compared operations.
            api_client = Client(plan.api_url, Tally(), lock)
            phone.sign_in(api_client)
            api_client.close()
            client.token = tokens[phone.mentor.user_id] = api_client.token or ""
        start_together.wait()
        try:
            if phase.name == "day":
                mentors_day(phone, client, deadline[0], plan.sessions_per_day)
                if client.token:
                    tokens[phone.mentor.user_id] = client.token
                return
            while time.perf_counter() < deadline[0]:
                if phase.name == LOG_SESSION:
                    phone.log_session(client, phase.side)
                else:
                    phone.list_caseload(client, phase.side)
        except Exception as error:  # a bug in the bench is an error too, never silence
            client._error(phase.name, f"client crashed: {error!r}")
        finally:
            client.close()

    threads = [threading.Thread(target=drive, args=(phone,)) for phone in phones]
    for thread in threads:
        thread.start()
    started = time.perf_counter()
    deadline[0] = started + phase.seconds
    start_together.wait()
    for thread in threads:
        thread.join()
    tally.wall = time.perf_counter() - started
    return tally


def generate_load(plan: Plan, results: Connection) -> None:
    """The load generator's process: each phase in turn, every client thread a virtual mentor."""
    weeks_back: dict[str, int] = {}
    phones = [MentorsPhone(mentor, weeks_back) for mentor in plan.mentors]
    tokens: dict[str, str] = {}
    tallies = []
    try:
        for phase in plan.phases:
            label = f"{phase.name} ({phase.side}{', warm-up' if not phase.counted else ''})"
            print(f"  {label}: {phase.seconds:g} s ...", flush=True)
            cpu = time.process_time()
            tally = run_phase(plan, phase, phones, tokens)
            tally.generator_cpu = time.process_time() - cpu
            tallies.append(tally)
    except BaseException as error:
        results.send(f"the load generator failed: {error!r}")
        raise
    results.send(tallies)


# --- The servers ----------------------------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


@contextmanager
def gunicorn(
    app: str,
    *,
    chdir: Path,
    env: dict[str, str],
    config: Path,
    worker_class: str,
    workers: int,
    threads: int,
    health: str,
) -> Iterator[str]:
    """A gunicorn serving `app` on a free local port, stopped (by its own pid) on leaving.

    Both servers get exactly these settings and no others: `config` is an empty file, so the repository's
    ./gunicorn.conf.py (read by default from the working directory) does not apply to one of them only (its
    access log would cost the API alone, and flood this output); no control socket, as two servers run at once."""
    port = free_port()
    command = [
        sys.executable,
        "-m",
        "gunicorn",
        "--config",
        str(config),
        "--no-control-socket",
        "--chdir",
        str(chdir),
        "--worker-class",
        worker_class,
        "--workers",
        str(workers),
        "--threads",
        str(threads),
        "--bind",
        f"127.0.0.1:{port}",
        "--keep-alive",
        "30",
        "--backlog",
        "512",
        "--log-level",
        "warning",
        app,
    ]
    server = subprocess.Popen(command, env={**os.environ, **env}, cwd=chdir, stdout=subprocess.DEVNULL)
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            if server.poll() is not None:
                raise SystemExit(f"gunicorn for {app} stopped at start (exit {server.returncode})")
            try:
                with urllib.request.urlopen(url + health, timeout=5) as response:
                    if response.status == 200:
                        break
            except OSError:
                pass
            if time.monotonic() > deadline:
                raise SystemExit(f"gunicorn for {app} did not answer {health} within 60 s")
            time.sleep(0.2)
        yield url
    finally:
        server.send_signal(signal.SIGTERM)
        try:
            server.wait(30)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait()


# --- The throwaway database and the invented data ---------------------------------------------------------------


@contextmanager
def throwaway_database(postgres_admin_url: str, *, keep: bool) -> Iterator[str]:
    name = f"bench_load_{secrets.token_hex(6)}"
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


def create_caseloads(database: Database, *, mentors: int, children_per_mentor: int) -> list[Mentor]:
    """A programme, a cohort with a place for every child (one session a week each), a coordinator, and M mentors
    each with N children allocated; every mentor and child with a drama-range mobile of their own."""
    now = datetime.now(UTC)
    tag = secrets.token_hex(3)
    numbers = iter(f"{DRAMA_MOBILE_PREFIX}{n:03d}" for n in range(DRAMA_NUMBERS))
    with database.session() as db_session:
        programme = programmes_service.create_programme(
            db_session,
            name=f"Load bench programme {tag}",
            time_zone=TIME_ZONE,
            offer_lapse_hours=72,
            districts=["Medway"],
            session_activities=ACTIVITIES,
            now=now,
            check_in_instruments=["ons4"],
        )
        cohort = programmes_service.add_cohort(
            db_session,
            programme_id=programme.id,
            name="Load bench cohort",
            places=mentors * children_per_mentor,
            max_sessions_per_week=1,
            planned_weeks=26,
            now=now,
        )
        coordinator = accounts_service.create_user(
            db_session,
            email=f"load-coordinator-{tag}@example.org",
            display_name="Load Coordinator",
            role=Role.COORDINATOR,
            password=PASSWORD,
            programme_id=programme.id,
            max_caseload=None,
            now=now,
        )
    actor = Actor(user_id=coordinator.id, role=coordinator.role, programme_id=coordinator.programme_id)
    made: list[Mentor] = []
    started = time.perf_counter()
    for m in range(mentors):
        with database.session() as db_session:
            mentor = accounts_service.create_user(
                db_session,
                email=f"load-mentor-{m:03d}-{tag}@example.org",
                display_name=f"Mentor {m:03d}",
                role=Role.MENTOR,
                password=PASSWORD,
                programme_id=programme.id,
                max_caseload=children_per_mentor,
                now=now,
                mobile_e164=next(numbers),
                accept_drama_numbers=True,
            )
        places = []
        for c in range(children_per_mentor):
            with database.session() as db_session:
                index = m * children_per_mentor + c
                record = children_service.create_child(
                    db_session,
                    actor=actor,
                    programme_id=programme.id,
                    first_name=FIRST_NAMES[index % len(FIRST_NAMES)],
                    last_name=f"Load{index:03d}",
                    date_of_birth=date(2012, 5, 17),
                    district="Medway",
                    school=None,
                    phone_numbers=[NewPhoneNumber(next(numbers), PhoneOwner.CHILD)],
                    accept_drama_numbers=True,
                    now=now,
                )
                child_id = record.child.id
                referral = referrals_service.create_referral(
                    db_session,
                    actor=actor,
                    child_id=child_id,
                    cohort_id=cohort.id,
                    source=ReferralSource.SCHOOL,
                    source_name="Load bench school",
                    reason="Invented referral for the API load bench.",
                    priority=Priority.NORMAL,
                    referred_on=None,
                    now=now,
                )
                enrolment = referrals_service.accept_referral(
                    db_session, actor=actor, referral_id=referral.id, now=now
                ).enrolment
                enrolments_allocations.allocate_mentor(
                    db_session, actor=actor, enrolment_id=enrolment.id, mentor_id=mentor.id, now=now
                )
                places.append(ChildPlace(str(child_id), str(enrolment.id)))
        made.append(Mentor(str(mentor.id), mentor.email, str(programme.id), places))
        elapsed = time.perf_counter() - started
        print(f"  mentor {m + 1}/{mentors} with {children_per_mentor} children ({elapsed:.0f} s)", flush=True)
    return made


def backdate_support(database: Database) -> None:
    """Every child's support started 1000 weeks ago, so the load can log a past session in a week of its own for each
    child (the cohort's cap is one a week, and sessions outside a child's planned support are refused): the services
    start support now, and no operation backdates it. Written directly, once, before any session exists."""
    with database.engine.begin() as connection:
        connection.execute(
            text("UPDATE enrolment SET started_at = started_at - make_interval(weeks => 1000) WHERE status = 'active'")
        )


# --- Figures ----------------------------------------------------------------------------------------------------


def percentile(ordered: Sequence[float], p: float) -> float:
    """Nearest rank: the smallest value with at least p% of the values at or below it."""
    return ordered[max(0, math.ceil(p / 100 * len(ordered)) - 1)]


@dataclass
class Figures:
    requests: int
    seconds: float
    latencies: list[float]
    errors: int

    @property
    def rate(self) -> float:
        return self.requests / self.seconds if self.seconds else 0.0

    def row(self, label: str) -> str:
        ordered = sorted(self.latencies)
        if ordered:
            cells = "".join(f"{percentile(ordered, p) * 1000:8.1f}" for p in (50, 90, 95, 99))
        else:
            cells = "".join(f"{'-':>8}" for _ in range(4))
        return f"  {label:<32}{self.requests:>9}{self.rate:>9.1f}{cells}{self.errors:>8}"


HEADER = f"  {'':<32}{'requests':>9}{'req/s':>9}{'p50 ms':>8}{'p90 ms':>8}{'p95 ms':>8}{'p99 ms':>8}{'errors':>8}"


def combine(tallies: Sequence[Tally], operation: str) -> Figures:
    latencies = [value for tally in tallies for value in tally.latencies.get(operation, [])]
    errors = sum(len(tally.errors.get(operation, [])) for tally in tallies)
    return Figures(len(latencies), sum(tally.wall for tally in tallies), latencies, errors)


def print_syncs_on_the_wire(tallies: Sequence[Tally]) -> None:
    """Per kind of sync: passes, pages per pass, each page's bytes on the wire (gzip'd) and of JSON, each pass's time
    (all its pages, back to back)."""
    print()
    print("Syncs in the mentor's day (the phones send Accept-Encoding: gzip; limit=200 changes a page):")
    print(
        f"  {'':<24}{'passes':>7}{'pages/pass':>12}{'KB/page, gzip':>15}{'KB/page, JSON':>15}{'pass p50 / p95 ms':>19}"
    )
    for operation in (FIRST_SYNC, SYNC):
        sizes = [size for tally in tallies for size in tally.sizes.get(operation, [])]
        passes = [one for tally in tallies for one in tally.passes.get(operation, [])]
        if not sizes or not passes:
            print(f"  {operation:<24}{'-':>7}")
            continue
        wire, body = [w for w, _ in sizes], [b for _, b in sizes]
        pages = [n for n, _ in passes]
        times = sorted(t for _, t in passes)

        def kb(values: list[int]) -> str:
            return f"{sum(values) / len(values) / 1024:.1f} ({max(values) / 1024:.1f})"

        print(
            f"  {operation:<24}{len(passes):>7}{f'{sum(pages) / len(pages):.1f} ({max(pages)})':>12}{kb(wire):>15}"
            f"{kb(body):>15}{f'{percentile(times, 50) * 1000:.0f} / {percentile(times, 95) * 1000:.0f}':>19}"
        )
    print("  (KB/page: mean (largest); the latency rows above are per page, these pass times per whole sync)")


# --- The profile ---------------------------------------------------------------------------------------------------


class Counting:
    """SQL statements, pool checkouts and commits on one engine, and the PostgreSQL backends serving it (whose CPU
    time /proc shows when the server runs on this machine)."""

    def __init__(self, engine: Any) -> None:
        self.statements = self.checkouts = self.commits = 0
        self.backends: set[int] = set()
        event.listen(engine, "before_cursor_execute", self._statement)
        event.listen(engine.pool, "checkout", self._checkout)
        event.listen(engine, "commit", self._commit)
        event.listen(engine, "connect", self._connect)

    def _connect(self, dbapi_connection: Any, _: Any) -> None:
        self.backends.add(dbapi_connection.info.backend_pid)

    def backend_cpu(self) -> float | None:
        """Seconds of CPU the backends have used so far, or None if /proc does not show them."""
        total = 0
        try:
            for pid in self.backends:
                fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
                total += int(fields[11]) + int(fields[12])  # utime and stime, in clock ticks
        except (OSError, IndexError, ValueError):
            return None
        return total / os.sysconf("SC_CLK_TCK")

    def _statement(self, *_: Any) -> None:
        self.statements += 1

    def _checkout(self, *_: Any) -> None:
        self.checkouts += 1

    def _commit(self, *_: Any) -> None:
        self.commits += 1

    def reset(self) -> None:
        self.statements = self.checkouts = self.commits = 0


def _bucket(filename: str) -> str:
    if "site-packages/" in filename:
        return filename.split("site-packages/", 1)[1].split("/", 1)[0].removesuffix(".py")
    if f"{ROOT}/api/" in filename:
        return "api (the app's own code)"
    if filename.startswith("~") or filename.startswith("<"):
        return "built-ins (C calls)"
    return "standard library"


class InProcess:
    """The three apps in this process (Flask test clients, no HTTP server, one request at a time) for one mentor of
    their own: the statement check before the load, and --profile after it."""

    def __init__(self, database_url: str, mentor: Mentor, secret_key: str, sides: Sequence[str] = SIDES) -> None:
        from floor_app import create_floor_app
        from same_work_floor import create_same_work_app

        from api.app import create_app

        makers: dict[str, Callable[[], Any]] = {
            API: lambda: create_app(
                {"SECRET_KEY": secret_key, "DATABASE_URL": database_url, "RATELIMIT_ENABLED": False}
            ),
            SAME_WORK: lambda: create_same_work_app(database_url, secret_key),
            FLOOR: lambda: create_floor_app(database_url),
        }
        self.apps = {side: makers[side]() for side in sides}
        self.counting = {side: Counting(same_work_check.engine_of(app)) for side, app in self.apps.items()}
        self.clients = {side: app.test_client() for side, app in self.apps.items()}
        self.mentor = mentor
        self.phone = MentorsPhone(mentor, {})
        signed_in = self.clients[API].post("/auth/sign-in", json={"email": mentor.email, "password": PASSWORD})
        if signed_in.status_code != 200 or not signed_in.json:
            raise SystemExit(f"in-process: the mentor could not sign in: {signed_in.status_code}")
        self.bearer = {"Authorization": f"Bearer {signed_in.json['access_token']}"}

    def check_statements(self) -> list[str]:
        """One request of each compared operation on the API and on the same-work floor: the same statements by kind
        and table, one commit each, the same answer's shape (bench/same_work_check.py)."""
        problems = []
        for operation in COMPARED:
            wanted = {}
            for side in (API, SAME_WORK):
                if operation == LOG_SESSION:
                    session = self.phone.next_session(side)
                    wanted[side] = same_work_check.Request(
                        "POST", session.path, session.body, self.bearer | session.headers, expect=201
                    )
                else:
                    wanted[side] = same_work_check.Request("GET", self.phone.caseload_path(side), None, self.bearer)
            problems += same_work_check.compare(
                operation, (self.apps[API], wanted[API]), (self.apps[SAME_WORK], wanted[SAME_WORK])
            )
        return problems

    def do(self, operation: str, side: str) -> None:
        client, auth = self.clients[side], self.bearer if side != FLOOR else {}
        phone = self.phone
        if operation == LOG_SESSION:
            wanted = phone.next_session(side)
            answer = client.post(wanted.path, json=wanted.body, headers=auth | wanted.headers)
            problem = None if answer.status_code == 201 else f"{answer.status_code} {answer.data[:300]!r}"
            problem = problem or wanted.problem(answer.json)
        else:
            answer = client.get(phone.caseload_path(side), headers=auth)
            problem = str(answer.status_code) if answer.status_code != 200 else phone.caseload_problem(answer.json)
        if problem:
            raise SystemExit(f"in-process: {operation} on the {side} went wrong: {problem}")

    def close(self) -> None:
        for app in self.apps.values():
            same_work_check.engine_of(app).dispose()

    def profile(self, requests: int) -> None:
        """`requests` times each compared operation on each app: wall and CPU per request, statements, checkouts and
        commits; then, for the API, the wall time of its own steps (cProfile, cumulative) and its CPU by package."""
        profile_operations(self, requests)


def profile_operations(in_process: InProcess, requests: int) -> None:
    do, counting = in_process.do, in_process.counting
    print()
    print(f"In this process, one request at a time, {requests} of each (Flask test client, no HTTP server):")
    print(f"  {'':<32}{'wall ms':>9}{'CPU ms':>9}{'PG CPU':>8}{'waiting':>9}{'SQL':>6}{'checkouts':>11}{'commits':>9}")
    profiles: dict[tuple[str, str], pstats.Stats] = {}
    cpu_per_request: dict[tuple[str, str], float] = {}
    for operation in COMPARED:
        for side in SIDES:
            for _ in range(3):
                do(operation, side)  # warm: compiled statements, caches, connections
            numbers = counting[side]
            numbers.reset()
            backend = numbers.backend_cpu()
            wall, cpu = time.perf_counter(), time.process_time()
            for _ in range(requests):
                do(operation, side)
            wall, cpu = (time.perf_counter() - wall) / requests * 1000, (time.process_time() - cpu) / requests * 1000
            after = numbers.backend_cpu()
            pg = (after - backend) / requests * 1000 if backend is not None and after is not None else None
            cpu_per_request[(operation, side)] = cpu + (pg or 0.0)
            print(
                f"  {operation + ', ' + side:<32}{wall:>9.1f}{cpu:>9.1f}{'-' if pg is None else f'{pg:.1f}':>8}"
                f"{max(0.0, wall - cpu - (pg or 0.0)):>9.1f}{numbers.statements / requests:>6.1f}"
                f"{numbers.checkouts / requests:>11.1f}{numbers.commits / requests:>9.1f}"
            )
        # Then the API again under the profiler: once timed by the wall clock (so waiting on PostgreSQL shows in
        # the step that waits), once by CPU (where this process's own work goes).
        for timer, kind in ((time.perf_counter, "wall"), (time.process_time, "cpu")):
            profiler = cProfile.Profile(timer)
            profiler.enable()
            for _ in range(requests):
                do(operation, API)
            profiler.disable()
            profiles[(operation, kind)] = pstats.Stats(profiler)
    print(
        "  (CPU: this process's; PG CPU: its PostgreSQL backends', from /proc, 10 ms ticks; waiting: the rest of the\n"
        "  wall time: commits' flushes to disk, round trips, and queueing for a core behind anything else running)"
    )
    for operation in COMPARED:
        api_cpu = cpu_per_request[(operation, API)]
        same, bare = cpu_per_request[(operation, SAME_WORK)], cpu_per_request[(operation, FLOOR)]
        if api_cpu > 0:
            print(
                f"  {operation}: CPU per request, app and PostgreSQL together: API {api_cpu:.1f} ms, same-work floor "
                f"{same:.1f} ms, bare floor {bare:.1f} ms; if CPU were all that limits, API / same-work ~ "
                f"{same / api_cpu:.2f}, API / bare ~ {bare / api_cpu:.2f}"
            )
    for operation in COMPARED:
        print()
        print(f"Where the API's time goes, {operation} (cProfile by the wall clock, ms per request, cumulative):")
        by_wall: dict[Any, Any] = profiles[(operation, "wall")].stats  # type: ignore[attr-defined]
        steps = [
            (cumulative, f"{Path(filename).relative_to(ROOT)}:{line}({name})")
            for (filename, line, name), (_, _, _, cumulative, _) in by_wall.items()
            if filename.startswith(f"{ROOT}/api/")
        ]
        for cumulative, label in sorted(steps, reverse=True)[:14]:
            print(f"  {cumulative / requests * 1000:7.1f}  {label}")
        driver = {
            kind: sum(
                cumulative
                for (filename, _, name), (_, _, _, cumulative, _) in by_wall.items()
                if filename.endswith(path) and name in names
            )
            / requests
            * 1000
            for kind, path, names in (
                ("execute", "psycopg/cursor.py", ("execute", "executemany")),
                ("commit", "psycopg/connection.py", ("commit",)),
            )
        }
        print(
            f"  of the wall time, in the driver: {driver['execute']:.1f} ms executing statements (sent, run and "
            f"answered), {driver['commit']:.1f} ms committing"
        )
        by_cpu: dict[Any, Any] = profiles[(operation, "cpu")].stats  # type: ignore[attr-defined]
        by_package: dict[str, float] = defaultdict(float)
        for (filename, _, _), (_, _, own, _, _) in by_cpu.items():
            by_package[_bucket(filename)] += own
        total = sum(by_package.values()) or 1.0
        ranked = sorted(by_package.items(), key=lambda item: -item[1])
        shares = [f"{package} {own / total:.0%}" for package, own in ranked[:6]]
        shares.append(f"the rest {sum(own for _, own in ranked[6:]) / total:.0%}")
        print(f"  CPU ({total / requests * 1000:.1f} ms per request, profiled) by package: {', '.join(shares)}")


# The first syncs profiled in-process, in a database of their own (so the load's checks never count their rows).
FIRST_SYNC_CASELOADS = (8, 14)


def settle(engine: Any, *, seconds: float = 120) -> None:
    """Wait until every transaction on the server older than the newest change has finished: the sync serves a change
    only then (api/sync/rules.py), and anything else on the server (a test run, a dataset being made) may hold one."""
    if engine.dialect.name != "postgresql":
        return
    deadline = time.monotonic() + seconds
    with engine.connect() as connection:
        while True:
            newest = connection.scalar(text("SELECT max(txid) FROM change_event"))
            horizon = connection.scalar(text("SELECT pg_snapshot_xmin(pg_current_snapshot())::text::bigint"))
            connection.rollback()
            if newest is None or horizon > newest:
                return
            if time.monotonic() > deadline:
                print(f"  (a transaction elsewhere on the server held sync back {seconds:g} s: pages may be short)")
                return
            time.sleep(0.1)


def profile_first_sync(postgres_admin_url: str, secret_key: str) -> None:
    """A phone's first sync, in this process (Flask test client), for a mentor with 8 children and one with 14, each
    child with what a phone's first sync meets: a weekly pattern (a planned session every week of the enrolment's 26),
    a check-in and a goal. Per page: the statements (the same for both caseloads: api/sync/feed.py states the bound),
    KB gzip'd and of JSON, and the wall time. In a new database, dropped at the end."""
    print()
    print("A phone's first sync, in this process:")
    with throwaway_database(postgres_admin_url, keep=False) as database_url:
        database = Database(database_url)
        try:
            # A programme each, so each caseload's mobiles come from the bottom of the range, as the load's do.
            mentors = [create_caseloads(database, mentors=1, children_per_mentor=n)[0] for n in FIRST_SYNC_CASELOADS]
        finally:
            database.dispose()
        first_syncs(database_url, secret_key, mentors)


def first_syncs(database_url: str, secret_key: str, mentors: list[Mentor]) -> None:
    from api.app import create_app

    app = create_app({"SECRET_KEY": secret_key, "DATABASE_URL": database_url, "RATELIMIT_ENABLED": False})
    counting = Counting(app.extensions["reachable.db"].engine)
    client = app.test_client()
    print("  limit=200, Accept-Encoding: gzip, Flask test client")
    print(f"  {'':<24}{'changes':>8}{'pages':>6}  per page: statements, KB gzip'd / KB of JSON, wall ms")
    try:
        for mentor in mentors:
            signed_in = client.post("/auth/sign-in", json={"email": mentor.email, "password": PASSWORD})
            if signed_in.status_code != 200 or not signed_in.json:
                raise SystemExit(f"profile: the mentor could not sign in: {signed_in.status_code}")
            auth = {"Authorization": f"Bearer {signed_in.json['access_token']}"}
            pattern = {"slots": [{"weekday": 3, "start": "16:00"}], "duration_minutes": 60, "location_category": "home"}
            for place in mentor.children:
                for path, body in (
                    (f"/enrolments/{place.enrolment_id}/patterns", pattern),
                    (f"/children/{place.child_id}/check-ins", {"instrument": "ons4", "answers": ONS4_ANSWERS}),
                    (f"/children/{place.child_id}/goals", {"description": "Back to football on Saturdays"}),
                ):
                    answer = client.post(path, json=body, headers=auth)
                    if answer.status_code != 201:
                        raise SystemExit(f"profile: POST {path} answered {answer.status_code}: {answer.json}")
            settle(app.extensions["reachable.db"].engine)
            cursor, pages, changes = None, [], 0
            while True:
                query = f"?limit=200&cursor={cursor}" if cursor else "?limit=200"
                counting.reset()
                started = time.perf_counter()
                answer = client.get("/sync" + query, headers=auth | {"Accept-Encoding": "gzip"})
                wall = time.perf_counter() - started
                wire = answer.get_data()
                content = gzip.decompress(wire) if answer.headers.get("Content-Encoding") == "gzip" else wire
                if answer.status_code != 200:
                    raise SystemExit(f"profile: GET /sync answered {answer.status_code}: {content[:300]!r}")
                page = json.loads(content)
                kb = f"{len(wire) / 1024:.1f} / {len(content) / 1024:.1f}"
                pages.append(f"{counting.statements}, {kb}, {wall * 1000:.0f}")
                changes += len(page["changes"])
                cursor = page["cursor"]
                if not page["has_more"]:
                    break
            label = f"{len(mentor.children)} children"
            print(f"  {label:<24}{changes:>8}{len(pages):>6}  {'; '.join(pages)}")
    finally:
        app.extensions["reachable.db"].dispose()


# --- Main -------------------------------------------------------------------------------------------------------


def parse_arguments(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    parser.add_argument("--postgres-admin-url", default=DEFAULT_POSTGRES_ADMIN_URL)
    parser.add_argument("--keep-database", action="store_true", help="keep the database this run made")
    parser.add_argument("--mentors", type=int, default=16, help="virtual mentors, and so concurrent clients")
    parser.add_argument("--children-per-mentor", type=int, default=8)
    parser.add_argument("--workers", type=int, default=2, help="gunicorn workers (each server)")
    parser.add_argument("--threads", type=int, default=4, help="gunicorn threads per worker (gthread)")
    parser.add_argument(
        "--worker-class", choices=["gthread", "sync"], default="gthread", help="gunicorn worker class (each server)"
    )
    parser.add_argument("--day-seconds", type=float, default=60, help="the mentor's day phase (0: skip it)")
    parser.add_argument("--sessions-per-day", type=int, default=4, help="sessions (each with a check-in) a day")
    parser.add_argument("--seconds", type=float, default=10, help="each measured API or floor phase")
    parser.add_argument("--rounds", type=int, default=2, help="API-then-floor rounds per compared operation")
    parser.add_argument("--warm-up", type=float, default=3, help="seconds of each compared operation, not counted")
    parser.add_argument("--profile", type=int, default=0, metavar="N", help="cProfile N requests of each")
    arguments = parser.parse_args(argv)
    if arguments.mentors < 1 or arguments.children_per_mentor < 1:
        parser.error("--mentors and --children-per-mentor must be at least 1")
    # One more mentor, in this process: the statement check, and --profile.
    numbers = (arguments.mentors + 1) * (arguments.children_per_mentor + 1)
    if numbers > DRAMA_NUMBERS:
        parser.error(
            f"mentors x (children per mentor + 1) needs {numbers} mobiles: Ofcom's only drama range for mobiles, "
            f"07700 900000 to 900999, has {DRAMA_NUMBERS}, and no number is shared"
        )
    if arguments.seconds <= 0 or arguments.rounds < 1 or arguments.workers < 1 or arguments.threads < 1:
        parser.error("--seconds must be positive; --rounds, --workers and --threads at least 1")
    return arguments


def phases(arguments: argparse.Namespace) -> list[Phase]:
    planned = []
    if arguments.day_seconds > 0:
        planned.append(Phase("day", API, arguments.day_seconds, counted=True))
    for operation in COMPARED:
        if arguments.warm_up > 0:
            planned += [Phase(operation, side, arguments.warm_up, counted=False) for side in SIDES]
        for round_number in range(arguments.rounds):
            # Each side goes first, second and last in turn, round after round.
            order = SIDES[round_number % 3 :] + SIDES[: round_number % 3]
            planned += [Phase(operation, side, arguments.seconds, counted=True) for side in order]
    return planned


def server_settings(arguments: argparse.Namespace) -> str:
    if arguments.worker_class == "sync":
        return f"sync, {arguments.workers} workers (one request at a time each)"
    return f"gthread, {arguments.workers} workers x {arguments.threads} threads"


def load_average() -> str:
    return " / ".join(f"{value:.2f}" for value in os.getloadavg())


def machine_facts() -> str:
    cores = os.cpu_count()
    usable = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else cores
    return f"{cores} cores ({usable} usable), load average {load_average()}, Python {platform.python_version()}"


def main(argv: Sequence[str] | None = None) -> int:
    arguments = parse_arguments(argv)
    secret_key = secrets.token_urlsafe(48)
    print(f"API load bench: {machine_facts()}")
    print(
        f"  {arguments.mentors} virtual mentors (one client thread each, in a separate process), "
        f"{arguments.children_per_mentor} children each; each server: gunicorn {server_settings(arguments)}"
    )
    with throwaway_database(arguments.postgres_admin_url, keep=arguments.keep_database) as url:
        database = Database(url)
        try:
            with database.engine.connect() as connection:
                version = connection.execute(text("SHOW server_version")).scalar()
            print(f"backend: PostgreSQL {version}")
            print("creating invented data through the services:")
            started = time.perf_counter()
            count = arguments.mentors + 1
            mentors = create_caseloads(database, mentors=count, children_per_mentor=arguments.children_per_mentor)
            backdate_support(database)
            with database.engine.begin() as connection:
                create_floor_tables(connection)
                create_floor_tables(connection, SAME_WORK_SCHEMA)
            print(
                f"  data created in {time.perf_counter() - started:.1f} s (floor tables: schemas floor and "
                f"{SAME_WORK_SCHEMA})"
            )
            in_process = InProcess(url, mentors.pop(), secret_key)
            print("the same-work floor's statements against the API's (one request of each, in this process):")
            mismatches = in_process.check_statements()
            if mismatches:
                print("FAILED: the same-work floor no longer runs the API's statements:")
                for problem in mismatches:
                    print(f"  {problem}")
                return 1
            profiled = in_process if arguments.profile else None
            return measure(arguments, database, url, mentors, profiled, secret_key)
        finally:
            database.dispose()


def measure(
    arguments: argparse.Namespace,
    database: Database,
    url: str,
    mentors: list[Mentor],
    profiled: InProcess | None,
    secret_key: str,
) -> int:
    with tempfile.TemporaryDirectory(prefix="bench-load-") as scratch:
        config = Path(scratch) / "gunicorn.bench.conf.py"
        config.write_text("# The load bench's servers: settings from the command line only.\n")
        settings: dict[str, Any] = {
            "config": config,
            "worker_class": arguments.worker_class,
            "workers": arguments.workers,
            "threads": arguments.threads,
        }
        api_env = {
            "REACHABLE_SECRET_KEY": secret_key,
            "REACHABLE_DATABASE_URL": url,
            # Rate limits off: sixteen phones at one address sign in far more often than a limit per address allows.
            "REACHABLE_RATELIMIT_ENABLED": "false",
            "REACHABLE_DEV_SMS_FILE": str(Path(scratch) / "dev-sms.jsonl"),
        }
        floor_env = {"BENCH_FLOOR_DATABASE_URL": url}
        same_work_env = floor_env | {"BENCH_SECRET_KEY": secret_key}
        bench = ROOT / "bench"
        with (
            gunicorn("wsgi:app", chdir=ROOT, env=api_env, health="/healthz", **settings) as api_url,
            gunicorn(
                "same_work_floor:app",
                chdir=bench,
                env=same_work_env,
                health=f"{SAME_WORK_PREFIX}/healthz",
                **settings,
            ) as same,
            gunicorn("floor_app:app", chdir=bench, env=floor_env, health="/floor/healthz", **settings) as fl,
        ):
            print(f"servers: API {api_url}, same-work floor {same}, bare floor {fl}; load generator:")
            plan = Plan(api_url, same, fl, mentors, phases(arguments), arguments.sessions_per_day)
            context = multiprocessing.get_context("spawn")
            ours, theirs = context.Pipe()
            generator = context.Process(target=generate_load, args=(plan, theirs))
            generator.start()
            theirs.close()  # so that if the generator dies, recv() ends instead of waiting for ever
            try:
                answer: list[Tally] | str = ours.recv()
            except EOFError:
                answer = f"the load generator stopped (exit {generator.exitcode}) without reporting"
            generator.join()
            if isinstance(answer, str):
                print(f"FAILED: {answer}")
                return 1
            tallies = answer
    return report(arguments, database, plan, tallies, profiled, url, secret_key)


def report(
    arguments: argparse.Namespace,
    database: Database,
    plan: Plan,
    tallies: list[Tally],
    profiled: InProcess | None,
    url: str,
    secret_key: str,
) -> int:
    done = list(zip(plan.phases, tallies, strict=True))
    failures: list[str] = []
    print()
    day = [tally for phase, tally in done if phase.name == "day"]
    if day:
        print(f"A mentor's day against the API: {len(plan.mentors)} mentors, {arguments.day_seconds:g} s")
        print(HEADER)
        for operation in DAY_OPERATIONS:
            print(combine(day, operation).row(operation))
        everything = Figures(
            sum(len(values) for values in day[0].latencies.values()),
            day[0].wall,
            [value for values in day[0].latencies.values() for value in values],
            sum(len(values) for values in day[0].errors.values()),
        )
        print(everything.row("all"))
        print_syncs_on_the_wire(day)
        if arguments.profile:
            profile_first_sync(arguments.postgres_admin_url, secret_key)
    print()
    print(
        f"API against the same-work floor (the target) and the bare floor (information): {arguments.rounds} round(s) "
        f"x {arguments.seconds:g} s each side, in turn, {len(plan.mentors)} clients, after a {arguments.warm_up:g} s "
        f"warm-up of each"
    )
    print(HEADER)
    for operation in COMPARED:
        sides = {
            side: combine([t for p, t in done if p.name == operation and p.side == side and p.counted], operation)
            for side in SIDES
        }
        for side, figures in sides.items():
            print(figures.row(f"{operation}, {side}"))
        same = sides[API].rate / sides[SAME_WORK].rate if sides[SAME_WORK].rate else 0.0
        bare = sides[API].rate / sides[FLOOR].rate if sides[FLOOR].rate else 0.0
        verdict = "meets" if same >= TARGET_RATIO else "MISSES"
        print(f"  {'':<32}API / same-work floor throughput {same:.2f} ({verdict} the {TARGET_RATIO} target)")
        print(f"  {'':<32}API / bare floor throughput {bare:.2f} (information)")

    generator = []
    for side in SIDES:
        measured = [t for p, t in done if p.name in COMPARED and p.side == side]
        answered = sum(len(values) for t in measured for values in t.latencies.values())
        if answered:
            cpu_ms = sum(t.generator_cpu for t in measured) / answered * 1000
            generator.append(f"{cpu_ms:.2f} ms a request against the {side}")
    if generator:
        print(f"  (the load generator's own CPU: {', '.join(generator)})")

    for phase, tally in done:
        for operation, messages in tally.errors.items():
            for message in messages[:3]:
                failures.append(f"{phase.name}/{phase.side}/{operation}: {message}")
            if len(messages) > 3:
                failures.append(f"{phase.name}/{phase.side}/{operation}: ... and {len(messages) - 3} more")
    failures += check_sessions(database, plan, tallies)
    if profiled is not None:
        profiled.profile(arguments.profile)
    print()
    print(f"load average at the end: {load_average()} (this bench and anything else on the machine)")
    if failures:
        print("FAILED:")
        for failure in failures:
            print(f"  {failure}")
        return 1
    print("No errors; every answer and every stored session checked.")
    return 0


def check_sessions(database: Database, plan: Plan, tallies: list[Tally]) -> list[str]:
    """Each 201 is one stored session with one attendee, on each side; and nothing else was stored. Each floor must
    also have stored what the API stores with them: per session a change event, an audit row and a completed
    idempotency record; per child in a caseload it answered, an audit row. Only the load's mentors' rows are counted
    (the in-process mentor's, of the statement check and --profile, are not)."""
    created = dict.fromkeys(SIDES, 0)
    listed = dict.fromkeys(SIDES, 0)
    for phase, tally in zip(plan.phases, tallies, strict=True):
        created[phase.side] += tally.sessions_created
        listed[phase.side] += tally.children_listed
    mentors = {"mentors": [uuid.UUID(mentor.user_id) for mentor in plan.mentors]}
    problems = []
    with database.engine.connect() as connection:

        def count(sql: str) -> int:
            return int(connection.scalar(text(sql), mentors) or 0)

        for side, schema in ((API, "public"), (SAME_WORK, SAME_WORK_SCHEMA), (FLOOR, "floor")):
            ours = f"SELECT id FROM {schema}.mentoring_session WHERE mentor_id = ANY(:mentors)"
            sessions = count(f"SELECT count(*) FROM ({ours}) AS s")
            attendees = count(f"SELECT count(*) FROM {schema}.session_attendee WHERE session_id IN ({ours})")
            print(f"{side}: {created[side]} sessions answered 201; stored {sessions} sessions, {attendees} attendees")
            if not sessions == attendees == created[side]:
                problems.append(f"{side}: {created[side]} created, but {sessions} sessions, {attendees} attendees")
            if side == API:
                continue
            stored = {
                "completed idempotency records": count(
                    f"SELECT count(*) FROM {schema}.idempotency_record WHERE response_status = 201 "
                    "AND completed_at IS NOT NULL AND user_id = ANY(:mentors)"
                ),
                "change events": count(
                    f"SELECT count(*) FROM {schema}.change_event "
                    f"WHERE entity_type = 'session' AND entity_id IN ({ours})"
                ),
                "session.create audit rows": count(
                    f"SELECT count(*) FROM {schema}.audit_event WHERE action = 'session.create' "
                    "AND actor_user_id = ANY(:mentors)"
                ),
            }
            audited = count(
                f"SELECT count(*) FROM {schema}.audit_event "
                "WHERE action = 'child.list' AND actor_user_id = ANY(:mentors)"
            )
            print(
                f"{side}: also stored {', '.join(f'{n} {what}' for what, n in stored.items())}; "
                f"{audited} child.list audit rows for {listed[side]} children listed"
            )
            for what, n in stored.items():
                if n != created[side]:
                    problems.append(f"{side}: {created[side]} sessions created, but {n} {what}")
            if audited != listed[side]:
                problems.append(f"{side}: {listed[side]} children listed, but {audited} child.list audit rows")
    return problems


if __name__ == "__main__":
    sys.exit(main())
