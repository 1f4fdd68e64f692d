"""Two reminder sweeps at once (the scheduler holds a lock so it should never happen, but a second scheduler started
by mistake, or a sweep run by hand, must not double anything): each reminder is queued once, neither fails, and the
second finds the first's work done. On committed databases of their own, both backends."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from datetime import timedelta
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import func, select

from api.db import Database
from api.outbox.models import OutboundMessage
from api.reminders.models import ReminderSweep
from api.reminders.rules import REMINDER_HORIZON, reminder_times
from api.sessions.reminder_sweep import SweepResult, sweep_reminders
from tests.builders import Team, actor_for
from tests.conftest import DEFAULT_NOW
from tests.reminder_sweeps import plant_sessions

SESSIONS = 40
SWEEPS = 2
PATIENCE_SECONDS = 60


@pytest.fixture()
def database(committed_database_url: str) -> Iterator[Database]:
    database = Database(committed_database_url)
    yield database
    database.dispose()


def test_two_sweeps_at_once_queue_each_reminder_once_and_the_second_finds_nothing_left(committed_db_session, database):
    team = Team(committed_db_session, places=5, with_child=True)
    team.consent_to_sms()
    # A sweep has run (the watermark's row exists: the sweeps below meet on its lock, not on writing it), then the
    # scheduler was away for three hours, while these sessions entered the horizon.
    with database.session() as db_session:
        assert sweep_reminders(db_session, now=DEFAULT_NOW).examined == 0
    back = DEFAULT_NOW + timedelta(hours=3)
    step = timedelta(hours=3) / SESSIONS
    starts = [DEFAULT_NOW + REMINDER_HORIZON + step * index for index in range(1, SESSIONS + 1)]
    plant_sessions(
        committed_db_session, actor=actor_for(team.coordinator), enrolment_id=team.enrolment.id, starts=starts, now=back
    )
    committed_db_session.commit()
    # The child's reminders (the mentor has no mobile): the evening before, and two hours before.
    london = ZoneInfo("Europe/London")
    expected = sum(len(reminder_times(start, london, now=back)) for start in starts)
    assert expected == 2 * SESSIONS

    barrier = threading.Barrier(SWEEPS, timeout=PATIENCE_SECONDS)
    results: list[SweepResult] = []
    problems: list[BaseException] = []

    def sweep() -> None:
        barrier.wait()
        try:
            with database.session() as db_session:
                results.append(sweep_reminders(db_session, now=back))
        except BaseException as problem:
            problems.append(problem)

    threads = [threading.Thread(target=sweep, name=f"sweep-{index}") for index in range(SWEEPS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(PATIENCE_SECONDS)
    assert not any(thread.is_alive() for thread in threads), "a sweep never finished"

    assert problems == []
    assert sorted((result.examined, result.queued) for result in results) == [(0, 0), (SESSIONS, expected)]
    committed_db_session.expire_all()
    assert committed_db_session.scalar(select(func.count()).select_from(OutboundMessage)) == expected
    watermark = committed_db_session.get_one(ReminderSweep, 1)
    assert watermark.covered_until == back + REMINDER_HORIZON
    committed_db_session.rollback()
