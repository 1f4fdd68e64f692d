"""Who may see which child (access follows the caseload; OWASP API1, object-level authorisation), and the
audit log: every read and write of a child's record leaves a row saying who, in what role, did what, when."""

import json
import uuid
from collections import Counter
from dataclasses import dataclass
from datetime import timedelta
from unittest.mock import ANY

import pytest
from sqlalchemy import func, select

from api.accounts.models import AppUser
from api.actors import Role
from api.audit.models import AuditEvent
from api.children.models import Child, PhoneNumber
from api.enrolments import service as enrolments_service
from api.enrolments.models import Enrolment
from api.enrolments.rules import EndReason
from api.programmes.models import Cohort, Programme
from tests.builders import (
    actor_for,
    admit_child,
    allocate,
    auth_headers,
    make_child,
    make_cohort,
    make_programme,
    make_referral,
    make_user,
)
from tests.conftest import DEFAULT_NOW

NOW_JSON = "2026-11-23T14:00:00+00:00"
CHILD_NOT_FOUND = {
    "code": 404,
    "request_id": ANY,
    "status": "Not Found",
    "message": "No such child in your caseload.",
    "reason": "child_not_found",
}
FORBIDDEN = {
    "code": 403,
    "request_id": ANY,
    "status": "Forbidden",
    "message": "Your role may not do this.",
    "reason": "forbidden",
}


def count_audit_events(db_session):
    return db_session.scalar(select(func.count()).select_from(AuditEvent))


def listed_ids(response):
    assert response.status_code == 200, response.json
    return sorted(child["id"] for child in response.json)


def ids(*children):
    return sorted(str(child.id) for child in children)


def end(db_session, enrolment, *, by):
    enrolments_service.end_enrolment(
        db_session,
        actor=actor_for(by),
        enrolment_id=enrolment.id,
        reason=EndReason.COMPLETED,
        note=None,
        now=DEFAULT_NOW,
    )


@dataclass
class World:
    """One programme with two mentors, and children in every situation relative to the first mentor."""

    programme: Programme
    cohort: Cohort
    coordinator: AppUser
    mentor: AppUser
    other_mentor: AppUser
    mine: Child  # allocated to mentor
    theirs: Child  # allocated to other_mentor
    unallocated: Child  # enrolled, no key worker yet
    not_enrolled: Child  # recorded, never referred
    mine_enrolment: Enrolment


@pytest.fixture()
def world(db_session):
    programme = make_programme(db_session)
    cohort = make_cohort(db_session, programme=programme, places=5)
    coordinator = make_user(db_session, Role.COORDINATOR, programme=programme)
    mentor = make_user(db_session, Role.MENTOR, programme=programme)
    other_mentor = make_user(db_session, Role.MENTOR, programme=programme)
    mine = admit_child(db_session, cohort=cohort, by=coordinator)
    allocate(db_session, enrolment=mine, mentor=mentor, by=coordinator)
    theirs = admit_child(db_session, cohort=cohort, by=coordinator)
    allocate(db_session, enrolment=theirs, mentor=other_mentor, by=coordinator)
    unallocated = admit_child(db_session, cohort=cohort, by=coordinator)
    not_enrolled = make_child(db_session, programme=programme, by=coordinator)
    return World(
        programme=programme,
        cohort=cohort,
        coordinator=coordinator,
        mentor=mentor,
        other_mentor=other_mentor,
        mine=db_session.get(Child, mine.child_id),
        theirs=db_session.get(Child, theirs.child_id),
        unallocated=db_session.get(Child, unallocated.child_id),
        not_enrolled=not_enrolled,
        mine_enrolment=mine,
    )


@pytest.fixture()
def elsewhere(db_session):
    """A child of another programme, allocated to that programme's mentor."""
    cohort = make_cohort(db_session)
    programme = db_session.get(Programme, cohort.programme_id)
    coordinator = make_user(db_session, Role.COORDINATOR, programme=programme)
    enrolment = admit_child(db_session, cohort=cohort, by=coordinator)
    allocate(
        db_session, enrolment=enrolment, mentor=make_user(db_session, Role.MENTOR, programme=programme), by=coordinator
    )
    return db_session.get(Child, enrolment.child_id)


