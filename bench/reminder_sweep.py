"""Reminder sweep bench: what one run of the scheduler's reminder sweep costs when little has changed (issue 20).

    .venv/bin/python bench/reminder_sweep.py [--database-url URL] [--sessions 12000] [--children 900] [--mentors 100]

It builds a throwaway database (a new PostgreSQL database on the local server, dropped at the end, unless
--database-url names an empty one), migrates it with Alembic, and makes one programme with N children (through the
services: each with a drama-range mobile of their own, consent to SMS and a place) and M mentors (each with a
drama-range work mobile). Then it writes S planned one-to-one sessions spread evenly over the next 48 hours, each for
one child with one mentor, as rows in bulk (not through the sessions service: no weekly cap is checked, and no
reminder is synced as they are written, which is exactly what the first sweep then finds).

Then, each sweep a `now` five minutes after the last (the scheduler's interval; the clock is the bench's, not the
system's), it runs api.sessions.reminder_sweep.sweep_reminders, as the job does, and prints for each: the sessions
it examined (handed to the reminder policy), the reminders it queued, the statements it sent and its wall time:

1. the first sweep (no watermark: every session in the horizon, once);
2. a sweep with nothing changed;
3. sweeps after K changes to who is reminded (K = 10, 100 by default): K children each record a new consent
   decision through the children service (a carer's channel granted, which changes nobody's reminders but is a
   change the sweep must look at);
4. for comparison, the sweep as it was before (every planned session in the horizon handed to the policy).

Speed is measured here, never asserted; the bench exits 1 only if a sweep with nothing changed examined a session or
the full sweep queued a reminder the incremental ones had missed.
"""

from __future__ import annotations

import argparse
import secrets
import sys
import time
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, event, func, insert, select, text
from sqlalchemy.orm import Session, sessionmaker

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from api.accounts import service as accounts_service
from api.actors import Actor, Role
from api.children import service as children_service
from api.children.rules import ConsentGivenBy, ContactChannel
from api.db import Database, transaction
from api.enrolments.models import Enrolment
from api.outbox.models import OutboundMessage
from api.reminders import service as reminders_service
from api.reminders.rules import REMINDER_HORIZON
from api.sessions import queries as sessions_queries
from api.sessions.models import MentoringSession, SessionAttendee
from api.sessions.register_rules import Attendance
from api.sessions.reminder_sweep import sweep_reminders
from api.sessions.rules import LocationCategory, SessionKind, SessionStatus, local_timing
from bench.sms_dispatch import (
    DEFAULT_POSTGRES_ADMIN_URL,
    DRAMA_MOBILE_PREFIX,
    create_children,
    progress,
    throwaway_database,
)

TIME_ZONE = "Europe/London"
SWEEP_EVERY = timedelta(minutes=5)


@dataclass(frozen=True)
class World:
    actor: Actor
    programme_id: uuid.UUID
    # (child id, enrolment id), one per child
    places: list[tuple[uuid.UUID, uuid.UUID]]
    mentor_ids: list[uuid.UUID]


def create_world(session_factory: sessionmaker[Session], *, children: int, mentors: int, now: datetime) -> World:
    """A programme, a cohort with a place for each child, a coordinator and N children with mobiles, consent to SMS
    and a place (sms_dispatch.create_children, through the services), then M mentors with work mobiles."""
    actor, child_ids = create_children(session_factory, count=children, now=now)
    assert actor.programme_id is not None
    tag = secrets.token_hex(3)
    with session_factory() as db_session:
        mentor_ids = [
            accounts_service.create_user(
                db_session,
                email=f"bench-mentor-{index}-{tag}@example.org",
                display_name=f"Bench Mentor {index}",
                role=Role.MENTOR,
                password=secrets.token_urlsafe(24),
                programme_id=actor.programme_id,
                max_caseload=10,
                now=now,
                # Mentors' mobiles from the top of the drama range, children's from the bottom: none shared.
                mobile_e164=f"{DRAMA_MOBILE_PREFIX}{999 - index:03d}",
                accept_drama_numbers=True,
            ).id
            for index in range(mentors)
        ]
        enrolments = {
            child_id: enrolment_id
            for child_id, enrolment_id in db_session.execute(
                select(Enrolment.child_id, Enrolment.id).where(Enrolment.child_id.in_(child_ids))
            )
        }
        db_session.commit()
    return World(actor, actor.programme_id, [(child_id, enrolments[child_id]) for child_id in child_ids], mentor_ids)


