"""Staff's second factor: TOTP enrolment, the sign-in's second step, recovery codes, refresh, lock-out, an admin's
reset, and the roles that need it (api/accounts/second_factor.py).

The shared test app turns the second factor off (tests/conftest.py); every test here turns it on for admins and
coordinators, as the shipped default does (and one test proves the default without any setting)."""

from __future__ import annotations

from urllib.parse import parse_qs, urlparse

import pytest
from sqlalchemy import select

from api.accounts import totp
from api.accounts.models import AppUser, AuthSession, MfaRecoveryCode
from api.actors import Role
from api.app import create_app
from api.audit.models import AuditEvent
from tests.api.dashboard_page_sign_in import SAME_SITE, sign_in_token
from tests.builders import PASSWORD, auth_headers, make_user
from tests.conftest import test_config as app_config

MFA_ON = "admin,coordinator"


@pytest.fixture(autouse=True)
def mfa_on(app, monkeypatch):
    monkeypatch.setitem(app.config, "MFA_REQUIRED_ROLES", MFA_ON)


def sign_in(client, email, password=PASSWORD):
    return client.post("/auth/sign-in", json={"email": email, "password": password})


def challenge_for(client, user):
    response = sign_in(client, user.email)
    assert response.status_code == 401, response.json
    assert response.json["reason"] == "mfa_required"
    return response.json["challenge_token"]


def code_now(secret, clock, *, steps_ahead=0):
    return totp.code_at_step(secret, totp.step_at(clock.now()) + steps_ahead)


def enrolled(client, clock, user):
    """Sign the user in for the first time, setting up an authenticator: (its secret, the answer to confirm)."""
    challenge = challenge_for(client, user)
    started = client.post("/auth/mfa/enrolment", json={"challenge_token": challenge})
    assert started.status_code == 200, started.json
    secret = started.json["secret"]
    confirmed = client.post(
        "/auth/mfa/enrolment/confirm", json={"challenge_token": challenge, "code": code_now(secret, clock)}
    )
    assert confirmed.status_code == 200, confirmed.json
    return secret, confirmed.json


def verify(client, challenge, **second):
    return client.post("/auth/mfa/verify", json={"challenge_token": challenge, **second})


def me(client, access_token):
    return client.get("/auth/me", headers={"Authorization": f"Bearer {access_token}"})


def test_a_coordinator_cannot_get_tokens_with_a_password_alone(client, db_session):
    coordinator = make_user(db_session, Role.COORDINATOR)

    response = sign_in(client, coordinator.email)

    assert response.status_code == 401
    assert response.json["reason"] == "mfa_required"
    assert response.json["mfa_enrolled"] is False
    assert "access_token" not in response.json and "refresh_token" not in response.json
    # The challenge opens nothing of the API.
    assert me(client, response.json["challenge_token"]).status_code == 401
    assert db_session.scalars(select(AuthSession).where(AuthSession.user_id == coordinator.id)).all() == []


def test_the_shipped_default_requires_a_second_factor_of_admins_and_coordinators(database_url, session_factory, clock):
    config = app_config(database_url, CLOCK=clock)
    del config["MFA_REQUIRED_ROLES"]
    app = create_app(config)
    app.extensions["reachable.db"].session_factory = session_factory
    try:
        client = app.test_client()
        with session_factory() as db_session:
            admin = make_user(db_session, Role.ADMIN)
            coordinator = make_user(db_session, Role.COORDINATOR)
            mentor = make_user(db_session, Role.MENTOR)
            db_session.commit()
        assert app.config["MFA_REQUIRED_ROLES"] == "admin,coordinator"
        assert sign_in(client, admin.email).json["reason"] == "mfa_required"
        assert sign_in(client, coordinator.email).json["reason"] == "mfa_required"
        assert sign_in(client, mentor.email).status_code == 200
    finally:
        app.extensions["reachable.db"].dispose()


