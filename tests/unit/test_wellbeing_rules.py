"""The pure rules behind wellbeing instruments: checking answers, scoring them and reading change.

The instruments are the definitions the product ships (api/wellbeing/instruments/*.json), so these tests
also pin the shipped data: the SWEMWBS raw-to-metric table exactly as published, the ONS4 anxiety
direction, the Goal Based Outcomes threshold of 2.5. SWEMWBS is scored without its (licensed) wording.
"""

from __future__ import annotations

import dataclasses
from decimal import Decimal

import pytest

from api.wellbeing.errors import InvalidAnswers
from api.wellbeing.instruments import SHIPPED_INSTRUMENTS, load_instruments
from api.wellbeing.rules import ChangeUnit, Instrument, Item, MeaningfulChange, ScoringRule
from api.wellbeing.scoring import (
    AnswerProblem,
    AnswerProblemReason,
    ChangeVerdict,
    MeasureChange,
    change,
    classify_change,
    problems_by_item,
    score,
    validate_answers,
)

SHIPPED = load_instruments(SHIPPED_INSTRUMENTS, licensed_wording_file=None)
ONS4 = SHIPPED["ons4"]
GBO = SHIPPED["gbo"]
SWEMWBS = SHIPPED["swemwbs"]

# SWEMWBS raw total to metric score, as published (docs/domain.md, "Wellbeing instruments").
SWEMWBS_METRIC = {
    7: "7.00",
    8: "9.51",
    9: "11.25",
    10: "12.40",
    11: "13.33",
    12: "14.08",
    13: "14.75",
    14: "15.32",
    15: "15.84",
    16: "16.36",
    17: "16.88",
    18: "17.43",
    19: "17.98",
    20: "18.59",
    21: "19.25",
    22: "19.98",
    23: "20.73",
    24: "21.54",
    25: "22.35",
    26: "23.21",
    27: "24.11",
    28: "25.03",
    29: "26.02",
    30: "27.03",
    31: "28.13",
    32: "29.31",
    33: "30.70",
    34: "32.55",
    35: "35.00",
}


def swemwbs_answers(raw_total: int) -> dict[str, int]:
    """Seven answers from 1 to 5 adding up to raw_total (7 to 35), filled from the first item."""
    extra = raw_total - 7
    answers = {}
    for number in range(1, 8):
        step = min(extra, 4)
        answers[f"item_{number}"] = 1 + step
        extra -= step
    return answers


def ons4_answers(**overrides: int) -> dict[str, int]:
    answers = {"life_satisfaction": 7, "worthwhile": 7, "happy_yesterday": 7, "anxious_yesterday": 3}
    return {**answers, **overrides}


def change_in(changes: list[MeasureChange], measure: str) -> MeasureChange:
    return next(found for found in changes if found.measure == measure)


