"""Runs the job table in one APScheduler process. Never inside web workers."""

from __future__ import annotations

import logging
import signal
import time
from datetime import UTC, datetime
from types import FrameType

from apscheduler.schedulers.blocking import BlockingScheduler
from sqlalchemy.orm import Session, sessionmaker

from api.clock import Clock, SystemClock
from api.config import database_url_from_environment
from api.db import Database
from scheduling.jobs import JOBS, Job
from scheduling.lock import SchedulerLock

log = logging.getLogger("scheduling")
LOCK_RETRY_SECONDS = 30


def run_job(job: Job, session_factory: sessionmaker[Session], clock: Clock) -> None:
    """Run one job; a failure is logged and the next run tries again (the scheduler itself keeps going)."""
    started = time.monotonic()
    try:
        count = job.run(session_factory, clock)
    except Exception:
        log.exception("job %s failed", job.name)
        return
    log.info("job %s done: %d changed in %.2fs", job.name, count, time.monotonic() - started)


def build_scheduler(database: Database, clock: Clock) -> BlockingScheduler:
    scheduler = BlockingScheduler(timezone="UTC", job_defaults={"coalesce": True, "max_instances": 1})
    for job in JOBS:
        scheduler.add_job(
            run_job,
            "interval",
            seconds=job.every_seconds,
            args=(job, database.session_factory, clock),
            id=job.name,
            name=job.purpose,
            next_run_time=datetime.now(UTC),  # first run at start-up, then every interval
        )
    return scheduler


def main() -> None:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s %(message)s")
    database = Database(database_url_from_environment())
    lock = SchedulerLock(database.engine)
    while not lock.try_acquire():
        log.warning("another scheduler is running; waiting %ds to take over", LOCK_RETRY_SECONDS)
        time.sleep(LOCK_RETRY_SECONDS)
    scheduler = build_scheduler(database, SystemClock())

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