def test_a_wrong_password_is_still_invalid_credentials_not_a_challenge(client, db_session):
    coordinator = make_user(db_session, Role.COORDINATOR)

    response = sign_in(client, coordinator.email, password="not the right password")

    assert response.status_code == 401
    assert response.json["reason"] == "invalid_credentials"
    assert "challenge_token" not in response.json


def test_enrolment_then_verify_gives_tokens_that_reach_the_api(client, db_session, clock):
    coordinator = make_user(db_session, Role.COORDINATOR)
    challenge = challenge_for(client, coordinator)

    started = client.post("/auth/mfa/enrolment", json={"challenge_token": challenge})
    uri = urlparse(started.json["provisioning_uri"])
    assert uri.scheme == "otpauth" and uri.netloc == "totp"
    assert parse_qs(uri.query)["secret"] == [started.json["secret"]]
    assert parse_qs(uri.query)["issuer"] == ["Reachable"]
    confirmed = client.post(
        "/auth/mfa/enrolment/confirm",
        json={"challenge_token": challenge, "code": code_now(started.json["secret"], clock)},
    )

    assert confirmed.status_code == 200, confirmed.json
    assert len(confirmed.json["recovery_codes"]) == totp.RECOVERY_CODE_COUNT
    assert me(client, confirmed.json["access_token"]).json["mfa_enrolled"] is True
    # The next sign-in asks for a code, and a fresh one finishes it.
    clock.advance(seconds=totp.STEP_SECONDS)
    later = sign_in(client, coordinator.email)
    assert (later.status_code, later.json["reason"], later.json["mfa_enrolled"]) == (401, "mfa_required", True)
    tokens = verify(client, later.json["challenge_token"], code=code_now(started.json["secret"], clock))
    assert tokens.status_code == 200, tokens.json
    assert me(client, tokens.json["access_token"]).status_code == 200
    # The enrolment is audited; the secret is not stored, nor the recovery codes in the clear.
    db_session.expire_all()
    stored = db_session.get_one(AppUser, coordinator.id)
    assert started.json["secret"] not in (stored.mfa_seed or "")
    hashes = db_session.scalars(select(MfaRecoveryCode.code_hash).where(MfaRecoveryCode.user_id == coordinator.id))
    assert not set(hashes) & set(confirmed.json["recovery_codes"])
    actions = db_session.scalars(select(AuditEvent.action).where(AuditEvent.record_id == coordinator.id)).all()
    assert "app_user.mfa_enrol" in actions


def test_a_wrong_code_gives_no_tokens(client, db_session, clock):
    coordinator = make_user(db_session, Role.COORDINATOR)
    secret, _ = enrolled(client, clock, coordinator)
    clock.advance(seconds=totp.STEP_SECONDS)
    challenge = challenge_for(client, coordinator)
    wrong = f"{(int(code_now(secret, clock)) + 1) % 1_000_000:06d}"

    response = verify(client, challenge, code=wrong)

    assert (response.status_code, response.json["reason"]) == (401, "mfa_code_invalid")


def test_a_code_is_accepted_once_only(client, db_session, clock):
    coordinator = make_user(db_session, Role.COORDINATOR)
    secret, _ = enrolled(client, clock, coordinator)
    clock.advance(seconds=totp.STEP_SECONDS)
    code = code_now(secret, clock)
    assert verify(client, challenge_for(client, coordinator), code=code).status_code == 200

    replayed = verify(client, challenge_for(client, coordinator), code=code)
    # An older code, still inside the window of clock drift, is refused too once a newer one was used.
    older = verify(client, challenge_for(client, coordinator), code=code_now(secret, clock, steps_ahead=-1))

    assert (replayed.status_code, replayed.json["reason"]) == (401, "mfa_code_invalid")
    assert older.status_code == 401
    clock.advance(seconds=totp.STEP_SECONDS)
    assert verify(client, challenge_for(client, coordinator), code=code_now(secret, clock)).status_code == 200


def test_the_enrolment_code_cannot_be_replayed_to_sign_in(client, db_session, clock):
    coordinator = make_user(db_session, Role.COORDINATOR)
    secret, _ = enrolled(client, clock, coordinator)

    response = verify(client, challenge_for(client, coordinator), code=code_now(secret, clock))

    assert response.status_code == 401


