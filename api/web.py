"""Flask glue shared by every blueprint: the request's database session, the clock, and one error envelope."""

from __future__ import annotations

import hashlib
import logging
import math
import time
import uuid
from collections.abc import Sequence
from typing import Any, TypeVar

import marshmallow as ma
from flask import Flask, Response, current_app, g, request
from flask_smorest import Api as SmorestApi
from flask_smorest import abort
from flask_smorest import pagination as smorest_pagination
from flask_smorest.pagination import PaginationParameters
from limits import parse_many
from sqlalchemy.exc import OperationalError, SQLAlchemyError
from sqlalchemy.orm import Session
from werkzeug.exceptions import HTTPException, MethodNotAllowed
from werkzeug.http import HTTP_STATUS_CODES

from api.actors import client_network
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
from api.pagination import Page, Window
from api.request_log import request_id

log = logging.getLogger(__name__)

T = TypeVar("T")

# The highest page any paginated list accepts. flask-smorest bounds only the page size, so a page number
# like 10**17 made an OFFSET past the databases' 64-bit integers: a 500 instead of a 422 (found by fuzzing).
MAX_PAGE = 1_000_000
_smorest_pagination_schema = smorest_pagination._pagination_parameters_schema_factory


def _bounded_pagination_schema(def_page: int, def_page_size: int, def_max_page_size: int) -> type[ma.Schema]:
    unbounded: type[ma.Schema] = _smorest_pagination_schema(def_page, def_page_size, def_max_page_size)

    class PaginationParametersSchema(unbounded):  # type: ignore[valid-type,misc]
        page = ma.fields.Integer(load_default=def_page, validate=ma.validate.Range(min=1, max=MAX_PAGE))

    return PaginationParametersSchema


# Every blueprint's paginate() builds its parameters through this factory; views import api.web first.
smorest_pagination._pagination_parameters_schema_factory = _bounded_pagination_schema


def page_window(pagination_parameters: PaginationParameters) -> Window:
    """The rows the requested page shows (`page` and `page_size`, as a @blp.paginate() view receives them)."""
    return Window(offset=pagination_parameters.first_item, limit=pagination_parameters.page_size)


def page_answer(pagination_parameters: PaginationParameters, page: Page[T]) -> Sequence[T]:
    """What a @blp.paginate() view returns for a page: its items; its total goes to the X-Pagination header."""
    pagination_parameters.item_count = page.total
    return page.items


# The one central mapping from domain error categories to HTTP.
STATUS_FOR_ERROR: list[tuple[type[DomainError], int]] = [
    (NotFound, 404),
    (AuthenticationFailed, 401),
    (PermissionDenied, 403),
    (InvalidValue, 422),
    (Conflict, 409),
    (PreconditionFailed, 412),
]

# Every edit that needs the ETag the client last read declares it so (expected_version reads it).
IF_MATCH_HEADER = {
    "name": "If-Match",
    "in": "header",
    "required": True,
    "schema": {"type": "string"},
    "description": "The ETag you last read; a stale one answers 412, none 428",
}

# What a 503 for a database outage asks the caller to wait: a restart or failover takes seconds.
DATABASE_RETRY_AFTER_SECONDS = 5

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
    429: "rate_limited",
    500: "internal_error",
    503: "unavailable",
}


def _fact(description: str, reasons: str) -> dict[str, str]:
    return {"description": f"{description} (only with {reasons})"}


