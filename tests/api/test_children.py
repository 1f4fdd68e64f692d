"""Recording children over HTTP: the child, their phone numbers and their consent to be contacted."""

import re
import uuid
from datetime import timedelta
from unittest.mock import ANY

import pytest
from sqlalchemy import func, select

from api.actors import Role
from api.audit.models import AuditEvent
from api.children.models import Child, ContactConsent, PhoneNumber
from api.children.rules import NewPhoneNumber, PhoneOwner
from tests.builders import (
    admit_child,
    allocate,
    auth_headers,
    make_child,
    make_cohort,
    make_programme,
    make_user,
)
from tests.conftest import DEFAULT_NOW

NOW_JSON = "2026-11-23T14:00:00+00:00"
REFERENCE = re.compile(r"^YP-[23456789ABCDEFGHJKMNPQRSTVWXYZ]{6}$")
LANDLINE_MESSAGE = "Only mobile numbers can receive SMS safely; a landline reads messages aloud."


def child_payload(**overrides):
    return {
        "first_name": "Amira",
        "last_name": "Example",
        "date_of_birth": "2012-05-17",
        "district": "Medway",
        "phone_numbers": [],
    } | overrides


def count_rows(db_session, model):
    return db_session.scalar(select(func.count()).select_from(model))


def row_counts(db_session):
    return {model.__name__: count_rows(db_session, model) for model in (Child, PhoneNumber, ContactConsent, AuditEvent)}


@pytest.fixture()
def programme(db_session):
    return make_programme(db_session)


@pytest.fixture()
def coordinator(db_session, programme):
    return make_user(db_session, Role.COORDINATOR, programme=programme)


@pytest.fixture()
def headers(db_session, coordinator):
    return auth_headers(db_session, coordinator)


@pytest.fixture()
def child(db_session, programme, coordinator):
    return make_child(db_session, programme=programme, by=coordinator, phone_numbers=[])


# Recording a child


def test_a_coordinator_records_a_child_with_a_pseudonymous_reference_and_e164_mobile_numbers(
    client, db_session, programme, headers
):
    payload = child_payload(
        phone_numbers=[
            {"number": "07700 900123", "belongs_to": "child"},
            {"number": "+44 7911 123456", "belongs_to": "parent"},
        ]
    )

    response = client.post("/children", json=payload, headers=headers)

    assert response.status_code == 201
    body = response.json
    assert REFERENCE.match(body["reference"])
    assert sorted(body.pop("phone_numbers"), key=lambda phone: phone["number"]) == [
        {"id": ANY, "number": "+447700900123", "belongs_to": "child", "created_at": NOW_JSON},
        {"id": ANY, "number": "+447911123456", "belongs_to": "parent", "created_at": NOW_JSON},
    ]
    assert body == {
        "id": ANY,
        "reference": body["reference"],
        "programme_id": str(programme.id),
        "first_name": "Amira",
        "last_name": "Example",
        "date_of_birth": "2012-05-17",
        "district": "Medway",
        "school": None,
        "cohort_name": None,
        "enrolment": None,
        "key_worker": None,
        "waitlist_position": None,
        "consents": [],
        "created_at": NOW_JSON,
        "updated_at": NOW_JSON,
    }
    stored = db_session.get(Child, uuid.UUID(body["id"]))
    assert stored is not None
    assert stored.reference == body["reference"]
    assert sorted(phone.e164 for phone in db_session.scalars(select(PhoneNumber))) == [
        "+447700900123",
        "+447911123456",
    ]


def test_every_child_gets_a_different_reference(client, db_session, headers):
    references = {
        client.post("/children", json=child_payload(first_name=f"Child {n}"), headers=headers).json["reference"]
        for n in range(5)
    }

    assert len(references) == 5


def test_names_district_and_school_are_stored_without_surrounding_spaces(client, headers):
    payload = child_payload(first_name="  Amira ", last_name=" Example  ", district=" Medway ", school=" Oak Hill ")

    response = client.post("/children", json=payload, headers=headers)

    assert response.status_code == 201, response.json
    assert (response.json["first_name"], response.json["last_name"]) == ("Amira", "Example")
    assert (response.json["district"], response.json["school"]) == ("Medway", "Oak Hill")


