"""Referrals over HTTP: taking them, and accepting (a place or the waitlist) or declining them."""

import json
import uuid
from datetime import date
from unittest.mock import ANY

import pytest
from sqlalchemy import func, select

from api.actors import Role
from api.audit.models import AuditEvent
from api.enrolments.models import Enrolment
from api.enrolments.rules import Priority
from api.programmes.models import Programme
from api.referrals.models import Referral
from tests.builders import (
    admit_child,
    auth_headers,
    make_child,
    make_cohort,
    make_programme,
    make_referral,
    make_user,
)

NOW_JSON = "2026-11-23T14:00:00+00:00"
TODAY = "2026-11-23"


def count_rows(db_session, model):
    return db_session.scalar(select(func.count()).select_from(model))


@pytest.fixture()
def cohort(db_session):
    return make_cohort(db_session, places=2)


@pytest.fixture()
def programme(db_session, cohort):
    return db_session.get(Programme, cohort.programme_id)


@pytest.fixture()
def coordinator(db_session, programme):
    return make_user(db_session, Role.COORDINATOR, programme=programme)


@pytest.fixture()
def headers(db_session, coordinator):
    return auth_headers(db_session, coordinator)


@pytest.fixture()
def child(db_session, programme, coordinator):
    return make_child(db_session, programme=programme, by=coordinator)


def referral_payload(child_id, cohort_id, **overrides):
    return {
        "child_id": str(child_id),
        "cohort_id": str(cohort_id),
        "source": "police",
        "source_name": "Kent Police, Medway CSE team",
        "reason": "Seen with older men near the station on school days.",
    } | overrides


def stored_referral(db_session, referral_id):
    db_session.expire_all()
    return db_session.get(Referral, uuid.UUID(str(referral_id)))


# Taking a referral


def test_a_referral_defaults_to_normal_priority_and_todays_date(
    client, db_session, headers, coordinator, child, cohort
):
    response = client.post("/referrals", json=referral_payload(child.id, cohort.id), headers=headers)

    assert response.status_code == 201
    assert response.json == {
        "id": ANY,
        "child_id": str(child.id),
        "cohort_id": str(cohort.id),
        "source": "police",
        "source_name": "Kent Police, Medway CSE team",
        "reason": "Seen with older men near the station on school days.",
        "priority": "normal",
        "referred_on": TODAY,
        "status": "pending",
        "created_at": NOW_JSON,
        "decided_at": None,
        "decided_by_user_id": None,
        "decision_reason": None,
    }
    referral = stored_referral(db_session, response.json["id"])
    assert referral.created_by_user_id == coordinator.id


def test_a_referral_keeps_the_priority_and_past_date_it_was_given(client, headers, child, cohort):
    payload = referral_payload(child.id, cohort.id, priority="urgent", referred_on="2026-10-01", source="school")

    response = client.post("/referrals", json=payload, headers=headers)

    assert response.status_code == 201
    assert (response.json["priority"], response.json["referred_on"], response.json["source"]) == (
        "urgent",
        "2026-10-01",
        "school",
    )


def test_a_referral_dated_in_the_future_is_refused(client, db_session, headers, child, cohort):
    response = client.post(
        "/referrals", json=referral_payload(child.id, cohort.id, referred_on="2026-11-24"), headers=headers
    )

    assert response.status_code == 422
    assert response.json == {
        "code": 422,
        "request_id": ANY,
        "status": "Unprocessable Entity",
        "message": "A referral cannot be dated in the future.",
        "reason": "referral_date_in_future",
        "errors": {"referred_on": ["A referral cannot be dated in the future."]},
    }
    assert count_rows(db_session, Referral) == 0


def test_a_child_with_a_pending_referral_cannot_be_referred_again(client, db_session, headers, child, cohort):
    make_referral(db_session, cohort=cohort, child=child)
    other_cohort = make_cohort(db_session, programme=db_session.get(Programme, cohort.programme_id))

    response = client.post("/referrals", json=referral_payload(child.id, other_cohort.id), headers=headers)

    assert response.status_code == 409
    assert response.json == {
        "code": 409,
        "request_id": ANY,
        "status": "Conflict",
        "message": "This child already has a referral waiting for a decision.",
        "reason": "referral_already_pending",
    }
    assert count_rows(db_session, Referral) == 1


