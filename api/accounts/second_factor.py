"""The second factor of a staff sign-in: enrolling an authenticator app (TOTP) with recovery codes, the second step
of a sign-in that issues tokens only once both factors are proven, and an admin's reset of a lost authenticator.

A sign-in of a user who needs a second factor (rules.needs_second_factor) stops after the password with a
challenge (auth_sessions.make_challenge): a short-lived token that opens only these steps, never the API. With
it, a user already enrolled proves a code (verify); one not yet enrolled sets up an authenticator and proves its
first code (enrol_by_challenge, confirm_by_challenge), which also finishes the sign-in. A signed-in user may
enrol of their own accord too (enrol_signed_in, confirm_signed_in); from then on every sign-in asks them.

Wrong codes count towards the lock-out of the client address exactly as wrong passwords do, and a locked-out
address is answered as a wrong code is (signing_in.open_second_step)."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime

from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import delete, select, update
from sqlalchemy.orm import Session

from api.accounts import errors, totp
from api.accounts.auth_sessions import TokenPair, TokenSettings, challenged_user, start_auth_session
from api.accounts.models import AppUser, AuthSession, MfaRecoveryCode
from api.accounts.rules import PASSWORD_HASH_COST
from api.accounts.signing_in import (
    SignInGuards,
    accept_totp_code,
    argon2id,
    open_second_step,
    second_step_failed,
    second_step_passed,
)
from api.actors import Actor, Role
from api.audit import service as audit
from api.db import step, transaction, use_case
from api.errors import PermissionDenied

# Recovery codes are hashed at passwords' cost (rules.PASSWORD_HASH_COST: OWASP's m=19 MiB, t=2, p=1). They carry
# 60 bits, so that is plenty against a stolen table, and checking one against a user's ten stays quick enough.
_recovery_hasher = argon2id(PASSWORD_HASH_COST)


@dataclass(frozen=True)
class Enrolment:
    """What an authenticator app needs: the secret, and the otpauth:// URI a QR code of it encodes."""

    secret: str
    provisioning_uri: str


@dataclass(frozen=True)
class EnrolledSignIn:
    tokens: TokenPair
    recovery_codes: list[str]


def _begin(user: AppUser, *, settings: TokenSettings) -> Enrolment:
    """A new seed for an authenticator (replacing one not yet confirmed)."""
    if user.mfa_enrolled_at is not None:
        raise errors.MfaAlreadyEnrolled()
    user.mfa_seed = totp.new_seed()
    user.mfa_last_step = None
    secret = totp.secret_for(settings.totp_key, user.mfa_seed)
    return Enrolment(secret, totp.provisioning_uri(secret, account=user.email, issuer=settings.mfa.issuer))


@step
def _confirm(db_session: Session, *, user: AppUser, code: str, settings: TokenSettings, now: datetime) -> list[str]:
    """The first code from the new authenticator proves it: the user is enrolled, and gets new recovery codes."""
    if user.mfa_enrolled_at is not None:
        raise errors.MfaAlreadyEnrolled()
    if user.mfa_seed is None:
        raise errors.MfaEnrolmentNotStarted()
    secret = totp.secret_for(settings.totp_key, user.mfa_seed)
    step_ = totp.accepted_step(secret, code, now=now, last_step=user.mfa_last_step)
    if step_ is None:
        raise errors.MfaCodeInvalid()
    user.mfa_last_step = step_
    user.mfa_enrolled_at = now
    codes = _new_recovery_codes(db_session, user=user, now=now)
    audit.record(db_session, actor=None, action="app_user.mfa_enrol", record=user, child_id=None, now=now)
    return codes


def _new_recovery_codes(db_session: Session, *, user: AppUser, now: datetime) -> list[str]:
    db_session.execute(delete(MfaRecoveryCode).where(MfaRecoveryCode.user_id == user.id))
    codes = totp.new_recovery_codes()
    db_session.add_all(
        MfaRecoveryCode(user_id=user.id, code_hash=_recovery_hasher.hash(code), created_at=now) for code in codes
    )
    return codes


@step
def _use_recovery_code(db_session: Session, *, user: AppUser, code: str, now: datetime) -> bool:
    """Whether the code is one of the user's unused recovery codes; if so it is spent (its row locked first, so
    two requests cannot both use it)."""
    if not totp.recovery_code_is_well_formed(code):
        return False
    typed = totp.normalise_recovery_code(code)
    unused = db_session.scalars(
        select(MfaRecoveryCode)
        .where(MfaRecoveryCode.user_id == user.id, MfaRecoveryCode.used_at.is_(None))
        .with_for_update()
    ).all()
    for stored in unused:
        try:
            _recovery_hasher.verify(stored.code_hash, typed)
        except (VerificationError, InvalidHashError):
            continue
        stored.used_at = now
        return True
    return False


@use_case
def enrol_by_challenge(
    db_session: Session, *, challenge_token: str, settings: TokenSettings, now: datetime
) -> Enrolment:
    """Set up an authenticator during a sign-in's second step, for a user not yet enrolled."""
    user = challenged_user(db_session, challenge_token=challenge_token, settings=settings, now=now)
    return _begin(user, settings=settings)


