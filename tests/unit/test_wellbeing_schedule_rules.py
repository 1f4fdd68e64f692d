"""The pure rules behind check-in links, goals and alerts (issue 4): when a scheduled link is due, what state a
link is in, which place a new goal takes, and which changes from the baseline count as a fall.

The schedule is a programme's routine: a link at enrolment, every few weeks counted from the start date, and
one in the last week before the planned end. A child gets each occasion at most once, and one link rather than
a backlog when the scheduler missed some days.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from api.wellbeing.goal_rules import free_goal_slot
from api.wellbeing.instruments import SHIPPED_INSTRUMENTS, load_instruments
from api.wellbeing.links import InvitationState, invitation_state
from api.wellbeing.schedule import CheckInSchedule, DueInvitation, InvitationReason, due_invitation
from api.wellbeing.scoring import ChangeVerdict, MeasureChange, change, deteriorations, score

SHIPPED = load_instruments(SHIPPED_INSTRUMENTS, licensed_wording_file=None)
ONS4 = SHIPPED["ons4"]
GBO = SHIPPED["gbo"]
SWEMWBS = SHIPPED["swemwbs"]

# Pure rules are fast, but a shared CI machine is not: no Hypothesis deadline.
quick = settings(deadline=None, max_examples=200)

START = date(2026, 11, 23)  # a Monday
EVERY_FOUR_WEEKS = CheckInSchedule(at_enrolment=True, every_weeks=4, at_end=True)
OFF = CheckInSchedule(at_enrolment=False, every_weeks=None, at_end=False)


def due_on(
    day: int,
    *,
    schedule: CheckInSchedule = EVERY_FOUR_WEEKS,
    weeks: int | None = 52,
    done: set[str] | None = None,
) -> DueInvitation | None:
    """What is due `day` days after a start on START, for an enrolment planned to last `weeks` weeks."""
    return due_invitation(
        schedule,
        started_on=START,
        planned_end_on=START + timedelta(weeks=weeks) if weeks is not None else None,
        today=START + timedelta(days=day),
        occasions_done=done or set(),
    )


ORDER = {"at_enrolment": -1, "at_end": 10_000}


def occasion_rank(occasion: str) -> int:
    return ORDER.get(occasion) or int(occasion.removeprefix("periodic:"))


def run_scheduler(schedule: CheckInSchedule, *, weeks: int | None, days: list[int]) -> list[tuple[int, DueInvitation]]:
    """Run the rule on each of `days` (in order) as the scheduler does, recording each link it sends."""
    sent: list[tuple[int, DueInvitation]] = []
    for day in days:
        done = {due.occasion for _, due in sent}
        due = due_on(day, schedule=schedule, weeks=weeks, done=done)
        if due is not None:
            sent.append((day, due))
    return sent


schedules = st.builds(
    CheckInSchedule,
    at_enrolment=st.booleans(),
    every_weeks=st.one_of(st.none(), st.integers(1, 12)),
    at_end=st.booleans(),
)


# --- due_invitation: the occasions ---------------------------------------------------------------------------


class TestTheOccasions:
    def test_a_link_is_due_on_the_day_a_child_starts(self):
        assert due_on(0) == DueInvitation(InvitationReason.AT_ENROLMENT, "at_enrolment")

    def test_nothing_is_due_before_the_start(self):
        assert due_on(-1) is None

    def test_the_enrolment_link_is_not_due_again_once_sent(self):
        assert due_on(0, done={"at_enrolment"}) is None
        assert due_on(1, done={"at_enrolment"}) is None

    def test_a_missed_enrolment_link_is_still_sent_later_in_the_first_period(self):
        assert due_on(27) == DueInvitation(InvitationReason.AT_ENROLMENT, "at_enrolment")

    def test_the_first_periodic_link_is_due_four_weeks_after_the_start_and_not_a_day_earlier(self):
        assert due_on(27, done={"at_enrolment"}) is None
        assert due_on(28, done={"at_enrolment"}) == DueInvitation(InvitationReason.PERIODIC, "periodic:1")

    def test_periodic_occasions_are_numbered_by_the_periods_since_the_start(self):
        # "periodic:3" is week 12 of a four-weekly routine.
        assert due_on(84, done={"at_enrolment", "periodic:1", "periodic:2"}) == DueInvitation(
            InvitationReason.PERIODIC, "periodic:3"
        )

    def test_a_periodic_link_already_sent_is_not_due_again_in_its_period(self):
        done = {"at_enrolment", "periodic:1"}

        assert [due_on(day, done=done) for day in range(28, 56)] == [None] * 28

    def test_an_older_occasion_is_not_sent_late_once_a_newer_one_is_due(self):
        # The scheduler was down for weeks 4 to 8: the child gets the week-8 link, not weeks 4 and 8.
        assert due_on(60, done={"at_enrolment"}) == DueInvitation(InvitationReason.PERIODIC, "periodic:2")
        assert due_on(60, done={"at_enrolment", "periodic:2"}) is None

    def test_the_enrolment_link_is_not_sent_once_the_first_periodic_one_is_due(self):
        assert due_on(28) == DueInvitation(InvitationReason.PERIODIC, "periodic:1")
        assert due_on(29, done={"periodic:1"}) is None

    def test_the_end_link_is_due_in_the_last_week_before_the_planned_end(self):
        end = 10 * 7  # a ten-week enrolment ends on day 70
        done = {"at_enrolment", "periodic:1", "periodic:2"}

        assert due_on(end - 7, weeks=10, done=done) is None
        assert due_on(end - 6, weeks=10, done=done) == DueInvitation(InvitationReason.AT_END, "at_end")
        assert due_on(end, weeks=10, done=done) == DueInvitation(InvitationReason.AT_END, "at_end")

    def test_the_end_link_is_sent_once(self):
        done = {"at_enrolment", "periodic:1", "periodic:2", "at_end"}

        assert [due_on(day, weeks=10, done=done) for day in range(64, 71)] == [None] * 7

    def test_the_end_link_takes_the_place_of_a_periodic_link_falling_in_the_last_week(self):
        # An eight-week enrolment: week 8 is both the second period and the last week; one link, the end one.
        done = {"at_enrolment", "periodic:1"}

        assert due_on(56, weeks=8, done=done) == DueInvitation(InvitationReason.AT_END, "at_end")
        assert due_on(56, weeks=8, done=done | {"at_end"}) is None

    def test_nothing_is_due_after_the_planned_end(self):
        assert due_on(71, weeks=10) is None
        assert due_on(71, weeks=10, done={"at_enrolment"}) is None

    def test_without_a_planned_end_the_periodic_links_go_on(self):
        assert due_on(52 * 7 * 3, weeks=None, done={"at_enrolment"}) == DueInvitation(
            InvitationReason.PERIODIC, "periodic:39"
        )

    def test_a_routine_switched_off_never_sends_anything(self):
        assert [due_on(day, schedule=OFF, weeks=10) for day in range(-3, 75)] == [None] * 78

    def test_without_an_enrolment_link_the_first_link_is_the_first_periodic_one(self):
        schedule = CheckInSchedule(at_enrolment=False, every_weeks=4, at_end=False)

        assert [due_on(day, schedule=schedule) for day in range(28)] == [None] * 28
        assert due_on(28, schedule=schedule) == DueInvitation(InvitationReason.PERIODIC, "periodic:1")

    def test_without_periodic_links_the_enrolment_link_waits_until_the_last_week(self):
        schedule = CheckInSchedule(at_enrolment=True, every_weeks=None, at_end=True)

        assert due_on(40, schedule=schedule, weeks=10) == DueInvitation(InvitationReason.AT_ENROLMENT, "at_enrolment")
        assert due_on(64, schedule=schedule, weeks=10) == DueInvitation(InvitationReason.AT_END, "at_end")

    def test_without_an_end_link_the_last_week_has_its_periodic_link(self):
        schedule = CheckInSchedule(at_enrolment=True, every_weeks=4, at_end=False)

        assert due_on(56, schedule=schedule, weeks=8, done={"at_enrolment", "periodic:1"}) == DueInvitation(
            InvitationReason.PERIODIC, "periodic:2"
        )

    def test_every_week_is_a_routine_too(self):
        schedule = CheckInSchedule(at_enrolment=True, every_weeks=1, at_end=False)

        assert due_on(7, schedule=schedule, done={"at_enrolment"}) == DueInvitation(
            InvitationReason.PERIODIC, "periodic:1"
        )
        assert due_on(13, schedule=schedule, done={"at_enrolment", "periodic:1"}) is None


# --- due_invitation: properties ------------------------------------------------------------------------------


class TestTheScheduleOverAWholeEnrolment:
    @quick
    @given(schedule=schedules, weeks=st.one_of(st.none(), st.integers(1, 60)))
    def test_run_daily_it_sends_each_occasion_once_on_its_day(self, schedule, weeks):
        last_day = weeks * 7 if weeks is not None else 60 * 7
        sent = run_scheduler(schedule, weeks=weeks, days=list(range(-3, last_day + 4)))

        expected: list[tuple[int, str]] = []
        end_window = last_day - 6 if weeks is not None and schedule.at_end else None
        if schedule.at_enrolment:
            expected.append((0, "at_enrolment"))
        if schedule.every_weeks:
            period = 7 * schedule.every_weeks
            number = 1
            while number * period <= last_day and (end_window is None or number * period < end_window):
                expected.append((number * period, f"periodic:{number}"))
                number += 1
        if end_window is not None:
            expected.append((end_window, "at_end"))
        assert [(day, due.occasion) for day, due in sent] == expected

    @quick
    @given(
        schedule=schedules,
        weeks=st.one_of(st.none(), st.integers(1, 30)),
        days=st.lists(st.integers(-5, 30 * 7 + 5), unique=True, max_size=60).map(sorted),
    )
    def test_run_on_any_days_it_never_repeats_an_occasion_and_never_goes_back_to_an_older_one(
        self, schedule, weeks, days
    ):
        sent = run_scheduler(schedule, weeks=weeks, days=days)

        occasions = [due.occasion for _, due in sent]
        assert len(occasions) == len(set(occasions))
        assert occasions == sorted(occasions, key=occasion_rank)

    @quick
    @given(
        schedule=schedules,
        weeks=st.one_of(st.none(), st.integers(1, 30)),
        day=st.integers(-10, 40 * 7),
        done=st.sets(st.sampled_from(["at_enrolment", "at_end", *[f"periodic:{n}" for n in range(1, 40)]])),
    )
    def test_what_is_due_has_not_been_sent_and_once_sent_nothing_else_is_due_that_day(self, schedule, weeks, day, done):
        due = due_on(day, schedule=schedule, weeks=weeks, done=done)

        if due is not None:
            assert due.occasion not in done
            assert due_on(day, schedule=schedule, weeks=weeks, done=done | {due.occasion}) is None

    @quick
    @given(schedule=schedules, weeks=st.integers(1, 30), day=st.integers(-30, 40 * 7))
    def test_nothing_is_due_outside_the_enrolment(self, schedule, weeks, day):
        if day < 0 or day > weeks * 7:
            assert due_on(day, schedule=schedule, weeks=weeks) is None

    @quick
    @given(schedule=schedules, weeks=st.integers(1, 30), day=st.integers(0, 30 * 7))
    def test_the_reason_matches_the_occasion(self, schedule, weeks, day):
        due = due_on(day, schedule=schedule, weeks=weeks)

        if due is not None:
            reason = {
                "at_enrolment": InvitationReason.AT_ENROLMENT,
                "at_end": InvitationReason.AT_END,
            }.get(due.occasion, InvitationReason.PERIODIC)
            assert due.reason is reason
            assert due.reason is not InvitationReason.ON_REQUEST


# --- invitation_state ----------------------------------------------------------------------------------------

CREATED = datetime(2026, 11, 23, 14, 0, tzinfo=UTC)
EXPIRES = CREATED + timedelta(hours=72)


def state(*, completed: datetime | None = None, revoked: datetime | None = None, now: datetime) -> InvitationState:
    return invitation_state(expires_at=EXPIRES, completed_at=completed, revoked_at=revoked, now=now)


class TestInvitationState:
    def test_a_new_link_is_open(self):
        assert state(now=CREATED) is InvitationState.OPEN

    def test_a_link_is_open_until_the_moment_it_expires(self):
        assert state(now=EXPIRES - timedelta(microseconds=1)) is InvitationState.OPEN
        assert state(now=EXPIRES) is InvitationState.EXPIRED

    def test_a_used_link_is_completed_even_after_it_would_have_expired(self):
        assert state(completed=CREATED + timedelta(hours=1), now=EXPIRES + timedelta(days=30)) is (
            InvitationState.COMPLETED
        )

    def test_a_withdrawn_link_is_revoked_not_expired(self):
        assert state(revoked=CREATED + timedelta(hours=1), now=EXPIRES + timedelta(days=1)) is InvitationState.REVOKED

    def test_a_link_both_used_and_withdrawn_counts_as_completed(self):
        # The answers were stored; that a withdrawal was also recorded must not hide them.
        assert state(completed=CREATED, revoked=CREATED, now=CREATED) is InvitationState.COMPLETED

    @quick
    @given(
        completed=st.one_of(st.none(), st.timedeltas(timedelta(0), timedelta(days=10))),
        revoked=st.one_of(st.none(), st.timedeltas(timedelta(0), timedelta(days=10))),
        now=st.timedeltas(timedelta(0), timedelta(days=10)),
    )
    def test_only_a_link_neither_used_nor_withdrawn_nor_expired_is_open(self, completed, revoked, now):
        found = state(
            completed=CREATED + completed if completed is not None else None,
            revoked=CREATED + revoked if revoked is not None else None,
            now=CREATED + now,
        )

        is_open = completed is None and revoked is None and CREATED + now < EXPIRES
        assert (found is InvitationState.OPEN) == is_open
        if completed is not None:
            assert found is InvitationState.COMPLETED
        elif revoked is not None:
            assert found is InvitationState.REVOKED


# --- free_goal_slot ------------------------------------------------------------------------------------------


class TestFreeGoalSlot:
    def test_a_first_goal_takes_place_one(self):
        assert free_goal_slot(set()) == 1

    def test_a_new_goal_takes_the_lowest_free_place(self):
        assert free_goal_slot({1, 3}) == 2
        assert free_goal_slot({2, 3}) == 1
        assert free_goal_slot({1, 2}) == 3

    def test_there_is_no_place_for_a_fourth_active_goal(self):
        assert free_goal_slot({1, 2, 3}) is None

    @quick
    @given(taken=st.sets(st.integers(1, 3)))
    def test_the_place_given_is_free_and_every_lower_place_is_taken(self, taken):
        slot = free_goal_slot(taken)

        if taken == {1, 2, 3}:
            assert slot is None
        else:
            assert slot is not None and 1 <= slot <= 3
            assert slot not in taken
            assert set(range(1, slot)) <= taken


# --- deteriorations ------------------------------------------------------------------------------------------


def ons4(life: int = 7, worthwhile: int = 7, happy: int = 7, anxious: int = 3) -> dict[str, int]:
    return {"life_satisfaction": life, "worthwhile": worthwhile, "happy_yesterday": happy, "anxious_yesterday": anxious}


def falls(instrument, baseline: dict[str, int], latest: dict[str, int]) -> list[str]:
    found = deteriorations(change(instrument, score(instrument, baseline), score(instrument, latest)))
    return [fall.measure for fall in found]


def measure_change(measure: str, verdict: ChangeVerdict) -> MeasureChange:
    return MeasureChange(measure, Decimal(5), Decimal(5), Decimal(0), False, verdict)


class TestDeteriorations:
    def test_a_fall_by_the_threshold_or_more_is_a_deterioration(self):
        assert falls(ONS4, ons4(life=7, happy=7), ons4(life=5, happy=2)) == ["life_satisfaction", "happy_yesterday"]

    def test_a_fall_just_below_the_threshold_is_not(self):
        assert falls(ONS4, ons4(life=7), ons4(life=6)) == []

    def test_a_rise_in_anxiety_is_a_deterioration_and_a_fall_in_anxiety_is_not(self):
        assert falls(ONS4, ons4(anxious=3), ons4(anxious=5)) == ["anxious_yesterday"]
        assert falls(ONS4, ons4(anxious=5), ons4(anxious=0)) == []

    def test_an_improvement_is_never_a_deterioration(self):
        assert falls(ONS4, ons4(life=2, worthwhile=2, happy=2, anxious=9), ons4(10, 10, 10, 0)) == []

    def test_a_swemwbs_fall_is_read_on_the_metric_score(self):
        all_threes = {f"item_{n}": 3 for n in range(1, 8)}  # 21: 19.25
        two_lower = {**all_threes, "item_1": 2, "item_2": 2}  # 19: 17.98, a fall of 1.27
        four_lower = {**two_lower, "item_3": 2, "item_4": 2}  # 17: 16.88, a fall of 2.37
        six_lower = {**four_lower, "item_5": 2, "item_6": 2}  # 15: 15.84, a fall of 3.41

        assert falls(SWEMWBS, all_threes, two_lower) == []
        assert falls(SWEMWBS, all_threes, four_lower) == []
        assert falls(SWEMWBS, all_threes, six_lower) == ["metric"]

    def test_goals_and_their_mean_fall_by_2_5_rating_points_or_more(self):
        # goal_1 falls 3, goal_2 only 2; the mean falls from 4.5 to 2, exactly the threshold.
        assert falls(GBO, {"goal_1": 5, "goal_2": 4}, {"goal_1": 2, "goal_2": 2}) == ["goal_1", "mean"]
        # goal_2 falls 3 while the mean falls only 2.
        assert falls(GBO, {"goal_1": 5, "goal_2": 5}, {"goal_1": 4, "goal_2": 2}) == ["goal_2"]

    def test_only_deteriorations_are_kept_in_their_order(self):
        changes = [
            measure_change("a", ChangeVerdict.MEANINGFUL_DETERIORATION),
            measure_change("b", ChangeVerdict.MEANINGFUL_IMPROVEMENT),
            measure_change("c", ChangeVerdict.NO_MEANINGFUL_CHANGE),
            measure_change("d", ChangeVerdict.MEANINGFUL_DETERIORATION),
        ]

        assert [found.measure for found in deteriorations(changes)] == ["a", "d"]

    def test_no_changes_means_no_deteriorations(self):
        assert deteriorations([]) == []

    @quick
    @given(
        baseline=st.fixed_dictionaries({key: st.integers(0, 10) for key in ONS4.item_keys}),
        latest=st.fixed_dictionaries({key: st.integers(0, 10) for key in ONS4.item_keys}),
    )
    def test_an_ons4_item_falls_exactly_when_it_moves_the_worse_way_by_2_or_more(self, baseline, latest):
        expected = []
        for item in ONS4.items:
            worse_by = (
                latest[item.key] - baseline[item.key]
                if item.lower_is_better
                else (baseline[item.key] - latest[item.key])
            )
            if worse_by >= 2:
                expected.append(item.key)

        assert falls(ONS4, baseline, latest) == expected


@pytest.mark.parametrize(
    ("verdict", "kept"),
    [
        (ChangeVerdict.MEANINGFUL_DETERIORATION, True),
        (ChangeVerdict.MEANINGFUL_IMPROVEMENT, False),
        (ChangeVerdict.NO_MEANINGFUL_CHANGE, False),
    ],
)
def test_a_change_is_a_fall_only_when_its_verdict_is_a_meaningful_deterioration(verdict, kept):
    assert (deteriorations([measure_change("x", verdict)]) != []) is kept
