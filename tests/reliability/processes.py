"""Helpers for tests that run the app's processes for real: gunicorn, a process's output line by line, ports."""

from __future__ import annotations

import os
import queue
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import IO

import requests

from tests.conftest import SECRET_KEY

# How long to wait for a process or a thread to reach the state a test expects before calling it lost. Only a
# guard against hanging: nothing is asserted about how long anything takes.
PATIENCE_SECONDS = 90


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


class OutputLines:
    """Every line a process writes to one stream, collected by a thread, so a test can wait for one."""

    def __init__(self, stream: IO[str]) -> None:
        self.stream = stream
        self.lines: list[str] = []
        self._queue: queue.Queue[str | None] = queue.Queue()
        self._thread = threading.Thread(target=self._read, args=(stream,), daemon=True)
        self._thread.start()

    def _read(self, stream: IO[str]) -> None:
        for line in stream:
            self._queue.put(line.rstrip("\n"))
        self._queue.put(None)

    def wait_for(self, text: str, timeout: float = PATIENCE_SECONDS) -> str:
        """The first line (from here on) containing text; fails if the stream ends or time runs out first."""
        deadline = time.monotonic() + timeout
        while True:
            try:
                line = self._queue.get(timeout=max(deadline - time.monotonic(), 0.01))
            except queue.Empty:
                raise AssertionError(f"no line with {text!r} within {timeout}s; output:\n" + self.text()) from None
            if line is None:
                self._queue.put(None)
                raise AssertionError(f"the output ended without a line with {text!r}; output:\n" + self.text())
            self.lines.append(line)
            if text in line:
                return line

    def text(self) -> str:
        self._thread.join(timeout=0.5)
        while True:
            try:
                line = self._queue.get_nowait()
            except queue.Empty:
                break
            if line is None:
                self._queue.put(None)
                break
            self.lines.append(line)
        return "\n".join(self.lines)

    def close(self) -> None:
        """After the process has exited: collect the rest and close the pipe."""
        self.text()
        self._thread.join(timeout=PATIENCE_SECONDS)
        self.stream.close()


def wait_until(condition: Callable[[], bool], what: str, timeout: float = PATIENCE_SECONDS) -> None:
    """Poll condition until it holds (a guard against hanging, not a timing assertion)."""
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting until {what}")
        time.sleep(0.02)


def stop(process: subprocess.Popen[str]) -> None:
    """Kill a process a test started, if it is still running (cleanup after a failure)."""
    if process.poll() is None:
        process.kill()
        process.wait(timeout=PATIENCE_SECONDS)


REPO_ROOT = Path(__file__).resolve().parents[2]
PROBE_CONFIG = Path(__file__).resolve().parent / "gunicorn_probe_conf.py"


@dataclass
class Gunicorn:
    process: subprocess.Popen[str]
    output: OutputLines
    base_url: str


@contextmanager
def gunicorn(database_url: str, *, workers: int, environment: Mapping[str, str] | None = None) -> Iterator[Gunicorn]:
    """`gunicorn wsgi:app` as production runs it (the repository's gunicorn.conf.py, through the probe config)
    on a free port, serving the database, with any further environment variables; yields once it answers.
    Killed afterwards if a test left it running."""
    port = free_port()
    environment = {
        **os.environ,
        "REACHABLE_DATABASE_URL": database_url,
        "REACHABLE_SECRET_KEY": SECRET_KEY,
        "PYTHONUNBUFFERED": "1",
        **(environment or {}),
    }
    process = subprocess.Popen(
        [sys.executable, "-m", "gunicorn", "-c", str(PROBE_CONFIG), "--bind", f"127.0.0.1:{port}",
         "--workers", str(workers), "wsgi:app"],
        cwd=REPO_ROOT, env=environment, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
    )  # fmt: skip
    output = OutputLines(process.stdout)  # type: ignore[arg-type]
    server = Gunicorn(process, output, f"http://127.0.0.1:{port}")
    try:
        wait_until(lambda: _answers(server.base_url + "/healthz"), "gunicorn answers")
        yield server
    finally:
        stop(process)
        output.close()


def _answers(url: str) -> bool:
    try:
        return requests.get(url, timeout=5).status_code == 200
    except requests.RequestException:  # not listening yet, or the worker still booting
        return False
