"""The authorisation matrix (OWASP API1 object-level authorisation, API5 function-level authorisation).

Every operation of the app's OpenAPI document has one row in MATRIX below: which roles may call it, what
kind of record its path (or body, or query) names, and a small valid body where it needs one. A test fails
if the live document (built by create_app) has an operation the matrix lacks, or the other way round, so a
new endpoint cannot slip through without someone deciding who may call it.

Each row is then called as every caller, against every kind of record:

- callers: ``admin``; ``coordinator``, ``mentor`` (mentor A1) and ``commissioner`` of programme A;
  ``anonymous`` (no token) and ``bad_token`` (a token that does not verify);
- records (see tests/security/conftest.py): ``own`` (programme A, a child allocated to mentor A1),
  ``sibling`` (programme A, a child allocated to mentor A2: only for child-level rows), ``foreign``
  (programme B) and ``missing`` (random ids); rows that name no record are called once (``any``).

What each call must answer:

- no token, or one that does not verify: 401, except the public operations (health, sign-in, refresh and
  the Twilio webhooks, which need Twilio's signature instead: 403 with or without a bearer token);
- a role the row does not list: 403 with the standard ``forbidden`` envelope, whatever the record
  (the role gate runs before any look-up, so even this answer says nothing about existence);
- a listed role and a record it may reach: 200 for a read; for a write anything but 401/403/404 (a 409
  or 422 on a minimal body still proves the caller got past authorisation);
- a listed role and a record it may not reach (another programme's, a colleague's child for a mentor
  on child-level rows, any child for a commissioner): exactly the answer for a record that does not
  exist (status and body), and that status is the row's ``hidden`` status (404 unless the row says why);
- a refused call (401, 403, or a hidden record) changes no row of any table, audit log included;
- no answer to a role contains the id of any record that role may not see (ids the caller itself sent
  excepted), which catches leaks through lists, feeds and dashboards as well as single records.

Backend: the world is built on SQLite only. Authorisation here is decided by the role gate (api/auth.py)
and by the services' ``visible_to``/``sees_programme``/``programme_scope`` filters, all plain SQL
predicates with no backend-specific behaviour (no locking, no dialect branches), and every row of the
matrix runs ~20 calls, so running it twice would double the time for no new coverage. The services' row
locks and races are proved on both backends elsewhere (tests/concurrency, tests/integration).
"""

from __future__ import annotations

import json
import re
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any
from unittest.mock import ANY

import jwt
import pytest

from api.accounts import auth_sessions
from api.accounts.models import AppUser
from api.dashboards.page import SIGN_IN_COOKIE
from tests.conftest import DEFAULT_NOW, SECRET_KEY
from tests.security.conftest import AuthzCall, database_fingerprint

ADMIN, COORDINATOR, MENTOR, COMMISSIONER = "admin", "coordinator", "mentor", "commissioner"
SIGNED_IN = (ADMIN, COORDINATOR, MENTOR, COMMISSIONER)
CALLERS = (*SIGNED_IN, "anonymous", "bad_token")
EVERYONE = frozenset(SIGNED_IN)
STAFF = frozenset({ADMIN, COORDINATOR})
CASEWORK = frozenset({ADMIN, COORDINATOR, MENTOR})
DASHBOARD = frozenset({ADMIN, COORDINATOR, COMMISSIONER})
ONLY_ADMIN = frozenset({ADMIN})
PUBLIC = frozenset()

# What the path (or body, or query) names: a child-level record follows the caseload (a mentor sees only the
# children allocated to them, a commissioner none); a programme-level one follows the caller's programme.
CASELOAD, PROGRAMME, NOTHING = "caseload", "programme", "nothing"

FORBIDDEN = {
    "code": 403,
    "request_id": ANY,
    "status": "Forbidden",
    "message": "Your role may not do this.",
    "reason": "forbidden",
}
WRITE_METHODS = {"POST", "PUT", "PATCH", "DELETE"}

Refs = dict[str, str]


@dataclass(frozen=True)
class Op:
    roles: frozenset[str]
    names: str = NOTHING
    body: Callable[[Refs], Any] | None = None
    query: Callable[[Refs], dict[str, str]] | None = None
    if_match: bool = False
    # The answer, to a listed role, for a record it may not reach (and for one that does not exist);
    # a mapping when it differs by role.
    hidden: int | dict[str, int] = 404
    # For a public operation: the answer every caller gets to the call below, token or not.
    public_status: int | None = None
    csv: str | None = None
    # A refused sign-in may be recorded (towards an account lock-out); every other refusal writes nothing.
    records_refusals: bool = False


def session_body(refs: Refs) -> dict[str, Any]:
    return {
        "enrolment_ids": [refs["enrolment_id"]],
        "kind": "one_to_one",
        "location_category": "community_venue",
        # A week with room (the world's week 48 is full: its cap would answer 409, after authorisation).
        "planned_start_at": "2026-12-02T10:00:00+00:00",
        "planned_end_at": "2026-12-02T11:00:00+00:00",
    }


PATTERN = {"slots": [{"weekday": 5, "start": "16:00"}], "duration_minutes": 60, "location_category": "school"}
ONS4 = {"life_satisfaction": 6, "worthwhile": 6, "happy_yesterday": 6, "anxious_yesterday": 3}
CHECK_IN = {"instrument": "ons4", "answers": ONS4}
OUTCOME_CSV = "child_reference,event_type,occurred_on,source\n"  # the header alone: nothing to import
CALL_OUT = {"event_type": "police_call_out", "occurred_on": "2026-11-21", "source": "police"}
DASHBOARD_ROW = Op(DASHBOARD, PROGRAMME)


