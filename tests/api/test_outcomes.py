"""Outcome events over HTTP: recording, listing and removing a child's arrests, call-outs, missing episodes and
exclusions; importing an agency's CSV extract; the programme's outcome settings; the cost-benefit estimate.

Coordinators (and admins) record; mentors read their own caseload's events; commissioners never see a child,
only the estimate, with small numbers suppressed.
"""

import io
import uuid
from dataclasses import dataclass
from datetime import date, timedelta
from unittest.mock import ANY

import pytest
from sqlalchemy import func, select

from api.accounts.models import AppUser
from api.actors import Role
from api.audit.models import AuditEvent
from api.children.models import Child
from api.missing import service as missing_service
from api.missing.rules import MissingSource
from api.outcomes import service as outcomes_service
from api.outcomes.csv_import import IMPORT_MAX_BYTES, IMPORT_MAX_ROWS
from api.outcomes.models import OutcomeEvent, UnitCost
from api.outcomes.rules import OutcomeEventType, OutcomeSource
from api.programmes.models import Cohort, Programme
from tests.builders import (
    actor_for,
    admit_child,
    allocate,
    make_child,
    make_cohort,
    make_programme,
    make_user,
)
from tests.conftest import DEFAULT_NOW

NOW_JSON = "2026-11-23T14:00:00+00:00"
HEADER = "child_reference,event_type,occurred_on,source"
CHILD_NOT_FOUND = {
    "code": 404,
    "request_id": ANY,
    "status": "Not Found",
    "message": "No such child in your caseload.",
    "reason": "child_not_found",
}
EVENT_NOT_FOUND = {
    "code": 404,
    "request_id": ANY,
    "status": "Not Found",
    "message": "No such outcome event in your caseload.",
    "reason": "outcome_event_not_found",
}
PROGRAMME_NOT_FOUND = {
    "code": 404,
    "request_id": ANY,
    "status": "Not Found",
    "message": "No such programme.",
    "reason": "programme_not_found",
}
FORBIDDEN = {
    "code": 403,
    "request_id": ANY,
    "status": "Forbidden",
    "message": "Your role may not do this.",
    "reason": "forbidden",
}


def count_rows(db_session, model, *where):
    return db_session.scalar(select(func.count()).select_from(model).where(*where))


def audited(db_session, action):
    """(record id, child id, actor) of each audit row of the action."""
    return [
        (event.record_id, event.child_id, event.actor_user_id)
        for event in db_session.scalars(select(AuditEvent).where(AuditEvent.action == action))
    ]


@dataclass
class World:
    """One programme: a coordinator, a mentor with one child, another mentor with another, a commissioner and an
    admin; and another programme with its own coordinator and child."""

    programme: Programme
    cohort: Cohort
    coordinator: AppUser
    mentor: AppUser
    other_mentor: AppUser
    commissioner: AppUser
    admin: AppUser
    child: Child  # allocated to mentor
    theirs: Child  # allocated to other_mentor
    elsewhere: Programme
    elsewhere_coordinator: AppUser
    elsewhere_child: Child


@pytest.fixture()
def world(db_session):
    programme = make_programme(db_session)
    cohort = make_cohort(db_session, programme=programme, places=10)
    coordinator = make_user(db_session, Role.COORDINATOR, programme=programme)
    mentor = make_user(db_session, Role.MENTOR, programme=programme)
    other_mentor = make_user(db_session, Role.MENTOR, programme=programme)
    mine = admit_child(db_session, cohort=cohort, by=coordinator)
    allocate(db_session, enrolment=mine, mentor=mentor, by=coordinator)
    theirs = admit_child(db_session, cohort=cohort, by=coordinator)
    allocate(db_session, enrolment=theirs, mentor=other_mentor, by=coordinator)
    elsewhere = make_programme(db_session)
    elsewhere_coordinator = make_user(db_session, Role.COORDINATOR, programme=elsewhere)
    return World(
        programme=programme,
        cohort=cohort,
        coordinator=coordinator,
        mentor=mentor,
        other_mentor=other_mentor,
        commissioner=make_user(db_session, Role.COMMISSIONER, programme=programme),
        admin=make_user(db_session, Role.ADMIN),
        child=db_session.get(Child, mine.child_id),
        theirs=db_session.get(Child, theirs.child_id),
        elsewhere=elsewhere,
        elsewhere_coordinator=elsewhere_coordinator,
        elsewhere_child=make_child(db_session, programme=elsewhere, by=elsewhere_coordinator),
    )


def payload(**overrides):
    return {"event_type": "arrest", "occurred_on": "2026-11-20", "source": "police"} | overrides


