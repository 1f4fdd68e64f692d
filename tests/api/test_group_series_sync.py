"""The mentors' sync carries group series: a mentor whose child joins a series hears of the series (as GET shows it)
and of its sessions with their registers; when the child leaves, the series is deleted from their phone.

On PostgreSQL the sync serves only changes from finished transactions, so these tests run on a committed database
in the serial pass (tests/api/test_sync.py says why).
"""

from __future__ import annotations

import time
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import func, select, text

from api.changes.models import ChangeEvent
from tests.builders import Team, iso
from tests.conftest import DEFAULT_NOW

pytestmark = pytest.mark.serial

FIRST_TUESDAY = DEFAULT_NOW + timedelta(days=1, hours=3)


def settle(db_session) -> None:
    """Wait until every write transaction on the server older than the newest change has finished."""
    if db_session.get_bind().dialect.name != "postgresql":
        return
    deadline = time.monotonic() + 60
    while True:
        newest = db_session.scalar(select(func.max(ChangeEvent.txid)))
        horizon = db_session.scalar(text("SELECT pg_snapshot_xmin(pg_current_snapshot())::text::bigint"))
        db_session.rollback()
        if newest is None or horizon > newest or time.monotonic() > deadline:
            return
        time.sleep(0.05)


def sync(client, team: Team, user, cursor: str | None = None) -> dict[str, Any]:
    settle(team.db_session)
    query = {"cursor": cursor} if cursor else {}
    response = client.get("/sync", query_string=query | {"limit": 500}, headers=team.headers(user))
    assert response.status_code == 200, response.json
    assert not response.json["has_more"]
    return response.json


def test_a_mentor_whose_child_joins_a_series_receives_the_series_and_its_sessions_with_their_registers(
    committed_db_session, committed_client, clock
):
    client = committed_client
    team = Team(committed_db_session, clock)
    facilitator = team.new_mentor()
    child = team.child()
    cursor = sync(client, team, team.mentor)["cursor"]
    starts = [FIRST_TUESDAY + timedelta(weeks=week) for week in range(3)]
    created = client.post(
        "/group-series",
        json={
            "programme_id": str(team.programme.id),
            "name": "Knife crime awareness",
            "capacity": 6,
            "lead_facilitator_id": str(facilitator.id),
            "location_category": "school",
            "sessions": [
                {"planned_start_at": iso(start), "planned_end_at": iso(start + timedelta(hours=1))} for start in starts
            ],
        },
        headers=team.headers(team.coordinator),
    )
    assert created.status_code == 201, created.json
    series = created.json
    # Nothing of a series without their child reaches the mentor.
    assert sync(client, team, team.mentor, cursor)["changes"] == []

    joined = client.post(
        f"/group-series/{series['id']}/members",
        json={"enrolment_id": str(child.id)},
        headers=team.headers(team.coordinator),
    )
    assert joined.status_code == 201, joined.json
    page = sync(client, team, team.mentor, cursor)

    by_type: dict[str, list[dict]] = {}
    for change in page["changes"]:
        by_type.setdefault(change["type"], []).append(change)
    [series_change] = by_type["group_series"]
    assert (series_change["op"], series_change["id"], series_change["child_id"]) == (
        "upsert",
        series["id"],
        str(child.child_id),
    )
    carried = series_change["group_series"]
    assert [entry["child_id"] for entry in carried["roster"]] == [str(child.child_id)]
    assert [session["booked"] for session in carried["sessions"]] == [1, 1, 1]
    sessions = {change["id"]: change["session"] for change in by_type["session"]}
    assert set(sessions) == {session["id"] for session in series["sessions"]}
    assert {
        (session["series_id"], tuple((line["child_id"], line["attendance"]) for line in session["register"]))
        for session in sessions.values()
    } == {(series["id"], ((str(child.child_id), "booked"),))}

    left = client.delete(
        f"/group-series/{series['id']}/members/{child.child_id}", headers=team.headers(team.coordinator)
    )
    assert left.status_code == 204
    after_leaving = sync(client, team, team.mentor, page["cursor"])["changes"]

    # Their child is off the roster: the series is no longer theirs to read, so the phone forgets it.
    assert [(change["type"], change["op"]) for change in after_leaving if change["type"] == "group_series"] == [
        ("group_series", "delete")
    ]
    assert {
        change["session"]["register"][0]["attendance"] for change in after_leaving if change["type"] == "session"
    } == {"cancelled_by_service"}


def test_a_mentor_given_a_child_on_a_roster_receives_the_series_with_the_child(
    committed_db_session, committed_client, clock
):
    client = committed_client
    team = Team(committed_db_session, clock)
    child = team.child()
    start = FIRST_TUESDAY
    series = client.post(
        "/group-series",
        json={
            "programme_id": str(team.programme.id),
            "name": "Online safety",
            "capacity": 6,
            "lead_facilitator_id": str(team.mentor.id),
            "location_category": "school",
            "sessions": [{"planned_start_at": iso(start), "planned_end_at": iso(start + timedelta(hours=1))}],
        },
        headers=team.headers(team.coordinator),
    ).json
    assert (
        client.post(
            f"/group-series/{series['id']}/members",
            json={"enrolment_id": str(child.id)},
            headers=team.headers(team.coordinator),
        ).status_code
        == 201
    )
    new_key_worker = team.new_mentor()
    team.allocate(child, new_key_worker)

    changes = sync(client, team, new_key_worker)["changes"]

    assert [(change["type"], change["op"]) for change in changes] == [
        ("child", "access_granted"),
        ("session", "upsert"),
        ("group_series", "upsert"),
    ]
    assert changes[2]["group_series"]["id"] == series["id"]
