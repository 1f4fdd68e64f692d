"""Fuzzing: schemathesis drives every operation of the app's own OpenAPI document, signed in as every role.

The app runs on a real, committed database (SQLite and PostgreSQL; fuzzing really writes) holding the demo
world: a programme, cohorts, staff of every role, 88 children, referrals, enrolments, allocations, patterns,
sessions, goals, check-ins, an alert, a check-in invitation, plus a missing episode and an outcome event.
Path parameters are, about half the time, ids of those records (some in the mentor's caseload, some not),
so requests reach real objects and their rules, not only 404s.

Three of schemathesis's phases run, for every role on both databases:
- fuzzing: a bounded number of generated requests per operation, valid and invalid (schemathesis also strips
  or spoils the bearer token in some of them). Each that succeeds is sent again with one hostile value in it:
  NUL or an unpaired surrogate in a free-text field or query parameter, JSON nested 100,000 deep, a fraction
  where an integer belongs (issue 13, findings 1-3 and 9), and must then be refused with a 4xx;
- coverage: for each operation, the requests the document's own edges give (each required part left out, each
  value at and past its limits, each wrong type, methods the path lacks). It runs only in a test without
  @schema.given (schemathesis leaves it out otherwise, silently), so it has its own;
- stateful: sequences of calls that feed one answer's ids into the next, along the links schemathesis infers.

Every answer must be:
- never a server error (5xx);
- as documented: a documented status, content type and headers, a body matching its schema;
- a refusal when the request breaks the document (a float for an integer, a required header left out);
- when refused (4xx), in the one envelope of api/web.py: `code` (the status), `status` (its name),
  `message`, `reason` and, for field problems, `errors`.

Deterministic for CI: the world's ids come from a seeded generator and schemathesis generates from a fixed
seed, different for each role so the four runs of an operation try different requests. Set
REACHABLE_FUZZ_SEED to explore other requests, REACHABLE_FUZZ_EXAMPLES (fuzzing, per operation) and
REACHABLE_FUZZ_STATEFUL_EXAMPLES / REACHABLE_FUZZ_STATEFUL_STEPS (scenarios and their length) for more of them,
REACHABLE_FUZZ_PHASES (e.g. "stateful") to run only some phases (a local or nightly run); a failure prints the
request as a curl command.

From outside, against a running server, the same phases run as
`schemathesis run http://127.0.0.1:5000/openapi.json -H "Authorization: Bearer ..." --phases
examples,coverage,fuzzing,stateful`. schemathesis.toml, if one is used, should then say what the suite says in
schema_for: a missing If-Match is answered 428 (missing_required_header's expected statuses), and
positive_data_acceptance stays off, since rules the document cannot state refuse many requests it allows.
"""

from __future__ import annotations

import copy
import json
import os
import random
import uuid
import zlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

import pytest
import schemathesis
from flask import Flask
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from schemathesis.core.parameters import ParameterLocation
from schemathesis.generation.stateful import run_state_machine_as_test
from sqlalchemy import select
from sqlalchemy.orm import Session

from api.accounts import auth_sessions
from api.accounts.models import AppUser
from api.actors import Actor, Role
from api.alerts.models import Alert
from api.app import create_app
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
                tokens = auth_sessions.start_auth_session(
                    db_session,
                    user=user,
                    settings=auth_sessions.TokenSettings.from_config(self.app.config),
                    now=DEFAULT_NOW,
                    second_factor=True,
                )
            self._tokens[role] = tokens.access_token
        # identity: schemathesis sends requests' default Accept-Encoding (gzip) through WSGI too, but reads the
        # body undecoded, so a gzipped answer (api/compression.py) would fail its checks as undeserialisable.
        return {"Authorization": f"Bearer {self._tokens[role]}", "Accept-Encoding": "identity"}

    def headers_for(self, role: str, case: schemathesis.Case) -> dict[str, str]:
        """The role's bearer token, unless schemathesis spoiled or left out the token on purpose: then its own
        stands, so the refusal it expects (401) is what the request asks for."""
        headers = self.bearer(role)
        if _token_spoiled_on_purpose(case):
            headers.pop("Authorization")
        return headers

    def forget_sign_in(self, role: str) -> None:
        """After the fuzzer signs out, the next request signs in afresh."""
        self._tokens.pop(role, None)