def record(db_session, *, child, by, event_type=OutcomeEventType.ARREST, occurred_on=date(2026, 11, 20), **extra):
    values = {"source": OutcomeSource.POLICE, "source_detail": None, "missing_episode_id": None} | extra
    return outcomes_service.record_outcome_event(
        db_session,
        actor=actor_for(by),
        child_id=child.id,
        event_type=event_type,
        occurred_on=occurred_on,
        now=DEFAULT_NOW,
        **values,
    )


# Recording an event


def test_a_coordinator_records_an_event_for_a_child_of_their_programme(client, db_session, world, headers_for):
    response = client.post(
        f"/children/{world.theirs.id}/outcome-events",
        json=payload(event_type="exclusion_fixed_term", source="school", source_detail="  Termly return  "),
        headers=headers_for(world.coordinator),
    )

    assert response.status_code == 201
    assert response.json == {
        "id": ANY,
        "child_id": str(world.theirs.id),
        "event_type": "exclusion_fixed_term",
        "occurred_on": "2026-11-20",
        "source": "school",
        "source_detail": "Termly return",
        "missing_episode_id": None,
        "recorded_at": NOW_JSON,
        "recorded_by_user_id": str(world.coordinator.id),
    }
    event = db_session.get(OutcomeEvent, uuid.UUID(response.json["id"]))
    assert (event.child_id, event.event_type, event.voided_at) == (
        world.theirs.id,
        OutcomeEventType.EXCLUSION_FIXED_TERM,
        None,
    )


def test_recording_an_event_is_audited(client, db_session, world, headers_for):
    response = client.post(
        f"/children/{world.child.id}/outcome-events", json=payload(), headers=headers_for(world.coordinator)
    )

    [row] = db_session.scalars(select(AuditEvent).where(AuditEvent.action == "outcome_event.create")).all()
    assert (row.record_type, row.record_id, row.child_id, row.actor_user_id, row.actor_role) == (
        "outcome_event",
        uuid.UUID(response.json["id"]),
        world.child.id,
        world.coordinator.id,
        Role.COORDINATOR,
    )


def test_an_admin_records_an_event_for_any_programmes_child(client, world, headers_for):
    response = client.post(
        f"/children/{world.elsewhere_child.id}/outcome-events", json=payload(), headers=headers_for(world.admin)
    )

    assert response.status_code == 201


@pytest.mark.parametrize("role", ["mentor", "commissioner"])
def test_mentors_and_commissioners_may_not_record_events(client, db_session, world, headers_for, role):
    response = client.post(
        f"/children/{world.child.id}/outcome-events", json=payload(), headers=headers_for(getattr(world, role))
    )

    assert (response.status_code, response.json) == (403, FORBIDDEN)
    assert count_rows(db_session, OutcomeEvent) == 0


def test_another_programmes_coordinator_gets_not_found(client, db_session, world, headers_for):
    response = client.post(
        f"/children/{world.child.id}/outcome-events", json=payload(), headers=headers_for(world.elsewhere_coordinator)
    )

    assert (response.status_code, response.json) == (404, CHILD_NOT_FOUND)
    assert count_rows(db_session, OutcomeEvent) == 0
    assert audited(db_session, "outcome_event.create") == []


@pytest.mark.parametrize(
    ("occurred_on", "message"),
    [
        ("2026-11-24", "An event cannot be in the future."),
        ("2012-05-16", "An event cannot be before the child was born."),
    ],
)
def test_an_implausible_date_is_refused(client, db_session, world, headers_for, occurred_on, message):
    response = client.post(
        f"/children/{world.child.id}/outcome-events",
        json=payload(occurred_on=occurred_on),
        headers=headers_for(world.coordinator),
    )

    assert response.status_code == 422
    assert response.json == {
        "code": 422,
        "request_id": ANY,
        "status": "Unprocessable Entity",
        "message": "Check the event's date.",
        "reason": "implausible_outcome_event",
        "errors": {"occurred_on": [message]},
    }


def test_today_in_london_is_not_the_future_even_when_it_is_still_yesterday_in_utc(client, world, headers_for, clock):
    clock.at = clock.at.replace(month=7, day=1, hour=23, minute=30)  # 00:30 on 2 July in London (BST)

    response = client.post(
        f"/children/{world.child.id}/outcome-events",
        json=payload(occurred_on="2026-07-02"),
        headers=headers_for(world.coordinator),
    )

    assert response.status_code == 201


@pytest.mark.parametrize(
    "body",
    [
        {"event_type": "burglary", "occurred_on": "2026-11-20", "source": "police"},
        {"event_type": "arrest", "occurred_on": "20/11/2026", "source": "police"},
        {"event_type": "arrest", "occurred_on": "2026-11-20", "source": "neighbour"},
        {"event_type": "arrest", "occurred_on": "2026-11-20"},
        {"event_type": "arrest", "occurred_on": "2026-11-20", "source": "police", "child_name": "Jo"},
    ],
)
def test_the_contract_refuses_unknown_types_sources_fields_and_malformed_dates(client, world, headers_for, body):
    response = client.post(
        f"/children/{world.child.id}/outcome-events", json=body, headers=headers_for(world.coordinator)
    )

    assert (response.status_code, response.json["reason"]) == (422, "invalid_request")


