from collections.abc import Sequence
from datetime import date, datetime
from typing import Any

from marshmallow import fields, post_load, validate

from api.children.rules import ConsentGivenBy, ContactChannel, NewPhoneNumber, PhoneOwner
from api.enrolments.rules import EnrolmentStatus, Priority
from api.schemas import Boolean, Integer, Schema, text


class NewPhoneNumberSchema(Schema):
    number = fields.String(
        required=True,
        validate=validate.Length(min=3, max=32),
        metadata={"description": "A mobile number; UK numbers may be written nationally (07700 900123)"},
    )
    belongs_to = fields.Enum(PhoneOwner, by_value=True, required=True, metadata={"description": "Whose phone it is"})

    @post_load
    def make_command(self, data: dict[str, Any], **_: Any) -> NewPhoneNumber:
        return NewPhoneNumber(**data)


class PhoneNumberSchema(Schema):
    id = fields.UUID()
    number = fields.String(attribute="e164", metadata={"description": "E.164"})
    belongs_to = fields.Enum(PhoneOwner, by_value=True)
    created_at = fields.AwareDateTime()


class ConsentSchema(Schema):
    id = fields.UUID(dump_only=True)
    channel = fields.Enum(ContactChannel, by_value=True, required=True)
    granted = Boolean(required=True)
    given_by = fields.Enum(
        ConsentGivenBy, by_value=True, required=True, metadata={"description": "Who agreed or refused"}
    )
    recorded_by_user_id = fields.UUID(
        dump_only=True, allow_none=True, metadata={"description": "Null when decided by SMS reply"}
    )
    recorded_at = fields.AwareDateTime(dump_only=True)


class ChildEnrolmentSchema(Schema):
    id = fields.UUID()
    cohort_id = fields.UUID()
    status = fields.Enum(EnrolmentStatus, by_value=True)
    offer_expires_at = fields.AwareDateTime(allow_none=True)
    started_at = fields.AwareDateTime(allow_none=True)
    planned_end_on = fields.Date(allow_none=True)


class KeyWorkerSchema(Schema):
    id = fields.UUID()
    display_name = fields.String()


# Dumps a ChildSummary (api/children/queries.py); ChildSchema a ChildRecord (api/children/service.py).
class ChildListItemSchema(Schema):
    id = fields.UUID(attribute="child.id")
    reference = fields.String(
        attribute="child.reference", metadata={"description": "Pseudonymous reference, e.g. YP-7F3K2Q"}
    )
    first_name = fields.String(attribute="child.first_name")
    last_name = fields.String(attribute="child.last_name")
    district = fields.String(attribute="child.district")
    cohort_name = fields.String(allow_none=True)
    enrolment = fields.Nested(ChildEnrolmentSchema, allow_none=True)
    key_worker = fields.Nested(KeyWorkerSchema, allow_none=True, attribute="mentor")


def _iso(value: date | datetime | None) -> str | None:
    return None if value is None else value.isoformat()


def list_items(summaries: Sequence[Any]) -> list[dict[str, Any]]:
    """ChildListItemSchema(many=True).dump(summaries), written out: the caseload list is among the busiest answers,
    and marshmallow's field-by-field dump of a page cost about a tenth of its CPU. The schema stays the contract (the
    OpenAPI document is made from it); tests/unit/test_child_list_items.py holds the two equal."""
    items = []
    for summary in summaries:
        child, enrolment, mentor = summary.child, summary.enrolment, summary.mentor
        items.append(
            {
                "id": str(child.id),
                "reference": child.reference,
                "first_name": child.first_name,
                "last_name": child.last_name,
                "district": child.district,
                "cohort_name": summary.cohort_name,
                "enrolment": None
                if enrolment is None
                else {
                    "id": str(enrolment.id),
                    "cohort_id": str(enrolment.cohort_id),
                    "status": enrolment.status.value,
                    "offer_expires_at": _iso(enrolment.offer_expires_at),
                    "started_at": _iso(enrolment.started_at),
                    "planned_end_on": _iso(enrolment.planned_end_on),
                },
                "key_worker": None if mentor is None else {"id": str(mentor.id), "display_name": mentor.display_name},
            }
        )
    return items


class ChildSchema(ChildListItemSchema):
    programme_id = fields.UUID(attribute="child.programme_id")
    date_of_birth = fields.Date(attribute="child.date_of_birth")
    school = fields.String(allow_none=True, attribute="child.school")
    waitlist_position = Integer(allow_none=True)
    phone_numbers = fields.List(fields.Nested(PhoneNumberSchema))
    consents = fields.List(fields.Nested(ConsentSchema), metadata={"description": "The decision in force per channel"})
    created_at = fields.AwareDateTime(attribute="child.created_at")
    updated_at = fields.AwareDateTime(attribute="child.updated_at")


class ChildCreateSchema(Schema):
    programme_id = fields.UUID(load_default=None, metadata={"description": "Defaults to your own programme"})
    first_name = text(80)
    last_name = text(80)
    date_of_birth = fields.Date(required=True)
    district = text(80)
    school = text(200, required=False, allow_none=True, load_default=None)
    phone_numbers = fields.List(fields.Nested(NewPhoneNumberSchema), load_default=list, validate=validate.Length(max=5))


class ChildUpdateSchema(Schema):
    first_name = text(80, required=False)
    last_name = text(80, required=False)
    date_of_birth = fields.Date()
    district = text(80, required=False)
    school = fields.String(allow_none=True, validate=validate.Length(max=200))


class ChildListQuerySchema(Schema):
    cohort_id = fields.UUID()
    status = fields.String(
        validate=validate.OneOf(
            [
                *(
                    status.value
                    for status in (
                        EnrolmentStatus.WAITLISTED,
                        EnrolmentStatus.OFFERED,
                        EnrolmentStatus.ACTIVE,
                    )
                ),
                "not_enrolled",
            ]
        ),
        metadata={"description": "Open enrolment status, or not_enrolled"},
    )
    district = fields.String(validate=validate.Length(max=80))
    mentor_id = fields.UUID()


class WaitlistEntrySchema(Schema):
    enrolment_id = fields.UUID(attribute="enrolment.id")
    child_id = fields.UUID(attribute="enrolment.child_id")
    child_reference = fields.String()
    status = fields.Enum(EnrolmentStatus, by_value=True, attribute="enrolment.status")
    position = Integer(allow_none=True, metadata={"description": "Null for a child holding an offer"})
    priority = fields.Enum(Priority, by_value=True, attribute="enrolment.priority")
    referred_on = fields.Date(attribute="enrolment.referred_on")
    offer_expires_at = fields.AwareDateTime(allow_none=True, attribute="enrolment.offer_expires_at")
