"""An urgent alert nobody acknowledges climbs the rota: the fallback after 15 minutes, every coordinator with a work
mobile 15 minutes later, then nobody is left. An acknowledgement stops it, and an escalation SMS still queued when
it comes is dropped; the programme's thresholds set the timing; steps with nobody to text are passed at once.

The alert is raised at 21:00 on Saturday 28 November 2026, inside the duty coordinator's shift.
"""

from __future__ import annotations

from datetime import timedelta

import pytest

from api.actors import Role
from api.alerts import service as alerts
from api.alerts.rules import AlertKind, EscalationStep
from api.db import transaction
from api.outbox.rules import MessageState
from notifications.fake import FakeSmsSender
from scheduling.jobs import dispatch_urgent, escalate_alerts
from tests.alerting import alerts_of, events, history, job_context, messages_of
from tests.builders import Team, actor_for, auth_headers, make_user, utc

RAISED_AT = utc(2026, 11, 28, 21)


class Rota:
    def __init__(self, team: Team) -> None:
        # Named so that "every coordinator" comes in a known order (by name).
        self.duty = team.on_call(display_name="A Duty")
        self.fallback = team.on_call(display_name="B Fallback")
        self.other = team.on_call(display_name="C Other")
        team.duty_shift(self.duty, utc(2026, 11, 28, 18), utc(2026, 11, 29, 8), fallback=self.fallback)


@pytest.fixture()
def child_id(team: Team):
    child_id = team.child().child_id
    team.travel_to(RAISED_AT)
    return child_id


def raise_concern(db_session, team: Team, child_id):
    with transaction(db_session):
        return alerts.raise_alert(
            db_session,
            programme_id=team.programme.id,
            child_id=child_id,
            kind=AlertKind.SAFEGUARDING_CONCERN,
            detail="A concern.",
            actor=actor_for(team.mentor),
            now=team.clock.now(),
        )


def escalate_at(db_session, minutes: int) -> int:
    return alerts.escalate_unacknowledged(db_session, now=RAISED_AT + timedelta(minutes=minutes))


def recipients(db_session, alert) -> list:
    """Who was texted about the alert, in the order its history records it; one SMS queued for each."""
    texted = [user_id for event, user_id in history(db_session, alert.id) if event == "texted"]
    assert sorted(texted) == sorted(message.recipient_user_id for message in messages_of(db_session, alert.id))
    return texted


def test_an_unacknowledged_alert_goes_to_the_fallback_then_every_coordinator_then_is_exhausted(
    db_session, team, child_id
):
    rota = Rota(team)
    alert = raise_concern(db_session, team, child_id)

    assert escalate_at(db_session, 14) == 0
    assert escalate_at(db_session, 15) == 1
    assert recipients(db_session, alert) == [rota.duty.id, rota.fallback.id]
    assert history(db_session, alert.id)[2:] == [("escalated", None), ("texted", rota.fallback.id)]
    assert alerts_of(db_session)[0].escalate_at == RAISED_AT + timedelta(minutes=30)

    assert escalate_at(db_session, 29) == 0
    assert escalate_at(db_session, 30) == 1
    assert recipients(db_session, alert)[2:] == [rota.duty.id, rota.fallback.id, rota.other.id]
    assert events(db_session, alert.id)[4:] == ["escalated", "texted", "texted", "texted"]

    assert escalate_at(db_session, 45) == 1
    [stored] = alerts_of(db_session)
    assert (stored.escalation_step, stored.escalate_at) == (EscalationStep.EXHAUSTED, None)
    assert len(recipients(db_session, alert)) == 5
    assert escalate_at(db_session, 600) == 0
    assert events(db_session, alert.id)[-1] == "escalated"


def test_the_escalation_job_escalates_through_the_scheduler(db_session, session_factory, clock, team, child_id):
    rota = Rota(team)
    alert = raise_concern(db_session, team, child_id)
    clock.advance(minutes=15)

    assert escalate_alerts(job_context(session_factory, clock)) == 1

    assert recipients(db_session, alert) == [rota.duty.id, rota.fallback.id]


def test_an_alert_acknowledged_in_time_does_not_escalate(db_session, team, child_id):
    rota = Rota(team)
    alert = raise_concern(db_session, team, child_id)
    alerts.acknowledge_alert(
        db_session, actor=actor_for(rota.duty), alert_id=alert.id, note="On it.", now=RAISED_AT + timedelta(minutes=9)
    )

    assert escalate_at(db_session, 15) == 0
    assert escalate_at(db_session, 60) == 0

    assert recipients(db_session, alert) == [rota.duty.id]
    assert events(db_session, alert.id) == ["raised", "texted", "acknowledged"]


