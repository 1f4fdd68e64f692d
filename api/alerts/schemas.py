from marshmallow import fields

from api.alerts.rules import AlertKind
from api.schemas import Schema, text


class AlertSchema(Schema):
    id = fields.UUID()
    programme_id = fields.UUID()
    child_id = fields.UUID()
    kind = fields.Enum(AlertKind, by_value=True)
    session_id = fields.UUID(allow_none=True)
    detail = fields.String()
    check_in_id = fields.UUID(allow_none=True)
    raised_by_user_id = fields.UUID(allow_none=True, metadata={"description": "Null when the system raised it"})
    raised_at = fields.AwareDateTime()
    acknowledged_at = fields.AwareDateTime(allow_none=True)
    acknowledged_by_user_id = fields.UUID(allow_none=True)
    acknowledgement_note = fields.String(allow_none=True)


class AlertListQuerySchema(Schema):
    acknowledged = fields.Boolean(metadata={"description": "false: only those still waiting for a coordinator"})


class AcknowledgeSchema(Schema):
    note = text(2000, metadata={"description": "What was done, e.g. 'Discussed with DSL; strategy meeting booked'"})
