"""Outcome events, the windows and rates they are reported in, and the cost-benefit estimate built on them.

The seed project's evaluation compared, for children on the programme, how often four kinds of event
happened before and during the intervention: arrests, police call-outs, missing episodes and school
exclusions (docs/domain.md, "Outcomes and unit costs"). So:

- An outcome event is a dated fact about one child (its type, the day it happened, where we learnt of it).
  Two events of the same type, on the same day, from the same source, are the same event: that is what lets
  an extract be imported twice without counting anything twice.
- Each child's baseline window is the N months before their intervention started (12 by default, set per
  programme); their during window runs from the start to the end of support, or to today while it goes on.
  The end day counts as during. Windows are half-open date ranges [starts_on, ends_before).
- Rates are events per child-year (days / 365.25) so windows of different lengths compare. A programme's
  rate pools its children: all their events over all their child-years.
- Savings per event type = (baseline rate - during rate) x child-years during x unit cost, with the unit
  cost uplifted to one price year by the GDP deflator (low and high scenarios from docs/domain.md's unit costs).
  A before/after design has no counterfactual: it cannot say what would have happened without the programme.
"""

from __future__ import annotations

import calendar
import csv
import io
import re
import uuid
from collections.abc import Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from enum import StrEnum
from typing import TypeVar
from zoneinfo import ZoneInfo

from api.outcomes.errors import (
    DeflatorYearMissing,
    ImportHeaderInvalid,
    ImportNotReadable,
    ImportTooManyRows,
    InvalidPriceYear,
)


class OutcomeEventType(StrEnum):
    ARREST = "arrest"
    POLICE_CALL_OUT = "police_call_out"
    MISSING_EPISODE = "missing_episode"
    EXCLUSION_FIXED_TERM = "exclusion_fixed_term"
    EXCLUSION_PERMANENT = "exclusion_permanent"


class OutcomeSource(StrEnum):
    """Where the record of an event came from.

    A short list rather than free text: reports group and compare by source (police extracts against school
    returns), one spelling per source keeps them honest, and free text is where personal data creeps in.
    The agencies are the referral sources (api/referrals/rules.py); the name of the extract ("Kent Police extract,
    March") goes in the optional source_detail beside it."""

    POLICE = "police"
    SCHOOL = "school"
    SOCIAL_CARE = "social_care"
    YOUTH_JUSTICE = "youth_justice"
    OTHER = "other"


class ImportMode(StrEnum):
    ALL_OR_NOTHING = "all_or_nothing"
    VALID_ROWS = "valid_rows"


DAYS_PER_CHILD_YEAR = Decimal("365.25")
DEFAULT_BASELINE_MONTHS = 12
MAX_BASELINE_MONTHS = 36
SOURCE_DETAIL_MAX_LENGTH = 200

# A programme's extract is a few hundred rows; these caps keep one request's work (and its transaction) small.
IMPORT_MAX_BYTES = 512 * 1024
IMPORT_MAX_ROWS = 5000
REQUIRED_COLUMNS = ("child_reference", "event_type", "occurred_on", "source")
OPTIONAL_COLUMNS = ("source_detail",)
ISO_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")
E = TypeVar("E", bound=StrEnum)


def local_date(moment: datetime, time_zone: str) -> date:
    return moment.astimezone(ZoneInfo(time_zone)).date()


# One event


def event_problems(*, occurred_on: date, today: date, date_of_birth: date | None) -> dict[str, str]:
    """What is wrong with an event's date, by field; empty when nothing is."""
    if occurred_on > today:
        return {"occurred_on": "An event cannot be in the future."}
    if date_of_birth is not None and occurred_on < date_of_birth:
        return {"occurred_on": "An event cannot be before the child was born."}
    return {}


@dataclass(frozen=True)
class EventKey:
    """What makes two events the same event."""

    child_id: uuid.UUID
    event_type: OutcomeEventType
    occurred_on: date
    source: OutcomeSource


# The CSV import


@dataclass(frozen=True)
class CsvRow:
    """One data row as read: its physical line number in the file (the header is line 1) and its cells."""

    line: int
    values: Mapping[str, str] | None  # None when the row has the wrong number of fields
    field_count: int


