"""Missing episodes and return conversations.

After every return from missing, an independent return home interview should be offered within 72 hours
of the child's return (DfE statutory guidance, 2014); the seed project calls it the Missing Return
Conversation. The clock starts at the return, not at the report of it. Nationally about 63% happen within
72 hours, and commissioners watch the rate.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from enum import StrEnum
from zoneinfo import ZoneInfo

RETURN_CONVERSATION_WITHIN = timedelta(hours=72)


class MissingSource(StrEnum):
    POLICE = "police"
    FAMILY = "family"
    CARER = "carer"
    SCHOOL = "school"
    SOCIAL_CARE = "social_care"
    OTHER = "other"


class ConversationOutcome(StrEnum):
    OFFERED = "offered"
    COMPLETED = "completed"
    DECLINED = "declined"


def conversation_due_at(returned_at: datetime) -> datetime:
    return returned_at + RETURN_CONVERSATION_WITHIN


def is_overdue(*, returned_at: datetime, completed_at: datetime | None, now: datetime) -> bool:
    return completed_at is None and now > conversation_due_at(returned_at)


def held_within_72_hours(*, returned_at: datetime, completed_at: datetime | None) -> bool:
    return completed_at is not None and completed_at <= conversation_due_at(returned_at)


def episode_problems(*, reported_at: datetime, returned_at: datetime | None, now: datetime) -> dict[str, str]:
    """What is wrong with an episode's times, by field; empty when nothing is. A child can come back the
    moment they are reported (a report made on their return), never before."""
    problems: dict[str, str] = {}
    if reported_at > now:
        problems["reported_at"] = "A missing episode cannot be reported in the future."
    if returned_at is not None:
        if returned_at > now:
            problems["returned_at"] = "A return cannot be in the future."
        elif returned_at < reported_at:
            problems["returned_at"] = "A child cannot return before they were reported missing."
    return problems


def episode_problem(*, reported_at: datetime, returned_at: datetime | None, now: datetime) -> str | None:
    return next(iter(episode_problems(reported_at=reported_at, returned_at=returned_at, now=now).values()), None)


def conversation_problems(
    *,
    outcome: ConversationOutcome,
    returned_at: datetime,
    offered_at: datetime,
    completed_at: datetime | None,
    declined_reason: str | None,
    now: datetime,
) -> dict[str, str]:
    """What is wrong with a return conversation as recorded, by field; empty when nothing is.

    It is offered after the return, completed after the offer, and a completion time or a reason for
    declining belongs only to that outcome (so the record cannot say two things at once)."""
    problems: dict[str, str] = {}
    if offered_at > now:
        problems["offered_at"] = "A conversation cannot be offered in the future."
    elif offered_at < returned_at:
        problems["offered_at"] = "A return conversation is offered after the child's return."
    if outcome is ConversationOutcome.COMPLETED:
        if completed_at is None:
            problems["completed_at"] = "Say when a completed conversation was held."
        elif completed_at > now:
            problems["completed_at"] = "A conversation cannot be completed in the future."
        elif completed_at < offered_at:
            problems["completed_at"] = "A conversation is completed after it is offered."
    elif completed_at is not None:
        problems["completed_at"] = "Only a completed conversation has a completion time."
    if outcome is ConversationOutcome.DECLINED:
        if not (declined_reason or "").strip():
            problems["declined_reason"] = "Say why the child declined."
    elif declined_reason is not None:
        problems["declined_reason"] = "Only a declined conversation has a reason for declining."
    return problems


def missing_alert_detail(*, reported_at: datetime, source: MissingSource, zone: ZoneInfo) -> str:
    """ "Reported missing at Mon 23 Nov 2026 14:00 (source: police)", in the programme's time: what the duty
    coordinator reads in the alert (the SMS itself says only "missing child alert")."""
    local = reported_at.astimezone(zone)
    return f"Reported missing at {local:%a} {local.day} {local:%b %Y %H:%M} (source: {source.value.replace('_', ' ')})"
