from marshmallow import fields

from api.actors import Role
from api.schemas import Schema


class AuditEventSchema(Schema):
    id = fields.UUID()
    occurred_at = fields.AwareDateTime()
    actor_user_id = fields.UUID(allow_none=True, metadata={"description": "Null for the scheduler"})
    actor_role = fields.Enum(Role, by_value=True, allow_none=True)
    action = fields.String(metadata={"description": "e.g. child.read, enrolment.end"})
    record_type = fields.String()
    record_id = fields.UUID(allow_none=True)
    child_id = fields.UUID(allow_none=True)
    details = fields.Dict(
        allow_none=True, metadata={"description": "What a run did, e.g. a retention purge's counts and cutoffs"}
    )


class AuditQuerySchema(Schema):
    child_id = fields.UUID()
    actor_user_id = fields.UUID()
    action = fields.String()
    since = fields.AwareDateTime()
    until = fields.AwareDateTime()
