"""The time-to-acknowledge dashboard: per urgency, the alerts raised in a period, how many were acknowledged and how
fast (median, 90th percentile), and how many still wait, the oldest for how long. Read-only: no writes.

An alert's urgency comes from its kind (api.alerts.rules.URGENCY), so every urgency is answered, none raised or not.
Alerts belong to the programme, not to a cohort or district (some are about no one child), so those filters do not
apply. Commissioners get the counts with small numbers suppressed and the times derived from them withheld.
"""

from __future__ import annotations

import dataclasses
from collections import defaultdict
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from sqlalchemy.orm import Session

from api.actors import Actor
from api.alerts.rules import URGENCY, Urgency
from api.dashboards import queries, rules
from api.dashboards.scope import DashboardRequest, Filters, resolve_scope


@dataclass(frozen=True)
class UrgencyAcknowledgement:
    urgency: Urgency
    raised: int | str
    acknowledged: int | str
    median_minutes: Decimal | None
    p90_minutes: Decimal | None
    unacknowledged: int | str
    oldest_unacknowledged_minutes: Decimal | None


@dataclass(frozen=True)
class AcknowledgementDashboard:
    filters: Filters
    urgencies: tuple[UrgencyAcknowledgement, ...]  # urgent, high, normal: every one, in that order


def acknowledgement_dashboard(
    db_session: Session, *, actor: Actor, request: DashboardRequest, suppression_threshold: int, now: datetime
) -> AcknowledgementDashboard:
    """Per urgency, the alerts raised in the period (programme time): raised, acknowledged by now, median and 90th
    percentile minutes from raised to acknowledged, and still unacknowledged with the oldest one's age now."""
    scope = resolve_scope(
        db_session, actor=actor, request=request, suppression_threshold=suppression_threshold, now=now
    )
    shown = scope.disclosure
    by_urgency: dict[Urgency, list[tuple[datetime, datetime | None]]] = defaultdict(list)
    for kind, raised_at, acknowledged_at in queries.list_alerts_raised(
        db_session, programme_id=scope.programme.id, starts_at=scope.starts_at, ends_before=scope.ends_before
    ):
        by_urgency[URGENCY[kind]].append((raised_at, acknowledged_at))
    rows = []
    for urgency in Urgency:
        times = rules.acknowledgement_times(by_urgency[urgency], now=now)
        rows.append(
            UrgencyAcknowledgement(
                urgency=urgency,
                raised=shown.count(times.raised),
                acknowledged=shown.count(times.acknowledged),
                median_minutes=shown.derived(times.median_minutes, times.raised, times.acknowledged),
                p90_minutes=shown.derived(times.p90_minutes, times.raised, times.acknowledged),
                unacknowledged=shown.count(times.unacknowledged),
                oldest_unacknowledged_minutes=shown.derived(
                    times.oldest_unacknowledged_minutes, times.raised, times.unacknowledged
                ),
            )
        )
    # Programme-wide, so only the period is echoed with the programme.
    return AcknowledgementDashboard(dataclasses.replace(scope.filters, cohort_id=None, district=None), tuple(rows))