def test_an_admin_records_a_child_in_any_programme_they_name(client, db_session, programme):
    admin = make_user(db_session, Role.ADMIN)

    response = client.post(
        "/children", json=child_payload(programme_id=str(programme.id)), headers=auth_headers(db_session, admin)
    )

    assert response.status_code == 201
    assert response.json["programme_id"] == str(programme.id)


def test_a_landline_is_refused_with_the_error_under_the_numbers_position_in_the_list(client, db_session, headers):
    payload = child_payload(
        phone_numbers=[
            {"number": "07700 900123", "belongs_to": "child"},
            {"number": "+44 20 7946 0123", "belongs_to": "parent"},
        ]
    )

    response = client.post("/children", json=payload, headers=headers)

    assert response.status_code == 422
    assert response.json == {
        "code": 422,
        "request_id": ANY,
        "status": "Unprocessable Entity",
        "message": LANDLINE_MESSAGE,
        "reason": "not_a_mobile_number",
        "errors": {"phone_numbers": {"1": {"number": [LANDLINE_MESSAGE]}}},
    }


def test_a_landline_first_in_the_list_is_reported_at_position_zero(client, headers):
    payload = child_payload(phone_numbers=[{"number": "020 7946 0123", "belongs_to": "carer"}])

    response = client.post("/children", json=payload, headers=headers)

    assert response.status_code == 422
    assert response.json["reason"] == "not_a_mobile_number"
    assert response.json["errors"] == {"phone_numbers": {"0": {"number": [LANDLINE_MESSAGE]}}}


def test_something_that_is_not_a_phone_number_is_refused_as_malformed(client, headers):
    payload = child_payload(phone_numbers=[{"number": "call me maybe", "belongs_to": "child"}])

    response = client.post("/children", json=payload, headers=headers)

    assert response.status_code == 422
    assert response.json == {
        "code": 422,
        "request_id": ANY,
        "status": "Unprocessable Entity",
        "message": "This is not a phone number.",
        "reason": "malformed_phone_number",
        "errors": {"phone_numbers": {"0": {"number": ["This is not a phone number."]}}},
    }


def test_a_number_of_the_wrong_length_is_refused_as_invalid(client, headers):
    payload = child_payload(phone_numbers=[{"number": "+44 7911 12345", "belongs_to": "child"}])

    response = client.post("/children", json=payload, headers=headers)

    assert response.status_code == 422
    assert response.json["reason"] == "invalid_phone_number"
    assert response.json["errors"] == {"phone_numbers": {"0": {"number": ["This is not a valid phone number."]}}}


def test_the_same_number_twice_in_different_formats_is_refused(client, headers):
    payload = child_payload(
        phone_numbers=[
            {"number": "07911 123456", "belongs_to": "child"},
            {"number": "+447911123456", "belongs_to": "parent"},
        ]
    )

    response = client.post("/children", json=payload, headers=headers)

    assert response.status_code == 422
    assert response.json["reason"] == "phone_number_already_recorded"
    assert response.json["errors"] == {"phone_numbers": ["A number is listed twice."]}


def test_a_district_outside_the_programme_is_refused(client, headers):
    response = client.post("/children", json=child_payload(district="Westminster"), headers=headers)

    assert response.status_code == 422
    assert response.json == {
        "code": 422,
        "request_id": ANY,
        "status": "Unprocessable Entity",
        "message": "Choose one of the programme's districts.",
        "reason": "unknown_district",
        "errors": {"district": ["Choose one of: Dartford, Medway, Swale, Thanet."]},
    }


def test_a_date_of_birth_in_the_future_is_refused(client, headers):
    response = client.post("/children", json=child_payload(date_of_birth="2026-11-24"), headers=headers)

    assert response.status_code == 422
    assert response.json == {
        "code": 422,
        "request_id": ANY,
        "status": "Unprocessable Entity",
        "message": "A date of birth cannot be in the future.",
        "reason": "implausible_date_of_birth",
        "errors": {"date_of_birth": ["A date of birth cannot be in the future."]},
    }


