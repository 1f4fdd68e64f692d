"""Wellbeing instruments: definitions held as data, and how answers are checked, scored and compared.

From docs/domain.md ("Wellbeing instruments") and issue 4 ("Instruments as data"):

- An instrument is a definition, not a code path: its items, each item's response scale and which way is
  better, a scoring rule, a meaningful-change threshold (and what it is measured in), the ages it suits, its
  licence and credit line. The definitions are JSON files (api/wellbeing/instruments.py loads them); the
  rules here apply to any definition.
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
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal
from enum import StrEnum
from itertools import pairwise
from typing import cast

from api.wellbeing.errors import (
    InstrumentHasNoWording,
    InstrumentNotSuitable,
    InvalidAnswers,
    NoActiveGoals,
    UnknownInstrument,
)

# Names of the derived scores that are not one item's own score.
TOTAL = "total"  # SWEMWBS: the raw total of the items
METRIC = "metric"  # SWEMWBS: the raw total converted with the instrument's table
MEAN_OF_GOALS = "mean"  # GBO: the mean rating of the goals rated on one occasion

# A mean of up to three whole-number ratings is kept to two decimal places, as it is stored.
MEAN_PLACES = Decimal("0.01")


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


# --- Check-ins, goals and one-time links ---------------------------------------------------------------------
#
# From issue 4 and docs/domain.md ("Privacy and retention"):
# - A check-in is completed in a session (on the mentor's phone) or by the child from a one-time link sent by SMS;
#   the channel is kept with it. A child's first check-in with an instrument is their baseline for it.
# - A one-time link carries an opaque token only: at least 128 bits that cannot be guessed, never stored (only
#   its hash is), expiring (72 hours by default) and used up when the answers are submitted, not when the page is
#   opened, because link previews open links.
# - A child has at most three active goals, each in their own words. A goal ends achieved, changed (replaced by
#   new wording in the same place) or dropped; ended goals and all their ratings are kept.
# - A meaningful fall from the baseline raises an alert to the mentor and the coordinator.


class CheckInChannel(StrEnum):
    IN_SESSION = "in_session"
    SMS_LINK = "sms_link"


class InvitationReason(StrEnum):
    """Why a link was sent: someone asked for it now, or the programme's schedule said it was due."""

    ON_REQUEST = "on_request"
    AT_ENROLMENT = "at_enrolment"
    PERIODIC = "periodic"
    AT_END = "at_end"


class InvitationState(StrEnum):
    OPEN = "open"
    COMPLETED = "completed"
    EXPIRED = "expired"
    REVOKED = "revoked"


class ScoreKind(StrEnum):
    RAW = "raw"
    DERIVED = "derived"


class GoalStatus(StrEnum):
    ACTIVE = "active"
    ACHIEVED = "achieved"
    CHANGED = "changed"
    DROPPED = "dropped"


MAX_ACTIVE_GOALS = 3
GOAL_ITEM_PREFIX = "goal_"
DEFAULT_LINK_HOURS = 72


def goal_item_key(slot: int) -> str:
    """The Goal Based Outcomes item a goal is rated under: its place among the child's active goals."""
    return f"{GOAL_ITEM_PREFIX}{slot}"


def free_goal_slot(taken: set[int]) -> int | None:
    """The lowest place (1 to 3) no active goal holds, or None when the child already has three."""
    return next((slot for slot in range(1, MAX_ACTIVE_GOALS + 1) if slot not in taken), None)


def invitation_state(
    *, expires_at: datetime, completed_at: datetime | None, revoked_at: datetime | None, now: datetime
) -> InvitationState:
    if completed_at is not None:
        return InvitationState.COMPLETED
    if revoked_at is not None:
        return InvitationState.REVOKED
    if now >= expires_at:
        return InvitationState.EXPIRED
    return InvitationState.OPEN


def deteriorations(changes: list[MeasureChange]) -> list[MeasureChange]:
    """The measures that fell from the baseline by at least the meaningful-change threshold."""
    return [change for change in changes if change.verdict is ChangeVerdict.MEANINGFUL_DETERIORATION]


