"""Lone working: a mentor who has not checked in by their time is texted, and the duty coordinator is alerted
15 minutes later, once; "I'm safe" or logging the session stops both.

The clock starts on Monday 23 November 2026, 14:00 UTC (GMT, so London time is UTC).
"""

from __future__ import annotations

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select

from api.alerts.models import Alert
from api.alerts.rules import AlertKind
from api.children.models import Child
from api.outbox.models import OutboundMessage
from api.outbox.rules import MessagePurpose, MessageState
from api.sessions import lone_working
from api.sms import dispatch as sms_dispatch
from api.sms.dispatch import DispatchSettings
from notifications.fake import FakeSmsSender
from tests.builders import iso, utc
from tests.conftest import SECRET_KEY

LONDON = ZoneInfo("Europe/London")
# Today, 19:30 to 20:30 London time (GMT): check in by 21:00 by default.
START, END = utc(2026, 11, 23, 19, 30), utc(2026, 11, 23, 20, 30)
CHECK_IN_BY = utc(2026, 11, 23, 21, 0)
MENTOR_MOBILE = "+447700900123"


def plan(client, team, start=START, end=END):
    body = {
        "enrolment_ids": [str(team.enrolment.id)],
        "kind": "one_to_one",
        "location_category": "home",
        "planned_start_at": iso(start),
        "planned_end_at": iso(end),
    }
    response = client.post("/sessions", json=body, headers=team.headers())
    assert response.status_code == 201, response.json
    return response.json


def start(client, team, session, by=None, **body):
    return client.post(f"/sessions/{session['id']}/lone-working", json=body, headers=team.headers(by))


def safe(client, team, session, by=None):
    return client.post(f"/sessions/{session['id']}/lone-working/safe", headers=team.headers(by))


def run_job(session_factory, clock) -> int:
    with session_factory() as db_session:
        return lone_working.check_lone_working(db_session, now=clock.now())


def texts(db_session):
    query = select(OutboundMessage).where(OutboundMessage.purpose == MessagePurpose.LONE_WORKING_CHECK)
    return list(db_session.scalars(query.execution_options(populate_existing=True)))


def overdue_alerts(db_session):
    query = select(Alert).where(Alert.kind == AlertKind.LONE_WORKING_OVERDUE)
    return list(db_session.scalars(query.execution_options(populate_existing=True)))


@pytest.fixture()
def casework(db_session, team):
    team.mentor.mobile_e164 = MENTOR_MOBILE
    team.enrolment = team.child()
    db_session.flush()
    return team


def test_the_default_check_in_by_is_the_planned_end_plus_30_minutes_and_shows_on_the_session(client, casework):
    session = plan(client, casework)
    response = start(client, casework, session)
    assert response.status_code == 201, response.json
    assert response.json["check_in_by"] == iso(CHECK_IN_BY)
    shown = client.get(f"/sessions/{session['id']}", headers=casework.headers()).json["lone_working"]
    assert (shown["check_in_by"], shown["closed_at"]) == (iso(CHECK_IN_BY), None)


def test_the_default_on_the_evening_the_clocks_go_back_is_30_minutes_after_the_local_end(client, casework, clock):
    # Sunday 25 October 2026: BST ended at 02:00 that morning, so 20:30 London time is 20:30 UTC (not 19:30).
    casework.travel_to(utc(2026, 10, 25, 12))
    casework.enrolment = casework.child()  # a session must fall within the child's support
    end = utc(2026, 10, 25, 20, 30)
    session = plan(client, casework, start=end - timedelta(hours=1), end=end)
    response = start(client, casework, session)
    assert response.status_code == 201, response.json
    check_in_by = response.json["check_in_by"]
    assert datetime.fromisoformat(check_in_by).astimezone(LONDON).strftime("%H:%M") == "21:00"


def test_a_check_in_by_in_the_past_or_before_the_start_is_refused(client, casework):
    session = plan(client, casework)
    assert start(client, casework, session, check_in_by=iso(utc(2026, 11, 23, 13))).status_code == 422
    assert start(client, casework, session, check_in_by=iso(utc(2026, 11, 23, 19))).status_code == 422


def test_starting_twice_is_a_conflict(client, casework):
    session = plan(client, casework)
    assert start(client, casework, session).status_code == 201
    response = start(client, casework, session)
    assert (response.status_code, response.json["reason"]) == (409, "lone_working_already_started")


