from __future__ import annotations

import uuid
from datetime import date, datetime

from sqlalchemy import ForeignKey, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from api.db import Base, new_id
from api.enrolments.rules import Priority
from api.enums import enum_column_type
from api.referrals.rules import ReferralSource, ReferralStatus


class Referral(Base):
    __tablename__ = "referral"

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=new_id)
    child_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("child.id"))
    cohort_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("cohort.id"))
    source: Mapped[ReferralSource] = mapped_column(enum_column_type(ReferralSource, "referral_source"))
    # The referring organisation or team, e.g. "Kent Police, Medway CSE team".
    source_name: Mapped[str] = mapped_column(String(200))
    reason: Mapped[str] = mapped_column(Text)
    priority: Mapped[Priority] = mapped_column(enum_column_type(Priority, "referral_priority"))
    referred_on: Mapped[date]
    status: Mapped[ReferralStatus] = mapped_column(enum_column_type(ReferralStatus, "referral_status"))
    created_at: Mapped[datetime]
    created_by_user_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("app_user.id"))
    decided_at: Mapped[datetime | None]
    decided_by_user_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("app_user.id"))
    decision_reason: Mapped[str | None] = mapped_column(Text)


Index("ix_referral_cohort_id_status", Referral.cohort_id, Referral.status)
Index("ix_referral_child_id", Referral.child_id)
