from marshmallow import fields

from api.caseloads.rules import AllocationEndReason
from api.schemas import Integer, Schema


class AllocateSchema(Schema):
    mentor_id = fields.UUID(required=True)


class AllocationSchema(Schema):
    id = fields.UUID()
    enrolment_id = fields.UUID()
    mentor_id = fields.UUID()
    started_at = fields.AwareDateTime()
    ended_at = fields.AwareDateTime(allow_none=True)
    end_reason = fields.Enum(AllocationEndReason, by_value=True, allow_none=True)


class MentorCaseloadSchema(Schema):
    mentor_id = fields.UUID(attribute="mentor.id")
    display_name = fields.String(attribute="mentor.display_name")
    is_active = fields.Boolean(attribute="mentor.is_active")
    caseload = Integer(metadata={"description": "Children currently allocated"})
    max_caseload = Integer(attribute="mentor.max_caseload")
