"""Sign-in, token refresh and revocation, and user management."""

from __future__ import annotations

import base64
import functools
import hashlib
import hmac
import secrets
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, cast

import jwt
from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import Table, and_, case, null, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session, joinedload

from api.accounts import errors
from api.accounts.models import AppUser, AuthSession, RefreshToken, SignInSource
from api.accounts.rules import (
    LockoutPolicy,
    SignInKind,
    is_known_source,
    is_locked,
    lock_ends_at,
    locks_now,
    password_problem,
    programme_required,
)
from api.actors import Actor, Role, client_network
from api.audit import service as audit
from api.db import new_id, step, transaction, use_case
from api.errors import PermissionDenied
from api.mobile_numbers import PHONE_NUMBER_ERRORS, MobileNumberProblem, normalise_mobile_number
from api.programmes.queries import get_programme_or_none

_password_hasher = PasswordHasher()


@functools.cache
def _dummy_hash() -> str:
    """Verified against when the email is unknown, so a wrong email costs the same time as a wrong password.
    Made on first need: hashing is deliberately slow, and the scheduler and CLI never sign anyone in."""
    return _password_hasher.hash("not-a-real-password-but-the-same-cost")


ACCESS_TOKEN_ALGORITHM = "HS256"
DEFAULT_LOCKOUT = LockoutPolicy()


@dataclass(frozen=True)
class TokenSettings:
    secret_key: str
    access_token_minutes: int
    refresh_token_days: int


@dataclass(frozen=True)
class TokenPair:
    access_token: str
    refresh_token: str
    expires_in: int
    token_type: str = "Bearer"


@dataclass(frozen=True)
class PageSignIn:
    """A sign-in to the dashboard page only: the cookie's value, when it ends, and who it is."""

    credential: str
    expires_at: datetime
    actor: Actor


def hash_password(password: str) -> str:
    return _password_hasher.hash(password)


def _token_digest(token: str) -> str:
    # Refresh tokens carry 256 bits of randomness, so a fast hash is enough to make a stolen table useless.
    return hashlib.sha256(token.encode()).hexdigest()


@step
def _issue_tokens(
    db_session: Session, *, auth_session: AuthSession, user: AppUser, settings: TokenSettings, now: datetime
) -> TokenPair:
    refresh_token = secrets.token_urlsafe(32)
    db_session.add(
        RefreshToken(auth_session_id=auth_session.id, token_hash=_token_digest(refresh_token), issued_at=now)
    )
    expires_at = now + timedelta(minutes=settings.access_token_minutes)
    claims = {
        "sub": str(user.id),
        "sid": str(auth_session.id),
        "role": user.role.value,
        "iat": int(now.timestamp()),
        "exp": int(expires_at.timestamp()),
    }
    access_token = jwt.encode(claims, settings.secret_key, algorithm=ACCESS_TOKEN_ALGORITHM)
    return TokenPair(access_token, refresh_token, expires_in=settings.access_token_minutes * 60)


def _spend_nothing(_email: str) -> None:
    """No budget of attempts per email (the scheduler, the CLI and tests that are not about it)."""


@dataclass(frozen=True)
class SignInGuards:
    """What a door to sign-in (the API, the dashboard page) knows of an attempt besides the email and password,
    for the lock-out (rules.py): the client's address, the policy, and the email's budget of attempts.

    `spend_email_budget(email)` counts one attempt against the email tried (SIGN_IN_LIMIT_PER_EMAIL, in the
    limits' shared store) and raises if it is spent; the service calls it only for attempts that can still guess
    and come from an address the account has not signed in from lately."""

    client_address: str
    lockout: LockoutPolicy = DEFAULT_LOCKOUT
    spend_email_budget: Callable[[str], None] = _spend_nothing


