"""Real concurrency: a real threaded HTTP server, real committed transactions, parallel client threads.

These tests cannot run inside the usual rolled-back test transaction (other connections would never see
its data), so each gets a fresh database of its own.
"""

from __future__ import annotations

import json
import threading
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

import pytest
from werkzeug.serving import make_server

from api.app import create_app
from api.clock import FixedClock
from tests.conftest import DEFAULT_NOW, test_config


@dataclass
class Answer:
    status: int
    body: Any


@dataclass
class LiveServer:
    base_url: str

    def request(self, method: str, path: str, *, headers: dict[str, str], body: Any = None) -> Answer:
        data = json.dumps(body).encode() if body is not None else None
        request = urllib.request.Request(
            self.base_url + path,
            data=data,
            method=method,
            headers={**headers, "Content-Type": "application/json"},
        )
        try:
            with urllib.request.urlopen(request, timeout=60) as response:
                return Answer(response.status, json.loads(response.read() or b"null"))
        except urllib.error.HTTPError as error:
            return Answer(error.code, json.loads(error.read() or b"null"))

    def all_at_once(self, calls: list[Callable[[], Answer]]) -> list[Answer]:
        """Run every call on its own thread, released together by a barrier."""
        barrier = threading.Barrier(len(calls))

        def run(call: Callable[[], Answer]) -> Answer:
            barrier.wait()
            return call()

        with ThreadPoolExecutor(max_workers=len(calls)) as pool:
            return list(pool.map(run, calls))


@pytest.fixture()
def live_server(committed_database_url: str) -> Iterator[LiveServer]:
    app = create_app(test_config(committed_database_url, CLOCK=FixedClock(DEFAULT_NOW)))
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield LiveServer(f"http://127.0.0.1:{server.server_port}")
    server.shutdown()
    thread.join(timeout=10)
    app.extensions["reachable.db"].dispose()
