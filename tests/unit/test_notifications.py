"""The SMS port and its senders: segment counting, the scriptable fake, the development file sender, and the
Twilio adapter's reading of every answer Twilio can give.

The Twilio adapter is exercised over real HTTP against a small local stand-in for Twilio's Messages API (an
`http.server` in a thread), so the real twilio client, requests and the adapter's error mapping all run. No test
here waits on a clock: "slow" answers block until the test ends, so any client timeout expires first.
"""

from __future__ import annotations

import json
import logging
import re
import socket
import stat
import threading
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
from twilio.request_validator import RequestValidator
from werkzeug.datastructures import MultiDict

from notifications import gsm7, templates, webhooks
from notifications.dev_sender import RecordingSmsSender
from notifications.fake import FakeSmsSender, Step, permanent_failure
from notifications.port import (
    OPT_OUT_ERROR_CODE,
    PERMANENT_ERROR_CODES,
    Outcome,
    OutgoingSms,
    ProviderLookupFailed,
    SendResult,
)
from notifications.twilio_adapter import TwilioSender, retry_after_seconds, signature_is_valid

BODY = (
    "Hi Sam, your check-in is ready. It takes 2 minutes: https://checkin.example.org/c/AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"
)
CALLBACK = "https://api.example.org/sms/status"
AT = datetime(2026, 11, 23, 14, 0, tzinfo=UTC)


def sms(to: str, body: str = BODY, callback: str | None = CALLBACK) -> OutgoingSms:
    return OutgoingSms(to=to, body=body, status_callback_url=callback)


# GSM-7 segments


def test_the_gsm7_tables_are_complete():
    assert len(gsm7.BASIC) == 127  # 128 positions, less the escape to the extension table
    assert len(gsm7.EXTENSION) == 10


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Hi Sam, see you Tuesday at 5pm", True),
        ("£5 @ the café? Ça va!", True),
        ("Costs €5 [see {notes}] ~ ^ | \\", True),
        ("Zoë", False),
        ("It\u2019s today", False),  # a curly apostrophe
        ("See you 😀", False),
        ("`backtick`", False),
        ("\x1b", False),  # the escape itself is not a character anyone can send
        ("", True),
    ],
)
def test_is_gsm7(text, expected):
    assert gsm7.is_gsm7(text) is expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("", 1),
        ("a" * 160, 1),
        ("a" * 161, 2),
        ("a" * 306, 2),
        ("a" * 307, 3),
        ("€" * 80, 1),  # extension characters count two septets
        ("€" * 81, 2),
        ("a" * 159 + "€", 2),
        # 306 septets would fit two segments, but an escape pair is never split across segments.
        ("a" * 152 + "€" + "a" * 152, 3),
        ("ë" * 70, 1),
        ("ë" * 71, 2),
        ("ë" * 134, 2),
        ("ë" * 135, 3),
        ("a" * 70 + "\u2019", 2),  # one curly quote turns 71 characters into UCS-2
        ("a" * 70, 1),
        ("😀" * 35, 1),  # an emoji outside the BMP takes two UTF-16 units
        ("😀" * 36, 2),
        ("a" * 66 + "😀" + "a" * 66, 3),  # a surrogate pair is never split either
    ],
)
def test_segments(text, expected):
    assert gsm7.segments(text) == expected


def test_the_check_in_message_with_a_long_name_is_one_gsm7_segment():
    message = templates.check_in_link(
        first_name="Alexandria-Josephine", link="https://checkin.example.org/c/" + "A" * 32
    )

    assert gsm7.is_gsm7(message)
    assert gsm7.segments(message) == 1


# The fake sender


def test_the_fake_accepts_when_nothing_is_planned_and_records_what_it_sent():
    fake = FakeSmsSender(now=lambda: AT)

    result = fake.send(sms("+447700900001"))

    assert result.outcome is Outcome.ACCEPTED
    assert result.provider_id is not None and re.fullmatch(r"SM[0-9a-f]{32}", result.provider_id)
    assert fake.count_sent(to="+447700900001", body=BODY) == 1
    assert fake.sent[0].sms == sms("+447700900001")
    assert fake.sent[0].created_at == AT


