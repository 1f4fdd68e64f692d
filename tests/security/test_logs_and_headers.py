"""Secrets and personal data stay out of logs and caches; tokens are stored only as hashes.

- A whole journey through a real HTTP server (Werkzeug's, whose access log writes every request line), with
  every logger at DEBUG, and the process's logs configured as production writes them (JSON lines, api/logs.py):
  sign-in, refresh, a child with a demo-style name and an Ofcom drama number, referral,
  allocation, session, a check-in link sent through the development SMS sender, the child's page opened and
  answered, Twilio's webhooks, an admin's reads. No log line, as a record or as the JSON line written for it,
  holds the child's name, their numbers in any format, staff emails, passwords, access or refresh tokens, or the
  check-in token; each request has one access line, naming its route's template.
- Every route that serves HTML sends a Content-Security-Policy, nosniff, no referrer and no framing; pages with
  personal data are never cached; the API docs pages name no origin but this server's and run no inline
  script.
- After a sign-in and a check-in link, no text column of any table holds the refresh token, the access token
  or the link's token.
"""

from __future__ import annotations

import hashlib
import json
import logging
import re
import threading
import uuid
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
import requests
from flask import Flask
from sqlalchemy import JSON, String, Text, select
from sqlalchemy.orm import Session
from twilio.request_validator import RequestValidator
from werkzeug.serving import make_server

import api.models  # noqa: F401  (every table in the metadata)
from api.actors import Role
from api.db import Base
from api.outbox.models import OutboundMessage
from api.privacy.logs import RedactLinkTokens
from api.sms import dispatch as sms_dispatch
from api.sms.dispatch import DispatchSettings
from api.wellbeing import page as checkin_page
from notifications.dev_sender import RecordingSmsSender
from tests.api.dashboard_page_sign_in import sign_in as page_sign_in
from tests.builders import DISTRICTS, PASSWORD, make_cohort, make_user
from tests.conftest import DEFAULT_NOW
from tests.json_logs import JsonLines, json_logs

FIRST_NAME, LAST_NAME = "Marlowe", "Quennell-Ashby"
# Ofcom's drama range, written as a worker would type it.
NATIONAL = "07700 900468"
E164 = "+447700900468"
PARENT_NATIONAL, PARENT_E164 = "07700 900469", "+447700900469"
AUTH_TOKEN = "test-twilio-auth-token-7a2b9c1d"
PUBLIC_BASE_URL = "https://reachable.example.org"
ANSWERS = {
    "ons4.life_satisfaction": "8",
    "ons4.worthwhile": "7",
    "ons4.happy_yesterday": "8",
    "ons4.anxious_yesterday": "2",
}


def number_formats(e164: str, national: str) -> set[str]:
    digits = national.replace(" ", "")
    return {e164, national, digits, e164.lstrip("+"), digits[1:], f"{digits[:5]}-{digits[5:]}"}


# --- A real server, so its access log runs ------------------------------------------------------------------


class Server:
    def __init__(self, app: Flask) -> None:
        self.server = make_server("127.0.0.1", 0, app, threaded=False)
        self.base_url = f"http://127.0.0.1:{self.server.server_port}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.http = requests.Session()

    def call(self, method: str, path: str, *, status: int | None = None, **kwargs: Any) -> requests.Response:
        response = self.http.request(method, self.base_url + path, timeout=60, **kwargs)
        if status is not None:
            assert response.status_code == status, (method, path, response.status_code, response.text[:500])
        return response


@pytest.fixture()
def server(app: Flask, monkeypatch: pytest.MonkeyPatch) -> Iterator[Server]:
    monkeypatch.setitem(app.config, "TWILIO_AUTH_TOKEN", AUTH_TOKEN)
    monkeypatch.setitem(app.config, "PUBLIC_BASE_URL", PUBLIC_BASE_URL)
    running = Server(app)
    running.thread.start()
    yield running
    running.server.shutdown()
    running.thread.join(timeout=30)
    running.server.server_close()


@pytest.fixture()
def every_log(caplog: pytest.LogCaptureFixture) -> pytest.LogCaptureFixture:
    """Every logger at DEBUG (those that exist, Werkzeug's and the root, so new ones too)."""
    caplog.set_level(logging.DEBUG)
    for name in [*logging.root.manager.loggerDict, "werkzeug", "gunicorn.access", "gunicorn.error"]:
        caplog.set_level(logging.DEBUG, logger=name)
    return caplog


@pytest.fixture()
def json_lines(every_log: pytest.LogCaptureFixture) -> Iterator[JsonLines]:
    """The same records as every_log, as the production formatter writes them."""
    with json_logs() as captured:
        yield captured


