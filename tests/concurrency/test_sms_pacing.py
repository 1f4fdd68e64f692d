"""A burst of due SMS drains at the provider's rate per sender, exactly once, urgent messages first (issue 20).

The mechanism (api/sms/dispatch.py, dispatch_until_idle; api/sms/pacing.py, SendPacer): the regular drain keeps
a few messages claimed and sends them from a small pool of threads, each send taking a token from its sender's
bucket first; an urgent message is claimed ahead of regular ones and takes the next token ahead of them. The
pacer runs on a logical clock here (tests/pacing_clock.py): a send's moment is the one the pacer let it go at,
so the rate is checked exactly and nothing depends on the machine's speed. The database is real and committed
(PostgreSQL and SQLite), because the sending threads each open their own transactions.
"""

from __future__ import annotations

import threading
from collections import Counter
from collections.abc import Callable, Iterator
from datetime import timedelta

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from api.actors import Role
from api.alerts import service as alerts_service
from api.alerts.rules import AlertKind
from api.clock import FixedClock
from api.db import Database, transaction
from api.outbox.models import OutboundMessage
from api.outbox.rules import MessageState
from api.programmes.models import Programme
from api.sms import dispatch as sms_dispatch
from api.sms.dispatch import DispatchSettings, claim_window
from api.sms.pacing import SendPacer
from api.sms.rules import SendRate
from notifications.fake import FakeSmsSender
from notifications.port import OutgoingSms, SendResult
from tests.builders import make_duty_shift, make_user, work_mobile
from tests.concurrency.due_check_in_links import PUBLIC_BASE_URL, due_check_in_links
from tests.conftest import DEFAULT_NOW, SECRET_KEY
from tests.pacing_clock import PATIENCE_SECONDS, FakeMonotonic

SENDER = "+447700900555"  # the from number the provider's rate is counted against


class StampingSender(FakeSmsSender):
    """The fake provider, noting the logical moment of each send; `before_send` runs first (a test's hook)."""

    def __init__(self, clock: FakeMonotonic, before_send: Callable[[int, OutgoingSms], None] | None = None) -> None:
        super().__init__(now=lambda: DEFAULT_NOW)
        self.clock = clock
        self.before_send = before_send
        self.moments: list[float] = []
        self.order: list[str] = []
        self._noting = threading.Lock()

    def send(self, sms: OutgoingSms) -> SendResult:
        with self._noting:
            self.moments.append(self.clock.now())
            self.order.append(sms.to)
            count = len(self.order)
        if self.before_send is not None:
            self.before_send(count, sms)
        return super().send(sms)


def paced(sender: FakeSmsSender, clock: FakeMonotonic, rate: SendRate, threads: int) -> DispatchSettings:
    return DispatchSettings(
        sender=sender, secret_key=SECRET_KEY, public_base_url=PUBLIC_BASE_URL, status_callback_url=None,
        pacer=SendPacer(rate, clock=clock.now, sleep=clock.sleep_advancing), sender_identity=SENDER,
        send_threads=threads,
    )  # fmt: skip


@pytest.fixture()
def database(committed_database_url: str) -> Iterator[Database]:
    """The dispatcher's own engine on the test's committed database (apart from committed_db_session's)."""
    database = Database(committed_database_url)
    yield database
    database.dispose()


def states(db_session: Session) -> Counter[MessageState]:
    db_session.expire_all()
    counted = Counter(row.state for row in db_session.scalars(select(OutboundMessage)))
    db_session.rollback()  # end the read: on SQLite an open transaction holds the write lock
    return counted


def test_a_burst_is_sent_exactly_once_and_never_faster_than_the_rate(committed_db_session, database):
    # Without the pacer every send goes at the same moment; with it, after the burst, one per 1/rate seconds.
    rate = SendRate(per_second=8, burst=2)
    links = due_check_in_links(committed_db_session, 24)
    clock = FakeMonotonic()
    sender = StampingSender(clock)
    started = clock.now()

    sent = sms_dispatch.dispatch_until_idle(
        database.session_factory, settings=paced(sender, clock, rate, threads=1), clock=FixedClock(DEFAULT_NOW).now
    )

    assert sent == 24
    assert Counter(item.sms.to for item in sender.sent) == Counter({link.to: 1 for link in links})
    assert states(committed_db_session) == Counter({MessageState.SENT: 24})
    moments = [moment - started for moment in sender.moments]
    # In any span of t seconds, at most burst + rate * t sends (the rounding allowance is a nanosecond).
    for first in range(len(moments)):
        for last in range(first, len(moments)):
            assert last - first + 1 <= rate.burst + rate.per_second * (moments[last] - moments[first]) + 1e-9
    assert moments[-1] == pytest.approx((24 - rate.burst) / rate.per_second)  # and no slower either