def test_a_child_who_already_has_a_place_cannot_be_referred(client, db_session, headers, coordinator, cohort):
    enrolment = admit_child(db_session, cohort=cohort, by=coordinator)
    child_id = enrolment.child_id

    response = client.post("/referrals", json=referral_payload(child_id, cohort.id), headers=headers)

    assert response.status_code == 409
    assert response.json == {
        "code": 409,
        "request_id": ANY,
        "status": "Conflict",
        "message": "This child already has a place or is waiting for one; move them instead.",
        "reason": "child_already_enrolled",
    }


def test_a_child_waiting_for_a_place_cannot_be_referred(client, db_session, headers, coordinator):
    full = make_cohort(db_session, programme=db_session.get(Programme, coordinator.programme_id), places=0)
    waiting = admit_child(db_session, cohort=full, by=coordinator)
    assert waiting.status.value == "waitlisted"

    response = client.post("/referrals", json=referral_payload(waiting.child_id, full.id), headers=headers)

    assert response.status_code == 409
    assert response.json["reason"] == "child_already_enrolled"


def test_a_child_whose_referral_was_declined_can_be_referred_again(client, db_session, headers, child, cohort):
    first = client.post("/referrals", json=referral_payload(child.id, cohort.id), headers=headers).json
    client.post(f"/referrals/{first['id']}/decline", json={"reason": "Out of area."}, headers=headers)

    response = client.post("/referrals", json=referral_payload(child.id, cohort.id), headers=headers)

    assert response.status_code == 201
    assert response.json["id"] != first["id"]


def test_a_referral_to_another_programmes_cohort_is_refused_as_not_found(client, db_session, headers, child):
    foreign_cohort = make_cohort(db_session)

    response = client.post("/referrals", json=referral_payload(child.id, foreign_cohort.id), headers=headers)

    assert response.status_code == 404
    assert response.json == {
        "code": 404,
        "request_id": ANY,
        "status": "Not Found",
        "message": "No such cohort.",
        "reason": "cohort_not_found",
        "errors": {"cohort_id": ["Choose a cohort of the child's programme."]},
    }
    assert count_rows(db_session, Referral) == 0


def test_a_referral_to_an_unknown_cohort_is_refused_as_not_found(client, headers, child):
    response = client.post("/referrals", json=referral_payload(child.id, uuid.uuid4()), headers=headers)

    assert response.status_code == 404
    assert response.json["reason"] == "cohort_not_found"


def test_a_coordinator_cannot_refer_another_programmes_child(client, db_session, headers, cohort):
    foreign_child = make_child(db_session, programme=make_programme(db_session))

    response = client.post("/referrals", json=referral_payload(foreign_child.id, cohort.id), headers=headers)

    assert response.status_code == 404
    assert response.json == {
        "code": 404,
        "request_id": ANY,
        "status": "Not Found",
        "message": "No such child in your caseload.",
        "reason": "child_not_found",
    }


@pytest.mark.parametrize(
    ("overrides", "field"),
    [
        ({"source": "neighbour"}, "source"),
        ({"priority": "whenever"}, "priority"),
        ({"reason": "  "}, "reason"),
        ({"source_name": ""}, "source_name"),
        ({"status": "accepted"}, "status"),
        ({"referred_on": "yesterday"}, "referred_on"),
    ],
)
def test_a_malformed_referral_is_refused(client, db_session, headers, child, cohort, overrides, field):
    response = client.post("/referrals", json=referral_payload(child.id, cohort.id, **overrides), headers=headers)

    assert response.status_code == 422
    assert response.json["reason"] == "invalid_request"
    assert list(response.json["errors"]) == [field]
    assert count_rows(db_session, Referral) == 0


# Deciding


