"""User management: who may create, list and change accounts, and the rules every account keeps."""

from __future__ import annotations

import uuid

import pytest

from api.actors import Role
from tests.builders import PASSWORD, auth_headers, make_programme, make_user, unique
from tests.conftest import DEFAULT_NOW

USER_FIELDS = {
    "id",
    "email",
    "display_name",
    "role",
    "programme_id",
    "max_caseload",
    "mobile",
    "is_active",
    "locked_until",
    "created_at",
    "mfa_enrolled",
}
NEW_PASSWORD = "a long enough new password"


def new_user(role: str, programme_id=None, **overrides):
    body = {
        "email": f"{unique('new')}@example.org",
        "display_name": "Sam Newperson",
        "role": role,
        "password": NEW_PASSWORD,
    }
    if programme_id is not None:
        body["programme_id"] = str(programme_id)
    if role == "mentor":
        body["max_caseload"] = 8
    return body | overrides


def create(client, headers, body):
    return client.post("/users", json=body, headers=headers)


def sign_in(client, email, password):
    return client.post("/auth/sign-in", json={"email": email, "password": password})


def bearer(access_token):
    return {"Authorization": f"Bearer {access_token}"}


def assert_field_error(response, reason, field):
    assert response.status_code == 422
    assert response.json["reason"] == reason
    assert set(response.json["errors"]) == {field}


@pytest.fixture()
def admin_headers(db_session):
    return auth_headers(db_session, make_user(db_session, Role.ADMIN))


# --- creating users -------------------------------------------------------------------------------------


@pytest.mark.parametrize("role", ["coordinator", "mentor", "commissioner"])
def test_an_admin_can_create_a_programme_user_of_any_role(client, db_session, admin_headers, role):
    programme = make_programme(db_session)
    body = new_user(role, programme.id)

    response = create(client, admin_headers, body)

    assert response.status_code == 201
    user = response.json
    assert set(user) == USER_FIELDS
    uuid.UUID(user["id"])
    assert user["email"] == body["email"]
    assert user["display_name"] == "Sam Newperson"
    assert user["role"] == role
    assert user["programme_id"] == str(programme.id)
    assert user["max_caseload"] == (8 if role == "mentor" else None)
    assert user["is_active"] is True
    assert user["created_at"] == DEFAULT_NOW.isoformat()


def test_an_admin_can_create_another_admin_who_belongs_to_no_programme(client, db_session, admin_headers):
    programme = make_programme(db_session)

    response = create(client, admin_headers, new_user("admin", programme.id))

    assert response.status_code == 201
    assert response.json["role"] == "admin"
    assert response.json["programme_id"] is None


def test_a_new_user_can_sign_in_with_the_password_they_were_given(client, db_session, admin_headers):
    programme = make_programme(db_session)
    body = new_user("mentor", programme.id)
    created = create(client, admin_headers, body).json

    response = sign_in(client, body["email"], NEW_PASSWORD)

    assert response.status_code == 200
    me = client.get("/auth/me", headers=bearer(response.json["access_token"]))
    assert me.json["id"] == created["id"]


def test_a_new_users_email_is_stored_in_lower_case(client, db_session, admin_headers):
    programme = make_programme(db_session)
    email = f"{unique('Mixed.Case')}@Example.ORG"

    response = create(client, admin_headers, new_user("coordinator", programme.id, email=email))

    assert response.status_code == 201
    assert response.json["email"] == email.lower()
    assert sign_in(client, email, NEW_PASSWORD).status_code == 200


def test_the_password_is_never_echoed_back_when_a_user_is_created(client, db_session, admin_headers):
    programme = make_programme(db_session)

    response = create(client, admin_headers, new_user("coordinator", programme.id))

    assert "password" not in response.json
    assert "password_hash" not in response.json
    assert NEW_PASSWORD not in response.get_data(as_text=True)


def test_a_password_shorter_than_twelve_characters_is_refused_as_weak(client, db_session, admin_headers):
    programme = make_programme(db_session)

    response = create(client, admin_headers, new_user("coordinator", programme.id, password="elevenchars"))

    assert_field_error(response, "weak_password", "password")
    assert response.json["errors"]["password"] == ["Use at least 12 characters."]
    assert response.json["message"] == "Use at least 12 characters."