def constant(value: Any) -> Callable[[Refs], Any]:
    return lambda refs: value


MATRIX: dict[tuple[str, str], Op] = {
    # Health, signing in, webhooks: public (webhooks are authenticated by Twilio's signature instead).
    ("GET", "/healthz"): Op(PUBLIC, public_status=200),
    ("GET", "/readyz"): Op(PUBLIC, public_status=200),
    ("POST", "/auth/sign-in"): Op(
        PUBLIC,
        body=constant({"email": "nobody@example.org", "password": "not the right password"}),
        public_status=401,
        records_refusals=True,
    ),
    ("POST", "/auth/refresh"): Op(PUBLIC, body=constant({"refresh_token": "not-a-refresh-token"}), public_status=401),
    # A sign-in's second step: its challenge is the credential (a bearer token opens none of them).
    ("POST", "/auth/mfa/verify"): Op(
        PUBLIC, body=constant({"challenge_token": "not-a-challenge", "code": "123456"}), public_status=401
    ),
    ("POST", "/auth/mfa/enrolment"): Op(
        PUBLIC, body=constant({"challenge_token": "not-a-challenge"}), public_status=401
    ),
    ("POST", "/auth/mfa/enrolment/confirm"): Op(
        PUBLIC, body=constant({"challenge_token": "not-a-challenge", "code": "123456"}), public_status=401
    ),
    ("POST", "/webhooks/twilio/status"): Op(PUBLIC, public_status=403),
    ("POST", "/webhooks/twilio/inbound"): Op(PUBLIC, public_status=403),
    # One's own account.
    ("POST", "/auth/sign-out"): Op(EVERYONE),
    ("GET", "/auth/me"): Op(EVERYONE),
    # Setting up an authenticator of one's own accord (the first call starts it; a wrong code answers 401 after
    # authorisation, which the row's minimal body proves no more than it needs to).
    ("POST", "/auth/me/mfa/enrolment"): Op(EVERYONE),
    ("POST", "/auth/me/mfa/enrolment/confirm"): Op(EVERYONE, body=constant({"code": "000000"})),
    # Users: admins manage anyone; a coordinator the mentors of their own programme.
    ("GET", "/users"): Op(STAFF),
    ("POST", "/users"): Op(
        STAFF,
        PROGRAMME,
        body=lambda refs: {
            "email": f"new-mentor-{uuid.uuid4().hex[:8]}@example.org",
            "display_name": "New Mentor",
            "role": "mentor",
            "password": "correct horse battery staple",
            "programme_id": refs["programme_id"],
            "max_caseload": 10,
        },
        # A coordinator naming another programme (or one that does not exist) is refused as a role rule,
        # 403 both ways; an admin naming no existing programme is told to choose one (422).
        hidden={COORDINATOR: 403, ADMIN: 422},
    ),
    ("PATCH", "/users/{user_id}"): Op(STAFF, PROGRAMME, body=constant({"display_name": "Renamed Mentor"})),
    ("POST", "/users/{user_id}/revoke-sign-ins"): Op(STAFF, PROGRAMME),
    ("POST", "/users/{user_id}/unlock"): Op(ONLY_ADMIN, PROGRAMME),
    ("POST", "/users/{user_id}/mfa/reset"): Op(ONLY_ADMIN, PROGRAMME),
    # Programmes and cohorts.
    ("GET", "/programmes"): Op(EVERYONE),
    ("POST", "/programmes"): Op(
        ONLY_ADMIN, body=lambda refs: {"name": f"Programme {uuid.uuid4().hex[:8]}", "districts": ["Medway"]}
    ),
    ("GET", "/programmes/{programme_id}"): Op(EVERYONE, PROGRAMME),
    ("PATCH", "/programmes/{programme_id}"): Op(ONLY_ADMIN, PROGRAMME, body=constant({"offer_lapse_hours": 48})),
    ("GET", "/programmes/{programme_id}/cohorts"): Op(EVERYONE, PROGRAMME),
    ("POST", "/programmes/{programme_id}/cohorts"): Op(
        ONLY_ADMIN,
        PROGRAMME,
        body=lambda refs: {
            "name": f"Cohort {uuid.uuid4().hex[:8]}",
            "places": 5,
            "max_sessions_per_week": 3,
            "planned_weeks": 52,
        },
    ),
    ("GET", "/cohorts/{cohort_id}"): Op(EVERYONE, PROGRAMME),
    ("PATCH", "/cohorts/{cohort_id}"): Op(ONLY_ADMIN, PROGRAMME, body=constant({"planned_weeks": 40})),
    ("GET", "/programmes/{programme_id}/places"): Op(EVERYONE, PROGRAMME),
    ("GET", "/cohorts/{cohort_id}/waitlist"): Op(STAFF, PROGRAMME),
    # Enrolments: staff of the child's programme.
    ("GET", "/enrolments"): Op(STAFF, PROGRAMME, query=lambda refs: {"child_id": refs["child_id"]}, hidden=200),
    ("GET", "/enrolments/{enrolment_id}"): Op(STAFF, PROGRAMME),
    ("POST", "/enrolments/{enrolment_id}/confirm-offer"): Op(STAFF, PROGRAMME),
    ("POST", "/enrolments/{enrolment_id}/withdraw"): Op(STAFF, PROGRAMME, body=constant({"note": "Moved away."})),
    ("PUT", "/enrolments/{enrolment_id}/priority"): Op(STAFF, PROGRAMME, body=constant({"priority": "high"})),
    ("POST", "/enrolments/{enrolment_id}/end"): Op(STAFF, PROGRAMME, body=constant({"reason": "completed"})),
    ("POST", "/enrolments/{enrolment_id}/move"): Op(
        STAFF, PROGRAMME, body=lambda refs: {"cohort_id": refs["other_cohort_id"]}
    ),
    # Children.
    ("GET", "/children"): Op(CASEWORK, PROGRAMME, query=lambda refs: {"cohort_id": refs["cohort_id"]}, hidden=200),
    ("POST", "/children"): Op(
        STAFF,
        PROGRAMME,
        body=lambda refs: {
            "programme_id": refs["programme_id"],
            "first_name": "Amira",
            "last_name": "Example",
            "date_of_birth": "2012-05-17",
            "district": "Medway",
        },
        # A coordinator naming another programme (or one that does not exist): 403 programme_not_yours.
        hidden={COORDINATOR: 403, ADMIN: 404},
    ),
    ("GET", "/children/{child_id}"): Op(CASEWORK, CASELOAD),
    ("PATCH", "/children/{child_id}"): Op(STAFF, CASELOAD, body=constant({"school": "Oak Hill Academy"})),
    ("POST", "/children/{child_id}/phone-numbers"): Op(
        CASEWORK, CASELOAD, body=constant({"number": "07700 900999", "belongs_to": "carer"})
    ),
    ("DELETE", "/children/{child_id}/phone-numbers/{phone_number_id}"): Op(CASEWORK, CASELOAD),
    ("GET", "/children/{child_id}/subject-access-export"): Op(ONLY_ADMIN, CASELOAD),
    ("POST", "/children/{child_id}/consents"): Op(
        CASEWORK, CASELOAD, body=constant({"channel": "sms_to_child", "granted": False, "given_by": "child"})
    ),
    # Referrals: staff of the child's programme.
    ("GET", "/referrals"): Op(STAFF, PROGRAMME, query=lambda refs: {"child_id": refs["referral_child_id"]}, hidden=200),
    ("POST", "/referrals"): Op(
        STAFF,
        PROGRAMME,
        body=lambda refs: {
            "child_id": refs["unreferred_child_id"],
            "cohort_id": refs["cohort_id"],
            "source": "school",
            "source_name": "Oak Hill Academy",
            "reason": "Repeated missing episodes.",
        },
    ),
    ("GET", "/referrals/{referral_id}"): Op(STAFF, PROGRAMME),
    ("POST", "/referrals/{referral_id}/accept"): Op(STAFF, PROGRAMME),
    ("POST", "/referrals/{referral_id}/decline"): Op(STAFF, PROGRAMME, body=constant({"reason": "Out of area."})),
    # Caseloads.
    ("GET", "/mentors"): Op(STAFF),
    ("PUT", "/enrolments/{enrolment_id}/allocation"): Op(
        STAFF, PROGRAMME, body=lambda refs: {"mentor_id": refs["other_user_id"]}
    ),
    ("GET", "/enrolments/{enrolment_id}/allocations"): Op(STAFF, PROGRAMME),
    # The audit log.
    ("GET", "/audit-events"): Op(ONLY_ADMIN),
    # Sessions.
    ("POST", "/sessions"): Op(CASEWORK, CASELOAD, body=session_body),
    ("GET", "/sessions"): Op(CASEWORK, CASELOAD, query=lambda refs: {"child_id": refs["child_id"]}, hidden=200),
    ("GET", "/sessions/{session_id}"): Op(CASEWORK, CASELOAD),
    ("PATCH", "/sessions/{session_id}"): Op(
        CASEWORK, CASELOAD, body=constant({"location_category": "school"}), if_match=True
    ),
    ("POST", "/sessions/{session_id}/reschedule"): Op(
        CASEWORK,
        CASELOAD,
        body=constant({"planned_start_at": "2026-11-26T17:30:00+00:00", "planned_end_at": "2026-11-26T18:30:00+00:00"}),
        if_match=True,
    ),
    # The register (a one-to-one session's answers 422 once the caller is through: its line follows its status).
    ("PUT", "/sessions/{session_id}/register"): Op(
        CASEWORK,
        CASELOAD,
        body=lambda refs: {"lines": [{"child_id": refs["child_id"], "attendance": "attended"}]},
        if_match=True,
    ),
    # Group series: coordinators of the programme and the series' facilitators; a mentor reads those with a child of
    # their caseload on the roster (a colleague's series answers 404, as a record that does not exist).
    ("POST", "/group-series"): Op(
        CASEWORK,
        PROGRAMME,
        body=lambda refs: {
            "programme_id": refs["programme_id"],
            "name": f"Series {uuid.uuid4().hex[:8]}",
            "capacity": 8,
            "location_category": "school",
            "sessions": [
                {"planned_start_at": "2026-12-08T10:00:00+00:00", "planned_end_at": "2026-12-08T11:00:00+00:00"}
            ],
        },
    ),
    ("GET", "/group-series"): Op(
        CASEWORK, PROGRAMME, query=lambda refs: {"programme_id": refs["programme_id"]}, hidden=200
    ),
    ("GET", "/group-series/{series_id}"): Op(CASEWORK, CASELOAD),
    ("PATCH", "/group-series/{series_id}"): Op(CASEWORK, CASELOAD, body=constant({"capacity": 9}), if_match=True),
    ("POST", "/group-series/{series_id}/members"): Op(
        CASEWORK, CASELOAD, body=lambda refs: {"enrolment_id": refs["enrolment_id"]}
    ),
    ("DELETE", "/group-series/{series_id}/members/{child_id}"): Op(CASEWORK, CASELOAD),
    # Lone working: the session's own mentor only (a coordinator cannot start or close a mentor's check).
    ("POST", "/sessions/{session_id}/lone-working"): Op(frozenset({MENTOR}), CASELOAD, body=constant({})),
    ("POST", "/sessions/{session_id}/lone-working/safe"): Op(frozenset({MENTOR}), CASELOAD),
    ("PUT", "/enrolments/{enrolment_id}/weekly-cap-overrides"): Op(
        STAFF, PROGRAMME, body=constant({"week": "2026-W49", "max_sessions": 4, "reason": "Exclusion week."})
    ),
    ("GET", "/children/{child_id}/session-summary"): Op(CASEWORK, CASELOAD),
    # Weekly patterns.
    ("POST", "/enrolments/{enrolment_id}/patterns"): Op(CASEWORK, CASELOAD, body=constant(PATTERN)),
    ("GET", "/enrolments/{enrolment_id}/patterns"): Op(CASEWORK, CASELOAD),
    ("PUT", "/patterns/{pattern_id}"): Op(CASEWORK, CASELOAD, body=constant(PATTERN), if_match=True),
    ("POST", "/patterns/{pattern_id}/end"): Op(CASEWORK, CASELOAD, if_match=True),
    # Safeguarding alerts: staff of the programme.
    ("GET", "/alerts"): Op(STAFF),
    ("POST", "/alerts/{alert_id}/acknowledge"): Op(
        STAFF, PROGRAMME, body=constant({"note": "Discussed with the DSL."})
    ),
    ("GET", "/alerts/{alert_id}"): Op(STAFF, PROGRAMME),
    ("POST", "/alerts/{alert_id}/resolve"): Op(
        STAFF, PROGRAMME, body=constant({"outcome": "Strategy meeting held; plan in place."})
    ),
    # The duty rota: staff of the programme (an admin names it).
    ("GET", "/duty-rota"): Op(STAFF, PROGRAMME, query=lambda refs: {"programme_id": refs["programme_id"]}),
    ("GET", "/duty-rota/now"): Op(CASEWORK, PROGRAMME, query=lambda refs: {"programme_id": refs["programme_id"]}),
    ("POST", "/duty-rota"): Op(
        STAFF,
        PROGRAMME,
        body=lambda refs: {
            "programme_id": refs["programme_id"],
            "coordinator_user_id": refs["user_id"],
            "starts_at": "2026-12-20T18:00:00+00:00",
            "ends_at": "2026-12-21T08:00:00+00:00",
        },
    ),
    ("PATCH", "/duty-rota/{shift_id}"): Op(STAFF, PROGRAMME, body=constant({"fallback_user_id": None}), if_match=True),
    ("DELETE", "/duty-rota/{shift_id}"): Op(STAFF, PROGRAMME),
    # The offline sync feed.
    ("GET", "/sync"): Op(CASEWORK),
    # Missing episodes and return conversations.
    ("POST", "/children/{child_id}/missing-episodes"): Op(
        CASEWORK, CASELOAD, body=constant({"reported_at": "2026-11-23T09:00:00+00:00", "source": "family"})
    ),
    ("GET", "/children/{child_id}/missing-episodes"): Op(CASEWORK, CASELOAD),
    ("GET", "/missing-episodes/{episode_id}"): Op(CASEWORK, CASELOAD),
    ("PATCH", "/missing-episodes/{episode_id}"): Op(
        CASEWORK, CASELOAD, body=constant({"source": "carer"}), if_match=True
    ),
    ("PUT", "/missing-episodes/{episode_id}/return-conversation"): Op(
        CASEWORK,
        CASELOAD,
        body=constant({"outcome": "offered", "offered_at": "2026-11-23T12:00:00+00:00", "independent": True}),
    ),
    ("GET", "/programmes/{programme_id}/return-conversations"): Op(STAFF, PROGRAMME),
    ("GET", "/programmes/{programme_id}/return-conversations/summary"): Op(
        DASHBOARD, PROGRAMME, query=constant({"since": "2026-01-01", "until": "2026-11-30"})
    ),
    # Wellbeing.
    ("GET", "/instruments"): Op(EVERYONE),
    ("POST", "/children/{child_id}/check-ins"): Op(
        CASEWORK, CASELOAD, body=constant({"instrument": "ons4", "answers": ONS4})
    ),
    ("GET", "/children/{child_id}/check-ins"): Op(CASEWORK, CASELOAD),
    ("GET", "/check-ins/{check_in_id}"): Op(CASEWORK, CASELOAD),
    ("GET", "/children/{child_id}/wellbeing"): Op(CASEWORK, CASELOAD),
    ("POST", "/children/{child_id}/goals"): Op(CASEWORK, CASELOAD, body=constant({"description": "Learn to cook"})),
    ("GET", "/children/{child_id}/goals"): Op(CASEWORK, CASELOAD),
    ("POST", "/goals/{goal_id}/end"): Op(CASEWORK, CASELOAD, body=constant({"status": "achieved"}), if_match=True),
    ("POST", "/goals/{goal_id}/change"): Op(
        CASEWORK, CASELOAD, body=constant({"description": "Go to school more"}), if_match=True
    ),
    ("POST", "/children/{child_id}/check-in-invitations"): Op(CASEWORK, CASELOAD, body=constant({})),
    ("GET", "/children/{child_id}/check-in-invitations"): Op(CASEWORK, CASELOAD),
    ("POST", "/check-in-invitations/{invitation_id}/revoke"): Op(CASEWORK, CASELOAD),
    # The SMS ledger of a session or a check-in link.
    ("GET", "/sessions/{session_id}/messages"): Op(CASEWORK, CASELOAD),
    ("GET", "/check-in-invitations/{invitation_id}/messages"): Op(CASEWORK, CASELOAD),
    # Outcome events: recorded by staff, read by the key worker too.
    ("POST", "/children/{child_id}/outcome-events"): Op(STAFF, CASELOAD, body=constant(CALL_OUT)),
    ("GET", "/children/{child_id}/outcome-events"): Op(CASEWORK, CASELOAD),
    ("DELETE", "/outcome-events/{event_id}"): Op(STAFF, CASELOAD),
    ("POST", "/programmes/{programme_id}/outcome-events/import"): Op(
        STAFF,
        PROGRAMME,
        query=constant({"mode": "all_or_nothing"}),
        csv=OUTCOME_CSV,
    ),
    ("GET", "/programmes/{programme_id}/outcome-settings"): Op(STAFF, PROGRAMME),
    ("PUT", "/programmes/{programme_id}/outcome-settings"): Op(
        ONLY_ADMIN, PROGRAMME, body=constant({"baseline_months": 12})
    ),
    # Aggregates for commissioners (and staff): never a child.
    ("GET", "/programmes/{programme_id}/cost-benefit"): Op(
        DASHBOARD, PROGRAMME, query=constant({"price_year": "2024/25"})
    ),
    ("GET", "/programmes/{programme_id}/dashboards/places"): DASHBOARD_ROW,
    ("GET", "/programmes/{programme_id}/dashboards/waitlist"): DASHBOARD_ROW,
    ("GET", "/programmes/{programme_id}/dashboards/mentors"): DASHBOARD_ROW,
    ("GET", "/programmes/{programme_id}/dashboards/delivery"): DASHBOARD_ROW,
    ("GET", "/programmes/{programme_id}/dashboards/group-delivery"): DASHBOARD_ROW,
    ("GET", "/programmes/{programme_id}/dashboards/wellbeing"): DASHBOARD_ROW,
    ("GET", "/programmes/{programme_id}/dashboards/outcomes"): DASHBOARD_ROW,
    ("GET", "/programmes/{programme_id}/dashboards/return-conversations"): DASHBOARD_ROW,
    ("GET", "/programmes/{programme_id}/dashboards/time-to-acknowledge"): DASHBOARD_ROW,
}

