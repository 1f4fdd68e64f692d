"""The windows outcome events are counted in, and the rates that compare them before and during support.

From docs/domain.md ("Outcomes and unit costs"):

- Each child's baseline window is the N months before their intervention started (12 by default, set per
  programme); their during window runs from the start to the end of support, or to today while it goes on.
  The end day counts as during. Windows are half-open date ranges [starts_on, ends_before).
- Rates are events per child-year (days / 365.25) so windows of different lengths compare. A programme's
  rate pools its children: all their events over all their child-years.
"""

from __future__ import annotations

import calendar
import uuid
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal

from api.outcomes.rules import OutcomeEventType, local_date

DAYS_PER_CHILD_YEAR = Decimal("365.25")
DEFAULT_BASELINE_MONTHS = 12
MAX_BASELINE_MONTHS = 36


@dataclass(frozen=True)
class Window:
    starts_on: date
    ends_before: date

    @property
    def days(self) -> int:
        return max((self.ends_before - self.starts_on).days, 0)

    @property
    def child_years(self) -> Decimal:
        return child_years(self.days)

    def __contains__(self, day: object) -> bool:
        return isinstance(day, date) and self.starts_on <= day < self.ends_before


def months_before(day: date, months: int) -> date:
    """The same day of the month, months earlier; the month's last day when it is shorter (31 May -> 28 Feb)."""
    index = day.year * 12 + day.month - 1 - months
    year, month = divmod(index, 12)
    month += 1
    return date(year, month, min(day.day, calendar.monthrange(year, month)[1]))


def baseline_window(started_on: date, *, months: int = DEFAULT_BASELINE_MONTHS) -> Window:
    return Window(months_before(started_on, months), started_on)


def during_window(started_on: date, *, ended_on: date | None, today: date) -> Window:
    """From the start to the last day of support inclusive (or today, while it goes on)."""
    last_day = min(ended_on, today) if ended_on is not None else today
    return Window(started_on, date.fromordinal(max(last_day, started_on).toordinal() + 1))


def child_years(days: int) -> Decimal:
    return Decimal(days) / DAYS_PER_CHILD_YEAR


def rate(events: int, years: Decimal) -> Decimal | None:
    """Events per child-year; None when there is no time to measure over."""
    return Decimal(events) / years if years > 0 else None


def percent_change(before: Decimal | None, during: Decimal | None) -> Decimal | None:
    """How much the rate moved, as a percentage of the baseline rate (-52 is "52% fewer"); None from zero."""
    if before is None or during is None or before == 0:
        return None
    return (during - before) / before * 100


@dataclass(frozen=True)
class EnrolmentSpan:
    enrolment_id: uuid.UUID
    cohort_id: uuid.UUID
    started_at: datetime
    ended_at: datetime | None
    moved_from_enrolment_id: uuid.UUID | None


@dataclass(frozen=True)
class Spell:
    """A child's intervention: from their first start to the end of the enrolment it moved on to, if any."""

    started_on: date
    ended_on: date | None
    cohort_id: uuid.UUID  # the cohort they started in


def intervention_spell(spans: Iterable[EnrolmentSpan], *, time_zone: str) -> Spell | None:
    """The child's first spell of support. A move between cohorts continues it (the moved enrolment starts
    when the old one ends); a later re-referral is a new spell and is not counted, because its baseline would
    overlap the first spell's support."""
    started = sorted(spans, key=lambda span: (span.started_at, str(span.enrolment_id)))
    if not started:
        return None
    first = current = started[0]
    moved_to = {span.moved_from_enrolment_id: span for span in started if span.moved_from_enrolment_id}
    while current.enrolment_id in moved_to:
        current = moved_to[current.enrolment_id]
    ended_on = local_date(current.ended_at, time_zone) if current.ended_at is not None else None
    return Spell(local_date(first.started_at, time_zone), ended_on, first.cohort_id)


@dataclass(frozen=True)
class ChildOutcomes:
    baseline: Window
    during: Window
    events: Sequence[tuple[OutcomeEventType, date]]


def child_outcomes(
    spell: Spell, events: Sequence[tuple[OutcomeEventType, date]], *, baseline_months: int, today: date
) -> ChildOutcomes:
    return ChildOutcomes(
        baseline=baseline_window(spell.started_on, months=baseline_months),
        during=during_window(spell.started_on, ended_on=spell.ended_on, today=today),
        events=events,
    )


@dataclass(frozen=True)
class TypeRates:
    event_type: OutcomeEventType
    baseline_events: int
    during_events: int
    baseline_rate: Decimal | None
    during_rate: Decimal | None
    percent_change: Decimal | None


@dataclass(frozen=True)
class OutcomeTotals:
    children: int
    baseline_child_years: Decimal
    during_child_years: Decimal
    by_type: tuple[TypeRates, ...]

    def for_type(self, event_type: OutcomeEventType) -> TypeRates:
        return next(rates for rates in self.by_type if rates.event_type is event_type)


def outcome_totals(children: Iterable[ChildOutcomes]) -> OutcomeTotals:
    """Events and rates per type before and during, pooled over the children (one child works too)."""
    count = baseline_days = during_days = 0
    before = dict.fromkeys(OutcomeEventType, 0)
    during = dict.fromkeys(OutcomeEventType, 0)
    for child in children:
        count += 1
        baseline, support = child.baseline, child.during
        baseline_days += baseline.days
        during_days += support.days
        # `day in window`, spelt out: this loop sees every event of a programme's children.
        for event_type, occurred_on in child.events:
            if baseline.starts_on <= occurred_on < baseline.ends_before:
                before[event_type] += 1
            elif support.starts_on <= occurred_on < support.ends_before:
                during[event_type] += 1
    years_before, years_during = child_years(baseline_days), child_years(during_days)
    by_type = []
    for event_type in OutcomeEventType:
        rate_before, rate_during = rate(before[event_type], years_before), rate(during[event_type], years_during)
        by_type.append(
            TypeRates(
                event_type,
                before[event_type],
                during[event_type],
                rate_before,
                rate_during,
                percent_change(rate_before, rate_during),
            )
        )
    return OutcomeTotals(count, years_before, years_during, tuple(by_type))
