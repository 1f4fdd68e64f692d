"""The application factory: configuration, database, API, blueprints, error handlers, CLI."""

from __future__ import annotations

import logging
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from flask import Flask, Response, current_app, request
from flask_limiter import Limiter
from flask_limiter.util import get_remote_address
from limits import parse_many
from werkzeug.middleware.proxy_fix import ProxyFix

from api import cli
from api.accounts import auth_sessions
from api.accounts.rules import DEFAULT_MFA_REQUIRED_ROLES, parse_roles
from api.accounts.views import blp as accounts_blp
from api.actors import Actor
from api.alerts.views import blp as alerts_blp
from api.apidocs.page import blp as apidocs_blp
from api.audit.views import blp as audit_blp
from api.auth import AUTHENTICATE
from api.caseloads.views import blp as caseloads_blp
from api.children.views import blp as children_blp
from api.clock import SystemClock
from api.compression import init_compression
from api.config import DefaultConfig, check_secret_key, database_url_from_environment
from api.contract import ContractPlugin, complete_contract
from api.dashboards.page import blp as dashboard_page_blp
from api.dashboards.views import blp as dashboards_blp
from api.db import Database
from api.duty.views import blp as duty_blp
from api.enrolments.views import blp as enrolments_blp
from api.groups.views import blp as groups_blp
from api.health.views import blp as health_blp
from api.mentors_app.views import blp as mentors_app_blp
from api.metrics.web import init_metrics
from api.missing.views import blp as missing_blp
from api.outcomes.views import blp as outcomes_blp
from api.privacy.logs import redact_link_tokens_in_logs
from api.privacy.views import blp as privacy_blp
from api.programmes.views import blp as programmes_blp
from api.referrals.views import blp as referrals_blp
from api.request_input import refuse_unstorable_input
from api.request_log import init_request_log
from api.schedules.views import blp as schedules_blp
from api.sessions.views import blp as sessions_blp
from api.sms.views import blp as sms_blp
from api.sync.views import blp as sync_blp
from api.web import Api, clock, db_session, init_database, keep_retry_after, register_error_handlers
from api.wellbeing import links
from api.wellbeing.instruments import SHIPPED_INSTRUMENTS, load_instruments
from api.wellbeing.page import blp as checkin_page_blp
from api.wellbeing.views import blp as wellbeing_blp

log = logging.getLogger(__name__)

BLUEPRINTS = [
    health_blp,
    accounts_blp,
    programmes_blp,
    enrolments_blp,
    children_blp,
    referrals_blp,
    caseloads_blp,
    audit_blp,
    sessions_blp,
    schedules_blp,
    groups_blp,
    alerts_blp,
    duty_blp,
    sync_blp,
    missing_blp,
    wellbeing_blp,
    sms_blp,
    outcomes_blp,
    dashboards_blp,
    privacy_blp,
]

API_DESCRIPTION_FILE = os.path.join(os.path.dirname(__file__), "..", "openapi", "description.md")


