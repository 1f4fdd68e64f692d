"""Sign-in bench: the morning sign-in, N mentors signing in within a minute, against the API under gunicorn (issue 20).

    .venv/bin/python bench/sign_in.py [--mentors 100] [--seconds 60] [--rush-seconds 10] [--seed 20] [--old-hashes]

First, in this process, the CPU of one password check (argon2id verify) at argon2-cffi's default cost (RFC 9106's
low-memory profile, t=3, 64 MiB, p=4, what passwords were hashed with before issue 20) and at each of the five
configurations OWASP's Password Storage Cheat Sheet holds equivalent, the one chosen (api/accounts/rules.py,
PASSWORD_HASH_COST) marked; and from it the sign-ins a second the machine's cores could sustain if the hash were
all a sign-in cost.

Then it makes a new PostgreSQL database (api_load.py's throwaway_database: dropped at the end unless
--keep-database), with one programme and N mentors created through the accounts service, so their passwords are
hashed at the production cost; no phone numbers are needed. It starts the real app (`wsgi:app`) under gunicorn
with api_load.py's settings (gthread, --workers x --threads, rate limits off: every mentor here signs in from one
address), warms each worker with a few sign-ins of a mentor of its own, and then, open loop, each mentor signs in
once at a time drawn at random (seeded) over --seconds: 100 arrival times uniform over the minute, that is a
Poisson process given its count. A sign-in starts at its time whether or not earlier ones have been answered, on
a connection of its own (one phone each), so a slow server queues requests rather than slowing the arrivals.
With --rush-seconds S (10 by default; 0 skips it), the same mentors sign in again, all within S seconds: a
morning rush.

It prints, for each phase, p50/p95/p99/max latency from each mentor's arrival to the answer (ms, nearest rank),
how late the generator started the latest one (it should be near zero, else the generator, not the server, set
the pace), and how busy the machine's cores were during the phase (everything on the machine, not only the app).
With --old-hashes every mentor's stored hash is set to one made at the old default before each phase: the first
morning after the change, when each sign-in checks the old hash and makes a new one.

Every answer is checked: 200 with a token pair, each access token names its mentor (GET /auth/me, after the
phase, untimed), and after each phase every mentor's stored hash is at the current cost. It exits 1 on any wrong
answer, never on slowness. Speed is measured here, never asserted in tests.
"""

from __future__ import annotations

import argparse
import os
import random
import secrets
import sys
import tempfile
import threading
import time
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from importlib.metadata import version
from pathlib import Path
from typing import Any

from api_load import (  # bench/ is on sys.path when this file is run
    DEFAULT_POSTGRES_ADMIN_URL,
    PASSWORD,
    ROOT,
    SIGN_IN,
    TIME_ZONE,
    Client,
    Tally,
    gunicorn,
    load_average,
    machine_facts,
    percentile,
    throwaway_database,
)
from argon2 import PasswordHasher, extract_parameters
from sqlalchemy import select, text

from api.accounts import service as accounts_service
from api.accounts.models import AppUser
from api.accounts.rules import PASSWORD_HASH_COST, HashCost
from api.actors import Role
from api.db import Database
from api.programmes import service as programmes_service

OLD_DEFAULT = HashCost(time_cost=3, memory_kib=64 * 1024, parallelism=4)  # argon2-cffi's PasswordHasher()
# OWASP Password Storage Cheat Sheet, argon2id: five configurations of equal defence, memory traded for passes.
OWASP_EQUIVALENTS = [
    HashCost(time_cost=1, memory_kib=47104, parallelism=1),
    HashCost(time_cost=2, memory_kib=19456, parallelism=1),
    HashCost(time_cost=3, memory_kib=12288, parallelism=1),
    HashCost(time_cost=4, memory_kib=9216, parallelism=1),
    HashCost(time_cost=5, memory_kib=7168, parallelism=1),
]
WARM_UP_SIGN_INS = 8


@dataclass(frozen=True)
class Mentor:
    user_id: str
    email: str


