from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import JSON, ForeignKey, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from api.db import Base, new_id


class IdempotencyRecord(Base):
    """A create request made with an Idempotency-Key, so a phone's retry gets the first answer back.

    Inserted in the same transaction as the write it protects: the key and its effect commit together.
    """

    __tablename__ = "idempotency_record"
    __table_args__ = (UniqueConstraint("user_id", "key", name="uq_idempotency_record_user_id_key"),)

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=new_id)
    user_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("app_user.id"))
    key: Mapped[str] = mapped_column(String(100))
    # SHA-256 of method, path and body: the same key with a different request is refused.
    request_fingerprint: Mapped[str] = mapped_column(String(64))
    response_status: Mapped[int | None]
    response_body: Mapped[Any] = mapped_column(JSON, nullable=True)
    created_at: Mapped[datetime]
    completed_at: Mapped[datetime | None]