@pytest.mark.parametrize(
    "date_of_birth",
    [
        "2021-11-24",  # five tomorrow
        "2000-11-23",  # 26 today
        "1990-01-01",
    ],
)
def test_a_child_younger_than_five_or_older_than_twenty_five_is_refused(client, headers, date_of_birth):
    response = client.post("/children", json=child_payload(date_of_birth=date_of_birth), headers=headers)

    assert response.status_code == 422
    assert response.json["reason"] == "implausible_date_of_birth"
    assert response.json["errors"] == {"date_of_birth": ["The child must be between 5 and 25 years old."]}


@pytest.mark.parametrize(
    "date_of_birth",
    [
        "2021-11-23",  # five today
        "2000-11-24",  # 25 until tomorrow
    ],
)
def test_a_child_aged_exactly_five_or_twenty_five_is_accepted(client, headers, date_of_birth):
    response = client.post("/children", json=child_payload(date_of_birth=date_of_birth), headers=headers)

    assert response.status_code == 201
    assert response.json["date_of_birth"] == date_of_birth


def test_an_unknown_field_is_refused(client, headers):
    response = client.post("/children", json=child_payload(nickname="Ami"), headers=headers)

    assert response.status_code == 422
    assert response.json == {
        "code": 422,
        "request_id": ANY,
        "status": "Unprocessable Entity",
        "message": "Some fields are missing or not valid.",
        "reason": "invalid_request",
        "errors": {"nickname": ["Unknown field."]},
    }


def test_a_blank_first_name_is_refused(client, headers):
    response = client.post("/children", json=child_payload(first_name="   "), headers=headers)

    assert response.status_code == 422
    assert response.json["reason"] == "invalid_request"
    assert response.json["errors"] == {"first_name": ["Must not be blank."]}


def test_missing_required_fields_are_each_named(client, headers):
    response = client.post("/children", json={}, headers=headers)

    assert response.status_code == 422
    assert response.json["errors"] == {
        field: ["Missing data for required field."]
        for field in ("first_name", "last_name", "date_of_birth", "district")
    }


def test_a_phone_number_must_say_whose_phone_it_is(client, headers):
    response = client.post("/children", json=child_payload(phone_numbers=[{"number": "07700 900123"}]), headers=headers)

    assert response.status_code == 422
    assert response.json["errors"] == {"phone_numbers": {"0": {"belongs_to": ["Missing data for required field."]}}}


def test_at_most_five_phone_numbers_can_be_given(client, headers):
    numbers = [{"number": f"07700 900{n:03d}", "belongs_to": "child"} for n in range(6)]

    response = client.post("/children", json=child_payload(phone_numbers=numbers), headers=headers)

    assert response.status_code == 422
    assert list(response.json["errors"]) == ["phone_numbers"]


@pytest.mark.parametrize(
    "payload",
    [
        child_payload(
            phone_numbers=[
                {"number": "07700 900123", "belongs_to": "child"},
                {"number": "02079460123", "belongs_to": "parent"},
            ]
        ),
        child_payload(
            phone_numbers=[
                {"number": "07700 900123", "belongs_to": "child"},
                {"number": "nonsense", "belongs_to": "parent"},
            ]
        ),
        child_payload(phone_numbers=[{"number": "07700 900123", "belongs_to": "child"}], district="Westminster"),
        child_payload(phone_numbers=[{"number": "07700 900123", "belongs_to": "child"}], date_of_birth="2030-01-01"),
        child_payload(phone_numbers=[{"number": "07700 900123", "belongs_to": "child"}], first_name=""),
        child_payload(phone_numbers=[{"number": "07700 900123", "belongs_to": "child"}], unexpected=True),
    ],
    ids=["landline", "malformed", "unknown-district", "future-birth", "blank-name", "unknown-field"],
)
def test_nothing_is_written_when_recording_a_child_fails(client, db_session, headers, payload):
    before = row_counts(db_session)

    response = client.post("/children", json=payload, headers=headers)

    assert response.status_code == 422
    assert row_counts(db_session) == before


def test_a_coordinator_cannot_record_a_child_in_another_programme(client, db_session, headers):
    other_programme = make_programme(db_session)
    before = row_counts(db_session)

    response = client.post("/children", json=child_payload(programme_id=str(other_programme.id)), headers=headers)

    assert response.status_code == 403
    assert response.json == {
        "code": 403,
        "request_id": ANY,
        "status": "Forbidden",
        "message": "You can only add children to your own programme.",
        "reason": "programme_not_yours",
    }
    assert row_counts(db_session) == before


