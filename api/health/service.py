from __future__ import annotations

import contextlib
import os
import socket
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Engine, select, text
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session

from api import migrate
from api.db import use_case
from api.health.models import JobHeartbeat
from api.health.rules import JobState, JobTiming, RunRecord, is_healthy, job_state


@dataclass(frozen=True)
class JobHealth:
    name: str
    every_seconds: int
    state: JobState
    last_started_at: datetime | None
    last_succeeded_at: datetime | None
    last_failed_at: datetime | None
    last_duration_ms: int | None
    last_error: str | None

    @property
    def late(self) -> bool:
        return not is_healthy(self.state)


@dataclass(frozen=True)
class SchedulerHealth:
    healthy: bool
    jobs: list[JobHealth]


@dataclass(frozen=True)
class Readiness:
    ready: bool
    database: str
    migrations: str
    # Reported, never part of `ready`: a stuck scheduler is no reason to take web instances out of service.
    scheduler: SchedulerHealth | None = None


def check_readiness(
    engine: Engine,
    *,
    database_url: str,
    db_session: Session | None = None,
    jobs: Sequence[JobTiming] = (),
    now: datetime | None = None,
) -> Readiness:
    """Ready means the database answers and its schema is at the newest migration. Given a db_session and a time,
    the scheduler's health (each job of `jobs`) is added as a detail once the schema is known to hold it."""
    try:
        with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
            connection.execute(text("SELECT 1"))
            current = migrate.current_revision(connection)
    except SQLAlchemyError:
        return Readiness(False, database="unreachable", migrations="unknown")
    head = migrate.head_revision(database_url)
    if current != head:
        return Readiness(False, database="ok", migrations=f"at {current or 'nothing'}, head is {head}")
    scheduler = None
    if db_session is not None and now is not None:
        # The database gone away since: readiness was decided above, and the detail is unknown. The request's session
        # is rolled back and closed at its end (api/db.py), as every request's is.
        with contextlib.suppress(SQLAlchemyError):
            scheduler = scheduler_health(db_session, jobs=jobs, now=now)
    return Readiness(True, database="ok", migrations="at head", scheduler=scheduler)


def scheduler_health(db_session: Session, *, jobs: Sequence[JobTiming], now: datetime) -> SchedulerHealth:
    """Every job's state by the rule in api/health/rules.py, from the heartbeats the scheduler wrote. Reads only."""
    records = {row.job: row for row in db_session.scalars(select(JobHeartbeat))}
    healths = []
    for job in jobs:
        row = records.get(job.name)
        record = RunRecord(row.last_started_at, row.last_succeeded_at, row.last_failed_at) if row else None
        healths.append(
            JobHealth(
                name=job.name,
                every_seconds=job.every_seconds,
                state=job_state(job, record, now=now),
                last_started_at=row.last_started_at if row else None,
                last_succeeded_at=row.last_succeeded_at if row else None,
                last_failed_at=row.last_failed_at if row else None,
                last_duration_ms=row.last_duration_ms if row else None,
                last_error=row.last_error if row else None,
            )
        )
    return SchedulerHealth(healthy=all(not job.late for job in healths), jobs=healths)


# --- Written by the scheduler ------------------------------------------------------------------------------


def this_process() -> str:
    return f"{socket.gethostname()}:{os.getpid()}"[:120]


@use_case
def record_run_started(db_session: Session, *, job: str, now: datetime) -> None:
    heartbeat = _heartbeat(db_session, job)
    heartbeat.last_started_at = now
    heartbeat.process = this_process()


@use_case
def record_run_finished(
    db_session: Session, *, job: str, started_at: datetime, duration_ms: int, error: str | None, now: datetime
) -> None:
    """A run's end: a success, or a failure kept as its exception's class name only (no personal data)."""
    heartbeat = _heartbeat(db_session, job)
    heartbeat.last_started_at = started_at
    heartbeat.last_duration_ms = duration_ms
    heartbeat.process = this_process()
    if error is None:
        heartbeat.last_succeeded_at = now
    else:
        heartbeat.last_failed_at = now
        heartbeat.last_error = error[:120]


def _heartbeat(db_session: Session, job: str) -> JobHeartbeat:
    # One scheduler at a time (scheduling/lock.py), and APScheduler runs one instance of a job at a time: no other
    # writer races this insert.
    heartbeat = db_session.get(JobHeartbeat, job, with_for_update=True)
    if heartbeat is None:
        heartbeat = JobHeartbeat(job=job)
        db_session.add(heartbeat)
    return heartbeat