def confirm_by_challenge(
    db_session: Session,
    *,
    challenge_token: str,
    code: str,
    settings: TokenSettings,
    now: datetime,
    guards: SignInGuards,
) -> EnrolledSignIn:
    """Prove the new authenticator's first code: the user is enrolled, and the sign-in finishes with both factors.
    A wrong code is counted as a wrong password is (committed before the refusal)."""
    enrolled = None
    with transaction(db_session):
        user = challenged_user(db_session, challenge_token=challenge_token, settings=settings, now=now)
        keys = open_second_step(db_session, user=user, secret_key=settings.secret_key, now=now, guards=guards)
        if keys is not None:
            db_session.refresh(user, with_for_update=True)
            try:
                codes = _confirm(db_session, user=user, code=code, settings=settings, now=now)
            except errors.MfaCodeInvalid:
                # Caught inside the transaction, so the count below commits (a step's refusal spoils nothing).
                second_step_failed(db_session, user=user, keys=keys, guards=guards, now=now)
            else:
                second_step_passed(db_session, user=user, keys=keys, now=now)
                tokens = start_auth_session(db_session, user=user, settings=settings, now=now, second_factor=True)
                enrolled = EnrolledSignIn(tokens, codes)
    if enrolled is None:
        raise errors.MfaCodeInvalid()
    return enrolled


def verify(
    db_session: Session,
    *,
    challenge_token: str,
    code: str | None,
    recovery_code: str | None,
    settings: TokenSettings,
    now: datetime,
    guards: SignInGuards,
) -> TokenPair:
    """The second step of a sign-in: a code from the authenticator, or one of the recovery codes (used once).
    Tokens only when it is right; a wrong one is counted towards the address's lock-out (committed before the
    refusal), and a locked-out address is refused as a wrong code is, with nothing counted."""
    tokens = None
    with transaction(db_session):
        user = challenged_user(db_session, challenge_token=challenge_token, settings=settings, now=now)
        if user.mfa_enrolled_at is None:
            raise errors.MfaEnrolmentNotStarted("Set up an authenticator first (POST /auth/mfa/enrolment).")
        keys = open_second_step(db_session, user=user, secret_key=settings.secret_key, now=now, guards=guards)
        if keys is not None:
            if recovery_code is not None:
                right = _use_recovery_code(db_session, user=user, code=recovery_code, now=now)
                if right:
                    audit.record(
                        db_session,
                        actor=None,
                        action="app_user.mfa_recovery_code_use",
                        record=user,
                        child_id=None,
                        now=now,
                    )
            else:
                right = accept_totp_code(db_session, user=user, code=code or "", key=settings.totp_key, now=now)
            if right:
                second_step_passed(db_session, user=user, keys=keys, now=now)
                tokens = start_auth_session(db_session, user=user, settings=settings, now=now, second_factor=True)
            else:
                second_step_failed(db_session, user=user, keys=keys, guards=guards, now=now)
    if tokens is None:
        raise errors.MfaCodeInvalid()
    return tokens


@use_case
def enrol_signed_in(db_session: Session, *, actor: Actor, settings: TokenSettings) -> Enrolment:
    """Set up an authenticator of one's own accord, signed in (any role)."""
    user = db_session.get(AppUser, actor.user_id, with_for_update=True)
    assert user is not None
    return _begin(user, settings=settings)


@use_case
def confirm_signed_in(
    db_session: Session, *, actor: Actor, code: str, settings: TokenSettings, now: datetime
) -> list[str]:
    """Prove the new authenticator's first code, signed in: the user is enrolled, and this sign-in, having just
    proven the second factor, keeps working (others of theirs, made with a password alone, stop)."""
    user = db_session.get(AppUser, actor.user_id, with_for_update=True)
    assert user is not None
    codes = _confirm(db_session, user=user, code=code, settings=settings, now=now)
    db_session.execute(
        update(AuthSession)
        .where(AuthSession.id == actor.auth_session_id, AuthSession.second_factor_at.is_(None))
        .values(second_factor_at=now)
    )
    return codes


@use_case
def reset(db_session: Session, *, actor: Actor, user_id: uuid.UUID, now: datetime) -> AppUser:
    """Forget a user's authenticator and recovery codes (a lost phone; admins only; audited) and end every sign-in
    they have. Their next sign-in sets up a new authenticator if their role needs one."""
    if actor.role is not Role.ADMIN:
        raise PermissionDenied("Only an admin can reset an authenticator.")
    user = db_session.get(AppUser, user_id, with_for_update=True)
    if user is None:
        raise errors.UserNotFound()
    user.mfa_seed = None
    user.mfa_enrolled_at = None
    user.mfa_last_step = None
    db_session.execute(delete(MfaRecoveryCode).where(MfaRecoveryCode.user_id == user.id))
    db_session.execute(
        update(AuthSession)
        .where(AuthSession.user_id == user.id, AuthSession.revoked_at.is_(None))
        .values(revoked_at=now, revoked_reason="mfa_reset")
    )
    audit.record(db_session, actor=actor, action="app_user.mfa_reset", record=user, child_id=None, now=now)
    return user
