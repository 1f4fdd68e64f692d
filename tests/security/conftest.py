"""A small committed world for the authorisation matrix (tests/security/test_authorisation_matrix.py).

Two programmes, A and B. Each has two cohorts, a coordinator, a commissioner and two mentors. Three
children have a full record each, one per *slot*:

- ``own``: programme A, allocated to mentor A1 (the mentor who calls);
- ``sibling``: programme A, allocated to mentor A2 (a colleague's caseload);
- ``foreign``: programme B, allocated to mentor B1.

Each slot's child has an active enrolment, a phone number, SMS consent, a planned session, a completed
session with a safeguarding concern (so an alert), a weekly pattern (so more planned sessions), a missing
episode (returned), an ONS4 check-in, a goal, a check-in invitation (so an outbound message) and an outcome
event; each slot also has a pending referral of a child not yet enrolled, and a child recorded but never
referred. ``refs(slot)`` names them by the OpenAPI path-parameter names (``child_id``, ``session_id`` ...)
so a path template formats straight from it. Every child's first name is one no other name contains, so the
leak check can look for names, references and phone numbers as well as ids.

The callers are admin, coordinator A, mentor A1 and commissioner A; every other user is signed in too, so a
write aimed at someone's sign-ins has something to damage. The world is built once per module
through the API itself (so it is what real use produces), committed; every test then runs inside a
transaction rolled back afterwards, so an allowed write changes nothing for the next test.

At the end, the fixtures the abuse and lock-out tests share: cheap password hashing (which they use for every
test) and an app of its own with small rate limits.
"""

from __future__ import annotations

import itertools
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import Connection, Engine, func, inspect, select, text
from sqlalchemy.orm import Session, sessionmaker

from api.accounts import signing_in
from api.accounts.models import AppUser
from api.actors import Role
from api.alerts.models import Alert
from api.app import create_app
from api.children.models import Child, PhoneNumber
from api.clock import FixedClock
from api.db import Database
from api.duty.models import DutyShift
from api.programmes.models import Cohort, Programme
from api.sessions.models import SessionAttendee
from tests.builders import admit_child, allocate, auth_headers, make_child, make_cohort, make_programme, make_user
from tests.builders import make_referral as build_referral
from tests.conftest import DEFAULT_NOW, test_config, throwaway_database
from tests.security.sign_in_attempts import CHEAP_HASHER, TIGHT_LIMITS

# Ids of the programme and its staff: what a slot shares with its programme rather than with its child.
PROGRAMME_LEVEL = frozenset({"programme_id", "cohort_id", "other_cohort_id", "user_id", "other_user_id", "shift_id"})
# Ofcom drama numbers for the coordinators' work mobiles.
_WORK_MOBILES = (f"+447700900{n:03d}" for n in itertools.cycle(range(900, 1000)))
ONS4 = {"life_satisfaction": 8, "worthwhile": 7, "happy_yesterday": 8, "anxious_yesterday": 2}


@dataclass
class Side:
    programme: Programme
    cohort: Cohort
    other_cohort: Cohort
    coordinator: AppUser
    commissioner: AppUser
    mentors: list[AppUser]


@dataclass
class AuthzWorld:
    admin: AppUser
    sides: dict[str, Side]
    # slot -> OpenAPI path-parameter name (and a few body references) -> id, as a string
    slot_refs: dict[str, dict[str, str]] = field(default_factory=dict)
    # slot -> every id of a child-level record of that slot (including sessions a pattern planned)
    slot_child_level_ids: dict[str, set[str]] = field(default_factory=dict)
    # slot -> reference, first name and phone numbers of its children only referred (or not even that)
    slot_referred_identifiers: dict[str, set[str]] = field(default_factory=dict)
    # ids of programme B's own records (programme, cohorts, staff)
    foreign_programme_ids: set[str] = field(default_factory=set)
    headers: dict[str, dict[str, str]] = field(default_factory=dict)

    def refs(self, slot: str) -> dict[str, str]:
        if slot == "missing":
            keys = self.slot_refs["own"].keys()
            return {key: str(uuid.uuid4()) for key in keys}
        return self.slot_refs[slot]

    def invisible_ids(self, role: str) -> set[str]:
        """Ids that must never appear in any answer to this role: what it may not see."""
        if role == "admin":
            return set()
        foreign = self.foreign_programme_ids | self.slot_child_level_ids["foreign"]
        foreign |= set(self.slot_refs["foreign"].values())
        if role == "coordinator":
            return foreign
        if role == "mentor":
            # Only the mentor's own caseload: not a colleague's child, nor a child only referred.
            return foreign | self.slot_child_level_ids["sibling"] | self.referred_ids("own")
        if role == "commissioner":
            return foreign | self.slot_child_level_ids["own"] | self.slot_child_level_ids["sibling"]
        return set()

    def referred_ids(self, slot: str) -> set[str]:
        refs = self.slot_refs[slot]
        identifiers = self.slot_referred_identifiers[slot]
        return {refs["referral_id"], refs["referral_child_id"], refs["unreferred_child_id"], *identifiers}


