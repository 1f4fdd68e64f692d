"""The application factory: configuration, database, API, blueprints, error handlers, CLI."""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from flask import Flask, Response, request
from flask_limiter import Limiter
from flask_limiter.util import get_remote_address
from werkzeug.middleware.proxy_fix import ProxyFix

from api import cli
from api.accounts.views import blp as accounts_blp
from api.alerts.views import blp as alerts_blp
from api.audit.views import blp as audit_blp
from api.caseloads.views import blp as caseloads_blp
from api.children.views import blp as children_blp
from api.clock import SystemClock
from api.config import DefaultConfig, check_secret_key, database_url_from_environment
from api.dashboards.page import blp as dashboard_page_blp
from api.dashboards.views import blp as dashboards_blp
from api.db import Database
from api.enrolments.views import blp as enrolments_blp
from api.health.views import blp as health_blp
from api.missing.views import blp as missing_blp
from api.outbox.views import blp as outbox_blp
from api.outcomes.views import blp as outcomes_blp
from api.programmes.views import blp as programmes_blp
from api.referrals.views import blp as referrals_blp
from api.schedules.views import blp as schedules_blp
from api.sessions.views import blp as sessions_blp
from api.sync.views import blp as sync_blp
from api.web import Api, init_database, register_error_handlers
from api.wellbeing.instruments import SHIPPED_INSTRUMENTS, load_instruments
from api.wellbeing.page import blp as checkin_page_blp
from api.wellbeing.views import blp as wellbeing_blp

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
    alerts_blp,
    sync_blp,
    missing_blp,
    wellbeing_blp,
    outbox_blp,
    outcomes_blp,
    dashboards_blp,
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

    api = Api(app, spec_kwargs={"info": {"description": _read_description()}})
    api.spec.components.security_scheme("bearerAuth", {"type": "http", "scheme": "bearer", "bearerFormat": "JWT"})
    for blueprint in BLUEPRINTS:
        api.register_blueprint(blueprint)
    register_error_handlers(app)
    # The child's check-in page is HTML, not part of the JSON API or its OpenAPI document.
    app.register_blueprint(checkin_page_blp)
    # The commissioners' dashboard page is HTML too, signed in by a cookie of its own (api/dashboards/page.py).
    app.register_blueprint(dashboard_page_blp)
    _init_rate_limits(app)
    app.after_request(_security_headers)

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
    # Every operation needs a bearer token unless its view says otherwise.
    app.config.setdefault("API_SPEC_OPTIONS", {})
    app.config["API_SPEC_OPTIONS"] = {"security": [{"bearerAuth": []}], **app.config["API_SPEC_OPTIONS"]}


def _init_rate_limits(app: Flask) -> None:
    """One limiter per app (its store comes from RATELIMIT_STORAGE_URI); limits are attached per blueprint."""
    limiter = Limiter(get_remote_address, app=app)
    # Only look-ups that fail count, so a child opening and submitting their own link is never slowed.
    limiter.limit(
        app.config["CHECK_IN_LINK_FAILURE_LIMIT"],
        deduct_when=lambda response: response.status_code == 404,
        scope="check-in-link-failures",
    )(checkin_page_blp)
    app.extensions["reachable.limiter"] = limiter


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
    return response
