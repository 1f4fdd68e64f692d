from marshmallow import fields, validate

from api.enrolments.rules import EndReason, EnrolmentStatus, Priority
from api.programmes.rules import CohortKind
from api.programmes.schemas import COHORT_KIND_DESCRIPTION
from api.schemas import Integer, Schema, text

SUPPRESSIBLE_COUNT = {
    "oneOf": [{"type": "integer"}, {"type": "string", "example": "<5"}],
    "description": 'A count; shown to commissioners as "<5" (threshold configurable) when small',
}


class PlacesSchema(Schema):
    cohort_id = fields.UUID()
    cohort_name = fields.String()
    cohort_kind = fields.Enum(CohortKind, by_value=True, metadata={"description": COHORT_KIND_DESCRIPTION})
    places = Integer(metadata={"description": "Places funded at any one time"})
    active = fields.Raw(metadata=SUPPRESSIBLE_COUNT)
    offered = fields.Raw(metadata=SUPPRESSIBLE_COUNT)
    free = Integer(allow_none=True, metadata={"description": "Null when it would reveal a suppressed count"})
    waitlisted = fields.Raw(metadata=SUPPRESSIBLE_COUNT)


# Dumps an EnrolmentWithPosition (api/enrolments/reading.py): the enrolment, and its place while it waits.
class EnrolmentSchema(Schema):
    id = fields.UUID(attribute="enrolment.id")
    child_id = fields.UUID(attribute="enrolment.child_id")
    cohort_id = fields.UUID(attribute="enrolment.cohort_id")
    referral_id = fields.UUID(allow_none=True, attribute="enrolment.referral_id")
    moved_from_enrolment_id = fields.UUID(allow_none=True, attribute="enrolment.moved_from_enrolment_id")
    status = fields.Enum(EnrolmentStatus, by_value=True, attribute="enrolment.status")
    priority = fields.Enum(Priority, by_value=True, attribute="enrolment.priority")
    referred_on = fields.Date(attribute="enrolment.referred_on")
    waitlist_position = Integer(allow_none=True, metadata={"description": "1 is next in line"})
    offered_at = fields.AwareDateTime(allow_none=True, attribute="enrolment.offered_at")
    offer_expires_at = fields.AwareDateTime(allow_none=True, attribute="enrolment.offer_expires_at")
    started_at = fields.AwareDateTime(allow_none=True, attribute="enrolment.started_at")
    planned_end_on = fields.Date(allow_none=True, attribute="enrolment.planned_end_on")
    ended_at = fields.AwareDateTime(allow_none=True, attribute="enrolment.ended_at")
    end_reason = fields.Enum(EndReason, by_value=True, allow_none=True, attribute="enrolment.end_reason")
    end_note = fields.String(allow_none=True, attribute="enrolment.end_note")
    status_note = fields.String(allow_none=True, attribute="enrolment.status_note")


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
