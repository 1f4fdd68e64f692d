"""The arithmetic behind the dashboards: periods, place-days, percentiles and suppression of derived figures."""

from __future__ import annotations

from datetime import date, timedelta, timezone
from decimal import Decimal

import pytest

from api.dashboards.rules import (
    AcknowledgementTimes,
    Disclosure,
    Period,
    acknowledgement_times,
    default_period,
    median,
    nearest_rank_percentile,
    place_days_held,
    series_milestones,
)
from tests.times import utc

PERIOD = Period(date(2026, 1, 1), date(2026, 1, 31))
NOW = utc(2026, 11, 23, 14)


def test_the_default_period_is_the_twelve_months_to_today():
    assert default_period(today=date(2026, 11, 23), since=None, until=None) == Period(
        date(2025, 11, 24), date(2026, 11, 23)
    )
    assert default_period(today=date(2028, 2, 29), since=None, until=None).since == date(2027, 3, 1)


@pytest.mark.parametrize(
    ("started", "ended", "days"),
    [
        (date(2025, 12, 1), None, 31),  # held all period
        (date(2026, 1, 10), date(2026, 1, 20), 10),  # the end day is not held
        (date(2026, 1, 31), None, 1),
        (date(2025, 12, 1), date(2026, 1, 1), 0),  # ended as the period began
        (date(2026, 2, 1), None, 0),
    ],
)
def test_place_days_held_in_a_period(started, ended, days):
    assert place_days_held([(started, ended)], PERIOD) == (days, 1 if days else 0)


def test_place_days_add_up_over_spells_and_count_only_the_spells_that_held_a_place():
    spells = [(date(2025, 12, 1), None), (date(2026, 1, 10), date(2026, 1, 20)), (date(2026, 2, 1), None)]
    assert place_days_held(spells, PERIOD) == (41, 2)
    assert place_days_held([], PERIOD) == (0, 0)


def test_median_and_nearest_rank_90th_percentile():
    assert median([3, 1, 2, 10]) == Decimal("2.5")
    assert nearest_rank_percentile(list(range(1, 11)), 90) == 9
    assert nearest_rank_percentile([7], 90) == 7
    assert (median([]), nearest_rank_percentile([], 90)) == (None, None)


@pytest.mark.parametrize(("count", "shown"), [(0, 0), (1, "<5"), (4, "<5"), (5, 5)])
def test_a_commissioner_sees_counts_under_the_threshold_masked_and_figures_from_them_withheld(count, shown):
    commissioner = Disclosure(commissioner=True, threshold=5)
    assert commissioner.count(count) == shown
    assert commissioner.derived("figure", count) == (None if shown == "<5" else "figure")
    staff = Disclosure(commissioner=False, threshold=5)
    assert (staff.count(count), staff.derived("figure", count)) == (count, "figure")


def acknowledged_after(*waits: timedelta) -> list[tuple]:
    raised_at = utc(2026, 11, 2, 9)
    return [(raised_at, raised_at + wait) for wait in waits]


def test_no_alerts_give_no_times():
    assert acknowledgement_times([], now=NOW) == AcknowledgementTimes(0, 0, None, None, 0, None)


@pytest.mark.parametrize(
    ("waits_in_minutes", "median_minutes", "p90_minutes"),
    [
        ([30, 5, 10], Decimal("10.0"), Decimal("30.0")),
        ([1, 2, 3, 4], Decimal("2.5"), Decimal("4.0")),  # the mean of the middle two
        (list(range(1, 11)), Decimal("5.5"), Decimal("9.0")),  # nearest rank: the 9th of 10, not interpolated
        (list(range(1, 12)), Decimal("6.0"), Decimal("10.0")),  # the 10th of 11 (0.9 x 11 = 9.9, rounded up)
        ([7], Decimal("7.0"), Decimal("7.0")),
    ],
)
def test_time_to_acknowledge_is_the_median_and_nearest_rank_90th_percentile_in_minutes(
    waits_in_minutes, median_minutes, p90_minutes
):
    times = acknowledgement_times(acknowledged_after(*(timedelta(minutes=m) for m in waits_in_minutes)), now=NOW)

    assert (times.raised, times.acknowledged, times.unacknowledged) == (len(waits_in_minutes),) * 2 + (0,)
    assert (times.median_minutes, times.p90_minutes) == (median_minutes, p90_minutes)
    assert times.oldest_unacknowledged_minutes is None


def test_minutes_are_counted_from_the_seconds_to_a_tenth():
    times = acknowledgement_times(acknowledged_after(timedelta(seconds=90), timedelta(seconds=61)), now=NOW)

    # (90 + 61) / 2 = 75.5 seconds: 1.258 minutes; the 90th percentile is the 90 seconds, 1.5 minutes.
    assert (times.median_minutes, times.p90_minutes) == (Decimal("1.3"), Decimal("1.5"))


def test_the_offset_a_moment_was_written_in_does_not_change_the_wait():
    raised_at = utc(2026, 6, 2, 9)
    acknowledged_at = (raised_at + timedelta(minutes=12)).astimezone(timezone(timedelta(hours=1)))

    assert acknowledgement_times([(raised_at, acknowledged_at)], now=NOW).median_minutes == Decimal("12.0")


def test_alerts_still_waiting_are_counted_apart_with_the_age_of_the_oldest():
    alerts = [
        *acknowledged_after(timedelta(minutes=4), timedelta(minutes=8)),
        (NOW - timedelta(minutes=30), None),
        (NOW - timedelta(hours=2, minutes=5, seconds=30), None),
    ]

    times = acknowledgement_times(alerts, now=NOW)

    assert times == AcknowledgementTimes(
        raised=4,
        acknowledged=2,
        median_minutes=Decimal("6.0"),
        p90_minutes=Decimal("8.0"),
        unacknowledged=2,
        oldest_unacknowledged_minutes=Decimal("125.5"),
    )


def test_an_acknowledgement_recorded_before_its_alert_counts_as_no_wait_at_all():
    raised_at = utc(2026, 11, 2, 9)

    times = acknowledgement_times([(raised_at, raised_at - timedelta(seconds=5))], now=NOW)

    assert (times.median_minutes, times.p90_minutes) == (Decimal("0.0"), Decimal("0.0"))


@pytest.mark.parametrize(
    ("before", "within", "milestones"),
    [
        (0, 0, (False, False)),
        (0, 1, (True, False)),
        (0, 3, (True, True)),  # started and completed in one period
        (1, 1, (False, False)),
        (2, 1, (False, True)),  # the K-th (3rd) attended session fell in the period
        (3, 2, (False, False)),  # completed before the period: not again
    ],
)
def test_a_child_starts_at_their_first_attended_session_and_completes_at_the_kth(before, within, milestones):
    assert series_milestones(attended_before=before, attended_within=within, complete_after_sessions=3) == milestones


@pytest.mark.parametrize(
    ("total", "parts", "shown"),
    [
        (7, (5, 2), None),  # the 2 would be 7 - 5
        (3, (3,), "<5"),  # the total is the part: suppressed alike
        (4, (3, 1), "<5"),  # small itself: nothing to work back from "<5"
        (10, (5, 5), 10),
        (5, (5, 0), 5),  # zero is shown, and hides no one
    ],
)
def test_a_total_is_withheld_from_a_commissioner_only_when_it_would_give_back_a_suppressed_part(total, parts, shown):
    assert Disclosure(commissioner=True, threshold=5).total(total, *parts) == shown
    assert Disclosure(commissioner=False, threshold=5).total(total, *parts) == total
