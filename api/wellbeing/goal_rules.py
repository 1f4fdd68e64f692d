"""A child's goals: at most three active, each rated in its own place, each compared with its own first rating.

From issue 4: a child has at most three active goals, each in their own words. A goal ends achieved, changed
(replaced by new wording in the same place) or dropped; ended goals and all their ratings are kept. Goals are
rated with Goal Based Outcomes, one item per place, so a rating for a place with no active goal is refused. Goals
come and go, so each goal's change is read from its own first rating, not from the child's baseline check-in.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from decimal import Decimal
from enum import StrEnum

from api.wellbeing.rules import Instrument, ScoringRule
from api.wellbeing.scoring import MeasureChange, classify_change, deteriorations


class GoalStatus(StrEnum):
    ACTIVE = "active"
    ACHIEVED = "achieved"
    CHANGED = "changed"
    DROPPED = "dropped"


MAX_ACTIVE_GOALS = 3
GOAL_ITEM_PREFIX = "goal_"


def goal_item_key(slot: int) -> str:
    """The Goal Based Outcomes item a goal is rated under: its place among the child's active goals."""
    return f"{GOAL_ITEM_PREFIX}{slot}"


def free_goal_slot(taken: set[int]) -> int | None:
    """The lowest place (1 to 3) no active goal holds, or None when the child already has three."""
    return next((slot for slot in range(1, MAX_ACTIVE_GOALS + 1) if slot not in taken), None)


def goal_answer_problems(
    instrument: Instrument, answers: Mapping[str, object], active_slots: Iterable[int]
) -> dict[str, list[str]]:
    """Goal Based Outcomes rates the child's active goals: a rating for a place with no goal is refused."""
    if instrument.scoring is not ScoringRule.PER_GOAL:
        return {}
    active_items = {goal_item_key(slot) for slot in active_slots}
    return {
        item: ["There is no active goal in this place."]
        for item in answers
        if item in instrument.item_keys and item not in active_items
    }


def goal_change(instrument: Instrument, measure: str, first: Decimal, latest: Decimal) -> MeasureChange:
    """How one goal's rating moved from its first rating (a higher rating is better)."""
    verdict = classify_change(latest - first, threshold=instrument.meaningful_change.threshold, lower_is_better=False)
    return MeasureChange(measure, first, latest, latest - first, False, verdict)


def goal_falls(instrument: Instrument, ratings: Mapping[str, tuple[int, int]]) -> list[MeasureChange]:
    """The goals (by item) whose rating now, against their own first rating, fell meaningfully."""
    return deteriorations(
        [goal_change(instrument, item, Decimal(first), Decimal(now)) for item, (first, now) in ratings.items()]
    )
