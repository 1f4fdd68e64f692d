"""The per-process instruments of the web app. prometheus_client decides at import whether values live in this
process or in files under PROMETHEUS_MULTIPROC_DIR (one per process, summed at scrape time)."""

from __future__ import annotations

from typing import Any

from prometheus_client import Counter, Gauge, Histogram
from sqlalchemy import Engine, event

REQUESTS = Counter(
    "reachable_http_requests_total", "HTTP requests answered, by route template, method and status",
    ["route", "method", "status"],
)  # fmt: skip
REQUEST_SECONDS = Histogram(
    "reachable_http_request_duration_seconds", "Time to answer an HTTP request, by route template and method",
    ["route", "method"],
)  # fmt: skip
# livesum: the sum over the processes alive now (gunicorn.conf.py tells prometheus_client when a worker exits).
POOL_CHECKED_OUT = Gauge(
    "reachable_db_pool_checked_out", "Database connections in use (checked out of the pools)",
    multiprocess_mode="livesum",
)  # fmt: skip
POOL_SIZE = Gauge(
    "reachable_db_pool_size", "Database connections the pools keep (before overflow)", multiprocess_mode="livesum"
)

# Methods outside these are counted as "other": a client can send any token as a method.
KNOWN_METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})
# A request no route matched (404, or 405 for an unknown method): never the path itself, which a client chooses.
UNMATCHED_ROUTE = "<unmatched>"


def observe_request(route: str | None, method: str, status: int, seconds: float) -> None:
    route = route or UNMATCHED_ROUTE
    method = method if method in KNOWN_METHODS else "other"
    REQUESTS.labels(route=route, method=method, status=str(status)).inc()
    REQUEST_SECONDS.labels(route=route, method=method).observe(seconds)


def watch_pool(engine: Engine) -> None:
    """Count the engine's connections in use as they are checked out and in; note the pool's size."""
    size = getattr(engine.pool, "size", None)
    if callable(size):
        POOL_SIZE.inc(size())

    @event.listens_for(engine, "checkout")
    def _checked_out(*_: Any) -> None:
        POOL_CHECKED_OUT.inc()

    @event.listens_for(engine, "checkin")
    def _checked_in(*_: Any) -> None:
        POOL_CHECKED_OUT.dec()