class ErrorSchema(ma.Schema):
    """Every error answer, whatever its status.

    Some refusals add facts of their own beside these fields (a stale edit's `current_version`, a full cohort's
    `places_taken` ...): each is listed, typed and optional, and the document still allows further properties.
    """

    ENVELOPE = ("code", "status", "message", "reason", "request_id")

    class Meta:
        unknown = ma.INCLUDE

    code = ma.fields.Integer(required=True, metadata={"description": "HTTP status code"})
    status = ma.fields.String(required=True, metadata={"description": "HTTP status name"})
    message = ma.fields.String(required=True, metadata={"description": "What went wrong, for people"})
    reason = ma.fields.String(
        required=True, metadata={"description": "What went wrong, stable for programs to branch on"}
    )
    request_id = ma.fields.String(
        required=True,
        metadata={
            "description": "This request's id, as in its X-Request-ID header and the service's logs: quote it when "
            "reporting a problem"
        },
    )
    errors = ma.fields.Dict(metadata={"description": "Field-level problems: field name to messages"})

    # The facts a refusal adds, each sent only with the reasons named (a test finds any a refusal sends unlisted).
    current_version = ma.fields.Integer(metadata=_fact("The record's version now", "stale_version and its kin"))
    week = ma.fields.String(metadata=_fact("The ISO week in programme time, 2026-W48", "weekly_session_cap_reached"))
    sessions_in_week = ma.fields.Integer(
        metadata=_fact("Sessions the child has that week", "weekly_session_cap_reached")
    )
    max_sessions = ma.fields.Integer(
        metadata=_fact("The weekly cap", "weekly_session_cap_reached, pattern_exceeds_weekly_cap")
    )
    child_id = ma.fields.UUID(
        metadata=_fact(
            "The child whose week is full, whose session clashes, whose support the session falls outside, or whose "
            "place is in a group-only cohort",
            "weekly_session_cap_reached, duplicate_session, session_outside_enrolment, group_only_enrolment",
        )
    )
    existing_session_id = ma.fields.UUID(
        metadata=_fact("The session this one would duplicate (same child, mentor and start)", "duplicate_session")
    )
    slots = ma.fields.Integer(metadata=_fact("Slots the pattern asked for", "pattern_exceeds_weekly_cap"))
    caseload = ma.fields.Integer(metadata=_fact("Children the mentor holds", "mentor_caseload_full"))
    max_caseload = ma.fields.Integer(metadata=_fact("The mentor's most", "mentor_caseload_full"))
    places = ma.fields.Integer(metadata=_fact("Places the cohort is funded for", "cohort_full"))
    capacity = ma.fields.Integer(
        metadata=_fact("The series' capacity (asked for, when refused)", "series_full, capacity_below_roster")
    )
    members = ma.fields.Integer(
        metadata=_fact("Children on the series' roster now", "series_full, capacity_below_roster")
    )
    places_taken = ma.fields.Integer(metadata=_fact("Places held or offered", "cohort_full, places_below_taken"))
    line = ma.fields.Integer(metadata=_fact("The file's line that could not be read", "import_not_readable"))
    max_rows = ma.fields.Integer(metadata=_fact("Most rows one import takes", "import_too_many_rows"))
    imported = ma.fields.Integer(metadata=_fact("Rows imported (none)", "import_rejected"))
    rejected = ma.fields.List(
        ma.fields.Dict(),
        metadata=_fact("Each refused row: line, field, reason and message, as in an import report", "import_rejected"),
    )
    challenge_token = ma.fields.String(
        metadata=_fact(
            "The sign-in's challenge for its second step (POST /auth/mfa/verify, or /auth/mfa/enrolment first): "
            "it opens nothing else, and lasts a few minutes",
            "mfa_required",
        )
    )
    mfa_enrolled = ma.fields.Boolean(
        metadata=_fact("Whether an authenticator is set up; if not, set one up with the challenge", "mfa_required")
    )
    missing_items = ma.fields.List(ma.fields.String(), metadata=_fact("Unit cost codes missing", "unit_cost_missing"))
    missing_years = ma.fields.List(
        ma.fields.String(), metadata=_fact("Years the deflator series lacks", "deflator_year_missing")
    )


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
        if code == 429:
            # Flask-Limiter's own description is the limit ("10 per 1 minute"); say when to come back instead.
            seconds = retry_after_seconds()
            payload["message"] = f"Too many requests. Try again in {seconds} second{'s' if seconds != 1 else ''}."
            headers = {**(headers or {}), "Retry-After": str(seconds)}
        if code == 413 and not data.get("message"):
            limit = current_app.config.get("MAX_CONTENT_LENGTH")
            payload["message"] = f"The request body is too large: at most {limit} bytes are accepted."
        if isinstance(error, MethodNotAllowed) and error.valid_methods:
            # RFC 9110 requires Allow on a 405; flask-smorest's handler drops werkzeug's own headers.
            headers = {**(headers or {}), "Allow": ", ".join(error.valid_methods)}
        payload["request_id"] = request_id()
        return payload, code, headers


