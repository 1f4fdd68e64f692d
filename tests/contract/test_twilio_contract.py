"""What the Twilio adapter sends is what Twilio's own API description accepts.

Stoplight Prism serves a mock of Twilio's 2010-04-01 API from Twilio's OpenAPI file (tests/contract/twilio, see its
README) and rejects any request that does not match the schema. The real TwilioSender talks to it over HTTP.
Prism answers with example data, not behaviour: failures, rate limits and reconciliation are tested against the
local fake in tests/unit/test_notifications.py.

Prism is installed by `make twilio-mock-deps` (into .tools/). Without it these tests skip and say why, unless
REACHABLE_TEST_REQUIRE_TWILIO_MOCK=1 (as in CI), which makes that a failure.
"""

from __future__ import annotations

import os
import re
import shutil
import socket
import subprocess
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, NoReturn

import pytest
from twilio.base.exceptions import TwilioRestException

from notifications.port import Outcome, OutgoingSms
from notifications.twilio_adapter import TwilioSender

REPO_ROOT = Path(__file__).resolve().parents[2]
# Vendored (unedited, MIT) so the test runs from any clone; see tests/contract/twilio/README.md.
TWILIO_API = Path(__file__).resolve().parent / "twilio" / "twilio_api_v2010.json"
PRISM = REPO_ROOT / ".tools" / "node_modules" / ".bin" / "prism"
REQUIRED = os.environ.get("REACHABLE_TEST_REQUIRE_TWILIO_MOCK") == "1"
# An upper bound for a very slow machine, not an expectation: Prism usually listens within a few seconds.
STARTUP_LIMIT_SECONDS = 300
LISTENING = "Prism is listening"

ACCOUNT_SID = "AC" + "0" * 32
FROM = "+447700900999"
SERVICE_SID = "MG" + "a" * 32
CALLBACK = "https://api.example.org/sms/status"
SMS = OutgoingSms(to="+447700900001", body="Hi Sam, see you Tuesday at 5pm", status_callback_url=CALLBACK)


def unavailable(reason: str) -> NoReturn:
    if REQUIRED:
        pytest.fail(f"{reason} (REACHABLE_TEST_REQUIRE_TWILIO_MOCK=1, so this is a failure)", pytrace=False)
    pytest.skip(f"Twilio contract tests skipped: {reason}")


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def start_prism(log_path: Path) -> tuple[subprocess.Popen[bytes], int] | str:
    """Prism listening on a free port, or why it is not."""
    port = free_port()
    with log_path.open("wb") as log:
        process = subprocess.Popen(
            [str(PRISM), "mock", "-h", "127.0.0.1", "-p", str(port), str(TWILIO_API)],
            stdout=log,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            cwd=REPO_ROOT,
        )
    deadline = time.monotonic() + STARTUP_LIMIT_SECONDS
    while time.monotonic() < deadline:
        output = log_path.read_text(errors="replace")
        if LISTENING in output:
            return process, port
        if process.poll() is not None:
            return f"Prism exited with status {process.returncode}: {output[-1500:]}"
        time.sleep(0.2)
    stop(process)
    return f"Prism did not say {LISTENING!r} within {STARTUP_LIMIT_SECONDS} s"


def stop(process: subprocess.Popen[bytes]) -> None:
    process.terminate()
    try:
        process.wait(timeout=30)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


@pytest.fixture(scope="module")
def prism_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    if not TWILIO_API.is_file():
        unavailable(f"Twilio's API description is not at {TWILIO_API}")
    if not (PRISM.exists() and os.access(PRISM, os.X_OK)):
        unavailable(f"Stoplight Prism is not installed at {PRISM.relative_to(REPO_ROOT)}: run `make twilio-mock-deps`")
    if shutil.which("node") is None:
        unavailable("Node.js (`node`), which runs Prism, is not on PATH")
    log_dir = tmp_path_factory.mktemp("prism")
    problems = []
    for attempt in range(3):  # another process may take the free port before Prism binds it
        started = start_prism(log_dir / f"prism-{attempt}.log")
        if isinstance(started, str):
            problems.append(started)
            continue
        process, port = started
        try:
            yield f"http://127.0.0.1:{port}"
        finally:
            stop(process)
        return
    unavailable("Prism could not start: " + " | ".join(problems))


@pytest.fixture
def make_sender(prism_url: str) -> Iterator[Callable[..., TwilioSender]]:
    senders: list[TwilioSender] = []

    def make(**options: Any) -> TwilioSender:
        sender = TwilioSender(ACCOUNT_SID, "test-auth-token", api_base_url=prism_url, **options)
        senders.append(sender)
        return sender

    yield make
    for sender in senders:
        sender.close()


@pytest.mark.parametrize(
    "sender_option", [{"from_number": FROM}, {"messaging_service_sid": SERVICE_SID}], ids=["from", "service"]
)
def test_a_message_the_adapter_sends_is_one_twilio_accepts(make_sender, sender_option):
    result = make_sender(**sender_option).send(SMS)

    assert result.outcome is Outcome.ACCEPTED, result
    assert result.provider_id is not None and re.fullmatch(r"SM[0-9a-fA-F]{32}", result.provider_id)
    assert result.provider_status == "queued"


def test_a_message_without_a_status_callback_is_accepted_too(make_sender):
    result = make_sender(from_number=FROM).send(OutgoingSms(to=SMS.to, body=SMS.body, status_callback_url=None))

    assert result.outcome is Outcome.ACCEPTED, result


def test_the_mock_rejects_a_message_without_a_recipient(make_sender):
    # Proof that the mock checks requests against Twilio's schema, so the acceptances above mean something.
    client = make_sender(from_number=FROM).client

    with pytest.raises(TwilioRestException) as rejected:
        client.api.v2010.account.messages.create(to=None, from_=FROM, body="Hi")

    assert rejected.value.status == 422
    assert "Request body must have required property 'To'" in client.http_client._test_only_last_response.text


def test_the_mock_checks_the_status_callback_the_adapter_sends(make_sender):
    # The StatusCallback field reaches the schema check: a value that is not a URL is refused.
    result = make_sender(from_number=FROM).send(OutgoingSms(to=SMS.to, body=SMS.body, status_callback_url="no url"))

    assert (result.outcome, result.error_code) == (Outcome.PERMANENT_FAILURE, 422)


def test_the_reconciliation_lookup_is_a_request_twilio_accepts(make_sender):
    # Prism's example messages are not ours, so nothing matches; a request outside the schema would have raised.
    found = make_sender(from_number=FROM).find_sent(to=SMS.to, body=SMS.body, since=datetime.now(UTC))

    assert found is None
