"""Runs the job table in one APScheduler process. Never inside web workers.

Stopping (SIGTERM from systemd, Docker or Kubernetes; SIGINT from a terminal) is graceful. Both signals are
blocked in every thread and the main thread waits for them with sigwait, so no Python signal handler runs at an
arbitrary moment (one could interrupt the main thread holding a lock a finishing job needs). On the signal it
sets JobContext.stopping and shuts the scheduler down: no job starts after the signal, the dispatcher claims no
further batch (api/sms/dispatch.py, dispatch_until_idle), and every running job is waited for, so a claimed
batch is sent and recorded message by message before the process releases the scheduler lock and exits 0. A
second signal during the wait changes nothing (it stays blocked); only SIGKILL cuts the wait short, and what it
leaves claimed is reconciled by the next scheduler.
"""

from __future__ import annotations

import logging
import signal
import time
from collections.abc import Mapping
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from apscheduler.schedulers.background import BackgroundScheduler

from api.clock import Clock, SystemClock
from api.config import DefaultConfig, check_secret_key, database_url_from_environment, settings_from_environment
from api.db import Database
from api.logs import configure_logging_from
from api.outbox.rules import RecipientType
from api.privacy.rules import InvalidRetention, RetentionPolicy, retention_policy
from api.sms.dispatch import DispatchSettings
from api.sms.pacing import SendPacer
from api.sms.rules import QuietHours, SendRate, parse_quiet_hours
from api.wellbeing import links
from api.wellbeing.instruments import SHIPPED_INSTRUMENTS, load_instruments
from notifications.dev_sender import RecordingSmsSender
from notifications.twilio_adapter import TwilioSender
from scheduling import health
from scheduling.jobs import JOBS, RECOVER_DEAD_CLAIMS, Job, JobContext
from scheduling.lock import SchedulerLock

log = logging.getLogger("scheduling")
LOCK_RETRY_SECONDS = 30
# Each sending thread holds a database connection while it checks and records a message.
MAX_SEND_THREADS = 32
STOP_SIGNALS = {signal.SIGTERM, signal.SIGINT}


def run_job(job: Job, context: JobContext) -> None:
    """Run one job and write its one line (event job_run: the job, its outcome, what it changed, how long it took).
    A failure is logged and the next run tries again (the scheduler itself keeps going). Each run's start and end
    are recorded as the job's heartbeat (scheduling/health.py)."""
    if context.stopping.is_set():
        log.info("job_run", extra={"job": job.name, "outcome": "not_started", "reason": "the scheduler is stopping"})
        return
    started_at = context.clock.now()
    health.record_started(context.session_factory, job.name, started_at)
    started = time.monotonic()
    error = None
    try:
        count = job.run(context)
    except Exception as problem:
        log.exception("job_run", extra={"job": job.name, "outcome": "failed", "duration_ms": _since(started)})
        error = type(problem).__name__  # the class only: a message can hold personal data
    duration = time.monotonic() - started
    health.record_finished(
        context.session_factory, job.name, started_at=started_at, duration_ms=round(duration * 1000), error=error,
        now=context.clock.now(),
    )  # fmt: skip
    if error is not None:
        return
    # A run that changed nothing is routine (the urgent poll runs every 2 seconds): kept out of the INFO log.
    log.log(
        logging.INFO if count else logging.DEBUG,
        "job_run",
        extra={"job": job.name, "outcome": "done", "changed": count, "duration_ms": _since(started)},
    )


def _since(started: float) -> float:
    return round((time.monotonic() - started) * 1000, 1)


