"""The scheduler's job table: every job the scheduler process runs, in one reviewable place.

Jobs receive a JobContext (a session factory, a clock, the secret key and the wellbeing instruments); each
opens its own db_session and calls one domain service, which owns the transaction. Nothing here imports Flask.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass

from sqlalchemy.orm import Session, sessionmaker

from api.clock import Clock
from api.enrolments import service as enrolments_service
from api.wellbeing import service as wellbeing_service
from api.wellbeing.rules import Instrument

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class JobContext:
    session_factory: sessionmaker[Session]
    clock: Clock
    # Derives check-in link tokens (only their hashes are stored), exactly as the web app does.
    secret_key: str
    instruments: Mapping[str, Instrument]


@dataclass(frozen=True)
class Job:
    name: str
    every_seconds: int
    run: Callable[[JobContext], int]
    purpose: str


def lapse_expired_offers(context: JobContext) -> int:
    with context.session_factory() as db_session:
        return enrolments_service.lapse_expired_offers(db_session, now=context.clock.now())


def invite_due_check_ins(context: JobContext) -> int:
    with context.session_factory() as db_session:
        return wellbeing_service.invite_due_check_ins(
            db_session, instruments=context.instruments, secret_key=context.secret_key, now=context.clock.now()
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
]
