"""Alerts: what raises one, how urgent it is, who must receive it and when it escalates.

An alert nobody receives is the failure serious case reviews keep finding, so every urgent or high alert is sent
by SMS to the programme's duty coordinator in the transaction that raises it, must be acknowledged by a named
person, and escalates when it is not (to the fallback, then to every coordinator of the programme). Normal alerts
wait in the list for the next working look; they are not texted.

One open alert per child and kind (per programme, for a programme-wide kind such as gaps in duty cover): a repeat
updates it, with a count and its latest moment, so a falling score does not bury the coordinator.
"""

from __future__ import annotations

import secrets
from datetime import datetime, timedelta
from enum import StrEnum
from zoneinfo import ZoneInfo

from api.programmes.rules import AlertThresholds


class AlertKind(StrEnum):
    SAFEGUARDING_CONCERN = "safeguarding_concern"  # logged with a session
    CHILD_MISSING = "child_missing"  # a missing episode recorded with the child still missing
    LONE_WORKING_OVERDUE = "lone_working_overdue"  # a mentor did not check in after a session
    WELLBEING_DROP = "wellbeing_drop"  # a check-in fell beyond the instrument's threshold
    RETURN_CONVERSATION_DUE = "return_conversation_due"  # due within 12 hours and not held, then overdue
    DISENGAGEMENT = "disengagement"  # sessions missed in a row, none completed for a while, links unanswered
    CONTACT_LOST = "contact_lost"  # the child texted STOP, or their number was blocked
    DUTY_COVER_GAP = "duty_cover_gap"  # nobody on duty for part of the next 7 days (programme-wide)


class Urgency(StrEnum):
    URGENT = "urgent"
    HIGH = "high"
    NORMAL = "normal"


URGENCY = {
    AlertKind.SAFEGUARDING_CONCERN: Urgency.URGENT,
    AlertKind.CHILD_MISSING: Urgency.URGENT,
    AlertKind.LONE_WORKING_OVERDUE: Urgency.URGENT,
    AlertKind.WELLBEING_DROP: Urgency.HIGH,
    AlertKind.RETURN_CONVERSATION_DUE: Urgency.HIGH,
    AlertKind.DISENGAGEMENT: Urgency.NORMAL,
    AlertKind.CONTACT_LOST: Urgency.NORMAL,
    AlertKind.DUTY_COVER_GAP: Urgency.NORMAL,
}

# Kinds about the programme, not one child: their one open alert is per programme.
PROGRAMME_WIDE = frozenset({AlertKind.DUTY_COVER_GAP})

# The words an SMS may use for an alert: its urgency and a plain kind, never the child or what happened.
SMS_KIND_WORDS = {
    AlertKind.SAFEGUARDING_CONCERN: "safeguarding alert",
    AlertKind.CHILD_MISSING: "missing child alert",
    AlertKind.LONE_WORKING_OVERDUE: "lone working alert",
    AlertKind.WELLBEING_DROP: "wellbeing alert",
    AlertKind.RETURN_CONVERSATION_DUE: "return conversation alert",
}


class AlertState(StrEnum):
    RAISED = "raised"  # waiting for a named person to acknowledge it
    ACKNOWLEDGED = "acknowledged"
    RESOLVED = "resolved"  # closed with an outcome note; a new occurrence opens a new alert


class AlertEventKind(StrEnum):
    RAISED = "raised"
    REPEATED = "repeated"  # the same thing happened again while the alert was open
    TEXTED = "texted"  # an SMS was queued to this person
    NOBODY_TO_TEXT = "nobody_to_text"  # no one at this step had a work mobile: the next step is tried at once
    ESCALATED = "escalated"
    ACKNOWLEDGED = "acknowledged"
    RESOLVED = "resolved"