def test_a_password_of_exactly_twelve_characters_is_accepted(client, db_session, admin_headers):
    programme = make_programme(db_session)

    response = create(client, admin_headers, new_user("coordinator", programme.id, password="twelve chars"))

    assert response.status_code == 201


def test_a_password_longer_than_256_characters_is_refused(client, db_session, admin_headers):
    programme = make_programme(db_session)

    response = create(client, admin_headers, new_user("coordinator", programme.id, password="x" * 257))

    assert response.status_code == 422
    assert set(response.json["errors"]) == {"password"}


@pytest.mark.parametrize("role", ["coordinator", "mentor", "commissioner"])
def test_a_user_other_than_an_admin_needs_a_programme(client, db_session, admin_headers, role):
    response = create(client, admin_headers, new_user(role))

    assert_field_error(response, "programme_required_for_role", "programme_id")


def test_a_user_cannot_be_put_in_a_programme_that_does_not_exist(client, db_session, admin_headers):
    response = create(client, admin_headers, new_user("coordinator", uuid.uuid4()))

    assert_field_error(response, "programme_required_for_role", "programme_id")


def test_a_mentor_needs_a_maximum_caseload(client, db_session, admin_headers):
    programme = make_programme(db_session)
    body = new_user("mentor", programme.id)
    del body["max_caseload"]

    response = create(client, admin_headers, body)

    assert_field_error(response, "max_caseload_required", "max_caseload")


@pytest.mark.parametrize("role", ["coordinator", "commissioner", "admin"])
def test_only_a_mentor_has_a_maximum_caseload(client, db_session, admin_headers, role):
    programme = make_programme(db_session)

    response = create(client, admin_headers, new_user(role, programme.id, max_caseload=5))

    assert_field_error(response, "caseload_only_for_mentors", "max_caseload")


@pytest.mark.parametrize("max_caseload", [-1, 201])
def test_a_maximum_caseload_outside_0_to_200_is_refused(client, db_session, admin_headers, max_caseload):
    programme = make_programme(db_session)

    response = create(client, admin_headers, new_user("mentor", programme.id, max_caseload=max_caseload))

    assert_field_error(response, "invalid_request", "max_caseload")


def test_an_email_already_registered_is_refused(client, db_session, admin_headers):
    existing = make_user(db_session, Role.MENTOR)

    response = create(client, admin_headers, new_user("coordinator", existing.programme_id, email=existing.email))

    assert response.status_code == 409
    assert response.json["reason"] == "email_already_registered"


def test_an_email_already_registered_is_refused_whatever_its_case(client, db_session, admin_headers):
    existing = make_user(db_session, Role.MENTOR)

    response = create(
        client, admin_headers, new_user("coordinator", existing.programme_id, email=existing.email.upper())
    )

    assert response.status_code == 409
    assert response.json["reason"] == "email_already_registered"


def test_a_blank_display_name_is_refused(client, db_session, admin_headers):
    programme = make_programme(db_session)

    response = create(client, admin_headers, new_user("coordinator", programme.id, display_name="   "))

    assert_field_error(response, "invalid_request", "display_name")


def test_an_unknown_role_is_refused(client, db_session, admin_headers):
    programme = make_programme(db_session)

    response = create(client, admin_headers, new_user("superuser", programme.id))

    assert_field_error(response, "invalid_request", "role")


def test_creating_a_user_needs_every_required_field(client, db_session, admin_headers):
    response = create(client, admin_headers, {})

    assert response.status_code == 422
    assert response.json["reason"] == "invalid_request"
    assert set(response.json["errors"]) == {"email", "display_name", "role", "password"}


def test_a_coordinator_can_create_a_mentor_in_their_own_programme(client, db_session):
    coordinator = make_user(db_session, Role.COORDINATOR)

    response = create(client, auth_headers(db_session, coordinator), new_user("mentor", coordinator.programme_id))

    assert response.status_code == 201
    assert response.json["role"] == "mentor"
    assert response.json["programme_id"] == str(coordinator.programme_id)


