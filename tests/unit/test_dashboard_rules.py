"""The arithmetic behind the dashboards: periods, place-days, percentiles and suppression of derived figures."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest

from api.dashboards.rules import (
    Disclosure,
    Period,
    default_period,
    median,
    nearest_rank_percentile,
    place_days_held,
)

PERIOD = Period(date(2026, 1, 1), date(2026, 1, 31))


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
