"""The scheduler paces SMS at the configured rate per sender (REACHABLE_SMS_RATE_PER_SECOND, REACHABLE_SMS_RATE_BURST,
REACHABLE_SMS_SEND_THREADS; api/config.py), one pacer for the regular drain and the urgent poll, and refuses to
start with a rate it cannot keep to."""

from __future__ import annotations

import pytest

from api.db import Database
from api.sms.rules import SendRate
from notifications.twilio_adapter import TwilioSender
from scheduling.runner import context_from_environment
from tests.conftest import SECRET_KEY


@pytest.fixture()
def database(database_url):
    database = Database(database_url)
    yield database
    database.dispose()


def test_the_scheduler_paces_its_sender_at_the_configured_rate(database, clock, monkeypatch, tmp_path):
    monkeypatch.setenv("REACHABLE_SECRET_KEY", SECRET_KEY)
    monkeypatch.setenv("REACHABLE_DEV_SMS_FILE", str(tmp_path / "sms.jsonl"))
    monkeypatch.setenv("REACHABLE_SMS_RATE_PER_SECOND", "25")
    monkeypatch.setenv("REACHABLE_SMS_RATE_BURST", "5")
    monkeypatch.setenv("REACHABLE_SMS_SEND_THREADS", "12")

    dispatch = context_from_environment(database, clock).dispatch

    assert dispatch.pacer is not None and dispatch.pacer.rate == SendRate(25, 5)
    assert dispatch.sender_identity == "development" and dispatch.send_threads == 12


def test_by_default_the_rate_is_a_uk_long_codes(database, clock, monkeypatch, tmp_path):
    monkeypatch.setenv("REACHABLE_SECRET_KEY", SECRET_KEY)
    monkeypatch.setenv("REACHABLE_DEV_SMS_FILE", str(tmp_path / "sms.jsonl"))

    dispatch = context_from_environment(database, clock).dispatch

    assert dispatch.pacer is not None and dispatch.pacer.rate == SendRate(10, 10)
    assert dispatch.send_threads == 4


@pytest.mark.parametrize(
    ("variable", "value"),
    [("SMS_RATE_PER_SECOND", "0"), ("SMS_RATE_PER_SECOND", "fast"), ("SMS_RATE_BURST", "0"),
     ("SMS_RATE_BURST", "2.5"), ("SMS_SEND_THREADS", "0"), ("SMS_SEND_THREADS", "100")],
)  # fmt: skip
def test_the_scheduler_refuses_to_start_with_a_rate_it_cannot_keep_to(database, clock, monkeypatch, variable, value):
    monkeypatch.setenv("REACHABLE_SECRET_KEY", SECRET_KEY)
    monkeypatch.setenv(f"REACHABLE_{variable}", value)
    with pytest.raises(SystemExit, match=variable.removesuffix("_PER_SECOND").removesuffix("_BURST")):
        context_from_environment(database, clock)


def test_a_twilio_sender_is_known_by_its_number_or_its_messaging_service():
    with TwilioSender("AC" + "0" * 32, "token", from_number="+447700900123") as by_number:
        assert by_number.identity == "+447700900123"
    with TwilioSender("AC" + "0" * 32, "token", messaging_service_sid="MG" + "1" * 32) as by_service:
        assert by_service.identity == "MG" + "1" * 32


def test_a_twilio_sender_keeps_a_connection_for_each_send_that_may_be_in_flight():
    # Beyond twilio's own pool (CPUs + 4), each send would open a new connection and discard it.
    with TwilioSender("AC" + "0" * 32, "token", from_number="+447700900123", connections=17) as sender:
        for url in ("https://api.twilio.com", "http://127.0.0.1:8080"):
            assert sender._http.session.get_adapter(url)._pool_maxsize == 17
