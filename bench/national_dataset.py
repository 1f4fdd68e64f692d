"""An invented national-scale dataset for the dashboard bench (issue 6, "Scale").

    .venv/bin/python bench/national_dataset.py --database-url postgresql+psycopg://postgres@127.0.0.1:5432/NAME \
        [--scale 1.0] [--keep]

Creates the PostgreSQL database (it must not exist yet), migrates it with Alembic (`api.migrate.upgrade`) and
fills it with INSERT ... SELECT generate_series, not the ORM, for speed. At --scale 1.0: 150 programmes (4 cohorts
and 5 districts each), 100,000 children, 10,000,000 sessions (one attendee each), 1,000,000 check-ins,
1,000,000 outcome events and 100,000 missing episodes; --scale multiplies every size (programmes at least 1).

Everything is invented: names come from a short list, and only the first 1,000 children have a phone number,
each their own from Ofcom's drama range for mobiles (+447700900000 to +447700900999). Ids are made from the row
number (a version-4-shaped UUID with a per-table digit), so rows can point at each other without lookups.
Every CHECK, foreign key and unique constraint of the migrations stays in force while the rows go in.

Without --keep the database is dropped at the end (useful only to time the generation); with it, it is left for
bench/dashboards.py. It finishes with VACUUM ANALYZE (statistics, and the visibility map a settled database has).
"""

from __future__ import annotations

import argparse
import math
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

import psycopg
from sqlalchemy.engine import make_url

from api import migrate
from api.accounts.signing_in import hash_password

PASSWORD = "bench-password-not-a-secret"  # every invented user's password, for bench/dashboards.py
DISTRICTS = 5
COHORTS = 4
FIRST_NAMES = ["Sam", "Ali", "Jordan", "Casey", "Riley", "Alex", "Morgan", "Taylor", "Jamie", "Charlie", "Rowan"]
LAST_NAMES = ["Smith", "Jones", "Patel", "Brown", "Khan", "Evans", "Walker", "Wright", "Hughes", "Green", "Ahmed"]
CHUNK = 1_000_000  # sessions (and attendees) inserted per statement, so progress shows


@dataclass(frozen=True)
class Sizes:
    programmes: int
    children: int
    sessions: int
    check_ins: int
    outcome_events: int
    missing_episodes: int

    @classmethod
    def at(cls, scale: float) -> Sizes:
        return cls(
            programmes=max(1, round(150 * scale)),
            children=max(50, round(100_000 * scale)),
            sessions=max(100, round(10_000_000 * scale)),
            check_ins=max(10, round(1_000_000 * scale)),
            outcome_events=max(10, round(1_000_000 * scale)),
            missing_episodes=max(10, round(100_000 * scale)),
        )


# Deterministic ids: '00000000-0000-4000-8T00-' + the row number in 12 hex digits, T one hex digit per table.
TABLE_DIGIT = {
    "programme": "1",
    "cohort": "2",
    "app_user": "3",
    "child": "4",
    "enrolment": "5",
    "referral": "6",
    "allocation": "7",
    "mentoring_session": "8",
    "session_attendee": "9",
    "check_in": "a",
    "check_in_score": "b",
    "outcome_event": "c",
    "missing_episode": "d",
    "return_conversation": "e",
    "phone_number": "f",
}


def uid(table: str, expr: str) -> str:
    return f"('00000000-0000-4000-8{TABLE_DIGIT[table]}00-' || lpad(to_hex(({expr})::bigint), 12, '0'))::uuid"


def sql_array(values: list[str]) -> str:
    return "ARRAY[" + ", ".join(f"'{value}'" for value in values) + "]"


def mentors_per_programme(sizes: Sizes) -> int:
    return max(1, math.ceil(sizes.children / sizes.programmes / 10))


def user_number(programme: str, slot: str) -> str:
    """Users of programme p are numbered p*1000 + slot: 0-1 coordinators, 2 commissioner, 10.. mentors."""
    return f"(({programme}) * 1000 + ({slot}))"


