"""One error envelope for every failure, security headers on every answer, health probes and safe config."""

from __future__ import annotations

import uuid

import pytest
from sqlalchemy.exc import OperationalError

from api.accounts import auth_sessions
from api.actors import Role
from api.app import create_app
from api.config import MIN_SECRET_KEY_LENGTH
from tests.builders import PASSWORD, auth_headers, make_user
from tests.conftest import DEFAULT_NOW
from tests.conftest import test_config as app_config  # renamed so pytest does not collect it as a test

ENVELOPE_KEYS = {"code", "status", "message", "reason", "request_id"}


def assert_envelope(response, status, reason):
    assert response.status_code == status
    assert response.mimetype == "application/json"
    body = response.json
    assert ENVELOPE_KEYS <= set(body) <= ENVELOPE_KEYS | {"errors"}
    assert body["code"] == status
    # The request's id, as its header says and its log lines carry it (api/request_log.py).
    assert body["request_id"] == response.headers["X-Request-ID"] and len(body["request_id"]) == 32
    assert body["reason"] == reason
    assert isinstance(body["status"], str) and body["status"]
    assert isinstance(body["message"], str) and body["message"]
    return body


@pytest.fixture()
def throwaway_app(tmp_path):
    """An app of its own (not the shared test app), for tests that must add routes or change config."""
    apps = []

    def build(**overrides):
        app = create_app(app_config(f"sqlite:///{tmp_path / 'throwaway.sqlite3'}", **overrides))
        apps.append(app)
        return app

    yield build
    for app in apps:
        app.extensions["reachable.db"].dispose()


# --- the error envelope ---------------------------------------------------------------------------------


def test_an_unknown_json_field_is_a_422_naming_the_field(client, db_session):
    response = client.post(
        "/auth/sign-in", json={"email": "someone@example.org", "password": PASSWORD, "nickname": "Sam"}
    )

    body = assert_envelope(response, 422, "invalid_request")
    assert body["status"] == "Unprocessable Entity"
    assert body["message"] == "Some fields are missing or not valid."
    # Field errors are keyed by field, not nested under the request location ("json").
    assert body["errors"] == {"nickname": ["Unknown field."]}


def test_missing_fields_are_each_named_in_the_errors(client, db_session):
    response = client.post("/auth/sign-in", json={})

    body = assert_envelope(response, 422, "invalid_request")
    assert body["errors"] == {
        "email": ["Missing data for required field."],
        "password": ["Missing data for required field."],
    }


def test_a_json_body_that_is_not_an_object_is_a_422(client, db_session):
    response = client.post("/auth/sign-in", json=["someone@example.org", PASSWORD])

    body = assert_envelope(response, 422, "invalid_request")
    assert set(body["errors"]) == {"_schema"}


def test_an_invalid_query_parameter_is_a_422_naming_the_parameter(client, db_session):
    admin = make_user(db_session, Role.ADMIN)

    response = client.get("/users?role=wizard", headers=auth_headers(db_session, admin))

    body = assert_envelope(response, 422, "invalid_request")
    assert set(body["errors"]) == {"role"}


def test_malformed_json_is_a_400_in_the_envelope(client, db_session):
    response = client.post("/auth/sign-in", data='{"email": "someone@', content_type="application/json")

    body = assert_envelope(response, 400, "bad_request")
    assert body["status"] == "Bad Request"


def test_an_unknown_url_is_a_404_in_the_envelope(client, db_session):
    response = client.get("/no/such/place")

    body = assert_envelope(response, 404, "not_found")
    assert body["status"] == "Not Found"


def test_a_path_id_that_is_not_a_uuid_is_a_404_in_the_envelope(client, db_session):
    admin = make_user(db_session, Role.ADMIN)

    response = client.patch("/users/not-a-uuid", json={}, headers=auth_headers(db_session, admin))

    assert_envelope(response, 404, "not_found")