def test_the_fake_plays_a_script_per_recipient_in_order():
    fake = FakeSmsSender(retry_after_seconds=12)
    fake.script("+447700900001", [Step.RETRY_LATER, Step.OPTED_OUT, permanent_failure(21614), Step.ACCEPT])
    fake.script("+447700900002", [Step.UNKNOWN_NOT_SENT])

    outcomes = [fake.send(sms("+447700900001")) for _ in range(5)]
    other = fake.send(sms("+447700900002"))

    assert outcomes[0] == SendResult(
        outcome=Outcome.RETRY_LATER, error_code=20429, detail="fake: rate limited", retry_after_seconds=12
    )
    assert (outcomes[1].outcome, outcomes[1].error_code) == (Outcome.PERMANENT_FAILURE, OPT_OUT_ERROR_CODE)
    assert (outcomes[2].outcome, outcomes[2].error_code) == (Outcome.PERMANENT_FAILURE, 21614)
    assert [result.outcome for result in outcomes[3:]] == [Outcome.ACCEPTED, Outcome.ACCEPTED]
    assert other.outcome is Outcome.UNKNOWN
    assert fake.count_sent(to="+447700900001") == 2
    assert fake.count_sent(to="+447700900002") == 0
    assert len(fake.attempts) == 6
    assert fake.steps_left("+447700900001") == fake.steps_left("+447700900002") == 0


def test_unknown_but_sent_answers_unknown_and_reconciliation_finds_the_message():
    fake = FakeSmsSender(now=lambda: AT)
    fake.script("+447700900001", [Step.UNKNOWN_BUT_SENT])

    result = fake.send(sms("+447700900001"))
    found = fake.find_sent(to="+447700900001", body=BODY, since=AT)

    assert result.outcome is Outcome.UNKNOWN and result.provider_id is None
    assert found is not None
    assert (found.provider_id, found.to, found.body, found.created_at) == (
        fake.sent[0].provider_id,
        "+447700900001",
        BODY,
        AT,
    )


def test_unknown_and_not_sent_leaves_nothing_to_find():
    fake = FakeSmsSender(now=lambda: AT)
    fake.script("+447700900001", [Step.UNKNOWN_NOT_SENT])

    assert fake.send(sms("+447700900001")).outcome is Outcome.UNKNOWN
    assert fake.find_sent(to="+447700900001", body=BODY, since=AT) is None


def test_the_fake_finds_only_the_same_recipient_and_body_sent_at_or_after_since():
    clock = [AT]
    fake = FakeSmsSender(now=lambda: clock[0])
    fake.send(sms("+447700900001"))
    clock[0] = AT + timedelta(minutes=5)
    fake.send(sms("+447700900001", body="another message"))

    assert fake.find_sent(to="+447700900001", body=BODY, since=AT) is not None
    assert fake.find_sent(to="+447700900001", body=BODY, since=AT + timedelta(seconds=1)) is None
    assert fake.find_sent(to="+447700900002", body=BODY, since=AT) is None
    assert fake.find_sent(to="+447700900001", body=BODY, since=AT.replace(tzinfo=None)) is not None  # naive is UTC
    assert len(fake.lookups) == 4


def test_the_fake_can_fail_a_lookup_and_then_answer():
    fake = FakeSmsSender(now=lambda: AT)
    fake.send(sms("+447700900001"))
    fake.fail_lookups("+447700900001")

    with pytest.raises(ProviderLookupFailed):
        fake.find_sent(to="+447700900001", body=BODY, since=AT)
    assert fake.find_sent(to="+447700900001", body=BODY, since=AT) is not None


