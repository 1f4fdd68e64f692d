"""Recurring session patterns.

- A pattern is a set of weekly slots (ISO weekday and local start time) with one duration, for one
  enrolment. It generates planned sessions from its start date to the enrolment's planned end.
- Slots are wall-clock times in the programme's time zone: Tuesday 18:00 stays 18:00 local across the
  last Sunday of March and of October, so its UTC instant moves by an hour. (A slot inside the spring-
  forward gap, 01:00 to 02:00, resolves to the instant an hour later; no session is planned at that hour.)
- A pattern with more slots a week than the cohort's weekly cap is refused. A week that other sessions
  already fill is skipped for that occurrence and reported, not overfilled.
- Changing or ending a pattern touches only its future, untouched sessions: planned, never edited
  (version 1) and not yet started. Anything logged, moved or edited stays as it is, and its occurrence is
  not planned again beside it.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo


@dataclass(frozen=True, order=True)
class Slot:
    weekday: int  # ISO: Monday 1 to Sunday 7
    start: time


def slots_to_json(slots: list[Slot]) -> list[dict[str, Any]]:
    return [{"weekday": slot.weekday, "start": slot.start.strftime("%H:%M")} for slot in sorted(slots)]


def slots_from_json(raw: list[dict[str, Any]]) -> list[Slot]:
    return [Slot(int(slot["weekday"]), time.fromisoformat(slot["start"])) for slot in raw]


def occurrences(
    slots: list[Slot], *, starts_on: date, ends_on: date, time_zone: str, duration_minutes: int
) -> list[tuple[datetime, datetime]]:
    """Every (start, end) in UTC that the slots give between two local dates, inclusive, in time order."""
    zone = ZoneInfo(time_zone)
    found = []
    day = starts_on
    while day <= ends_on:
        for slot in slots:
            if slot.weekday == day.isoweekday():
                start = datetime.combine(day, slot.start, tzinfo=zone).astimezone(UTC)
                found.append((start, start + timedelta(minutes=duration_minutes)))
        day += timedelta(days=1)
    return sorted(found)


def exceeds_weekly_cap(slots: list[Slot], *, max_sessions_per_week: int) -> bool:
    return len(slots) > max_sessions_per_week


def is_untouched(*, status_is_planned: bool, version: int, starts_at: datetime, now: datetime) -> bool:
    return status_is_planned and version == 1 and starts_at > now
