"""Signing in, access tokens, refresh-token rotation, signing out and revoking sign-ins (a lost phone)."""

from __future__ import annotations

import uuid
from datetime import timedelta

import jwt
import pytest

from api.actors import Role
from tests.builders import PASSWORD, auth_headers, make_programme, make_user
from tests.conftest import DEFAULT_NOW, SECRET_KEY

WWW_AUTHENTICATE = 'Bearer realm="reachable"'


def sign_in(client, email, password=PASSWORD):
    return client.post("/auth/sign-in", json={"email": email, "password": password})


def signed_in(client, user):
    """Sign the user in through the API and return the token pair."""
    response = sign_in(client, user.email)
    assert response.status_code == 200, response.json
    return response.json


def refresh(client, refresh_token):
    return client.post("/auth/refresh", json={"refresh_token": refresh_token})


def bearer(access_token):
    return {"Authorization": f"Bearer {access_token}"}


def me(client, access_token):
    return client.get("/auth/me", headers=bearer(access_token))


def assert_refused_access(response):
    assert response.status_code == 401
    assert response.json["reason"] == "access_token_invalid"
    assert response.headers["WWW-Authenticate"] == WWW_AUTHENTICATE


def assert_refused_refresh(response):
    assert response.status_code == 401
    assert response.json["reason"] == "refresh_token_invalid"


def forged_token(user_id, auth_session_id, *, key=SECRET_KEY, algorithm="HS256", **claim_overrides):
    claims = {
        "sub": str(user_id),
        "sid": str(auth_session_id),
        "role": "admin",
        "iat": int(DEFAULT_NOW.timestamp()),
        "exp": int((DEFAULT_NOW + timedelta(minutes=15)).timestamp()),
    } | claim_overrides
    return jwt.encode(claims, key, algorithm=algorithm)


def session_id_of(access_token):
    return jwt.decode(access_token, options={"verify_signature": False})["sid"]


# --- signing in -----------------------------------------------------------------------------------------


def test_the_right_password_gives_an_access_token_and_a_refresh_token(client, db_session):
    mentor = make_user(db_session, Role.MENTOR)

    response = sign_in(client, mentor.email)

    assert response.status_code == 200
    body = response.json
    assert set(body) == {"access_token", "refresh_token", "token_type", "expires_in"}
    assert body["token_type"] == "Bearer"
    assert body["expires_in"] == 15 * 60
    assert body["access_token"] and body["refresh_token"]
    assert body["access_token"] != body["refresh_token"]
    assert me(client, body["access_token"]).json["id"] == str(mentor.id)


def test_the_access_token_names_the_user_and_expires_after_fifteen_minutes(client, db_session):
    mentor = make_user(db_session, Role.MENTOR)

    tokens = signed_in(client, mentor)

    claims = jwt.decode(tokens["access_token"], SECRET_KEY, algorithms=["HS256"], options={"verify_exp": False})
    assert claims["sub"] == str(mentor.id)
    assert claims["role"] == "mentor"
    assert claims["exp"] - claims["iat"] == 15 * 60
    assert claims["iat"] == int(DEFAULT_NOW.timestamp())


def test_a_wrong_password_is_refused_as_invalid_credentials(client, db_session):
    mentor = make_user(db_session, Role.MENTOR)

    response = sign_in(client, mentor.email, "not the right password at all")

    assert response.status_code == 401
    assert response.json["reason"] == "invalid_credentials"
    assert response.json["code"] == 401
    assert response.json["status"] == "Unauthorized"
    assert "access_token" not in response.json


def test_an_unknown_email_is_refused_exactly_like_a_wrong_password(client, db_session):
    mentor = make_user(db_session, Role.MENTOR)

    wrong_password = sign_in(client, mentor.email, "not the right password at all")
    unknown_email = sign_in(client, "nobody-at-all@example.org")

    assert unknown_email.status_code == wrong_password.status_code == 401
    # Alike but for the request id each answer names.
    assert unknown_email.json == {**wrong_password.json, "request_id": unknown_email.json["request_id"]}
    assert unknown_email.json["reason"] == "invalid_credentials"


def test_an_inactive_user_cannot_sign_in_even_with_the_right_password(client, db_session):
    mentor = make_user(db_session, Role.MENTOR, is_active=False)

    response = sign_in(client, mentor.email)

    assert response.status_code == 401
    assert response.json["reason"] == "invalid_credentials"


