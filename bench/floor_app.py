"""The floor for bench/api_load.py: a bare Flask + SQLAlchemy Core app doing the same inserts and reads as the API.

Issue 7 defines it: "a bare Flask + SQLAlchemy Core app doing the same inserts and reads with no validation, auth or
rules". So it writes every row the API writes for the two compared operations, and reads what the API reads, but
looks nothing up to decide anything: no authentication, no authorisation, no locks, no weekly-cap count, no
existence checks, no idempotency look-up, no marshmallow. The body is trusted as sent (the load generator hands over
what the API would have looked up or worked out: mentor, programme, ISO week, evening and weekend flags, each
attendee's enrolment and child) and the answer is built by hand:

    POST /floor/sessions                       one transaction: the session, one attendee row, one sync
                                               change_event and one audit_event per child, and the
                                               idempotency record, inserted already completed with the answer
    GET  /floor/mentors/<mentor_id>/children   one transaction: the caseload's count, then its page (the API's
                                               query, on the API's own tables), then one audit_event per child
                                               listed, committed
    GET  /floor/healthz                        200

The tables it writes live in schema `floor`, made by `create_floor_tables` from the API's own tables (`LIKE ...
INCLUDING ALL`, plus the same foreign keys), so their columns, checks, indexes and keys, all part of what an
insert costs, cannot drift from the API's. The caseload is read straight from the API's tables in `public`.

gunicorn serves it as `floor_app:app` (with `--chdir bench`), reading BENCH_FLOOR_DATABASE_URL.
"""

from __future__ import annotations

import hashlib
import json
import os
import uuid
from dataclasses import dataclass, fields
from datetime import UTC, date, datetime
from typing import Any

from flask import Flask, Response, request
from sqlalchemy import (
    BigInteger,
    Connection,
    MetaData,
    Table,
    Text,
    and_,
    cast,
    create_engine,
    func,
    insert,
    select,
)

SCHEMA = "floor"
# The API's tables the two compared operations write; the floor writes its own copies of them.
WRITTEN = ("mentoring_session", "session_attendee", "change_event", "audit_event", "idempotency_record")
OPEN_STATUSES = ("waitlisted", "offered", "active")
FIRST_LINE = {"planned": "booked", "completed": "attended", "did_not_attend": "did_not_attend"}

# The API's foreign keys on the tables the floor writes, each with the table it references (`shown` is that table's
# name as pg_get_constraintdef writes it: qualified only when the search path does not find it).
FOREIGN_KEYS = """
SELECT t.relname AS table_name, c.conname AS name, pg_get_constraintdef(c.oid) AS definition,
       r.relname AS referenced, rn.nspname AS referenced_schema, c.confrelid::regclass::text AS shown
FROM pg_constraint c
JOIN pg_class t ON t.oid = c.conrelid
JOIN pg_class r ON r.oid = c.confrelid
JOIN pg_namespace rn ON rn.oid = r.relnamespace
WHERE c.contype = 'f' AND t.relnamespace = 'public'::regnamespace AND t.relname = ANY(%(tables)s)
ORDER BY t.relname, c.conname
"""


def create_floor_tables(connection: Connection, schema: str = SCHEMA) -> None:
    """Schema `floor` (or `schema`: the same-work floor's is `same_work`) with a copy of each table the API writes:
    the same columns, defaults, checks, indexes and keys (`LIKE ... INCLUDING ALL`), and the same foreign keys (LIKE
    copies none). A key to a written table points at the schema's copy (a floor attendee belongs to a floor session);
    any other key points at the API's table, as the API's does, so each insert checks the same parent rows at the
    same cost.

    change_event's id keeps its copied default, nextval of the API's own sequence: the same cost as a sequence of
    its own, and the two apps never run at once."""
    connection.exec_driver_sql(f"CREATE SCHEMA {schema}")
    for table in WRITTEN:
        connection.exec_driver_sql(f"CREATE TABLE {schema}.{table} (LIKE public.{table} INCLUDING ALL)")
    foreign_keys = connection.exec_driver_sql(FOREIGN_KEYS, {"tables": list(WRITTEN)}).all()
    for key in foreign_keys:
        copied = key.referenced_schema == "public" and key.referenced in WRITTEN
        target = f"{schema}.{key.referenced}" if copied else f"{key.referenced_schema}.{key.referenced}"
        # The definition names the referenced table as `shown`, qualified or not by the search path.
        definition = key.definition.replace(f"REFERENCES {key.shown}(", f"REFERENCES {target}(", 1)
        connection.exec_driver_sql(f'ALTER TABLE {schema}.{key.table_name} ADD CONSTRAINT "{key.name}" {definition}')


