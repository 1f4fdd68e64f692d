"""The SMS outbox's pure rules: forward-only states, backoff, quiet hours, send/hold/drop, and reminder times.

Europe/London goes to BST at 01:00 UTC on Sunday 29 March 2026 and back to GMT at 01:00 UTC on Sunday
25 October 2026: quiet hours and reminders are wall-clock times there, so both changes are covered.
"""

from __future__ import annotations

import random
from datetime import datetime, time, timedelta, timezone
from itertools import product
from zoneinfo import ZoneInfo

import pytest

from api.outbox.rules import MessageState, RecipientType, can_move
from api.reminders.rules import reminder_key, reminder_times
from api.sms.rules import DEFAULT_QUIET_HOURS, QuietHours, Verdict, decide, next_allowed, retry_delay
from tests.times import utc

LONDON = ZoneInfo("Europe/London")
CHILD_QUIET = QuietHours(time(21, 0), time(8, 0))


def london(year: int, month: int, day: int, hour: int = 0, minute: int = 0, *, fold: int = 0) -> datetime:
    return datetime(year, month, day, hour, minute, tzinfo=LONDON, fold=fold)


# --- Forward-only states -------------------------------------------------------------------------------------

# How far along a message is; a message may only move to a later step. The last step's states are all final.
PROGRESSION = [
    {MessageState.QUEUED},
    {MessageState.SENDING},
    {MessageState.UNKNOWN},
    {MessageState.SENT},
    {
        MessageState.DELIVERED,
        MessageState.UNDELIVERED,
        MessageState.FAILED,
        MessageState.DROPPED,
        MessageState.CANCELLED,
    },
]
STEP = {state: index for index, states in enumerate(PROGRESSION) for state in states}


def test_every_state_has_its_place_in_the_progression():
    assert set(STEP) == set(MessageState)


@pytest.mark.parametrize(("current", "new"), list(product(MessageState, MessageState)))
def test_a_message_only_ever_moves_forward(current, new):
    assert can_move(current, new) is (STEP[new] > STEP[current])


@pytest.mark.parametrize("state", list(MessageState))
def test_a_repeated_state_is_not_a_move(state):
    assert can_move(state, state) is False


@pytest.mark.parametrize("final", sorted(PROGRESSION[-1]))
def test_nothing_moves_a_message_out_of_a_final_state(final):
    assert not any(can_move(final, new) for new in MessageState)


def test_a_late_sent_callback_never_undoes_delivered_and_delivered_still_follows_sent():
    assert can_move(MessageState.DELIVERED, MessageState.SENT) is False
    assert can_move(MessageState.SENT, MessageState.DELIVERED) is True
    assert can_move(MessageState.UNDELIVERED, MessageState.DELIVERED) is False
    assert can_move(MessageState.FAILED, MessageState.DELIVERED) is False


# --- Retry backoff -------------------------------------------------------------------------------------------


def bounds(attempts: int) -> tuple[float, float]:
    """Full jitter between half and all of 30 s doubled per failed try, never above 30 minutes."""
    ceiling = min(30 * 60, 30 * 2 ** (attempts - 1))
    return ceiling / 2, ceiling


@pytest.mark.parametrize("attempts", range(1, 12))
def test_the_retry_delay_stays_within_its_jittered_bounds(attempts):
    rng = random.Random(attempts)
    low, high = bounds(attempts)
    delays = [retry_delay(attempts, rng=rng).total_seconds() for _ in range(200)]
    assert all(low <= delay <= high for delay in delays)


def test_the_first_retry_waits_between_15_and_30_seconds():
    rng = random.Random(1)
    delays = [retry_delay(1, rng=rng) for _ in range(200)]
    assert all(timedelta(seconds=15) <= delay <= timedelta(seconds=30) for delay in delays)


def test_the_retry_delay_grows_with_each_failed_try_until_its_cap():
    rng = random.Random(7)
    samples = {attempts: [retry_delay(attempts, rng=rng) for _ in range(100)] for attempts in range(1, 7)}
    # Below the cap the bounds double and the jitter is half, so each try's shortest wait is at least the
    # previous try's longest.
    for attempts in range(1, 6):
        assert min(samples[attempts + 1]) >= max(samples[attempts])
    assert max(samples[1]) <= timedelta(seconds=30) < min(samples[3])


