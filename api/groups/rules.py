"""The rules of a group series, pure: how many sessions, facilitators and places it may have, and who completed it.

A series is a run of group sessions, for example eight weekly sessions of an exploitation-awareness group with an
introductory session for parents and carers. A child on its roster who attended at least K of its N sessions
completed it; K is the series' own (`complete_after_sessions`), by default three quarters of N rounded up, which is
6 of 8.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import datetime

from api.sessions.rules import duration_problem

# A series is a short run, not a standing group: a programme that meets all year plans several series.
MAX_SESSIONS = 24
MAX_FACILITATORS = 2
# What a roster may hold at most (a group session is a group, not an assembly).
MAX_CAPACITY = 30
# The share of a series' sessions a child must attend to complete it, unless the series says otherwise.
DEFAULT_COMPLETION_SHARE = 0.75


def default_complete_after(session_count: int) -> int:
    """K for a series of `session_count` sessions when its creator does not choose: three quarters, rounded up."""
    return max(1, math.ceil(session_count * DEFAULT_COMPLETION_SHARE))


def completion_problem(*, complete_after_sessions: int, session_count: int) -> str | None:
    if complete_after_sessions < 1:
        return "A child must attend at least one session to complete a series."
    if complete_after_sessions > session_count:
        return f"The series has {session_count} sessions: a child cannot be asked to attend {complete_after_sessions}."
    return None


def has_completed(*, attended: int, complete_after_sessions: int) -> bool:
    """A child completed a series once they attended at least K of its sessions (more sessions may follow)."""
    return attended >= complete_after_sessions


def has_started(*, attended: int) -> bool:
    """A child started a series at the first session they attended (being on the roster is not starting)."""
    return attended > 0


@dataclass(frozen=True)
class PlannedTimes:
    """When one of a series' sessions is planned (aware datetimes; the sessions' duration rules apply)."""

    planned_start_at: datetime
    planned_end_at: datetime


def planned_times_problems(sessions: list[PlannedTimes]) -> dict[str, list[str]]:
    """What is wrong with a series' planned sessions, by field (`sessions.2.planned_end_at`): each must fit the
    sessions' duration rules, and no two may start at once (the lead facilitator cannot lead both)."""
    problems: dict[str, list[str]] = {}
    seen: set[datetime] = set()
    for index, times in enumerate(sessions):
        problem = duration_problem(times.planned_start_at, times.planned_end_at)
        if problem:
            problems[f"sessions.{index}.planned_end_at"] = [problem]
        if times.planned_start_at in seen:
            problems[f"sessions.{index}.planned_start_at"] = ["Another of the series' sessions starts then."]
        seen.add(times.planned_start_at)
    return problems