# A mentor's caseload


def test_a_mentor_lists_only_the_children_allocated_to_them(client, db_session, world, elsewhere):
    response = client.get("/children", headers=auth_headers(db_session, world.mentor))

    assert listed_ids(response) == ids(world.mine)
    [listed] = response.json
    assert listed["key_worker"] == {"id": str(world.mentor.id), "display_name": world.mentor.display_name}
    assert listed["enrolment"]["status"] == "active"
    assert listed["cohort_name"] == world.cohort.name
    assert json.loads(response.headers["X-Pagination"])["total"] == 1


def test_a_mentor_reads_a_child_in_their_caseload(client, db_session, world):
    response = client.get(f"/children/{world.mine.id}", headers=auth_headers(db_session, world.mentor))

    assert response.status_code == 200
    assert response.json["id"] == str(world.mine.id)
    assert response.json["reference"] == world.mine.reference


@pytest.mark.parametrize("which", ["theirs", "unallocated", "not_enrolled"])
def test_a_mentor_gets_not_found_for_a_child_outside_their_caseload(client, db_session, world, which):
    child = getattr(world, which)

    response = client.get(f"/children/{child.id}", headers=auth_headers(db_session, world.mentor))

    assert response.status_code == 404
    assert response.json == CHILD_NOT_FOUND


def test_another_mentors_child_and_a_child_that_does_not_exist_look_exactly_the_same(client, db_session, world):
    headers = auth_headers(db_session, world.mentor)

    foreign = client.get(f"/children/{world.theirs.id}", headers=headers)
    missing = client.get(f"/children/{uuid.uuid4()}", headers=headers)

    assert foreign.status_code == missing.status_code == 404
    assert foreign.json == CHILD_NOT_FOUND and missing.json == CHILD_NOT_FOUND
    assert foreign.headers.get("Content-Length") == missing.headers.get("Content-Length")


def test_a_mentor_cannot_probe_another_mentors_child_through_its_phone_numbers_or_consents(client, db_session, world):
    headers = auth_headers(db_session, world.mentor)
    their_number = db_session.scalar(select(PhoneNumber).where(PhoneNumber.child_id == world.theirs.id))
    numbers_before = db_session.scalar(select(func.count()).select_from(PhoneNumber))

    responses = [
        client.post(
            f"/children/{world.theirs.id}/phone-numbers",
            json={"number": "07911 123456", "belongs_to": "child"},
            headers=headers,
        ),
        client.delete(f"/children/{world.theirs.id}/phone-numbers/{their_number.id}", headers=headers),
        client.post(
            f"/children/{world.theirs.id}/consents",
            json={"channel": "sms_to_child", "granted": False, "given_by": "child"},
            headers=headers,
        ),
    ]

    assert [(response.status_code, response.json) for response in responses] == [(404, CHILD_NOT_FOUND)] * 3
    db_session.expire_all()
    assert db_session.get(PhoneNumber, their_number.id).removed_at is None
    assert db_session.scalar(select(func.count()).select_from(PhoneNumber)) == numbers_before


def test_after_reallocation_the_first_mentor_loses_the_child_and_the_new_mentor_gains_them(client, db_session, world):
    allocate(db_session, enrolment=world.mine_enrolment, mentor=world.other_mentor, by=world.coordinator)
    first_headers = auth_headers(db_session, world.mentor)
    new_headers = auth_headers(db_session, world.other_mentor)

    assert client.get(f"/children/{world.mine.id}", headers=first_headers).json == CHILD_NOT_FOUND
    assert listed_ids(client.get("/children", headers=first_headers)) == []
    assert client.get(f"/children/{world.mine.id}", headers=new_headers).status_code == 200
    assert listed_ids(client.get("/children", headers=new_headers)) == ids(world.mine, world.theirs)


