"""The check-in SMS: one GSM-7 segment once filled in, and nothing in it that reveals the service.

The phone may be shared or watched (docs/domain.md): the message carries a first name and an opaque link, and no
word that would tell a reader what the service is. A message with any character outside the GSM-7 basic set is
sent as UCS-2 (70 characters a segment), and characters from the GSM-7 extension table count twice, so both
are kept out.
"""

from __future__ import annotations

import re
from datetime import datetime
from zoneinfo import ZoneInfo

import pytest

from api.wellbeing import links
from notifications import templates
from notifications.gsm7 import segments

SEGMENT = 160
# GSM 03.38 basic character set (without the escape to the extension table).
GSM7_BASIC = set(
    "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?"
    "¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà"
)
# Words that would tell someone reading over the child's shoulder what the message is about.
DENY_LIST = [
    "programme",
    "mentor",
    "mentoring",
    "youth",
    "violence",
    "protect",
    "prevent",
    "police",
    "YOT",
    "exploitation",
    "missing",
    "wellbeing",
    "council",
    "referral",
    "risk",
]
FIRST_NAME_20 = "Alexandria-Josephine"
BASE_URL = "https://checkin.example.org"
# A token as the service makes it (URL-safe base64: letters, digits, "-" and "_"), and the worst case of each.
TOKENS = [
    links.link_token("test-secret-key-" + "x" * 32, "0123456789abcdef" * 2),
    "-" * 32,
    "_" * 32,
    "Zz09" * 8,
]


def link(token: str) -> str:
    return f"{BASE_URL}{links.link_path(token)}"


def test_the_names_and_tokens_used_here_are_the_sizes_the_rules_name():
    assert len(FIRST_NAME_20) == 20
    assert all(re.fullmatch(links.TOKEN_PATTERN, token) for token in TOKENS)
    assert len(link(TOKENS[0])) == len(BASE_URL) + len("/c/") + 32


@pytest.mark.parametrize("token", TOKENS)
def test_a_filled_in_check_in_sms_fits_one_gsm7_segment(token):
    message = templates.check_in_link(first_name=FIRST_NAME_20, link=link(token))

    assert len(message) <= SEGMENT, (len(message), message)
    assert set(message) <= GSM7_BASIC, set(message) - GSM7_BASIC
    assert FIRST_NAME_20 in message


@pytest.mark.parametrize("token", TOKENS)
def test_the_link_is_whole_and_last_so_the_phone_can_open_it(token):
    message = templates.check_in_link(first_name=FIRST_NAME_20, link=link(token))

    # Nothing glued to the end of the link (a full stop would be taken as part of it by some phones).
    assert message.endswith(" " + link(token))
    assert message.count(link(token)) == 1


WHEN = datetime(2026, 12, 1, 17, 30, tzinfo=ZoneInfo("Europe/London"))
# Every message the service sends, filled in with a long name: each must fit and reveal nothing.
EVERY_MESSAGE = {
    "check-in link": lambda name: templates.check_in_link(first_name=name, link=link(TOKENS[0])),
    "reminder to the child": lambda name: templates.session_reminder_to_child(first_name=name, when=WHEN),
    "reminder to the carer": lambda name: templates.session_reminder_to_carer(first_name=name, when=WHEN),
    "reminder to the mentor": lambda name: templates.session_reminder_to_mentor(first_name=name, when=WHEN),
}
TEMPLATES = [
    templates.CHECK_IN_LINK,
    templates.SESSION_REMINDER_TO_CHILD,
    templates.SESSION_REMINDER_TO_CARER,
    templates.SESSION_REMINDER_TO_MENTOR,
]


@pytest.mark.parametrize("template", TEMPLATES)
def test_the_wording_is_gsm7_and_names_nothing_about_the_service(template):
    wording = re.sub(r"{\w+}", "", template)

    assert set(wording) <= GSM7_BASIC
    revealing = [word for word in DENY_LIST if re.search(rf"\b{re.escape(word)}", wording, re.IGNORECASE)]
    assert revealing == [], wording


