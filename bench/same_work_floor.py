"""The same-work floor for bench/api_load.py: Flask + SQLAlchemy Core + psycopg, running the statements the API must.

The product owner's target (issue 20) measures the API against this app, not the bare floor (floor_app.py). It takes
the request the API takes (the Bearer token, the phone's body, the Idempotency-Key), looks up and checks what the API
looks up and checks, and runs the same statements, by kind and table, in one transaction with one commit. No ORM, no
schema library, no framework beyond Flask; the JSON answers have the API's shape. What the API spends beyond this app
is its ORM, its schemas and our own layers, which we control.

    POST /same-work/sessions   log a session, as POST /sessions:
                                 1  SELECT auth_session (with its app_user): the token's sign-in, still live
                                 2  INSERT idempotency_record ... ON CONFLICT DO NOTHING: claim the key
                                 3  SELECT enrolment ... FOR UPDATE: lock the place, with its cohort, programme, child's
                                    reference and current key worker
                                 4  SELECT mentoring_session: is the phone-made id taken?
                                 5  SELECT mentoring_session: a copy of it (the child, this mentor, this start)?
                                 6  SELECT session_attendee: the child's week for the cap (with any override)
                                 7-10  INSERT mentoring_session, session_attendee, change_event, audit_event
                                 11 UPDATE idempotency_record: the answer to replay; then the one commit
    GET  /same-work/children   the caller's caseload, as GET /children: the sign-in (1), the count, the page, and one
                               audit_event per child listed, committed
    GET  /same-work/healthz    200

The rules between the statements are the API's, written out here in a few lines of plain Python each (who may plan
for the place, active, group-only cohorts, the planned period, the programme's activities, not logged before it
starts, the weekly cap). A refusal answers the API's status and `reason`, with less detail.

It writes into its own copies of the written tables (schema `same_work`, made like the bare floor's by
`floor_app.create_floor_tables`), and reads everything else (sign-ins, users, places, the caseload) from the API's
tables. Writing into copies keeps the API's week counts, duplicate checks and sync feed free of the floor's sessions
(so both sides can log the same child's same week), and the copies have the same columns, indexes, checks and foreign
keys, so each insert costs what the API's does. The copies' week counts and duplicate checks read the copies, which
hold only this floor's sessions.

`bench/same_work_check.py` checks, on one request of each, that this app's statements still match the API's.

gunicorn serves it as `same_work_floor:app` (with `--chdir bench`), reading BENCH_FLOOR_DATABASE_URL and
BENCH_SECRET_KEY (the API's, to check its tokens).
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import uuid
from collections.abc import Callable
from dataclasses import dataclass, fields
from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import jwt
from flask import Flask, Response, request
from floor_app import caseload_items  # bench/ is on the path, as for every bench module
from sqlalchemy import (
    BigInteger,
    Connection,
    Integer,
    MetaData,
    Table,
    Text,
    and_,
    bindparam,
    cast,
    create_engine,
    func,
    insert,
    literal,
    null,
    select,
    union_all,
    update,
)
from sqlalchemy.dialects.postgresql import insert as pg_insert

SCHEMA = "same_work"
PREFIX = "/same-work"
WRITTEN = ("mentoring_session", "session_attendee", "change_event", "audit_event", "idempotency_record")
OPEN_STATUSES = ("waitlisted", "offered", "active")
HOLDS_A_PLACE = ("booked", "attended", "did_not_attend")
STILL_ON = ("planned", "completed", "did_not_attend")
CASEWORK = ("admin", "coordinator", "mentor")
# As the API's default MFA_REQUIRED_ROLES: a sign-in without a second factor opens nothing for these roles (nor for
# anyone who enrolled one).
MFA_REQUIRED_ROLES = frozenset({"admin", "coordinator"})
KEY_PATTERN = re.compile(r"^[\x21-\x7e]{1,100}$")
EVENING_STARTS = time(17, 0)
# A new session's line of the register: what its status already says (a group session's stays booked).
FIRST_LINE = {"planned": "booked", "completed": "attended", "did_not_attend": "did_not_attend"}
CURRENT_TXID = cast(cast(func.pg_current_xact_id(), Text), BigInteger)


class Refused(Exception):
    """A refusal, answered with the API's status and reason (in the API's error envelope, less its detail)."""

    def __init__(self, status: int, reason: str, message: str = "") -> None:
        super().__init__(reason)
        self.status, self.reason, self.message = status, reason, message or reason


@dataclass(frozen=True)
class Tables:
    """The API's tables this app reads (schema public) and its copies of those it writes (schema same_work)."""

    auth_session: Table
    app_user: Table
    enrolment: Table
    cohort: Table
    programme: Table
    child: Table
    allocation: Table
    weekly_cap_override: Table
    mentoring_session: Table
    session_attendee: Table
    change_event: Table
    audit_event: Table
    idempotency_record: Table

    @classmethod
    def reflect(cls, connection: Connection) -> Tables:
        metadata = MetaData()
        return cls(
            **{
                field.name: Table(
                    field.name,
                    metadata,
                    schema=SCHEMA if field.name in WRITTEN else None,
                    autoload_with=connection,
                    resolve_fks=False,
                )
                for field in fields(cls)
            }
        )


