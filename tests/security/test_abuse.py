"""Abuse (issue 7): rate limits that hold across processes, account lock-out with a safe way out, request size
limits, and check-in links that never say why they do not work.

- Rate limits: sign-in per client address and per email tried (the API and the dashboard page share them), token
  refresh per address, and sending a child a check-in link by SMS per signed-in user. A broken limit is 429 in
  the error envelope (reason rate_limited) with Retry-After, and the message says when to try again.
- The limits live in a shared store in production (Redis): two app instances (two limiters, as two processes
  would have) count against one limit there, and would not with the per-process memory store.
- Lock-out: five wrong passwords in a row from one client address lock that address out of the account for
  fifteen minutes (the tests here make every attempt from one address; tests/security/test_lockout.py shows that
  no one else is locked out). A locked-out address is answered exactly as a wrong password is, after the same
  password-hash check. The lock ends by itself, an admin can lift it at once, both are audited, and parallel
  wrong guesses from one address are all counted (one atomic INSERT ... ON CONFLICT DO UPDATE).
- Request bodies over MAX_CONTENT_LENGTH are 413 in the envelope, however they are sent.
- Check-in links: unknown, malformed, expired, used, withdrawn and guessed links get byte-identical answers.

Redis comes from REACHABLE_TEST_REDIS_URL (default redis://127.0.0.1:6379/15). If it cannot be reached the
shared-store test is skipped with a loud reason, unless REACHABLE_TEST_REQUIRE_REDIS=1 (as in CI), which makes
that a failure instead.
"""

from __future__ import annotations

import io
import os
import threading
import uuid
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from datetime import timedelta
from typing import Any

import pytest
import redis
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session
from werkzeug.test import TestResponse

from api.accounts import signing_in
from api.accounts.errors import InvalidCredentials
from api.accounts.models import AppUser, SignInSource
from api.accounts.rules import (
    LockoutPolicy,
    failures_after_one_more,
    is_locked,
    lock_ended,
    lock_ends_at,
    locks_now,
)
from api.actors import Role, client_network
from api.app import create_app
from api.audit.models import AuditEvent
from api.db import Database
from api.outbox.models import OutboundMessage
from api.programmes.models import Programme
from api.wellbeing import links
from api.wellbeing import queries as wellbeing_queries
from tests.api.check_in_family import ANSWERS, Family, links_that_do_not_work, make_family
from tests.api.dashboard_page_sign_in import SAME_SITE, sign_in_token
from tests.builders import PASSWORD, TOKEN_SETTINGS, auth_headers
from tests.conftest import DEFAULT_NOW, SECRET_KEY
from tests.conftest import test_config as config_for
from tests.security.sign_in_attempts import TIGHT_LIMITS, WRONG, assert_rate_limited, make_user, sign_in

REDIS_URL = os.environ.get("REACHABLE_TEST_REDIS_URL", "redis://127.0.0.1:6379/15")
REQUIRE_REDIS = os.environ.get("REACHABLE_TEST_REQUIRE_REDIS") == "1"
# Headers that differ from one request to the next whatever was asked: the rate-limit counters and the time.
PER_REQUEST_HEADERS = {"date", "x-ratelimit-remaining", "x-ratelimit-reset", "retry-after", "x-request-id"}

# Every test here verifies passwords with a cheap hasher unless it asks for real_password_hashing
# (tests/security/conftest.py).
pytestmark = pytest.mark.usefixtures("cheap_password_hashing")


def page_sign_in(client: FlaskClient, email: str, password: str = PASSWORD) -> TestResponse:
    """The dashboard page's sign-in form, sent as a browser sends it: from this site, with the form's token."""
    data = {"email": email, "password": password, "form_token": sign_in_token(client)}
    return client.post("/dashboard/sign-in", data=data, headers=SAME_SITE)


def same_but_the_request_id(response: TestResponse) -> bytes:
    """The body, with the request id every error answer names (its own, so never alike) taken out."""
    if response.mimetype != "application/json":
        return response.get_data()
    request_id = response.headers["X-Request-ID"]
    return response.get_data().replace(request_id.encode(), b"")


def stable_headers(response: TestResponse) -> list[tuple[str, str]]:
    return sorted((name.lower(), value) for name, value in response.headers if name.lower() not in PER_REQUEST_HEADERS)


