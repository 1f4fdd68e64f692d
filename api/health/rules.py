"""When a scheduler job counts as late. Pure: no database, no framework.

A job is late when it has not succeeded for more than twice its interval (LATE_AFTER_INTERVALS), and never sooner
than LATE_AFTER_AT_LEAST: one missed run is tolerated (a run skipped while the previous one was still going, a
restart, a busy machine making APScheduler skip a 2-second poll), two are not. A run still in
progress counts as on time for the job's longest_run_seconds after it started, so a long, healthy dispatch burst
is not mistaken for a stuck scheduler; past that it is stuck, and the job is late again. A job that has never
succeeded is late as well (never ran). The urgent dispatcher runs every 2 seconds and is idle nearly always, so a
scheduler killed or frozen shows as late within LATE_AFTER_AT_LEAST seconds.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum

LATE_AFTER_INTERVALS = 2
LATE_AFTER_AT_LEAST = timedelta(seconds=10)


class JobState(StrEnum):
    OK = "ok"  # succeeded within twice its interval
    RUNNING = "running"  # a run in progress, started within its allowance
    LATE = "late"  # no success within twice its interval (stopped, frozen, failing or stuck in a run)
    NEVER_RAN = "never_ran"  # no success recorded at all


@dataclass(frozen=True)
class JobTiming:
    """What the rule needs of a job: how often it runs and how long one run may take."""

    name: str
    every_seconds: int
    longest_run_seconds: int


@dataclass(frozen=True)
class RunRecord:
    last_started_at: datetime | None
    last_succeeded_at: datetime | None
    last_failed_at: datetime | None


def late_after(job: JobTiming) -> timedelta:
    """How long a job may go without a success before it is late."""
    return max(timedelta(seconds=LATE_AFTER_INTERVALS * job.every_seconds), LATE_AFTER_AT_LEAST)


def job_state(job: JobTiming, record: RunRecord | None, *, now: datetime) -> JobState:
    allowed = late_after(job)
    succeeded = record.last_succeeded_at if record else None
    if succeeded is not None and now - succeeded <= allowed:
        return JobState.OK
    if record is not None and _in_progress(record):
        assert record.last_started_at is not None
        if now - record.last_started_at <= allowed + timedelta(seconds=job.longest_run_seconds):
            return JobState.RUNNING
    return JobState.NEVER_RAN if succeeded is None else JobState.LATE


def is_healthy(state: JobState) -> bool:
    return state in {JobState.OK, JobState.RUNNING}


def _in_progress(record: RunRecord) -> bool:
    started = record.last_started_at
    if started is None:
        return False
    return all(finished is None or finished < started for finished in (record.last_succeeded_at, record.last_failed_at))
