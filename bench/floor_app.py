"""The floor for bench/api_load.py: a bare Flask + SQLAlchemy Core app doing the API's inserts and reads, nothing else.

No validation, no authentication, no rules, no audit, no sync log, no idempotency, no marshmallow: the body is
trusted as sent (the load generator sends the ids the API would have looked up) and the answer is built by hand.
What is left is the cost of the framework, the driver, the pool and PostgreSQL doing the same rows:

    POST /floor/sessions                       one transaction: a mentoring_session row and its attendee rows
    GET  /floor/mentors/<mentor_id>/children   a mentor's caseload: count, then a page, joined as the API joins it
    GET  /floor/healthz                        200

Its tables live in their own schema (`floor`), created with plain DDL by `create_floor_tables` and filled from the
API's own rows by `copy_caseloads`, so both apps answer the same caseloads from the same PostgreSQL database. The
session tables carry the same indexes and foreign keys as the API's (those are part of what an insert costs).

gunicorn serves it as `floor_app:app` (with `--chdir bench`), reading BENCH_FLOOR_DATABASE_URL.
"""

from __future__ import annotations

import json
import os
import uuid
from datetime import date, datetime
from typing import Any

from flask import Flask, Response, request
from sqlalchemy import (
    JSON,
    Column,
    Connection,
    Date,
    DateTime,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    Uuid,
    and_,
    create_engine,
    func,
    insert,
    select,
    text,
)

SCHEMA = "floor"
OPEN_STATUSES = ("waitlisted", "offered", "active")

# Plain DDL. Child, cohort, user, enrolment and allocation keep only the columns the caseload reads; the two session
# tables keep all of the API's columns, keys and indexes, since the insert is what is being compared.
DDL = f"""
CREATE SCHEMA {SCHEMA};
CREATE TABLE {SCHEMA}.app_user (id uuid PRIMARY KEY, display_name varchar(120) NOT NULL);
CREATE TABLE {SCHEMA}.cohort (id uuid PRIMARY KEY, programme_id uuid NOT NULL, name varchar(120) NOT NULL);
CREATE TABLE {SCHEMA}.child (
    id uuid PRIMARY KEY,
    reference varchar(12) NOT NULL UNIQUE,
    first_name varchar(80) NOT NULL,
    last_name varchar(80) NOT NULL,
    district varchar(80) NOT NULL
);
CREATE TABLE {SCHEMA}.enrolment (
    id uuid PRIMARY KEY,
    child_id uuid NOT NULL REFERENCES {SCHEMA}.child (id),
    cohort_id uuid NOT NULL REFERENCES {SCHEMA}.cohort (id),
    status varchar(32) NOT NULL,
    offer_expires_at timestamptz,
    started_at timestamptz,
    planned_end_on date
);
CREATE UNIQUE INDEX uq_enrolment_child_id_open ON {SCHEMA}.enrolment (child_id)
    WHERE status IN ('waitlisted', 'offered', 'active');
CREATE TABLE {SCHEMA}.allocation (
    id uuid PRIMARY KEY,
    enrolment_id uuid NOT NULL REFERENCES {SCHEMA}.enrolment (id),
    mentor_id uuid NOT NULL REFERENCES {SCHEMA}.app_user (id),
    ended_at timestamptz
);
CREATE UNIQUE INDEX uq_allocation_enrolment_id_current ON {SCHEMA}.allocation (enrolment_id) WHERE ended_at IS NULL;
CREATE INDEX ix_allocation_mentor_id_ended_at ON {SCHEMA}.allocation (mentor_id, ended_at);
CREATE TABLE {SCHEMA}.mentoring_session (
    id uuid PRIMARY KEY,
    programme_id uuid NOT NULL,
    mentor_id uuid NOT NULL REFERENCES {SCHEMA}.app_user (id),
    kind varchar(32) NOT NULL,
    location_category varchar(32) NOT NULL,
    status varchar(32) NOT NULL,
    planned_start_at timestamptz NOT NULL,
    planned_end_at timestamptz NOT NULL,
    local_week varchar(8) NOT NULL,
    actual_duration_minutes integer,
    activities json,
    notes text,
    pattern_id uuid,
    rescheduled_to_id uuid REFERENCES {SCHEMA}.mentoring_session (id),
    version integer NOT NULL,
    created_at timestamptz NOT NULL,
    created_by_user_id uuid NOT NULL REFERENCES {SCHEMA}.app_user (id),
    updated_at timestamptz NOT NULL,
    updated_by_user_id uuid NOT NULL REFERENCES {SCHEMA}.app_user (id)
);
CREATE INDEX ix_mentoring_session_pattern_id ON {SCHEMA}.mentoring_session (pattern_id);
CREATE INDEX ix_mentoring_session_mentor_id_planned_start_at
    ON {SCHEMA}.mentoring_session (mentor_id, planned_start_at);
CREATE INDEX ix_mentoring_session_programme_id_planned_start_at_status
    ON {SCHEMA}.mentoring_session (programme_id, planned_start_at, status);
CREATE TABLE {SCHEMA}.session_attendee (
    id uuid PRIMARY KEY,
    session_id uuid NOT NULL REFERENCES {SCHEMA}.mentoring_session (id) ON DELETE CASCADE,
    enrolment_id uuid NOT NULL REFERENCES {SCHEMA}.enrolment (id),
    child_id uuid NOT NULL REFERENCES {SCHEMA}.child (id),
    local_week varchar(8) NOT NULL,
    CONSTRAINT uq_session_attendee_session_id_enrolment_id UNIQUE (session_id, enrolment_id)
);
CREATE INDEX ix_session_attendee_child_id_local_week ON {SCHEMA}.session_attendee (child_id, local_week);
CREATE INDEX ix_session_attendee_session_id ON {SCHEMA}.session_attendee (session_id);
CREATE INDEX ix_session_attendee_enrolment_id ON {SCHEMA}.session_attendee (enrolment_id);
"""

