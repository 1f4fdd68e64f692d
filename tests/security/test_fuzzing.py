"""Fuzzing: schemathesis drives every operation of the app's own OpenAPI document, signed in as every role.

The app runs on a real, committed database (SQLite and PostgreSQL; fuzzing really writes) holding the demo
world: a programme, cohorts, staff of every role, 88 children, referrals, enrolments, allocations, patterns,
sessions, goals, check-ins, an alert, a check-in invitation, plus a missing episode and an outcome event.
Path parameters are, about half the time, ids of those records (some in the mentor's caseload, some not),
so requests reach real objects and their rules, not only 404s.

For every operation and role, a bounded number of generated requests, valid and invalid (schemathesis also
strips or spoils the bearer token in some of them), must get answers that are:
- never a server error (5xx);
- as documented: a documented status, a documented content type, a body matching its schema;
- when refused (4xx), in the one envelope of api/web.py: `code` (the status), `status` (its name),
  `message`, `reason` and, for field problems, `errors`.

Deterministic for CI: the world's ids come from a seeded generator and schemathesis generates from a fixed
seed, different for each role so the four runs of an operation try different requests. Set
REACHABLE_FUZZ_SEED to explore other requests and REACHABLE_FUZZ_EXAMPLES for more of them (a local or
nightly run); a failure prints the request as a curl command.
"""

from __future__ import annotations

import os
import random
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

import pytest
import schemathesis
from flask import Flask
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from sqlalchemy import select
from sqlalchemy.orm import Session

from api.accounts import service as accounts_service
from api.accounts.models import AppUser
from api.accounts.rules import Actor, Role
from api.alerts.models import Alert
from api.app import create_app
from api.auth import token_settings
from api.caseloads.models import Allocation
from api.children.models import Child, PhoneNumber
from api.clock import FixedClock
from api.demo import demo_check_in_link, load_demo_data
from api.enrolments.models import Enrolment
from api.missing import service as missing_service
from api.missing.models import MissingEpisode
from api.missing.rules import MissingSource
from api.outcomes import service as outcomes_service
from api.outcomes.models import OutcomeEvent
from api.outcomes.rules import OutcomeEventType, OutcomeSource
from api.programmes.models import Cohort, Programme
from api.referrals.models import Referral
from api.schedules.models import SessionPattern
from api.sessions.models import MentoringSession
from api.web import MAX_PAGE
from api.wellbeing.models import CheckIn, CheckInInvitation, Goal
from tests.builders import auth_headers, make_user
from tests.conftest import DEFAULT_NOW, SECRET_KEY, throwaway_database
from tests.conftest import test_config as app_config

# Generated requests per operation and role (about 100 operations, four roles, two databases).
MAX_EXAMPLES = int(os.environ.get("REACHABLE_FUZZ_EXAMPLES", "10"))
SEED = int(os.environ.get("REACHABLE_FUZZ_SEED", "20261123"))
# Of each kind of record, this many ids the mentor can reach and this many they cannot.
IDS_PER_SIDE = 2

# Who the fuzzer signs in as: the demo's users of each role. The other demo users are the only accounts
# whose ids it is given, so it may edit, deactivate or sign out those without locking itself out.
SIGNED_IN_AS = {
    "admin": "admin@reachable.example",
    "coordinator": "coordinator@reachable.example",
    "mentor": "mentor@reachable.example",
    "commissioner": "commissioner@reachable.example",
}

# Each path parameter and the records whose ids it may take.
RECORDS_FOR_PATH_PARAMETER: dict[str, Any] = {
    "programme_id": Programme,
    "cohort_id": Cohort,
    "child_id": Child,
    "phone_number_id": PhoneNumber,
    "referral_id": Referral,
    "enrolment_id": Enrolment,
    "session_id": MentoringSession,
    "pattern_id": SessionPattern,
    "alert_id": Alert,
    "episode_id": MissingEpisode,
    "check_in_id": CheckIn,
    "goal_id": Goal,
    "invitation_id": CheckInInvitation,
    "event_id": OutcomeEvent,
}


