"""A completed check-in: its answers checked and scored, and its scores compared with the child's baseline.

From docs/domain.md ("Wellbeing instruments") and issue 4:

- A check-in is completed in a session (on the mentor's phone) or by the child from a one-time link sent by SMS;
  the channel is kept with it. A child's first check-in with an instrument is their baseline for it.
- An answer is a whole number on its item's scale. An instrument that requires every item (ONS4; SWEMWBS,
  "require all 7 items") rejects a missing one; one that does not (Goal Based Outcomes: up to three goals)
  still needs at least one answer. Every problem names its item, so it can be shown next to the question.
- Scoring keeps everything: the item responses, the raw score(s) and the derived score(s), never only the
  derived score.
  - per_item (ONS4): each item is reported on its own; the derived score is the item's answer.
  - sum_then_table (SWEMWBS): the items are added up (raw total, 7 to 35) and the total converted with a
    fixed table to a metric score; analysis and change use the metric score.
  - per_goal (GBO): each goal's rating is its own score; the mean rating of the goals rated that time is
    derived too, so progress can be read across goals as well as goal by goal.
- Change is latest minus baseline, per derived score. It is a meaningful improvement when it moves the
  better way by at least the threshold, a meaningful deterioration when it moves the worse way by at least
  the threshold (a change exactly at the threshold counts). Higher is better except where an item says
  otherwise: for ONS4 anxiety, lower is better, so a fall in anxiety is an improvement.
- A meaningful fall from the baseline raises an alert to the mentor and the coordinator (fall_detail says what
  it reads; a goal's fall from its own first rating is in api/wellbeing/goal_rules.py).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date
from decimal import ROUND_HALF_UP, Decimal
from enum import StrEnum
from typing import cast

from api.wellbeing.errors import InvalidAnswers
from api.wellbeing.rules import MEAN_OF_GOALS, METRIC, TOTAL, Instrument, ScoringRule

# A mean of up to three whole-number ratings is kept to two decimal places, as it is stored.
MEAN_PLACES = Decimal("0.01")


class CheckInChannel(StrEnum):
    IN_SESSION = "in_session"
    SMS_LINK = "sms_link"


class ScoreKind(StrEnum):
    RAW = "raw"
    DERIVED = "derived"


# --- Answers -------------------------------------------------------------------------------------------------


class AnswerProblemReason(StrEnum):
    MISSING = "missing_answer"
    NO_ANSWERS = "no_answers"
    UNKNOWN_ITEM = "unknown_item"
    NOT_A_WHOLE_NUMBER = "not_a_whole_number"
    OUT_OF_RANGE = "out_of_range"


@dataclass(frozen=True)
class AnswerProblem:
    """What is wrong with the answer to one item (`item` is None when no single item is at fault)."""

    item: str | None
    reason: AnswerProblemReason
    message: str


def validate_answers(instrument: Instrument, answers: Mapping[str, object]) -> list[AnswerProblem]:
    """Every problem with a set of answers, in the order the questions are asked; empty when all is well."""
    problems: list[AnswerProblem] = []
    for item in instrument.items:
        if item.key not in answers:
            if instrument.all_items_required:
                problems.append(AnswerProblem(item.key, AnswerProblemReason.MISSING, "Please answer this question."))
            continue
        answer = answers[item.key]
        # bool is an int in Python; True is not an answer on a scale.
        if not isinstance(answer, int) or isinstance(answer, bool):
            problems.append(
                AnswerProblem(item.key, AnswerProblemReason.NOT_A_WHOLE_NUMBER, "The answer must be a whole number.")
            )
        elif not item.min_response <= answer <= item.max_response:
            problems.append(
                AnswerProblem(
                    item.key,
                    AnswerProblemReason.OUT_OF_RANGE,
                    f"Please choose a number from {item.min_response} to {item.max_response}.",
                )
            )
    for key in sorted(set(answers) - set(instrument.item_keys)):
        problems.append(
            AnswerProblem(key, AnswerProblemReason.UNKNOWN_ITEM, f"This is not a question in {instrument.name}.")
        )
    # Only where no single item is missing (GBO): with every item required, each missing one says so already.
    if not answers and not instrument.all_items_required:
        problems.append(AnswerProblem(None, AnswerProblemReason.NO_ANSWERS, "Please answer at least one question."))
    return problems


def problems_by_item(problems: list[AnswerProblem]) -> dict[str, list[str]]:
    """Problems as the error envelope's field errors: item key to messages (`answers` for the whole set)."""
    errors: dict[str, list[str]] = {}
    for problem in problems:
        errors.setdefault(problem.item or "answers", []).append(problem.message)
    return errors


# --- Scores --------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Score:
    """One completed check-in: what was answered, the raw score(s) and the derived score(s).

    - responses: item key to the answer given.
    - raw: per_item and per_goal, each item's answer; sum_then_table, {"total": the sum of the items}.
    - derived: the scores analysis and change use. per_item, each item's answer; sum_then_table,
      {"metric": the total converted with the table}; per_goal, each goal's rating and "mean", the mean
      rating of the goals rated this time to two decimal places.
    """

    instrument_key: str
    instrument_version: str
    responses: Mapping[str, int]
    raw: Mapping[str, int]
    derived: Mapping[str, Decimal]