@pytest.mark.parametrize("role", [Role.MENTOR, Role.COMMISSIONER])
def test_mentors_and_commissioners_cannot_record_children(client, db_session, programme, role):
    user = make_user(db_session, role, programme=programme)
    before = row_counts(db_session)

    response = client.post("/children", json=child_payload(), headers=auth_headers(db_session, user))

    assert response.status_code == 403
    assert response.json == {
        "code": 403,
        "request_id": ANY,
        "status": "Forbidden",
        "message": "Your role may not do this.",
        "reason": "forbidden",
    }
    assert row_counts(db_session) == before


def test_recording_a_child_needs_a_bearer_token(client, db_session):
    before = row_counts(db_session)

    response = client.post("/children", json=child_payload())

    assert response.status_code == 401
    assert response.json["reason"] == "access_token_invalid"
    assert row_counts(db_session) == before


# Correcting a child's details


def test_a_coordinator_corrects_a_childs_details(client, db_session, clock, headers, child):
    clock.advance(minutes=10)  # within the access token's 15 minutes

    response = client.patch(
        f"/children/{child.id}",
        json={"first_name": " Sam ", "district": "Swale", "school": "Oak Hill", "date_of_birth": "2011-01-02"},
        headers=headers,
    )

    assert response.status_code == 200
    body = response.json
    assert (body["first_name"], body["last_name"]) == ("Sam", "Testchild")
    assert (body["district"], body["school"], body["date_of_birth"]) == ("Swale", "Oak Hill", "2011-01-02")
    assert body["created_at"] == NOW_JSON
    assert body["updated_at"] == "2026-11-23T14:10:00+00:00"
    db_session.expire_all()
    stored = db_session.get(Child, child.id)
    assert (stored.first_name, stored.district, stored.school) == ("Sam", "Swale", "Oak Hill")


def test_an_empty_school_clears_it(client, db_session, programme, coordinator, headers):
    child = make_child(db_session, programme=programme, by=coordinator, school="Oak Hill")

    response = client.patch(f"/children/{child.id}", json={"school": ""}, headers=headers)

    assert response.status_code == 200
    assert response.json["school"] is None


@pytest.mark.parametrize(
    ("changes", "reason"),
    [
        ({"district": "Westminster"}, "unknown_district"),
        ({"date_of_birth": "2027-01-01"}, "implausible_date_of_birth"),
        ({"date_of_birth": "1990-01-01"}, "implausible_date_of_birth"),
        ({"first_name": " "}, "invalid_request"),
        ({"reference": "YP-AAAAAA"}, "invalid_request"),
    ],
)
def test_a_correction_that_breaks_a_rule_changes_nothing(client, db_session, headers, child, changes, reason):
    before = (child.first_name, child.district, child.date_of_birth, child.reference)

    response = client.patch(f"/children/{child.id}", json=changes, headers=headers)

    assert response.status_code == 422
    assert response.json["reason"] == reason
    db_session.expire_all()
    stored = db_session.get(Child, child.id)
    assert (stored.first_name, stored.district, stored.date_of_birth, stored.reference) == before


def test_a_mentor_cannot_correct_a_childs_details_even_in_their_caseload(client, db_session, programme, coordinator):
    mentor = make_user(db_session, Role.MENTOR, programme=programme)
    cohort = make_cohort(db_session, programme=programme)
    enrolment = admit_child(db_session, cohort=cohort, by=coordinator)
    allocate(db_session, enrolment=enrolment, mentor=mentor, by=coordinator)

    response = client.patch(
        f"/children/{enrolment.child_id}", json={"school": "Oak Hill"}, headers=auth_headers(db_session, mentor)
    )

    assert response.status_code == 403
    assert response.json["reason"] == "forbidden"


# Phone numbers


@pytest.fixture()
def mentor_with_child(db_session, programme, coordinator):
    """A mentor and the child allocated to them (who has one child-owned drama number)."""
    mentor = make_user(db_session, Role.MENTOR, programme=programme)
    cohort = make_cohort(db_session, programme=programme)
    enrolment = admit_child(db_session, cohort=cohort, by=coordinator)
    allocate(db_session, enrolment=enrolment, mentor=mentor, by=coordinator)
    return mentor, db_session.get(Child, enrolment.child_id)


