"""The commissioners' dashboard page: server-rendered HTML with SVG charts, no JavaScript, no external assets.

Signing in (issue 13, finding 5). The API takes bearer tokens only, and a browser cannot send one to a page it
simply opens, so the page has its own sign-in form, and its own kind of sign-in:

- The form posts the email and password to /dashboard/sign-in, checked by the accounts service exactly as
  POST /auth/sign-in checks them (same refusals, same lock-out, and the same rate limits: SIGN_IN_ENDPOINTS in
  api/app.py). What it makes is a *dashboard page* sign-in record (accounts.rules.SignInKind), not an API one:
  no access or refresh token exists for it. The cookie holds the record's id and an HMAC of it under a key of
  the page's own (accounts.auth_sessions.authenticate_page). It is not a JWT, so the API's bearer check cannot read
  it, and that check refuses page sign-ins by kind as well: a coordinator or admin who signs in here carries
  nothing that can write through the API if the cookie ever leaks. (It used to hold a full API access token.)
- The sign-in lasts DASHBOARD_SIGN_IN_MINUTES (15), decided by the record, whatever the browser keeps; there is
  no refresh, the commissioner signs in again. Signing out (POST /dashboard/sign-out, a button on the page)
  ends the record at once, as do an admin's "revoke sign-ins" and deactivating the user.
- The cookie is scoped to /dashboard (the browser never sends it to the API), HttpOnly, SameSite=Strict, and
  Secure when the request came over HTTPS (behind a proxy, set PROXY_COUNT so the app knows it did).

Forms only this site can send (login CSRF: without this, another site could post its own account's email and
password from a commissioner's browser, who would then read, and perhaps type into, the attacker's account).
Both forms are refused with a 403 page naming the reason, before anything is read or written, unless both:
- the browser says the form came from this site: `Origin` must be this request's own origin (scheme, host and
  port, as the proxy settings rebuild them); without Origin, `Referer`'s origin must be; with neither, refused
  (OWASP's CSRF cheat sheet recommends blocking; every current browser sends Origin with a form POST). The
  page's Referrer-Policy is same-origin, not no-referrer: under no-referrer a browser sends `Origin: null` even
  with the page's own forms. Nothing is sent to other sites, to which the page has no links anyway;
- it carries the form's token (rules.py): for signing in, an HMAC of a random value kept in a SameSite=Strict,
  HttpOnly cookie of its own (double-submit, signed, since there is no sign-in yet to bind it to) with the time
  the form was made (a form lasts an hour); for signing out, an HMAC of the sign-in being ended.
What each layer stops: the Origin check stops every other origin, sibling subdomains included. The token makes a
forged post also need this site's cookie and the token that matches it, which a browser does not send from
another site (SameSite=Strict) and another site can neither read nor set; so should a browser ever get Origin
wrong, the post still fails. A sibling subdomain is the exception: it is the same site, and can plant a cookie
whose token it fetched for itself, so against it the Origin check stands alone. Refusals are not counted as
wrong passwords (no password was checked), though they do count against the rate limits.

Figures come from api.dashboards.page_figures with the caller's own disclosure, exactly as the JSON endpoints
give them (commissioners: counts under the threshold as "<5", figures derived from them withheld). The series
over time are the same dashboards asked once per month (occupancy) and once per ISO week (delivery); the time to
acknowledge alerts is the year's, by urgency, and so is group delivery: one section for the series together, one per
series for its sessions.
"""

from __future__ import annotations

import logging
import re
import secrets
import uuid
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from flask import Blueprint, Response, current_app, make_response, redirect, render_template, request, url_for
from werkzeug.wrappers import Response as AnyResponse

from api.accounts import auth_sessions, signing_in
from api.accounts.auth_sessions import MfaSettings
from api.accounts.errors import InvalidCredentials
from api.accounts.views import sign_in_guards
from api.actors import Actor, Role
from api.dashboards import charts, rules
from api.dashboards.charts import Chart, Point, Series
from api.dashboards.errors import FormRefused
from api.dashboards.page_figures import PageFigures, page_figures
from api.errors import AuthenticationFailed, NotFound, PermissionDenied
from api.programmes.rules import CohortKind
from api.web import clock, db_session, retry_after_seconds

log = logging.getLogger(__name__)

blp = Blueprint(
    "dashboard_page", __name__, template_folder="templates", static_folder="static", url_prefix="/dashboard"
)

PAGE_CSP = (
    "default-src 'none'; style-src 'self'; img-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'"
)
# The page sign-in's credential (never an API token), and the sign-in form's random value.
SIGN_IN_COOKIE = "reachable_dashboard_sign_in"
FORM_COOKIE = "reachable_dashboard_form"
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
    # Not no-referrer: under it browsers send "Origin: null" with the page's own forms (see the docstring).
    response.headers["Referrer-Policy"] = "same-origin"
    response.headers["X-Robots-Tag"] = "noindex, nofollow"
    if request.endpoint != "dashboard_page.static":
        response.headers["Cache-Control"] = "no-store"
    return response


