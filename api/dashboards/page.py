"""The commissioners' dashboard page: server-rendered HTML with SVG charts, no JavaScript, no external assets.

Signing in: the API takes bearer tokens only, and a browser cannot send one to a page it simply opens, so the
page has its own small sign-in form. It posts the email and password to /dashboard/sign-in, which signs in
through the accounts service (the same check as POST /auth/sign-in) and keeps only the short-lived access
token in a cookie scoped to /dashboard: HttpOnly, SameSite=Strict, Secure when the request came over HTTPS,
and expiring with the token (ACCESS_TOKEN_MINUTES). The refresh token is never given to the browser: when the
access token runs out the commissioner signs in again. The page changes nothing, so sign-in is its only form.

Figures come from api.dashboards.service with the caller's own disclosure, exactly as the JSON endpoints give
them (commissioners: counts under the threshold as "<5", figures derived from them withheld). The series over
time are the same service asked once per month (occupancy) and once per ISO week (delivery).
"""

from __future__ import annotations

import re
import uuid
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from flask import Blueprint, Response, current_app, redirect, render_template, request, url_for

from api.accounts import service as accounts_service
from api.accounts.errors import InvalidCredentials
from api.accounts.rules import Actor, Role
from api.accounts.views import lockout_policy
from api.auth import token_settings
from api.dashboards import charts, service
from api.dashboards.charts import Chart, Point, Series
from api.errors import AuthenticationFailed, NotFound, PermissionDenied
from api.web import clock, db_session, retry_after_seconds

blp = Blueprint(
    "dashboard_page", __name__, template_folder="templates", static_folder="static", url_prefix="/dashboard"
)

PAGE_CSP = (
    "default-src 'none'; style-src 'self'; img-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'"
)
TOKEN_COOKIE = "reachable_dashboard_token"
PAGE_ROLES = (Role.ADMIN, Role.COORDINATOR, Role.COMMISSIONER)
WITHHELD = "withheld"
EVENT_NAMES = {
    "arrest": "Arrests",
    "police_call_out": "Police call-outs",
    "missing_episode": "Missing episodes",
    "exclusion_fixed_term": "Fixed-term exclusions",
    "exclusion_permanent": "Permanent exclusions",
}


@blp.after_request
def _page_headers(response: Response) -> Response:
    response.headers["Content-Security-Policy"] = PAGE_CSP
    response.headers["Referrer-Policy"] = "no-referrer"
    response.headers["X-Robots-Tag"] = "noindex, nofollow"
    if request.endpoint != "dashboard_page.static":
        response.headers["Cache-Control"] = "no-store"
    return response


def _sign_in_page(*, next_path: str, problem: str | None, status: int) -> tuple[str, int]:
    return render_template("dashboard/sign_in.html", next_path=next_path, problem=problem), status


@blp.errorhandler(AuthenticationFailed)
def _not_signed_in(_error: AuthenticationFailed) -> Response:
    page, status = _sign_in_page(next_path=request.path, problem=None, status=401)
    response = Response(page, status=status, mimetype="text/html")
    response.delete_cookie(TOKEN_COOKIE, path="/dashboard")
    return response


@blp.errorhandler(429)
def _too_many_tries(_error: Exception) -> tuple[str, int]:
    # The sign-in form's own rate limits (api/app.py): the page again, saying when to try (Retry-After too).
    problem = f"Too many sign-in attempts. Try again in {retry_after_seconds()} seconds."
    return _sign_in_page(next_path="", problem=problem, status=429)


@blp.errorhandler(PermissionDenied)
def _forbidden(_error: PermissionDenied) -> tuple[str, int]:
    return render_template("dashboard/problem.html", title="You cannot see this dashboard"), 403


@blp.errorhandler(NotFound)
def _not_found(_error: NotFound) -> tuple[str, int]:
    return render_template("dashboard/problem.html", title="Dashboard not found"), 404


def _safe_next(value: str | None) -> str | None:
    """Only a dashboard page of this site: never an address elsewhere (no open redirect)."""
    if value and re.fullmatch(r"/dashboard/programmes/[0-9a-fA-F-]{36}", value):
        return value
    return None


def _actor_from_cookie() -> Actor:
    token = request.cookies.get(TOKEN_COOKIE, "")
    return accounts_service.authenticate(db_session(), access_token=token, settings=token_settings(), now=clock().now())