def write_sessions(session_factory: sessionmaker[Session], world: World, *, count: int, now: datetime) -> None:
    """S planned one-to-one sessions spread evenly over (now, now + 48 h], round the children and mentors, as rows."""
    step = (REMINDER_HORIZON - timedelta(minutes=10)) / count
    started = time.perf_counter()
    for first in range(0, count, 2000):
        sessions: list[dict[str, Any]] = []
        attendees: list[dict[str, Any]] = []
        for index in range(first, min(first + 2000, count)):
            start = now + timedelta(minutes=5) + step * index
            timing = local_timing(start, TIME_ZONE)
            child_id, enrolment_id = world.places[index % len(world.places)]
            session_id = uuid.uuid4()
            sessions.append(
                {
                    "id": session_id,
                    "programme_id": world.programme_id,
                    "mentor_id": world.mentor_ids[index % len(world.mentor_ids)],
                    "kind": SessionKind.ONE_TO_ONE,
                    "location_category": LocationCategory.COMMUNITY_VENUE,
                    "status": SessionStatus.PLANNED,
                    "planned_start_at": start,
                    "planned_end_at": start + timedelta(hours=1),
                    "local_week": timing.week,
                    "version": 1,
                    "created_at": now,
                    "created_by_user_id": world.actor.user_id,
                    "updated_at": now,
                    "updated_by_user_id": world.actor.user_id,
                }
            )
            attendees.append(
                {
                    "id": uuid.uuid4(),
                    "session_id": session_id,
                    "enrolment_id": enrolment_id,
                    "child_id": child_id,
                    "local_week": timing.week,
                    "status": SessionStatus.PLANNED,
                    "attendance": Attendance.BOOKED,
                    "planned_start_at": start,
                    "starts_in_evening": timing.is_evening,
                    "starts_at_weekend": timing.is_weekend,
                }
            )
        with session_factory() as db_session, transaction(db_session):
            db_session.execute(insert(MentoringSession), sessions)
            db_session.execute(insert(SessionAttendee), attendees)
        progress("sessions (rows)", min(first + 2000, count), count, started)
    with session_factory() as db_session:
        if db_session.get_bind().dialect.name == "postgresql":
            db_session.execute(text("ANALYZE"))
        db_session.commit()


class StatementCounter:
    def __init__(self, engine: Engine) -> None:
        self.count = 0
        event.listen(engine, "before_cursor_execute", self._count)

    def _count(self, *_args: object) -> None:
        self.count += 1


@dataclass(frozen=True)
class Figures:
    label: str
    examined: int
    queued: int
    statements: int
    ms: float


def measured(label: str, counter: StatementCounter, run: Any) -> Figures:
    before = counter.count
    started = time.perf_counter()
    examined, queued = run()
    ms = (time.perf_counter() - started) * 1000
    figures = Figures(label, examined, queued, counter.count - before, ms)
    print(
        f"{label:<46} {figures.examined:>9} {figures.queued:>8} {figures.statements:>11} {figures.ms:>10.1f}",
        flush=True,
    )
    return figures


def incremental(session_factory: sessionmaker[Session], now: datetime) -> Any:
    def run() -> tuple[int, int]:
        with session_factory() as db_session:
            result = sweep_reminders(db_session, now=now)
        return result.examined, result.queued

    return run


def full(session_factory: sessionmaker[Session], now: datetime) -> Any:
    """The sweep before issue 20: every planned session in the horizon handed to the policy, every run."""

    def run() -> tuple[int, int]:
        with session_factory() as db_session:
            sessions = sessions_queries.sessions_to_remind(db_session, now=now)
            queued = reminders_service.queue_reminders(db_session, sessions=sessions, now=now)
        return len(sessions), queued

    return run


def change_consents(session_factory: sessionmaker[Session], world: World, *, count: int, offset: int, now: datetime):
    """K children each record a consent decision (the carer's channel withdrawn: nobody's reminders change, but the
    sweep must look at each child's sessions)."""
    for child_id, _ in world.places[offset : offset + count]:
        with session_factory() as db_session:
            children_service.record_consent(
                db_session,
                actor=world.actor,
                child_id=child_id,
                channel=ContactChannel.SMS_TO_CARER,
                granted=False,
                given_by=ConsentGivenBy.PARENT,
                now=now,
            )


