"""SIGTERM stops the scheduler gracefully: no new work, the claimed batch sent and recorded, exit 0.

The mechanism (scheduling/runner.py): SIGTERM and SIGINT are blocked in every thread and the main thread waits
for them with sigwait; on one it sets JobContext.stopping and shuts APScheduler down waiting for running jobs.
The dispatcher checks the flag between batches (api/sms/dispatch.py, dispatch_until_idle), so it finishes the
batch it has claimed, message by message, and claims no other. Without the signal handling SIGTERM kills the
process mid-batch (exit -15, messages left `sending` until the claim lease passes and reconcile looks them up);
without the check between batches, it goes on claiming and sending after the signal.

The test is steered, not timed: the provider's first send waits for a gate file (tests/reliability/
scheduler_process.py), so the signal always lands while a batch is claimed and in the middle of being sent.
"""

from __future__ import annotations

import json
import signal
import subprocess
import sys
from collections import Counter
from pathlib import Path

from sqlalchemy import func, select

from api.outbox.models import OutboundMessage
from api.outbox.rules import MessageState
from api.sms.dispatch import DISPATCH_BATCH
from tests.concurrency.due_check_in_links import due_check_in_links
from tests.conftest import DEFAULT_NOW
from tests.reliability.processes import PATIENCE_SECONDS, OutputLines, stop

REPO_ROOT = Path(__file__).resolve().parents[2]
# More than one batch is due, so "no new work after the signal" is visible: the rest stay queued.
DUE_MESSAGES = DISPATCH_BATCH + 10


def states(db_session) -> Counter[MessageState]:
    db_session.expire_all()
    counted = Counter(
        dict(db_session.execute(select(OutboundMessage.state, func.count()).group_by(OutboundMessage.state)).all())
    )
    db_session.rollback()  # end the read: on SQLite an open transaction holds the write lock
    return counted


def test_sigterm_finishes_the_claimed_batch_claims_no_more_and_exits_0(committed_database_url, committed_db_session,
                                                                      tmp_path):  # fmt: skip
    links = due_check_in_links(committed_db_session, DUE_MESSAGES)
    sms_file, gate = tmp_path / "sms.jsonl", tmp_path / "gate"
    process = subprocess.Popen(
        [sys.executable, "-m", "tests.reliability.scheduler_process", committed_database_url, str(sms_file),
         str(gate), DEFAULT_NOW.isoformat()],
        cwd=REPO_ROOT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
    )  # fmt: skip
    output = OutputLines(process.stdout)
    try:
        output.wait_for("provider blocked")
        # A batch is claimed and its first message is with the provider: this is the moment a deploy's SIGTERM
        # must not cut short.
        assert states(committed_db_session)[MessageState.SENDING] == DISPATCH_BATCH

        process.send_signal(signal.SIGTERM)
        output.wait_for("signal 15")  # the scheduler knows it is stopping before the provider answers
        gate.touch()
        exit_code = process.wait(timeout=PATIENCE_SECONDS)
        log = output.text()
    finally:
        stop(process)
        output.close()

    assert exit_code == 0, log
    assert "exited cleanly" in log
    # Every claimed message was sent and recorded; none was left claimed; none claimed after the signal.
    assert states(committed_db_session) == Counter(
        {MessageState.SENT: DISPATCH_BATCH, MessageState.QUEUED: DUE_MESSAGES - DISPATCH_BATCH}
    ), log
    received = Counter(json.loads(line)["to"] for line in sms_file.read_text().splitlines())
    assert sum(received.values()) == DISPATCH_BATCH
    assert set(received.values()) == {1}  # each exactly once
    assert set(received) <= {link.to for link in links}
    committed_db_session.expire_all()
    sent_to_phone = {
        message.phone_number_id
        for message in committed_db_session.scalars(
            select(OutboundMessage).where(OutboundMessage.state == MessageState.SENT)
        )
    }
    assert len(sent_to_phone) == DISPATCH_BATCH
    queued = committed_db_session.scalars(select(OutboundMessage).where(OutboundMessage.state == MessageState.QUEUED))
    assert all(message.claim_id is None and message.attempts == 0 for message in queued)
    committed_db_session.rollback()
