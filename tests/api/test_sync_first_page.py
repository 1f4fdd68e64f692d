"""What a phone's first sync page costs the database: a fixed number of statements, however big the caseload.

A mentor with 2 children and one with 14, each child with every kind of record the sync carries (phone number and
consent, a planned session, a completed session with a concern and so an alert, a pattern and its sessions, a
check-in (in the session), a goal, a missing episode and the child_missing alert it raises, a place on the mentor's
group series, whose sessions carry a register of every child on it). Their first pages run the same statements:
the page's records are read one kind at a time (api/sync/feed.py), never one record at a time.

On PostgreSQL the sync serves only changes from finished transactions, so these tests run on a committed database in
the serial pass (tests/api/test_sync.py says why).

The clock stands on Monday 23 November 2026, 14:00 UTC.
"""

from __future__ import annotations

import time
from collections import Counter
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import event, func, select, text

from api.accounts.models import AppUser
from api.changes.models import ChangeEvent
from api.enrolments.models import Enrolment
from tests.builders import Team, iso, utc

pytestmark = pytest.mark.serial

# The most statements a page may run, whatever the caseload (api/sync/feed.py states the same bound): the caller's
# bearer token (1); the stream: the horizon on PostgreSQL or BEGIN IMMEDIATE on SQLite, the watermark, the page's
# items (3); then per kind of record on the page: children 3 (4 with a waitlisted child), sessions 5, patterns 1,
# alerts 1, missing episodes 1, check-ins 4, goals 2, series 5; and the audit rows (1).
MOST_STATEMENTS_A_PAGE = 28
CONCERN = "Mentioned being approached outside school by older teenagers."
ONS4 = {"life_satisfaction": 6, "worthwhile": 7, "happy_yesterday": 6, "anxious_yesterday": 4}


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


def created(response) -> dict[str, Any]:
    assert response.status_code == 201, response.json
    return response.json


class Caseloads:
    """A team whose mentors' children each have every kind of record the sync carries, made through the API."""

    def __init__(self, db_session, client, clock):
        self.client = client
        self.team = Team(db_session, clock, places=40, max_sessions_per_week=5, planned_weeks=2, max_caseload=20)

    def post(self, path: str, body: dict[str, Any], *, by: AppUser) -> dict[str, Any]:
        return created(self.client.post(path, json=body, headers=self.team.headers(by)))

    def session(self, enrolment: Enrolment, start, *, by: AppUser, **fields: Any) -> dict[str, Any]:
        body = {
            "enrolment_ids": [str(enrolment.id)],
            "kind": "one_to_one",
            "location_category": "community_venue",
            "planned_start_at": iso(start),
            "planned_end_at": iso(start + timedelta(hours=1)),
        }
        return self.post("/sessions", body | fields, by=by)

    def mentor_with(self, children: int) -> AppUser:
        team = self.team
        mentor = team.new_mentor(max_caseload=20)
        series = self.post(
            "/group-series",
            {
                "programme_id": str(team.programme.id),
                "name": f"Staying safe ({mentor.display_name})",
                "capacity": 20,
                "lead_facilitator_id": str(mentor.id),
                "location_category": "school",
                "sessions": [
                    {"planned_start_at": iso(start), "planned_end_at": iso(start + timedelta(hours=1))}
                    for start in (utc(2026, 11, 26, 16), utc(2026, 12, 3, 16))
                ],
            },
            by=team.coordinator,
        )
        for _ in range(children):
            enrolment = team.child(mentor)
            child = f"/children/{enrolment.child_id}"
            team.consent_to_sms(enrolment.child_id)
            self.session(enrolment, utc(2026, 11, 25, 10), by=mentor)
            concern = self.session(
                enrolment,
                utc(2026, 11, 23, 10),
                by=mentor,
                status="completed",
                actual_duration_minutes=50,
                activities=["Talking and listening"],
                notes="Talked about school.",
                safeguarding_concern=CONCERN,
            )
            slots = [{"weekday": 2, "start": "18:00"}]
            pattern = {"slots": slots, "duration_minutes": 60, "location_category": "home"}
            self.post(f"/enrolments/{enrolment.id}/patterns", pattern, by=mentor)
            check_in = {"instrument": "ons4", "answers": ONS4, "session_id": concern["id"]}
            self.post(f"{child}/check-ins", check_in, by=mentor)
            self.post(f"{child}/goals", {"description": "Go back to football"}, by=mentor)
            missing = {"reported_at": "2026-11-22T21:15:00+00:00", "source": "police"}
            self.post(f"{child}/missing-episodes", missing, by=mentor)
            self.post(f"/group-series/{series['id']}/members", {"enrolment_id": str(enrolment.id)}, by=team.coordinator)
        return mentor

    def first_page(
        self, mentor: AppUser, *, cursor: str | None = None, limit: int | None = None
    ) -> tuple[list[str], dict[str, Any]]:
        """The SQL statements the app runs for one page of the mentor's sync (the first, unless a cursor is given),
        and the page."""
        engine = self.client.application.extensions["reachable.db"].engine
        statements: list[str] = []

        def count(_connection: Any, _cursor: Any, statement: str, *_args: Any) -> None:
            statements.append(statement)

        headers = self.team.headers(mentor)
        settle(self.team.db_session)
        event.listen(engine, "before_cursor_execute", count)
        try:
            query = {"cursor": cursor, "limit": limit}
            response = self.client.get(
                "/sync", query_string={key: value for key, value in query.items() if value}, headers=headers
            )
        finally:
            event.remove(engine, "before_cursor_execute", count)
        assert response.status_code == 200, response.json
        return statements, response.json


def test_a_first_page_runs_the_same_statements_for_2_children_as_for_14(committed_db_session, committed_client, clock):
    caseloads = Caseloads(committed_db_session, committed_client, clock)
    few, many = caseloads.mentor_with(2), caseloads.mentor_with(14)

    (few_statements, few_page), (many_statements, many_page) = caseloads.first_page(few), caseloads.first_page(many)

    # Every kind of record is on both pages, and the bigger caseload's page carries seven times the children.
    kinds = {"child", "session", "pattern", "alert", "check_in", "goal", "missing_episode", "group_series"}
    for page, children in ((few_page, 2), (many_page, 14)):
        assert not page["has_more"]
        by_type = Counter(change["type"] for change in page["changes"])
        assert set(by_type) == kinds
        assert (by_type["child"], by_type["goal"], by_type["missing_episode"]) == (children, children, children)
    assert len(many_statements) == len(few_statements), most_run(many_statements)
    assert len(many_statements) <= MOST_STATEMENTS_A_PAGE, most_run(many_statements)


def test_every_page_of_a_paged_first_sync_keeps_to_the_bound(committed_db_session, committed_client, clock):
    caseloads = Caseloads(committed_db_session, committed_client, clock)
    mentor = caseloads.mentor_with(14)

    pages, cursor = [], None
    while True:
        statements, page = caseloads.first_page(mentor, cursor=cursor, limit=40)
        pages.append((len(statements), len(page["changes"])))
        assert len(statements) <= MOST_STATEMENTS_A_PAGE, most_run(statements)
        cursor = page["cursor"]
        if not page["has_more"]:
            break

    assert len(pages) >= 4
    assert sum(changes for _, changes in pages) > 14 * 10


def most_run(statements: list[str]) -> str:
    """The statements run most often, for a failure's message."""
    return "\n".join(f"{n}x {' '.join(statement.split())[:160]}" for statement, n in Counter(statements).most_common(8))
