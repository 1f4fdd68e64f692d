"""Flask glue shared by every blueprint: the request's database session, the clock, and one error envelope."""

from __future__ import annotations

import logging
from typing import Any

import marshmallow as ma
from flask import Flask, current_app, g, request
from flask_smorest import Api as SmorestApi
from flask_smorest import abort
from sqlalchemy.orm import Session
from werkzeug.exceptions import HTTPException, MethodNotAllowed
from werkzeug.http import HTTP_STATUS_CODES

from api.clock import Clock
from api.db import Database
from api.errors import (
    AuthenticationFailed,
    Conflict,
    DomainError,
    InvalidValue,
    NotFound,
    PermissionDenied,
    PreconditionFailed,
)

log = logging.getLogger(__name__)

# The one central mapping from domain error categories to HTTP.
STATUS_FOR_ERROR: list[tuple[type[DomainError], int]] = [
    (NotFound, 404),
    (AuthenticationFailed, 401),
    (PermissionDenied, 403),
    (InvalidValue, 422),
    (Conflict, 409),
    (PreconditionFailed, 412),
]

REASON_FOR_STATUS = {
    400: "bad_request",
    401: "authentication_failed",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    409: "conflict",
    412: "precondition_failed",
    428: "precondition_required",
    413: "request_too_large",
    415: "unsupported_media_type",
    422: "invalid_request",
    429: "too_many_requests",
    500: "internal_error",
    503: "unavailable",
}


class ErrorSchema(ma.Schema):
    """Every error answer, whatever its status."""

    code = ma.fields.Integer(metadata={"description": "HTTP status code"})
    status = ma.fields.String(metadata={"description": "HTTP status name"})
    message = ma.fields.String(metadata={"description": "What went wrong, for people"})
    reason = ma.fields.String(metadata={"description": "What went wrong, stable for programs to branch on"})
    errors = ma.fields.Dict(metadata={"description": "Field-level problems: field name to messages"})


class Api(SmorestApi):
    ERROR_SCHEMA = ErrorSchema

    def handle_http_exception(self, error: HTTPException) -> Any:
        payload, code, headers = super().handle_http_exception(error)
        payload.setdefault("message", _default_message(error))
        data = getattr(error, "data", None) or {}
        payload["reason"] = data.get("reason") or REASON_FOR_STATUS.get(code or 500, "error")
        if code == 422 and "errors" in payload:
            # webargs nests errors by location ("json", "query"); the location is obvious to the caller.
            payload["errors"] = _flatten_locations(payload["errors"])
            payload["message"] = "Some fields are missing or not valid."
        if isinstance(error, MethodNotAllowed) and error.valid_methods:
            # RFC 9110 requires Allow on a 405; flask-smorest's handler drops werkzeug's own headers.
            headers = {**(headers or {}), "Allow": ", ".join(error.valid_methods)}
        return payload, code, headers


def _default_message(error: HTTPException) -> str:
    if error.code == 500:
        return "Something went wrong on our side. It has been logged."
    return error.description or error.name


def _flatten_locations(errors: dict[str, Any]) -> dict[str, Any]:
    flat: dict[str, Any] = {}
    for location_errors in errors.values():
        if isinstance(location_errors, dict):
            flat.update(location_errors)
    return flat or errors


def handle_domain_error(error: DomainError) -> Any:
    status = next((code for kind, code in STATUS_FOR_ERROR if isinstance(error, kind)), 409)
    payload: dict[str, Any] = {
        "code": status,
        "status": _status_name(status),
        "message": error.message,
        "reason": error.reason,
    }
    if error.errors:
        payload["errors"] = error.errors
    payload.update({key: value for key, value in error.details.items() if key not in payload})
    headers = {"WWW-Authenticate": 'Bearer realm="reachable"'} if status == 401 else {}
    return payload, status, headers


def _status_name(status: int) -> str:
    return HTTP_STATUS_CODES.get(status, "Error")


def register_error_handlers(app: Flask) -> None:
    app.register_error_handler(DomainError, handle_domain_error)


def init_database(app: Flask, database: Database) -> None:
    app.extensions["reachable.db"] = database

    @app.teardown_appcontext
    def _close_db_session(_exc: BaseException | None) -> None:
        db_session = g.pop("db_session", None)
        if db_session is not None:
            # Anything not committed by a service is rolled back: a view never half-writes.
            db_session.close()


def database() -> Database:
    db: Database = current_app.extensions["reachable.db"]
    return db


def db_session() -> Session:
    """The database session for this request, opened on first use and closed at teardown."""
    if "db_session" not in g:
        g.db_session = database().session()
    session: Session = g.db_session
    return session


def expected_version() -> int:
    """The version an edit was based on, from If-Match (the ETag the client read). Required on edits."""
    raw = request.headers.get("If-Match", "").strip().removeprefix("W/").strip('"')
    if not raw:
        abort(428, message="Send If-Match with the ETag you last read.", reason="if_match_required")
    if not raw.isdigit():
        abort(412, message="If-Match does not name a version of this record.", reason="stale_version")
    return int(raw)


def etag(version: int) -> dict[str, str]:
    return {"ETag": f'"{version}"'}


def clock() -> Clock:
    the_clock: Clock = current_app.extensions["reachable.clock"]
    return the_clock
