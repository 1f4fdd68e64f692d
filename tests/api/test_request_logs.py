"""Structured logs: one JSON line per request and per job run, and a request followed by its id to its SMS.

Each request gets an id: the proxy's X-Request-ID when the app is behind trusted proxies (PROXY_COUNT) and the id
is sane, else one of ours. It is sent back as X-Request-ID, written on the request's access line (the route's
template, never its path or query string; the user by id and role, never by name), stored on any SMS the request
queues, and written again on the dispatcher's line for that SMS. The scheduler writes one line per job run.
"""

from __future__ import annotations

import io
import logging
import uuid
from collections.abc import Iterator

import pytest
from sqlalchemy import select

from api import logs
from api.outbox.models import OutboundMessage
from api.sms.dispatch import DispatchSettings
from api.wellbeing.instruments import SHIPPED_INSTRUMENTS, load_instruments
from notifications.fake import FakeSmsSender
from scheduling.jobs import JOBS, Job, JobContext
from scheduling.runner import run_job
from tests.builders import Team
from tests.conftest import SECRET_KEY
from tests.json_logs import JsonLines, json_logs

ACCESS_FIELDS = {"event", "request_id", "method", "route", "status", "duration_ms", "user_id", "role"}


@pytest.fixture()
def lines() -> Iterator[JsonLines]:
    with json_logs() as captured:
        yield captured


@pytest.fixture()
def behind_a_proxy(app, monkeypatch):
    monkeypatch.setitem(app.config, "PROXY_COUNT", 1)


def test_each_request_writes_one_line_naming_its_route_template_not_its_path(client, db_session, lines, clock):
    team = Team(db_session, clock, with_child=True)
    token = "S3cretLinkToken_" + "q" * 16

    page = client.get(f"/c/{token}?utm=also-secret")
    read = client.get(f"/children/{team.child_id}?fields=secret-query", headers=team.headers())

    assert page.status_code == 404 and read.status_code in (200, 422)
    (page_line, read_line) = lines.events("request")
    assert set(page_line) >= ACCESS_FIELDS
    assert page_line["route"] == "/c/<token>" and page_line["method"] == "GET" and page_line["status"] == 404
    assert page_line["user_id"] is None and page_line["role"] is None
    assert page_line["request_id"] == page.headers["X-Request-ID"]
    assert isinstance(page_line["duration_ms"], float)
    assert read_line["route"] == "/children/<uuid:child_id>"
    assert read_line["status"] == read.status_code
    assert read_line["user_id"] == str(team.mentor.id) and read_line["role"] == "mentor"
    assert read_line["request_id"] == read.headers["X-Request-ID"] != page_line["request_id"]
    written = lines.text()
    for secret in (token, "also-secret", "secret-query", str(team.child_id), team.mentor.email):
        assert secret not in written
    assert team.mentor.display_name not in written


def test_a_request_that_matches_no_route_is_logged_as_unmatched(client, db_session, lines):
    response = client.get("/no/such/place/S3cretLinkToken")

    (line,) = lines.events("request")
    assert line["route"] == "<unmatched>" and line["status"] == 404
    assert "S3cretLinkToken" not in lines.text()
    assert response.json["request_id"] == line["request_id"]


@pytest.mark.parametrize(
    ("proxy_count", "sent", "kept"),
    [
        (1, "edge-7f3a9c2e-0001", True),  # behind the trusted proxy: its id is kept
        (0, "edge-7f3a9c2e-0001", False),  # straight from a client: never trusted
        (1, 'has spaces and "quotes"', False),  # behind the proxy, but not a sane id
        (1, "x" * 129, False),  # too long
        (1, "", False),
    ],
)
def test_x_request_id_is_kept_only_from_a_trusted_proxy_and_only_if_sane(
    app, client, db_session, lines, monkeypatch, proxy_count, sent, kept
):
    monkeypatch.setitem(app.config, "PROXY_COUNT", proxy_count)

    response = client.get("/healthz", headers={"X-Request-ID": sent})

    returned = response.headers["X-Request-ID"]
    (line,) = lines.events("request")
    assert line["request_id"] == returned
    if kept:
        assert returned == sent
    else:
        assert returned != sent and logs.sane_request_id(returned) == returned and len(returned) == 32


