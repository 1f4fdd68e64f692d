"""The duty rota: who a safeguarding alert reaches, at any hour.

- Each programme has a rota of shifts. A shift names the coordinator on duty from its start to its end (evenings
  and weekends included) and, optionally, a fallback to try when they do not answer: the programme's manager (an
  admin) or a second coordinator.
- A shift is the half-open interval [starts_at, ends_at): it covers its first instant, not its last, so one shift
  can end exactly when the next begins and an instant is never covered twice.
- A programme's shifts never overlap, so "who is on duty now" has exactly one answer (or none: a gap).
- A shift ends after it starts and lasts at most 7 days by the programme's calendar: the rota is planned week by
  week, and a longer shift is more likely a mistyped date than a plan. The 7 days are counted on the local clock,
  so Saturday 18:00 to the next Saturday 18:00 is a week even when the clocks change in between (7 days and an
  hour pass in October, an hour less in March).
- Times are instants (UTC when stored). A shift lasts the time that passes between them: 18:00 to 08:00 local is
  14 hours on an ordinary night, 15 the night the clocks go back and 13 the night they go forward.
- A gap is any stretch of a window no shift covers; the rota reports them for the next 7 days.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

MAX_SHIFT = timedelta(days=7)
# What the rota shows and checks for gaps when not told otherwise, and the most one read may ask for.
DEFAULT_WINDOW = timedelta(days=7)
MAX_WINDOW = timedelta(days=31)
# The rota is read from a year back (a review of last winter's cover) to two years ahead, and shifts are planned up to
# two years ahead: a time outside that is a mistake, and one far enough back reads in a zone's local mean time, an
# offset with seconds no client parses.
LOOK_BACK = timedelta(days=366)
PLAN_AHEAD = timedelta(days=2 * 366)

Interval = tuple[datetime, datetime]


def is_aware(moment: datetime) -> bool:
    return moment.tzinfo is not None and moment.utcoffset() is not None


def shift_times_problem(starts_at: datetime, ends_at: datetime, *, time_zone: str) -> tuple[str, str] | None:
    """What is wrong with a shift's times, as (field, message), or None when they are fine. `time_zone` is the
    programme's, whose calendar the most a shift may last is counted in."""
    if not is_aware(starts_at):
        return "starts_at", "Give the time with its offset from UTC (for example 2026-12-07T18:00:00+00:00)."
    if not is_aware(ends_at):
        return "ends_at", "Give the time with its offset from UTC (for example 2026-12-08T08:00:00+00:00)."
    if utc(ends_at) <= utc(starts_at):
        return "ends_at", "A shift must end after it starts."
    if wall_clock_length(starts_at, ends_at, time_zone=time_zone) > MAX_SHIFT:
        return "ends_at", f"A shift lasts at most {MAX_SHIFT.days} days; split a longer stretch into shifts."
    return None


def window_problem(start: datetime, *, now: datetime) -> str | None:
    """What is wrong with where a read of the rota starts, or None."""
    if start < now - LOOK_BACK:
        return f"The rota is kept from {LOOK_BACK.days} days back: ask for a later period."
    if start > now + PLAN_AHEAD:
        return f"The rota is planned at most {PLAN_AHEAD.days} days ahead: ask for an earlier period."
    return None


def wall_clock_length(starts_at: datetime, ends_at: datetime, *, time_zone: str) -> timedelta:
    """How far apart the two moments are on the local clock and calendar (not the time that passes)."""
    zone = ZoneInfo(time_zone)
    return ends_at.astimezone(zone).replace(tzinfo=None) - starts_at.astimezone(zone).replace(tzinfo=None)


def utc(moment: datetime) -> datetime:
    """The instant in UTC. Python compares and subtracts two datetimes of one tzinfo by their wall clocks, which is
    wrong across a clock change; in UTC they compare as instants."""
    return moment.astimezone(UTC)


def overlaps(first: Interval, second: Interval) -> bool:
    """Two half-open intervals share an instant (touching end to start is not sharing one)."""
    return utc(first[0]) < utc(second[1]) and utc(second[0]) < utc(first[1])


def first_overlap(shift: Interval, others: Iterable[Interval]) -> Interval | None:
    return next((other for other in others if overlaps(shift, other)), None)


def uncovered(shifts: Iterable[Interval], *, start: datetime, end: datetime) -> list[Interval]:
    """The stretches of [start, end) that no shift covers, in time order, in UTC.

    `shifts` must be sorted by start. They may overlap or reach outside the window (a shift that began before it
    counts from the window's start)."""
    start, end = utc(start), utc(end)
    gaps: list[Interval] = []
    covered_to = start
    for shift_start, shift_end in _in_utc(shifts):
        if covered_to >= end:
            break
        if shift_end <= covered_to:
            continue
        if shift_start > covered_to:
            gaps.append((covered_to, min(shift_start, end)))
        covered_to = max(covered_to, shift_end)
    if covered_to < end:
        gaps.append((covered_to, end))
    return gaps


def covered_until(shifts: Iterable[Interval], *, start: datetime) -> datetime | None:
    """How long cover runs without a break from `start`: the end of the unbroken run of shifts covering it, or None
    when no shift covers `start`. `shifts` must be sorted by start."""
    start = utc(start)
    covered_to: datetime | None = None
    for shift_start, shift_end in _in_utc(shifts):
        reached = start if covered_to is None else covered_to
        if shift_start > reached:
            break
        if shift_end > reached:
            covered_to = shift_end
    return covered_to


def _in_utc(shifts: Iterable[Interval]) -> Iterable[Interval]:
    return ((utc(shift_start), utc(shift_end)) for shift_start, shift_end in shifts)