@pytest.mark.parametrize("attempts", [7, 8, 20, 100])
def test_the_retry_delay_is_capped_at_thirty_minutes(attempts):
    rng = random.Random(attempts)
    delays = [retry_delay(attempts, rng=rng) for _ in range(200)]
    assert max(delays) <= timedelta(minutes=30)
    assert min(delays) >= timedelta(minutes=15)


def test_the_retry_delay_is_jittered_so_dispatchers_do_not_retry_in_step():
    rng = random.Random(42)
    delays = {retry_delay(3, rng=rng) for _ in range(50)}
    assert len(delays) > 40


def test_the_same_seed_gives_the_same_delays():
    first = [retry_delay(attempts, rng=random.Random(99)) for attempts in range(1, 6)]
    second = [retry_delay(attempts, rng=random.Random(99)) for attempts in range(1, 6)]
    assert first == second


def test_without_a_generator_the_delay_still_keeps_to_its_bounds():
    assert all(timedelta(seconds=60) <= retry_delay(3) <= timedelta(seconds=120) for _ in range(50))


# --- Quiet hours ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("moment", "quiet"),
    [
        (time(21, 0), True),
        (time(20, 59, 59), False),
        (time(23, 59, 59), True),
        (time(0, 0), True),
        (time(3, 0), True),
        (time(7, 59, 59), True),
        (time(8, 0), False),
        (time(12, 0), False),
    ],
)
def test_a_window_crossing_midnight_runs_from_its_start_to_its_end_the_next_morning(moment, quiet):
    assert CHILD_QUIET.contains(moment) is quiet


@pytest.mark.parametrize(
    ("moment", "quiet"),
    [(time(12, 59), False), (time(13, 0), True), (time(13, 30), True), (time(13, 59, 59), True), (time(14, 0), False)],
)
def test_a_window_within_one_day_includes_its_start_and_excludes_its_end(moment, quiet):
    assert QuietHours(time(13, 0), time(14, 0)).contains(moment) is quiet


def test_the_default_quiet_hours_spare_children_and_carers_from_nine_at_night_to_eight_in_the_morning():
    assert DEFAULT_QUIET_HOURS[RecipientType.CHILD] == CHILD_QUIET
    assert DEFAULT_QUIET_HOURS[RecipientType.CARER] == CHILD_QUIET