def test_a_mentor_created_by_a_coordinator_without_a_programme_joins_the_coordinators(client, db_session):
    coordinator = make_user(db_session, Role.COORDINATOR)

    response = create(client, auth_headers(db_session, coordinator), new_user("mentor"))

    assert response.status_code == 201
    assert response.json["programme_id"] == str(coordinator.programme_id)


def test_a_coordinator_cannot_create_a_mentor_in_another_programme(client, db_session):
    coordinator = make_user(db_session, Role.COORDINATOR)
    other_programme = make_programme(db_session)

    response = create(client, auth_headers(db_session, coordinator), new_user("mentor", other_programme.id))

    assert response.status_code == 403
    assert response.json["reason"] == "forbidden"


@pytest.mark.parametrize("role", ["coordinator", "admin", "commissioner"])
def test_a_coordinator_can_create_only_mentors(client, db_session, role):
    coordinator = make_user(db_session, Role.COORDINATOR)
    body = new_user(role, coordinator.programme_id)

    response = create(client, auth_headers(db_session, coordinator), body)

    assert response.status_code == 403
    assert response.json["reason"] == "forbidden"
    assert sign_in(client, body["email"], NEW_PASSWORD).json["reason"] == "invalid_credentials"


@pytest.mark.parametrize("role", [Role.MENTOR, Role.COMMISSIONER])
def test_mentors_and_commissioners_cannot_create_users(client, db_session, role):
    caller = make_user(db_session, role)

    response = create(client, auth_headers(db_session, caller), new_user("mentor", caller.programme_id))

    assert response.status_code == 403
    assert response.json["reason"] == "forbidden"


def test_creating_a_user_needs_a_sign_in(client, db_session):
    programme = make_programme(db_session)

    response = client.post("/users", json=new_user("mentor", programme.id))

    assert response.status_code == 401
    assert response.json["reason"] == "access_token_invalid"


# --- listing users --------------------------------------------------------------------------------------


def listed_ids(response):
    assert response.status_code == 200
    return {user["id"] for user in response.json}


def test_an_admin_lists_users_across_every_programme(client, db_session):
    admin = make_user(db_session, Role.ADMIN)
    here, there = make_user(db_session, Role.MENTOR), make_user(db_session, Role.COORDINATOR)

    ids = listed_ids(client.get("/users", headers=auth_headers(db_session, admin)))

    assert {str(admin.id), str(here.id), str(there.id)} <= ids


def test_a_coordinator_lists_only_the_users_of_their_own_programme(client, db_session):
    programme = make_programme(db_session)
    coordinator = make_user(db_session, Role.COORDINATOR, programme=programme)
    mentor = make_user(db_session, Role.MENTOR, programme=programme)
    commissioner = make_user(db_session, Role.COMMISSIONER, programme=programme)
    make_user(db_session, Role.MENTOR)
    make_user(db_session, Role.COORDINATOR)
    make_user(db_session, Role.ADMIN)

    ids = listed_ids(client.get("/users", headers=auth_headers(db_session, coordinator)))

    assert ids == {str(coordinator.id), str(mentor.id), str(commissioner.id)}


def test_users_can_be_listed_by_role(client, db_session):
    programme = make_programme(db_session)
    coordinator = make_user(db_session, Role.COORDINATOR, programme=programme)
    mentors = [make_user(db_session, Role.MENTOR, programme=programme) for _ in range(2)]
    make_user(db_session, Role.COMMISSIONER, programme=programme)

    ids = listed_ids(client.get("/users?role=mentor", headers=auth_headers(db_session, coordinator)))

    assert ids == {str(mentor.id) for mentor in mentors}


def test_listing_by_an_unknown_role_is_a_field_error(client, db_session):
    coordinator = make_user(db_session, Role.COORDINATOR)

    response = client.get("/users?role=wizard", headers=auth_headers(db_session, coordinator))

    assert_field_error(response, "invalid_request", "role")


