"""Migration 8a4c2e6f1b37 gives every existing attendance its line of the register, from the session status it
copied: planned is booked, completed attended (a group session's too, as recorded at the time), did-not-attend and
cancelled-by-child the same, cancelled-by-mentor and rescheduled cancelled by the service."""

from datetime import UTC, datetime

import pytest
from sqlalchemy import text
from sqlalchemy.orm import Session

from api import migrate
from api.db import make_engine
from api.demo import load_demo_data
from api.wellbeing.instruments import SHIPPED_INSTRUMENTS, load_instruments
from tests.conftest import throwaway_database

NOW = datetime(2026, 6, 13, 19, 30, tzinfo=UTC)
BEFORE = "5f2b8d4e7a19"
EXPECTED = {
    "planned": "booked",
    "completed": "attended",
    "did_not_attend": "did_not_attend",
    "cancelled_by_child": "cancelled_by_child",
    "cancelled_by_mentor": "cancelled_by_service",
    "rescheduled": "cancelled_by_service",
}


@pytest.fixture()
def demo_database_url(backend, tmp_path):
    with throwaway_database(backend, tmp_path) as url:
        engine = make_engine(url)
        with Session(engine) as session:
            instruments = load_instruments(SHIPPED_INSTRUMENTS, licensed_wording_file=None)
            load_demo_data(session, instruments=instruments, now=NOW, progress=lambda _: None)
        engine.dispose()
        yield url


def test_existing_attendances_get_the_line_their_status_meant(demo_database_url):
    migrate.downgrade(demo_database_url, BEFORE)
    engine = make_engine(demo_database_url)
    with Session(engine) as session, session.begin():
        rows = session.execute(text("SELECT id FROM session_attendee ORDER BY id")).scalars().all()
        assert len(rows) >= len(EXPECTED)
        # Every status on some existing row (the copy is all the migration reads), and a group session held.
        chosen = dict(zip(rows, EXPECTED, strict=False))
        for row_id, status in chosen.items():
            session.execute(text("UPDATE session_attendee SET status = :s WHERE id = :id"), {"s": status, "id": row_id})
        group = (
            session.execute(text("SELECT session_id FROM session_attendee GROUP BY session_id HAVING count(*) > 1"))
            .scalars()
            .first()
        )
        if group is not None:
            session.execute(
                text("UPDATE session_attendee SET status = 'completed' WHERE session_id = :s"), {"s": group}
            )
        statuses = dict(session.execute(text("SELECT id, status FROM session_attendee")).all())
    engine.dispose()
    assert set(statuses.values()) >= set(EXPECTED)

    migrate.upgrade(demo_database_url)

    engine = make_engine(demo_database_url)
    with Session(engine) as session:
        lines = dict(session.execute(text("SELECT id, attendance FROM session_attendee")).all())
        times = session.execute(
            text("SELECT count(*) FROM session_attendee WHERE arrived_at IS NOT NULL OR left_at IS NOT NULL")
        ).scalar()
    engine.dispose()
    assert lines == {row_id: EXPECTED[status] for row_id, status in statuses.items()}
    assert times == 0