def sign_in(
    db_session: Session,
    *,
    email: str,
    password: str,
    settings: TokenSettings,
    now: datetime,
    guards: SignInGuards,
) -> TokenPair:
    """Every refusal is the same InvalidCredentials after the same password-hash check: an unknown email, a wrong
    password, a deactivated user and a locked-out address cannot be told apart, by answer or by time. A wrong
    password is counted in the transaction, which commits before the refusal is answered."""
    with transaction(db_session):
        user = _check_password(
            db_session, email=email, password=password, secret_key=settings.secret_key, now=now, guards=guards
        )
        tokens = start_auth_session(db_session, user=user, settings=settings, now=now) if user else None
    if tokens is None:
        raise errors.InvalidCredentials()
    return tokens


def sign_in_to_page(
    db_session: Session,
    *,
    email: str,
    password: str,
    secret_key: str,
    minutes: int,
    now: datetime,
    guards: SignInGuards,
) -> PageSignIn:
    """Sign in to the dashboard page only, with the same checks, refusals and lock-out as sign_in."""
    with transaction(db_session):
        user = _check_password(
            db_session, email=email, password=password, secret_key=secret_key, now=now, guards=guards
        )
        signed_in = (
            start_page_sign_in(db_session, user=user, secret_key=secret_key, minutes=minutes, now=now) if user else None
        )
    if signed_in is None:
        raise errors.InvalidCredentials()
    return signed_in


# Core statements on the lock-out's table: one row read, and one atomic INSERT ... ON CONFLICT per outcome.
SOURCES = cast(Table, SignInSource.__table__)
_SOURCE_KEY_LABEL = b"reachable sign-in source v1"


def sign_in_source_keys(secret_key: str, *, email: str, client_address: str) -> tuple[str, str]:
    """The lock-out's keys for an email tried (however it is written) and a client address (by its network,
    api.actors.client_network): HMAC-SHA256 under a key derived from the secret key, so the table holds neither, and a
    stolen copy cannot be reversed by hashing every IPv4 address. Rotating the secret key forgets every lock."""
    key = hmac.new(secret_key.encode(), _SOURCE_KEY_LABEL, hashlib.sha256).digest()
    email_key = hmac.new(key, b"email:" + email.strip().lower().encode(), hashlib.sha256).hexdigest()
    client_key = hmac.new(key, b"client:" + client_network(client_address).encode(), hashlib.sha256).hexdigest()
    return email_key, client_key


@step
def _check_password(
    db_session: Session, *, email: str, password: str, secret_key: str, now: datetime, guards: SignInGuards
) -> AppUser | None:
    """The user whose email and password these are, or None: the caller refuses with InvalidCredentials (see
    sign_in) once its transaction, which holds the count of a wrong password, has committed.

    The lock-out is per email tried and client address (rules.py). An address locked out of this email is refused
    after the same hash check, and nothing is counted. Otherwise the attempt spends one of the email's budget,
    unless the account signed in from this address lately; then the password is checked, and a wrong one (or an
    email that is no account: counted the same, so the limits cannot tell them apart) counts against the address.
    """
    email = email.strip().lower()
    user = db_session.scalar(select(AppUser).where(AppUser.email == email))
    email_key, client_key = sign_in_source_keys(secret_key, email=email, client_address=guards.client_address)
    source = db_session.execute(
        select(SOURCES.c.locked_until, SOURCES.c.signed_in_at).where(
            SOURCES.c.email_key == email_key, SOURCES.c.client_key == client_key
        )
    ).one_or_none()
    locked = source is not None and is_locked(source.locked_until, now=now)
    if not locked and not (source is not None and is_known_source(source.signed_in_at, now=now)):
        guards.spend_email_budget(email)
    try:
        _password_hasher.verify(user.password_hash if user else _dummy_hash(), password)
        password_is_right = True
    except (VerificationError, InvalidHashError):
        password_is_right = False
    if locked:
        # Not counted: the lock ends when it said it would, however often someone keeps trying.
        return None
    if user is None or not password_is_right:
        _count_failed_sign_in(
            db_session,
            email_key=email_key,
            client_key=client_key,
            user_id=user.id if user else None,
            lockout=guards.lockout,
            now=now,
        )
        return None
    if not user.is_active:
        return None
    _remember_sign_in(db_session, email_key=email_key, client_key=client_key, user_id=user.id, now=now)
    if _password_hasher.check_needs_rehash(user.password_hash):
        user.password_hash = hash_password(password)
    return user


