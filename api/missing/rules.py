"""Missing episodes and return conversations.

After every return from missing, an independent return home interview should be offered within 72 hours
of the child's return (DfE statutory guidance, 2014); the seed project calls it the Missing Return
Conversation. The clock starts at the return, not at the report of it. Nationally about 63% happen within
72 hours, and commissioners watch the rate.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from enum import StrEnum

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


def episode_problem(*, reported_at: datetime, returned_at: datetime | None, now: datetime) -> str | None:
    if reported_at > now:
        return "A missing episode cannot be reported in the future."
    if returned_at is not None and returned_at > now:
        return "A return cannot be in the future."
    return None
