"""The group-delivery dashboard: the group series run in a period, the children starting and completing them, and
attendance and carers at each of their sessions. Read-only: no writes; three statements whatever the number of
series and sessions (api.dashboards.queries).

Definitions (docs/domain.md, "What commissioners measure"):
- a series is listed when one of its sessions is planned to start in the period, and was run when one of them was
  held (completed) in it; rescheduled sessions are not counted anywhere (their replacements are);
- a child started a series in the period when the first of its sessions they attended was in the period, and
  completed it when the K-th was (rules.series_milestones). Attending is the child's own register line, never the
  session's status. Only children on the series' roster (now or once: leaving keeps the row) are counted;
- per session: children booked onto it (every register line), attended, did not attend, cancelled (by the child or
  the service), not yet marked; and the carers recorded there, who are not children and count in no child figure.

Series belong to the programme, not to a cohort or district, so those filters do not apply (the answer's filters
say so). Commissioners see every count of children (and of carers) from 1 to threshold-1 as "<5"; a total beside
its parts is withheld when a part is suppressed (Disclosure.total). Counts of sessions and series are not of
people and are shown as they are. No answer carries a child's id, reference or name.
"""

from __future__ import annotations

import dataclasses
import uuid
from collections import defaultdict
from dataclasses import dataclass
from datetime import date, datetime

from sqlalchemy.orm import Session

from api.actors import Actor
from api.dashboards import queries, rules
from api.dashboards.scope import DashboardRequest, Filters, local_date, resolve_scope
from api.sessions.rules import SessionStatus

Shown = int | str | None


@dataclass(frozen=True)
class GroupSessionFigures:
    date: date  # local, in the programme's time zone
    status: SessionStatus
    booked: Shown
    attended: Shown
    did_not_attend: Shown
    cancelled: Shown
    not_yet_marked: Shown
    carers: Shown


@dataclass(frozen=True)
class SeriesFigures:
    series_id: uuid.UUID
    name: str
    sessions_planned: int
    sessions_in_period: int
    sessions_held: int
    complete_after_sessions: int
    roster: Shown
    left: Shown
    children_started: Shown
    children_completed: Shown
    carers_attended: Shown
    sessions: tuple[GroupSessionFigures, ...]


@dataclass(frozen=True)
class GroupDeliveryDashboard:
    filters: Filters
    series_run: int
    sessions_held: int
    children_started: Shown
    children_completed: Shown
    carers_attended: Shown
    series: tuple[SeriesFigures, ...]


def group_delivery_dashboard(
    db_session: Session, *, actor: Actor, request: DashboardRequest, suppression_threshold: int, now: datetime
) -> GroupDeliveryDashboard:
    """The programme's group series with a session in the period (programme time), by name, with their sessions in
    it; and the period's totals."""
    scope = resolve_scope(
        db_session, actor=actor, request=request, suppression_threshold=suppression_threshold, now=now
    )
    shown = scope.disclosure
    programme_id, starts_at, ends_before = scope.programme.id, scope.starts_at, scope.ends_before
    listed = queries.list_series_in_period(
        db_session, programme_id=programme_id, starts_at=starts_at, ends_before=ends_before
    )
    sessions: dict[uuid.UUID, list[queries.SeriesSessionLines]] = defaultdict(list)
    for lines in queries.list_series_session_lines(
        db_session, programme_id=programme_id, starts_at=starts_at, ends_before=ends_before
    ):
        sessions[lines.series_id].append(lines)
    started: dict[uuid.UUID, int] = defaultdict(int)
    completed: dict[uuid.UUID, int] = defaultdict(int)
    complete_after = {series.series_id: series.complete_after_sessions for series in listed}
    attendance = queries.list_series_attendance_by_child(
        db_session, programme_id=programme_id, starts_at=starts_at, ends_before=ends_before
    )
    for series_id, before, within in attendance:
        began, finished = rules.series_milestones(
            attended_before=before, attended_within=within, complete_after_sessions=complete_after[series_id]
        )
        started[series_id] += began
        completed[series_id] += finished

    def session_figures(lines: queries.SeriesSessionLines) -> GroupSessionFigures:
        parts = (lines.attended, lines.did_not_attend, lines.cancelled, lines.not_yet_marked)
        return GroupSessionFigures(
            date=local_date(lines.planned_start_at, scope.zone),
            status=lines.status,
            booked=shown.total(lines.booked, *parts),
            attended=shown.count(lines.attended),
            did_not_attend=shown.count(lines.did_not_attend),
            cancelled=shown.count(lines.cancelled),
            not_yet_marked=shown.count(lines.not_yet_marked),
            carers=shown.count(lines.carers),
        )

    carers = {series.series_id: sum(lines.carers for lines in sessions[series.series_id]) for series in listed}
    figures = tuple(
        SeriesFigures(
            series_id=series.series_id,
            name=series.name,
            sessions_planned=series.sessions_planned,
            sessions_in_period=series.sessions_in_period,
            sessions_held=series.sessions_held,
            complete_after_sessions=series.complete_after_sessions,
            roster=shown.count(series.roster),
            left=shown.count(series.ever_on_roster - series.roster),
            children_started=shown.count(started[series.series_id]),
            children_completed=shown.count(completed[series.series_id]),
            carers_attended=shown.count(carers[series.series_id]),
            sessions=tuple(session_figures(lines) for lines in sessions[series.series_id]),
        )
        for series in listed
    )

    def total(per_series: dict[uuid.UUID, int]) -> Shown:
        parts = [per_series[series.series_id] for series in listed]
        return shown.total(sum(parts), *parts)

    # Programme-wide, so only the period is echoed with the programme.
    return GroupDeliveryDashboard(
        filters=dataclasses.replace(scope.filters, cohort_id=None, district=None),
        series_run=sum(series.sessions_held > 0 for series in listed),
        sessions_held=sum(series.sessions_held for series in listed),
        children_started=total(started),
        children_completed=total(completed),
        carers_attended=total(carers),
        series=figures,
    )
