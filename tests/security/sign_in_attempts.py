"""Signing in over the API as the abuse and lock-out tests do (tests/security/test_abuse.py, tests/security/
test_lockout.py): users with a cheap password hash, attempts from a given client address, a wrong password, the
answer of a broken rate limit, and the small limits of an app of their own (the tight_app fixture)."""

from __future__ import annotations

import re
from typing import Any

from argon2 import PasswordHasher
from flask.testing import FlaskClient
from sqlalchemy.orm import Session
from werkzeug.test import TestResponse

from api.accounts.models import AppUser
from api.actors import Role
from tests.builders import PASSWORD
from tests.builders import make_user as build_user

WRONG = "not the right password at all"


# Argon2 at its production cost takes up to a second a hash on a busy machine, and the abuse and lock-out tests
# sign in hundreds of times: their users get a cheap hash (make_user), and the service verifies with a cheap
# hasher (the cheap_password_hashing fixture, tests/security/conftest.py); the lock-out and the limits do not
# depend on the cost. The concurrency tests keep the real cost: it is what makes guesses overlap.
CHEAP_HASHER = PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1)
CHEAP_PASSWORD_HASH = CHEAP_HASHER.hash(PASSWORD)


TIGHT_LIMITS = {
    "SIGN_IN_LIMIT_PER_ADDRESS": "3 per minute",
    "SIGN_IN_LIMIT_PER_EMAIL": "3 per minute",
    "REFRESH_LIMIT_PER_ADDRESS": "2 per minute",
    "SMS_SEND_LIMIT_PER_USER": "2 per hour",
}


def make_user(db_session: Session, role: Role, **overrides: Any) -> AppUser:
    return build_user(db_session, role, **({"password_hash": CHEAP_PASSWORD_HASH} | overrides))


def sign_in(client: FlaskClient, email: str, password: str = PASSWORD, *, address: str = "127.0.0.1") -> TestResponse:
    return client.post(
        "/auth/sign-in", json={"email": email, "password": password}, environ_overrides={"REMOTE_ADDR": address}
    )


def assert_rate_limited(response: TestResponse) -> int:
    """A 429 in the error envelope whose message says when to try again, as Retry-After does. The seconds."""
    assert response.status_code == 429, response.get_data(as_text=True)[:300]
    body = response.json
    assert body is not None
    assert set(body) == {"code", "status", "message", "reason", "request_id"}
    assert (body["code"], body["status"], body["reason"]) == (429, "Too Many Requests", "rate_limited")
    seconds = response.headers["Retry-After"]
    assert seconds.isdigit() and int(seconds) >= 1
    assert re.fullmatch(rf"Too many requests\. Try again in {seconds} seconds?\.", body["message"]), body["message"]
    return int(seconds)
