from __future__ import annotations

from datetime import datetime

from sqlalchemy import CheckConstraint
from sqlalchemy.orm import Mapped, mapped_column

from api.db import Base


class ReminderSweep(Base):
    """How far ahead the scheduler's reminder sweep has already looked: every planned session starting up to
    `covered_until` has had its reminders queued (by a sweep, or by the change that planned or moved it). One row,
    written in the same transaction as the reminders the sweep queued (no row, or no covered_until: no sweep has run).
    """

    __tablename__ = "reminder_sweep"
    __table_args__ = (CheckConstraint("id = 1", name="one_row"),)

    id: Mapped[int] = mapped_column(primary_key=True, autoincrement=False)
    # None only while the first sweep, which wrote the row, has not committed.
    covered_until: Mapped[datetime | None]
    swept_at: Mapped[datetime | None]
