"""Loading instrument definitions from JSON files, and licensed wording from the licensee's own file.

The product ships the instruments it is free to ship, with their wording: the ONS personal wellbeing
questions (Crown copyright, Open Government Licence) and Goal Based Outcomes. SWEMWBS ships without any item
wording (every prompt is null): its licence forbids changing or publishing the wording, so the deploying
organisation supplies it in a file of its own, read at run time and never committed here.

Every file is checked strictly (unknown or missing fields, wrong types, duplicate keys, a file not named after
its instrument) and a problem is a ValueError naming the file and the field, so a bad deployment fails at
start-up rather than in front of a child.

A definition file holds one object:

    key, name, version          strings; the file is named <key>.json
    scoring                     "per_item" | "sum_then_table" | "per_goal"
    meaningful_change           {"threshold": number above 0, "unit": "item_points" | "metric_points" | "rating_points"}
    min_age, max_age            whole numbers or null
    items_required              true when every item must be answered
    licence, credit             strings
    instructions                string or null
    items                       [{"key", "prompt" (string, or null when licensed), "min", "max", "lower_is_better"}]
    score_table                 null, or for sum_then_table {"<raw total>": metric score, ...} covering every total

The licensed wording file is one object mapping item key to wording, for example
{"item_1": "...", ..., "item_7": "..."}: it must give wording for every unworded item of the instrument it
fills, and nothing else.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from decimal import Decimal
from enum import StrEnum
from pathlib import Path
from typing import Any, TypeVar

from api.wellbeing.rules import ChangeUnit, Instrument, Item, MeaningfulChange, ScoringRule

_Choice = TypeVar("_Choice", bound=StrEnum)

SHIPPED_INSTRUMENTS = Path(__file__).parent / "instruments"

_FIELDS = {
    "key",
    "name",
    "version",
    "scoring",
    "meaningful_change",
    "min_age",
    "max_age",
    "items_required",
    "licence",
    "credit",
    "instructions",
    "items",
    "score_table",
}
_ITEM_FIELDS = {"key", "prompt", "min", "max", "lower_is_better"}
_CHANGE_FIELDS = {"threshold", "unit"}


class _Problem(ValueError):
    """A problem at one field of one file; the file name is added by the caller that knows it."""


def load_instruments(directory: Path, *, licensed_wording_file: Path | None) -> dict[str, Instrument]:
    """Every instrument defined by a *.json file in `directory`, by key.

    `licensed_wording_file` fills in the wording of items shipped without it (SWEMWBS). Without it such an
    instrument still validates and scores answers entered elsewhere, but it has no wording
    (`Instrument.has_wording` is false), so the check-in page cannot show its questions and must not offer it.
    """
    files = sorted(directory.glob("*.json")) if directory.is_dir() else []
    if not files:
        raise ValueError(f"{directory}: no instrument definitions (*.json) found.")
    instruments: dict[str, Instrument] = {}
    for path in files:
        instrument = _load_definition(path)
        instruments[instrument.key] = instrument
    if licensed_wording_file is not None:
        instruments = _fill_licensed_wording(instruments, licensed_wording_file)
    return instruments


def _read_json(path: Path) -> Any:
    def no_duplicates(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
        seen: dict[str, Any] = {}
        for key, value in pairs:
            if key in seen:
                raise _Problem(f"{key}: given twice.")
            seen[key] = value
        return seen

    def no_constants(name: str) -> Any:
        raise _Problem(f"{name} is not a number.")

    try:
        text = path.read_text(encoding="utf-8")
    except OSError as error:
        raise ValueError(f"{path.name}: cannot be read ({error.strerror}).") from error
    except UnicodeDecodeError as error:
        raise ValueError(f"{path.name}: is not UTF-8 text.") from error
    try:
        return json.loads(text, parse_float=Decimal, parse_constant=no_constants, object_pairs_hook=no_duplicates)
    except _Problem as problem:
        raise ValueError(f"{path.name}: {problem}") from problem
    except json.JSONDecodeError as error:
        raise ValueError(f"{path.name}: not valid JSON ({error.msg} at line {error.lineno}).") from error


def _load_definition(path: Path) -> Instrument:
    data = _read_json(path)
    try:
        instrument = _instrument(data)
    except _Problem as problem:
        raise ValueError(f"{path.name}: {problem}") from problem
    except ValueError as problem:  # the definition's own consistency checks
        raise ValueError(f"{path.name}: {problem}") from problem
    if path.stem != instrument.key:
        raise ValueError(f"{path.name}: key: {instrument.key!r} must match the file name ({path.stem}.json).")
    return instrument


def _instrument(data: Any) -> Instrument:
    fields = _object(data, "", _FIELDS)
    scoring = _choice(fields["scoring"], "scoring", ScoringRule)
    change_fields = _object(fields["meaningful_change"], "meaningful_change", _CHANGE_FIELDS)
    raw_items = fields["items"]
    if not isinstance(raw_items, list) or not raw_items:
        raise _Problem("items: must be a non-empty list.")
    return Instrument(
        key=_string(fields["key"], "key"),
        name=_string(fields["name"], "name"),
        version=_string(fields["version"], "version"),
        items=tuple(_item(value, f"items[{index}]") for index, value in enumerate(raw_items)),
        scoring=scoring,
        meaningful_change=MeaningfulChange(
            threshold=_positive_number(change_fields["threshold"], "meaningful_change.threshold"),
            unit=_choice(change_fields["unit"], "meaningful_change.unit", ChangeUnit),
        ),
        min_age=_optional_whole_number(fields["min_age"], "min_age"),
        max_age=_optional_whole_number(fields["max_age"], "max_age"),
        licence=_string(fields["licence"], "licence"),
        credit=_string(fields["credit"], "credit"),
        all_items_required=_boolean(fields["items_required"], "items_required"),
        instructions=_optional_string(fields["instructions"], "instructions"),
        score_table=_score_table(fields["score_table"], "score_table"),
    )


def _item(data: Any, where: str) -> Item:
    fields = _object(data, where, _ITEM_FIELDS)
    return Item(
        key=_string(fields["key"], f"{where}.key"),
        prompt=_optional_string(fields["prompt"], f"{where}.prompt"),
        min_response=_whole_number(fields["min"], f"{where}.min"),
        max_response=_whole_number(fields["max"], f"{where}.max"),
        lower_is_better=_boolean(fields["lower_is_better"], f"{where}.lower_is_better"),
    )


def _score_table(data: Any, where: str) -> dict[int, Decimal] | None:
    if data is None:
        return None
    if not isinstance(data, dict):
        raise _Problem(f"{where}: must be an object mapping each raw total to its score, or null.")
    table: dict[int, Decimal] = {}
    for total, value in data.items():
        if not total.isascii() or not total.isdigit():
            raise _Problem(f"{where}: {total!r} is not a raw total (a whole number).")
        table[int(total)] = _number(value, f"{where}.{total}")
    return table


def _object(data: Any, where: str, expected: set[str]) -> dict[str, Any]:
    label = f"{where}: " if where else ""
    if not isinstance(data, dict):
        raise _Problem(f"{label}must be an object.")
    missing = sorted(expected - set(data))
    if missing:
        raise _Problem(f"{_join(where, missing[0])}: is missing.")
    unknown = sorted(set(data) - expected)
    if unknown:
        raise _Problem(f"{_join(where, unknown[0])}: is not a known field.")
    return data


def _join(where: str, field: str) -> str:
    return f"{where}.{field}" if where else field


def _string(value: Any, where: str) -> str:
    if not isinstance(value, str) or not value.strip():
        raise _Problem(f"{where}: must be a non-empty string.")
    return value


def _optional_string(value: Any, where: str) -> str | None:
    return None if value is None else _string(value, where)


def _whole_number(value: Any, where: str) -> int:
    if not isinstance(value, int) or isinstance(value, bool):
        raise _Problem(f"{where}: must be a whole number.")
    return value


def _optional_whole_number(value: Any, where: str) -> int | None:
    return None if value is None else _whole_number(value, where)


def _number(value: Any, where: str) -> Decimal:
    if isinstance(value, bool) or not isinstance(value, int | Decimal):
        raise _Problem(f"{where}: must be a number.")
    return Decimal(value)


def _positive_number(value: Any, where: str) -> Decimal:
    number = _number(value, where)
    if number <= 0:
        raise _Problem(f"{where}: must be above zero.")
    return number


def _boolean(value: Any, where: str) -> bool:
    if not isinstance(value, bool):
        raise _Problem(f"{where}: must be true or false.")
    return value


def _choice(value: Any, where: str, choices: type[_Choice]) -> _Choice:
    allowed = [member.value for member in choices]
    if value not in allowed:
        raise _Problem(f"{where}: must be one of {', '.join(allowed)}.")
    return choices(value)


def _fill_licensed_wording(instruments: Mapping[str, Instrument], path: Path) -> dict[str, Instrument]:
    """Fill unworded items from the licensee's file: every key must match exactly one unworded item."""
    data = _read_json(path)
    if not isinstance(data, dict) or not data:
        raise ValueError(f"{path.name}: must be an object mapping item key to wording.")
    unworded = {
        (instrument.key, item.key)
        for instrument in instruments.values()
        for item in instrument.items
        if item.prompt is None
    }
    wording_for: dict[str, dict[str, str]] = {}
    for item_key, wording in data.items():
        owners = [instrument_key for instrument_key, key in sorted(unworded) if key == item_key]
        if not owners:
            raise ValueError(f"{path.name}: {item_key}: no shipped instrument has an unworded item with this key.")
        if len(owners) > 1:
            raise ValueError(f"{path.name}: {item_key}: matches unworded items of {' and '.join(owners)}.")
        try:
            wording_for.setdefault(owners[0], {})[item_key] = _string(wording, item_key)
        except _Problem as problem:
            raise ValueError(f"{path.name}: {problem}") from problem
    filled = dict(instruments)
    for instrument_key, prompts in wording_for.items():
        instrument = instruments[instrument_key]
        missing = [item.key for item in instrument.items if item.prompt is None and item.key not in prompts]
        if missing:
            raise ValueError(f"{path.name}: {missing[0]}: wording is missing ({instrument_key} needs every item).")
        filled[instrument_key] = instrument.with_wording(prompts)
    return filled