@dataclass
class Phase:
    """What one phase's sign-ins saw: latency from arrival to answer, how late each started, errors, tokens."""

    name: str
    seconds: float
    latencies: list[float] = field(default_factory=list)
    lateness: list[float] = field(default_factory=list)
    tokens: dict[str, str] = field(default_factory=dict)
    tally: Tally = field(default_factory=Tally)
    busy: float | None = None  # the machine's cores, fraction busy over the phase
    server_cpu: float = 0.0  # gunicorn's CPU seconds over the phase
    wall: float = 0.0


# --- CPU per verify, in-process ---------------------------------------------------------------------------------


def hasher(cost: HashCost) -> PasswordHasher:
    return PasswordHasher(time_cost=cost.time_cost, memory_cost=cost.memory_kib, parallelism=cost.parallelism)


def describe(cost: HashCost) -> str:
    return f"t={cost.time_cost}, m={cost.memory_kib} KiB ({cost.memory_kib / 1024:.0f} MiB), p={cost.parallelism}"


def verify_cost(cost: HashCost, repeats: int) -> tuple[float, float]:
    """CPU ms and wall ms of one verify of a right password, averaged over `repeats` (after one not counted).
    process_time counts every thread of this process, so the lanes of p=4 are all counted."""
    check = hasher(cost)
    stored = check.hash(PASSWORD)
    check.verify(stored, PASSWORD)
    cpu, wall = time.process_time(), time.perf_counter()
    for _ in range(repeats):
        check.verify(stored, PASSWORD)
    return (time.process_time() - cpu) / repeats * 1000, (time.perf_counter() - wall) / repeats * 1000


def print_verify_costs(repeats: int, cores: int) -> None:
    print(
        f"CPU of one password check (argon2id verify), in this process, {repeats} each, argon2-cffi "
        f"{version('argon2-cffi')}:"
    )
    print(f"  {'cost':<58}{'CPU ms':>8}{'wall ms':>9}  sign-ins/s on {cores} cores, the hash alone")
    rows = [("argon2-cffi default (old)", OLD_DEFAULT)]
    rows += [("OWASP" + (", chosen" if cost == PASSWORD_HASH_COST else ""), cost) for cost in OWASP_EQUIVALENTS]
    for label, cost in rows:
        cpu_ms, wall_ms = verify_cost(cost, repeats)
        print(f"  {describe(cost) + ' ' + label:<58}{cpu_ms:>8.1f}{wall_ms:>9.1f}  {cores * 1000 / cpu_ms:>6.1f}")
    print("  (each row: t, memory, lanes; then what it is. A sign-in costs more than its hash: see the phases.)")


# --- The mentors ------------------------------------------------------------------------------------------------


def create_mentors(database: Database, count: int) -> list[Mentor]:
    """A programme and `count` mentors (plus one to warm the servers with), through the accounts service."""
    now = datetime.now(UTC)
    tag = secrets.token_hex(3)
    made = []
    with database.session() as db_session:
        programme = programmes_service.create_programme(
            db_session,
            name=f"Sign-in bench programme {tag}",
            time_zone=TIME_ZONE,
            offer_lapse_hours=72,
            districts=["Medway"],
            session_activities=["Talking and listening"],
            now=now,
        )
    for m in range(count + 1):
        with database.session() as db_session:
            user = accounts_service.create_user(
                db_session,
                email=f"sign-in-mentor-{m:03d}-{tag}@example.org",
                display_name=f"Mentor {m:03d}",
                role=Role.MENTOR,
                password=PASSWORD,
                programme_id=programme.id,
                max_caseload=8,
                now=now,
            )
            made.append(Mentor(str(user.id), user.email))
    return made


def set_hashes(database: Database, mentors: list[Mentor], password_hash: str) -> None:
    with database.engine.begin() as connection:
        connection.execute(
            text("UPDATE app_user SET password_hash = :hash WHERE id = :id"),
            [{"hash": password_hash, "id": mentor.user_id} for mentor in mentors],
        )


