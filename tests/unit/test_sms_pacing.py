"""Sends are paced per sender by a token bucket (api/sms/rules.py, TokenBucket) and the pacer built on it
(api/sms/pacing.py, SendPacer): never more than burst + rate * t sends in any t seconds, each sender on its own
bucket, urgent sends first. All in logical time (tests/pacing_clock.py): nothing sleeps for real."""

from __future__ import annotations

import threading

import pytest

from api.sms.pacing import SendPacer
from api.sms.rules import SendRate, TokenBucket
from tests.pacing_clock import PATIENCE_SECONDS, FakeMonotonic

UK_LONG_CODE = SendRate(per_second=10, burst=3)


def never_sleep(seconds: float) -> None:
    raise AssertionError(f"asked to wait {seconds} s where a token should have been ready")


# --- The bucket, as plain values -------------------------------------------------------------------------------


def test_a_full_bucket_lets_its_burst_through_at_once_then_one_token_per_interval():
    bucket = TokenBucket.full(UK_LONG_CODE, now=0.0)
    for _ in range(3):
        bucket, wait = bucket.take(0.0)
        assert wait == 0.0
    bucket, wait = bucket.take(0.0)
    assert wait == pytest.approx(0.1)  # the fourth waits for the next token
    bucket, wait = bucket.take(0.05)
    assert wait == pytest.approx(0.05)
    bucket, wait = bucket.take(0.1)
    assert wait == 0.0


def test_tokens_accumulate_while_idle_but_never_beyond_the_burst():
    bucket = TokenBucket.full(UK_LONG_CODE, now=0.0)
    for _ in range(3):
        bucket, _ = bucket.take(0.0)
    assert bucket.refilled(0.2).tokens == pytest.approx(2.0)
    assert bucket.refilled(60.0).tokens == 3.0  # an hour of quiet still allows only the burst


def test_a_clock_that_seems_to_go_back_adds_no_tokens():
    bucket, _ = TokenBucket.full(SendRate(10, 1), now=5.0).take(5.0)
    assert bucket.refilled(4.0).tokens == 0.0
    _, wait = bucket.take(4.0)
    assert wait == pytest.approx(0.1)


def test_over_any_span_the_bucket_lets_through_no_more_than_burst_plus_rate_times_the_span():
    # Takers asking every 7 ms for 3 logical seconds: far more often than the rate allows.
    bucket = TokenBucket.full(UK_LONG_CODE, now=0.0)
    granted = []
    for step in range(3000 // 7):
        now = step * 0.007
        bucket, wait = bucket.take(now)
        if wait == 0.0:
            granted.append(now)
    for first in range(len(granted)):
        for last in range(first, len(granted)):
            assert last - first + 1 <= 3 + 10 * (granted[last] - granted[first]) + 1e-6
    assert len(granted) == pytest.approx(3 + 10 * 3, abs=1)  # and it does let that many through


@pytest.mark.parametrize(("per_second", "burst"), [(0, 1), (-1, 1), (float("nan"), 1), (float("inf"), 1), (10, 0),
                                                   (10, 1.5), (10, True)])  # fmt: skip
def test_a_rate_must_be_positive_and_a_burst_a_whole_number_of_messages(per_second, burst):
    with pytest.raises(ValueError):
        SendRate(per_second, burst)


# --- The pacer: blocking, per sender, urgent first -------------------------------------------------------------


def test_the_pacer_spaces_sends_at_the_rate_after_the_burst():
    clock = FakeMonotonic()
    pacer = SendPacer(UK_LONG_CODE, clock=clock.now, sleep=clock.sleep_advancing)
    started = clock.now()
    moments = []
    for _ in range(13):
        pacer.acquire("+447700900001")
        moments.append(round(clock.now() - started, 6))
    assert moments == [0.0, 0.0, 0.0] + [round(0.1 * n, 6) for n in range(1, 11)]


def test_two_senders_do_not_share_a_bucket():
    clock = FakeMonotonic()
    pacer = SendPacer(SendRate(10, 1), clock=clock.now, sleep=never_sleep)
    pacer.acquire("+447700900001")
    pacer.acquire("MG" + "0" * 32)  # the other sender's bucket is still full
    with pytest.raises(AssertionError, match=r"asked to wait 0\.1 s"):
        pacer.acquire("+447700900001")


def test_an_urgent_send_takes_the_next_token_ahead_of_a_regular_one_that_was_waiting():
    clock = FakeMonotonic()
    pacer = SendPacer(SendRate(10, 1), clock=clock.now, sleep=clock.sleep_blocking)
    pacer.acquire("+447700900001")  # the bucket is empty now: the next token comes 0.1 s on
    order: list[str] = []

    def send(kind: str) -> threading.Thread:
        thread = threading.Thread(
            target=lambda: (pacer.acquire("+447700900001", urgent=kind == "urgent"), order.append(kind))
        )
        thread.start()
        return thread

    regular = send("regular")
    clock.wait_for_sleepers(1)  # the regular send was waiting first
    urgent = send("urgent")
    clock.wait_for_sleepers(2)
    assert pacer.urgent_waiting("+447700900001") == 1

    clock.advance(0.1)  # one token: whichever thread wakes first, it is the urgent send's
    urgent.join(PATIENCE_SECONDS)
    assert order == ["urgent"]
    clock.wait_for_sleepers(1)
    assert order == ["urgent"]  # the regular one still waits: that token is gone

    clock.advance(0.1)
    regular.join(PATIENCE_SECONDS)
    assert order == ["urgent", "regular"]
    assert pacer.urgent_waiting("+447700900001") == 0
