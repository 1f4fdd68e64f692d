"""Acknowledging an alert while the escalation job runs, and two requests raising the same alert at once, on
PostgreSQL with two real transactions (SQLite serialises writers, so they cannot overlap there).

Each alert row is locked by whoever changes it (api/alerts/service.py): an acknowledgement in progress keeps the
escalation off it, and an escalation in progress makes the acknowledgement wait and then apply on top. Never two
escalation SMS, never a lost acknowledgement. The unique index on open alerts, with the savepoint in `_insert`,
turns a second simultaneous raise into a repeat of the first.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import Engine, create_engine, text
from sqlalchemy.orm import Session

from api.alerts import service as alerts
from api.alerts.rules import AlertKind, AlertState, EscalationStep
from api.clock import FixedClock
from api.db import Database, transaction
from tests.alerting import alerts_of, events, messages_of
from tests.builders import Team, actor_for, utc

RAISED_AT = utc(2026, 11, 28, 21)
PATIENCE_SECONDS = 20


@pytest.fixture()
def database(backend: str, committed_database_url: str) -> Iterator[Database]:
    if backend == "sqlite":
        pytest.skip("SQLite serialises writers (BEGIN IMMEDIATE): two writing transactions cannot overlap")
    database = Database(committed_database_url)
    yield database
    database.dispose()


@pytest.fixture()
def observer(database: Database) -> Iterator[Engine]:
    engine = create_engine(database.url, isolation_level="AUTOCOMMIT")
    yield engine
    engine.dispose()


class Setting:
    def __init__(self, db_session: Session) -> None:
        self.team = Team(db_session, FixedClock(RAISED_AT - timedelta(days=5)))
        self.child_id = self.team.child().child_id
        self.duty = self.team.on_call(display_name="A Duty")
        self.fallback = self.team.on_call(display_name="B Fallback")
        self.team.duty_shift(self.duty, utc(2026, 11, 28, 18), utc(2026, 11, 29, 8), fallback=self.fallback)
        self.team.travel_to(RAISED_AT)

    def raise_concern(self, db_session: Session) -> Any:
        with transaction(db_session):
            return alerts.raise_alert(
                db_session,
                programme_id=self.team.programme.id,
                child_id=self.child_id,
                kind=AlertKind.SAFEGUARDING_CONCERN,
                detail="A concern.",
                actor=actor_for(self.team.mentor),
                now=self.team.clock.now(),
            )


def waiting_for_locks(observer: Engine) -> int:
    with observer.connect() as connection:
        return connection.execute(
            text(
                "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() AND wait_event_type = 'Lock'"
            )
        ).scalar_one()


def finished_or_waiting(observer: Engine, future: Future[Any]) -> None:
    deadline = time.monotonic() + PATIENCE_SECONDS
    while not future.done() and waiting_for_locks(observer) == 0:
        if time.monotonic() > deadline:
            pytest.fail("the other transaction neither finished nor waited for a lock")
        time.sleep(0.02)


def in_thread(pool: ThreadPoolExecutor, database: Database, work: Callable[[Session], Any]) -> Future[Any]:
    def run() -> Any:
        with database.session() as db_session:
            return work(db_session)

    return pool.submit(run)


FIFTEEN_MINUTES_ON = RAISED_AT + timedelta(minutes=15)


def test_an_acknowledgement_in_progress_keeps_the_escalation_off_the_alert(committed_db_session, database, observer):
    setting = Setting(committed_db_session)
    alert = setting.raise_concern(committed_db_session)

    with ThreadPoolExecutor(max_workers=1) as pool, database.session() as acknowledging:
        with transaction(acknowledging):
            alerts.acknowledge_alert(
                acknowledging, actor=actor_for(setting.duty), alert_id=alert.id, note="On it.", now=FIFTEEN_MINUTES_ON
            )
            # The acknowledgement holds the alert's row lock, not yet committed, while the escalation runs.
            escalation = in_thread(
                pool, database, lambda db_session: alerts.escalate_unacknowledged(db_session, now=FIFTEEN_MINUTES_ON)
            )
            finished_or_waiting(observer, escalation)
        escalated = escalation.result(timeout=PATIENCE_SECONDS)

    assert escalated == 0
    with database.session() as db_session:
        assert alerts.escalate_unacknowledged(db_session, now=FIFTEEN_MINUTES_ON + timedelta(seconds=30)) == 0
    committed_db_session.expire_all()
    [stored] = alerts_of(committed_db_session)
    assert (stored.state, stored.acknowledged_by_user_id, stored.escalate_at) == (
        AlertState.ACKNOWLEDGED,
        setting.duty.id,
        None,
    )
    assert [message.recipient_user_id for message in messages_of(committed_db_session)] == [setting.duty.id]
    assert events(committed_db_session, alert.id) == ["raised", "texted", "acknowledged"]


def test_an_acknowledgement_during_an_escalation_waits_and_is_kept(committed_db_session, database, observer):
    setting = Setting(committed_db_session)
    alert = setting.raise_concern(committed_db_session)
    acknowledged_at = FIFTEEN_MINUTES_ON + timedelta(seconds=5)

    with ThreadPoolExecutor(max_workers=1) as pool, database.session() as escalating:
        with transaction(escalating):
            assert alerts.escalate_unacknowledged(escalating, now=FIFTEEN_MINUTES_ON) == 1
            # The escalation holds the alert's row lock, not yet committed, while the acknowledgement arrives.
            acknowledgement = in_thread(
                pool,
                database,
                lambda db_session: alerts.acknowledge_alert(
                    db_session,
                    actor=actor_for(setting.fallback),
                    alert_id=alert.id,
                    note="Got it.",
                    now=acknowledged_at,
                ),
            )
            finished_or_waiting(observer, acknowledgement)
            assert not acknowledgement.done(), "the acknowledgement did not wait for the escalation's lock"
        acknowledgement.result(timeout=PATIENCE_SECONDS)

    with database.session() as db_session:
        assert alerts.escalate_unacknowledged(db_session, now=RAISED_AT + timedelta(hours=2)) == 0
    committed_db_session.expire_all()
    [stored] = alerts_of(committed_db_session)
    assert (
        stored.state,
        stored.acknowledged_at,
        stored.acknowledged_by_user_id,
        stored.escalate_at,
        stored.escalation_step,
    ) == (AlertState.ACKNOWLEDGED, acknowledged_at, setting.fallback.id, None, EscalationStep.FALLBACK)
    recipients = [message.recipient_user_id for message in messages_of(committed_db_session)]
    assert sorted(recipients) == sorted([setting.duty.id, setting.fallback.id])
    assert events(committed_db_session, alert.id) == ["raised", "texted", "escalated", "texted", "acknowledged"]


def test_two_concerns_raised_at_once_open_one_alert_counted_twice(
    committed_db_session, database, observer, monkeypatch
):
    setting = Setting(committed_db_session)
    # Both transactions look for the open alert before either inserts one: the race made certain.
    both_have_looked = threading.Barrier(2, timeout=PATIENCE_SECONDS)
    looked = threading.local()
    open_alert = alerts._open_alert

    def open_alert_then_wait(db_session: Session, **kwargs: Any) -> Any:
        found = open_alert(db_session, **kwargs)
        if not getattr(looked, "once", False):
            looked.once = True
            both_have_looked.wait()
        return found

    monkeypatch.setattr(alerts, "_open_alert", open_alert_then_wait)

    with ThreadPoolExecutor(max_workers=2) as pool:
        raised = [in_thread(pool, database, setting.raise_concern) for _ in range(2)]
        ids = {future.result(timeout=PATIENCE_SECONDS).id for future in raised}

    committed_db_session.expire_all()
    [stored] = alerts_of(committed_db_session)
    assert ids == {stored.id}
    assert (stored.state, stored.occurrences) == (AlertState.RAISED, 2)
    # The repeat counts on the alert still waiting, which is being chased already: one SMS.
    assert events(committed_db_session, stored.id) == ["raised", "texted", "repeated"]
    assert [message.recipient_user_id for message in messages_of(committed_db_session)] == [setting.duty.id]