def hashes_not_at_current_cost(database: Database, mentors: list[Mentor]) -> list[str]:
    wanted = {mentor.user_id for mentor in mentors}
    with database.session() as db_session:
        rows = db_session.execute(select(AppUser.id, AppUser.email, AppUser.password_hash)).all()
    problems = []
    for user_id, email, password_hash in rows:
        if str(user_id) not in wanted:
            continue
        parameters = extract_parameters(password_hash)
        got = HashCost(parameters.time_cost, parameters.memory_cost, parameters.parallelism)
        if got != PASSWORD_HASH_COST or parameters.type.name != "ID":
            problems.append(f"{email}: stored hash at {describe(got)}, {parameters.type.name}")
    return problems


# --- The open-loop load -----------------------------------------------------------------------------------------


def cpu_times() -> tuple[int, int]:
    """(busy, total) jiffies of every core, from /proc/stat (0, 0 where there is none)."""
    try:
        with open("/proc/stat") as stat:
            fields = [int(value) for value in stat.readline().split()[1:]]
    except OSError:
        return 0, 0
    idle = fields[3] + (fields[4] if len(fields) > 4 else 0)  # idle and iowait
    return sum(fields) - idle, sum(fields)


def servers_cpu() -> float:
    """CPU seconds so far of every process this bench started (gunicorn's master and workers, all their threads),
    from /proc (0 where there is none). PostgreSQL's backends are not among them."""
    children: dict[int, list[int]] = defaultdict(list)
    used: dict[int, int] = {}
    try:
        entries = [entry for entry in os.listdir("/proc") if entry.isdigit()]
    except OSError:
        return 0.0
    for entry in entries:
        try:
            with open(f"/proc/{entry}/stat") as stat:
                data = stat.read()
        except OSError:
            continue
        fields = data[data.rindex(")") + 2 :].split()  # after the command's name: state, ppid, ...
        children[int(fields[1])].append(int(entry))
        used[int(entry)] = int(fields[11]) + int(fields[12])  # utime + stime, in clock ticks
    total, pending = 0, list(children[os.getpid()])
    while pending:
        pid = pending.pop()
        total += used.get(pid, 0)
        pending += children[pid]
    return total / os.sysconf("SC_CLK_TCK")


def token_problem(answer: Any, _: object = None) -> str | None:
    if not (isinstance(answer, dict) and answer.get("access_token") and answer.get("refresh_token")):
        return f"not a token pair: {sorted(answer) if isinstance(answer, dict) else answer!r}"
    return None


def sign_in_open_loop(url: str, mentors: list[Mentor], offsets: list[float], phase: Phase) -> None:
    """Each mentor signs in at start + their offset, on a thread and connection of their own, answered or not."""
    lock = threading.Lock()

    def arrive(mentor: Mentor, at: float) -> None:
        client = Client(url, phase.tally, lock)
        try:
            answer = client.request(
                SIGN_IN,
                "POST",
                "/auth/sign-in",
                body={"email": mentor.email, "password": PASSWORD},
                expect=200,
                check=token_problem,
            )
            answered = time.perf_counter()
            if answer is not None:
                with lock:
                    phase.latencies.append(answered - at)
                    phase.tokens[mentor.user_id] = answer["access_token"]
        except Exception as error:  # a bug in the bench is an error too, never silence
            client._error(SIGN_IN, f"client crashed: {error!r}")
        finally:
            client.close()

    threads = []
    busy_before, total_before = cpu_times()
    server_before = servers_cpu()
    start = time.perf_counter() + 0.1
    for mentor, offset in sorted(zip(mentors, offsets, strict=True), key=lambda pair: pair[1]):
        at = start + offset
        delay = at - time.perf_counter()
        if delay > 0:
            time.sleep(delay)
        phase.lateness.append(max(0.0, time.perf_counter() - at))
        thread = threading.Thread(target=arrive, args=(mentor, at))
        thread.start()
        threads.append(thread)
    for thread in threads:
        thread.join()
    phase.wall = time.perf_counter() - start
    phase.server_cpu = servers_cpu() - server_before
    busy_after, total_after = cpu_times()
    if total_after > total_before:
        phase.busy = (busy_after - busy_before) / (total_after - total_before)