def _upsert_source(
    db_session: Session, *, email_key: str, client_key: str, now: datetime, **values: Any
) -> postgresql.Insert | sqlite.Insert:
    """INSERT this email's and address's row, or on conflict update it (each dialect's own ON CONFLICT)."""
    dialect = postgresql if db_session.get_bind().dialect.name == "postgresql" else sqlite
    return dialect.insert(SOURCES).values(
        id=new_id(), email_key=email_key, client_key=client_key, last_attempt_at=now, **values
    )


@step
def _count_failed_sign_in(
    db_session: Session,
    *,
    email_key: str,
    client_key: str,
    user_id: uuid.UUID | None,
    lockout: LockoutPolicy,
    now: datetime,
) -> None:
    """One more wrong password from this address, counted by a single INSERT ... ON CONFLICT DO UPDATE (the count
    raised by the database under the row's lock, the first attempt's insert racing no one: PostgreSQL makes a
    second insert of the same key wait and then update) so parallel guesses cannot undercount; the caller commits
    it before the refusal is answered.

    The same rule as rules.failures_after_one_more, in SQL: the first failure after a lock ended starts again
    at 1. Only the failure that reaches the threshold locks (rules.locks_now), so each lock is audited once."""
    lock_ended = and_(SOURCES.c.locked_until.is_not(None), SOURCES.c.locked_until <= now)
    insert = _upsert_source(
        db_session, email_key=email_key, client_key=client_key, now=now, user_id=user_id, failed_sign_ins=1
    )
    failures = db_session.execute(
        insert.on_conflict_do_update(
            index_elements=[SOURCES.c.email_key, SOURCES.c.client_key],
            set_={
                "failed_sign_ins": case((lock_ended, 1), else_=SOURCES.c.failed_sign_ins + 1),
                "locked_until": case((lock_ended, null()), else_=SOURCES.c.locked_until),
                "user_id": insert.excluded.user_id,
                "last_attempt_at": now,
            },
        ).returning(SOURCES.c.failed_sign_ins)
    ).scalar_one()
    if locks_now(failures, lockout):
        db_session.execute(
            update(SOURCES)
            .where(SOURCES.c.email_key == email_key, SOURCES.c.client_key == client_key)
            .values(locked_until=lock_ends_at(now, lockout))
        )
        if user_id is not None:
            audit.record(
                db_session,
                actor=None,
                action="app_user.lock",
                record=audit.Ref(AppUser.__tablename__, user_id),
                child_id=None,
                now=now,
            )


@step
def _remember_sign_in(
    db_session: Session, *, email_key: str, client_key: str, user_id: uuid.UUID, now: datetime
) -> None:
    """A successful sign-in from this address: its count starts again, and the address is known to the account
    (rules.is_known_source). Committed with the sign-in it belongs to."""
    insert = _upsert_source(
        db_session, email_key=email_key, client_key=client_key, now=now, user_id=user_id, signed_in_at=now
    )
    db_session.execute(
        insert.on_conflict_do_update(
            index_elements=[SOURCES.c.email_key, SOURCES.c.client_key],
            set_={
                "failed_sign_ins": 0,
                "locked_until": null(),
                "signed_in_at": now,
                "user_id": user_id,
                "last_attempt_at": now,
            },
        )
    )


@use_case
def unlock_user(db_session: Session, *, actor: Actor, user_id: uuid.UUID, now: datetime) -> AppUser:
    """Lift every address's sign-in lock-out of an account at once (admins only) and clear their counts of wrong
    passwords. The addresses the account signed in from stay known. Audited."""
    if actor.role is not Role.ADMIN:
        raise PermissionDenied("Only an admin can unlock an account.")
    user = db_session.get(AppUser, user_id, with_for_update=True)
    if user is None:
        raise errors.UserNotFound()
    db_session.execute(
        update(SOURCES)
        .where(SOURCES.c.user_id == user.id, (SOURCES.c.failed_sign_ins > 0) | SOURCES.c.locked_until.is_not(None))
        .values(failed_sign_ins=0, locked_until=None)
    )
    db_session.expire(user, ["locked_until"])
    audit.record(
        db_session,
        actor=actor,
        action="app_user.unlock",
        record=user,
        child_id=None,
        now=now,
    )
    return user