@dataclass(frozen=True)
class Caller:
    user_id: uuid.UUID
    role: str
    programme_id: uuid.UUID | None


def _iso(value: datetime | date | None) -> str | None:
    return value.isoformat() if value is not None else None


def _json(payload: object, status: int = 200, headers: dict[str, str] | None = None) -> Response:
    response = Response(json.dumps(payload), status=status, mimetype="application/json")
    response.headers.update(headers or {})
    return response


def _refusal(refused: Refused) -> Response:
    return _json(
        {"code": refused.status, "status": "", "message": refused.message, "reason": refused.reason, "errors": {}},
        refused.status,
    )


def _aware(value: Any, name: str) -> datetime:
    try:
        parsed = datetime.fromisoformat(value)
    except (TypeError, ValueError):
        raise Refused(422, "invalid_request", f"{name}: not a date-time") from None
    if parsed.tzinfo is None:
        raise Refused(422, "invalid_request", f"{name}: not an aware date-time")
    return parsed.astimezone(UTC)


def create_same_work_app(database_url: str, secret_key: str) -> Flask:
    app = Flask(__name__)
    engine = create_engine(database_url)
    app.extensions["floor.engine"] = engine
    with engine.connect() as connection:
        t = Tables.reflect(connection)
    engine.dispose()  # requests get connections of their own (the bench's --profile reads their backends' CPU)
    # Every statement is built once, its values bound at each call, as a hand-written app at the limit would.
    q = Statements.build(t)

    def authenticate(connection: Connection, roles: tuple[str, ...]) -> Caller:
        """As api/accounts/auth_sessions.authenticate: the token's signature and expiry, then its sign-in (one
        statement, with its user): live, an API sign-in, an active user, a second factor if their role needs one."""
        scheme, _, token = request.headers.get("Authorization", "").partition(" ")
        try:
            claims = jwt.decode(
                token.strip() if scheme.lower() == "bearer" else "",
                secret_key,
                algorithms=["HS256"],
                options={"require": ["sub", "sid", "exp"], "verify_exp": False, "verify_iat": False},
            )
            sign_in_id = uuid.UUID(claims["sid"])
        except (jwt.PyJWTError, ValueError):
            raise Refused(401, "access_token_invalid") from None
        if claims["exp"] <= datetime.now(UTC).timestamp():
            raise Refused(401, "access_token_invalid")
        row = connection.execute(q.sign_in, {"sign_in_id": sign_in_id}).first()
        if row is None or row.revoked_at is not None or not row.is_active or row.kind != "api":
            raise Refused(401, "access_token_invalid")
        if row.second_factor_at is None and (row.mfa_enrolled_at is not None or row.role in MFA_REQUIRED_ROLES):
            raise Refused(401, "mfa_sign_in_required")
        if row.role not in roles:
            raise Refused(403, "permission_denied")
        return Caller(row.id, row.role, row.programme_id)

    def lock_place(connection: Connection, caller: Caller, enrolment_id: uuid.UUID) -> Any:
        """As api/sessions/queries.lock_places: the enrolment locked, with what planning for it needs."""
        place = connection.execute(q.lock_place, {"enrolment_id": enrolment_id}).first()
        may_plan = place is not None and (
            caller.role == "admin"
            or (caller.role == "coordinator" and place.programme_id == caller.programme_id)
            or (caller.role == "mentor" and place.key_worker_id == caller.user_id)
        )
        if not may_plan:
            raise Refused(404, "enrolment_not_found")
        if place.status != "active":
            raise Refused(409, "enrolment_not_active")
        return place

    @app.get(f"{PREFIX}/healthz")
    def healthz() -> Response:
        return _json({"status": "ok"})

    @app.post(f"{PREFIX}/sessions")
    def log_session() -> Response:
        now = datetime.now(UTC)
        body = request.get_json(silent=True)
        key = request.headers.get("Idempotency-Key")
        try:
            if not isinstance(body, dict):
                raise Refused(422, "invalid_request")
            wanted = _session_wanted(body)
            with engine.begin() as connection:
                caller = authenticate(connection, CASEWORK)
                record_id = None
                if key is not None:
                    claimed = _claim(connection, q, caller, key, now)
                    if isinstance(claimed, Response):
                        return claimed
                    record_id = claimed
                status, answer, headers = _create_session(connection, q, caller, wanted, lock_place, now)
                if record_id is not None:
                    connection.execute(
                        q.complete,
                        {"record_id": record_id, "answer_status": status, "answer_body": answer, "answered_at": now},
                    )
            return _json(answer, status, headers)
        except Refused as refused:
            return _refusal(refused)

    @app.get(f"{PREFIX}/children")
    def caseload() -> Response:
        try:
            limit = min(max(int(request.args.get("page_size", 10)), 1), 100)
            page = max(int(request.args.get("page", 1)), 1)
        except ValueError:
            return _refusal(Refused(422, "invalid_request"))
        now = datetime.now(UTC)
        child = t.child.c
        try:
            with engine.begin() as connection:
                caller = authenticate(connection, CASEWORK)
                count, listing = q.caseload[caller.role]
                values = {"user_id": caller.user_id, "programme_id": caller.programme_id}
                total = connection.scalar(count, values) or 0
                window = {"offset": (page - 1) * limit, "limit": limit}
                rows = [row._mapping for row in connection.execute(listing, values | window)]
                if rows:
                    # As the API audits every listing of children (child.list): the caller and each child listed.
                    audit = {
                        "occurred_at": now,
                        "actor_user_id": caller.user_id,
                        "actor_role": caller.role,
                        "action": "child.list",
                        "record_type": "child",
                    }
                    connection.execute(
                        q.insert_audit,
                        [
                            audit | {"id": uuid.uuid4(), "record_id": row[child.id], "child_id": row[child.id]}
                            for row in rows
                        ],
                    )
        except Refused as refused:
            return _refusal(refused)
        children = caseload_items(t, rows)
        pages = max(1, -(-total // limit))
        pagination = {"total": total, "total_pages": pages, "first_page": 1, "last_page": pages, "page": page}
        if page > 1:
            pagination["previous_page"] = page - 1
        if page < pages:
            pagination["next_page"] = page + 1
        return _json(children, 200, {"X-Pagination": json.dumps(pagination)})

    return app


@dataclass(frozen=True)
class SessionWanted:
    """The phone's body, read by hand (the API's schema checks more shapes; every one the bench sends is valid)."""

    id: uuid.UUID
    enrolment_id: uuid.UUID
    kind: str
    location_category: str
    status: str
    planned_start_at: datetime
    planned_end_at: datetime
    actual_duration_minutes: int | None
    activities: list[str] | None
    notes: str | None


def _session_wanted(body: dict[str, Any]) -> SessionWanted:
    try:
        enrolment_ids = body["enrolment_ids"]
        if body.get("kind") == "group" or len(enrolment_ids) != 1:
            # This floor logs one-to-one and phone sessions, what the bench compares; a group is the API's alone.
            raise Refused(422, "invalid_session", "one enrolment, not a group session")
        wanted = SessionWanted(
            id=uuid.UUID(body["id"]) if body.get("id") else uuid.uuid4(),
            enrolment_id=uuid.UUID(enrolment_ids[0]),
            kind=body["kind"],
            location_category=body["location_category"],
            status=body.get("status", "planned"),
            planned_start_at=_aware(body["planned_start_at"], "planned_start_at"),
            planned_end_at=_aware(body["planned_end_at"], "planned_end_at"),
            actual_duration_minutes=body.get("actual_duration_minutes"),
            activities=body.get("activities"),
            notes=body.get("notes"),
        )
    except (KeyError, TypeError, ValueError):
        raise Refused(422, "invalid_request") from None
    if wanted.status not in FIRST_LINE or wanted.kind not in ("one_to_one", "phone_video"):
        raise Refused(422, "invalid_request")
    length = wanted.planned_end_at - wanted.planned_start_at
    if length <= timedelta(0) or length > timedelta(hours=12):
        raise Refused(422, "invalid_session")
    return wanted


def _claim(connection: Connection, q: Statements, caller: Caller, key: str, now: datetime) -> uuid.UUID | Response:
    """As api/idempotency: claim the key (the answer is stored with the write), or replay the first answer."""
    if not KEY_PATTERN.match(key):
        raise Refused(422, "invalid_idempotency_key")
    fingerprint = hashlib.sha256(
        request.method.encode() + b" " + request.path.encode() + b"\n" + request.get_data()
    ).hexdigest()
    row = {"id": uuid.uuid4(), "user_id": caller.user_id, "key": key, "request_fingerprint": fingerprint}
    claimed = connection.scalar(q.claim, row | {"created_at": now})
    if claimed is not None:
        return uuid.UUID(str(claimed))
    existing = connection.execute(q.claimed, {"user_id": caller.user_id, "key": key}).one()
    if existing.request_fingerprint != fingerprint:
        raise Refused(422, "idempotency_key_reused")
    if existing.response_status is None:
        raise Refused(409, "request_in_progress")
    return _json(existing.response_body, existing.response_status, {"Idempotent-Replayed": "true"})


def _create_session(
    connection: Connection,
    q: Statements,
    caller: Caller,
    wanted: SessionWanted,
    lock_place: Callable[[Connection, Caller, uuid.UUID], Any],
    now: datetime,
) -> tuple[int, dict[str, Any], dict[str, str]]:
    """As api/sessions/service.create_session for one child: lock, check, count, write; the answer and its ETag."""
    place = lock_place(connection, caller, wanted.enrolment_id)
    if place.cohort_kind == "group_only":
        raise Refused(422, "group_only_enrolment")
    # Under the place's lock, so a retry racing its first create finds it (409).
    if connection.scalar(q.session_with_id, {"session_id": wanted.id}) is not None:
        raise Refused(409, "session_already_exists")
    unknown = set(wanted.activities or []) - set(place.session_activities or [])
    logs_delivery = any(v is not None for v in (wanted.actual_duration_minutes, wanted.activities, wanted.notes))
    if unknown or (logs_delivery and wanted.status != "completed"):
        raise Refused(422, "invalid_session")
    if wanted.status in ("completed", "did_not_attend") and now < wanted.planned_start_at:
        raise Refused(422, "session_not_started")
    zone = ZoneInfo(place.time_zone)
    local = wanted.planned_start_at.astimezone(zone)
    if (place.started_at is not None and local.date() < place.started_at.astimezone(zone).date()) or (
        place.planned_end_on is not None and local.date() > place.planned_end_on
    ):
        raise Refused(422, "session_outside_enrolment")
    mentor_id = caller.user_id if caller.role == "mentor" else place.key_worker_id
    if mentor_id is None:
        raise Refused(422, "invalid_session")
    copy = connection.execute(
        q.copy_of_session,
        {"child_id": place.child_id, "mentor_id": mentor_id, "planned_start_at": wanted.planned_start_at},
    ).first()
    if copy is not None:
        raise Refused(409, "duplicate_session")
    year, week_number, weekday = local.isocalendar()
    week, is_evening, is_weekend = f"{year}-W{week_number:02d}", local.time() >= EVENING_STARTS, weekday >= 6
    # The child's week, counted from the register lines that hold a place, with any override for the place.
    in_week, max_sessions = 0, place.max_sessions_per_week
    week_values = {"child_id": place.child_id, "enrolment_id": place.id, "week": week}
    for count, override_max in connection.execute(q.week, week_values):
        in_week += count
        max_sessions = override_max if override_max is not None else max_sessions
    if in_week + 1 > max_sessions:
        raise Refused(409, "weekly_session_cap_reached")
    attendance = FIRST_LINE[wanted.status]
    session = {
        "id": wanted.id,
        "programme_id": place.programme_id,
        "mentor_id": mentor_id,
        "kind": wanted.kind,
        "location_category": wanted.location_category,
        "status": wanted.status,
        "planned_start_at": wanted.planned_start_at,
        "planned_end_at": wanted.planned_end_at,
        "local_week": week,
        "actual_duration_minutes": wanted.actual_duration_minutes,
        "activities": wanted.activities,
        "notes": wanted.notes,
        "version": 1,
        "created_at": now,
        "created_by_user_id": caller.user_id,
        "updated_at": now,
        "updated_by_user_id": caller.user_id,
    }
    connection.execute(q.insert_session, session)
    connection.execute(
        q.insert_attendee,
        {
            "id": uuid.uuid4(),
            "session_id": wanted.id,
            "enrolment_id": place.id,
            "child_id": place.child_id,
            "local_week": week,
            "status": wanted.status,
            "attendance": attendance,
            "planned_start_at": wanted.planned_start_at,
            "starts_in_evening": is_evening,
            "starts_at_weekend": is_weekend,
        },
    )
    connection.execute(
        q.insert_change,
        {
            "entity_type": "session",
            "entity_id": wanted.id,
            "child_id": place.child_id,
            "mentor_id": None,
            "op": "upsert",
            "occurred_at": now,
        },
    )
    connection.execute(
        q.insert_audit,
        {
            "id": uuid.uuid4(),
            "occurred_at": now,
            "actor_user_id": caller.user_id,
            "actor_role": caller.role,
            "action": "session.create",
            "record_type": "mentoring_session",
            "record_id": wanted.id,
            "child_id": place.child_id,
            "details": None,
        },
    )
    child_id = str(place.child_id)
    answer = {
        "id": str(wanted.id),
        "programme_id": str(place.programme_id),
        "mentor_id": str(mentor_id),
        "kind": wanted.kind,
        "location_category": wanted.location_category,
        "status": wanted.status,
        "planned_start_at": wanted.planned_start_at.isoformat(),
        "planned_end_at": wanted.planned_end_at.isoformat(),
        "week": week,
        "is_evening": is_evening,
        "is_weekend": is_weekend,
        "attendees": [{"enrolment_id": str(place.id), "child_id": child_id, "child_reference": place.reference}],
        "register": [{"child_id": child_id, "attendance": attendance, "arrived_at": None, "left_at": None}],
        "register_taken": attendance != "booked",
        "carers": [],
        "carers_attended": 0,
        "actual_duration_minutes": wanted.actual_duration_minutes,
        "activities": wanted.activities,
        "notes": wanted.notes,
        "pattern_id": None,
        "series_id": None,
        "rescheduled_to_id": None,
        "version": 1,
        "updated_at": now.isoformat(),
        "lone_working": None,
    }
    return 201, answer, {"ETag": '"1"'}


@dataclass(frozen=True)
class Statements:
    """Every statement the two endpoints run, built once from the reflected tables; values are bound at each call."""

    sign_in: Any
    claim: Any
    claimed: Any
    lock_place: Any
    session_with_id: Any
    copy_of_session: Any
    week: Any
    insert_session: Any
    insert_attendee: Any
    insert_change: Any
    insert_audit: Any
    complete: Any
    caseload: dict[str, tuple[Any, Any]]  # by role: the count and the page

    @classmethod
    def build(cls, t: Tables) -> Statements:
        user, sign_in, e = t.app_user.c, t.auth_session.c, t.enrolment.c
        sessions, attendees, records = t.mentoring_session, t.session_attendee, t.idempotency_record
        overrides = t.weekly_cap_override.c
        return cls(
            sign_in=select(
                sign_in.kind,
                sign_in.revoked_at,
                sign_in.second_factor_at,
                user.id,
                user.role,
                user.programme_id,
                user.is_active,
                user.mfa_enrolled_at,
            )
            .join(t.app_user, user.id == sign_in.user_id)
            .where(sign_in.id == bindparam("sign_in_id")),
            claim=pg_insert(records)
            .on_conflict_do_nothing(index_elements=[records.c.user_id, records.c.key])
            .returning(records.c.id),
            claimed=select(records.c.request_fingerprint, records.c.response_status, records.c.response_body).where(
                records.c.user_id == bindparam("user_id"), records.c.key == bindparam("key")
            ),
            # As api/sessions/queries.lock_places: the enrolment locked, with what planning for it needs.
            lock_place=select(
                e.id,
                e.child_id,
                e.status,
                e.started_at,
                e.planned_end_on,
                t.cohort.c.kind.label("cohort_kind"),
                t.cohort.c.max_sessions_per_week,
                t.programme.c.id.label("programme_id"),
                t.programme.c.time_zone,
                t.programme.c.session_activities,
                t.child.c.reference,
                t.allocation.c.mentor_id.label("key_worker_id"),
            )
            .join(t.cohort, t.cohort.c.id == e.cohort_id)
            .join(t.programme, t.programme.c.id == t.cohort.c.programme_id)
            .join(t.child, t.child.c.id == e.child_id)
            .outerjoin(t.allocation, and_(t.allocation.c.enrolment_id == e.id, t.allocation.c.ended_at.is_(None)))
            .where(e.id == bindparam("enrolment_id"))
            .with_for_update(of=t.enrolment),
            session_with_id=select(sessions.c.id).where(sessions.c.id == bindparam("session_id")),
            copy_of_session=select(sessions.c.id)
            .join(attendees, attendees.c.session_id == sessions.c.id)
            .where(
                attendees.c.child_id == bindparam("child_id"),
                sessions.c.mentor_id == bindparam("mentor_id"),
                sessions.c.planned_start_at == bindparam("planned_start_at"),
                sessions.c.status.in_(STILL_ON),
            )
            .limit(1),
            week=union_all(
                select(func.count(), cast(null(), Integer)).where(
                    attendees.c.child_id == bindparam("child_id"),
                    attendees.c.local_week == bindparam("week"),
                    attendees.c.attendance.in_(HOLDS_A_PLACE),
                ),
                select(literal(0, Integer), overrides.max_sessions).where(
                    overrides.enrolment_id == bindparam("enrolment_id"), overrides.local_week == bindparam("week")
                ),
            ),
            insert_session=insert(sessions),
            insert_attendee=insert(attendees),
            insert_change=insert(t.change_event).values(txid=CURRENT_TXID),
            insert_audit=insert(t.audit_event),
            complete=update(records)
            .where(records.c.id == bindparam("record_id"))
            .values(
                response_status=bindparam("answer_status"),
                response_body=bindparam("answer_body"),
                completed_at=bindparam("answered_at"),
            ),
            caseload={role: _caseload(t, role) for role in CASEWORK},
        )


def _caseload(t: Tables, role: str) -> tuple[Any, Any]:
    """As api/children/queries.list_children: each child the caller may see, with their open enrolment, its cohort's
    name and their current key worker; counted, and a page of it."""
    child, enrolment = t.child.c, t.enrolment.c
    current = t.allocation
    query = (
        select(t.child, t.enrolment, t.cohort.c.name, t.app_user)
        .select_from(t.child)
        .outerjoin(t.enrolment, and_(enrolment.child_id == child.id, enrolment.status.in_(OPEN_STATUSES)))
        .outerjoin(t.cohort, t.cohort.c.id == enrolment.cohort_id)
        .outerjoin(current, and_(current.c.enrolment_id == enrolment.id, current.c.ended_at.is_(None)))
        .outerjoin(t.app_user, t.app_user.c.id == current.c.mentor_id)
    )
    if role == "coordinator":
        query = query.where(child.programme_id == bindparam("programme_id"))
    elif role == "mentor":
        allocation = t.allocation.alias("mentors_allocation")
        allocated = (
            select(t.enrolment.c.child_id)
            .join(allocation, allocation.c.enrolment_id == t.enrolment.c.id)
            .where(
                allocation.c.mentor_id == bindparam("user_id"),
                allocation.c.ended_at.is_(None),
                t.enrolment.c.status.in_(OPEN_STATUSES),
            )
        )
        query = query.where(child.id.in_(allocated))
    count = select(func.count()).select_from(query.subquery())
    page = query.order_by(child.reference).offset(bindparam("offset")).limit(bindparam("limit"))
    return count, page


# For gunicorn (`--chdir bench same_work_floor:app`); importing this module elsewhere builds nothing.
if os.environ.get("BENCH_FLOOR_DATABASE_URL") and os.environ.get("BENCH_SECRET_KEY"):
    app = create_same_work_app(os.environ["BENCH_FLOOR_DATABASE_URL"], os.environ["BENCH_SECRET_KEY"])