def phone_numbers_shown(client, child_id, headers):
    response = client.get(f"/children/{child_id}", headers=headers)
    assert response.status_code == 200
    return sorted((phone["number"], phone["belongs_to"]) for phone in response.json["phone_numbers"])


def test_a_childs_mentor_adds_a_phone_number(client, db_session, mentor_with_child):
    mentor, child = mentor_with_child
    headers = auth_headers(db_session, mentor)
    existing = phone_numbers_shown(client, child.id, headers)

    response = client.post(
        f"/children/{child.id}/phone-numbers", json={"number": "07911 123456", "belongs_to": "carer"}, headers=headers
    )

    assert response.status_code == 201
    assert response.json == {"id": ANY, "number": "+447911123456", "belongs_to": "carer", "created_at": NOW_JSON}
    stored = db_session.get(PhoneNumber, uuid.UUID(response.json["id"]))
    assert (stored.child_id, stored.created_by_user_id, stored.removed_at) == (child.id, mentor.id, None)
    assert phone_numbers_shown(client, child.id, headers) == sorted([*existing, ("+447911123456", "carer")])


def test_a_number_already_recorded_for_the_child_is_refused_in_any_format(client, db_session, headers, child):
    first = client.post(
        f"/children/{child.id}/phone-numbers", json={"number": "+447911123456", "belongs_to": "child"}, headers=headers
    )
    assert first.status_code == 201
    before = count_rows(db_session, PhoneNumber)

    response = client.post(
        f"/children/{child.id}/phone-numbers", json={"number": "07911 123456", "belongs_to": "parent"}, headers=headers
    )

    assert response.status_code == 422
    assert response.json == {
        "code": 422,
        "request_id": ANY,
        "status": "Unprocessable Entity",
        "message": "This number is already recorded for this child.",
        "reason": "phone_number_already_recorded",
        "errors": {"number": ["This number is already recorded for this child."]},
    }
    assert count_rows(db_session, PhoneNumber) == before


def test_two_children_may_share_a_number(client, db_session, programme, coordinator, headers):
    # Siblings often share one carer's phone.
    first = make_child(db_session, programme=programme, by=coordinator, phone_numbers=[])
    second = make_child(db_session, programme=programme, by=coordinator, phone_numbers=[])
    number = {"number": "07911 123456", "belongs_to": "carer"}

    assert client.post(f"/children/{first.id}/phone-numbers", json=number, headers=headers).status_code == 201
    assert client.post(f"/children/{second.id}/phone-numbers", json=number, headers=headers).status_code == 201


def test_adding_a_landline_is_refused(client, db_session, headers, child):
    response = client.post(
        f"/children/{child.id}/phone-numbers", json={"number": "020 7946 0123", "belongs_to": "parent"}, headers=headers
    )

    assert response.status_code == 422
    assert response.json == {
        "code": 422,
        "request_id": ANY,
        "status": "Unprocessable Entity",
        "message": LANDLINE_MESSAGE,
        "reason": "not_a_mobile_number",
        "errors": {"number": [LANDLINE_MESSAGE]},
    }
    assert count_rows(db_session, PhoneNumber) == 0


def test_a_removed_number_is_no_longer_shown_but_is_kept_for_the_record(client, db_session, headers, child):
    added = client.post(
        f"/children/{child.id}/phone-numbers", json={"number": "07911 123456", "belongs_to": "child"}, headers=headers
    ).json

    response = client.delete(f"/children/{child.id}/phone-numbers/{added['id']}", headers=headers)

    assert response.status_code == 204
    assert response.data == b""
    assert phone_numbers_shown(client, child.id, headers) == []
    db_session.expire_all()
    stored = db_session.get(PhoneNumber, uuid.UUID(added["id"]))
    assert stored.removed_at == DEFAULT_NOW