class TestSwemwbsScoring:
    @pytest.mark.parametrize(("raw_total", "metric"), SWEMWBS_METRIC.items())
    def test_each_raw_total_converts_to_the_metric_score_in_the_published_table(self, raw_total, metric):
        scored = score(SWEMWBS, swemwbs_answers(raw_total))

        assert scored.raw == {"total": raw_total}
        assert scored.derived == {"metric": Decimal(metric)}
        assert str(scored.derived["metric"]) == metric

    def test_the_table_covers_exactly_the_raw_totals_7_to_35(self):
        assert sorted(SWEMWBS_METRIC) == list(range(7, 36))
        assert {total: str(metric) for total, metric in (SWEMWBS.score_table or {}).items()} == SWEMWBS_METRIC

    def test_the_score_keeps_every_item_response_the_raw_total_and_the_metric_score(self):
        answers = {"item_1": 5, "item_2": 4, "item_3": 3, "item_4": 2, "item_5": 1, "item_6": 3, "item_7": 5}

        scored = score(SWEMWBS, answers)

        assert scored.instrument_key == "swemwbs"
        assert scored.instrument_version == "1"
        assert scored.responses == answers
        assert list(scored.responses) == [f"item_{number}" for number in range(1, 8)]
        assert scored.raw == {"total": 23}
        assert scored.derived == {"metric": Decimal("20.73")}

    def test_it_is_scored_without_any_wording(self):
        assert not SWEMWBS.has_wording
        assert score(SWEMWBS, swemwbs_answers(21)).derived == {"metric": Decimal("19.25")}

    def test_all_seven_items_are_required(self):
        answers = swemwbs_answers(20)
        del answers["item_4"]

        assert validate_answers(SWEMWBS, answers) == [
            AnswerProblem("item_4", AnswerProblemReason.MISSING, "Please answer this question.")
        ]

    def test_six_answers_cannot_be_scored_and_the_error_names_the_missing_item(self):
        answers = swemwbs_answers(20)
        del answers["item_7"]

        with pytest.raises(InvalidAnswers) as raised:
            score(SWEMWBS, answers)

        assert raised.value.reason == "invalid_answers"
        assert raised.value.errors == {"item_7": ["Please answer this question."]}

    @pytest.mark.parametrize("answer", [0, 6, -1])
    def test_an_answer_outside_1_to_5_is_out_of_range_and_names_the_item(self, answer):
        answers = {**swemwbs_answers(20), "item_2": answer}

        assert validate_answers(SWEMWBS, answers) == [
            AnswerProblem("item_2", AnswerProblemReason.OUT_OF_RANGE, "Please choose a number from 1 to 5.")
        ]

    @pytest.mark.parametrize("answer", [1, 5])
    def test_the_ends_of_the_scale_are_accepted(self, answer):
        assert validate_answers(SWEMWBS, {**swemwbs_answers(20), "item_2": answer}) == []

    def test_change_is_read_on_the_metric_score_not_the_raw_total(self):
        # The same raw rise of 3 is 5.40 metric points at the bottom of the scale but 2.14 in the middle.
        bottom = change(SWEMWBS, score(SWEMWBS, swemwbs_answers(7)), score(SWEMWBS, swemwbs_answers(10)))
        middle = change(SWEMWBS, score(SWEMWBS, swemwbs_answers(20)), score(SWEMWBS, swemwbs_answers(23)))

        assert bottom == [
            MeasureChange(
                "metric",
                Decimal("7.00"),
                Decimal("12.40"),
                Decimal("5.40"),
                False,
                ChangeVerdict.MEANINGFUL_IMPROVEMENT,
            )
        ]
        assert middle == [
            MeasureChange(
                "metric", Decimal("18.59"), Decimal("20.73"), Decimal("2.14"), False, ChangeVerdict.NO_MEANINGFUL_CHANGE
            )
        ]

    def test_a_rise_of_2_95_metric_points_is_just_below_the_threshold_of_3(self):
        (rise,) = change(SWEMWBS, score(SWEMWBS, swemwbs_answers(20)), score(SWEMWBS, swemwbs_answers(24)))

        assert rise.change == Decimal("2.95")
        assert rise.verdict is ChangeVerdict.NO_MEANINGFUL_CHANGE

    def test_a_fall_of_3_76_metric_points_is_a_meaningful_deterioration(self):
        (fall,) = change(SWEMWBS, score(SWEMWBS, swemwbs_answers(25)), score(SWEMWBS, swemwbs_answers(20)))

        assert fall.change == Decimal("-3.76")
        assert fall.verdict is ChangeVerdict.MEANINGFUL_DETERIORATION

    def test_a_change_of_exactly_3_metric_points_is_meaningful(self):
        assert SWEMWBS.meaningful_change == MeaningfulChange(Decimal(3), ChangeUnit.METRIC_POINTS)
        assert (
            classify_change(Decimal("3.00"), threshold=Decimal(3), lower_is_better=False)
            is ChangeVerdict.MEANINGFUL_IMPROVEMENT
        )
        assert (
            classify_change(Decimal("-3.00"), threshold=Decimal(3), lower_is_better=False)
            is ChangeVerdict.MEANINGFUL_DETERIORATION
        )

    def test_it_is_used_from_age_13(self):
        assert not SWEMWBS.suits_age(12)
        assert SWEMWBS.suits_age(13)
        assert SWEMWBS.suits_age(17)


