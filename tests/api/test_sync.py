"""GET /sync, the mentors' phone app's offline sync: everything in the caller's caseload that changed after a
cursor, each record once in its current state, deletions, and children gained or lost.

On PostgreSQL the sync only serves changes from transactions that have finished (api/sync/rules.py), so these
tests run on a database whose transactions really commit (committed_db_session, committed_client), and in the
serial pass: another test's open transaction on the same server would hold their changes back.

The clock stands on Monday 23 November 2026, 14:00 UTC.
"""

from __future__ import annotations

import time
from collections import Counter
from datetime import datetime, timedelta
from typing import Any

import pytest
from flask.testing import FlaskClient
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st
from sqlalchemy import event, func, select, text
from sqlalchemy.orm import Session

from api.accounts.models import AppUser
from api.actors import Role
from api.audit.models import AuditEvent
from api.changes.models import ChangeEvent
from api.clock import FixedClock
from api.enrolments.models import Enrolment
from api.programmes.models import Cohort, Programme
from tests.builders import admit_child, allocate, auth_headers, make_cohort, make_programme, make_user
from tests.conftest import DEFAULT_NOW
from tests.times import utc

pytestmark = pytest.mark.serial

CONCERN = "Mentioned being approached outside school by older teenagers."


class World:
    """A programme with a cohort of two-week enrolments, a coordinator and two mentors, on a committed database."""

    def __init__(self, db_session: Session, client: FlaskClient, clock: FixedClock):
        self.db_session = db_session
        self.client = client
        self.clock = clock
        self.programme: Programme = make_programme(db_session)
        self.cohort: Cohort = make_cohort(db_session, programme=self.programme, places=20, planned_weeks=2)
        self.coordinator = make_user(db_session, Role.COORDINATOR, programme=self.programme)
        self.mentor = make_user(db_session, Role.MENTOR, programme=self.programme)
        self.other_mentor = make_user(db_session, Role.MENTOR, programme=self.programme)

    def child(self, mentor: AppUser | None = None) -> Enrolment:
        """A child with an active place, allocated to the mentor (the first mentor unless named)."""
        enrolment = admit_child(self.db_session, cohort=self.cohort, by=self.coordinator, now=self.clock.now())
        allocate(
            self.db_session,
            enrolment=enrolment,
            mentor=mentor or self.mentor,
            by=self.coordinator,
            now=self.clock.now(),
        )
        return enrolment

    def headers(self, user: AppUser | None = None, **extra: str) -> dict[str, str]:
        return auth_headers(self.db_session, user or self.mentor, now=self.clock.now()) | extra

    # --- requests, each checked, as the mentor unless someone else is named ---

    def call(self, method: str, path: str, *, by: AppUser | None = None, status: int, **kwargs: Any) -> Any:
        response = self.client.open(path, method=method, headers=self.headers(by, **kwargs.pop("extra", {})), **kwargs)
        assert response.status_code == status, response.json
        return response

    def session(self, enrolment: Enrolment, start: datetime, *, by: AppUser | None = None, **fields: Any) -> dict:
        body = {
            "enrolment_ids": [str(enrolment.id)],
            "kind": "one_to_one",
            "location_category": "community_venue",
            "planned_start_at": start.isoformat(),
            "planned_end_at": (start + timedelta(hours=1)).isoformat(),
        } | fields
        return self.call("POST", "/sessions", json=body, by=by, status=201).json

    def concern(self, enrolment: Enrolment, *, hour: int = 10) -> dict:
        """A session earlier today, logged with a safeguarding concern: raises an alert."""
        return self.session(enrolment, utc(2026, 11, 23, hour), status="completed", safeguarding_concern=CONCERN)

    def edit_session(self, session: dict, body: dict[str, Any], *, version: int) -> dict:
        return self.call(
            "PATCH", f"/sessions/{session['id']}", json=body, extra={"If-Match": f'"{version}"'}, status=200
        ).json

    def pattern(self, enrolment: Enrolment, *slots: tuple[int, str]) -> dict:
        body = {
            "slots": [{"weekday": weekday, "start": start} for weekday, start in slots],
            "duration_minutes": 60,
            "location_category": "home",
        }
        return self.call("POST", f"/enrolments/{enrolment.id}/patterns", json=body, status=201).json

    def change_pattern(self, pattern: dict, *slots: tuple[int, str], version: int = 1) -> dict:
        body = {
            "slots": [{"weekday": weekday, "start": start} for weekday, start in slots],
            "duration_minutes": 60,
            "location_category": "home",
        }
        return self.call(
            "PUT", f"/patterns/{pattern['id']}", json=body, extra={"If-Match": f'"{version}"'}, status=200
        ).json

    def sessions_of(self, enrolment: Enrolment) -> list[dict]:
        return self.call(
            "GET",
            "/sessions",
            query_string={"child_id": str(enrolment.child_id), "page_size": 100},
            by=self.coordinator,
            status=200,
        ).json

    def reallocate(self, enrolment: Enrolment, mentor: AppUser) -> None:
        self.call(
            "PUT",
            f"/enrolments/{enrolment.id}/allocation",
            json={"mentor_id": str(mentor.id)},
            by=self.coordinator,
            status=200,
        )

    def settle(self) -> None:
        """PostgreSQL serves a change once every older write transaction on the server has finished. Wait for
        that here, so a test run elsewhere on the same server (holding its transaction open) only slows these
        tests down instead of making them see a change one sync late."""
        if self.db_session.get_bind().dialect.name != "postgresql":
            return
        deadline = time.monotonic() + 60
        while True:
            newest = self.db_session.scalar(select(func.max(ChangeEvent.txid)))
            horizon = self.db_session.scalar(text("SELECT pg_snapshot_xmin(pg_current_snapshot())::text::bigint"))
            self.db_session.rollback()
            if newest is None or horizon > newest or time.monotonic() > deadline:
                return
            time.sleep(0.05)

    def sync(self, user: AppUser | None = None, *, cursor: str | None = None, limit: int | None = None) -> dict:
        self.settle()
        query: dict[str, Any] = {}
        if cursor is not None:
            query["cursor"] = cursor
        if limit is not None:
            query["limit"] = limit
        response = self.client.get("/sync", query_string=query, headers=self.headers(user))
        assert response.status_code == 200, response.json
        return response.json

    def sync_everything(self, user: AppUser | None = None, *, cursor: str | None = None, limit: int = 500) -> dict:
        """Every page until has_more is false: the pages, and the cursor to start from next time."""
        pages = []
        while True:
            page = self.sync(user, cursor=cursor, limit=limit)
            pages.append(page)
            cursor = page["cursor"]
            if not page["has_more"]:
                return {"pages": pages, "cursor": cursor}


