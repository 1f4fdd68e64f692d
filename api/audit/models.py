from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import JSON, ForeignKey, Index, String
from sqlalchemy.orm import Mapped, mapped_column

from api.actors import Role
from api.db import Base, new_id
from api.enums import enum_column_type


class AuditEvent(Base):
    """Who read or wrote which child-level record, in what role, when and through which operation.

    Written in the same transaction as the read or write it describes, so neither exists without the other.
    """

    __tablename__ = "audit_event"

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=new_id)
    occurred_at: Mapped[datetime]
    actor_user_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("app_user.id"))
    actor_role: Mapped[Role | None] = mapped_column(enum_column_type(Role, "audit_actor_role"))
    action: Mapped[str] = mapped_column(String(64))
    record_type: Mapped[str] = mapped_column(String(32))
    record_id: Mapped[uuid.UUID | None]
    # The child the record belongs to, so "everything that happened to this child's data" is one query.
    child_id: Mapped[uuid.UUID | None]
    # What an action by no one in particular did, where its record cannot say (a retention run's counts and
    # cutoffs). Never personal data.
    details: Mapped[dict[str, Any] | None] = mapped_column(JSON)


Index("ix_audit_event_child_id_occurred_at", AuditEvent.child_id, AuditEvent.occurred_at)
Index("ix_audit_event_actor_user_id_occurred_at", AuditEvent.actor_user_id, AuditEvent.occurred_at)
