"""Each request's id and its one access line.

The id is the proxy's X-Request-ID when the app is behind trusted proxies (REACHABLE_PROXY_COUNT, the setting
ProxyFix trusts X-Forwarded-* by) and the id looks sane; otherwise one of ours. A client talking to the app
directly cannot choose it: it could otherwise make its requests look like someone else's in the logs. The id is
sent back as X-Request-ID, in every error body (api/web.py), on every log line the request causes, and on the SMS
it queues (api/outbox/service.py), whose dispatch line carries it again (api/sms/dispatch.py).

The access line names the route's template (/c/<token>), never the path or query string, which can hold a token,
and who asked by user id and role only.
"""

from __future__ import annotations

import logging
import time

from flask import Flask, Response, current_app, g, request

from api import logs

log = logging.getLogger(__name__)
HEADER = "X-Request-ID"
UNMATCHED = "<unmatched>"


def request_id() -> str:
    """This request's id, chosen (and bound for the log lines) on first use."""
    if "request_id" not in g:
        chosen = None
        if current_app.config.get("PROXY_COUNT"):
            chosen = logs.sane_request_id(request.headers.get(HEADER))
        g.request_id = chosen or logs.new_request_id()
        g.request_id_tokens = logs.bind_request_id(g.request_id)
    return str(g.request_id)


def _start() -> None:
    g.request_started = time.perf_counter()
    request_id()


def _finish(response: Response) -> Response:
    response.headers[HEADER] = request_id()
    started = g.get("request_started")
    actor = g.get("actor")
    log.info(
        "request",
        extra={
            "request_id": request_id(),
            "method": request.method,
            "route": request.url_rule.rule if request.url_rule is not None else UNMATCHED,
            "status": response.status_code,
            "duration_ms": round((time.perf_counter() - started) * 1000, 1) if started is not None else None,
            "user_id": str(actor.user_id) if actor is not None else None,
            "role": str(actor.role) if actor is not None else None,
        },
    )
    return response


def _unbind(_exc: BaseException | None) -> None:
    tokens = g.pop("request_id_tokens", None)
    if tokens is not None:
        logs.unbind_request_id(tokens)


def init_request_log(app: Flask) -> None:
    """Registered before every other hook: the id exists before anything can refuse the request, and the access
    line is written after every other after-request hook (Flask runs those in reverse), with the final status."""
    app.before_request(_start)
    app.after_request(_finish)
    app.teardown_request(_unbind)