def _token_spoiled_on_purpose(case: schemathesis.Case) -> bool:
    """Whether this is a negative case for the headers whose broken part is (or may be) Authorization; a missing
    or wrong If-Match, say, is sent with a good token, so that it is the If-Match that gets refused."""
    meta = case.meta
    headers = meta.components.get(ParameterLocation.HEADER) if meta is not None else None
    if meta is None or headers is None or not headers.mode.is_negative:
        return False
    data = meta.phase.data
    named = {getattr(data, "parameter", None), *(m.parameter for m in getattr(data, "mutations", ()))} - {None}
    return not named or any(name.lower() == "authorization" for name in named)


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


def documented_fields_are_known(ctx: Any, response: schemathesis.Response, case: schemathesis.Case) -> bool | None:
    """A request the document allows is never refused for a field the server does not know: then the document
    and the schema that reads the request disagree (as when two components shared a name, and POST
    /goals/{goal_id}/change documented a sync change as its body). What positive_data_acceptance would say, for
    the one refusal no rule outside the document can explain."""
    if response.status_code != 422 or case.meta is None or not case.meta.generation.mode.is_positive:
        return None
    errors = response.json().get("errors")
    unknown = []
    stack: list[tuple[str, Any]] = [("", errors)]
    while stack:
        at, node = stack.pop()
        if isinstance(node, dict):
            stack.extend((f"{at}.{key}" if at else str(key), value) for key, value in node.items())
        elif isinstance(node, list) and "Unknown field." in node:
            unknown.append(at)
    assert not unknown, f"The document allows {sorted(unknown)}, and the server refused them as unknown fields"
    return None


# What every answer is checked for, in every phase. Left out: positive_data_acceptance, which expects every
# request the document allows to succeed, while rules it cannot state (a programme's own districts, an end after
# the start, the version in If-Match) refuse many of them, rightly (documented_fields_are_known keeps the part
# of it that no such rule explains); and the checks that need a second user.
CHECKS = [
    schemathesis.checks.not_a_server_error,
    schemathesis.checks.status_code_conformance,
    schemathesis.checks.content_type_conformance,
    schemathesis.checks.response_headers_conformance,
    schemathesis.checks.response_schema_conformance,
    # A request the document forbids (a float for an integer, a required body left out) is refused.
    schemathesis.checks.negative_data_rejection,
    # The coverage phase's: a required header left out, and methods the path does not have.
    schemathesis.checks.missing_required_header,
    schemathesis.checks.unsupported_method,
]
ADDITIONAL_CHECKS = [standard_error_envelope, documented_fields_are_known]
# The stateful phase's own: what was created can be read, and what was deleted is gone.
STATEFUL_CHECKS = [
    schemathesis.checks.use_after_free,
    schemathesis.checks.ensure_resource_availability,
]

# Scenarios (sequences of linked calls) per role and database in the stateful phase, and calls in each at most.
STATEFUL_EXAMPLES = int(os.environ.get("REACHABLE_FUZZ_STATEFUL_EXAMPLES", "15"))
STATEFUL_STEPS = int(os.environ.get("REACHABLE_FUZZ_STATEFUL_STEPS", "8"))
# Which phases run; a local run may pick, e.g. REACHABLE_FUZZ_PHASES=stateful.
PHASES = set(os.environ.get("REACHABLE_FUZZ_PHASES", "fuzzing,coverage,stateful").split(","))


def schema_for(role: str, *phases: str) -> Any:
    """The app's own document, configured for one role and the given phases."""
    return schemathesis.openapi.from_dict(
        DOCUMENT,
        config=schemathesis.Config.from_dict(
            {
                "seed": SEED + list(SIGNED_IN_AS).index(role),
                "generation": {"database": "none"},
                "phases": {
                    name: {"enabled": name in phases} for name in ("examples", "coverage", "fuzzing", "stateful")
                },
                # An edit sent without If-Match is answered 428 Precondition Required (RFC 6585): the status made
                # for exactly that; schemathesis expects one of the generic refusals unless told.
                "checks": {"missing_required_header": {"expected-statuses": [400, 401, 403, 406, 415, 422, 428]}},
            }
        ),
    )


def _skip_unless(phase: str) -> None:
    if phase not in PHASES:
        pytest.skip(f"REACHABLE_FUZZ_PHASES leaves out the {phase} phase")


def _path_parameters_are_valid(case: schemathesis.Case) -> bool:
    """Whether the generated path parameters are meant to be valid (then a known record's id may replace them)."""
    info = case.meta.components.get(ParameterLocation.PATH) if case.meta is not None else None
    return info is None or not info.mode.is_negative


def _after_call(world: World, role: str, case: schemathesis.Case) -> None:
    if case.path == "/auth/sign-out":
        world.forget_sign_in(role)


