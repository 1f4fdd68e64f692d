"""Writing the change log, always in the caller's transaction: a change and its log entry commit together."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import datetime
from typing import cast

from sqlalchemy import Table, insert
from sqlalchemy.orm import Session

from api.changes.models import ChangeEvent, ReminderRecheck
from api.changes.rules import ChangeOp, EntityType
from api.db import step


@step
def record_change(
    db_session: Session,
    *,
    entity_type: EntityType,
    entity_id: uuid.UUID,
    child_id: uuid.UUID,
    op: ChangeOp = ChangeOp.UPSERT,
    mentor_id: uuid.UUID | None = None,
    now: datetime,
) -> None:
    db_session.add(
        ChangeEvent(
            entity_type=entity_type.value,
            entity_id=entity_id,
            child_id=child_id,
            mentor_id=mentor_id,
            op=op,
            occurred_at=now,
        )
    )


CHANGES = cast(Table, ChangeEvent.__table__)


@step
def record_changes(
    db_session: Session,
    *,
    entity_type: EntityType,
    entity_id: uuid.UUID,
    child_ids: Sequence[uuid.UUID],
    op: ChangeOp = ChangeOp.UPSERT,
    now: datetime,
) -> None:
    """One change to a record for each of its children, inserted at once by a Core statement: nothing reads them back
    in the transaction, so the ORM's unit of work (objects tracked, flushed, ids returned) would only add work. For a
    busy writer (logging a session); the rows are those record_change writes."""
    rows = [
        {
            "entity_type": entity_type.value,
            "entity_id": entity_id,
            "child_id": child_id,
            "mentor_id": None,
            "op": op,
            "occurred_at": now,
        }
        for child_id in child_ids
    ]
    if rows:
        db_session.execute(insert(CHANGES), rows)


@step
def note_reminder_recheck(
    db_session: Session,
    *,
    child_id: uuid.UUID | None = None,
    mentor_id: uuid.UUID | None = None,
    programme_id: uuid.UUID | None = None,
    now: datetime,
) -> None:
    """Who is reminded of this child's, mentor's or programme's coming sessions may have changed: the next reminder
    sweep re-syncs them (api/sessions/reminder_sweep.py). Name exactly one."""
    if (child_id is not None) + (mentor_id is not None) + (programme_id is not None) != 1:
        raise ValueError("a reminder recheck names exactly one child, mentor or programme")
    db_session.add(ReminderRecheck(child_id=child_id, mentor_id=mentor_id, programme_id=programme_id, noted_at=now))
