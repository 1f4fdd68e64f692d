from typing import Any

from marshmallow import ValidationError, fields, validate, validates_schema

from api.enrolments.schemas import SUPPRESSIBLE_COUNT
from api.missing.rules import ConversationOutcome, MissingSource
from api.schemas import Boolean, EditSchema, Integer, Schema, text


class ReturnConversationSchema(Schema):
    id = fields.UUID(dump_only=True)
    missing_episode_id = fields.UUID(dump_only=True)
    outcome = fields.Enum(ConversationOutcome, by_value=True, required=True)
    offered_at = fields.AwareDateTime(required=True, metadata={"description": "When the child was offered it"})
    completed_at = fields.AwareDateTime(
        load_default=None, allow_none=True, metadata={"description": "Required when the outcome is completed"}
    )
    declined_reason = text(
        2000,
        required=False,
        allow_none=True,
        load_default=None,
        metadata={"description": "Required when the outcome is declined"},
    )
    held_by = fields.String(
        load_default=None,
        allow_none=True,
        validate=validate.Length(max=200),
        metadata={"description": "Who held it, e.g. an independent return home interviewer's service"},
    )
    independent = Boolean(
        required=True, metadata={"description": "Held by someone independent of the child's care and of police"}
    )
    recorded_by_user_id = fields.UUID(dump_only=True)
    recorded_at = fields.AwareDateTime(dump_only=True)


class MissingEpisodeSchema(Schema):
    id = fields.UUID(dump_only=True)
    child_id = fields.UUID(dump_only=True)
    reported_at = fields.AwareDateTime(required=True, metadata={"description": "When the child was reported missing"})
    returned_at = fields.AwareDateTime(
        load_default=None,
        allow_none=True,
        metadata={"description": "When the child came back; the 72-hour clock starts here"},
    )
    source = fields.Enum(MissingSource, by_value=True, required=True, metadata={"description": "Who reported it"})
    recorded_by_user_id = fields.UUID(dump_only=True)
    created_at = fields.AwareDateTime(dump_only=True)
    updated_at = fields.AwareDateTime(dump_only=True)
    version = Integer(dump_only=True, metadata={"description": "Send it back in If-Match to edit"})
    return_conversation_due_at = fields.AwareDateTime(
        dump_only=True, allow_none=True, metadata={"description": "72 hours after the return; null until then"}
    )
    overdue = fields.Boolean(
        dump_only=True, metadata={"description": "Past the 72 hours without a completed return conversation"}
    )
    return_conversation = fields.Nested(ReturnConversationSchema, dump_only=True, allow_none=True)


class MissingEpisodeUpdateSchema(EditSchema):
    reported_at = fields.AwareDateTime()
    returned_at = fields.AwareDateTime(metadata={"description": "Record the return, or correct it"})
    source = fields.Enum(MissingSource, by_value=True)


class OutstandingQuerySchema(Schema):
    state = fields.String(
        validate=validate.OneOf(["due", "overdue"]),
        metadata={"description": "due: still within the 72 hours; overdue: past them; both when left out"},
    )


class OutstandingConversationSchema(Schema):
    missing_episode_id = fields.UUID()
    child_id = fields.UUID()
    child_reference = fields.String()
    returned_at = fields.AwareDateTime()
    due_at = fields.AwareDateTime()
    overdue = fields.Boolean()
    outcome = fields.Enum(
        ConversationOutcome,
        by_value=True,
        allow_none=True,
        metadata={"description": "Offered or declined so far; null when nothing is recorded"},
    )


class SummaryQuerySchema(Schema):
    since = fields.Date(required=True, metadata={"description": "First day of returns counted (programme time)"})
    until = fields.Date(required=True, metadata={"description": "Last day of returns counted, inclusive"})

    @validates_schema
    def _window_in_order(self, data: dict[str, Any], **_kwargs: Any) -> None:
        if "since" in data and "until" in data and data["until"] < data["since"]:
            raise ValidationError("Must not be before since.", "until")


class ReturnConversationSummarySchema(Schema):
    returns = fields.Raw(metadata=SUPPRESSIBLE_COUNT)
    completed_within_72h = fields.Raw(metadata=SUPPRESSIBLE_COUNT)
    rate = fields.Float(
        allow_none=True,
        metadata={"description": "completed_within_72h / returns, 0 to 1; null with no returns or when suppressed"},
    )
