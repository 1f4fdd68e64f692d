"""The pure rules behind places, offers and caseloads: plain values in, plain values out."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest

from api.caseloads.rules import has_room
from api.disclosure import DEFAULT_THRESHOLD, is_suppressed, suppress
from api.enrolments import rules
from api.enrolments.rules import (
    HOLDS_PLACE,
    OPEN,
    EnrolmentStatus,
    can_end,
    can_leave_waitlist,
    free_places,
    offer_expires_at,
    offer_has_lapsed,
    planned_end_on,
    status_on_acceptance,
)

LONDON = "Europe/London"


class TestFreePlaces:
    def test_free_places_are_places_less_those_taken(self):
        assert free_places(places=5, taken=3) == 2

    def test_a_full_cohort_has_no_free_place(self):
        assert free_places(places=3, taken=3) == 0

    def test_a_cohort_with_no_places_has_no_free_place(self):
        assert free_places(places=0, taken=0) == 0

    def test_free_places_never_go_negative_when_places_were_cut_below_those_taken(self):
        assert free_places(places=2, taken=4) == 0


class TestStatusOnAcceptance:
    def test_a_child_accepted_into_a_cohort_with_a_free_place_becomes_active(self):
        assert status_on_acceptance(places=3, taken=2) is EnrolmentStatus.ACTIVE

    def test_a_child_accepted_into_a_full_cohort_is_waitlisted(self):
        assert status_on_acceptance(places=3, taken=3) is EnrolmentStatus.WAITLISTED

    def test_a_child_accepted_into_a_cohort_with_no_places_is_waitlisted(self):
        assert status_on_acceptance(places=0, taken=0) is EnrolmentStatus.WAITLISTED

    def test_a_child_accepted_into_an_overfull_cohort_is_waitlisted(self):
        assert status_on_acceptance(places=2, taken=5) is EnrolmentStatus.WAITLISTED


class TestWhichStatusesHoldAPlace:
    def test_only_offered_and_active_enrolments_hold_a_place(self):
        assert {EnrolmentStatus.OFFERED, EnrolmentStatus.ACTIVE} == HOLDS_PLACE

    def test_waitlisted_offered_and_active_enrolments_are_open(self):
        assert {EnrolmentStatus.WAITLISTED, EnrolmentStatus.OFFERED, EnrolmentStatus.ACTIVE} == OPEN


class TestOffers:
    def test_an_offer_expires_the_programmes_offer_window_after_it_was_made(self):
        offered_at = datetime(2026, 11, 23, 14, 0, tzinfo=UTC)

        assert offer_expires_at(offered_at, offer_lapse_hours=72) == datetime(2026, 11, 26, 14, 0, tzinfo=UTC)

    def test_an_offer_window_is_counted_in_elapsed_hours_across_the_clocks_going_back(self):
        # The clocks go back at 01:00 UTC on 25 October 2026: 24 hours later is a different wall-clock hour.
        offered_at = datetime(2026, 10, 24, 12, 0, tzinfo=UTC)

        assert offer_expires_at(offered_at, offer_lapse_hours=24) == datetime(2026, 10, 25, 12, 0, tzinfo=UTC)

    def test_an_offer_is_open_until_its_expiry(self):
        expires = datetime(2026, 11, 26, 14, 0, tzinfo=UTC)

        assert offer_has_lapsed(offer_expires_at=expires, now=expires - timedelta(seconds=1)) is False

    def test_an_offer_lapses_at_the_moment_it_expires(self):
        expires = datetime(2026, 11, 26, 14, 0, tzinfo=UTC)

        assert offer_has_lapsed(offer_expires_at=expires, now=expires) is True
        assert offer_has_lapsed(offer_expires_at=expires, now=expires + timedelta(hours=1)) is True


class TestPlannedEnd:
    def test_the_planned_end_is_whole_weeks_after_the_local_start_date(self):
        started_at = datetime(2026, 11, 23, 14, 0, tzinfo=UTC)

        assert planned_end_on(started_at, time_zone=LONDON, planned_weeks=52) == date(2027, 11, 22)

    def test_the_planned_end_counts_from_the_local_date_not_the_utc_date_in_summer(self):
        # 23:30 UTC on 1 June is 00:30 BST on 2 June: support started on the 2nd in London.
        started_at = datetime(2026, 6, 1, 23, 30, tzinfo=UTC)

        assert planned_end_on(started_at, time_zone=LONDON, planned_weeks=1) == date(2026, 6, 9)

    def test_the_planned_end_keeps_the_weekday_when_the_clocks_go_forward_in_between(self):
        # Monday 23 March 2026, 23:30 GMT; BST starts on Sunday 29 March.
        started_at = datetime(2026, 3, 23, 23, 30, tzinfo=UTC)

        end = planned_end_on(started_at, time_zone=LONDON, planned_weeks=2)

        assert end == date(2026, 4, 6)
        assert end.weekday() == 0

    def test_the_planned_end_keeps_the_weekday_when_the_clocks_go_back_in_between(self):
        # Tuesday 20 October 2026, 23:30 UTC is 00:30 BST on Wednesday 21 October; GMT returns on the 25th.
        started_at = datetime(2026, 10, 20, 23, 30, tzinfo=UTC)

        end = planned_end_on(started_at, time_zone=LONDON, planned_weeks=2)

        assert end == date(2026, 11, 4)
        assert end.weekday() == 2

    def test_the_planned_end_follows_the_programmes_own_time_zone(self):
        started_at = datetime(2026, 11, 23, 20, 0, tzinfo=UTC)  # already the 24th in Auckland

        assert planned_end_on(started_at, time_zone="Pacific/Auckland", planned_weeks=1) == date(2026, 12, 1)
        assert planned_end_on(started_at, time_zone=LONDON, planned_weeks=1) == date(2026, 11, 30)


class TestWhatCanBeEndedOrLeft:
    @pytest.mark.parametrize("status", list(EnrolmentStatus))
    def test_only_an_active_enrolment_can_be_ended(self, status):
        assert can_end(status) is (status is EnrolmentStatus.ACTIVE)

    @pytest.mark.parametrize("status", list(EnrolmentStatus))
    def test_only_a_waiting_or_offered_child_can_leave_the_waitlist(self, status):
        assert can_leave_waitlist(status) is (status in {EnrolmentStatus.WAITLISTED, EnrolmentStatus.OFFERED})


class TestSmallNumberSuppression:
    def test_the_default_threshold_is_five(self):
        assert DEFAULT_THRESHOLD == 5

    @pytest.mark.parametrize("count", [1, 2, 3, 4])
    def test_counts_from_one_to_below_the_threshold_are_shown_as_less_than_the_threshold(self, count):
        assert suppress(count, threshold=5) == "<5"
        assert is_suppressed(count, threshold=5) is True

    def test_zero_identifies_no_one_and_is_shown(self):
        assert suppress(0, threshold=5) == 0
        assert is_suppressed(0, threshold=5) is False

    @pytest.mark.parametrize("count", [5, 6, 60])
    def test_counts_at_or_above_the_threshold_are_shown(self, count):
        assert suppress(count, threshold=5) == count
        assert is_suppressed(count, threshold=5) is False

    def test_the_threshold_is_configurable(self):
        assert suppress(9, threshold=10) == "<10"
        assert suppress(10, threshold=10) == 10
        assert suppress(2, threshold=3) == "<3"
        assert suppress(3, threshold=3) == 3


class TestCaseloadRoom:
    def test_a_mentor_below_their_maximum_has_room(self):
        assert has_room(caseload=9, max_caseload=10) is True

    def test_a_mentor_at_their_maximum_has_no_room(self):
        assert has_room(caseload=10, max_caseload=10) is False

    def test_a_mentor_over_their_maximum_has_no_room(self):
        assert has_room(caseload=11, max_caseload=10) is False

    def test_a_mentor_with_a_maximum_of_zero_takes_no_children(self):
        assert has_room(caseload=0, max_caseload=0) is False

    def test_a_mentor_with_no_maximum_set_takes_no_children(self):
        assert has_room(caseload=0, max_caseload=None) is False


# --- a session within the enrolment's planned period (issue 17) ---


def test_a_session_within_the_planned_period_has_no_problem():
    assert (
        rules.outside_planned_period(
            datetime(2027, 2, 1, 23, 30, tzinfo=UTC),
            started_at=datetime(2026, 11, 23, 14, tzinfo=UTC),
            planned_end_on=date(2027, 2, 1),
            time_zone="Europe/London",
        )
        is None
    )


def test_a_session_after_the_planned_end_date_in_local_time_is_outside():
    # 23:30 UTC on 31 May is 00:30 BST on 1 June, the day after the planned end.
    problem = rules.outside_planned_period(
        datetime(2027, 5, 31, 23, 30, tzinfo=UTC),
        started_at=datetime(2026, 11, 23, 14, tzinfo=UTC),
        planned_end_on=date(2027, 5, 31),
        time_zone="Europe/London",
    )
    assert problem is not None and "2027-05-31" in problem


def test_a_session_before_the_local_day_support_started_is_outside_but_earlier_that_day_is_not():
    started = datetime(2026, 11, 23, 14, tzinfo=UTC)
    before = rules.outside_planned_period(
        datetime(2026, 11, 22, 23, 59, tzinfo=UTC), started_at=started, planned_end_on=None, time_zone="Europe/London"
    )
    that_morning = rules.outside_planned_period(
        datetime(2026, 11, 23, 0, 1, tzinfo=UTC), started_at=started, planned_end_on=None, time_zone="Europe/London"
    )
    assert before is not None and "2026-11-23" in before
    assert that_morning is None


def test_an_enrolment_without_a_planned_end_has_no_upper_bound():
    assert (
        rules.outside_planned_period(
            datetime(2099, 1, 1, tzinfo=UTC),
            started_at=datetime(2026, 11, 23, tzinfo=UTC),
            planned_end_on=None,
            time_zone="Europe/London",
        )
        is None
    )