@pytest.fixture()
def family(db_session: Session) -> Family:
    """A child with a mobile, SMS consent and a mentor, as in the check-in page's tests."""
    return make_family(db_session)


# --- The lock-out rules (pure) ---------------------------------------------------------------------------------


class TestLockoutRules:
    policy = LockoutPolicy(threshold=5, minutes=15)

    def test_the_defaults_are_five_wrong_passwords_and_fifteen_minutes(self):
        assert (LockoutPolicy().threshold, LockoutPolicy().minutes) == (5, 15)

    @pytest.mark.parametrize(("threshold", "minutes"), [(0, 15), (5, 0), (-1, 15)])
    def test_a_policy_needs_at_least_one_failure_and_one_minute(self, threshold, minutes):
        with pytest.raises(ValueError):
            LockoutPolicy(threshold=threshold, minutes=minutes)

    def test_exactly_the_failure_that_reaches_the_threshold_locks(self):
        assert [locks_now(failures, self.policy) for failures in range(1, 9)] == [
            False,
            False,
            False,
            False,
            True,
            False,
            False,
            False,
        ]

    def test_a_lock_lasts_the_policy_s_minutes(self):
        assert lock_ends_at(DEFAULT_NOW, self.policy) == DEFAULT_NOW + timedelta(minutes=15)

    def test_an_account_is_locked_until_the_lock_ends_and_not_a_moment_longer(self):
        ends = DEFAULT_NOW + timedelta(minutes=15)
        assert not is_locked(None, now=DEFAULT_NOW)
        assert is_locked(ends, now=DEFAULT_NOW)
        assert is_locked(ends, now=ends - timedelta(microseconds=1))
        assert not is_locked(ends, now=ends)
        assert lock_ended(ends, now=ends) and not lock_ended(ends, now=DEFAULT_NOW) and not lock_ended(None, now=ends)

    def test_failures_count_up_and_start_again_after_a_lock_has_ended(self):
        ends = DEFAULT_NOW + timedelta(minutes=15)
        assert failures_after_one_more(0, None, now=DEFAULT_NOW) == 1
        assert failures_after_one_more(3, None, now=DEFAULT_NOW) == 4
        assert failures_after_one_more(5, ends, now=ends) == 1
        assert failures_after_one_more(5, ends, now=ends + timedelta(days=1)) == 1


class TestClientNetworks:
    """What per-address limits count a client by (api.actors.client_network)."""

    @pytest.mark.parametrize(
        ("address", "network"),
        [
            ("192.0.2.7", "192.0.2.7"),
            (" 192.0.2.7 ", "192.0.2.7"),
            ("::ffff:192.0.2.7", "192.0.2.7"),
            ("2001:db8:1:2::1", "2001:db8:1:2::/64"),
            ("2001:DB8:1:2:aaaa:bbbb:cccc:dddd", "2001:db8:1:2::/64"),
            ("::1", "::/64"),
            ("not an address", "not an address"),
            ("", ""),
        ],
    )
    def test_ipv4_counts_by_address_and_ipv6_by_its_64(self, address, network):
        assert client_network(address) == network


# --- Lock-out over HTTP -------------------------------------------------------------------------------------


def lock(client: FlaskClient, user: AppUser) -> None:
    for _ in range(5):
        assert sign_in(client, user.email, WRONG).status_code == 401


def new_minute_for_the_rate_limits(app: Flask) -> None:
    """The rate limits count by the wall clock, not the test's: start them afresh where a test needs more
    sign-in attempts than one email address is allowed in a minute (SIGN_IN_LIMIT_PER_EMAIL)."""
    app.extensions["reachable.limiter"].reset()


def test_five_wrong_passwords_lock_the_account_even_against_the_right_password(app, client, db_session):
    mentor = make_user(db_session, Role.MENTOR)

    for _ in range(4):
        assert sign_in(client, mentor.email, WRONG).status_code == 401
    assert sign_in(client, mentor.email).status_code == 200  # four are not enough, and success clears them
    new_minute_for_the_rate_limits(app)
    lock(client, mentor)

    refused = sign_in(client, mentor.email)

    assert refused.status_code == 401
    assert refused.json["reason"] == "invalid_credentials"


