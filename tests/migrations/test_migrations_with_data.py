"""Every migration goes down and up again, one revision at a time, with data in the tables, and keeps it.

tests/migrations/test_migrations.py proves the schema round trip on an empty database; production databases are
never empty. Here the demo data (api/demo.py, which goes through every service) is loaded at head, and then:

1. down one revision at a time to the first revision: each step must succeed with rows in the tables, and
   leave every table it keeps holding the same rows (compared on the columns it keeps);
2. up one revision at a time back to head: each step must succeed on the populated tables (a NOT NULL column
   added without a default, a unique index the data breaks, a bad data migration all fail here), and the rows
   that survived the way down must come back unchanged (compared on the columns they had all along);
3. down one revision at a time to base, with the data still there, which must leave no table behind.

The revisions come from the Alembic script directory, so a new migration is walked without editing this test.
Data that a downgrade drops with its table or column cannot come back, and is not expected to; nor can rows a
downgrade deletes on purpose because the older schema cannot hold them (DELIBERATE_LOSSES, one reviewed line
each): from those tables a downgrade may only remove rows, never change one.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from datetime import UTC, datetime

import pytest
from alembic.script import ScriptDirectory
from sqlalchemy import Engine, MetaData, inspect

from api import migrate
from api.db import Database, make_engine
from api.demo import load_demo_data
from api.wellbeing.instruments import SHIPPED_INSTRUMENTS, load_instruments
from tests.conftest import throwaway_database

NOW = datetime(2026, 11, 23, 14, 0, tzinfo=UTC)
# Revision -> tables whose downgrade deletes rows the older schema cannot hold, and why.
DELIBERATE_LOSSES = {
    "1aa444a36779": {"alert": "wellbeing alerts and alerts the system raised (no raising user) had no shape before"},
    "80f9ca4ba7c6": {
        "outbound_message_event": "the dispatch ledger did not exist before",
        "outbound_message": "only queued check-in links to a number could be held before",
        "contact_consent": "opt-outs recorded by the provider (no recording user) could not be held before",
    },
    "b85101d679f6": {
        "outbound_message": "SMS to coordinators about alerts, and lone-working checks, had no purpose before",
        "outbound_message_event": "the ledgers of those SMS go with them",
        "alert": "the new kinds, and alerts about a programme rather than a child, had no shape before",
    },
}
# Table name -> (its column names, its rows as sorted tuples of (column, value) pairs).
Snapshot = dict[str, tuple[frozenset[str], list[tuple[tuple[str, object], ...]]]]


@pytest.fixture()
def demo_database_url(backend, tmp_path) -> Iterator[str]:
    """A database of this test's own at head, holding the demo data."""
    with throwaway_database(backend, tmp_path) as url:
        database = Database(url)
        with database.session() as db_session:
            instruments = load_instruments(SHIPPED_INSTRUMENTS, licensed_wording_file=None)
            assert load_demo_data(db_session, instruments=instruments, now=NOW, progress=lambda _: None)
        database.dispose()
        yield url


def revisions_oldest_first(url: str) -> list[str]:
    script = ScriptDirectory.from_config(migrate.alembic_config(url))
    assert len(script.get_heads()) == 1, "several heads: merge them before walking the history"
    return [revision.revision for revision in script.walk_revisions()][::-1]


def snapshot(engine: Engine) -> Snapshot:
    metadata = MetaData()
    metadata.reflect(engine)
    taken: Snapshot = {}
    with engine.connect() as connection:
        for table in metadata.sorted_tables:
            if table.name == "alembic_version":
                continue
            rows = [tuple(sorted(row._mapping.items())) for row in connection.execute(table.select())]
            taken[table.name] = (frozenset(table.columns.keys()), rows)
    return taken


def projected(rows: list[tuple[tuple[str, object], ...]], columns: frozenset[str]) -> list[str]:
    """The rows on these columns only, in a stable order (values compared by repr: JSON is unhashable)."""
    return sorted(repr(tuple((name, value) for name, value in row if name in columns)) for row in rows)


def differences(expected: Snapshot, actual: Snapshot, *, may_lose: frozenset[str] = frozenset()) -> list[str]:
    """Tables in both whose rows differ on the columns both have (tables in may_lose may only have fewer)."""
    found = []
    for name in expected.keys() & actual.keys():
        (expected_columns, expected_rows), (actual_columns, actual_rows) = expected[name], actual[name]
        columns = expected_columns & actual_columns
        wanted, present = Counter(projected(expected_rows, columns)), Counter(projected(actual_rows, columns))
        if present != wanted and not (name in may_lose and present <= wanted):
            found.append(f"{name}: {len(expected_rows)} rows expected, {len(actual_rows)} found, or values differ")
    return found


def test_every_revision_goes_down_and_up_again_with_the_demo_data_in_the_tables(demo_database_url):
    url = demo_database_url
    revisions = revisions_oldest_first(url)
    engine = make_engine(url)
    try:
        at_head = snapshot(engine)
        assert sum(len(rows) for _, rows in at_head.values()) > 100, "the demo data did not load"

        # 1. Down, one revision at a time, to the first.
        may_lose: frozenset[str] = frozenset()
        for undone, target in zip(reversed(revisions[1:]), reversed(revisions[:-1]), strict=True):
            migrate.downgrade(url, target)
            engine.dispose()
            may_lose |= DELIBERATE_LOSSES.get(undone, {}).keys()
            assert not differences(at_head, snapshot(engine), may_lose=may_lose), f"down to {target}"
        at_first = snapshot(engine)
        assert any(rows for _, rows in at_first.values()), "nothing left to carry up"

        # 2. Up, one revision at a time, carrying what survived.
        for target in revisions[1:]:
            migrate.upgrade(url, target)
            engine.dispose()
            assert not differences(at_first, snapshot(engine)), f"up to {target}"
        back_at_head = snapshot(engine)
        assert back_at_head.keys() == at_head.keys()
        for name in at_first.keys() - may_lose:
            assert len(back_at_head[name][1]) == len(at_head[name][1]), f"{name}: rows lost on the round trip"

        # 3. Down to base with the data in the tables.
        for target in [*reversed(revisions[:-1]), "base"]:
            migrate.downgrade(url, target)
        engine.dispose()
        assert set(inspect(engine).get_table_names()) <= {"alembic_version"}
    finally:
        engine.dispose()