# Known holes: (operation, caller, record) -> why. Each is an xfail(strict=True) case, so fixing the hole
# fails the test until its entry here is removed.
KNOWN_HOLES: dict[tuple[tuple[str, str], str, str], str] = {}


def records_for(op: Op) -> tuple[str, ...]:
    if op.names == NOTHING:
        return ("any",)
    if op.names == CASELOAD:
        return ("own", "sibling", "foreign", "missing")
    return ("own", "foreign", "missing")


def may_reach(caller: str, op: Op, record: str) -> bool:
    """Whether a caller the role gate lets through may reach the record (the object-level rule)."""
    if record == "any":
        return True
    if record == "missing":
        return False
    if caller == ADMIN:
        return True
    if record == "foreign":
        return False
    if op.names == CASELOAD:
        if caller == MENTOR:
            return record == "own"
        return caller == COORDINATOR
    return True


def expected(op_key: tuple[str, str], caller: str, record: str) -> str:
    op = MATRIX[op_key]
    if op.roles == PUBLIC:
        return "public"
    if caller not in SIGNED_IN:
        return "unauthenticated"
    if caller not in op.roles:
        return "forbidden"
    return "allowed" if may_reach(caller, op, record) else "hidden"


def cases() -> list[Any]:
    params = []
    for op_key, op in MATRIX.items():
        for caller in CALLERS:
            for record in records_for(op):
                marks = []
                hole = KNOWN_HOLES.get((op_key, caller, record))
                if hole:
                    marks.append(pytest.mark.xfail(strict=True, reason=hole))
                case_id = f"{op_key[0]} {op_key[1]} | {caller} | {record}"
                params.append(pytest.param(op_key, caller, record, id=case_id, marks=marks))
    return params


