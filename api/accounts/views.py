from __future__ import annotations

import uuid
from typing import Any

from flask import current_app, request
from flask_smorest import Blueprint

from api.accounts import queries, service
from api.accounts.rules import LockoutPolicy, Role
from api.accounts.schemas import (
    RefreshSchema,
    SignInSchema,
    TokenPairSchema,
    UserCreateSchema,
    UserListQuerySchema,
    UserSchema,
    UserUpdateSchema,
)
from api.auth import ALL_ROLES, STAFF, current_actor, requires, token_settings
from api.schemas import RevokedSchema
from api.web import RATE_LIMITED, clock, db_session, error_answer, forget_sign_in_attempts, spend_sign_in_budget

blp = Blueprint("accounts", __name__, description="Signing in, tokens and user accounts")

PUBLIC: list[dict[str, Any]] = []


def lockout_policy() -> LockoutPolicy:
    config = current_app.config
    return LockoutPolicy(
        threshold=int(config["SIGN_IN_LOCKOUT_FAILURES"]), minutes=int(config["SIGN_IN_LOCKOUT_MINUTES"])
    )


def sign_in_guards() -> service.SignInGuards:
    """What every door to sign-in (this API, the dashboard page) tells the service of the attempt: the client's
    address (as ProxyFix rebuilt it behind a proxy), the lock-out policy, and the email's budget of attempts."""
    return service.SignInGuards(
        client_address=request.remote_addr or "", lockout=lockout_policy(), spend_email_budget=spend_sign_in_budget
    )


@blp.route("/auth/sign-in", methods=["POST"])
@blp.doc(security=PUBLIC)
@blp.arguments(SignInSchema)
@blp.response(200, TokenPairSchema)
@blp.alt_response(401, **error_answer("Wrong email or password, or no such account: all answer alike"))
@blp.alt_response(429, **RATE_LIMITED)
def sign_in(body: dict[str, Any]) -> Any:
    """Sign in with email and password: a short-lived access token and a refresh token

    Attempts are rate-limited per client address and per email address (429 with Retry-After). Wrong passwords
    in a row lock the client address that made them out of the account for a while (SIGN_IN_LOCKOUT_FAILURES,
    SIGN_IN_LOCKOUT_MINUTES), not anyone else; a locked-out address is answered exactly as a wrong password is.
    An admin can unlock the account at once.
    """
    return service.sign_in(
        db_session(),
        email=body["email"],
        password=body["password"],
        settings=token_settings(),
        now=clock().now(),
        guards=sign_in_guards(),
    )


@blp.route("/auth/refresh", methods=["POST"])
@blp.doc(security=PUBLIC)
@blp.arguments(RefreshSchema)
@blp.response(200, TokenPairSchema)
@blp.alt_response(401, **error_answer("The refresh token is unknown, used, expired or revoked: sign in again"))
@blp.alt_response(429, **RATE_LIMITED)
def refresh(body: dict[str, Any]) -> Any:
    """Swap a refresh token for a new pair (the old refresh token stops working)"""
    return service.refresh(
        db_session(), refresh_token=body["refresh_token"], settings=token_settings(), now=clock().now()
    )


@blp.route("/auth/sign-out", methods=["POST"])
@requires(*ALL_ROLES)
@blp.response(204)
def sign_out() -> None:
    """Sign out this device: its access and refresh tokens stop working at once"""
    service.sign_out(db_session(), actor=current_actor(), now=clock().now())


@blp.route("/auth/me", methods=["GET"])
@requires(*ALL_ROLES)
@blp.response(200, UserSchema)
def me() -> Any:
    """The signed-in user's own account"""
    return service.get_own_account(db_session(), actor=current_actor())


@blp.route("/users", methods=["GET"])
@requires(*STAFF)
@blp.arguments(UserListQuerySchema, location="query")
@blp.response(200, UserSchema(many=True))
def list_users(args: dict[str, Any]) -> Any:
    """List users (coordinators see their own programme's)"""
    return queries.list_users(db_session(), actor=current_actor(), role=args.get("role"))


@blp.route("/users", methods=["POST"])
@requires(*STAFF)
@blp.arguments(UserCreateSchema)
@blp.response(201, UserSchema)
def create_user(body: dict[str, Any]) -> Any:
    """Create a user (coordinators may create mentors for their own programme)"""
    return service.create_user_as(
        db_session(),
        actor=current_actor(),
        now=clock().now(),
        accept_drama_numbers=current_app.config["ACCEPT_DRAMA_NUMBERS"],
        **body,
    )


@blp.route("/users/<uuid:user_id>", methods=["PATCH"])
@requires(*STAFF)
@blp.arguments(UserUpdateSchema)
@blp.response(200, UserSchema)
def update_user(body: dict[str, Any], user_id: uuid.UUID) -> Any:
    """Change a user's name, caseload limit or whether they can sign in"""
    return service.update_user(
        db_session(),
        actor=current_actor(),
        user_id=user_id,
        changes=body,
        now=clock().now(),
        accept_drama_numbers=current_app.config["ACCEPT_DRAMA_NUMBERS"],
    )


@blp.route("/users/<uuid:user_id>/revoke-sign-ins", methods=["POST"])
@requires(*STAFF)
@blp.response(200, RevokedSchema)
def revoke_sign_ins(user_id: uuid.UUID) -> Any:
    """Cut off every device the user is signed in on (for a lost or stolen phone)"""
    revoked = service.revoke_sign_ins(db_session(), actor=current_actor(), user_id=user_id, now=clock().now())
    return {"revoked": revoked}


@blp.route("/users/<uuid:user_id>/unlock", methods=["POST"])
@requires(Role.ADMIN)
@blp.response(200, UserSchema)
def unlock_user(user_id: uuid.UUID) -> Any:
    """Unlock an account locked by too many wrong passwords, at once (admins only; audited)"""
    user = service.unlock_user(db_session(), actor=current_actor(), user_id=user_id, now=clock().now())
    forget_sign_in_attempts(user.email)
    return user