def test_an_escalation_sms_still_queued_when_the_alert_is_acknowledged_is_dropped_with_a_reason(
    db_session, session_factory, clock, team, child_id
):
    rota = Rota(team)
    alert = raise_concern(db_session, team, child_id)
    assert escalate_at(db_session, 15) == 1
    team.travel_to(RAISED_AT + timedelta(minutes=16))
    alerts.acknowledge_alert(
        db_session, actor=actor_for(rota.fallback), alert_id=alert.id, note="Got it.", now=clock.now()
    )
    sender = FakeSmsSender()

    assert dispatch_urgent(job_context(session_factory, clock, sender)) == 0

    assert sender.attempts == []
    dropped = [
        (message.recipient_user_id, message.state, message.state_reason)
        for message in messages_of(db_session, alert.id)
    ]
    reason = "the alert was acknowledged or resolved before this was sent"
    assert dropped == [
        (rota.duty.id, MessageState.DROPPED, reason),
        (rota.fallback.id, MessageState.DROPPED, reason),
    ]


def test_a_repeat_after_the_acknowledgement_is_still_sent(db_session, session_factory, clock, team, child_id):
    rota = Rota(team)
    alert = raise_concern(db_session, team, child_id)
    alerts.acknowledge_alert(db_session, actor=actor_for(rota.duty), alert_id=alert.id, note="On it.", now=clock.now())
    team.travel_to(RAISED_AT + timedelta(minutes=20))
    raise_concern(db_session, team, child_id)
    sender = FakeSmsSender()

    assert dispatch_urgent(job_context(session_factory, clock, sender)) == 1

    assert [sms.sms.to for sms in sender.sent] == [rota.duty.mobile_e164]
    assert [message.state for message in messages_of(db_session, alert.id)] == [
        MessageState.DROPPED,
        MessageState.SENT,
    ]


def test_the_programmes_thresholds_set_when_it_escalates(client, db_session, team, child_id):
    rota = Rota(team)
    admin = make_user(db_session, Role.ADMIN)
    response = client.patch(
        f"/programmes/{team.programme.id}",
        json={"alert_thresholds": {"acknowledge_urgent_minutes": 5}},
        headers=auth_headers(db_session, admin, now=team.clock.now()),
    )
    assert response.status_code == 200, response.json
    db_session.expire_all()  # the request changed the programme through its own session
    alert = raise_concern(db_session, team, child_id)

    assert alert.escalate_at == RAISED_AT + timedelta(minutes=5)
    assert escalate_at(db_session, 4) == 0
    assert escalate_at(db_session, 5) == 1
    assert escalate_at(db_session, 10) == 1
    assert recipients(db_session, alert) == [
        rota.duty.id,
        rota.fallback.id,
        rota.duty.id,
        rota.fallback.id,
        rota.other.id,
    ]


def test_without_a_rota_the_steps_with_nobody_are_passed_at_once(db_session, team, child_id):
    first = team.on_call(display_name="A First")
    second = team.on_call(display_name="B Second")
    team.user(Role.COORDINATOR, display_name="C Without A Mobile")
    team.user(Role.COORDINATOR, display_name="D Gone", mobile_e164="+447700900998", is_active=False)

    alert = raise_concern(db_session, team, child_id)

    assert history(db_session, alert.id) == [
        ("raised", team.mentor.id),
        ("nobody_to_text", None),
        ("nobody_to_text", None),
        ("texted", first.id),
        ("texted", second.id),
    ]
    assert (alert.escalation_step, alert.escalate_at) == (
        EscalationStep.ALL_COORDINATORS,
        RAISED_AT + timedelta(minutes=15),
    )
    assert escalate_at(db_session, 15) == 1
    assert alerts_of(db_session)[0].escalation_step is EscalationStep.EXHAUSTED
    assert recipients(db_session, alert) == [first.id, second.id]


def test_with_nobody_reachable_at_all_the_alert_is_exhausted_at_once(db_session, team, child_id):
    alert = raise_concern(db_session, team, child_id)

    assert events(db_session, alert.id) == ["raised", "nobody_to_text", "nobody_to_text", "nobody_to_text"]
    assert (alert.escalation_step, alert.escalate_at) == (EscalationStep.EXHAUSTED, None)
    assert messages_of(db_session) == []
