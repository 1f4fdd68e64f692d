from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import ForeignKey, Index, Text
from sqlalchemy.orm import Mapped, mapped_column

from api.alerts.rules import AlertKind
from api.db import Base, new_id
from api.enums import enum_column_type


class Alert(Base):
    __tablename__ = "alert"

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=new_id)
    programme_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("programme.id"))
    child_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("child.id"))
    kind: Mapped[AlertKind] = mapped_column(enum_column_type(AlertKind, "alert_kind"))
    session_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("mentoring_session.id"))
    detail: Mapped[str] = mapped_column(Text)
    # The check-in whose fall from the baseline raised a wellbeing alert.
    check_in_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("check_in.id"))
    # Null when the system raised it (a check-in the child completed from a link).
    raised_by_user_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("app_user.id"))
    raised_at: Mapped[datetime]
    acknowledged_at: Mapped[datetime | None]
    acknowledged_by_user_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("app_user.id"))
    acknowledgement_note: Mapped[str | None] = mapped_column(Text)


Index("ix_alert_programme_id_acknowledged_at", Alert.programme_id, Alert.acknowledged_at)
Index("ix_alert_child_id", Alert.child_id)
