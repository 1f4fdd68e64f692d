"""Session reminders: which SMS a planned session needs, and when.

From docs/domain.md ("SMS to children: safeguarding") and issue 5:

- A planned session's children (by SMS to the child's own mobile and/or a carer's, as the consent in force says)
  and its mentor are reminded the day before at a set local time and a set number of hours before; each programme
  chooses both, or switches either off (api/programmes/rules.py has the defaults).
- Reminders are wall-clock times in the programme's time zone, so a BST/GMT change in between is the zone's
  business, not arithmetic on hours. A reminder that would go at or after the start is not sent at all.
- Each reminder is named by its session, recipient, lead time and start time: queued once, and a session moved
  to another time gets new ones (the old ones are cancelled).
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, time, timedelta
from zoneinfo import ZoneInfo

from api.programmes.rules import DAY_BEFORE_AT, HOURS_BEFORE

# Reminders are queued by the scheduler for sessions starting within this; sooner changes re-sync at once.
REMINDER_HORIZON = timedelta(hours=48)
# A change to a session re-syncs its reminders if it starts within the horizon and this margin. The sweep reads only
# the sessions entering its horizon since its last run (by its own clock): a session written by a request whose clock
# read the time a little before the sweep's, and committed after the sweep looked, starts beyond the request's
# horizon but perhaps within the sweep's, and neither would remind it. The margin makes the request remind it: it
# must outlast any transaction that writes a session (and any skew between the web's and the scheduler's clocks).
WRITER_MARGIN = timedelta(hours=1)


@dataclass(frozen=True)
class SessionToRemind:
    """What the reminder policy needs to know of a session, as the sessions domain has it now."""

    session_id: uuid.UUID
    programme_id: uuid.UUID
    mentor_id: uuid.UUID
    planned_start_at: datetime
    # Still planned (not cancelled, rescheduled, completed ...): only a planned session is reminded.
    planned: bool
    # Its children, in the order the sessions domain reads them (the mentor's reminder is named after the first).
    child_ids: tuple[uuid.UUID, ...]


def starts_soon(planned_start_at: datetime, *, now: datetime) -> bool:
    """Close enough to be reminded now; a session already begun gets no new reminders."""
    return now < planned_start_at <= now + REMINDER_HORIZON


def reminded_when_written(planned_start_at: datetime, *, now: datetime) -> bool:
    """A session written now starting then has its reminders synced by the write itself (WRITER_MARGIN says why
    beyond the horizon)."""
    return now < planned_start_at <= now + REMINDER_HORIZON + WRITER_MARGIN


@dataclass(frozen=True)
class SweepWindow:
    """What one reminder sweep looks at: the planned sessions starting in (after, until], which entered the horizon
    since the last sweep, and those within the horizon of the children, mentors and programmes noted as changed.

    From the last sweep's watermark (`covered_until`, None before the first sweep) and the time now."""

    after: datetime
    until: datetime
    child_ids: frozenset[uuid.UUID] = frozenset()
    mentor_ids: frozenset[uuid.UUID] = frozenset()
    programme_ids: frozenset[uuid.UUID] = frozenset()

    @classmethod
    def from_watermark(
        cls, covered_until: datetime | None, *, now: datetime, **noted: frozenset[uuid.UUID]
    ) -> SweepWindow:
        """The first sweep covers the whole horizon; a sweep after hours of downtime covers all the gap at once (the
        sessions that started meanwhile had their reminders queued when they entered the horizon); a watermark
        ahead of now's horizon (a clock set back) stays where it is."""
        horizon = now + REMINDER_HORIZON
        after = now if covered_until is None else min(max(covered_until, now), horizon)
        return cls(after=after, until=horizon, **noted)


@dataclass(frozen=True)
class ReminderTime:
    lead: str  # names the reminder ("day_before", "2h_before") in its unique key
    send_at: datetime


def reminder_times(
    planned_start_at: datetime,
    zone: ZoneInfo,
    *,
    now: datetime | None,
    day_before_at: time | None = DAY_BEFORE_AT,
    hours_before: int | None = HOURS_BEFORE,
) -> list[ReminderTime]:
    """The day before at `day_before_at` local, and `hours_before` hours before (None: not sent); with `now`,
    only those still ahead of it."""
    local_start = planned_start_at.astimezone(zone)
    day_before = (local_start - timedelta(days=1)).date()
    times = []
    if day_before_at is not None:
        evening_before = datetime.combine(day_before, day_before_at, tzinfo=zone).astimezone(planned_start_at.tzinfo)
        times.append(ReminderTime("day_before", evening_before))
    if hours_before is not None:
        times.append(ReminderTime(f"{hours_before}h_before", planned_start_at - timedelta(hours=hours_before)))
    return [
        reminder
        for reminder in times
        if (now is None or reminder.send_at > now) and reminder.send_at < planned_start_at
    ]


def reminder_key(session_id: object, recipient: str, lead: str, planned_start_at: datetime) -> str:
    """One reminder per session, recipient, lead time and start time: a moved session gets new ones."""
    # In UTC, so the key does not depend on the offset the start time happened to be written with.
    return f"reminder:{session_id}:{recipient}:{lead}:{planned_start_at.astimezone(UTC).strftime('%Y%m%dT%H%MZ')}"
