"""Recurring session patterns as pure rules: wall-clock slots in Europe/London, turned into UTC instants.

BST starts at 01:00 UTC on the last Sunday of March (2027-03-28) and ends at 01:00 UTC on the last Sunday
of October (2026-10-25, 2027-10-31). A slot is local wall-clock time, so its UTC instant moves by an hour.
"""

from __future__ import annotations

from datetime import date, datetime, time, timedelta

import pytest

from api.schedules.rules import Slot, exceeds_weekly_cap, is_untouched, occurrences, slots_from_json, slots_to_json
from tests.times import utc

LONDON = "Europe/London"
MONDAY, TUESDAY, WEDNESDAY, THURSDAY, FRIDAY, SATURDAY, SUNDAY = range(1, 8)
TUESDAY_1800 = Slot(TUESDAY, time(18, 0))


def starts(slots: list[Slot], starts_on: date, ends_on: date, *, duration_minutes: int = 60) -> list[datetime]:
    return [
        start
        for start, _ in occurrences(
            slots, starts_on=starts_on, ends_on=ends_on, time_zone=LONDON, duration_minutes=duration_minutes
        )
    ]


# --- wall-clock time across the changes ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("starts_on", "ends_on", "expected"),
    [
        pytest.param(
            date(2027, 3, 15),
            date(2027, 4, 7),
            [utc(2027, 3, 16, 18), utc(2027, 3, 23, 18), utc(2027, 3, 30, 17), utc(2027, 4, 6, 17)],
            id="1800-utc-in-winter-1700-after-the-clocks-go-forward",
        ),
        pytest.param(
            date(2026, 10, 12),
            date(2026, 11, 4),
            [utc(2026, 10, 13, 17), utc(2026, 10, 20, 17), utc(2026, 10, 27, 18), utc(2026, 11, 3, 18)],
            id="1700-utc-in-summer-1800-after-the-clocks-go-back",
        ),
    ],
)
def test_tuesday_1800_stays_1800_in_london_across_the_change(starts_on, ends_on, expected):
    assert starts([TUESDAY_1800], starts_on, ends_on) == expected


@pytest.mark.parametrize(
    ("week_before", "changeover_sunday", "expected"),
    [
        # 10:00 on Sunday 28 March 2027 is after the 01:00 UTC change: 10:00 BST is 09:00 UTC.
        pytest.param(
            date(2027, 3, 21),
            date(2027, 3, 28),
            [utc(2027, 3, 21, 10), utc(2027, 3, 28, 9)],
            id="spring-already-in-summer-time",
        ),
        pytest.param(
            date(2026, 10, 18),
            date(2026, 10, 25),
            [utc(2026, 10, 18, 9), utc(2026, 10, 25, 10)],
            id="autumn-already-back-in-gmt",
        ),
    ],
)
def test_a_slot_on_the_changeover_sunday_itself_is_already_in_the_new_time(week_before, changeover_sunday, expected):
    assert starts([Slot(SUNDAY, time(10, 0))], week_before, changeover_sunday) == expected


def test_a_slot_in_the_spring_forward_gap_is_planned_once_an_hour_later_in_wall_clock_time():
    # 01:30 on 28 March 2027 never happens in London (01:00 GMT jumps to 02:00 BST). The slot resolves to
    # 02:30 BST, which is 01:30 UTC; the Sundays either side keep plain 01:30 local.
    found = starts([Slot(SUNDAY, time(1, 30))], date(2027, 3, 21), date(2027, 4, 4))
    assert found == [utc(2027, 3, 21, 1, 30), utc(2027, 3, 28, 1, 30), utc(2027, 4, 4, 0, 30)]


def test_a_slot_in_the_hour_that_happens_twice_in_autumn_is_planned_once_at_its_first_occurrence():
    # 01:30 on 25 October 2026 happens at 00:30 UTC (BST) and again at 01:30 UTC (GMT): one session, the first.
    assert starts([Slot(SUNDAY, time(1, 30))], date(2026, 10, 25), date(2026, 10, 25)) == [utc(2026, 10, 25, 0, 30)]


def test_the_end_is_the_duration_in_elapsed_time_even_across_the_change():
    # Starting 00:30 GMT on the spring changeover night, two hours later is 03:30 BST (02:30 UTC).
    [(start, end)] = occurrences(
        [Slot(SUNDAY, time(0, 30))],
        starts_on=date(2027, 3, 28),
        ends_on=date(2027, 3, 28),
        time_zone=LONDON,
        duration_minutes=120,
    )
    assert (start, end) == (utc(2027, 3, 28, 0, 30), utc(2027, 3, 28, 2, 30))


def test_occurrences_are_given_in_utc():
    [(start, end)] = occurrences(
        [TUESDAY_1800], starts_on=date(2027, 6, 1), ends_on=date(2027, 6, 1), time_zone=LONDON, duration_minutes=90
    )
    assert start.utcoffset() == timedelta(0) and end.utcoffset() == timedelta(0)
    assert (start, end) == (utc(2027, 6, 1, 17), utc(2027, 6, 1, 18, 30))


def test_wall_clock_time_follows_the_time_zone_it_is_given():
    [(start, _)] = occurrences(
        [TUESDAY_1800], starts_on=date(2027, 6, 1), ends_on=date(2027, 6, 1), time_zone="UTC", duration_minutes=60
    )
    assert start == utc(2027, 6, 1, 18)


# --- date bounds and order ----------------------------------------------------------------------------------


def test_both_bounding_dates_are_included():
    # Tuesday 1 June to Tuesday 15 June 2027.
    assert starts([TUESDAY_1800], date(2027, 6, 1), date(2027, 6, 15)) == [
        utc(2027, 6, 1, 17),
        utc(2027, 6, 8, 17),
        utc(2027, 6, 15, 17),
    ]


