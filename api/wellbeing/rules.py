"""Wellbeing instruments as data: what a definition holds, the checks it must pass, and which a child is asked.

From docs/domain.md ("Wellbeing instruments") and issue 4 ("Instruments as data"):

- An instrument is a definition, not a code path: its items, each item's response scale and which way is
  better, a scoring rule, a meaningful-change threshold (and what it is measured in), the ages it suits, its
  licence and credit line. The definitions are JSON files (api/wellbeing/instruments.py loads them); the
  rules here and in api/wellbeing/scoring.py apply to any definition.
- An instrument is asked only of a child of the ages it suits. A link asks only instruments whose wording is
  loaded (licensed wording may be absent) and Goal Based Outcomes only while the child has a goal to rate: a link
  someone asks for is refused, naming the instrument at fault; the programme's routine leaves such an instrument
  out.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal
from enum import StrEnum
from itertools import pairwise

from api.wellbeing.errors import InstrumentHasNoWording, InstrumentNotSuitable, NoActiveGoals, UnknownInstrument

# Names of the derived scores that are not one item's own score.
TOTAL = "total"  # SWEMWBS: the raw total of the items
METRIC = "metric"  # SWEMWBS: the raw total converted with the instrument's table
MEAN_OF_GOALS = "mean"  # GBO: the mean rating of the goals rated on one occasion


class ScoringRule(StrEnum):
    PER_ITEM = "per_item"
    SUM_THEN_TABLE = "sum_then_table"
    PER_GOAL = "per_goal"


class ChangeUnit(StrEnum):
    """What the meaningful-change threshold is measured in; each scoring rule has exactly one."""

    ITEM_POINTS = "item_points"  # points on each item's own scale, item by item (ONS4)
    METRIC_POINTS = "metric_points"  # points of the converted metric score (SWEMWBS)
    RATING_POINTS = "rating_points"  # points of the goal rating, for each goal and for their mean (GBO)


UNIT_FOR_SCORING = {
    ScoringRule.PER_ITEM: ChangeUnit.ITEM_POINTS,
    ScoringRule.SUM_THEN_TABLE: ChangeUnit.METRIC_POINTS,
    ScoringRule.PER_GOAL: ChangeUnit.RATING_POINTS,
}


@dataclass(frozen=True)
class Item:
    """One question. `prompt` is None when the wording is licensed and must be supplied by the licensee."""

    key: str
    prompt: str | None
    min_response: int
    max_response: int
    lower_is_better: bool = False


@dataclass(frozen=True)
class MeaningfulChange:
    threshold: Decimal
    unit: ChangeUnit


@dataclass(frozen=True)
class Instrument:
    key: str
    name: str
    version: str
    items: tuple[Item, ...]
    scoring: ScoringRule
    meaningful_change: MeaningfulChange
    min_age: int | None
    max_age: int | None
    licence: str
    credit: str
    all_items_required: bool
    instructions: str | None = None
    # sum_then_table only: every possible raw total mapped to its derived (metric) score.
    score_table: Mapping[int, Decimal] | None = None

    def __post_init__(self) -> None:
        problem = _definition_problem(self)
        if problem:
            raise ValueError(f"Instrument {self.key!r}: {problem}")

    @property
    def item_keys(self) -> tuple[str, ...]:
        return tuple(item.key for item in self.items)

    def item(self, key: str) -> Item:
        for item in self.items:
            if item.key == key:
                return item
        raise KeyError(key)

    @property
    def has_wording(self) -> bool:
        """Whether every item has its wording, so the questions can be shown to a child."""
        return all(item.prompt is not None for item in self.items)

    def suits_age(self, age: int) -> bool:
        return (self.min_age is None or age >= self.min_age) and (self.max_age is None or age <= self.max_age)

    def with_wording(self, prompts: Mapping[str, str]) -> Instrument:
        """A copy with the given items' wording filled in (licensed wording supplied at run time)."""
        unknown = sorted(set(prompts) - set(self.item_keys))
        if unknown:
            raise ValueError(f"Instrument {self.key!r} has no item {unknown[0]!r}.")
        items = tuple(dataclasses.replace(item, prompt=prompts.get(item.key, item.prompt)) for item in self.items)
        return dataclasses.replace(self, items=items)


