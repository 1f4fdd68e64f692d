from __future__ import annotations

import uuid
from typing import Any

from flask import current_app, request
from flask_smorest import Blueprint

from api.accounts import auth_sessions, queries, second_factor, service, signing_in
from api.accounts.rules import LockoutPolicy
from api.accounts.schemas import (
    EnrolledSignInSchema,
    MfaChallengeCodeSchema,
    MfaChallengeSchema,
    MfaEnrolmentSchema,
    MfaVerifySchema,
    RecoveryCodesSchema,
    RefreshSchema,
    SignInSchema,
    TokenPairSchema,
    TotpCodeSchema,
    UserCreateSchema,
    UserListQuerySchema,
    UserSchema,
    UserUpdateSchema,
)
from api.actors import Role
from api.auth import ALL_ROLES, STAFF, current_actor, requires
from api.schemas import RevokedSchema
from api.web import RATE_LIMITED, clock, db_session, error_answer, forget_sign_in_attempts, spend_sign_in_budget

blp = Blueprint("accounts", __name__, description="Signing in, tokens and user accounts")

PUBLIC: list[dict[str, Any]] = []


def lockout_policy() -> LockoutPolicy:
    config = current_app.config
    return LockoutPolicy(
        threshold=int(config["SIGN_IN_LOCKOUT_FAILURES"]), minutes=int(config["SIGN_IN_LOCKOUT_MINUTES"])
    )


def sign_in_guards() -> signing_in.SignInGuards:
    """What every door to sign-in (this API, the dashboard page) tells the service of the attempt: the client's
    address (as ProxyFix rebuilt it behind a proxy), the lock-out policy, and the email's budget of attempts."""
    return signing_in.SignInGuards(
        client_address=request.remote_addr or "", lockout=lockout_policy(), spend_email_budget=spend_sign_in_budget
    )


@blp.route("/auth/sign-in", methods=["POST"])
@blp.doc(security=PUBLIC)
@blp.arguments(SignInSchema)
@blp.response(200, TokenPairSchema)
@blp.alt_response(
    401,
    **error_answer(
        "Wrong email or password, or no such account: all answer alike (invalid_credentials). Or the password was "
        "right and the sign-in needs its second step: mfa_required, with a challenge_token"
    ),
)
@blp.alt_response(429, **RATE_LIMITED)
def sign_in(body: dict[str, Any]) -> Any:
    """Sign in with email and password: a short-lived access token and a refresh token

    Attempts are rate-limited per client address and per email address (429 with Retry-After). Wrong passwords
    in a row lock the client address that made them out of the account for a while (SIGN_IN_LOCKOUT_FAILURES,
    SIGN_IN_LOCKOUT_MINUTES), not anyone else; a locked-out address is answered exactly as a wrong password is.
    An admin can unlock the account at once.

    **Second factor.** For a user whose role needs one (admins and coordinators unless MFA_REQUIRED_ROLES says
    otherwise) or who set up an authenticator, a right password gives no tokens: the answer is 401 with reason
    `mfa_required`, a `challenge_token` (it opens only the second step, for a few minutes) and `mfa_enrolled`.
    Enrolled: send a code to `POST /auth/mfa/verify`. Not yet: `POST /auth/mfa/enrolment`, then
    `POST /auth/mfa/enrolment/confirm` with the authenticator's first code, which gives the tokens.
    """
    return signing_in.sign_in(
        db_session(),
        email=body["email"],
        password=body["password"],
        settings=_token_settings(),
        now=clock().now(),
        guards=sign_in_guards(),
    )


@blp.route("/auth/mfa/verify", methods=["POST"])
@blp.doc(security=PUBLIC)
@blp.arguments(MfaVerifySchema)
@blp.response(200, TokenPairSchema)
@blp.alt_response(
    401,
    **error_answer(
        "The code is wrong or used already, or the address is locked out (mfa_code_invalid, alike); or the "
        "challenge is not valid or expired (mfa_challenge_invalid): sign in again"
    ),
)
@blp.alt_response(409, **error_answer("No authenticator is set up yet (mfa_enrolment_not_started)"))
@blp.alt_response(429, **RATE_LIMITED)
def mfa_verify(body: dict[str, Any]) -> Any:
    """Finish a sign-in with its second factor: the token pair

    Send the `challenge_token` from the sign-in's `mfa_required` answer and either the 6-digit `code` the
    authenticator app shows now or one of the `recovery_code`s shown at enrolment (each works once). A code is
    accepted once only: the same code again (or an older one) is refused until the next one shows. Wrong codes
    count towards the client address's lock-out exactly as wrong passwords do, a locked-out address is answered
    as a wrong code is, and attempts share the sign-in's rate limits. The tokens record that the second factor
    was proven, and so do those of every refresh of them.
    """
    return second_factor.verify(
        db_session(),
        challenge_token=body["challenge_token"],
        code=body.get("code"),
        recovery_code=body.get("recovery_code"),
        settings=_token_settings(),
        now=clock().now(),
        guards=sign_in_guards(),
    )