def _set_cookie(response: AnyResponse, name: str, value: str, *, max_age: int | None) -> None:
    response.set_cookie(
        name, value, max_age=max_age, path="/dashboard", secure=request.is_secure, httponly=True, samesite="Strict"
    )


def _delete_cookie(response: AnyResponse, name: str) -> None:
    response.delete_cookie(name, path="/dashboard", secure=request.is_secure, httponly=True, samesite="Strict")


def _forms_key() -> bytes:
    return rules.forms_key(current_app.config["SECRET_KEY"])


def _sign_in_page(*, next_path: str, problem: str | None, status: int) -> Response:
    """The sign-in form, with a token bound to this browser's form cookie (made now if it has none)."""
    nonce = request.cookies.get(FORM_COOKIE, "")
    fresh = not rules.FORM_NONCE_PATTERN.fullmatch(nonce)
    if fresh:
        nonce = secrets.token_urlsafe(32)
    token = rules.sign_in_form_token(_forms_key(), nonce=nonce, issued_at=clock().now())
    html = render_template("dashboard/sign_in.html", next_path=next_path, problem=problem, form_token=token)
    response = make_response(html, status)
    if fresh:
        # A cookie for the browser's session: the token's own time limits how long a form can be used.
        _set_cookie(response, FORM_COOKIE, nonce, max_age=None)
    return response


@blp.errorhandler(AuthenticationFailed)
def _not_signed_in(_error: AuthenticationFailed) -> Response:
    response = _sign_in_page(next_path=request.path, problem=None, status=401)
    _delete_cookie(response, SIGN_IN_COOKIE)
    return response


@blp.errorhandler(429)
def _too_many_tries(_error: Exception) -> Response:
    # The sign-in form's own rate limits (api/app.py): the page again, saying when to try (Retry-After too).
    problem = f"Too many sign-in attempts. Try again in {retry_after_seconds()} seconds."
    return _sign_in_page(next_path="", problem=problem, status=429)


@blp.errorhandler(FormRefused)
def _form_refused(error: FormRefused) -> tuple[str, int]:
    # For whoever runs the site: behind a proxy that PROXY_COUNT does not count, every form is refused as cross-site.
    log.warning(
        "dashboard page form refused (%s): Origin %r, Referer origin %r, own origin %r",
        error.reason,
        request.headers.get("Origin"),
        rules.origin_of(request.headers.get("Referer") or ""),
        rules.origin_of(request.host_url),
    )
    signing_out = request.endpoint == "dashboard_page.sign_out"
    page = render_template(
        "dashboard/refused.html",
        title="Signing out was refused" if signing_out else "Signing in was refused",
        message=error.message,
        reason=error.reason,
        signing_out=signing_out,
        next_path=_safe_next(request.form.get("next")),
    )
    return page, 403


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
    return auth_sessions.authenticate_page(
        db_session(),
        credential=request.cookies.get(SIGN_IN_COOKIE, ""),
        secret_key=current_app.config["SECRET_KEY"],
        now=clock().now(),
    )


def _check_sent_from_this_site() -> None:
    # request.host_url is this request's own scheme, host and port (ProxyFix rebuilds them behind a proxy).
    origin, referer = request.headers.get("Origin"), request.headers.get("Referer")
    rules.check_sent_from(request.host_url, origin=origin, referer=referer)


@blp.get("/sign-in")
def sign_in_form() -> Response:
    return _sign_in_page(next_path=_safe_next(request.args.get("next")) or "", problem=None, status=200)


@blp.post("/sign-in")
def sign_in() -> Any:
    next_path = _safe_next(request.form.get("next"))
    # Both before the password is checked: a refused form changes nothing, and counts no wrong password.
    _check_sent_from_this_site()
    rules.check_sign_in_form_token(
        _forms_key(),
        nonce=request.cookies.get(FORM_COOKIE, ""),
        token=request.form.get("form_token", ""),
        now=clock().now(),
    )
    minutes = int(current_app.config["DASHBOARD_SIGN_IN_MINUTES"])
    try:
        signed_in = signing_in.sign_in_to_page(
            db_session(),
            email=request.form.get("email", ""),
            password=request.form.get("password", ""),
            secret_key=current_app.config["SECRET_KEY"],
            minutes=minutes,
            now=clock().now(),
            guards=sign_in_guards(),
            code=request.form.get("code", ""),
            mfa=MfaSettings.from_config(current_app.config),
        )
    except InvalidCredentials as refused:
        return _sign_in_page(next_path=next_path or "", problem=refused.message, status=401)
    actor = signed_in.actor
    if next_path is None and actor.programme_id is not None:
        next_path = url_for("dashboard_page.programme_dashboard", programme_id=actor.programme_id)
    response = redirect(next_path or url_for("dashboard_page.sign_in_form"), code=303)
    _set_cookie(response, SIGN_IN_COOKIE, signed_in.credential, max_age=minutes * 60)
    # The form's value has done its work; the next sign-in form gets a new one.
    _delete_cookie(response, FORM_COOKIE)
    return response


