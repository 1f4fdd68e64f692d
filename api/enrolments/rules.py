"""Places, the waitlist and offers.

A cohort has a number of places "at any one time" (docs/domain.md, "Programmes, cohorts and places"). An
enrolment holds a place while it is *offered* or *active*. The rules kept here:

- Accepting a referral enrols the child when a place is free, otherwise puts them on the cohort's waitlist.
- The waitlist is ordered by priority (urgent, high, normal), then by referral date, then by when they
  joined; the position shown is the place in that order. "When they joined" is the order the acceptances took
  the cohort's lock (the enrolment's queue_number, numbered under that lock), the same order places are handed
  out in: so under any rush the position answered to each request is the child's position in the final queue,
  no two children are told the same one, and no later arrival takes a place an earlier one waits for.
- Whenever a place comes free (an enrolment ends, an offer lapses or is declined, a child leaves the
  waitlist, the cohort gains places) it is offered to the child at the head of the waitlist. So a cohort
  with a free place always has an empty waitlist.
- An offer holds the place for the programme's offer window; a coordinator confirms it (the child becomes
  active) or it lapses and passes to the next child. A lapsed offer closes that waitlist entry: the
  coordinator re-refers the child if they are still to wait (a lapsed child silently jumping back to the
  head of the queue would loop forever).
- Moving a child between cohorts (step up, step down) needs a free place in the target cohort and frees
  the place in the source one, in one transaction.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta
from enum import StrEnum
from zoneinfo import ZoneInfo


class EnrolmentStatus(StrEnum):
    WAITLISTED = "waitlisted"
    OFFERED = "offered"
    ACTIVE = "active"
    ENDED = "ended"
    OFFER_LAPSED = "offer_lapsed"
    WITHDRAWN = "withdrawn"


class EndReason(StrEnum):
    COMPLETED = "completed"
    DISENGAGED = "disengaged"
    MOVED_AWAY = "moved_away"
    STEPPED_DOWN = "stepped_down"
    CUSTODY = "custody"
    OTHER = "other"
    # Set by a move between cohorts, not chosen by a coordinator.
    MOVED_COHORT = "moved_cohort"


class Priority(StrEnum):
    URGENT = "urgent"
    HIGH = "high"
    NORMAL = "normal"


# Lower sorts first on the waitlist.
PRIORITY_RANK = {Priority.URGENT: 0, Priority.HIGH: 1, Priority.NORMAL: 2}


HOLDS_PLACE = frozenset({EnrolmentStatus.OFFERED, EnrolmentStatus.ACTIVE})
OPEN = frozenset({EnrolmentStatus.WAITLISTED, EnrolmentStatus.OFFERED, EnrolmentStatus.ACTIVE})


def free_places(*, places: int, taken: int) -> int:
    return max(places - taken, 0)


def status_on_acceptance(*, places: int, taken: int) -> EnrolmentStatus:
    return EnrolmentStatus.ACTIVE if free_places(places=places, taken=taken) > 0 else EnrolmentStatus.WAITLISTED


def offer_expires_at(offered_at: datetime, *, offer_lapse_hours: int) -> datetime:
    return offered_at + timedelta(hours=offer_lapse_hours)


def offer_has_lapsed(*, offer_expires_at: datetime, now: datetime) -> bool:
    return now >= offer_expires_at


def planned_end_on(started_at: datetime, *, time_zone: str, planned_weeks: int) -> date:
    """The planned end is counted in whole weeks from the local date support started."""
    return started_at.astimezone(ZoneInfo(time_zone)).date() + timedelta(weeks=planned_weeks)


def outside_planned_period(
    start: datetime, *, started_at: datetime | None, planned_end_on: date | None, time_zone: str
) -> str | None:
    """Why a session starting at `start` falls outside an enrolment's planned support, or None if it is within it.

    The period runs from the local date support started to the planned end date, both included, in the programme's
    time zone (the planned end is a local date, counted from the local start date). A first meeting earlier on
    the day the place was confirmed is within it. An enrolment without a planned end (none is active: starting
    support sets one) has no upper bound."""
    zone = ZoneInfo(time_zone)
    day = start.astimezone(zone).date()
    if started_at is not None and day < started_at.astimezone(zone).date():
        return f"This child's support started on {started_at.astimezone(zone).date().isoformat()}."
    if planned_end_on is not None and day > planned_end_on:
        return f"This child's support is planned to end on {planned_end_on.isoformat()}."
    return None


def can_end(status: EnrolmentStatus) -> bool:
    return status is EnrolmentStatus.ACTIVE


def can_leave_waitlist(status: EnrolmentStatus) -> bool:
    return status in (EnrolmentStatus.WAITLISTED, EnrolmentStatus.OFFERED)