def test_when_a_childs_enrolment_ends_their_mentor_no_longer_sees_them(client, db_session, world):
    end(db_session, world.mine_enrolment, by=world.coordinator)
    headers = auth_headers(db_session, world.mentor)

    assert client.get(f"/children/{world.mine.id}", headers=headers).json == CHILD_NOT_FOUND
    assert listed_ids(client.get("/children", headers=headers)) == []


def test_a_mentor_filtering_by_another_mentor_sees_nobody(client, db_session, world):
    response = client.get(
        "/children",
        query_string={"mentor_id": str(world.other_mentor.id)},
        headers=auth_headers(db_session, world.mentor),
    )

    assert listed_ids(response) == []


# Coordinators, commissioners and admins


def test_a_coordinator_sees_every_child_of_their_programme_and_no_other(client, db_session, world, elsewhere):
    headers = auth_headers(db_session, world.coordinator)

    assert listed_ids(client.get("/children", headers=headers)) == ids(
        world.mine, world.theirs, world.unallocated, world.not_enrolled
    )
    assert client.get(f"/children/{world.not_enrolled.id}", headers=headers).status_code == 200


def test_a_coordinator_gets_not_found_for_another_programmes_child(client, db_session, world, elsewhere):
    headers = auth_headers(db_session, world.coordinator)

    responses = [
        client.get(f"/children/{elsewhere.id}", headers=headers),
        client.patch(f"/children/{elsewhere.id}", json={"school": "Oak Hill"}, headers=headers),
        client.post(
            f"/children/{elsewhere.id}/phone-numbers",
            json={"number": "07911 123456", "belongs_to": "child"},
            headers=headers,
        ),
    ]

    assert [(response.status_code, response.json) for response in responses] == [(404, CHILD_NOT_FOUND)] * 3
    db_session.expire_all()
    assert db_session.get(Child, elsewhere.id).school is None


def test_an_admin_sees_every_child_in_every_programme(client, db_session, world, elsewhere):
    headers = auth_headers(db_session, make_user(db_session, Role.ADMIN))

    assert listed_ids(client.get("/children", headers=headers)) == ids(
        world.mine, world.theirs, world.unallocated, world.not_enrolled, elsewhere
    )
    assert client.get(f"/children/{elsewhere.id}", headers=headers).status_code == 200


def commissioner_requests(child_id, phone_number_id):
    return [
        ("GET", "/children", None),
        (
            "POST",
            "/children",
            {"first_name": "A", "last_name": "B", "date_of_birth": "2012-01-01", "district": "Medway"},
        ),
        ("GET", f"/children/{child_id}", None),
        ("PATCH", f"/children/{child_id}", {"school": "Oak Hill"}),
        ("POST", f"/children/{child_id}/phone-numbers", {"number": "07911 123456", "belongs_to": "child"}),
        ("DELETE", f"/children/{child_id}/phone-numbers/{phone_number_id}", None),
        ("POST", f"/children/{child_id}/consents", {"channel": "sms_to_child", "granted": False, "given_by": "child"}),
    ]


def test_a_commissioner_is_refused_every_child_endpoint_and_leaves_no_trace(client, db_session, world):
    commissioner = make_user(db_session, Role.COMMISSIONER, programme=world.programme)
    headers = auth_headers(db_session, commissioner)
    number = db_session.scalar(select(PhoneNumber).where(PhoneNumber.child_id == world.mine.id))
    events_before = count_audit_events(db_session)

    responses = [
        client.open(path, method=method, json=body, headers=headers)
        for method, path, body in commissioner_requests(world.mine.id, number.id)
    ]

    assert [(response.status_code, response.json) for response in responses] == [(403, FORBIDDEN)] * 7
    assert count_audit_events(db_session) == events_before