@blp.get("/sign-in")
def sign_in_form() -> tuple[str, int]:
    return _sign_in_page(next_path=_safe_next(request.args.get("next")) or "", problem=None, status=200)


@blp.post("/sign-in")
def sign_in() -> Any:
    next_path = _safe_next(request.form.get("next"))
    settings = token_settings()
    try:
        tokens = accounts_service.sign_in(
            db_session(),
            email=request.form.get("email", ""),
            password=request.form.get("password", ""),
            settings=settings,
            now=clock().now(),
            lockout=lockout_policy(),
        )
    except InvalidCredentials as refused:
        db_session().rollback()
        return _sign_in_page(next_path=next_path or "", problem=refused.message, status=401)
    actor = accounts_service.authenticate(
        db_session(), access_token=tokens.access_token, settings=settings, now=clock().now()
    )
    if next_path is None and actor.programme_id is not None:
        next_path = url_for("dashboard_page.programme_dashboard", programme_id=actor.programme_id)
    response = redirect(next_path or url_for("dashboard_page.sign_in_form"), code=303)
    response.set_cookie(
        TOKEN_COOKIE,
        tokens.access_token,
        max_age=settings.access_token_minutes * 60,
        path="/dashboard",
        secure=request.is_secure,
        httponly=True,
        samesite="Strict",
    )
    return response


# --- The page ---------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Table:
    caption: str
    headers: tuple[str, ...]
    rows: tuple[tuple[str, ...], ...]


@dataclass(frozen=True)
class Section:
    chart: Chart
    table: Table
    note: str | None = None


def _count_text(value: int | str) -> str:
    return str(value)


def _count_size(value: int | str) -> float | None:
    return float(value) if isinstance(value, int) else None


def _absent(count: int | str) -> str:
    """Why a figure is missing: nothing to compute it from, or withheld because it comes from a small count."""
    return "no data" if count == 0 else WITHHELD


def _percent(value: Decimal | None) -> str:
    return WITHHELD if value is None else f"{value * 100:.1f}%"


def _rate(value: Decimal | None) -> str:
    return WITHHELD if value is None else f"{value:.2f}"


def _occupancy(page: service.PageFigures) -> list[Section]:
    """One chart per cohort: time-weighted occupancy in each of the last 12 months (the places dashboard)."""
    months = [first for first, _ in page.months]
    per_month = [month for _, month in page.months]
    labels = [first.strftime("%b %Y") for first in months]
    sections = []
    cohorts = per_month[-1].cohorts if per_month else ()
    for number, cohort in enumerate(cohorts):
        figures = [next((c for c in month.cohorts if c.cohort_id == cohort.cohort_id), None) for month in per_month]
        points = tuple(
            Point(
                float(figure.occupancy * 100) if figure and figure.occupancy is not None else None,
                _percent(figure.occupancy if figure else None),
            )
            for figure in figures
        )
        chart = charts.column_chart(
            key=f"occupancy-{number}",
            title=f"Occupancy over time: {cohort.cohort_name} ({cohort.funded} places)",
            description="Time-weighted occupancy of the cohort's funded places in each month, as a percentage.",
            categories=[first.strftime("%b %y") for first in months],
            series=[Series("Occupancy", points)],
            x_label="Month",
            y_label="Occupancy %",
            y_max=100.0,
        )
        rows = tuple(
            (
                label,
                point.text,
                _count_text(figure.children_supported_in_period) if figure else "0",
            )
            for label, point, figure in zip(labels, points, figures, strict=True)
        )
        table = Table(
            f"Occupancy by month: {cohort.cohort_name}",
            ("Month", "Occupancy", "Children supported in the month"),
            rows,
        )
        sections.append(Section(chart, table))
    return sections


def _delivery(figures: service.PageFigures) -> Section:
    """Sessions delivered, missed and cancelled in each of the last 12 ISO weeks (the delivery dashboard)."""
    mondays = [monday for monday, _ in figures.weeks]
    weeks = [week for _, week in figures.weeks]
    names = (("Delivered", "delivered"), ("Missed", "missed"), ("Cancelled", "cancelled"))
    series = [
        Series(name, tuple(Point(_count_size(getattr(week, key)), _count_text(getattr(week, key))) for week in weeks))
        for name, key in names
    ]
    categories = [f"W{monday.isocalendar().week:02d}" for monday in mondays]
    chart = charts.column_chart(
        key="delivery",
        title="Sessions per week: delivered, missed and cancelled",
        description="Sessions planned to start in each ISO week, by what happened to them.",
        categories=categories,
        series=series,
        x_label="ISO week (week starting Monday)",
        y_label="Sessions",
    )
    rows = tuple(
        (
            f"{monday.isocalendar().year}-W{monday.isocalendar().week:02d} (from {monday:%d %b})",
            *(_count_text(getattr(week, key)) for _name, key in names),
        )
        for monday, week in zip(mondays, weeks, strict=True)
    )
    return Section(chart, Table("Sessions per week", ("Week", "Delivered", "Missed", "Cancelled"), rows))