def test_a_planned_accepted_result_is_returned_with_a_provider_id_and_counted_as_sent():
    fake = FakeSmsSender()
    fake.script("+447700900001", [SendResult(outcome=Outcome.ACCEPTED, provider_status="accepted")])

    result = fake.send(sms("+447700900001"))

    assert result.provider_status == "accepted"
    assert result.provider_id == fake.sent[0].provider_id
    assert fake.count_sent() == 1


def test_the_fake_is_safe_to_share_between_threads():
    fake = FakeSmsSender()
    numbers = [f"+4477009{n:05d}" for n in range(40)]
    for number in numbers:
        fake.script(number, [Step.UNKNOWN_NOT_SENT, Step.ACCEPT])

    with ThreadPoolExecutor(max_workers=8) as pool:
        results = list(pool.map(lambda number: fake.send(sms(number)), numbers * 2))

    assert sorted(result.outcome for result in results) == sorted([Outcome.ACCEPTED] * 40 + [Outcome.UNKNOWN] * 40)
    assert all(fake.count_sent(to=number) == 1 for number in numbers)
    assert len({sent.provider_id for sent in fake.sent}) == 40


# The development sender


def test_the_recording_sender_appends_a_json_line_and_always_accepts(tmp_path):
    path = tmp_path / "instance" / "sms.jsonl"
    sender = RecordingSmsSender(path, now=lambda: AT)

    first = sender.send(sms("+447700900001"))
    second = sender.send(sms("+447700900002", body="Hi Ali", callback=None))

    assert first.outcome is Outcome.ACCEPTED and second.outcome is Outcome.ACCEPTED
    assert first.provider_id is not None and re.fullmatch(r"DEV[0-9a-f]{32}", first.provider_id)
    assert first.provider_id != second.provider_id
    lines = [json.loads(line) for line in path.read_text().splitlines()]
    assert lines == [
        {
            "to": "+447700900001",
            "body": BODY,
            "status_callback_url": CALLBACK,
            "provider_id": first.provider_id,
            "created_at": "2026-11-23T14:00:00+00:00",
        },
        {
            "to": "+447700900002",
            "body": "Hi Ali",
            "status_callback_url": None,
            "provider_id": second.provider_id,
            "created_at": "2026-11-23T14:00:00+00:00",
        },
    ]
    # Bodies carry check-in links: only the owner may read the file.
    assert stat.S_IMODE(path.stat().st_mode) == 0o600


def test_the_recording_sender_finds_what_it_wrote_even_after_a_restart(tmp_path):
    path = tmp_path / "sms.jsonl"
    sent = RecordingSmsSender(path, now=lambda: AT).send(sms("+447700900001"))
    with path.open("a") as file:
        file.write('{"to": "+447700900001", "body": "cut sho\n')  # a line left half written
    restarted = RecordingSmsSender(path)

    found = restarted.find_sent(to="+447700900001", body=BODY, since=AT)

    assert found is not None
    assert (found.provider_id, found.to, found.body, found.created_at) == (sent.provider_id, "+447700900001", BODY, AT)
    assert restarted.find_sent(to="+447700900001", body=BODY, since=AT + timedelta(seconds=1)) is None
    assert restarted.find_sent(to="+447700900001", body="Hi Ali", since=AT) is None
    assert restarted.find_sent(to="+447700900009", body=BODY, since=AT) is None


def test_the_recording_sender_finds_nothing_before_its_first_message(tmp_path):
    assert RecordingSmsSender(tmp_path / "none.jsonl").find_sent(to="+447700900001", body=BODY, since=AT) is None


# A local stand-in for Twilio's Messages API

ACCOUNT_SID = "AC" + "1" * 32
AUTH_TOKEN = "test-auth-token"
FROM = "+447700900999"
SERVICE_SID = "MG" + "2" * 32