class TestNextAllowed:
    def test_a_moment_outside_quiet_hours_is_allowed_as_it_is(self):
        at = utc(2026, 11, 24, 14)
        assert next_allowed(at, CHILD_QUIET, LONDON) == at

    def test_with_no_quiet_hours_any_moment_is_allowed(self):
        at = utc(2026, 11, 24, 23)
        assert next_allowed(at, None, LONDON) == at

    def test_at_22_00_the_window_opens_at_08_00_the_next_day(self):
        assert next_allowed(utc(2026, 11, 24, 22), CHILD_QUIET, LONDON) == utc(2026, 11, 25, 8)

    def test_at_03_00_the_window_opens_at_08_00_the_same_day(self):
        assert next_allowed(utc(2026, 11, 25, 3), CHILD_QUIET, LONDON) == utc(2026, 11, 25, 8)

    def test_at_the_very_start_of_quiet_hours_it_waits_for_the_morning(self):
        assert next_allowed(utc(2026, 11, 24, 21), CHILD_QUIET, LONDON) == utc(2026, 11, 25, 8)

    def test_in_summer_it_is_08_00_london_time_which_is_07_00_utc(self):
        # 20:30 UTC is 21:30 BST: quiet in London, though it would not be in UTC.
        assert next_allowed(utc(2026, 6, 9, 20, 30), CHILD_QUIET, LONDON) == utc(2026, 6, 10, 7)
        # 07:30 UTC is 08:30 BST: allowed.
        assert next_allowed(utc(2026, 6, 10, 7, 30), CHILD_QUIET, LONDON) == utc(2026, 6, 10, 7, 30)

    def test_the_answer_is_the_same_instant_whatever_zone_the_moment_is_given_in(self):
        at = london(2026, 11, 24, 22)
        allowed = next_allowed(at, CHILD_QUIET, LONDON)
        assert allowed == utc(2026, 11, 25, 8)
        assert next_allowed(at.astimezone(timezone(timedelta(hours=-5))), CHILD_QUIET, LONDON) == allowed

    @pytest.mark.parametrize(
        ("at", "opens"),
        [
            # Saturday 22:00 BST (21:00 UTC), the night the clocks go back: 08:00 GMT, 11 hours later not 10.
            (utc(2026, 10, 24, 21), utc(2026, 10, 25, 8)),
            # 01:30 happens twice that night: the first time in BST, the second in GMT.
            (london(2026, 10, 25, 1, 30, fold=0), utc(2026, 10, 25, 8)),
            (london(2026, 10, 25, 1, 30, fold=1), utc(2026, 10, 25, 8)),
            # 03:00 GMT, after the change: 08:00 GMT the same morning.
            (utc(2026, 10, 25, 3), utc(2026, 10, 25, 8)),
            # Sunday 22:00 GMT, after the change: 08:00 GMT on Monday.
            (utc(2026, 10, 25, 22), utc(2026, 10, 26, 8)),
        ],
    )
    def test_across_the_change_from_bst_to_gmt_the_window_opens_at_08_00_local(self, at, opens):
        allowed = next_allowed(at, CHILD_QUIET, LONDON)
        assert allowed == opens
        assert allowed.astimezone(LONDON).time() == time(8, 0)

    @pytest.mark.parametrize(
        ("at", "opens"),
        [
            # Saturday 22:00 GMT, the night the clocks go forward: 08:00 BST is 07:00 UTC, 9 hours later not 10.
            (utc(2026, 3, 28, 22), utc(2026, 3, 29, 7)),
            # 00:30 GMT, before the change.
            (utc(2026, 3, 29, 0, 30), utc(2026, 3, 29, 7)),
            # 03:00 BST (02:00 UTC), after the change.
            (utc(2026, 3, 29, 2), utc(2026, 3, 29, 7)),
            # Sunday 22:00 BST (21:00 UTC): 08:00 BST on Monday.
            (utc(2026, 3, 29, 21), utc(2026, 3, 30, 7)),
        ],
    )
    def test_across_the_change_from_gmt_to_bst_the_window_opens_at_08_00_local(self, at, opens):
        allowed = next_allowed(at, CHILD_QUIET, LONDON)
        assert allowed == opens
        assert allowed.astimezone(LONDON).time() == time(8, 0)

    def test_a_mentors_window_opens_at_07_00(self):
        mentor = DEFAULT_QUIET_HOURS[RecipientType.MENTOR]
        assert next_allowed(utc(2026, 11, 24, 22, 30), mentor, LONDON) == utc(2026, 11, 25, 7)
        assert next_allowed(utc(2026, 11, 24, 21, 30), mentor, LONDON) == utc(2026, 11, 24, 21, 30)


# --- Send, hold or drop --------------------------------------------------------------------------------------