def _definition_problem(instrument: Instrument) -> str | None:
    if not instrument.key or not instrument.name or not instrument.version:
        return "key, name and version must not be empty."
    if not instrument.items:
        return "an instrument needs at least one item."
    keys = instrument.item_keys
    duplicate = next((key for key in keys if keys.count(key) > 1), None)
    if duplicate:
        return f"item {duplicate!r} is listed twice."
    if any(key in (TOTAL, METRIC, MEAN_OF_GOALS) for key in keys):
        return f"item keys {TOTAL!r}, {METRIC!r} and {MEAN_OF_GOALS!r} are reserved for derived scores."
    for item in instrument.items:
        if not item.key:
            return "every item needs a key."
        if item.prompt is not None and not item.prompt.strip():
            return f"item {item.key!r} has empty wording (use no wording at all when it is licensed)."
        if item.min_response >= item.max_response:
            return f"item {item.key!r}: the lowest response must be below the highest."
    change = instrument.meaningful_change
    if change.threshold <= 0:
        return "the meaningful-change threshold must be above zero."
    if change.unit is not UNIT_FOR_SCORING[instrument.scoring]:
        return f"{instrument.scoring} scoring measures change in {UNIT_FOR_SCORING[instrument.scoring]}."
    if instrument.min_age is not None and instrument.min_age < 0:
        return "the minimum age cannot be negative."
    if instrument.min_age is not None and instrument.max_age is not None and instrument.min_age > instrument.max_age:
        return "the minimum age is above the maximum age."
    if instrument.scoring is ScoringRule.PER_ITEM:
        return None if instrument.score_table is None else "only sum_then_table scoring uses a score table."
    # Totals and means add items up, so every item must point the same way (no reverse scoring here).
    if any(item.lower_is_better for item in instrument.items):
        return f"{instrument.scoring} scoring needs every item to be better when higher."
    if instrument.scoring is ScoringRule.PER_GOAL:
        if len({(item.min_response, item.max_response) for item in instrument.items}) > 1:
            return "every goal must be rated on the same scale."
        return None if instrument.score_table is None else "only sum_then_table scoring uses a score table."
    return _score_table_problem(instrument)


def _score_table_problem(instrument: Instrument) -> str | None:
    table = instrument.score_table
    if table is None:
        return "sum_then_table scoring needs a score table."
    lowest = sum(item.min_response for item in instrument.items)
    highest = sum(item.max_response for item in instrument.items)
    if sorted(table) != list(range(lowest, highest + 1)):
        return f"the score table must give a score for every raw total from {lowest} to {highest}, and no other."
    scores = [table[total] for total in range(lowest, highest + 1)]
    if any(later < earlier for earlier, later in pairwise(scores)):
        return "the score table must never go down as the raw total goes up."
    return None


# --- Which instruments to ask --------------------------------------------------------------------------------


def instrument_named(instruments: Mapping[str, Instrument], key: str, *, field_name: str = "instrument") -> Instrument:
    """The deployment's instrument with this key; UnknownInstrument, named under `field_name`, if there is none."""
    instrument = instruments.get(key)
    if instrument is None:
        raise UnknownInstrument(errors={field_name: [f"Choose one of: {', '.join(sorted(instruments))}."]})
    return instrument


def check_suits_age(instrument: Instrument, age: int, *, field_name: str = "instrument") -> None:
    """InstrumentNotSuitable, named under `field_name`, when the instrument is not for a child of this age."""
    if not instrument.suits_age(age):
        bounds = (
            f"from {instrument.min_age}"
            if instrument.max_age is None
            else f"{instrument.min_age} to {instrument.max_age}"
        )
        raise InstrumentNotSuitable(errors={field_name: [f"{instrument.name} is for children aged {bounds}."]})


def link_instruments(
    instruments: Mapping[str, Instrument], keys: Sequence[str], *, age: int, has_active_goals: bool
) -> list[str]:
    """The instruments a link may ask this child, each once: known, worded, right for their age, goals to rate.
    Anything else is refused, named under `instruments`."""
    if not keys:
        raise UnknownInstrument(errors={"instruments": ["Choose at least one instrument."]})
    chosen: list[str] = []
    for key in keys:
        instrument = instrument_named(instruments, key, field_name="instruments")
        if not instrument.has_wording:
            raise InstrumentHasNoWording(errors={"instruments": [f"{instrument.name} has no wording here."]})
        check_suits_age(instrument, age, field_name="instruments")
        if instrument.scoring is ScoringRule.PER_GOAL and not has_active_goals:
            raise NoActiveGoals(errors={"instruments": ["This child has no active goals to rate."]})
        if key not in chosen:
            chosen.append(key)
    return chosen


def scheduled_link_instruments(
    instruments: Mapping[str, Instrument], keys: Sequence[str], *, age: int, has_active_goals: bool
) -> list[str]:
    """The programme's instruments a scheduled link asks this child: those a link may ask; the rest are skipped."""
    return [
        key
        for key in keys
        if key in instruments
        and instruments[key].has_wording
        and instruments[key].suits_age(age)
        and (instruments[key].scoring is not ScoringRule.PER_GOAL or has_active_goals)
    ]
