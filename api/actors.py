"""Who is asking, in which role and from which client network: every domain may import this, so rules about
access never read global state.

Four roles: admins run the system; coordinators run a programme (referrals, the waitlist, allocation); mentors see
only the children allocated to them; commissioners see aggregates and never a child. Everyone except an admin
belongs to one programme.
"""

from __future__ import annotations

import ipaddress
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
