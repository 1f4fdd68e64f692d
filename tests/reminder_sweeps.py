"""Support for the reminder sweep's tests (tests/integration/test_reminder_sweep.py, tests/concurrency): sessions
planted as rows, the way a pattern or an import might leave them (no reminders synced on writing), and a count of the
statements a sweep sends."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import Connection, event, select
from sqlalchemy.orm import Session

from api.actors import Actor
from api.db import transaction
from api.outbox.models import OutboundMessage
from api.outbox.rules import MessageState
from api.sessions import queries as sessions_queries
from api.sessions import rules as session_rules
from api.sessions.reminder_sweep import SweepResult, sweep_reminders
from api.sessions.rules import LocationCategory, SessionKind, SessionStatus
from api.sessions.service import add_session


def plant_sessions(
    db_session: Session, *, actor: Actor, enrolment_id: uuid.UUID, starts: list[datetime], now: datetime
) -> list[uuid.UUID]:
    """Planned one-to-one sessions at these starts for one child's place, written as rows (no weekly cap checked,
    no reminders synced): what a sweep finds when it first looks."""
    with transaction(db_session):
        [place] = sessions_queries.lock_places(db_session, enrolment_ids=[enrolment_id])
        assert place.key_worker_id is not None
        ids = []
        for start in starts:
            session = add_session(
                db_session,
                actor=actor,
                places=[place],
                session_id=None,
                mentor_id=place.key_worker_id,
                kind=SessionKind.ONE_TO_ONE,
                location_category=LocationCategory.COMMUNITY_VENUE,
                status=SessionStatus.PLANNED,
                planned_start_at=start,
                planned_end_at=start + timedelta(hours=1),
                timing=session_rules.local_timing(start, place.programme.time_zone),
                now=now,
            )
            ids.append(session.id)
    return ids


@dataclass(frozen=True)
class CountedSweep:
    result: SweepResult
    statements: int

    @property
    def examined(self) -> int:
        return self.result.examined

    @property
    def queued(self) -> int:
        return self.result.queued


@contextmanager
def counting_statements(connection: Connection) -> Iterator[list[str]]:
    """The statements sent on this connection while the block runs."""
    statements: list[str] = []

    def count(_conn: object, _cursor: object, statement: str, *_args: object) -> None:
        # The tests' own savepoints (each test's transaction is rolled back) are not the sweep's.
        if not statement.lstrip().upper().startswith(("SAVEPOINT", "RELEASE SAVEPOINT", "ROLLBACK TO SAVEPOINT")):
            statements.append(statement)

    event.listen(connection, "before_cursor_execute", count)
    try:
        yield statements
    finally:
        event.remove(connection, "before_cursor_execute", count)


def counted_sweep(db_session: Session, *, now: datetime) -> CountedSweep:
    """One sweep, as the scheduler runs it, with the statements it sent counted."""
    with counting_statements(db_session.connection()) as statements:
        result = sweep_reminders(db_session, now=now)
    return CountedSweep(result, len(statements))


def queued_reminders(db_session: Session, session_id: uuid.UUID) -> list[OutboundMessage]:
    """A session's reminders still queued, earliest first."""
    return list(
        db_session.scalars(
            select(OutboundMessage)
            .where(OutboundMessage.session_id == session_id, OutboundMessage.state == MessageState.QUEUED)
            .order_by(OutboundMessage.send_after, OutboundMessage.dedupe_key)
        )
    )


def reminders_of(db_session: Session, session_id: uuid.UUID) -> list[OutboundMessage]:
    """All of a session's reminders, whatever their state, earliest first."""
    return list(
        db_session.scalars(
            select(OutboundMessage)
            .where(OutboundMessage.session_id == session_id)
            .order_by(OutboundMessage.send_after, OutboundMessage.dedupe_key)
        )
    )