def test_the_same_event_twice_is_refused(client, db_session, world, headers_for):
    record(db_session, child=world.child, by=world.coordinator)

    again = client.post(
        f"/children/{world.child.id}/outcome-events", json=payload(), headers=headers_for(world.coordinator)
    )
    other_source = client.post(
        f"/children/{world.child.id}/outcome-events",
        json=payload(source="youth_justice"),
        headers=headers_for(world.coordinator),
    )

    assert (again.status_code, again.json["reason"]) == (409, "outcome_event_already_recorded")
    assert other_source.status_code == 201


def test_a_retried_create_with_the_same_idempotency_key_records_once(client, db_session, world, headers_for):
    headers = headers_for(world.coordinator, **{"Idempotency-Key": "phone-retry-1"})

    first = client.post(f"/children/{world.child.id}/outcome-events", json=payload(), headers=headers)
    replay = client.post(f"/children/{world.child.id}/outcome-events", json=payload(), headers=headers)

    assert (first.status_code, replay.status_code, replay.headers["Idempotent-Replayed"]) == (201, 201, "true")
    assert replay.json == first.json
    assert count_rows(db_session, OutcomeEvent) == 1


# Linking a missing episode


@pytest.fixture()
def episode(db_session, world):
    return missing_service.record_missing_episode(
        db_session,
        actor=actor_for(world.coordinator),
        child_id=world.child.id,
        reported_at=DEFAULT_NOW - timedelta(days=3),
        returned_at=None,
        source=MissingSource.POLICE,
        now=DEFAULT_NOW,
    )


def test_a_missing_episode_event_may_name_the_same_childs_missing_episode(client, world, headers_for, episode):
    response = client.post(
        f"/children/{world.child.id}/outcome-events",
        json=payload(event_type="missing_episode", missing_episode_id=str(episode.id)),
        headers=headers_for(world.coordinator),
    )

    assert (response.status_code, response.json["missing_episode_id"]) == (201, str(episode.id))


@pytest.mark.parametrize("case", ["another_childs", "wrong_type", "unknown"])
def test_a_missing_episode_that_does_not_fit_is_refused(client, world, headers_for, episode, case):
    child = world.theirs if case == "another_childs" else world.child
    event_type = "arrest" if case == "wrong_type" else "missing_episode"
    episode_id = uuid.uuid4() if case == "unknown" else episode.id

    response = client.post(
        f"/children/{child.id}/outcome-events",
        json=payload(event_type=event_type, missing_episode_id=str(episode_id)),
        headers=headers_for(world.coordinator),
    )

    assert (response.status_code, response.json["reason"]) == (422, "missing_episode_not_linkable")
    assert list(response.json["errors"]) == ["missing_episode_id"]


def test_a_missing_episode_counts_once(client, world, headers_for, episode):
    first = client.post(
        f"/children/{world.child.id}/outcome-events",
        json=payload(event_type="missing_episode", missing_episode_id=str(episode.id)),
        headers=headers_for(world.coordinator),
    )
    second = client.post(
        f"/children/{world.child.id}/outcome-events",
        json=payload(event_type="missing_episode", source="social_care", missing_episode_id=str(episode.id)),
        headers=headers_for(world.coordinator),
    )

    assert first.status_code == 201
    assert (second.status_code, second.json["reason"]) == (409, "missing_episode_already_recorded")


# Listing a child's events


def test_a_mentor_reads_the_events_of_a_child_in_their_caseload_most_recent_first(
    client, db_session, world, headers_for
):
    older = record(db_session, child=world.child, by=world.coordinator, occurred_on=date(2026, 1, 5))
    newer = record(
        db_session,
        child=world.child,
        by=world.coordinator,
        event_type=OutcomeEventType.POLICE_CALL_OUT,
        occurred_on=date(2026, 10, 1),
    )
    record(db_session, child=world.theirs, by=world.coordinator)

    response = client.get(f"/children/{world.child.id}/outcome-events", headers=headers_for(world.mentor))

    assert response.status_code == 200
    assert [item["id"] for item in response.json] == [str(newer.id), str(older.id)]
    assert response.json[0]["event_type"] == "police_call_out"
    assert '"total": 2' in response.headers["X-Pagination"]


