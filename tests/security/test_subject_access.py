"""A subject-access export: everything held about one child, for an admin, as one JSON document.

The child here has one of every kind of record, made through the API. The list of tables that hold a child's
data is read from the SQLAlchemy metadata (every table with a foreign key to child.id, and the tables hanging
off them), so a table added later fails these tests until the export covers it. Every row of the child's in
each such table is in the export, no other child's row is, the link secrets are not, only admins may ask, and
each export is audited.
"""

from __future__ import annotations

import uuid
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

import api.models  # noqa: F401  (every domain's tables in the metadata)
from api.actors import Role
from api.audit.models import AuditEvent
from api.children.models import PhoneNumber
from api.db import Base
from api.privacy import service
from api.privacy.rules import SECTION_TABLES
from api.sms import dispatch as sms_dispatch
from api.sms.dispatch import DispatchSettings
from notifications.fake import FakeSmsSender
from tests.builders import admit_child, allocate, auth_headers, make_cohort, make_user
from tests.conftest import DEFAULT_NOW, SECRET_KEY

ONS4 = {"life_satisfaction": 8, "worthwhile": 7, "happy_yesterday": 8, "anxious_yesterday": 2}
NOTES = "Talked about football and the bus pass."


def tables_referencing(targets: set[str]) -> set[str]:
    """Tables with a foreign key to one of the targets."""
    return {
        table.name
        for table in Base.metadata.tables.values()
        if table.name not in targets and any(key.column.table.name in targets for key in table.foreign_keys)
    }


# Every table with a foreign key to child.id, and those keeping a child_id without one (the audit log, the sync
# feed): a new table of either kind fails these tests until the export covers it.
CHILD_TABLES = tables_referencing({"child"}) | {
    table.name for table in Base.metadata.tables.values() if "child_id" in table.c and table.name != "child"
}
# One step further: rows that are the child's through one of those (an allocation through its enrolment, an
# answer through its check-in, a session through its attendee list).
INDIRECT_TABLES = {
    "allocation",
    "check_in_response",
    "mentoring_session",
    "outbound_message_event",
    "return_conversation",
}


def ok(response: Any, status: int = 201) -> dict[str, Any]:
    assert response.status_code == status, (response.status_code, response.json)
    return response.json