def test_accepting_a_referral_gives_the_child_a_free_place(client, db_session, headers, coordinator, child, cohort):
    referral = make_referral(db_session, cohort=cohort, child=child, by=coordinator, priority=Priority.HIGH)

    response = client.post(f"/referrals/{referral.id}/accept", headers=headers)

    assert response.status_code == 201
    assert response.json == {
        "id": ANY,
        "child_id": str(child.id),
        "cohort_id": str(cohort.id),
        "referral_id": str(referral.id),
        "moved_from_enrolment_id": None,
        "status": "active",
        "priority": "high",
        "referred_on": TODAY,
        "waitlist_position": None,
        "offered_at": None,
        "offer_expires_at": None,
        "started_at": NOW_JSON,
        "planned_end_on": ANY,
        "ended_at": None,
        "end_reason": None,
        "end_note": None,
        "status_note": None,
    }
    assert response.json["planned_end_on"] is not None
    decided = stored_referral(db_session, referral.id)
    assert (decided.status.value, decided.decided_by_user_id) == ("accepted", coordinator.id)
    assert decided.decided_at is not None


def test_accepting_a_referral_when_the_cohort_is_full_puts_the_child_on_the_waitlist(
    client, db_session, clock, headers, coordinator, cohort
):
    for _ in range(cohort.places):
        admit_child(db_session, cohort=cohort, by=coordinator)
    first = make_referral(db_session, cohort=cohort, by=coordinator)
    second = make_referral(db_session, cohort=cohort, by=coordinator)

    first_response = client.post(f"/referrals/{first.id}/accept", headers=headers)
    clock.advance(seconds=1)  # same priority and referral date: the earlier acceptance waits less
    second_response = client.post(f"/referrals/{second.id}/accept", headers=headers)

    assert first_response.status_code == second_response.status_code == 201
    assert (first_response.json["status"], first_response.json["waitlist_position"]) == ("waitlisted", 1)
    assert (second_response.json["status"], second_response.json["waitlist_position"]) == ("waitlisted", 2)
    assert first_response.json["started_at"] is None
    assert stored_referral(db_session, first.id).status.value == "accepted"


def test_an_urgent_referral_goes_ahead_of_normal_ones_on_the_waitlist(client, db_session, headers, coordinator, cohort):
    for _ in range(cohort.places):
        admit_child(db_session, cohort=cohort, by=coordinator)
    normal = make_referral(db_session, cohort=cohort, by=coordinator)
    urgent = make_referral(db_session, cohort=cohort, by=coordinator, priority=Priority.URGENT)
    client.post(f"/referrals/{normal.id}/accept", headers=headers)

    response = client.post(f"/referrals/{urgent.id}/accept", headers=headers)

    assert (response.json["status"], response.json["waitlist_position"]) == ("waitlisted", 1)


def test_a_referral_cannot_be_accepted_twice(client, db_session, headers, child, cohort):
    referral = make_referral(db_session, cohort=cohort, child=child)
    client.post(f"/referrals/{referral.id}/accept", headers=headers)

    response = client.post(f"/referrals/{referral.id}/accept", headers=headers)

    assert response.status_code == 409
    assert response.json == {
        "code": 409,
        "request_id": ANY,
        "status": "Conflict",
        "message": "This referral has already been accepted or declined.",
        "reason": "referral_already_decided",
    }
    assert count_rows(db_session, Enrolment) == 1


def test_an_accepted_referral_cannot_then_be_declined(client, db_session, headers, child, cohort):
    referral = make_referral(db_session, cohort=cohort, child=child)
    client.post(f"/referrals/{referral.id}/accept", headers=headers)

    response = client.post(f"/referrals/{referral.id}/decline", json={"reason": "Changed our minds."}, headers=headers)

    assert response.status_code == 409
    assert response.json["reason"] == "referral_already_decided"
    assert stored_referral(db_session, referral.id).status.value == "accepted"


def test_declining_a_referral_records_who_decided_when_and_why(client, db_session, headers, coordinator, child, cohort):
    referral = make_referral(db_session, cohort=cohort, child=child)

    response = client.post(
        f"/referrals/{referral.id}/decline", json={"reason": "  Already supported by the YOT.  "}, headers=headers
    )

    assert response.status_code == 200
    assert response.json["status"] == "declined"
    assert response.json["decision_reason"] == "Already supported by the YOT."
    assert response.json["decided_by_user_id"] == str(coordinator.id)
    assert response.json["decided_at"] == NOW_JSON
    assert count_rows(db_session, Enrolment) == 0


