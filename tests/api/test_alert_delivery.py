"""An urgent alert reaches the person on duty: a safeguarding concern logged on a Saturday night queues one SMS to
the duty coordinator in the request's own transaction, the urgent dispatcher sends it at once through quiet hours,
and its text names neither the child nor the concern. Repeats, resolution and the 409s of answering twice.

The team's duty coordinator covers Saturday 28 November 2026 18:00 to Sunday 08:00 (Europe/London, GMT).
"""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from sqlalchemy import func, select

from api.accounts.models import AppUser
from api.alerts import service as alerts
from api.alerts.rules import AlertKind, AlertState, EscalationStep
from api.children.models import Child
from api.db import transaction
from api.outbox.rules import MessagePurpose, MessageState, RecipientType
from api.sessions import errors as session_errors
from api.sessions import service as sessions_service
from api.sessions.models import MentoringSession
from notifications.fake import FakeSmsSender
from scheduling.jobs import dispatch_outbox, dispatch_urgent
from tests.alerting import CONCERN, URGENT_TEXT, alerts_of, concern_body, history, job_context, messages_of
from tests.builders import Team, utc

SATURDAY_7PM = utc(2026, 11, 28, 19)
SATURDAY_9PM = utc(2026, 11, 28, 21)


class Rota:
    def __init__(self, team: Team) -> None:
        self.duty = team.on_call(display_name="Duty Coordinator")
        self.fallback = team.on_call(display_name="Fallback Coordinator")
        team.duty_shift(self.duty, utc(2026, 11, 28, 18), utc(2026, 11, 29, 8), fallback=self.fallback)


@pytest.fixture()
def rota(team: Team) -> Rota:
    return Rota(team)


@pytest.fixture()
def enrolment(team: Team):
    enrolment = team.child()
    team.travel_to(SATURDAY_9PM)
    return enrolment


def log_concern(client, team: Team, enrolment, start=SATURDAY_7PM, detail: str = CONCERN) -> dict:
    response = client.post("/sessions", json=concern_body(enrolment, start, detail), headers=team.headers())
    assert response.status_code == 201, response.json
    return response.json


def test_a_concern_logged_on_saturday_night_queues_one_urgent_sms_to_the_duty_coordinator(
    client, db_session, team, rota, enrolment
):
    log_concern(client, team, enrolment)

    [alert] = alerts_of(db_session)
    [message] = messages_of(db_session)
    assert (
        message.purpose,
        message.recipient_type,
        message.recipient_user_id,
        message.urgent,
        message.alert_id,
        message.state,
        message.send_after,
        message.child_id,
    ) == (
        MessagePurpose.ALERT,
        RecipientType.COORDINATOR,
        rota.duty.id,
        True,
        alert.id,
        MessageState.QUEUED,
        SATURDAY_9PM,
        enrolment.child_id,
    )
    assert history(db_session, alert.id) == [("raised", team.mentor.id), ("texted", rota.duty.id)]
    assert (alert.escalation_step, alert.escalate_at) == (EscalationStep.DUTY, SATURDAY_9PM + timedelta(minutes=15))


def test_a_request_that_fails_after_the_concern_leaves_neither_the_alert_nor_its_sms(
    client, db_session, team, rota, enrolment, monkeypatch
):
    # The session's reminders are synced after the alert and its SMS are written: a refusal there must take both
    # back with the session.
    def refuse(*args, **kwargs):
        raise session_errors.InvalidSession("Refused after the concern was raised.")

    monkeypatch.setattr(sessions_service.reminders, "resync_if_reminded", refuse)

    response = client.post("/sessions", json=concern_body(enrolment, SATURDAY_7PM), headers=team.headers())

    assert response.status_code == 422, response.json
    assert alerts_of(db_session) == []
    assert messages_of(db_session) == []
    assert db_session.scalar(select(func.count()).select_from(MentoringSession)) == 0


def test_a_session_a_rule_refuses_raises_no_alert_and_queues_no_sms(client, db_session, team, rota, enrolment):
    body = concern_body(enrolment, SATURDAY_7PM, planned_end_at=(SATURDAY_7PM - timedelta(hours=1)).isoformat())

    response = client.post("/sessions", json=body, headers=team.headers())

    assert response.status_code == 422
    assert (alerts_of(db_session), messages_of(db_session)) == ([], [])


def test_the_urgent_dispatcher_sends_it_at_once_through_the_coordinators_quiet_hours(
    client, db_session, session_factory, clock, team, rota, enrolment
):
    log_concern(client, team, enrolment)
    sender = FakeSmsSender()

    sent = dispatch_urgent(job_context(session_factory, clock, sender))

    assert sent == 1
    [sms] = sender.sent
    assert sms.sms.to == rota.duty.mobile_e164
    [alert] = alerts_of(db_session)
    assert re.fullmatch(URGENT_TEXT, sms.sms.body)
    assert alert.code in sms.sms.body
    child = db_session.get_one(Child, enrolment.child_id)
    for secret in (child.first_name, child.last_name, CONCERN, "parcels"):
        assert secret not in sms.sms.body
    [message] = messages_of(db_session)
    assert (message.state, message.sent_at) == (MessageState.SENT, SATURDAY_9PM)


def test_a_high_alert_to_a_coordinator_waits_out_their_quiet_hours(
    db_session, session_factory, clock, team, rota, enrolment
):
    with transaction(db_session):
        alert = alerts.raise_alert(
            db_session,
            programme_id=team.programme.id,
            child_id=enrolment.child_id,
            kind=AlertKind.WELLBEING_DROP,
            detail="Fell from the baseline.",
            now=clock.now(),
        )
    sender = FakeSmsSender()
    context = job_context(session_factory, clock, sender)

    assert dispatch_urgent(context) == 0
    assert dispatch_outbox(context) == 0

    assert sender.attempts == []
    [message] = messages_of(db_session, alert.id)
    assert (message.urgent, message.state, message.send_after) == (False, MessageState.QUEUED, utc(2026, 11, 29, 8))


