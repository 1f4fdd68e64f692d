"""The Idempotency-Key header on create operations (see service.py for the guarantees)."""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any, TypeVar

from flask import Response, jsonify, request

from api.auth import current_actor
from api.idempotency import service
from api.web import clock, db_session, etag

F = TypeVar("F", bound=Callable[..., Any])
HEADER = "Idempotency-Key"


def idempotent(view: F) -> F:
    """Replay the first answer to a retried create. Goes below @requires (it needs the caller)."""

    @functools.wraps(view)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        key = request.headers.get(HEADER)
        if key is None:
            return view(*args, **kwargs)
        outcome = service.claim(
            db_session(),
            user_id=current_actor().user_id,
            key=key,
            request_fingerprint=service.fingerprint(request.method, request.path, request.get_data()),
            now=clock().now(),
        )
        if isinstance(outcome, service.Replay):
            replay: Response = jsonify(outcome.body)
            replay.status_code = outcome.status
            replay.headers["Idempotent-Replayed"] = "true"
            if isinstance(outcome.body, dict) and isinstance(outcome.body.get("version"), int):
                # Every versioned record's ETag is its version, so the replay carries the same ETag.
                replay.headers.update(etag(outcome.body["version"]))
            return replay
        try:
            response: Response = view(*args, **kwargs)
        except Exception:
            service.abandon(db_session(), record_id=outcome.id)
            raise
        service.complete(
            db_session(), record=outcome, status=response.status_code, body=response.get_json(), now=clock().now()
        )
        return response

    return wrapper  # type: ignore[return-value]
