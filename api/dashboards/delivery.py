"""The delivery dashboard: sessions planned in a period by what happened, when delivered sessions fall
(evenings, weekends), and dosage (attendances per child-week of support). Read-only: no writes."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from sqlalchemy.orm import Session

from api.actors import Actor
from api.dashboards import queries, rules
from api.dashboards.capacity import occupied_place_days
from api.dashboards.page_reads import PageReads
from api.dashboards.scope import DashboardRequest, Filters, narrowing, resolve_scope
from api.sessions.rules import SessionStatus


@dataclass(frozen=True)
class DeliveryDashboard:
    filters: Filters
    planned: int | str
    delivered: int | str
    missed: int | str
    cancelled: int | str
    not_yet_recorded: int | str
    evening_share: Decimal | None
    weekend_share: Decimal | None
    children_seen: int | str
    attendances: int | str
    missed_attendances: int | str
    child_weeks_of_support: Decimal | None
    sessions_per_child_per_week: Decimal | None


def delivery_dashboard(
    db_session: Session,
    *,
    actor: Actor,
    request: DashboardRequest,
    suppression_threshold: int,
    now: datetime,
    page: PageReads | None = None,
) -> DeliveryDashboard:
    """Sessions planned to start in the period, by what happened; evening and weekend shares of delivered
    sessions (programme time); and dosage: children's attendances at delivered sessions per week of support. Sessions
    are counted by what became of them; children, by their line of the register: a group session held counts as
    attended only by the children marked so, and a child marked did-not-attend there as a missed attendance.
    `page`: the page's reads, made once for all its periods."""
    scope = resolve_scope(
        db_session, actor=actor, request=request, suppression_threshold=suppression_threshold, now=now
    )
    shown = scope.disclosure
    if page is not None:
        by_status = page.sessions[scope.period.since, scope.period.until]
    else:
        window = {"starts_at": scope.starts_at, "ends_before": scope.ends_before, **narrowing(scope)}
        by_status = queries.count_sessions(db_session, **window)  # type: ignore[arg-type]
    # A rescheduled session is replaced by its new one, which is counted in its own right.
    planned = sum(counts.sessions for status, counts in by_status.items() if status is not SessionStatus.RESCHEDULED)
    completed = by_status[SessionStatus.COMPLETED]
    delivered, evening, weekend = completed.sessions, completed.evening, completed.weekend
    attendances, children = completed.attendances, completed.children
    missed_attendances = completed.missed_attendances + by_status[SessionStatus.DID_NOT_ATTEND].missed_attendances
    cancelled = (
        by_status[SessionStatus.CANCELLED_BY_CHILD].sessions + by_status[SessionStatus.CANCELLED_BY_MENTOR].sessions
    )
    place_days, spells = occupied_place_days(db_session, scope, page.spells if page else None)
    supported = sum(spells.values())
    child_weeks = rules.ratio(sum(place_days.values()), 7, "0.01")
    return DeliveryDashboard(
        filters=scope.filters,
        planned=shown.count(planned),
        delivered=shown.count(delivered),
        missed=shown.count(by_status[SessionStatus.DID_NOT_ATTEND].sessions),
        cancelled=shown.count(cancelled),
        not_yet_recorded=shown.count(by_status[SessionStatus.PLANNED].sessions),
        evening_share=shown.derived(rules.ratio(evening, delivered), evening, delivered),
        weekend_share=shown.derived(rules.ratio(weekend, delivered), weekend, delivered),
        children_seen=shown.count(children),
        attendances=shown.count(attendances),
        missed_attendances=shown.count(missed_attendances),
        child_weeks_of_support=shown.derived(child_weeks, supported),
        sessions_per_child_per_week=shown.derived(
            rules.ratio(attendances, child_weeks, "0.01") if child_weeks else None, attendances, supported
        ),
    )
