"""Accounts and roles.

Four roles, from the product brief: admins run the system; coordinators run a programme (referrals, the
waitlist, allocation); mentors see only the children allocated to them; commissioners see aggregates and
never a child. Everyone except an admin belongs to one programme.

Sign-in lock-out (issue 7, "Abuse"; NCSC password guidance: limit guessing rather than demand complexity):
after `threshold` wrong passwords in a row an account is locked for `minutes`, then unlocks by itself, and an
admin can unlock it at once. A successful sign-in clears the count. While locked, no sign-in succeeds and
attempts are not counted (the lock is fixed, so its end is predictable). The first failure after a lock ended
starts a new count. A locked account answers exactly as a wrong password does, so a guesser cannot tell.
"""

from __future__ import annotations

import ipaddress
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum

MIN_PASSWORD_LENGTH = 12


class Role(StrEnum):
    ADMIN = "admin"
    COORDINATOR = "coordinator"
    MENTOR = "mentor"
    COMMISSIONER = "commissioner"


class SignInKind(StrEnum):
    """What a sign-in (an auth_session row) may be used for.

    An API sign-in holds the access and refresh tokens of the JSON API. A dashboard page sign-in holds only the
    commissioners' dashboard page's cookie (api/dashboards/page.py): the page reads and changes nothing, so a
    copy of that cookie must never write through the API. Each check accepts its own kind only."""

    API = "api"
    DASHBOARD_PAGE = "dashboard_page"


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


@dataclass(frozen=True)
class LockoutPolicy:
    """How many wrong passwords in a row lock an account, and for how long."""

    threshold: int = 5
    minutes: int = 15

    def __post_init__(self) -> None:
        if self.threshold < 1 or self.minutes < 1:
            raise ValueError("A lock-out needs at least one failure and lasts at least one minute.")


def is_locked(locked_until: datetime | None, *, now: datetime) -> bool:
    return locked_until is not None and now < locked_until


def lock_ended(locked_until: datetime | None, *, now: datetime) -> bool:
    """A lock that has run out: the next failure starts a new count."""
    return locked_until is not None and now >= locked_until


def failures_after_one_more(failed_sign_ins: int, locked_until: datetime | None, *, now: datetime) -> int:
    """The count after a wrong password on an account that is not locked now (the service does the same in SQL,
    atomically; this is the rule it follows)."""
    return 1 if lock_ended(locked_until, now=now) else failed_sign_ins + 1


def locks_now(failures: int, policy: LockoutPolicy) -> bool:
    """Whether the failure that brought the count to `failures` locks the account.

    Exactly the failure that reaches the threshold locks, so when parallel guesses race each count is seen by
    one of them only and the account is locked (and audited) once."""
    return failures == policy.threshold


def lock_ends_at(now: datetime, policy: LockoutPolicy) -> datetime:
    return now + timedelta(minutes=policy.minutes)


# An IPv6 address counts by its /64: one home or office line gets a whole /64, so anyone holding one could
# otherwise step to a new address for every guess (RFC 4291 section 2.5.1; RFC 6177 assigns sites /48 to /64).
IPV6_NETWORK_PREFIX = 64


def client_network(address: str) -> str:
    """What per-address limits count a client by: an IPv4 address as it is (an IPv4-mapped IPv6 address too),
    an IPv6 address by its /64 network. Anything that is not an address counts as itself."""
    try:
        parsed = ipaddress.ip_address(address.strip())
    except ValueError:
        return address.strip()
    if isinstance(parsed, ipaddress.IPv6Address):
        if parsed.ipv4_mapped is not None:
            return str(parsed.ipv4_mapped)
        return str(ipaddress.IPv6Network((parsed, IPV6_NETWORK_PREFIX), strict=False))
    return str(parsed)