@dataclass(frozen=True)
class KnownChild:
    child_id: uuid.UUID
    date_of_birth: date


@dataclass(frozen=True)
class ValidRow:
    line: int
    key: EventKey
    source_detail: str | None


@dataclass(frozen=True)
class RowProblem:
    line: int
    field: str | None
    reason: str
    message: str


def parse_csv(content: bytes, *, max_rows: int = IMPORT_MAX_ROWS) -> tuple[tuple[str, ...], list[CsvRow]]:
    """The header's columns and the data rows. Blank lines (and rows of empty cells, as spreadsheets leave
    at the end) are skipped but still counted, so every line number is the one an editor shows."""
    try:
        text = content.decode("utf-8-sig")
    except UnicodeDecodeError as error:
        raise ImportNotReadable("Save the file as CSV in UTF-8.") from error
    if "\x00" in text:
        # The database cannot store NUL in text, and no spreadsheet writes one into a cell.
        line = text.count("\n", 0, text.index("\x00")) + 1
        raise ImportNotReadable(f"Line {line} holds the NUL character, which no cell may contain.", line=line)
    reader = csv.reader(io.StringIO(text, newline=""), strict=True)
    header: tuple[str, ...] | None = None
    rows: list[CsvRow] = []
    try:
        while True:
            starts_at = reader.line_num + 1
            try:
                record = next(reader)
            except StopIteration:
                break
            if header is None:
                header = _header(record)
                continue
            cells = [cell.strip() for cell in record]
            if not any(cells):
                continue
            if len(rows) == max_rows:
                raise ImportTooManyRows(f"Import at most {max_rows} rows at a time; split the file.", max_rows=max_rows)
            # Spreadsheets pad rows with empty cells past the last column: those are not extra fields.
            while len(cells) > len(header) and not cells[-1]:
                cells.pop()
            values = dict(zip(header, cells, strict=True)) if len(cells) == len(header) else None
            rows.append(CsvRow(line=starts_at, values=values, field_count=len(cells)))
    except csv.Error as error:
        raise ImportNotReadable(f"Line {reader.line_num} is not valid CSV: {error}.", line=reader.line_num) from error
    if header is None:
        raise ImportHeaderInvalid(errors={"header": ["The file is empty: line 1 must be the header."]})
    return header, rows


def _header(record: list[str]) -> tuple[str, ...]:
    columns = tuple(cell.strip().lower() for cell in record)
    problems = []
    if not any(columns):
        problems.append("Line 1 must be the header.")
    else:
        missing = [column for column in REQUIRED_COLUMNS if column not in columns]
        if missing:
            problems.append(f"Missing column(s): {', '.join(missing)}.")
        # Refuse columns we do not know rather than drop them: a "name" column is personal data we must not hold.
        unknown = sorted({column for column in columns if column not in REQUIRED_COLUMNS + OPTIONAL_COLUMNS})
        if unknown:
            problems.append(f"Unknown column(s): {', '.join(unknown)}. Children are identified by reference only.")
        repeated = sorted({column for column in columns if columns.count(column) > 1})
        if repeated:
            problems.append(f"Repeated column(s): {', '.join(repeated)}.")
    if problems:
        expected = ",".join(REQUIRED_COLUMNS + OPTIONAL_COLUMNS)
        raise ImportHeaderInvalid(f"The header must name the columns {expected}.", errors={"header": problems})
    return columns


def normalise_reference(reference: str) -> str:
    return reference.strip().upper()