def test_a_declined_referral_cannot_be_accepted(client, db_session, headers, child, cohort):
    referral = make_referral(db_session, cohort=cohort, child=child)
    client.post(f"/referrals/{referral.id}/decline", json={"reason": "Out of area."}, headers=headers)

    response = client.post(f"/referrals/{referral.id}/accept", headers=headers)

    assert response.status_code == 409
    assert response.json["reason"] == "referral_already_decided"
    assert count_rows(db_session, Enrolment) == 0


@pytest.mark.parametrize(
    ("body", "errors"),
    [
        ({}, {"reason": ["Missing data for required field."]}),
        ({"reason": "   "}, {"reason": ["Must not be blank."]}),
    ],
)
def test_declining_needs_a_reason(client, db_session, headers, child, cohort, body, errors):
    referral = make_referral(db_session, cohort=cohort, child=child)

    response = client.post(f"/referrals/{referral.id}/decline", json=body, headers=headers)

    assert response.status_code == 422
    assert response.json["errors"] == errors
    assert stored_referral(db_session, referral.id).status.value == "pending"


@pytest.mark.parametrize("action", ["accept", "decline"])
def test_another_programmes_referral_cannot_be_decided(client, db_session, headers, action):
    foreign = make_referral(db_session, cohort=make_cohort(db_session))

    response = client.post(f"/referrals/{foreign.id}/{action}", json={"reason": "No."}, headers=headers)

    assert response.status_code == 404
    assert response.json == {
        "code": 404,
        "request_id": ANY,
        "status": "Not Found",
        "message": "No such referral.",
        "reason": "referral_not_found",
    }
    assert stored_referral(db_session, foreign.id).status.value == "pending"


# Reading referrals


def test_a_coordinator_reads_one_referral(client, db_session, headers, child, cohort):
    referral = make_referral(db_session, cohort=cohort, child=child)

    response = client.get(f"/referrals/{referral.id}", headers=headers)

    assert response.status_code == 200
    assert response.json["id"] == str(referral.id)
    assert response.json["status"] == "pending"


def test_another_programmes_referral_reads_as_not_found_like_an_unknown_one(client, db_session, headers):
    foreign = make_referral(db_session, cohort=make_cohort(db_session))

    foreign_response = client.get(f"/referrals/{foreign.id}", headers=headers)
    unknown_response = client.get(f"/referrals/{uuid.uuid4()}", headers=headers)

    assert foreign_response.status_code == unknown_response.status_code == 404
    assert foreign_response.json == {**unknown_response.json, "request_id": foreign_response.json["request_id"]}
    assert foreign_response.json["reason"] == "referral_not_found"


@pytest.fixture()
def three_decided_ways(client, db_session, headers, coordinator, cohort):
    """Three referrals in one programme: one pending, one accepted, one declined."""
    pending = make_referral(db_session, cohort=cohort, by=coordinator)
    accepted = make_referral(db_session, cohort=cohort, by=coordinator)
    declined = make_referral(db_session, cohort=cohort, by=coordinator)
    client.post(f"/referrals/{accepted.id}/accept", headers=headers)
    client.post(f"/referrals/{declined.id}/decline", json={"reason": "Out of area."}, headers=headers)
    return {"pending": pending, "accepted": accepted, "declined": declined}


@pytest.mark.parametrize("status", ["pending", "accepted", "declined"])
def test_referrals_are_listed_by_status(client, headers, three_decided_ways, status):
    response = client.get("/referrals", query_string={"status": status}, headers=headers)

    assert response.status_code == 200
    assert [referral["id"] for referral in response.json] == [str(three_decided_ways[status].id)]
    assert response.json[0]["status"] == status
    assert json.loads(response.headers["X-Pagination"])["total"] == 1


def test_all_of_a_programmes_referrals_are_listed_without_a_filter(client, headers, three_decided_ways):
    response = client.get("/referrals", headers=headers)

    assert response.status_code == 200
    assert sorted(referral["id"] for referral in response.json) == sorted(
        str(referral.id) for referral in three_decided_ways.values()
    )