# Hostile input, mixed into generated requests (issue 13, findings 1-3 and 9). Whenever a generated request
# succeeds, the fuzzer sends it again with one hostile value in one place, chosen (and shrunk) by hypothesis, and
# the edge must refuse it with a 4xx (api/request_input.py, api/schemas.py): sent in a request that is otherwise
# good, the value reaches the database or the parser, where each of these answered 500 before. Kinds:
# - text no field can store: the NUL character (PostgreSQL refuses it) and unpaired UTF-16 surrogates (JSON can
#   spell "\ud800", but it is not Unicode), in free-text body fields and query parameters;
# - JSON nested far deeper than any body, in place of the body or of one of its values (hypothesis raises the
#   recursion limit while it runs, so 1,000 levels, a 500 in a server, parse here; 100,000 do not);
# - numbers that are not whole where the document says integer (2.589e-42 was stored as 0).
NUL_TEXTS = ("\x00", "Sam\x00my", "\x00\x00\x00 ")
SURROGATE_TEXTS = ("\ud800", "Sam\udfffmy", "\udbff ")
NOT_WHOLE_NUMBERS = (2.589e-42, 2.5, -0.5)
NESTING_DEPTHS = (100_000, 1_000)
# Stands in a body where the deep nesting goes; it is spliced into the JSON text (json.dumps would recurse).
_NESTING_MARKER = "\ue000nested-deep\ue000"


def _resolve(schema: dict[str, Any]) -> dict[str, Any]:
    while "$ref" in schema:
        section, name = schema["$ref"].rsplit("/", 2)[-2:]
        schema = DOCUMENT["components"][section][name]
    return schema


def _leaves(
    value: Any, schema: dict[str, Any], at: tuple[Any, ...] = ()
) -> Iterator[tuple[tuple[Any, ...], Any, dict]]:
    """Every scalar in a generated body, where it is, and the document's schema for it ({} if it says none)."""
    schema = _resolve(schema)
    if isinstance(value, dict):
        properties = schema.get("properties", {})
        extra = schema.get("additionalProperties")
        for key, item in value.items():
            yield from _leaves(item, properties.get(key, extra if isinstance(extra, dict) else {}), (*at, key))
    elif isinstance(value, list):
        for index, item in enumerate(value):
            yield from _leaves(item, schema.get("items", {}), (*at, index))
    else:
        yield at, value, schema


def _replace(value: Any, at: tuple[Any, ...], new: Any) -> Any:
    if not at:
        return new
    copied = copy.copy(value)
    copied[at[0]] = _replace(value[at[0]], at[1:], new)
    return copied


def _parameter_schema(case: schemathesis.Case, location: str, name: str) -> dict[str, Any]:
    for parameter in DOCUMENT["paths"][case.path][case.method.lower()].get("parameters", []):
        parameter = _resolve(parameter)
        if parameter["in"] == location and parameter["name"] == name:
            return _resolve(parameter.get("schema", {}))
    return {}


def _is_free_text(schema: dict[str, Any]) -> bool:
    """A string the server takes as it comes (a name, a note, a search), so it travels to the database, rather
    than one it must recognise first (an id, a date, a choice), which refuses anything odd by itself. A value the
    document says nothing of (an extra query parameter) counts: the server may still read it."""
    return not schema or (
        "string" in (schema.get("type") or []) and not {"enum", "const", "format", "$ref"} & set(schema)
    )


def _is_integer(schema: dict[str, Any], value: Any) -> bool:
    return "integer" in (schema.get("type") or []) and isinstance(value, int) and not isinstance(value, bool)


# A way to spoil a request: its description, and what draws the hostile value and returns the change to make.
Spoiler = tuple[str, Callable[[st.DataObject], Callable[[], dict[str, Any]]]]