@pytest.fixture()
def world(committed_db_session, committed_client, clock) -> World:
    return World(committed_db_session, committed_client, clock)


def keys(changes: list[dict]) -> list[tuple[str, str, str]]:
    return [(change["type"], change["op"], change["id"]) for change in changes]


def record_of(change: dict) -> Any:
    return change[change["type"]] if change["type"] in ("child", "session", "pattern", "alert") else None


def only(changes: list[dict], type_: str, id_: Any) -> dict:
    [found] = [change for change in changes if change["type"] == type_ and change["id"] == str(id_)]
    return found


def error(response) -> tuple[int, str]:
    return response.status_code, response.json["reason"]


# --- a first sync -------------------------------------------------------------------------------------------


def test_a_first_sync_gives_each_allocated_child_with_its_sessions_patterns_and_alerts(world):
    first, second = world.child(), world.child()
    someone_elses = world.child(mentor=world.other_mentor)
    session = world.session(first, utc(2026, 11, 25, 10))
    logged = world.concern(first)
    pattern = world.pattern(second, (2, "18:00"))
    world.session(someone_elses, utc(2026, 11, 25, 10), by=world.other_mentor)
    [alert] = world.call("GET", "/alerts", by=world.coordinator, status=200).json
    pattern_sessions = world.sessions_of(second)
    assert len(pattern_sessions) == 2  # Tuesdays 24 November and 1 December

    page = world.sync()

    assert page["has_more"] is False
    assert sorted(keys(page["changes"])) == sorted(
        [
            ("child", "access_granted", str(first.child_id)),
            ("session", "upsert", session["id"]),
            ("session", "upsert", logged["id"]),
            ("alert", "upsert", alert["id"]),
            ("child", "access_granted", str(second.child_id)),
            ("pattern", "upsert", pattern["id"]),
            *[("session", "upsert", s["id"]) for s in pattern_sessions],
        ]
    )


def test_a_first_sync_names_each_record_once_and_carries_it_in_full(world):
    enrolment = world.child()
    session = world.session(enrolment, utc(2026, 11, 25, 10))
    world.edit_session(session, {"location_category": "school"}, version=1)
    pattern = world.pattern(enrolment, (4, "17:00"))
    world.concern(enrolment)

    changes = world.sync()["changes"]

    assert len(changes) == len({(change["type"], change["id"]) for change in changes})
    assert all(change["child_id"] == str(enrolment.child_id) for change in changes)
    child = only(changes, "child", enrolment.child_id)
    assert (child["child"]["id"], child["child"]["key_worker"]["id"], child["session"], child["pattern"]) == (
        str(enrolment.child_id),
        str(world.mentor.id),
        None,
        None,
    )
    synced_session = only(changes, "session", session["id"])
    assert (synced_session["op"], synced_session["session"]["location_category"]) == ("upsert", "school")
    assert synced_session["session"]["version"] == 2
    synced_pattern = only(changes, "pattern", pattern["id"])["pattern"]
    assert (synced_pattern["slots"], synced_pattern["ends_on"]) == ([{"weekday": 4, "start": "17:00"}], "2026-12-07")
    [alert_change] = [change for change in changes if change["type"] == "alert"]
    assert (alert_change["alert"]["detail"], alert_change["alert"]["acknowledged_at"]) == (CONCERN, None)
    # The child's grant comes before the records that belong to it.
    assert changes.index(child) < changes.index(synced_session)


def test_a_first_sync_of_a_child_edited_after_allocation_still_grants_access(world):
    enrolment = world.child()
    world.call(
        "PATCH", f"/children/{enrolment.child_id}", json={"school": "Hilltop Academy"}, by=world.coordinator, status=200
    )

    changes = world.sync()["changes"]

    child = only(changes, "child", enrolment.child_id)
    assert (child["op"], child["child"]["school"]) == ("access_granted", "Hilltop Academy")


def test_a_mentor_with_no_children_gets_nothing(world):
    world.child(mentor=world.other_mentor)

    page = world.sync()

    assert (page["changes"], page["has_more"]) == ([], False)


# --- later syncs --------------------------------------------------------------------------------------------


def test_a_second_sync_with_the_cursor_gives_nothing_new(world):
    enrolment = world.child()
    world.session(enrolment, utc(2026, 11, 25, 10))
    first = world.sync()

    second = world.sync(cursor=first["cursor"])

    assert (second["changes"], second["has_more"], second["cursor"]) == ([], False, first["cursor"])


def test_a_child_edited_by_the_coordinator_comes_back_once_in_its_current_state(world):
    enrolment = world.child()
    cursor = world.sync()["cursor"]
    path = f"/children/{enrolment.child_id}"
    world.call("PATCH", path, json={"school": "Old School"}, by=world.coordinator, status=200)
    world.call("PATCH", path, json={"school": "Hilltop Academy"}, by=world.coordinator, status=200)

    changes = world.sync(cursor=cursor)["changes"]

    assert keys(changes) == [("child", "upsert", str(enrolment.child_id))]
    assert changes[0]["child"]["school"] == "Hilltop Academy"


def test_a_new_session_comes_back_alone(world):
    enrolment = world.child()
    world.session(enrolment, utc(2026, 11, 25, 10))
    cursor = world.sync()["cursor"]

    session = world.session(enrolment, utc(2026, 11, 26, 10))
    changes = world.sync(cursor=cursor)["changes"]

    assert keys(changes) == [("session", "upsert", session["id"])]
    assert changes[0]["session"]["planned_start_at"] == "2026-11-26T10:00:00+00:00"