# The caseload's rows, copied from the API's tables (run once the invented data exists).
COPY = f"""
INSERT INTO {SCHEMA}.app_user SELECT id, display_name FROM public.app_user;
INSERT INTO {SCHEMA}.cohort SELECT id, programme_id, name FROM public.cohort;
INSERT INTO {SCHEMA}.child SELECT id, reference, first_name, last_name, district FROM public.child;
INSERT INTO {SCHEMA}.enrolment
    SELECT id, child_id, cohort_id, status, offer_expires_at, started_at, planned_end_on FROM public.enrolment;
INSERT INTO {SCHEMA}.allocation SELECT id, enrolment_id, mentor_id, ended_at FROM public.allocation;
ANALYZE {SCHEMA}.app_user, {SCHEMA}.cohort, {SCHEMA}.child, {SCHEMA}.enrolment, {SCHEMA}.allocation;
"""


def create_floor_tables(connection: Connection) -> None:
    for statement in DDL.split(";"):
        if statement.strip():
            connection.execute(text(statement))


def copy_caseloads(connection: Connection) -> None:
    for statement in COPY.split(";"):
        if statement.strip():
            connection.execute(text(statement))


# SQLAlchemy Core descriptions of the same tables, for the queries.
metadata = MetaData(schema=SCHEMA)
app_user = Table("app_user", metadata, Column("id", Uuid, primary_key=True), Column("display_name", String))
cohort = Table("cohort", metadata, Column("id", Uuid, primary_key=True), Column("name", String))
child = Table(
    "child",
    metadata,
    Column("id", Uuid, primary_key=True),
    Column("reference", String),
    Column("first_name", String),
    Column("last_name", String),
    Column("district", String),
)
enrolment = Table(
    "enrolment",
    metadata,
    Column("id", Uuid, primary_key=True),
    Column("child_id", Uuid),
    Column("cohort_id", Uuid),
    Column("status", String),
    Column("offer_expires_at", DateTime(timezone=True)),
    Column("started_at", DateTime(timezone=True)),
    Column("planned_end_on", Date),
)
allocation = Table(
    "allocation",
    metadata,
    Column("id", Uuid, primary_key=True),
    Column("enrolment_id", Uuid),
    Column("mentor_id", Uuid),
    Column("ended_at", DateTime(timezone=True)),
)
mentoring_session = Table(
    "mentoring_session",
    metadata,
    Column("id", Uuid, primary_key=True),
    Column("programme_id", Uuid),
    Column("mentor_id", Uuid),
    Column("kind", String),
    Column("location_category", String),
    Column("status", String),
    Column("planned_start_at", DateTime(timezone=True)),
    Column("planned_end_at", DateTime(timezone=True)),
    Column("local_week", String),
    Column("actual_duration_minutes", Integer),
    Column("activities", JSON),
    Column("notes", Text),
    Column("version", Integer),
    Column("created_at", DateTime(timezone=True)),
    Column("created_by_user_id", Uuid),
    Column("updated_at", DateTime(timezone=True)),
    Column("updated_by_user_id", Uuid),
)
session_attendee = Table(
    "session_attendee",
    metadata,
    Column("id", Uuid, primary_key=True),
    Column("session_id", Uuid),
    Column("enrolment_id", Uuid),
    Column("child_id", Uuid),
    Column("local_week", String),
)


