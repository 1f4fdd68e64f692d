from __future__ import annotations

import uuid
from datetime import datetime
from decimal import Decimal

from sqlalchemy import JSON, CheckConstraint, ForeignKey, Index, Numeric, String, Text, UniqueConstraint, text
from sqlalchemy.orm import Mapped, mapped_column

from api.db import Base, new_id
from api.enums import enum_column_type
from api.wellbeing.goal_rules import GoalStatus
from api.wellbeing.schedule import InvitationReason
from api.wellbeing.scoring import CheckInChannel, ScoreKind


class Goal(Base):
    """One of a child's goals, in their own words. Ended goals stay, with their ratings, as history."""

    __tablename__ = "goal"
    __table_args__ = (
        CheckConstraint("slot BETWEEN 1 AND 3", name="slot_one_to_three"),
        CheckConstraint("(status = 'active') = (ended_at IS NULL)", name="ended_unless_active"),
    )

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=new_id)
    child_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("child.id"))
    # Its place among the child's active goals: rated as Goal Based Outcomes item goal_<slot>.
    slot: Mapped[int]
    description: Mapped[str] = mapped_column(String(200))
    status: Mapped[GoalStatus] = mapped_column(enum_column_type(GoalStatus, "goal_status"))
    # A changed goal points to the goal that took its place.
    replaced_by_goal_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("goal.id"))
    created_at: Mapped[datetime]
    created_by_user_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("app_user.id"))
    ended_at: Mapped[datetime | None]
    ended_by_user_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("app_user.id"))
    end_note: Mapped[str | None] = mapped_column(Text)
    version: Mapped[int] = mapped_column(default=1)


Index("ix_goal_child_id_created_at", Goal.child_id, Goal.created_at)
# At most one active goal in each of the three places: the database holds the limit of three under races.
Index(
    "uq_goal_child_id_slot_active",
    Goal.child_id,
    Goal.slot,
    unique=True,
    postgresql_where=text("status = 'active'"),
    sqlite_where=text("status = 'active'"),
)


class CheckInInvitation(Base):
    """A one-time link to a check-in, sent by SMS. The token is never stored: only its hash, to find it by."""

    __tablename__ = "check_in_invitation"
    __table_args__ = (UniqueConstraint("child_id", "occasion", name="uq_check_in_invitation_child_id_occasion"),)

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=new_id)
    child_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("child.id"))
    # Random, and with the server's key it derives the token (so a resent SMS carries the same link).
    token_nonce: Mapped[str] = mapped_column(String(64))
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    instrument_keys: Mapped[list[str]] = mapped_column(JSON)
    reason: Mapped[InvitationReason] = mapped_column(enum_column_type(InvitationReason, "invitation_reason"))
    # Scheduled links name their occasion ("enrolment:<id>:periodic:2") so none is created twice.
    occasion: Mapped[str | None] = mapped_column(String(80))
    created_at: Mapped[datetime]
    # Null when the programme's schedule created it.
    created_by_user_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("app_user.id"))
    expires_at: Mapped[datetime]
    completed_at: Mapped[datetime | None]
    revoked_at: Mapped[datetime | None]


Index("ix_check_in_invitation_child_id_created_at", CheckInInvitation.child_id, CheckInInvitation.created_at)


class CheckIn(Base):
    """One completed instrument: every answer, the raw and derived scores, and how it was completed."""

    __tablename__ = "check_in"

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=new_id)
    child_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("child.id"))
    instrument_key: Mapped[str] = mapped_column(String(40))
    instrument_version: Mapped[str] = mapped_column(String(20))
    channel: Mapped[CheckInChannel] = mapped_column(enum_column_type(CheckInChannel, "check_in_channel"))
    invitation_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("check_in_invitation.id"))
    session_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("mentoring_session.id"))
    completed_at: Mapped[datetime]
    # Null when the child completed it from a link.
    recorded_by_user_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("app_user.id"))


Index(
    "ix_check_in_child_id_instrument_key_completed_at", CheckIn.child_id, CheckIn.instrument_key, CheckIn.completed_at
)


class CheckInResponse(Base):
    """One answer to one item. A goal rating also names the goal, since a place can hold another goal later."""

    __tablename__ = "check_in_response"
    __table_args__ = (UniqueConstraint("check_in_id", "item_key", name="uq_check_in_response_check_in_id_item_key"),)

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=new_id)
    check_in_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("check_in.id", ondelete="CASCADE"))
    item_key: Mapped[str] = mapped_column(String(40))
    response: Mapped[int]
    goal_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("goal.id"))


Index("ix_check_in_response_goal_id", CheckInResponse.goal_id)


class CheckInScore(Base):
    """One score of one check-in as computed when it was completed: raw (each item, or SWEMWBS's "total") or
    derived (what change is measured on: each item, SWEMWBS's "metric", each goal and the goals' "mean")."""

    __tablename__ = "check_in_score"
    __table_args__ = (
        UniqueConstraint("check_in_id", "kind", "measure", name="uq_check_in_score_check_in_id_kind_measure"),
    )

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=new_id)
    check_in_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("check_in.id", ondelete="CASCADE"))
    kind: Mapped[ScoreKind] = mapped_column(enum_column_type(ScoreKind, "score_kind"))
    measure: Mapped[str] = mapped_column(String(40))
    value: Mapped[Decimal] = mapped_column(Numeric(8, 2))
    # Copied from the check-in, which never changes, so the wellbeing dashboard reads a programme's scores from
    # one index (child, measure, time) instead of visiting every check-in row (migration 7c1d2e3f4a5b).
    child_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("child.id"))
    instrument_key: Mapped[str] = mapped_column(String(40))
    completed_at: Mapped[datetime]


Index(
    "ix_check_in_score_child_id_kind_measure_completed_at",
    CheckInScore.child_id,
    CheckInScore.kind,
    CheckInScore.instrument_key,
    CheckInScore.measure,
    CheckInScore.completed_at,
    postgresql_include=["value"],
)