def test_a_wrong_method_is_a_405_in_the_envelope_that_says_which_methods_are_allowed(client, db_session):
    response = client.get("/auth/sign-in")

    body = assert_envelope(response, 405, "method_not_allowed")
    assert body["status"] == "Method Not Allowed"
    # RFC 9110, section 15.5.6: a 405 must list the methods the resource supports.
    assert {method.strip() for method in response.headers["Allow"].split(",")} >= {"POST"}
    assert "GET" not in {method.strip() for method in response.headers["Allow"].split(",")}


def test_a_body_over_one_mebibyte_is_a_413_in_the_envelope(client, db_session):
    oversized = b'{"email": "' + b"x" * (1024 * 1024) + b'"}'

    response = client.post("/auth/sign-in", data=oversized, content_type="application/json")

    body = assert_envelope(response, 413, "request_too_large")
    assert body["status"] == "Request Entity Too Large"


def test_a_body_just_under_the_limit_is_read_normally(client, db_session):
    padding = "x" * (1024 * 1024 - 100)
    body = f'{{"email": "someone@example.org", "password": "{padding}"}}'.encode()
    assert len(body) <= 1024 * 1024

    response = client.post("/auth/sign-in", data=body, content_type="application/json")

    # Read and validated (the password is too long for the contract), not refused for its size.
    assert_envelope(response, 422, "invalid_request")


def test_an_authentication_failure_is_a_401_in_the_envelope_with_a_bearer_challenge(client, db_session):
    response = client.get("/auth/me")

    body = assert_envelope(response, 401, "access_token_invalid")
    assert body["status"] == "Unauthorized"
    assert response.headers["WWW-Authenticate"] == 'Bearer realm="reachable"'


def test_a_role_refusal_is_a_403_in_the_envelope_without_a_bearer_challenge(client, db_session):
    mentor = make_user(db_session, Role.MENTOR)

    response = client.get("/users", headers=auth_headers(db_session, mentor))

    body = assert_envelope(response, 403, "forbidden")
    assert body["status"] == "Forbidden"
    assert "WWW-Authenticate" not in response.headers


def test_a_domain_conflict_is_a_409_in_the_envelope(client, db_session):
    admin = make_user(db_session, Role.ADMIN)
    existing = make_user(db_session, Role.MENTOR)

    response = client.post(
        "/users",
        json={"email": existing.email, "display_name": "Copy", "role": "admin", "password": PASSWORD},
        headers=auth_headers(db_session, admin),
    )

    body = assert_envelope(response, 409, "email_already_registered")
    assert body["status"] == "Conflict"
    assert body["message"] == "A user with this email address already exists."


def test_a_domain_rule_broken_on_a_field_is_a_422_with_its_own_reason_and_field_errors(client, db_session):
    admin = make_user(db_session, Role.ADMIN)

    response = client.post(
        "/users",
        json={"email": "short@example.org", "display_name": "Short", "role": "admin", "password": "short"},
        headers=auth_headers(db_session, admin),
    )

    body = assert_envelope(response, 422, "weak_password")
    assert body["status"] == "Unprocessable Entity"
    assert body["errors"] == {"password": ["Use at least 12 characters."]}


def test_an_unexpected_error_is_a_500_in_the_envelope_that_leaks_nothing(throwaway_app):
    app = throwaway_app(TESTING=False)

    def explode():
        raise RuntimeError("connection string postgresql://secret@db/children")

    app.add_url_rule("/explode", "explode", explode)

    response = app.test_client().get("/explode")

    body = assert_envelope(response, 500, "internal_error")
    assert body["message"] == "Something went wrong on our side. It has been logged."
    assert "secret" not in response.get_data(as_text=True)


def refuse_a_refresh_until_limited(client):
    response = None
    for _ in range(200):  # REFRESH_LIMIT_PER_ADDRESS: 60 a minute
        response = client.post("/auth/refresh", json={"refresh_token": "not-a-token"})
        if response.status_code == 429:
            break
    return response


