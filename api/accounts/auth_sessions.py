"""Sign-ins (AuthSession: one sign-in on one device) for a user whose identity is proven: starting one, with API
tokens or a dashboard page credential of its own kind; checking a token or credential on each request; refreshing
tokens, each refresh token used once; and signing out."""

from __future__ import annotations

import base64
import functools
import hashlib
import hmac
import secrets
import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, cast

import jwt
from sqlalchemy import Select, Table, bindparam, select, update
from sqlalchemy.orm import Session, joinedload

from api.accounts import errors
from api.accounts.models import AppUser, AuthSession, RefreshToken
from api.accounts.rules import DEFAULT_MFA_REQUIRED_ROLES, SignInKind, needs_second_factor, parse_roles
from api.actors import Actor, Role
from api.db import step, transaction, use_case

ACCESS_TOKEN_ALGORITHM = "HS256"
# The tables authenticate reads on every request (Core: see there).
_SIGN_INS = cast(Table, AuthSession.__table__)
_USERS = cast(Table, AppUser.__table__)


@dataclass(frozen=True)
class MfaSettings:
    """The second factor's settings: which roles must prove one (MFA_REQUIRED_ROLES), the key the authenticators'
    secrets are derived under (MFA_SECRET_KEY; empty: the secret key), the name an authenticator app shows
    (MFA_ISSUER), and how long the challenge between the two steps of a sign-in lasts (MFA_CHALLENGE_MINUTES)."""

    required_roles: frozenset[Role] = DEFAULT_MFA_REQUIRED_ROLES
    secret_key: str = ""
    issuer: str = "Reachable"
    challenge_minutes: int = 5

    @classmethod
    def from_config(cls, config: Mapping[str, Any]) -> MfaSettings:
        return cls(
            required_roles=parse_roles(config["MFA_REQUIRED_ROLES"]),
            secret_key=config.get("MFA_SECRET_KEY") or "",
            issuer=config["MFA_ISSUER"],
            challenge_minutes=int(config["MFA_CHALLENGE_MINUTES"]),
        )

    def requires(self, user: AppUser) -> bool:
        return needs_second_factor(
            user.role, enrolled=user.mfa_enrolled_at is not None, required_roles=self.required_roles
        )


@dataclass(frozen=True)
class TokenSettings:
    secret_key: str
    access_token_minutes: int
    refresh_token_days: int
    mfa: MfaSettings = field(default_factory=MfaSettings)

    @classmethod
    def from_config(cls, config: Mapping[str, Any]) -> TokenSettings:
        return cls(
            secret_key=config["SECRET_KEY"],
            access_token_minutes=int(config["ACCESS_TOKEN_MINUTES"]),
            refresh_token_days=int(config["REFRESH_TOKEN_DAYS"]),
            mfa=MfaSettings.from_config(config),
        )

    @property
    def totp_key(self) -> str:
        """The key the authenticators' secrets are derived under (totp.secret_for)."""
        return self.mfa.secret_key or self.secret_key


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
        # How the sign-in was proven (RFC 8176): for the client to read; the server checks its own record.
        "amr": ["pwd", "otp"] if auth_session.has_second_factor else ["pwd"],
        "iat": int(now.timestamp()),
        "exp": int(expires_at.timestamp()),
    }
    access_token = jwt.encode(claims, settings.secret_key, algorithm=ACCESS_TOKEN_ALGORITHM)
    return TokenPair(access_token, refresh_token, expires_in=settings.access_token_minutes * 60)