def test_a_session_edited_twice_comes_back_once_as_it_is_now(world):
    enrolment = world.child()
    session = world.session(enrolment, utc(2026, 11, 23, 10))
    cursor = world.sync()["cursor"]

    world.edit_session(session, {"location_category": "school"}, version=1)
    world.edit_session(session, {"status": "completed", "notes": "Went well."}, version=2)
    changes = world.sync(cursor=cursor)["changes"]

    assert keys(changes) == [("session", "upsert", session["id"])]
    synced = changes[0]["session"]
    assert (synced["status"], synced["location_category"], synced["notes"], synced["version"]) == (
        "completed",
        "school",
        "Went well.",
        3,
    )


def test_an_alert_and_its_acknowledgement_reach_the_mentors_phone(world):
    enrolment = world.child()
    cursor = world.sync()["cursor"]
    logged = world.concern(enrolment)
    [alert] = world.call("GET", "/alerts", by=world.coordinator, status=200).json

    raised = world.sync(cursor=cursor)
    world.clock.advance(minutes=20)
    world.call(
        "POST", f"/alerts/{alert['id']}/acknowledge", json={"note": "Called the DSL."}, by=world.coordinator, status=200
    )
    acknowledged = world.sync(cursor=raised["cursor"])

    assert sorted(keys(raised["changes"])) == sorted(
        [("session", "upsert", logged["id"]), ("alert", "upsert", alert["id"])]
    )
    assert keys(acknowledged["changes"]) == [("alert", "upsert", alert["id"])]
    assert acknowledged["changes"][0]["alert"]["acknowledged_at"] == (DEFAULT_NOW + timedelta(minutes=20)).isoformat()


def test_sessions_removed_by_changing_a_pattern_come_back_as_deletes(world):
    enrolment = world.child()
    pattern = world.pattern(enrolment, (2, "18:00"))
    tuesdays = world.sessions_of(enrolment)
    cursor = world.sync()["cursor"]

    changed = world.change_pattern(pattern, (4, "18:00"))
    changes = world.sync(cursor=cursor)["changes"]

    thursdays = world.sessions_of(enrolment)
    assert changed["sessions_removed"] == 2
    assert [s["planned_start_at"] for s in thursdays] == ["2026-11-26T18:00:00+00:00", "2026-12-03T18:00:00+00:00"]
    assert sorted(keys(changes)) == sorted(
        [("session", "delete", s["id"]) for s in tuesdays]
        + [("session", "upsert", s["id"]) for s in thursdays]
        + [("pattern", "upsert", pattern["id"])]
    )
    assert all(change["session"] is None for change in changes if change["op"] == "delete")
    assert only(changes, "pattern", pattern["id"])["pattern"]["version"] == 2


def test_a_session_created_and_removed_between_two_syncs_comes_back_only_as_a_delete(world):
    enrolment = world.child()
    cursor = world.sync()["cursor"]
    pattern = world.pattern(enrolment, (2, "18:00"))
    tuesdays = world.sessions_of(enrolment)

    world.call("POST", f"/patterns/{pattern['id']}/end", extra={"If-Match": '"1"'}, status=200)
    changes = world.sync(cursor=cursor)["changes"]

    assert sorted(keys(changes)) == sorted(
        [("session", "delete", s["id"]) for s in tuesdays] + [("pattern", "upsert", pattern["id"])]
    )


# --- gaining and losing children ----------------------------------------------------------------------------


def test_reallocation_revokes_the_first_mentors_access_and_grants_the_new_mentor_everything(world):
    enrolment = world.child()
    session = world.session(enrolment, utc(2026, 11, 25, 10))
    pattern = world.pattern(enrolment, (4, "18:00"))
    logged = world.concern(enrolment)
    [alert] = world.call("GET", "/alerts", by=world.coordinator, status=200).json
    cursor = world.sync()["cursor"]
    everything_before = world.sessions_of(enrolment)

    world.reallocate(enrolment, world.other_mentor)
    lost = world.sync(cursor=cursor)
    gained = world.sync(world.other_mentor)

    assert keys(lost["changes"]) == [("child", "access_revoked", str(enrolment.child_id))]
    assert (lost["changes"][0]["child_id"], lost["changes"][0]["child"]) == (str(enrolment.child_id), None)
    assert {s["id"] for s in everything_before} >= {session["id"], logged["id"]}
    assert sorted(keys(gained["changes"])) == sorted(
        [("child", "access_granted", str(enrolment.child_id))]
        + [("session", "upsert", s["id"]) for s in everything_before]
        + [("pattern", "upsert", pattern["id"]), ("alert", "upsert", alert["id"])]
    )
    granted = only(gained["changes"], "child", enrolment.child_id)
    assert granted["child"]["key_worker"]["id"] == str(world.other_mentor.id)


def test_after_losing_a_child_the_mentor_gets_none_of_its_changes(world):
    enrolment = world.child()
    cursor = world.sync()["cursor"]
    world.reallocate(enrolment, world.other_mentor)
    cursor = world.sync(cursor=cursor)["cursor"]

    world.session(enrolment, utc(2026, 11, 25, 10), by=world.other_mentor)
    world.call(
        "PATCH", f"/children/{enrolment.child_id}", json={"school": "Hilltop Academy"}, by=world.coordinator, status=200
    )

    assert world.sync(cursor=cursor)["changes"] == []


def test_a_mentor_who_lost_a_child_before_ever_syncing_is_not_sent_the_childs_records(world):
    enrolment = world.child()
    world.session(enrolment, utc(2026, 11, 25, 10))
    world.reallocate(enrolment, world.other_mentor)

    changes = world.sync()["changes"]

    assert keys(changes) == [("child", "access_revoked", str(enrolment.child_id))]
    assert all(record_of(change) is None for change in changes)


def test_a_child_reallocated_away_and_back_is_revoked_then_granted_again(world):
    enrolment = world.child()
    session = world.session(enrolment, utc(2026, 11, 25, 10))
    cursor = world.sync()["cursor"]

    world.reallocate(enrolment, world.other_mentor)
    world.reallocate(enrolment, world.mentor)
    changes = world.sync(cursor=cursor)["changes"]

    assert keys(changes) == [
        ("child", "access_revoked", str(enrolment.child_id)),
        ("child", "access_granted", str(enrolment.child_id)),
        ("session", "upsert", session["id"]),
    ]


