"""Two runs of the lone-working job at once (two schedulers, or one run overlapping the next), on PostgreSQL with two
real transactions (SQLite serialises writers, so they cannot overlap there).

`check_lone_working` locks the overdue checks it takes with SKIP LOCKED (api/sessions/lone_working.py): a check one
run holds is left to it by the other, which neither waits nor acts on it. So the mentor is texted once and the duty
coordinator alerted once, never a repeat counted on the alert.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from api.alerts.models import Alert
from api.alerts.rules import AlertKind
from api.clock import FixedClock
from api.db import Database, transaction
from api.outbox.models import OutboundMessage
from api.outbox.rules import MessagePurpose, RecipientType
from api.sessions import lone_working
from api.sessions import service as sessions_service
from api.sessions.rules import LocationCategory, SessionKind, SessionLog, SessionStatus
from tests.alerting import events
from tests.builders import Team, actor_for, utc

START, END = utc(2026, 11, 23, 19, 30), utc(2026, 11, 23, 20, 30)
CHECK_IN_BY = utc(2026, 11, 23, 21, 0)
# Both the mentor's text (at check-in-by) and the duty coordinator's alert (15 minutes later) are due.
BOTH_DUE = CHECK_IN_BY + timedelta(minutes=15)
PATIENCE_SECONDS = 20


@pytest.fixture()
def database(backend: str, committed_database_url: str) -> Iterator[Database]:
    if backend == "sqlite":
        pytest.skip("SQLite serialises writers (BEGIN IMMEDIATE): two writing transactions cannot overlap")
    database = Database(committed_database_url)
    yield database
    database.dispose()


class Setting:
    """A mentor with a work mobile alone with a child this evening, their check started, and a coordinator on duty."""

    def __init__(self, db_session: Session) -> None:
        self.db_session = db_session
        self.team = Team(db_session, FixedClock(utc(2026, 11, 23, 14)))
        self.team.mentor.mobile_e164 = "+447700900123"
        db_session.commit()
        enrolment = self.team.child()
        self.duty = self.team.on_call()
        self.team.duty_shift(self.duty, utc(2026, 11, 23, 18), utc(2026, 11, 24, 8))
        mentor = actor_for(self.team.mentor)
        now = self.team.clock.now()
        session = sessions_service.create_session(
            db_session,
            actor=mentor,
            session_id=None,
            enrolment_ids=[enrolment.id],
            mentor_id=None,
            kind=SessionKind.ONE_TO_ONE,
            location_category=LocationCategory.HOME,
            planned_start_at=START,
            planned_end_at=END,
            status=SessionStatus.PLANNED,
            log=SessionLog(),
            now=now,
        )
        lone_working.start_lone_working(db_session, actor=mentor, session_id=session.id, check_in_by=None, now=now)
        self.session_id = session.id

    def mentor_texts(self) -> list[OutboundMessage]:
        self.db_session.expire_all()
        query = select(OutboundMessage).where(
            OutboundMessage.purpose == MessagePurpose.LONE_WORKING_CHECK,
            OutboundMessage.recipient_type == RecipientType.MENTOR,
        )
        return list(self.db_session.scalars(query))

    def overdue_alerts(self) -> list[Alert]:
        self.db_session.expire_all()
        return list(self.db_session.scalars(select(Alert).where(Alert.kind == AlertKind.LONE_WORKING_OVERDUE)))


def run_job(database: Database) -> int:
    with database.session() as db_session:
        return lone_working.check_lone_working(db_session, now=BOTH_DUE)


def test_a_run_overlapping_another_leaves_the_check_it_holds_to_it(committed_db_session, database):
    setting = Setting(committed_db_session)

    with ThreadPoolExecutor(max_workers=1) as pool, database.session() as first, transaction(first):
        assert lone_working.check_lone_working(first, now=BOTH_DUE) == 2  # the text and the alert, not committed
        # The second run, while the first holds the check's lock: it must not wait for it, nor act on it.
        second = pool.submit(run_job, database)
        assert second.result(timeout=PATIENCE_SECONDS) == 0

    assert run_job(database) == 0  # and once the first has committed, there is nothing left to do
    [text] = setting.mentor_texts()
    assert text.recipient_user_id == setting.team.mentor.id
    [alert] = setting.overdue_alerts()
    assert (alert.occurrences, str(alert.session_id)) == (1, str(setting.session_id))
    assert events(committed_db_session, alert.id) == ["raised", "texted"]


def test_two_runs_at_the_same_moment_text_the_mentor_once_and_raise_one_alert(committed_db_session, database):
    setting = Setting(committed_db_session)
    together = threading.Barrier(2, timeout=PATIENCE_SECONDS)

    def run_together(_: Any) -> int:
        together.wait()
        return run_job(database)

    with ThreadPoolExecutor(max_workers=2) as pool:
        acted = sorted(pool.map(run_together, range(2), timeout=PATIENCE_SECONDS))

    assert acted == [0, 2]
    assert len(setting.mentor_texts()) == 1
    [alert] = setting.overdue_alerts()
    assert alert.occurrences == 1
    assert events(committed_db_session, alert.id) == ["raised", "texted"]