def test_a_removed_number_can_be_recorded_again(client, db_session, headers, child):
    number = {"number": "07911 123456", "belongs_to": "child"}
    added = client.post(f"/children/{child.id}/phone-numbers", json=number, headers=headers).json
    client.delete(f"/children/{child.id}/phone-numbers/{added['id']}", headers=headers)

    response = client.post(f"/children/{child.id}/phone-numbers", json=number, headers=headers)

    assert response.status_code == 201
    assert response.json["id"] != added["id"]
    assert phone_numbers_shown(client, child.id, headers) == [("+447911123456", "child")]


def test_a_number_cannot_be_removed_twice(client, db_session, headers, child):
    added = client.post(
        f"/children/{child.id}/phone-numbers", json={"number": "07911 123456", "belongs_to": "child"}, headers=headers
    ).json
    client.delete(f"/children/{child.id}/phone-numbers/{added['id']}", headers=headers)

    response = client.delete(f"/children/{child.id}/phone-numbers/{added['id']}", headers=headers)

    assert response.status_code == 404
    assert response.json == {
        "code": 404,
        "request_id": ANY,
        "status": "Not Found",
        "message": "No such phone number for this child.",
        "reason": "phone_number_not_found",
    }


def test_another_childs_number_cannot_be_removed_through_this_child(
    client, db_session, programme, coordinator, headers, child
):
    other = make_child(
        db_session,
        programme=programme,
        by=coordinator,
        phone_numbers=[NewPhoneNumber("+447700900777", PhoneOwner.CHILD)],
    )
    others_number = db_session.scalar(select(PhoneNumber).where(PhoneNumber.child_id == other.id))

    response = client.delete(f"/children/{child.id}/phone-numbers/{others_number.id}", headers=headers)

    assert response.status_code == 404
    assert response.json["reason"] == "phone_number_not_found"
    db_session.expire_all()
    assert db_session.get(PhoneNumber, others_number.id).removed_at is None
    assert phone_numbers_shown(client, other.id, headers) == [("+447700900777", "child")]


def test_removing_an_unknown_number_is_not_found(client, headers, child):
    response = client.delete(f"/children/{child.id}/phone-numbers/{uuid.uuid4()}", headers=headers)

    assert response.status_code == 404
    assert response.json["reason"] == "phone_number_not_found"


# Consent to contact


def consent(channel="sms_to_child", granted=True, given_by="child"):
    return {"channel": channel, "granted": granted, "given_by": given_by}


def test_consent_to_sms_a_child_is_refused_without_a_number_of_the_childs_own(
    client, db_session, programme, coordinator, headers
):
    child = make_child(
        db_session,
        programme=programme,
        by=coordinator,
        phone_numbers=[NewPhoneNumber("+447700900321", PhoneOwner.PARENT)],
    )

    response = client.post(f"/children/{child.id}/consents", json=consent(), headers=headers)

    assert response.status_code == 422
    message = "Record a phone number this channel can reach before recording consent to use it."
    assert response.json == {
        "code": 422,
        "request_id": ANY,
        "status": "Unprocessable Entity",
        "message": message,
        "reason": "consent_channel_without_number",
        "errors": {"channel": [message]},
    }
    assert count_rows(db_session, ContactConsent) == 0


def test_consent_to_sms_a_carer_is_refused_when_only_the_child_has_a_number(
    client, db_session, programme, coordinator, headers
):
    child = make_child(db_session, programme=programme, by=coordinator)  # one child-owned number

    response = client.post(
        f"/children/{child.id}/consents", json=consent("sms_to_carer", given_by="parent"), headers=headers
    )

    assert response.status_code == 422
    assert response.json["reason"] == "consent_channel_without_number"


def test_a_removed_number_no_longer_supports_a_grant_of_consent(client, db_session, headers, child):
    added = client.post(
        f"/children/{child.id}/phone-numbers", json={"number": "07911 123456", "belongs_to": "child"}, headers=headers
    ).json
    client.delete(f"/children/{child.id}/phone-numbers/{added['id']}", headers=headers)

    response = client.post(f"/children/{child.id}/consents", json=consent(), headers=headers)

    assert response.status_code == 422
    assert response.json["reason"] == "consent_channel_without_number"