def test_listing_events_writes_one_audit_row_per_event_shown(client, db_session, world, headers_for):
    events = [
        record(db_session, child=world.child, by=world.coordinator, occurred_on=date(2026, 11, day))
        for day in (1, 2, 3)
    ]

    response = client.get(
        f"/children/{world.child.id}/outcome-events?page=1&page_size=2", headers=headers_for(world.mentor)
    )

    assert len(response.json) == 2
    assert sorted(audited(db_session, "outcome_event.list")) == sorted(
        (event.id, world.child.id, world.mentor.id) for event in events[1:]
    )


@pytest.mark.parametrize("who", ["other_mentor", "elsewhere_coordinator"])
def test_a_child_outside_the_callers_caseload_is_not_found(client, db_session, world, headers_for, who):
    record(db_session, child=world.child, by=world.coordinator)

    response = client.get(f"/children/{world.child.id}/outcome-events", headers=headers_for(getattr(world, who)))

    assert (response.status_code, response.json) == (404, CHILD_NOT_FOUND)
    assert audited(db_session, "outcome_event.list") == []


def test_a_commissioner_may_not_read_a_childs_events(client, world, headers_for):
    response = client.get(f"/children/{world.child.id}/outcome-events", headers=headers_for(world.commissioner))

    assert (response.status_code, response.json) == (403, FORBIDDEN)


# Removing an event


def test_a_coordinator_removes_an_event_which_leaves_the_list_but_stays_on_record(
    client, db_session, world, headers_for, clock
):
    event = record(db_session, child=world.child, by=world.coordinator)
    clock.advance(minutes=5)

    response = client.delete(f"/outcome-events/{event.id}", headers=headers_for(world.coordinator))

    assert response.status_code == 204
    listed = client.get(f"/children/{world.child.id}/outcome-events", headers=headers_for(world.coordinator))
    assert listed.json == []
    db_session.refresh(event)
    assert (event.voided_at, event.voided_by_user_id) == (DEFAULT_NOW + timedelta(minutes=5), world.coordinator.id)
    assert audited(db_session, "outcome_event.void") == [(event.id, world.child.id, world.coordinator.id)]


def test_a_removed_event_can_be_recorded_again_correctly(client, db_session, world, headers_for):
    event = record(db_session, child=world.child, by=world.coordinator)
    client.delete(f"/outcome-events/{event.id}", headers=headers_for(world.coordinator))

    response = client.post(
        f"/children/{world.child.id}/outcome-events", json=payload(), headers=headers_for(world.coordinator)
    )

    assert response.status_code == 201
    assert count_rows(db_session, OutcomeEvent, OutcomeEvent.child_id == world.child.id) == 2


def test_removing_an_event_twice_or_one_that_does_not_exist_is_not_found(client, db_session, world, headers_for):
    event = record(db_session, child=world.child, by=world.coordinator)
    client.delete(f"/outcome-events/{event.id}", headers=headers_for(world.coordinator))

    again = client.delete(f"/outcome-events/{event.id}", headers=headers_for(world.coordinator))
    unknown = client.delete(f"/outcome-events/{uuid.uuid4()}", headers=headers_for(world.coordinator))

    assert (again.status_code, again.json) == (404, EVENT_NOT_FOUND)
    assert (unknown.status_code, unknown.json) == (404, EVENT_NOT_FOUND)


def test_another_programmes_coordinator_cannot_remove_an_event(client, db_session, world, headers_for):
    event = record(db_session, child=world.child, by=world.coordinator)

    response = client.delete(f"/outcome-events/{event.id}", headers=headers_for(world.elsewhere_coordinator))

    assert (response.status_code, response.json) == (404, EVENT_NOT_FOUND)
    db_session.refresh(event)
    assert event.voided_at is None


@pytest.mark.parametrize("role", ["mentor", "commissioner"])
def test_mentors_and_commissioners_may_not_remove_events(client, db_session, world, headers_for, role):
    event = record(db_session, child=world.child, by=world.coordinator)

    response = client.delete(f"/outcome-events/{event.id}", headers=headers_for(getattr(world, role)))

    assert (response.status_code, response.json) == (403, FORBIDDEN)


# Importing an extract


def csv_of(*lines):
    return ("\n".join(lines) + "\n").encode()


def import_csv(client, world, headers, content, *, mode=None, programme=None, **extra_headers):
    query = f"?mode={mode}" if mode else ""
    return client.post(
        f"/programmes/{(programme or world.programme).id}/outcome-events/import{query}",
        data=content,
        headers=headers | {"Content-Type": "text/csv"} | extra_headers,
    )


