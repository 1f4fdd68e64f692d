"""The Procfile is the process model, started here exactly as written: the release step migrates a new database,
then the web server and the scheduler run on it, answer their probes and stop cleanly on SIGTERM.

Each command goes through `sh -c`, as a Procfile runner (honcho, foreman, Heroku, Dokku) gives it, with the
checkout's virtual environment first on PATH and PORT set. The Procfile's commands `exec` their program, so the
signal and the exit status are the program's own, not a shell's (without it the shell dies of the SIGTERM, -15,
whatever the program does)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests
from sqlalchemy import create_engine

from api import migrate
from tests.conftest import SECRET_KEY, throwaway_database
from tests.reliability.processes import PATIENCE_SECONDS, REPO_ROOT, OutputLines, free_port, stop, wait_until

PROCFILE = REPO_ROOT / "Procfile"


def process_types() -> dict[str, str]:
    """The Procfile's lines, `<type>: <command>`, as a Procfile runner reads them."""
    found: dict[str, str] = {}
    for line in PROCFILE.read_text(encoding="utf-8").splitlines():
        if line.strip() and not line.startswith("#"):
            name, _, command = line.partition(":")
            found[name.strip()] = command.strip()
    return found


@pytest.fixture()
def database_url(tmp_path: Path) -> Iterator[str]:
    with throwaway_database("postgresql", tmp_path, migrated=False) as url:
        yield url


def environment(database_url: str, port: int) -> dict[str, str]:
    return {
        **os.environ,
        "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}",
        "PORT": str(port),
        "REACHABLE_DATABASE_URL": database_url,
        "REACHABLE_SECRET_KEY": SECRET_KEY,
        "PYTHONUNBUFFERED": "1",
    }


def start(command: str, env: dict[str, str]) -> tuple[subprocess.Popen[str], OutputLines]:
    process = subprocess.Popen(
        ["sh", "-c", command], cwd=REPO_ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
        start_new_session=True,
    )  # fmt: skip
    return process, OutputLines(process.stdout)  # type: ignore[arg-type]


def terminate(process: subprocess.Popen[str]) -> int:
    os.killpg(process.pid, signal.SIGTERM)
    return process.wait(timeout=PATIENCE_SECONDS)


def scheduler_check(env: dict[str, str]) -> int:
    checked = subprocess.run(
        [sys.executable, "-m", "scheduling", "--check"], cwd=REPO_ROOT, env=env, capture_output=True,
        timeout=PATIENCE_SECONDS, check=False,
    )  # fmt: skip
    return checked.returncode


def ready(url: str) -> bool:
    try:
        return requests.get(url, timeout=5).status_code == 200
    except requests.RequestException:
        return False


def test_the_procfile_migrates_then_serves_and_schedules_and_stops_cleanly(database_url: str) -> None:
    types = process_types()
    assert set(types) == {"release", "web", "scheduler"}
    port = free_port()
    env = environment(database_url, port)

    release = subprocess.run(
        ["sh", "-c", types["release"]], cwd=REPO_ROOT, env=env, capture_output=True, text=True,
        timeout=PATIENCE_SECONDS, check=False,
    )  # fmt: skip
    assert release.returncode == 0, release.stdout + release.stderr
    engine = create_engine(database_url)
    with engine.connect() as connection:
        assert migrate.current_revision(connection) == migrate.head_revision(database_url)
    engine.dispose()

    web, web_output = start(types["web"], env)
    scheduler, scheduler_output = start(types["scheduler"], env)
    try:
        wait_until(lambda: ready(f"http://127.0.0.1:{port}/readyz"), "the web server is ready")
        scheduler_output.wait_for("scheduler started with jobs")
        # The scheduler's own probe: every job has run within its interval.
        wait_until(lambda: scheduler_check(env) == 0, "python -m scheduling --check passes")

        assert terminate(scheduler) == 0, scheduler_output.text()
        scheduler_output.wait_for("stopped: every running job finished")
        assert terminate(web) == 0, web_output.text()
    finally:
        for process in (web, scheduler):
            if process.poll() is None:
                os.killpg(process.pid, signal.SIGKILL)
            stop(process)
        web_output.close()
        scheduler_output.close()
