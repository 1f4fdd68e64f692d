from __future__ import annotations

from typing import Any

from flask_smorest import Blueprint

from api.health import service
from api.health.schemas import HealthSchema, ReadinessSchema
from api.web import clock, database, db_session
from scheduling.jobs import JOB_TIMINGS

blp = Blueprint("health", __name__, description="Liveness and readiness probes")


@blp.route("/healthz", methods=["GET"])
@blp.doc(security=[])
@blp.response(200, HealthSchema)
def healthz() -> Any:
    """The process is up

    For a load balancer's liveness probe: answers 200 `{"status": "ok"}` whenever the process can serve a request,
    without touching the database, so a database outage never gets a healthy process restarted. No token needed.
    """
    return {"status": "ok"}


@blp.route("/readyz", methods=["GET"])
@blp.doc(security=[])
@blp.response(200, ReadinessSchema)
@blp.alt_response(503, schema=ReadinessSchema, description="Not ready: the database is down or not migrated")
def readyz() -> Any:
    """The database is reachable and migrated to the newest revision

    For a readiness probe: 200 with `ready: true` when the database answers and its schema is at the newest Alembic
    revision; otherwise 503 with the same body saying which is wrong (`database: unreachable`, or the revision the
    database is at against the newest). Send traffic only to instances that answer 200. No token needed.

    `scheduler` reports the scheduler's jobs for a dashboard: each job's last success and whether it is late (no
    success within twice its interval). It never makes this probe fail: a stuck scheduler is restarted through its
    own probe (`python -m scheduling --check`), not by taking the web instances out of service.
    """
    readiness = service.check_readiness(
        database().engine, database_url=database().url, db_session=db_session(), jobs=JOB_TIMINGS, now=clock().now()
    )
    return readiness, (200 if readiness.ready else 503)