def request(authz: AuthzCall, op_key: tuple[str, str], caller: str, refs: Refs, op: Op | None = None) -> Any:
    method, template = op_key
    op = op or MATRIX[op_key]
    path = template.format(**{name: refs[name] for name in re.findall(r"{(\w+)}", template)})
    headers = dict(authz.world.headers[caller])
    if op.if_match:
        headers["If-Match"] = '"1"'
    kwargs: dict[str, Any] = {"headers": headers}
    if op.query:
        kwargs["query_string"] = op.query(refs)
    if op.csv is not None:
        kwargs |= {"data": op.csv, "content_type": "text/csv"}
    elif op.body is not None:
        kwargs["json"] = op.body(refs)
    elif method in WRITE_METHODS:
        kwargs["json"] = {}
    response = authz.client.open(path, method=method, **kwargs)
    # What was sent, for sent_ids (the test client has consumed the request's body by now).
    response.sent_text = path + json.dumps([kwargs.get("query_string"), kwargs.get("json"), kwargs.get("data")])
    return response


def sent_ids(response: Any, refs: Refs) -> set[str]:
    """The world's ids the request itself carried (in its URL or body): an answer may echo those back."""
    sent = getattr(response, "sent_text", response.request.url)
    return {value for value in refs.values() if value in sent}