def test_ending_the_enrolment_revokes_the_mentors_access(world):
    enrolment = world.child()
    cursor = world.sync()["cursor"]

    world.call(
        "POST",
        f"/enrolments/{enrolment.id}/end",
        json={"reason": "completed", "note": "Goals met."},
        by=world.coordinator,
        status=200,
    )
    changes = world.sync(cursor=cursor)["changes"]

    assert keys(changes) == [("child", "access_revoked", str(enrolment.child_id))]


# --- coordinators -------------------------------------------------------------------------------------------


def test_a_coordinators_sync_covers_their_programmes_children_with_no_access_events(world):
    first = world.child()
    unallocated = admit_child(world.db_session, cohort=world.cohort, by=world.coordinator, now=world.clock.now())
    session = world.session(first, utc(2026, 11, 25, 10))
    elsewhere = World(world.db_session, world.client, world.clock)
    elsewhere.child()

    page = world.sync(world.coordinator)

    assert Counter(change["op"] for change in page["changes"]) == Counter({"upsert": 3})
    assert sorted(keys(page["changes"])) == sorted(
        [
            ("child", "upsert", str(first.child_id)),
            ("child", "upsert", str(unallocated.child_id)),
            ("session", "upsert", session["id"]),
        ]
    )


def test_a_coordinators_later_sync_has_no_access_events_when_children_change_hands(world):
    enrolment = world.child()
    cursor = world.sync(world.coordinator)["cursor"]

    world.reallocate(enrolment, world.other_mentor)
    session = world.session(enrolment, utc(2026, 11, 25, 10), by=world.other_mentor)
    changes = world.sync(world.coordinator, cursor=cursor)["changes"]

    # The child comes back as a plain upsert (its key worker changed); access events are for mentors only.
    assert keys(changes) == [("child", "upsert", str(enrolment.child_id)), ("session", "upsert", session["id"])]


def test_a_coordinators_sync_shows_the_childs_new_key_worker_after_reallocation(world):
    enrolment = world.child()
    cursor = world.sync(world.coordinator)["cursor"]

    world.reallocate(enrolment, world.other_mentor)
    changes = world.sync(world.coordinator, cursor=cursor)["changes"]

    child = only(changes, "child", enrolment.child_id)
    assert child["child"]["key_worker"]["id"] == str(world.other_mentor.id)


# --- notes --------------------------------------------------------------------------------------------------


def test_a_mentor_syncs_the_notes_of_sessions_they_lead(world):
    enrolment = world.child()
    session = world.session(enrolment, utc(2026, 11, 23, 10), status="completed", notes="Talked about school.")

    changes = world.sync()["changes"]

    assert only(changes, "session", session["id"])["session"]["notes"] == "Talked about school."


def test_the_notes_of_a_session_another_mentor_led_are_null_in_a_mentors_sync(world):
    enrolment = world.child()
    led_by_other = world.session(
        enrolment,
        utc(2026, 11, 23, 10),
        by=world.coordinator,
        mentor_id=str(world.other_mentor.id),
        status="completed",
        notes="Private notes of the other mentor.",
    )

    changes = world.sync()["changes"]
    coordinators = world.sync(world.coordinator)["changes"]

    synced = only(changes, "session", led_by_other["id"])["session"]
    assert (synced["mentor_id"], synced["notes"]) == (str(world.other_mentor.id), None)
    assert only(coordinators, "session", led_by_other["id"])["session"]["notes"] == "Private notes of the other mentor."


def test_a_new_key_worker_does_not_see_the_notes_of_the_previous_mentors_sessions(world):
    enrolment = world.child()
    session = world.session(enrolment, utc(2026, 11, 23, 10), status="completed", notes="First mentor's notes.")
    world.reallocate(enrolment, world.other_mentor)

    changes = world.sync(world.other_mentor)["changes"]

    assert only(changes, "session", session["id"])["session"]["notes"] is None


# --- paging -------------------------------------------------------------------------------------------------


def test_paging_gives_every_change_and_the_last_page_says_there_is_no_more(world):
    children = [admit_child(world.db_session, cohort=world.cohort, by=world.coordinator) for _ in range(5)]
    allocated = world.child()
    sessions = [world.session(allocated, utc(2026, 11, 24 + day, 10)) for day in range(3)]
    expected = [("child", "upsert", str(e.child_id)) for e in [*children, allocated]] + [
        ("session", "upsert", s["id"]) for s in sessions
    ]

    everything = world.sync_everything(world.coordinator, limit=2)

    pages = everything["pages"]
    assert len(pages) >= 4
    assert [page["has_more"] for page in pages] == [True] * (len(pages) - 1) + [False]
    # A record changed again after its page went can come back on a later page; each arrives at least once.
    paged = {key for page in pages for key in keys(page["changes"])}
    assert sorted(paged) == sorted(expected)
    assert all(len(page["changes"]) <= 2 for page in pages)
    assert world.sync(world.coordinator, cursor=everything["cursor"])["changes"] == []


def applied(pages: list[dict]) -> dict[tuple[str, str], str]:
    """What a phone holds after applying the pages in order: each record's last op (forgotten when revoked).
    A grant and an upsert both mean "hold this record", as they do to the phone."""
    held: dict[tuple[str, str], tuple[str, str]] = {}
    for page in pages:
        for change in page["changes"]:
            if change["op"] == "access_revoked":
                held = {key: value for key, value in held.items() if value[1] != change["child_id"]}
            else:
                op = "upsert" if change["op"] == "access_granted" else change["op"]
                held[(change["type"], change["id"])] = (op, change["child_id"])
    return {key: op for key, (op, _) in held.items()}