def test_a_good_extract_is_imported_and_audited(client, db_session, world, headers_for):
    content = csv_of(
        HEADER + ",source_detail",
        f"{world.child.reference},arrest,2026-03-01,police,Kent Police extract",
        f"{world.theirs.reference.lower()},Exclusion_Permanent,2026-02-10,school,",
        f"{world.child.reference},missing_episode,2026-11-23,police,",
    )

    response = import_csv(client, world, headers_for(world.coordinator), content)

    assert (response.status_code, response.json) == (200, {"imported": 3, "rejected": []})
    events = db_session.scalars(select(OutcomeEvent).order_by(OutcomeEvent.occurred_on)).all()
    assert [(event.child_id, event.event_type, event.source_detail) for event in events] == [
        (world.theirs.id, OutcomeEventType.EXCLUSION_PERMANENT, None),
        (world.child.id, OutcomeEventType.ARREST, "Kent Police extract"),
        (world.child.id, OutcomeEventType.MISSING_EPISODE, None),
    ]
    assert all(event.recorded_by_user_id == world.coordinator.id for event in events)
    assert sorted(audited(db_session, "outcome_event.import")) == sorted(
        (event.id, event.child_id, world.coordinator.id) for event in events
    )


def bad_extract(world):
    """Lines 2 and 7 are good (6 is blank); the others are wrong in every way the import checks."""
    return csv_of(
        HEADER,
        f"{world.child.reference},arrest,2026-03-01,police",  # 2
        "YP-NOBODY,arrest,2026-03-01,police",  # 3: unknown child
        f"{world.elsewhere_child.reference},arrest,2026-03-01,police",  # 4: another programme's child
        f"{world.child.reference},burglary,2026-03-01,police",  # 5: unknown type
        "",  # 6 is blank
        f"{world.theirs.reference},police_call_out,2026-03-02,police",  # 7
        f"{world.child.reference},arrest,2026-13-01,police",  # 8: bad date
        f"{world.child.reference},arrest,2026-11-24,police",  # 9: future
        f"{world.child.reference},arrest,2026-03-05,",  # 10: no source
        f"{world.child.reference},arrest,2026-03-01,police",  # 11: repeats line 2
        f"{world.child.reference},arrest,2026-01-01,school",  # 12: already recorded
    )


BAD_ROWS = [
    {"line": 3, "field": "child_reference", "reason": "unknown_child"},
    {"line": 4, "field": "child_reference", "reason": "unknown_child"},
    {"line": 5, "field": "event_type", "reason": "unknown_event_type"},
    {"line": 8, "field": "occurred_on", "reason": "invalid_date"},
    {"line": 9, "field": "occurred_on", "reason": "future_date"},
    {"line": 10, "field": "source", "reason": "required"},
    {"line": 11, "field": None, "reason": "duplicate_in_file"},
    {"line": 12, "field": None, "reason": "already_recorded"},
]


def without_messages(rejected):
    return [{key: row[key] for key in ("line", "field", "reason")} for row in rejected]


def test_all_or_nothing_imports_nothing_when_any_row_is_refused_and_lists_them_by_line(
    client, db_session, world, headers_for
):
    record(
        db_session, child=world.child, by=world.coordinator, occurred_on=date(2026, 1, 1), source=OutcomeSource.SCHOOL
    )

    response = import_csv(client, world, headers_for(world.coordinator), bad_extract(world))

    assert response.status_code == 422
    assert response.json["reason"] == "import_rejected"
    assert response.json["imported"] == 0
    assert without_messages(response.json["rejected"]) == BAD_ROWS
    assert response.json["rejected"][6]["message"] == "Repeats line 2."
    assert count_rows(db_session, OutcomeEvent) == 1
    assert audited(db_session, "outcome_event.import") == []


def test_valid_rows_mode_imports_the_good_rows_and_lists_the_others(client, db_session, world, headers_for):
    record(
        db_session, child=world.child, by=world.coordinator, occurred_on=date(2026, 1, 1), source=OutcomeSource.SCHOOL
    )

    response = import_csv(client, world, headers_for(world.coordinator), bad_extract(world), mode="valid_rows")

    assert response.status_code == 200
    assert response.json["imported"] == 2
    assert without_messages(response.json["rejected"]) == BAD_ROWS
    imported = db_session.scalars(select(OutcomeEvent).where(OutcomeEvent.source == OutcomeSource.POLICE)).all()
    assert sorted((event.child_id, event.occurred_on) for event in imported) == sorted(
        [(world.child.id, date(2026, 3, 1)), (world.theirs.id, date(2026, 3, 2))]
    )


def test_importing_the_same_extract_twice_records_nothing_twice(client, db_session, world, headers_for):
    content = csv_of(HEADER, f"{world.child.reference},arrest,2026-03-01,police")
    import_csv(client, world, headers_for(world.coordinator), content)

    again = import_csv(client, world, headers_for(world.coordinator), content, mode="valid_rows")

    assert again.json == {
        "imported": 0,
        "rejected": [
            {"line": 2, "field": None, "reason": "already_recorded", "message": "This event is already recorded."}
        ],
    }
    assert count_rows(db_session, OutcomeEvent) == 1


