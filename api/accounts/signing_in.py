"""Signing in with an email and password, and the lock-out that guards it (rules.py): the password check, which
costs the same whatever is wrong; wrong passwords counted per email tried and client address; and an admin
lifting an account's locks. A sign-in that succeeds starts a sign-in record (auth_sessions.py)."""

from __future__ import annotations

import functools
import hashlib
import hmac
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any, cast

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import Table, and_, case, null, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from api.accounts import errors, totp
from api.accounts.auth_sessions import (
    MfaSettings,
    PageSignIn,
    TokenPair,
    TokenSettings,
    make_challenge,
    start_auth_session,
    start_page_sign_in,
)
from api.accounts.models import AppUser, SignInSource
from api.accounts.rules import (
    PASSWORD_HASH_COST,
    HashCost,
    LockoutPolicy,
    is_known_source,
    is_locked,
    lock_ends_at,
    locks_now,
)
from api.actors import Actor, Role, client_network
from api.audit import service as audit
from api.db import new_id, step, transaction, use_case
from api.errors import PermissionDenied


def argon2id(cost: HashCost) -> PasswordHasher:
    """argon2-cffi's hasher for argon2id at this cost (its salt and hash lengths, 16 and 32 bytes, as they are)."""
    return PasswordHasher(time_cost=cost.time_cost, memory_cost=cost.memory_kib, parallelism=cost.parallelism)


_password_hasher = argon2id(PASSWORD_HASH_COST)


@functools.cache
def _dummy_hash() -> str:
    """Verified against when the email is unknown, so a wrong email costs the same time as a wrong password.
    Made on first need: hashing is deliberately slow, and the scheduler and CLI never sign anyone in."""
    return _password_hasher.hash("not-a-real-password-but-the-same-cost")


DEFAULT_LOCKOUT = LockoutPolicy()
DEFAULT_MFA = MfaSettings()


def hash_password(password: str) -> str:
    return _password_hasher.hash(password)


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
    password is counted in the transaction, which commits before the refusal is answered.

    A right password of a user who needs a second factor (rules.needs_second_factor) gives no tokens: MfaRequired
    carries a challenge for the second step (second_factor.py). Nothing is counted or cleared then: the address's
    count of failures starts again only once the second step is passed too, so a stolen password cannot be used
    to wipe the count of wrong codes between guesses."""
    challenge: errors.MfaRequired | None = None
    tokens = None
    with transaction(db_session):
        user = _check_password(
            db_session, email=email, password=password, secret_key=settings.secret_key, now=now, guards=guards
        )
        if user is not None:
            # The password is proven, and the answer says so (tokens, or the second step's challenge).
            _upgrade_password_hash(user, password)
        if user is not None and settings.mfa.requires(user):
            challenge = errors.MfaRequired(
                challenge_token=make_challenge(user=user, settings=settings, now=now),
                mfa_enrolled=user.mfa_enrolled_at is not None,
            )
        elif user is not None:
            _remember_sign_in(db_session, keys=_keys(settings.secret_key, user.email, guards), user_id=user.id, now=now)
            tokens = start_auth_session(db_session, user=user, settings=settings, now=now, second_factor=False)
    if challenge is not None:
        raise challenge
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
    code: str = "",
    mfa: MfaSettings = DEFAULT_MFA,
) -> PageSignIn:
    """Sign in to the dashboard page only, with the same checks, refusals and lock-out as sign_in. The page asks
    for everything in one form: a user who needs a second factor types a code from their authenticator as well
    (a wrong or missing one is refused and counted as a wrong password is; one not yet enrolled must enrol
    through the API first)."""
    with transaction(db_session):
        user = _check_password(
            db_session, email=email, password=password, secret_key=secret_key, now=now, guards=guards
        )
        keys = _keys(secret_key, email, guards)
        if (
            user is not None
            and mfa.requires(user)
            and not accept_totp_code(db_session, user=user, code=code, key=mfa.secret_key or secret_key, now=now)
        ):
            _count_failed_sign_in(db_session, keys=keys, user_id=user.id, lockout=guards.lockout, now=now)
            user = None
        signed_in = None
        if user is not None:
            # Only once the whole sign-in succeeds: a right password with a wrong code is refused as a wrong
            # password is, and must not take longer by the time a new hash takes.
            _upgrade_password_hash(user, password)
            _remember_sign_in(db_session, keys=keys, user_id=user.id, now=now)
            signed_in = start_page_sign_in(db_session, user=user, secret_key=secret_key, minutes=minutes, now=now)
    if signed_in is None:
        raise errors.InvalidCredentials()
    return signed_in


@step
def accept_totp_code(db_session: Session, *, user: AppUser, code: str, key: str, now: datetime) -> bool:
    """Whether the code is the enrolled user's for now and not used before; if so, its step is remembered (with the
    user's row locked, so two requests cannot both spend one code)."""
    if user.mfa_enrolled_at is None or user.mfa_seed is None:
        return False
    db_session.refresh(user, with_for_update=True)
    step = totp.accepted_step(totp.secret_for(key, user.mfa_seed), code, now=now, last_step=user.mfa_last_step)
    if step is None:
        return False
    user.mfa_last_step = step
    return True