def test_a_recovery_code_signs_in_once(client, db_session, clock):
    coordinator = make_user(db_session, Role.COORDINATOR)
    _, answer = enrolled(client, clock, coordinator)
    recovery_code = answer["recovery_codes"][0]

    first = verify(client, challenge_for(client, coordinator), recovery_code=recovery_code.lower().replace("-", " "))
    again = verify(client, challenge_for(client, coordinator), recovery_code=recovery_code)
    another = verify(client, challenge_for(client, coordinator), recovery_code=answer["recovery_codes"][1])

    assert first.status_code == 200, first.json
    assert (again.status_code, again.json["reason"]) == (401, "mfa_code_invalid")
    assert another.status_code == 200
    actions = db_session.scalars(select(AuditEvent.action).where(AuditEvent.record_id == coordinator.id)).all()
    assert actions.count("app_user.mfa_recovery_code_use") == 2


def test_verify_takes_a_code_or_a_recovery_code_not_both(client, db_session, clock):
    coordinator = make_user(db_session, Role.COORDINATOR)
    _, answer = enrolled(client, clock, coordinator)
    challenge = challenge_for(client, coordinator)

    both = verify(client, challenge, code="123456", recovery_code=answer["recovery_codes"][0])
    neither = verify(client, challenge)

    assert both.status_code == 422 and neither.status_code == 422


def test_a_challenge_expires(client, db_session, clock):
    coordinator = make_user(db_session, Role.COORDINATOR)
    secret, _ = enrolled(client, clock, coordinator)
    challenge = challenge_for(client, coordinator)
    clock.advance(minutes=6)

    response = verify(client, challenge, code=code_now(secret, clock))

    assert (response.status_code, response.json["reason"]) == (401, "mfa_challenge_invalid")


def test_an_access_token_is_not_a_challenge(client, db_session, clock):
    coordinator = make_user(db_session, Role.COORDINATOR)
    _, answer = enrolled(client, clock, coordinator)

    response = client.post("/auth/mfa/enrolment", json={"challenge_token": answer["access_token"]})

    assert (response.status_code, response.json["reason"]) == (401, "mfa_challenge_invalid")


def test_a_refresh_keeps_the_second_factor(client, db_session, clock):
    coordinator = make_user(db_session, Role.COORDINATOR)
    _, answer = enrolled(client, clock, coordinator)

    refreshed = client.post("/auth/refresh", json={"refresh_token": answer["refresh_token"]})

    assert refreshed.status_code == 200, refreshed.json
    assert me(client, refreshed.json["access_token"]).status_code == 200
    again = client.post("/auth/refresh", json={"refresh_token": refreshed.json["refresh_token"]})
    assert me(client, again.json["access_token"]).status_code == 200


def test_a_password_only_sign_in_opens_nothing_once_the_role_needs_a_second_factor(app, client, db_session):
    coordinator = make_user(db_session, Role.COORDINATOR)
    app.config["MFA_REQUIRED_ROLES"] = ""
    tokens = sign_in(client, coordinator.email).json
    assert me(client, tokens["access_token"]).status_code == 200

    app.config["MFA_REQUIRED_ROLES"] = MFA_ON
    refused = me(client, tokens["access_token"])
    refresh = client.post("/auth/refresh", json={"refresh_token": tokens["refresh_token"]})

    assert (refused.status_code, refused.json["reason"]) == (401, "mfa_sign_in_required")
    assert (refresh.status_code, refresh.json["reason"]) == (401, "mfa_sign_in_required")


