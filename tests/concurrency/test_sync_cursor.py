"""A sync cursor never skips a change that committed late (api/sync/rules.py explains the mechanism)."""

from __future__ import annotations

import time

import pytest

from api.actors import Role
from api.changes.rules import ChangeOp, EntityType
from api.changes.service import record_change
from api.db import Database, transaction
from tests.builders import admit_child, allocate, auth_headers, make_cohort, make_user
from tests.conftest import DEFAULT_NOW

# PostgreSQL serves a change only once every older write transaction on the server has finished, so another
# test's open transaction (xdist workers) would hold these back: they run in the serial pass of `make test`.
pytestmark = pytest.mark.serial
# Sync delays (never skips) changes while any older write transaction on the server is open; if something
# else is using the server, wait for delivery this long before calling it lost.
PATIENCE_SECONDS = 20


def sync_until_changes(client, headers, cursor):
    deadline = time.monotonic() + PATIENCE_SECONDS
    while True:
        page = client.get(f"/sync?cursor={cursor}", headers=headers).json
        if page["changes"] or time.monotonic() > deadline:
            return page
        time.sleep(0.2)


def test_a_change_that_commits_after_a_later_one_is_still_delivered(
    backend, committed_database_url, committed_db_session, committed_client
):
    if backend == "sqlite":
        pytest.skip("SQLite serialises writers (BEGIN IMMEDIATE): two writing transactions cannot overlap")
    cohort = make_cohort(committed_db_session, places=5)
    coordinator = make_user(committed_db_session, Role.COORDINATOR, programme_id=cohort.programme_id)
    mentor = make_user(committed_db_session, Role.MENTOR, programme_id=cohort.programme_id)
    first = admit_child(committed_db_session, cohort=cohort, by=coordinator)
    second = admit_child(committed_db_session, cohort=cohort, by=coordinator)
    for enrolment in (first, second):
        allocate(committed_db_session, enrolment=enrolment, mentor=mentor, by=coordinator)
    headers = auth_headers(committed_db_session, mentor)
    cursor = committed_client.get("/sync", headers=headers).json["cursor"]

    database = Database(committed_database_url)
    slow, quick = database.session(), database.session()
    try:
        # The slow transaction writes first (so it has the older transaction id) but commits last: its scope stays
        # open while the quick one commits and a phone syncs.
        with transaction(slow):
            record_change(
                slow,
                entity_type=EntityType.CHILD,
                entity_id=first.child_id,
                child_id=first.child_id,
                op=ChangeOp.UPSERT,
                now=DEFAULT_NOW,
            )
            slow.flush()
            with transaction(quick):
                record_change(
                    quick,
                    entity_type=EntityType.CHILD,
                    entity_id=second.child_id,
                    child_id=second.child_id,
                    op=ChangeOp.UPSERT,
                    now=DEFAULT_NOW,
                )

            while_slow_runs = committed_client.get(f"/sync?cursor={cursor}", headers=headers).json
        after_both = sync_until_changes(committed_client, headers, while_slow_runs["cursor"])
    finally:
        slow.close()
        quick.close()
        database.dispose()

    # Nothing from behind the still-running transaction is served, so the cursor cannot pass it ...
    assert while_slow_runs["changes"] == []
    # ... and once it commits, both changes arrive, the late one first (transaction order).
    assert [change["id"] for change in after_both["changes"]] == [str(first.child_id), str(second.child_id)]


def test_sync_pages_through_every_child_granted_once(committed_db_session, committed_client):
    cohort = make_cohort(committed_db_session, places=10)
    coordinator = make_user(committed_db_session, Role.COORDINATOR, programme_id=cohort.programme_id)
    mentor = make_user(committed_db_session, Role.MENTOR, programme_id=cohort.programme_id)
    children = []
    for _ in range(7):
        enrolment = admit_child(committed_db_session, cohort=cohort, by=coordinator)
        allocate(committed_db_session, enrolment=enrolment, mentor=mentor, by=coordinator)
        children.append(str(enrolment.child_id))
    headers = auth_headers(committed_db_session, mentor)

    seen, cursor, pages = [], "", 0
    deadline = time.monotonic() + PATIENCE_SECONDS
    while time.monotonic() < deadline:
        page = committed_client.get(f"/sync?limit=3&cursor={cursor}", headers=headers).json
        seen += [change["id"] for change in page["changes"] if change["op"] == "access_granted"]
        cursor, pages = page["cursor"], pages + 1
        if not page["has_more"]:
            if len(seen) >= len(children):
                break
            time.sleep(0.2)  # another transaction on the server is holding delivery back: wait, never skip

    assert sorted(seen) == sorted(children)
    assert pages >= 3
    assert committed_client.get(f"/sync?cursor={cursor}", headers=headers).json["changes"] == []