def context_from_environment(database: Database, clock: Clock) -> JobContext:
    """The same secret key, instruments and SMS settings as the web app, from the same REACHABLE_* variables."""
    settings = settings_from_environment()
    secret_key = str(settings.get("SECRET_KEY") or "")
    problem = check_secret_key(secret_key)
    if problem:
        raise SystemExit(problem)
    wording = str(settings.get("LICENSED_WORDING_FILE") or "")
    instruments = load_instruments(SHIPPED_INSTRUMENTS, licensed_wording_file=Path(wording) if wording else None)
    public_base_url = str(settings["PUBLIC_BASE_URL"]).rstrip("/")
    public_base_url_problem = links.public_base_url_problem(public_base_url)
    if public_base_url_problem:
        raise SystemExit(public_base_url_problem)
    rate, send_threads = sms_pacing(settings)
    sender = build_sender(settings, send_threads=send_threads)
    dispatch = DispatchSettings(
        sender=sender,
        secret_key=secret_key,
        public_base_url=public_base_url,
        status_callback_url=f"{public_base_url}/webhooks/twilio/status" if settings["SMS_SENDER"] == "twilio" else None,
        quiet_hours=_quiet_hours(settings["SMS_QUIET_HOURS"]),
        # One pacer for the process, shared by the regular drain and the urgent poll (scheduling/jobs.py); the
        # scheduler lock means this is the only process dispatching.
        pacer=SendPacer(rate),
        sender_identity=sender.identity,
        send_threads=send_threads,
    )
    return JobContext(
        database.session_factory,
        clock,
        secret_key,
        instruments,
        dispatch,
        int(settings["SMS_RETENTION_DAYS"]),
        retention=_retention(settings),
    )


def _retention(settings: Mapping[str, Any]) -> RetentionPolicy:
    try:
        return retention_policy(
            settings["RETENTION_DAYS"],
            defaults=DefaultConfig.RETENTION_DAYS,
            sms_retention_days=int(settings["SMS_RETENTION_DAYS"]),
        )
    except InvalidRetention as problem:
        raise SystemExit(f"REACHABLE_RETENTION_DAYS: {problem}") from problem


def _quiet_hours(configured: Any) -> dict[RecipientType, QuietHours | None]:
    try:
        return parse_quiet_hours(dict(configured))
    except (TypeError, ValueError) as problem:
        raise SystemExit(
            f"REACHABLE_SMS_QUIET_HOURS must map child, carer and mentor to 'HH:MM-HH:MM' or null ({problem})."
        ) from problem


def sms_pacing(settings: Mapping[str, Any]) -> tuple[SendRate, int]:
    """The provider's rate per sender (SMS_RATE_PER_SECOND, SMS_RATE_BURST) and the sending threads."""
    try:
        rate = SendRate(float(settings["SMS_RATE_PER_SECOND"]), settings["SMS_RATE_BURST"])
    except (TypeError, ValueError) as problem:
        raise SystemExit(
            f"REACHABLE_SMS_RATE_PER_SECOND must be a positive number and REACHABLE_SMS_RATE_BURST a whole number of "
            f"at least 1 ({problem})."
        ) from problem
    threads = settings["SMS_SEND_THREADS"]
    if isinstance(threads, bool) or not isinstance(threads, int) or not 1 <= threads <= MAX_SEND_THREADS:
        raise SystemExit(f"REACHABLE_SMS_SEND_THREADS must be a whole number from 1 to {MAX_SEND_THREADS}.")
    return rate, threads


