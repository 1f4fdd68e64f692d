"""Mentoring sessions and the weekly cap.

- A session belongs to one enrolment (one child) or is a group session with several enrolled children.
- Times are stored UTC and read in the programme's time zone. A session is an *evening* session when it
  starts at or after 17:00 local time, a *weekend* session on a local Saturday or Sunday (docs/domain.md).
- The weekly cap (our choice, docs/domain.md, "Timings"): at most the cohort's max_sessions_per_week per child per ISO
  week in the programme's local time, counted across all mentors and group sessions; cancelled and
  rescheduled-away sessions do not count. A coordinator may raise the cap for one child's week, with a reason.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime, time, timedelta
from enum import StrEnum
from zoneinfo import ZoneInfo

EVENING_STARTS = time(17, 0)
MAX_GROUP_SIZE = 30


class SessionKind(StrEnum):
    ONE_TO_ONE = "one_to_one"
    GROUP = "group"
    PHONE_VIDEO = "phone_video"


class LocationCategory(StrEnum):
    HOME = "home"
    SCHOOL = "school"
    COMMUNITY_VENUE = "community_venue"
    OUTDOORS = "outdoors"
    ONLINE = "online"


class SessionStatus(StrEnum):
    PLANNED = "planned"
    COMPLETED = "completed"
    DID_NOT_ATTEND = "did_not_attend"
    CANCELLED_BY_CHILD = "cancelled_by_child"
    CANCELLED_BY_MENTOR = "cancelled_by_mentor"
    RESCHEDULED = "rescheduled"


COUNTS_TOWARDS_CAP = frozenset({SessionStatus.PLANNED, SessionStatus.COMPLETED, SessionStatus.DID_NOT_ATTEND})
CANCELLED = frozenset({SessionStatus.CANCELLED_BY_CHILD, SessionStatus.CANCELLED_BY_MENTOR})
# A session that happened (or did not) is history: it cannot be moved back to planned or rescheduled.
FINAL = frozenset({SessionStatus.COMPLETED, SessionStatus.DID_NOT_ATTEND, SessionStatus.RESCHEDULED}) | CANCELLED


def local_week(at: datetime, time_zone: str) -> str:
    """The ISO week, in the programme's local time, that an instant falls in: '2026-W48'."""
    year, week, _ = at.astimezone(ZoneInfo(time_zone)).isocalendar()
    return f"{year}-W{week:02d}"


def is_evening(start: datetime, time_zone: str) -> bool:
    return start.astimezone(ZoneInfo(time_zone)).time() >= EVENING_STARTS


def is_weekend(start: datetime, time_zone: str) -> bool:
    return start.astimezone(ZoneInfo(time_zone)).isoweekday() >= 6


@dataclass(frozen=True)
class SessionLog:
    """What a mentor records about a session that happened, and any safeguarding concern it raised."""

    actual_duration_minutes: int | None = None
    activities: list[str] | None = None
    notes: str | None = None
    safeguarding_concern: str | None = None
    concern_child_id: uuid.UUID | None = None


@dataclass(frozen=True)
class CapCheck:
    allowed: bool
    week: str
    sessions_in_week: int
    max_sessions: int


def check_weekly_cap(*, week: str, sessions_in_week: int, adding: int, max_sessions: int) -> CapCheck:
    return CapCheck(sessions_in_week + adding <= max_sessions, week, sessions_in_week, max_sessions)


def duration_problem(start: datetime, end: datetime) -> str | None:
    if end <= start:
        return "A session must end after it starts."
    if end - start > timedelta(hours=12):
        return "A session cannot last more than 12 hours."
    return None


def can_change_to(current: SessionStatus, new: SessionStatus) -> bool:
    return current is SessionStatus.PLANNED or current == new