class Loader:
    def __init__(self, conn: psycopg.Connection, sizes: Sizes) -> None:
        self.conn = conn
        self.sizes = sizes
        self.started = time.perf_counter()

    @contextmanager
    def step(self, name: str) -> Iterator[None]:
        began = time.perf_counter()
        yield
        self.conn.commit()
        print(
            f"  {name:<28} {time.perf_counter() - began:8.1f} s   (total {time.perf_counter() - self.started:7.1f} s)",
            flush=True,
        )

    def run(self, sql: str, params: dict[str, object] | None = None) -> int:
        with self.conn.cursor() as cur:
            cur.execute(sql, params)
            return cur.rowcount

    def count(self, table: str) -> int:
        with self.conn.cursor() as cur:
            cur.execute(f"SELECT count(*) FROM {table}")
            row = cur.fetchone()
            return int(row[0]) if row else 0

    def load(self) -> None:
        s = self.sizes
        p = s.programmes
        m = mentors_per_programme(s)
        self.run("SET synchronous_commit = off")
        self.run("SET maintenance_work_mem = '256MB'")
        self.run("SET work_mem = '64MB'")
        self.run("CREATE TEMP TABLE bench_now AS SELECT date_trunc('minute', now()) AS now")

        with self.step(f"programmes {p}, cohorts {p * COHORTS}"):
            districts = "json_build_array(" + ", ".join(f"'District {d + 1}'" for d in range(DISTRICTS)) + ")"
            self.run(
                f"""INSERT INTO programme (id, name, time_zone, offer_lapse_hours, districts, created_at,
                        check_in_instruments)
                    SELECT {uid("programme", "g")}, 'Bench programme ' || lpad(g::text, 4, '0'), 'Europe/London',
                        72, {districts}, (SELECT now FROM bench_now) - interval '4 years',
                        '["ons4", "swemwbs", "gbo"]'::json
                    FROM generate_series(0, {p - 1}) g"""
            )
            places = max(1, round(s.children / p / COHORTS * 0.7))
            self.run(
                f"""INSERT INTO cohort (id, programme_id, name, places, max_sessions_per_week, planned_weeks,
                        created_at, kind)
                    SELECT {uid("cohort", f"g * {COHORTS} + c")}, {uid("programme", "g")},
                        'Cohort ' || chr(65 + c), {places}, 2, 26, (SELECT now FROM bench_now) - interval '4 years',
                        'one_to_one'
                    FROM generate_series(0, {p - 1}) g, generate_series(0, {COHORTS - 1}) c"""
            )

        with self.step(f"users ({m} mentors a programme)"):
            digest = hash_password(PASSWORD)
            self.run(
                f"""INSERT INTO app_user (id, email, display_name, role, programme_id, max_caseload, password_hash,
                        is_active, created_at)
                    SELECT {uid("app_user", user_number("g", "j"))},
                        CASE WHEN j < 2 THEN 'coordinator' WHEN j = 2 THEN 'commissioner' ELSE 'mentor' END
                            || '-' || g || '-' || j || '@bench.example.org',
                        CASE WHEN j < 2 THEN 'Coordinator ' WHEN j = 2 THEN 'Commissioner ' ELSE 'Mentor ' END
                            || g || '-' || j,
                        CASE WHEN j < 2 THEN 'coordinator' WHEN j = 2 THEN 'commissioner' ELSE 'mentor' END,
                        {uid("programme", "g")}, CASE WHEN j >= 10 THEN 12 END, %(digest)s, true,
                        (SELECT now FROM bench_now) - interval '4 years'
                    FROM generate_series(0, {p - 1}) g,
                        (SELECT * FROM generate_series(0, 2) UNION ALL SELECT * FROM generate_series(10, {9 + m})) j(j)
                    """,
                {"digest": digest},
            )

        n_children = s.children
        with self.step(f"children {n_children}"):
            self.run(
                f"""INSERT INTO child (id, reference, programme_id, first_name, last_name, date_of_birth, district,
                        school, created_at, updated_at)
                    SELECT {uid("child", "n")}, 'BC' || lpad(n::text, 9, '0'), {uid("programme", f"n % {p}")},
                        ({sql_array(FIRST_NAMES)})[1 + n % {len(FIRST_NAMES)}],
                        ({sql_array(LAST_NAMES)})[1 + (n / 7) % {len(LAST_NAMES)}],
                        ((SELECT now FROM bench_now) - interval '10 years' - (n % 2500) * interval '1 day')::date,
                        'District ' || (1 + (n / {p}) % {DISTRICTS}), 'Invented School ' || (n % 40),
                        (SELECT now FROM bench_now) - interval '3 years', (SELECT now FROM bench_now) - interval '1 day'
                    FROM generate_series(0, {n_children - 1}) n"""
            )
            phones = min(1000, n_children)
            self.run(
                f"""INSERT INTO phone_number (id, child_id, e164, belongs_to, created_at, created_by_user_id)
                    SELECT {uid("phone_number", "n")}, {uid("child", "n")}, '+447700900' || lpad(n::text, 3, '0'),
                        'child', (SELECT now FROM bench_now) - interval '1 year',
                        {uid("app_user", user_number(f"n % {p}", "0"))}
                    FROM generate_series(0, {phones - 1}) n"""
            )

        # One enrolment per child (and one accepted referral behind it): by a hash of the row number, 55% active,
        # 20% ended, 10% waitlisted, 5% offered, 10% withdrawn. Referred 2 months to ~3 years ago.
        with self.step("referrals, enrolments"):
            self.run(
                f"""CREATE TEMP TABLE bench_enrolment AS
                    SELECT n, n % {p} AS prog, (n * 7919) % 100 AS h,
                        ((SELECT now FROM bench_now)::date - 60 - (n * 31) % 1000) AS referred_on
                    FROM generate_series(0, {n_children - 1}) n"""
            )
            self.run(
                """ALTER TABLE bench_enrolment ADD COLUMN status text, ADD COLUMN started_at timestamptz,
                        ADD COLUMN ended_at timestamptz;
                    UPDATE bench_enrolment SET status = CASE WHEN h < 55 THEN 'active' WHEN h < 75 THEN 'ended'
                        WHEN h < 85 THEN 'waitlisted' WHEN h < 90 THEN 'offered' ELSE 'withdrawn' END;
                    UPDATE bench_enrolment SET started_at = referred_on + (7 + n % 40) * interval '1 day'
                        + interval '10 hours'
                        WHERE status IN ('active', 'ended');
                    UPDATE bench_enrolment SET ended_at = started_at
                        + least(interval '180 days', ((SELECT now FROM bench_now) - started_at) / 2)
                        WHERE status = 'ended'"""
            )
            self.run(
                f"""INSERT INTO referral (id, child_id, cohort_id, source, source_name, reason, priority, referred_on,
                        status, created_at, created_by_user_id, decided_at, decided_by_user_id)
                    SELECT {uid("referral", "n")}, {uid("child", "n")},
                        {uid("cohort", f"prog * {COHORTS} + (n / {p}) % {COHORTS}")}, 'school', 'Invented School',
                        'Invented reason', 'normal', referred_on, 'accepted', referred_on + interval '9 hours',
                        {uid("app_user", user_number("prog", "0"))}, referred_on + interval '1 day 9 hours',
                        {uid("app_user", user_number("prog", "0"))}
                    FROM bench_enrolment"""
            )
            self.run(
                f"""INSERT INTO enrolment (id, child_id, cohort_id, referral_id, status, priority, referred_on,
                        queue_number, created_at, offered_at, offer_expires_at, started_at, planned_end_on, ended_at,
                        end_reason, last_changed_by_user_id)
                    SELECT {uid("enrolment", "n")}, {uid("child", "n")},
                        {uid("cohort", f"prog * {COHORTS} + (n / {p}) % {COHORTS}")}, {uid("referral", "n")},
                        status, 'normal', referred_on,
                        row_number() OVER (
                            PARTITION BY prog * {COHORTS} + (n / {p}) % {COHORTS} ORDER BY referred_on, n
                        ),
                        referred_on + interval '1 day 9 hours',
                        CASE WHEN status = 'offered' THEN (SELECT now FROM bench_now) - interval '1 day' END,
                        CASE WHEN status = 'offered' THEN (SELECT now FROM bench_now) + interval '2 days' END,
                        started_at, (started_at + interval '26 weeks')::date, ended_at,
                        CASE WHEN status = 'ended' THEN 'completed' END,
                        {uid("app_user", user_number("prog", "0"))}
                    FROM bench_enrolment"""
            )

        with self.step("allocations"):
            mentor = user_number("prog", f"10 + (n / {p}) % {m}")
            self.run(
                f"""INSERT INTO allocation (id, enrolment_id, mentor_id, started_at, started_by_user_id, ended_at,
                        ended_by_user_id, end_reason)
                    SELECT {uid("allocation", "n")}, {uid("enrolment", "n")}, {uid("app_user", mentor)}, started_at,
                        {uid("app_user", user_number("prog", "0"))}, ended_at,
                        CASE WHEN ended_at IS NOT NULL THEN {uid("app_user", user_number("prog", "0"))} END,
                        CASE WHEN ended_at IS NOT NULL THEN 'enrolment_ended' END
                    FROM bench_enrolment WHERE started_at IS NOT NULL"""
            )
            self.run(
                f"""CREATE TEMP TABLE bench_started AS
                    SELECT (row_number() OVER (ORDER BY n) - 1) AS rn, n, prog, started_at,
                        coalesce(ended_at, (SELECT now FROM bench_now) + interval '30 days') - started_at AS span,
                        {mentor} AS mentor
                    FROM bench_enrolment WHERE started_at IS NOT NULL;
                    CREATE UNIQUE INDEX ON bench_started (rn); ANALYZE bench_started"""
            )
        n_started = self.count("bench_started")

        # Session i belongs to started enrolment i % n_started, the k-th (k = i / n_started) of that child's sessions,
        # spread evenly over the spell (past sessions recorded, the last month's still planned).
        per_child = math.ceil(s.sessions / n_started)
        when = (
            f"date_trunc('day', b.started_at + b.span * ((i / {n_started})::float8 / {per_child}))"
            f" + (9 + (i * 13) % 12) * interval '1 hour'"
        )
        week = f"""to_char(({when}) AT TIME ZONE 'Europe/London', 'IYYY-"W"IW')"""
        status = f"""CASE WHEN {when} > (SELECT now FROM bench_now) THEN 'planned'
                     WHEN (i * 7) % 100 < 70 THEN 'completed' WHEN (i * 7) % 100 < 80 THEN 'did_not_attend'
                     WHEN (i * 7) % 100 < 88 THEN 'cancelled_by_child' WHEN (i * 7) % 100 < 95
                     THEN 'cancelled_by_mentor' ELSE 'rescheduled' END"""
        # Each child's line at the session, mapped from the status as migration 8a4c2e6f1b37 maps existing rows.
        attendance = f"""CASE WHEN {when} > (SELECT now FROM bench_now) THEN 'booked'
                     WHEN (i * 7) % 100 < 70 THEN 'attended' WHEN (i * 7) % 100 < 80 THEN 'did_not_attend'
                     WHEN (i * 7) % 100 < 88 THEN 'cancelled_by_child' ELSE 'cancelled_by_service' END"""
        began = time.perf_counter()
        for first in range(0, s.sessions, CHUNK):
            last = min(s.sessions, first + CHUNK) - 1
            with self.step(f"sessions {first:,}-{last:,}"):
                self.run(
                    f"""INSERT INTO mentoring_session (id, programme_id, mentor_id, kind, location_category, status,
                            planned_start_at, planned_end_at, local_week, actual_duration_minutes, version,
                            created_at, created_by_user_id, updated_at, updated_by_user_id)
                        SELECT {uid("mentoring_session", "i")}, {uid("programme", "b.prog")},
                            {uid("app_user", "b.mentor")}, 'one_to_one', 'community_venue', {status},
                            {when}, {when} + interval '1 hour', {week}, CASE WHEN (i * 7) % 100 < 70 THEN 55 END, 1,
                            {when} - interval '7 days', {uid("app_user", "b.mentor")}, {when},
                            {uid("app_user", "b.mentor")}
                        FROM generate_series({first}, {last}) i JOIN bench_started b ON b.rn = i % {n_started}"""
                )
                self.run(
                    f"""INSERT INTO session_attendee (id, session_id, enrolment_id, child_id, local_week, status,
                            attendance, planned_start_at, starts_in_evening, starts_at_weekend)
                        SELECT {uid("session_attendee", "i")}, {uid("mentoring_session", "i")},
                            {uid("enrolment", "b.n")}, {uid("child", "b.n")}, {week}, {status}, {attendance},
                            {when},
                            (({when}) AT TIME ZONE 'Europe/London')::time >= '17:00',
                            extract(isodow FROM ({when}) AT TIME ZONE 'Europe/London') >= 6
                        FROM generate_series({first}, {last}) i JOIN bench_started b ON b.rn = i % {n_started}"""
                )
        print(f"  sessions + attendees: {s.sessions:,} each in {time.perf_counter() - began:.1f} s", flush=True)

        # Check-ins: each child answers one instrument (by row number) every so often across the spell.
        per_child = math.ceil(s.check_ins / n_started)
        completed = f"b.started_at + b.span * ((j / {n_started})::float8 / {per_child}) + interval '30 minutes'"
        with self.step(f"check-ins {s.check_ins:,}"):
            self.run(
                f"""INSERT INTO check_in (id, child_id, instrument_key, instrument_version, channel, completed_at,
                        recorded_by_user_id)
                    SELECT {uid("check_in", "j")}, {uid("child", "b.n")},
                        (ARRAY['ons4', 'swemwbs', 'gbo'])[1 + b.rn % 3], '1', 'in_session',
                        least({completed}, (SELECT now FROM bench_now) - interval '1 hour'),
                        {uid("app_user", "b.mentor")}
                    FROM generate_series(0, {s.check_ins - 1}) j JOIN bench_started b ON b.rn = j % {n_started}"""
            )
        with self.step("check-in scores"):
            # Derived scores: the ONS4 items (0-10), the SWEMWBS metric (7-35), the GBO mean of goals (0-10),
            # drifting towards better with each check-in.
            self.run(
                f"""INSERT INTO check_in_score (id, check_in_id, kind, measure, value, child_id, instrument_key,
                        completed_at)
                    SELECT {uid("check_in_score", "j * 4 + m.k")}, {uid("check_in", "j")}, 'derived', m.measure,
                        CASE WHEN m.measure = 'metric' THEN least(35, 14 + (j * 3) % 9 + (j / {n_started}) * 0.8)
                             WHEN m.measure = 'anxious_yesterday' THEN greatest(0, 8 - (j * 3) % 4 - (j / {n_started}))
                             ELSE least(10, 2 + (j * 3) % 4 + (j / {n_started}) * 0.5) END,
                        c.child_id, c.instrument_key, c.completed_at
                    FROM generate_series(0, {s.check_ins - 1}) j JOIN bench_started b ON b.rn = j % {n_started}
                    JOIN check_in c ON c.id = {uid("check_in", "j")}
                    JOIN (VALUES (0, 'ons4', 'life_satisfaction'), (1, 'ons4', 'worthwhile'),
                        (2, 'ons4', 'happy_yesterday'), (3, 'ons4', 'anxious_yesterday'), (0, 'swemwbs', 'metric'),
                        (0, 'gbo', 'mean')) m(k, instrument, measure)
                        ON m.instrument = (ARRAY['ons4', 'swemwbs', 'gbo'])[1 + b.rn % 3]"""
            )

        # Outcome events: the k-th of a child's events falls 365 days before the start plus 30 k days (so about
        # half in the baseline year, half during support), a distinct day each, so (child, type, day, source)
        # stays unique.
        with self.step(f"outcome events {s.outcome_events:,}"):
            self.run(
                f"""INSERT INTO outcome_event (id, child_id, event_type, occurred_on, source, recorded_at,
                        recorded_by_user_id)
                    SELECT {uid("outcome_event", "j")}, {uid("child", "b.n")}, t.event_type,
                        least(b.started_at::date - 365 + (j / {n_started}) * 30, (SELECT now FROM bench_now)::date - 1),
                        t.source, (SELECT now FROM bench_now) - interval '1 hour',
                        {uid("app_user", user_number("b.prog", "0"))}
                    FROM generate_series(0, {s.outcome_events - 1}) j JOIN bench_started b ON b.rn = j % {n_started}
                    JOIN (VALUES (0, 'arrest', 'police'), (1, 'police_call_out', 'police'),
                        (2, 'exclusion_fixed_term', 'school'), (3, 'exclusion_permanent', 'school'))
                        t(k, event_type, source) ON t.k = ((j / {n_started}) + b.rn) % 4"""
            )

        with self.step(f"missing episodes {s.missing_episodes:,}"):
            reported = f"b.started_at + ((j / {n_started}) * 20 + (j % 17)) * interval '1 day' + interval '3 hours'"
            self.run(
                f"""CREATE TEMP TABLE bench_missing AS
                    SELECT j, b.n, b.prog, {reported} AS reported_at
                    FROM generate_series(0, {s.missing_episodes - 1}) j JOIN bench_started b
                        ON b.rn = j % {n_started}"""
            )
            self.run(
                f"""INSERT INTO missing_episode (id, child_id, reported_at, returned_at, source, recorded_by_user_id,
                        created_at, updated_at, version)
                    SELECT {uid("missing_episode", "j")}, {uid("child", "n")}, reported_at,
                        CASE WHEN reported_at + interval '1 day' < (SELECT now FROM bench_now)
                            THEN reported_at + interval '1 day' END,
                        'police', {uid("app_user", user_number("prog", "0"))}, reported_at, reported_at, 1
                    FROM bench_missing WHERE reported_at < (SELECT now FROM bench_now)"""
            )
            # A return conversation for 80% of returns, completed 24 to 108 hours after the return.
            self.run(
                f"""INSERT INTO return_conversation (id, missing_episode_id, outcome, offered_at, completed_at,
                        held_by, independent, recorded_by_user_id, recorded_at)
                    SELECT {uid("return_conversation", "j")}, {uid("missing_episode", "j")}, 'completed',
                        reported_at + interval '36 hours', reported_at + ((j * 11) % 85 + 48) * interval '1 hour',
                        'Invented independent worker', true, {uid("app_user", user_number("prog", "0"))},
                        reported_at + ((j * 11) % 85 + 48) * interval '1 hour'
                    FROM bench_missing
                    WHERE j % 5 <> 0 AND reported_at + ((j * 11) % 85 + 48) * interval '1 hour'
                        < (SELECT now FROM bench_now)"""
            )

        self.conn.autocommit = True
        with self.step("VACUUM ANALYZE"):
            self.run("VACUUM ANALYZE")