def _ok(response: Any, status: int = 201) -> dict[str, Any]:
    assert response.status_code == status, (response.status_code, response.json)
    return response.json


def _build_side(db_session: Session) -> Side:
    programme = make_programme(db_session)
    # With a work mobile, so the coordinator can be put on the programme's duty rota.
    coordinator = make_user(db_session, Role.COORDINATOR, programme=programme, mobile_e164=next(_WORK_MOBILES))
    return Side(
        programme=programme,
        cohort=make_cohort(db_session, programme=programme, places=10),
        other_cohort=make_cohort(db_session, programme=programme, places=10),
        coordinator=coordinator,
        commissioner=make_user(db_session, Role.COMMISSIONER, programme=programme),
        mentors=[make_user(db_session, Role.MENTOR, programme=programme) for _ in range(2)],
    )


def _build_slot(
    client: FlaskClient, db_session: Session, side: Side, mentor: AppUser, other_mentor: AppUser
) -> tuple[dict[str, str], set[str], set[str]]:
    """One child with one of every record, created through the API by the programme's coordinator."""
    headers = auth_headers(db_session, side.coordinator)
    enrolment = admit_child(db_session, cohort=side.cohort, by=side.coordinator, now=DEFAULT_NOW - timedelta(days=60))
    allocate(db_session, enrolment=enrolment, mentor=mentor, by=side.coordinator, now=DEFAULT_NOW - timedelta(days=60))
    child_id = str(enrolment.child_id)
    phone_number_id = db_session.scalar(select(PhoneNumber.id).where(PhoneNumber.child_id == enrolment.child_id))
    # SQLite transactions begin IMMEDIATE (api/db.py): end each read before the API is called, or it waits.
    db_session.commit()

    def post(path: str, body: dict[str, Any], status: int = 201) -> dict[str, Any]:
        return _ok(client.post(path, json=body, headers=headers), status)

    post(f"/children/{child_id}/consents", {"channel": "sms_to_child", "granted": True, "given_by": "child"})
    session = post(
        "/sessions",
        {
            "enrolment_ids": [str(enrolment.id)],
            "kind": "one_to_one",
            "location_category": "community_venue",
            "planned_start_at": "2026-11-24T17:30:00+00:00",
            "planned_end_at": "2026-11-24T18:30:00+00:00",
        },
    )
    alerts_before = set(db_session.scalars(select(Alert.id)))
    db_session.commit()
    post(
        "/sessions",
        {
            "enrolment_ids": [str(enrolment.id)],
            "kind": "one_to_one",
            "location_category": "community_venue",
            "planned_start_at": "2026-11-23T10:00:00+00:00",
            "planned_end_at": "2026-11-23T11:00:00+00:00",
            "status": "completed",
            "safeguarding_concern": "Said an older boy asked them to carry parcels.",
        },
    )
    [alert_id] = set(db_session.scalars(select(Alert.id))) - alerts_before
    db_session.commit()
    pattern = post(
        f"/enrolments/{enrolment.id}/patterns",
        {"slots": [{"weekday": 3, "start": "16:00"}], "duration_minutes": 60, "location_category": "school"},
    )
    episode = post(
        f"/children/{child_id}/missing-episodes",
        {"reported_at": "2026-11-22T21:15:00+00:00", "returned_at": "2026-11-23T08:00:00+00:00", "source": "police"},
    )
    check_in = post(f"/children/{child_id}/check-ins", {"instrument": "ons4", "answers": ONS4})
    goal = post(f"/children/{child_id}/goals", {"description": "Go to school every day"})
    invitation = post(f"/children/{child_id}/check-in-invitations", {})
    arrest = {"event_type": "arrest", "occurred_on": "2026-11-20", "source": "police"}
    event = post(f"/children/{child_id}/outcome-events", arrest)
    # A night on the programme's duty rota, each slot's on a night of its own (two slots share programme A).
    nights_taken = db_session.scalar(
        select(func.count()).select_from(DutyShift).where(DutyShift.programme_id == side.programme.id)
    )
    db_session.commit()
    evening = DEFAULT_NOW.replace(hour=18) + timedelta(days=1 + nights_taken)
    shift = post(
        "/duty-rota",
        {
            "coordinator_user_id": str(side.coordinator.id),
            "starts_at": evening.isoformat(),
            "ends_at": (evening + timedelta(hours=14)).isoformat(),
        },
    )
    series = post(
        "/group-series",
        {
            "programme_id": str(side.programme.id),
            "name": f"Series {uuid.uuid4().hex[:8]}",
            "capacity": 8,
            "lead_facilitator_id": str(mentor.id),
            "location_category": "school",
            # Tuesdays of weeks with room in the child's weekly cap (the world's week 48 is full).
            "sessions": [
                {
                    "planned_start_at": f"2026-12-{day:02d}T17:30:00+00:00",
                    "planned_end_at": f"2026-12-{day:02d}T18:30:00+00:00",
                }
                for day in (8, 15)
            ],
        },
    )
    post(f"/group-series/{series['id']}/members", {"enrolment_id": str(enrolment.id)})
    referral = build_referral(db_session, cohort=side.cohort, by=side.coordinator)
    unreferred = make_child(db_session, programme=side.programme, by=side.coordinator)
    identifiers = _identify(db_session, [enrolment.child_id])
    referred_identifiers = _identify(db_session, [referral.child_id, unreferred.id])
    refs = {
        "programme_id": str(side.programme.id),
        "cohort_id": str(side.cohort.id),
        "other_cohort_id": str(side.other_cohort.id),
        "user_id": str(mentor.id),
        "other_user_id": str(other_mentor.id),
        "child_id": child_id,
        "enrolment_id": str(enrolment.id),
        "phone_number_id": str(phone_number_id),
        "session_id": session["id"],
        "alert_id": str(alert_id),
        "shift_id": shift["id"],
        "pattern_id": pattern["id"],
        "episode_id": episode["id"],
        "check_in_id": check_in["id"],
        "goal_id": goal["id"],
        "invitation_id": invitation["id"],
        "event_id": event["id"],
        "series_id": series["id"],
        "referral_id": str(referral.id),
        "referral_child_id": str(referral.child_id),
        "unreferred_child_id": str(unreferred.id),
    }
    return refs, identifiers, referred_identifiers


