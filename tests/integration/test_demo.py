"""The demo data `make run` loads: it exercises every service, so it must keep loading as they change."""

from __future__ import annotations

from sqlalchemy import func, select

from api.alerts.models import Alert
from api.alerts.rules import AlertKind
from api.demo import demo_check_in_link, load_demo_data
from api.wellbeing.instruments import SHIPPED_INSTRUMENTS, load_instruments
from api.wellbeing.models import CheckIn, Goal
from tests.conftest import DEFAULT_NOW, SECRET_KEY


def test_the_demo_loads_once_with_check_ins_goals_and_a_working_child_link(db_session, client):
    instruments = load_instruments(SHIPPED_INSTRUMENTS, licensed_wording_file=None)
    assert load_demo_data(db_session, instruments=instruments, now=DEFAULT_NOW, progress=lambda _: None)
    assert not load_demo_data(db_session, instruments=instruments, now=DEFAULT_NOW, progress=lambda _: None)

    assert db_session.scalar(select(func.count()).select_from(Goal)) == 6
    assert db_session.scalar(select(func.count()).select_from(CheckIn)) == 12
    alerts = db_session.scalars(select(Alert).where(Alert.kind == AlertKind.WELLBEING_DROP)).all()
    assert len(alerts) == 1

    link = demo_check_in_link(db_session, instruments=instruments, secret_key=SECRET_KEY, now=DEFAULT_NOW)
    page = client.get(link)
    assert page.status_code == 200
    assert "Walk away when someone starts trouble" in page.get_data(as_text=True)