# The test's own HTTP client (requests, over urllib3) logs what it asks for: that is the child's phone, not us.
CLIENT_SIDE = ("urllib3", "requests")


def everything_logged(caplog: pytest.LogCaptureFixture) -> str:
    """Every record the application side wrote: its message, and the traceback of any exception with it."""
    lines = []
    for record in caplog.records:
        if record.name.startswith(CLIENT_SIDE):
            continue
        traceback = logging.Formatter().formatException(record.exc_info) if record.exc_info else ""
        lines.append(f"{record.name} {record.levelname} {record.getMessage()} {record.exc_text or ''} {traceback}")
    return "\n".join(lines)


def written_by_the_application(json_lines: JsonLines) -> str:
    """Every JSON line but the test's own HTTP client's."""
    return "\n".join(
        line for line in json_lines.text().splitlines() if not json.loads(line)["logger"].startswith(CLIENT_SIDE)
    )


def signed(path: str, params: dict[str, str]) -> dict[str, str]:
    return {"X-Twilio-Signature": RequestValidator(AUTH_TOKEN).compute_signature(PUBLIC_BASE_URL + path, params)}


def test_a_whole_journey_logs_no_name_number_password_or_token(
    server, every_log, json_lines, db_session: Session, session_factory, clock, tmp_path: Path
):
    cohort = make_cohort(db_session, places=5)
    coordinator = make_user(db_session, Role.COORDINATOR, programme_id=cohort.programme_id)
    mentor = make_user(db_session, Role.MENTOR, programme_id=cohort.programme_id)
    admin = make_user(db_session, Role.ADMIN)
    db_session.commit()
    secrets: set[str] = {PASSWORD, FIRST_NAME, LAST_NAME, f"{FIRST_NAME} {LAST_NAME}"}
    secrets |= number_formats(E164, NATIONAL) | number_formats(PARENT_E164, PARENT_NATIONAL)
    secrets |= {coordinator.email, mentor.email, admin.email}

    def sign_in(email: str) -> dict[str, str]:
        tokens = server.call("POST", "/auth/sign-in", json={"email": email, "password": PASSWORD}, status=200).json()
        secrets.update({tokens["access_token"], tokens["refresh_token"]})
        again = server.call("POST", "/auth/refresh", json={"refresh_token": tokens["refresh_token"]}, status=200)
        renewed = again.json()
        secrets.update({renewed["access_token"], renewed["refresh_token"]})
        return {"Authorization": f"Bearer {renewed['access_token']}"}

    staff = sign_in(coordinator.email)
    mentors = sign_in(mentor.email)
    admins = sign_in(admin.email)
    # A wrong password is refused and logged as nothing personal either.
    server.call("POST", "/auth/sign-in", json={"email": mentor.email, "password": "not the password"}, status=401)

    child = server.call(
        "POST",
        "/children",
        json={
            "first_name": FIRST_NAME,
            "last_name": LAST_NAME,
            "date_of_birth": "2011-04-02",
            "district": DISTRICTS[0],
            "phone_numbers": [
                {"number": NATIONAL, "belongs_to": "child"},
                {"number": PARENT_NATIONAL, "belongs_to": "parent"},
            ],
        },
        headers=staff,
        status=201,
    ).json()
    child_id = child["id"]
    referral = server.call(
        "POST",
        "/referrals",
        json={
            "child_id": child_id,
            "cohort_id": str(cohort.id),
            "source": "police",
            "source_name": "Test constabulary",
            "reason": f"{FIRST_NAME} was seen with older boys.",
        },
        headers=staff,
        status=201,
    ).json()
    enrolment = server.call("POST", f"/referrals/{referral['id']}/accept", headers=staff, status=201).json()
    server.call(
        "PUT",
        f"/enrolments/{enrolment['id']}/allocation",
        json={"mentor_id": str(mentor.id)},
        headers=staff,
        status=200,
    )
    consent = {"channel": "sms_to_child", "granted": True, "given_by": "child"}
    server.call("POST", f"/children/{child_id}/consents", json=consent, headers=staff, status=201)
    start = DEFAULT_NOW + timedelta(days=1, hours=4)
    server.call(
        "POST",
        "/sessions",
        json={
            "enrolment_ids": [enrolment["id"]],
            "kind": "one_to_one",
            "location_category": "community_venue",
            "planned_start_at": start.isoformat(),
            "planned_end_at": (start + timedelta(hours=1)).isoformat(),
        },
        headers=mentors,
        status=201,
    )
    server.call("POST", f"/children/{child_id}/check-in-invitations", json={}, headers=mentors, status=201)

    # The scheduler's dispatcher sends the link through the development sender (a file a developer reads).
    sent_file = tmp_path / "dev-sms.jsonl"
    settings = DispatchSettings(
        sender=RecordingSmsSender(sent_file, now=clock.now),
        secret_key=server_secret(server),
        public_base_url=server.base_url,
        status_callback_url=PUBLIC_BASE_URL + "/webhooks/twilio/status",
        quiet_hours={},
    )
    clock.advance(minutes=1)
    assert sms_dispatch.dispatch_due(session_factory, settings=settings, clock=clock.now) >= 1
    sms = [json.loads(line) for line in sent_file.read_text().splitlines()]
    (link,) = [word for record in sms for word in record["body"].split() if "/c/" in word]
    token = urlsplit(link).path.rsplit("/", 1)[1]
    secrets.add(token)

    # The child opens the page (twice: a link preview first) and sends the answers.
    server.call("GET", urlsplit(link).path, status=200)
    server.call("GET", urlsplit(link).path, status=200)
    server.call("POST", urlsplit(link).path, data=ANSWERS, status=200)

    # Twilio reports the delivery, and the child replies.
    provider_id = db_session.scalars(
        select(OutboundMessage.provider_id).where(OutboundMessage.provider_id.is_not(None))
    ).first()
    status = {"MessageSid": provider_id, "MessageStatus": "delivered", "To": E164, "From": "+447700900999"}
    server.call("POST", "/webhooks/twilio/status", data=status, headers=signed("/webhooks/twilio/status", status))
    reply = {"MessageSid": "SM" + uuid.uuid4().hex, "From": E164, "To": "+447700900999", "Body": "HELP"}
    server.call("POST", "/webhooks/twilio/inbound", data=reply, headers=signed("/webhooks/twilio/inbound", reply))

    # Staff read the record; an admin exports it.
    server.call("GET", f"/children/{child_id}", headers=mentors, status=200)
    server.call("GET", "/children", headers=staff, status=200)
    server.call("GET", f"/children/{child_id}/subject-access-export", headers=admins, status=200)
    server.call("GET", f"/audit-events?child_id={child_id}", headers=admins, status=200)

    logged = everything_logged(every_log)
    # The journey was logged (the server's access log at least), so an empty capture cannot pass by accident.
    assert '"POST /auth/sign-in HTTP/1.1" 200' in logged
    assert "/c/[token]" in logged
    assert sorted(secret for secret in secrets if secret and secret in logged) == []
    # As written in production: JSON lines, one access line per request with the route's template, none of
    # Werkzeug's own request lines (which carry the path), and none of the secrets.
    written = written_by_the_application(json_lines)
    routes = [line["route"] for line in json_lines.events("request")]
    assert routes.count("/auth/sign-in") == 4 and routes.count("/c/<token>") == 3
    assert not [line for line in json_lines.all() if line["logger"] == "werkzeug" and "HTTP/1.1" in line["event"]]
    assert sorted(secret for secret in secrets if secret and secret in written) == []