@use_case
def start_auth_session(db_session: Session, *, user: AppUser, settings: TokenSettings, now: datetime) -> TokenPair:
    """A new sign-in for a user whose identity is already proven."""
    auth_session = AuthSession(
        user_id=user.id, created_at=now, expires_at=now + timedelta(days=settings.refresh_token_days)
    )
    db_session.add(auth_session)
    db_session.flush()
    tokens = _issue_tokens(db_session, auth_session=auth_session, user=user, settings=settings, now=now)
    return tokens


@use_case
def start_page_sign_in(
    db_session: Session, *, user: AppUser, secret_key: str, minutes: int, now: datetime
) -> PageSignIn:
    """A new dashboard page sign-in for a user whose identity is already proven: a sign-in record of its own kind
    that ends after `minutes` (the record decides, whatever the browser keeps), and no tokens at all."""
    expires_at = now + timedelta(minutes=minutes)
    auth_session = AuthSession(user_id=user.id, kind=SignInKind.DASHBOARD_PAGE, created_at=now, expires_at=expires_at)
    db_session.add(auth_session)
    db_session.flush()
    sign_in_id = auth_session.id
    actor = Actor(user_id=user.id, role=user.role, programme_id=user.programme_id, auth_session_id=sign_in_id)
    return PageSignIn(_page_credential(secret_key, sign_in_id), expires_at, actor)


# The page's credential is the sign-in's id and an HMAC of it under a key of its own, derived from the secret key
# (as check-in links are): only this server can make one, it names a sign-in record that can end (sign-out,
# revocation, deactivation, expiry), and it is not a JWT, so the API's check cannot even read it.
_PAGE_CREDENTIAL_LABEL = b"reachable dashboard page sign-in v1"


def _page_credential_mac(secret_key: str, auth_session_id: uuid.UUID) -> str:
    key = hmac.new(secret_key.encode(), _PAGE_CREDENTIAL_LABEL, hashlib.sha256).digest()
    digest = hmac.new(key, auth_session_id.bytes, hashlib.sha256).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode()


def _page_credential(secret_key: str, auth_session_id: uuid.UUID) -> str:
    return f"{auth_session_id.hex}.{_page_credential_mac(secret_key, auth_session_id)}"


def authenticate_page(db_session: Session, *, credential: str, secret_key: str, now: datetime) -> Actor:
    """Who a dashboard page cookie belongs to, if it names a live page sign-in (never an API sign-in)."""
    sign_in_id, _, mac = credential.partition(".")
    try:
        auth_session_id = uuid.UUID(hex=sign_in_id)
    except ValueError:
        raise errors.PageSignInInvalid() from None
    if not hmac.compare_digest(mac.encode(), _page_credential_mac(secret_key, auth_session_id).encode()):
        raise errors.PageSignInInvalid()
    auth_session = db_session.get(AuthSession, auth_session_id, options=[joinedload(AuthSession.user)])
    if (
        auth_session is None
        or auth_session.kind is not SignInKind.DASHBOARD_PAGE
        or auth_session.revoked_at is not None
        or auth_session.expires_at <= now
        or not auth_session.user.is_active
    ):
        raise errors.PageSignInInvalid()
    user = auth_session.user
    return Actor(user_id=user.id, role=user.role, programme_id=user.programme_id, auth_session_id=auth_session.id)