OK = "+447700900001"
RATE_LIMITED = "+447700900429"
RATE_LIMITED_WITHOUT_HINT = "+447700900430"
INVALID_NUMBER = "+447700900211"
OPTED_OUT = "+447700900610"
NOT_A_MOBILE = "+447700900614"
BAD_CREDENTIALS = "+447700900401"
CLIENT_ERROR_WITHOUT_JSON = "+447700900400"
SERVER_ERROR = "+447700900500"
SERVER_ERROR_WITHOUT_JSON = "+447700900503"
SLOW_AFTER_TAKING_IT = "+447700900901"  # Twilio created the message, the answer never comes
DROPPED_AFTER_TAKING_IT = "+447700900902"  # Twilio created the message, then the connection dropped
SLOW_WITHOUT_TAKING_IT = "+447700900903"  # the request hangs before anything is created

ERRORS: dict[str, tuple[int, str, dict[str, str]]] = {
    RATE_LIMITED: (
        429,
        json.dumps({"code": 20429, "message": "Too Many Requests", "status": 429}),
        {"Retry-After": "7"},
    ),
    RATE_LIMITED_WITHOUT_HINT: (429, json.dumps({"code": 20429, "message": "Too Many Requests", "status": 429}), {}),
    INVALID_NUMBER: (
        400,
        json.dumps(
            {"code": 21211, "message": f"The 'To' number {INVALID_NUMBER} is not a valid phone number.", "status": 400}
        ),
        {},
    ),
    OPTED_OUT: (
        400,
        json.dumps({"code": 21610, "message": f"Attempt to send to unsubscribed recipient {OPTED_OUT}", "status": 400}),
        {},
    ),
    NOT_A_MOBILE: (
        400,
        json.dumps({"code": 21614, "message": f"'To' number {NOT_A_MOBILE} is not a mobile number", "status": 400}),
        {},
    ),
    BAD_CREDENTIALS: (401, json.dumps({"code": 20003, "message": "Authenticate", "status": 401}), {}),
    CLIENT_ERROR_WITHOUT_JSON: (400, "<html>Bad Request</html>", {}),
    SERVER_ERROR: (500, json.dumps({"code": 20500, "message": "Internal Server Error", "status": 500}), {}),
    SERVER_ERROR_WITHOUT_JSON: (503, "<html>Service Unavailable</html>", {}),
}


@dataclass
class TwilioMessage:
    sid: str
    to: str
    body: str
    status: str
    created_at: datetime
    sent_at: datetime | None

    def as_json(self) -> dict[str, Any]:
        def rfc2822(moment: datetime | None) -> str | None:
            return None if moment is None else format_datetime(moment, usegmt=True)

        return {
            "sid": self.sid,
            "account_sid": ACCOUNT_SID,
            "to": self.to,
            "from": FROM,
            "body": self.body,
            "status": self.status,
            "direction": "outbound-api",
            "num_segments": "1",
            "date_created": rfc2822(self.created_at),
            "date_updated": rfc2822(self.created_at),
            "date_sent": rfc2822(self.sent_at),
            "uri": f"/2010-04-01/Accounts/{ACCOUNT_SID}/Messages/{self.sid}.json",
        }


