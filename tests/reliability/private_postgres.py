"""A PostgreSQL cluster of the test's own, to crash and restart without touching the machine's shared server.

Debian's server binaries (/usr/lib/postgresql/<version>/bin, or REACHABLE_TEST_PG_BIN) run as the `postgres`
OS user when the tests run as root (initdb and postgres refuse root), in a temporary directory that user owns,
listening on 127.0.0.1 at a free port with trust authentication. Without the binaries the tests that need it
are skipped, loudly, unless REACHABLE_TEST_REQUIRE_POSTGRES=1 (CI), which makes that a failure.
"""

from __future__ import annotations

import contextlib
import os
import pwd
import shutil
import subprocess
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text

from tests.conftest import REQUIRE_POSTGRES
from tests.reliability.processes import PATIENCE_SECONDS, free_port


def server_binaries() -> Path | None:
    configured = os.environ.get("REACHABLE_TEST_PG_BIN")
    candidates = [Path(configured)] if configured else sorted(Path("/usr/lib/postgresql").glob("*/bin"), reverse=True)
    return next((path for path in candidates if (path / "pg_ctl").exists() and (path / "initdb").exists()), None)


class PrivatePostgres:
    def __init__(self, binaries: Path, directory: Path, port: int, as_user: str | None) -> None:
        self.binaries = binaries
        self.data = directory / "data"
        self.log = directory / "server.log"
        self.socket_directory = directory
        self.port = port
        self.as_user = as_user

    def _run(self, program: str, *arguments: str) -> None:
        command = [str(self.binaries / program), *arguments]
        if self.as_user:
            command = ["runuser", "-u", self.as_user, "--", *command]
        finished = subprocess.run(command, capture_output=True, text=True, timeout=PATIENCE_SECONDS, check=False)
        if finished.returncode != 0:
            server_log = self.log.read_text() if self.log.exists() else ""
            raise RuntimeError(f"{program} failed: {finished.stdout}{finished.stderr}\n{server_log}")

    def initialise(self) -> None:
        self._run("initdb", "-D", str(self.data), "-U", "postgres", "-A", "trust", "-E", "UTF8", "--no-sync")

    def start(self) -> None:
        options = f"-p {self.port} -k {self.socket_directory} -c listen_addresses=127.0.0.1"
        self._run("pg_ctl", "-D", str(self.data), "-l", str(self.log), "-o", options, "-w", "-t", "120", "start")

    def stop(self, mode: str) -> None:
        """fast: a clean shutdown; immediate: every process ends at once, as in a crash (recovery from the WAL)."""
        self._run("pg_ctl", "-D", str(self.data), "-m", mode, "-w", "-t", "120", "stop")

    def url(self, database: str = "postgres") -> str:
        return f"postgresql+psycopg://postgres@127.0.0.1:{self.port}/{database}"

    def create_database(self, name: str) -> str:
        admin = create_engine(self.url(), isolation_level="AUTOCOMMIT")
        with admin.connect() as connection:
            connection.execute(text(f'CREATE DATABASE "{name}"'))
        admin.dispose()
        return self.url(name)


@contextmanager
def private_postgres() -> Iterator[PrivatePostgres]:
    binaries = server_binaries()
    as_user = "postgres" if os.geteuid() == 0 else None
    problem = None
    if binaries is None:
        problem = "no PostgreSQL server binaries (set REACHABLE_TEST_PG_BIN)"
    elif as_user and not shutil.which("runuser"):
        problem = "running as root without runuser to become the postgres user"
    if problem is None and as_user:
        try:
            pwd.getpwnam(as_user)
        except KeyError:
            problem = "running as root and there is no postgres user to run the server as"
    if problem:
        if REQUIRE_POSTGRES:
            pytest.fail(f"cannot start a private PostgreSQL cluster: {problem}", pytrace=False)
        pytest.skip(f"SKIPPING: cannot start a private PostgreSQL cluster: {problem}")
    assert binaries is not None
    directory = Path(tempfile.mkdtemp(prefix="reachable-private-pg-"))
    if as_user:
        user = pwd.getpwnam(as_user)
        os.chown(directory, user.pw_uid, user.pw_gid)
    cluster = PrivatePostgres(binaries, directory, free_port(), as_user)
    try:
        cluster.initialise()
        cluster.start()
        yield cluster
    finally:
        with contextlib.suppress(RuntimeError):  # not running (a test stopped it, or it never started)
            cluster.stop("immediate")
        shutil.rmtree(directory, ignore_errors=True)
