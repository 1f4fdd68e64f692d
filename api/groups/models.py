from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import CheckConstraint, ForeignKey, Index, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from api.db import Base, new_id


class GroupSeries(Base):
    """A run of group sessions (for example eight, weekly) with one or two facilitators and a capacity. Its sessions
    are mentoring_session rows of kind group with `series_id` set; the lead facilitator leads each of them."""

    __tablename__ = "group_series"
    __table_args__ = (
        UniqueConstraint("programme_id", "name", name="uq_group_series_programme_id_name"),
        CheckConstraint("capacity > 0", name="capacity_positive"),
        CheckConstraint("complete_after_sessions > 0", name="complete_after_sessions_positive"),
        CheckConstraint(
            "co_facilitator_id IS NULL OR co_facilitator_id <> lead_facilitator_id", name="two_different_facilitators"
        ),
    )

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=new_id)
    programme_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("programme.id"))
    name: Mapped[str] = mapped_column(String(120))
    # Children on the roster at any one time.
    capacity: Mapped[int]
    # A child who attended at least this many of the series' sessions completed it (K of N).
    complete_after_sessions: Mapped[int]
    lead_facilitator_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("app_user.id"))
    co_facilitator_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("app_user.id"))
    # The ETag: a stale edit is refused, not applied.
    version: Mapped[int] = mapped_column(default=1)
    created_at: Mapped[datetime]
    created_by_user_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("app_user.id"))
    updated_at: Mapped[datetime]
    updated_by_user_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("app_user.id"))


Index("ix_group_series_lead_facilitator_id", GroupSeries.lead_facilitator_id)
Index("ix_group_series_co_facilitator_id", GroupSeries.co_facilitator_id)


class SeriesMember(Base):
    """A child on a series' roster, through the enrolment that holds their place (in a one-to-one cohort or a
    group-only one). Leaving keeps the row (left_at) so attendance and completion stay explained."""

    __tablename__ = "series_member"

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=new_id)
    series_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("group_series.id"))
    enrolment_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("enrolment.id"))
    child_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("child.id"))
    joined_at: Mapped[datetime]
    joined_by_user_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("app_user.id"))
    left_at: Mapped[datetime | None]
    left_by_user_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("app_user.id"))


# A child is on a series' roster once at a time (they may leave and join again).
Index(
    "uq_series_member_series_id_child_id_current",
    SeriesMember.series_id,
    SeriesMember.child_id,
    unique=True,
    postgresql_where=SeriesMember.left_at.is_(None),
    sqlite_where=SeriesMember.left_at.is_(None),
)
Index("ix_series_member_child_id", SeriesMember.child_id)
Index("ix_series_member_enrolment_id", SeriesMember.enrolment_id)
