"""The SMS outbox sends every message exactly once with several dispatchers at once, and when they are killed.

The mechanisms (api/sms/dispatch.py, api/sms/reconcile.py) and what each test proves:

- several dispatchers share the due messages without taking the same one: on PostgreSQL the claim selects its
  batch `FOR UPDATE SKIP LOCKED` and moves it to `sending` under a claim id of its own in the same transaction,
  so a row another dispatcher is claiming is skipped, and once claimed it is no longer `queued`; prepare and
  record then compare-and-set on that claim id, so only the claim's holder sends it and records the outcome.
  Without the lock two dispatchers read the same queued rows and both claim, and the later claim wins the row
  while the earlier one may already have sent it: the child gets the SMS twice (shown below with the lock
  taken out). On SQLite every transaction begins IMMEDIATE, so claims are serialised instead;
- a dispatcher killed at any moment loses nothing and doubles nothing: what it claimed stays `sending` until
  the claim lease has passed, then reconcile looks each message up at the provider before anything is sent
  again (found: sent; not found: queued again).
"""

from __future__ import annotations

import json
import random
import select as io_select
import signal
import subprocess
import sys
import threading
import uuid
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from api.clock import FixedClock
from api.db import Database, make_session_factory
from api.outbox import service as outbox
from api.outbox.models import MessageEvent, OutboundMessage
from api.outbox.rules import MessageState
from api.sms import dispatch as sms_dispatch
from api.sms import rules
from api.sms.dispatch import DispatchSettings
from notifications.fake import FakeSmsSender
from notifications.port import OutgoingSms, ProviderMessage, SendResult
from tests.concurrency.due_check_in_links import PUBLIC_BASE_URL, due_check_in_links
from tests.conftest import DEFAULT_NOW, SECRET_KEY

# How long to wait for a thread or a process to reach the state the test expects before calling it lost.
# Only a guard against hanging: nothing is asserted about how long anything takes.
PATIENCE_SECONDS = 60


def skip_on_sqlite(backend: str, why: str) -> None:
    if backend == "sqlite":
        pytest.skip(why)


def link_in(body: str) -> str:
    """The check-in link an SMS carries (its last word)."""
    return body.rsplit(" ", 1)[-1]


def settings(sender: Any) -> DispatchSettings:
    return DispatchSettings(
        sender=sender, secret_key=SECRET_KEY, public_base_url=PUBLIC_BASE_URL, status_callback_url=None
    )


def messages(db_session: Session) -> list[OutboundMessage]:
    db_session.expire_all()
    found = list(db_session.scalars(select(OutboundMessage).order_by(OutboundMessage.id)))
    db_session.rollback()
    return found


def histories(db_session: Session) -> dict[uuid.UUID, list[tuple[MessageState, str | None]]]:
    db_session.expire_all()
    found: dict[uuid.UUID, list[tuple[MessageState, str | None]]] = {}
    for event in db_session.scalars(select(MessageEvent).order_by(MessageEvent.id)):
        found.setdefault(event.message_id, []).append((event.state, event.detail))
    db_session.rollback()
    return found


@pytest.fixture()
def database(committed_database_url: str) -> Iterator[Database]:
    """The dispatchers' own engine on the test's committed database (apart from committed_db_session's)."""
    database = Database(committed_database_url)
    yield database
    database.dispose()


