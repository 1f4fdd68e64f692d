"""The audit trail: who read or changed which child-level record, and when.

Callers add the event to their own transaction, so a read or write and its audit row commit together or not at all.
An event names its record by the record's table (`record_type`) and id, taken from the record itself, so the type
is always the table's name.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol, cast

from sqlalchemy import Table, insert
from sqlalchemy.orm import Session

from api.actors import Actor
from api.audit.models import AuditEvent
from api.db import Base, step

AUDIT_EVENTS = cast(Table, AuditEvent.__table__)


class Audited(Protocol):
    """A stored record: every mapped class with an `id` is one."""

    @property
    def __tablename__(self) -> str: ...

    @property
    def id(self) -> Any: ...


@dataclass(frozen=True)
class Ref:
    """A record known only by its id (or an event with no table of its own, such as a retention run)."""

    __tablename__: str
    id: uuid.UUID


@step
def record(
    db_session: Session,
    *,
    actor: Actor | None,
    action: str,
    record: Audited,
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
            record_type=record.__tablename__,
            record_id=record.id,
            child_id=child_id,
            details=details,
        )
    )


@step
def record_many(
    db_session: Session,
    *,
    actor: Actor,
    action: str,
    of: type[Base],
    records: Iterable[tuple[uuid.UUID, uuid.UUID]],
    now: datetime,
) -> None:
    """One row per child record a list returned: (record id, child id) pairs of records of the table `of`."""
    rows = [
        {
            "id": uuid.uuid4(),
            "occurred_at": now,
            "actor_user_id": actor.user_id,
            "actor_role": actor.role,
            "action": action,
            "record_type": of.__tablename__,
            "record_id": record_id,
            "child_id": child_id,
        }
        for record_id, child_id in records
    ]
    if rows:
        # A Core insert of the table: the ORM's bulk path only adds work for rows nothing reads back.
        db_session.execute(insert(AUDIT_EVENTS), rows)