def warm_up(url: str, mentor: Mentor) -> None:
    """A few sign-ins at once, so each worker has imported, connected and compiled before the phase."""
    tally, lock = Tally(), threading.Lock()

    def once() -> None:
        client = Client(url, tally, lock)
        client.request(
            SIGN_IN,
            "POST",
            "/auth/sign-in",
            body={"email": mentor.email, "password": PASSWORD},
            expect=200,
            check=token_problem,
        )
        client.close()

    threads = [threading.Thread(target=once) for _ in range(WARM_UP_SIGN_INS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    if tally.errors:
        raise SystemExit(f"the warm-up's sign-ins failed: {dict(tally.errors)}")


def tokens_not_their_own(url: str, mentors: list[Mentor], phase: Phase) -> list[str]:
    """Each access token answered names its mentor (GET /auth/me), checked after the phase, untimed."""
    tally, lock = Tally(), threading.Lock()
    problems = []
    for mentor in mentors:
        token = phase.tokens.get(mentor.user_id)
        if token is None:
            continue  # already counted as an error of the sign-in
        client = Client(url, tally, lock)
        client.token = token
        answer = client.request("check", "GET", "/auth/me", expect=200)
        client.close()
        if answer is not None and answer.get("id") != mentor.user_id:
            problems.append(f"{mentor.email}: its token names {answer.get('id')}")
    problems += [message for messages in tally.errors.values() for message in messages]
    return problems


# --- Figures and the run ----------------------------------------------------------------------------------------


def print_phase(phase: Phase, mentors: int, cores: int) -> None:
    ordered = sorted(phase.latencies)
    errors = sum(len(messages) for messages in phase.tally.errors.values())
    print(f"  {phase.name}: {mentors} arrivals over {phase.seconds:g} s ({mentors / phase.seconds:.1f} a second)")
    if ordered:
        cells = " / ".join(f"{percentile(ordered, p) * 1000:.0f}" for p in (50, 95, 99))
        print(
            f"    p50 / p95 / p99 / max ms: {cells} / {ordered[-1] * 1000:.0f}   "
            f"answered {len(ordered)}, errors {errors}"
        )
    if phase.latencies and phase.server_cpu > 0:
        per_sign_in = phase.server_cpu / len(phase.latencies) * 1000
        print(
            f"    the app's CPU (gunicorn, all workers): {per_sign_in:.0f} ms a sign-in, so {cores} cores would "
            f"sustain about {cores * 1000 / per_sign_in:.0f} sign-ins a second (PostgreSQL's share not counted)"
        )
    busy = f"{phase.busy:.0%}" if phase.busy is not None else "unknown"
    print(
        f"    latest start {max(phase.lateness) * 1000:.1f} ms after its arrival time; the machine's cores "
        f"{busy} busy over the phase's {phase.wall:.1f} s (everything on the machine)"
    )


def parse_arguments(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    parser.add_argument("--postgres-admin-url", default=DEFAULT_POSTGRES_ADMIN_URL)
    parser.add_argument("--keep-database", action="store_true", help="keep the database this run made")
    parser.add_argument("--mentors", type=int, default=100, help="mentors, each signing in once a phase")
    parser.add_argument("--seconds", type=float, default=60, help="the window the arrivals are spread over")
    parser.add_argument("--rush-seconds", type=float, default=10, help="a second phase's window (0: none)")
    parser.add_argument("--seed", type=int, default=20, help="the arrival times' random seed")
    parser.add_argument("--old-hashes", action="store_true", help="every stored hash at the old default first")
    parser.add_argument("--verify-repeats", type=int, default=20, help="verifies timed per cost, in-process")
    parser.add_argument("--workers", type=int, default=2, help="gunicorn workers")
    parser.add_argument("--threads", type=int, default=4, help="gunicorn threads per worker (gthread)")
    parser.add_argument("--worker-class", choices=["gthread", "sync"], default="gthread")
    arguments = parser.parse_args(argv)
    if arguments.mentors < 1 or arguments.seconds <= 0 or arguments.rush_seconds < 0:
        parser.error("--mentors must be at least 1, --seconds positive and --rush-seconds not negative")
    if arguments.verify_repeats < 1 or arguments.workers < 1 or arguments.threads < 1:
        parser.error("--verify-repeats, --workers and --threads must be at least 1")
    return arguments


def main(argv: Sequence[str] | None = None) -> int:
    arguments = parse_arguments(argv)
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1
    print(f"Sign-in bench: {machine_facts()}")
    print(f"current cost (api/accounts/rules.py PASSWORD_HASH_COST): argon2id {describe(PASSWORD_HASH_COST)}")
    print()
    print_verify_costs(arguments.verify_repeats, cores)
    print()
    windows = [("one minute", arguments.seconds)]
    if arguments.rush_seconds > 0:
        windows.append(("morning rush", arguments.rush_seconds))
    rng = random.Random(arguments.seed)
    failures: list[str] = []
    with throwaway_database(arguments.postgres_admin_url, keep=arguments.keep_database) as url:
        database = Database(url)
        try:
            started = time.perf_counter()
            mentors = create_mentors(database, arguments.mentors)
            warm = mentors.pop()
            print(
                f"  {len(mentors)} mentors (and one for the warm-up) created through the service in "
                f"{time.perf_counter() - started:.1f} s"
            )
            old_hash = hasher(OLD_DEFAULT).hash(PASSWORD) if arguments.old_hashes else None
            with tempfile.TemporaryDirectory(prefix="bench-sign-in-") as scratch:
                config = Path(scratch) / "gunicorn.bench.conf.py"
                config.write_text("# The sign-in bench's server: settings from the command line only.\n")
                env = {
                    "REACHABLE_SECRET_KEY": secrets.token_urlsafe(48),
                    "REACHABLE_DATABASE_URL": url,
                    "REACHABLE_RATELIMIT_ENABLED": "false",  # every mentor here signs in from one address
                    "REACHABLE_DEV_SMS_FILE": str(Path(scratch) / "dev-sms.jsonl"),
                }
                settings = f"{arguments.worker_class}, {arguments.workers} workers"
                if arguments.worker_class == "gthread":
                    settings += f" x {arguments.threads} threads"
                with gunicorn(
                    "wsgi:app",
                    chdir=ROOT,
                    env=env,
                    config=config,
                    worker_class=arguments.worker_class,
                    workers=arguments.workers,
                    threads=arguments.threads,
                    health="/healthz",
                ) as api_url:
                    print(f"server: gunicorn {settings}, {api_url}; warming up with {WARM_UP_SIGN_INS} sign-ins")
                    warm_up(api_url, warm)
                    stored = "the old default (first morning after the change)" if old_hash else "the current cost"
                    print(
                        f"open loop, arrival times uniform random (seed {arguments.seed}), hashes stored at {stored}:"
                    )
                    for name, seconds in windows:
                        if old_hash:
                            set_hashes(database, mentors, old_hash)
                        phase = Phase(name, seconds)
                        offsets = [rng.uniform(0, seconds) for _ in mentors]
                        sign_in_open_loop(api_url, mentors, offsets, phase)
                        print_phase(phase, len(mentors), cores)
                        for messages in phase.tally.errors.values():
                            failures += [f"{name}: {message}" for message in messages]
                        failures += [f"{name}: {problem}" for problem in tokens_not_their_own(api_url, mentors, phase)]
                        failures += [f"{name}: {problem}" for problem in hashes_not_at_current_cost(database, mentors)]
        finally:
            database.dispose()
    print()
    print(f"load average at the end: {load_average()} (this bench and anything else on the machine)")
    if failures:
        print("FAILED:")
        for failure in failures[:20]:
            print(f"  {failure}")
        if len(failures) > 20:
            print(f"  ... and {len(failures) - 20} more")
        return 1
    print("No errors: every sign-in answered 200 with a token pair naming its mentor, every hash at the current cost.")
    return 0


if __name__ == "__main__":
    sys.exit(main())