def _identify(db_session: Session, child_ids: list[uuid.UUID]) -> set[str]:
    """What identifies these children besides their ids: reference, a first name no other name contains, and
    phone numbers. The leak check looks for these in every answer as well as for ids."""
    identifiers = set()
    for child_id in child_ids:
        child = db_session.get(Child, child_id)
        assert child is not None
        child.first_name = f"Zed{uuid.uuid4().hex[:10]}"
        identifiers |= {child.reference, child.first_name}
        identifiers |= set(db_session.scalars(select(PhoneNumber.e164).where(PhoneNumber.child_id == child_id)))
    db_session.commit()
    return identifiers


def _session_ids_of(db_session: Session, child_id: str) -> set[str]:
    rows = db_session.scalars(select(SessionAttendee.session_id).where(SessionAttendee.child_id == uuid.UUID(child_id)))
    return {str(session_id) for session_id in rows}


def build_world(app: Flask, database: Database) -> AuthzWorld:
    client = app.test_client()
    with database.session() as db_session:
        admin = make_user(db_session, Role.ADMIN)
        sides = {"A": _build_side(db_session), "B": _build_side(db_session)}
        world = AuthzWorld(admin=admin, sides=sides)
        placement = {"own": ("A", 0), "sibling": ("A", 1), "foreign": ("B", 0)}
        for slot, (side_name, mentor_index) in placement.items():
            side = sides[side_name]
            mentor, other_mentor = side.mentors[mentor_index], side.mentors[1 - mentor_index]
            refs, identifiers, referred_identifiers = _build_slot(client, db_session, side, mentor, other_mentor)
            world.slot_refs[slot] = refs
            world.slot_referred_identifiers[slot] = referred_identifiers
            child_level = {value for key, value in refs.items() if key not in PROGRAMME_LEVEL}
            child_level |= identifiers | referred_identifiers
            world.slot_child_level_ids[slot] = child_level | _session_ids_of(db_session, refs["child_id"])
            db_session.commit()
        b = sides["B"]
        world.foreign_programme_ids = {
            str(record.id)
            for record in (b.programme, b.cohort, b.other_cohort, b.coordinator, b.commissioner, *b.mentors)
        }
        # Everyone is signed in somewhere, so a write aimed at someone else's sign-ins has something to damage.
        for side in sides.values():
            for user in (side.coordinator, side.commissioner, *side.mentors):
                auth_headers(db_session, user)
        # Tokens last 15 minutes from DEFAULT_NOW, the time the tests' clock stands still at.
        world.headers = {
            "admin": auth_headers(db_session, admin),
            "coordinator": auth_headers(db_session, sides["A"].coordinator),
            "mentor": auth_headers(db_session, sides["A"].mentors[0]),
            "commissioner": auth_headers(db_session, sides["A"].commissioner),
            "anonymous": {},
            "bad_token": {"Authorization": "Bearer not-a-token"},
        }
    return world


