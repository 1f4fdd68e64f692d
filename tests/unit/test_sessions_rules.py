"""The pure rules behind sessions: local weeks, evenings and weekends in Europe/London, the weekly cap,
durations, which status changes are allowed, what a log must fit and who may plan for a place. Plain values
in, plain values out.

Europe/London changes to BST at 01:00 UTC on the last Sunday of March (28 March 2027) and back to GMT at
01:00 UTC on the last Sunday of October (25 October 2026); both changeover weeks are covered.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta, timezone

import pytest

from api.actors import Actor, Role
from api.sessions.errors import InvalidSession
from api.sessions.rules import (
    CANCELLED,
    FINAL,
    STILL_ON,
    LocalTiming,
    SessionLog,
    SessionStatus,
    can_change_to,
    check_log,
    duration_problem,
    is_evening,
    is_weekend,
    local_timing,
    local_week,
    may_plan_for,
    not_started_problem,
)
from tests.times import utc

LONDON = "Europe/London"


class TestLocalWeek:
    def test_the_week_is_named_as_an_iso_year_and_two_digit_week(self):
        assert local_week(utc(2026, 11, 23, 14), LONDON) == "2026-W48"

    def test_a_single_digit_week_is_zero_padded(self):
        assert local_week(utc(2026, 2, 3, 10), LONDON) == "2026-W06"

    def test_monday_midnight_in_winter_starts_a_new_week(self):
        assert local_week(utc(2026, 11, 29, 23, 59), LONDON) == "2026-W48"
        assert local_week(utc(2026, 11, 30, 0, 0), LONDON) == "2026-W49"

    def test_sunday_2330_utc_in_summer_time_is_monday_0030_local_and_in_the_next_week(self):
        # Sunday 7 June 2026, 23:30 UTC is Monday 8 June 00:30 BST.
        assert local_week(utc(2026, 6, 7, 23, 30), LONDON) == "2026-W24"
        assert local_week(utc(2026, 6, 7, 22, 59), LONDON) == "2026-W23"

    def test_sunday_2330_utc_in_winter_is_still_sunday_and_in_the_same_week(self):
        assert local_week(utc(2026, 11, 29, 23, 30), LONDON) == "2026-W48"

    def test_the_week_depends_on_the_time_zone_given(self):
        assert local_week(utc(2026, 6, 7, 23, 30), "UTC") == "2026-W23"

    def test_an_instant_given_in_another_offset_is_read_in_london_time(self):
        # 08:30 on Monday in UTC+10 is 23:30 on Sunday in London (BST), so still the earlier week.
        plus_ten = timezone(timedelta(hours=10))
        assert local_week(datetime(2026, 6, 8, 8, 30, tzinfo=plus_ten), LONDON) == "2026-W23"

    # --- the last Sunday of March 2027 (28 March): GMT -> BST at 01:00 UTC -------------------------------

    def test_tuesday_1800_gmt_before_the_spring_change_is_in_the_changeover_week(self):
        assert local_week(utc(2027, 3, 23, 18), LONDON) == "2027-W12"

    def test_the_spring_changeover_sunday_before_the_change_is_in_the_changeover_week(self):
        assert local_week(utc(2027, 3, 28, 0, 30), LONDON) == "2027-W12"

    def test_the_spring_changeover_sunday_after_the_change_is_still_in_the_changeover_week(self):
        # 22:30 UTC is 23:30 BST: still Sunday.
        assert local_week(utc(2027, 3, 28, 22, 30), LONDON) == "2027-W12"

    def test_2330_utc_on_the_spring_changeover_sunday_is_already_monday_in_london(self):
        # 23:30 UTC is 00:30 BST on Monday 29 March.
        assert local_week(utc(2027, 3, 28, 23, 30), LONDON) == "2027-W13"

    def test_monday_midnight_bst_after_the_spring_change_is_2300_utc_on_sunday(self):
        assert local_week(utc(2027, 3, 28, 22, 59), LONDON) == "2027-W12"
        assert local_week(utc(2027, 3, 28, 23, 0), LONDON) == "2027-W13"

    # --- the last Sunday of October 2026 (25 October): BST -> GMT at 01:00 UTC ----------------------------

    def test_monday_midnight_bst_starting_the_autumn_changeover_week_is_2300_utc_on_sunday(self):
        assert local_week(utc(2026, 10, 18, 22, 59), LONDON) == "2026-W42"
        assert local_week(utc(2026, 10, 18, 23, 0), LONDON) == "2026-W43"

    def test_tuesday_1700_utc_in_bst_is_in_the_autumn_changeover_week(self):
        assert local_week(utc(2026, 10, 20, 17), LONDON) == "2026-W43"

    def test_the_repeated_hour_on_the_autumn_changeover_sunday_is_in_the_changeover_week(self):
        # 00:30 and 01:30 UTC are 01:30 BST and 01:30 GMT: the same local hour twice.
        assert local_week(utc(2026, 10, 25, 0, 30), LONDON) == "2026-W43"
        assert local_week(utc(2026, 10, 25, 1, 30), LONDON) == "2026-W43"

    def test_2330_utc_on_the_autumn_changeover_sunday_is_still_sunday_in_london(self):
        assert local_week(utc(2026, 10, 25, 23, 30), LONDON) == "2026-W43"

    def test_monday_midnight_after_the_autumn_change_is_midnight_utc(self):
        assert local_week(utc(2026, 10, 25, 23, 59), LONDON) == "2026-W43"
        assert local_week(utc(2026, 10, 26, 0, 0), LONDON) == "2026-W44"

    # --- year boundaries -------------------------------------------------------------------------------

    def test_31_december_2026_is_in_week_53_of_2026(self):
        assert local_week(utc(2026, 12, 31, 18), LONDON) == "2026-W53"

    def test_1_january_2027_is_still_in_week_53_of_2026(self):
        assert local_week(utc(2027, 1, 1, 10), LONDON) == "2026-W53"

    def test_sunday_3_january_2027_late_evening_is_still_in_week_53_of_2026(self):
        assert local_week(utc(2027, 1, 3, 23, 30), LONDON) == "2026-W53"

    def test_monday_4_january_2027_starts_week_1_of_2027(self):
        assert local_week(utc(2027, 1, 4, 0, 0), LONDON) == "2027-W01"

    def test_29_december_2025_is_in_week_1_of_2026(self):
        assert local_week(utc(2025, 12, 29, 12), LONDON) == "2026-W01"


class TestIsEvening:
    def test_1700_local_in_winter_is_an_evening(self):
        assert is_evening(utc(2026, 11, 24, 17, 0), LONDON) is True

    def test_1659_local_in_winter_is_not_an_evening(self):
        assert is_evening(utc(2026, 11, 24, 16, 59), LONDON) is False

    def test_1600_utc_in_summer_time_is_1700_local_and_an_evening(self):
        assert is_evening(utc(2026, 7, 14, 16, 0), LONDON) is True

    def test_1559_utc_in_summer_time_is_1659_local_and_not_an_evening(self):
        assert is_evening(utc(2026, 7, 14, 15, 59), LONDON) is False

    def test_a_late_evening_session_is_an_evening(self):
        assert is_evening(utc(2026, 11, 24, 22, 30), LONDON) is True

    def test_a_morning_session_is_not_an_evening(self):
        assert is_evening(utc(2026, 11, 24, 9, 0), LONDON) is False

    def test_just_after_midnight_local_is_not_an_evening(self):
        # 23:30 UTC in BST is 00:30 local the next morning.
        assert is_evening(utc(2026, 7, 14, 23, 30), LONDON) is False

    def test_tuesday_1800_local_in_the_spring_changeover_week_is_1800_utc_in_gmt_and_an_evening(self):
        assert is_evening(utc(2027, 3, 23, 18), LONDON) is True

    def test_tuesday_1800_local_after_the_spring_change_is_1700_utc_in_bst_and_an_evening(self):
        assert is_evening(utc(2027, 3, 30, 17), LONDON) is True

    def test_tuesday_1800_local_in_the_autumn_changeover_week_is_1700_utc_in_bst_and_an_evening(self):
        assert is_evening(utc(2026, 10, 20, 17), LONDON) is True

    def test_1600_utc_on_the_spring_changeover_sunday_is_1700_bst_and_an_evening(self):
        assert is_evening(utc(2027, 3, 28, 16), LONDON) is True

    def test_1600_utc_on_the_autumn_changeover_sunday_is_1600_gmt_and_not_an_evening(self):
        assert is_evening(utc(2026, 10, 25, 16), LONDON) is False

    def test_1600_utc_the_day_before_the_autumn_change_is_1700_bst_and_an_evening(self):
        assert is_evening(utc(2026, 10, 24, 16), LONDON) is True


class TestIsWeekend:
    def test_a_saturday_is_a_weekend(self):
        assert is_weekend(utc(2026, 11, 28, 11), LONDON) is True

    def test_a_sunday_is_a_weekend(self):
        assert is_weekend(utc(2026, 11, 29, 11), LONDON) is True

    def test_a_friday_is_not_a_weekend(self):
        assert is_weekend(utc(2026, 11, 27, 23, 59), LONDON) is False

    def test_a_monday_is_not_a_weekend(self):
        assert is_weekend(utc(2026, 11, 30, 0, 0), LONDON) is False

    def test_sunday_2330_utc_in_summer_time_is_monday_0030_local_and_not_a_weekend(self):
        assert is_weekend(utc(2026, 6, 7, 23, 30), LONDON) is False

    def test_friday_2330_utc_in_summer_time_is_saturday_0030_local_and_a_weekend(self):
        assert is_weekend(utc(2026, 6, 5, 23, 30), LONDON) is True

    def test_sunday_2330_utc_in_winter_is_still_sunday_and_a_weekend(self):
        assert is_weekend(utc(2026, 11, 29, 23, 30), LONDON) is True

    def test_2330_utc_on_the_spring_changeover_sunday_is_monday_in_london_and_not_a_weekend(self):
        assert is_weekend(utc(2027, 3, 28, 23, 30), LONDON) is False

    def test_2330_utc_on_the_autumn_changeover_sunday_is_sunday_in_london_and_a_weekend(self):
        assert is_weekend(utc(2026, 10, 25, 23, 30), LONDON) is True

    def test_new_years_day_2027_a_friday_is_not_a_weekend(self):
        assert is_weekend(utc(2027, 1, 1, 12), LONDON) is False


class TestLocalTiming:
    def test_the_week_and_flags_are_read_once_in_programme_time(self):
        # Sunday 7 June 2026, 23:30 UTC is Monday 8 June 00:30 BST: a new week, neither evening nor weekend.
        assert local_timing(utc(2026, 6, 7, 23, 30), LONDON) == LocalTiming(
            week="2026-W24", is_evening=False, is_weekend=False
        )

    def test_a_saturday_evening_is_both(self):
        assert local_timing(utc(2026, 11, 28, 18), LONDON) == LocalTiming(
            week="2026-W48", is_evening=True, is_weekend=True
        )

    @pytest.mark.parametrize("start", [utc(2026, 10, 25, 23, 30), utc(2027, 3, 28, 23, 30), utc(2026, 7, 14, 16)])
    def test_it_agrees_with_the_single_questions(self, start):
        assert local_timing(start, LONDON) == LocalTiming(
            local_week(start, LONDON), is_evening(start, LONDON), is_weekend(start, LONDON)
        )


PROGRAMME, OTHER_PROGRAMME = uuid.uuid4(), uuid.uuid4()
KEY_WORKER, OTHER_MENTOR = uuid.uuid4(), uuid.uuid4()


class TestMayPlanFor:
    def test_an_admin_may_plan_for_any_place(self):
        admin = Actor(uuid.uuid4(), Role.ADMIN, None)
        assert may_plan_for(admin, programme_id=OTHER_PROGRAMME, key_worker_id=None) is True

    def test_a_coordinator_may_plan_for_their_programmes_places_only(self):
        coordinator = Actor(uuid.uuid4(), Role.COORDINATOR, PROGRAMME)
        assert may_plan_for(coordinator, programme_id=PROGRAMME, key_worker_id=None) is True
        assert may_plan_for(coordinator, programme_id=OTHER_PROGRAMME, key_worker_id=None) is False

    def test_a_mentor_may_plan_only_for_the_places_they_are_key_worker_for(self):
        assert may_plan_for(Actor(KEY_WORKER, Role.MENTOR, PROGRAMME), programme_id=PROGRAMME, key_worker_id=KEY_WORKER)
        assert not may_plan_for(
            Actor(OTHER_MENTOR, Role.MENTOR, PROGRAMME), programme_id=PROGRAMME, key_worker_id=KEY_WORKER
        )
        assert not may_plan_for(Actor(KEY_WORKER, Role.MENTOR, PROGRAMME), programme_id=PROGRAMME, key_worker_id=None)

    def test_a_commissioner_may_plan_for_no_place(self):
        commissioner = Actor(uuid.uuid4(), Role.COMMISSIONER, PROGRAMME)
        assert may_plan_for(commissioner, programme_id=PROGRAMME, key_worker_id=KEY_WORKER) is False


ACTIVITIES = ["Talking and listening", "Sport or exercise"]
CHILD, OTHER_CHILD = uuid.uuid4(), uuid.uuid4()


def log_problems(status: SessionStatus, log: SessionLog, child_ids: list[uuid.UUID]) -> dict | None:
    try:
        check_log(programme_activities=ACTIVITIES, status=status, log=log, child_ids=child_ids)
    except InvalidSession as error:
        return error.errors
    return None


class TestCheckLog:
    def test_a_completed_session_may_log_its_delivery(self):
        log = SessionLog(actual_duration_minutes=60, activities=[ACTIVITIES[0]], notes="Good.")
        assert log_problems(SessionStatus.COMPLETED, log, [CHILD]) is None

    def test_delivery_is_logged_only_for_a_completed_session(self):
        problems = log_problems(SessionStatus.PLANNED, SessionLog(notes="Early."), [CHILD])
        assert problems == {"status": ["Duration, activities and notes are recorded for completed sessions."]}

    def test_activities_come_from_the_programmes_list(self):
        problems = log_problems(SessionStatus.COMPLETED, SessionLog(activities=["Karaoke"]), [CHILD])
        assert problems == {"activities": ["Not one of the programme's activities: Karaoke."]}

    def test_a_concern_at_a_group_session_names_its_child(self):
        log = SessionLog(safeguarding_concern="Worried.")
        problems = log_problems(SessionStatus.PLANNED, log, [CHILD, OTHER_CHILD])
        assert problems == {"concern_child_id": ["Say which child at this group session the concern is about."]}

    def test_a_concern_about_a_child_not_at_the_session_is_refused(self):
        log = SessionLog(safeguarding_concern="Worried.", concern_child_id=OTHER_CHILD)
        problems = log_problems(SessionStatus.PLANNED, log, [CHILD])
        assert problems == {"concern_child_id": ["Not a child at this session."]}

    def test_a_concern_at_a_one_to_one_session_needs_no_child_named(self):
        assert log_problems(SessionStatus.PLANNED, SessionLog(safeguarding_concern="Worried."), [CHILD]) is None


class TestDurationProblem:
    def test_a_one_hour_session_has_no_problem(self):
        assert duration_problem(utc(2026, 11, 24, 17), utc(2026, 11, 24, 18)) is None

    def test_a_session_that_ends_when_it_starts_is_a_problem(self):
        assert duration_problem(utc(2026, 11, 24, 17), utc(2026, 11, 24, 17)) == "A session must end after it starts."

    def test_a_session_that_ends_before_it_starts_is_a_problem(self):
        assert duration_problem(utc(2026, 11, 24, 17), utc(2026, 11, 24, 16)) == "A session must end after it starts."

    def test_a_session_of_exactly_twelve_hours_has_no_problem(self):
        assert duration_problem(utc(2026, 11, 24, 8), utc(2026, 11, 24, 20)) is None

    def test_a_session_longer_than_twelve_hours_is_a_problem(self):
        assert (
            duration_problem(utc(2026, 11, 24, 8), utc(2026, 11, 24, 20, 1))
            == "A session cannot last more than 12 hours."
        )

    def test_the_duration_across_the_autumn_change_is_measured_in_real_time(self):
        # 00:30 BST to 01:30 GMT on 25 October 2026 looks like one hour on the wall clock but lasts two.
        start = datetime(2026, 10, 25, 0, 30, tzinfo=timezone(timedelta(hours=1)))
        end = datetime(2026, 10, 25, 1, 30, tzinfo=UTC)
        assert duration_problem(start, end) is None
        assert end - start == timedelta(hours=2)

    def test_an_end_given_in_another_offset_is_compared_as_an_instant(self):
        # 18:00+01:00 is 17:00 UTC: the same instant as the start.
        start = utc(2026, 7, 14, 17)
        end = datetime(2026, 7, 14, 18, 0, tzinfo=timezone(timedelta(hours=1)))
        assert duration_problem(start, end) == "A session must end after it starts."


class TestCanChangeTo:
    @pytest.mark.parametrize("new", list(SessionStatus))
    def test_a_planned_session_may_change_to_any_status(self, new):
        assert can_change_to(SessionStatus.PLANNED, new) is True

    @pytest.mark.parametrize("current", sorted(FINAL))
    def test_a_final_session_cannot_go_back_to_planned(self, current):
        assert can_change_to(current, SessionStatus.PLANNED) is False

    @pytest.mark.parametrize("current", sorted(FINAL))
    def test_a_final_session_may_keep_its_status_so_its_log_can_be_corrected(self, current):
        assert can_change_to(current, current) is True

    def test_a_completed_session_cannot_be_cancelled(self):
        assert can_change_to(SessionStatus.COMPLETED, SessionStatus.CANCELLED_BY_CHILD) is False

    def test_a_cancelled_session_cannot_become_completed(self):
        assert can_change_to(SessionStatus.CANCELLED_BY_MENTOR, SessionStatus.COMPLETED) is False

    def test_a_did_not_attend_session_cannot_become_completed(self):
        assert can_change_to(SessionStatus.DID_NOT_ATTEND, SessionStatus.COMPLETED) is False

    def test_a_rescheduled_session_cannot_be_cancelled(self):
        assert can_change_to(SessionStatus.RESCHEDULED, SessionStatus.CANCELLED_BY_CHILD) is False


class TestWhichStatusesCount:
    def test_planned_completed_and_did_not_attend_sessions_are_still_on_the_calendar(self):
        assert frozenset({SessionStatus.PLANNED, SessionStatus.COMPLETED, SessionStatus.DID_NOT_ATTEND}) == STILL_ON

    def test_cancelled_and_rescheduled_sessions_are_not_still_on_the_calendar(self):
        assert not (CANCELLED | {SessionStatus.RESCHEDULED}) & STILL_ON

    def test_cancelled_means_cancelled_by_the_child_or_by_the_mentor(self):
        assert frozenset({SessionStatus.CANCELLED_BY_CHILD, SessionStatus.CANCELLED_BY_MENTOR}) == CANCELLED

    def test_only_a_planned_session_is_not_final(self):
        assert set(SessionStatus) - FINAL == {SessionStatus.PLANNED}


class TestNotStarted:
    """A session is logged as held or missed only once it has started; cancelling in advance is fine (issue 17)."""

    @pytest.mark.parametrize("status", [SessionStatus.COMPLETED, SessionStatus.DID_NOT_ATTEND])
    def test_an_outcome_before_the_start_is_a_problem(self, status):
        start = utc(2027, 2, 1, 10)
        assert not_started_problem(status=status, planned_start_at=start, now=start - timedelta(seconds=1))

    @pytest.mark.parametrize("status", [SessionStatus.COMPLETED, SessionStatus.DID_NOT_ATTEND])
    def test_an_outcome_from_the_start_is_not(self, status):
        start = utc(2027, 2, 1, 10)
        assert not_started_problem(status=status, planned_start_at=start, now=start) is None

    @pytest.mark.parametrize("status", [SessionStatus.PLANNED, *sorted(CANCELLED)])
    def test_planning_or_cancelling_ahead_is_not(self, status):
        start = utc(2027, 2, 1, 10)
        assert not_started_problem(status=status, planned_start_at=start, now=start - timedelta(days=30)) is None
