"""The pure rules about children: mobile numbers, references, dates of birth and which phone a channel reaches."""

import re
from datetime import date

import pytest

from api.children.rules import (
    REFERENCE_ALPHABET,
    ContactChannel,
    PhoneOwner,
    age_on,
    channel_reaches,
    date_of_birth_problem,
    new_child_reference,
)
from api.mobile_numbers import MobileNumberProblem, normalise_mobile_number

LANDLINE_MESSAGE = "Only mobile numbers can receive SMS safely; a landline reads messages aloud."


def reason_of(result: str | MobileNumberProblem) -> str:
    assert isinstance(result, MobileNumberProblem), f"expected a problem, got {result!r}"
    return result.reason


# Phone numbers


@pytest.mark.parametrize(
    ("raw", "e164"),
    [
        ("07911 123456", "+447911123456"),
        ("07911123456", "+447911123456"),
        ("+44 7911 123456", "+447911123456"),
        ("+44 (0)7911 123456", "+447911123456"),
        ("0044 7911 123456", "+447911123456"),
        ("+33 6 12 34 56 78", "+33612345678"),
    ],
)
def test_a_mobile_number_is_normalised_to_e164(raw, e164):
    assert normalise_mobile_number(raw) == e164


@pytest.mark.parametrize("raw", ["+447700900123", "07700 900123", "+44 7700 900 000", "+44 7700 900 999"])
def test_drama_numbers_are_accepted_when_drama_numbers_are_allowed(raw):
    digits = re.sub(r"\D", "", raw)[-3:]

    assert normalise_mobile_number(raw, accept_drama_numbers=True) == f"+447700900{digits}"


@pytest.mark.parametrize("raw", ["+447700900123", "07700 900123"])
def test_drama_numbers_are_refused_as_invalid_by_default(raw):
    assert reason_of(normalise_mobile_number(raw)) == "invalid_phone_number"
    assert reason_of(normalise_mobile_number(raw, accept_drama_numbers=False)) == "invalid_phone_number"


def test_a_drama_prefix_with_too_many_digits_is_not_a_drama_number():
    assert reason_of(normalise_mobile_number("+4477009001234", accept_drama_numbers=True)) == "invalid_phone_number"


def test_the_drama_allowance_covers_only_the_reserved_thousand_numbers():
    # 07700 901xxx is outside Ofcom's drama range and unallocated, so it stays invalid even in demo mode.
    assert reason_of(normalise_mobile_number("+447700901123", accept_drama_numbers=True)) == "invalid_phone_number"


@pytest.mark.parametrize("accept_drama_numbers", [False, True])
@pytest.mark.parametrize("raw", ["+44 20 7946 0123", "020 7946 0123", "0800 123 4567"])
def test_a_landline_is_not_a_mobile_number(raw, accept_drama_numbers):
    result = normalise_mobile_number(raw, accept_drama_numbers=accept_drama_numbers)

    assert result == MobileNumberProblem("not_a_mobile_number", LANDLINE_MESSAGE)


@pytest.mark.parametrize("raw", ["hello", "not a phone", "+", "call me maybe"])
def test_garbage_is_a_malformed_phone_number(raw):
    assert normalise_mobile_number(raw, accept_drama_numbers=True) == MobileNumberProblem(
        "malformed_phone_number", "This is not a phone number."
    )


@pytest.mark.parametrize("raw", ["12", "+44 7911 12345", "07911 1234567"])
def test_a_number_with_the_wrong_length_is_invalid(raw):
    assert normalise_mobile_number(raw, accept_drama_numbers=True) == MobileNumberProblem(
        "invalid_phone_number", "This is not a valid phone number."
    )


def test_national_numbers_are_read_in_the_default_region():
    # A French national mobile number means nothing in the UK but is a mobile in France.
    assert normalise_mobile_number("06 12 34 56 78", default_region="FR") == "+33612345678"
    assert isinstance(normalise_mobile_number("06 12 34 56 78"), MobileNumberProblem)


# References


REFERENCE_PATTERN = re.compile(rf"^YP-[{REFERENCE_ALPHABET}]{{6}}$")


def test_a_child_reference_is_yp_and_six_characters_from_the_alphabet():
    for _ in range(200):
        assert REFERENCE_PATTERN.match(new_child_reference())


def test_the_reference_alphabet_leaves_out_characters_easily_confused():
    assert set(REFERENCE_ALPHABET).isdisjoint(set("ILOU01"))
    assert len(set(REFERENCE_ALPHABET)) == len(REFERENCE_ALPHABET) == 30


def test_child_references_are_random():
    references = {new_child_reference() for _ in range(200)}

    assert len(references) > 190


# Dates of birth


TODAY = date(2026, 11, 23)


@pytest.mark.parametrize(
    ("date_of_birth", "age"),
    [
        (date(2012, 11, 23), 14),
        (date(2012, 11, 24), 13),
        (date(2012, 11, 22), 14),
        (date(2012, 12, 1), 13),
        (date(2012, 1, 1), 14),
    ],
)
def test_age_counts_whole_years_turning_on_the_birthday(date_of_birth, age):
    assert age_on(date_of_birth, TODAY) == age


def test_a_leap_day_birthday_turns_a_year_older_on_the_first_of_march_in_other_years():
    assert age_on(date(2012, 2, 29), date(2025, 2, 28)) == 12
    assert age_on(date(2012, 2, 29), date(2025, 3, 1)) == 13


def test_a_date_of_birth_in_the_future_is_a_problem():
    assert date_of_birth_problem(date(2026, 11, 24), today=TODAY) == "A date of birth cannot be in the future."


@pytest.mark.parametrize(
    "date_of_birth",
    [
        date(2021, 11, 23),  # five today
        date(2012, 5, 17),
        date(2000, 11, 24),  # 25 until tomorrow
    ],
)
def test_a_child_aged_five_to_twenty_five_has_a_plausible_date_of_birth(date_of_birth):
    assert date_of_birth_problem(date_of_birth, today=TODAY) is None


@pytest.mark.parametrize(
    "date_of_birth",
    [
        date(2021, 11, 24),  # five tomorrow
        date(2026, 11, 23),  # born today
        date(2000, 11, 23),  # 26 today
        date(1980, 1, 1),
    ],
)
def test_a_child_younger_than_five_or_older_than_twenty_five_is_implausible(date_of_birth):
    assert date_of_birth_problem(date_of_birth, today=TODAY) == "The child must be between 5 and 25 years old."


# Channels


@pytest.mark.parametrize(
    ("channel", "owner", "reaches"),
    [
        (ContactChannel.SMS_TO_CHILD, PhoneOwner.CHILD, True),
        (ContactChannel.SMS_TO_CHILD, PhoneOwner.PARENT, False),
        (ContactChannel.SMS_TO_CHILD, PhoneOwner.CARER, False),
        (ContactChannel.SMS_TO_CARER, PhoneOwner.CHILD, False),
        (ContactChannel.SMS_TO_CARER, PhoneOwner.PARENT, True),
        (ContactChannel.SMS_TO_CARER, PhoneOwner.CARER, True),
    ],
)
def test_sms_to_a_child_reaches_only_the_childs_own_phone_and_sms_to_a_carer_only_a_parent_or_carer(
    channel, owner, reaches
):
    assert channel_reaches(channel, owner) is reaches
