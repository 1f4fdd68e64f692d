"""The cost of password hashes (api/accounts/rules.py, PASSWORD_HASH_COST: OWASP's argon2id m=19 MiB, t=2, p=1)
and how stored hashes move to it: on the next sign-in that proves the password, in that sign-in's transaction,
never on a refused one, whether the stored hash was cheaper or costlier."""

from __future__ import annotations

import pytest
from argon2 import PasswordHasher, Type, extract_parameters
from sqlalchemy import select

from api.accounts import second_factor, signing_in
from api.accounts.models import AppUser
from api.accounts.rules import PASSWORD_HASH_COST
from api.actors import Role
from tests.api.dashboard_page_sign_in import sign_in as sign_in_to_page
from tests.builders import PASSWORD, TOKEN_SETTINGS, make_user
from tests.conftest import DEFAULT_NOW

# argon2-cffi's default, RFC 9106's low-memory profile (t=3, 64 MiB, p=4): what every password was hashed with
# before the cost was chosen. Costly to make, so made once.
OLD_DEFAULT_HASH = PasswordHasher().hash(PASSWORD)
# Costlier than the current choice on every parameter, and cheaper on every one.
COSTLIER_HASH = PasswordHasher(time_cost=3, memory_cost=2 * 19456, parallelism=2).hash(PASSWORD)
CHEAPER_HASH = PasswordHasher(time_cost=1, memory_cost=8192, parallelism=1).hash(PASSWORD)
WRONG = "not the right password at all"


def sign_in(client, email, password=PASSWORD):
    return client.post("/auth/sign-in", json={"email": email, "password": password})


def stored_hash(db_session, user):
    return db_session.scalar(select(AppUser.password_hash).where(AppUser.id == user.id))


def assert_at_current_cost(password_hash):
    parameters = extract_parameters(password_hash)
    assert parameters.type is Type.ID
    assert (parameters.time_cost, parameters.memory_cost, parameters.parallelism) == (
        PASSWORD_HASH_COST.time_cost,
        PASSWORD_HASH_COST.memory_kib,
        PASSWORD_HASH_COST.parallelism,
    )


def test_the_cost_is_owasps_argon2id_at_19_mib_two_passes_one_lane():
    assert (PASSWORD_HASH_COST.memory_kib, PASSWORD_HASH_COST.time_cost, PASSWORD_HASH_COST.parallelism) == (
        19456,
        2,
        1,
    )
    assert_at_current_cost(signing_in.hash_password(PASSWORD))
    assert_at_current_cost(second_factor._recovery_hasher.hash("ABCD-EFGH-JKLM"))


def test_a_hash_made_with_the_old_default_is_replaced_at_the_current_cost_by_a_successful_sign_in(client, db_session):
    mentor = make_user(db_session, Role.MENTOR, password_hash=OLD_DEFAULT_HASH)

    assert sign_in(client, mentor.email).status_code == 200

    new_hash = stored_hash(db_session, mentor)
    assert new_hash != OLD_DEFAULT_HASH
    assert_at_current_cost(new_hash)
    assert PasswordHasher().verify(new_hash, PASSWORD)
    # And the new hash signs in, without being made again.
    assert sign_in(client, mentor.email).status_code == 200
    assert stored_hash(db_session, mentor) == new_hash


@pytest.mark.parametrize("old_hash", [COSTLIER_HASH, CHEAPER_HASH], ids=["costlier", "cheaper"])
def test_a_hash_of_any_other_cost_costlier_or_cheaper_is_replaced_at_the_current_cost(client, db_session, old_hash):
    mentor = make_user(db_session, Role.MENTOR, password_hash=old_hash)

    assert sign_in(client, mentor.email).status_code == 200

    assert_at_current_cost(stored_hash(db_session, mentor))


def test_a_hash_at_the_current_cost_is_left_as_it_is(client, db_session):
    mentor = make_user(db_session, Role.MENTOR)
    before = stored_hash(db_session, mentor)
    assert_at_current_cost(before)

    assert sign_in(client, mentor.email).status_code == 200

    assert stored_hash(db_session, mentor) == before


def test_a_wrong_password_leaves_an_old_hash_as_it_is(client, db_session):
    mentor = make_user(db_session, Role.MENTOR, password_hash=OLD_DEFAULT_HASH)

    assert sign_in(client, mentor.email, WRONG).status_code == 401

    assert stored_hash(db_session, mentor) == OLD_DEFAULT_HASH


def test_a_deactivated_users_right_password_leaves_an_old_hash_as_it_is(client, db_session):
    mentor = make_user(db_session, Role.MENTOR, password_hash=OLD_DEFAULT_HASH, is_active=False)

    assert sign_in(client, mentor.email).status_code == 401

    assert stored_hash(db_session, mentor) == OLD_DEFAULT_HASH


def test_a_sign_in_that_fails_after_the_password_check_writes_no_new_hash(db_session, monkeypatch):
    mentor = make_user(db_session, Role.MENTOR, password_hash=OLD_DEFAULT_HASH)

    def broken(*_args, **_kwargs):
        raise RuntimeError("the sign-in record could not be written")

    monkeypatch.setattr(signing_in, "start_auth_session", broken)
    with pytest.raises(RuntimeError):
        signing_in.sign_in(
            db_session,
            email=mentor.email,
            password=PASSWORD,
            settings=TOKEN_SETTINGS,
            now=DEFAULT_NOW,
            guards=signing_in.SignInGuards(client_address="192.0.2.10"),
        )

    assert stored_hash(db_session, mentor) == OLD_DEFAULT_HASH


def test_a_right_password_that_opens_the_second_step_replaces_the_hash(app, client, db_session, monkeypatch):
    # The answer (mfa_required) already says the password was right, so the new hash reveals nothing more, and it
    # is the only step of an admin's or coordinator's sign-in that knows the password.
    monkeypatch.setitem(app.config, "MFA_REQUIRED_ROLES", "admin,coordinator")
    coordinator = make_user(db_session, Role.COORDINATOR, password_hash=OLD_DEFAULT_HASH)

    response = sign_in(client, coordinator.email)

    assert response.status_code == 401 and response.json["reason"] == "mfa_required"
    assert_at_current_cost(stored_hash(db_session, coordinator))


def test_the_dashboard_page_replaces_the_hash_when_the_sign_in_succeeds(client, db_session):
    commissioner = make_user(db_session, Role.COMMISSIONER, password_hash=OLD_DEFAULT_HASH)

    assert sign_in_to_page(client, commissioner).status_code == 303

    assert_at_current_cost(stored_hash(db_session, commissioner))


def test_the_dashboard_page_refusing_a_right_password_without_its_code_leaves_the_hash(
    app, client, db_session, monkeypatch
):
    # Refused as a wrong password is, and in the same time: no new hash is made for a right password alone.
    monkeypatch.setitem(app.config, "MFA_REQUIRED_ROLES", "admin,coordinator,commissioner")
    commissioner = make_user(db_session, Role.COMMISSIONER, password_hash=OLD_DEFAULT_HASH)

    assert sign_in_to_page(client, commissioner).status_code != 303

    assert stored_hash(db_session, commissioner) == OLD_DEFAULT_HASH
