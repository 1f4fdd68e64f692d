from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import ForeignKey, Index, text
from sqlalchemy.orm import Mapped, mapped_column

from api.caseloads.rules import AllocationEndReason
from api.db import Base, new_id
from api.enums import enum_column_type


class Allocation(Base):
    """A mentor (key worker) allocated to one enrolment for a span of time."""

    __tablename__ = "allocation"

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=new_id)
    enrolment_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("enrolment.id"))
    mentor_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("app_user.id"))
    started_at: Mapped[datetime]
    started_by_user_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("app_user.id"))
    ended_at: Mapped[datetime | None]
    ended_by_user_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("app_user.id"))
    end_reason: Mapped[AllocationEndReason | None] = mapped_column(
        enum_column_type(AllocationEndReason, "allocation_end_reason")
    )


Index(
    "uq_allocation_enrolment_id_current",
    Allocation.enrolment_id,
    unique=True,
    postgresql_where=text("ended_at IS NULL"),
    sqlite_where=text("ended_at IS NULL"),
)
Index("ix_allocation_mentor_id_ended_at", Allocation.mentor_id, Allocation.ended_at)
