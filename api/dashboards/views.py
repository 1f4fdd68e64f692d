"""Dashboard endpoints: JSON by default; ?format=csv (or Accept: text/csv) gives the dashboard's table as CSV."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from typing import Any

from flask import Response, current_app, request
from flask_smorest import Blueprint
from marshmallow import Schema

from api.actors import Role
from api.auth import current_actor, requires
from api.dashboards import acknowledgement, capacity, change, delivery, group_delivery
from api.dashboards.schemas import (
    AcknowledgementDashboardSchema,
    DashboardQuerySchema,
    DeliveryDashboardSchema,
    GroupDeliveryDashboardSchema,
    MentorsDashboardSchema,
    OutcomesDashboardSchema,
    OutcomesQuerySchema,
    PlacesDashboardSchema,
    ReturnConversationsDashboardSchema,
    WaitlistDashboardSchema,
    WellbeingDashboardSchema,
)
from api.dashboards.scope import DashboardRequest
from api.spreadsheet import csv_text
from api.web import clock, db_session

blp = Blueprint(
    "dashboards", __name__, description="Commissioner dashboards: aggregates only, small numbers suppressed"
)

DASHBOARD_ROLES = (Role.ADMIN, Role.COORDINATOR, Role.COMMISSIONER)
# Every dashboard answers text/csv too (?format=csv or Accept: text/csv), so its 200 documents both.
ALSO_CSV = blp.doc(responses={200: {"content": {"text/csv": {"schema": {"type": "string"}}}}})
FILTER_COLUMNS = ("programme_id", "cohort_id", "district", "since", "until")


def _request(args: dict[str, Any], programme_id: uuid.UUID) -> DashboardRequest:
    return DashboardRequest(
        programme_id=programme_id,
        cohort_id=args.get("cohort_id"),
        district=args.get("district"),
        since=args.get("since"),
        until=args.get("until"),
    )


def _common(args: dict[str, Any], programme_id: uuid.UUID) -> dict[str, Any]:
    return {
        "actor": current_actor(),
        "request": _request(args, programme_id),
        "suppression_threshold": current_app.config["SMALL_NUMBER_THRESHOLD"],
        "now": clock().now(),
    }


def _wants_csv(args: dict[str, Any]) -> bool:
    if args.get("format") == "csv":
        return True
    best = request.accept_mimetypes.best_match(["application/json", "text/csv"])
    return best == "text/csv" and request.accept_mimetypes["text/csv"] > request.accept_mimetypes["application/json"]


def _csv(dumped: dict[str, Any], rows: list[dict[str, Any]], name: str) -> Response:
    """One table: the filters it covers in the first columns, then the figures; a withheld figure is empty."""
    filters = dumped["filters"]
    columns = list(FILTER_COLUMNS) + [key for key in (rows[0] if rows else {}) if key not in FILTER_COLUMNS]
    table = ({**{key: filters.get(key) for key in FILTER_COLUMNS}, **row} for row in rows)
    return Response(
        csv_text(columns, table),
        mimetype="text/csv",
        headers={"Content-Disposition": f'attachment; filename="{name}.csv"'},
    )


def _scalars(dumped: dict[str, Any]) -> list[dict[str, Any]]:
    return [{key: value for key, value in dumped.items() if not isinstance(value, (dict, list))}]


def _answer(
    result: Any, args: dict[str, Any], schema: Schema, name: str, table: Callable[[dict[str, Any]], list[Any]]
) -> Any:
    if not _wants_csv(args):
        return result
    dumped = schema.dump(result)
    return _csv(dumped, table(dumped), name)


@blp.route("/programmes/<uuid:programme_id>/dashboards/places", methods=["GET"])
@requires(*DASHBOARD_ROLES)
@blp.arguments(DashboardQuerySchema, location="query")
@ALSO_CSV
@blp.response(200, PlacesDashboardSchema)
def places_dashboard(args: dict[str, Any], programme_id: uuid.UUID) -> Any:
    """Places per cohort: funded, occupied, offered and free now; time-weighted occupancy over the period

    Per cohort: places funded, children in active support now, places offered and awaiting an answer, places free;
    and over the period, the spells of support that held a place, the place-days held against the place-days funded,
    and so the time-weighted occupancy. With a district, the counts are that district's children, while `free` stays
    the whole cohort's. Filter by cohort and district; the period is `since` to `until` inclusive, in programme time
    (a year to today unless said). `?format=csv` (or `Accept: text/csv`) answers the same figures as one CSV table,
    the filters in its first columns and a withheld figure empty. Admins and coordinators see every figure;
    commissioners see counts from 1 to 4 as "<5" and every figure derived from one withheld (null); no answer names
    a child. Admins, coordinators and commissioners of the programme (any other answers 404).
    """
    result = capacity.places_dashboard(db_session(), **_common(args, programme_id))
    return _answer(result, args, PlacesDashboardSchema(), "places", lambda dumped: dumped["cohorts"])


@blp.route("/programmes/<uuid:programme_id>/dashboards/waitlist", methods=["GET"])
@requires(*DASHBOARD_ROLES)
@blp.arguments(DashboardQuerySchema, location="query")
@ALSO_CSV
@blp.response(200, WaitlistDashboardSchema)
def waitlist_dashboard(args: dict[str, Any], programme_id: uuid.UUID) -> Any:
    """The waitlist now, waits from referral to first session (median, 90th percentile) and those still waiting

    Children waiting now; children waitlisted, offered or active with no completed session yet; referred children
    whose first completed session fell in the period; and how long they waited from referral to that first session,
    as the median and the 90th percentile in days. Filter by cohort and district; the period is `since` to `until`
    inclusive, in programme time (a year to today unless said). `?format=csv` (or `Accept: text/csv`) answers the
    same figures as one CSV table, the filters in its first columns and a withheld figure empty. Admins and
    coordinators see every figure; commissioners see counts from 1 to 4 as "<5" and every figure derived from one
    withheld (null); no answer names a child. Admins, coordinators and commissioners of the programme (any other
    answers 404).
    """
    result = capacity.waitlist_dashboard(db_session(), **_common(args, programme_id))
    return _answer(result, args, WaitlistDashboardSchema(), "waitlist", _scalars)


@blp.route("/programmes/<uuid:programme_id>/dashboards/mentors", methods=["GET"])
@requires(*DASHBOARD_ROLES)
@blp.arguments(DashboardQuerySchema, location="query")
@ALSO_CSV
@blp.response(200, MentorsDashboardSchema)
def mentors_dashboard(args: dict[str, Any], programme_id: uuid.UUID) -> Any:
    """Caseloads against maximum: per mentor for staff, the distribution only for commissioners

    How many mentors, how many children they hold, how many are at or over their maximum caseload, and their mean
    utilisation (caseload over maximum). Staff also get each mentor's caseload; commissioners get only the
    distribution (`caseloads` is empty for them). Caseloads are as they are now, so the period does not apply; a
    cohort or district counts only the allocations of children in it. Filter by cohort and district; the period is
    `since` to `until` inclusive, in programme time (a year to today unless said). `?format=csv` (or `Accept:
    text/csv`) answers the same figures as one CSV table, the filters in its first columns and a withheld figure
    empty. Admins and coordinators see every figure; commissioners see counts from 1 to 4 as "<5" and every figure
    derived from one withheld (null); no answer names a child. Admins, coordinators and commissioners of the
    programme (any other answers 404).
    """
    result = capacity.mentors_dashboard(db_session(), **_common(args, programme_id))
    return _answer(
        result, args, MentorsDashboardSchema(), "mentors", lambda dumped: dumped["caseloads"] or _scalars(dumped)
    )


@blp.route("/programmes/<uuid:programme_id>/dashboards/delivery", methods=["GET"])
@requires(*DASHBOARD_ROLES)
@blp.arguments(DashboardQuerySchema, location="query")
@ALSO_CSV
@blp.response(200, DeliveryDashboardSchema)
def delivery_dashboard(args: dict[str, Any], programme_id: uuid.UUID) -> Any:
    """Sessions planned, delivered, missed and cancelled; evening and weekend shares; sessions per child per week

    Sessions planned to start in the period and what became of them: delivered, missed (did not attend), cancelled,
    or not yet recorded; the share of delivered sessions starting in the evening (17:00 or later) and at the
    weekend; children seen and their attendances; and sessions per child per week of support. Filter by cohort and
    district; the period is `since` to `until` inclusive, in programme time (a year to today unless said).
    `?format=csv` (or `Accept: text/csv`) answers the same figures as one CSV table, the filters in its first
    columns and a withheld figure empty. Admins and coordinators see every figure; commissioners see counts from 1
    to 4 as "<5" and every figure derived from one withheld (null); no answer names a child. Admins, coordinators
    and commissioners of the programme (any other answers 404).
    """
    result = delivery.delivery_dashboard(db_session(), **_common(args, programme_id))
    return _answer(result, args, DeliveryDashboardSchema(), "delivery", _scalars)


@blp.route("/programmes/<uuid:programme_id>/dashboards/wellbeing", methods=["GET"])
@requires(*DASHBOARD_ROLES)
@blp.arguments(DashboardQuerySchema, location="query")
@ALSO_CSV
@blp.response(200, WellbeingDashboardSchema)
def wellbeing_dashboard(args: dict[str, Any], programme_id: uuid.UUID) -> Any:
    """Children with a baseline and a follow-up, mean change and meaningful improvement per measure; goal progress

    Per instrument and measure: children with a baseline, children with a follow-up too, the mean change from
    baseline to the latest follow-up, and how many (and what share) improved by at least the instrument's
    meaningful-change threshold (baselines are each child's first score, follow-ups their latest later score
    completed in the period); and the same for goal progress (Goal Based Outcomes). Filter by cohort and district;
    the period is `since` to `until` inclusive, in programme time (a year to today unless said). `?format=csv` (or
    `Accept: text/csv`) answers the same figures as one CSV table, the filters in its first columns and a withheld
    figure empty. Admins and coordinators see every figure; commissioners see counts from 1 to 4 as "<5" and every
    figure derived from one withheld (null); no answer names a child. Admins, coordinators and commissioners of the
    programme (any other answers 404).
    """
    result = change.wellbeing_dashboard(
        db_session(), instruments=current_app.extensions["reachable.instruments"], **_common(args, programme_id)
    )
    return _answer(result, args, WellbeingDashboardSchema(), "wellbeing", lambda dumped: dumped["measures"])


@blp.route("/programmes/<uuid:programme_id>/dashboards/outcomes", methods=["GET"])
@requires(*DASHBOARD_ROLES)
@blp.arguments(OutcomesQuerySchema, location="query")
@ALSO_CSV
@blp.response(200, OutcomesDashboardSchema)
def outcomes_dashboard(args: dict[str, Any], programme_id: uuid.UUID) -> Any:
    """Outcome events per child-year before and during support, their percentage change, and savings

    The cost-benefit estimate (as `GET /programmes/{programme_id}/cost-benefit`) with the dashboard's filters:
    outcome events per child-year before and during support, their percentage change by event type, and the savings
    they imply, low and high, in the prices of `price_year` (the latest year the deflators cover unless said). Each
    child's own windows apply, so only the cohort filter narrows it; the period and district do not (the answer's
    `filters` say so). Filter by cohort and district; the period is `since` to `until` inclusive, in programme time
    (a year to today unless said). Each child's own windows apply, so only the cohort filter narrows it; the period
    and district do not (the answer's `filters` say so). `?format=csv` (or `Accept: text/csv`) answers the same
    figures as one CSV table, the filters in its first columns and a withheld figure empty. Admins and coordinators
    see every figure; commissioners see counts from 1 to 4 as "<5" and every figure derived from one withheld
    (null); no answer names a child. Admins, coordinators and commissioners of the programme (any other answers
    404).
    """
    result = change.outcomes_dashboard(db_session(), price_year=args.get("price_year"), **_common(args, programme_id))
    return _answer(result, args, OutcomesDashboardSchema(), "outcomes", _outcome_rows)


def _outcome_rows(dumped: dict[str, Any]) -> list[dict[str, Any]]:
    estimate = dumped["estimate"]
    common = {key: estimate[key] for key in ("as_of", "price_year", "baseline_months", "children")}
    return [
        {**common, **{key: value for key, value in row.items() if key != "unit_cost_items"}}
        for row in estimate["outcomes"]
    ]


@blp.route("/programmes/<uuid:programme_id>/dashboards/return-conversations", methods=["GET"])
@requires(*DASHBOARD_ROLES)
@blp.arguments(DashboardQuerySchema, location="query")
@ALSO_CSV
@blp.response(200, ReturnConversationsDashboardSchema)
def return_conversations_dashboard(args: dict[str, Any], programme_id: uuid.UUID) -> Any:
    """Returns from missing in the period and how many had their conversation completed within 72 hours

    Children who returned from missing in the period, how many had their return conversation completed within 72
    hours of returning, and the rate (as `GET /programmes/{programme_id}/return-conversations/summary`).
    Programme-wide: the cohort and district filters do not apply (the answer's `filters` say so). Filter by cohort
    and district; the period is `since` to `until` inclusive, in programme time (a year to today unless said).
    `?format=csv` (or `Accept: text/csv`) answers the same figures as one CSV table, the filters in its first
    columns and a withheld figure empty. Admins and coordinators see every figure; commissioners see counts from 1
    to 4 as "<5" and every figure derived from one withheld (null); no answer names a child. Admins, coordinators
    and commissioners of the programme (any other answers 404).
    """
    result = change.return_conversations_dashboard(db_session(), **_common(args, programme_id))
    return _answer(
        result, args, ReturnConversationsDashboardSchema(), "return-conversations", lambda dumped: [dumped["summary"]]
    )


@blp.route("/programmes/<uuid:programme_id>/dashboards/time-to-acknowledge", methods=["GET"])
@requires(*DASHBOARD_ROLES)
@blp.arguments(DashboardQuerySchema, location="query")
@ALSO_CSV
@blp.response(200, AcknowledgementDashboardSchema)
def time_to_acknowledge_dashboard(args: dict[str, Any], programme_id: uuid.UUID) -> Any:
    """Alerts raised in the period by urgency: how many were acknowledged, how fast, and how many still wait

    Per urgency (urgent, high, normal: from the alert's kind; every one, even with no alert): alerts raised in the
    period, how many of them have been acknowledged, the median and the 90th percentile (nearest rank) of the minutes
    from raised to acknowledged, and how many are still unacknowledged, with the age now of the oldest, in minutes.
    Programme-wide: the cohort and district filters do not apply (the answer's `filters` say so). Filter by cohort
    and district; the period is `since` to `until` inclusive, in programme time (a year to today unless said).
    `?format=csv` (or `Accept: text/csv`) answers the same figures as one CSV table, one row per urgency, the
    filters in its first columns and a withheld figure empty. Admins and coordinators see every figure;
    commissioners see counts from 1 to 4 as "<5" and every figure derived from one withheld (null); no answer names
    a child. Admins, coordinators and commissioners of the programme (any other answers 404).
    """
    result = acknowledgement.acknowledgement_dashboard(db_session(), **_common(args, programme_id))
    return _answer(
        result, args, AcknowledgementDashboardSchema(), "time-to-acknowledge", lambda dumped: dumped["urgencies"]
    )


@blp.route("/programmes/<uuid:programme_id>/dashboards/group-delivery", methods=["GET"])
@requires(*DASHBOARD_ROLES)
@blp.arguments(DashboardQuerySchema, location="query")
@ALSO_CSV
@blp.response(200, GroupDeliveryDashboardSchema)
def group_delivery_dashboard(args: dict[str, Any], programme_id: uuid.UUID) -> Any:
    """Group series run, children starting and completing them, and attendance and carers at each session

    The programme's group series with a session planned to start in the period, by name: their sessions in all (N),
    in the period and held in it; K, the sessions a child must attend to complete one; children on the roster now
    and children who left; children who started the series in the period (the first of its sessions they attended
    was in the period) and completed it (their K-th was), counting only children on its roster and only their own
    register lines, never a session's status; carers recorded at its sessions. Per session in the period: its day
    (programme time), its status, children booked onto it (every register line), attended, did not attend,
    cancelled (by the child or the service), not yet marked, and carers, who are not children. Totals: series run
    (with a session held in the period), sessions held, and children starting, completing and carers, added up
    over the series (a child on two series counts in each). Rescheduled sessions count nowhere (their replacements
    do). Programme-wide: the cohort and district filters do not apply (the answer's `filters` say so). Filter by
    cohort and district; the period is `since` to `until` inclusive, in programme time (a year to today unless
    said). `?format=csv` (or `Accept: text/csv`) answers the same figures as one CSV table, one row per session
    with its series' figures, the filters in its first columns and a withheld figure empty. Admins and coordinators
    see every figure; commissioners see counts of children and carers from 1 to 4 as "<5", a total withheld (null)
    when a part beside it is suppressed (booked, and the totals over the series), and counts of series and sessions
    as they are; no answer names a child. Admins, coordinators and commissioners of the programme (any other
    answers 404).
    """
    result = group_delivery.group_delivery_dashboard(db_session(), **_common(args, programme_id))
    return _answer(result, args, GroupDeliveryDashboardSchema(), "group-delivery", _session_rows)


def _session_rows(dumped: dict[str, Any]) -> list[dict[str, Any]]:
    """One row per session, after its series' figures (the series' name as series_name)."""
    rows: list[dict[str, Any]] = []
    for series in dumped["series"]:
        common = {"series_name" if key == "name" else key: value for key, value in series.items() if key != "sessions"}
        rows.extend({**common, **session} for session in series["sessions"])
    return rows