# A JSON body over MAX_CONTENT_LENGTH (1 MiB).
TOO_LARGE = b"[" + b"0," * 600_000 + b"0]"
ERRORS_OF_EVERY_KIND = {
    "bad JSON (400)": (lambda client: client.post("/auth/sign-in", data="{", content_type="application/json"), 400),
    "no token (401)": (lambda client: client.get("/auth/me"), 401),
    "no route (404)": (lambda client: client.get("/nowhere/at/all"), 404),
    "wrong method (405)": (lambda client: client.put("/healthz"), 405),
    "too large (413)": (
        lambda client: client.post("/auth/sign-in", data=TOO_LARGE, content_type="application/json"),
        413,
    ),
    "invalid fields (422)": (lambda client: client.post("/auth/sign-in", json={}), 422),
    "rate limited by the limiter (429)": (refuse_a_refresh_until_limited, 429),
}


@pytest.mark.parametrize("kind", sorted(ERRORS_OF_EVERY_KIND))
def test_every_kind_of_error_names_the_request_id_its_header_carries(client, db_session, kind):
    make_request, status = ERRORS_OF_EVERY_KIND[kind]

    response = make_request(client)

    assert response.status_code == status
    assert response.json["request_id"] == response.headers["X-Request-ID"]
    assert response.json["code"] == status


@pytest.mark.parametrize(
    ("failure", "status"), [(RuntimeError("unexpected"), 500), (OperationalError("SELECT 1", {}, Exception()), 503)]
)
def test_an_unexpected_error_and_a_database_outage_name_the_request_id_too(throwaway_app, failure, status):
    app = throwaway_app(TESTING=False)

    def fail():
        raise failure

    app.add_url_rule("/fail", "fail", fail)

    response = app.test_client().get("/fail")

    assert response.status_code == status
    assert response.json["request_id"] == response.headers["X-Request-ID"]


# --- security headers -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("method", "path", "status"),
    [("get", "/healthz", 200), ("get", "/auth/me", 401), ("get", "/nowhere", 404), ("put", "/healthz", 405)],
)
def test_json_answers_carry_security_headers_and_are_never_cached(client, db_session, method, path, status):
    response = getattr(client, method)(path)

    assert response.status_code == status
    assert response.mimetype == "application/json"
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert response.headers["Cache-Control"] == "no-store"
    assert response.headers["X-Frame-Options"] == "DENY"
    assert response.headers["Referrer-Policy"] == "no-referrer"
    assert response.headers["Content-Security-Policy"] == "default-src 'none'; frame-ancestors 'none'"


def test_an_answer_holding_personal_data_is_never_cached(client, db_session):
    mentor = make_user(db_session, Role.MENTOR)

    response = client.get("/auth/me", headers=auth_headers(db_session, mentor))

    assert response.status_code == 200
    assert response.headers["Cache-Control"] == "no-store"
    assert response.headers["X-Content-Type-Options"] == "nosniff"


def test_the_openapi_document_is_served_without_the_no_store_rule(client, db_session):
    response = client.get("/openapi.json")

    assert response.status_code == 200
    assert response.json["info"]["title"] == "Reachable"
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert "Cache-Control" not in response.headers


# --- health probes --------------------------------------------------------------------------------------


def test_healthz_says_the_process_is_up(client):
    response = client.get("/healthz")

    assert response.status_code == 200
    assert response.json == {"status": "ok"}


def test_readyz_says_ready_when_the_database_answers_and_is_migrated_to_head(session_app):
    # The shared app outside any test transaction: on SQLite an open test transaction holds the write lock.
    response = session_app.test_client().get("/readyz")

    assert response.status_code == 200
    assert {key: response.json[key] for key in ("ready", "database", "migrations")} == {
        "ready": True, "database": "ok", "migrations": "at head",
    }  # fmt: skip
    # No scheduler has run against this database: said as a detail, and the web tier is ready all the same.
    assert response.json["scheduler"]["healthy"] is False
    assert {job["state"] for job in response.json["scheduler"]["jobs"]} == {"never_ran"}