def test_a_mentor_paging_through_a_first_sync_ends_up_with_what_one_big_page_gives(world):
    enrolments = [world.child() for _ in range(4)]
    sessions = [world.session(enrolment, utc(2026, 11, 25, 10)) for enrolment in enrolments]
    whole = world.sync()

    pages = world.sync_everything(limit=1)["pages"]

    assert pages[-1]["has_more"] is False and all(page["has_more"] for page in pages[:-1])
    assert all(len({(c["type"], c["id"]) for c in page["changes"]}) == len(page["changes"]) for page in pages)
    assert applied(pages) == applied([whole])
    assert [change["op"] for change in whole["changes"] if change["type"] == "child"] == ["access_granted"] * 4
    assert applied([whole]) == {("child", str(e.child_id)): "upsert" for e in enrolments} | {
        ("session", s["id"]): "upsert" for s in sessions
    }


def test_a_change_made_between_pages_is_served_on_a_later_page(world):
    enrolment = world.child()
    world.session(enrolment, utc(2026, 11, 25, 10))
    first = world.sync(limit=1)

    late = world.session(enrolment, utc(2026, 11, 26, 10))
    rest = world.sync_everything(cursor=first["cursor"], limit=1)

    assert ("session", "upsert", late["id"]) in {key for page in rest["pages"] for key in keys(page["changes"])}


# --- each record once ---------------------------------------------------------------------------------------
#
# Paging from any cursor with any limit, when nothing changes between pages, delivers each record exactly once
# (a gained child's records included) and each lost child's removal once, in pages of at most `limit` changes.

LIMITS = (1, 2, 5, None)  # None: the default page size
DEFAULT_LIMIT = 200


def page_through(world: World, user: AppUser | None = None, *, cursor: str | None, limit: int | None) -> list[dict]:
    """Every page from the cursor until has_more is false, each checked to hold at most `limit` changes."""
    pages = []
    while True:
        page = world.sync(user, cursor=cursor, limit=limit)
        assert len(page["changes"]) <= (limit or DEFAULT_LIMIT), f"limit={limit}: a page of {len(page['changes'])}"
        pages.append(page)
        cursor = page["cursor"]
        if not page["has_more"]:
            return pages


def deliveries(pages: list[dict]) -> Counter:
    """How many times each record was sent; a child's removal counts apart from the child."""
    return Counter(
        ("removal" if change["op"] == "access_revoked" else change["type"], change["id"])
        for page in pages
        for change in page["changes"]
    )


def holds(pages: list[dict]) -> set[tuple[str, str]]:
    """The records a phone holds after applying the pages in order."""
    return {key for key, op in applied(pages).items() if op == "upsert"}


def assert_each_record_once(
    world: World, expected: set[tuple[str, Any]], *, user: AppUser | None = None, cursor: str | None = None
) -> None:
    expected = {(kind, str(id_)) for kind, id_ in expected}
    for limit in LIMITS:
        pages = page_through(world, user, cursor=cursor, limit=limit)

        sent = deliveries(pages)
        assert sent == Counter(expected), (
            f"limit={limit}: twice or more {sorted(k for k, n in sent.items() if n > 1)}, "
            f"missing {sorted(expected - set(sent))}, unexpected {sorted(set(sent) - expected)}"
        )
        assert world.sync(user, cursor=pages[-1]["cursor"])["changes"] == [], f"limit={limit}"


def records_of(world: World, *enrolments: Enrolment) -> set[tuple[str, Any]]:
    """Each child and its sessions, patterns and alerts, as the coordinator lists them."""
    children = {str(enrolment.child_id) for enrolment in enrolments}
    alerts = world.call("GET", "/alerts", by=world.coordinator, status=200).json
    patterns = [
        pattern
        for enrolment in enrolments
        for pattern in world.call("GET", f"/enrolments/{enrolment.id}/patterns", by=world.coordinator, status=200).json
    ]
    return (
        {("child", child_id) for child_id in children}
        | {("session", s["id"]) for enrolment in enrolments for s in world.sessions_of(enrolment)}
        | {("pattern", pattern["id"]) for pattern in patterns}
        | {("alert", alert["id"]) for alert in alerts if alert["child_id"] in children}
    )


def wellbeing_of(world: World, enrolment: Enrolment, *, by: AppUser | None = None) -> set[tuple[str, Any]]:
    """A check-in (ONS4) and a goal for the child, recorded by their mentor."""
    path = f"/children/{enrolment.child_id}"
    answers = {"life_satisfaction": 6, "worthwhile": 7, "happy_yesterday": 6, "anxious_yesterday": 4}
    check_in = world.call(
        "POST", f"{path}/check-ins", json={"instrument": "ons4", "answers": answers}, by=by, status=201
    )
    goal = world.call("POST", f"{path}/goals", json={"description": "Go back to football"}, by=by, status=201)
    return {("check_in", check_in.json["id"]), ("goal", goal.json["id"])}


def missing_episode(world: World, enrolment: Enrolment, *, by: AppUser | None = None) -> tuple[str, Any]:
    body = {"reported_at": "2026-11-22T21:15:00+00:00", "source": "police"}
    episode = world.call("POST", f"/children/{enrolment.child_id}/missing-episodes", json=body, by=by, status=201)
    return ("missing_episode", episode.json["id"])


def test_a_first_sync_sends_each_record_once_whatever_the_page_size(world):
    first, second = world.child(), world.child()
    session = world.session(first, utc(2026, 11, 25, 10))
    world.edit_session(session, {"location_category": "school"}, version=1)
    world.edit_session(session, {"location_category": "outdoors"}, version=2)
    pattern = world.pattern(first, (2, "18:00"))
    world.change_pattern(pattern, (4, "18:00"))  # removes two Tuesdays, plans two Thursdays
    world.concern(first)
    world.session(second, utc(2026, 11, 26, 10))
    world.call(
        "PATCH", f"/children/{second.child_id}", json={"school": "Hilltop Academy"}, by=world.coordinator, status=200
    )
    together = world.session(first, utc(2026, 12, 1, 16), kind="group", enrolment_ids=[str(first.id), str(second.id)])
    wellbeing = wellbeing_of(world, first)
    episode = missing_episode(world, second)
    # A child who came with a history under another mentor, and one the mentor lost before ever syncing.
    gained = world.child(mentor=world.other_mentor)
    world.session(gained, utc(2026, 11, 24, 10), by=world.other_mentor)
    world.reallocate(gained, world.mentor)
    lost = world.child()
    world.session(lost, utc(2026, 11, 24, 12))
    world.reallocate(lost, world.other_mentor)
    someone_elses = world.child(mentor=world.other_mentor)
    world.session(someone_elses, utc(2026, 11, 25, 12), by=world.other_mentor)
    assert together["id"] in {s["id"] for s in world.sessions_of(first)}

    assert_each_record_once(
        world,
        records_of(world, first, second, gained) | wellbeing | {episode, ("removal", lost.child_id)},
    )