def test_an_unauthenticated_caller_is_refused_every_child_endpoint(client, db_session, world):
    number = db_session.scalar(select(PhoneNumber).where(PhoneNumber.child_id == world.mine.id))

    responses = [
        client.open(path, method=method, json=body)
        for method, path, body in commissioner_requests(world.mine.id, number.id)
    ]

    assert {response.status_code for response in responses} == {401}
    assert {response.json["reason"] for response in responses} == {"access_token_invalid"}


# Filtering and paging the list


def test_children_are_filtered_by_cohort(client, db_session, world):
    other_cohort = make_cohort(db_session, programme=world.programme)
    in_other = admit_child(db_session, cohort=other_cohort, by=world.coordinator)
    headers = auth_headers(db_session, world.coordinator)

    response = client.get("/children", query_string={"cohort_id": str(other_cohort.id)}, headers=headers)

    assert listed_ids(response) == [str(in_other.child_id)]


def test_children_are_filtered_by_enrolment_status(client, db_session, world):
    full = make_cohort(db_session, programme=world.programme, places=1)
    # Accepted a second apart, so the waitlist order (then who joined first) is certain.
    leaving, offered, waitlisted = (
        admit_child(db_session, cohort=full, by=world.coordinator, now=DEFAULT_NOW + timedelta(seconds=second))
        for second in range(3)
    )
    end(db_session, leaving, by=world.coordinator)  # the place is offered to the head of the waitlist
    headers = auth_headers(db_session, world.coordinator)

    def listed_with(status):
        return listed_ids(client.get("/children", query_string={"status": status}, headers=headers))

    assert listed_with("active") == ids(world.mine, world.theirs, world.unallocated)
    assert listed_with("offered") == [str(offered.child_id)]
    assert listed_with("waitlisted") == [str(waitlisted.child_id)]
    # A child whose enrolment ended has no open enrolment, like a child never referred.
    assert listed_with("not_enrolled") == sorted([str(world.not_enrolled.id), str(leaving.child_id)])


def test_an_unknown_status_filter_is_refused(client, db_session, world):
    response = client.get(
        "/children", query_string={"status": "ended"}, headers=auth_headers(db_session, world.coordinator)
    )

    assert response.status_code == 422
    assert response.json["reason"] == "invalid_request"
    assert list(response.json["errors"]) == ["status"]


def test_children_are_filtered_by_district(client, db_session, world):
    in_swale = make_child(db_session, programme=world.programme, by=world.coordinator, district="Swale")

    response = client.get(
        "/children", query_string={"district": "Swale"}, headers=auth_headers(db_session, world.coordinator)
    )

    assert listed_ids(response) == ids(in_swale)


def test_children_are_filtered_by_key_worker(client, db_session, world):
    response = client.get(
        "/children",
        query_string={"mentor_id": str(world.other_mentor.id)},
        headers=auth_headers(db_session, world.coordinator),
    )

    assert listed_ids(response) == ids(world.theirs)


def test_filters_combine(client, db_session, world):
    response = client.get(
        "/children",
        query_string={"status": "active", "mentor_id": str(world.mentor.id), "district": "Swale"},
        headers=auth_headers(db_session, world.coordinator),
    )

    assert listed_ids(response) == []


def test_the_list_is_paged_in_reference_order_with_the_total_in_a_header(client, db_session, world):
    headers = auth_headers(db_session, world.coordinator)
    everyone = sorted([world.mine, world.theirs, world.unallocated, world.not_enrolled], key=lambda c: c.reference)

    first = client.get("/children", query_string={"page": 1, "page_size": 3}, headers=headers)
    second = client.get("/children", query_string={"page": 2, "page_size": 3}, headers=headers)

    assert [child["reference"] for child in first.json] == [child.reference for child in everyone[:3]]
    assert [child["reference"] for child in second.json] == [everyone[3].reference]
    assert json.loads(first.headers["X-Pagination"]) == {
        "total": 4,
        "total_pages": 2,
        "first_page": 1,
        "last_page": 2,
        "page": 1,
        "next_page": 2,
    }
    assert json.loads(second.headers["X-Pagination"])["previous_page"] == 1