def server_secret(server: Server) -> str:
    secret: str = server.server.app.config["SECRET_KEY"]
    return secret


def test_a_check_in_page_that_fails_unexpectedly_logs_the_failure_but_not_the_token(
    app, server, every_log, json_lines, monkeypatch
):
    monkeypatch.setitem(app.config, "PROPAGATE_EXCEPTIONS", False)

    def broken(*_args: Any, **_kwargs: Any) -> Any:
        raise RuntimeError("the database went away")

    monkeypatch.setattr(checkin_page.link_check_ins, "open_link", broken)
    token = "Q" * 32

    response = server.call("GET", f"/c/{token}", status=500)

    logged = everything_logged(every_log)
    assert "Exception on /c/[token] [GET]" in logged and "the database went away" in logged
    assert token not in logged
    # In JSON, the failure's line carries the request's id and its traceback, still without the token.
    (failure,) = [line for line in json_lines.all() if line["event"] == "Exception on /c/[token] [GET]"]
    assert failure["request_id"] == response.headers["X-Request-ID"]
    assert "the database went away" in failure["exception"]
    assert token not in written_by_the_application(json_lines)


def test_gunicorns_access_log_line_for_a_link_is_written_without_its_token(app, every_log):
    # Gunicorn's access logger is called with its format and a dict of atoms (gunicorn/glogging.py, access()).
    token = "k" * 20 + "-_" + "Z" * 10
    logging.getLogger("gunicorn.access").info(
        '%(h)s "%(r)s" %(s)s', {"h": "10.0.0.9", "r": f"GET /c/{token} HTTP/1.1", "s": "200"}
    )

    logged = everything_logged(every_log)
    assert '10.0.0.9 "GET /c/[token] HTTP/1.1" 200' in logged
    assert token not in logged


