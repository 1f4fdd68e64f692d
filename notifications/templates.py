"""SMS wording. The safeguarding rules of docs/domain.md: assume the phone is shared or watched, so no programme or
service name, no place, no case content; a first name and a day and time at most; a check-in link carries an
opaque token only. Every message stays within one GSM-7 segment once filled in (tests check both).

Names are the one part we do not write: a single letter outside GSM-7 (Łucja) would turn the whole text into
UCS-2, at 70 characters a segment, and a long name would overflow it. So a name is written without accents
(Zoë becomes Zoe), cut to 20 characters, and left out altogether when it still is not plain GSM-7. A check-in
link's length depends on the service's public address, so its name is also left out when the text would
otherwise need a second segment (and the address is checked at start-up to leave room for the text without one).
"""

from __future__ import annotations

import unicodedata
from datetime import datetime

from notifications.gsm7 import is_gsm7, segments

MAX_NAME_LENGTH = 20

CHECK_IN_LINK = "{greeting} your check-in is ready. It takes 2 minutes: {link}"
# A reminder says at most a first name and a day and time (docs/domain.md): never what the meeting is, or where.
SESSION_REMINDER_TO_CHILD = "{greeting} just a reminder: see you {when}."
SESSION_REMINDER_TO_CARER = "Reminder: {someone} has an appointment {when}."
SESSION_REMINDER_TO_MENTOR = "Reminder: {someone} {when}."


def sms_name(name: str) -> str:
    """The name as it can go in one GSM-7 segment, or "" when it cannot."""
    plain = "".join(ch for ch in unicodedata.normalize("NFKD", name) if not unicodedata.combining(ch))
    plain = " ".join(plain.split())[:MAX_NAME_LENGTH].strip()
    return plain if plain and is_gsm7(plain) else ""


def _greeting(first_name: str) -> str:
    name = sms_name(first_name)
    return f"Hi {name}," if name else "Hi,"


def _when(moment: datetime) -> str:
    # "Tue 2 Dec at 17:30", in the programme's local time (the caller converts).
    return f"{moment:%a} {moment.day} {moment:%b} at {moment:%H:%M}"


def check_in_link(*, first_name: str, link: str) -> str:
    text = CHECK_IN_LINK.format(greeting=_greeting(first_name), link=link)
    if segments(text) == 1:
        return text
    return CHECK_IN_LINK.format(greeting=_greeting(""), link=link)


def check_in_link_fits_one_segment(link: str) -> bool:
    """Whether a check-in text with this link is one segment even with no name (checked at start-up)."""
    return segments(check_in_link(first_name="", link=link)) == 1


def session_reminder_to_child(*, first_name: str, when: datetime) -> str:
    return SESSION_REMINDER_TO_CHILD.format(greeting=_greeting(first_name), when=_when(when))


def session_reminder_to_carer(*, first_name: str, when: datetime) -> str:
    return SESSION_REMINDER_TO_CARER.format(someone=sms_name(first_name) or "your child", when=_when(when))


def session_reminder_to_mentor(*, first_name: str, when: datetime) -> str:
    return SESSION_REMINDER_TO_MENTOR.format(someone=sms_name(first_name) or "your session", when=_when(when))


# To staff, about an alert: its urgency, a plain kind and its code, never the child or what happened. The phone may
# be read over a shoulder like anyone's; the app says the rest to the person signed in.
ALERT_TO_COORDINATOR = "Reachable: {urgency} {kind} {code} needs you {when}. Open the app."
ALERT_ESCALATED = "Reachable: {urgency} {kind} {code} is not yet acknowledged and needs you {when}. Open the app."
LONE_WORKING_CHECK = "Reachable: please check in now to say you are safe after your session. Open the app."


def alert_to_coordinator(*, urgent: bool, kind_words: str, code: str, escalated: bool) -> str:
    template = ALERT_ESCALATED if escalated else ALERT_TO_COORDINATOR
    return template.format(
        urgency="urgent" if urgent else "high priority", kind=kind_words, code=code, when="now" if urgent else "today"
    )


def lone_working_check() -> str:
    return LONE_WORKING_CHECK