def test_one_day_gives_the_slots_on_that_weekday_only():
    slots = [TUESDAY_1800, Slot(WEDNESDAY, time(18, 0))]
    assert starts(slots, date(2027, 6, 1), date(2027, 6, 1)) == [utc(2027, 6, 1, 17)]


def test_days_just_outside_the_bounds_are_left_out():
    # Monday 31 May to Monday 7 June 2027 holds one Tuesday.
    assert starts([TUESDAY_1800], date(2027, 5, 31), date(2027, 6, 7)) == [utc(2027, 6, 1, 17)]


def test_no_occurrences_when_the_end_is_before_the_start():
    assert starts([TUESDAY_1800], date(2027, 6, 8), date(2027, 6, 1)) == []


def test_no_occurrences_when_no_slot_falls_in_the_range():
    # Wednesday 2 to Monday 7 June 2027: no Tuesday.
    assert starts([TUESDAY_1800], date(2027, 6, 2), date(2027, 6, 7)) == []


def test_several_slots_come_back_in_time_order_whatever_order_they_were_given_in():
    slots = [Slot(SATURDAY, time(11, 0)), TUESDAY_1800, Slot(TUESDAY, time(9, 30)), Slot(MONDAY, time(16, 0))]
    # Winter (GMT): local time is UTC. Monday 7 to Sunday 13 December 2026, then Monday 14.
    assert starts(slots, date(2026, 12, 7), date(2026, 12, 14)) == [
        utc(2026, 12, 7, 16),
        utc(2026, 12, 8, 9, 30),
        utc(2026, 12, 8, 18),
        utc(2026, 12, 12, 11),
        utc(2026, 12, 14, 16),
    ]


def test_every_slot_is_planned_every_week_of_a_long_range():
    slots = [TUESDAY_1800, Slot(SATURDAY, time(11, 0))]
    found = starts(slots, date(2026, 11, 23), date(2027, 11, 21))  # 52 whole weeks
    assert len(found) == 104
    assert found == sorted(found)


def test_each_occurrence_lasts_the_patterns_duration():
    found = occurrences(
        [TUESDAY_1800, Slot(THURSDAY, time(16, 15))],
        starts_on=date(2026, 12, 1),
        ends_on=date(2026, 12, 31),
        time_zone=LONDON,
        duration_minutes=45,
    )
    assert len(found) == 10  # five Tuesdays and five Thursdays in December 2026
    assert all(end - start == timedelta(minutes=45) for start, end in found)


# --- storing slots ------------------------------------------------------------------------------------------


def test_slots_are_stored_as_iso_weekday_and_zero_padded_24_hour_time_in_order():
    slots = [Slot(SATURDAY, time(11, 0)), Slot(TUESDAY, time(18, 5)), Slot(TUESDAY, time(9, 0))]
    assert slots_to_json(slots) == [
        {"weekday": 2, "start": "09:00"},
        {"weekday": 2, "start": "18:05"},
        {"weekday": 6, "start": "11:00"},
    ]


def test_slots_survive_a_round_trip_through_json():
    slots = [Slot(FRIDAY, time(7, 45)), Slot(MONDAY, time(23, 59)), Slot(SUNDAY, time(0, 0))]
    assert slots_from_json(slots_to_json(slots)) == sorted(slots)


def test_slots_are_read_back_from_stored_json():
    assert slots_from_json([{"weekday": 2, "start": "18:00"}, {"weekday": "6", "start": "09:30"}]) == [
        Slot(TUESDAY, time(18, 0)),
        Slot(SATURDAY, time(9, 30)),
    ]


def test_no_slots_store_as_an_empty_list():
    assert slots_to_json([]) == []
    assert slots_from_json([]) == []


# --- the weekly cap ------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("slot_count", "max_sessions_per_week", "exceeds"),
    [(1, 3, False), (3, 3, False), (4, 3, True), (2, 1, True), (1, 1, False)],
)
def test_a_pattern_exceeds_the_cap_only_with_more_slots_than_the_weekly_maximum(
    slot_count, max_sessions_per_week, exceeds
):
    slots = [Slot(weekday, time(18, 0)) for weekday in range(1, slot_count + 1)]
    assert exceeds_weekly_cap(slots, max_sessions_per_week=max_sessions_per_week) is exceeds


def test_two_slots_on_one_day_both_count_towards_the_cap():
    slots = [Slot(TUESDAY, time(9, 0)), Slot(TUESDAY, time(18, 0))]
    assert exceeds_weekly_cap(slots, max_sessions_per_week=1) is True
    assert exceeds_weekly_cap(slots, max_sessions_per_week=2) is False


# --- which sessions a change may replace --------------------------------------------------------------------

NOW = utc(2026, 11, 23, 14)


def test_a_future_planned_session_never_edited_is_untouched():
    assert is_untouched(status_is_planned=True, version=1, starts_at=NOW + timedelta(minutes=1), now=NOW) is True


def test_a_session_that_is_no_longer_planned_is_touched():
    assert is_untouched(status_is_planned=False, version=1, starts_at=NOW + timedelta(days=1), now=NOW) is False


@pytest.mark.parametrize("version", [2, 3, 10])
def test_an_edited_session_is_touched(version):
    assert is_untouched(status_is_planned=True, version=version, starts_at=NOW + timedelta(days=1), now=NOW) is False


@pytest.mark.parametrize("starts_at", [NOW, NOW - timedelta(minutes=1), NOW - timedelta(days=7)])
def test_a_session_that_has_started_or_is_past_is_touched(starts_at):
    assert is_untouched(status_is_planned=True, version=1, starts_at=starts_at, now=NOW) is False
