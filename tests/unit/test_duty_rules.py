"""The duty rota's rules: shifts are half-open, never overlap, last at most a week on the local calendar, and the
gaps of a window are the stretches no shift covers."""

from __future__ import annotations

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from api.duty import rules
from tests.times import utc

LONDON = "Europe/London"
MON, TUE, WED = utc(2026, 11, 23), utc(2026, 11, 24), utc(2026, 11, 25)


def test_shifts_that_only_touch_do_not_overlap():
    assert not rules.overlaps((MON, TUE), (TUE, WED))
    assert not rules.overlaps((TUE, WED), (MON, TUE))


@pytest.mark.parametrize(
    "other",
    [(MON - timedelta(hours=1), MON + timedelta(seconds=1)), (TUE - timedelta(seconds=1), WED), (MON, TUE)],
    ids=["across its start", "across its end", "the same"],
)
def test_shifts_sharing_any_instant_overlap(other):
    assert rules.overlaps((MON, TUE), other)
    assert rules.first_overlap((MON, TUE), [(TUE, WED), other]) == other


def test_a_shift_inside_another_overlaps_it():
    assert rules.overlaps((MON, WED), (TUE, TUE + timedelta(hours=1)))
    assert rules.overlaps((TUE, TUE + timedelta(hours=1)), (MON, WED))


def test_no_shifts_leave_the_whole_window_uncovered():
    assert rules.uncovered([], start=MON, end=WED) == [(MON, WED)]


def test_the_gaps_between_before_and_after_shifts():
    shifts = [(MON + timedelta(hours=2), MON + timedelta(hours=4)), (MON + timedelta(hours=6), TUE)]
    assert rules.uncovered(shifts, start=MON, end=WED) == [
        (MON, MON + timedelta(hours=2)),
        (MON + timedelta(hours=4), MON + timedelta(hours=6)),
        (TUE, WED),
    ]


def test_shifts_end_to_end_leave_no_gap():
    assert rules.uncovered([(MON, TUE), (TUE, WED)], start=MON, end=WED) == []


def test_shifts_reaching_outside_the_window_count_only_inside_it():
    shifts = [(MON - timedelta(days=1), MON + timedelta(hours=1)), (TUE, WED + timedelta(days=1))]
    assert rules.uncovered(shifts, start=MON, end=WED) == [(MON + timedelta(hours=1), TUE)]


def test_a_shift_wholly_before_the_window_covers_nothing_of_it():
    assert rules.uncovered([(MON - timedelta(days=1), MON)], start=MON, end=TUE) == [(MON, TUE)]


def test_overlapping_shifts_still_give_each_gap_once():
    shifts = [(MON, MON + timedelta(hours=5)), (MON + timedelta(hours=1), MON + timedelta(hours=3))]
    assert rules.uncovered(shifts, start=MON, end=TUE) == [(MON + timedelta(hours=5), TUE)]


def test_cover_runs_unbroken_through_shifts_end_to_end():
    shifts = [(MON - timedelta(hours=1), MON + timedelta(hours=3)), (MON + timedelta(hours=3), TUE), (WED, WED)]
    assert rules.covered_until(shifts, start=MON) == TUE


def test_no_cover_at_the_start_means_none():
    assert rules.covered_until([(MON + timedelta(minutes=1), TUE)], start=MON) is None
    assert rules.covered_until([(MON - timedelta(hours=1), MON)], start=MON) is None


@pytest.mark.parametrize(
    ("starts_at", "ends_at", "field"),
    [
        (TUE, MON, "ends_at"),
        (MON, MON, "ends_at"),
        (MON, MON + timedelta(days=7, seconds=1), "ends_at"),
        (datetime(2026, 11, 23), TUE, "starts_at"),
        (MON, datetime(2026, 11, 24), "ends_at"),
    ],
    ids=["backwards", "no length", "over a week", "naive start", "naive end"],
)
def test_shift_times_that_are_refused(starts_at, ends_at, field):
    problem = rules.shift_times_problem(starts_at, ends_at, time_zone=LONDON)
    assert problem is not None
    assert problem[0] == field


def test_a_week_is_counted_on_the_local_calendar_across_a_clock_change():
    zone = ZoneInfo(LONDON)
    # The clocks go back on Sunday 31 October 2027: Saturday to Saturday 18:00 is 7 days and an hour.
    saturday = datetime(2027, 10, 30, 18, tzinfo=zone)
    next_saturday = datetime(2027, 11, 6, 18, tzinfo=zone)
    assert rules.utc(next_saturday) - rules.utc(saturday) == timedelta(days=7, hours=1)
    assert rules.shift_times_problem(saturday, next_saturday, time_zone=LONDON) is None
    assert rules.shift_times_problem(saturday, next_saturday + timedelta(minutes=1), time_zone=LONDON) is not None


def test_an_evening_to_morning_shift_lasts_the_time_that_passes():
    zone = ZoneInfo(LONDON)
    autumn = (datetime(2027, 10, 30, 18, tzinfo=zone), datetime(2027, 10, 31, 8, tzinfo=zone))
    spring = (datetime(2027, 3, 27, 18, tzinfo=zone), datetime(2027, 3, 28, 8, tzinfo=zone))
    assert rules.wall_clock_length(*autumn, time_zone=LONDON) == timedelta(hours=14)
    # The gap a shift would fill is measured in instants, though Python would subtract these by their wall clocks.
    [(gap_start, gap_end)] = rules.uncovered([], start=autumn[0], end=autumn[1])
    assert gap_end - gap_start == timedelta(hours=15)
    [(gap_start, gap_end)] = rules.uncovered([], start=spring[0], end=spring[1])
    assert gap_end - gap_start == timedelta(hours=13)


def test_the_hour_the_clocks_go_back_is_told_apart_by_its_offset():
    zone = ZoneInfo(LONDON)
    first_one_thirty = datetime(2027, 10, 31, 1, 30, tzinfo=zone)  # BST
    second_one_thirty = datetime(2027, 10, 31, 1, 30, fold=1, tzinfo=zone)  # GMT, an hour later
    assert rules.overlaps((first_one_thirty - timedelta(hours=1), first_one_thirty), (second_one_thirty, WED)) is False
    assert rules.shift_times_problem(first_one_thirty, second_one_thirty, time_zone=LONDON) is None