class TestDecide:
    def decide(self, now: datetime, drop_after: datetime, *, quiet=CHILD_QUIET, blocked_reason=None):
        return decide(now=now, drop_after=drop_after, quiet=quiet, zone=LONDON, blocked_reason=blocked_reason)

    def test_a_message_in_good_time_outside_quiet_hours_is_sent(self):
        decision = self.decide(utc(2026, 11, 24, 17), utc(2026, 11, 25, 10))
        assert decision.verdict is Verdict.SEND
        assert decision.hold_until is None

    def test_a_message_in_quiet_hours_is_held_until_they_end(self):
        decision = self.decide(utc(2026, 11, 24, 22), utc(2026, 11, 25, 12))
        assert decision.verdict is Verdict.HOLD
        assert decision.hold_until == utc(2026, 11, 25, 8)
        assert decision.reason == "quiet hours"

    def test_a_message_whose_moment_has_passed_is_dropped_as_too_late(self):
        decision = self.decide(utc(2026, 11, 25, 10, 1), utc(2026, 11, 25, 10))
        assert decision.verdict is Verdict.DROP
        assert "too late" in decision.reason

    def test_a_message_is_too_late_at_the_very_moment_it_stops_being_useful(self):
        assert self.decide(utc(2026, 11, 25, 10), utc(2026, 11, 25, 10)).verdict is Verdict.DROP

    def test_a_message_quiet_hours_would_hold_past_its_moment_is_dropped_not_held(self):
        # 05:30 reminder for a 07:30 session: quiet until 08:00, after the session started.
        decision = self.decide(utc(2026, 11, 25, 5, 30), utc(2026, 11, 25, 7, 30))
        assert decision.verdict is Verdict.DROP
        assert decision.reason == "quiet hours last until after it would be useful"
        assert decision.hold_until is None

    def test_quiet_hours_ending_exactly_when_it_stops_being_useful_drop_it(self):
        assert self.decide(utc(2026, 11, 25, 5), utc(2026, 11, 25, 8)).verdict is Verdict.DROP

    def test_quiet_hours_ending_a_minute_before_it_stops_being_useful_hold_it(self):
        decision = self.decide(utc(2026, 11, 25, 5), utc(2026, 11, 25, 8, 1))
        assert (decision.verdict, decision.hold_until) == (Verdict.HOLD, utc(2026, 11, 25, 8))

    def test_a_blocked_message_is_dropped_with_what_blocks_it(self):
        decision = self.decide(utc(2026, 11, 24, 17), utc(2026, 11, 25, 10), blocked_reason="the number is blocked")
        assert (decision.verdict, decision.reason) == (Verdict.DROP, "the number is blocked")

    def test_what_blocks_a_message_is_its_reason_even_in_quiet_hours_or_too_late(self):
        held = self.decide(utc(2026, 11, 24, 22), utc(2026, 11, 25, 12), blocked_reason="no consent")
        late = self.decide(utc(2026, 11, 26), utc(2026, 11, 25, 12), blocked_reason="no consent")
        assert (held.verdict, held.reason) == (Verdict.DROP, "no consent")
        assert (late.verdict, late.reason) == (Verdict.DROP, "no consent")

    def test_with_no_quiet_hours_a_message_goes_at_night(self):
        assert self.decide(utc(2026, 11, 24, 23), utc(2026, 11, 25, 10), quiet=None).verdict is Verdict.SEND

    def test_quiet_hours_are_local_so_21_30_utc_in_summer_is_held(self):
        decision = self.decide(utc(2026, 6, 9, 20, 30), utc(2026, 6, 10, 12))
        assert (decision.verdict, decision.hold_until) == (Verdict.HOLD, utc(2026, 6, 10, 7))


# --- Session reminders ---------------------------------------------------------------------------------------


def as_pairs(reminders) -> list[tuple[str, datetime]]:
    return [(reminder.lead, reminder.send_at) for reminder in reminders]


