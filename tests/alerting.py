"""Helpers for the alert tests (delivery, escalation, races, sync): a concern logged over HTTP, the scheduler's
job context with coordinator quiet hours, and readers for an alert's SMS and history."""

from __future__ import annotations

import time as monotonic_time
import uuid
from datetime import datetime, time, timedelta
from typing import Any

from sqlalchemy import func, select, text
from sqlalchemy.orm import Session, sessionmaker

from api.alerts.models import Alert, AlertEvent
from api.changes.models import ChangeEvent
from api.clock import Clock
from api.enrolments.models import Enrolment
from api.outbox.models import OutboundMessage
from api.outbox.rules import RecipientType
from api.sms.dispatch import DispatchSettings
from api.sms.rules import DEFAULT_QUIET_HOURS, QuietHours
from api.wellbeing.instruments import SHIPPED_INSTRUMENTS, load_instruments
from notifications.fake import FakeSmsSender
from notifications.port import SmsSender
from scheduling.jobs import JobContext
from tests.conftest import SECRET_KEY

CONCERN = "Said an older boy has been asking them to carry parcels."
# Coordinators asleep from 21:00 to 08:00: only an urgent alert may wake them.
COORDINATOR_QUIET_HOURS: dict[RecipientType, QuietHours | None] = {
    **DEFAULT_QUIET_HOURS,
    RecipientType.COORDINATOR: QuietHours(time(21, 0), time(8, 0)),
}
URGENT_TEXT = r"Reachable: urgent safeguarding alert A-[0-9A-HJKMNP-TV-Z]{5} needs you now\. Open the app\."


def job_context(session_factory: sessionmaker[Session], clock: Clock, sender: SmsSender | None = None) -> JobContext:
    instruments = load_instruments(SHIPPED_INSTRUMENTS, licensed_wording_file=None)
    dispatch = DispatchSettings(
        sender=sender or FakeSmsSender(),
        secret_key=SECRET_KEY,
        public_base_url="https://checkin.example.org",
        status_callback_url=None,
        quiet_hours=COORDINATOR_QUIET_HOURS,
    )
    return JobContext(session_factory, clock, SECRET_KEY, instruments, dispatch)


def concern_body(enrolment: Enrolment, start: datetime, detail: str = CONCERN, **fields: Any) -> dict[str, Any]:
    """A one-to-one session that has happened, logged as completed with a safeguarding concern."""
    return {
        "enrolment_ids": [str(enrolment.id)],
        "kind": "one_to_one",
        "location_category": "community_venue",
        "planned_start_at": start.isoformat(),
        "planned_end_at": (start + timedelta(hours=1)).isoformat(),
        "status": "completed",
        "safeguarding_concern": detail,
    } | fields


def alerts_of(db_session: Session, child_id: uuid.UUID | None = None) -> list[Alert]:
    query = select(Alert).order_by(Alert.raised_at, Alert.id).execution_options(populate_existing=True)
    if child_id is not None:
        query = query.where(Alert.child_id == child_id)
    return list(db_session.scalars(query))


def messages_of(db_session: Session, alert_id: uuid.UUID | None = None) -> list[OutboundMessage]:
    query = (
        select(OutboundMessage)
        .order_by(OutboundMessage.created_at, OutboundMessage.dedupe_key)
        .execution_options(populate_existing=True)
    )
    if alert_id is not None:
        query = query.where(OutboundMessage.alert_id == alert_id)
    return list(db_session.scalars(query))


def history(db_session: Session, alert_id: uuid.UUID) -> list[tuple[str, uuid.UUID | None]]:
    """The alert's events, oldest first: (event, the person it names)."""
    rows = db_session.execute(
        select(AlertEvent.event, AlertEvent.user_id).where(AlertEvent.alert_id == alert_id).order_by(AlertEvent.id)
    ).all()
    return [(str(event), user_id) for event, user_id in rows]


def events(db_session: Session, alert_id: uuid.UUID) -> list[str]:
    return [event for event, _ in history(db_session, alert_id)]


def settle(db_session: Session) -> None:
    """PostgreSQL's GET /sync serves a change once every older write transaction on the server has finished: wait
    for that, so another test's open transaction only slows a sync test down (as tests/api/test_sync.py does)."""
    if db_session.get_bind().dialect.name != "postgresql":
        return
    deadline = monotonic_time.monotonic() + 60
    while True:
        newest = db_session.scalar(select(func.max(ChangeEvent.txid)))
        horizon = db_session.scalar(text("SELECT pg_snapshot_xmin(pg_current_snapshot())::text::bigint"))
        db_session.rollback()
        if newest is None or horizon > newest or monotonic_time.monotonic() > deadline:
            return
        monotonic_time.sleep(0.05)