def build_sender(settings: Mapping[str, Any], *, send_threads: int = 1) -> TwilioSender | RecordingSmsSender:
    """Twilio when configured so, else the development sender, which only writes messages to a local file."""
    if settings["SMS_SENDER"] == "twilio":
        for name in ("TWILIO_ACCOUNT_SID", "TWILIO_AUTH_TOKEN"):
            if not settings.get(name):
                raise SystemExit(f"REACHABLE_SMS_SENDER=twilio needs REACHABLE_{name}.")
        return TwilioSender(
            str(settings["TWILIO_ACCOUNT_SID"]),
            str(settings["TWILIO_AUTH_TOKEN"]),
            from_number=str(settings.get("TWILIO_FROM_NUMBER") or "") or None,
            messaging_service_sid=str(settings.get("TWILIO_MESSAGING_SERVICE_SID") or "") or None,
            api_base_url=str(settings.get("TWILIO_API_BASE_URL") or "") or None,
            # The sending threads and the urgent poll may each have a request with Twilio at once.
            connections=send_threads + 1,
        )
    if settings["SMS_SENDER"] != "development":
        raise SystemExit("REACHABLE_SMS_SENDER must be 'development' or 'twilio'.")
    log.warning("SMS are written to %s, not sent (REACHABLE_SMS_SENDER=development)", settings["DEV_SMS_FILE"])
    return RecordingSmsSender(Path(str(settings["DEV_SMS_FILE"])))


class _SkippedWhileRunning(logging.Filter):
    """APScheduler warns each time a job's interval comes round while its last run is still going. With one run at
    a time by design (max_instances=1), that is routine for the SMS drain, which runs for as long as a burst lasts
    while its 2-second interval ticks on: kept out of the WARNING log (the job's health says if a run is stuck)."""

    def filter(self, record: logging.LogRecord) -> bool:
        return "maximum number of running instances reached" not in str(record.msg)


def build_scheduler(context: JobContext) -> BackgroundScheduler:
    apscheduler_log = logging.getLogger("apscheduler.scheduler")
    if not any(isinstance(existing, _SkippedWhileRunning) for existing in apscheduler_log.filters):
        apscheduler_log.addFilter(_SkippedWhileRunning())
    scheduler = BackgroundScheduler(timezone="UTC", job_defaults={"coalesce": True, "max_instances": 1})
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
    # Built only once this process holds the scheduler lock, so every claim another process made is a dead one.
    scheduler.add_job(
        run_job,
        "date",
        run_date=datetime.now(UTC),
        args=(RECOVER_DEAD_CLAIMS, context),
        id=RECOVER_DEAD_CLAIMS.name,
        name=RECOVER_DEAD_CLAIMS.purpose,
    )
    return scheduler


def main() -> None:
    # REACHABLE_LOG_FORMAT and REACHABLE_LOG_LEVEL, as the web app reads them (api/logs.py).
    configure_logging_from(settings_from_environment())
    _, send_threads = sms_pacing(settings_from_environment())
    # Each sending thread holds a connection while it checks or records a message, beside the other jobs' (the
    # pool's default, 5 and 10 more on demand, is what the jobs needed before the sending threads).
    database = Database(database_url_from_environment(), pool_size=5 + send_threads)
    health.serve_metrics(settings_from_environment())
    run(database, context_from_environment(database, SystemClock()))


def run(database: Database, context: JobContext) -> None:
    """Take the scheduler lock, run the job table until SIGTERM or SIGINT, then stop gracefully (see above).

    Call it from the main thread before any other thread is started, so every thread inherits the blocked signals.
    """
    previous_mask = signal.pthread_sigmask(signal.SIG_BLOCK, STOP_SIGNALS)
    lock = SchedulerLock(database.engine)
    try:
        while not lock.try_acquire():
            log.warning("another scheduler is running; waiting %ds to take over", LOCK_RETRY_SECONDS)
            if signal.sigtimedwait(STOP_SIGNALS, LOCK_RETRY_SECONDS) is not None:
                return
        scheduler = build_scheduler(context)
        scheduler.start()
        log.info("scheduler started with jobs: %s", ", ".join(job.name for job in JOBS))
        signum = signal.sigwait(STOP_SIGNALS)
        context.stopping.set()
        log.info("signal %d: no new jobs or dispatch batches; finishing the jobs running, then stopping", signum)
        scheduler.shutdown(wait=True)
        log.info("stopped: every running job finished")
    finally:
        lock.release()
        database.dispose()
        signal.pthread_sigmask(signal.SIG_SETMASK, previous_mask)