@dataclass
class AuthzWorldRun:
    app: Flask
    engine: Engine
    world: AuthzWorld


@pytest.fixture(scope="module")
def authz_world_run(tmp_path_factory: pytest.TempPathFactory) -> Iterator[AuthzWorldRun]:
    """The world, committed in a SQLite database of this module's own (see the test module's docstring)."""
    directory: Path = tmp_path_factory.mktemp("authz")
    with throwaway_database("sqlite", directory) as url:
        app = create_app(test_config(url, CLOCK=FixedClock(DEFAULT_NOW)))
        database: Database = app.extensions["reachable.db"]
        world = build_world(app, database)
        yield AuthzWorldRun(app=app, engine=database.engine, world=world)
        database.dispose()


@dataclass
class AuthzCall:
    """What one test needs: the world, a client whose requests join the test's transaction, a session too."""

    world: AuthzWorld
    client: FlaskClient
    db_session: Session
    connection: Connection


@pytest.fixture()
def authz(authz_world_run: AuthzWorldRun) -> Iterator[AuthzCall]:
    app, database = authz_world_run.app, authz_world_run.app.extensions["reachable.db"]
    with authz_world_run.engine.connect() as connection:
        transaction = connection.begin()
        factory = sessionmaker(bind=connection, join_transaction_mode="create_savepoint", expire_on_commit=False)
        original_factory = database.session_factory
        database.session_factory = factory
        app.extensions["reachable.clock"] = FixedClock(DEFAULT_NOW)
        app.extensions["reachable.limiter"].reset()
        try:
            with factory() as db_session:
                yield AuthzCall(authz_world_run.world, app.test_client(), db_session, connection)
        finally:
            database.session_factory = original_factory
            transaction.rollback()


def database_fingerprint(connection: Connection) -> dict[str, list[tuple[Any, ...]]]:
    """Every row of every table (but Alembic's own), to prove a refused request wrote nothing at all."""
    tables = sorted(name for name in inspect(connection).get_table_names() if name != "alembic_version")
    return {
        name: sorted(tuple(map(repr, row)) for row in connection.execute(text(f'SELECT * FROM "{name}"')))
        for name in tables
    }


# --- The abuse and lock-out tests (tests/security/test_abuse.py, tests/security/test_lockout.py) ----------------


@pytest.fixture()
def cheap_password_hashing(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> None:
    """The service verifies passwords with a cheap hasher (tests/security/sign_in_attempts.py, CHEAP_HASHER),
    unless the test asks for real_password_hashing. The abuse and lock-out tests use it for every test."""
    if "real_password_hashing" in request.fixturenames:
        return
    monkeypatch.setattr(signing_in, "_password_hasher", CHEAP_HASHER)
    monkeypatch.setattr(signing_in, "_dummy_hash", lambda: CHEAP_HASHER.hash("not-a-real-password"))


@pytest.fixture()
def real_password_hashing() -> None:
    """Asked for by the tests that keep the production hashing cost."""


@pytest.fixture()
def tight_app(database_url: str, session_factory: sessionmaker[Session], clock: FixedClock) -> Iterator[Flask]:
    """An app of its own with small limits (and a fresh memory store), joined to the test's transaction."""
    app = create_app(test_config(database_url, CLOCK=clock, **TIGHT_LIMITS))
    database = app.extensions["reachable.db"]
    database.session_factory = session_factory
    yield app
    database.dispose()


@pytest.fixture()
def tight_client(tight_app: Flask) -> FlaskClient:
    return tight_app.test_client()
