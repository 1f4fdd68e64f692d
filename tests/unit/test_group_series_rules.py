from datetime import datetime, timedelta

import pytest

from api.groups.rules import (
    PlannedTimes,
    completion_problem,
    default_complete_after,
    has_completed,
    has_started,
    planned_times_problems,
)
from tests.times import utc


@pytest.mark.parametrize(("sessions", "k"), [(1, 1), (2, 2), (4, 3), (8, 6), (10, 8), (12, 9)])
def test_a_series_is_completed_at_three_quarters_of_its_sessions_rounded_up_by_default(sessions, k):
    assert default_complete_after(sessions) == k


def test_a_child_completes_at_k_attended_and_not_one_before():
    assert not has_completed(attended=5, complete_after_sessions=6)
    assert has_completed(attended=6, complete_after_sessions=6)
    assert has_completed(attended=8, complete_after_sessions=6)


def test_a_child_starts_at_the_first_session_attended():
    assert not has_started(attended=0)
    assert has_started(attended=1)


@pytest.mark.parametrize(("k", "n", "refused"), [(0, 8, True), (9, 8, True), (8, 8, False), (1, 8, False)])
def test_k_must_be_between_one_and_the_number_of_sessions(k, n, refused):
    assert (completion_problem(complete_after_sessions=k, session_count=n) is not None) is refused


def _times(*starts_and_minutes: tuple[datetime, int]) -> list[PlannedTimes]:
    return [PlannedTimes(start, start + timedelta(minutes=minutes)) for start, minutes in starts_and_minutes]


TUESDAY = utc(2026, 11, 24, 17, 30)


def test_a_series_of_weekly_sessions_has_no_problem():
    assert planned_times_problems(_times(*((TUESDAY + timedelta(weeks=week), 90) for week in range(8)))) == {}


def test_two_sessions_at_one_start_and_a_session_ending_as_it_starts_are_named():
    problems = planned_times_problems(_times((TUESDAY, 60), (TUESDAY + timedelta(weeks=1), 0), (TUESDAY, 30)))

    assert set(problems) == {"sessions.1.planned_end_at", "sessions.2.planned_start_at"}