def test_a_locked_account_is_answered_exactly_as_a_wrong_password_and_an_unknown_email(client, db_session):
    mentor, colleague = make_user(db_session, Role.MENTOR), make_user(db_session, Role.MENTOR)
    lock(client, mentor)

    answers = {
        "locked, right password": sign_in(client, mentor.email),
        "locked, wrong password": sign_in(client, mentor.email, WRONG),
        "wrong password": sign_in(client, colleague.email, WRONG),
        "unknown email": sign_in(client, "nobody-at-all@example.org"),
    }

    assert {kind: answer.status_code for kind, answer in answers.items()} == dict.fromkeys(answers, 401)
    assert len({same_but_the_request_id(answer) for answer in answers.values()}) == 1
    assert len({tuple(stable_headers(answer)) for answer in answers.values()}) == 1
    message = answers["wrong password"].json["message"]
    assert "lock an account for a while" in message and "an admin can unlock it" in message


class CountingHasher:
    """The real password hasher, counting the verifications (the slow, deliberate work of a sign-in)."""

    def __init__(self, real: Any) -> None:
        self.real, self.verified = real, 0

    def verify(self, password_hash: str, password: str) -> bool:
        self.verified += 1
        return bool(self.real.verify(password_hash, password))

    def check_needs_rehash(self, password_hash: str) -> bool:
        return bool(self.real.check_needs_rehash(password_hash))


def test_a_locked_account_still_costs_the_full_password_check_so_timing_does_not_reveal_the_lock(
    client, db_session, monkeypatch
):
    mentor = make_user(db_session, Role.MENTOR)
    lock(client, mentor)
    hasher = CountingHasher(signing_in._password_hasher)
    monkeypatch.setattr(signing_in, "_password_hasher", hasher)

    sign_in(client, mentor.email)
    sign_in(client, mentor.email, WRONG)

    assert hasher.verified == 2


def test_the_lock_ends_by_itself_after_fifteen_minutes(client, db_session, clock):
    mentor = make_user(db_session, Role.MENTOR)
    lock(client, mentor)

    clock.advance(minutes=15, seconds=-1)
    assert sign_in(client, mentor.email).status_code == 401
    clock.advance(seconds=1)
    assert sign_in(client, mentor.email).status_code == 200


def test_trying_again_while_locked_neither_counts_nor_makes_the_lock_longer(client, db_session, clock):
    mentor = make_user(db_session, Role.MENTOR)
    lock(client, mentor)
    for _ in range(3):
        clock.advance(minutes=4)
        assert sign_in(client, mentor.email, WRONG).status_code == 401

    clock.advance(minutes=3)  # fifteen minutes after the fifth wrong password

    assert sign_in(client, mentor.email).status_code == 200


def test_after_a_lock_ends_the_count_starts_again(app, client, db_session, clock):
    mentor = make_user(db_session, Role.MENTOR)
    lock(client, mentor)
    clock.advance(minutes=15)

    for _ in range(4):
        assert sign_in(client, mentor.email, WRONG).status_code == 401
    assert sign_in(client, mentor.email).status_code == 200

    new_minute_for_the_rate_limits(app)
    lock(client, mentor)  # and five more lock it again
    assert sign_in(client, mentor.email).status_code == 401


def test_the_lock_out_follows_its_settings(app, db_session, clock):
    app.config.update(SIGN_IN_LOCKOUT_FAILURES=2, SIGN_IN_LOCKOUT_MINUTES=1)
    try:
        client = app.test_client()
        mentor = make_user(db_session, Role.MENTOR)
        for _ in range(2):
            sign_in(client, mentor.email, WRONG)
        assert sign_in(client, mentor.email).status_code == 401
        clock.advance(minutes=1)
        assert sign_in(client, mentor.email).status_code == 200
    finally:
        app.config.update(SIGN_IN_LOCKOUT_FAILURES=5, SIGN_IN_LOCKOUT_MINUTES=15)


def test_the_dashboard_page_s_sign_in_counts_towards_the_same_lock(client, db_session):
    commissioner = make_user(db_session, Role.COMMISSIONER)
    for _ in range(5):
        page = page_sign_in(client, commissioner.email, WRONG)
        assert page.status_code == 401

    assert sign_in(client, commissioner.email).status_code == 401
    page = page_sign_in(client, commissioner.email)
    assert page.status_code == 401
    assert "an admin can unlock it" in page.get_data(as_text=True)


