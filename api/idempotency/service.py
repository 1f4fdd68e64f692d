"""Idempotent creates for phones on bad networks.

The key's record, the write it protects and the answer to replay all commit in one transaction: if the write
committed, so did its answer, and a process that dies part-way leaves nothing behind to retry against. A retry
that arrives while the first request is still running waits on the unique index (PostgreSQL) or the write lock
(SQLite), then finds the completed record and replays its answer. A key reused with a different request is
refused (422). A failed request rolls back its key with everything else, so it can be retried with the same key.
"""

from __future__ import annotations

import functools
import hashlib
import re
import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any, cast

from sqlalchemy import Table, Update, bindparam, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from api.db import new_id, step
from api.idempotency import errors
from api.idempotency.models import IdempotencyRecord

KEY_PATTERN = re.compile(r"^[\x21-\x7e]{1,100}$")
# Core statements on the table: the ORM's unit of work adds nothing for one row written and answered here.
RECORDS = cast(Table, IdempotencyRecord.__table__)


@dataclass(frozen=True)
class Replay:
    status: int
    body: Any


def fingerprint(method: str, path: str, body: bytes) -> str:
    return hashlib.sha256(method.encode() + b" " + path.encode() + b"\n" + body).hexdigest()


@step
def claim(
    db_session: Session, *, user_id: uuid.UUID, key: str, request_fingerprint: str, now: datetime
) -> uuid.UUID | Replay:
    """Claim the key for this request (uncommitted: `complete` commits it with the write), returning the record's
    id; or return the first request's answer to replay."""
    if not KEY_PATTERN.match(key):
        raise errors.InvalidIdempotencyKey()
    claimed = db_session.execute(
        _claim(db_session.get_bind().dialect.name),
        {"id": new_id(), "user_id": user_id, "key": key, "request_fingerprint": request_fingerprint, "created_at": now},
    ).scalar_one_or_none()
    if claimed is not None:
        return claimed
    existing = db_session.execute(
        select(RECORDS.c.request_fingerprint, RECORDS.c.response_status, RECORDS.c.response_body).where(
            RECORDS.c.user_id == user_id, RECORDS.c.key == key
        )
    ).one()
    if existing.request_fingerprint != request_fingerprint:
        raise errors.IdempotencyKeyReused()
    if existing.response_status is None:
        # Only a record written before answers were stored with their writes can be found unanswered.
        raise errors.RequestInProgress()
    return Replay(existing.response_status, existing.response_body)


# Every create with a key runs these two, so they are built once, their values bound at each call.
@functools.cache
def _claim(dialect_name: str) -> Any:
    """INSERT ... ON CONFLICT DO NOTHING: one statement, where catching the unique violation would need a savepoint."""
    dialect = postgresql if dialect_name == "postgresql" else sqlite
    return (
        dialect.insert(RECORDS)
        .on_conflict_do_nothing(index_elements=[RECORDS.c.user_id, RECORDS.c.key])
        .returning(RECORDS.c.id)
    )


@functools.cache
def _complete() -> Update:
    return (
        update(RECORDS)
        .where(RECORDS.c.id == bindparam("record_id"))
        .values(
            response_status=bindparam("answer_status"),
            response_body=bindparam("answer_body"),
            completed_at=bindparam("answered_at"),
        )
    )


@step
def complete(db_session: Session, *, record_id: uuid.UUID, status: int, body: Any, now: datetime) -> None:
    """Store the answer, to commit with the write it answers for."""
    stored = db_session.execute(
        _complete(), {"record_id": record_id, "answer_status": status, "answer_body": body, "answered_at": now}
    )
    if stored.rowcount != 1:  # type: ignore[attr-defined]
        # The view rolled back and carried on: its write must not commit without the key that guards it (raising
        # makes the caller's transaction scope roll back).
        raise RuntimeError("the Idempotency-Key's claim was rolled back by the request it guards")
