"""Lock-out that a stranger cannot use as a weapon (issue 13, finding 8).

Five wrong passwords in a row lock out the client address that made them, for that account (and an IPv6
address by its /64), for fifteen minutes: anyone else, the account's owner among them, still signs in. Guessing
spread over many addresses is what the per-email budget (SIGN_IN_LIMIT_PER_EMAIL) stops; attempts that meet a
lock do not spend it, so one address cannot spend it for everyone, and an address the account signed in from in
the last 30 days is not held to it. Locked, wrong and unknown are still answered alike (tests/security/
test_abuse.py), and an email that is no account is counted and limited exactly as one that is, so the limits
cannot tell a stranger which emails are accounts.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from api.accounts.models import AppUser
from api.accounts.rules import is_known_source
from api.actors import Role
from api.app import create_app
from api.audit.models import AuditEvent
from api.clock import FixedClock
from tests.builders import auth_headers
from tests.conftest import DEFAULT_NOW
from tests.conftest import test_config as config_for
from tests.security.sign_in_attempts import WRONG, assert_rate_limited, make_user, sign_in

# Cheap password hashing, as in the abuse tests; tight_client, an app of its own with small limits
# (tests/security/sign_in_attempts.py, TIGHT_LIMITS), comes from tests/security/conftest.py.
pytestmark = pytest.mark.usefixtures("cheap_password_hashing")


def test_an_address_is_known_for_thirty_days_after_the_account_signed_in_from_it():
    assert not is_known_source(None, now=DEFAULT_NOW)
    assert is_known_source(DEFAULT_NOW, now=DEFAULT_NOW)
    assert is_known_source(DEFAULT_NOW - timedelta(days=30) + timedelta(microseconds=1), now=DEFAULT_NOW)
    assert not is_known_source(DEFAULT_NOW - timedelta(days=30), now=DEFAULT_NOW)


ATTACKER = "203.0.113.9"
OFFICE = "192.0.2.10"


def lock_from(client: FlaskClient, user: AppUser, address: str) -> None:
    for _ in range(5):
        assert sign_in(client, user.email, WRONG, address=address).status_code == 401


def test_five_wrong_passwords_from_one_address_do_not_stop_the_right_password_from_another(client, db_session):
    coordinator = make_user(db_session, Role.COORDINATOR)
    lock_from(client, coordinator, ATTACKER)

    assert sign_in(client, coordinator.email, address=OFFICE).status_code == 200


def test_the_address_that_made_them_is_locked_out_of_that_account_and_only_that_account(client, db_session):
    coordinator, colleague = make_user(db_session, Role.COORDINATOR), make_user(db_session, Role.MENTOR)
    lock_from(client, coordinator, ATTACKER)

    assert sign_in(client, coordinator.email, address=ATTACKER).status_code == 401  # even the right password
    assert sign_in(client, colleague.email, address=ATTACKER).status_code == 200


def test_a_stranger_hammering_from_one_address_cannot_keep_the_owner_out(client, db_session):
    """Twenty-five wrong passwords in a minute from one address (under its own limit of 30): only the first five
    are guesses, the rest meet the lock and spend nothing of the email's budget (10 a minute), so the owner still
    signs in from the office. Before, the stranger locked the account and spent its budget for everyone."""
    coordinator = make_user(db_session, Role.COORDINATOR)
    for _ in range(25):
        assert sign_in(client, coordinator.email, WRONG, address=ATTACKER).status_code == 401

    assert sign_in(client, coordinator.email, address=OFFICE).status_code == 200
    assert sign_in(client, coordinator.email, address=ATTACKER).status_code == 401


def test_signing_in_from_one_address_leaves_another_address_s_lock_in_place(client, db_session):
    coordinator = make_user(db_session, Role.COORDINATOR)
    lock_from(client, coordinator, ATTACKER)

    assert sign_in(client, coordinator.email, address=OFFICE).status_code == 200
    assert sign_in(client, coordinator.email, address=ATTACKER).status_code == 401


def test_addresses_in_one_ipv6_64_count_as_one_address(client, db_session):
    coordinator = make_user(db_session, Role.COORDINATOR)
    for n in range(5):
        assert sign_in(client, coordinator.email, WRONG, address=f"2001:db8:5:6::{n + 1}").status_code == 401

    assert sign_in(client, coordinator.email, address="2001:db8:5:6:abcd::1").status_code == 401
    assert sign_in(client, coordinator.email, address="2001:db8:5:7::1").status_code == 200


def test_an_admin_unlock_lifts_the_lock_of_every_address(client, db_session):
    admin, coordinator = make_user(db_session, Role.ADMIN), make_user(db_session, Role.COORDINATOR)
    attackers = ["203.0.113.1", "203.0.113.2"]
    for address in attackers:
        lock_from(client, coordinator, address)

    assert client.post(f"/users/{coordinator.id}/unlock", headers=auth_headers(db_session, admin)).status_code == 200

    assert [sign_in(client, coordinator.email, address=address).status_code for address in attackers] == [200, 200]


def test_each_address_s_lock_is_audited_and_the_account_shows_when_the_latest_ends(client, db_session, clock):
    admin, coordinator = make_user(db_session, Role.ADMIN), make_user(db_session, Role.COORDINATOR)
    lock_from(client, coordinator, "203.0.113.1")
    clock.advance(minutes=5)
    lock_from(client, coordinator, "203.0.113.2")

    listed = client.get("/users", headers=auth_headers(db_session, admin)).json
    shown = next(user for user in listed if user["id"] == str(coordinator.id))
    assert shown["locked_until"] == (DEFAULT_NOW + timedelta(minutes=20)).isoformat()
    locks = db_session.scalar(
        select(func.count()).where(AuditEvent.record_id == coordinator.id, AuditEvent.action == "app_user.lock")
    )
    assert locks == 2


def test_the_owner_can_always_sign_in_where_they_did_before_even_when_strangers_spent_the_email_s_budget(
    tight_client, db_session, clock
):
    """Guessing spread over many addresses is what the per-email budget stops (3 a minute here); once strangers
    have spent it, an address the account signed in from in the last 30 days still gets in (its own lock still
    holds it to five wrong passwords), and only new addresses are asked to wait."""
    coordinator = make_user(db_session, Role.COORDINATOR)
    assert sign_in(tight_client, coordinator.email, address=OFFICE).status_code == 200
    clock.advance(days=29)
    for n in range(2):
        assert sign_in(tight_client, coordinator.email, WRONG, address=f"198.51.100.{n + 1}").status_code == 401
    assert_rate_limited(sign_in(tight_client, coordinator.email, WRONG, address="198.51.100.3"))

    assert sign_in(tight_client, coordinator.email, address=OFFICE).status_code == 200
    assert_rate_limited(sign_in(tight_client, coordinator.email, address="192.0.2.77"))


def test_an_address_known_for_one_account_is_not_known_for_another(tight_client, db_session):
    coordinator, mentor = make_user(db_session, Role.COORDINATOR), make_user(db_session, Role.MENTOR)
    assert sign_in(tight_client, coordinator.email, address=OFFICE).status_code == 200
    for n in range(3):
        assert sign_in(tight_client, mentor.email, WRONG, address=f"198.51.100.{n + 1}").status_code == 401

    assert_rate_limited(sign_in(tight_client, mentor.email, address=OFFICE))


def test_a_known_address_is_forgotten_thirty_days_after_the_last_sign_in_from_it(tight_client, db_session, clock):
    coordinator = make_user(db_session, Role.COORDINATOR)
    assert sign_in(tight_client, coordinator.email, address=OFFICE).status_code == 200
    clock.advance(days=30)
    for n in range(2):
        assert sign_in(tight_client, coordinator.email, WRONG, address=f"198.51.100.{n + 1}").status_code == 401

    assert_rate_limited(sign_in(tight_client, coordinator.email, address=OFFICE))


LENIENT_ADDRESS_LIMITS = {"SIGN_IN_LIMIT_PER_ADDRESS": "100 per minute", "SIGN_IN_LIMIT_PER_EMAIL": "7 per minute"}


@pytest.fixture()
def lenient_address_app(
    database_url: str, session_factory: sessionmaker[Session], clock: FixedClock
) -> Iterator[Flask]:
    """Per address 100 a minute, per email 7: one address can make more attempts than an email's budget."""
    app = create_app(config_for(database_url, CLOCK=clock, **LENIENT_ADDRESS_LIMITS))
    app.extensions["reachable.db"].session_factory = session_factory
    yield app
    app.extensions["reachable.db"].dispose()


def test_an_email_that_is_no_account_is_counted_locked_and_limited_exactly_as_one_that_is(
    lenient_address_app, db_session
):
    """The lock decides what the email's budget counts, so it is kept for any email tried: otherwise when the
    429s came would tell a stranger which emails are accounts."""
    mentor = make_user(db_session, Role.MENTOR)

    def attempts(client: FlaskClient, email: str) -> list[int]:
        from_one = [sign_in(client, email, WRONG, address="198.51.100.1").status_code for _ in range(8)]
        from_another = [sign_in(client, email, WRONG, address="198.51.100.2").status_code for _ in range(3)]
        return from_one + from_another

    real = attempts(lenient_address_app.test_client(), mentor.email)
    made_up = attempts(lenient_address_app.test_client(), "no-such-person@example.org")

    assert real == made_up == [401] * 10 + [429]