def test_an_admin_unlocks_an_account_at_once_and_both_the_lock_and_the_unlock_are_audited(client, db_session):
    admin, mentor = make_user(db_session, Role.ADMIN), make_user(db_session, Role.MENTOR)
    lock(client, mentor)
    listed = client.get("/users", headers=auth_headers(db_session, admin)).json
    assert (
        next(user for user in listed if user["id"] == str(mentor.id))["locked_until"]
        == (DEFAULT_NOW + timedelta(minutes=15)).isoformat()
    )

    unlocked = client.post(f"/users/{mentor.id}/unlock", headers=auth_headers(db_session, admin))

    assert unlocked.status_code == 200
    assert unlocked.json["id"] == str(mentor.id) and unlocked.json["locked_until"] is None
    assert sign_in(client, mentor.email).status_code == 200
    events = db_session.scalars(
        select(AuditEvent).where(AuditEvent.record_id == mentor.id).order_by(AuditEvent.occurred_at, AuditEvent.action)
    ).all()
    assert [(event.action, event.record_type, event.actor_user_id, event.child_id) for event in events] == [
        ("app_user.lock", "app_user", None, None),
        ("app_user.unlock", "app_user", admin.id, None),
    ]


def test_an_unlock_clears_the_count_of_wrong_passwords_too(client, db_session):
    admin, mentor = make_user(db_session, Role.ADMIN), make_user(db_session, Role.MENTOR)
    for _ in range(4):
        sign_in(client, mentor.email, WRONG)

    assert client.post(f"/users/{mentor.id}/unlock", headers=auth_headers(db_session, admin)).status_code == 200

    for _ in range(4):
        sign_in(client, mentor.email, WRONG)
    assert sign_in(client, mentor.email).status_code == 200


@pytest.mark.parametrize("role", [Role.COORDINATOR, Role.MENTOR, Role.COMMISSIONER])
def test_only_an_admin_can_unlock(client, db_session, role):
    mentor = make_user(db_session, Role.MENTOR)
    caller = make_user(db_session, role, programme=db_session.get_one(Programme, mentor.programme_id))
    lock(client, mentor)

    response = client.post(f"/users/{mentor.id}/unlock", headers=auth_headers(db_session, caller))

    assert response.status_code == 403
    assert sign_in(client, mentor.email).status_code == 401


def test_unlocking_an_unknown_user_is_not_found(client, db_session):
    admin = make_user(db_session, Role.ADMIN)

    response = client.post(f"/users/{uuid.uuid4()}/unlock", headers=auth_headers(db_session, admin))

    assert response.status_code == 404
    assert response.json["reason"] == "user_not_found"


def test_a_locked_users_existing_sign_ins_keep_working(client, db_session):
    """The lock is about guessing the password: a device that already proved it keeps going (otherwise anyone
    could sign every user out by typing wrong passwords). A stolen device is cut off with revoke-sign-ins."""
    mentor = make_user(db_session, Role.MENTOR)
    tokens = sign_in(client, mentor.email).json
    lock(client, mentor)

    assert client.get("/auth/me", headers={"Authorization": f"Bearer {tokens['access_token']}"}).status_code == 200
    refreshed = client.post("/auth/refresh", json={"refresh_token": tokens["refresh_token"]})
    assert refreshed.status_code == 200


# --- Lock-out under concurrency (real commits, threads) -----------------------------------------------------

GUESSERS = 8
GUESSER_ADDRESS = "198.51.100.20"


def guess_in_parallel(database: Database, email: str, lockout: LockoutPolicy) -> list[str]:
    """GUESSERS wrong passwords at once from one address, each on its own connection, released together by a
    barrier."""
    barrier = threading.Barrier(GUESSERS)
    guards = signing_in.SignInGuards(client_address=GUESSER_ADDRESS, lockout=lockout)

    def guess() -> str:
        with database.session() as db_session:
            barrier.wait(timeout=30)
            try:
                signing_in.sign_in(
                    db_session, email=email, password=WRONG, settings=TOKEN_SETTINGS, now=DEFAULT_NOW, guards=guards
                )
            except InvalidCredentials:
                return "refused"
            return "signed in"

    with ThreadPoolExecutor(max_workers=GUESSERS) as pool:
        return list(pool.map(lambda _: guess(), range(GUESSERS)))