def test_a_list_item_names_the_child_but_not_their_date_of_birth_or_numbers(client, db_session, world):
    response = client.get("/children", headers=auth_headers(db_session, world.mentor))

    assert set(response.json[0]) == {
        "id",
        "reference",
        "first_name",
        "last_name",
        "district",
        "cohort_name",
        "enrolment",
        "key_worker",
    }


# The audit log


def audit_rows(db_session, child_id, *, action=None):
    query = select(AuditEvent).where(AuditEvent.child_id == child_id)
    if action:
        query = query.where(AuditEvent.action == action)
    db_session.expire_all()
    return db_session.scalars(query).all()


def audit_via_api(client, admin_headers, **filters):
    response = client.get("/audit-events", query_string={"page_size": 100, **filters}, headers=admin_headers)
    assert response.status_code == 200, response.json
    return response.json


def test_every_read_and_write_of_a_childs_record_is_audited(client, db_session, world):
    coordinator, mentor = world.coordinator, world.mentor
    admin_headers = auth_headers(db_session, make_user(db_session, Role.ADMIN))
    headers = auth_headers(db_session, coordinator)
    created = client.post(
        "/children",
        json={"first_name": "Amira", "last_name": "Example", "date_of_birth": "2012-05-17", "district": "Medway"},
        headers=headers,
    ).json
    child_id = created["id"]
    client.get(f"/children/{child_id}", headers=headers)
    client.patch(f"/children/{child_id}", json={"school": "Oak Hill"}, headers=headers)
    client.get("/children", query_string={"district": "Medway", "status": "not_enrolled"}, headers=headers)
    number = client.post(
        f"/children/{child_id}/phone-numbers", json={"number": "07911 123456", "belongs_to": "child"}, headers=headers
    ).json
    consent = client.post(
        f"/children/{child_id}/consents",
        json={"channel": "sms_to_child", "granted": True, "given_by": "child"},
        headers=headers,
    ).json
    client.delete(f"/children/{child_id}/phone-numbers/{number['id']}", headers=headers)
    referral = client.post(
        "/referrals",
        json={
            "child_id": child_id,
            "cohort_id": str(world.cohort.id),
            "source": "school",
            "source_name": "Oak Hill Academy",
            "reason": "Repeated missing episodes.",
        },
        headers=headers,
    ).json
    client.get(f"/referrals/{referral['id']}", headers=headers)
    enrolment = client.post(f"/referrals/{referral['id']}/accept", headers=headers).json
    allocation = client.put(
        f"/enrolments/{enrolment['id']}/allocation", json={"mentor_id": str(mentor.id)}, headers=headers
    )
    assert allocation.status_code == 200, allocation.json
    client.get(f"/children/{child_id}", headers=auth_headers(db_session, mentor))

    events = audit_via_api(client, admin_headers, child_id=child_id)

    coordinator_id, mentor_id = str(coordinator.id), str(mentor.id)
    assert Counter(
        (event["action"], event["record_type"], event["record_id"], event["actor_user_id"]) for event in events
    ) == Counter(
        {
            ("child.create", "child", child_id, coordinator_id): 1,
            ("child.read", "child", child_id, coordinator_id): 1,
            ("child.update", "child", child_id, coordinator_id): 1,
            ("child.list", "child", child_id, coordinator_id): 1,
            ("phone_number.create", "phone_number", number["id"], coordinator_id): 1,
            ("contact_consent.create", "contact_consent", consent["id"], coordinator_id): 1,
            ("phone_number.remove", "phone_number", number["id"], coordinator_id): 1,
            ("referral.create", "referral", referral["id"], coordinator_id): 1,
            ("referral.read", "referral", referral["id"], coordinator_id): 1,
            ("referral.accept", "referral", referral["id"], coordinator_id): 1,
            ("enrolment.active", "enrolment", enrolment["id"], coordinator_id): 1,
            ("allocation.create", "allocation", allocation.json["id"], coordinator_id): 1,
            ("child.read", "child", child_id, mentor_id): 1,
        }
    )
    assert {event["child_id"] for event in events} == {child_id}
    assert {event["occurred_at"] for event in events} == {NOW_JSON}
    roles = {(event["actor_user_id"], event["actor_role"]) for event in events}
    assert roles == {(coordinator_id, "coordinator"), (mentor_id, "mentor")}