def spoilers(case: schemathesis.Case) -> list[Spoiler]:
    """Each way to put one hostile value into this request. A spoiler draws its value at once (so what hypothesis
    draws never depends on an answer, which a shared database makes vary) and returns what applies it later:
    a change to the case's query or path, or the body to send in place of the generated one."""
    found: list[Spoiler] = []
    json_body = case.media_type == "application/json" and isinstance(case.body, (dict, list))
    form_body = case.media_type == "application/x-www-form-urlencoded" and isinstance(case.body, dict)

    def draw(values: tuple[Any, ...], label: str) -> Callable[[st.DataObject], Any]:
        return lambda data: data.draw(st.sampled_from(values), label=label)

    def body_at(at: tuple[Any, ...], value: Callable[[st.DataObject], Any]) -> Callable[..., Any]:
        def drawn(data: st.DataObject) -> Callable[[], dict[str, Any]]:
            new_body = _replace(case.body, at, value(data))
            # Sent in place of the generated body, which stays on the case: schemathesis reads the case's body
            # again after changes, and its validator cannot take a surrogate.
            return lambda: {"data": json.dumps(new_body).encode() if json_body else new_body}

        return drawn

    def parameter(mapping: dict[str, Any], name: str, value: Callable[[st.DataObject], Any]) -> Callable[..., Any]:
        def drawn(data: st.DataObject) -> Callable[[], dict[str, Any]]:
            new_value = value(data)

            def apply() -> dict[str, Any]:
                mapping[name] = new_value
                return {}

            return apply

        return drawn

    if json_body or form_body:
        media = DOCUMENT["paths"][case.path][case.method.lower()]["requestBody"]["content"][case.media_type]
        texts = NUL_TEXTS + SURROGATE_TEXTS if json_body else NUL_TEXTS  # a form cannot carry a surrogate
        for at, value, schema in _leaves(case.body, media.get("schema", {})):
            if isinstance(value, str) and _is_free_text(schema):
                found.append((f"unstorable text in the body at {at}", body_at(at, draw(texts, "text"))))
            if _is_integer(schema, value):
                found.append(
                    (
                        f"a number that is not whole in the body's integer at {at}",
                        body_at(at, draw(NOT_WHOLE_NUMBERS, "number")),
                    )
                )
    if json_body:
        places = [(), *(at for at, _, _ in _leaves(case.body, {}))]

        def nest(data: st.DataObject) -> Callable[[], dict[str, Any]]:
            at = data.draw(st.sampled_from(places), label="nested at")
            depth = data.draw(st.sampled_from(NESTING_DEPTHS), label="depth")
            text = json.dumps(_replace(case.body, at, _NESTING_MARKER))
            nested = text.replace(json.dumps(_NESTING_MARKER), "[" * depth + "]" * depth).encode()
            return lambda: {"data": nested}

        found.append(("JSON nested deep in the body", nest))
    for name, value in (case.query or {}).items():
        if isinstance(value, str) and _is_free_text(_parameter_schema(case, "query", name)):
            found.append(
                (f"a NUL in the query parameter {name!r}", parameter(case.query, name, draw(NUL_TEXTS, "text")))
            )
        if _is_integer(_parameter_schema(case, "query", name), value):
            found.append(
                (
                    f"a number that is not whole in the integer query parameter {name!r}",
                    parameter(case.query, name, lambda data: repr(draw(NOT_WHOLE_NUMBERS, "number")(data))),
                )
            )
    # Path parameters are all ids here, which routing refuses (404) before anything reads them.
    return found


def fuzz_every_operation_as(role: str) -> Callable[..., None]:
    schema = schema_for(role, "fuzzing")

    @schema.parametrize()
    @schema.given(data=st.data())
    # No deadline and no health checks that time generation: a loaded CI machine must not fail the run.
    @settings(max_examples=MAX_EXAMPLES, deadline=None, database=None, suppress_health_check=list(HealthCheck))
    def test(case: schemathesis.Case, data: st.DataObject, fuzz_world: World) -> None:
        _skip_unless("fuzzing")
        if _path_parameters_are_valid(case):
            for name in case.path_parameters or {}:
                known = fuzz_world.ids.get(name)
                if known:
                    # Half the time a real record; hypothesis chooses, so the choice is seeded and shrinks.
                    choice = data.draw(st.one_of(st.none(), st.sampled_from(known)), label=name)
                    if choice is not None:
                        case.path_parameters[name] = choice
        ways = spoilers(case)
        spoiler = None
        if ways:
            description, drawn = data.draw(st.sampled_from(ways), label="spoiler")
            spoiler = description, drawn(data)
        response = case.call(app=fuzz_world.app, headers=fuzz_world.headers_for(role, case))
        _after_call(fuzz_world, role, case)
        case.validate_response(response, checks=CHECKS, additional_checks=ADDITIONAL_CHECKS)
        if spoiler is not None and 200 <= response.status_code < 300 and case.path != "/auth/sign-out":
            description, apply = spoiler
            response = case.call(app=fuzz_world.app, headers=fuzz_world.headers_for(role, case), **apply())
            assert 400 <= response.status_code < 500, (
                f"The same request again with {description} was answered {response.status_code}, not refused "
                f"with a 4xx: {response.text[:500]}"
            )
            case.validate_response(response, checks=CHECKS, additional_checks=ADDITIONAL_CHECKS)

    test.__doc__ = (
        f"Every operation, signed in as the {role}, answers generated requests as documented and never with a 5xx; "
        "each that succeeds, sent again with hostile text, deep JSON or a fraction for an integer, is refused."
    )
    return test