class FakeTwilio:
    """Creates and lists messages like Twilio, and answers each recipient number in the way ERRORS and the
    SLOW_/DROPPED_ numbers say. Like Twilio, it filters DateSent by day only, and a queued message has no
    DateSent. Blocked requests are released when the test ends."""

    def __init__(self) -> None:
        self.messages: list[TwilioMessage] = []
        self.requests: list[tuple[str, str, dict[str, list[str]]]] = []
        self.list_error: int | None = None
        self.took_a_message = threading.Event()
        self.release = threading.Event()
        self._lock = threading.Lock()
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self.server.daemon_threads = True
        self.server.handle_error = lambda request, client_address: None  # type: ignore[method-assign]
        self._thread = threading.Thread(target=self.server.serve_forever, kwargs={"poll_interval": 0.01}, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}"

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self.release.set()
        self.server.shutdown()
        self.server.server_close()
        self._thread.join()

    def add(self, to: str, body: str, created_at: datetime, *, sent: bool = True, status: str = "sent") -> str:
        with self._lock:
            sid = f"SM{len(self.messages) + 1:032x}"
            sent_at = created_at + timedelta(seconds=1) if sent else None
            self.messages.append(TwilioMessage(sid, to, body, status, created_at, sent_at))
            return sid

    def created(self) -> list[dict[str, list[str]]]:
        return [fields for method, _, fields in self.requests if method == "POST"]

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        twilio = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, format: str, *args: Any) -> None:
                pass

            def reply(self, status: int, body: str, headers: dict[str, str] | None = None) -> None:
                payload = body.encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(payload)))
                for name, value in (headers or {}).items():
                    self.send_header(name, value)
                self.end_headers()
                self.wfile.write(payload)

            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length", 0))
                fields = parse_qs(self.rfile.read(length).decode(), keep_blank_values=True)
                path = urlsplit(self.path).path
                with twilio._lock:
                    twilio.requests.append(("POST", path, fields))
                if path != f"/2010-04-01/Accounts/{ACCOUNT_SID}/Messages.json" or "To" not in fields:
                    return self.reply(400, json.dumps({"code": 21604, "message": "'To' is required", "status": 400}))
                to = fields["To"][0]
                if to in ERRORS:
                    return self.reply(*ERRORS[to])
                if to == SLOW_WITHOUT_TAKING_IT:
                    twilio.release.wait()
                    return
                sid = twilio.add(to, fields.get("Body", [""])[0], datetime.now(UTC), sent=False, status="queued")
                if to in (SLOW_AFTER_TAKING_IT, DROPPED_AFTER_TAKING_IT):
                    twilio.took_a_message.set()
                    if to == SLOW_AFTER_TAKING_IT:
                        twilio.release.wait()
                    self.close_connection = True
                    return  # no answer at all
                created = next(message for message in twilio.messages if message.sid == sid)
                self.reply(201, json.dumps(created.as_json()))

            def do_GET(self) -> None:
                url = urlsplit(self.path)
                query = parse_qs(url.query)
                with twilio._lock:
                    twilio.requests.append(("GET", url.path, query))
                    messages = list(twilio.messages)
                if twilio.list_error is not None:
                    return self.reply(twilio.list_error, json.dumps({"code": 20500, "status": twilio.list_error}))
                if url.path != f"/2010-04-01/Accounts/{ACCOUNT_SID}/Messages.json":
                    return self.reply(404, json.dumps({"code": 20404, "status": 404}))
                if "To" in query:
                    messages = [message for message in messages if message.to == query["To"][0]]
                if "DateSent>" in query:
                    on_or_after = datetime.fromisoformat(query["DateSent>"][0].replace("Z", "+00:00")).date()
                    messages = [m for m in messages if m.sent_at is not None and m.sent_at.date() >= on_or_after]
                messages.sort(key=lambda message: message.created_at, reverse=True)
                page_size = int(query.get("PageSize", ["50"])[0])
                page = {
                    "messages": [message.as_json() for message in messages[:page_size]],
                    "page": 0,
                    "page_size": page_size,
                    "next_page_uri": None,
                    "uri": url.path,
                }
                self.reply(200, json.dumps(page))

        return Handler


@pytest.fixture
def fake_twilio() -> Iterator[FakeTwilio]:
    twilio = FakeTwilio()
    twilio.start()
    yield twilio
    twilio.stop()


@pytest.fixture
def make_sender(fake_twilio) -> Iterator[Callable[..., TwilioSender]]:
    senders: list[TwilioSender] = []

    def make(**overrides: Any) -> TwilioSender:
        options: dict[str, Any] = {"from_number": FROM, "api_base_url": fake_twilio.url} | overrides
        sender = TwilioSender(ACCOUNT_SID, AUTH_TOKEN, **options)
        senders.append(sender)
        return sender

    yield make
    for sender in senders:
        sender.close()


@pytest.fixture
def sender(make_sender) -> TwilioSender:
    return make_sender()


