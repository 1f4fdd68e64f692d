"""Figures read from the database at scrape time: whichever process serves /metrics, the same numbers.

A custom collector, built for one scrape with that request's db_session and time. If the database cannot answer,
the scrape still succeeds with reachable_database_up 0 (the process's own instruments stay useful then).
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from datetime import datetime

from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector
from sqlalchemy import func, select
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session

from api.alerts.models import Alert
from api.alerts.rules import AlertState, Urgency
from api.health import service as health_service
from api.health.rules import JobTiming
from api.outbox.models import OutboundMessage
from api.outbox.rules import MessageState


class DatabaseFigures(Collector):
    def __init__(self, db_session: Session, *, jobs: Sequence[JobTiming], now: datetime) -> None:
        self.db_session = db_session
        self.jobs = jobs
        self.now = now

    def collect(self) -> Iterator[GaugeMetricFamily]:
        try:
            families = [*self._outbox(), *self._alerts(), *self._scheduler()]
        except SQLAlchemyError:  # the session is rolled back and closed with the scrape's request (api/db.py)
            families = []
        up = GaugeMetricFamily("reachable_database_up", "1 when the database answered this scrape's queries")
        up.add_metric([], 1 if families else 0)
        yield up
        yield from families

    def _outbox(self) -> list[GaugeMetricFamily]:
        by_state = dict(
            self.db_session.execute(select(OutboundMessage.state, func.count()).group_by(OutboundMessage.state)).all()
        )
        messages = GaugeMetricFamily("reachable_outbox_messages", "SMS in the outbox, by state", labels=["state"])
        for state in MessageState:
            messages.add_metric([state.value], by_state.get(state, 0))
        oldest_due = dict(
            self.db_session.execute(
                select(OutboundMessage.urgent, func.min(OutboundMessage.send_after))
                .where(OutboundMessage.state == MessageState.QUEUED, OutboundMessage.send_after <= self.now)
                .group_by(OutboundMessage.urgent)
            ).all()
        )
        age = GaugeMetricFamily(
            "reachable_outbox_oldest_due_age_seconds",
            "How long the oldest queued SMS that is due has waited past its send time (0: none is waiting)",
            labels=["urgent"],
        )
        for urgent in (False, True):
            since = oldest_due.get(urgent)
            age.add_metric([str(urgent).lower()], (self.now - since).total_seconds() if since else 0.0)
        return [messages, age]

    def _alerts(self) -> list[GaugeMetricFamily]:
        counts = self.db_session.execute(
            select(Alert.urgency, Alert.state, func.count(), func.min(Alert.raised_at))
            .where(Alert.state != AlertState.RESOLVED)
            .group_by(Alert.urgency, Alert.state)
        ).all()
        open_alerts = GaugeMetricFamily(
            "reachable_alerts_open", "Alerts not yet resolved, by urgency", labels=["urgency"]
        )
        unacknowledged = GaugeMetricFamily(
            "reachable_alerts_unacknowledged", "Alerts no one has acknowledged yet, by urgency", labels=["urgency"]
        )
        oldest = GaugeMetricFamily(
            "reachable_alerts_oldest_unacknowledged_age_seconds",
            "How long the oldest unacknowledged alert has waited since it was raised (0: none), by urgency",
            labels=["urgency"],
        )
        for urgency in Urgency:
            rows = [row for row in counts if row[0] is urgency]
            open_alerts.add_metric([urgency.value], sum(row[2] for row in rows))
            raised = [row for row in rows if row[1] is AlertState.RAISED]
            unacknowledged.add_metric([urgency.value], sum(row[2] for row in raised))
            since = min((row[3] for row in raised), default=None)
            oldest.add_metric([urgency.value], (self.now - since).total_seconds() if since else 0.0)
        return [open_alerts, unacknowledged, oldest]

    def _scheduler(self) -> list[GaugeMetricFamily]:
        health = health_service.scheduler_health(self.db_session, jobs=self.jobs, now=self.now)
        last_success = GaugeMetricFamily(
            "reachable_scheduler_job_last_success_timestamp_seconds",
            "When each scheduler job last succeeded (Unix time; absent: never)",
            labels=["job"],
        )
        duration = GaugeMetricFamily(
            "reachable_scheduler_job_last_duration_seconds", "How long each job's last finished run took",
            labels=["job"],
        )  # fmt: skip
        interval = GaugeMetricFamily(
            "reachable_scheduler_job_interval_seconds", "How often each job is meant to run", labels=["job"]
        )
        late = GaugeMetricFamily(
            "reachable_scheduler_job_late",
            "1 when a job has not succeeded within twice its interval, or never has (api/health/rules.py)",
            labels=["job"],
        )
        for job in health.jobs:
            if job.last_succeeded_at is not None:
                last_success.add_metric([job.name], job.last_succeeded_at.timestamp())
            if job.last_duration_ms is not None:
                duration.add_metric([job.name], job.last_duration_ms / 1000)
            interval.add_metric([job.name], job.every_seconds)
            late.add_metric([job.name], 1 if job.late else 0)
        return [last_success, duration, interval, late]