def coverage_of_every_operation_as(role: str) -> Callable[..., None]:
    """schemathesis's coverage phase: for each operation, requests built from the document's own edges (each
    required part left out, each value at and past its limits, each wrong type, methods the path lacks). It runs
    only without @schema.given, so the known ids are chosen here from the request itself, which is as
    deterministic as the cases."""
    schema = schema_for(role, "coverage")

    @schema.parametrize()
    @settings(deadline=None, database=None, suppress_health_check=list(HealthCheck))
    def test(case: schemathesis.Case, fuzz_world: World) -> None:
        _skip_unless("coverage")
        if _path_parameters_are_valid(case):
            fingerprint = repr((case.method, case.query, case.body, sorted((case.headers or {}).items())))
            for name in case.path_parameters or {}:
                known = fuzz_world.ids.get(name)
                if known:
                    pick = zlib.crc32(f"{fingerprint} {name}".encode("utf-8", "surrogatepass")) % (len(known) + 1)
                    if pick < len(known):
                        case.path_parameters[name] = known[pick]
        response = case.call(app=fuzz_world.app, headers=fuzz_world.headers_for(role, case))
        _after_call(fuzz_world, role, case)
        case.validate_response(response, checks=CHECKS, additional_checks=ADDITIONAL_CHECKS)

    test.__doc__ = f"The coverage phase, signed in as the {role}: every answer as documented, never a 5xx."
    return test


def stateful_as(role: str) -> Callable[..., None]:
    def test(fuzz_world: World) -> None:
        _skip_unless("stateful")
        own_id = str(fuzz_world.user_ids[role])

        class Workflow(schema_for(role, "stateful").as_state_machine()):  # type: ignore[misc]
            def before_call(self, case: schemathesis.Case) -> None:
                # A link may lead from GET /auth/me to the caller's own account: never deactivate or sign out
                # the fuzzer itself (other users' accounts are fair game, as in the fuzzing phase).
                if (case.path_parameters or {}).get("user_id") == own_id:
                    case.path_parameters["user_id"] = fuzz_world.ids["user_id"][0]

            def get_call_kwargs(self, case: schemathesis.Case) -> dict[str, Any]:
                return {"app": fuzz_world.app, "headers": fuzz_world.headers_for(role, case)}

            def after_call(self, response: schemathesis.Response, case: schemathesis.Case) -> None:
                super().after_call(response, case)
                _after_call(fuzz_world, role, case)

            def validate_response(
                self,
                response: schemathesis.Response,
                case: schemathesis.Case,
                additional_checks: Any = None,
                **kwargs: Any,
            ) -> None:
                case.validate_response(
                    response,
                    checks=CHECKS + STATEFUL_CHECKS,
                    additional_checks=ADDITIONAL_CHECKS,
                    transport_kwargs=kwargs,
                    recorder=self.recorder,
                )

        run_state_machine_as_test(
            Workflow,
            settings=settings(
                max_examples=STATEFUL_EXAMPLES,
                stateful_step_count=STATEFUL_STEPS,
                deadline=None,
                database=None,
                suppress_health_check=list(HealthCheck),
            ),
        )

    test.__doc__ = (
        f"The stateful phase, signed in as the {role}: sequences of calls that feed one answer's ids to the next "
        "(the document's links, inferred) answer as documented, never a 5xx; what was made can be read."
    )
    return test


test_fuzz_as_admin = fuzz_every_operation_as("admin")
test_fuzz_as_coordinator = fuzz_every_operation_as("coordinator")
test_fuzz_as_mentor = fuzz_every_operation_as("mentor")
test_fuzz_as_commissioner = fuzz_every_operation_as("commissioner")
test_coverage_as_admin = coverage_of_every_operation_as("admin")
test_coverage_as_coordinator = coverage_of_every_operation_as("coordinator")
test_coverage_as_mentor = coverage_of_every_operation_as("mentor")
test_coverage_as_commissioner = coverage_of_every_operation_as("commissioner")
test_stateful_as_admin = stateful_as("admin")
test_stateful_as_coordinator = stateful_as("coordinator")
test_stateful_as_mentor = stateful_as("mentor")
test_stateful_as_commissioner = stateful_as("commissioner")


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
    assert set(error_schema["required"]) == {"code", "status", "message", "reason", "request_id"}


def test_every_dashboard_documents_its_csv_answer_beside_the_json():
    dashboards = [path for path in DOCUMENT["paths"] if "/dashboards/" in path]
    assert len(dashboards) == 9
    for path in dashboards:
        assert set(DOCUMENT["paths"][path]["get"]["responses"]["200"]["content"]) == {"application/json", "text/csv"}
