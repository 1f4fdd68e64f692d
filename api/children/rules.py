"""Children, their phone numbers and their consent to be contacted.

- Everywhere except where a name is needed, a child is shown by a pseudonymous reference (YP-7F3K2Q).
- Numbers must be valid E.164 *mobiles* (api/mobile_numbers.py): a UK landline can receive SMS as a voice call
  read aloud in the household (docs/domain.md, "Children"). We record whose phone each number is.
- Consent is per channel and kept as history: the latest record for a channel is the one in force.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import date
from enum import StrEnum

# Crockford-style alphabet without I, L, O, U, 0 and 1: easy to read aloud, hard to mistype.
REFERENCE_ALPHABET = "23456789ABCDEFGHJKMNPQRSTVWXYZ"
REFERENCE_LENGTH = 6


class PhoneOwner(StrEnum):
    CHILD = "child"
    PARENT = "parent"
    CARER = "carer"


class ContactChannel(StrEnum):
    SMS_TO_CHILD = "sms_to_child"
    SMS_TO_CARER = "sms_to_carer"


class ConsentGivenBy(StrEnum):
    CHILD = "child"
    PARENT = "parent"
    CARER = "carer"


@dataclass(frozen=True)
class NewPhoneNumber:
    number: str
    belongs_to: PhoneOwner


def new_child_reference() -> str:
    return "YP-" + "".join(secrets.choice(REFERENCE_ALPHABET) for _ in range(REFERENCE_LENGTH))


def channel_reaches(channel: ContactChannel, owner: PhoneOwner) -> bool:
    if channel is ContactChannel.SMS_TO_CHILD:
        return owner is PhoneOwner.CHILD
    return owner in (PhoneOwner.PARENT, PhoneOwner.CARER)


# Services run to 25 (docs/domain.md, "Children"); a date of birth outside 5 to 25 years old is almost certainly a typo.
YOUNGEST_AGE, OLDEST_AGE = 5, 25


def age_on(date_of_birth: date, on: date) -> int:
    return on.year - date_of_birth.year - ((on.month, on.day) < (date_of_birth.month, date_of_birth.day))


def date_of_birth_problem(date_of_birth: date, *, today: date) -> str | None:
    if date_of_birth > today:
        return "A date of birth cannot be in the future."
    if not YOUNGEST_AGE <= age_on(date_of_birth, today) <= OLDEST_AGE:
        return f"The child must be between {YOUNGEST_AGE} and {OLDEST_AGE} years old."
    return None
