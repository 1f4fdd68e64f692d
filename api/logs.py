"""Logs: one line per event, JSON in production, readable text for a developer; and the request id.

Both processes (the web app through wsgi.py, the scheduler through scheduling/runner.py) call configure_logging
once, before anything logs. structlog renders every record of the standard logging module, ours and the
libraries' (werkzeug, gunicorn, APScheduler, SQLAlchemy's warnings) alike, so there is one format per process.
Our own code logs with the standard library too, an event name as the message and its facts as `extra`, so a
record reads the same to pytest's caplog as to the formatter.

The request id is bound in a context variable for the life of a request (api/request_log.py binds it): every
line the request causes carries it, and the outbox stores it on the SMS the request queues, so the dispatcher's
line for that SMS carries it too. Nothing here imports Flask: services and the scheduler read it.

What a line may hold: ids, route templates, states and counts. Never a name, a phone number, a message body, a
raw path or query string (a check-in link's path is its token) or any token (tests/security/test_logs_and_headers.py).
"""

from __future__ import annotations

import logging
import re
import sys
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from typing import IO, Any

import structlog

FORMATS = ("console", "json")
REQUEST_ID = "request_id"
# What an X-Request-ID from a trusted proxy may be: a UUID, a hex or base64 id, a trace id. Anything else (too
# long, spaces, quotes, control characters) is replaced by one of ours rather than written to every line.
SANE_REQUEST_ID = re.compile(r"[A-Za-z0-9._:+=/-]{1,128}")


class LoggingSettingError(ValueError):
    pass


def new_request_id() -> str:
    return uuid.uuid4().hex


def sane_request_id(candidate: str | None) -> str | None:
    """The candidate if it is fit to be a request id, else None."""
    if candidate and SANE_REQUEST_ID.fullmatch(candidate):
        return candidate
    return None


def current_request_id() -> str | None:
    """The id of the request being served in this thread, or None (a scheduler job, a CLI command, a test)."""
    value = structlog.contextvars.get_contextvars().get(REQUEST_ID)
    return str(value) if value is not None else None


def bind_request_id(request_id: str) -> Any:
    """Bind for this context; returns what unbind_request_id needs to put the previous value back."""
    return structlog.contextvars.bind_contextvars(**{REQUEST_ID: request_id})


def unbind_request_id(tokens: Any) -> None:
    try:
        structlog.contextvars.reset_contextvars(**tokens)
    except ValueError:  # bound in another context (a response streamed after its request): drop it here
        structlog.contextvars.unbind_contextvars(REQUEST_ID)


@contextmanager
def request_id_bound(request_id: str | None) -> Iterator[None]:
    """Lines logged inside carry the request id (none: nothing is bound), e.g. the dispatcher sending one SMS."""
    if request_id is None:
        yield
        return
    with structlog.contextvars.bound_contextvars(**{REQUEST_ID: request_id}):
        yield


# --- Formatting --------------------------------------------------------------------------------------------------


def _drop_color_message(_logger: Any, _name: str, event_dict: dict[str, Any]) -> dict[str, Any]:
    # Some servers put a second, coloured copy of the message in `extra`; one is enough.
    event_dict.pop("color_message", None)
    return event_dict


def _pre_chain() -> list[Any]:
    """What every record goes through before it is rendered, whichever logger wrote it."""
    return [
        structlog.contextvars.merge_contextvars,
        structlog.stdlib.add_log_level,
        structlog.stdlib.add_logger_name,
        # Our events' facts, given as `extra=`.
        structlog.stdlib.ExtraAdder(),
        _drop_color_message,
        structlog.processors.TimeStamper(fmt="iso", utc=True),
    ]


def formatter(log_format: str) -> logging.Formatter:
    """The formatter for one of FORMATS: JSON lines, or structlog's console lines for people."""
    if log_format not in FORMATS:
        raise LoggingSettingError(f"REACHABLE_LOG_FORMAT must be one of {', '.join(FORMATS)}, not {log_format!r}.")
    if log_format == "json":
        processors: list[Any] = [
            structlog.stdlib.ProcessorFormatter.remove_processors_meta,
            # Tracebacks as text inside the line (no local variables): one event, one line.
            structlog.processors.format_exc_info,
            structlog.processors.JSONRenderer(default=str),
        ]
    else:
        # Plain tracebacks: the fancy ones (with rich installed) print each frame's local variables, which can be a
        # child's name or a token.
        renderer = structlog.dev.ConsoleRenderer(colors=False, exception_formatter=structlog.dev.plain_traceback)
        processors = [structlog.stdlib.ProcessorFormatter.remove_processors_meta, renderer]
    return structlog.stdlib.ProcessorFormatter(foreign_pre_chain=_pre_chain(), processors=processors)


def parse_level(level: object) -> int:
    if isinstance(level, int) and not isinstance(level, bool):
        return level
    number = logging.getLevelName(str(level).upper())
    if not isinstance(number, int):
        raise LoggingSettingError(f"REACHABLE_LOG_LEVEL must be DEBUG, INFO, WARNING or ERROR, not {level!r}.")
    return number


# The development server's line for each request: '127.0.0.1 - - [06/Dec/2026 14:03:40] "GET /path HTTP/1.1" 200 -'.
_WERKZEUG_REQUEST_LINE = re.compile(r'\S+ - - \[[^\]]*\] ".*" \S+ \S+\s*', flags=re.DOTALL)


class OneAccessLinePerRequest(logging.Filter):
    """Drops the development server's own request line: the app writes one of its own (api/request_log.py), with the
    route's template in place of the path, so each request has one line. Its other lines (where it listens, its
    errors) stay."""

    def filter(self, record: logging.LogRecord) -> bool:
        if record.name != "werkzeug" or record.levelno != logging.INFO:
            return True
        try:
            return not _WERKZEUG_REQUEST_LINE.fullmatch(record.getMessage())
        except (TypeError, ValueError):  # a malformed record: leave it to the handler to report
            return True


def configure_logging(log_format: str = "console", level: object = "INFO", *, stream: IO[str] | None = None) -> None:
    """Every record, from every logger, to one handler on stdout in the chosen format. Replaces the root logger's
    handlers, so calling it again (a test) reconfigures rather than doubles the lines."""
    handler = logging.StreamHandler(stream or sys.stdout)
    handler.setFormatter(formatter(log_format))
    handler.addFilter(OneAccessLinePerRequest())
    root = logging.getLogger()
    for existing in list(root.handlers):
        root.removeHandler(existing)
    root.addHandler(handler)
    root.setLevel(parse_level(level))
    # APScheduler logs every run at INFO; with a poll every 2 seconds that drowns what matters (the scheduler writes
    # its own line per job run: scheduling/runner.py).
    logging.getLogger("apscheduler").setLevel(logging.WARNING)
    # Alembic names each of its plugins as it loads them, in every worker that reads the schema's revision.
    logging.getLogger("alembic.runtime.plugins").setLevel(logging.WARNING)
    # Warnings (SQLAlchemy's among them) become records too, so they are rendered like everything else.
    logging.captureWarnings(True)


def configure_logging_from(settings: dict[str, Any]) -> None:
    """From the LOG_FORMAT and LOG_LEVEL settings (api/config.py), as both processes read them."""
    try:
        configure_logging(str(settings.get("LOG_FORMAT") or "console"), settings.get("LOG_LEVEL") or "INFO")
    except LoggingSettingError as problem:
        raise SystemExit(str(problem)) from problem