@blp.post("/sign-out")
def sign_out() -> AnyResponse:
    _check_sent_from_this_site()
    response = redirect(url_for("dashboard_page.sign_in_form"), code=303)
    try:
        actor = _actor_from_cookie()
    except AuthenticationFailed:
        # Signed out already (or the sign-in ran out): nothing is left to end.
        _delete_cookie(response, SIGN_IN_COOKIE)
        return response
    assert actor.auth_session_id is not None
    rules.check_sign_out_form_token(
        _forms_key(), sign_in_id=actor.auth_session_id, token=request.form.get("form_token", "")
    )
    auth_sessions.sign_out(db_session(), actor=actor, now=clock().now())
    _delete_cookie(response, SIGN_IN_COOKIE)
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


# How a cohort's kind reads beside its name, so group-only places are never taken for one-to-one (Protect, Prevent).
KIND_NAMES = {CohortKind.ONE_TO_ONE: "one-to-one", CohortKind.GROUP_ONLY: "group-only"}


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


def _occupancy(page: PageFigures) -> list[Section]:
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
        described = f"{cohort.cohort_name} ({KIND_NAMES[cohort.cohort_kind]}, {cohort.funded} places)"
        chart = charts.column_chart(
            key=f"occupancy-{number}",
            title=f"Occupancy over time: {described}",
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


def _delivery(figures: PageFigures) -> Section:
    """Sessions delivered, missed and cancelled in each of the last 12 ISO weeks (the delivery dashboard); the table
    adds the children's missed attendances (a group session's register counts each child who did not come)."""
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
            _count_text(week.missed_attendances),
        )
        for monday, week in zip(mondays, weeks, strict=True)
    )
    headers = ("Week", "Delivered", "Missed", "Cancelled", "Missed attendances")
    return Section(chart, Table("Sessions per week", headers, rows))


def _wellbeing(figures: PageFigures) -> Section:
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


def _outcomes(figures: PageFigures) -> Section:
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


def _minutes(value: Decimal | None, count: int | str) -> str:
    return _absent(count) if value is None else f"{value:.1f}"


def _acknowledgement(figures: PageFigures) -> Section:
    """Minutes from an alert being raised to its acknowledgement, by urgency (the time-to-acknowledge dashboard)."""
    rows_by_urgency = figures.acknowledgement.urgencies
    names = [row.urgency.value.capitalize() for row in rows_by_urgency]

    def point(value: Decimal | None, acknowledged: int | str) -> Point:
        return Point(float(value) if value is not None else None, _minutes(value, acknowledged))

    series = [
        Series("Median", tuple(point(row.median_minutes, row.acknowledged) for row in rows_by_urgency)),
        Series("90th percentile", tuple(point(row.p90_minutes, row.acknowledged) for row in rows_by_urgency)),
    ]
    chart = charts.column_chart(
        key="time-to-acknowledge",
        title="Time to acknowledge alerts, by urgency",
        description="Minutes from an alert being raised in the last 12 months to a named person acknowledging it.",
        categories=names,
        series=series,
        x_label="Urgency",
        y_label="Minutes",
    )
    rows = tuple(
        (
            name,
            _count_text(row.raised),
            _count_text(row.acknowledged),
            _minutes(row.median_minutes, row.acknowledged),
            _minutes(row.p90_minutes, row.acknowledged),
            _count_text(row.unacknowledged),
            _minutes(row.oldest_unacknowledged_minutes, row.unacknowledged),
        )
        for name, row in zip(names, rows_by_urgency, strict=True)
    )
    headers = (
        "Urgency",
        "Raised",
        "Acknowledged",
        "Median minutes",
        "90th percentile minutes",
        "Still unacknowledged",
        "Oldest unacknowledged, minutes",
    )
    return Section(chart, Table("Time to acknowledge alerts, by urgency", headers, rows))


def _shown(value: int | str | None) -> str:
    """A count of children as the dashboard gives it: "<5" when suppressed, "withheld" when a total is."""
    return WITHHELD if value is None else str(value)


def _shown_size(value: int | str | None) -> float | None:
    return float(value) if isinstance(value, int) else None


