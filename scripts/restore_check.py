"""Restore a PostgreSQL backup of Reachable into a fresh database, and check that it migrates and serves.

    python scripts/restore_check.py BACKUP [--server postgresql+psycopg://user@host:5432/postgres] [--keep]

BACKUP is what `pg_dump` made: its custom format (`pg_dump -Fc`, restored with pg_restore) or plain SQL (run with
psql). The check, step by step, printing each:

1. creates a new, empty database beside the server's others (`reachable_restore_check_<random>`);
2. restores the backup into it (without the dump's owners and grants: the restoring role owns what it restores);
3. migrates it to this checkout's newest revision (a backup from an older release must come up to date);
4. starts the production web server on it (`gunicorn wsgi:app`, reading gunicorn.conf.py, on a free local port)
   and asks `/readyz`, which answers 200 only when the database is reachable and at the newest revision;
5. counts what the restored database holds (users, children, enrolments, sessions, audit events), so a backup
   that restored empty shows it;
6. drops the database again, unless --keep (then it says where it is).

Exit status 0 only if every step worked. Run it against each backup you would rely on, on a schedule: a backup
never restored is a hope, not a backup. `make restore-check BACKUP=path` runs it from a checkout.
"""

from __future__ import annotations

import argparse
import os
import secrets
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

from sqlalchemy import create_engine, text
from sqlalchemy.engine import URL, make_url

REPO_ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO_ROOT))

from api import migrate  # noqa: E402  (the checkout's own package, found through REPO_ROOT)

DEFAULT_SERVER = "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
COUNTED_TABLES = ("app_user", "child", "enrolment", "mentoring_session", "audit_event")
SERVER_PATIENCE_SECONDS = 60
CUSTOM_FORMAT_MAGIC = b"PGDMP"


def say(step: str) -> None:
    print(step, flush=True)


def libpq(url: URL) -> str:
    """The URL as pg_restore and psql read it (no SQLAlchemy driver name)."""
    return url.set(drivername="postgresql").render_as_string(hide_password=False)


def create_database(server: URL) -> URL:
    name = f"reachable_restore_check_{secrets.token_hex(6)}"
    admin = create_engine(server, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(text(f'CREATE DATABASE "{name}"'))
    admin.dispose()
    return server.set(database=name)


def drop_database(server: URL, database: URL) -> None:
    admin = create_engine(server, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(text(f'DROP DATABASE IF EXISTS "{database.database}" WITH (FORCE)'))
    admin.dispose()


def restore(backup: Path, database: URL) -> None:
    with backup.open("rb") as opened:
        custom_format = opened.read(len(CUSTOM_FORMAT_MAGIC)) == CUSTOM_FORMAT_MAGIC
    if custom_format:
        command = ["pg_restore", "--no-owner", "--no-privileges", "--exit-on-error", "--dbname", libpq(database)]
        command.append(str(backup))
    else:
        command = ["psql", "--quiet", "--set", "ON_ERROR_STOP=1", "--dbname", libpq(database), "--file", str(backup)]
    finished = subprocess.run(command, capture_output=True, text=True, check=False)
    if finished.returncode != 0:
        raise RestoreFailed(f"{command[0]} failed:\n{finished.stderr.strip()}")


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def serves(database: URL) -> str:
    """Start gunicorn on the restored database and ask /readyz; its answer, or why it failed."""
    port = free_port()
    environment = {
        **os.environ,
        "REACHABLE_DATABASE_URL": database.render_as_string(hide_password=False),
        # A key of the check's own: the restored data is read, never signed for anyone.
        "REACHABLE_SECRET_KEY": secrets.token_urlsafe(48),
    }
    server = subprocess.Popen(
        [sys.executable, "-m", "gunicorn", "--bind", f"127.0.0.1:{port}", "--workers", "1", "wsgi:app"],
        cwd=REPO_ROOT,
        env=environment,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        deadline = time.monotonic() + SERVER_PATIENCE_SECONDS
        while time.monotonic() < deadline:
            if server.poll() is not None:
                raise RestoreFailed(f"the web server exited ({server.returncode}):\n{server.communicate()[1]}")
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/readyz", timeout=5) as answer:
                    return str(answer.read().decode().strip())
            except urllib.error.HTTPError as refused:
                raise RestoreFailed(f"/readyz answered {refused.code}: {refused.read().decode().strip()}") from None
            except OSError:  # not listening yet
                time.sleep(0.2)
        raise RestoreFailed(f"the web server did not answer within {SERVER_PATIENCE_SECONDS} s")
    finally:
        server.terminate()
        server.wait(timeout=SERVER_PATIENCE_SECONDS)


def counts(database: URL) -> dict[str, int]:
    engine = create_engine(database)
    with engine.connect() as connection:
        found = {table: int(connection.scalar(text(f"SELECT count(*) FROM {table}")) or 0) for table in COUNTED_TABLES}
    engine.dispose()
    return found


class RestoreFailed(Exception):
    pass


def check(backup: Path, server: URL, *, keep: bool) -> None:
    database = create_database(server)
    say(f"1. created the empty database {database.database}")
    try:
        restore(backup, database)
        say(f"2. restored {backup}")
        url = database.render_as_string(hide_password=False)
        engine = create_engine(database)
        with engine.connect() as connection:
            restored_at = migrate.current_revision(connection)
        engine.dispose()
        migrate.upgrade(url)
        say(f"3. migrated from {restored_at or 'no revision'} to {migrate.head_revision(url)}")
        say(f"4. gunicorn serves it: /readyz {serves(database)}")
        found = counts(database)
        say("5. it holds " + ", ".join(f"{number} {table}" for table, number in found.items()))
        if found["app_user"] == 0:
            raise RestoreFailed("the restored database has no users: is this the right backup?")
    finally:
        if keep:
            say(f"6. kept: {database.render_as_string(hide_password=True)}")
        else:
            drop_database(server, database)
            say(f"6. dropped {database.database}")


def main(arguments: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("backup", type=Path, help="a pg_dump file: custom format (-Fc) or plain SQL")
    parser.add_argument(
        "--server",
        default=os.environ.get("REACHABLE_RESTORE_CHECK_SERVER", DEFAULT_SERVER),
        help="a database on the PostgreSQL server to restore into, to connect as (default: %(default)s)",
    )
    parser.add_argument("--keep", action="store_true", help="keep the restored database afterwards")
    options = parser.parse_args(arguments)
    if not options.backup.is_file():
        parser.error(f"{options.backup} is not a file")
    try:
        check(options.backup, make_url(options.server), keep=options.keep)
    except (RestoreFailed, OSError) as problem:
        print(f"RESTORE CHECK FAILED: {problem}", file=sys.stderr)
        return 1
    print("The backup restores, migrates and serves.")
    return 0


if __name__ == "__main__":
    sys.exit(main())