def _wellbeing(figures: service.PageFigures) -> Section:
    dashboard = figures.wellbeing
    labels = [f"{row.instrument_key.upper()} {row.measure.replace('_', ' ')}" for row in dashboard.measures]
    points = [
        Point(
            float(row.mean_change) if row.mean_change is not None else None,
            _absent(row.children_with_follow_up) if row.mean_change is None else f"{row.mean_change:+.2f}",
        )
        for row in dashboard.measures
    ]
    chart = charts.bar_chart(
        key="wellbeing",
        title="Wellbeing change per measure",
        description="Mean change from each child's baseline to their latest follow-up in the last 12 months.",
        categories=labels,
        points=points,
        x_label="Mean change (follow-up minus baseline)",
        y_label="Measure",
    )
    rows = tuple(
        (
            label,
            _count_text(row.children_with_baseline),
            _count_text(row.children_with_follow_up),
            point.text,
            _count_text(row.meaningfully_improved),
            _percent(row.improved_share),
        )
        for label, row, point in zip(labels, dashboard.measures, points, strict=True)
    )
    headers = ("Measure", "With baseline", "With follow-up", "Mean change", "Meaningfully improved", "Share improved")
    note = "For some measures a lower score is better: see the share meaningfully improved."
    return Section(chart, Table("Wellbeing change per measure", headers, rows), note)


def _outcomes(figures: service.PageFigures) -> Section:
    estimate = figures.outcomes.estimate
    names = [EVENT_NAMES.get(str(row.event_type), str(row.event_type)) for row in estimate.outcomes]

    def point(rate: Decimal | None) -> Point:
        return Point(float(rate) if rate is not None else None, _rate(rate))

    series = [
        Series("Before (baseline)", tuple(point(row.baseline_rate) for row in estimate.outcomes)),
        Series("During support", tuple(point(row.during_rate) for row in estimate.outcomes)),
    ]
    chart = charts.column_chart(
        key="outcomes",
        title="Outcome events per child-year, before and during support",
        description="Events per child-year in each child's baseline window and while supported, by type.",
        categories=names,
        series=series,
        x_label="Event type",
        y_label="Events per child-year",
    )
    rows = tuple(
        (
            name,
            _count_text(row.baseline_events),
            _rate(row.baseline_rate),
            _count_text(row.during_events),
            _rate(row.during_rate),
            _absent(row.baseline_events) if row.percent_change is None else f"{row.percent_change:+.1f}%",
        )
        for name, row in zip(names, estimate.outcomes, strict=True)
    )
    headers = ("Event type", "Events before", "Per child-year before", "Events during", "Per child-year during")
    table = Table("Outcome events before and during support", (*headers, "Change"), rows)
    note = f"Children counted: {estimate.children}. Baseline window: {estimate.baseline_months} months."
    return Section(chart, table, note)


@blp.get("/programmes/<uuid:programme_id>")
def programme_dashboard(programme_id: uuid.UUID) -> str:
    actor = _actor_from_cookie()
    if actor.role not in PAGE_ROLES:
        raise PermissionDenied()
    figures = service.page_figures(
        db_session(),
        actor=actor,
        programme_id=programme_id,
        instruments=current_app.extensions["reachable.instruments"],
        suppression_threshold=current_app.config["SMALL_NUMBER_THRESHOLD"],
        now=clock().now(),
    )
    year = figures.year
    until = year.filters.until or clock().now().date()
    sections = [*_occupancy(figures), _delivery(figures), _wellbeing(figures), _outcomes(figures)]
    return render_template(
        "dashboard/programme.html",
        sections=sections,
        since=year.filters.since,
        until=until,
        threshold=current_app.config["SMALL_NUMBER_THRESHOLD"],
        commissioner=actor.role is Role.COMMISSIONER,
    )
