"""The restore check (scripts/restore_check.py, `make restore-check`): a real pg_dump restored into a fresh
PostgreSQL database, migrated, served by gunicorn and counted; and the ways a backup fails it."""

from __future__ import annotations

import re
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session

from api import migrate
from api.actors import Role
from tests.builders import make_user
from tests.conftest import POSTGRES_ADMIN_URL, throwaway_database
from tests.reliability.processes import PATIENCE_SECONDS, REPO_ROOT

SCRIPT = REPO_ROOT / "scripts" / "restore_check.py"
# The first migration: a backup of a database that old must come up to date.
OLDEST_REVISION = "5085140c02f9"


def libpq(url: str) -> str:
    return make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)


@pytest.fixture()
def source(tmp_path: Path) -> Iterator[str]:
    with throwaway_database("postgresql", tmp_path, migrated=False) as url:
        yield url


def dump(url: str, to: Path, *, plain: bool = False) -> Path:
    subprocess.run(["pg_dump", "--format", "p" if plain else "c", "--file", str(to), libpq(url)], check=True)
    return to


def restore_check(backup: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, str(SCRIPT), str(backup), "--server", POSTGRES_ADMIN_URL],
        capture_output=True, text=True, timeout=PATIENCE_SECONDS * 2, check=False,
    )  # fmt: skip


def databases_named(name: str) -> int:
    admin = create_engine(POSTGRES_ADMIN_URL)
    with admin.connect() as connection:
        found = connection.scalar(text("SELECT count(*) FROM pg_database WHERE datname = :name"), {"name": name})
    admin.dispose()
    return int(found or 0)


def checked_database(output: str) -> str:
    found = re.search(r"created the empty database (\S+)", output)
    assert found is not None, output
    return found.group(1)


@pytest.mark.parametrize("plain", [False, True], ids=["custom-format", "plain-sql"])
def test_a_backup_restores_migrates_serves_and_is_counted_then_dropped(
    source: str, tmp_path: Path, plain: bool
) -> None:
    migrate.upgrade(source)
    engine = create_engine(source)
    with Session(engine) as db_session:
        make_user(db_session, Role.ADMIN)
        make_user(db_session, Role.MENTOR)
        db_session.commit()
    engine.dispose()

    finished = restore_check(dump(source, tmp_path / "backup", plain=plain))

    assert finished.returncode == 0, finished.stdout + finished.stderr
    served = next(line for line in finished.stdout.splitlines() if "gunicorn serves it: /readyz" in line)
    assert '"ready":true' in served and '"migrations":"at head"' in served and '"database":"ok"' in served
    assert "2 app_user" in finished.stdout
    assert "The backup restores, migrates and serves." in finished.stdout
    assert databases_named(checked_database(finished.stdout)) == 0


def test_a_backup_of_an_older_release_is_migrated_and_one_with_no_users_fails(source: str, tmp_path: Path) -> None:
    migrate.upgrade(source, OLDEST_REVISION)

    finished = restore_check(dump(source, tmp_path / "old.dump"))

    assert f"migrated from {OLDEST_REVISION} to {migrate.head_revision(source)}" in finished.stdout
    assert "gunicorn serves it" in finished.stdout
    assert finished.returncode == 1
    assert "the restored database has no users" in finished.stderr
    assert databases_named(checked_database(finished.stdout)) == 0


def test_a_damaged_backup_fails_and_leaves_nothing_behind(source: str, tmp_path: Path) -> None:
    migrate.upgrade(source)
    whole = dump(source, tmp_path / "whole.dump").read_bytes()
    damaged = tmp_path / "damaged.dump"
    damaged.write_bytes(whole[: len(whole) // 2])

    finished = restore_check(damaged)

    assert finished.returncode == 1
    assert "RESTORE CHECK FAILED: pg_restore failed" in finished.stderr
    assert databases_named(checked_database(finished.stdout)) == 0