def test_an_extract_may_be_sent_as_a_form_file(client, db_session, world, headers_for):
    content = csv_of(HEADER, f"{world.child.reference},arrest,2026-03-01,police")

    response = client.post(
        f"/programmes/{world.programme.id}/outcome-events/import",
        data={"file": (io.BytesIO(content), "extract.csv")},
        content_type="multipart/form-data",
        headers=headers_for(world.coordinator),
    )

    assert (response.status_code, response.json) == (200, {"imported": 1, "rejected": []})


def test_a_retried_import_with_the_same_idempotency_key_is_replayed(client, db_session, world, headers_for):
    content = csv_of(HEADER, f"{world.child.reference},arrest,2026-03-01,police")
    headers = headers_for(world.coordinator)

    first = import_csv(client, world, headers, content, **{"Idempotency-Key": "import-1"})
    replay = import_csv(client, world, headers, content, **{"Idempotency-Key": "import-1"})

    assert (first.json, replay.json, replay.headers["Idempotent-Replayed"]) == (
        {"imported": 1, "rejected": []},
        {"imported": 1, "rejected": []},
        "true",
    )
    assert count_rows(db_session, OutcomeEvent) == 1


def test_an_extract_with_a_bad_header_is_refused_whole(client, db_session, world, headers_for):
    content = csv_of("reference,first_name,event_type,occurred_on,source", "YP-AAAAAA,Jo,arrest,2026-03-01,police")

    response = import_csv(client, world, headers_for(world.coordinator), content, mode="valid_rows")

    assert (response.status_code, response.json["reason"]) == (422, "import_header_invalid")
    assert response.json["errors"] == {
        "header": [
            "Missing column(s): child_reference.",
            "Unknown column(s): first_name, reference. Children are identified by reference only.",
        ]
    }