class Family:
    """A child with one of every record, and a second child in the same programme (whose rows must not leak)."""

    def __init__(self, db_session: Session, client, session_factory, clock) -> None:
        cohort = make_cohort(db_session, places=10)
        self.coordinator = make_user(db_session, Role.COORDINATOR, programme_id=cohort.programme_id)
        self.mentor = make_user(db_session, Role.MENTOR, programme_id=cohort.programme_id)
        self.admin = make_user(db_session, Role.ADMIN)
        started = DEFAULT_NOW - timedelta(days=60)
        enrolment = admit_child(db_session, cohort=cohort, by=self.coordinator, now=started)
        allocate(db_session, enrolment=enrolment, mentor=self.mentor, by=self.coordinator, now=started)
        other = admit_child(db_session, cohort=cohort, by=self.coordinator, now=started)
        allocate(db_session, enrolment=other, mentor=self.mentor, by=self.coordinator, now=started)
        self.child_id, self.other_child_id = enrolment.child_id, other.child_id
        headers = auth_headers(db_session, self.coordinator)
        self.admin_headers = auth_headers(db_session, self.admin)
        self.coordinator_headers = headers
        db_session.commit()

        def post(path: str, body: dict[str, Any], status: int = 201) -> dict[str, Any]:
            return ok(client.post(path, json=body, headers=headers), status)

        # Both children get one of everything, so the export is seen to take the one child's and not the other's.
        for number, enrolled in enumerate((enrolment, other)):
            child = str(enrolled.child_id)
            post(f"/children/{child}/phone-numbers", {"number": f"07700 90055{number}", "belongs_to": "parent"})
            post(f"/children/{child}/consents", {"channel": "sms_to_child", "granted": True, "given_by": "child"})
            post(
                "/sessions",
                {
                    "enrolment_ids": [str(enrolled.id)],
                    "kind": "one_to_one",
                    "location_category": "community_venue",
                    "planned_start_at": "2026-11-23T10:00:00+00:00",
                    "planned_end_at": "2026-11-23T11:00:00+00:00",
                    "status": "completed",
                    "notes": NOTES,
                    "safeguarding_concern": "Said an older boy asked them to carry parcels.",
                },
            )
            post(
                f"/enrolments/{enrolled.id}/patterns",
                {"slots": [{"weekday": 3, "start": "16:00"}], "duration_minutes": 60, "location_category": "school"},
            )
            episode = post(
                f"/children/{child}/missing-episodes",
                {
                    "reported_at": "2026-11-20T21:15:00+00:00",
                    "returned_at": "2026-11-21T09:00:00+00:00",
                    "source": "police",
                },
            )
            ok(
                client.put(
                    f"/missing-episodes/{episode['id']}/return-conversation",
                    json={"outcome": "offered", "offered_at": "2026-11-21T12:00:00+00:00", "independent": True},
                    headers=headers,
                ),
                200,
            )
            post(f"/children/{child}/goals", {"description": "Go to school every day"})
            post(f"/children/{child}/check-ins", {"instrument": "ons4", "answers": ONS4})
            post(f"/children/{child}/check-in-invitations", {})
            post(
                f"/children/{child}/outcome-events",
                {"event_type": "arrest", "occurred_on": "2026-11-20", "source": "police"},
            )
            ok(client.get(f"/children/{child}", headers=headers), 200)  # an audited read
        # Both on a group series' roster.
        series = post(
            "/group-series",
            {
                "programme_id": str(cohort.programme_id),
                "name": "Staying safe online",
                "capacity": 8,
                "lead_facilitator_id": str(self.mentor.id),
                "location_category": "school",
                "sessions": [
                    {"planned_start_at": "2026-12-08T17:30:00+00:00", "planned_end_at": "2026-12-08T18:30:00+00:00"}
                ],
            },
        )
        for enrolled in (enrolment, other):
            post(f"/group-series/{series['id']}/members", {"enrolment_id": str(enrolled.id)})
        # A group session both came to, each with a carer who came for them.
        group = post(
            "/sessions",
            {
                "enrolment_ids": [str(enrolment.id), str(other.id)],
                "kind": "group",
                "location_category": "community_venue",
                "planned_start_at": "2026-11-23T12:00:00+00:00",
                "planned_end_at": "2026-11-23T13:00:00+00:00",
            },
        )
        carers = [{"relationship": "parent", "child_id": str(enrolled.child_id)} for enrolled in (enrolment, other)]
        ok(
            client.put(
                f"/sessions/{group['id']}/register",
                json={"carers": carers},
                headers=headers | {"If-Match": f'"{group["version"]}"'},
            ),
            200,
        )
        # The links' SMS, sent, so each message has a history.
        settings = DispatchSettings(
            sender=FakeSmsSender(now=clock.now),
            secret_key=SECRET_KEY,
            public_base_url="https://checkin.example.org",
            status_callback_url=None,
            quiet_hours={},
        )
        clock.advance(minutes=1)
        sms_dispatch.dispatch_due(session_factory, settings=settings, clock=clock.now)


@pytest.fixture()
def family(db_session, client, session_factory, clock) -> Family:
    return Family(db_session, client, session_factory, clock)


def export_of(client, family: Family, child_id: uuid.UUID | None = None) -> dict[str, Any]:
    response = client.get(
        f"/children/{child_id or family.child_id}/subject-access-export", headers=family.admin_headers
    )
    return ok(response, 200)


def rows_of_child(db_session: Session, table_name: str, child_id: uuid.UUID) -> set[str]:
    """Ids of the table's rows that are the child's (directly, or through the child's table they hang off)."""
    table = Base.metadata.tables[table_name]
    if table_name == "mentoring_session":
        attendee = Base.metadata.tables["session_attendee"]
        query = select(attendee.c.session_id).where(attendee.c.child_id == child_id)
    elif "child_id" in table.c:
        query = select(table.c.id).where(table.c.child_id == child_id)
    else:
        # The row's owner: its required reference to a child's table (an answer's check-in, not its goal).
        (key,) = [
            key for key in table.foreign_keys if key.column.table.name in CHILD_TABLES and not key.parent.nullable
        ]
        parent = key.column.table
        query = select(table.c.id).where(key.parent.in_(select(parent.c.id).where(parent.c.child_id == child_id)))
    return {str(row_id) for row_id in db_session.scalars(query)}


