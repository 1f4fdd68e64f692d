from typing import Any

from marshmallow import ValidationError, fields, validate, validates

from api.alerts.schemas import AlertSchema
from api.changes.rules import ChangeOp, EntityType
from api.children.schemas import ChildSchema
from api.groups.schemas import SeriesSchema
from api.schedules.schemas import PatternSchema
from api.schemas import Schema
from api.sessions.schemas import SessionSchema
from api.sync.rules import CURSOR_PATTERN, Cursor, InvalidCursor
from api.wellbeing.schemas import CheckInSchema, GoalSchema

WRONG_CURSOR = "Use the cursor from the previous page."


class SyncQuerySchema(Schema):
    cursor = fields.String(
        load_default=None,
        # Numbers of at most 18 digits, so they fit the 64-bit columns they are compared with (20 would be a 500).
        validate=validate.Regexp(CURSOR_PATTERN, error=WRONG_CURSOR),
        metadata={"description": "From the previous answer, unread; leave out for everything"},
    )
    limit = fields.Integer(
        load_default=200,
        validate=validate.Range(min=1, max=500),
        metadata={"description": "The most changes a page holds"},
    )

    @validates("cursor")
    def _decodes(self, value: str | None, **_kwargs: Any) -> None:
        try:
            Cursor.decode(value)
        except InvalidCursor as error:  # "$" in the pattern also matches before a final newline
            raise ValidationError(WRONG_CURSOR) from error


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
    group_series = fields.Nested(
        SeriesSchema, allow_none=True, metadata={"description": "A series one of your children is on the roster of"}
    )


class SyncPageSchema(Schema):
    changes = fields.List(fields.Nested(ChangeSchema))
    cursor = fields.String(metadata={"description": "Send it back to get what changed next"})
    has_more = fields.Boolean(metadata={"description": "Ask again at once with the new cursor"})
