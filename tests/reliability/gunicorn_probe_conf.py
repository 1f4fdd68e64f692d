"""The repository's gunicorn.conf.py, plus one probe for the tests: each worker says when SIGTERM reaches it.

    gunicorn -c tests/reliability/gunicorn_probe_conf.py ... wsgi:app

The probe only writes a line to stderr ("probe: worker PID got SIGTERM") and then calls gunicorn's own handler,
so the test can release the request it holds back knowing the worker is already stopping.
"""

from __future__ import annotations

import os
import runpy
import signal
from pathlib import Path
from typing import Any

_production = runpy.run_path(str(Path(__file__).resolve().parents[2] / "gunicorn.conf.py"))
globals().update({name: value for name, value in _production.items() if not name.startswith("_")})
_production_post_worker_init = _production.get("post_worker_init")


def post_worker_init(worker: Any) -> None:
    if _production_post_worker_init is not None:
        _production_post_worker_init(worker)
    handle_exit = signal.getsignal(signal.SIGTERM)

    def announce_then_exit(signum: int, frame: Any) -> None:
        os.write(2, f"probe: worker {os.getpid()} got SIGTERM\n".encode())
        handle_exit(signum, frame)  # type: ignore[operator]

    signal.signal(signal.SIGTERM, announce_then_exit)