def test_a_message_twilio_takes_is_accepted_with_its_sid(sender, fake_twilio):
    result = sender.send(sms(OK))

    assert result.outcome is Outcome.ACCEPTED
    assert result.provider_id == fake_twilio.messages[0].sid
    assert result.provider_status == "queued"
    assert fake_twilio.created() == [{"To": [OK], "From": [FROM], "Body": [BODY], "StatusCallback": [CALLBACK]}]


def test_a_messaging_service_is_named_instead_of_a_from_number(make_sender, fake_twilio):
    result = make_sender(from_number=None, messaging_service_sid=SERVICE_SID).send(sms(OK, callback=None))

    assert result.outcome is Outcome.ACCEPTED
    assert fake_twilio.created() == [{"To": [OK], "MessagingServiceSid": [SERVICE_SID], "Body": [BODY]}]


@pytest.mark.parametrize(
    "options",
    [{}, {"from_number": FROM, "messaging_service_sid": SERVICE_SID}, {"from_number": FROM, "timeout_seconds": 0}],
)
def test_the_sender_needs_exactly_one_sender_and_a_positive_timeout(options):
    with pytest.raises(ValueError):
        TwilioSender(ACCOUNT_SID, AUTH_TOKEN, **options)


def test_rate_limiting_means_retry_later_after_twilio_s_hint(sender):
    assert sender.send(sms(RATE_LIMITED)) == SendResult(
        outcome=Outcome.RETRY_LATER, error_code=20429, detail="HTTP 429, Twilio error 20429", retry_after_seconds=7.0
    )
    assert sender.send(sms(RATE_LIMITED_WITHOUT_HINT)).retry_after_seconds is None


@pytest.mark.parametrize(
    ("to", "code"),
    [(INVALID_NUMBER, 21211), (OPTED_OUT, OPT_OUT_ERROR_CODE), (NOT_A_MOBILE, 21614), (BAD_CREDENTIALS, 20003)],
)
def test_a_client_error_is_a_permanent_failure_with_twilio_s_code(sender, to, code):
    result = sender.send(sms(to))

    assert (result.outcome, result.error_code, result.provider_id) == (Outcome.PERMANENT_FAILURE, code, None)
    assert to not in result.detail and "7700" not in result.detail  # Twilio's message quotes the number


def test_a_client_error_without_a_twilio_code_is_permanent_with_the_http_status(sender):
    result = sender.send(sms(CLIENT_ERROR_WITHOUT_JSON))

    assert (result.outcome, result.error_code, result.detail) == (Outcome.PERMANENT_FAILURE, 400, "HTTP 400")


def test_the_permanent_codes_the_domain_names_are_all_client_errors():
    assert {21211, 21610, 21614, 21408, 21612} == PERMANENT_ERROR_CODES
    assert OPT_OUT_ERROR_CODE in PERMANENT_ERROR_CODES


@pytest.mark.parametrize(
    ("to", "code", "detail"),
    [(SERVER_ERROR, 20500, "HTTP 500, Twilio error 20500"), (SERVER_ERROR_WITHOUT_JSON, None, "HTTP 503")],
)
def test_a_server_error_leaves_the_outcome_unknown(sender, to, code, detail):
    assert sender.send(sms(to)) == SendResult(outcome=Outcome.UNKNOWN, error_code=code, detail=detail)


def test_a_timeout_after_twilio_took_the_message_is_unknown_and_reconciliation_finds_it(make_sender, fake_twilio):
    since = datetime.now(UTC)
    result = make_sender(timeout_seconds=0.2).send(sms(SLOW_AFTER_TAKING_IT))
    assert fake_twilio.took_a_message.wait(timeout=60)

    found = make_sender().find_sent(to=SLOW_AFTER_TAKING_IT, body=BODY, since=since)

    assert result.outcome is Outcome.UNKNOWN
    assert result.detail == "no answer from Twilio: ReadTimeout"
    assert found is not None
    assert (found.provider_id, found.to, found.body, found.status) == (
        fake_twilio.messages[0].sid,
        SLOW_AFTER_TAKING_IT,
        BODY,
        "queued",
    )


