"""An SmsSender for local development: every message is appended to a file instead of being sent.

`make run` works without Twilio credentials, and a developer can read the SMS a child would have received
(including a check-in link to open) with `tail -f`. Every send is ACCEPTED. The file holds message bodies and
numbers, so it is created readable by its owner only and belongs somewhere untracked, such as `instance/`.
"""

from __future__ import annotations

import json
import os
import threading
import uuid
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

from notifications.port import Outcome, OutgoingSms, ProviderMessage, SendResult, SmsSender

STATUS = "recorded"


def _utc(moment: datetime) -> datetime:
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


class RecordingSmsSender(SmsSender):
    """One JSON object a line: to, body, status_callback_url, provider_id (DEV + 32 hex digits), created_at."""

    def __init__(self, path: Path, *, now: Callable[[], datetime] | None = None) -> None:
        self.path = Path(path)
        self.identity = "development"  # no provider, so no rate to keep to: one name for the scheduler's pacing
        self._now = now or (lambda: datetime.now(UTC))
        self._lock = threading.Lock()

    def send(self, sms: OutgoingSms) -> SendResult:
        provider_id = f"DEV{uuid.uuid4().hex}"
        record = {
            "to": sms.to,
            "body": sms.body,
            "status_callback_url": sms.status_callback_url,
            "provider_id": provider_id,
            "created_at": _utc(self._now()).isoformat(),
        }
        line = (json.dumps(record, ensure_ascii=False) + "\n").encode("utf-8")
        with self._lock:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            # One write of the whole line in append mode, so lines from several processes do not interleave.
            descriptor = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
            try:
                os.write(descriptor, line)
            finally:
                os.close(descriptor)
        return SendResult(outcome=Outcome.ACCEPTED, provider_id=provider_id, provider_status=STATUS)

    def find_sent(self, *, to: str, body: str, since: datetime) -> ProviderMessage | None:
        since = _utc(since)
        for record, created_at in self._records():
            if record["to"] == to and record["body"] == body and created_at >= since:
                return ProviderMessage(
                    provider_id=record["provider_id"], to=to, body=body, status=STATUS, created_at=created_at
                )
        return None

    def _records(self) -> list[tuple[dict[str, str], datetime]]:
        with self._lock:
            try:
                lines = self.path.read_text(encoding="utf-8").splitlines()
            except FileNotFoundError:
                return []
        records = []
        for line in lines:
            try:  # a line cut short (a crash mid-write) or edited by hand is skipped, not fatal
                record = json.loads(line)
                created_at = _utc(datetime.fromisoformat(record["created_at"]))
                if not all(isinstance(record[key], str) for key in ("to", "body", "provider_id")):
                    continue
            except (ValueError, TypeError, KeyError):
                continue
            records.append((record, created_at))
        return records