def create_app(config: Mapping[str, Any] | None = None) -> Flask:
    app = Flask(__name__, instance_relative_config=True)
    app.config.from_object(DefaultConfig)
    app.config.from_prefixed_env("REACHABLE")
    if config:
        app.config.update(config)
    _finish_config(app)

    app.extensions["reachable.clock"] = app.config.get("CLOCK") or SystemClock()
    wording = app.config["LICENSED_WORDING_FILE"]
    app.extensions["reachable.instruments"] = load_instruments(
        SHIPPED_INSTRUMENTS, licensed_wording_file=Path(wording) if wording else None
    )
    init_database(app, Database(app.config["DATABASE_URL"]))
    # Before every other request hook: requests are timed and counted whatever answers them (api/metrics).
    init_metrics(app)
    app.extensions[AUTHENTICATE] = _authenticate
    # The request's id and access line (api/request_log.py): first, so every refusal after it carries the id.
    init_request_log(app)
    # Next of the before-request hooks: no view, schema or rate limit reads text that cannot be stored.
    app.before_request(refuse_unstorable_input)

    api = Api(app, spec_kwargs={"info": {"description": _read_description()}, "extra_plugins": [ContractPlugin(app)]})
    complete_contract(api)
    api.spec.components.security_scheme("bearerAuth", {"type": "http", "scheme": "bearer", "bearerFormat": "JWT"})
    for blueprint in BLUEPRINTS:
        api.register_blueprint(blueprint)
    register_error_handlers(app)
    # The child's check-in page is HTML, not part of the JSON API or its OpenAPI document.
    app.register_blueprint(checkin_page_blp)
    # The commissioners' dashboard page is HTML too, signed in by a cookie of its own (api/dashboards/page.py).
    app.register_blueprint(dashboard_page_blp)
    # The interactive API docs (/docs, /redoc), from copies inside the package: no CDN (api/apidocs/page.py).
    app.register_blueprint(apidocs_blp)
    # The mentors' offline-first app (/app): static code only, its data comes from the API (api/mentors_app).
    app.register_blueprint(mentors_app_blp)
    _init_rate_limits(app)
    app.after_request(_security_headers)
    init_compression(app)
    redact_link_tokens_in_logs(app)

    if app.config["PROXY_COUNT"]:
        count = int(app.config["PROXY_COUNT"])
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=count, x_proto=count, x_host=count, x_port=count)  # type: ignore[method-assign]
    cli.register(app)
    return app


def _finish_config(app: Flask) -> None:
    if not app.config["DATABASE_URL"]:
        app.config["DATABASE_URL"] = database_url_from_environment()
    secret_key_problem = check_secret_key(app.config.get("SECRET_KEY"))
    if secret_key_problem:
        raise RuntimeError(secret_key_problem)
    try:
        required = parse_roles(app.config["MFA_REQUIRED_ROLES"])
    except ValueError as error:
        raise RuntimeError(
            "REACHABLE_MFA_REQUIRED_ROLES must name roles (admin, coordinator, mentor, commissioner), "
            f"comma-separated, or be empty: {error}"
        ) from None
    unguarded = sorted(DEFAULT_MFA_REQUIRED_ROLES - required)
    if unguarded:
        # Loud on every start: a password alone then reaches children's records (the demo chooses this).
        log.warning(
            "MULTI-FACTOR SIGN-IN IS OFF for %s (REACHABLE_MFA_REQUIRED_ROLES=%r): a password alone signs them in. "
            "Never run like this in production.",
            ", ".join(unguarded),
            app.config["MFA_REQUIRED_ROLES"],
        )
    public_base_url_problem = links.public_base_url_problem(app.config["PUBLIC_BASE_URL"])
    if public_base_url_problem:
        raise RuntimeError(public_base_url_problem)
    # Every operation needs a bearer token unless its view says otherwise.
    app.config.setdefault("API_SPEC_OPTIONS", {})
    app.config["API_SPEC_OPTIONS"] = {"security": [{"bearerAuth": []}], **app.config["API_SPEC_OPTIONS"]}


# Operations a caller can use to send a person an SMS at will, limited per user (SMS_SEND_LIMIT_PER_USER).
# Session create/move/cancel also (re)queue reminders, but not at will: a session has at most its two reminders
# per recipient pending, each sent at its set time before the session, and a move cancels the old ones; the
# weekly cap bounds sessions. Limiting them would stall a phone syncing a day's work, and spam nobody.
# The second step of a sign-in shares the sign-in's limit per address: each is a guess at a credential.
SIGN_IN_ENDPOINTS = [
    "accounts.sign_in",
    "dashboard_page.sign_in",
    "accounts.mfa_verify",
    "accounts.mfa_enrol",
    "accounts.mfa_confirm",
]
RATE_LIMIT_SETTINGS = [
    "CHECK_IN_LINK_FAILURE_LIMIT",
    "SIGN_IN_LIMIT_PER_ADDRESS",
    "SIGN_IN_LIMIT_PER_EMAIL",
    "REFRESH_LIMIT_PER_ADDRESS",
    "SMS_SEND_LIMIT_PER_USER",
]


