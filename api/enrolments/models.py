from __future__ import annotations

import uuid
from datetime import date, datetime

from sqlalchemy import ForeignKey, Index, String, Text, text
from sqlalchemy.orm import Mapped, mapped_column

from api.db import Base, new_id
from api.enrolments.rules import EndReason, EnrolmentStatus, Priority
from api.enums import enum_column_type


class Enrolment(Base):
    """A child's place in a cohort, from the waitlist through an offer to active support and its end."""

    __tablename__ = "enrolment"

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=new_id)
    child_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("child.id"))
    cohort_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("cohort.id"))
    # Null when the enrolment came from a move between cohorts rather than a referral.
    referral_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("referral.id"), unique=True)
    moved_from_enrolment_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("enrolment.id"))
    status: Mapped[EnrolmentStatus] = mapped_column(enum_column_type(EnrolmentStatus, "enrolment_status"))
    # Waitlist order keys: a coordinator may raise the priority while the child waits.
    priority: Mapped[Priority] = mapped_column(enum_column_type(Priority, "enrolment_priority"))
    referred_on: Mapped[date]
    # The order this enrolment took its cohort's lock in (1, 2, 3 ... per cohort), given under that lock: places go
    # in this order and it breaks ties on the waitlist, so every answered position stays true. Not created_at,
    # which is read from the request's clock before the lock is taken (issue 17).
    queue_number: Mapped[int]
    created_at: Mapped[datetime]
    offered_at: Mapped[datetime | None]
    offer_expires_at: Mapped[datetime | None]
    started_at: Mapped[datetime | None]
    planned_end_on: Mapped[date | None]
    ended_at: Mapped[datetime | None]
    end_reason: Mapped[EndReason | None] = mapped_column(enum_column_type(EndReason, "enrolment_end_reason"))
    end_note: Mapped[str | None] = mapped_column(Text)
    last_changed_by_user_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("app_user.id"))
    # For a coordinator's reading: "offer lapsed", "withdrawn from waitlist: family moved" ...
    status_note: Mapped[str | None] = mapped_column(String(500))


Index("ix_enrolment_cohort_id_status", Enrolment.cohort_id, Enrolment.status)
Index("uq_enrolment_cohort_id_queue_number", Enrolment.cohort_id, Enrolment.queue_number, unique=True)
# A child is in at most one cohort (or one waitlist) at a time.
Index(
    "uq_enrolment_child_id_open",
    Enrolment.child_id,
    unique=True,
    postgresql_where=text("status IN ('waitlisted', 'offered', 'active')"),
    sqlite_where=text("status IN ('waitlisted', 'offered', 'active')"),
)
