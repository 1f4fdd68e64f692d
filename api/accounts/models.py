from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import CheckConstraint, ForeignKey, Index, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from api.accounts.rules import Role, SignInKind
from api.db import Base, new_id
from api.enums import enum_column_type


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
    # Wrong passwords since the last successful sign-in, and when the lock-out they caused ends (rules.py).
    failed_sign_ins: Mapped[int] = mapped_column(default=0, server_default="0")
    locked_until: Mapped[datetime | None]


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

    user: Mapped[AppUser] = relationship(lazy="joined")


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
