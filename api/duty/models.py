from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import CheckConstraint, ForeignKey, Index
from sqlalchemy.orm import Mapped, mapped_column

from api.db import Base, new_id


class DutyShift(Base):
    """One period of a programme's duty rota: who is the duty coordinator from `starts_at` to `ends_at` (UTC), and
    who to try next when they do not answer. A programme's shifts never overlap (rules.py), so "who is on duty at
    this moment" has one answer."""

    __tablename__ = "duty_shift"
    __table_args__ = (CheckConstraint("ends_at > starts_at", name="ends_after_starts"),)

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=new_id)
    programme_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("programme.id"))
    coordinator_user_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("app_user.id"))
    # The programme's manager or a second coordinator; a shift may have none.
    fallback_user_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("app_user.id"))
    starts_at: Mapped[datetime]
    ends_at: Mapped[datetime]
    version: Mapped[int] = mapped_column(default=1)
    created_by_user_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("app_user.id"))
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]


# Every read of the rota is one programme over a stretch of time (who is on now, the week ahead, its gaps).
Index("ix_duty_shift_programme_id_starts_at", DutyShift.programme_id, DutyShift.starts_at)
