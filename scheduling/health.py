"""The scheduler's heartbeats, and `python -m scheduling --check`, which reads them.

Every run of a job writes its heartbeat (api/health/models.py, JobHeartbeat) as it starts and as it ends. A
heartbeat that cannot be written (the database is down) is logged and the job goes on: the heartbeat only reports
on the jobs, it must never stop one. The check judges each job by the rule in api/health/rules.py and exits
non-zero when any is late or never ran, so it can be a container's liveness probe: an orchestrator restarts a
scheduler that is killed, frozen, or whose jobs keep failing.
"""

from __future__ import annotations

import logging
import sys
from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any, TextIO

from prometheus_client import start_http_server
from sqlalchemy.orm import Session, sessionmaker

from api.clock import Clock, SystemClock
from api.config import database_url_from_environment
from api.db import Database
from api.health import service as health_service
from api.health.rules import JobTiming
from api.health.service import SchedulerHealth
from scheduling.jobs import JOB_TIMINGS

log = logging.getLogger("scheduling")


def record_started(session_factory: sessionmaker[Session], job: str, now: datetime) -> None:
    try:
        with session_factory() as db_session:
            health_service.record_run_started(db_session, job=job, now=now)
    except Exception:
        log.exception("could not record the start of job %s", job)


def record_finished(
    session_factory: sessionmaker[Session], job: str, *, started_at: datetime, duration_ms: int, error: str | None,
    now: datetime,
) -> None:  # fmt: skip
    try:
        with session_factory() as db_session:
            health_service.record_run_finished(
                db_session, job=job, started_at=started_at, duration_ms=duration_ms, error=error, now=now
            )
    except Exception:
        log.exception("could not record the end of job %s", job)


def check(
    session_factory: sessionmaker[Session], clock: Clock, *, jobs: Sequence[JobTiming] = JOB_TIMINGS,
    out: TextIO = sys.stdout,
) -> int:  # fmt: skip
    """Print each job's state; 0 when every job ran within its expected interval, 1 otherwise."""
    with session_factory() as db_session:
        health = health_service.scheduler_health(db_session, jobs=jobs, now=clock.now())
    for line in report(health):
        print(line, file=out)
    return 0 if health.healthy else 1


def report(health: SchedulerHealth) -> list[str]:
    lines = []
    for job in health.jobs:
        succeeded = job.last_succeeded_at.isoformat() if job.last_succeeded_at else "never"
        failed = f", last failed {job.last_failed_at.isoformat()} ({job.last_error})" if job.last_failed_at else ""
        lines.append(f"{job.name}: {job.state} (every {job.every_seconds}s, last succeeded {succeeded}{failed})")
    lines.append("scheduler: healthy" if health.healthy else "scheduler: LATE (a job did not run in time)")
    return lines


def main_check() -> int:
    database = Database(database_url_from_environment())
    try:
        return check(database.session_factory, SystemClock())
    except Exception as problem:  # the database is unreachable or not migrated: not a healthy scheduler either
        print(f"scheduler: unknown ({type(problem).__name__}: cannot read the heartbeats)")
        return 2
    finally:
        database.dispose()


def serve_metrics(settings: Mapping[str, Any]) -> None:
    """The scheduler's own instruments (SMS sends by outcome) on SCHEDULER_METRICS_PORT, when set: for a scheduler
    that does not share PROMETHEUS_MULTIPROC_DIR with the web app (another host or container). No token: bind it
    to the loopback or a private interface only (SCHEDULER_METRICS_ADDRESS)."""
    port = int(settings.get("SCHEDULER_METRICS_PORT") or 0)
    if port:
        address = str(settings.get("SCHEDULER_METRICS_ADDRESS") or "127.0.0.1")
        start_http_server(port, addr=address)
        log.info("scheduler metrics on http://%s:%d/metrics", address, port)
