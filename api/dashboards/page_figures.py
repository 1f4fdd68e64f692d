"""The dashboard page's figures: the places dashboard for the year and each of the last 12 months, the delivery
dashboard for each of the last 12 ISO weeks, and the wellbeing, outcomes, time-to-acknowledge and group-delivery
dashboards.
Read-only: no writes."""

from __future__ import annotations

import dataclasses
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy.orm import Session

from api.actors import Actor
from api.dashboards import rules
from api.dashboards.acknowledgement import AcknowledgementDashboard, acknowledgement_dashboard
from api.dashboards.capacity import PlacesDashboard, places_dashboard
from api.dashboards.change import OutcomesDashboard, WellbeingDashboard, outcomes_dashboard, wellbeing_dashboard
from api.dashboards.delivery import DeliveryDashboard, delivery_dashboard
from api.dashboards.group_delivery import GroupDeliveryDashboard, group_delivery_dashboard
from api.dashboards.page_reads import read_for_page
from api.dashboards.rules import Period
from api.dashboards.scope import DashboardRequest
from api.programmes.service import get_programme
from api.wellbeing.rules import Instrument

PAGE_MONTHS = 12
PAGE_WEEKS = 12


@dataclass(frozen=True)
class PageFigures:
    """Everything the dashboard page draws: the year, each of the last 12 months and ISO weeks, and the rest."""

    year: PlacesDashboard
    months: list[tuple[date, PlacesDashboard]]  # (first day of the month, its places dashboard)
    weeks: list[tuple[date, DeliveryDashboard]]  # (Monday, its delivery dashboard)
    wellbeing: WellbeingDashboard
    outcomes: OutcomesDashboard
    acknowledgement: AcknowledgementDashboard  # the year's alerts, by urgency
    group_delivery: GroupDeliveryDashboard  # the year's group series


def _month_starts(until: date, count: int) -> list[date]:
    first, months = until.replace(day=1), []
    for _ in range(count):
        months.append(first)
        first = (first - timedelta(days=1)).replace(day=1)
    return months[::-1]


def _month_end(first: date) -> date:
    return (first.replace(day=28) + timedelta(days=4)).replace(day=1) - timedelta(days=1)


def page_figures(
    db_session: Session,
    *,
    actor: Actor,
    programme_id: uuid.UUID,
    instruments: Mapping[str, Instrument],
    suppression_threshold: int,
    now: datetime,
) -> PageFigures:
    """The page's series are the dashboards themselves, asked period by period, so the page shows exactly the
    figures (and the suppression) the JSON gives for the same periods."""
    request = DashboardRequest(programme_id=programme_id)
    # Held for the whole page: the session's identity map keeps only objects something refers to, so while this
    # reference lives, each period's access check finds the programme there instead of asking the database again.
    programme = get_programme(db_session, actor=actor, programme_id=programme_id)
    today = now.astimezone(ZoneInfo(programme.time_zone)).date()
    year = rules.default_period(today=today, since=None, until=None)
    until = year.until
    months = [(first, min(_month_end(first), until)) for first in _month_starts(until, PAGE_MONTHS)]
    this_monday = until - timedelta(days=until.weekday())
    mondays = [this_monday - timedelta(weeks=back) for back in range(PAGE_WEEKS - 1, -1, -1)]
    weeks = [(monday, min(monday + timedelta(days=6), until)) for monday in mondays]
    page = read_for_page(
        db_session,
        programme=programme,
        covering=Period(min(year.since, months[0][0], weeks[0][0]), until),
        weeks=weeks,
    )

    def places(since: date, until: date) -> PlacesDashboard:
        period = dataclasses.replace(request, since=since, until=until)
        return places_dashboard(
            db_session, actor=actor, request=period, suppression_threshold=suppression_threshold, now=now, page=page
        )

    def delivery(since: date, until: date) -> DeliveryDashboard:
        period = dataclasses.replace(request, since=since, until=until)
        return delivery_dashboard(
            db_session, actor=actor, request=period, suppression_threshold=suppression_threshold, now=now, page=page
        )

    by_year = places(year.since, year.until)
    by_month = [(first, places(first, last)) for first, last in months]
    by_week = [(monday, delivery(monday, last)) for monday, last in weeks]
    wellbeing = wellbeing_dashboard(
        db_session,
        actor=actor,
        request=request,
        instruments=instruments,
        suppression_threshold=suppression_threshold,
        now=now,
    )
    outcomes = outcomes_dashboard(
        db_session,
        actor=actor,
        request=request,
        price_year=None,
        suppression_threshold=suppression_threshold,
        now=now,
    )
    acknowledgement = acknowledgement_dashboard(
        db_session, actor=actor, request=request, suppression_threshold=suppression_threshold, now=now
    )
    group_delivery = group_delivery_dashboard(
        db_session, actor=actor, request=request, suppression_threshold=suppression_threshold, now=now
    )
    return PageFigures(by_year, by_month, by_week, wellbeing, outcomes, acknowledgement, group_delivery)
