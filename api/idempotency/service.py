"""Idempotent creates for phones on bad networks.

The key's record is inserted in the same transaction as the write it protects, so they commit together:
if the write committed, so did the key. A retry that arrives while the first request is still running waits
on the unique index (PostgreSQL) or the write lock (SQLite), then finds the record: completed, so the first
answer is replayed; or not yet completed, so 409. A key reused with a different request is refused (422).
A failed request rolls back its key with everything else, so it can be retried with the same key.
"""

from __future__ import annotations

import hashlib
import re
import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from api.idempotency import errors
from api.idempotency.models import IdempotencyRecord

KEY_PATTERN = re.compile(r"^[\x21-\x7e]{1,100}$")


@dataclass(frozen=True)
class Replay:
    status: int
    body: Any


def fingerprint(method: str, path: str, body: bytes) -> str:
    return hashlib.sha256(method.encode() + b" " + path.encode() + b"\n" + body).hexdigest()


def claim(
    db_session: Session, *, user_id: uuid.UUID, key: str, request_fingerprint: str, now: datetime
) -> IdempotencyRecord | Replay:
    """Claim the key for this request (uncommitted: the caller's write commits it), or return the replay."""
    if not KEY_PATTERN.match(key):
        raise errors.InvalidIdempotencyKey()
    record = IdempotencyRecord(user_id=user_id, key=key, request_fingerprint=request_fingerprint, created_at=now)
    try:
        with db_session.begin_nested():
            db_session.add(record)
    except IntegrityError:
        existing = db_session.scalar(
            select(IdempotencyRecord).where(IdempotencyRecord.user_id == user_id, IdempotencyRecord.key == key)
        )
        assert existing is not None
        if existing.request_fingerprint != request_fingerprint:
            raise errors.IdempotencyKeyReused() from None
        if existing.completed_at is None or existing.response_status is None:
            raise errors.RequestInProgress() from None
        return Replay(existing.response_status, existing.response_body)
    return record


def complete(db_session: Session, *, record: IdempotencyRecord, status: int, body: Any, now: datetime) -> None:
    record.response_status = status
    record.response_body = body
    record.completed_at = now
    db_session.commit()


def abandon(db_session: Session, *, record_id: uuid.UUID) -> None:
    """A request failed after committing part of its work: free the key so the client can retry."""
    db_session.rollback()
    record = db_session.get(IdempotencyRecord, record_id)
    if record is not None and record.completed_at is None:
        db_session.delete(record)
        db_session.commit()
