from __future__ import annotations

import uuid
from datetime import date, datetime

from sqlalchemy import CheckConstraint, ForeignKey, Index, Numeric, String, Text, text
from sqlalchemy.orm import Mapped, mapped_column

from api.db import Base, new_id
from api.enums import enum_column_type
from api.outcomes.rules import OutcomeEventType, OutcomeSource

# Money and indices are NUMERIC in the database; they are read back as floats (SQLite has no decimal type and
# SQLAlchemy warns when asked for Decimals from it) and turned into Decimals from their text in the service.
MONEY = Numeric(12, 2, asdecimal=False)
INDEX = Numeric(10, 4, asdecimal=False)


class OutcomeEvent(Base):
    """A dated arrest, police call-out, missing episode or exclusion of one child, and where it is known from.

    Removing an event voids it (voided_at): it stops counting but stays, with who removed it, for the record."""

    __tablename__ = "outcome_event"

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=new_id)
    child_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("child.id"))
    event_type: Mapped[OutcomeEventType] = mapped_column(enum_column_type(OutcomeEventType, "outcome_event_type"))
    occurred_on: Mapped[date]
    source: Mapped[OutcomeSource] = mapped_column(enum_column_type(OutcomeSource, "outcome_source"))
    source_detail: Mapped[str | None] = mapped_column(String(200))
    # The missing episode this event counts, when it was recorded in api/missing too.
    missing_episode_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("missing_episode.id"))
    recorded_at: Mapped[datetime]
    recorded_by_user_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("app_user.id"))
    voided_at: Mapped[datetime | None]
    voided_by_user_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("app_user.id"))


Index("ix_outcome_event_child_id_occurred_on", OutcomeEvent.child_id, OutcomeEvent.occurred_on)
# One event of a type from a source per child per day (see rules.EventKey), so an extract imported twice, or
# two imports racing, cannot count anything twice.
Index(
    "uq_outcome_event_child_id_event_current",
    OutcomeEvent.child_id,
    OutcomeEvent.event_type,
    OutcomeEvent.occurred_on,
    OutcomeEvent.source,
    unique=True,
    postgresql_where=text("voided_at IS NULL"),
    sqlite_where=text("voided_at IS NULL"),
)
Index(
    "uq_outcome_event_missing_episode_id_current",
    OutcomeEvent.missing_episode_id,
    unique=True,
    postgresql_where=text("missing_episode_id IS NOT NULL AND voided_at IS NULL"),
    sqlite_where=text("missing_episode_id IS NOT NULL AND voided_at IS NULL"),
)


class OutcomeSetting(Base):
    """A programme's choices for outcome reporting; a programme without a row takes the defaults."""

    __tablename__ = "outcome_setting"
    __table_args__ = (CheckConstraint("baseline_months BETWEEN 1 AND 36", name="baseline_months_in_range"),)

    programme_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("programme.id"), primary_key=True)
    baseline_months: Mapped[int]
    # The unit cost item that prices a fixed-term exclusion; null leaves them unmonetised (docs/domain.md).
    fixed_term_exclusion_cost_code: Mapped[str | None] = mapped_column(String(40))
    updated_at: Mapped[datetime]
    updated_by_user_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("app_user.id"))


class UnitCost(Base):
    """One version of one unit cost item. A new figure for an item is a new version; the highest is in force,
    and earlier ones stay so an estimate made with them can be explained."""

    __tablename__ = "unit_cost"
    __table_args__ = (
        CheckConstraint("version > 0", name="version_positive"),
        CheckConstraint("value_low >= 0 AND value_low <= value_high", name="values_in_order"),
    )

    item_code: Mapped[str] = mapped_column(String(40), primary_key=True)
    version: Mapped[int] = mapped_column(primary_key=True)
    description: Mapped[str] = mapped_column(Text)
    # A single figure has low = high; a published range (the Portsmouth missing person figure) keeps both ends.
    value_low: Mapped[float] = mapped_column(MONEY)
    value_high: Mapped[float] = mapped_column(MONEY)
    unit: Mapped[str] = mapped_column(String(80))
    # The financial year the figure is priced in, e.g. "2006/07".
    price_year: Mapped[str] = mapped_column(String(7))
    source: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime]


class DeflatorSeries(Base):
    """One published GDP deflator series (a release rebases every year, so series are kept whole, never mixed)."""

    __tablename__ = "deflator_series"

    name: Mapped[str] = mapped_column(String(60), primary_key=True)
    published_on: Mapped[date]
    base_year: Mapped[str] = mapped_column(String(7))
    source: Mapped[str] = mapped_column(Text)


class DeflatorIndex(Base):
    __tablename__ = "deflator_index"

    series_name: Mapped[str] = mapped_column(ForeignKey("deflator_series.name"), primary_key=True)
    financial_year: Mapped[str] = mapped_column(String(7), primary_key=True)
    index_value: Mapped[float] = mapped_column(INDEX)