class EscalationStep(StrEnum):
    """Who an urgent or high alert has been sent to, in order; each step is recorded on the alert."""

    DUTY = "duty"  # the duty coordinator at the moment it was raised
    FALLBACK = "fallback"  # the rota's fallback for that moment
    ALL_COORDINATORS = "all_coordinators"  # every active coordinator of the programme
    EXHAUSTED = "exhausted"  # nobody left to send to; it stays at the top of the list


NEXT_STEP = {
    EscalationStep.DUTY: EscalationStep.FALLBACK,
    EscalationStep.FALLBACK: EscalationStep.ALL_COORDINATORS,
    EscalationStep.ALL_COORDINATORS: EscalationStep.EXHAUSTED,
}


def acknowledge_within(thresholds: AlertThresholds, urgency: Urgency) -> timedelta | None:
    """How long an alert may wait for acknowledgement before it escalates; None: it never escalates."""
    if urgency is Urgency.URGENT:
        return timedelta(minutes=thresholds.acknowledge_urgent_minutes)
    if urgency is Urgency.HIGH:
        return timedelta(minutes=thresholds.acknowledge_high_minutes)
    return None


def is_texted(urgency: Urgency) -> bool:
    return urgency is not Urgency.NORMAL


def escalate_at(*, urgency: Urgency, thresholds: AlertThresholds, since: datetime) -> datetime | None:
    within = acknowledge_within(thresholds, urgency)
    return since + within if within is not None else None


# Crockford's base32 without I, L, O, U: easy to read aloud over a phone.
_CODE_ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"


def new_code() -> str:
    """A short code to name an alert in an SMS and on the phone ("A-7K2QX"): it says nothing about the child."""
    return "A-" + "".join(secrets.choice(_CODE_ALPHABET) for _ in range(5))


def describe_gaps(
    gaps: list[tuple[datetime, datetime]], *, window: tuple[datetime, datetime], zone: ZoneInfo, days: int
) -> str:
    """ "Nobody on duty in the next 7 days: now to Sat 12 Dec 08:00; Sun 13 Dec 18:00 onwards", in the programme's
    time. A gap running from the window's start or to its end says "now" or "onwards", so the text changes only
    when the rota does, not every time the window moves on."""

    def local(moment: datetime) -> str:
        moment = moment.astimezone(zone)
        return f"{moment:%a} {moment.day} {moment:%b %H:%M}"

    def stretch(start: datetime, end: datetime) -> str:
        if end >= window[1]:
            return "now onwards" if start <= window[0] else f"{local(start)} onwards"
        return f"{'now' if start <= window[0] else local(start)} to {local(end)}"

    listed = "; ".join(stretch(start, end) for start, end in gaps[:10])
    more = f" and {len(gaps) - 10} more" if len(gaps) > 10 else ""
    return f"Nobody on duty in the next {days} days: {listed}{more}."


def gaps_subject(gaps: list[tuple[datetime, datetime]], *, window: tuple[datetime, datetime]) -> dict[str, str]:
    """The gaps as the next check compares them (an alert's `subject`): a gap running to the window's end is
    open-ended, so the window moving on changes nothing."""
    return {
        "gaps": ";".join(f"{start.isoformat()}/{'' if end >= window[1] else end.isoformat()}" for start, end in gaps)
    }


def gaps_already_counted(
    subject: dict[str, str] | None, gaps: list[tuple[datetime, datetime]], *, window: tuple[datetime, datetime]
) -> bool:
    """Whether these gaps are the ones last counted, seen from a later window: the time passed since is cut off the
    counted ones, so a gap that has begun since (the same rota, an hour on) is not news."""
    if not subject or "gaps" not in subject:
        return False
    counted = []
    for stretch in filter(None, subject["gaps"].split(";")):
        start_text, end_text = stretch.split("/")
        end = datetime.fromisoformat(end_text) if end_text else None
        if end is not None and end <= window[0]:
            continue
        counted.append((max(datetime.fromisoformat(start_text), window[0]), end))
    return counted == [(start, None if end >= window[1] else end) for start, end in gaps]
