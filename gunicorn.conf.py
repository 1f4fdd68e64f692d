"""Gunicorn's settings for production. Gunicorn reads ./gunicorn.conf.py by itself, so the README's command,
run from the repository root, uses them; options on the command line (--workers, --bind) still win, and
GUNICORN_CMD_ARGS overrides either without editing this file.

What this file settles is how a web server stops without losing a request (tests/reliability prove it). On
SIGTERM (a deploy, a scale-down) gunicorn closes its listening socket, so no new request is accepted, and tells
each worker to stop after the request it is serving: that request's transaction commits and its answer is sent.
A worker still busy after graceful_timeout seconds is killed, and its transaction rolls back (the client gets
no answer and retries; an Idempotency-Key makes the retry safe). So graceful_timeout must be longer than the
slowest request and shorter than the grace the process manager gives before its own SIGKILL: Kubernetes'
terminationGracePeriodSeconds (30 by default), systemd's TimeoutStopSec (90), Docker's `stop --time` (10 by
default: raise it to 30 or more). SIGINT and SIGQUIT are not graceful: workers stop at once.
"""

from __future__ import annotations

import os
from typing import Any

from api.config import settings_from_environment

# One request at a time per worker: a request holds one database connection from its pool for its whole life.
worker_class = "sync"
# The slowest request is far shorter; this leaves 5 s of Kubernetes' default 30 s for the master to exit.
graceful_timeout = 25
# A worker silent this long (stuck) is killed and replaced.
timeout = 30
# Never load the app in the master: each worker must open its own database connections after the fork.
preload_app = False
# No access log of gunicorn's: the app writes one line per request (api/request_log.py), with the route's template
# in place of the path (a check-in link's path is its token) and the request's id.
accesslog = None
# Gunicorn's own lines (starting, booting workers, a worker timing out) in the app's format (REACHABLE_LOG_FORMAT),
# on stdout beside the app's: api/logs.py renders them.
_settings = settings_from_environment()
logconfig_dict = {
    "root": {"level": str(_settings["LOG_LEVEL"]).upper(), "handlers": ["stdout"]},
    "loggers": {
        "gunicorn.error": {"level": "INFO", "handlers": [], "propagate": True},
        "gunicorn.access": {"level": "INFO", "handlers": [], "propagate": False},
    },
    "handlers": {"stdout": {"class": "logging.StreamHandler", "formatter": "reachable", "stream": "ext://sys.stdout"}},
    "formatters": {"reachable": {"()": "api.logs.formatter", "log_format": str(_settings["LOG_FORMAT"])}},
}
# Gunicorn 25+ opens a control socket at ~/.gunicorn/gunicorn.ctl, one path for every server the user runs (two
# would take each other's); nothing here uses it. Older versions ignore the setting.
control_socket_disable = True


def worker_exit(server: Any, worker: Any) -> None:
    """Close the worker's database connections as it exits, rather than leaving the server to notice."""
    database = getattr(getattr(worker, "wsgi", None), "extensions", {}).get("reachable.db")
    if database is not None:
        database.dispose()


def child_exit(server: Any, worker: Any) -> None:
    """With PROMETHEUS_MULTIPROC_DIR set (several workers' metrics summed by any one: api/metrics), drop the exited
    worker's live gauges (connections in use), so a dead worker's last values are not summed for ever."""
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        from prometheus_client import multiprocess

        multiprocess.mark_process_dead(worker.pid)