@dataclass(frozen=True)
class Tables:
    """SQLAlchemy Core descriptions, by reflection so they match the database: the API's tables that the caseload
    reads (schema public), and the floor's copies of the tables it writes (schema floor)."""

    child: Table
    enrolment: Table
    cohort: Table
    allocation: Table
    app_user: Table
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
                    resolve_fks=False,  # no need for the tables the keys point at
                )
                for field in fields(cls)
            }
        )


# As the API's change log (api/changes/models.py): the writing transaction's id, asked inside the INSERT itself.
CURRENT_TXID = cast(cast(func.pg_current_xact_id(), Text), BigInteger)


def _caseload_query(t: Tables, mentor_id: uuid.UUID) -> Any:
    """The API's caseload list for a mentor (api/children/queries.py), the same columns from the same tables: the
    child, their open enrolment, its cohort's name and their current key worker, for the children currently
    allocated to this mentor."""
    allocated = (
        select(t.enrolment.c.child_id)
        .join(t.allocation, t.allocation.c.enrolment_id == t.enrolment.c.id)
        .where(
            t.allocation.c.mentor_id == mentor_id,
            t.allocation.c.ended_at.is_(None),
            t.enrolment.c.status.in_(OPEN_STATUSES),
        )
    )
    current = t.allocation.alias("current_allocation")
    return (
        select(t.child, t.enrolment, t.cohort.c.name, t.app_user)
        .select_from(t.child)
        .outerjoin(t.enrolment, and_(t.enrolment.c.child_id == t.child.c.id, t.enrolment.c.status.in_(OPEN_STATUSES)))
        .outerjoin(t.cohort, t.cohort.c.id == t.enrolment.c.cohort_id)
        .outerjoin(current, and_(current.c.enrolment_id == t.enrolment.c.id, current.c.ended_at.is_(None)))
        .outerjoin(t.app_user, t.app_user.c.id == current.c.mentor_id)
        .where(t.child.c.id.in_(allocated))
    )


def _iso(value: datetime | date | None) -> str | None:
    return value.isoformat() if value is not None else None


def caseload_items(t: Any, rows: Any) -> list[dict[str, Any]]:
    """The caseload's page as the API answers it (ChildListItemSchema), from rows of the API's caseload query; both
    floors answer with it."""
    child, enrolment, key_worker = t.child.c, t.enrolment.c, t.app_user.c
    return [
        {
            "id": str(row[child.id]),
            "reference": row[child.reference],
            "first_name": row[child.first_name],
            "last_name": row[child.last_name],
            "district": row[child.district],
            "cohort_name": row[t.cohort.c.name],
            "enrolment": None
            if row[enrolment.id] is None
            else {
                "id": str(row[enrolment.id]),
                "cohort_id": str(row[enrolment.cohort_id]),
                "status": row[enrolment.status],
                "offer_expires_at": _iso(row[enrolment.offer_expires_at]),
                "started_at": _iso(row[enrolment.started_at]),
                "planned_end_on": _iso(row[enrolment.planned_end_on]),
            },
            "key_worker": None
            if row[key_worker.id] is None
            else {"id": str(row[key_worker.id]), "display_name": row[key_worker.display_name]},
        }
        for row in rows
    ]


def _json(payload: object, status: int = 200) -> Response:
    return Response(json.dumps(payload), status=status, mimetype="application/json")


