"""The scheduler's job table: every job the scheduler process runs, in one reviewable place.

Jobs receive nothing but a session factory and a clock; each opens its own db_session and calls one domain
service, which owns the transaction. Nothing here imports Flask.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass

from sqlalchemy.orm import Session, sessionmaker

from api.clock import Clock
from api.enrolments import service as enrolments_service

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Job:
    name: str
    every_seconds: int
    run: Callable[[sessionmaker[Session], Clock], int]
    purpose: str


def lapse_expired_offers(session_factory: sessionmaker[Session], clock: Clock) -> int:
    with session_factory() as db_session:
        return enrolments_service.lapse_expired_offers(db_session, now=clock.now())


JOBS = [
    Job(
        name="lapse_expired_offers",
        every_seconds=60,
        run=lapse_expired_offers,
        purpose="Pass places offered from the waitlist and not confirmed in time on to the next child.",
    ),
]