class TestOns4Scoring:
    def test_each_item_is_its_own_score_and_nothing_is_added_up(self):
        answers = ons4_answers(life_satisfaction=8, worthwhile=9, happy_yesterday=6, anxious_yesterday=2)

        scored = score(ONS4, answers)

        assert scored.responses == answers
        assert scored.raw == answers
        assert scored.derived == {
            "life_satisfaction": Decimal(8),
            "worthwhile": Decimal(9),
            "happy_yesterday": Decimal(6),
            "anxious_yesterday": Decimal(2),
        }

    def test_only_anxiety_is_better_when_lower(self):
        assert [(item.key, item.lower_is_better) for item in ONS4.items] == [
            ("life_satisfaction", False),
            ("worthwhile", False),
            ("happy_yesterday", False),
            ("anxious_yesterday", True),
        ]

    def test_a_fall_in_anxiety_is_a_meaningful_improvement(self):
        changes = change(ONS4, score(ONS4, ons4_answers(anxious_yesterday=7)), score(ONS4, ons4_answers()))

        assert change_in(changes, "anxious_yesterday") == MeasureChange(
            "anxious_yesterday", Decimal(7), Decimal(3), Decimal(-4), True, ChangeVerdict.MEANINGFUL_IMPROVEMENT
        )

    def test_a_rise_in_anxiety_is_a_meaningful_deterioration(self):
        changes = change(ONS4, score(ONS4, ons4_answers()), score(ONS4, ons4_answers(anxious_yesterday=8)))

        assert change_in(changes, "anxious_yesterday").verdict is ChangeVerdict.MEANINGFUL_DETERIORATION

    def test_a_rise_in_happiness_is_a_meaningful_improvement_and_a_fall_a_deterioration(self):
        baseline = score(ONS4, ons4_answers(happy_yesterday=5))

        up = change(ONS4, baseline, score(ONS4, ons4_answers(happy_yesterday=8)))
        down = change(ONS4, baseline, score(ONS4, ons4_answers(happy_yesterday=2)))

        assert change_in(up, "happy_yesterday").verdict is ChangeVerdict.MEANINGFUL_IMPROVEMENT
        assert change_in(down, "happy_yesterday").verdict is ChangeVerdict.MEANINGFUL_DETERIORATION

    def test_every_item_gets_its_own_change_in_question_order(self):
        changes = change(ONS4, score(ONS4, ons4_answers()), score(ONS4, ons4_answers(worthwhile=8)))

        assert [(found.measure, found.change, found.verdict) for found in changes] == [
            ("life_satisfaction", Decimal(0), ChangeVerdict.NO_MEANINGFUL_CHANGE),
            ("worthwhile", Decimal(1), ChangeVerdict.NO_MEANINGFUL_CHANGE),
            ("happy_yesterday", Decimal(0), ChangeVerdict.NO_MEANINGFUL_CHANGE),
            ("anxious_yesterday", Decimal(0), ChangeVerdict.NO_MEANINGFUL_CHANGE),
        ]

    def test_a_change_of_exactly_2_points_on_an_item_is_meaningful_and_1_point_is_not(self):
        baseline = score(ONS4, ons4_answers(life_satisfaction=5, anxious_yesterday=5))

        two = change(ONS4, baseline, score(ONS4, ons4_answers(life_satisfaction=7, anxious_yesterday=3)))
        one = change(ONS4, baseline, score(ONS4, ons4_answers(life_satisfaction=6, anxious_yesterday=4)))

        assert change_in(two, "life_satisfaction").verdict is ChangeVerdict.MEANINGFUL_IMPROVEMENT
        assert change_in(two, "anxious_yesterday").verdict is ChangeVerdict.MEANINGFUL_IMPROVEMENT
        assert change_in(one, "life_satisfaction").verdict is ChangeVerdict.NO_MEANINGFUL_CHANGE
        assert change_in(one, "anxious_yesterday").verdict is ChangeVerdict.NO_MEANINGFUL_CHANGE

    def test_all_four_questions_must_be_answered(self):
        answers = ons4_answers()
        del answers["worthwhile"]

        assert validate_answers(ONS4, answers) == [
            AnswerProblem("worthwhile", AnswerProblemReason.MISSING, "Please answer this question.")
        ]

    @pytest.mark.parametrize("answer", [-1, 11])
    def test_an_answer_outside_0_to_10_names_the_item(self, answer):
        with pytest.raises(InvalidAnswers) as raised:
            score(ONS4, ons4_answers(anxious_yesterday=answer))

        assert raised.value.errors == {"anxious_yesterday": ["Please choose a number from 0 to 10."]}

    @pytest.mark.parametrize("answer", [0, 10])
    def test_0_and_10_are_both_answers(self, answer):
        assert validate_answers(ONS4, ons4_answers(life_satisfaction=answer, anxious_yesterday=answer)) == []

    def test_it_is_used_with_children_aged_10_and_over(self):
        assert not ONS4.suits_age(9)
        assert ONS4.suits_age(10)
        assert ONS4.suits_age(18)