@use_case
def start_auth_session(
    db_session: Session, *, user: AppUser, settings: TokenSettings, now: datetime, second_factor: bool
) -> TokenPair:
    """A new sign-in for a user whose identity is already proven, with a second factor or with a password alone
    (which a user who needs a second factor cannot use: authenticate refuses its tokens)."""
    auth_session = AuthSession(
        user_id=user.id,
        created_at=now,
        expires_at=now + timedelta(days=settings.refresh_token_days),
        second_factor_at=now if second_factor else None,
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
            _check_assurance(auth_session, settings)
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
    # One round trip for the sign-in and its user: every request of every endpoint pays for this, so it reads the
    # few columns the check needs from the tables, by a statement built once (no ORM objects to build and track for
    # a value used once).
    found = db_session.execute(_sign_in_and_user(), {"sign_in_id": auth_session_id}).first()
    if (
        found is None
        or found.revoked_at is not None
        or not found.is_active
        # No access token is ever made for a dashboard page sign-in; should one be forged, it opens nothing.
        or found.kind is not SignInKind.API
    ):
        raise errors.AccessTokenInvalid()
    # As _check_assurance, from the same columns.
    if found.second_factor_at is None and needs_second_factor(
        found.role, enrolled=found.mfa_enrolled_at is not None, required_roles=settings.mfa.required_roles
    ):
        raise errors.MfaSignInRequired()
    return Actor(user_id=found.id, role=found.role, programme_id=found.programme_id, auth_session_id=auth_session_id)


@functools.cache
def _sign_in_and_user() -> Select[Any]:
    sign_in, user = _SIGN_INS.c, _USERS.c
    return (
        select(
            sign_in.kind,
            sign_in.revoked_at,
            sign_in.second_factor_at,
            user.id,
            user.role,
            user.programme_id,
            user.is_active,
            user.mfa_enrolled_at,
        )
        .join_from(_SIGN_INS, _USERS, user.id == sign_in.user_id)
        .where(sign_in.id == bindparam("sign_in_id"))
    )


def _check_assurance(auth_session: AuthSession, settings: TokenSettings) -> None:
    """A sign-in made with a password alone opens nothing for a user who needs a second factor now: one made
    before their role required it, or before they enrolled. Checked on every request and refresh, from the
    sign-in's record (not the token's claim), so changing the setting takes effect at once."""
    if not auth_session.has_second_factor and settings.mfa.requires(auth_session.user):
        raise errors.MfaSignInRequired()


# The challenge between a sign-in's two steps: a JWT under a key of its own, derived from the secret key, with an
# audience of its own, so it can never pass for an access token (whose key differs, and which names a sign-in
# record besides). It says whose password was proven and until when; it opens only the second step.
_CHALLENGE_LABEL = b"reachable mfa challenge v1"
_CHALLENGE_AUDIENCE = "reachable:mfa-challenge"


def _challenge_key(secret_key: str) -> bytes:
    return hmac.new(secret_key.encode(), _CHALLENGE_LABEL, hashlib.sha256).digest()


def make_challenge(*, user: AppUser, settings: TokenSettings, now: datetime) -> str:
    expires_at = now + timedelta(minutes=settings.mfa.challenge_minutes)
    claims = {
        "sub": str(user.id),
        "aud": _CHALLENGE_AUDIENCE,
        "iat": int(now.timestamp()),
        "exp": int(expires_at.timestamp()),
    }
    return jwt.encode(claims, _challenge_key(settings.secret_key), algorithm=ACCESS_TOKEN_ALGORITHM)


def challenged_user(db_session: Session, *, challenge_token: str, settings: TokenSettings, now: datetime) -> AppUser:
    """The user whose password the challenge proves, if it is this server's, unexpired, and they can still sign in."""
    try:
        claims: dict[str, Any] = jwt.decode(
            challenge_token,
            _challenge_key(settings.secret_key),
            algorithms=[ACCESS_TOKEN_ALGORITHM],
            audience=_CHALLENGE_AUDIENCE,
            options={"require": ["sub", "aud", "exp"], "verify_exp": False, "verify_iat": False},
        )
        user_id = uuid.UUID(claims["sub"])
    except (jwt.PyJWTError, ValueError):
        raise errors.MfaChallengeInvalid() from None
    if claims["exp"] <= now.timestamp():
        raise errors.MfaChallengeInvalid()
    user = db_session.get(AppUser, user_id)
    if user is None or not user.is_active:
        raise errors.MfaChallengeInvalid()
    return user


@use_case
def sign_out(db_session: Session, *, actor: Actor, now: datetime) -> None:
    db_session.execute(
        update(AuthSession)
        .where(AuthSession.id == actor.auth_session_id, AuthSession.revoked_at.is_(None))
        .values(revoked_at=now, revoked_reason="signed_out")
    )