def refresh(db_session: Session, *, refresh_token: str, settings: TokenSettings, now: datetime) -> TokenPair:
    """New tokens for a refresh token, used once. A rotated-out token that comes back means someone holds a copy:
    the whole sign-in is cut off, and that stands (its transaction commits) before the token is refused."""
    with transaction(db_session):
        stored = db_session.scalar(
            select(RefreshToken).where(RefreshToken.token_hash == _token_digest(refresh_token)).with_for_update()
        )
        if stored is None:
            raise errors.RefreshTokenInvalid()
        auth_session = db_session.get(AuthSession, stored.auth_session_id)
        assert auth_session is not None
        if stored.used_at is None:
            if auth_session.revoked_at is not None or auth_session.expires_at <= now or not auth_session.user.is_active:
                raise errors.RefreshTokenInvalid()
            stored.used_at = now
            return _issue_tokens(
                db_session, auth_session=auth_session, user=auth_session.user, settings=settings, now=now
            )
        auth_session.revoked_at = auth_session.revoked_at or now
        auth_session.revoked_reason = auth_session.revoked_reason or "refresh_token_reused"
    raise errors.RefreshTokenInvalid()


def authenticate(db_session: Session, *, access_token: str, settings: TokenSettings, now: datetime) -> Actor:
    """Check the token's signature and expiry, then that its sign-in is still live (revocation is immediate)."""
    try:
        claims: dict[str, Any] = jwt.decode(
            access_token,
            settings.secret_key,
            algorithms=[ACCESS_TOKEN_ALGORITHM],
            # Expiry is checked below against the injected clock, not the wall clock.
            options={"require": ["sub", "sid", "exp"], "verify_exp": False, "verify_iat": False},
        )
        auth_session_id = uuid.UUID(claims["sid"])
    except (jwt.PyJWTError, ValueError):
        raise errors.AccessTokenInvalid() from None
    if claims["exp"] <= now.timestamp():
        raise errors.AccessTokenInvalid()
    # One round trip for the sign-in and its user: every request of every endpoint pays for this.
    auth_session = db_session.get(AuthSession, auth_session_id, options=[joinedload(AuthSession.user)])
    if (
        auth_session is None
        or auth_session.revoked_at is not None
        or not auth_session.user.is_active
        # No access token is ever made for a dashboard page sign-in; should one be forged, it opens nothing.
        or auth_session.kind is not SignInKind.API
    ):
        raise errors.AccessTokenInvalid()
    user = auth_session.user
    return Actor(user_id=user.id, role=user.role, programme_id=user.programme_id, auth_session_id=auth_session.id)


@use_case
def sign_out(db_session: Session, *, actor: Actor, now: datetime) -> None:
    db_session.execute(
        update(AuthSession)
        .where(AuthSession.id == actor.auth_session_id, AuthSession.revoked_at.is_(None))
        .values(revoked_at=now, revoked_reason="signed_out")
    )


@use_case
def revoke_sign_ins(db_session: Session, *, actor: Actor, user_id: uuid.UUID, now: datetime) -> int:
    """Cut off every device a user is signed in on (a lost phone). Coordinators may do it for their mentors."""
    user = _get_manageable_user(db_session, actor=actor, user_id=user_id)
    result = db_session.execute(
        update(AuthSession)
        .where(AuthSession.user_id == user.id, AuthSession.revoked_at.is_(None))
        .values(revoked_at=now, revoked_reason=f"revoked_by_{actor.role.value}")
    )
    return int(result.rowcount or 0)  # type: ignore[attr-defined]


