"""The outbox end to end on both databases: a check-in link goes out once, even when the answer is lost."""

from __future__ import annotations

from sqlalchemy import select

from api.outbox.models import MessageEvent, OutboundMessage
from api.outbox.rules import MessageState
from api.sms import dispatch as sms_dispatch
from api.sms import reconcile as sms_reconcile
from api.sms.dispatch import DispatchSettings
from notifications.fake import FakeSmsSender, Step
from tests.builders import Team
from tests.conftest import SECRET_KEY


def settings(sender):
    return DispatchSettings(
        sender=sender, secret_key=SECRET_KEY, public_base_url="https://checkin.example.org", status_callback_url=None
    )


def invite(db_session, client, team):
    team.consent_to_sms()
    response = client.post(f"/children/{team.child_id}/check-in-invitations", json={}, headers=team.headers())
    assert response.status_code == 201, response.json
    return db_session.scalar(select(OutboundMessage))


def test_a_check_in_link_is_sent_once_with_a_working_link(db_session, session_factory, client, clock):
    team = Team(db_session, clock, places=5, with_child=True)
    message = invite(db_session, client, team)
    fake = FakeSmsSender(now=clock.now)

    assert sms_dispatch.dispatch_due(session_factory, settings=settings(fake), clock=clock.now) == 1

    [sent] = fake.sent
    link = sent.sms.body.split(": ")[-1]
    assert link.startswith("https://checkin.example.org/c/")
    assert client.get(link.removeprefix("https://checkin.example.org")).status_code == 200
    db_session.expire_all()
    assert db_session.get(OutboundMessage, message.id).state is MessageState.SENT
    states = db_session.scalars(select(MessageEvent.state).order_by(MessageEvent.id)).all()
    assert states == [MessageState.QUEUED, MessageState.SENDING, MessageState.SENT]
    assert sms_dispatch.dispatch_due(session_factory, settings=settings(fake), clock=clock.now) == 0


def test_a_send_whose_answer_was_lost_is_found_at_the_provider_and_never_resent(
    db_session, session_factory, client, clock
):
    team = Team(db_session, clock, places=5, with_child=True)
    message = invite(db_session, client, team)
    fake = FakeSmsSender(now=clock.now)
    number = db_session.scalar(select(OutboundMessage)).phone_number_id
    from api.children.models import PhoneNumber

    fake.script(db_session.get(PhoneNumber, number).e164, [Step.UNKNOWN_BUT_SENT])

    assert sms_dispatch.dispatch_due(session_factory, settings=settings(fake), clock=clock.now) == 0
    db_session.expire_all()
    assert db_session.get(OutboundMessage, message.id).state is MessageState.UNKNOWN
    clock.advance(minutes=3)
    assert sms_reconcile.reconcile(session_factory, settings=settings(fake), clock=clock.now) == 1
    assert sms_dispatch.dispatch_due(session_factory, settings=settings(fake), clock=clock.now) == 0

    db_session.expire_all()
    assert db_session.get(OutboundMessage, message.id).state is MessageState.SENT
    assert len(fake.sent) == 1