def without_sent_ids(response: Any, refs: Refs) -> Any:
    """The answer's body with the ids the caller sent replaced by their names (echoing input is no leak), less the
    request's own id (every request has a new one)."""
    text = response.get_data(as_text=True)
    for name, value in refs.items():
        text = text.replace(value, f"<{name}>")
    if not response.is_json:
        return text
    body = json.loads(text)
    if isinstance(body, dict):
        body.pop("request_id", None)
    return body


@pytest.mark.parametrize(("op_key", "caller", "record"), cases())
def test_the_matrix(authz: AuthzCall, op_key: tuple[str, str], caller: str, record: str) -> None:
    op = MATRIX[op_key]
    refs = authz.world.refs(record if record != "any" else "own")
    outcome = expected(op_key, caller, record)
    refusal_may_write = outcome == "allowed" or op.records_refusals
    before = None if refusal_may_write else database_fingerprint(authz.connection)

    response = request(authz, op_key, caller, refs)
    status, body = response.status_code, response.get_data(as_text=True)

    if outcome == "public":
        assert status == op.public_status, body
    elif outcome == "unauthenticated":
        assert status == 401, body
        assert response.json["reason"] in {"access_token_invalid", "authentication_required"}, body
    elif outcome == "forbidden":
        assert (status, response.json) == (403, FORBIDDEN)
    elif outcome == "allowed":
        if op_key[0] == "GET":
            assert status == 200, body
        else:
            assert status not in {401, 403, 404}, body
    else:
        hidden = op.hidden if isinstance(op.hidden, int) else op.hidden[caller]
        assert status == hidden, f"{caller} reached a {record} record: {status} {body}"
        if record != "missing":
            missing_refs = authz.world.refs("missing")
            nonexistent = request(authz, op_key, caller, missing_refs)
            assert (status, without_sent_ids(response, refs)) == (
                nonexistent.status_code,
                without_sent_ids(nonexistent, missing_refs),
            ), "a record the caller may not reach must look exactly like one that does not exist"

    if before is not None:
        assert database_fingerprint(authz.connection) == before, f"a refused call ({status}) wrote to the database"

    if caller in SIGNED_IN:
        leaked = {value for value in authz.world.invisible_ids(caller) - sent_ids(response, refs) if value in body}
        assert not leaked, f"the answer to {caller} names records it may not see: {sorted(leaked)}"


