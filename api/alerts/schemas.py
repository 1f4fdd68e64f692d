from typing import Any

from marshmallow import fields

from api.alerts.rules import AlertEventKind, AlertKind, AlertState, EscalationStep, Urgency
from api.schemas import Schema, text


class AlertSchema(Schema):
    id = fields.UUID()
    code = fields.String(metadata={"description": "The short code the SMS about this alert gave, e.g. A-7K2QX"})
    programme_id = fields.UUID()
    child_id = fields.UUID(allow_none=True, metadata={"description": "Null for a programme-wide alert"})
    kind = fields.Enum(AlertKind, by_value=True)
    urgency = fields.Enum(
        Urgency,
        by_value=True,
        metadata={"description": "urgent and high alerts are texted to the duty coordinator; normal ones are not"},
    )
    state = fields.Enum(AlertState, by_value=True)
    session_id = fields.UUID(allow_none=True)
    detail = fields.String(metadata={"description": "What happened, as of its latest occurrence"})
    check_in_id = fields.UUID(allow_none=True)
    raised_by_user_id = fields.UUID(allow_none=True, metadata={"description": "Null when the system raised it"})
    raised_at = fields.AwareDateTime()
    occurrences = fields.Integer(metadata={"description": "How many times it happened while this alert was open"})
    last_raised_at = fields.AwareDateTime()
    escalation_step = fields.Enum(
        EscalationStep,
        by_value=True,
        allow_none=True,
        metadata={"description": "Who it has been texted to so far (null: not texted)"},
    )
    escalate_at = fields.AwareDateTime(
        allow_none=True, metadata={"description": "When it goes to the next step if nobody acknowledges it"}
    )
    acknowledged_at = fields.AwareDateTime(allow_none=True)
    acknowledged_by_user_id = fields.UUID(allow_none=True)
    acknowledgement_note = fields.String(allow_none=True)
    resolved_at = fields.AwareDateTime(allow_none=True)
    resolved_by_user_id = fields.UUID(allow_none=True)
    resolution_note = fields.String(allow_none=True)


class AlertEventSchema(Schema):
    occurred_at = fields.AwareDateTime()
    event = fields.Enum(AlertEventKind, by_value=True)
    user_id = fields.UUID(
        allow_none=True, metadata={"description": "Who acted, or who was texted; null when the system acted"}
    )
    detail = fields.String(allow_none=True)


class AlertWithHistorySchema(AlertSchema):
    """Dumps an AlertWithHistory (api/alerts/service.py): every field of AlertSchema from its alert, and its
    history."""

    history = fields.List(fields.Nested(AlertEventSchema), metadata={"description": "Oldest first"})

    def get_attribute(self, obj: Any, attr: str, default: Any) -> Any:
        return super().get_attribute(obj if attr == "history" else obj.alert, attr, default)


class AlertListQuerySchema(Schema):
    acknowledged = fields.Boolean(metadata={"description": "false: only those still waiting for a coordinator"})
    state = fields.Enum(AlertState, by_value=True)
    urgency = fields.Enum(Urgency, by_value=True)
    kind = fields.Enum(AlertKind, by_value=True)


class AcknowledgeSchema(Schema):
    note = text(2000, metadata={"description": "What was done, e.g. 'Discussed with DSL; strategy meeting booked'"})


class ResolveSchema(Schema):
    outcome = text(2000, metadata={"description": "What came of it, e.g. 'Child found safe; return interview booked'"})
