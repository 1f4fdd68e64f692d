"""GET /metrics for Prometheus, and the request instruments. Not part of the JSON API or its OpenAPI document.

Not public: with no REACHABLE_METRICS_TOKEN the route answers 404, as if it did not exist; with one, it answers
only `Authorization: Bearer <that token>` (compared in constant time), 401 otherwise. Give the token to the
Prometheus server alone (its scrape config's `authorization` block).
"""

from __future__ import annotations

import hmac
import os
import time
from typing import Any

from flask import Blueprint, Flask, Response, current_app, g, request
from prometheus_client import CONTENT_TYPE_PLAIN_0_0_4, REGISTRY, CollectorRegistry, generate_latest
from prometheus_client.multiprocess import MultiProcessCollector
from werkzeug.exceptions import NotFound, Unauthorized

from api.metrics.figures import DatabaseFigures
from api.metrics.instruments import observe_request, watch_pool
from api.web import clock, db_session
from scheduling.jobs import JOB_TIMINGS

blp = Blueprint("metrics", __name__)
_STARTED = "reachable_metrics_started"


def init_metrics(app: Flask) -> None:
    """Time and count every request, watch the database pool and serve /metrics. Call it once the database is set
    up and before other request hooks, so the timing covers them and the count sees the final status."""
    watch_pool(app.extensions["reachable.db"].engine)
    app.before_request(_start_timer)
    app.after_request(_count_request)
    app.register_blueprint(blp)


def _start_timer() -> None:
    g.setdefault(_STARTED, time.perf_counter())


def _count_request(response: Response) -> Response:
    started = g.get(_STARTED)
    if started is not None:
        route = request.url_rule.rule if request.url_rule else None
        observe_request(route, request.method, response.status_code, time.perf_counter() - started)
    return response


@blp.route("/metrics", methods=["GET"])
def metrics() -> Any:
    _check_token()
    body = _process_instruments() + _database_figures()
    return Response(body, headers={"Content-Type": CONTENT_TYPE_PLAIN_0_0_4, "Cache-Control": "no-store"})


def _check_token() -> None:
    token = str(current_app.config.get("METRICS_TOKEN") or "")
    if not token:
        raise NotFound()
    offered = request.headers.get("Authorization", "")
    scheme, _, credential = offered.partition(" ")
    if scheme.lower() != "bearer" or not hmac.compare_digest(credential.strip().encode(), token.encode()):
        raise Unauthorized("The metrics need their own bearer token (REACHABLE_METRICS_TOKEN).")


def _process_instruments() -> bytes:
    """This process's instruments; in multiprocess mode every process's, summed from PROMETHEUS_MULTIPROC_DIR."""
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        registry = CollectorRegistry()
        MultiProcessCollector(registry)
        return generate_latest(registry)
    return generate_latest(REGISTRY)


def _database_figures() -> bytes:
    registry = CollectorRegistry(auto_describe=False)
    registry.register(DatabaseFigures(db_session(), jobs=JOB_TIMINGS, now=clock().now()))
    return generate_latest(registry)