def test_the_email_address_is_case_insensitive_at_sign_in(client, db_session):
    mentor = make_user(db_session, Role.MENTOR)

    response = sign_in(client, mentor.email.upper())

    assert response.status_code == 200
    assert me(client, response.json["access_token"]).json["id"] == str(mentor.id)


def test_sign_in_without_a_password_is_a_field_error(client, db_session):
    response = client.post("/auth/sign-in", json={"email": "someone@example.org"})

    assert response.status_code == 422
    assert response.json["reason"] == "invalid_request"
    assert set(response.json["errors"]) == {"password"}


def test_sign_in_with_something_that_is_not_an_email_address_is_a_field_error(client, db_session):
    response = client.post("/auth/sign-in", json={"email": "not-an-email", "password": PASSWORD})

    assert response.status_code == 422
    assert response.json["reason"] == "invalid_request"
    assert set(response.json["errors"]) == {"email"}


def test_each_sign_in_is_a_separate_sign_in(client, db_session):
    mentor = make_user(db_session, Role.MENTOR)

    first, second = signed_in(client, mentor), signed_in(client, mentor)

    assert session_id_of(first["access_token"]) != session_id_of(second["access_token"])
    assert first["refresh_token"] != second["refresh_token"]


# --- access tokens --------------------------------------------------------------------------------------


def test_a_request_without_an_access_token_is_refused_with_a_bearer_challenge(client, db_session):
    response = client.get("/auth/me")

    assert_refused_access(response)
    assert response.json["code"] == 401
    assert response.json["message"]


@pytest.mark.parametrize(
    "authorization",
    [
        "Bearer not-a-jwt",
        "Bearer ",
        "Bearer",
        "Basic dXNlcjpwYXNz",
        "eyJhbGciOiJIUzI1NiJ9.e30.abc",
        "Bearer a.b.c",
    ],
)
def test_a_garbage_authorization_header_is_refused(client, db_session, authorization):
    response = client.get("/auth/me", headers={"Authorization": authorization})

    assert_refused_access(response)


def test_the_bearer_scheme_is_case_insensitive(client, db_session):
    mentor = make_user(db_session, Role.MENTOR)
    token = signed_in(client, mentor)["access_token"]

    response = client.get("/auth/me", headers={"Authorization": f"bearer {token}"})

    assert response.status_code == 200


def test_an_access_token_works_until_it_expires_fifteen_minutes_after_sign_in(client, db_session, clock):
    mentor = make_user(db_session, Role.MENTOR)
    token = signed_in(client, mentor)["access_token"]

    clock.advance(minutes=14, seconds=59)
    assert me(client, token).status_code == 200

    clock.advance(seconds=1)
    assert_refused_access(me(client, token))


def test_an_expired_access_token_is_refused(client, db_session, clock):
    mentor = make_user(db_session, Role.MENTOR)
    token = signed_in(client, mentor)["access_token"]

    clock.advance(minutes=16)

    assert_refused_access(me(client, token))


def test_a_token_signed_with_another_key_is_refused(client, db_session):
    admin = make_user(db_session, Role.ADMIN)
    genuine = signed_in(client, admin)["access_token"]
    forged = forged_token(admin.id, session_id_of(genuine), key="some-other-key-" + "y" * 32)

    assert_refused_access(me(client, forged))


def test_an_unsigned_token_is_refused(client, db_session):
    admin = make_user(db_session, Role.ADMIN)
    genuine = signed_in(client, admin)["access_token"]
    unsigned = forged_token(admin.id, session_id_of(genuine), key=None, algorithm="none")

    assert_refused_access(me(client, unsigned))


def test_a_correctly_signed_token_for_a_sign_in_that_does_not_exist_is_refused(client, db_session):
    admin = make_user(db_session, Role.ADMIN)

    assert_refused_access(me(client, forged_token(admin.id, uuid.uuid4())))


def test_a_correctly_signed_token_with_a_malformed_sign_in_id_is_refused(client, db_session):
    admin = make_user(db_session, Role.ADMIN)

    assert_refused_access(me(client, forged_token(admin.id, "not-a-uuid")))


