"""Accounts and roles.

Four roles, from the product brief: admins run the system; coordinators run a programme (referrals, the
waitlist, allocation); mentors see only the children allocated to them; commissioners see aggregates and
never a child. Everyone except an admin belongs to one programme.

Sign-in lock-out (issue 7, "Abuse"; NCSC password guidance: limit guessing rather than demand complexity),
per email tried and client address together (issue 13, finding 8: a lock on the whole account let any stranger
who knew a staff email keep its owner out). After `threshold` wrong passwords in a row from one client address
(`api.actors.client_network`), that address is locked out of that email for `minutes`, then unlocks by itself, and
an admin can unlock every address at once. Anyone else, the owner among them, still signs in. A successful sign-in from
the address clears its count. While locked, no sign-in from there succeeds and attempts are not counted (the
lock is fixed, so its end is predictable). The first failure after a lock ended starts a new count. A locked
address answers exactly as a wrong password does, so a guesser cannot tell. An email that is no account is
counted and locked the same way, so nothing the limits do tells a stranger which emails are accounts.

Guessing spread over many addresses is bounded by the email's budget of attempts (SIGN_IN_LIMIT_PER_EMAIL,
counted per account as OWASP's Authentication Cheat Sheet asks, so that many addresses do not mean many
guesses). Attempts that meet a lock never spend it (they cannot guess), so one address spends at most
`threshold` of it per lock: keeping the owner out through the budget needs many addresses. And an address the
account signed in from within KNOWN_SOURCE_DAYS (`is_known_source`) is not held to the budget at all, only to
its own lock: where the owner usually works, a stranger cannot keep them out even from many addresses.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum

from api.actors import Role

MIN_PASSWORD_LENGTH = 12


@dataclass(frozen=True)
class HashCost:
    """The cost of an argon2id hash: passes over memory (`time_cost`), memory in KiB, and lanes (`parallelism`)."""

    time_cost: int
    memory_kib: int
    parallelism: int


# The cost of every argon2id hash of a secret a person types: passwords (signing_in.py) and MFA recovery codes
# (second_factor.py). OWASP's Password Storage Cheat Sheet lists five configurations of argon2id that it holds
# equivalent (m=46 MiB t=1, 19 MiB t=2, 12 MiB t=3, 9 MiB t=4, 7 MiB t=5, all p=1), trading memory for passes; this
# is the one its summary gives as the minimum to use: 19 MiB (19456 KiB), 2 passes, 1 lane. Its CPU is close to the
# cheapest of the five (bench/sign_in.py prints each), while every guess still needs 19 MiB, which is what an
# attacker's hardware finds dearest. One lane keeps a sign-in on one core, so a burst of sign-ins shares a small
# host's cores instead of each asking for four; each sign-in in flight holds 19 MiB (8 at once, 2 gthread workers
# x 4 threads, about 152 MiB). It replaced argon2-cffi's default, RFC 9106's low-memory profile (t=3, 64 MiB,
# p=4), which cost about 9 times the CPU a verify (docs/decisions.md, "Password hashing cost").
#
# A stored hash of any other cost or variant (cheaper, or costlier like the old default) is replaced by one at
# this cost on the next sign-in that proves the password (signing_in.py): the cost is chosen here, both ways.
PASSWORD_HASH_COST = HashCost(time_cost=2, memory_kib=19 * 1024, parallelism=1)


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


# The roles that must sign in with a second factor unless configured otherwise (MFA_REQUIRED_ROLES): those who
# reach every child of a programme (coordinators) or of all of them (admins).
DEFAULT_MFA_REQUIRED_ROLES = frozenset({Role.ADMIN, Role.COORDINATOR})


def parse_roles(value: object) -> frozenset[Role]:
    """A setting naming roles: "admin,coordinator" or a JSON list of them; empty (or null) names none. An unknown
    role is a ValueError, so a typo cannot quietly leave a role without its second factor."""
    if value is None:
        return frozenset()
    names = value.split(",") if isinstance(value, str) else value
    if not isinstance(names, list | tuple | set | frozenset):
        raise ValueError(f"not a list of roles: {value!r}")
    roles = set()
    for name in names:
        cleaned = str(name).strip().lower()
        if cleaned:
            roles.add(Role(cleaned))
    return frozenset(roles)


def needs_second_factor(role: Role, *, enrolled: bool, required_roles: frozenset[Role]) -> bool:
    """Whether a sign-in of this user must prove a second factor: always for a role that requires one, and for
    anyone who enrolled (once enrolled, always asked, whatever the role)."""
    return enrolled or role in required_roles


def programme_required(role: Role) -> bool:
    return role is not Role.ADMIN


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


# How long an address the account signed in from stays known: a month covers leave and school holidays.
KNOWN_SOURCE_DAYS = 30


def is_known_source(signed_in_at: datetime | None, *, now: datetime) -> bool:
    """Whether the account signed in from this client address recently enough that the email's budget of
    attempts does not hold it (its own lock still does)."""
    return signed_in_at is not None and now - signed_in_at < timedelta(days=KNOWN_SOURCE_DAYS)