def error_answer(description: str) -> dict[str, Any]:
    """flask-smorest alt_response keyword arguments for an error an operation can give beyond the usual ones."""
    return {"schema": ErrorSchema, "description": description}


# How every rate-limited operation documents its 429 (flask-smorest alt_response keyword arguments).
RATE_LIMITED: dict[str, Any] = {
    "schema": ErrorSchema,
    "description": "Too many requests: wait the number of seconds in Retry-After, then try again (reason rate_limited)",
    "headers": {
        "Retry-After": {"description": "Seconds to wait before trying again", "schema": {"type": "integer"}},
    },
}


def retry_after_seconds() -> int:
    """Seconds until the limit this request broke lets a request through again (at least 1). Whatever answer
    says it, the response's Retry-After will say the same (keep_retry_after)."""
    if "retry_after_seconds" in g:  # a limit counted by the request itself (spend_sms_budget)
        return int(g.retry_after_seconds)
    limiter = current_app.extensions.get("reachable.limiter")
    broken = limiter.current_limit if limiter is not None else None
    seconds = 60 if broken is None else max(1, math.ceil(broken.reset_at - time.time()))
    g.retry_after_seconds = seconds
    return seconds


SIGN_IN_PER_EMAIL_SCOPE = "sign-in-per-email"


def sign_in_email_key(email: object) -> str:
    """The per-email sign-in limit's key for an address, however it is written, hashed: the limits' store never
    holds anyone's address."""
    if not isinstance(email, str) or not email.strip():
        return "email:none"
    return "email:" + hashlib.sha256(email.strip().lower().encode()).hexdigest()[:32]


SMS_PER_USER_SCOPE = "sms-per-user"


def _limit_identifiers(key: str, scope: str) -> list[str]:
    """What Flask-Limiter counts a shared limit under in its store: [key prefix,] key, scope."""
    prefix = current_app.config.get("RATELIMIT_KEY_PREFIX") or ""
    return [*([prefix] if prefix else []), key, scope]


def _spend(setting: str, key: str, scope: str, *, count_past_a_spent_limit: bool = False) -> bool:
    """Count one against each limit of a setting ("10 per minute;60 per hour"), one atomic increment each in the
    shared store, under one key and scope. False when a limit is spent: g.retry_after_seconds then says when it
    lets one through again. True when rate limiting is off.

    Stops at the first spent limit unless told to count past it (then every window counts the attempt)."""
    limiter = current_app.extensions.get("reachable.limiter")
    if limiter is None or not limiter.enabled:
        return True
    identifiers = _limit_identifiers(key, scope)
    spent = []
    for item in parse_many(current_app.config[setting]):
        if not limiter.limiter.hit(item, *identifiers):
            spent.append(item)
            if not count_past_a_spent_limit:
                break
    if spent:
        reset_at = max(limiter.limiter.get_window_stats(item, *identifiers).reset_time for item in spent)
        g.retry_after_seconds = max(1, math.ceil(reset_at - time.time()))
    return not spent


def spend_sms_budget(user_id: uuid.UUID) -> None:
    """Count one SMS against the user's limit (SMS_SEND_LIMIT_PER_USER) in the shared store, or refuse with 429.

    Called by the service just before it queues the message: a request refused for any other reason costs
    nothing, and the count is one atomic increment, so parallel requests cannot all pass a check made before any
    of them was counted (as they could when the limit was tested before the view and counted after it). If the
    request then fails, its SMS stays counted: the limit errs towards sending less."""
    if not _spend("SMS_SEND_LIMIT_PER_USER", f"user:{user_id}", SMS_PER_USER_SCOPE):
        abort(429, reason="rate_limited")


CHECK_IN_LINK_FAILURES_SCOPE = "check-in-link-failures"


