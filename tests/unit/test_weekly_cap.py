"""The weekly cap's pure rule: a session may be added while the child's sessions in that local week, with it,
stay within the cohort's maximum (or the week's raised one). Plain values in, plain values out."""

from __future__ import annotations

from api.sessions.rules import CapCheck, check_weekly_cap


class TestCheckWeeklyCap:
    def test_a_session_that_fills_the_last_slot_is_allowed(self):
        assert check_weekly_cap(week="2026-W48", sessions_in_week=2, adding=1, max_sessions=3) == CapCheck(
            allowed=True, week="2026-W48", sessions_in_week=2, max_sessions=3
        )

    def test_a_fourth_session_when_the_cap_is_three_is_refused(self):
        assert check_weekly_cap(week="2026-W48", sessions_in_week=3, adding=1, max_sessions=3) == CapCheck(
            allowed=False, week="2026-W48", sessions_in_week=3, max_sessions=3
        )

    def test_the_first_session_of_an_empty_week_is_allowed(self):
        assert check_weekly_cap(week="2026-W48", sessions_in_week=0, adding=1, max_sessions=1).allowed is True

    def test_adding_two_when_only_one_slot_is_left_is_refused(self):
        assert check_weekly_cap(week="2026-W48", sessions_in_week=2, adding=2, max_sessions=3).allowed is False

    def test_a_week_already_over_its_cap_refuses_more(self):
        assert check_weekly_cap(week="2026-W48", sessions_in_week=5, adding=1, max_sessions=3).allowed is False

    def test_a_raised_cap_allows_a_fourth_session(self):
        assert check_weekly_cap(week="2026-W48", sessions_in_week=3, adding=1, max_sessions=4).allowed is True

    def test_the_check_reports_the_week_count_and_maximum_it_was_made_against(self):
        check = check_weekly_cap(week="2027-W12", sessions_in_week=1, adding=1, max_sessions=2)
        assert (check.week, check.sessions_in_week, check.max_sessions) == ("2027-W12", 1, 2)

    def test_an_override_replaces_the_cohorts_cap_for_the_week(self):
        check = check_weekly_cap(week="2026-W48", sessions_in_week=3, adding=1, max_sessions=3, override=5)
        assert check == CapCheck(allowed=True, week="2026-W48", sessions_in_week=3, max_sessions=5)

    def test_an_override_may_also_lower_the_cap_for_the_week(self):
        check = check_weekly_cap(week="2026-W48", sessions_in_week=1, adding=1, max_sessions=3, override=1)
        assert check == CapCheck(allowed=False, week="2026-W48", sessions_in_week=1, max_sessions=1)

    def test_without_an_override_the_cohorts_cap_holds(self):
        check = check_weekly_cap(week="2026-W48", sessions_in_week=3, adding=1, max_sessions=3, override=None)
        assert (check.allowed, check.max_sessions) == (False, 3)
