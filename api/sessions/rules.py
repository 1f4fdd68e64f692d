"""Mentoring sessions and the weekly cap.

- A session belongs to one enrolment (one child) or is a group session with several enrolled children.
- Times are stored UTC and read in the programme's time zone. A session is an *evening* session when it
  starts at or after 17:00 local time, a *weekend* session on a local Saturday or Sunday (docs/domain.md).
- The weekly cap (our choice, docs/domain.md, "Timings"): at most the cohort's max_sessions_per_week per child per ISO
  week in the programme's local time, counted across all mentors and group sessions; cancelled and
  rescheduled-away sessions do not count. A coordinator may raise the cap for one child's week, with a reason.
  Planning a session and generating a pattern's sessions both ask `check_weekly_cap`, with the week counted by
  `api/sessions/queries.week_loads`.
- Who may plan, log or move sessions for a child's place (`may_plan_for`): the rule of which children an actor may see
  (`api/children/queries.visible_to`), read for one place.
"""

from __future__ import annotations

import uuid
from collections.abc import Collection
from dataclasses import dataclass
from datetime import datetime, time, timedelta
from enum import StrEnum
from zoneinfo import ZoneInfo

from api.actors import Actor, Role
from api.programmes.rules import CohortKind
from api.sessions.errors import InvalidSession

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


# A session still on the calendar (not cancelled, not moved away): what a duplicate or a pattern's copy is checked
# against. (The weekly cap counts children's register lines instead: register_rules.HOLDS_A_PLACE.)
STILL_ON = frozenset({SessionStatus.PLANNED, SessionStatus.COMPLETED, SessionStatus.DID_NOT_ATTEND})
CANCELLED = frozenset({SessionStatus.CANCELLED_BY_CHILD, SessionStatus.CANCELLED_BY_MENTOR})
# A session that happened (or did not) is history: it cannot be moved back to planned or rescheduled.
FINAL = frozenset({SessionStatus.COMPLETED, SessionStatus.DID_NOT_ATTEND, SessionStatus.RESCHEDULED}) | CANCELLED


@dataclass(frozen=True)
class LocalTiming:
    """When a session starts, read once in the programme's time zone: its ISO week and whether it is an evening or
    a weekend session."""

    week: str
    is_evening: bool
    is_weekend: bool


def local_timing(start: datetime, time_zone: str) -> LocalTiming:
    local = start.astimezone(ZoneInfo(time_zone))
    year, week, weekday = local.isocalendar()
    return LocalTiming(week=f"{year}-W{week:02d}", is_evening=local.time() >= EVENING_STARTS, is_weekend=weekday >= 6)


def local_week(at: datetime, time_zone: str) -> str:
    """The ISO week, in the programme's local time, that an instant falls in: '2026-W48'."""
    return local_timing(at, time_zone).week


def is_evening(start: datetime, time_zone: str) -> bool:
    return local_timing(start, time_zone).is_evening


def is_weekend(start: datetime, time_zone: str) -> bool:
    return local_timing(start, time_zone).is_weekend


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


def check_weekly_cap(
    *, week: str, sessions_in_week: int, adding: int, max_sessions: int, override: int | None = None
) -> CapCheck:
    """Whether `adding` more sessions fit in one child's week that already has `sessions_in_week` counting towards
    the cap. `max_sessions` is the cohort's cap; `override`, a coordinator's for this child's week, replaces it."""
    if override is not None:
        max_sessions = override
    return CapCheck(sessions_in_week + adding <= max_sessions, week, sessions_in_week, max_sessions)


def may_plan_for(actor: Actor, *, programme_id: uuid.UUID, key_worker_id: uuid.UUID | None) -> bool:
    """Whether `actor` may plan, log or move sessions for one child's place, in programme `programme_id` with key
    worker `key_worker_id`: admins for any place; coordinators for their programme's; mentors only for the places
    they are key worker for; commissioners for none. The same rule as `api/children/queries.visible_to` (which
    children an actor may see), which states it in SQL for many children at once; change both together."""
    if actor.role is Role.ADMIN:
        return True
    if actor.role is Role.COORDINATOR:
        return programme_id == actor.programme_id
    if actor.role is Role.MENTOR:
        return key_worker_id == actor.user_id
    return False


