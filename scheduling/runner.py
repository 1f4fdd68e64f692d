"""Runs the job table in one APScheduler process. Never inside web workers."""

from __future__ import annotations

import logging
import os
import signal
import time
from datetime import UTC, datetime
from pathlib import Path
from types import FrameType

from apscheduler.schedulers.blocking import BlockingScheduler

from api.clock import Clock, SystemClock
from api.config import check_secret_key, database_url_from_environment
from api.db import Database
from api.wellbeing.instruments import SHIPPED_INSTRUMENTS, load_instruments
from scheduling.jobs import JOBS, Job, JobContext
from scheduling.lock import SchedulerLock

log = logging.getLogger("scheduling")
LOCK_RETRY_SECONDS = 30


def run_job(job: Job, context: JobContext) -> None:
    """Run one job; a failure is logged and the next run tries again (the scheduler itself keeps going)."""
    started = time.monotonic()
    try:
        count = job.run(context)
    except Exception:
        log.exception("job %s failed", job.name)
        return
    log.info("job %s done: %d changed in %.2fs", job.name, count, time.monotonic() - started)


def context_from_environment(database: Database, clock: Clock) -> JobContext:
    """The same secret key and instruments as the web app, from the same REACHABLE_* variables."""
    secret_key = os.environ.get("REACHABLE_SECRET_KEY", "")
    problem = check_secret_key(secret_key)
    if problem:
        raise SystemExit(problem)
    wording = os.environ.get("REACHABLE_LICENSED_WORDING_FILE", "")
    instruments = load_instruments(SHIPPED_INSTRUMENTS, licensed_wording_file=Path(wording) if wording else None)
    return JobContext(database.session_factory, clock, secret_key, instruments)


def build_scheduler(context: JobContext) -> BlockingScheduler:
    scheduler = BlockingScheduler(timezone="UTC", job_defaults={"coalesce": True, "max_instances": 1})
    for job in JOBS:
        scheduler.add_job(
            run_job,
            "interval",
            seconds=job.every_seconds,
            args=(job, context),
            id=job.name,
            name=job.purpose,
            next_run_time=datetime.now(UTC),  # first run at start-up, then every interval
        )
    return scheduler


def main() -> None:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s %(message)s")
    database = Database(database_url_from_environment())
    context = context_from_environment(database, SystemClock())
    lock = SchedulerLock(database.engine)
    while not lock.try_acquire():
        log.warning("another scheduler is running; waiting %ds to take over", LOCK_RETRY_SECONDS)
        time.sleep(LOCK_RETRY_SECONDS)
    scheduler = build_scheduler(context)

    def stop(signum: int, _frame: FrameType | None) -> None:
        log.info("signal %d: finishing running jobs, then stopping", signum)
        scheduler.shutdown(wait=True)

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    log.info("scheduler started with jobs: %s", ", ".join(job.name for job in JOBS))
    try:
        scheduler.start()
    finally:
        lock.release()
        database.dispose()
