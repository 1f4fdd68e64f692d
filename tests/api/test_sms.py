"""Twilio's webhooks (status callbacks, replies) and the SMS ledger staff read, over HTTP.

A webhook is believed only with a valid X-Twilio-Signature for the public URL Twilio called (PUBLIC_BASE_URL plus
the path), however the request reached us; anything else is a 403 that changes nothing. Status callbacks move a
message forward only. A reply STOP withdraws consent to SMS at once, START restores it, anything else is read and
left alone. The ledger shows a session's or a check-in link's messages, their states and history, never their
text or the number, to the child's own caseworkers, and every read of it is audited.
"""

from __future__ import annotations

import uuid
import xml.etree.ElementTree as ElementTree
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any
from unittest.mock import ANY

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker
from werkzeug.test import TestResponse

from api.actors import Role
from api.audit.models import AuditEvent
from api.children import service as children_service
from api.children.models import Child, ContactConsent, PhoneNumber
from api.children.queries import consents_in_force
from api.children.rules import ConsentGivenBy, ContactChannel
from api.clock import FixedClock
from api.outbox.models import MessageEvent, OutboundMessage
from api.outbox.rules import MessageState
from api.sms import dispatch as sms_dispatch
from api.sms.dispatch import DispatchSettings
from notifications.fake import FakeSmsSender
from tests.builders import Team, actor_for, auth_headers, make_user
from tests.conftest import DEFAULT_NOW, SECRET_KEY
from tests.twilio_webhooks import (
    AUTH_TOKEN,
    BEHIND_THE_PROXY,
    INBOUND,
    PUBLIC_BASE_URL,
    STATUS,
    reply,
    signature,
    status_callback,
    twilio_post,
)