def test_a_correctly_signed_token_without_an_expiry_is_refused(client, db_session):
    admin = make_user(db_session, Role.ADMIN)
    genuine = signed_in(client, admin)["access_token"]
    claims = jwt.decode(genuine, SECRET_KEY, algorithms=["HS256"], options={"verify_exp": False})
    del claims["exp"]

    assert_refused_access(me(client, jwt.encode(claims, SECRET_KEY, algorithm="HS256")))


def test_an_access_token_stops_working_when_its_user_is_deactivated(client, db_session):
    mentor = make_user(db_session, Role.MENTOR)
    token = signed_in(client, mentor)["access_token"]

    mentor.is_active = False
    db_session.commit()

    assert_refused_access(me(client, token))


# --- refreshing -----------------------------------------------------------------------------------------


def test_a_refresh_token_is_swapped_for_a_new_pair(client, db_session, clock):
    mentor = make_user(db_session, Role.MENTOR)
    first = signed_in(client, mentor)
    clock.advance(minutes=20)

    response = refresh(client, first["refresh_token"])

    assert response.status_code == 200
    second = response.json
    assert second["token_type"] == "Bearer"
    assert second["expires_in"] == 15 * 60
    assert second["refresh_token"] != first["refresh_token"]
    assert second["access_token"] != first["access_token"]
    assert session_id_of(second["access_token"]) == session_id_of(first["access_token"])
    assert me(client, second["access_token"]).json["id"] == str(mentor.id)


def test_a_refreshed_access_token_lasts_fifteen_minutes_from_the_refresh(client, db_session, clock):
    mentor = make_user(db_session, Role.MENTOR)
    first = signed_in(client, mentor)
    clock.advance(minutes=20)
    second = refresh(client, first["refresh_token"]).json

    assert_refused_access(me(client, first["access_token"]))
    clock.advance(minutes=14)
    assert me(client, second["access_token"]).status_code == 200
    clock.advance(minutes=1)
    assert_refused_access(me(client, second["access_token"]))


def test_a_used_refresh_token_does_not_work_a_second_time(client, db_session):
    mentor = make_user(db_session, Role.MENTOR)
    first = signed_in(client, mentor)
    assert refresh(client, first["refresh_token"]).status_code == 200

    assert_refused_refresh(refresh(client, first["refresh_token"]))


def test_a_reused_refresh_token_revokes_the_whole_sign_in(client, db_session, clock):
    mentor = make_user(db_session, Role.MENTOR)
    first = signed_in(client, mentor)
    clock.advance(minutes=1)
    second = refresh(client, first["refresh_token"]).json
    assert me(client, second["access_token"]).status_code == 200

    # Someone replays the copied, already-used refresh token: theft.
    assert_refused_refresh(refresh(client, first["refresh_token"]))

    assert_refused_access(me(client, second["access_token"]))
    assert_refused_refresh(refresh(client, second["refresh_token"]))


def test_a_reused_refresh_token_does_not_end_the_users_other_sign_ins(client, db_session):
    mentor = make_user(db_session, Role.MENTOR)
    phone = signed_in(client, mentor)
    laptop = signed_in(client, mentor)
    refresh(client, phone["refresh_token"])

    assert_refused_refresh(refresh(client, phone["refresh_token"]))

    assert me(client, laptop["access_token"]).status_code == 200
    assert refresh(client, laptop["refresh_token"]).status_code == 200


def test_refresh_tokens_keep_rotating_for_as_long_as_each_is_used_once(client, db_session, clock):
    mentor = make_user(db_session, Role.MENTOR)
    tokens = signed_in(client, mentor)

    for _ in range(3):
        clock.advance(minutes=10)
        response = refresh(client, tokens["refresh_token"])
        assert response.status_code == 200
        tokens = response.json

    assert me(client, tokens["access_token"]).status_code == 200


def test_an_unknown_refresh_token_is_refused(client, db_session):
    assert_refused_refresh(refresh(client, "made-up-refresh-token"))


def test_an_access_token_cannot_be_used_as_a_refresh_token(client, db_session):
    mentor = make_user(db_session, Role.MENTOR)
    tokens = signed_in(client, mentor)

    response = client.post("/auth/refresh", json={"refresh_token": tokens["access_token"]})

    # Access tokens are longer than any refresh token, so the contract turns them away before the database.
    assert response.status_code == 422
    assert response.json["reason"] == "invalid_request"
    assert set(response.json["errors"]) == {"refresh_token"}
    assert refresh(client, tokens["refresh_token"]).status_code == 200