@dataclass
class World:
    app: Flask
    user_ids: dict[str, uuid.UUID]
    ids: dict[str, list[str]] = field(default_factory=dict)
    _tokens: dict[str, str] = field(default_factory=dict)

    def bearer(self, role: str) -> dict[str, str]:
        if role not in self._tokens:
            database = self.app.extensions["reachable.db"]
            with self.app.app_context(), database.session() as db_session:
                user = db_session.get_one(AppUser, self.user_ids[role])
                tokens = accounts_service.start_auth_session(
                    db_session, user=user, settings=token_settings(), now=DEFAULT_NOW
                )
            self._tokens[role] = tokens.access_token
        # identity: schemathesis sends requests' default Accept-Encoding (gzip) through WSGI too, but reads the
        # body undecoded, so a gzipped answer (api/compression.py) would fail its checks as undeserialisable.
        return {"Authorization": f"Bearer {self._tokens[role]}", "Accept-Encoding": "identity"}

    def forget_sign_in(self, role: str) -> None:
        """After the fuzzer signs out, the next request signs in afresh."""
        self._tokens.pop(role, None)


def _actor(user: AppUser) -> Actor:
    return Actor(user_id=user.id, role=user.role, programme_id=user.programme_id)


def _known_ids(db_session: Session, model: Any, mentor_children: set[uuid.UUID], mentor_id: uuid.UUID) -> list[str]:
    """A few ids the mentor can reach and a few they cannot (everyone else sees them the other way round)."""
    if model is Child:
        reachable = model.id.in_(mentor_children)
    elif model is MentoringSession:
        reachable = model.mentor_id == mentor_id
    elif hasattr(model, "child_id"):
        reachable = model.child_id.in_(mentor_children)
    else:
        return [str(value) for value in db_session.scalars(select(model.id).order_by(model.id).limit(IDS_PER_SIDE))]
    ids = []
    for condition in (reachable, ~reachable):
        ids += db_session.scalars(select(model.id).where(condition).order_by(model.id).limit(IDS_PER_SIDE))
    return [str(value) for value in ids]