def _group_delivery(figures: PageFigures) -> list[Section]:
    """The year's group series (the group-delivery dashboard): children starting and completing each, then each
    series' sessions with their attendance and carers."""
    dashboard = figures.group_delivery
    names = [series.name for series in dashboard.series]
    chart = charts.column_chart(
        key="group-delivery",
        title="Group series: children starting and completing",
        description=(
            "Per group series with a session in the last 12 months: children on its roster who attended their first "
            "session of it in that time (started), and who reached the sessions needed to complete it (completed)."
        ),
        categories=names,
        series=[
            Series(name, tuple(Point(_shown_size(getattr(s, key)), _shown(getattr(s, key))) for s in dashboard.series))
            for name, key in (("Started", "children_started"), ("Completed", "children_completed"))
        ],
        x_label="Series",
        y_label="Children",
    )
    rows = tuple(
        (
            series.name,
            f"{series.sessions_held} of {series.sessions_in_period}",
            f"{series.complete_after_sessions} of {series.sessions_planned}",
            _shown(series.roster),
            _shown(series.left),
            _shown(series.children_started),
            _shown(series.children_completed),
            _shown(series.carers_attended),
        )
        for series in dashboard.series
    )
    headers = (
        "Series",
        "Sessions held of planned in the period",
        "Sessions to complete (K of N)",
        "On the roster now",
        "Left the roster",
        "Children started",
        "Children completed",
        "Carers attending",
    )
    note = (
        f"Series run: {dashboard.series_run}; sessions held: {dashboard.sessions_held}; children started: "
        f"{_shown(dashboard.children_started)}; completed: {_shown(dashboard.children_completed)}; carers attending: "
        f"{_shown(dashboard.carers_attended)}. A child counts once per series; carers are not children. A total is "
        "withheld when a series' figure in it is suppressed."
        if dashboard.series
        else "No group series had a session in the last 12 months."
    )
    sections = [Section(chart, Table("Group series in the last 12 months", headers, rows), note)]
    for number, series in enumerate(dashboard.series):
        sessions = series.sessions
        dates = [session.date.strftime("%d %b %Y") for session in sessions]
        keys = (("Attended", "attended"), ("Did not attend", "did_not_attend"), ("Cancelled", "cancelled"))
        session_chart = charts.column_chart(
            key=f"group-series-{number}",
            title=f"Attendance per session: {series.name}",
            description="Children at each of the series' sessions in the last 12 months, by their register line.",
            categories=[session.date.strftime("%d %b") for session in sessions],
            series=[
                Series(name, tuple(Point(_shown_size(getattr(s, key)), _shown(getattr(s, key))) for s in sessions))
                for name, key in keys
            ],
            x_label="Session",
            y_label="Children",
        )
        session_rows = tuple(
            (
                day,
                session.status.value.replace("_", " "),
                _shown(session.booked),
                _shown(session.attended),
                _shown(session.did_not_attend),
                _shown(session.cancelled),
                _shown(session.not_yet_marked),
                _shown(session.carers),
            )
            for day, session in zip(dates, sessions, strict=True)
        )
        session_headers = (
            "Date",
            "Status",
            "Children booked",
            "Attended",
            "Did not attend",
            "Cancelled",
            "Not yet marked",
            "Carers",
        )
        table = Table(f"Sessions of {series.name}", session_headers, session_rows)
        sections.append(Section(session_chart, table))
    return sections


@blp.get("/programmes/<uuid:programme_id>")
def programme_dashboard(programme_id: uuid.UUID) -> str:
    actor = _actor_from_cookie()
    if actor.role not in PAGE_ROLES:
        raise PermissionDenied()
    figures = page_figures(
        db_session(),
        actor=actor,
        programme_id=programme_id,
        instruments=current_app.extensions["reachable.instruments"],
        suppression_threshold=current_app.config["SMALL_NUMBER_THRESHOLD"],
        now=clock().now(),
    )
    year = figures.year
    until = year.filters.until or clock().now().date()
    sections = [
        *_occupancy(figures),
        _delivery(figures),
        _wellbeing(figures),
        _outcomes(figures),
        _acknowledgement(figures),
        *_group_delivery(figures),
    ]
    return render_template(
        "dashboard/programme.html",
        sections=sections,
        since=year.filters.since,
        until=until,
        threshold=current_app.config["SMALL_NUMBER_THRESHOLD"],
        commissioner=actor.role is Role.COMMISSIONER,
        sign_out_token=_sign_out_token(actor),
    )


def _sign_out_token(actor: Actor) -> str:
    assert actor.auth_session_id is not None
    return rules.sign_out_form_token(_forms_key(), sign_in_id=actor.auth_session_id)