def guesses_counted(db_session: Session, email: str, address: str = GUESSER_ADDRESS) -> SignInSource:
    email_key, client_key = signing_in.sign_in_source_keys(SECRET_KEY, email=email, client_address=address)
    return db_session.scalars(
        select(SignInSource).where(SignInSource.email_key == email_key, SignInSource.client_key == client_key)
    ).one()


@pytest.fixture()
def committed_database(committed_database_url: str) -> Iterator[Database]:
    database = Database(committed_database_url)
    yield database
    database.dispose()


@pytest.mark.parametrize("account", ["an account", "no account"])
def test_parallel_wrong_passwords_from_one_address_are_each_counted(committed_database, real_password_hashing, account):
    with committed_database.session() as db_session:
        email = make_user(db_session, Role.MENTOR).email if account == "an account" else "nobody@example.org"

    outcomes = guess_in_parallel(committed_database, email, LockoutPolicy(threshold=1000))

    assert outcomes == ["refused"] * GUESSERS
    with committed_database.session() as db_session:
        assert guesses_counted(db_session, email).failed_sign_ins == GUESSERS


def test_parallel_wrong_passwords_from_one_address_lock_it_out_once(committed_database, real_password_hashing):
    with committed_database.session() as db_session:
        user = make_user(db_session, Role.MENTOR)
        email, user_id = user.email, user.id

    guess_in_parallel(committed_database, email, LockoutPolicy(threshold=5, minutes=15))

    with committed_database.session() as db_session:
        assert guesses_counted(db_session, email).locked_until == DEFAULT_NOW + timedelta(minutes=15)
        locks = db_session.scalar(
            select(func.count()).where(AuditEvent.record_id == user_id, AuditEvent.action == "app_user.lock")
        )
        assert locks == 1


# --- Rate limits ----------------------------------------------------------------------------------------------


def test_sign_in_is_limited_per_email_tried_from_any_address(tight_client, db_session):
    mentor = make_user(db_session, Role.MENTOR)
    for n in range(3):
        assert sign_in(tight_client, mentor.email, WRONG, address=f"192.0.2.{n + 1}").status_code == 401

    limited = sign_in(tight_client, mentor.email, address="192.0.2.99")

    assert_rate_limited(limited)
    # The email address is the key, however it is written; another one from the same address is not limited.
    assert sign_in(tight_client, mentor.email.upper(), address="192.0.2.98").status_code == 429
    assert sign_in(tight_client, "someone-else@example.org", address="192.0.2.99").status_code == 401


def test_sign_in_is_limited_per_client_address_across_emails(tight_client, db_session):
    mentor = make_user(db_session, Role.MENTOR)
    for n in range(3):
        assert sign_in(tight_client, f"guess-{n}@example.org", WRONG, address="198.51.100.7").status_code == 401

    assert_rate_limited(sign_in(tight_client, mentor.email, address="198.51.100.7"))
    assert sign_in(tight_client, mentor.email, address="198.51.100.8").status_code == 200


def test_an_admin_unlock_also_lifts_the_per_email_limit_but_not_the_guessers_address_limit(tight_client, db_session):
    admin, mentor = make_user(db_session, Role.ADMIN), make_user(db_session, Role.MENTOR)
    for _ in range(3):  # an attacker uses up both the email's budget and their address's
        assert sign_in(tight_client, mentor.email, WRONG, address="203.0.113.9").status_code == 401
    assert_rate_limited(sign_in(tight_client, mentor.email, address="192.0.2.50"))

    unlocked = tight_client.post(f"/users/{mentor.id}/unlock", headers=auth_headers(db_session, admin))

    assert unlocked.status_code == 200
    assert sign_in(tight_client, mentor.email, address="192.0.2.50").status_code == 200
    assert_rate_limited(sign_in(tight_client, "someone-else@example.org", WRONG, address="203.0.113.9"))


def test_the_dashboard_page_and_the_api_share_the_sign_in_limits(tight_client, db_session):
    commissioner = make_user(db_session, Role.COMMISSIONER)
    for _ in range(2):
        assert page_sign_in(tight_client, commissioner.email, WRONG).status_code == 401
    assert sign_in(tight_client, commissioner.email, WRONG).status_code == 401

    assert_rate_limited(sign_in(tight_client, commissioner.email))
    page = page_sign_in(tight_client, commissioner.email)
    assert page.status_code == 429
    assert page.mimetype == "text/html" and int(page.headers["Retry-After"]) >= 1
    assert f"Too many sign-in attempts. Try again in {page.headers['Retry-After']} seconds." in page.get_data(
        as_text=True
    )