class TestGoalBasedOutcomes:
    def test_each_goal_is_its_own_score_and_their_mean_is_derived(self):
        scored = score(GBO, {"goal_1": 3, "goal_2": 6, "goal_3": 8})

        assert scored.responses == {"goal_1": 3, "goal_2": 6, "goal_3": 8}
        assert scored.raw == {"goal_1": 3, "goal_2": 6, "goal_3": 8}
        assert scored.derived == {
            "goal_1": Decimal(3),
            "goal_2": Decimal(6),
            "goal_3": Decimal(8),
            "mean": Decimal("5.67"),
        }

    def test_a_child_with_one_goal_rates_just_that_goal(self):
        scored = score(GBO, {"goal_1": 4})

        assert scored.raw == {"goal_1": 4}
        assert scored.derived == {"goal_1": Decimal(4), "mean": Decimal("4.00")}

    def test_the_mean_is_kept_to_two_decimal_places_rounding_halves_up(self):
        assert score(GBO, {"goal_1": 1, "goal_2": 1, "goal_3": 2}).derived["mean"] == Decimal("1.33")
        assert score(GBO, {"goal_1": 2, "goal_2": 2, "goal_3": 1}).derived["mean"] == Decimal("1.67")
        assert score(GBO, {"goal_1": 0, "goal_2": 5}).derived["mean"] == Decimal("2.50")

    def test_at_least_one_goal_must_be_rated(self):
        assert validate_answers(GBO, {}) == [
            AnswerProblem(None, AnswerProblemReason.NO_ANSWERS, "Please answer at least one question.")
        ]
        with pytest.raises(InvalidAnswers) as raised:
            score(GBO, {})
        assert raised.value.errors == {"answers": ["Please answer at least one question."]}

    def test_there_is_no_fourth_goal(self):
        assert validate_answers(GBO, {"goal_1": 5, "goal_4": 5}) == [
            AnswerProblem("goal_4", AnswerProblemReason.UNKNOWN_ITEM, "This is not a question in Goal Based Outcomes.")
        ]

    def test_a_rating_of_11_names_the_goal(self):
        assert problems_by_item(validate_answers(GBO, {"goal_1": 5, "goal_2": 11})) == {
            "goal_2": ["Please choose a number from 0 to 10."]
        }

    def test_the_meaningful_change_threshold_is_2_5_rating_points(self):
        assert GBO.meaningful_change == MeaningfulChange(Decimal("2.5"), ChangeUnit.RATING_POINTS)

    def test_a_mean_rise_of_exactly_2_5_is_a_meaningful_improvement(self):
        changes = change(GBO, score(GBO, {"goal_1": 2, "goal_2": 4}), score(GBO, {"goal_1": 5, "goal_2": 6}))

        assert change_in(changes, "mean") == MeasureChange(
            "mean", Decimal("3.00"), Decimal("5.50"), Decimal("2.50"), False, ChangeVerdict.MEANINGFUL_IMPROVEMENT
        )

    def test_a_mean_rise_just_below_2_5_is_not_meaningful(self):
        # Three goals up by 3, 2 and 2: the mean rises 2.33.
        baseline = score(GBO, {"goal_1": 2, "goal_2": 2, "goal_3": 2})
        latest = score(GBO, {"goal_1": 5, "goal_2": 4, "goal_3": 4})

        mean = change_in(change(GBO, baseline, latest), "mean")

        assert mean.change == Decimal("2.33")
        assert mean.verdict is ChangeVerdict.NO_MEANINGFUL_CHANGE

    def test_a_mean_fall_of_exactly_2_5_is_a_meaningful_deterioration(self):
        changes = change(GBO, score(GBO, {"goal_1": 5, "goal_2": 6}), score(GBO, {"goal_1": 2, "goal_2": 4}))

        assert change_in(changes, "mean").verdict is ChangeVerdict.MEANINGFUL_DETERIORATION

    def test_on_one_goal_a_rise_of_3_is_meaningful_and_a_rise_of_2_is_not(self):
        changes = change(GBO, score(GBO, {"goal_1": 2, "goal_2": 4}), score(GBO, {"goal_1": 5, "goal_2": 6}))

        assert change_in(changes, "goal_1").verdict is ChangeVerdict.MEANINGFUL_IMPROVEMENT
        assert change_in(changes, "goal_2").verdict is ChangeVerdict.NO_MEANINGFUL_CHANGE

    def test_the_threshold_is_a_setting_of_the_definition(self):
        stricter = dataclasses.replace(GBO, meaningful_change=MeaningfulChange(Decimal(2), ChangeUnit.RATING_POINTS))
        baseline, latest = score(stricter, {"goal_1": 4}), score(stricter, {"goal_1": 6})

        assert change_in(change(stricter, baseline, latest), "goal_1").verdict is ChangeVerdict.MEANINGFUL_IMPROVEMENT
        assert change_in(change(GBO, baseline, latest), "goal_1").verdict is ChangeVerdict.NO_MEANINGFUL_CHANGE

    def test_a_goal_rated_only_once_has_no_change(self):
        changes = change(GBO, score(GBO, {"goal_1": 2, "goal_2": 4}), score(GBO, {"goal_1": 6, "goal_3": 1}))

        assert [found.measure for found in changes] == ["goal_1", "mean"]


