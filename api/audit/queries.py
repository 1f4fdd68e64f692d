from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from api.audit.models import AuditEvent
from api.pagination import Page, Window, page_of


def list_audit_events(
    db_session: Session,
    *,
    child_id: uuid.UUID | None,
    actor_user_id: uuid.UUID | None,
    action: str | None,
    since: datetime | None,
    until: datetime | None,
    window: Window,
) -> Page[AuditEvent]:
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
    return page_of(db_session, query, order_by=(AuditEvent.occurred_at.desc(), AuditEvent.id), window=window)