def test_wrong_codes_count_towards_the_lock_out(client, db_session, clock):
    coordinator = make_user(db_session, Role.COORDINATOR)
    secret, _ = enrolled(client, clock, coordinator)
    clock.advance(seconds=totp.STEP_SECONDS)
    challenge = challenge_for(client, coordinator)
    wrong = f"{(int(code_now(secret, clock)) + 1) % 1_000_000:06d}"
    for _ in range(5):
        assert verify(client, challenge, code=wrong).json["reason"] == "mfa_code_invalid"

    right_but_locked = verify(client, challenge, code=code_now(secret, clock))
    password_while_locked = sign_in(client, coordinator.email)

    assert (right_but_locked.status_code, right_but_locked.json["reason"]) == (401, "mfa_code_invalid")
    assert password_while_locked.json["reason"] == "invalid_credentials"
    actions = db_session.scalars(select(AuditEvent.action).where(AuditEvent.record_id == coordinator.id)).all()
    assert "app_user.lock" in actions


def test_a_right_password_does_not_wipe_the_count_of_wrong_codes(client, db_session, clock):
    coordinator = make_user(db_session, Role.COORDINATOR)
    secret, _ = enrolled(client, clock, coordinator)
    clock.advance(seconds=totp.STEP_SECONDS)
    wrong = f"{(int(code_now(secret, clock)) + 1) % 1_000_000:06d}"
    for _ in range(4):
        assert verify(client, challenge_for(client, coordinator), code=wrong).status_code == 401
    fifth = verify(client, challenge_for(client, coordinator), code=wrong)
    assert fifth.status_code == 401

    # Locked now: the password alone no longer even gives a challenge.
    assert sign_in(client, coordinator.email).json["reason"] == "invalid_credentials"


def test_the_second_step_is_rate_limited_with_the_sign_in(app, client, db_session, clock, monkeypatch):
    monkeypatch.setitem(app.config, "SIGN_IN_LIMIT_PER_ADDRESS", "30 per minute")
    coordinator = make_user(db_session, Role.COORDINATOR)
    challenge = challenge_for(client, coordinator)
    statuses = [
        client.post("/auth/mfa/verify", json={"challenge_token": challenge, "code": "000000"}).status_code
        for _ in range(40)
    ]

    assert 429 in statuses


def test_an_admin_resets_a_lost_authenticator_audited_and_every_sign_in_ends(client, db_session, clock):
    coordinator = make_user(db_session, Role.COORDINATOR)
    admin = make_user(db_session, Role.ADMIN)
    _, answer = enrolled(client, clock, coordinator)

    response = client.post(f"/users/{coordinator.id}/mfa/reset", headers=auth_headers(db_session, admin))

    assert response.status_code == 200, response.json
    assert response.json["mfa_enrolled"] is False
    assert me(client, answer["access_token"]).status_code == 401
    assert client.post("/auth/refresh", json={"refresh_token": answer["refresh_token"]}).status_code == 401
    event = db_session.scalars(select(AuditEvent).where(AuditEvent.action == "app_user.mfa_reset")).one()
    assert (event.actor_user_id, event.record_id) == (admin.id, coordinator.id)
    assert db_session.scalars(select(MfaRecoveryCode).where(MfaRecoveryCode.user_id == coordinator.id)).all() == []
    # The next sign-in sets up a new authenticator; the old recovery codes are gone.
    clock.advance(seconds=totp.STEP_SECONDS)
    again = sign_in(client, coordinator.email)
    assert again.json["mfa_enrolled"] is False
    assert verify(client, again.json["challenge_token"], recovery_code=answer["recovery_codes"][0]).status_code == 409


@pytest.mark.parametrize("role", [Role.COORDINATOR, Role.MENTOR, Role.COMMISSIONER])
def test_only_an_admin_may_reset_an_authenticator(client, db_session, role):
    caller = make_user(db_session, role)
    coordinator = make_user(db_session, Role.COORDINATOR)

    response = client.post(f"/users/{coordinator.id}/mfa/reset", headers=auth_headers(db_session, caller))

    assert response.status_code == 403


def test_which_roles_need_a_second_factor_is_configurable(app, client, db_session):
    app.config["MFA_REQUIRED_ROLES"] = "admin,mentor"
    coordinator = make_user(db_session, Role.COORDINATOR)
    mentor = make_user(db_session, Role.MENTOR)

    assert sign_in(client, coordinator.email).status_code == 200
    assert sign_in(client, mentor.email).json["reason"] == "mfa_required"


