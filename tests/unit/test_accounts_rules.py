"""The pure account rules: roles, who needs a programme, password strength and what an actor may see."""

from __future__ import annotations

import dataclasses
import uuid

import pytest

from api.accounts.rules import MIN_PASSWORD_LENGTH, password_problem, programme_required
from api.actors import Actor, Role


def actor(role: Role, programme_id: uuid.UUID | None = None) -> Actor:
    return Actor(user_id=uuid.uuid4(), role=role, programme_id=programme_id)


# --- roles ----------------------------------------------------------------------------------------------


def test_there_are_exactly_four_roles_with_stable_names():
    assert [role.value for role in Role] == ["admin", "coordinator", "mentor", "commissioner"]


def test_a_role_compares_equal_to_its_name():
    assert Role("mentor") is Role.MENTOR
    assert Role.COORDINATOR == "coordinator"


def test_an_unknown_role_name_is_not_a_role():
    with pytest.raises(ValueError):
        Role("superuser")


# --- programmes -----------------------------------------------------------------------------------------


def test_an_admin_needs_no_programme():
    assert programme_required(Role.ADMIN) is False


@pytest.mark.parametrize("role", [Role.COORDINATOR, Role.MENTOR, Role.COMMISSIONER])
def test_everyone_except_an_admin_belongs_to_a_programme(role):
    assert programme_required(role) is True


# --- passwords ------------------------------------------------------------------------------------------


def test_the_minimum_password_length_is_twelve():
    assert MIN_PASSWORD_LENGTH == 12


@pytest.mark.parametrize("password", ["", "a", "short", "elevenchars", "x" * 11])
def test_a_password_shorter_than_twelve_characters_is_a_problem(password):
    assert password_problem(password) == "Use at least 12 characters."


@pytest.mark.parametrize("password", ["x" * 12, "twelve chars", "correct horse battery staple", "y" * 256])
def test_a_password_of_twelve_to_256_characters_is_fine(password):
    assert password_problem(password) is None


def test_a_password_longer_than_256_characters_is_a_problem():
    assert password_problem("z" * 257) == "Use at most 256 characters."


def test_password_strength_is_about_length_not_composition():
    # NCSC guidance: no rules demanding digits, capitals or symbols.
    assert password_problem("alllowercaseletters") is None
    assert password_problem("Abc1!") == "Use at least 12 characters."


def test_password_length_counts_characters_not_bytes():
    # Eleven characters, but more than twelve bytes in UTF-8: still too short.
    assert password_problem("é" * 11) == "Use at least 12 characters."
    assert password_problem("é" * 12) is None


# --- actors ---------------------------------------------------------------------------------------------


def test_an_admin_sees_every_programme():
    admin = actor(Role.ADMIN)

    assert admin.sees_programme(uuid.uuid4())
    assert admin.sees_programme(uuid.uuid4())


@pytest.mark.parametrize("role", [Role.COORDINATOR, Role.MENTOR, Role.COMMISSIONER])
def test_a_programme_user_sees_their_own_programme(role):
    programme_id = uuid.uuid4()

    assert actor(role, programme_id).sees_programme(programme_id) is True


@pytest.mark.parametrize("role", [Role.COORDINATOR, Role.MENTOR, Role.COMMISSIONER])
def test_a_programme_user_does_not_see_another_programme(role):
    assert actor(role, uuid.uuid4()).sees_programme(uuid.uuid4()) is False


def test_a_programme_user_with_no_programme_sees_no_programme():
    assert actor(Role.COORDINATOR, None).sees_programme(uuid.uuid4()) is False


def test_an_actor_is_not_tied_to_a_sign_in_unless_given_one():
    assert actor(Role.MENTOR, uuid.uuid4()).auth_session_id is None

    auth_session_id = uuid.uuid4()
    signed_in = Actor(user_id=uuid.uuid4(), role=Role.MENTOR, programme_id=None, auth_session_id=auth_session_id)

    assert signed_in.auth_session_id == auth_session_id


def test_an_actor_cannot_be_changed_once_made():
    mentor = actor(Role.MENTOR, uuid.uuid4())

    with pytest.raises(dataclasses.FrozenInstanceError):
        mentor.role = Role.ADMIN  # type: ignore[misc]