def test_the_drain_sends_from_several_threads_at_once_each_message_exactly_once(committed_db_session, database):
    # A send that takes longer than 1/rate would cap a single thread below the rate: four sends must be with the
    # provider at the same time (the barrier lets none through until four are), and still none is sent twice.
    links = due_check_in_links(committed_db_session, 40)
    clock = FakeMonotonic()
    together = threading.Barrier(4, timeout=PATIENCE_SECONDS)
    sender = StampingSender(clock, before_send=lambda count, sms: together.wait() if count <= 4 else None)

    sent = sms_dispatch.dispatch_until_idle(
        database.session_factory, settings=paced(sender, clock, SendRate(50, 5), threads=4),
        clock=FixedClock(DEFAULT_NOW).now,
    )  # fmt: skip

    assert sent == 40
    assert Counter(item.sms.to for item in sender.sent) == Counter({link.to: 1 for link in links})
    assert len(sender.attempts) == 40
    committed_db_session.expire_all()
    rows = list(committed_db_session.scalars(select(OutboundMessage)))
    assert {row.state for row in rows} == {MessageState.SENT} and {row.attempts for row in rows} == {1}
    assert sorted(row.provider_id for row in rows) == sorted(item.provider_id for item in sender.sent)
    committed_db_session.rollback()


def test_an_urgent_alert_raised_while_a_burst_drains_goes_before_the_rest_of_the_burst(committed_db_session, database):
    links = due_check_in_links(committed_db_session, 20)
    programme = committed_db_session.scalars(select(Programme)).one()
    child_id = committed_db_session.scalars(select(OutboundMessage.child_id)).first()
    duty = make_user(committed_db_session, Role.COORDINATOR, programme=programme, mobile_e164=work_mobile())
    make_duty_shift(
        committed_db_session, programme=programme, coordinator=duty, starts_at=DEFAULT_NOW - timedelta(hours=1),
        ends_at=DEFAULT_NOW + timedelta(days=1),
    )  # fmt: skip
    committed_db_session.rollback()
    raised_at_send: list[int] = []

    def raise_urgent_alert_at_the_third_send(count: int, sms: OutgoingSms) -> None:
        if count != 3:
            return
        with database.session() as db_session, transaction(db_session):
            alerts_service.raise_alert(
                db_session, programme_id=programme.id, child_id=child_id, kind=AlertKind.SAFEGUARDING_CONCERN,
                detail="A concern.", now=DEFAULT_NOW,
            )  # fmt: skip
        raised_at_send.append(count)

    clock = FakeMonotonic()
    sender = StampingSender(clock, before_send=raise_urgent_alert_at_the_third_send)
    settings = paced(sender, clock, SendRate(2, 1), threads=1)

    sent = sms_dispatch.dispatch_until_idle(
        database.session_factory, settings=settings, clock=FixedClock(DEFAULT_NOW).now
    )

    assert sent == 21 and raised_at_send == [3]
    assert Counter(sender.order) == Counter({link.to: 1 for link in links} | {duty.mobile_e164: 1})
    position = sender.order.index(duty.mobile_e164) + 1
    # It went with the next claim after it was queued (the drain holds at most claim_window() claimed), ahead of
    # every regular message still queued then: most of the burst went after it.
    assert position <= 3 + claim_window(settings)
    assert len(sender.order) - position >= 20 - 3 - claim_window(settings)
    assert len(sender.order) - position >= 10


def test_a_stop_mid_burst_finishes_the_messages_in_hand_and_leaves_nothing_claimed(committed_db_session, database):
    links = due_check_in_links(committed_db_session, 30)
    stopping = threading.Event()
    clock = FakeMonotonic()
    sender = StampingSender(clock, before_send=lambda count, sms: stopping.set() if count == 5 else None)
    settings = paced(sender, clock, SendRate(5, 1), threads=2)

    sent = sms_dispatch.dispatch_until_idle(
        database.session_factory, settings=settings, clock=FixedClock(DEFAULT_NOW).now, stop_requested=stopping.is_set
    )

    counted = states(committed_db_session)
    assert MessageState.SENDING not in counted
    assert counted == Counter({MessageState.SENT: sent, MessageState.QUEUED: 30 - sent})
    assert 5 <= sent <= 5 + claim_window(settings)  # no claim after the stop: only what was in hand went
    assert len(sender.sent) == sent and len({item.sms.to for item in sender.sent}) == sent
    assert {item.sms.to for item in sender.sent} <= {link.to for link in links}
    committed_db_session.expire_all()
    queued = committed_db_session.scalars(select(OutboundMessage).where(OutboundMessage.state == MessageState.QUEUED))
    assert all(row.claim_id is None and row.attempts == 0 for row in queued)
    committed_db_session.rollback()


def test_without_a_pacer_the_claim_window_is_one_batch_and_with_one_a_couple_of_seconds_of_sends():
    def settings(pacer: SendPacer | None, threads: int = 1) -> DispatchSettings:
        return DispatchSettings(
            sender=FakeSmsSender(), secret_key=SECRET_KEY, public_base_url=PUBLIC_BASE_URL, status_callback_url=None,
            pacer=pacer, send_threads=threads,
        )  # fmt: skip

    assert claim_window(settings(None)) == sms_dispatch.DISPATCH_BATCH
    assert claim_window(settings(SendPacer(SendRate(10, 10)))) == 10 * sms_dispatch.CLAIM_AHEAD_SECONDS
    assert claim_window(settings(SendPacer(SendRate(100, 10)))) == sms_dispatch.DISPATCH_BATCH
    assert claim_window(settings(SendPacer(SendRate(0.5, 1)), threads=4)) == 4  # at least one a thread