def validate_rows(
    rows: Sequence[CsvRow],
    *,
    children: Mapping[str, KnownChild],
    existing: Collection[EventKey],
    today: date,
) -> tuple[list[ValidRow], list[RowProblem]]:
    """Every row checked; each problem reported by line and field. `children` holds only the programme's
    own children by reference, so a child of another programme reads exactly like an unknown reference."""
    valid: list[ValidRow] = []
    problems: list[RowProblem] = []
    first_seen: dict[EventKey, int] = {}
    for row in rows:
        if row.values is None:
            problems.append(
                RowProblem(
                    row.line,
                    None,
                    "wrong_field_count",
                    f"Expected {len(REQUIRED_COLUMNS)} or {len(REQUIRED_COLUMNS) + len(OPTIONAL_COLUMNS)} fields "
                    f"as in the header, found {row.field_count}.",
                )
            )
            continue
        result = _check_row(row.line, row.values, children=children, today=today)
        if isinstance(result, list):
            problems.extend(result)
        elif result.key in first_seen:
            problems.append(RowProblem(row.line, None, "duplicate_in_file", f"Repeats line {first_seen[result.key]}."))
        elif result.key in existing:
            problems.append(RowProblem(row.line, None, "already_recorded", "This event is already recorded."))
        else:
            first_seen[result.key] = row.line
            valid.append(result)
    return valid, problems


def _check_row(
    line: int, values: Mapping[str, str], *, children: Mapping[str, KnownChild], today: date
) -> ValidRow | list[RowProblem]:
    problems: list[RowProblem] = []

    def problem(field: str, reason: str, message: str) -> None:
        problems.append(RowProblem(line, field, reason, message))

    reference = normalise_reference(values["child_reference"])
    child = children.get(reference)
    if not reference:
        problem("child_reference", "required", "Give the child's reference, e.g. YP-7F3K2Q.")
    elif child is None:
        problem("child_reference", "unknown_child", "No child with this reference in this programme.")

    event_type = _member(OutcomeEventType, values["event_type"])
    if not values["event_type"]:
        problem("event_type", "required", "Give the event type.")
    elif event_type is None:
        problem("event_type", "unknown_event_type", f"Use one of: {', '.join(OutcomeEventType)}.")

    occurred_on = _iso_date(values["occurred_on"])
    if not values["occurred_on"]:
        problem("occurred_on", "required", "Give the date of the event.")
    elif occurred_on is None:
        problem("occurred_on", "invalid_date", "Use a real date written YYYY-MM-DD.")
    else:
        date_problem = event_problems(
            occurred_on=occurred_on, today=today, date_of_birth=child.date_of_birth if child else None
        ).get("occurred_on")
        if date_problem:
            problem("occurred_on", "future_date" if occurred_on > today else "before_birth", date_problem)

    source = _member(OutcomeSource, values["source"])
    if not values["source"]:
        problem("source", "required", "Say where the record of the event came from.")
    elif source is None:
        problem("source", "unknown_source", f"Use one of: {', '.join(OutcomeSource)}.")

    source_detail = values.get("source_detail") or None
    if source_detail is not None and len(source_detail) > SOURCE_DETAIL_MAX_LENGTH:
        problem("source_detail", "too_long", f"Use at most {SOURCE_DETAIL_MAX_LENGTH} characters.")

    if problems:
        return problems
    assert child is not None and event_type is not None and occurred_on is not None and source is not None
    return ValidRow(line, EventKey(child.child_id, event_type, occurred_on, source), source_detail)


def _member(enum_class: type[E], raw: str) -> E | None:
    try:
        return enum_class(raw.strip().lower())
    except ValueError:
        return None


def _iso_date(raw: str) -> date | None:
    # Only YYYY-MM-DD: 03/04/2026 is the 3rd of April to a British extract and the 4th of March to an American one.
    if not ISO_DATE.fullmatch(raw):
        return None
    try:
        return date.fromisoformat(raw)
    except ValueError:
        return None


# Windows and rates


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
        baseline_days += child.baseline.days
        during_days += child.during.days
        for event_type, occurred_on in child.events:
            if occurred_on in child.baseline:
                before[event_type] += 1
            elif occurred_on in child.during:
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


# Unit costs and the cost-benefit estimate

FINANCIAL_YEAR = re.compile(r"(\d{4})[/-](\d{2})")


def financial_year(text: str) -> str:
    """A UK financial year (April to March) as "2024/25"; "2024-25", as HM Treasury writes it, is accepted."""
    match = FINANCIAL_YEAR.fullmatch(text.strip())
    if match is None or (int(match[1]) + 1) % 100 != int(match[2]):
        raise InvalidPriceYear(errors={"price_year": ["Use a financial year such as 2024/25."]})
    return f"{match[1]}/{match[2]}"


