"""SMS wording. DOMAIN.md's safeguarding rules: assume the phone is shared or watched, so no programme or
service name, no place, no case content; a first name and a day and time at most; a check-in link carries an
opaque token only. Every template stays within one GSM-7 segment once filled in (tests check both)."""

from __future__ import annotations

CHECK_IN_LINK = "Hi {first_name}, your check-in is ready. It takes 2 minutes: {link}"


def check_in_link(*, first_name: str, link: str) -> str:
    return CHECK_IN_LINK.format(first_name=first_name, link=link)
