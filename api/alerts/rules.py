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
from dataclasses import dataclass, fields, replace
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any


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


@dataclass(frozen=True)
class AlertThresholds:
    """A programme's alert settings (programme.alert_thresholds holds only what differs from these defaults)."""

    # Unacknowledged this long, an alert escalates one step.
    acknowledge_urgent_minutes: int = 15
    acknowledge_high_minutes: int = 120
    # A return conversation not held raises an alert when it is due within this many hours.
    return_conversation_warning_hours: int = 12
    # Disengagement: planned sessions not attended in a row; days with no completed session while enrolled;
    # check-in links in a row that expired unanswered.
    missed_sessions_in_a_row: int = 3
    days_without_completed_session: int = 14
    unanswered_links_in_a_row: int = 2
    # Lone working: a session's "check in by" defaults to its planned end plus this; the mentor is texted at
    # check-in-by, and the duty coordinator alerted this many minutes later.
    lone_working_grace_minutes: int = 30
    lone_working_alert_after_minutes: int = 15
    # Gaps in duty cover are looked for this many days ahead.
    duty_cover_days_ahead: int = 7

    def acknowledge_within(self, urgency: Urgency) -> timedelta | None:
        """How long an alert may wait for acknowledgement before it escalates; None: it never escalates."""
        if urgency is Urgency.URGENT:
            return timedelta(minutes=self.acknowledge_urgent_minutes)
        if urgency is Urgency.HIGH:
            return timedelta(minutes=self.acknowledge_high_minutes)
        return None


THRESHOLD_NAMES = tuple(field.name for field in fields(AlertThresholds))


def thresholds_from(stored: dict[str, Any] | None) -> AlertThresholds:
    """A programme's thresholds: its stored overrides over the defaults (unknown names are ignored)."""
    overrides = {name: int(value) for name, value in (stored or {}).items() if name in THRESHOLD_NAMES}
    return replace(AlertThresholds(), **overrides)


def is_texted(urgency: Urgency) -> bool:
    return urgency is not Urgency.NORMAL


def escalate_at(*, urgency: Urgency, thresholds: AlertThresholds, since: datetime) -> datetime | None:
    within = thresholds.acknowledge_within(urgency)
    return since + within if within is not None else None


# Crockford's base32 without I, L, O, U: easy to read aloud over a phone.
_CODE_ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"


def new_code() -> str:
    """A short code to name an alert in an SMS and on the phone ("A-7K2Q"): it says nothing about the child."""
    return "A-" + "".join(secrets.choice(_CODE_ALPHABET) for _ in range(4))
