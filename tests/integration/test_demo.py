"""The demo data `make run` loads: it exercises every service, so it must keep loading as they change."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import func, select

from api.alerts.models import Alert
from api.alerts.rules import AlertKind
from api.demo import demo_check_in_link, load_demo_data
from api.enrolments.models import Enrolment
from api.groups.models import GroupSeries, SeriesMember
from api.programmes.models import Cohort
from api.programmes.rules import CohortKind
from api.sessions.models import MentoringSession, SessionAttendee, SessionCarer
from api.sessions.register_rules import Attendance
from api.sessions.rules import SessionStatus
from api.wellbeing import routine
from api.wellbeing.instruments import SHIPPED_INSTRUMENTS, load_instruments
from api.wellbeing.models import CheckIn, CheckInInvitation, Goal
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


def test_the_routine_counts_the_demo_link_as_the_childs_due_check_in(db_session):
    """The first scheduler run after `flask demo load` must not send the demo child a second link a minute after
    the one the demo printed."""
    instruments = load_instruments(SHIPPED_INSTRUMENTS, licensed_wording_file=None)
    load_demo_data(db_session, instruments=instruments, now=DEFAULT_NOW, progress=lambda _: None)
    demo_check_in_link(db_session, instruments=instruments, secret_key=SECRET_KEY, now=DEFAULT_NOW)
    (demo_child,) = db_session.scalars(select(CheckInInvitation.child_id)).all()

    for now in (DEFAULT_NOW, DEFAULT_NOW + timedelta(minutes=1)):
        routine.invite_due_check_ins(db_session, instruments=instruments, secret_key=SECRET_KEY, now=now)

    links_to_the_demo_child = db_session.scalars(
        select(CheckInInvitation).where(CheckInInvitation.child_id == demo_child)
    ).all()
    assert len(links_to_the_demo_child) == 1
    # The routine did run: other children got their link at enrolment.
    assert db_session.scalar(select(func.count()).select_from(CheckInInvitation)) > 1


def test_the_demo_runs_an_awareness_group_for_a_group_only_cohort_with_its_registers(db_session, client):
    instruments = load_instruments(SHIPPED_INSTRUMENTS, licensed_wording_file=None)
    load_demo_data(db_session, instruments=instruments, now=DEFAULT_NOW, progress=lambda _: None)

    (series,) = db_session.scalars(select(GroupSeries)).all()
    sessions = db_session.scalars(
        select(MentoringSession)
        .where(MentoringSession.series_id == series.id)
        .order_by(MentoringSession.planned_start_at)
    ).all()
    assert len(sessions) == 8 and series.complete_after_sessions == 6
    assert [session.status for session in sessions] == [SessionStatus.COMPLETED] * 3 + [SessionStatus.PLANNED] * 5
    attended = [
        db_session.scalar(
            select(func.count())
            .select_from(SessionAttendee)
            .where(SessionAttendee.session_id == session.id, SessionAttendee.attendance == Attendance.ATTENDED)
        )
        for session in sessions[:3]
    ]
    assert attended == [6, 5, 4]
    carers = db_session.scalar(
        select(func.count()).select_from(SessionCarer).where(SessionCarer.session_id == sessions[0].id)
    )
    assert carers == 4
    cohort = db_session.scalars(select(Cohort).where(Cohort.kind == CohortKind.GROUP_ONLY)).one()
    members = db_session.scalars(select(SeriesMember).where(SeriesMember.series_id == series.id)).all()
    assert len(members) == 6
    assert {
        db_session.get(Enrolment, member.enrolment_id).cohort_id
        for member in members  # type: ignore[union-attr]
    } == {cohort.id}