def test_a_group_session_of_two_of_the_mentors_children_is_sent_once(world):
    first, second = world.child(), world.child()
    group = world.session(first, utc(2026, 11, 25, 16), kind="group", enrolment_ids=[str(first.id), str(second.id)])
    cursor = world.sync()["cursor"]
    world.edit_session(group, {"location_category": "school"}, version=1)
    world.session(second, utc(2026, 11, 26, 16))

    assert_each_record_once(world, records_of(world, first, second))
    # Since the cursor: the group session (edited) and the new session, which are all of the second's sessions.
    assert_each_record_once(world, {("session", s["id"]) for s in world.sessions_of(second)}, cursor=cursor)


def test_a_gained_child_comes_once_with_each_of_its_records_and_a_lost_one_goes_once(world):
    enrolment = world.child(mentor=world.other_mentor)
    world.session(enrolment, utc(2026, 11, 24, 10), by=world.other_mentor)
    pattern = world.call(
        "POST",
        f"/enrolments/{enrolment.id}/patterns",
        json={"slots": [{"weekday": 4, "start": "18:00"}], "duration_minutes": 60, "location_category": "home"},
        by=world.other_mentor,
        status=201,
    ).json
    world.session(
        enrolment, utc(2026, 11, 23, 10), by=world.other_mentor, status="completed", safeguarding_concern=CONCERN
    )
    wellbeing = wellbeing_of(world, enrolment, by=world.other_mentor)
    episode = missing_episode(world, enrolment, by=world.other_mentor)
    mine = world.child()
    world.session(mine, utc(2026, 11, 25, 10))
    new_mentors = world.sync()["cursor"]
    old_mentors = world.sync(world.other_mentor)["cursor"]

    world.reallocate(enrolment, world.mentor)
    # Changes after the reallocation, before either phone syncs: the gained child's record covers them.
    world.call(
        "PATCH", f"/children/{enrolment.child_id}", json={"school": "Hilltop Academy"}, by=world.coordinator, status=200
    )
    world.change_pattern(pattern, (2, "18:00"))
    world.session(enrolment, utc(2026, 12, 2, 10))

    assert_each_record_once(world, records_of(world, enrolment) | wellbeing | {episode}, cursor=new_mentors)
    assert_each_record_once(world, {("removal", enrolment.child_id)}, user=world.other_mentor, cursor=old_mentors)
    # The child comes first, as a grant, then its records.
    for limit in LIMITS:
        changes = [
            change for page in page_through(world, cursor=new_mentors, limit=limit) for change in page["changes"]
        ]
        assert (changes[0]["type"], changes[0]["op"], changes[0]["id"]) == (
            "child",
            "access_granted",
            str(enrolment.child_id),
        )
        assert changes[0]["child"]["school"] == "Hilltop Academy"


def test_from_any_earlier_cursor_paging_sends_each_record_once_and_ends_in_the_same_state(world):
    first, second, leaving = world.child(), world.child(), world.child()
    session = world.session(first, utc(2026, 11, 25, 10))
    history = [world.sync_everything()]
    # Edits of what the phone holds, new records, removed sessions.
    world.edit_session(session, {"location_category": "school"}, version=1)
    world.edit_session(session, {"location_category": "outdoors"}, version=2)
    pattern = world.pattern(second, (2, "18:00"))
    world.change_pattern(pattern, (4, "18:00"))
    history.append(world.sync_everything(cursor=history[-1]["cursor"]))
    # A child gained with a history, a child lost, the child edited twice, a concern.
    gained = world.child(mentor=world.other_mentor)
    world.session(gained, utc(2026, 11, 24, 10), by=world.other_mentor)
    world.reallocate(gained, world.mentor)
    world.reallocate(leaving, world.other_mentor)
    for school in ("Old School", "Hilltop Academy"):
        world.call("PATCH", f"/children/{first.child_id}", json={"school": school}, by=world.coordinator, status=200)
    world.concern(second)
    history.append(world.sync_everything(cursor=history[-1]["cursor"]))
    everything = records_of(world, first, second, gained)
    assert holds([page for step in history for page in step["pages"]]) == {(kind, str(id_)) for kind, id_ in everything}

    for step in range(len(history)):
        held_before = [page for earlier in history[:step] for page in earlier["pages"]]
        cursor = history[step - 1]["cursor"] if step else None
        for limit in LIMITS:
            pages = page_through(world, cursor=cursor, limit=limit)

            sent = deliveries(pages)
            assert max(sent.values()) == 1, f"from step {step}, limit={limit}: {sent.most_common(3)}"
            # The same records as one big page from there, and the phone ends up holding everything.
            assert set(sent) == set(deliveries(page_through(world, cursor=cursor, limit=500))), f"step {step}"
            everything_held = {(kind, str(id_)) for kind, id_ in everything}
            assert holds(held_before + pages) == everything_held, f"from step {step}, limit={limit}"


