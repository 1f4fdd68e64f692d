"""Mobile numbers, for children's phones and staff's alike.

Numbers must be valid E.164 *mobiles*: a UK landline can receive SMS as a voice call read aloud in the household
(docs/domain.md, "SMS to children: safeguarding"). The ground floor, because accounts (staff mobiles) sit below
children.
"""

from __future__ import annotations

from dataclasses import dataclass

import phonenumbers
from phonenumbers import PhoneNumberType

from api.errors import InvalidValue


class MalformedPhoneNumber(InvalidValue):
    reason = "malformed_phone_number"


class InvalidPhoneNumber(InvalidValue):
    reason = "invalid_phone_number"


class NotAMobileNumber(InvalidValue):
    reason = "not_a_mobile_number"


PHONE_NUMBER_ERRORS = {error.reason: error for error in (MalformedPhoneNumber, InvalidPhoneNumber, NotAMobileNumber)}


@dataclass(frozen=True)
class MobileNumberProblem:
    reason: str
    message: str


# Ofcom reserves 07700 900000 to 900999 for drama: never allocated, so libphonenumber calls them invalid.
# Demo data and tests use them (no real child's number may appear there); production refuses them.
DRAMA_MOBILE_PREFIX = "+447700900"


def normalise_mobile_number(
    raw: str, *, accept_drama_numbers: bool = False, default_region: str = "GB"
) -> str | MobileNumberProblem:
    """Return the E.164 form of a valid mobile number, or the problem with it."""
    try:
        parsed = phonenumbers.parse(raw, default_region)
    except phonenumbers.NumberParseException:
        return MobileNumberProblem("malformed_phone_number", "This is not a phone number.")
    e164 = phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.E164)
    if accept_drama_numbers and e164.startswith(DRAMA_MOBILE_PREFIX) and len(e164) == len(DRAMA_MOBILE_PREFIX) + 3:
        return e164
    if not phonenumbers.is_valid_number(parsed):
        return MobileNumberProblem("invalid_phone_number", "This is not a valid phone number.")
    if phonenumbers.number_type(parsed) not in (PhoneNumberType.MOBILE, PhoneNumberType.FIXED_LINE_OR_MOBILE):
        return MobileNumberProblem(
            "not_a_mobile_number",
            "Only mobile numbers can receive SMS safely; a landline reads messages aloud.",
        )
    return e164