# Records named in a body or a query next to a record the caller may reach: the other one must be checked
# too. (operation, a variant of its row if the body differs, the refs borrowed from the other record, and
# who tries it against which other record.)
@dataclass(frozen=True)
class Mixed:
    op_key: tuple[str, str]
    borrowed: tuple[str, ...]
    tries: tuple[tuple[str, str], ...]
    op: Op | None = None


STAFF_TRIES = ((COORDINATOR, "foreign"),)
CASEWORK_TRIES = ((COORDINATOR, "foreign"), (MENTOR, "sibling"), (MENTOR, "foreign"))
MIXED: dict[str, Mixed] = {
    "allocating another programme's mentor": Mixed(
        ("PUT", "/enrolments/{enrolment_id}/allocation"), ("other_user_id",), STAFF_TRIES
    ),
    "moving a child into another programme's cohort": Mixed(
        ("POST", "/enrolments/{enrolment_id}/move"), ("other_cohort_id",), STAFF_TRIES
    ),
    "referring a child to another programme's cohort": Mixed(("POST", "/referrals"), ("cohort_id",), STAFF_TRIES),
    "referring another programme's child to one's own cohort": Mixed(
        ("POST", "/referrals"), ("unreferred_child_id",), STAFF_TRIES
    ),
    "removing another child's phone number through one's own child": Mixed(
        ("DELETE", "/children/{child_id}/phone-numbers/{phone_number_id}"), ("phone_number_id",), CASEWORK_TRIES
    ),
    "slipping another child into a group session": Mixed(
        ("POST", "/sessions"),
        ("second_enrolment_id",),
        CASEWORK_TRIES,
        Op(
            CASEWORK,
            CASELOAD,
            body=lambda refs: (
                session_body(refs)
                | {"kind": "group", "enrolment_ids": [refs["enrolment_id"], refs["second_enrolment_id"]]}
            ),
        ),
    ),
    "naming another programme's mentor to lead a session": Mixed(
        ("POST", "/sessions"),
        ("other_user_id",),
        STAFF_TRIES,
        Op(CASEWORK, CASELOAD, body=lambda refs: session_body(refs) | {"mentor_id": refs["other_user_id"]}),
    ),
    "linking a check-in to another child's session": Mixed(
        ("POST", "/children/{child_id}/check-ins"),
        ("session_id",),
        CASEWORK_TRIES,
        Op(CASEWORK, CASELOAD, body=lambda refs: CHECK_IN | {"session_id": refs["session_id"]}),
    ),
    "linking an outcome event to another child's missing episode": Mixed(
        ("POST", "/children/{child_id}/outcome-events"),
        ("episode_id",),
        STAFF_TRIES,
        Op(
            STAFF,
            CASELOAD,
            body=lambda refs: {
                "event_type": "missing_episode",
                "occurred_on": "2026-11-22",
                "source": "police",
                "missing_episode_id": refs["episode_id"],
            },
        ),
    ),
    "a dashboard of one's own programme filtered to another's cohort": Mixed(
        ("GET", "/programmes/{programme_id}/dashboards/places"),
        ("cohort_id",),
        ((COORDINATOR, "foreign"), (COMMISSIONER, "foreign")),
        Op(DASHBOARD, PROGRAMME, query=lambda refs: {"cohort_id": refs["cohort_id"]}),
    ),
    "the cost-benefit estimate of one's own programme for another's cohort": Mixed(
        ("GET", "/programmes/{programme_id}/cost-benefit"),
        ("cohort_id",),
        ((COORDINATOR, "foreign"), (COMMISSIONER, "foreign")),
        Op(DASHBOARD, PROGRAMME, query=lambda refs: {"price_year": "2024/25", "cohort_id": refs["cohort_id"]}),
    ),
    "children filtered by another programme's mentor": Mixed(
        ("GET", "/children"),
        ("user_id",),
        ((COORDINATOR, "foreign"), (MENTOR, "sibling")),
        Op(CASEWORK, query=lambda refs: {"mentor_id": refs["user_id"]}),
    ),
}