def test_the_user_list_never_shows_password_hashes(client, db_session):
    coordinator = make_user(db_session, Role.COORDINATOR)
    make_user(db_session, Role.MENTOR, programme_id=coordinator.programme_id)

    response = client.get("/users", headers=auth_headers(db_session, coordinator))

    assert response.status_code == 200
    assert len(response.json) == 2
    assert all(set(user) == USER_FIELDS for user in response.json)
    assert "argon2" not in response.get_data(as_text=True)


@pytest.mark.parametrize("role", [Role.MENTOR, Role.COMMISSIONER])
def test_mentors_and_commissioners_cannot_list_users(client, db_session, role):
    caller = make_user(db_session, role)

    response = client.get("/users", headers=auth_headers(db_session, caller))

    assert response.status_code == 403
    assert response.json["reason"] == "forbidden"


# --- changing users -------------------------------------------------------------------------------------


def patch(client, headers, user, body):
    return client.patch(f"/users/{user.id}", json=body, headers=headers)


def test_an_admin_can_rename_a_user(client, db_session, admin_headers):
    coordinator = make_user(db_session, Role.COORDINATOR)

    response = patch(client, admin_headers, coordinator, {"display_name": "Renamed Person"})

    assert response.status_code == 200
    assert response.json["display_name"] == "Renamed Person"
    assert response.json["id"] == str(coordinator.id)


def test_a_coordinator_can_change_the_caseload_of_a_mentor_in_their_programme(client, db_session):
    programme = make_programme(db_session)
    coordinator = make_user(db_session, Role.COORDINATOR, programme=programme)
    mentor = make_user(db_session, Role.MENTOR, programme=programme)

    response = patch(client, auth_headers(db_session, coordinator), mentor, {"max_caseload": 4})

    assert response.status_code == 200
    assert response.json["max_caseload"] == 4


def test_a_caseload_cannot_be_given_to_someone_who_is_not_a_mentor(client, db_session, admin_headers):
    coordinator = make_user(db_session, Role.COORDINATOR)

    response = patch(client, admin_headers, coordinator, {"max_caseload": 4})

    assert_field_error(response, "caseload_only_for_mentors", "max_caseload")


def test_a_users_role_cannot_be_changed(client, db_session, admin_headers):
    mentor = make_user(db_session, Role.MENTOR)

    response = patch(client, admin_headers, mentor, {"role": "admin"})

    assert_field_error(response, "invalid_request", "role")


def test_deactivating_a_user_revokes_their_sign_ins(client, db_session, admin_headers):
    mentor = make_user(db_session, Role.MENTOR)
    tokens = sign_in(client, mentor.email, PASSWORD).json

    response = patch(client, admin_headers, mentor, {"is_active": False})

    assert response.status_code == 200
    assert response.json["is_active"] is False
    assert client.get("/auth/me", headers=bearer(tokens["access_token"])).status_code == 401
    refresh = client.post("/auth/refresh", json={"refresh_token": tokens["refresh_token"]})
    assert refresh.status_code == 401
    assert refresh.json["reason"] == "refresh_token_invalid"


def test_a_deactivated_user_cannot_sign_in(client, db_session, admin_headers):
    mentor = make_user(db_session, Role.MENTOR)
    patch(client, admin_headers, mentor, {"is_active": False})

    response = sign_in(client, mentor.email, PASSWORD)

    assert response.status_code == 401
    assert response.json["reason"] == "invalid_credentials"


def test_a_reactivated_user_can_sign_in_again_but_old_sign_ins_stay_revoked(client, db_session, admin_headers):
    mentor = make_user(db_session, Role.MENTOR)
    old = sign_in(client, mentor.email, PASSWORD).json
    patch(client, admin_headers, mentor, {"is_active": False})

    response = patch(client, admin_headers, mentor, {"is_active": True})

    assert response.status_code == 200
    assert response.json["is_active"] is True
    assert client.get("/auth/me", headers=bearer(old["access_token"])).status_code == 401
    new = sign_in(client, mentor.email, PASSWORD)
    assert new.status_code == 200
    assert client.get("/auth/me", headers=bearer(new.json["access_token"])).status_code == 200