def test_the_redaction_leaves_other_paths_alone():
    record = logging.LogRecord(
        "werkzeug", logging.INFO, __file__, 1, '"GET %s HTTP/1.1" 200', ("/c/static/checkin.css",), None
    )

    RedactLinkTokens().filter(record)

    assert record.getMessage() == '"GET /c/static/checkin.css HTTP/1.1" 200'


# --- Security headers on every HTML page ----------------------------------------------------------------------

PAGE_ENDPOINTS = {
    "checkin_page.show",
    "dashboard_page.sign_in_form",
    "dashboard_page.programme_dashboard",
}
DOCS_ENDPOINTS = {"apidocs.swagger_ui", "apidocs.redoc"}
# The mentors' app's shell is code, not data (its data comes from the API): revalidated, not no-store.
APP_ENDPOINTS = {"mentors_app.shell"}
# The dashboard page's forms must carry their Origin, which browsers replace with "null" under no-referrer; it
# still sends nothing to any other site (api/dashboards/page.py).
DASHBOARD_REFERRER_POLICY = "same-origin"


def csp_directives(policy: str) -> dict[str, list[str]]:
    parts = [part.split() for part in policy.split(";") if part.strip()]
    return {part[0]: part[1:] for part in parts}


def assert_safe_html_headers(response: Any, *, personal: bool, referrer_policy: str = "no-referrer") -> None:
    headers = response.headers
    assert headers["X-Content-Type-Options"] == "nosniff"
    assert headers["Referrer-Policy"] == referrer_policy
    assert headers["X-Frame-Options"] == "DENY"
    policy = csp_directives(headers["Content-Security-Policy"])
    assert policy["frame-ancestors"] == ["'none'"]
    assert policy["default-src"] == ["'none'"]
    assert policy.get("base-uri") == ["'none'"]
    if personal:
        assert headers["Cache-Control"] == "no-store"


def fill(rule: Any) -> str:
    """The rule's path with made-up arguments (a well-formed token, a random id)."""
    path = rule.rule
    for argument in rule.arguments:
        value = "T" * 32 if argument == "token" else str(uuid.uuid4())
        path = re.sub(rf"<(?:[a-z]+:)?{argument}>", value, path)
    return path


def test_every_get_route_that_answers_html_is_one_we_know_and_sends_the_headers(app, client):
    html_endpoints = set()
    for rule in app.url_map.iter_rules():
        if "GET" not in rule.methods or rule.endpoint.endswith("static"):
            continue
        response = client.get(fill(rule))
        if response.mimetype == "text/html":
            html_endpoints.add(rule.endpoint)
            policy = DASHBOARD_REFERRER_POLICY if rule.endpoint.startswith("dashboard_page.") else "no-referrer"
            personal = rule.endpoint not in DOCS_ENDPOINTS | APP_ENDPOINTS
            assert_safe_html_headers(response, personal=personal, referrer_policy=policy)
    # A new HTML route must join this test's lists (and so be checked for what it needs).
    assert html_endpoints == PAGE_ENDPOINTS | DOCS_ENDPOINTS | APP_ENDPOINTS


def test_the_html_error_and_answer_pages_send_the_headers_too(app, client, db_session):
    coordinator = make_user(db_session, Role.COORDINATOR)
    db_session.commit()
    pages = {
        "check-in link unknown (404)": client.get("/c/" + "U" * 32),
        "check-in answers to an unknown link (404)": client.post("/c/" + "U" * 32, data=ANSWERS),
        "dashboard not signed in (401)": client.get(f"/dashboard/programmes/{uuid.uuid4()}"),
        "dashboard sign-in refused": page_sign_in(client, coordinator, password="wrong password"),
        "dashboard sign-in not from this site (403)": client.post(
            "/dashboard/sign-in", data={"email": coordinator.email, "password": PASSWORD}
        ),
    }
    for name, response in pages.items():
        assert response.mimetype == "text/html", name
        policy = DASHBOARD_REFERRER_POLICY if name.startswith("dashboard") else "no-referrer"
        assert_safe_html_headers(response, personal=True, referrer_policy=policy)
    # Too many failed look-ups get the "slow down" page, with the same headers.
    for _ in range(12):
        response = client.get("/c/" + "V" * 32)
    assert response.status_code == 429 and response.mimetype == "text/html"
    assert_safe_html_headers(response, personal=True)