def test_a_connection_dropped_after_twilio_took_the_message_is_unknown_and_found(sender, fake_twilio):
    since = datetime.now(UTC)

    result = sender.send(sms(DROPPED_AFTER_TAKING_IT))

    assert result.outcome is Outcome.UNKNOWN
    assert result.detail == "no answer from Twilio: ConnectionError"
    assert sender.find_sent(to=DROPPED_AFTER_TAKING_IT, body=BODY, since=since) is not None


def test_a_timeout_before_twilio_took_anything_is_unknown_and_nothing_is_found(make_sender):
    since = datetime.now(UTC)

    result = make_sender(timeout_seconds=0.2).send(sms(SLOW_WITHOUT_TAKING_IT))

    assert result.outcome is Outcome.UNKNOWN
    assert make_sender().find_sent(to=SLOW_WITHOUT_TAKING_IT, body=BODY, since=since) is None


def test_twilio_unreachable_is_unknown_and_a_lookup_then_fails_rather_than_finding_nothing():
    with socket.socket() as unused:
        unused.bind(("127.0.0.1", 0))
        port = unused.getsockname()[1]
    with TwilioSender(ACCOUNT_SID, AUTH_TOKEN, from_number=FROM, api_base_url=f"http://127.0.0.1:{port}") as sender:
        result = sender.send(sms(OK))
        with pytest.raises(ProviderLookupFailed, match="ConnectionError"):
            sender.find_sent(to=OK, body=BODY, since=AT)

    assert (result.outcome, result.detail) == (Outcome.UNKNOWN, "no answer from Twilio: ConnectionError")


@pytest.mark.parametrize("status", [429, 500, 401])
def test_a_lookup_twilio_refuses_is_a_failure_not_a_none(sender, fake_twilio, status):
    fake_twilio.list_error = status

    with pytest.raises(ProviderLookupFailed, match=f"HTTP {status}") as raised:
        sender.find_sent(to=OK, body=BODY, since=AT)

    assert "7700" not in str(raised.value)
    assert raised.value.__cause__ is None and raised.value.__context__ is None  # no URL, so no number


def test_reconciliation_matches_number_body_and_creation_time_allowing_a_minute_of_clock_skew(sender, fake_twilio):
    fake_twilio.add(OK, BODY, AT - timedelta(minutes=3))  # the same text, sent earlier: not this one
    skewed = fake_twilio.add(OK, BODY, AT - timedelta(seconds=50))
    fake_twilio.add(OK, BODY, AT + timedelta(minutes=2))
    fake_twilio.add(OK, "another message", AT + timedelta(minutes=1))
    fake_twilio.add("+447700900002", BODY, AT + timedelta(minutes=1))

    found = sender.find_sent(to=OK, body=BODY, since=AT)

    assert found is not None
    assert (found.provider_id, found.created_at, found.status) == (skewed, AT - timedelta(seconds=50), "sent")
    assert fake_twilio.requests == [
        (
            "GET",
            f"/2010-04-01/Accounts/{ACCOUNT_SID}/Messages.json",
            {"To": [OK], "DateSent>": ["2026-11-23T13:59:00Z"], "PageSize": ["50"]},
        )
    ]


def test_reconciliation_does_not_match_a_message_from_before_the_skew_allowance(sender, fake_twilio):
    fake_twilio.add(OK, BODY, AT - timedelta(seconds=61))

    assert sender.find_sent(to=OK, body=BODY, since=AT) is None