@pytest.mark.parametrize("kind", EVERY_MESSAGE)
def test_every_message_filled_in_fits_one_gsm7_segment_and_reveals_nothing(kind):
    message = EVERY_MESSAGE[kind](FIRST_NAME_20)

    assert len(message) <= SEGMENT, (len(message), message)
    assert set(message) <= GSM7_BASIC, set(message) - GSM7_BASIC
    assert FIRST_NAME_20 in message
    revealing = [word for word in DENY_LIST if re.search(rf"\b{re.escape(word)}", message, re.IGNORECASE)]
    assert revealing == [], message


def test_a_reminder_says_a_first_name_a_day_and_a_time_and_nothing_else():
    assert templates.session_reminder_to_child(first_name="Sam", when=WHEN) == (
        "Hi Sam, just a reminder: see you Tue 1 Dec at 17:30."
    )


def test_the_templates_ask_only_for_a_name_and_a_link_or_a_time():
    fields = {tuple(sorted(re.findall(r"{(\w*)}", template))) for template in TEMPLATES}

    assert fields == {("greeting", "link"), ("greeting", "when"), ("someone", "when")}


def test_braces_in_a_name_are_kept_as_written_not_read_as_template_fields():
    message = templates.check_in_link(first_name="{link}", link=link("A" * 32))

    assert message.startswith("Hi {link},")
    assert message.count(link("A" * 32)) == 1


@pytest.mark.parametrize("first_name", ["Zoë", "Łucja", "Şule", "Siân"])
def test_a_first_name_with_a_letter_outside_gsm7_still_gives_a_one_segment_gsm7_message(first_name):
    message = templates.check_in_link(first_name=first_name, link=link(TOKENS[0]))

    assert set(message) <= GSM7_BASIC, set(message) - GSM7_BASIC


@pytest.mark.parametrize("kind", EVERY_MESSAGE)
def test_the_longest_first_name_the_service_keeps_still_fits_one_segment(kind):
    message = EVERY_MESSAGE[kind]("A" * 80)

    assert len(message) <= SEGMENT, len(message)


def test_a_name_that_cannot_be_written_in_gsm7_is_left_out_rather_than_spoil_the_message():
    assert templates.check_in_link(first_name="Łucja", link=link(TOKENS[0])).startswith("Hi, your check-in")
    assert templates.check_in_link(first_name="Zoë", link=link(TOKENS[0])).startswith("Hi Zoe, your check-in")


# The longest address the service accepts at start-up (api/wellbeing/links.py, public_base_url_problem): the
# check-in text with no name and a 32-character token then fills exactly 160 septets.
LONGEST_BASE_URL = "https://reachable-check-ins.north-kent-and-medway.example.org/mentoring/links"


@pytest.mark.parametrize("base_url", ["https://checkins.kent-and-medway.example.org", LONGEST_BASE_URL])
@pytest.mark.parametrize("token", TOKENS)
def test_a_long_address_and_a_long_name_still_make_one_segment(base_url, token):
    long_link = f"{base_url}{links.link_path(token)}"
    assert links.public_base_url_problem(base_url) is None

    message = templates.check_in_link(first_name=FIRST_NAME_20, link=long_link)

    assert segments(message) == 1, (len(message), message)
    assert message.endswith(" " + long_link)


def test_the_name_is_kept_while_it_fits_and_left_out_only_when_it_does_not():
    short_link = link(TOKENS[0])
    long_link = f"https://checkins.north-kent-and-medway.example.org/mentoring{links.link_path(TOKENS[0])}"

    assert templates.check_in_link(first_name=FIRST_NAME_20, link=short_link).startswith(f"Hi {FIRST_NAME_20}, ")
    assert templates.check_in_link(first_name="Sam", link=long_link).startswith("Hi Sam, ")
    assert templates.check_in_link(first_name=FIRST_NAME_20, link=long_link).startswith("Hi, your check-in")


def test_an_address_too_long_for_a_one_segment_check_in_text_is_named_as_the_problem():
    assert links.public_base_url_problem(LONGEST_BASE_URL) is None
    assert "REACHABLE_PUBLIC_BASE_URL" in (links.public_base_url_problem(LONGEST_BASE_URL + "x") or "")
    # A character outside GSM-7 would make every link text UCS-2 (70 characters a segment).
    assert links.public_base_url_problem("https://zoë.example.org") is not None
