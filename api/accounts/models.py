from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import BigInteger, CheckConstraint, ForeignKey, Index, String, UniqueConstraint, func, select
from sqlalchemy.orm import Mapped, column_property, mapped_column, relationship

from api.accounts.rules import SignInKind
from api.actors import Role
from api.db import Base, new_id
from api.enums import enum_column_type


class SignInSource(Base):
    """Sign-in attempts at one email address from one client address (rules.py, the lock-out): the wrong passwords
    in a row from there, the lock they caused, and when the account last signed in from there.

    Both addresses are kept only as keyed hashes (HMAC under a key derived from the secret key, so the table
    cannot be reversed by trying every IPv4 address; signing_in.sign_in_source_keys): not the email typed, which may
    be no account, nor the client's address, which is personal data. The retention purge removes a row 30 days
    (RETENTION_DAYS["sign_in_source"]) after its last attempt."""

    __tablename__ = "sign_in_source"
    __table_args__ = (
        UniqueConstraint("email_key", "client_key", name="uq_sign_in_source_email_key_client_key"),
        CheckConstraint("failed_sign_ins >= 0", name="failed_sign_ins_not_negative"),
    )

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=new_id)
    email_key: Mapped[str] = mapped_column(String(64))
    client_key: Mapped[str] = mapped_column(String(64))
    # The account the email address is, when it is one: what an admin's unlock clears by.
    user_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("app_user.id"), index=True)
    failed_sign_ins: Mapped[int] = mapped_column(default=0, server_default="0")
    locked_until: Mapped[datetime | None]
    # The last successful sign-in from there (rules.is_known_source).
    signed_in_at: Mapped[datetime | None]
    last_attempt_at: Mapped[datetime] = mapped_column(index=True)


class AppUser(Base):
    """A person who signs in. (Table not named `user`: that is a reserved word in PostgreSQL.)"""

    __tablename__ = "app_user"
    __table_args__ = (
        CheckConstraint("role = 'admin' OR programme_id IS NOT NULL", name="programme_unless_admin"),
        CheckConstraint("max_caseload IS NULL OR max_caseload >= 0", name="max_caseload_not_negative"),
        CheckConstraint("role = 'mentor' OR max_caseload IS NULL", name="caseload_only_for_mentors"),
    )

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=new_id)
    email: Mapped[str] = mapped_column(String(254), unique=True)
    display_name: Mapped[str] = mapped_column(String(120))
    role: Mapped[Role] = mapped_column(enum_column_type(Role, "role"))
    programme_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("programme.id"), index=True)
    max_caseload: Mapped[int | None]
    password_hash: Mapped[str] = mapped_column(String(255))
    is_active: Mapped[bool] = mapped_column(default=True)
    # A mentor's work mobile (E.164), for their session reminders; optional.
    mobile_e164: Mapped[str | None] = mapped_column(String(16))
    created_at: Mapped[datetime]
    # The second factor (second_factor.py): a random seed from which, with a key only the server holds, the
    # authenticator's TOTP secret is derived, so a copy of the database alone cannot make codes. Set at enrolment
    # and kept while unconfirmed; mfa_enrolled_at says the user proved a code from it, and from then on every
    # sign-in asks for one. mfa_last_step is the TOTP time step of the last code accepted: a code of that step or
    # an earlier one is refused (replay).
    mfa_seed: Mapped[str | None] = mapped_column(String(64))
    mfa_enrolled_at: Mapped[datetime | None]
    mfa_last_step: Mapped[int | None] = mapped_column(BigInteger)
    # When the latest lock-out of a client address from this account ends (rules.py; each address that made too
    # many wrong passwords is locked out on its own). Read only where asked for: it is not a column.
    locked_until: Mapped[datetime | None] = column_property(
        select(func.max(SignInSource.locked_until))
        .where(SignInSource.user_id == id)
        .correlate_except(SignInSource)
        .scalar_subquery(),
        deferred=True,
    )

    @property
    def mfa_enrolled(self) -> bool:
        return self.mfa_enrolled_at is not None


class AuthSession(Base):
    """One sign-in on one device. Revoking it cuts off that device (a lost phone) at its next request.

    Its kind says what it opens: the API (access and refresh tokens) or only the dashboard page (a cookie)."""

    __tablename__ = "auth_session"

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=new_id)
    user_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("app_user.id"), index=True)
    kind: Mapped[SignInKind] = mapped_column(
        enum_column_type(SignInKind, "sign_in_kind"), default=SignInKind.API, server_default=SignInKind.API.value
    )
    created_at: Mapped[datetime]
    expires_at: Mapped[datetime]
    revoked_at: Mapped[datetime | None]
    revoked_reason: Mapped[str | None] = mapped_column(String(64))
    # When the sign-in proved a second factor (a TOTP or recovery code) besides the password; None for a password
    # alone. A refresh keeps it: it belongs to the sign-in, not to one token.
    second_factor_at: Mapped[datetime | None]

    user: Mapped[AppUser] = relationship(lazy="joined")

    @property
    def has_second_factor(self) -> bool:
        return self.second_factor_at is not None


class RefreshToken(Base):
    """Refresh tokens rotate: each is used once. A used one presented again means it was copied, so the
    whole sign-in is revoked (OAuth 2.0 Security BCP, refresh token rotation)."""

    __tablename__ = "refresh_token"

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=new_id)
    auth_session_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("auth_session.id", ondelete="CASCADE"))
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    issued_at: Mapped[datetime]
    used_at: Mapped[datetime | None]


Index("ix_refresh_token_auth_session_id", RefreshToken.auth_session_id)


class MfaRecoveryCode(Base):
    """One of a user's recovery codes, for signing in without the authenticator (a lost phone): shown once at
    enrolment, kept only as an argon2 hash (the codes are short enough to type, so a fast hash would not do), and
    used once. Enrolling again or an admin's reset replaces them all."""

    __tablename__ = "mfa_recovery_code"

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=new_id)
    user_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("app_user.id", ondelete="CASCADE"), index=True)
    code_hash: Mapped[str] = mapped_column(String(255))
    created_at: Mapped[datetime]
    used_at: Mapped[datetime | None]