class TestReminderTimes:
    def test_the_day_before_at_17_00_and_two_hours_before(self):
        start = utc(2026, 11, 25, 10)
        assert as_pairs(reminder_times(start, LONDON, now=utc(2026, 11, 23, 14))) == [
            ("day_before", utc(2026, 11, 24, 17)),
            ("2h_before", utc(2026, 11, 25, 8)),
        ]

    def test_17_00_the_day_before_is_london_time_in_summer(self):
        start = utc(2026, 6, 10, 9)  # 10:00 BST
        assert as_pairs(reminder_times(start, LONDON, now=utc(2026, 6, 8, 12))) == [
            ("day_before", utc(2026, 6, 9, 16)),
            ("2h_before", utc(2026, 6, 10, 7)),
        ]

    def test_the_day_before_is_the_local_day_before_for_a_session_just_after_midnight(self):
        # 00:30 BST on Wednesday is 23:30 UTC on Tuesday: the day before is Tuesday in London.
        start = utc(2026, 6, 9, 23, 30)
        assert as_pairs(reminder_times(start, LONDON, now=utc(2026, 6, 7, 12))) == [
            ("day_before", utc(2026, 6, 9, 16)),
            ("2h_before", utc(2026, 6, 9, 21, 30)),
        ]

    def test_only_reminders_still_ahead_are_given(self):
        start = utc(2026, 11, 25, 10)
        assert as_pairs(reminder_times(start, LONDON, now=utc(2026, 11, 24, 17, 1))) == [
            ("2h_before", utc(2026, 11, 25, 8)),
        ]
        assert reminder_times(start, LONDON, now=utc(2026, 11, 25, 8, 1)) == []
        assert reminder_times(start, LONDON, now=utc(2026, 11, 25, 11)) == []

    def test_a_reminder_due_this_very_moment_is_no_longer_ahead(self):
        start = utc(2026, 11, 25, 10)
        assert as_pairs(reminder_times(start, LONDON, now=utc(2026, 11, 24, 17))) == [
            ("2h_before", utc(2026, 11, 25, 8)),
        ]

    def test_a_session_planned_an_hour_ahead_has_no_reminders(self):
        assert reminder_times(utc(2026, 11, 25, 10), LONDON, now=utc(2026, 11, 25, 9)) == []

    def test_a_session_planned_for_later_today_gets_only_the_two_hour_reminder(self):
        assert as_pairs(reminder_times(utc(2026, 11, 25, 18), LONDON, now=utc(2026, 11, 25, 9))) == [
            ("2h_before", utc(2026, 11, 25, 16)),
        ]

    @pytest.mark.parametrize(
        ("start", "day_before"),
        [
            # Sunday 25 October 10:00 GMT: the day before, 17:00 was still BST (16:00 UTC).
            (utc(2026, 10, 25, 10), utc(2026, 10, 24, 16)),
            # Monday 26 October 10:00 GMT: 17:00 GMT on the Sunday.
            (utc(2026, 10, 26, 10), utc(2026, 10, 25, 17)),
            # Sunday 29 March 10:00 BST (09:00 UTC): the day before, 17:00 was still GMT.
            (utc(2026, 3, 29, 9), utc(2026, 3, 28, 17)),
            # Monday 30 March 10:00 BST: 17:00 BST (16:00 UTC) on the Sunday.
            (utc(2026, 3, 30, 9), utc(2026, 3, 29, 16)),
        ],
    )
    def test_the_day_before_is_17_00_local_across_the_clock_changes(self, start, day_before):
        reminders = dict(as_pairs(reminder_times(start, LONDON, now=start - timedelta(days=3))))
        assert reminders["day_before"] == day_before
        assert reminders["day_before"].astimezone(LONDON).time() == time(17, 0)

    @pytest.mark.parametrize(
        "start",
        [
            utc(2026, 10, 25, 2),  # 02:00 GMT, an hour after the clocks went back
            utc(2026, 10, 25, 10),
            utc(2026, 3, 29, 2),  # 03:00 BST, an hour after the clocks went forward
            utc(2026, 3, 29, 9),
        ],
    )
    def test_two_hours_before_is_two_real_hours_across_the_clock_changes(self, start):
        reminders = dict(as_pairs(reminder_times(start, LONDON, now=start - timedelta(days=3))))
        assert start - reminders["2h_before"] == timedelta(hours=2)

    def test_the_start_may_be_given_in_any_zone(self):
        start = utc(2026, 11, 25, 10)
        in_paris = start.astimezone(ZoneInfo("Europe/Paris"))
        now = utc(2026, 11, 23, 14)
        assert as_pairs(reminder_times(in_paris, LONDON, now=now)) == as_pairs(reminder_times(start, LONDON, now=now))


class TestReminderKey:
    def test_the_same_reminder_has_the_same_key(self):
        start = utc(2026, 11, 25, 10)
        assert reminder_key("s1", "child:n1", "day_before", start) == reminder_key(
            "s1", "child:n1", "day_before", start
        )

    def test_a_moved_start_gets_a_new_key(self):
        assert reminder_key("s1", "child:n1", "day_before", utc(2026, 11, 25, 10)) != reminder_key(
            "s1", "child:n1", "day_before", utc(2026, 11, 25, 11)
        )

    def test_a_start_moved_by_a_day_to_the_same_hour_gets_a_new_key(self):
        assert reminder_key("s1", "child:n1", "2h_before", utc(2026, 11, 25, 10)) != reminder_key(
            "s1", "child:n1", "2h_before", utc(2026, 11, 26, 10)
        )

    def test_each_session_recipient_and_lead_has_its_own_key(self):
        start = utc(2026, 11, 25, 10)
        keys = {
            reminder_key(session, recipient, lead, start)
            for session in ("s1", "s2")
            for recipient in ("child:n1", "carer:n2")
            for lead in ("day_before", "2h_before")
        }
        assert len(keys) == 8

    def test_the_same_start_gives_the_same_key_whatever_offset_it_is_written_in(self):
        start = utc(2026, 6, 10, 9)
        assert reminder_key("s1", "child:n1", "day_before", start) == reminder_key(
            "s1", "child:n1", "day_before", start.astimezone(LONDON)
        )
