"""Coordinators see their programme's alerts and acknowledge them."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from api.actors import Actor, Role
from api.alerts import errors
from api.alerts.models import Alert
from api.audit import service as audit
from api.changes.rules import EntityType
from api.changes.service import record_change
from api.db import use_case


@use_case
def list_alerts(db_session: Session, *, actor: Actor, acknowledged: bool | None, now: datetime) -> Sequence[Alert]:
    query = select(Alert).order_by(Alert.raised_at.desc(), Alert.id)
    if actor.role is not Role.ADMIN:
        query = query.where(Alert.programme_id == actor.programme_id)
    if acknowledged is not None:
        query = query.where(Alert.acknowledged_at.is_not(None) if acknowledged else Alert.acknowledged_at.is_(None))
    alerts = db_session.scalars(query).all()
    audit.record_many(
        db_session,
        actor=actor,
        action="alert.list",
        of=Alert,
        records=[(alert.id, alert.child_id) for alert in alerts],
        now=now,
    )
    return alerts


@use_case
def acknowledge_alert(db_session: Session, *, actor: Actor, alert_id: uuid.UUID, note: str, now: datetime) -> Alert:
    alert = db_session.scalar(select(Alert).where(Alert.id == alert_id).with_for_update())
    if alert is None or not actor.sees_programme(alert.programme_id):
        raise errors.AlertNotFound()
    if alert.acknowledged_at is not None:
        raise errors.AlertAlreadyAcknowledged()
    alert.acknowledged_at = now
    alert.acknowledged_by_user_id = actor.user_id
    alert.acknowledgement_note = note.strip()
    record_change(db_session, entity_type=EntityType.ALERT, entity_id=alert.id, child_id=alert.child_id, now=now)
    audit.record(
        db_session,
        actor=actor,
        action="alert.acknowledge",
        record=alert,
        child_id=alert.child_id,
        now=now,
    )
    return alert