def all_at_once(calls: list[Callable[[], Any]]) -> list[Any]:
    """Run every call on a thread of its own, released together by a barrier; their answers, in order."""
    barrier = threading.Barrier(len(calls), timeout=PATIENCE_SECONDS)
    answers: list[Any] = [None] * len(calls)
    problems: list[BaseException] = []

    def run(index: int) -> None:
        barrier.wait()
        try:
            answers[index] = calls[index]()
        except BaseException as problem:
            problems.append(problem)

    threads = [threading.Thread(target=run, args=(index,), name=f"dispatcher-{index}") for index in range(len(calls))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(PATIENCE_SECONDS)
    assert not any(thread.is_alive() for thread in threads), "a dispatcher never finished"
    if problems:
        raise problems[0]
    return answers


# --- (a) Four dispatchers at once ------------------------------------------------------------------------------

DISPATCHERS = 4
DUE_MESSAGES = 40
DISPATCH_BATCH = 5


def test_four_dispatchers_at_once_send_each_of_forty_messages_exactly_once(backend, committed_db_session, database):
    # Proves the claim (FOR UPDATE SKIP LOCKED on PostgreSQL, BEGIN IMMEDIATE on SQLite) and the claim-id
    # compare-and-set in prepare and record: four dispatchers, released together, each claiming five at a time
    # until nothing is left. Without the lock they read the same queued rows, claim them over each other, and
    # a row claimed by one after another has sent it is sent again (the next test shows it happening).
    links = due_check_in_links(committed_db_session, DUE_MESSAGES)
    clock = FixedClock(DEFAULT_NOW)
    provider = FakeSmsSender(now=clock.now)  # one provider for all four: thread-safe

    def dispatcher() -> int:
        session_factory = make_session_factory(database.engine)  # sessions of its own
        sent = 0
        while batch := sms_dispatch.dispatch_due(
            session_factory, settings=settings(provider), clock=clock.now, limit=DISPATCH_BATCH
        ):
            sent += batch
        return sent

    sent_by = all_at_once([dispatcher] * DISPATCHERS)

    # Each child's link went to the child's phone exactly once, and the provider was asked once per message.
    received = Counter((sent.sms.to, link_in(sent.sms.body)) for sent in provider.sent)
    assert received == Counter({(link.to, link.link): 1 for link in links})
    assert len(provider.attempts) == DUE_MESSAGES
    assert sum(sent_by) == DUE_MESSAGES
    if backend == "postgresql":
        # SQLite's write lock goes to whichever connection asks between two of the holder's transactions, and
        # the waiting ones poll for it, so there one dispatcher may well do everything; on PostgreSQL they share.
        assert sum(1 for sent in sent_by if sent) >= 2, f"one dispatcher did everything, nothing raced: {sent_by}"
    rows = messages(committed_db_session)
    assert {row.state for row in rows} == {MessageState.SENT}
    assert {row.attempts for row in rows} == {1}
    assert sorted(row.provider_id for row in rows) == sorted(sent.provider_id for sent in provider.sent)
    # Each was claimed once: queued, then one claim, then sent. Nobody took a row another had claimed.
    assert {tuple(state for state, _ in history) for history in histories(committed_db_session).values()} == {
        (MessageState.QUEUED, MessageState.SENDING, MessageState.SENT)
    }


# --- The same race, steered, with and without the lock ---------------------------------------------------------

STEERED_MESSAGES = 10


class TellingProvider:
    """A FakeSmsSender that says when the first dispatcher has handed a message over, and then holds the first
    dispatcher until the second has written its claims: the first cannot record its first send before the second
    claims (whichever thread the machine runs first), so the race plays out the same way every time."""

    def __init__(
        self, fake: FakeSmsSender, first_has_sent: threading.Event, second_has_claimed: threading.Event
    ) -> None:
        self.fake = fake
        self.first_has_sent = first_has_sent
        self.second_has_claimed = second_has_claimed

    def send(self, sms: OutgoingSms) -> SendResult:
        result = self.fake.send(sms)
        if threading.current_thread().name == "first" and not self.first_has_sent.is_set():
            self.first_has_sent.set()
            if not self.second_has_claimed.wait(PATIENCE_SECONDS):
                raise RuntimeError("the second dispatcher never wrote its claims")
        return result

    def find_sent(self, *, to: str, body: str, since: datetime) -> ProviderMessage | None:
        return self.fake.find_sent(to=to, body=body, since=since)


def steered_claim(
    *,
    skip_locked: bool,
    compare_and_set: bool,
    both_have_read: threading.Barrier,
    first_has_sent: threading.Event,
    second_has_claimed: threading.Event,
) -> Callable[..., tuple[uuid.UUID, list[uuid.UUID]]]:
    """api/sms/dispatch.py::claim line for line, with the lock and the compare-and-set optional, and pauses: each
    dispatcher waits after reading its batch until the other has read too; the second then waits to write its
    claim until the first has sent a message (or has finished, having found nothing to claim), and says when it
    has written it (TellingProvider holds the first until then)."""

    def claim(
        db_session: Session, query: Any, *, claimable: Callable[[OutboundMessage], bool], now: datetime
    ) -> tuple[uuid.UUID, list[uuid.UUID]]:
        if skip_locked:
            query = query.with_for_update(skip_locked=True)
        ids = list(db_session.scalars(query))
        both_have_read.wait()
        if threading.current_thread().name == "second" and not first_has_sent.wait(PATIENCE_SECONDS):
            raise RuntimeError("the first dispatcher never sent anything")
        claim_id = uuid.uuid4()
        claimed = []
        for message_id in ids:
            message = db_session.get_one(OutboundMessage, message_id, populate_existing=True)
            if compare_and_set and not claimable(message):
                continue
            message.claim_id = claim_id
            message.claimed_at = now
            outbox.move_message(db_session, message, MessageState.SENDING, f"claimed (was {message.state})", now)
            claimed.append(message_id)
        if threading.current_thread().name == "second":
            db_session.flush()  # the claims are written (their commit follows at once): the first may go on
            second_has_claimed.set()
        return claim_id, claimed

    return claim


@pytest.mark.parametrize(
    ("skip_locked", "compare_and_set", "most_sends_of_one_message"),
    [(True, True, 1), (True, False, 1), (False, True, 1), (False, False, 2)],
)
def test_two_dispatchers_reading_the_same_due_messages_send_each_once_with_either_mechanism(
    backend, committed_db_session, database, monkeypatch, skip_locked, compare_and_set, most_sends_of_one_message
):
    # The race made certain: both dispatchers read the due messages before either claims any, and the second
    # writes its claim only after the first has sent one. With FOR UPDATE SKIP LOCKED the second read skips the
    # rows the first is claiming, so each message has one claim. With the compare-and-set, the second re-reads
    # each row under its claim and leaves one the first has claimed. With neither, the second's claim overwrites
    # the first's and the message the first had already sent goes again: the claim-id check in record() only
    # keeps the first dispatcher from recording the outcome, not the child from getting two SMS.
    skip_on_sqlite(backend, "SQLite serialises writers (BEGIN IMMEDIATE): the two claims cannot overlap")
    links = due_check_in_links(committed_db_session, STEERED_MESSAGES)
    clock = FixedClock(DEFAULT_NOW)
    fake = FakeSmsSender(now=clock.now)
    both_have_read, first_has_sent = threading.Barrier(2, timeout=PATIENCE_SECONDS), threading.Event()
    second_has_claimed = threading.Event()
    monkeypatch.setattr(
        sms_dispatch,
        "claim",
        steered_claim(
            skip_locked=skip_locked,
            compare_and_set=compare_and_set,
            both_have_read=both_have_read,
            first_has_sent=first_has_sent,
            second_has_claimed=second_has_claimed,
        ),
    )
    provider = TellingProvider(fake, first_has_sent, second_has_claimed)

    def dispatcher() -> int:
        try:
            return sms_dispatch.dispatch_due(database.session_factory, settings=settings(provider), clock=clock.now)
        finally:
            if threading.current_thread().name == "first":
                first_has_sent.set()  # it found nothing to claim: the second need not wait for a send

    answers: dict[str, int] = {}
    threads = [
        threading.Thread(target=lambda name=name: answers.__setitem__(name, dispatcher()), name=name)
        for name in ("first", "second")
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(PATIENCE_SECONDS)
    assert set(answers) == {"first", "second"}, "a dispatcher failed or never finished"

    received = Counter(link_in(sent.sms.body) for sent in fake.sent)
    assert set(received) == {link.link for link in links}  # nothing lost either way
    assert max(received.values()) == most_sends_of_one_message
    assert {row.state for row in messages(committed_db_session)} == {MessageState.SENT}


# --- (b) Dispatcher processes killed at any moment -------------------------------------------------------------

KILLED_MESSAGES = 32
RANDOM_KILLS = 15
KILL_SEED = 20261123
# Each run starts later than the last by more than the claim lease, as a scheduler restarted by its supervisor
# would: the dead run's claims are stale by then, and reconcile takes them over.
RESTART_AFTER = rules.CLAIM_LEASE + timedelta(minutes=1)
# Where the first runs kill themselves, so that every moment that matters is hit on every run of the test.
DIE_POINTS = ["claimed", "before-send", "reconciling", "after-send"]


@dataclass
class Run:
    now: datetime
    returncode: int
    stopped: str
    log: str  # what the process wrote to stderr (a traceback, if it failed)


class DispatcherProcess:
    """Starts tests/concurrency/outbox_dispatcher_process.py against the test's database and provider file."""

    def __init__(self, database_url: str, sms_file: Path, logs: Path, repo_root: Path) -> None:
        self.database_url = database_url
        self.sms_file = sms_file
        self.logs = logs
        self.repo_root = repo_root
        self.runs: list[Run] = []

    def run(self, now: datetime, *, die_at: str | None = None, kill_after: float | None = None) -> Run:
        """One run at `now`: until it dies at `die_at`, or is killed `kill_after` seconds after it is ready, or
        (neither given) until nothing is pending."""
        command = [
            sys.executable,
            "-m",
            "tests.concurrency.outbox_dispatcher_process",
            self.database_url,
            str(self.sms_file),
            now.isoformat(),
            "--secret-key",
            SECRET_KEY,
            "--public-base-url",
            PUBLIC_BASE_URL,
        ]
        command += ["--die-at", die_at] if die_at else []
        command += ["--until-idle"] if die_at is None and kill_after is None else []
        log = self.logs / f"run-{len(self.runs) + 1:02d}.log"
        with (
            log.open("w") as stderr,
            subprocess.Popen(command, cwd=self.repo_root, stdout=subprocess.PIPE, stderr=stderr, text=True) as process,
        ):
            assert process.stdout is not None
            try:
                ready, _, _ = io_select.select([process.stdout], [], [], PATIENCE_SECONDS)
                first_line = process.stdout.readline().strip() if ready else ""
                if first_line != "ready":
                    process.kill()
                    pytest.fail(f"the dispatcher never got ready: {first_line!r}\n{log.read_text()}")
                if kill_after is not None:
                    # Not a timing assertion: a seeded spread of moments to kill at, whatever happens at each.
                    threading.Event().wait(kill_after)
                    process.send_signal(signal.SIGKILL)
                returncode = process.wait(PATIENCE_SECONDS)
            except subprocess.TimeoutExpired:
                process.kill()
                pytest.fail(f"the dispatcher run at {now} never ended\n{log.read_text()}")
            rest = process.stdout.read().strip()
        stopped = die_at or (f"killed after {kill_after:.3f}s" if kill_after is not None else rest)
        run = Run(now, returncode, stopped, log.read_text())
        self.runs.append(run)
        return run


def provider_file(path: Path) -> list[dict[str, str]]:
    """Every message the provider took, one JSON object a line (a torn line would fail to parse here)."""
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()] if path.exists() else []


def test_dispatchers_killed_at_any_moment_lose_nothing_and_double_nothing(
    backend, committed_database_url, committed_db_session, tmp_path, repo_root
):
    # Proves the claim lease and reconcile's look-up before any resend (api/sms/reconcile.py::reconcile). A
    # dispatcher process is killed with SIGKILL again and again while 32 messages are due: first at each point
    # that matters (a batch claimed; a message's attempt noted but not handed over; handed over but its outcome
    # not recorded; reconcile's own claim taken), then fifteen times at seeded random moments, each restart
    # coming after the claim lease. Then one last run goes on until nothing is pending. Every child must have
    # got their link exactly once: a dispatcher that resent a stale claim without looking it up first would
    # send the handed-over ones twice, and one that trusted a stale claim would leave messages unsent.
    skip_on_sqlite(backend, "PostgreSQL is what the scheduler runs on in production; one backend keeps this short")
    links = due_check_in_links(committed_db_session, KILLED_MESSAGES)
    sms_file = tmp_path / "provider.jsonl"
    logs = tmp_path / "logs"
    logs.mkdir()
    dispatcher = DispatcherProcess(committed_database_url, sms_file, logs, repo_root)
    rng = random.Random(KILL_SEED)
    now = DEFAULT_NOW

    for die_at in DIE_POINTS:
        run = dispatcher.run(now, die_at=die_at)
        assert run.returncode == -signal.SIGKILL, f"it did not die at {die_at}: {run}"
        now += RESTART_AFTER
    for _ in range(RANDOM_KILLS):
        run = dispatcher.run(now, kill_after=rng.uniform(0.0, 0.3))
        assert run.returncode == -signal.SIGKILL, f"it stopped before it was killed: {run}"
        now += RESTART_AFTER
    recovery = dispatcher.run(now)

    assert (recovery.returncode, recovery.stopped) == (0, "idle"), recovery
    # Nothing lost, nothing doubled: each child's link is in the provider's record exactly once ...
    received = Counter((line["to"], link_in(line["body"])) for line in provider_file(sms_file))
    assert received == Counter({(link.to, link.link): 1 for link in links})
    # ... and every message ends sent, with the provider's own id for it.
    provider_ids = {(line["to"], link_in(line["body"])): line["provider_id"] for line in provider_file(sms_file)}
    rows = {row.id: row for row in messages(committed_db_session)}
    assert {row.state for row in rows.values()} == {MessageState.SENT}
    assert {link.message_id: rows[link.message_id].provider_id for link in links} == {
        link.message_id: provider_ids[(link.to, link.link)] for link in links
    }
    # Each way back from a death was taken: claimed but never handed over (queued again at once); handed over
    # to nobody (looked up, not found, sent again); handed over (looked up and found, not sent again).
    details = {detail for history in histories(committed_db_session).values() for _, detail in history}
    assert {
        "a dispatcher stopped before sending",
        "not at the provider: send again",
        "found at the provider",
    } <= details