@use_case
def create_user(
    db_session: Session,
    *,
    email: str,
    display_name: str,
    role: Role,
    password: str,
    programme_id: uuid.UUID | None,
    max_caseload: int | None,
    now: datetime,
    mobile_e164: str | None = None,
    accept_drama_numbers: bool = False,
) -> AppUser:
    problem = password_problem(password)
    if problem:
        raise errors.WeakPassword(problem, errors={"password": [problem]})
    if programme_required(role):
        if programme_id is None or get_programme_or_none(db_session, programme_id) is None:
            raise errors.ProgrammeRequiredForRole(errors={"programme_id": ["Choose an existing programme."]})
    else:
        programme_id = None
    if role is not Role.MENTOR and max_caseload is not None:
        raise errors.CaseloadOnlyForMentors(errors={"max_caseload": ["Only mentors have a caseload."]})
    if role is Role.MENTOR and max_caseload is None:
        raise errors.MaxCaseloadRequired(errors={"max_caseload": ["A mentor needs a maximum caseload."]})
    email = email.strip().lower()
    if db_session.scalar(select(AppUser.id).where(AppUser.email == email)) is not None:
        raise errors.EmailAlreadyRegistered()
    user = AppUser(
        email=email,
        display_name=display_name.strip(),
        role=role,
        programme_id=programme_id,
        max_caseload=max_caseload,
        password_hash=hash_password(password),
        mobile_e164=_mobile(mobile_e164, accept_drama_numbers=accept_drama_numbers),
        created_at=now,
    )
    db_session.add(user)
    return user


def _mobile(number: str | None, *, accept_drama_numbers: bool) -> str | None:
    """A staff member's mobile, checked like a child's: E.164, and a mobile (never a landline)."""
    if number is None or not number.strip():
        return None
    result = normalise_mobile_number(number, accept_drama_numbers=accept_drama_numbers)
    if isinstance(result, MobileNumberProblem):
        raise PHONE_NUMBER_ERRORS[result.reason](result.message, errors={"mobile": [result.message]})
    return result


@use_case
def update_user(
    db_session: Session,
    *,
    actor: Actor,
    user_id: uuid.UUID,
    changes: dict[str, Any],
    now: datetime,
    accept_drama_numbers: bool = False,
) -> AppUser:
    user = _get_manageable_user(db_session, actor=actor, user_id=user_id)
    if "mobile_e164" in changes:
        user.mobile_e164 = _mobile(changes["mobile_e164"], accept_drama_numbers=accept_drama_numbers)
    if "max_caseload" in changes and user.role is not Role.MENTOR:
        raise errors.CaseloadOnlyForMentors(errors={"max_caseload": ["Only mentors have a caseload."]})
    if "display_name" in changes:
        user.display_name = changes["display_name"].strip()
    for field in ("max_caseload", "is_active"):
        if field in changes:
            setattr(user, field, changes[field])
    if changes.get("is_active") is False:
        db_session.execute(
            update(AuthSession)
            .where(AuthSession.user_id == user.id, AuthSession.revoked_at.is_(None))
            .values(revoked_at=now, revoked_reason="user_deactivated")
        )
    return user


def _get_manageable_user(db_session: Session, *, actor: Actor, user_id: uuid.UUID) -> AppUser:
    user = db_session.get(AppUser, user_id)
    if user is None:
        raise errors.UserNotFound()
    if actor.role is Role.ADMIN:
        return user
    # A coordinator manages the mentors of their own programme, and no one else.
    if actor.role is Role.COORDINATOR and user.role is Role.MENTOR and user.programme_id == actor.programme_id:
        return user
    raise errors.UserNotFound()


def get_own_account(db_session: Session, *, actor: Actor) -> AppUser:
    user = db_session.get(AppUser, actor.user_id)
    assert user is not None
    return user


@use_case
def create_user_as(
    db_session: Session,
    *,
    actor: Actor,
    email: str,
    display_name: str,
    role: Role,
    password: str,
    programme_id: uuid.UUID | None,
    max_caseload: int | None,
    now: datetime,
    mobile_e164: str | None = None,
    accept_drama_numbers: bool = False,
) -> AppUser:
    """Admins create anyone; a coordinator creates mentors for their own programme only."""
    if actor.role is Role.COORDINATOR and (role is not Role.MENTOR or programme_id not in (None, actor.programme_id)):
        raise PermissionDenied("Coordinators can add mentors to their own programme only.")
    if actor.role is Role.COORDINATOR:
        programme_id = actor.programme_id
    return create_user(
        db_session,
        email=email,
        display_name=display_name,
        role=role,
        password=password,
        programme_id=programme_id,
        max_caseload=max_caseload,
        now=now,
        mobile_e164=mobile_e164,
        accept_drama_numbers=accept_drama_numbers,
    )