def check_log(
    *, programme_activities: Collection[str], status: SessionStatus, log: SessionLog, child_ids: list[uuid.UUID]
) -> None:
    """What is logged about a session must fit it: delivery only on a completed session, activities from the
    programme's list, and a safeguarding concern about a child at the session (named, at a group session)."""
    problems: dict[str, list[str]] = {}
    logs_delivery = any(value is not None for value in (log.actual_duration_minutes, log.activities, log.notes))
    if logs_delivery and status is not SessionStatus.COMPLETED:
        problems["status"] = ["Duration, activities and notes are recorded for completed sessions."]
    unknown = sorted(set(log.activities or []) - set(programme_activities))
    if unknown:
        problems["activities"] = [f"Not one of the programme's activities: {', '.join(unknown)}."]
    if log.safeguarding_concern and len(child_ids) > 1 and log.concern_child_id not in child_ids:
        problems["concern_child_id"] = ["Say which child at this group session the concern is about."]
    elif log.concern_child_id is not None and log.concern_child_id not in child_ids:
        # Never silently ignored: a child not at the session (perhaps another programme's) is named back as wrong.
        problems["concern_child_id"] = ["Not a child at this session."]
    if problems:
        raise InvalidSession(errors=problems)


def group_only_problem(*, cohort_kind: CohortKind, session_kind: SessionKind) -> str | None:
    """A child whose place is in a group-only cohort attends group sessions only: no one-to-one or phone session is
    planned, logged or moved for them (issue 17)."""
    if cohort_kind is CohortKind.GROUP_ONLY and session_kind is not SessionKind.GROUP:
        return "This child's place is in a group-only cohort: they attend group sessions only."
    return None


# Outcomes only a session that has started can have; cancelling in advance is fine.
NEEDS_TO_HAVE_STARTED = frozenset({SessionStatus.COMPLETED, SessionStatus.DID_NOT_ATTEND})


def not_started_problem(*, status: SessionStatus, planned_start_at: datetime, now: datetime) -> str | None:
    """A session cannot be logged as held or missed before it starts (a phone logging one weeks early is wrong)."""
    if status in NEEDS_TO_HAVE_STARTED and now < planned_start_at:
        return "This session has not started yet: log what happened once it has."
    return None


def duration_problem(start: datetime, end: datetime) -> str | None:
    if end <= start:
        return "A session must end after it starts."
    if end - start > timedelta(hours=12):
        return "A session cannot last more than 12 hours."
    return None


def can_change_to(current: SessionStatus, new: SessionStatus) -> bool:
    return current is SessionStatus.PLANNED or current == new


# --- Lone working ----------------------------------------------------------------------------------------------
# A mentor meeting a child alone starts a check with a time to check in by (default: the planned end plus the
# programme's lone_working_grace_minutes). Not closed by then, the mentor is texted; not closed
# lone_working_alert_after_minutes later, the duty coordinator gets an urgent alert. The minutes are elapsed time,
# added to the stored UTC instant, so an evening that crosses a clock change still gets exactly that long; only
# what people read (the alert's "planned to end at 20:30") is in the programme's time zone.


class LoneWorkingClosedHow(StrEnum):
    SAFE = "safe"  # the mentor said "I'm safe" from the phone
    SESSION_LOGGED = "session_logged"  # the session was logged completed, did-not-attend or cancelled


def default_check_in_by(planned_end_at: datetime, *, grace_minutes: int) -> datetime:
    return planned_end_at + timedelta(minutes=grace_minutes)


def check_in_by_problem(check_in_by: datetime, *, planned_start_at: datetime, now: datetime) -> str | None:
    if check_in_by <= now:
        return "The time to check in by must be in the future."
    if check_in_by <= planned_start_at:
        return "The time to check in by must be after the session's planned start."
    return None


def mentor_text_due(*, check_in_by: datetime, now: datetime) -> bool:
    return now >= check_in_by


def alert_due(*, check_in_by: datetime, alert_after_minutes: int, now: datetime) -> bool:
    return now >= check_in_by + timedelta(minutes=alert_after_minutes)


def overdue_detail(planned_end_at: datetime, time_zone: str) -> str:
    """The alert's detail: when the session was planned to end, in programme time; never a child's name."""
    local_end = planned_end_at.astimezone(ZoneInfo(time_zone))
    return f"A mentor has not checked in after a session planned to end at {local_end:%H:%M}."
