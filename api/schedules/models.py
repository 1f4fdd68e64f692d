from __future__ import annotations

import uuid
from datetime import date, datetime
from typing import Any

from sqlalchemy import JSON, ForeignKey, Index
from sqlalchemy.orm import Mapped, mapped_column

from api.db import Base, new_id
from api.enums import enum_column_type
from api.sessions.rules import LocationCategory, SessionKind


class SessionPattern(Base):
    """A recurring plan for one enrolment, e.g. Tuesday 18:00 and Saturday 11:00 for 90 minutes.

    Slots are wall-clock times in the programme's time zone, so 18:00 stays 18:00 across BST and GMT.
    """

    __tablename__ = "session_pattern"

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=new_id)
    enrolment_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("enrolment.id"))
    child_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("child.id"))
    mentor_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("app_user.id"))
    # [{"weekday": 2, "start": "18:00"}, ...]; ISO weekdays, Monday = 1.
    slots: Mapped[list[dict[str, Any]]] = mapped_column(JSON)
    duration_minutes: Mapped[int]
    kind: Mapped[SessionKind] = mapped_column(enum_column_type(SessionKind, "pattern_session_kind"))
    location_category: Mapped[LocationCategory] = mapped_column(
        enum_column_type(LocationCategory, "pattern_location_category")
    )
    starts_on: Mapped[date]
    ends_on: Mapped[date]
    ended_at: Mapped[datetime | None]
    version: Mapped[int] = mapped_column(default=1)
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]


Index("ix_session_pattern_enrolment_id", SessionPattern.enrolment_id)