class TestValidateAnswers:
    def test_answers_that_fit_every_question_have_no_problems(self):
        assert validate_answers(ONS4, ons4_answers()) == []

    @pytest.mark.parametrize("answer", ["7", 7.0, 7.5, None, True])
    def test_an_answer_that_is_not_a_whole_number_names_the_item(self, answer):
        assert validate_answers(ONS4, ons4_answers(happy_yesterday=answer)) == [
            AnswerProblem(
                "happy_yesterday", AnswerProblemReason.NOT_A_WHOLE_NUMBER, "The answer must be a whole number."
            )
        ]

    def test_an_answer_to_a_question_the_instrument_does_not_ask_names_it(self):
        answers = {**ons4_answers(), "lonely": 3}

        assert validate_answers(ONS4, answers) == [
            AnswerProblem(
                "lonely",
                AnswerProblemReason.UNKNOWN_ITEM,
                "This is not a question in ONS personal wellbeing questions.",
            )
        ]

    def test_every_problem_is_reported_in_question_order_then_unknown_items(self):
        answers = {"zzz": 1, "anxious_yesterday": 12, "life_satisfaction": "high", "aaa": 1}

        problems = validate_answers(ONS4, answers)

        assert [(problem.item, problem.reason) for problem in problems] == [
            ("life_satisfaction", AnswerProblemReason.NOT_A_WHOLE_NUMBER),
            ("worthwhile", AnswerProblemReason.MISSING),
            ("happy_yesterday", AnswerProblemReason.MISSING),
            ("anxious_yesterday", AnswerProblemReason.OUT_OF_RANGE),
            ("aaa", AnswerProblemReason.UNKNOWN_ITEM),
            ("zzz", AnswerProblemReason.UNKNOWN_ITEM),
        ]

    def test_problems_become_field_errors_keyed_by_item(self):
        answers = {"life_satisfaction": 11, "worthwhile": 7, "happy_yesterday": 7}

        with pytest.raises(InvalidAnswers) as raised:
            score(ONS4, answers)

        assert raised.value.errors == {
            "life_satisfaction": ["Please choose a number from 0 to 10."],
            "anxious_yesterday": ["Please answer this question."],
        }


class TestClassifyChange:
    @pytest.mark.parametrize(
        ("difference", "lower_is_better", "verdict"),
        [
            ("2.5", False, ChangeVerdict.MEANINGFUL_IMPROVEMENT),
            ("2.49", False, ChangeVerdict.NO_MEANINGFUL_CHANGE),
            ("0", False, ChangeVerdict.NO_MEANINGFUL_CHANGE),
            ("-2.49", False, ChangeVerdict.NO_MEANINGFUL_CHANGE),
            ("-2.5", False, ChangeVerdict.MEANINGFUL_DETERIORATION),
            ("-2.5", True, ChangeVerdict.MEANINGFUL_IMPROVEMENT),
            ("-2.49", True, ChangeVerdict.NO_MEANINGFUL_CHANGE),
            ("2.5", True, ChangeVerdict.MEANINGFUL_DETERIORATION),
        ],
    )
    def test_a_change_at_or_beyond_the_threshold_is_meaningful_in_the_direction_that_is_better(
        self, difference, lower_is_better, verdict
    ):
        assert (
            classify_change(Decimal(difference), threshold=Decimal("2.5"), lower_is_better=lower_is_better) is verdict
        )

    def test_a_measure_change_knows_whether_it_is_meaningful(self):
        steady = MeasureChange("goal_1", Decimal(4), Decimal(5), Decimal(1), False, ChangeVerdict.NO_MEANINGFUL_CHANGE)
        better = dataclasses.replace(steady, verdict=ChangeVerdict.MEANINGFUL_IMPROVEMENT)
        worse = dataclasses.replace(steady, verdict=ChangeVerdict.MEANINGFUL_DETERIORATION)

        assert [steady.is_meaningful, better.is_meaningful, worse.is_meaningful] == [False, True, True]

    def test_scores_from_another_instrument_cannot_be_compared(self):
        with pytest.raises(ValueError, match="'gbo', not 'ons4'"):
            change(ONS4, score(ONS4, ons4_answers()), score(GBO, {"goal_1": 5}))