def test_an_audit_row_records_actor_role_time_and_child(client, db_session, world):
    response = client.get(f"/children/{world.mine.id}", headers=auth_headers(db_session, world.mentor))
    assert response.status_code == 200

    [row] = audit_rows(db_session, world.mine.id, action="child.read")

    assert row.actor_user_id == world.mentor.id
    assert row.actor_role is Role.MENTOR
    assert row.occurred_at == DEFAULT_NOW
    assert row.child_id == world.mine.id
    assert (row.record_type, row.record_id) == ("child", world.mine.id)


def test_the_audit_row_carries_the_clocks_time_at_the_moment_of_access(client, db_session, clock, world):
    clock.advance(minutes=7)

    client.get(f"/children/{world.mine.id}", headers=auth_headers(db_session, world.mentor, now=clock.now()))

    [row] = audit_rows(db_session, world.mine.id, action="child.read")
    assert row.occurred_at == clock.now()


def test_listing_children_writes_one_audit_row_per_child_on_the_page(client, db_session, world):
    headers = auth_headers(db_session, world.coordinator)
    before = count_audit_events(db_session)

    response = client.get("/children", query_string={"page_size": 3}, headers=headers)

    listed = [uuid.UUID(child["id"]) for child in response.json]
    assert len(listed) == 3
    db_session.expire_all()
    rows = db_session.scalars(select(AuditEvent).where(AuditEvent.action == "child.list")).all()
    assert sorted(row.child_id for row in rows) == sorted(listed)
    assert {(row.actor_user_id, row.actor_role, row.occurred_at) for row in rows} == {
        (world.coordinator.id, Role.COORDINATOR, DEFAULT_NOW)
    }
    assert count_audit_events(db_session) == before + 3


def test_a_mentors_list_audits_only_the_children_they_saw(client, db_session, world):
    client.get("/children", headers=auth_headers(db_session, world.mentor))

    db_session.expire_all()
    rows = db_session.scalars(select(AuditEvent).where(AuditEvent.action == "child.list")).all()
    assert [(row.child_id, row.actor_user_id) for row in rows] == [(world.mine.id, world.mentor.id)]


def test_an_empty_list_writes_no_audit_rows(client, db_session, world):
    before = count_audit_events(db_session)

    response = client.get(
        "/children", query_string={"district": "Thanet"}, headers=auth_headers(db_session, world.mentor)
    )

    assert response.json == []
    assert count_audit_events(db_session) == before


def test_a_refused_read_writes_no_audit_row(client, db_session, world):
    headers = auth_headers(db_session, world.mentor)
    before = count_audit_events(db_session)

    assert client.get(f"/children/{world.theirs.id}", headers=headers).status_code == 404
    assert client.get(f"/children/{uuid.uuid4()}", headers=headers).status_code == 404

    assert count_audit_events(db_session) == before
    assert audit_rows(db_session, world.theirs.id, action="child.read") == []


def test_a_refused_write_writes_no_audit_row(client, db_session, world):
    headers = auth_headers(db_session, world.coordinator)
    before = count_audit_events(db_session)

    responses = [
        client.patch(f"/children/{world.mine.id}", json={"district": "Westminster"}, headers=headers),
        client.post(
            f"/children/{world.mine.id}/phone-numbers",
            json={"number": "020 7946 0123", "belongs_to": "parent"},
            headers=headers,
        ),
        client.post(
            f"/children/{world.not_enrolled.id}/consents",
            json={"channel": "sms_to_carer", "granted": True, "given_by": "parent"},
            headers=headers,
        ),
    ]

    assert [response.status_code for response in responses] == [422, 422, 422]
    assert count_audit_events(db_session) == before


