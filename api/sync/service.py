"""Writing the change log (in the caller's transaction) and reading it for a phone's sync."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy.orm import Session

from api.sync.models import ChangeEvent
from api.sync.rules import ChangeOp, EntityType


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
    """Part of the caller's transaction: the change and its log entry commit together."""
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