def test_a_coordinator_can_deactivate_a_mentor_in_their_programme(client, db_session):
    programme = make_programme(db_session)
    coordinator = make_user(db_session, Role.COORDINATOR, programme=programme)
    mentor = make_user(db_session, Role.MENTOR, programme=programme)
    mentor_headers = auth_headers(db_session, mentor)

    response = patch(client, auth_headers(db_session, coordinator), mentor, {"is_active": False})

    assert response.status_code == 200
    assert client.get("/auth/me", headers=mentor_headers).status_code == 401


def test_a_coordinator_of_another_programme_cannot_find_the_mentor_to_change(client, db_session):
    mentor = make_user(db_session, Role.MENTOR)
    other_coordinator = make_user(db_session, Role.COORDINATOR)

    response = patch(client, auth_headers(db_session, other_coordinator), mentor, {"is_active": False})

    assert response.status_code == 404
    assert response.json["reason"] == "user_not_found"
    assert sign_in(client, mentor.email, PASSWORD).status_code == 200


def test_a_coordinator_cannot_change_another_coordinator(client, db_session):
    programme = make_programme(db_session)
    coordinator = make_user(db_session, Role.COORDINATOR, programme=programme)
    colleague = make_user(db_session, Role.COORDINATOR, programme=programme)

    response = patch(client, auth_headers(db_session, coordinator), colleague, {"is_active": False})

    assert response.status_code == 404
    assert response.json["reason"] == "user_not_found"


def test_a_mentor_cannot_change_users(client, db_session):
    programme = make_programme(db_session)
    mentor = make_user(db_session, Role.MENTOR, programme=programme)
    colleague = make_user(db_session, Role.MENTOR, programme=programme)

    response = patch(client, auth_headers(db_session, mentor), colleague, {"is_active": False})

    assert response.status_code == 403
    assert response.json["reason"] == "forbidden"


def test_changing_an_unknown_user_is_not_found(client, db_session, admin_headers):
    response = client.patch(f"/users/{uuid.uuid4()}", json={"display_name": "Nobody"}, headers=admin_headers)

    assert response.status_code == 404
    assert response.json["reason"] == "user_not_found"


# --- one's own account ----------------------------------------------------------------------------------


def test_me_returns_the_signed_in_users_own_account(client, db_session):
    mentor = make_user(db_session, Role.MENTOR, max_caseload=7)

    response = client.get("/auth/me", headers=auth_headers(db_session, mentor))

    assert response.status_code == 200
    assert response.json == {
        "id": str(mentor.id),
        "email": mentor.email,
        "display_name": mentor.display_name,
        "role": "mentor",
        "programme_id": str(mentor.programme_id),
        "max_caseload": 7,
        "mobile": None,
        "is_active": True,
        "locked_until": None,
        "created_at": DEFAULT_NOW.isoformat(),
        "mfa_enrolled": False,
    }


@pytest.mark.parametrize("role", list(Role))
def test_me_never_shows_the_password_hash(client, db_session, role):
    user = make_user(db_session, role)

    response = client.get("/auth/me", headers=auth_headers(db_session, user))

    assert response.status_code == 200
    assert response.json["role"] == role.value
    assert "password_hash" not in response.json
    assert "password" not in response.json
    assert user.password_hash not in response.get_data(as_text=True)


def test_a_mentor_can_have_a_work_mobile_for_reminders_and_a_landline_is_refused(client, db_session):
    programme = make_programme(db_session)
    coordinator = make_user(db_session, Role.COORDINATOR, programme=programme)
    headers = auth_headers(db_session, coordinator)
    body = {
        "email": "mobile.mentor@example.org",
        "display_name": "Mobile Mentor",
        "role": "mentor",
        "password": "a-long-enough-passphrase-for-tests",
        "max_caseload": 5,
        "mobile": "07700 900123",
    }

    created = client.post("/users", json=body, headers=headers)
    assert created.status_code == 201, created.json
    assert created.json["mobile"] == "+447700900123"

    landline = client.patch(f"/users/{created.json['id']}", json={"mobile": "+442079460000"}, headers=headers)
    assert landline.status_code == 422
    assert "mobile" in landline.json["errors"]
    cleared = client.patch(f"/users/{created.json['id']}", json={"mobile": None}, headers=headers)
    assert cleared.status_code == 200 and cleared.json["mobile"] is None
