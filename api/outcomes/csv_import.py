"""Reading an agency's CSV extract of outcome events: the file parsed, and every row checked by line and field.

A programme's extract names each child by reference only (never by name), one event a row. A file is refused
whole when it cannot be read (not UTF-8 CSV, a NUL, too many rows) or its header is wrong; otherwise each row
is checked and its problems reported by the line an editor shows, so the agency can correct exactly those.
Only YYYY-MM-DD dates are read, and a row repeating an earlier one, or an event already recorded, is refused
as a duplicate (api/outcomes/rules.py says when two events are the same).
"""

from __future__ import annotations

import csv
import io
import re
import uuid
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from enum import StrEnum
from typing import TypeVar

from api.outcomes.errors import ImportHeaderInvalid, ImportNotReadable, ImportTooManyRows
from api.outcomes.rules import SOURCE_DETAIL_MAX_LENGTH, EventKey, OutcomeEventType, OutcomeSource, event_problems


class ImportMode(StrEnum):
    ALL_OR_NOTHING = "all_or_nothing"
    VALID_ROWS = "valid_rows"


# A programme's extract is a few hundred rows; these caps keep one request's work (and its transaction) small.
IMPORT_MAX_BYTES = 512 * 1024
IMPORT_MAX_ROWS = 5000
REQUIRED_COLUMNS = ("child_reference", "event_type", "occurred_on", "source")
OPTIONAL_COLUMNS = ("source_detail",)
ISO_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")
E = TypeVar("E", bound=StrEnum)


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
