"""The message ledger for staff, and Twilio's webhooks (status callbacks and replies), signed not signed-in."""

from __future__ import annotations

import uuid
from typing import Any

from flask import Response, current_app, request
from flask_smorest import Blueprint, abort

from api.auth import CASEWORK, current_actor, requires
from api.sms import service
from api.sms.schemas import LedgerEntrySchema
from api.web import clock, db_session, error_answer
from notifications.webhooks import signature_is_valid

blp = Blueprint("messages", __name__, description="SMS: each session's and check-in link's message ledger")

NOT_SIGNED_BY_TWILIO = "Not signed by Twilio for this address and form (invalid_webhook_signature)"


@blp.route("/sessions/<uuid:session_id>/messages", methods=["GET"])
@requires(*CASEWORK)
@blp.response(200, LedgerEntrySchema(many=True))
def session_messages(session_id: uuid.UUID) -> Any:
    """The SMS reminders for a session: queued, sent, delivered, held, dropped or failed, and why

    Every SMS reminder made for the session (to the child, a carer, the mentor), oldest first, each with its state,
    why it is in it (held for quiet hours, dropped because consent was withdrawn or the session moved, failed with
    the provider's error code ...), its attempts, and each step of its history. Never the text or the number: both
    are made only when a message is sent. A session of no child you may see answers 404. Audited.
    """
    return service.session_ledger(db_session(), actor=current_actor(), session_id=session_id, now=clock().now())


@blp.route("/check-in-invitations/<uuid:invitation_id>/messages", methods=["GET"])
@requires(*CASEWORK)
@blp.response(200, LedgerEntrySchema(many=True))
def invitation_messages(invitation_id: uuid.UUID) -> Any:
    """The SMS carrying a check-in link: queued, sent, delivered, dropped or failed, and why

    The SMS made for one check-in link, with its state, why it is in it, its attempts and each step of its history;
    never the text (which holds the link) or the number. A link of a child you may not see answers 404. Audited.
    """
    return service.invitation_ledger(
        db_session(), actor=current_actor(), invitation_id=invitation_id, now=clock().now()
    )


def _signed_form() -> dict[str, str]:
    """The form Twilio posted, if its X-Twilio-Signature is valid for the public URL Twilio called (else 403).

    Twilio signs the URL it was given, which is our public base URL plus the path: rebuilt from configuration,
    so a proxy in front (TLS terminated, another host name) does not change it.
    """
    token = current_app.config["TWILIO_AUTH_TOKEN"]
    url = current_app.config["PUBLIC_BASE_URL"].rstrip("/") + request.full_path.rstrip("?")
    form = request.form.to_dict()
    if not token or not signature_is_valid(token, url, form, request.headers.get("X-Twilio-Signature", "")):
        abort(403, message="The request is not signed by Twilio.", reason="invalid_webhook_signature")
    return form


@blp.route("/webhooks/twilio/status", methods=["POST"])
@blp.doc(security=[])
@blp.response(204)
@blp.alt_response(403, **error_answer(NOT_SIGNED_BY_TWILIO))
def twilio_status() -> Any:
    """Twilio's message status callback (signed): moves a message forward only; repeats are harmless

    Called by Twilio, not by clients: the form Twilio posts when a message's status changes. It is accepted only
    with a valid `X-Twilio-Signature` for this service's public URL (403 `invalid_webhook_signature` otherwise).
    Twilio's status (accepted, queued, sending, sent, delivered, undelivered, failed) only ever moves a message
    forward, so repeated and late callbacks change nothing; an unknown message or status is ignored; an error saying
    the number cannot receive SMS (it does not exist, or is a landline) stops anything more going to it. Answers
    204.
    """
    form = _signed_form()
    error_code = form.get("ErrorCode")
    service.apply_status(
        db_session(),
        provider_id=form.get("MessageSid", ""),
        status=form.get("MessageStatus", ""),
        error_code=int(error_code) if error_code and error_code.isdigit() else None,
        now=clock().now(),
    )
    return None


@blp.route("/webhooks/twilio/inbound", methods=["POST"])
@blp.doc(security=[])
@blp.response(200, {"type": "string"}, content_type="text/xml", description="An empty TwiML answer: `<Response/>`")
@blp.alt_response(403, **error_answer(NOT_SIGNED_BY_TWILIO))
def twilio_inbound() -> Any:
    """A reply to one of our messages (signed): STOP withdraws SMS consent at once, START restores it

    Called by Twilio, not by clients: a text sent back to one of our numbers, accepted only with a valid
    `X-Twilio-Signature` (403 `invalid_webhook_signature` otherwise). STOP (or UNSUBSCRIBE, CANCEL, END, QUIT ...)
    as the first word withdraws SMS consent at once for every child that number belongs to, and drops its messages
    still queued; START restores consent only if a STOP had withdrawn it, never a withdrawal staff recorded. Each
    change is recorded as a consent decision, audited, and reaches the mentors' phones through `GET /sync`. Twilio
    sends its own replies to STOP, START and HELP, so the answer is an empty TwiML document.
    """
    form = _signed_form()
    service.apply_reply(db_session(), from_number=form.get("From", ""), body=form.get("Body", ""), now=clock().now())
    # An empty TwiML answer: Twilio sends its own replies to STOP, START and HELP.
    return Response("<?xml version='1.0' encoding='UTF-8'?><Response/>", mimetype="text/xml")