def test_a_request_is_followed_by_its_id_from_the_access_line_to_the_sms_it_caused(
    client, db_session, session_factory, clock, lines, behind_a_proxy
):
    team = Team(db_session, clock, places=5, with_child=True)
    team.consent_to_sms()
    request_id = "proxy-" + uuid.uuid4().hex

    response = client.post(
        f"/children/{team.child_id}/check-in-invitations",
        json={},
        headers=team.headers(**{"X-Request-ID": request_id}),
    )

    assert response.status_code == 201, response.json
    assert response.headers["X-Request-ID"] == request_id
    (access,) = lines.events("request")
    assert access["request_id"] == request_id and access["route"] == "/children/<uuid:child_id>/check-in-invitations"
    message = db_session.scalars(select(OutboundMessage).where(OutboundMessage.child_id == team.child_id)).one()
    assert message.request_id == request_id

    # The scheduler's dispatcher sends it: its line for that SMS, and the job run's, are in the same log.
    provider = FakeSmsSender(now=clock.now)
    clock.advance(minutes=1)
    run_job(job_named("dispatch_outbox"), job_context(session_factory, clock, provider))

    assert len(provider.sent) == 1
    (sent,) = lines.events("sms_sent")
    assert sent["request_id"] == request_id
    assert sent["message_id"] == str(message.id) and sent["outcome"] == "accepted" and sent["state"] == "sent"
    (run,) = [line for line in lines.events("job_run") if line["job"] == "dispatch_outbox"]
    assert run["outcome"] == "done" and run["changed"] == 1 and "request_id" not in run
    # Never the number or the text (which holds the link's token).
    written = lines.text()
    (sms,) = [sent.sms for sent in provider.sent]
    assert sms.to not in written and sms.to.lstrip("+") not in written and sms.to[-10:] not in written
    assert sms.body not in written and "/c/" not in written


def test_an_sms_queued_by_the_scheduler_has_no_request_id(db_session, session_factory, clock, lines):
    team = Team(db_session, clock, places=5, with_child=True)
    team.consent_to_sms()
    db_session.commit()

    run_job(job_named("invite_due_check_ins"), job_context(session_factory, clock))

    message = db_session.scalars(select(OutboundMessage).where(OutboundMessage.child_id == team.child_id)).one()
    assert message.request_id is None
    (run,) = lines.events("job_run")
    assert run == run | {"job": "invite_due_check_ins", "outcome": "done", "changed": 1, "level": "info"}


def test_a_job_run_writes_one_line_with_its_outcome_and_count(session_factory, clock, lines):
    def quiet(_context: JobContext) -> int:
        return 0

    def busy(_context: JobContext) -> int:
        return 3

    def broken(_context: JobContext) -> int:
        raise RuntimeError("the provider went away")

    context = job_context(session_factory, clock)
    for name, run in (("quiet", quiet), ("busy", busy), ("broken", broken)):
        run_job(Job(name=name, every_seconds=60, run=run, purpose="A test's job."), context)
    context.stopping.set()
    run_job(Job(name="late", every_seconds=60, run=busy, purpose="A test's job."), context)

    by_job = {line["job"]: line for line in lines.events("job_run")}
    assert by_job["quiet"]["outcome"] == "done" and by_job["quiet"]["changed"] == 0
    assert by_job["quiet"]["level"] == "debug"  # routine: out of the INFO log
    assert by_job["busy"]["outcome"] == "done" and by_job["busy"]["changed"] == 3 and by_job["busy"]["level"] == "info"
    assert isinstance(by_job["busy"]["duration_ms"], float)
    assert by_job["broken"]["outcome"] == "failed" and by_job["broken"]["level"] == "error"
    assert "the provider went away" in by_job["broken"]["exception"]
    assert by_job["late"]["outcome"] == "not_started"


def test_the_console_format_is_the_default_and_reads_as_text():
    buffer = io.StringIO()
    root = logging.getLogger()
    handlers, level = list(root.handlers), root.level
    try:
        logs.configure_logging_from({})
        root.handlers[0].setStream(buffer)  # type: ignore[attr-defined]
        with logs.request_id_bound("abc123"):
            logging.getLogger("api.request_log").info("request", extra={"route": "/healthz", "status": 200})
    finally:
        logging.captureWarnings(False)
        root.handlers[:] = handlers
        root.setLevel(level)
    written = buffer.getvalue()
    assert not written.startswith("{")
    assert "request" in written and "route=/healthz" in written and "request_id=abc123" in written


@pytest.mark.parametrize(("setting", "value"), [("LOG_FORMAT", "xml"), ("LOG_LEVEL", "LOUD")])
def test_a_bad_logging_setting_stops_the_process_with_a_reason(setting, value):
    with pytest.raises(SystemExit, match=f"REACHABLE_{setting}"):
        logs.configure_logging_from({setting: value})


def job_named(name: str) -> Job:
    return next(job for job in JOBS if job.name == name)


def job_context(session_factory, clock, sender=None) -> JobContext:
    dispatch = DispatchSettings(
        sender=sender or FakeSmsSender(now=clock.now),
        secret_key=SECRET_KEY,
        public_base_url="https://checkin.example.org",
        status_callback_url=None,
        quiet_hours={},
    )
    instruments = load_instruments(SHIPPED_INSTRUMENTS, licensed_wording_file=None)
    return JobContext(session_factory, clock, SECRET_KEY, instruments, dispatch)