# What each docs page may use besides this server: ReDoc's styled-components writes <style> elements and its search
# runs in a worker made from a blob (api/apidocs/page.py). Neither is another origin; neither page needs eval.
DOCS_EXTRA_SOURCES = {"/docs": set(), "/redoc": {"'unsafe-inline'", "blob:"}}


@pytest.mark.parametrize("path", ["/docs", "/redoc"])
def test_the_docs_pages_name_no_other_origin_and_run_no_inline_script(client, path):
    response = client.get(path)
    page = response.get_data(as_text=True)

    policy = csp_directives(response.headers["Content-Security-Policy"])
    sources = {source for sources in policy.values() for source in sources}
    # No host, no scheme that reaches one (https:), no wildcard: only this server, and data: images (icons).
    assert sources == {"'none'", "'self'", "data:"} | DOCS_EXTRA_SOURCES[path]
    assert policy["script-src"] == ["'self'"]
    assert policy["connect-src"] == ["'self'"]  # the OpenAPI document and "Try it out", on this server
    # Every script is a file from this server: no inline script, no inline event handler.
    assert re.findall(r"<script\b(?![^>]*\bsrc=)", page) == []
    assert not re.search(r"\son[a-z]+=", page)
    loaded = re.findall(r'<(?:script|link)\b[^>]*\b(?:src|href)="([^"]*)"', page)
    assert loaded and all(url.startswith("/docs/static/") or url == "data:," for url in loaded)


# --- Tokens stored only as hashes --------------------------------------------------------------------------------


def text_values(db_session: Session) -> Iterator[tuple[str, str, str]]:
    """(table, column, value as text) for every text-like column of every table."""
    for table in Base.metadata.sorted_tables:
        columns = [column for column in table.c if isinstance(column.type, String | Text | JSON)]
        if not columns:
            continue
        for row in db_session.execute(select(*columns)):
            for column, value in zip(columns, row, strict=True):
                if value is not None:
                    yield table.name, column.name, value if isinstance(value, str) else json.dumps(value)


def test_no_raw_token_is_stored_anywhere(client, db_session, session_factory, tmp_path: Path, clock):
    cohort = make_cohort(db_session, places=5)
    coordinator = make_user(db_session, Role.COORDINATOR, programme_id=cohort.programme_id)
    db_session.commit()
    tokens = client.post("/auth/sign-in", json={"email": coordinator.email, "password": PASSWORD}).json
    renewed = client.post("/auth/refresh", json={"refresh_token": tokens["refresh_token"]}).json
    headers = {"Authorization": f"Bearer {renewed['access_token']}"}
    child = client.post(
        "/children",
        json={
            "first_name": FIRST_NAME,
            "last_name": LAST_NAME,
            "date_of_birth": "2011-04-02",
            "district": DISTRICTS[0],
            "phone_numbers": [{"number": NATIONAL, "belongs_to": "child"}],
        },
        headers=headers,
    ).json
    consent = {"channel": "sms_to_child", "granted": True, "given_by": "child"}
    assert client.post(f"/children/{child['id']}/consents", json=consent, headers=headers).status_code == 201
    assert client.post(f"/children/{child['id']}/check-in-invitations", json={}, headers=headers).status_code == 201
    sent_file = tmp_path / "dev-sms.jsonl"
    settings = DispatchSettings(
        sender=RecordingSmsSender(sent_file, now=clock.now),
        secret_key=client.application.config["SECRET_KEY"],
        public_base_url="https://checkin.example.org",
        status_callback_url=None,
        quiet_hours={},
    )
    clock.advance(minutes=1)
    assert sms_dispatch.dispatch_due(session_factory, settings=settings, clock=clock.now) == 1
    (body,) = [json.loads(line)["body"] for line in sent_file.read_text().splitlines()]
    found_link = re.search(r"/c/([A-Za-z0-9_-]{32})", body)
    assert found_link is not None
    link_token = found_link.group(1)
    # The link works: the token is real, not something that merely looks like one.
    assert client.get(f"/c/{link_token}").status_code == 200

    raw = {
        "refresh token (used)": tokens["refresh_token"],
        "refresh token (current)": renewed["refresh_token"],
        "access token": renewed["access_token"],
        "check-in link token": link_token,
    }
    db_session.expire_all()
    stored = list(text_values(db_session))
    assert stored  # the search read something
    found = [
        (name, table, column) for table, column, value in stored for name, secret in raw.items() if secret in value
    ]
    assert found == []
    # What is kept instead: SHA-256 digests, by which a presented token is found.
    digests = {hashlib.sha256(secret.encode()).hexdigest() for secret in raw.values()}
    assert {value for _, column, value in stored if column == "token_hash"} & digests