def test_a_refresh_token_stops_working_when_the_sign_in_expires_after_thirty_days(client, db_session, clock):
    mentor = make_user(db_session, Role.MENTOR)
    tokens = signed_in(client, mentor)

    clock.advance(days=30)

    assert_refused_refresh(refresh(client, tokens["refresh_token"]))


def test_a_refresh_token_still_works_just_before_the_sign_in_expires(client, db_session, clock):
    mentor = make_user(db_session, Role.MENTOR)
    tokens = signed_in(client, mentor)

    clock.advance(days=29, hours=23)

    assert refresh(client, tokens["refresh_token"]).status_code == 200


def test_a_deactivated_user_cannot_refresh(client, db_session):
    mentor = make_user(db_session, Role.MENTOR)
    tokens = signed_in(client, mentor)
    mentor.is_active = False
    db_session.commit()

    assert_refused_refresh(refresh(client, tokens["refresh_token"]))


def test_a_refresh_request_without_a_token_is_a_field_error(client, db_session):
    response = client.post("/auth/refresh", json={})

    assert response.status_code == 422
    assert response.json["reason"] == "invalid_request"
    assert set(response.json["errors"]) == {"refresh_token"}


# --- signing out ----------------------------------------------------------------------------------------


def test_signing_out_ends_that_devices_access_and_refresh_tokens(client, db_session):
    mentor = make_user(db_session, Role.MENTOR)
    tokens = signed_in(client, mentor)

    response = client.post("/auth/sign-out", headers=bearer(tokens["access_token"]))

    assert response.status_code == 204
    assert response.data == b""
    assert_refused_access(me(client, tokens["access_token"]))
    assert_refused_refresh(refresh(client, tokens["refresh_token"]))


def test_signing_out_leaves_the_same_users_other_devices_signed_in(client, db_session):
    mentor = make_user(db_session, Role.MENTOR)
    phone = signed_in(client, mentor)
    laptop = signed_in(client, mentor)

    assert client.post("/auth/sign-out", headers=bearer(phone["access_token"])).status_code == 204

    assert me(client, laptop["access_token"]).status_code == 200
    assert refresh(client, laptop["refresh_token"]).status_code == 200


def test_signing_out_needs_a_valid_access_token(client, db_session):
    assert_refused_access(client.post("/auth/sign-out"))


def test_signing_out_twice_is_refused_the_second_time(client, db_session):
    mentor = make_user(db_session, Role.MENTOR)
    tokens = signed_in(client, mentor)
    client.post("/auth/sign-out", headers=bearer(tokens["access_token"]))

    assert_refused_access(client.post("/auth/sign-out", headers=bearer(tokens["access_token"])))


def test_signing_in_again_after_signing_out_works(client, db_session):
    mentor = make_user(db_session, Role.MENTOR)
    tokens = signed_in(client, mentor)
    client.post("/auth/sign-out", headers=bearer(tokens["access_token"]))

    again = signed_in(client, mentor)

    assert me(client, again["access_token"]).status_code == 200


# --- revoking every sign-in (a lost phone) --------------------------------------------------------------


def revoke(client, headers, user):
    return client.post(f"/users/{user.id}/revoke-sign-ins", headers=headers)


def test_an_admin_can_revoke_anyones_sign_ins(client, db_session):
    admin = make_user(db_session, Role.ADMIN)
    commissioner = make_user(db_session, Role.COMMISSIONER)
    tokens = signed_in(client, commissioner)

    response = revoke(client, auth_headers(db_session, admin), commissioner)

    assert response.status_code == 200
    assert response.json == {"revoked": 1}
    assert_refused_access(me(client, tokens["access_token"]))
    assert_refused_refresh(refresh(client, tokens["refresh_token"]))


def test_revoking_sign_ins_ends_every_device_and_counts_them(client, db_session):
    admin = make_user(db_session, Role.ADMIN)
    mentor = make_user(db_session, Role.MENTOR)
    phone, laptop = signed_in(client, mentor), signed_in(client, mentor)
    admin_headers = auth_headers(db_session, admin)

    assert revoke(client, admin_headers, mentor).json == {"revoked": 2}

    assert_refused_access(me(client, phone["access_token"]))
    assert_refused_access(me(client, laptop["access_token"]))
    assert revoke(client, admin_headers, mentor).json == {"revoked": 0}