def definition(**overrides: object) -> Instrument:
    """A small valid sum_then_table instrument (two items, 1 to 3) with one field changed."""
    fields: dict[str, object] = {
        "key": "tiny",
        "name": "Tiny scale",
        "version": "1",
        "items": (Item("a", "First", 1, 3), Item("b", "Second", 1, 3)),
        "scoring": ScoringRule.SUM_THEN_TABLE,
        "meaningful_change": MeaningfulChange(Decimal(1), ChangeUnit.METRIC_POINTS),
        "min_age": None,
        "max_age": None,
        "licence": "Test only",
        "credit": "Test only",
        "all_items_required": True,
        "score_table": {2: Decimal(10), 3: Decimal(20), 4: Decimal(30), 5: Decimal(40), 6: Decimal(50)},
    }
    fields.update(overrides)
    return Instrument(**fields)  # type: ignore[arg-type]


class TestInstrumentDefinition:
    def test_a_valid_definition_scores_with_its_own_table(self):
        assert score(definition(), {"a": 2, "b": 3}).derived == {"metric": Decimal(40)}

    @pytest.mark.parametrize(
        ("overrides", "problem"),
        [
            ({"items": ()}, "at least one item"),
            ({"items": (Item("a", None, 1, 3), Item("a", None, 1, 3))}, "item 'a' is listed twice"),
            ({"items": (Item("total", None, 1, 3),)}, "reserved for derived scores"),
            ({"items": (Item("a", " ", 1, 3), Item("b", None, 1, 3))}, "item 'a' has empty wording"),
            ({"items": (Item("a", None, 3, 3), Item("b", None, 1, 3))}, "lowest response must be below"),
            ({"items": (Item("a", None, 1, 3, lower_is_better=True), Item("b", None, 1, 3))}, "better when higher"),
            ({"score_table": None}, "needs a score table"),
            ({"score_table": {2: Decimal(1), 3: Decimal(2), 4: Decimal(3), 5: Decimal(4)}}, "every raw total from 2"),
            (
                {"score_table": {2: Decimal(1), 3: Decimal(3), 4: Decimal(2), 5: Decimal(4), 6: Decimal(5)}},
                "never go down",
            ),
            ({"meaningful_change": MeaningfulChange(Decimal(0), ChangeUnit.METRIC_POINTS)}, "above zero"),
            ({"meaningful_change": MeaningfulChange(Decimal(1), ChangeUnit.ITEM_POINTS)}, "measures change in"),
            ({"min_age": 14, "max_age": 13}, "minimum age is above the maximum"),
            ({"key": ""}, "must not be empty"),
        ],
    )
    def test_an_inconsistent_definition_is_refused(self, overrides, problem):
        with pytest.raises(ValueError, match=problem):
            definition(**overrides)

    def test_goals_must_share_one_scale_and_have_no_table(self):
        goals = (Item("g1", "Rate it", 0, 10), Item("g2", "Rate it", 0, 5))
        per_goal = {"scoring": ScoringRule.PER_GOAL, "score_table": None}
        unit = MeaningfulChange(Decimal("2.5"), ChangeUnit.RATING_POINTS)

        with pytest.raises(ValueError, match="same scale"):
            definition(**per_goal, items=goals, meaningful_change=unit)
        with pytest.raises(ValueError, match="only sum_then_table"):
            definition(scoring=ScoringRule.PER_GOAL, items=goals[:1], meaningful_change=unit)

    def test_with_wording_fills_in_prompts_and_refuses_unknown_items(self):
        unworded = definition(items=(Item("a", None, 1, 3), Item("b", None, 1, 3)))

        worded = unworded.with_wording({"a": "Placeholder item 1", "b": "Placeholder item 2"})

        assert not unworded.has_wording
        assert worded.has_wording
        assert [item.prompt for item in worded.items] == ["Placeholder item 1", "Placeholder item 2"]
        with pytest.raises(ValueError, match="no item 'c'"):
            unworded.with_wording({"c": "Placeholder"})

    def test_an_age_range_can_be_open_at_either_end(self):
        assert definition().suits_age(3)
        assert definition(min_age=10, max_age=18).suits_age(18)
        assert not definition(min_age=10, max_age=18).suits_age(19)