@blp.route("/auth/mfa/enrolment", methods=["POST"])
@blp.doc(security=PUBLIC)
@blp.arguments(MfaChallengeSchema)
@blp.response(200, MfaEnrolmentSchema)
@blp.alt_response(401, **error_answer("The challenge is not valid or expired (mfa_challenge_invalid)"))
@blp.alt_response(409, **error_answer("An authenticator is set up already (mfa_already_enrolled)"))
@blp.alt_response(429, **RATE_LIMITED)
def mfa_enrol(body: dict[str, Any]) -> Any:
    """Set up an authenticator app while signing in (a user who needs a second factor and has none yet)

    With the `challenge_token` of a sign-in answered `mfa_required` with `mfa_enrolled: false`. The answer is
    the authenticator's `secret` and its `provisioning_uri` (otpauth://): show the URI as a QR code for the app
    to scan, or the secret to type in. Nothing is set up until `POST /auth/mfa/enrolment/confirm` proves the
    app's first code; asking again starts over with a new secret.
    """
    return second_factor.enrol_by_challenge(
        db_session(), challenge_token=body["challenge_token"], settings=_token_settings(), now=clock().now()
    )


@blp.route("/auth/mfa/enrolment/confirm", methods=["POST"])
@blp.doc(security=PUBLIC)
@blp.arguments(MfaChallengeCodeSchema)
@blp.response(200, EnrolledSignInSchema)
@blp.alt_response(
    401,
    **error_answer("The code is wrong (mfa_code_invalid), or the challenge is not valid (mfa_challenge_invalid)"),
)
@blp.alt_response(
    409, **error_answer("Set up first (mfa_enrolment_not_started), or set up already (mfa_already_enrolled)")
)
@blp.alt_response(429, **RATE_LIMITED)
def mfa_confirm(body: dict[str, Any]) -> Any:
    """Confirm the new authenticator with its first code: the token pair and the recovery codes

    The sign-in finishes with both factors (the token pair, as from sign-in), and the answer carries ten
    `recovery_codes`, each good for one sign-in without the authenticator. They are shown this once only: keep
    them safe. A wrong code counts towards the lock-out as a wrong password does.
    """
    enrolled = second_factor.confirm_by_challenge(
        db_session(),
        challenge_token=body["challenge_token"],
        code=body["code"],
        settings=_token_settings(),
        now=clock().now(),
        guards=sign_in_guards(),
    )
    return {**vars(enrolled.tokens), "recovery_codes": enrolled.recovery_codes}


@blp.route("/auth/me/mfa/enrolment", methods=["POST"])
@requires(*ALL_ROLES)
@blp.response(200, MfaEnrolmentSchema)
@blp.alt_response(409, **error_answer("An authenticator is set up already (mfa_already_enrolled)"))
def my_mfa_enrol() -> Any:
    """Set up an authenticator app of one's own accord (any role)

    As `POST /auth/mfa/enrolment`, for a signed-in user whose role does not require a second factor. Once
    confirmed, every sign-in of theirs asks for a code (the mentors' app asks for it too).
    """
    return second_factor.enrol_signed_in(db_session(), actor=current_actor(), settings=_token_settings())


@blp.route("/auth/me/mfa/enrolment/confirm", methods=["POST"])
@requires(*ALL_ROLES)
@blp.arguments(TotpCodeSchema)
@blp.response(200, RecoveryCodesSchema)
@blp.alt_response(401, **error_answer("The code is wrong (mfa_code_invalid)"))
@blp.alt_response(
    409, **error_answer("Set up first (mfa_enrolment_not_started), or set up already (mfa_already_enrolled)")
)
def my_mfa_confirm(body: dict[str, Any]) -> Any:
    """Confirm one's new authenticator with its first code: the recovery codes, shown once

    From then on every sign-in asks for a code. This sign-in keeps working; the user's other sign-ins, made with
    a password alone, stop at their next request.
    """
    codes = second_factor.confirm_signed_in(
        db_session(), actor=current_actor(), code=body["code"], settings=_token_settings(), now=clock().now()
    )
    return {"recovery_codes": codes}


@blp.route("/auth/refresh", methods=["POST"])
@blp.doc(security=PUBLIC)
@blp.arguments(RefreshSchema)
@blp.response(200, TokenPairSchema)
@blp.alt_response(401, **error_answer("The refresh token is unknown, used, expired or revoked: sign in again"))
@blp.alt_response(429, **RATE_LIMITED)
def refresh(body: dict[str, Any]) -> Any:
    """Swap a refresh token for a new pair (the old refresh token stops working)

    Send the refresh token from the last pair (from sign-in or the previous refresh) before the access token expires
    (`expires_in`, 15 minutes by default); the answer is a new access token and a new refresh token, and the one
    sent stops working. A refresh token that was already used is taken as copied: the whole sign-in is revoked, so
    every device holding its tokens must sign in again. An expired, revoked or unknown token, or a deactivated user,
    answers 401. Rate-limited per client address (429 with Retry-After). No access token needed. The new pair
    keeps the sign-in's second factor; a sign-in made with a password alone by a user who needs a second factor
    now is refused (401 `mfa_sign_in_required`): sign in again.
    """
    return auth_sessions.refresh(
        db_session(), refresh_token=body["refresh_token"], settings=_token_settings(), now=clock().now()
    )