def _admin_url(url: str) -> tuple[str, str]:
    """(libpq URL of the maintenance database, name of the target database)."""
    parsed = make_url(url)
    if parsed.get_backend_name() != "postgresql" or not parsed.database:
        raise SystemExit("--database-url must be a postgresql+psycopg URL naming a database")
    admin = parsed.set(drivername="postgresql", database="postgres")
    return admin.render_as_string(hide_password=False), parsed.database


def _libpq(url: str) -> str:
    return make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--database-url", required=True, help="postgresql+psycopg://... of a database to create")
    parser.add_argument("--scale", type=float, default=1.0, help="multiplies the default sizes (default 1.0)")
    parser.add_argument("--keep", action="store_true", help="keep the database (else it is dropped at the end)")
    args = parser.parse_args(argv)
    if args.scale <= 0:
        parser.error("--scale must be positive")
    sizes = Sizes.at(args.scale)
    admin_url, name = _admin_url(args.database_url)
    with psycopg.connect(admin_url, autocommit=True) as admin:
        admin.execute(f'CREATE DATABASE "{name}"')
    print(f"database {name} created; scale {args.scale}: {sizes}", flush=True)
    began = time.perf_counter()
    try:
        migrate.upgrade(args.database_url)
        print(f"  migrated in {time.perf_counter() - began:.1f} s", flush=True)
        with psycopg.connect(_libpq(args.database_url)) as conn:
            Loader(conn, sizes).load()
            conn.autocommit = True
            print("rows:", flush=True)
            for table in (
                "programme",
                "cohort",
                "app_user",
                "child",
                "referral",
                "enrolment",
                "allocation",
                "mentoring_session",
                "session_attendee",
                "check_in",
                "check_in_score",
                "outcome_event",
                "missing_episode",
                "return_conversation",
            ):
                print(f"  {table:<22} {Loader(conn, sizes).count(table):>12,}")
            size = conn.execute("SELECT pg_size_pretty(pg_database_size(current_database()))").fetchone()
            print(f"database size {size[0] if size else '?'}; generated in {time.perf_counter() - began:.1f} s")
    except BaseException:
        if not args.keep:
            _drop(admin_url, name)
        raise
    if args.keep:
        print(f"kept {args.database_url}  (users' password: {PASSWORD})")
    else:
        _drop(admin_url, name)
    return 0


def _drop(admin_url: str, name: str) -> None:
    with psycopg.connect(admin_url, autocommit=True) as admin:
        admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    print(f"database {name} dropped")


if __name__ == "__main__":
    sys.exit(main())