def test_readyz_says_not_ready_when_the_database_has_not_been_migrated(throwaway_app):
    app = throwaway_app()

    response = app.test_client().get("/readyz")

    assert response.status_code == 503
    assert response.json["ready"] is False
    assert response.json["database"] == "ok"
    assert response.json["migrations"].startswith("at nothing, head is ")


def test_readyz_says_not_ready_when_the_database_cannot_be_reached(tmp_path):
    app = create_app(app_config("postgresql+psycopg://nobody@127.0.0.1:1/nowhere?connect_timeout=2"))
    try:
        response = app.test_client().get("/readyz")
    finally:
        app.extensions["reachable.db"].dispose()

    assert response.status_code == 503
    assert response.json == {"ready": False, "database": "unreachable", "migrations": "unknown", "scheduler": None}


def test_the_health_probes_need_no_sign_in(client):
    assert client.get("/healthz", headers={"Authorization": "Bearer garbage"}).status_code == 200


# --- configuration --------------------------------------------------------------------------------------


@pytest.mark.parametrize("secret_key", [None, "", "too-short", "x" * (MIN_SECRET_KEY_LENGTH - 1)])
def test_the_app_refuses_to_start_with_a_secret_key_shorter_than_32_characters(tmp_path, secret_key):
    config = app_config(f"sqlite:///{tmp_path / 'unused.sqlite3'}", SECRET_KEY=secret_key)

    with pytest.raises(RuntimeError, match="SECRET_KEY"):
        create_app(config)


def test_the_app_starts_with_a_secret_key_of_32_characters(throwaway_app):
    app = throwaway_app(SECRET_KEY="k" * MIN_SECRET_KEY_LENGTH)

    assert app.config["SECRET_KEY"] == "k" * 32
    assert MIN_SECRET_KEY_LENGTH == 32


def test_the_default_limits_are_the_documented_ones(throwaway_app):
    app = throwaway_app()

    assert app.config["ACCESS_TOKEN_MINUTES"] == 15
    assert app.config["REFRESH_TOKEN_DAYS"] == 30
    assert app.config["MAX_CONTENT_LENGTH"] == 1024 * 1024


def test_a_token_signed_by_an_app_with_another_secret_key_is_refused(client, db_session, throwaway_app):
    mentor = make_user(db_session, Role.MENTOR)
    other_app = throwaway_app(SECRET_KEY="another-deployment-" + "z" * 32)
    with other_app.app_context():
        tokens = auth_sessions.start_auth_session(
            db_session,
            user=mentor,
            settings=auth_sessions.TokenSettings.from_config(other_app.config),
            now=DEFAULT_NOW,
            second_factor=False,
        )

    response = client.get("/auth/me", headers={"Authorization": f"Bearer {tokens.access_token}"})

    assert_envelope(response, 401, "access_token_invalid")


def test_an_unknown_user_id_in_a_path_is_not_found_not_an_error(client, db_session):
    admin = make_user(db_session, Role.ADMIN)

    response = client.post(f"/users/{uuid.uuid4()}/revoke-sign-ins", headers=auth_headers(db_session, admin))

    assert_envelope(response, 404, "user_not_found")


def test_the_app_refuses_to_start_with_a_public_address_too_long_for_a_one_segment_check_in_sms(tmp_path):
    too_long = "https://reachable-check-ins.north-kent-and-medway.example.org/mentoring/links/x"
    config = app_config(f"sqlite:///{tmp_path / 'unused.sqlite3'}", PUBLIC_BASE_URL=too_long)

    with pytest.raises(RuntimeError, match=r"REACHABLE_PUBLIC_BASE_URL .* too long"):
        create_app(config)
