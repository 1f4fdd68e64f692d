from marshmallow import fields, validate

from api.alerts.schemas import AlertSchema
from api.children.schemas import ChildSchema
from api.schedules.schemas import PatternSchema
from api.schemas import Schema
from api.sessions.schemas import SessionSchema
from api.sync.rules import ChangeOp, EntityType
from api.wellbeing.schemas import CheckInSchema, GoalSchema


class SyncQuerySchema(Schema):
    cursor = fields.String(
        load_default=None,
        # 18 digits each, so both parts fit the 64-bit columns they are compared with (20 would be a 500).
        validate=validate.Regexp(r"^(-?\d{1,18}\.\d{1,18})?$", error="Use the cursor from the previous page."),
        metadata={"description": "From the previous answer; leave out for everything"},
    )
    limit = fields.Integer(load_default=200, validate=validate.Range(min=1, max=500))


class ChangeSchema(Schema):
    type = fields.Enum(EntityType, by_value=True)
    op = fields.Enum(ChangeOp, by_value=True, metadata={"description": "access_revoked: forget this child"})
    id = fields.UUID()
    child_id = fields.UUID()
    child = fields.Nested(ChildSchema, allow_none=True)
    session = fields.Nested(SessionSchema, allow_none=True)
    pattern = fields.Nested(PatternSchema, allow_none=True)
    alert = fields.Nested(AlertSchema, allow_none=True)
    check_in = fields.Nested(CheckInSchema, allow_none=True)
    goal = fields.Nested(GoalSchema, allow_none=True)


class SyncPageSchema(Schema):
    changes = fields.List(fields.Nested(ChangeSchema))
    cursor = fields.String(metadata={"description": "Send it back to get what changed next"})
    has_more = fields.Boolean(metadata={"description": "Ask again at once with the new cursor"})
