"""Migration 7c1d2e3f4a5b fills the dashboards' copies on existing rows exactly as the services write them."""

from datetime import UTC, datetime

import pytest
from sqlalchemy import text
from sqlalchemy.orm import Session

from api import migrate
from api.db import make_engine
from api.demo import load_demo_data
from api.sessions.models import SessionAttendee
from api.wellbeing.instruments import SHIPPED_INSTRUMENTS, load_instruments
from api.wellbeing.models import CheckInScore
from tests.conftest import throwaway_database

# A Saturday evening in summer time, so the copy's evening and weekend flags depend on the time zone.
NOW = datetime(2026, 6, 13, 19, 30, tzinfo=UTC)
COPIES = "status, planned_start_at, starts_in_evening, starts_at_weekend"


def _copies(session: Session) -> tuple[list, list]:
    attendees = session.execute(text(f"SELECT id, {COPIES} FROM session_attendee ORDER BY id")).all()
    scores = session.execute(
        text("SELECT id, child_id, instrument_key, completed_at FROM check_in_score ORDER BY id")
    ).all()
    return attendees, scores


@pytest.fixture()
def demo_database_url(backend, tmp_path):
    with throwaway_database(backend, tmp_path) as url:
        engine = make_engine(url)
        with Session(engine) as session:
            instruments = load_instruments(SHIPPED_INSTRUMENTS, licensed_wording_file=None)
            load_demo_data(session, instruments=instruments, now=NOW, progress=lambda _: None)
        engine.dispose()
        yield url


def test_the_migration_fills_the_copies_as_the_services_write_them(demo_database_url):
    engine = make_engine(demo_database_url)
    with Session(engine) as session:
        written = _copies(session)
        assert session.query(SessionAttendee).count() > 0 and session.query(CheckInScore).count() > 0
        assert session.execute(text("SELECT count(*) FROM session_attendee WHERE starts_in_evening")).scalar()
    engine.dispose()

    migrate.downgrade(demo_database_url, "1ad0d70a6297")
    migrate.upgrade(demo_database_url)

    engine = make_engine(demo_database_url)
    with Session(engine) as session:
        assert _copies(session) == written
    engine.dispose()
