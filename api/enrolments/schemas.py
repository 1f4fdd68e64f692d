from marshmallow import fields, validate

from api.enrolments.rules import EndReason, EnrolmentStatus
from api.referrals.rules import Priority
from api.schemas import Integer, Schema, text

SUPPRESSIBLE_COUNT = {
    "oneOf": [{"type": "integer"}, {"type": "string", "example": "<5"}],
    "description": 'A count; shown to commissioners as "<5" (threshold configurable) when small',
}


class PlacesSchema(Schema):
    cohort_id = fields.UUID()
    cohort_name = fields.String()
    places = Integer(metadata={"description": "Places funded at any one time"})
    active = fields.Raw(metadata=SUPPRESSIBLE_COUNT)
    offered = fields.Raw(metadata=SUPPRESSIBLE_COUNT)
    free = Integer(allow_none=True, metadata={"description": "Null when it would reveal a suppressed count"})
    waitlisted = fields.Raw(metadata=SUPPRESSIBLE_COUNT)


class EnrolmentSchema(Schema):
    id = fields.UUID()
    child_id = fields.UUID()
    cohort_id = fields.UUID()
    referral_id = fields.UUID(allow_none=True)
    moved_from_enrolment_id = fields.UUID(allow_none=True)
    status = fields.Enum(EnrolmentStatus, by_value=True)
    priority = fields.Enum(Priority, by_value=True)
    referred_on = fields.Date()
    waitlist_position = Integer(allow_none=True, metadata={"description": "1 is next in line"})
    offered_at = fields.AwareDateTime(allow_none=True)
    offer_expires_at = fields.AwareDateTime(allow_none=True)
    started_at = fields.AwareDateTime(allow_none=True)
    planned_end_on = fields.Date(allow_none=True)
    ended_at = fields.AwareDateTime(allow_none=True)
    end_reason = fields.Enum(EndReason, by_value=True, allow_none=True)
    end_note = fields.String(allow_none=True)
    status_note = fields.String(allow_none=True)


class WaitlistEntrySchema(Schema):
    enrolment_id = fields.UUID(attribute="enrolment.id")
    child_id = fields.UUID(attribute="enrolment.child_id")
    child_reference = fields.String()
    status = fields.Enum(EnrolmentStatus, by_value=True, attribute="enrolment.status")
    position = Integer(allow_none=True, metadata={"description": "Null for a child holding an offer"})
    priority = fields.Enum(Priority, by_value=True, attribute="enrolment.priority")
    referred_on = fields.Date(attribute="enrolment.referred_on")
    offer_expires_at = fields.AwareDateTime(allow_none=True, attribute="enrolment.offer_expires_at")


class EnrolmentListQuerySchema(Schema):
    cohort_id = fields.UUID()
    child_id = fields.UUID()
    status = fields.Enum(EnrolmentStatus, by_value=True)


# End reasons a coordinator chooses; MOVED_COHORT is set by the move operation itself.
CHOSEN_END_REASONS = [reason.value for reason in EndReason if reason is not EndReason.MOVED_COHORT]


class EndEnrolmentSchema(Schema):
    reason = fields.Enum(
        EndReason,
        by_value=True,
        required=True,
        validate=validate.OneOf([EndReason(r) for r in CHOSEN_END_REASONS]),
    )
    note = text(2000, required=False, allow_none=True, load_default=None)


class MoveEnrolmentSchema(Schema):
    cohort_id = fields.UUID(required=True, metadata={"description": "The cohort to move the child to"})
    note = text(2000, required=False, allow_none=True, load_default=None)


class WithdrawSchema(Schema):
    note = text(500, metadata={"description": "Why the child no longer waits, e.g. 'family moved away'"})


class PriorityChangeSchema(Schema):
    priority = fields.Enum(Priority, by_value=True, required=True)
