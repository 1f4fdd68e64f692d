"""Requests as Twilio makes them to our webhooks (status callbacks and replies), signed for the public URL and
arriving through the proxy, for the tests of SMS and of the audit trail."""

from __future__ import annotations

import uuid

from flask.testing import FlaskClient
from twilio.request_validator import RequestValidator
from werkzeug.test import TestResponse

AUTH_TOKEN = "test-twilio-auth-token-5c1d0e7f"
PUBLIC_BASE_URL = "https://sms.example.org"
# Where the request really arrives: the app behind a proxy that terminated TLS, on an internal address.
BEHIND_THE_PROXY = "http://10.0.0.5:8000"
STATUS = "/webhooks/twilio/status"
INBOUND = "/webhooks/twilio/inbound"
OUR_NUMBER = "+447700900999"


def signature(params: dict[str, str], *, path: str, url: str | None = None, token: str = AUTH_TOKEN) -> str:
    return RequestValidator(token).compute_signature(url or PUBLIC_BASE_URL + path, params)


def twilio_post(
    client: FlaskClient, path: str, params: dict[str, str], *, signed: str | bool | None = True
) -> TestResponse:
    """POST the form as Twilio does, through the proxy; signed for the public URL unless `signed` says otherwise
    (a signature of its own, or None for no X-Twilio-Signature header at all)."""
    if signed is True:
        signed = signature(params, path=path)
    headers = {"X-Twilio-Signature": signed} if isinstance(signed, str) else {}
    return client.post(path, data=params, headers=headers, base_url=BEHIND_THE_PROXY)


def status_callback(provider_id: str, status: str, **extra: str) -> dict[str, str]:
    return {
        "AccountSid": "AC" + "0" * 32,
        "MessageSid": provider_id,
        "MessageStatus": status,
        "To": "+447700900123",
        "From": OUR_NUMBER,
        **extra,
    }


def reply(from_number: str, body: str) -> dict[str, str]:
    return {
        "AccountSid": "AC" + "0" * 32,
        "MessageSid": "SM" + uuid.uuid4().hex,
        "From": from_number,
        "To": OUR_NUMBER,
        "Body": body,
        "NumMedia": "0",
    }