def _init_rate_limits(app: Flask) -> None:
    """One limiter per app; its store comes from RATELIMIT_STORAGE_URI (Redis in production, so every process
    counts against the same limits). A broken limit answers 429 in the error envelope with Retry-After."""
    # Registered before the limiter's own after-request hook, so it runs after it (Flask runs them in reverse).
    app.after_request(keep_retry_after)
    config = app.config
    for setting in RATE_LIMIT_SETTINGS:
        try:
            parse_many(config[setting])
        except ValueError as error:  # at start-up, not as a 500 on the first request that meets the limit
            example = "10 per minute;60 per hour"
            raise RuntimeError(f"REACHABLE_{setting} is not a rate limit such as '{example}'") from error
    limiter = Limiter(get_remote_address, app=app)
    # CHECK_IN_LINK_FAILURE_LIMIT is counted by the check-in page itself, after a look-up fails
    # (web.count_failed_check_in_look_up): a limit checked before the view would refuse a child's working link.

    # Every sign-in attempt counts per address, through either door (the API and the dashboard page share it).
    # SIGN_IN_LIMIT_PER_EMAIL is counted by the sign-in itself (web.spend_sign_in_budget), once it knows whether
    # the attempt can guess at all: an address locked out of the account must not spend the account's budget.
    per_address = limiter.shared_limit(config["SIGN_IN_LIMIT_PER_ADDRESS"], scope="sign-in-per-address")
    for endpoint in SIGN_IN_ENDPOINTS:
        _limit_view(app, endpoint, per_address)
    refresh_per_address = limiter.limit(config["REFRESH_LIMIT_PER_ADDRESS"], scope="refresh-per-address")
    _limit_view(app, "accounts.refresh", refresh_per_address)
    # SMS_SEND_LIMIT_PER_USER is counted by the services that queue an SMS, as they queue it (spend_sms_budget):
    # per user, not per address (a mentor's phone moves between networks, and an office shares one address).
    app.extensions["reachable.limiter"] = limiter


def _limit_view(app: Flask, endpoint: str, *limits: Any) -> None:
    """Wrap a registered view in limits (a missing endpoint fails loudly: a renamed view must not lose them)."""
    view: Any = app.view_functions[endpoint]
    for limit in limits:
        view = limit(view)
    app.view_functions[endpoint] = view


def _read_description() -> str:
    try:
        with open(API_DESCRIPTION_FILE, encoding="utf-8") as description:
            return description.read()
    except FileNotFoundError:
        return ""


def _security_headers(response: Response) -> Response:
    response.headers.setdefault("X-Content-Type-Options", "nosniff")
    response.headers.setdefault("Referrer-Policy", "no-referrer")
    response.headers.setdefault("X-Frame-Options", "DENY")
    if response.mimetype == "application/json" and not request.path.endswith("openapi.json"):
        # Answers can hold children's data: no cache may keep them.
        response.headers.setdefault("Cache-Control", "no-store")
        response.headers.setdefault("Content-Security-Policy", "default-src 'none'; frame-ancestors 'none'")
    elif response.mimetype == "text/html" and "Content-Security-Policy" not in response.headers:
        # HTML with no policy of its own: any page added later (strict until it says more).
        response.headers["Content-Security-Policy"] = _html_policy(response)
    return response


def _html_policy(response: Response) -> str:
    """Pages with no policy of their own may load and run nothing (the API docs pages set theirs: api/apidocs)."""
    response.headers.setdefault("Cache-Control", "no-store")
    return "default-src 'none'; frame-ancestors 'none'; base-uri 'none'; form-action 'none'"


def _authenticate(access_token: str) -> Actor:
    """The accounts domain's check of a bearer token, for api.auth (which every view imports) to call."""
    return auth_sessions.authenticate(
        db_session(),
        access_token=access_token,
        settings=auth_sessions.TokenSettings.from_config(current_app.config),
        now=clock().now(),
    )
