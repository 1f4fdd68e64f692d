"""The scheduler's job table: every job the scheduler process runs, in one reviewable place.

Jobs receive a JobContext (a session factory, a clock, the secret key and the wellbeing instruments); each
opens its own db_session and calls one domain service, which owns the transaction. Where that service sits below
the domain whose records it needs, the job hands it what a query of that domain found. Nothing here imports
Flask.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

from sqlalchemy.orm import Session, sessionmaker

from api.alerts import service as alerts_service
from api.clock import Clock
from api.config import DefaultConfig
from api.enrolments import service as enrolments_service
from api.health.rules import JobTiming
from api.privacy import service as privacy_service
from api.privacy.rules import RetentionPolicy, retention_policy
from api.sessions import lone_working, reminder_sweep
from api.sms import dispatch as sms_dispatch
from api.sms import reconcile as sms_reconcile
from api.sms import service as sms_service
from api.sms.dispatch import DispatchSettings
from api.watch import service as watch_service
from api.wellbeing import routine as wellbeing_routine
from api.wellbeing.rules import Instrument

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class JobContext:
    session_factory: sessionmaker[Session]
    clock: Clock
    # Derives check-in link tokens (only their hashes are stored), exactly as the web app does.
    secret_key: str
    instruments: Mapping[str, Instrument]
    dispatch: DispatchSettings
    sms_retention_days: int = 30
    # Days kept per record type (RETENTION_DAYS); None: the defaults of api/config.py.
    retention: RetentionPolicy | None = None
    # Set on SIGTERM/SIGINT (scheduling/runner.py): no job starts after it, and the dispatcher claims no new batch.
    stopping: threading.Event = field(default_factory=threading.Event)


# How long one healthy run may take before a run still in progress counts as stuck (api/health/rules.py): the SMS
# loops stop after a 50-second budget (api/sms/dispatch.py), and no other job comes near it.
LONGEST_RUN_SECONDS = 120


@dataclass(frozen=True)
class Job:
    name: str
    # Also what the scheduler's health is judged by: a job is late after twice this without a success.
    every_seconds: int
    run: Callable[[JobContext], int]
    purpose: str
    longest_run_seconds: int = LONGEST_RUN_SECONDS

    @property
    def timing(self) -> JobTiming:
        return JobTiming(self.name, self.every_seconds, self.longest_run_seconds)


def _in_own_db_session(service: Callable[..., int]) -> Callable[[JobContext], int]:
    """A job that calls one service with a db_session of its own and the clock's time (the service owns the
    transactions)."""

    def run(context: JobContext) -> int:
        with context.session_factory() as db_session:
            return service(db_session, now=context.clock.now())

    return run


def _sms_loop(loop: Callable[..., int], **options: bool) -> Callable[[JobContext], int]:
    """A job that runs one of the SMS loops, which open a transaction per batch and stop when there is nothing left
    to do or the scheduler is stopping."""

    def run(context: JobContext) -> int:
        return loop(
            context.session_factory,
            settings=context.dispatch,
            clock=context.clock.now,
            stop_requested=context.stopping.is_set,
            **options,
        )

    return run


lapse_expired_offers = _in_own_db_session(enrolments_service.lapse_expired_offers)
escalate_alerts = _in_own_db_session(alerts_service.escalate_unacknowledged)
check_duty_cover = _in_own_db_session(alerts_service.check_duty_cover)
check_lone_working = _in_own_db_session(lone_working.check_lone_working)
check_return_conversations = _in_own_db_session(watch_service.check_return_conversations)
check_disengagement = _in_own_db_session(watch_service.check_disengagement)
drop_late_messages = _in_own_db_session(sms_service.drop_late_messages)

# The regular drain and the urgent poll share the dispatch settings, and so one SendPacer: the provider's rate per
# sender holds for both together, urgent sends first (api/sms/pacing.py).
dispatch_outbox = _sms_loop(sms_dispatch.dispatch_until_idle)
# Only urgent messages (an urgent alert, a lone-working check), polled every few seconds so one leaves within seconds
# of its commit, however long the regular dispatcher's interval.
dispatch_urgent = _sms_loop(sms_dispatch.dispatch_until_idle, urgent_only=True)
reconcile_messages = _sms_loop(sms_reconcile.reconcile_until_idle)
# Run once when the scheduler takes the lock (scheduling/runner.py): the claims a killed scheduler left are settled at
# once, not after their lease.
recover_dead_claims = _sms_loop(sms_reconcile.recover_dead_claims)


def invite_due_check_ins(context: JobContext) -> int:
    with context.session_factory() as db_session:
        return wellbeing_routine.invite_due_check_ins(
            db_session, instruments=context.instruments, secret_key=context.secret_key, now=context.clock.now()
        )


def queue_due_reminders(context: JobContext) -> int:
    with context.session_factory() as db_session:
        # The sessions entering the horizon since the last run, and those of what changed since (issue 20).
        return reminder_sweep.sweep_reminders(db_session, now=context.clock.now()).queued


def purge_expired_records(context: JobContext) -> int:
    policy = context.retention or default_retention(sms_retention_days=context.sms_retention_days)
    with context.session_factory() as db_session:
        run = privacy_service.purge_expired_records(db_session, policy=policy, now=context.clock.now())
    return sum(run.counts.values())


def default_retention(*, sms_retention_days: int) -> RetentionPolicy:
    return retention_policy({}, defaults=DefaultConfig.RETENTION_DAYS, sms_retention_days=sms_retention_days)


# Run once, at start-up, once the scheduler holds the lock: alongside the job table, so dispatch is not held up.
RECOVER_DEAD_CLAIMS = Job(
    name="recover_dead_claims",
    every_seconds=0,
    run=recover_dead_claims,
    purpose="Settle the SMS claims a scheduler that died left behind (looked up at the provider before any resend).",
)

JOBS = [
    Job(
        name="lapse_expired_offers",
        every_seconds=60,
        run=lapse_expired_offers,
        purpose="Pass places offered from the waitlist and not confirmed in time on to the next child.",
    ),
    Job(
        name="invite_due_check_ins",
        every_seconds=15 * 60,
        run=invite_due_check_ins,
        purpose="Create the check-in links a programme's routine says are due (queued in the SMS outbox).",
    ),
    Job(
        name="queue_due_reminders",
        every_seconds=5 * 60,
        run=queue_due_reminders,
        purpose="Queue SMS reminders for sessions entering the next 48 hours, and re-sync those of what changed.",
    ),
    # Every 2 seconds, so a burst that falls due is taken up at once; a run drains while anything is due (up to its
    # 50-second budget) at the provider's rate, and the next starts within 2 seconds of its end (issue 20).
    Job(
        name="dispatch_outbox",
        every_seconds=2,
        run=dispatch_outbox,
        purpose="Send due SMS at the provider's rate: claim, re-check consent and session, send outside any "
        "transaction, record.",
    ),
    Job(
        name="dispatch_urgent",
        every_seconds=2,
        run=dispatch_urgent,
        purpose="Send urgent SMS (urgent alerts, lone-working checks) within seconds, ahead of everything else.",
    ),
    Job(
        name="escalate_alerts",
        every_seconds=30,
        run=escalate_alerts,
        purpose="Text an unacknowledged alert's next step: the rota's fallback, then every coordinator.",
    ),
    Job(
        name="check_duty_cover",
        every_seconds=60 * 60,
        run=check_duty_cover,
        purpose="Alert a programme whose duty rota leaves part of the coming days uncovered.",
    ),
    Job(
        name="check_lone_working",
        every_seconds=60,
        run=check_lone_working,
        purpose="Text a mentor working alone who has not checked in by their time; alert the duty coordinator later.",
    ),
    Job(
        name="check_return_conversations",
        every_seconds=15 * 60,
        run=check_return_conversations,
        purpose="Alert the duty coordinator when a return conversation not yet held is due within hours, then overdue.",
    ),
    Job(
        name="check_disengagement",
        every_seconds=60 * 60,
        run=check_disengagement,
        purpose="Alert when a child misses sessions in a row, completes none for weeks or leaves links unanswered.",
    ),
    Job(
        name="reconcile_messages",
        every_seconds=60,
        run=reconcile_messages,
        purpose="Look up sends whose outcome is unknown (or whose dispatcher died) before any resend.",
    ),
    Job(
        name="drop_late_messages",
        every_seconds=5 * 60,
        run=drop_late_messages,
        purpose="Drop queued SMS whose moment has passed (a session started, a link expired), with the reason.",
    ),
    # SMS retention is part of the audited retention purge (purge_expired_records), which replaced the
    # purge_old_messages job: one run, one audit row, for every record type.
    Job(
        name="purge_expired_records",
        every_seconds=6 * 60 * 60,
        run=purge_expired_records,
        purpose="Delete records past their retention period (sign-ins, idempotency, link tokens, SMS, audit); audited.",
        # A first purge of years of records may take a while; it runs every 6 hours.
        longest_run_seconds=60 * 60,
    ),
]

# What /readyz, /metrics and `python -m scheduling --check` judge the scheduler's health by.
JOB_TIMINGS = [job.timing for job in JOBS]