def score(instrument: Instrument, answers: Mapping[str, object]) -> Score:
    """Score a set of answers; raises InvalidAnswers (each item's problems) when validate_answers finds any."""
    problems = validate_answers(instrument, answers)
    if problems:
        raise InvalidAnswers(errors=problems_by_item(problems))
    # Validated above: every answer is an int for one of the instrument's items. Kept in question order.
    responses = {key: cast(int, answers[key]) for key in instrument.item_keys if key in answers}
    raw: dict[str, int]
    derived: dict[str, Decimal]
    if instrument.scoring is ScoringRule.SUM_THEN_TABLE:
        assert instrument.score_table is not None  # guaranteed by the definition's own checks
        total = sum(responses.values())
        raw = {TOTAL: total}
        derived = {METRIC: instrument.score_table[total]}
    elif instrument.scoring is ScoringRule.PER_GOAL:
        raw = dict(responses)
        derived = {key: Decimal(value) for key, value in responses.items()}
        mean = Decimal(sum(responses.values())) / len(responses)
        derived[MEAN_OF_GOALS] = mean.quantize(MEAN_PLACES, rounding=ROUND_HALF_UP)
    else:
        raw = dict(responses)
        derived = {key: Decimal(value) for key, value in responses.items()}
    return Score(instrument.key, instrument.version, responses, raw, derived)


# --- Change --------------------------------------------------------------------------------------------------


class ChangeVerdict(StrEnum):
    MEANINGFUL_IMPROVEMENT = "meaningful_improvement"
    MEANINGFUL_DETERIORATION = "meaningful_deterioration"
    NO_MEANINGFUL_CHANGE = "no_meaningful_change"


@dataclass(frozen=True)
class MeasureChange:
    """How one derived score moved from baseline to latest. `change` is latest minus baseline."""

    measure: str
    baseline: Decimal
    latest: Decimal
    change: Decimal
    lower_is_better: bool
    verdict: ChangeVerdict

    @property
    def is_meaningful(self) -> bool:
        return self.verdict is not ChangeVerdict.NO_MEANINGFUL_CHANGE


def lower_is_better(instrument: Instrument, measure: str) -> bool:
    """Which way is better for a derived score: an item's own direction; totals, metrics and means rise."""
    return measure in instrument.item_keys and instrument.item(measure).lower_is_better


def classify_change(change: Decimal, *, threshold: Decimal, lower_is_better: bool) -> ChangeVerdict:
    improvement = -change if lower_is_better else change
    if improvement >= threshold:
        return ChangeVerdict.MEANINGFUL_IMPROVEMENT
    if improvement <= -threshold:
        return ChangeVerdict.MEANINGFUL_DETERIORATION
    return ChangeVerdict.NO_MEANINGFUL_CHANGE


def change(instrument: Instrument, baseline: Score, latest: Score) -> list[MeasureChange]:
    """The change in every derived score present in both the baseline and the latest score.

    A score found in only one of them (a goal rated at baseline but not now) has no change and is left out.
    The order is the instrument's: items first, then the metric score or the mean of goals.
    """
    for which, scored in (("baseline", baseline), ("latest", latest)):
        if scored.instrument_key != instrument.key:
            raise ValueError(f"The {which} score is for {scored.instrument_key!r}, not {instrument.key!r}.")
    threshold = instrument.meaningful_change.threshold
    measures = [*instrument.item_keys, METRIC, MEAN_OF_GOALS]
    changes = []
    for measure in measures:
        if measure not in baseline.derived or measure not in latest.derived:
            continue
        before, after = baseline.derived[measure], latest.derived[measure]
        direction = lower_is_better(instrument, measure)
        difference = after - before
        verdict = classify_change(difference, threshold=threshold, lower_is_better=direction)
        changes.append(MeasureChange(measure, before, after, difference, direction, verdict))
    return changes


def deteriorations(changes: list[MeasureChange]) -> list[MeasureChange]:
    """The measures that fell from the baseline by at least the meaningful-change threshold."""
    return [change for change in changes if change.verdict is ChangeVerdict.MEANINGFUL_DETERIORATION]


def change_from_baseline(
    instrument: Instrument, baseline: Mapping[str, Decimal], latest: Mapping[str, Decimal]
) -> list[MeasureChange]:
    """The change in each derived score from the child's first check-in with the instrument to a later one.

    Goals come and go, so for per_goal scoring only the mean rating is compared with the baseline's; each goal is
    compared with its own first rating instead (goal_rules.goal_change)."""
    if instrument.scoring is ScoringRule.PER_GOAL:
        baseline, latest = _mean_only(baseline), _mean_only(latest)
    return change(instrument, _derived(instrument, baseline), _derived(instrument, latest))


def _mean_only(derived: Mapping[str, Decimal]) -> dict[str, Decimal]:
    return {MEAN_OF_GOALS: derived[MEAN_OF_GOALS]} if MEAN_OF_GOALS in derived else {}


def _derived(instrument: Instrument, derived: Mapping[str, Decimal]) -> Score:
    # Change reads only the derived scores.
    return Score(instrument.key, "", {}, {}, derived)


def fall_detail(
    instrument: Instrument,
    *,
    baseline_on: date | None,
    baseline_falls: list[MeasureChange],
    goal_falls: list[MeasureChange],
) -> str:
    """What a wellbeing-drop alert says: which scores fell, from what to what, and the threshold they passed."""
    described = []
    if baseline_on is not None and baseline_falls:
        described.append(f"since the first check-in on {baseline_on.isoformat()}: {_falls(baseline_falls)}")
    if goal_falls:
        described.append(f"since each goal's first rating: {_falls(goal_falls)}")
    threshold = _number(instrument.meaningful_change.threshold)
    return f"{instrument.name}: a meaningful fall {'; and '.join(described)} (threshold {threshold})."


def _falls(falls: list[MeasureChange]) -> str:
    return ", ".join(f"{fall.measure} {_number(fall.baseline)} to {_number(fall.latest)}" for fall in falls)


def _number(value: Decimal) -> str:
    return format(value.normalize(), "f") if value == value.to_integral_value() else format(value, "f")