def parse_arguments(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--database-url", help="an empty database to use instead of a new PostgreSQL one")
    parser.add_argument("--postgres-admin-url", default=DEFAULT_POSTGRES_ADMIN_URL)
    parser.add_argument("--keep-database", action="store_true")
    parser.add_argument("--sessions", type=int, default=12000, help="planned sessions in the next 48 hours")
    parser.add_argument("--children", type=int, default=900, help="children (each with a mobile): 1 to 900")
    parser.add_argument("--mentors", type=int, default=100, help="mentors (each with a work mobile): 1 to 100")
    parser.add_argument("--changes", type=int, nargs="*", default=[10, 100], help="K for the sweeps after K changes")
    parser.add_argument("--no-full", action="store_true", help="skip the comparison with the sweep as it was")
    arguments = parser.parse_args(argv)
    if not 1 <= arguments.children <= 900 or not 1 <= arguments.mentors <= 100:
        parser.error("the drama range has 1000 mobiles: at most 900 children and 100 mentors")
    if sum(arguments.changes) > arguments.children:
        parser.error("the changes are made by distinct children: their sum must not exceed --children")
    return arguments


def main(argv: Sequence[str] | None = None) -> int:
    arguments = parse_arguments(argv)
    with throwaway_database(
        arguments.database_url,
        postgres_admin_url=arguments.postgres_admin_url,
        keep=arguments.keep_database,
        prefix="bench_reminders",
    ) as url:
        database = Database(url)
        try:
            return measure(database, arguments)
        finally:
            database.dispose()


def refresh_statistics(database: Database) -> None:
    """ANALYZE, as autovacuum would soon after tables grow in bulk. Without it the planner reads the outbox as it was
    before the first sweep filled it (empty) and looks up a session's queued reminders by scanning every queued row's
    index entry: each look-up then costs as much as the whole outbox, and the sweeps after the first are measured
    against statistics no running server keeps for long."""
    with database.engine.connect() as connection:
        connection.execute(text("ANALYZE"))
        connection.commit()


def measure(database: Database, arguments: argparse.Namespace) -> int:
    factory = database.session_factory
    # A fixed moment, a Monday afternoon in winter (GMT): the bench's clock, not the system's.
    now = datetime(2026, 11, 23, 14, 0, tzinfo=UTC)
    started = time.perf_counter()
    world = create_world(factory, children=arguments.children, mentors=arguments.mentors, now=now)
    write_sessions(factory, world, count=arguments.sessions, now=now)
    print(f"data made in {time.perf_counter() - started:.0f} s")
    refresh_statistics(database)
    counter = StatementCounter(database.engine)
    print()
    print(f"{'sweep':<46} {'examined':>9} {'queued':>8} {'statements':>11} {'ms':>10}")
    results = [measured("first sweep (no watermark)", counter, incremental(factory, now))]
    refresh_statistics(database)
    now += SWEEP_EVERY
    quiet = measured("nothing changed", counter, incremental(factory, now))
    results.append(quiet)
    offset = 0
    for changes in arguments.changes:
        change_consents(factory, world, count=changes, offset=offset, now=now + timedelta(minutes=1))
        offset += changes
        now += SWEEP_EVERY
        results.append(measured(f"after {changes} consent decisions", counter, incremental(factory, now)))
    now += SWEEP_EVERY
    again = measured("nothing changed, again", counter, incremental(factory, now))
    results.append(again)
    missed = 0
    if not arguments.no_full:
        now += SWEEP_EVERY
        before = full(factory, now)
        compared = measured("the sweep as it was (every session, no change)", counter, before)
        missed = compared.queued
    with factory() as db_session:
        reminders = db_session.scalar(select(func.count()).select_from(OutboundMessage))
        db_session.commit()
    print()
    print(f"{arguments.sessions} sessions over 48 hours, {arguments.children} children, {arguments.mentors} mentors;")
    print(
        f"{reminders} reminders queued in all; a sweep every {SWEEP_EVERY.seconds // 60} minutes of the bench's clock"
    )
    problems = []
    if quiet.examined or again.examined:
        problems.append("a sweep with nothing changed examined sessions")
    if missed:
        problems.append(f"the full sweep queued {missed} reminders the incremental sweeps had missed")
    for problem in problems:
        print(f"WRONG: {problem}")
    return 1 if problems else 0


if __name__ == "__main__":
    raise SystemExit(main())