# --- repeats, resolution, answering twice --------------------------------------------------------------------


def resolve(client, team: Team, alert_id, outcome: str = "Strategy meeting held.", by: AppUser | None = None):
    return client.post(
        f"/alerts/{alert_id}/resolve", json={"outcome": outcome}, headers=team.headers(by or team.coordinator)
    )


def acknowledge(client, team: Team, alert_id, note: str = "Called the DSL.", by: AppUser | None = None):
    return client.post(
        f"/alerts/{alert_id}/acknowledge", json={"note": note}, headers=team.headers(by or team.coordinator)
    )


def test_a_second_concern_while_waiting_counts_on_the_alert_without_restarting_its_escalation(
    client, db_session, team, rota, enrolment
):
    log_concern(client, team, enrolment)
    team.clock.advance(minutes=10)

    log_concern(client, team, enrolment, start=SATURDAY_7PM + timedelta(minutes=90), detail="A second concern.")

    [alert] = alerts_of(db_session)
    assert (alert.occurrences, alert.last_raised_at, alert.raised_at, alert.detail) == (
        2,
        SATURDAY_9PM + timedelta(minutes=10),
        SATURDAY_9PM,
        "A second concern.",
    )
    # The duty coordinator is being chased already: the fallback still hears at 21:15, not 21:25.
    assert alert.escalate_at == SATURDAY_9PM + timedelta(minutes=15)
    messages = messages_of(db_session, alert.id)
    assert [(message.recipient_user_id, message.urgent, message.created_at) for message in messages] == [
        (rota.duty.id, True, SATURDAY_9PM),
    ]
    assert history(db_session, alert.id) == [
        ("raised", team.mentor.id),
        ("texted", rota.duty.id),
        ("repeated", team.mentor.id),
    ]


def test_a_second_concern_after_the_alert_was_acknowledged_is_texted_to_the_duty_coordinator_again(
    client, db_session, team, rota, enrolment
):
    log_concern(client, team, enrolment)
    [alert] = alerts_of(db_session)
    assert acknowledge(client, team, alert.id, by=rota.duty).status_code == 200
    team.clock.advance(minutes=10)

    log_concern(client, team, enrolment, start=SATURDAY_7PM + timedelta(minutes=90), detail="A second concern.")

    db_session.expire_all()
    messages = messages_of(db_session, alert.id)
    assert [(message.recipient_user_id, message.created_at) for message in messages] == [
        (rota.duty.id, SATURDAY_9PM),
        (rota.duty.id, SATURDAY_9PM + timedelta(minutes=10)),
    ]
    assert [event for event, _ in history(db_session, alert.id)] == [
        "raised",
        "texted",
        "acknowledged",
        "repeated",
        "texted",
    ]


def test_a_concern_after_the_alert_is_resolved_opens_a_new_alert(client, db_session, team, rota, enrolment):
    log_concern(client, team, enrolment)
    [first] = alerts_of(db_session)
    assert resolve(client, team, first.id).status_code == 200
    team.clock.advance(minutes=30)

    log_concern(client, team, enrolment, start=SATURDAY_7PM + timedelta(minutes=90), detail="A new concern.")

    first_again, second = alerts_of(db_session)
    assert first_again.id == first.id
    assert (first_again.state, first_again.occurrences) == (AlertState.RESOLVED, 1)
    assert (second.state, second.occurrences, second.detail) == (AlertState.RAISED, 1, "A new concern.")
    assert [message.alert_id for message in messages_of(db_session)] == [first.id, second.id]


def test_resolving_an_unacknowledged_alert_acknowledges_it_too(client, db_session, team, rota, enrolment):
    log_concern(client, team, enrolment)
    [alert] = alerts_of(db_session)
    team.clock.advance(minutes=5)

    response = resolve(client, team, alert.id, "  Spoke to the family; referral made.  ", by=rota.duty)

    assert response.status_code == 200, response.json
    body = response.json
    resolved_at = (SATURDAY_9PM + timedelta(minutes=5)).isoformat()
    assert (
        body["state"],
        body["acknowledged_at"],
        body["acknowledged_by_user_id"],
        body["resolved_at"],
        body["resolved_by_user_id"],
        body["resolution_note"],
        body["escalate_at"],
    ) == (
        "resolved",
        resolved_at,
        str(rota.duty.id),
        resolved_at,
        str(rota.duty.id),
        "Spoke to the family; referral made.",
        None,
    )
    assert history(db_session, alert.id)[-2:] == [("acknowledged", rota.duty.id), ("resolved", rota.duty.id)]


def test_answering_an_alert_twice_is_refused(client, db_session, team, rota, enrolment):
    log_concern(client, team, enrolment)
    [alert] = alerts_of(db_session)

    assert acknowledge(client, team, alert.id).status_code == 200
    again = acknowledge(client, team, alert.id, by=rota.duty)
    assert (again.status_code, again.json["reason"]) == (409, "alert_already_acknowledged")
    assert resolve(client, team, alert.id).status_code == 200
    resolved_again = resolve(client, team, alert.id, by=rota.duty)
    acknowledged_after = acknowledge(client, team, alert.id, by=rota.duty)

    assert (resolved_again.status_code, resolved_again.json["reason"]) == (409, "alert_already_resolved")
    assert (acknowledged_after.status_code, acknowledged_after.json["reason"]) == (409, "alert_already_resolved")
    [stored] = alerts_of(db_session)
    assert (stored.acknowledged_by_user_id, stored.resolved_by_user_id) == (team.coordinator.id, team.coordinator.id)
