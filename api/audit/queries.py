from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from api.audit.models import AuditEvent


def list_audit_events(
    db_session: Session,
    *,
    child_id: uuid.UUID | None,
    actor_user_id: uuid.UUID | None,
    action: str | None,
    since: datetime | None,
    until: datetime | None,
    offset: int,
    limit: int,
) -> tuple[Sequence[AuditEvent], int]:
    query = select(AuditEvent)
    if child_id:
        query = query.where(AuditEvent.child_id == child_id)
    if actor_user_id:
        query = query.where(AuditEvent.actor_user_id == actor_user_id)
    if action:
        query = query.where(AuditEvent.action == action)
    if since:
        query = query.where(AuditEvent.occurred_at >= since)
    if until:
        query = query.where(AuditEvent.occurred_at < until)
    total = int(db_session.scalar(select(func.count()).select_from(query.subquery())) or 0)
    page = db_session.scalars(
        query.order_by(AuditEvent.occurred_at.desc(), AuditEvent.id).offset(offset).limit(limit)
    ).all()
    return page, total