def test_token_refresh_is_limited_per_client_address(tight_client, db_session):
    for _ in range(2):
        assert tight_client.post("/auth/refresh", json={"refresh_token": "not-a-token"}).status_code == 401

    assert_rate_limited(tight_client.post("/auth/refresh", json={"refresh_token": "not-a-token"}))
    other = tight_client.post(
        "/auth/refresh", json={"refresh_token": "not-a-token"}, environ_overrides={"REMOTE_ADDR": "192.0.2.5"}
    )
    assert other.status_code == 401


def queued_messages(db_session: Session) -> int:
    return db_session.scalar(select(func.count()).select_from(OutboundMessage)) or 0


def invite(client: FlaskClient, headers: dict[str, str], child_id: Any, *, address: str = "127.0.0.1") -> TestResponse:
    return client.post(
        f"/children/{child_id}/check-in-invitations",
        json={"instruments": ["ons4"]},
        headers=headers,
        environ_overrides={"REMOTE_ADDR": address},
    )


def test_sending_check_in_links_by_sms_is_limited_per_user_not_per_address(tight_client, db_session, family: Family):
    mentor = auth_headers(db_session, family.mentor)
    for address in ("192.0.2.1", "198.51.100.1"):
        assert invite(tight_client, mentor, family.child.id, address=address).status_code == 201
    queued = queued_messages(db_session)

    limited = invite(tight_client, mentor, family.child.id, address="203.0.113.1")

    assert_rate_limited(limited)
    assert queued_messages(db_session) == queued  # nothing more was sent
    # Another user (the coordinator) still can, from the mentor's own address.
    coordinator = auth_headers(db_session, family.coordinator)
    assert invite(tight_client, coordinator, family.child.id, address="203.0.113.1").status_code == 201


def test_requests_that_send_nothing_do_not_use_up_the_sms_limit(tight_client, db_session, family: Family):
    mentor = auth_headers(db_session, family.mentor)
    for _ in range(3):
        assert invite(tight_client, mentor, uuid.uuid4()).status_code == 404
        assert invite(tight_client, {"Authorization": "Bearer forged"}, family.child.id).status_code == 401

    assert [invite(tight_client, mentor, family.child.id).status_code for _ in range(2)] == [201, 201]
    assert invite(tight_client, mentor, family.child.id).status_code == 429


SENDERS = 6


def test_parallel_requests_cannot_send_more_sms_than_the_limit(
    backend, committed_database_url, committed_db_session, clock, monkeypatch
):
    """Six requests from one mentor, each held until all six are past every check but the limit (a barrier in the
    look-up of the child's mobile), then released together: exactly the limit's two are sent. When the limit was
    tested before the view and counted after its answer, all six passed the test and six were sent."""
    if backend == "sqlite":
        pytest.skip("SQLite serialises writers (BEGIN IMMEDIATE): the requests cannot be in flight together")
    family = make_family(committed_db_session)
    mentor = auth_headers(committed_db_session, family.mentor)
    app = create_app(config_for(committed_database_url, CLOCK=clock, **TIGHT_LIMITS))
    barrier = threading.Barrier(SENDERS)
    real_child_mobile = wellbeing_queries.child_mobile_for_links

    def child_mobile_once_all_are_here(*args: Any, **kwargs: Any) -> Any:
        barrier.wait(timeout=30)
        return real_child_mobile(*args, **kwargs)

    monkeypatch.setattr(wellbeing_queries, "child_mobile_for_links", child_mobile_once_all_are_here)
    try:
        with ThreadPoolExecutor(max_workers=SENDERS) as pool:
            answers = list(pool.map(lambda _: invite(app.test_client(), mentor, family.child.id), range(SENDERS)))
    finally:
        app.extensions["reachable.db"].dispose()

    assert sorted(answer.status_code for answer in answers) == [201, 201] + [429] * (SENDERS - 2)
    for refused in (answer for answer in answers if answer.status_code == 429):
        assert_rate_limited(refused)
    committed_db_session.expire_all()
    assert queued_messages(committed_db_session) == 2


