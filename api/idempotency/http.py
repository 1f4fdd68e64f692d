"""The Idempotency-Key header on create operations (see service.py for the guarantees)."""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any, TypeVar

from flask import Response, jsonify, request

from api.auth import current_actor
from api.db import transaction
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
        session = db_session()
        # The claim, the view's write and the answer commit together, once, when this scope ends: the view's use case
        # joins it, and if the view fails nothing of this request is kept (its key included, so it can retry).
        with transaction(session):
            outcome = service.claim(
                session,
                user_id=current_actor().user_id,
                key=key,
                request_fingerprint=service.fingerprint(request.method, request.path, request.get_data()),
                now=clock().now(),
            )
            if isinstance(outcome, service.Replay):
                return _replay(outcome)
            response: Response = view(*args, **kwargs)
            service.complete(
                session, record_id=outcome, status=response.status_code, body=response.get_json(), now=clock().now()
            )
        return response

    # The OpenAPI document declares the header on every operation so marked (api/contract.py).
    wrapper.honours_idempotency_key = True  # type: ignore[attr-defined]
    return wrapper  # type: ignore[return-value]


def _replay(replay: service.Replay) -> Response:
    response: Response = jsonify(replay.body)
    response.status_code = replay.status
    response.headers["Idempotent-Replayed"] = "true"
    if isinstance(replay.body, dict) and isinstance(replay.body.get("version"), int):
        # Every versioned record's ETag is its version, so the replay carries the same ETag.
        response.headers.update(etag(replay.body["version"]))
    return response