@blp.route("/auth/sign-out", methods=["POST"])
@requires(*ALL_ROLES)
@blp.response(204)
def sign_out() -> None:
    """Sign out this device: its access and refresh tokens stop working at once

    Revokes the sign-in this access token belongs to: its access token and refresh token are refused from the next
    request on. Other devices the user is signed in on are not affected (see `POST
    /users/{user_id}/revoke-sign-ins`). Answers 204 with no body. Any role.
    """
    auth_sessions.sign_out(db_session(), actor=current_actor(), now=clock().now())


@blp.route("/auth/me", methods=["GET"])
@requires(*ALL_ROLES)
@blp.response(200, UserSchema)
def me() -> Any:
    """The signed-in user's own account

    Who the access token belongs to: name, email, role, programme, a mentor's caseload limit and work mobile, and
    when their latest lock-out ends. Any role; the phone app uses it to show who is signed in.
    """
    return service.get_own_account(db_session(), actor=current_actor())


@blp.route("/users", methods=["GET"])
@requires(*STAFF)
@blp.arguments(UserListQuerySchema, location="query")
@blp.response(200, UserSchema(many=True))
def list_users(args: dict[str, Any]) -> Any:
    """List users (coordinators see their own programme's)

    Admins see every account; coordinators see the accounts of their own programme. Filter by `role`. Sorted by
    display name. `locked_until` says when an account's latest sign-in lock-out ends.
    """
    return queries.list_users(db_session(), actor=current_actor(), role=args.get("role"))


@blp.route("/users", methods=["POST"])
@requires(*STAFF)
@blp.arguments(UserCreateSchema)
@blp.response(201, UserSchema)
def create_user(body: dict[str, Any]) -> Any:
    """Create a user (coordinators may create mentors for their own programme)

    Admins create any account; a coordinator may create only mentors, for their own programme (a `programme_id` left
    out is theirs; another programme's answers 403). Every role but admin needs a programme; mentors need a
    `max_caseload`, and only mentors may have one. The password must be at least 12 characters (422
    `weak_password`); an email already registered answers 409 `email_already_registered`. A mentor's work `mobile`,
    for SMS reminders of their sessions, must be a valid mobile number (UK unless written with its country code;
    landlines are refused).
    """
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
    """Change a user's name, caseload limit or whether they can sign in

    Change the display name, a mentor's maximum caseload or work mobile, or `is_active`. Deactivating an account
    revokes all of its sign-ins at once; reactivating it lets the user sign in again. Admins may change anyone; a
    coordinator only the mentors of their own programme (anyone else answers 404, as if they did not exist). A
    caseload limit on anyone but a mentor is refused (422).
    """
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
    """Cut off every device the user is signed in on (for a lost or stolen phone)

    Every sign-in the user has is revoked at once: their access and refresh tokens are refused from the next request
    on, on every device, and they must sign in again with their password. The answer says how many sign-ins were
    revoked. Admins may do it for anyone, a coordinator for the mentors of their own programme (anyone else answers
    404).
    """
    revoked = service.revoke_sign_ins(db_session(), actor=current_actor(), user_id=user_id, now=clock().now())
    return {"revoked": revoked}


@blp.route("/users/<uuid:user_id>/unlock", methods=["POST"])
@requires(Role.ADMIN)
@blp.response(200, UserSchema)
def unlock_user(user_id: uuid.UUID) -> Any:
    """Unlock an account locked by too many wrong passwords, at once (admins only; audited)

    Wrong passwords in a row from one client address lock that address out of the account for a while; this lifts
    every address's lock-out of the account at once, clears their counts of wrong passwords and the email's
    per-email sign-in rate limit, so the user can sign in straight away. Existing sign-ins are untouched. Admins
    only; the unlock is written to the audit log.
    """
    user = signing_in.unlock_user(db_session(), actor=current_actor(), user_id=user_id, now=clock().now())
    forget_sign_in_attempts(user.email)
    return user


@blp.route("/users/<uuid:user_id>/mfa/reset", methods=["POST"])
@requires(Role.ADMIN)
@blp.response(200, UserSchema)
def reset_mfa(user_id: uuid.UUID) -> Any:
    """Reset a user's lost authenticator (admins only; audited)

    Forgets the user's authenticator and recovery codes and ends every sign-in they have. If their role needs a
    second factor, their next sign-in sets up a new authenticator (`mfa_required` with `mfa_enrolled: false`).
    Admins only; the reset is written to the audit log.
    """
    return second_factor.reset(db_session(), actor=current_actor(), user_id=user_id, now=clock().now())


def _token_settings() -> auth_sessions.TokenSettings:
    return auth_sessions.TokenSettings.from_config(current_app.config)