def create_floor_app(database_url: str) -> Flask:
    app = Flask(__name__)
    engine = create_engine(database_url)
    app.extensions["floor.engine"] = engine
    with engine.connect() as connection:
        t = Tables.reflect(connection)
    # Requests get connections of their own, made after start-up: the bench's --profile finds a connection's
    # PostgreSQL backend (for its CPU) when the connection is made.
    engine.dispose()

    @app.get("/floor/healthz")
    def healthz() -> Response:
        return _json({"status": "ok"})

    @app.get("/floor/mentors/<uuid:mentor_id>/children")
    def caseload(mentor_id: uuid.UUID) -> Response:
        limit = int(request.args.get("page_size", 10))
        offset = (int(request.args.get("page", 1)) - 1) * limit
        query = _caseload_query(t, mentor_id)
        now = datetime.now(UTC)
        child = t.child.c
        with engine.begin() as connection:
            total = connection.scalar(select(func.count()).select_from(query.subquery()))
            rows = [
                row._mapping for row in connection.execute(query.order_by(child.reference).offset(offset).limit(limit))
            ]
            if rows:
                # As the API audits a listing of children (child.list): the caller, here always the mentor named in
                # the path, and each child listed.
                audit = {"occurred_at": now, "actor_user_id": mentor_id, "actor_role": "mentor", "action": "child.list"}
                connection.execute(
                    insert(t.audit_event),
                    [
                        audit
                        | {
                            "id": uuid.uuid4(),
                            "record_type": "child",
                            "record_id": row[child.id],
                            "child_id": row[child.id],
                        }
                        for row in rows
                    ],
                )
        children = caseload_items(t, rows)
        response = _json(children)
        response.headers["X-Total-Count"] = str(total)
        return response

    @app.post("/floor/sessions")
    def log_session() -> Response:
        body = request.get_json()
        session_id = uuid.UUID(body["id"])
        now = datetime.now(UTC)
        mentor_id = uuid.UUID(body["mentor_id"])
        planned_start_at = datetime.fromisoformat(body["planned_start_at"])
        row = {
            "id": session_id,
            "programme_id": uuid.UUID(body["programme_id"]),
            "mentor_id": mentor_id,
            "kind": body["kind"],
            "location_category": body["location_category"],
            "status": body["status"],
            "planned_start_at": planned_start_at,
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
        child_ids = [uuid.UUID(attendee["child_id"]) for attendee in body["attendees"]]
        # Each attendee carries copies of its session's facts, as the API's do (for the dashboards).
        attendees = [
            {
                "id": uuid.uuid4(),
                "session_id": session_id,
                "enrolment_id": uuid.UUID(attendee["enrolment_id"]),
                "child_id": child_id,
                "local_week": body["local_week"],
                "status": body["status"],
                # A one-to-one's line of the register follows its status, as the API's first line does.
                "attendance": FIRST_LINE[body["status"]],
                "planned_start_at": planned_start_at,
                "starts_in_evening": body["starts_in_evening"],
                "starts_at_weekend": body["starts_at_weekend"],
            }
            for attendee, child_id in zip(body["attendees"], child_ids, strict=True)
        ]
        # As the API's _record: per child, a change for the phones' sync and an audit row.
        changes = [
            {
                "entity_type": "session",
                "entity_id": session_id,
                "child_id": child_id,
                "mentor_id": None,
                "op": "upsert",
                "occurred_at": now,
            }
            for child_id in child_ids
        ]
        audits = [
            {
                "id": uuid.uuid4(),
                "occurred_at": now,
                "actor_user_id": mentor_id,
                "actor_role": "mentor",
                "action": "session.create",
                "record_type": "mentoring_session",
                "record_id": session_id,
                "child_id": child_id,
                "details": None,
            }
            for child_id in child_ids
        ]
        answer = {
            key: str(value) if isinstance(value, uuid.UUID) else _iso(value) if isinstance(value, datetime) else value
            for key, value in row.items()
        }
        answer["attendees"] = [
            {"enrolment_id": str(a["enrolment_id"]), "child_id": str(a["child_id"])} for a in attendees
        ]
        # The record a retry would be answered from, stored complete, with the answer. Its fingerprint is the same
        # hash of method, path and body as the API's (api/idempotency/service.py): a value the row holds, not a check.
        idempotency = {
            "id": uuid.uuid4(),
            "user_id": mentor_id,
            "key": request.headers["Idempotency-Key"],
            "request_fingerprint": hashlib.sha256(
                request.method.encode() + b" " + request.path.encode() + b"\n" + request.get_data()
            ).hexdigest(),
            "response_status": 201,
            "response_body": answer,
            "created_at": now,
            "completed_at": now,
        }
        with engine.begin() as connection:
            connection.execute(insert(t.mentoring_session), row)
            connection.execute(insert(t.session_attendee), attendees)
            connection.execute(insert(t.change_event).values(txid=CURRENT_TXID), changes)
            connection.execute(insert(t.audit_event), audits)
            connection.execute(insert(t.idempotency_record), idempotency)
        return _json(answer, 201)

    return app


# For gunicorn (`--chdir bench floor_app:app`); importing this module elsewhere builds nothing.
if os.environ.get("BENCH_FLOOR_DATABASE_URL"):
    app = create_floor_app(os.environ["BENCH_FLOOR_DATABASE_URL"])