def seed_world(app: Flask) -> World:
    database = app.extensions["reachable.db"]
    instruments = app.extensions["reachable.instruments"]
    with database.session() as db_session:
        load_demo_data(db_session, instruments=instruments, now=DEFAULT_NOW, progress=lambda _: None)
        demo_check_in_link(db_session, instruments=instruments, secret_key=SECRET_KEY, now=DEFAULT_NOW)
        users = {user.email: user for user in db_session.scalars(select(AppUser))}
        world = World(app, user_ids={role: users[email].id for role, email in SIGNED_IN_AS.items()})
        mentor = users[SIGNED_IN_AS["mentor"]]
        mentor_children = set(
            db_session.scalars(
                select(Enrolment.child_id)
                .join(Allocation, Allocation.enrolment_id == Enrolment.id)
                .where(Allocation.mentor_id == mentor.id, Allocation.ended_at.is_(None))
            )
        )
        child_id = min(mentor_children)
        coordinator = _actor(users[SIGNED_IN_AS["coordinator"]])
        missing_service.record_missing_episode(
            db_session,
            actor=coordinator,
            child_id=child_id,
            reported_at=DEFAULT_NOW - timedelta(days=2),
            returned_at=DEFAULT_NOW - timedelta(days=1),
            source=MissingSource.POLICE,
            now=DEFAULT_NOW,
        )
        outcomes_service.record_outcome_event(
            db_session,
            actor=coordinator,
            child_id=child_id,
            event_type=OutcomeEventType.POLICE_CALL_OUT,
            occurred_on=(DEFAULT_NOW - timedelta(days=10)).date(),
            source=OutcomeSource.POLICE,
            source_detail=None,
            missing_episode_id=None,
            now=DEFAULT_NOW,
        )
        for name, model in RECORDS_FOR_PATH_PARAMETER.items():
            world.ids[name] = _known_ids(db_session, model, mentor_children, mentor.id)
        signed_in = set(SIGNED_IN_AS.values())
        world.ids["user_id"] = sorted(str(user.id) for email, user in users.items() if email not in signed_in)
    return world


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def fuzz_world(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[World]:
    with throwaway_database(request.param, tmp_path_factory.mktemp("fuzz")) as url:
        # A clock fixed at the demo's "now", so the tokens and the world's dates stay valid however long it runs.
        # Rate limits off: they count wall-clock time, so how many requests met a 429 would depend on the
        # machine's speed (their 429s are tested beside the limits themselves).
        app = create_app(app_config(url, CLOCK=FixedClock(DEFAULT_NOW), RATELIMIT_ENABLED=False))
        with pytest.MonkeyPatch.context() as patch:
            # The same world on every run: record ids from a seeded generator, not the operating system's.
            rng = random.Random(SEED)
            patch.setattr(uuid, "uuid4", lambda: uuid.UUID(int=rng.getrandbits(128), version=4))
            world = seed_world(app)
        yield world
        app.extensions["reachable.db"].dispose()


def _own_openapi_document() -> dict[str, Any]:
    """The document the app serves (its database is never opened to serve it)."""
    response = create_app(app_config("sqlite://")).test_client().get("/openapi.json")
    assert response.status_code == 200
    document: dict[str, Any] = response.get_json()
    return document


DOCUMENT = _own_openapi_document()


def standard_error_envelope(ctx: Any, response: schemathesis.Response, case: schemathesis.Case) -> bool | None:
    """A refusal, whichever layer refused (routing, parsing, authentication, a rule), is api/web.py's envelope."""
    from werkzeug.http import HTTP_STATUS_CODES

    if not 400 <= response.status_code < 500:
        return None
    body = response.json()
    assert isinstance(body, dict), f"The error body is not an object: {body!r}"
    assert body.get("code") == response.status_code, f"`code` is {body.get('code')!r}, not the HTTP status"
    assert body.get("status") == HTTP_STATUS_CODES[response.status_code], f"`status` is {body.get('status')!r}"
    for name in ("message", "reason"):
        assert isinstance(body.get(name), str) and body[name], f"`{name}` is missing or empty"
    assert isinstance(body.get("errors", {}), dict), "`errors` is not an object of field problems"
    return None


CHECKS = [
    schemathesis.checks.not_a_server_error,
    schemathesis.checks.status_code_conformance,
    schemathesis.checks.content_type_conformance,
    schemathesis.checks.response_schema_conformance,
]


def fuzz_every_operation_as(role: str) -> Callable[..., None]:
    schema = schemathesis.openapi.from_dict(
        DOCUMENT,
        config=schemathesis.Config.from_dict(
            {"seed": SEED + list(SIGNED_IN_AS).index(role), "generation": {"database": "none"}}
        ),
    )

    @schema.parametrize()
    @schema.given(data=st.data())
    # No deadline and no health checks that time generation: a loaded CI machine must not fail the run.
    @settings(max_examples=MAX_EXAMPLES, deadline=None, database=None, suppress_health_check=list(HealthCheck))
    def test(case: schemathesis.Case, data: st.DataObject, fuzz_world: World) -> None:
        for name in case.path_parameters:
            known = fuzz_world.ids.get(name)
            if known:
                # Half the time a real record; hypothesis chooses, so the choice is seeded and shrinks.
                choice = data.draw(st.one_of(st.none(), st.sampled_from(known)), label=name)
                if choice is not None:
                    case.path_parameters[name] = choice
        response = case.call(app=fuzz_world.app, headers=fuzz_world.bearer(role))
        if case.path == "/auth/sign-out":
            fuzz_world.forget_sign_in(role)
        case.validate_response(response, checks=CHECKS, additional_checks=[standard_error_envelope])

    test.__doc__ = f"Every operation, signed in as the {role}, answers as documented and never with a 5xx."
    return test


test_fuzz_as_admin = fuzz_every_operation_as("admin")
test_fuzz_as_coordinator = fuzz_every_operation_as("coordinator")
test_fuzz_as_mentor = fuzz_every_operation_as("mentor")
test_fuzz_as_commissioner = fuzz_every_operation_as("commissioner")


# What the fuzzer found, kept as plain tests so each stays fixed whatever the seed explores.


@pytest.mark.parametrize(
    "path",
    ["/referrals", "/children", "/enrolments", "/sessions", "/audit-events"],
)
def test_a_page_number_past_any_database_integer_is_a_422_not_a_server_error(client, db_session, path):
    headers = auth_headers(db_session, make_user(db_session, Role.ADMIN))

    response = client.get(path, query_string={"page": 922337203685477582}, headers=headers)

    assert response.status_code == 422, response.get_json()
    body = response.get_json()
    assert body["reason"] == "invalid_request"
    assert "page" in body["errors"]
    assert client.get(path, query_string={"page": MAX_PAGE}, headers=headers).status_code == 200


def test_the_documented_error_schema_requires_the_envelope_and_allows_a_refusals_own_facts():
    """A stale edit's 412 carries current_version beside the envelope; the document allows such facts."""
    error_schema = DOCUMENT["components"]["schemas"]["Error"]
    assert error_schema.get("additionalProperties", True) is not False
    assert set(error_schema["required"]) == {"code", "status", "message", "reason"}


def test_every_dashboard_documents_its_csv_answer_beside_the_json():
    dashboards = [path for path in DOCUMENT["paths"] if "/dashboards/" in path]
    assert len(dashboards) == 7
    for path in dashboards:
        assert set(DOCUMENT["paths"][path]["get"]["responses"]["200"]["content"]) == {"application/json", "text/csv"}
