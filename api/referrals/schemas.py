from marshmallow import fields

from api.enrolments.rules import Priority
from api.referrals.rules import ReferralSource, ReferralStatus
from api.schemas import Schema, text


class ReferralSchema(Schema):
    id = fields.UUID(dump_only=True)
    child_id = fields.UUID(required=True)
    cohort_id = fields.UUID(required=True, metadata={"description": "The cohort asked for"})
    source = fields.Enum(ReferralSource, by_value=True, required=True)
    source_name = text(200, metadata={"description": "The referring organisation or team"})
    reason = text(4000)
    priority = fields.Enum(Priority, by_value=True, load_default=Priority.NORMAL)
    referred_on = fields.Date(load_default=None, metadata={"description": "Defaults to today"})
    status = fields.Enum(ReferralStatus, by_value=True, dump_only=True)
    created_at = fields.AwareDateTime(dump_only=True)
    decided_at = fields.AwareDateTime(dump_only=True, allow_none=True)
    decided_by_user_id = fields.UUID(dump_only=True, allow_none=True)
    decision_reason = fields.String(dump_only=True, allow_none=True)


class DeclineSchema(Schema):
    reason = text(2000)


class ReferralListQuerySchema(Schema):
    status = fields.Enum(ReferralStatus, by_value=True)
    cohort_id = fields.UUID()
    child_id = fields.UUID()
