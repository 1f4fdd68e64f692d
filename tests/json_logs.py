"""The process's logs as production writes them: api.logs configured for JSON lines, into a buffer a test reads.

Everything the root logger receives is rendered by the real formatter as it is logged (so lines carry the request
id bound at that moment), and the logging set-up the test found is put back afterwards.
"""

from __future__ import annotations

import io
import json
import logging
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from api import logs


class JsonLines:
    def __init__(self, buffer: io.StringIO) -> None:
        self.buffer = buffer

    def text(self) -> str:
        return self.buffer.getvalue()

    def all(self) -> list[dict[str, Any]]:
        """Every line, each parsed (a line that is not one JSON object fails the test)."""
        return [json.loads(line) for line in self.text().splitlines() if line.strip()]

    def events(self, event: str) -> list[dict[str, Any]]:
        return [line for line in self.all() if line.get("event") == event]


@contextmanager
def json_logs(level: str = "DEBUG") -> Iterator[JsonLines]:
    root = logging.getLogger()
    handlers, root_level = list(root.handlers), root.level
    levels = {name: logging.getLogger(name).level for name in ("apscheduler", "alembic.runtime.plugins")}
    buffer = io.StringIO()
    logs.configure_logging("json", level, stream=buffer)
    try:
        yield JsonLines(buffer)
    finally:
        logging.captureWarnings(False)
        for handler in list(root.handlers):
            root.removeHandler(handler)
        for handler in handlers:
            root.addHandler(handler)
        root.setLevel(root_level)
        for name, previous in levels.items():
            logging.getLogger(name).setLevel(previous)