def mixed_cases() -> list[Any]:
    return [
        pytest.param(name, caller, other, id=f"{name} | {caller} | {other}")
        for name, mixed in MIXED.items()
        for caller, other in mixed.tries
    ]


@pytest.mark.parametrize(("name", "caller", "other"), mixed_cases())
def test_a_record_named_beside_one_the_caller_may_reach_is_checked_too(
    authz: AuthzCall, name: str, caller: str, other: str
) -> None:
    mixed = MIXED[name]
    own, elsewhere = authz.world.refs("own"), authz.world.refs(other)
    own = own | {"second_enrolment_id": authz.world.refs("own")["enrolment_id"]}
    elsewhere = elsewhere | {"second_enrolment_id": elsewhere["enrolment_id"]}
    refs = own | {key: elsewhere[key] for key in mixed.borrowed}
    missing_refs = own | {key: str(uuid.uuid4()) for key in mixed.borrowed}
    before = database_fingerprint(authz.connection)

    response = request(authz, mixed.op_key, caller, refs, mixed.op)
    nonexistent = request(authz, mixed.op_key, caller, missing_refs, mixed.op)

    body = response.get_data(as_text=True)
    assert (response.status_code, without_sent_ids(response, refs)) == (
        nonexistent.status_code,
        without_sent_ids(nonexistent, missing_refs),
    ), f"{caller}: another record named in the request answers differently from a missing one: {body}"
    if mixed.op_key[0] != "GET":
        assert response.status_code >= 400, body
        assert database_fingerprint(authz.connection) == before, "a refused call wrote to the database"
    leaked = {value for value in authz.world.invisible_ids(caller) - sent_ids(response, refs) if value in body}
    assert not leaked, f"the answer to {caller} names records it may not see: {sorted(leaked)}"


@pytest.mark.parametrize("role", ["admin", "coordinator", "commissioner"])
def test_a_coordinator_cannot_create_anyone_but_a_mentor(authz: AuthzCall, role: str) -> None:
    """Function-level authorisation (OWASP API5) inside an operation a coordinator may call."""
    refs = authz.world.refs("own")
    body = MATRIX[("POST", "/users")].body(refs) | {"role": role}  # type: ignore[misc]
    if role == "admin":
        del body["programme_id"]
    before = database_fingerprint(authz.connection)

    response = authz.client.post("/users", json=body, headers=authz.world.headers[COORDINATOR])

    assert response.status_code == 403, response.json
    assert database_fingerprint(authz.connection) == before


USER_WRITES = [
    ("PATCH", "/users/{user_id}", {"display_name": "Renamed", "is_active": False}),
    ("POST", "/users/{user_id}/revoke-sign-ins", None),
]


@pytest.mark.parametrize("who", ["themself", "their commissioner", "the admin"])
@pytest.mark.parametrize("operation", USER_WRITES, ids=[f"{method} {path}" for method, path, _ in USER_WRITES])
def test_a_coordinator_manages_only_the_mentors_of_their_programme(
    authz: AuthzCall, operation: tuple[str, str, Any], who: str
) -> None:
    side = authz.world.sides["A"]
    user = {"themself": side.coordinator, "their commissioner": side.commissioner, "the admin": authz.world.admin}[who]
    method, template, body = operation
    before = database_fingerprint(authz.connection)

    response = authz.client.open(
        template.format(user_id=user.id), method=method, json=body, headers=authz.world.headers[COORDINATOR]
    )
    nonexistent = authz.client.open(
        template.format(user_id=uuid.uuid4()), method=method, json=body, headers=authz.world.headers[COORDINATOR]
    )

    assert response.status_code == 404, response.json
    assert {**response.json, "request_id": None} == {**nonexistent.json, "request_id": None}
    assert database_fingerprint(authz.connection) == before


def test_the_mixed_cases_name_real_operations() -> None:
    assert {mixed.op_key for mixed in MIXED.values()} <= MATRIX.keys()


def live_operations(authz_world_run: Any) -> set[tuple[str, str]]:
    api = authz_world_run.app.extensions["flask-smorest"]["apis"][""]["ext_obj"]
    document = api.spec.to_dict()
    return {
        (method.upper(), path)
        for path, operations in document["paths"].items()
        for method in operations
        if method in {"get", "post", "put", "patch", "delete"}
    }


