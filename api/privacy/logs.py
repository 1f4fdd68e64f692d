"""No check-in link token in any log line.

A child's check-in link is a path, /c/<token>, and whoever has the token can use the link until it is used up or
expires. Access logs write every request's path: gunicorn's (off in gunicorn.conf.py, where the app's own access
line names the route's template instead: api/request_log.py), Werkzeug's development server, and Flask's own
"Exception on /c/... [POST]" when a page fails. This filter
rewrites the token in those records to "[token]" before any handler sees them. The token itself is never logged
by our own code, nor are names, numbers or other tokens (tests/security/test_logs_and_headers.py).
"""

from __future__ import annotations

import logging
import re

from flask import Flask

# A check-in link token as it appears in a path (api/wellbeing/links.py: 32 URL-safe base64 characters); a bit
# wider, so a mistyped or truncated one is hidden too.
LINK_TOKEN_IN_PATH = re.compile(r"(/c/)[A-Za-z0-9_-]{8,}")
REDACTED = r"\1[token]"
# Loggers that write request paths: the development server, gunicorn's access and error logs.
PATH_LOGGERS = ("werkzeug", "gunicorn.access", "gunicorn.error")


class RedactLinkTokens(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        try:
            message = record.getMessage()
        except (TypeError, ValueError):  # a malformed record: leave it to the handler to report
            return True
        redacted = LINK_TOKEN_IN_PATH.sub(REDACTED, message)
        if redacted != message:
            record.msg, record.args = redacted, None
        return True


def redact_link_tokens_in_logs(app: Flask) -> None:
    """Attach the filter to the loggers that write paths, once each (tests create many apps)."""
    for logger in (app.logger, *(logging.getLogger(name) for name in PATH_LOGGERS)):
        if not any(isinstance(existing, RedactLinkTokens) for existing in logger.filters):
            logger.addFilter(RedactLinkTokens())