@pytest.fixture()
def twilio(app: Flask, monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Twilio configured for this test only (the app is shared by the whole session)."""
    monkeypatch.setitem(app.config, "TWILIO_AUTH_TOKEN", AUTH_TOKEN)
    monkeypatch.setitem(app.config, "PUBLIC_BASE_URL", PUBLIC_BASE_URL)
    yield


def settings(sender: FakeSmsSender) -> DispatchSettings:
    return DispatchSettings(
        sender=sender,
        secret_key=SECRET_KEY,
        public_base_url="https://checkin.example.org",
        status_callback_url=PUBLIC_BASE_URL + STATUS,
    )


def invite(db_session: Session, client: FlaskClient, team: Team) -> tuple[uuid.UUID, OutboundMessage]:
    """A check-in link for the team's child, asked for by the mentor: the invitation and its queued SMS."""
    response = client.post(f"/children/{team.child_id}/check-in-invitations", json={}, headers=team.headers())
    assert response.status_code == 201, response.json
    invitation_id = uuid.UUID(response.json["id"])
    message = db_session.scalar(select(OutboundMessage).where(OutboundMessage.check_in_invitation_id == invitation_id))
    assert message is not None and message.state is MessageState.QUEUED
    return invitation_id, message


@pytest.fixture()
def provider(clock: FixedClock) -> FakeSmsSender:
    """Twilio, as far as this test's dispatcher knows (one for the whole test: its message ids are unique)."""
    return FakeSmsSender(now=clock.now)


def dispatch(session_factory: sessionmaker[Session], clock: FixedClock, provider: FakeSmsSender) -> list[str]:
    """Run the dispatcher once: the numbers it handed messages to."""
    attempts_before = len(provider.attempts)
    sms_dispatch.dispatch_due(session_factory, settings=settings(provider), clock=clock.now)
    return [sms.to for sms in provider.attempts[attempts_before:]]


def iso(moment: datetime) -> str:
    return moment.isoformat().replace("+00:00", "Z")


def plan_session(client: FlaskClient, team: Team, start: datetime) -> str:
    """A one-to-one session for the team's child, planned by the mentor: its id."""
    planned = client.post(
        "/sessions",
        json={
            "enrolment_ids": [str(team.enrolment.id)],
            "kind": "one_to_one",
            "location_category": "community_venue",
            "planned_start_at": iso(start),
            "planned_end_at": iso(start + timedelta(hours=1)),
        },
        headers=team.headers(),
    )
    assert planned.status_code == 201, planned.json
    return planned.json["id"]


def the_childs_number(db_session: Session, team: Team) -> str:
    return db_session.scalars(select(PhoneNumber.e164).where(PhoneNumber.child_id == team.child_id)).one()


@pytest.fixture()
def sent(db_session, session_factory, client, clock, provider, twilio) -> tuple[Team, uuid.UUID, OutboundMessage]:
    """A check-in link sent to the child (state sent, with the provider's id); the clock a minute on."""
    team = Team(db_session, clock, places=5, with_child=True)
    team.consent_to_sms()
    invitation_id, message = invite(db_session, client, team)
    assert dispatch(session_factory, clock, provider) == [the_childs_number(db_session, team)]
    db_session.expire_all()
    assert message.state is MessageState.SENT and message.provider_id == provider.sent[0].provider_id
    clock.advance(minutes=1)
    return team, invitation_id, message


def history(db_session: Session, message: OutboundMessage) -> list[tuple[MessageState, str | None]]:
    db_session.expire_all()
    events = db_session.scalars(
        select(MessageEvent).where(MessageEvent.message_id == message.id).order_by(MessageEvent.id)
    )
    return [(event.state, event.detail) for event in events]


def everything(db_session: Session) -> tuple[Any, ...]:
    """What a webhook could change: every message as it stands, every event, every consent decision, the audit."""
    db_session.expire_all()
    messages = db_session.scalars(select(OutboundMessage).order_by(OutboundMessage.id)).all()
    return (
        [
            (m.id, m.state, m.state_reason, m.provider_status, m.error_code, m.send_after, m.updated_at)
            for m in messages
        ],
        db_session.scalar(select(func.count()).select_from(MessageEvent)),
        db_session.scalars(select(ContactConsent.id).order_by(ContactConsent.id)).all(),
        db_session.scalar(select(func.count()).select_from(AuditEvent)),
    )


def sms_to_child_consent(db_session: Session, team: Team) -> ContactConsent | None:
    db_session.expire_all()
    return consents_in_force(db_session, child_id=team.child_id).get(ContactChannel.SMS_TO_CHILD)


def assert_empty_twiml(response: TestResponse) -> None:
    assert response.status_code == 200
    assert response.mimetype == "text/xml"
    answer = ElementTree.fromstring(response.get_data())
    assert (answer.tag, list(answer), (answer.text or "").strip()) == ("Response", [], "")


# --- Signatures --------------------------------------------------------------------------------------------------


def test_a_status_callback_signed_for_the_public_url_is_believed_though_it_arrived_through_a_proxy(
    client, db_session, sent
):
    _, _, message = sent

    response = twilio_post(client, STATUS, status_callback(message.provider_id, "delivered"))

    assert response.status_code == 204, response.json
    assert response.get_data() == b""
    db_session.expire_all()
    assert (message.state, message.provider_status) == (MessageState.DELIVERED, "delivered")
    assert [state for state, _ in history(db_session, message)][-1] is MessageState.DELIVERED


def test_a_reply_signed_for_the_public_url_is_believed_though_it_arrived_through_a_proxy(client, db_session, sent):
    team, _, _ = sent

    response = twilio_post(client, INBOUND, reply(the_childs_number(db_session, team), "STOP"))

    assert_empty_twiml(response)
    assert sms_to_child_consent(db_session, team).granted is False


def forged(params: dict[str, str], path: str) -> dict[str, str | None]:
    """Every way a request can fail to carry Twilio's signature of this URL and form, by name."""
    other_params = dict(params)
    other_params["MessageStatus" if "MessageStatus" in params else "Body"] = "something else"
    return {
        "no signature": None,
        "an empty signature": "",
        "not a signature": "bm90IGEgc2lnbmF0dXJl",
        "signed for other form fields": signature(other_params, path=path),
        "signed for fewer form fields": signature({key: params[key] for key in list(params)[:2]}, path=path),
        "signed for the URL behind the proxy": signature(params, path=path, url=BEHIND_THE_PROXY + path),
        "signed for another path": signature(params, path=STATUS if path == INBOUND else INBOUND),
        "signed with another account's token": signature(params, path=path, token="another-accounts-token"),
    }


@pytest.mark.parametrize(
    "how",
    [
        "no signature",
        "an empty signature",
        "not a signature",
        "signed for other form fields",
        "signed for fewer form fields",
        "signed for the URL behind the proxy",
        "signed for another path",
        "signed with another account's token",
    ],
)
@pytest.mark.parametrize("path", [STATUS, INBOUND])
def test_a_webhook_not_signed_by_twilio_for_this_url_and_form_is_refused_and_changes_nothing(
    client, db_session, sent, path, how
):
    team, _, message = sent
    params = (
        status_callback(message.provider_id, "delivered")
        if path == STATUS
        else reply(the_childs_number(db_session, team), "STOP")
    )
    before = everything(db_session)

    response = twilio_post(client, path, params, signed=forged(params, path)[how])

    assert response.status_code == 403
    assert response.json == {
        "code": 403,
        "request_id": ANY,
        "status": "Forbidden",
        "message": "The request is not signed by Twilio.",
        "reason": "invalid_webhook_signature",
    }
    assert everything(db_session) == before
    assert sms_to_child_consent(db_session, team).granted is True


@pytest.mark.parametrize("path", [STATUS, INBOUND])
def test_with_no_auth_token_configured_every_webhook_is_refused_even_one_signed_with_an_empty_token(
    app, client, db_session, sent, monkeypatch, path
):
    team, _, message = sent
    monkeypatch.setitem(app.config, "TWILIO_AUTH_TOKEN", "")
    params = (
        status_callback(message.provider_id, "delivered")
        if path == STATUS
        else reply(the_childs_number(db_session, team), "STOP")
    )
    before = everything(db_session)

    for signed in (signature(params, path=path, token=""), signature(params, path=path), None):
        response = twilio_post(client, path, params, signed=signed)

        assert response.status_code == 403
        assert response.json["reason"] == "invalid_webhook_signature"
    assert everything(db_session) == before


def test_the_signature_covers_the_public_base_url_as_configured_with_or_without_a_trailing_slash(
    app, client, db_session, sent, monkeypatch
):
    _, _, message = sent
    monkeypatch.setitem(app.config, "PUBLIC_BASE_URL", PUBLIC_BASE_URL + "/")

    response = twilio_post(client, STATUS, status_callback(message.provider_id, "delivered"))

    assert response.status_code == 204
    db_session.expire_all()
    assert message.state is MessageState.DELIVERED


# --- Status callbacks --------------------------------------------------------------------------------------------


def test_status_callbacks_move_a_message_forward_only_and_repeats_change_nothing(client, db_session, clock, sent):
    _, _, message = sent

    assert twilio_post(client, STATUS, status_callback(message.provider_id, "delivered")).status_code == 204
    after_delivered = (everything(db_session), history(db_session, message))
    clock.advance(minutes=1)
    # Twilio's callbacks can arrive late and twice: a 'sent' after 'delivered', and 'delivered' again.
    for late in ("sent", "sending", "queued", "delivered", "delivered", "undelivered", "failed"):
        response = twilio_post(client, STATUS, status_callback(message.provider_id, late, ErrorCode="30003"))

        assert response.status_code == 204, (late, response.json)
        assert (everything(db_session), history(db_session, message)) == after_delivered, late

    assert message.state is MessageState.DELIVERED
    assert [state for state, _ in history(db_session, message)] == [
        MessageState.QUEUED,
        MessageState.SENDING,
        MessageState.SENT,
        MessageState.DELIVERED,
    ]


def test_a_sent_message_reported_undelivered_keeps_the_error_code_and_says_why(client, db_session, sent):
    _, _, message = sent

    response = twilio_post(client, STATUS, status_callback(message.provider_id, "undelivered", ErrorCode="30003"))

    assert response.status_code == 204
    db_session.expire_all()
    assert (message.state, message.provider_status, message.error_code) == (
        MessageState.UNDELIVERED,
        "undelivered",
        30003,
    )
    assert history(db_session, message)[-1] == (MessageState.UNDELIVERED, "provider error 30003")


def test_a_status_callback_that_moves_nothing_forward_leaves_the_message_as_it_was(client, db_session, sent):
    _, _, message = sent
    before = everything(db_session)

    # 'sent' again (sent is where it already is), and a status we do not know.
    for status in ("sent", "accepted", "read", ""):
        response = twilio_post(client, STATUS, status_callback(message.provider_id, status))

        assert response.status_code == 204, status
    assert everything(db_session) == before


def test_a_status_callback_for_a_message_we_do_not_know_is_accepted_and_changes_nothing(client, db_session, sent):
    before = everything(db_session)

    for provider_id in ("SM" + "f" * 32, ""):
        response = twilio_post(client, STATUS, status_callback(provider_id, "delivered"))

        assert response.status_code == 204
    assert everything(db_session) == before


# --- Replies: STOP, START and the rest ---------------------------------------------------------------------------


def test_stop_withdraws_consent_at_once_and_drops_what_is_queued_for_that_number(
    client, db_session, session_factory, clock, provider, sent
):
    team, _, sent_message = sent
    _, queued = invite(db_session, client, team)  # a second link, queued and not yet sent
    number = the_childs_number(db_session, team)

    response = twilio_post(client, INBOUND, reply(number, " stop "))

    assert_empty_twiml(response)
    consent = sms_to_child_consent(db_session, team)
    assert (consent.granted, consent.given_by, consent.recorded_by_user_id, consent.recorded_at) == (
        False,
        ConsentGivenBy.CHILD,
        None,
        clock.now(),
    )
    assert (queued.state, queued.state_reason) == (MessageState.DROPPED, "the recipient replied STOP")
    assert history(db_session, queued)[-1] == (MessageState.DROPPED, "the recipient replied STOP")
    assert sent_message.state is MessageState.SENT  # what has gone has gone: it is not rewritten
    # Nothing more goes to the child: a link asked for now cannot be queued, and the dispatcher has nothing.
    refused = client.post(f"/children/{team.child_id}/check-in-invitations", json={}, headers=team.headers())
    assert (refused.status_code, refused.json["reason"]) == (409, "no_mobile_with_sms_consent")
    assert dispatch(session_factory, clock, provider) == []


@pytest.mark.parametrize("word", ["STOP", "Stop", "STOPALL", "UNSUBSCRIBE", "CANCEL", "END", "QUIT"])
def test_every_stop_word_withdraws_consent(client, db_session, sent, word):
    team, _, _ = sent

    assert_empty_twiml(twilio_post(client, INBOUND, reply(the_childs_number(db_session, team), word)))

    assert sms_to_child_consent(db_session, team).granted is False


def test_start_after_stop_restores_consent_and_links_go_again(
    client, db_session, session_factory, clock, provider, sent
):
    team, _, _ = sent
    number = the_childs_number(db_session, team)
    assert_empty_twiml(twilio_post(client, INBOUND, reply(number, "STOP")))
    clock.advance(minutes=5)

    response = twilio_post(client, INBOUND, reply(number, "Start"))

    assert_empty_twiml(response)
    consent = sms_to_child_consent(db_session, team)
    assert (consent.granted, consent.given_by, consent.recorded_by_user_id) == (True, ConsentGivenBy.CHILD, None)
    _, queued = invite(db_session, client, team)
    assert dispatch(session_factory, clock, provider) == [number]
    db_session.expire_all()
    assert queued.state is MessageState.SENT


@pytest.mark.parametrize("body", ["Thanks, see you then", "HELP", "info", "ok", "", "   "])
def test_any_other_reply_is_answered_and_changes_nothing(client, db_session, sent, body):
    team, _, _ = sent
    _, queued = invite(db_session, client, team)
    before = everything(db_session)

    response = twilio_post(client, INBOUND, reply(the_childs_number(db_session, team), body))

    assert_empty_twiml(response)
    assert everything(db_session) == before
    assert queued.state is MessageState.QUEUED


def a_number_nobody_holds(db_session: Session) -> str:
    """A drama number no child here holds (the builders hand numbers out of the same range, by a counter)."""
    held = set(db_session.scalars(select(PhoneNumber.e164)))
    return next(number for number in (f"+447700900{n:03d}" for n in range(1000)) if number not in held)


def test_a_reply_from_a_number_we_do_not_hold_changes_nothing(client, db_session, sent):
    before = everything(db_session)
    stranger = a_number_nobody_holds(db_session)

    for body in ("STOP", "START"):
        assert_empty_twiml(twilio_post(client, INBOUND, reply(stranger, body)))

    assert everything(db_session) == before


def test_start_does_not_override_a_withdrawal_recorded_by_staff(client, db_session, clock, sent):
    # The coordinator recorded that SMS to the child must stop (the parent said no more texts). START undoes the
    # recipient's own STOP; it must not overturn a decision staff recorded about the child.
    team, _, _ = sent
    children_service.record_consent(
        db_session,
        actor=actor_for(team.coordinator),
        child_id=team.child_id,
        channel=ContactChannel.SMS_TO_CHILD,
        granted=False,
        given_by=ConsentGivenBy.PARENT,
        now=clock.now(),
    )
    clock.advance(minutes=5)
    before = everything(db_session)

    response = twilio_post(client, INBOUND, reply(the_childs_number(db_session, team), "START"))

    assert_empty_twiml(response)
    assert everything(db_session) == before
    consent = sms_to_child_consent(db_session, team)
    assert (consent.granted, consent.given_by, consent.recorded_by_user_id) == (
        False,
        ConsentGivenBy.PARENT,
        team.coordinator.id,
    )


def test_start_with_no_stop_before_it_changes_nothing(client, db_session, sent):
    team, _, _ = sent
    before = everything(db_session)

    response = twilio_post(client, INBOUND, reply(the_childs_number(db_session, team), "START"))

    assert_empty_twiml(response)
    assert everything(db_session) == before


@pytest.mark.parametrize("body", ["YES", "Yes see you then", "ok", "OPTIN"])
def test_after_stop_only_a_clear_start_restores_consent(client, db_session, clock, sent, body):
    # A child's "yes" to something else must not undo their STOP.
    team, _, _ = sent
    number = the_childs_number(db_session, team)
    assert_empty_twiml(twilio_post(client, INBOUND, reply(number, "STOP")))
    clock.advance(minutes=5)
    before = everything(db_session)

    response = twilio_post(client, INBOUND, reply(number, body))

    assert_empty_twiml(response)
    assert everything(db_session) == before
    assert sms_to_child_consent(db_session, team).granted is False


# --- The ledger --------------------------------------------------------------------------------------------------


def ledger_reads(db_session: Session, actor_user_id: uuid.UUID) -> list[tuple[uuid.UUID, uuid.UUID]]:
    db_session.expire_all()
    rows = db_session.execute(
        select(AuditEvent.record_id, AuditEvent.child_id).where(
            AuditEvent.action == "outbound_message.list",
            AuditEvent.record_type == "outbound_message",
            AuditEvent.actor_user_id == actor_user_id,
        )
    ).all()
    return sorted((record_id, child_id) for record_id, child_id in rows)


def assert_tells_nothing_of_the_text_or_the_number(response: TestResponse, db_session: Session, team: Team) -> None:
    raw = response.get_data(as_text=True)
    number = the_childs_number(db_session, team)
    first_name = db_session.get_one(Child, team.child_id).first_name
    for secret in (number, number.removeprefix("+"), "07700", first_name, "/c/", "checkin.example.org", "Hi "):
        assert secret not in raw, secret
    for entry in response.json:
        assert not {"body", "text", "to", "phone", "phone_number", "number", "link"} & set(entry)


def test_a_mentor_reads_the_messages_that_carried_their_childs_check_in_link(client, db_session, clock, sent):
    team, invitation_id, message = sent
    assert twilio_post(client, STATUS, status_callback(message.provider_id, "delivered")).status_code == 204

    response = client.get(f"/check-in-invitations/{invitation_id}/messages", headers=team.headers())

    assert response.status_code == 200, response.json
    (entry,) = response.json
    assert {key: entry[key] for key in ("id", "purpose", "recipient_type", "state", "attempts", "provider_status")} == {
        "id": str(message.id),
        "purpose": "check_in_link",
        "recipient_type": "child",
        "state": "delivered",
        "attempts": 1,
        "provider_status": "delivered",
    }
    assert entry["error_code"] is None
    assert [event["state"] for event in entry["events"]] == ["queued", "sending", "sent", "delivered"]
    assert_tells_nothing_of_the_text_or_the_number(response, db_session, team)
    assert ledger_reads(db_session, team.mentor.id) == [(message.id, team.child_id)]


def test_a_mentor_reads_the_reminders_of_their_childs_session_and_each_read_is_audited(
    client, db_session, session_factory, clock, provider, twilio
):
    team = Team(db_session, clock, places=5, with_child=True)
    team.consent_to_sms()
    tomorrow = DEFAULT_NOW + timedelta(days=1, hours=2)  # Tuesday 16:00 (GMT)
    session_id = plan_session(client, team, tomorrow)
    # The evening before at 17:00 the first reminder goes.
    clock.advance(hours=3)
    assert dispatch(session_factory, clock, provider) == [the_childs_number(db_session, team)]

    first = client.get(f"/sessions/{session_id}/messages", headers=team.headers())
    second = client.get(f"/sessions/{session_id}/messages", headers=team.headers())

    assert first.status_code == second.status_code == 200, first.json
    assert first.json == second.json
    by_send_time = sorted(first.json, key=lambda entry: entry["send_after"])
    assert [(entry["purpose"], entry["recipient_type"], entry["state"]) for entry in by_send_time] == [
        ("session_reminder", "child", "sent"),
        ("session_reminder", "child", "queued"),
    ]
    assert [datetime.fromisoformat(entry["send_after"]) for entry in by_send_time] == [
        datetime(2026, 11, 23, 17, 0, tzinfo=UTC),  # the evening before, 17:00 in London
        tomorrow - timedelta(hours=2),
    ]
    assert {datetime.fromisoformat(entry["drop_after"]) for entry in by_send_time} == {tomorrow}
    assert [[event["state"] for event in entry["events"]] for entry in by_send_time] == [
        ["queued", "sending", "sent"],
        ["queued"],
    ]
    assert_tells_nothing_of_the_text_or_the_number(first, db_session, team)
    ids = sorted(uuid.UUID(entry["id"]) for entry in first.json)
    assert ledger_reads(db_session, team.mentor.id) == sorted([(id_, team.child_id) for id_ in ids] * 2)


def test_another_programmes_mentor_is_told_the_ledgers_do_not_exist_and_nothing_is_audited(
    client, db_session, clock, sent
):
    team, invitation_id, _ = sent
    session_id = plan_session(client, team, DEFAULT_NOW + timedelta(days=1))
    stranger = Team(
        db_session, clock, places=5, with_child=True
    )  # a mentor with a child of their own, in another programme
    headers = auth_headers(db_session, stranger.mentor, now=clock.now())

    by_invitation = client.get(f"/check-in-invitations/{invitation_id}/messages", headers=headers)
    by_session = client.get(f"/sessions/{session_id}/messages", headers=headers)

    assert (by_invitation.status_code, by_invitation.json["reason"]) == (404, "check_in_invitation_not_found")
    assert (by_session.status_code, by_session.json["reason"]) == (404, "session_not_found")
    assert ledger_reads(db_session, stranger.mentor.id) == []


def test_a_commissioner_may_not_read_any_ledger(client, db_session, clock, sent):
    team, invitation_id, _ = sent
    session_id = plan_session(client, team, DEFAULT_NOW + timedelta(days=1))
    commissioner = make_user(db_session, Role.COMMISSIONER, programme=team.programme)
    headers = auth_headers(db_session, commissioner, now=clock.now())

    for path in (f"/check-in-invitations/{invitation_id}/messages", f"/sessions/{session_id}/messages"):
        response = client.get(path, headers=headers)

        assert (response.status_code, response.json["reason"]) == (403, "forbidden"), path
    assert ledger_reads(db_session, commissioner.id) == []


@pytest.mark.parametrize("body", ["Stop!", "STOP.", " stop "])
def test_a_stop_with_punctuation_or_spaces_still_stops(body, db_session, clock):
    from api.sms import service as sms_service

    assert sms_service.apply_reply(db_session, from_number="+447700900555", body=body, now=clock.now()) == "stop"


def test_please_stop_is_left_to_a_person_rather_than_guessed(db_session, clock):
    from api.sms import service as sms_service

    assert sms_service.apply_reply(db_session, from_number="+447700900555", body="please stop", now=clock.now()) is None
