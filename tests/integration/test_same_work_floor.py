"""The load bench's same-work floor (bench/same_work_floor.py) runs the statements the API runs, so it cannot drift
from the API silently when the API changes: for logging a session and listing the caseload, one request of each on
both apps, the same statements by kind and table (bench/same_work_check.py), one commit each, answers of the same
shape. About statements, never speed. PostgreSQL only: the floor is written for it (ON CONFLICT, FOR UPDATE,
pg_current_xact_id), as is the bench.

When this fails after a change to the API, change the floor to match (or the API back) and say so in
bench/README.md: the target compares the API with a floor doing the same work."""

from __future__ import annotations

from pathlib import Path

import pytest

from api.db import Database
from tests.conftest import SECRET_KEY, throwaway_database

BENCH = Path(__file__).resolve().parents[2] / "bench"


@pytest.fixture()
def bench_modules(monkeypatch: pytest.MonkeyPatch) -> None:
    # The bench's modules import each other as scripts do, from bench/ on the path.
    monkeypatch.syspath_prepend(str(BENCH))


def test_the_same_work_floor_runs_the_statements_the_api_runs(bench_modules: None, tmp_path: Path) -> None:
    import api_load
    from floor_app import create_floor_tables
    from same_work_floor import SCHEMA

    with throwaway_database("postgresql", tmp_path) as url:
        database = Database(url)
        try:
            (mentor,) = api_load.create_caseloads(database, mentors=1, children_per_mentor=2)
            api_load.backdate_support(database)
            with database.engine.begin() as connection:
                create_floor_tables(connection, SCHEMA)
            in_process = api_load.InProcess(url, mentor, SECRET_KEY, sides=(api_load.API, api_load.SAME_WORK))
            try:
                problems = in_process.check_statements()
            finally:
                in_process.close()
        finally:
            database.dispose()
    assert not problems, "\n".join(problems)
