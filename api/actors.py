"""Who is asking, and in which role: every domain may import this, so rules about access never read global state.

Four roles: admins run the system; coordinators run a programme (referrals, the waitlist, allocation); mentors see
only the children allocated to them; commissioners see aggregates and never a child. Everyone except an admin
belongs to one programme.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from enum import StrEnum


class Role(StrEnum):
    ADMIN = "admin"
    COORDINATOR = "coordinator"
    MENTOR = "mentor"
    COMMISSIONER = "commissioner"


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