def test_a_change_made_between_two_pages_is_still_delivered_whatever_the_page_size(world):
    enrolment = world.child()
    session = world.session(enrolment, utc(2026, 11, 25, 10))
    for day in (26, 27):
        world.session(enrolment, utc(2026, 11, day, 10))
    version = 1
    for n, limit in enumerate((1, 2, 5)):
        first = world.sync(limit=limit)
        assert first["has_more"]

        place = ("school", "outdoors", "online")[n]
        version = world.edit_session(session, {"location_category": place}, version=version)["version"]
        late = world.session(enrolment, utc(2026, 12, 1 + n, 10))
        school = f"School {n}"
        world.call(
            "PATCH", f"/children/{enrolment.child_id}", json={"school": school}, by=world.coordinator, status=200
        )
        pages = [first, *page_through(world, cursor=first["cursor"], limit=limit)]

        last_sent = {(c["type"], c["id"]): c for page in pages for c in page["changes"]}
        assert ("session", late["id"]) in last_sent, f"limit={limit}"
        assert last_sent[("session", session["id"])]["session"]["location_category"] == place, f"limit={limit}"
        assert last_sent[("child", str(enrolment.child_id))]["child"]["school"] == school, f"limit={limit}"


def statements_of_a_first_sync(world: World, mentor: AppUser) -> tuple[int, int]:
    """The SQL statements the app runs for the mentor's first page, and the changes on it."""
    engine = world.client.application.extensions["reachable.db"].engine
    statements: list[str] = []

    def count(_connection: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        statements.append(statement)

    world.settle()
    event.listen(engine, "before_cursor_execute", count)
    try:
        page = world.client.get("/sync", headers=world.headers(mentor)).json
    finally:
        event.remove(engine, "before_cursor_execute", count)
    return len(statements), len(page["changes"])


def test_a_page_costs_the_same_statements_however_many_children_and_records_it_carries(world):
    few, many = world.mentor, world.other_mentor
    for mentor, children in ((few, 2), (many, 6)):
        for _ in range(children):
            enrolment = world.child(mentor=mentor)
            world.session(enrolment, utc(2026, 11, 25, 10), by=mentor)
            world.session(enrolment, utc(2026, 11, 23, 10), by=mentor, status="completed", safeguarding_concern=CONCERN)
            wellbeing_of(world, enrolment, by=mentor)
            missing_episode(world, enrolment, by=mentor)

    (few_statements, few_changes), (many_statements, many_changes) = (
        statements_of_a_first_sync(world, few),
        statements_of_a_first_sync(world, many),
    )

    # Per child: 7 records, and the child_missing alert the episode (the child still missing) raised.
    assert (few_changes, many_changes) == (2 * 8, 6 * 8)
    assert many_statements == few_statements


class Caseload:
    """A random history for the property below: a mentor's children gained, lost, edited, with sessions, patterns,
    concerns, check-ins and goals, as the API makes them (a refusal, such as the weekly cap, is just a no-op)."""

    def __init__(self, world: World):
        self.world = world
        self.enrolments: list[Enrolment] = []
        self.sessions: list[str] = []

    def call(self, method: str, path: str, *, if_match: str | None = None, **kwargs: Any) -> Any:
        """As the coordinator, unchecked."""
        extra = {"If-Match": if_match} if if_match else {}
        return self.world.client.open(
            path, method=method, headers=self.world.headers(self.world.coordinator, **extra), **kwargs
        )

    def do(self, action: str, n: int) -> None:
        world = self.world
        if action == "child" or not self.enrolments:
            self.enrolments.append(world.child(mentor=world.mentor if n % 3 else world.other_mentor))
            return
        enrolment = self.enrolments[n % len(self.enrolments)]
        path = f"/children/{enrolment.child_id}"
        if action == "session":
            start = utc(2026, 11, 23, 9) + timedelta(days=n % 14, hours=n % 10)
            end = (start + timedelta(hours=1)).isoformat()
            start = start.isoformat()
            body = {"enrolment_ids": [str(enrolment.id)], "kind": "one_to_one", "location_category": "home"}
            created = self.call("POST", "/sessions", json=body | {"planned_start_at": start, "planned_end_at": end})
            if created.status_code == 201:
                self.sessions.append(created.json["id"])
        elif action == "edit session" and self.sessions:
            session = self.call("GET", f"/sessions/{self.sessions[n % len(self.sessions)]}")
            if session.status_code == 200:
                place = ("school", "outdoors", "online")[n % 3]
                path = f"/sessions/{session.json['id']}"
                self.call("PATCH", path, json={"location_category": place}, if_match=session.headers["ETag"])
        elif action == "reallocate":
            current = self.call("GET", path).json["key_worker"]
            mentor = world.other_mentor if current and current["id"] == str(world.mentor.id) else world.mentor
            self.call("PUT", f"/enrolments/{enrolment.id}/allocation", json={"mentor_id": str(mentor.id)})
        elif action == "edit child":
            self.call("PATCH", path, json={"school": f"School {n}"})
        elif action == "pattern":
            slots = [{"weekday": 1 + n % 5, "start": "18:00"}]
            body = {"slots": slots, "duration_minutes": 60, "location_category": "home"}
            patterns = self.call("GET", f"/enrolments/{enrolment.id}/patterns").json
            if patterns:
                pattern = patterns[0]
                self.call("PUT", f"/patterns/{pattern['id']}", json=body, if_match=f'"{pattern["version"]}"')
            else:
                self.call("POST", f"/enrolments/{enrolment.id}/patterns", json=body)
        elif action == "concern":
            start = utc(2026, 11, 23, 8 + n % 6).isoformat()
            end = utc(2026, 11, 23, 9 + n % 6).isoformat()
            body = {"enrolment_ids": [str(enrolment.id)], "kind": "one_to_one", "location_category": "home"}
            body |= {"planned_start_at": start, "planned_end_at": end, "status": "completed"}
            self.call("POST", "/sessions", json=body | {"safeguarding_concern": CONCERN})
        elif action == "check-in":
            answers = {"life_satisfaction": n % 11, "worthwhile": 5, "happy_yesterday": 5, "anxious_yesterday": 5}
            self.call("POST", f"{path}/check-ins", json={"instrument": "ons4", "answers": answers})
        elif action == "goal":
            self.call("POST", f"{path}/goals", json={"description": f"Goal {n}"})

    def truth(self) -> set[tuple[str, str]]:
        """Everything the mentor's phone should hold now."""
        mine = [
            enrolment
            for enrolment in self.enrolments
            if (self.call("GET", f"/children/{enrolment.child_id}").json["key_worker"] or {}).get("id")
            == str(self.world.mentor.id)
        ]
        held = {(kind, str(id_)) for kind, id_ in records_of(self.world, *mine)}
        for enrolment in mine:
            path = f"/children/{enrolment.child_id}"
            held |= {("check_in", c["id"]) for c in self.call("GET", f"{path}/check-ins?page_size=100").json}
            held |= {("goal", g["id"]) for g in self.call("GET", f"{path}/goals").json}
        return held


ACTIONS = ["child", "session", "edit session", "reallocate", "edit child", "pattern", "concern", "check-in", "goal"]


@settings(
    max_examples=8,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
    # Every example drives the API against a real database: shrinking a failure would take many minutes, and the
    # drawn steps printed with it say what happened.
    phases=[Phase.explicit, Phase.reuse, Phase.generate],
)
@given(data=st.data())
def test_property_any_history_paged_from_any_cursor_with_any_limit_sends_each_record_once(world, data):
    """A phone syncs now and then through a random history, sometimes while it changes. Each pass over an
    unchanging history sends each record at most once, the same records as one big page, in pages of at most
    `limit`; and the phone ends up holding exactly what the mentor's caseload holds."""
    caseload = Caseload(World(world.db_session, world.client, world.clock))
    world = caseload.world
    phone: list[dict] = []
    cursor = None
    for step in range(data.draw(st.integers(3, 6), label="syncs")):
        for n in data.draw(st.lists(st.integers(0, 1000), min_size=1, max_size=5), label=f"changes {step}"):
            caseload.do(data.draw(st.sampled_from(ACTIONS)), n)
        limit = data.draw(st.sampled_from([1, 2, 3, 5, None]), label=f"limit {step}")
        if data.draw(st.booleans(), label=f"changes while paging {step}"):
            # A change between two pages: delivered, maybe twice (only the end state is checked).
            first = world.sync(cursor=cursor, limit=limit)
            caseload.do(data.draw(st.sampled_from(ACTIONS)), step)
            pages = (
                [first] if not first["has_more"] else [first, *page_through(world, cursor=first["cursor"], limit=limit)]
            )
        else:
            whole = page_through(world, cursor=cursor, limit=500)
            pages = page_through(world, cursor=cursor, limit=limit)
            sent = deliveries(pages)
            assert not sent or max(sent.values()) == 1, f"limit={limit}: {sent.most_common(2)}"
            assert sent == deliveries(whole), f"limit={limit}"
        phone += pages
        cursor = pages[-1]["cursor"]
    phone += page_through(world, cursor=cursor, limit=data.draw(st.sampled_from([1, 5, None]), label="last limit"))

    assert holds(phone) == caseload.truth()


# --- refusals -----------------------------------------------------------------------------------------------


@pytest.mark.parametrize("cursor", ["abc", "12", "1.2.3", "1.x", ".5", "1.", " 1.2"])
def test_a_malformed_cursor_is_refused(world, cursor):
    response = world.client.get("/sync", query_string={"cursor": cursor}, headers=world.headers())

    assert error(response) == (422, "invalid_request")
    assert "cursor" in response.json["errors"]


def test_a_cursor_too_large_for_a_change_id_is_refused_not_a_server_error(world):
    world.child()

    response = world.client.get("/sync", query_string={"cursor": "99999999999999999999.1"}, headers=world.headers())

    assert error(response) == (422, "invalid_request")


@pytest.mark.parametrize("limit", [0, 501, -1])
def test_a_page_size_out_of_range_is_refused(world, limit):
    response = world.client.get("/sync", query_string={"limit": limit}, headers=world.headers())

    assert error(response) == (422, "invalid_request")
    assert "limit" in response.json["errors"]


def test_commissioners_may_not_sync(world):
    world.child()
    commissioner = make_user(world.db_session, Role.COMMISSIONER, programme=world.programme)

    response = world.client.get("/sync", headers=world.headers(commissioner))

    assert error(response) == (403, "forbidden")


def test_sync_needs_a_signed_in_caller(world):
    assert world.client.get("/sync").status_code == 401


# --- audit --------------------------------------------------------------------------------------------------


def sync_reads(db_session: Session) -> list[tuple[Any, ...]]:
    db_session.expire_all()
    rows = db_session.execute(
        select(
            AuditEvent.actor_user_id,
            AuditEvent.actor_role,
            AuditEvent.record_type,
            AuditEvent.record_id,
            AuditEvent.child_id,
            AuditEvent.occurred_at,
        ).where(AuditEvent.action == "sync.read")
    ).all()
    db_session.commit()
    return sorted(tuple(row) for row in rows)


def test_every_sync_read_is_audited_once_per_child_it_carried(world):
    first, second = world.child(), world.child()
    world.session(first, utc(2026, 11, 25, 10))
    world.session(first, utc(2026, 11, 26, 10))
    world.clock.advance(minutes=7)

    world.sync()

    at = DEFAULT_NOW + timedelta(minutes=7)
    assert sync_reads(world.db_session) == sorted(
        (world.mentor.id, Role.MENTOR, "child", child_id, child_id, at)
        for child_id in (first.child_id, second.child_id)
    )


def test_a_later_sync_is_audited_for_the_child_whose_records_it_carried(world):
    first, second = world.child(), world.child()
    cursor = world.sync()["cursor"]
    before = sync_reads(world.db_session)
    world.clock.advance(minutes=1)

    world.session(second, utc(2026, 11, 25, 10))
    world.sync(cursor=cursor)

    after = sync_reads(world.db_session)
    new = [row for row in after if row not in before]
    assert new == [(world.mentor.id, Role.MENTOR, "child", second.child_id, second.child_id, world.clock.now())]
    assert first.child_id not in {row[4] for row in new}


def test_a_sync_that_carries_nothing_or_only_a_revocation_reads_no_child(world):
    enrolment = world.child()
    cursor = world.sync()["cursor"]
    before = sync_reads(world.db_session)

    world.sync(cursor=cursor)
    world.reallocate(enrolment, world.other_mentor)
    world.sync(cursor=cursor)

    mine = [row for row in sync_reads(world.db_session) if row[0] == world.mentor.id]
    assert mine == [row for row in before if row[0] == world.mentor.id]