def change_from_baseline(
    instrument: Instrument, baseline: Mapping[str, Decimal], latest: Mapping[str, Decimal]
) -> list[MeasureChange]:
    """The change in each derived score from the child's first check-in with the instrument to a later one.

    Goals come and go, so for per_goal scoring only the mean rating is compared with the baseline's; each goal is
    compared with its own first rating instead (goal_change)."""
    if instrument.scoring is ScoringRule.PER_GOAL:
        baseline, latest = _mean_only(baseline), _mean_only(latest)
    return change(instrument, _derived(instrument, baseline), _derived(instrument, latest))


def _mean_only(derived: Mapping[str, Decimal]) -> dict[str, Decimal]:
    return {MEAN_OF_GOALS: derived[MEAN_OF_GOALS]} if MEAN_OF_GOALS in derived else {}


def _derived(instrument: Instrument, derived: Mapping[str, Decimal]) -> Score:
    # Change reads only the derived scores.
    return Score(instrument.key, "", {}, {}, derived)


def goal_change(instrument: Instrument, measure: str, first: Decimal, latest: Decimal) -> MeasureChange:
    """How one goal's rating moved from its first rating (a higher rating is better)."""
    verdict = classify_change(latest - first, threshold=instrument.meaningful_change.threshold, lower_is_better=False)
    return MeasureChange(measure, first, latest, latest - first, False, verdict)


def goal_falls(instrument: Instrument, ratings: Mapping[str, tuple[int, int]]) -> list[MeasureChange]:
    """The goals (by item) whose rating now, against their own first rating, fell meaningfully."""
    return deteriorations(
        [goal_change(instrument, item, Decimal(first), Decimal(now)) for item, (first, now) in ratings.items()]
    )


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


# --- Which instruments to ask --------------------------------------------------------------------------------
#
# An instrument is asked only of a child of the ages it suits. A link asks only instruments whose wording is loaded
# (licensed wording may be absent) and Goal Based Outcomes only while the child has a goal to rate: a link someone
# asks for is refused, naming the instrument at fault; the programme's routine leaves such an instrument out.


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


# A repeated "Send" within this of the first is the same child tapping twice, not a reused link.
REPEAT_SUBMISSION_WINDOW = timedelta(minutes=10)


def is_repeated_submission(
    *,
    completed_at: datetime | None,
    now: datetime,
    answers: Mapping[str, Mapping[str, object]],
    stored: Mapping[str, Mapping[str, int]],
) -> bool:
    """Whether answers sent to a used link are its submission arriving twice: the link was completed moments ago
    with exactly these answers (`stored`: each instrument's answers as stored; one sent empty was not sent)."""
    if completed_at is None or now - completed_at > REPEAT_SUBMISSION_WINDOW:
        return False
    given = {key: dict(values) for key, values in answers.items() if values}
    return {key: given.get(key) for key in stored} == stored


@dataclass(frozen=True)
class CheckInSchedule:
    """A programme's routine: a link at enrolment, every `every_weeks` weeks, and in the last week."""

    at_enrolment: bool
    every_weeks: int | None
    at_end: bool


@dataclass(frozen=True)
class DueInvitation:
    reason: InvitationReason
    # Names the occasion, so the same scheduled link is never created twice ("periodic:3" is week 12).
    occasion: str


def due_invitation(
    schedule: CheckInSchedule,
    *,
    started_on: date,
    planned_end_on: date | None,
    today: date,
    occasions_done: set[str],
) -> DueInvitation | None:
    """The scheduled check-in due today for an active enrolment, if any (the earliest one not yet sent).

    Occasions are counted from the start date in the programme's own calendar. One that was missed (the
    scheduler was down, the child had no consent then) is still sent while it is the latest one due, but an
    older one is not sent late once a newer one is due: a child gets one link, not a backlog.
    """
    if today < started_on:
        return None
    if planned_end_on is not None and today > planned_end_on:
        return None
    if schedule.at_end and planned_end_on is not None and today >= planned_end_on - timedelta(days=6):
        return None if "at_end" in occasions_done else DueInvitation(InvitationReason.AT_END, "at_end")
    if schedule.every_weeks:
        number = (today - started_on).days // (7 * schedule.every_weeks)
        if number >= 1:
            occasion = f"periodic:{number}"
            return None if occasion in occasions_done else DueInvitation(InvitationReason.PERIODIC, occasion)
    if schedule.at_enrolment and "at_enrolment" not in occasions_done:
        return DueInvitation(InvitationReason.AT_ENROLMENT, "at_enrolment")
    return None