def test_reconciliation_finds_a_message_still_queued_at_twilio_which_has_no_date_sent(sender, fake_twilio):
    queued = fake_twilio.add(OK, BODY, AT + timedelta(seconds=5), sent=False, status="queued")

    found = sender.find_sent(to=OK, body=BODY, since=AT.replace(tzinfo=None))  # a naive since is read as UTC

    assert found is not None and (found.provider_id, found.status) == (queued, "queued")
    assert [query for _, _, query in fake_twilio.requests] == [
        {"To": [OK], "DateSent>": ["2026-11-23T13:59:00Z"], "PageSize": ["50"]},
        {"To": [OK], "PageSize": ["50"]},
    ]


def test_neither_numbers_nor_bodies_reach_the_logs(make_sender, fake_twilio, caplog):
    caplog.set_level(logging.INFO)
    sender = make_sender()
    since = datetime.now(UTC)
    for to in (OK, INVALID_NUMBER, OPTED_OUT, SERVER_ERROR, RATE_LIMITED, DROPPED_AFTER_TAKING_IT):
        sender.send(sms(to))
        sender.find_sent(to=to, body=BODY, since=since)
    fake_twilio.list_error = 500
    with pytest.raises(ProviderLookupFailed):
        sender.find_sent(to=OK, body=BODY, since=since)

    assert caplog.records, "the adapter logs failures (without personal data)"
    assert "7700900" not in caplog.text
    assert "check-in" not in caplog.text and "Hi Sam" not in caplog.text


@pytest.mark.parametrize(
    ("header", "expected"),
    [
        (None, None),
        ("7", 7.0),
        ("1.5", 1.5),
        ("-3", 0.0),
        ("Mon, 23 Nov 2026 14:00:30 GMT", 30.0),
        ("Mon, 23 Nov 2026 13:00:00 GMT", 0.0),
        ("soon", None),
        ("nan", None),
    ],
)
def test_retry_after_reads_seconds_or_a_date(header, expected):
    assert retry_after_seconds(header, now=AT) == expected


# Webhook signatures

PUBLIC_URL = "https://api.example.org/sms/status?source=twilio"
FIELDS = {"MessageSid": "SM" + "3" * 32, "MessageStatus": "delivered", "AccountSid": ACCOUNT_SID}


def twilio_signature(url: str, fields: Any, token: str = AUTH_TOKEN) -> str:
    return RequestValidator(token).compute_signature(url, fields)


def test_a_signature_twilio_made_for_this_url_and_these_fields_is_valid():
    assert signature_is_valid(AUTH_TOKEN, PUBLIC_URL, FIELDS, twilio_signature(PUBLIC_URL, FIELDS))
    assert webhooks.signature_is_valid is signature_is_valid


@pytest.mark.parametrize(
    ("url", "fields", "signature"),
    [
        (PUBLIC_URL, FIELDS | {"MessageStatus": "failed"}, twilio_signature(PUBLIC_URL, FIELDS)),  # tampered field
        (PUBLIC_URL, FIELDS | {"ErrorCode": "30008"}, twilio_signature(PUBLIC_URL, FIELDS)),  # added field
        ("http://api.example.org/sms/status?source=twilio", FIELDS, twilio_signature(PUBLIC_URL, FIELDS)),  # proxy
        (PUBLIC_URL, FIELDS, twilio_signature(PUBLIC_URL, FIELDS, token="another-token")),
        (PUBLIC_URL, FIELDS, ""),
        (PUBLIC_URL, FIELDS, None),
    ],
)
def test_anything_else_is_not_valid(url, fields, signature):
    assert not signature_is_valid(AUTH_TOKEN, url, fields, signature)


def test_repeated_form_fields_are_signed_and_checked_as_twilio_does():
    fields = MultiDict([("Body", "hi"), ("MediaUrl", "https://a.example/1"), ("MediaUrl", "https://a.example/2")])

    assert signature_is_valid(AUTH_TOKEN, PUBLIC_URL, fields, twilio_signature(PUBLIC_URL, fields))


def test_an_empty_auth_token_never_validates():
    assert not signature_is_valid("", PUBLIC_URL, FIELDS, twilio_signature(PUBLIC_URL, FIELDS, token="x"))
