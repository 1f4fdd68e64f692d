from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import JSON, ForeignKey, Index, String, Text, text
from sqlalchemy.orm import Mapped, mapped_column

from api.alerts.rules import AlertEventKind, AlertKind, AlertState, EscalationStep, Urgency
from api.db import BIG_ID, Base, new_id
from api.enums import enum_column_type


class Alert(Base):
    """Something a coordinator must know of, raised once per child and kind while it is open."""

    __tablename__ = "alert"

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=new_id)
    programme_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("programme.id"))
    # Null for a programme-wide kind (gaps in duty cover).
    child_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("child.id"))
    kind: Mapped[AlertKind] = mapped_column(enum_column_type(AlertKind, "alert_kind"))
    urgency: Mapped[Urgency] = mapped_column(enum_column_type(Urgency, "alert_urgency"))
    state: Mapped[AlertState] = mapped_column(enum_column_type(AlertState, "alert_state"))
    # Names the alert in an SMS and on the phone ("A-7K2QX") without saying anything about the child.
    code: Mapped[str] = mapped_column(String(12), unique=True)
    session_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("mentoring_session.id"))
    # The latest occurrence's detail (a repeat replaces it; the alert's events keep each one).
    detail: Mapped[str] = mapped_column(Text)
    # The check-in whose fall from the baseline raised a wellbeing alert.
    check_in_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("check_in.id"))
    # Null when the system raised it (a check-in the child completed from a link, a scheduled check).
    raised_by_user_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("app_user.id"))
    raised_at: Mapped[datetime]
    # A repeat while open counts here and moves the latest moment, instead of opening another alert.
    occurrences: Mapped[int] = mapped_column(default=1)
    last_raised_at: Mapped[datetime]
    # Who the alert has been sent to so far, and when it goes to the next step if nobody acknowledges it.
    escalation_step: Mapped[EscalationStep | None] = mapped_column(
        enum_column_type(EscalationStep, "alert_escalation_step")
    )
    escalate_at: Mapped[datetime | None]
    acknowledged_at: Mapped[datetime | None]
    acknowledged_by_user_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("app_user.id"))
    acknowledgement_note: Mapped[str | None] = mapped_column(Text)
    resolved_at: Mapped[datetime | None]
    resolved_by_user_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("app_user.id"))
    resolution_note: Mapped[str | None] = mapped_column(Text)
    # What a scheduled check keys its repeats on (the missing episode, the check-in link ...), so it can tell a new
    # occurrence from one it already counted.
    subject: Mapped[dict[str, str] | None] = mapped_column(JSON)


Index("ix_alert_programme_id_acknowledged_at", Alert.programme_id, Alert.acknowledged_at)
Index("ix_alert_child_id", Alert.child_id)
# One open alert per child and kind, and per programme for a programme-wide kind: the database holds it, so two
# requests raising the same alert at once cannot open two.
Index(
    "uq_alert_open_child_kind",
    Alert.child_id,
    Alert.kind,
    unique=True,
    postgresql_where=text("state != 'resolved' AND child_id IS NOT NULL"),
    sqlite_where=text("state != 'resolved' AND child_id IS NOT NULL"),
)
Index(
    "uq_alert_open_programme_kind",
    Alert.programme_id,
    Alert.kind,
    unique=True,
    postgresql_where=text("state != 'resolved' AND child_id IS NULL"),
    sqlite_where=text("state != 'resolved' AND child_id IS NULL"),
)
# The escalation job's query: unacknowledged alerts whose time to escalate has come.
Index(
    "ix_alert_escalate_at",
    Alert.escalate_at,
    postgresql_where=text("escalate_at IS NOT NULL"),
    sqlite_where=text("escalate_at IS NOT NULL"),
)


class AlertEvent(Base):
    """The alert's history, oldest first: raised, repeated, texted to whom, escalated, acknowledged, resolved."""

    __tablename__ = "alert_event"

    id: Mapped[int] = mapped_column(BIG_ID, primary_key=True, autoincrement=True)
    alert_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("alert.id", ondelete="CASCADE"))
    occurred_at: Mapped[datetime]
    event: Mapped[AlertEventKind] = mapped_column(enum_column_type(AlertEventKind, "alert_event_kind"))
    # The person who acted (acknowledged, resolved, raised), or the person an SMS was queued to.
    user_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("app_user.id"))
    detail: Mapped[str | None] = mapped_column(Text)


Index("ix_alert_event_alert_id", AlertEvent.alert_id)
