"""The SMS ledger as staff read it: each message's state and history, never its text or number."""

from marshmallow import fields

from api.outbox.rules import MessagePurpose, MessageState, RecipientType
from api.schemas import Integer, Schema


class MessageEventSchema(Schema):
    occurred_at = fields.AwareDateTime()
    state = fields.Enum(MessageState, by_value=True)
    detail = fields.String(allow_none=True, metadata={"description": "Why: 'quiet hours', 'error 21211' ..."})


class LedgerEntrySchema(Schema):
    """A message as its ledger shows it: never its text or the number (they are made when sent)."""

    id = fields.UUID()
    purpose = fields.Enum(MessagePurpose, by_value=True)
    recipient_type = fields.Enum(RecipientType, by_value=True)
    state = fields.Enum(MessageState, by_value=True)
    state_reason = fields.String(allow_none=True)
    send_after = fields.AwareDateTime()
    drop_after = fields.AwareDateTime()
    attempts = Integer()
    provider_status = fields.String(allow_none=True)
    error_code = Integer(allow_none=True)
    sent_at = fields.AwareDateTime(allow_none=True)
    created_at = fields.AwareDateTime()
    events = fields.List(fields.Nested(MessageEventSchema))
