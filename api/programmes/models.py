from __future__ import annotations

import uuid
from dataclasses import asdict
from datetime import datetime, time

from sqlalchemy import JSON, CheckConstraint, ForeignKey, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from api.db import Base, new_id
from api.enums import enum_column_type
from api.programmes.rules import CohortKind, thresholds_from


class Programme(Base):
    __tablename__ = "programme"
    __table_args__ = (
        CheckConstraint("offer_lapse_hours > 0", name="offer_lapse_hours_positive"),
        CheckConstraint("check_in_every_weeks > 0", name="check_in_every_weeks_positive"),
        CheckConstraint("check_in_link_hours > 0", name="check_in_link_hours_positive"),
        CheckConstraint("reminder_hours_before > 0", name="reminder_hours_before_positive"),
    )

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=new_id)
    name: Mapped[str] = mapped_column(String(200), unique=True)
    time_zone: Mapped[str] = mapped_column(String(64))
    # How long a coordinator has to confirm a place offered from the waitlist before it passes on.
    offer_lapse_hours: Mapped[int]
    # The districts children are recorded against, so reports group on one spelling of each.
    districts: Mapped[list[str]] = mapped_column(JSON)
    # What a mentor can tick when logging a session; the programme decides the list.
    session_activities: Mapped[list[str]] = mapped_column(JSON, default=list)
    # The check-in routine (issue 4): which instruments a link asks, when links go out, how long they work.
    check_in_instruments: Mapped[list[str]] = mapped_column(JSON, default=lambda: ["ons4"])
    check_in_at_enrolment: Mapped[bool] = mapped_column(default=True)
    # No column default: null (no periodic links) must be storable; the service and the schema default to 4.
    check_in_every_weeks: Mapped[int | None]
    check_in_at_end: Mapped[bool] = mapped_column(default=True)
    check_in_link_hours: Mapped[int] = mapped_column(default=72)
    # SMS reminders of sessions: the day before at this local time, and this many hours before (null: not sent).
    # (No column defaults: null must be storable. A new programme gets 17:00 and 2 from the service.)
    reminder_day_before_at: Mapped[time | None]
    reminder_hours_before: Mapped[int | None]
    # Shown on the thank-you page after a check-in from a link: where to get help now (plain text).
    check_in_help_text: Mapped[str | None] = mapped_column(Text)
    # What differs from the alert thresholds' defaults (api/alerts/rules.py, AlertThresholds); null: none does.
    alert_thresholds: Mapped[dict[str, int] | None] = mapped_column(JSON)
    created_at: Mapped[datetime]

    @property
    def alert_settings(self) -> dict[str, int]:
        """Every alert threshold in force for the programme: its own where set, the defaults elsewhere."""
        return asdict(thresholds_from(self.alert_thresholds))


class Cohort(Base):
    """A group of children in a programme with a fixed number of places at any one time."""

    __tablename__ = "cohort"
    __table_args__ = (
        UniqueConstraint("programme_id", "name", name="uq_cohort_programme_id_name"),
        CheckConstraint("places >= 0", name="places_not_negative"),
        CheckConstraint("max_sessions_per_week > 0", name="max_sessions_per_week_positive"),
        CheckConstraint("planned_weeks > 0", name="planned_weeks_positive"),
    )

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=new_id)
    programme_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("programme.id"))
    name: Mapped[str] = mapped_column(String(80))
    kind: Mapped[CohortKind] = mapped_column(enum_column_type(CohortKind, "cohort_kind"), default=CohortKind.ONE_TO_ONE)
    places: Mapped[int]
    max_sessions_per_week: Mapped[int]
    planned_weeks: Mapped[int]
    created_at: Mapped[datetime]
