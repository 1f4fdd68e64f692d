"""Alerts to a programme's coordinators. A safeguarding concern raised when a session is logged becomes an
alert straight away; so does a check-in whose scores fell meaningfully from the child's baseline. The mentor sees
it in their sync feed, a coordinator acknowledges it. (The SMS to the duty coordinator comes with the SMS work.)"""

from __future__ import annotations

from enum import StrEnum


class AlertKind(StrEnum):
    SAFEGUARDING_CONCERN = "safeguarding_concern"
    WELLBEING_DROP = "wellbeing_drop"