def test_consent_to_sms_a_carer_is_recorded_when_a_parent_number_exists(
    client, db_session, programme, coordinator, headers
):
    child = make_child(
        db_session,
        programme=programme,
        by=coordinator,
        phone_numbers=[NewPhoneNumber("+447700900321", PhoneOwner.PARENT)],
    )

    response = client.post(
        f"/children/{child.id}/consents", json=consent("sms_to_carer", given_by="parent"), headers=headers
    )

    assert response.status_code == 201
    assert response.json == {
        "id": ANY,
        "channel": "sms_to_carer",
        "granted": True,
        "given_by": "parent",
        "recorded_by_user_id": str(coordinator.id),
        "recorded_at": NOW_JSON,
    }


def test_withdrawing_consent_is_always_allowed_even_without_any_number(client, db_session, headers, child):
    response = client.post(f"/children/{child.id}/consents", json=consent(granted=False), headers=headers)

    assert response.status_code == 201
    assert response.json["granted"] is False
    assert count_rows(db_session, ContactConsent) == 1


def test_the_latest_decision_per_channel_is_the_one_in_force(client, db_session, clock, mentor_with_child):
    mentor, child = mentor_with_child
    coordinator = make_user(db_session, Role.COORDINATOR, programme_id=child.programme_id)
    coordinator_headers = auth_headers(db_session, coordinator)
    mentor_headers = auth_headers(db_session, mentor)
    client.post(
        f"/children/{child.id}/phone-numbers",
        json={"number": "07911 123456", "belongs_to": "carer"},
        headers=mentor_headers,
    )
    assert client.post(f"/children/{child.id}/consents", json=consent(), headers=coordinator_headers).status_code == 201
    carer = client.post(
        f"/children/{child.id}/consents", json=consent("sms_to_carer", given_by="carer"), headers=coordinator_headers
    ).json
    clock.advance(minutes=5)
    withdrawal = client.post(f"/children/{child.id}/consents", json=consent(granted=False), headers=mentor_headers).json

    response = client.get(f"/children/{child.id}", headers=coordinator_headers)

    assert response.status_code == 200
    assert sorted(response.json["consents"], key=lambda decision: decision["channel"]) == [
        {
            "id": carer["id"],
            "channel": "sms_to_carer",
            "granted": True,
            "given_by": "carer",
            "recorded_by_user_id": str(coordinator.id),
            "recorded_at": NOW_JSON,
        },
        {
            "id": withdrawal["id"],
            "channel": "sms_to_child",
            "granted": False,
            "given_by": "child",
            "recorded_by_user_id": str(mentor.id),
            "recorded_at": "2026-11-23T14:05:00+00:00",
        },
    ]
    # The earlier grant is kept as history.
    assert count_rows(db_session, ContactConsent) == 3


def test_consent_given_again_after_a_withdrawal_is_in_force(client, db_session, clock, headers, programme, coordinator):
    child = make_child(db_session, programme=programme, by=coordinator)
    client.post(f"/children/{child.id}/consents", json=consent(), headers=headers)
    clock.advance(minutes=1)
    client.post(f"/children/{child.id}/consents", json=consent(granted=False), headers=headers)
    clock.advance(minutes=1)
    client.post(f"/children/{child.id}/consents", json=consent(given_by="parent"), headers=headers)

    response = client.get(f"/children/{child.id}", headers=headers)

    [in_force] = response.json["consents"]
    assert (in_force["granted"], in_force["given_by"]) == (True, "parent")
    assert in_force["recorded_at"] == (DEFAULT_NOW + timedelta(minutes=2)).isoformat()


@pytest.mark.parametrize(
    "body",
    [
        {"channel": "email", "granted": True, "given_by": "child"},
        {"channel": "sms_to_child", "granted": True, "given_by": "teacher"},
        {"channel": "sms_to_child", "given_by": "child"},
        {"channel": "sms_to_child", "granted": True, "given_by": "child", "recorded_by_user_id": str(uuid.uuid4())},
    ],
    ids=["unknown-channel", "unknown-giver", "no-decision", "read-only-field"],
)
def test_a_malformed_consent_is_refused(client, db_session, headers, child, body):
    response = client.post(f"/children/{child.id}/consents", json=body, headers=headers)

    assert response.status_code == 422
    assert response.json["reason"] == "invalid_request"
    assert count_rows(db_session, ContactConsent) == 0