def uplift(value: Decimal, *, from_year: str, to_year: str, series: Mapping[str, Decimal]) -> Decimal:
    """A price in from_year's money re-expressed in to_year's by the ratio of the deflator indices.

    A year missing from the series is refused, never guessed or extrapolated."""
    missing = [year for year in dict.fromkeys((from_year, to_year)) if year not in series]
    if missing:
        raise DeflatorYearMissing(
            f"The GDP deflator series has no index for {', '.join(missing)}; choose a year it covers or load a "
            "newer release.",
            missing_years=missing,
        )
    return value * series[to_year] / series[from_year]


@dataclass(frozen=True)
class CostItems:
    """The unit cost items whose lower and upper values give the low and high scenarios."""

    low: str
    high: str


# docs/domain.md: an arrest costs between "no further action" and "detained"; a call-out between a police incident
# with no further action and one needing it; a missing episode the University of Portsmouth's range for a
# medium-risk investigation; a permanent exclusion the cost per person per year. A fixed-term exclusion has no
# standard figure: it is left out unless the programme names a unit cost for it.
MISSING_PERSON_INVESTIGATION = "UOP2012-MISSING-MEDIUM"
COST_ITEMS: Mapping[OutcomeEventType, CostItems] = {
    OutcomeEventType.ARREST: CostItems(low="CR7.1", high="CR7.0"),
    OutcomeEventType.POLICE_CALL_OUT: CostItems(low="CR1.1", high="CR1.0"),
    OutcomeEventType.MISSING_EPISODE: CostItems(low=MISSING_PERSON_INVESTIGATION, high=MISSING_PERSON_INVESTIGATION),
    OutcomeEventType.EXCLUSION_PERMANENT: CostItems(low="E&S2.0", high="E&S2.0"),
}


def cost_items(*, fixed_term_exclusion_code: str | None) -> dict[OutcomeEventType, CostItems]:
    items = dict(COST_ITEMS)
    if fixed_term_exclusion_code:
        items[OutcomeEventType.EXCLUSION_FIXED_TERM] = CostItems(fixed_term_exclusion_code, fixed_term_exclusion_code)
    return items


@dataclass(frozen=True)
class CostRange:
    """One event's cost in the chosen price year, low and high."""

    low: Decimal
    high: Decimal


@dataclass(frozen=True)
class TypeSaving:
    event_type: OutcomeEventType
    cost: CostRange | None  # None: not monetised
    saving_low: Decimal | None
    saving_high: Decimal | None


@dataclass(frozen=True)
class CostBenefit:
    by_type: tuple[TypeSaving, ...]
    total_low: Decimal | None
    total_high: Decimal | None
    per_child_low: Decimal | None
    per_child_high: Decimal | None


def saving(rates: TypeRates, *, during_child_years: Decimal, cost: Decimal) -> Decimal | None:
    """(baseline rate - during rate) x child-years during x cost; negative when events went up. None with no
    baseline to compare against."""
    if rates.baseline_rate is None:
        return None
    during_rate = rates.during_rate if rates.during_rate is not None else Decimal(0)
    return (rates.baseline_rate - during_rate) * during_child_years * cost


def cost_benefit(totals: OutcomeTotals, costs: Mapping[OutcomeEventType, CostRange]) -> CostBenefit:
    by_type = []
    for rates in totals.by_type:
        cost = costs.get(rates.event_type)
        if cost is None:
            by_type.append(TypeSaving(rates.event_type, None, None, None))
            continue
        low = saving(rates, during_child_years=totals.during_child_years, cost=cost.low)
        high = saving(rates, during_child_years=totals.during_child_years, cost=cost.high)
        by_type.append(TypeSaving(rates.event_type, cost, low, high))
    monetised = [item for item in by_type if item.cost is not None]
    if not totals.children or any(item.saving_low is None for item in monetised):
        return CostBenefit(tuple(by_type), None, None, None, None)
    total_low = sum((item.saving_low for item in monetised if item.saving_low is not None), Decimal(0))
    total_high = sum((item.saving_high for item in monetised if item.saving_high is not None), Decimal(0))
    return CostBenefit(tuple(by_type), total_low, total_high, total_low / totals.children, total_high / totals.children)
