"""Recording access to child-level data. Callers add the event to their own transaction, so a read or write
and its audit row commit together or not at all."""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from datetime import datetime
from typing import Any, cast

from sqlalchemy import Table, insert
from sqlalchemy.orm import Session

from api.actors import Actor
from api.audit.models import AuditEvent

AUDIT_EVENTS = cast(Table, AuditEvent.__table__)


def record(
    db_session: Session,
    *,
    actor: Actor | None,
    action: str,
    record_type: str,
    record_id: uuid.UUID | None,
    child_id: uuid.UUID | None,
    now: datetime,
    details: dict[str, Any] | None = None,
) -> None:
    db_session.add(
        AuditEvent(
            occurred_at=now,
            actor_user_id=actor.user_id if actor else None,
            actor_role=actor.role if actor else None,
            action=action,
            record_type=record_type,
            record_id=record_id,
            child_id=child_id,
            details=details,
        )
    )


def record_many(
    db_session: Session,
    *,
    actor: Actor,
    action: str,
    record_type: str,
    records: Iterable[tuple[uuid.UUID, uuid.UUID]],
    now: datetime,
) -> None:
    """One row per child record a list returned: (record id, child id) pairs."""
    rows = [
        {
            "id": uuid.uuid4(),
            "occurred_at": now,
            "actor_user_id": actor.user_id,
            "actor_role": actor.role,
            "action": action,
            "record_type": record_type,
            "record_id": record_id,
            "child_id": child_id,
        }
        for record_id, child_id in records
    ]
    if rows:
        # A Core insert of the table: the ORM's bulk path only adds work for rows nothing reads back.
        db_session.execute(insert(AUDIT_EVENTS), rows)
