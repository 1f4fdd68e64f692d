"""Writing the change log, always in the caller's transaction: a change and its log entry commit together."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy.orm import Session

from api.changes.models import ChangeEvent
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