def test_the_default_limits_are_in_force_on_a_plain_app(client, db_session):
    """The session app runs the shipped defaults: ten sign-in attempts a minute per email address."""
    mentor = make_user(db_session, Role.MENTOR)
    statuses = [sign_in(client, mentor.email, WRONG, address=f"192.0.2.{n}").status_code for n in range(1, 11)]

    assert statuses == [401] * 10
    assert_rate_limited(sign_in(client, mentor.email, address="192.0.2.200"))


def test_a_rate_limit_setting_that_is_not_a_limit_stops_the_app_at_start_up(tmp_path):
    with pytest.raises(RuntimeError, match="REACHABLE_SIGN_IN_LIMIT_PER_EMAIL is not a rate limit"):
        create_app(config_for(f"sqlite:///{tmp_path / 'unused.sqlite3'}", SIGN_IN_LIMIT_PER_EMAIL="lots"))


def test_every_rate_limited_operation_documents_its_429_with_retry_after(client):
    spec = client.get("/openapi.json").json
    for path, method in [
        ("/auth/sign-in", "post"),
        ("/auth/refresh", "post"),
        ("/children/{child_id}/check-in-invitations", "post"),
    ]:
        documented = spec["paths"][path][method]["responses"]["429"]
        assert "Retry-After" in documented["headers"], path
        assert documented["content"]["application/json"]["schema"] == {"$ref": "#/components/schemas/Error"}


# --- Shared storage: the limits hold across processes -----------------------------------------------------


@pytest.fixture()
def redis_key_prefix() -> Iterator[str]:
    """A key prefix of this test's own in the test Redis, its keys removed afterwards."""
    client = redis.Redis.from_url(REDIS_URL, socket_connect_timeout=3)
    try:
        client.ping()
    except redis.RedisError as error:
        reason = f"Redis at {REDIS_URL} is unreachable: {error}"
        client.close()
        if REQUIRE_REDIS:
            pytest.fail(f"{reason} (REACHABLE_TEST_REQUIRE_REDIS=1)", pytrace=False)
        pytest.skip(f"SKIPPING THE SHARED RATE-LIMIT STORE TEST: {reason}")
    prefix = f"reachable-test-{uuid.uuid4().hex}"
    yield prefix
    for key in client.scan_iter(match=f"*{prefix}*"):
        client.delete(key)
    client.close()


@contextmanager
def two_processes(database_url: str, **settings: Any) -> Iterator[tuple[FlaskClient, FlaskClient]]:
    """Two app instances, each with its own limiter, as two server processes would have."""
    apps = [create_app(config_for(database_url, SIGN_IN_LIMIT_PER_ADDRESS="3 per minute", **settings)) for _ in "ab"]
    try:
        assert apps[0].extensions["reachable.limiter"] is not apps[1].extensions["reachable.limiter"]
        yield apps[0].test_client(), apps[1].test_client()
    finally:
        for app in apps:
            app.extensions["reachable.db"].dispose()


def attempts_across(first: FlaskClient, second: FlaskClient) -> list[int]:
    """Four sign-in attempts from one address, alternating between the processes (each a different email)."""
    clients = [first, second, first, second]
    return [sign_in(client, f"guess-{n}@example.org", WRONG).status_code for n, client in enumerate(clients)]


def test_with_a_shared_redis_store_the_limit_holds_across_processes(database_url, redis_key_prefix):
    settings = {"RATELIMIT_STORAGE_URI": REDIS_URL, "RATELIMIT_KEY_PREFIX": redis_key_prefix}
    with two_processes(database_url, **settings) as (first, second):
        assert attempts_across(first, second) == [401, 401, 401, 429]
        assert_rate_limited(sign_in(first, "guess-5@example.org", WRONG))


def test_with_the_per_process_memory_store_the_same_attempts_are_not_limited(database_url):
    """The control: what the shared store prevents. Each process counts only its own two attempts."""
    with two_processes(database_url, RATELIMIT_STORAGE_URI="memory://") as (first, second):
        assert attempts_across(first, second) == [401, 401, 401, 401]


# --- Request size ---------------------------------------------------------------------------------------------