def count_failed_check_in_look_up() -> bool:
    """Count one failed look-up of a check-in link against the client's budget (CHECK_IN_LINK_FAILURE_LIMIT):
    one counter per client address (an IPv6 address by its /64) for every endpoint of the page. False once the
    budget is spent. Every failure counts in every window, including those answered "wait": each is a guess."""
    network = client_network(request.remote_addr or "")
    return _spend(
        "CHECK_IN_LINK_FAILURE_LIMIT", f"client:{network}", CHECK_IN_LINK_FAILURES_SCOPE, count_past_a_spent_limit=True
    )


def spend_sign_in_budget(email: str) -> None:
    """Count one sign-in attempt against the email's budget (SIGN_IN_LIMIT_PER_EMAIL) in the shared store, or
    refuse with 429. The budget is per account, from any address (OWASP: counted per address alone, many
    addresses would mean many guesses), and spent only by attempts that can guess from an address the account
    has not signed in from lately (accounts.signing_in._check_password): an address locked out of the account
    spends none, so one stranger cannot spend it for everyone."""
    if not _spend("SIGN_IN_LIMIT_PER_EMAIL", sign_in_email_key(email), SIGN_IN_PER_EMAIL_SCOPE):
        abort(429, reason="rate_limited")


def forget_sign_in_attempts(email: str) -> None:
    """Clear the per-email sign-in limit for one address (an admin's unlock): otherwise a user whose account was
    attacked stays refused by the limit for up to its window after the lock-out is lifted. The per-address limit
    stays: it follows the guesser, not the account."""
    limiter = current_app.extensions.get("reachable.limiter")
    if limiter is None or not limiter.enabled:
        return
    identifiers = _limit_identifiers(sign_in_email_key(email), SIGN_IN_PER_EMAIL_SCOPE)
    for item in parse_many(current_app.config["SIGN_IN_LIMIT_PER_EMAIL"]):
        limiter.limiter.clear(item, *identifiers)


def keep_retry_after(response: Response) -> Response:
    """Registered to run after Flask-Limiter's own header hook, which recomputes Retry-After a moment later and
    can come out a second lower: the header then says exactly what the message says."""
    seconds = g.get("retry_after_seconds")
    if response.status_code in (429, 503) and seconds is not None:
        response.headers["Retry-After"] = str(seconds)
    return response


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
        "request_id": request_id(),
    }
    if error.errors:
        payload["errors"] = error.errors
    payload.update({key: value for key, value in error.details.items() if key not in payload})
    headers = {"WWW-Authenticate": 'Bearer realm="reachable"'} if status == 401 else {}
    return payload, status, headers


def _status_name(status: int) -> str:
    return HTTP_STATUS_CODES.get(status, "Error")


def handle_database_unavailable(error: OperationalError) -> Any:
    """The database could not be reached or gave up (restarting, failing over, out of connections, a lock or
    statement timeout): a moment's outage the caller should retry, not a bug. Nothing was committed."""
    log.error("database unavailable: %s", type(error.orig).__name__ if error.orig is not None else error)
    payload = {
        "code": 503,
        "status": _status_name(503),
        "message": "The service cannot reach its database just now. Nothing was saved; try again shortly.",
        "reason": "unavailable",
        "request_id": request_id(),
    }
    g.retry_after_seconds = DATABASE_RETRY_AFTER_SECONDS
    return payload, 503, {"Retry-After": str(DATABASE_RETRY_AFTER_SECONDS)}


def register_error_handlers(app: Flask) -> None:
    app.register_error_handler(DomainError, handle_domain_error)
    app.register_error_handler(OperationalError, handle_database_unavailable)


def init_database(app: Flask, database: Database) -> None:
    app.extensions["reachable.db"] = database

    @app.teardown_appcontext
    def _close_db_session(_exc: BaseException | None) -> None:
        db_session = g.pop("db_session", None)
        if db_session is None:
            return
        try:
            # Anything not committed by a service is rolled back: a view never half-writes.
            db_session.close()
        except SQLAlchemyError as error:
            # The database went away while the request held a connection (a restart, a failover): the answer
            # is already made, and an error escaping here would replace it with the WSGI server's bare 500 page.
            # The connection is dropped instead, never returned to the pool.
            log.warning("closing the request's session failed (%s): connection discarded", type(error).__name__)
            db_session.invalidate()


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