def test_a_revoked_mentor_can_sign_in_again_with_their_password(client, db_session):
    admin = make_user(db_session, Role.ADMIN)
    mentor = make_user(db_session, Role.MENTOR)
    signed_in(client, mentor)
    revoke(client, auth_headers(db_session, admin), mentor)

    again = signed_in(client, mentor)

    assert me(client, again["access_token"]).status_code == 200


def test_revoking_someones_sign_ins_leaves_the_revokers_own_sign_in_working(client, db_session):
    admin = make_user(db_session, Role.ADMIN)
    mentor = make_user(db_session, Role.MENTOR)
    admin_headers = auth_headers(db_session, admin)

    revoke(client, admin_headers, mentor)

    assert client.get("/auth/me", headers=admin_headers).status_code == 200


def test_a_coordinator_can_revoke_the_sign_ins_of_a_mentor_in_their_programme(client, db_session):
    programme = make_programme(db_session)
    coordinator = make_user(db_session, Role.COORDINATOR, programme=programme)
    mentor = make_user(db_session, Role.MENTOR, programme=programme)
    tokens = signed_in(client, mentor)
    assert me(client, tokens["access_token"]).status_code == 200

    response = revoke(client, auth_headers(db_session, coordinator), mentor)

    assert response.status_code == 200
    assert response.json == {"revoked": 1}
    # The lost phone is cut off at its very next request, not when its access token expires.
    assert_refused_access(me(client, tokens["access_token"]))
    assert_refused_refresh(refresh(client, tokens["refresh_token"]))


def test_a_coordinator_of_another_programme_cannot_find_the_mentor_to_revoke(client, db_session):
    mentor = make_user(db_session, Role.MENTOR)
    other_coordinator = make_user(db_session, Role.COORDINATOR)
    tokens = signed_in(client, mentor)

    response = revoke(client, auth_headers(db_session, other_coordinator), mentor)

    assert response.status_code == 404
    assert response.json["reason"] == "user_not_found"
    assert me(client, tokens["access_token"]).status_code == 200


def test_a_coordinator_cannot_revoke_another_coordinators_sign_ins(client, db_session):
    programme = make_programme(db_session)
    coordinator = make_user(db_session, Role.COORDINATOR, programme=programme)
    colleague = make_user(db_session, Role.COORDINATOR, programme=programme)
    tokens = signed_in(client, colleague)

    response = revoke(client, auth_headers(db_session, coordinator), colleague)

    assert response.status_code == 404
    assert response.json["reason"] == "user_not_found"
    assert me(client, tokens["access_token"]).status_code == 200


def test_a_coordinator_cannot_revoke_an_admins_sign_ins(client, db_session):
    coordinator = make_user(db_session, Role.COORDINATOR)
    admin = make_user(db_session, Role.ADMIN)

    response = revoke(client, auth_headers(db_session, coordinator), admin)

    assert response.status_code == 404
    assert response.json["reason"] == "user_not_found"


def test_a_mentor_may_not_revoke_sign_ins(client, db_session):
    programme = make_programme(db_session)
    mentor = make_user(db_session, Role.MENTOR, programme=programme)
    colleague = make_user(db_session, Role.MENTOR, programme=programme)
    tokens = signed_in(client, colleague)

    response = revoke(client, auth_headers(db_session, mentor), colleague)

    assert response.status_code == 403
    assert response.json["reason"] == "forbidden"
    assert me(client, tokens["access_token"]).status_code == 200


def test_a_commissioner_may_not_revoke_sign_ins(client, db_session):
    programme = make_programme(db_session)
    commissioner = make_user(db_session, Role.COMMISSIONER, programme=programme)
    mentor = make_user(db_session, Role.MENTOR, programme=programme)

    response = revoke(client, auth_headers(db_session, commissioner), mentor)

    assert response.status_code == 403
    assert response.json["reason"] == "forbidden"


def test_revoking_the_sign_ins_of_an_unknown_user_is_not_found(client, db_session):
    admin = make_user(db_session, Role.ADMIN)

    response = client.post(f"/users/{uuid.uuid4()}/revoke-sign-ins", headers=auth_headers(db_session, admin))

    assert response.status_code == 404
    assert response.json["reason"] == "user_not_found"
