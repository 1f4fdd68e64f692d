"""Accounts and roles.

Four roles, from the product brief: admins run the system; coordinators run a programme (referrals, the
waitlist, allocation); mentors see only the children allocated to them; commissioners see aggregates and
never a child. Everyone except an admin belongs to one programme.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from enum import StrEnum

MIN_PASSWORD_LENGTH = 12


class Role(StrEnum):
    ADMIN = "admin"
    COORDINATOR = "coordinator"
    MENTOR = "mentor"
    COMMISSIONER = "commissioner"


def password_problem(password: str) -> str | None:
    """NCSC guidance: length over composition rules."""
    if len(password) < MIN_PASSWORD_LENGTH:
        return f"Use at least {MIN_PASSWORD_LENGTH} characters."
    if len(password) > 256:
        return "Use at most 256 characters."
    return None


def programme_required(role: Role) -> bool:
    return role is not Role.ADMIN


@dataclass(frozen=True)
class Actor:
    """Who is asking: passed into every service so rules about access never read global state."""

    user_id: uuid.UUID
    role: Role
    programme_id: uuid.UUID | None
    # The sign-in the request came through, so signing out ends exactly that one.
    auth_session_id: uuid.UUID | None = None

    @property
    def programme_scope(self) -> uuid.UUID | None:
        """The programme whose records this actor works on; None for an admin, who works on all."""
        return None if self.role is Role.ADMIN else self.programme_id

    def sees_programme(self, programme_id: uuid.UUID) -> bool:
        return self.role is Role.ADMIN or self.programme_id == programme_id