def exported_ids(document: dict[str, Any], table_name: str) -> set[str]:
    sections = [section for section, table in SECTION_TABLES.items() if table == table_name]
    assert sections, f"the export has no section for table {table_name}: add one (api/privacy/rules.py)"
    return {str(row["id"]) for section in sections for row in document[section]}


def test_every_table_that_holds_a_childs_data_has_a_section_in_the_export():
    # Read from the metadata, so a new table with a child_id foreign key fails here until the export covers it.
    assert CHILD_TABLES, "no table references child.id: the metadata is not loaded"
    assert set(SECTION_TABLES.values()) >= CHILD_TABLES | INDIRECT_TABLES
    # And the indirect list is not stale: each of them does hang off a child's table.
    assert tables_referencing(CHILD_TABLES) >= INDIRECT_TABLES


def test_the_export_holds_every_row_of_the_child_in_every_such_table_and_none_of_another_childs(
    client, db_session, family
):
    tables = sorted(CHILD_TABLES | INDIRECT_TABLES)
    # Read first: the export adds an audit row of its own.
    held = {name: rows_of_child(db_session, name, family.child_id) for name in tables}
    others = {name: rows_of_child(db_session, name, family.other_child_id) for name in tables}
    db_session.commit()

    document = export_of(client, family)

    # The family has a row in every such table (else give it one, so the export is proven to carry it) ...
    assert [name for name in tables if not held[name] or not others[name]] == []
    # ... every one of the child's rows is exported, and none of the other child's (a group session both came to is
    # each child's: the session's row names neither, their register lines are each their own).
    not_exported = {name: held[name] - exported_ids(document, name) for name in tables}
    leaked = {name: (others[name] - held[name]) & exported_ids(document, name) for name in tables}
    assert {name: ids for name, ids in not_exported.items() if ids} == {}
    assert {name: ids for name, ids in leaked.items() if ids} == {}


def test_the_document_has_the_child_notes_numbers_scores_and_audit(client, db_session, family):
    document = export_of(client, family)

    assert document["schema_version"] == service.EXPORT_SCHEMA_VERSION
    assert document["child_id"] == str(family.child_id) == document["child"]["id"]
    assert {"first_name", "last_name", "date_of_birth", "reference"} <= document["child"].keys()
    numbers = {row["e164"] for row in document["phone_numbers"]}
    stored = set(db_session.scalars(select(PhoneNumber.e164).where(PhoneNumber.child_id == family.child_id)))
    assert numbers == stored and "+447700900550" in numbers
    # The completed session with its notes, and those the weekly pattern planned.
    assert [session["notes"] for session in document["sessions"] if session["notes"]] == [NOTES]
    assert {score["kind"] for score in document["check_in_scores"]} == {"raw", "derived"}
    assert {row["action"] for row in document["audit_events"]} >= {"child.read"}
    # The link secrets are not about the child, and would help forge or find a link.
    assert all("token_nonce" not in row and "token_hash" not in row for row in document["check_in_invitations"])


def test_each_export_is_audited(client, db_session, family):
    export_of(client, family)

    db_session.expire_all()
    rows = db_session.scalars(select(AuditEvent).where(AuditEvent.action == service.EXPORT_ACTION)).all()
    assert [(row.actor_user_id, row.child_id, row.record_id) for row in rows] == [
        (family.admin.id, family.child_id, family.child_id)
    ]


@pytest.mark.parametrize("role", ["coordinator", "mentor"])
def test_only_an_admin_may_export(client, db_session, family, role):
    user = family.coordinator if role == "coordinator" else family.mentor

    response = client.get(f"/children/{family.child_id}/subject-access-export", headers=auth_headers(db_session, user))

    assert response.status_code == 403
    assert not db_session.scalars(select(AuditEvent).where(AuditEvent.action == service.EXPORT_ACTION)).all()


def test_an_unknown_child_is_a_404(client, family):
    response = client.get(f"/children/{uuid.uuid4()}/subject-access-export", headers=family.admin_headers)

    assert response.status_code == 404
    assert response.json["reason"] == "child_not_found"