def test_a_file_over_the_size_cap_is_refused(client, db_session, world, headers_for):
    line = f"{world.child.reference},arrest,2026-03-01,police,{'x' * 150}\n"
    content = (HEADER + ",source_detail\n" + line * (IMPORT_MAX_BYTES // len(line) + 1)).encode()

    response = import_csv(client, world, headers_for(world.coordinator), content)

    assert response.status_code == 413
    assert response.json == {
        "code": 413,
        "request_id": ANY,
        "status": "Request Entity Too Large",
        "message": "Import at most 512 KiB at a time; split the file.",
        "reason": "import_too_large",
    }
    assert count_rows(db_session, OutcomeEvent) == 0


def test_a_file_over_the_row_cap_is_refused(client, db_session, world, headers_for):
    rows = [
        f"{world.child.reference},arrest,{date(2026, 1, 1) - timedelta(days=n)},police"
        for n in range(IMPORT_MAX_ROWS + 1)
    ]

    response = import_csv(client, world, headers_for(world.coordinator), csv_of(HEADER, *rows), mode="valid_rows")

    assert response.status_code == 422
    assert (response.json["reason"], response.json["max_rows"]) == ("import_too_many_rows", IMPORT_MAX_ROWS)
    assert count_rows(db_session, OutcomeEvent) == 0


def test_an_extract_must_be_csv(client, world, headers_for):
    response = client.post(
        f"/programmes/{world.programme.id}/outcome-events/import",
        json={"rows": []},
        headers=headers_for(world.coordinator),
    )

    assert (response.status_code, response.json["reason"]) == (415, "unsupported_media_type")


def test_an_unknown_mode_is_refused(client, world, headers_for):
    response = import_csv(client, world, headers_for(world.coordinator), csv_of(HEADER), mode="best_effort")

    assert (response.status_code, list(response.json["errors"])) == (422, ["mode"])


def test_another_programmes_coordinator_cannot_import_into_it(client, db_session, world, headers_for):
    content = csv_of(HEADER, f"{world.child.reference},arrest,2026-03-01,police")

    response = import_csv(client, world, headers_for(world.elsewhere_coordinator), content)

    assert (response.status_code, response.json) == (404, PROGRAMME_NOT_FOUND)
    assert count_rows(db_session, OutcomeEvent) == 0


@pytest.mark.parametrize("role", ["mentor", "commissioner"])
def test_mentors_and_commissioners_may_not_import(client, world, headers_for, role):
    response = import_csv(client, world, headers_for(getattr(world, role)), csv_of(HEADER))

    assert (response.status_code, response.json) == (403, FORBIDDEN)


# Outcome settings


def test_a_programme_without_settings_has_a_twelve_month_baseline(client, world, headers_for):
    response = client.get(f"/programmes/{world.programme.id}/outcome-settings", headers=headers_for(world.coordinator))

    assert response.json == {
        "programme_id": str(world.programme.id),
        "baseline_months": 12,
        "fixed_term_exclusion_cost_code": None,
    }


def test_an_admin_sets_the_baseline_and_a_unit_cost_for_fixed_term_exclusions(client, db_session, world, headers_for):
    db_session.add(local_suspension_cost())
    db_session.commit()

    response = client.put(
        f"/programmes/{world.programme.id}/outcome-settings",
        json={"baseline_months": 6, "fixed_term_exclusion_cost_code": "LOCAL-SUSPENSION"},
        headers=headers_for(world.admin),
    )

    assert response.status_code == 200
    read = client.get(f"/programmes/{world.programme.id}/outcome-settings", headers=headers_for(world.coordinator))
    assert read.json == {
        "programme_id": str(world.programme.id),
        "baseline_months": 6,
        "fixed_term_exclusion_cost_code": "LOCAL-SUSPENSION",
    }


def test_a_unit_cost_that_does_not_exist_cannot_be_chosen(client, world, headers_for):
    response = client.put(
        f"/programmes/{world.programme.id}/outcome-settings",
        json={"baseline_months": 12, "fixed_term_exclusion_cost_code": "NOPE"},
        headers=headers_for(world.admin),
    )

    assert (response.status_code, response.json["reason"]) == (422, "unknown_unit_cost")


@pytest.mark.parametrize("months", [0, 37])
def test_the_baseline_is_one_to_thirty_six_months(client, world, headers_for, months):
    response = client.put(
        f"/programmes/{world.programme.id}/outcome-settings",
        json={"baseline_months": months},
        headers=headers_for(world.admin),
    )

    assert (response.status_code, list(response.json["errors"])) == (422, ["baseline_months"])


def test_only_an_admin_may_change_the_settings(client, world, headers_for):
    response = client.put(
        f"/programmes/{world.programme.id}/outcome-settings",
        json={"baseline_months": 6},
        headers=headers_for(world.coordinator),
    )

    assert (response.status_code, response.json) == (403, FORBIDDEN)


def local_suspension_cost():
    return UnitCost(
        item_code="LOCAL-SUSPENSION",
        version=1,
        description="A fixed-term exclusion, local estimate",
        value_low=100,
        value_high=200,
        unit="per exclusion",
        price_year="2024/25",
        source="Test",
        created_at=DEFAULT_NOW,
    )


# The cost-benefit estimate


@pytest.fixture()
def evaluated(db_session, world):
    """Six children who started 2026-05-23 (so 12 months of baseline and 185 days of support by today): in the
    baseline each had 2 arrests and the first had a permanent exclusion; during, the first 3 had 1 arrest."""
    started = DEFAULT_NOW - timedelta(days=184)
    cohort = make_cohort(db_session, programme=world.programme, places=10)
    children = [
        db_session.get(Child, admit_child(db_session, cohort=cohort, by=world.coordinator, now=started).child_id)
        for _ in range(6)
    ]
    for number, child in enumerate(children):
        for day in (date(2025, 8, 1), date(2026, 2, 1)):
            record(db_session, child=child, by=world.coordinator, occurred_on=day)
        if number < 3:
            record(db_session, child=child, by=world.coordinator, occurred_on=date(2026, 9, 1))
    record(
        db_session,
        child=children[0],
        by=world.coordinator,
        event_type=OutcomeEventType.EXCLUSION_PERMANENT,
        occurred_on=date(2026, 1, 15),
        source=OutcomeSource.SCHOOL,
    )
    return cohort, children


def test_a_coordinator_gets_the_estimate_with_its_price_year_and_method(client, world, headers_for, evaluated):
    cohort, children = evaluated

    response = client.get(
        f"/programmes/{world.programme.id}/cost-benefit?price_year=2024-25&cohort_id={cohort.id}",
        headers=headers_for(world.coordinator),
    )

    assert response.status_code == 200
    body = response.json
    assert (body["price_year"], body["deflator_series"], body["children"], body["as_of"]) == (
        "2024/25",
        "HMT-2026-03-QNA",
        6,
        "2026-11-23",
    )
    assert "no counterfactual" in body["method"]
    # Baseline 6 x 365 days = 5.9959 child-years; during 6 x 185 days = 3.0390.
    assert (body["child_years_baseline"], body["child_years_during"]) == (6.0, 3.04)
    arrests = next(item for item in body["outcomes"] if item["event_type"] == "arrest")
    assert (arrests["baseline_events"], arrests["during_events"]) == (12, 3)
    assert arrests["unit_cost_items"] == ["CR7.1", "CR7.0"]
    # 285 and 593 (2006/07) x 100 / 63.2017.
    assert (arrests["unit_cost_low"], arrests["unit_cost_high"]) == (450.94, 938.27)
    # (12/5.9959 - 3/3.0390) x 3.0390 = 12 x 185/365 - 3 = 3.0822 fewer arrests.
    assert arrests["saving_low"] == round(12 * 185 / 365 * 285 * 100 / 63.2017 - 3 * 285 * 100 / 63.2017)
    fixed_term = next(item for item in body["outcomes"] if item["event_type"] == "exclusion_fixed_term")
    assert (fixed_term["monetised"], fixed_term["saving_low"], fixed_term["unit_cost_items"]) == (False, None, [])
    assert body["total_saving_low"] is not None
    for child in children:
        assert child.reference not in response.get_data(as_text=True)


def test_a_commissioner_sees_small_counts_as_less_than_five_and_nothing_derived_from_them(
    client, world, headers_for, evaluated
):
    cohort, children = evaluated

    response = client.get(
        f"/programmes/{world.programme.id}/cost-benefit?price_year=2024/25&cohort_id={cohort.id}",
        headers=headers_for(world.commissioner),
    )

    assert response.status_code == 200
    body = response.json
    assert body["children"] == 6
    arrests = next(item for item in body["outcomes"] if item["event_type"] == "arrest")
    # 12 arrests before, 3 during: the 3 is suppressed, so the rates and savings that would reveal it are withheld.
    assert (arrests["baseline_events"], arrests["during_events"]) == (12, "<5")
    assert (arrests["baseline_rate"], arrests["during_rate"], arrests["percent_change"]) == (None, None, None)
    assert (arrests["saving_low"], arrests["saving_high"]) == (None, None)
    exclusions = next(item for item in body["outcomes"] if item["event_type"] == "exclusion_permanent")
    assert (exclusions["baseline_events"], exclusions["during_events"], exclusions["saving_low"]) == ("<5", 0, None)
    call_outs = next(item for item in body["outcomes"] if item["event_type"] == "police_call_out")
    assert (call_outs["baseline_events"], call_outs["during_events"], call_outs["saving_low"]) == (0, 0, 0)
    # The totals would give the withheld savings away.
    assert (body["total_saving_low"], body["saving_per_child_high"]) == (None, None)
    for child in children:
        assert child.reference not in response.get_data(as_text=True)


def test_a_commissioner_of_a_small_cohort_sees_no_rates_at_all(client, db_session, world, headers_for):
    response = client.get(
        f"/programmes/{world.programme.id}/cost-benefit?price_year=2024/25&cohort_id={world.cohort.id}",
        headers=headers_for(world.commissioner),
    )

    body = response.json
    assert (body["children"], body["child_years_baseline"], body["child_years_during"]) == ("<5", None, None)
    assert all(item["baseline_rate"] is None for item in body["outcomes"])


def test_the_coordinator_sees_the_same_small_cohort_unsuppressed(client, world, headers_for):
    response = client.get(
        f"/programmes/{world.programme.id}/cost-benefit?price_year=2024/25&cohort_id={world.cohort.id}",
        headers=headers_for(world.coordinator),
    )

    assert response.json["children"] == 2


def test_a_price_year_the_deflator_series_does_not_cover_is_refused(client, world, headers_for):
    response = client.get(
        f"/programmes/{world.programme.id}/cost-benefit?price_year=2025/26", headers=headers_for(world.coordinator)
    )

    assert response.status_code == 422
    assert (response.json["reason"], response.json["missing_years"]) == ("deflator_year_missing", ["2025/26"])


@pytest.mark.parametrize("price_year", ["2024", "2024/26", "last year"])
def test_a_price_year_must_be_a_financial_year(client, world, headers_for, price_year):
    response = client.get(
        f"/programmes/{world.programme.id}/cost-benefit",
        query_string={"price_year": price_year},
        headers=headers_for(world.coordinator),
    )

    assert response.status_code == 422


def test_another_programmes_cohort_is_not_found(client, db_session, world, headers_for):
    cohort = make_cohort(db_session, programme=world.elsewhere)

    response = client.get(
        f"/programmes/{world.programme.id}/cost-benefit?price_year=2024/25&cohort_id={cohort.id}",
        headers=headers_for(world.coordinator),
    )

    assert (response.status_code, response.json["reason"]) == (404, "cohort_not_found")


@pytest.mark.parametrize("who", ["mentor", "elsewhere_coordinator"])
def test_mentors_and_other_programmes_get_no_estimate(client, world, headers_for, who):
    response = client.get(
        f"/programmes/{world.programme.id}/cost-benefit?price_year=2024/25", headers=headers_for(getattr(world, who))
    )

    assert response.status_code == (403 if who == "mentor" else 404)