def test_every_operation_of_the_live_openapi_document_has_a_row_in_the_matrix(authz_world_run: Any) -> None:
    operations = live_operations(authz_world_run)

    assert sorted(operations - MATRIX.keys()) == [], "add a row to MATRIX: who may call it, what it names"
    assert sorted(MATRIX.keys() - operations) == [], "the matrix has rows for operations that no longer exist"


def test_no_row_lets_a_commissioner_reach_child_level_data() -> None:
    child_level = [key for key, op in MATRIX.items() if op.names == CASELOAD and COMMISSIONER in op.roles]

    assert child_level == []


def test_every_operation_the_document_marks_public_is_public_in_the_matrix(authz_world_run: Any) -> None:
    api = authz_world_run.app.extensions["flask-smorest"]["apis"][""]["ext_obj"]
    document = api.spec.to_dict()
    marked_public = {
        (method.upper(), path)
        for path, operations in document["paths"].items()
        for method, operation in operations.items()
        if isinstance(operation, dict) and operation.get("security") == []
    }

    assert marked_public == {key for key, op in MATRIX.items() if op.roles == PUBLIC}


# Routes outside the OpenAPI document, each with the reason it is not a JSON API operation and where its
# authorisation is proved. A new route must be added to the document or here.
CHECK_IN_PAGE = "the child's check-in page: its one-time link is the credential (tests/api/test_check_in_page.py)"
NOT_IN_THE_DOCUMENT = {
    ("GET", "/openapi.json"): "the document itself",
    ("GET", "/redoc"): "the document's reader",
    ("GET", "/docs"): "the document's reader",
    ("GET", "/docs/static/<path:filename>"): "the document's readers' static files",
    ("GET", "/static/<path:filename>"): "static files",
    ("GET", "/c/static/<path:filename>"): "the check-in page's static files",
    ("GET", "/c/<token>"): CHECK_IN_PAGE,
    ("POST", "/c/<token>"): CHECK_IN_PAGE,
    ("GET", "/dashboard/static/<path:filename>"): "the dashboard page's static files",
    ("GET", "/dashboard/sign-in"): "the dashboard page's sign-in form (public)",
    ("POST", "/dashboard/sign-in"): "the dashboard page's sign-in form (public)",
    ("POST", "/dashboard/sign-out"): "the dashboard page's sign-out (its own sign-in only: tests/api)",
    ("GET", "/dashboard/programmes/<uuid:programme_id>"): "the dashboard page: test_the_dashboard_page below",
    ("GET", "/app"): "the mentors' app's shell: public static code, no data (tests/api/test_mentors_app.py)",
    ("GET", "/app/manifest.webmanifest"): "the mentors' app's manifest (public)",
    ("GET", "/app/sw.js"): "the mentors' app's service worker (public code)",
    ("GET", "/app/static/<path:filename>"): "the mentors' app's static files (public code)",
    ("GET", "/metrics"): "Prometheus' text format, behind a token of its own (tests/api/test_metrics.py)",
}


def test_every_route_outside_the_document_is_accounted_for(authz_world_run: Any) -> None:
    app = authz_world_run.app
    documented = {(method, re.sub(r"{(\w+)}", r"\1", path)) for method, path in live_operations(authz_world_run)}
    routes = {(method, rule.rule) for rule in app.url_map.iter_rules() for method in rule.methods - {"HEAD", "OPTIONS"}}
    undocumented = {
        (method, path)
        for method, path in routes
        if (method, re.sub(r"<(?:\w+:)?(\w+)>", r"\1", path)) not in documented
    }

    assert undocumented == NOT_IN_THE_DOCUMENT.keys()


PAGE_ROW = Op(DASHBOARD, PROGRAMME)


def page_credential(authz: AuthzCall, caller: str) -> str:
    """The dashboard page's cookie for the caller: a page sign-in of the same user as their API token's."""
    token = authz.world.headers[caller].get("Authorization", "").removeprefix("Bearer ")
    if caller not in SIGNED_IN:
        return "not-a-credential" if token else ""
    user = authz.db_session.get_one(AppUser, uuid.UUID(jwt.decode(token, options={"verify_signature": False})["sub"]))
    signed_in = auth_sessions.start_page_sign_in(
        authz.db_session, user=user, secret_key=SECRET_KEY, minutes=15, now=DEFAULT_NOW
    )
    return signed_in.credential


@pytest.mark.parametrize("record", ["own", "foreign", "missing"])
@pytest.mark.parametrize("caller", CALLERS)
def test_the_dashboard_page(authz: AuthzCall, caller: str, record: str) -> None:
    """The commissioners' HTML dashboard (signed in by a cookie of its own) follows the same rules as the JSON one."""
    refs = authz.world.refs(record)
    credential = page_credential(authz, caller)
    if credential:
        authz.client.set_cookie(SIGN_IN_COOKIE, credential, path="/dashboard")
    before = database_fingerprint(authz.connection)

    response = authz.client.get(f"/dashboard/programmes/{refs['programme_id']}")

    page = response.get_data(as_text=True)
    if caller not in SIGNED_IN:
        assert response.status_code == 401
    elif caller not in PAGE_ROW.roles:
        assert response.status_code == 403
    elif may_reach(caller, PAGE_ROW, record):
        assert response.status_code == 200
    else:
        assert response.status_code == 404
    if response.status_code != 200:
        assert database_fingerprint(authz.connection) == before
    if caller in SIGNED_IN:
        leaked = {value for value in authz.world.invisible_ids(caller) - sent_ids(response, refs) if value in page}
        assert not leaked, f"the page shown to {caller} names records it may not see: {sorted(leaked)}"