def test_a_body_over_the_limit_sent_without_a_length_is_refused_with_413_in_the_envelope(client):
    """Chunked uploads (no Content-Length; the server marks the input terminated) are cut off at the limit too."""
    oversized = b'{"email": "' + b"x" * (1024 * 1024) + b'@example.org", "password": "x"}'

    response = client.post(
        "/auth/sign-in",
        input_stream=io.BytesIO(oversized),
        content_type="application/json",
        environ_overrides={"wsgi.input_terminated": True},
    )

    assert response.status_code == 413
    assert response.json["reason"] == "request_too_large"
    assert response.json["message"] == "The request body is too large: at most 1048576 bytes are accepted."


def test_the_body_limit_follows_its_setting(tight_app, db_session):
    tight_app.config["MAX_CONTENT_LENGTH"] = 2048
    try:
        client = tight_app.test_client()
        small = client.post("/auth/sign-in", json={"email": "a@example.org", "password": "x" * 100})
        large = client.post("/auth/sign-in", json={"email": "a@example.org", "password": "x" * 4096})
    finally:
        tight_app.config["MAX_CONTENT_LENGTH"] = 1024 * 1024

    assert small.status_code == 401
    assert large.status_code == 413
    assert large.json["message"] == "The request body is too large: at most 2048 bytes are accepted."


# --- Check-in links that do not work all answer the same ----------------------------------------------------


def guessed_links() -> dict[str, str]:
    """Links made the way real ones are, but never sent: from a nonce never issued, and under another key."""
    return {
        "guessed nonce": links.link_path(links.link_token(SECRET_KEY, links.new_nonce())),
        "another server's key": links.link_path(links.link_token("another-secret-key-" + "y" * 32, links.new_nonce())),
    }


def assert_indistinguishable(responses: dict[str, TestResponse]) -> None:
    assert {kind: response.status_code for kind, response in responses.items()} == dict.fromkeys(responses, 404)
    assert len({same_but_the_request_id(response) for response in responses.values()}) == 1
    headers = {kind: stable_headers(response) for kind, response in responses.items()}
    first = next(iter(headers.values()))
    assert {kind: value for kind, value in headers.items() if value != first} == {}
    # The per-request headers are the same ones, whatever kind of link it was.
    names = {kind: sorted(name.lower() for name, _ in response.headers) for kind, response in responses.items()}
    assert len({tuple(value) for value in names.values()}) == 1, names


def test_opening_any_link_that_does_not_work_gives_the_same_status_body_and_headers(
    client, db_session, app, family, clock
):
    paths = links_that_do_not_work(client, db_session, app, family, clock) | guessed_links()
    assert len(paths) == 10  # the failed look-ups allowed in a minute (CHECK_IN_LINK_FAILURE_LIMIT)

    assert_indistinguishable({kind: client.get(path) for kind, path in paths.items()})


def test_sending_answers_to_any_link_that_does_not_work_gives_the_same_status_body_and_headers(
    client, db_session, app, family, clock
):
    paths = links_that_do_not_work(client, db_session, app, family, clock) | guessed_links()

    assert_indistinguishable({kind: client.post(path, data=ANSWERS) for kind, path in paths.items()})


def test_over_its_budget_an_address_gets_the_same_slow_down_answer_for_every_link_that_does_not_work(
    client, db_session, app, family, clock
):
    """Over the budget a failed look-up is 429 instead of 404 (a real link is still served): whatever the kind of
    broken link, the same status, body and headers, so even then a guess learns only that it failed."""
    paths = links_that_do_not_work(client, db_session, app, family, clock) | guessed_links()
    for kind, path in paths.items():
        assert client.get(path).status_code == 404, kind

    answers = {kind: client.get(path) for kind, path in paths.items()}
    answers |= {f"{kind}, sent": client.post(path, data=ANSWERS) for kind, path in paths.items()}

    assert {kind: answer.status_code for kind, answer in answers.items()} == dict.fromkeys(answers, 429)
    assert len({same_but_the_request_id(answer) for answer in answers.values()}) == 1
    assert len({tuple(stable_headers(answer)) for answer in answers.values()}) == 1
    assert {tuple(sorted(name.lower() for name, _ in answer.headers)) for answer in answers.values()} == {
        tuple(sorted(name.lower() for name, _ in next(iter(answers.values())).headers))
    }
