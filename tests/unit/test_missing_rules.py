"""The pure rules about missing episodes: the 72-hour return conversation clock (it starts at the return,
not the report) and what makes an episode's or a conversation's times implausible."""

from datetime import UTC, datetime, timedelta

import pytest

from api.missing.rules import (
    ConversationOutcome,
    conversation_due_at,
    conversation_problems,
    episode_problem,
    episode_problems,
    held_within_72_hours,
    is_overdue,
)

NOW = datetime(2026, 11, 23, 14, 0, tzinfo=UTC)
RETURNED = datetime(2026, 11, 20, 9, 30, tzinfo=UTC)


# The 72-hour clock


def test_the_conversation_is_due_72_hours_after_the_return():
    assert conversation_due_at(RETURNED) == datetime(2026, 11, 23, 9, 30, tzinfo=UTC)


def test_the_clock_runs_in_elapsed_hours_across_the_october_clock_change():
    returned = datetime(2026, 10, 24, 23, 0, tzinfo=UTC)  # the night before BST ends

    assert conversation_due_at(returned) - returned == timedelta(hours=72)


def test_a_conversation_completed_exactly_72_hours_after_the_return_is_within_the_72_hours():
    assert held_within_72_hours(returned_at=RETURNED, completed_at=RETURNED + timedelta(hours=72))


def test_a_conversation_completed_a_second_after_72_hours_is_not_within_them():
    assert not held_within_72_hours(returned_at=RETURNED, completed_at=RETURNED + timedelta(hours=72, seconds=1))


def test_a_conversation_not_completed_is_not_held_within_72_hours():
    assert not held_within_72_hours(returned_at=RETURNED, completed_at=None)


def test_an_uncompleted_conversation_is_not_overdue_at_exactly_72_hours():
    assert not is_overdue(returned_at=RETURNED, completed_at=None, now=RETURNED + timedelta(hours=72))


def test_an_uncompleted_conversation_is_overdue_once_72_hours_have_passed():
    assert is_overdue(returned_at=RETURNED, completed_at=None, now=RETURNED + timedelta(hours=72, seconds=1))


def test_a_completed_conversation_is_never_overdue_even_if_late():
    late = RETURNED + timedelta(hours=100)

    assert not is_overdue(returned_at=RETURNED, completed_at=late, now=late + timedelta(days=30))


# Episode times


def test_an_episode_reported_now_and_not_yet_returned_is_plausible():
    assert episode_problems(reported_at=NOW, returned_at=None, now=NOW) == {}
    assert episode_problem(reported_at=NOW, returned_at=None, now=NOW) is None


def test_a_child_may_return_the_moment_they_are_reported():
    assert episode_problems(reported_at=RETURNED, returned_at=RETURNED, now=NOW) == {}


def test_an_episode_reported_in_the_future_is_refused_on_reported_at():
    problems = episode_problems(reported_at=NOW + timedelta(seconds=1), returned_at=None, now=NOW)

    assert problems == {"reported_at": "A missing episode cannot be reported in the future."}


def test_a_return_in_the_future_is_refused_on_returned_at():
    problems = episode_problems(reported_at=RETURNED, returned_at=NOW + timedelta(minutes=1), now=NOW)

    assert problems == {"returned_at": "A return cannot be in the future."}


def test_a_return_before_the_report_is_refused_on_returned_at():
    problems = episode_problems(reported_at=RETURNED, returned_at=RETURNED - timedelta(minutes=1), now=NOW)

    assert problems == {"returned_at": "A child cannot return before they were reported missing."}


def test_both_fields_are_reported_when_both_are_wrong():
    future = NOW + timedelta(hours=1)

    problems = episode_problems(reported_at=future, returned_at=future + timedelta(hours=1), now=NOW)

    assert set(problems) == {"reported_at", "returned_at"}


def test_episode_problem_gives_the_first_problem_in_words():
    assert (
        episode_problem(reported_at=NOW + timedelta(hours=1), returned_at=None, now=NOW)
        == "A missing episode cannot be reported in the future."
    )


# Return conversation


def conversation(**overrides):
    values = {
        "outcome": ConversationOutcome.COMPLETED,
        "returned_at": RETURNED,
        "offered_at": RETURNED + timedelta(hours=2),
        "completed_at": RETURNED + timedelta(hours=30),
        "declined_reason": None,
        "now": NOW,
    }
    return conversation_problems(**(values | overrides))


def test_a_completed_conversation_after_the_offer_is_plausible():
    assert conversation() == {}


def test_an_offered_conversation_needs_no_completion_or_reason():
    assert conversation(outcome=ConversationOutcome.OFFERED, completed_at=None) == {}


def test_a_declined_conversation_needs_a_reason():
    assert conversation(outcome=ConversationOutcome.DECLINED, completed_at=None) == {
        "declined_reason": "Say why the child declined."
    }
    assert conversation(outcome=ConversationOutcome.DECLINED, completed_at=None, declined_reason="  ") == {
        "declined_reason": "Say why the child declined."
    }


def test_a_declined_conversation_with_a_reason_is_plausible():
    assert conversation(outcome=ConversationOutcome.DECLINED, completed_at=None, declined_reason="Wants a break.") == {}


def test_a_completed_conversation_needs_a_completion_time():
    assert conversation(completed_at=None) == {"completed_at": "Say when a completed conversation was held."}


@pytest.mark.parametrize("outcome", [ConversationOutcome.OFFERED, ConversationOutcome.DECLINED])
def test_only_a_completed_conversation_has_a_completion_time(outcome):
    problems = conversation(outcome=outcome, declined_reason="No." if outcome == "declined" else None)

    assert problems == {"completed_at": "Only a completed conversation has a completion time."}


def test_only_a_declined_conversation_has_a_reason_for_declining():
    assert conversation(declined_reason="Changed their mind.") == {
        "declined_reason": "Only a declined conversation has a reason for declining."
    }


def test_a_conversation_cannot_be_offered_before_the_return():
    assert conversation(offered_at=RETURNED - timedelta(minutes=1)) == {
        "offered_at": "A return conversation is offered after the child's return."
    }


def test_a_conversation_cannot_be_offered_or_completed_in_the_future():
    future = NOW + timedelta(minutes=5)

    assert conversation(offered_at=future, completed_at=future) == {
        "offered_at": "A conversation cannot be offered in the future.",
        "completed_at": "A conversation cannot be completed in the future.",
    }


def test_a_conversation_cannot_be_completed_before_it_was_offered():
    assert conversation(completed_at=RETURNED + timedelta(hours=1)) == {
        "completed_at": "A conversation is completed after it is offered."
    }