@dataclass(frozen=True)
class SourceKeys:
    """The lock-out's row for an email and a client address (sign_in_source_keys)."""

    email_key: str
    client_key: str


def _keys(secret_key: str, email: str, guards: SignInGuards) -> SourceKeys:
    email_key, client_key = sign_in_source_keys(secret_key, email=email, client_address=guards.client_address)
    return SourceKeys(email_key, client_key)


@step
def open_second_step(
    db_session: Session, *, user: AppUser, secret_key: str, now: datetime, guards: SignInGuards
) -> SourceKeys | None:
    """The lock-out's check of a second-step attempt (a code after the password), as for a password: None when
    the address is locked out of the account (refuse, count nothing); otherwise the attempt spends one of the
    email's budget unless the account signed in from this address lately, and the caller counts a wrong code
    (second_step_failed) or clears the count (second_step_passed)."""
    keys = _keys(secret_key, user.email, guards)
    source = db_session.execute(
        select(SOURCES.c.locked_until, SOURCES.c.signed_in_at).where(
            SOURCES.c.email_key == keys.email_key, SOURCES.c.client_key == keys.client_key
        )
    ).one_or_none()
    if source is not None and is_locked(source.locked_until, now=now):
        return None
    if not (source is not None and is_known_source(source.signed_in_at, now=now)):
        guards.spend_email_budget(user.email)
    return keys


@step
def second_step_failed(
    db_session: Session, *, user: AppUser, keys: SourceKeys, guards: SignInGuards, now: datetime
) -> None:
    """A wrong code counts towards the address's lock-out exactly as a wrong password does."""
    _count_failed_sign_in(db_session, keys=keys, user_id=user.id, lockout=guards.lockout, now=now)


@step
def second_step_passed(db_session: Session, *, user: AppUser, keys: SourceKeys, now: datetime) -> None:
    _remember_sign_in(db_session, keys=keys, user_id=user.id, now=now)


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
            keys=SourceKeys(email_key, client_key),
            user_id=user.id if user else None,
            lockout=guards.lockout,
            now=now,
        )
        return None
    if not user.is_active:
        return None
    # The caller clears the address's count once the whole sign-in succeeds (_remember_sign_in), and brings the
    # hash to the current cost (_upgrade_password_hash).
    return user


def _upgrade_password_hash(user: AppUser, password: str) -> None:
    """A proven password's hash made again at the current cost (rules.PASSWORD_HASH_COST) if it was made at any
    other, cheaper or costlier, or as another variant (argon2-cffi's check_needs_rehash: any difference). The new
    hash is written with the caller's transaction, so it lands with the sign-in or not at all."""
    if _password_hasher.check_needs_rehash(user.password_hash):
        user.password_hash = hash_password(password)


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
    keys: SourceKeys,
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
    email_key, client_key = keys.email_key, keys.client_key
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
def _remember_sign_in(db_session: Session, *, keys: SourceKeys, user_id: uuid.UUID, now: datetime) -> None:
    """A successful sign-in from this address: its count starts again, and the address is known to the account
    (rules.is_known_source). Committed with the sign-in it belongs to."""
    email_key, client_key = keys.email_key, keys.client_key
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