def test_a_waitlisted_acceptance_and_a_decline_are_audited(client, db_session, world):
    headers = auth_headers(db_session, world.coordinator)
    full = make_cohort(db_session, programme=world.programme, places=0)
    waiting = make_referral(db_session, cohort=full, by=world.coordinator)
    declined = make_referral(db_session, cohort=full, by=world.coordinator)

    enrolment = client.post(f"/referrals/{waiting.id}/accept", headers=headers).json
    client.post(f"/referrals/{declined.id}/decline", json={"reason": "Out of area."}, headers=headers)

    assert [row.record_id for row in audit_rows(db_session, waiting.child_id, action="enrolment.waitlisted")] == [
        uuid.UUID(enrolment["id"])
    ]
    [decline] = audit_rows(db_session, declined.child_id, action="referral.decline")
    assert (decline.record_type, decline.record_id, decline.actor_user_id) == (
        "referral",
        declined.id,
        world.coordinator.id,
    )
    assert audit_rows(db_session, declined.child_id, action="referral.accept") == []


def test_ending_an_enrolment_is_audited(client, db_session, world):
    end(db_session, world.mine_enrolment, by=world.coordinator)

    [row] = audit_rows(db_session, world.mine.id, action="enrolment.end")
    assert (row.record_type, row.record_id, row.actor_role) == ("enrolment", world.mine_enrolment.id, Role.COORDINATOR)


# Reading the audit log


@pytest.mark.parametrize("role", [Role.COORDINATOR, Role.MENTOR, Role.COMMISSIONER])
def test_only_admins_may_read_the_audit_log(client, db_session, world, role):
    user = make_user(db_session, role, programme=world.programme)

    response = client.get("/audit-events", headers=auth_headers(db_session, user))

    assert response.status_code == 403
    assert response.json == FORBIDDEN


def test_the_audit_log_reads_newest_first_and_filters_by_child_user_action_and_time(client, db_session, clock, world):
    admin_headers = auth_headers(db_session, make_user(db_session, Role.ADMIN))
    clock.advance(minutes=1)
    client.get(f"/children/{world.mine.id}", headers=auth_headers(db_session, world.mentor, now=clock.now()))
    clock.advance(minutes=1)
    client.get(f"/children/{world.theirs.id}", headers=auth_headers(db_session, world.other_mentor, now=clock.now()))

    by_child = audit_via_api(client, admin_headers, child_id=str(world.mine.id), action="child.read")
    by_user = audit_via_api(client, admin_headers, actor_user_id=str(world.other_mentor.id))
    since = audit_via_api(client, admin_headers, since="2026-11-23T14:01:30+00:00")
    until = audit_via_api(client, admin_headers, until="2026-11-23T14:01:00+00:00", action="child.read")
    everything = audit_via_api(client, admin_headers)

    assert by_child == [
        {
            "id": by_child[0]["id"],
            "occurred_at": "2026-11-23T14:01:00+00:00",
            "actor_user_id": str(world.mentor.id),
            "actor_role": "mentor",
            "action": "child.read",
            "record_type": "child",
            "record_id": str(world.mine.id),
            "child_id": str(world.mine.id),
            "details": None,
        }
    ]
    assert [(event["action"], event["child_id"]) for event in by_user] == [("child.read", str(world.theirs.id))]
    assert [event["occurred_at"] for event in since] == ["2026-11-23T14:02:00+00:00"]
    assert until == []
    occurred = [event["occurred_at"] for event in everything]
    assert occurred == sorted(occurred, reverse=True)
    assert occurred[0] == "2026-11-23T14:02:00+00:00"


def test_reading_the_audit_log_is_paged(client, db_session, world):
    admin_headers = auth_headers(db_session, make_user(db_session, Role.ADMIN))
    total = count_audit_events(db_session)

    response = client.get("/audit-events", query_string={"page_size": 2}, headers=admin_headers)

    assert len(response.json) == 2
    assert json.loads(response.headers["X-Pagination"])["total"] == total
    assert total > 2
