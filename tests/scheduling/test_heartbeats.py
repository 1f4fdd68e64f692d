"""The scheduler's heartbeats and the check that reads them (scheduling/health.py, api/health/rules.py).

Every run writes its job's heartbeat; a job is late once twice its interval passes without a success.
`python -m scheduling --check` (scheduling.health.check) fails then, and /readyz says so in its `scheduler`
detail, without failing itself. A real scheduler killed or frozen: tests/reliability/test_scheduler_liveness.py.
"""

from __future__ import annotations

import io
from datetime import timedelta

from sqlalchemy import select

from api.health.models import JobHeartbeat
from api.health.rules import LATE_AFTER_AT_LEAST, JobState, JobTiming, RunRecord, job_state, late_after
from scheduling.health import check
from scheduling.jobs import JOB_TIMINGS, JOBS, Job
from scheduling.runner import run_job
from tests.alerting import job_context
from tests.conftest import DEFAULT_NOW

URGENT_DISPATCH = next(job for job in JOBS if job.name == "dispatch_urgent")


def run_every_job_once(session_factory, clock) -> None:
    context = job_context(session_factory, clock)
    for job in JOBS:
        run_job(job, context)


def checked(session_factory, clock) -> tuple[int, str]:
    out = io.StringIO()
    return check(session_factory, clock, out=out), out.getvalue()


def test_every_job_that_ran_within_its_interval_passes_the_check(session_factory, clock):
    run_every_job_once(session_factory, clock)
    clock.advance(seconds=late_after(URGENT_DISPATCH.timing).total_seconds())  # the fastest job's limit, not past it

    code, output = checked(session_factory, clock)

    assert code == 0, output
    assert "dispatch_urgent: ok" in output
    assert output.splitlines()[-1] == "scheduler: healthy"


def test_a_job_not_run_for_more_than_twice_its_interval_fails_the_check(session_factory, clock):
    run_every_job_once(session_factory, clock)
    clock.advance(seconds=late_after(URGENT_DISPATCH.timing).total_seconds() + 1)

    code, output = checked(session_factory, clock)

    assert code == 1
    assert "dispatch_urgent: late" in output
    assert "reconcile_messages: ok" in output  # 60 s interval: not late yet
    assert "LATE" in output.splitlines()[-1]


def test_a_scheduler_that_never_ran_fails_the_check(session_factory, clock):
    code, output = checked(session_factory, clock)

    assert code == 1
    assert f"{JOBS[0].name}: never_ran" in output


def test_readyz_reports_a_late_scheduler_as_detail_and_stays_ready(client, session_factory, clock):
    run_every_job_once(session_factory, clock)
    assert client.get("/readyz").json["scheduler"]["healthy"] is True

    clock.advance(seconds=2 * 15 + 1)  # well past the regular dispatcher's allowance (twice 2 s, at least 10 s)
    response = client.get("/readyz")

    assert response.status_code == 200
    assert response.json["ready"] is True  # the web tier is ready: a stuck scheduler is not its problem
    scheduler = response.json["scheduler"]
    assert scheduler["healthy"] is False
    jobs = {job["name"]: job for job in scheduler["jobs"]}
    assert set(jobs) == {job.name for job in JOBS}
    assert jobs["dispatch_outbox"]["late"] is True
    assert jobs["dispatch_outbox"]["state"] == "late"
    assert jobs["dispatch_outbox"]["last_succeeded_at"] == "2026-11-23T14:00:00+00:00"
    assert jobs["purge_expired_records"]["late"] is False


def test_a_failing_job_records_its_error_class_only_and_becomes_late(db_session, session_factory, clock):
    def fail(_context):
        raise ValueError("a message that could name a child")

    failing = Job(name="dispatch_urgent", every_seconds=2, run=fail, purpose="fails")
    run_job(failing, job_context(session_factory, clock))
    clock.advance(seconds=11)
    run_job(failing, job_context(session_factory, clock))

    heartbeat = db_session.scalar(select(JobHeartbeat).where(JobHeartbeat.job == "dispatch_urgent"))
    assert heartbeat.last_error == "ValueError"
    assert heartbeat.last_succeeded_at is None
    assert heartbeat.last_failed_at == clock.now()
    assert heartbeat.process
    code, output = checked(session_factory, clock)
    assert code == 1
    assert "dispatch_urgent: never_ran" in output and "(ValueError)" in output


# --- the rule ------------------------------------------------------------------------------------------------

TIMING = JobTiming("dispatch_outbox", every_seconds=15, longest_run_seconds=120)


def test_the_rule_allows_twice_the_interval_since_the_last_success():
    record = RunRecord(DEFAULT_NOW, DEFAULT_NOW, None)

    assert job_state(TIMING, record, now=DEFAULT_NOW + timedelta(seconds=30)) is JobState.OK
    assert job_state(TIMING, record, now=DEFAULT_NOW + timedelta(seconds=31)) is JobState.LATE
    assert job_state(TIMING, None, now=DEFAULT_NOW) is JobState.NEVER_RAN


def test_a_long_run_in_progress_is_not_late_until_it_outlasts_its_allowance():
    started = DEFAULT_NOW + timedelta(seconds=10)
    record = RunRecord(started, DEFAULT_NOW, None)  # started after its last success, not finished

    assert job_state(TIMING, record, now=started + timedelta(seconds=100)) is JobState.RUNNING
    assert job_state(TIMING, record, now=started + timedelta(seconds=30 + 120)) is JobState.RUNNING
    assert job_state(TIMING, record, now=started + timedelta(seconds=30 + 121)) is JobState.LATE


def test_a_job_polled_every_few_seconds_is_late_only_after_ten():
    fast = JobTiming("dispatch_urgent", every_seconds=2, longest_run_seconds=120)
    record = RunRecord(DEFAULT_NOW, DEFAULT_NOW, None)

    assert timedelta(seconds=10) == LATE_AFTER_AT_LEAST
    assert job_state(fast, record, now=DEFAULT_NOW + timedelta(seconds=10)) is JobState.OK
    assert job_state(fast, record, now=DEFAULT_NOW + timedelta(seconds=11)) is JobState.LATE


def test_every_job_of_the_table_is_judged():
    assert [timing.name for timing in JOB_TIMINGS] == [job.name for job in JOBS]
    assert all(timing.every_seconds > 0 and timing.longest_run_seconds > 0 for timing in JOB_TIMINGS)