def test_a_bad_role_in_the_setting_stops_the_app_at_start_up(database_url):
    with pytest.raises(RuntimeError, match="MFA_REQUIRED_ROLES"):
        create_app(app_config(database_url, MFA_REQUIRED_ROLES="admin,cordinator"))


def test_a_mentor_without_an_authenticator_signs_in_with_a_password(client, db_session):
    mentor = make_user(db_session, Role.MENTOR)

    response = sign_in(client, mentor.email)

    assert response.status_code == 200, response.json
    assert me(client, response.json["access_token"]).status_code == 200


def test_a_mentor_who_enrols_is_asked_for_a_code_from_then_on(client, db_session, clock):
    mentor = make_user(db_session, Role.MENTOR)
    tokens = sign_in(client, mentor.email).json
    other_device = sign_in(client, mentor.email).json
    headers = {"Authorization": f"Bearer {tokens['access_token']}"}

    started = client.post("/auth/me/mfa/enrolment", headers=headers)
    confirmed = client.post(
        "/auth/me/mfa/enrolment/confirm", headers=headers, json={"code": code_now(started.json["secret"], clock)}
    )

    assert confirmed.status_code == 200, confirmed.json
    assert len(confirmed.json["recovery_codes"]) == totp.RECOVERY_CODE_COUNT
    # This sign-in proved the code and keeps working; the other device's, a password alone, stops.
    assert me(client, tokens["access_token"]).status_code == 200
    assert me(client, other_device["access_token"]).json["reason"] == "mfa_sign_in_required"
    assert sign_in(client, mentor.email).json["reason"] == "mfa_required"


def test_a_wrong_first_code_enrols_no_one(client, db_session, clock):
    coordinator = make_user(db_session, Role.COORDINATOR)
    challenge = challenge_for(client, coordinator)
    secret = client.post("/auth/mfa/enrolment", json={"challenge_token": challenge}).json["secret"]
    wrong = f"{(int(code_now(secret, clock)) + 1) % 1_000_000:06d}"

    response = client.post("/auth/mfa/enrolment/confirm", json={"challenge_token": challenge, "code": wrong})

    assert (response.status_code, response.json["reason"]) == (401, "mfa_code_invalid")
    db_session.expire_all()
    assert db_session.get_one(AppUser, coordinator.id).mfa_enrolled_at is None


def test_an_enrolled_user_cannot_enrol_again_with_a_password_alone(client, db_session, clock):
    coordinator = make_user(db_session, Role.COORDINATOR)
    enrolled(client, clock, coordinator)

    response = client.post("/auth/mfa/enrolment", json={"challenge_token": challenge_for(client, coordinator)})

    assert (response.status_code, response.json["reason"]) == (409, "mfa_already_enrolled")


def page_sign_in(client, user, code=None):
    data = {"email": user.email, "password": PASSWORD, "next": "", "form_token": sign_in_token(client)}
    if code is not None:
        data["code"] = code
    return client.post("/dashboard/sign-in", data=data, headers=SAME_SITE)


def test_the_dashboard_page_asks_a_coordinator_for_a_code_too(client, db_session, clock):
    coordinator = make_user(db_session, Role.COORDINATOR)
    secret, _ = enrolled(client, clock, coordinator)
    clock.advance(seconds=totp.STEP_SECONDS)

    without = page_sign_in(client, coordinator)
    wrong = page_sign_in(client, coordinator, code=f"{(int(code_now(secret, clock)) + 1) % 1_000_000:06d}")
    right = page_sign_in(client, coordinator, code=code_now(secret, clock))
    replayed = page_sign_in(client, coordinator, code=code_now(secret, clock))

    assert (without.status_code, wrong.status_code) == (401, 401)
    assert right.status_code == 303
    assert replayed.status_code == 401


def test_the_dashboard_page_does_not_let_a_coordinator_without_an_authenticator_in(client, db_session):
    coordinator = make_user(db_session, Role.COORDINATOR)

    assert page_sign_in(client, coordinator, code="123456").status_code == 401