def _caseload_query(mentor_id: uuid.UUID) -> Any:
    """The API's caseload list for a mentor (api/children/queries.py): the child, their open enrolment, its cohort's
    name and their current key worker, for the children currently allocated to this mentor."""
    allocated = (
        select(enrolment.c.child_id)
        .join(allocation, allocation.c.enrolment_id == enrolment.c.id)
        .where(
            allocation.c.mentor_id == mentor_id,
            allocation.c.ended_at.is_(None),
            enrolment.c.status.in_(OPEN_STATUSES),
        )
    )
    current = allocation.alias("current_allocation")
    return (
        select(
            child,
            enrolment.c.id.label("enrolment_id"),
            enrolment.c.cohort_id,
            enrolment.c.status,
            enrolment.c.offer_expires_at,
            enrolment.c.started_at,
            enrolment.c.planned_end_on,
            cohort.c.name.label("cohort_name"),
            app_user.c.id.label("mentor_id"),
            app_user.c.display_name.label("mentor_name"),
        )
        .select_from(child)
        .outerjoin(enrolment, and_(enrolment.c.child_id == child.c.id, enrolment.c.status.in_(OPEN_STATUSES)))
        .outerjoin(cohort, cohort.c.id == enrolment.c.cohort_id)
        .outerjoin(current, and_(current.c.enrolment_id == enrolment.c.id, current.c.ended_at.is_(None)))
        .outerjoin(app_user, app_user.c.id == current.c.mentor_id)
        .where(child.c.id.in_(allocated))
    )


def _iso(value: datetime | date | None) -> str | None:
    return value.isoformat() if value is not None else None


def _json(payload: object, status: int = 200) -> Response:
    return Response(json.dumps(payload), status=status, mimetype="application/json")


def create_floor_app(database_url: str) -> Flask:
    app = Flask(__name__)
    engine = create_engine(database_url)
    app.extensions["floor.engine"] = engine

    @app.get("/floor/healthz")
    def healthz() -> Response:
        return _json({"status": "ok"})

    @app.get("/floor/mentors/<uuid:mentor_id>/children")
    def caseload(mentor_id: uuid.UUID) -> Response:
        limit = int(request.args.get("page_size", 10))
        offset = (int(request.args.get("page", 1)) - 1) * limit
        query = _caseload_query(mentor_id)
        with engine.connect() as connection:
            total = connection.scalar(select(func.count()).select_from(query.subquery()))
            rows = connection.execute(query.order_by(child.c.reference).offset(offset).limit(limit)).all()
        children = [
            {
                "id": str(row.id),
                "reference": row.reference,
                "first_name": row.first_name,
                "last_name": row.last_name,
                "district": row.district,
                "cohort_name": row.cohort_name,
                "enrolment": None
                if row.enrolment_id is None
                else {
                    "id": str(row.enrolment_id),
                    "cohort_id": str(row.cohort_id),
                    "status": row.status,
                    "offer_expires_at": _iso(row.offer_expires_at),
                    "started_at": _iso(row.started_at),
                    "planned_end_on": _iso(row.planned_end_on),
                },
                "key_worker": None
                if row.mentor_id is None
                else {"id": str(row.mentor_id), "display_name": row.mentor_name},
            }
            for row in rows
        ]
        response = _json(children)
        response.headers["X-Total-Count"] = str(total)
        return response

    @app.post("/floor/sessions")
    def log_session() -> Response:
        body = request.get_json()
        session_id = uuid.UUID(body["id"]) if body.get("id") else uuid.uuid4()
        now = datetime.now().astimezone()
        mentor_id = uuid.UUID(body["mentor_id"])
        row = {
            "id": session_id,
            "programme_id": uuid.UUID(body["programme_id"]),
            "mentor_id": mentor_id,
            "kind": body["kind"],
            "location_category": body["location_category"],
            "status": body["status"],
            "planned_start_at": datetime.fromisoformat(body["planned_start_at"]),
            "planned_end_at": datetime.fromisoformat(body["planned_end_at"]),
            "local_week": body["local_week"],
            "actual_duration_minutes": body.get("actual_duration_minutes"),
            "activities": body.get("activities"),
            "notes": body.get("notes"),
            "version": 1,
            "created_at": now,
            "created_by_user_id": mentor_id,
            "updated_at": now,
            "updated_by_user_id": mentor_id,
        }
        attendees = [
            {
                "id": uuid.uuid4(),
                "session_id": session_id,
                "enrolment_id": uuid.UUID(attendee["enrolment_id"]),
                "child_id": uuid.UUID(attendee["child_id"]),
                "local_week": body["local_week"],
            }
            for attendee in body["attendees"]
        ]
        with engine.begin() as connection:
            connection.execute(insert(mentoring_session), row)
            connection.execute(insert(session_attendee), attendees)
        answer = {
            key: str(value) if isinstance(value, uuid.UUID) else _iso(value) if isinstance(value, datetime) else value
            for key, value in row.items()
        }
        answer["attendees"] = [
            {"enrolment_id": str(a["enrolment_id"]), "child_id": str(a["child_id"])} for a in attendees
        ]
        return _json(answer, 201)

    return app


# For gunicorn (`--chdir bench floor_app:app`); importing this module elsewhere builds nothing.
if os.environ.get("BENCH_FLOOR_DATABASE_URL"):
    app = create_floor_app(os.environ["BENCH_FLOOR_DATABASE_URL"])