def test_only_the_sessions_mentor_may_start_it_or_check_in(client, casework):
    session = plan(client, casework)
    other_mentor = casework.new_mentor()
    assert start(client, casework, session, by=other_mentor).status_code == 404
    response = start(client, casework, session, by=casework.coordinator)
    assert (response.status_code, response.json["reason"]) == (403, "forbidden")
    assert start(client, casework, session).status_code == 201
    assert safe(client, casework, session, by=other_mentor).status_code == 404


def test_the_mentor_is_texted_at_check_in_by_and_not_before(client, db_session, session_factory, casework, clock):
    session = plan(client, casework)
    start(client, casework, session)
    casework.travel_to(CHECK_IN_BY - timedelta(seconds=1))
    assert run_job(session_factory, clock) == 0
    assert texts(db_session) == []
    casework.travel_to(CHECK_IN_BY)
    assert run_job(session_factory, clock) == 1
    [text] = texts(db_session)
    assert (text.recipient_user_id, text.urgent, text.state) == (casework.mentor.id, True, MessageState.QUEUED)
    assert overdue_alerts(db_session) == []


def test_the_text_sent_names_no_child(client, db_session, session_factory, casework, clock):
    session = plan(client, casework)
    start(client, casework, session)
    casework.travel_to(CHECK_IN_BY)
    run_job(session_factory, clock)
    fake = FakeSmsSender(now=clock.now)
    settings = DispatchSettings(
        sender=fake, secret_key=SECRET_KEY, public_base_url="https://x.example.org", status_callback_url=None
    )
    assert sms_dispatch.dispatch_due(session_factory, settings=settings, clock=clock.now) == 1
    [sent] = fake.sent
    assert sent.sms.to == MENTOR_MOBILE
    child = db_session.get_one(Child, casework.enrolment.child_id)
    assert child.first_name not in sent.sms.body and "check in" in sent.sms.body


def test_the_coordinator_is_alerted_15_minutes_later_and_only_once(
    client, db_session, session_factory, casework, clock
):
    session = plan(client, casework)
    start(client, casework, session)
    casework.travel_to(CHECK_IN_BY)
    run_job(session_factory, clock)
    casework.travel_to(CHECK_IN_BY + timedelta(minutes=15) - timedelta(seconds=1))
    run_job(session_factory, clock)
    assert overdue_alerts(db_session) == []
    casework.travel_to(CHECK_IN_BY + timedelta(minutes=15))
    assert run_job(session_factory, clock) == 1
    for _ in range(3):
        clock.advance(minutes=1)
        assert run_job(session_factory, clock) == 0
    [alert] = overdue_alerts(db_session)
    assert alert.occurrences == 1 and str(alert.session_id) == session["id"]
    assert alert.detail == "A mentor has not checked in after a session planned to end at 20:30."
    assert len(texts(db_session)) == 1


@pytest.mark.parametrize("how", ["safe", "logged"])
def test_checking_in_drops_the_queued_text_and_stops_the_alert(
    client, db_session, session_factory, casework, clock, how
):
    session = plan(client, casework)
    start(client, casework, session)
    casework.travel_to(CHECK_IN_BY)
    run_job(session_factory, clock)
    if how == "safe":
        assert safe(client, casework, session).status_code == 200
        again = safe(client, casework, session)
        assert (again.status_code, again.json["closed_how"]) == (200, "safe")
    else:
        response = client.patch(
            f"/sessions/{session['id']}",
            json={"status": "completed", "actual_duration_minutes": 60},
            headers=casework.headers(**{"If-Match": f'"{session["version"]}"'}),
        )
        assert response.status_code == 200, response.json
        assert response.json["lone_working"]["closed_how"] == "session_logged"
    fake = FakeSmsSender(now=clock.now)
    settings = DispatchSettings(
        sender=fake, secret_key=SECRET_KEY, public_base_url="https://x.example.org", status_callback_url=None
    )
    sms_dispatch.dispatch_due(session_factory, settings=settings, clock=clock.now)
    assert fake.sent == []
    [text] = texts(db_session)
    assert text.state is MessageState.DROPPED
    casework.travel_to(CHECK_IN_BY + timedelta(hours=1))
    assert run_job(session_factory, clock) == 0
    assert overdue_alerts(db_session) == []


def test_checking_in_after_the_alert_closes_the_check_and_leaves_the_alert_open(
    client, db_session, session_factory, casework, clock
):
    session = plan(client, casework)
    start(client, casework, session)
    casework.travel_to(CHECK_IN_BY + timedelta(minutes=15))
    run_job(session_factory, clock)
    response = safe(client, casework, session)
    assert response.status_code == 200 and response.json["closed_at"] is not None
    [alert] = overdue_alerts(db_session)
    assert alert.resolved_at is None
