"""Pure arithmetic behind the commissioner dashboards (DOMAIN.md, "How commissioners measure capacity").

- A period is the days since..until inclusive, in the programme's time zone; by default the 12 months to today.
- Time-weighted occupancy is occupied place-days over funded place-days. A child occupies a place on each day
  from the day their support started up to, but not including, the day it ended (still going: to the end of the
  period); funded place-days are the cohort's places times the days in the period.
- Waits are whole days from referral to the first completed session. The median is the middle value (the mean
  of the two middle values for an even count); the 90th percentile is the nearest-rank value: the smallest wait
  at or above which 90% of waits fall.
- A share or mean derived from a count that is suppressed for a commissioner is withheld (None), or the small
  count could be worked back out of it.
"""

from __future__ import annotations

import math
import statistics
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from decimal import ROUND_HALF_UP, Decimal
from typing import TypeVar
from zoneinfo import ZoneInfo

from api.disclosure import is_suppressed, suppress

T = TypeVar("T")


@dataclass(frozen=True)
class Period:
    since: date
    until: date

    @property
    def days(self) -> int:
        return (self.until - self.since).days + 1

    def starts_at(self, time_zone: str) -> datetime:
        return datetime.combine(self.since, time(), ZoneInfo(time_zone))

    def ends_before(self, time_zone: str) -> datetime:
        """The first moment after the period: midnight at the start of the day after until."""
        return datetime.combine(self.until + timedelta(days=1), time(), ZoneInfo(time_zone))


def default_period(*, today: date, since: date | None, until: date | None) -> Period:
    """The last 12 months to today unless given: until defaults to today, since to a year before until + 1 day."""
    until = until or today
    if since is None:
        try:
            since = until.replace(year=until.year - 1) + timedelta(days=1)
        except ValueError:  # 29 February
            since = until.replace(year=until.year - 1, day=28) + timedelta(days=1)
    return Period(since, until)


# A spell of support as local dates: a place held from started_on up to, not including, ended_on (None: still held).
Spell = tuple[date, date | None]


def place_days_held(spells: Iterable[Spell], period: Period) -> tuple[int, int]:
    """Days of the period on which the spells held places, added up, and how many spells held one on any day."""
    first, after_last = period.since, period.until + timedelta(days=1)
    days = spells_holding = 0
    for started_on, ended_on in spells:
        end = after_last if ended_on is None or ended_on > after_last else ended_on
        held = (end - max(started_on, first)).days
        if held > 0:
            days += held
            spells_holding += 1
    return days, spells_holding


def ratio(numerator: int | Decimal, denominator: int | Decimal, places: str = "0.0001") -> Decimal | None:
    if not denominator:
        return None
    return (Decimal(numerator) / Decimal(denominator)).quantize(Decimal(places), rounding=ROUND_HALF_UP)


def median(values: Sequence[int]) -> Decimal | None:
    if not values:
        return None
    return Decimal(str(statistics.median(sorted(values)))).quantize(Decimal("0.1"), rounding=ROUND_HALF_UP)


def nearest_rank_percentile(values: Sequence[int], percentile: int) -> int | None:
    if not values:
        return None
    ordered = sorted(values)
    rank = max(math.ceil(percentile / 100 * len(ordered)), 1)
    return ordered[rank - 1]


def mean(values: Sequence[Decimal]) -> Decimal | None:
    if not values:
        return None
    return (sum(values, Decimal(0)) / len(values)).quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)


@dataclass(frozen=True)
class Disclosure:
    """How figures are shown to one caller: everything for staff; small counts masked for commissioners."""

    commissioner: bool
    threshold: int

    def count(self, value: int) -> int | str:
        return suppress(value, threshold=self.threshold) if self.commissioner else value

    def hides(self, *counts: int) -> bool:
        return self.commissioner and any(is_suppressed(count, threshold=self.threshold) for count in counts)

    def derived(self, value: T, *counts: int) -> T | None:
        """A figure computed from these counts, withheld when any of them is suppressed."""
        return None if self.hides(*counts) else value