def test_referrals_are_listed_by_cohort_and_by_child(client, db_session, headers, coordinator, cohort):
    programme = db_session.get(Programme, cohort.programme_id)
    other_cohort = make_cohort(db_session, programme=programme)
    here = make_referral(db_session, cohort=cohort, by=coordinator)
    there = make_referral(db_session, cohort=other_cohort, by=coordinator)

    by_cohort = client.get("/referrals", query_string={"cohort_id": str(other_cohort.id)}, headers=headers)
    by_child = client.get("/referrals", query_string={"child_id": str(here.child_id)}, headers=headers)

    assert [referral["id"] for referral in by_cohort.json] == [str(there.id)]
    assert [referral["id"] for referral in by_child.json] == [str(here.id)]


def test_referrals_are_listed_newest_referral_date_first(client, db_session, headers, coordinator, cohort):
    old = make_referral(db_session, cohort=cohort, by=coordinator, referred_on=date(2026, 9, 1))
    new = make_referral(db_session, cohort=cohort, by=coordinator)

    response = client.get("/referrals", headers=headers)

    assert [referral["id"] for referral in response.json] == [str(new.id), str(old.id)]


def test_a_coordinator_lists_only_their_own_programmes_referrals(client, db_session, headers, coordinator, cohort):
    own = make_referral(db_session, cohort=cohort, by=coordinator)
    make_referral(db_session, cohort=make_cohort(db_session))

    response = client.get("/referrals", headers=headers)

    assert [referral["id"] for referral in response.json] == [str(own.id)]
    assert json.loads(response.headers["X-Pagination"])["total"] == 1


def test_an_admin_lists_and_decides_referrals_in_every_programme(client, db_session, cohort):
    admin = make_user(db_session, Role.ADMIN)
    here = make_referral(db_session, cohort=cohort)
    elsewhere = make_referral(db_session, cohort=make_cohort(db_session))
    headers = auth_headers(db_session, admin)

    listed = client.get("/referrals", headers=headers)
    accepted = client.post(f"/referrals/{elsewhere.id}/accept", headers=headers)

    assert sorted(referral["id"] for referral in listed.json) == sorted([str(here.id), str(elsewhere.id)])
    assert accepted.status_code == 201


def test_referrals_are_paginated(client, db_session, headers, coordinator, cohort):
    for _ in range(3):
        make_referral(db_session, cohort=cohort, by=coordinator)

    first_page = client.get("/referrals", query_string={"page": 1, "page_size": 2}, headers=headers)
    second_page = client.get("/referrals", query_string={"page": 2, "page_size": 2}, headers=headers)

    assert len(first_page.json) == 2
    assert len(second_page.json) == 1
    assert json.loads(first_page.headers["X-Pagination"]) == {
        "total": 3,
        "total_pages": 2,
        "first_page": 1,
        "last_page": 2,
        "page": 1,
        "next_page": 2,
    }
    ids = {referral["id"] for referral in first_page.json + second_page.json}
    assert len(ids) == 3


# Who may


@pytest.mark.parametrize("role", [Role.MENTOR, Role.COMMISSIONER])
def test_mentors_and_commissioners_cannot_touch_referrals(client, db_session, programme, cohort, child, role):
    referral = make_referral(db_session, cohort=cohort, child=make_child(db_session, programme=programme))
    user = make_user(db_session, role, programme=programme)
    headers = auth_headers(db_session, user)
    events_before = count_rows(db_session, AuditEvent)

    responses = [
        client.get("/referrals", headers=headers),
        client.get(f"/referrals/{referral.id}", headers=headers),
        client.post("/referrals", json=referral_payload(child.id, cohort.id), headers=headers),
        client.post(f"/referrals/{referral.id}/accept", headers=headers),
        client.post(f"/referrals/{referral.id}/decline", json={"reason": "No."}, headers=headers),
    ]

    assert [response.status_code for response in responses] == [403] * 5
    assert {response.json["reason"] for response in responses} == {"forbidden"}
    assert count_rows(db_session, Referral) == 1
    assert stored_referral(db_session, referral.id).status.value == "pending"
    assert count_rows(db_session, AuditEvent) == events_before
