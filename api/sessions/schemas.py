from typing import Any

from marshmallow import fields, post_load, validate, validates_schema
from marshmallow.exceptions import ValidationError

from api.schemas import EditSchema, Integer, Schema, text
from api.sessions.register_rules import MAX_CARERS, Attendance, CarerAtSession, CarerRelationship, RegisterLine
from api.sessions.rules import (
    MAX_GROUP_SIZE,
    LocationCategory,
    LoneWorkingClosedHow,
    SessionKind,
    SessionLog,
    SessionStatus,
)

LOGGABLE_ON_CREATE = [SessionStatus.PLANNED, SessionStatus.COMPLETED, SessionStatus.DID_NOT_ATTEND]
SETTABLE_BY_EDIT = [status for status in SessionStatus if status is not SessionStatus.RESCHEDULED]


class SessionLogFields(Schema):
    """What is recorded about a session that happened; shared by create (logging offline) and edit."""

    actual_duration_minutes = Integer(validate=validate.Range(min=1, max=720))
    activities = fields.List(fields.String(validate=validate.Length(max=60)), validate=validate.Length(max=20))
    notes = fields.String(
        validate=validate.Length(max=10_000),
        metadata={"description": "Sensitive: shown only to the session's mentor, coordinators and admins"},
    )
    safeguarding_concern = text(
        4000, required=False, metadata={"description": "Raises an alert to the programme's coordinators at once"}
    )
    concern_child_id = fields.UUID(metadata={"description": "For a group session: which child the concern is about"})

    @post_load
    def gather_log(self, data: dict[str, Any], **_: Any) -> dict[str, Any]:
        log_fields = SessionLog.__dataclass_fields__
        data["log"] = SessionLog(**{name: data.pop(name) for name in list(data) if name in log_fields})
        return data


class SessionCreateSchema(SessionLogFields):
    id = fields.UUID(load_default=None, metadata={"description": "Optional: an id generated on the phone"})
    enrolment_ids = fields.List(
        fields.UUID(),
        required=True,
        validate=validate.Length(min=1, max=MAX_GROUP_SIZE),
        metadata={"description": "One enrolment, or several for a group session"},
    )
    mentor_id = fields.UUID(
        load_default=None, metadata={"description": "Coordinators: who leads it (default: the key worker)"}
    )
    kind = fields.Enum(SessionKind, by_value=True, required=True)
    location_category = fields.Enum(LocationCategory, by_value=True, required=True)
    planned_start_at = fields.AwareDateTime(required=True)
    planned_end_at = fields.AwareDateTime(required=True)
    status = fields.Enum(
        SessionStatus,
        by_value=True,
        load_default=SessionStatus.PLANNED,
        validate=validate.OneOf(LOGGABLE_ON_CREATE),
        metadata={"description": "completed to log one afterwards"},
    )

    @validates_schema
    def no_repeated_children(self, data: dict[str, Any], **_: Any) -> None:
        if len(set(data.get("enrolment_ids", []))) != len(data.get("enrolment_ids", [])):
            raise ValidationError("An enrolment is listed twice.", "enrolment_ids")


class RegisterLineInSchema(Schema):
    child_id = fields.UUID(required=True)
    attendance = fields.Enum(Attendance, by_value=True, required=True)
    arrived_at = fields.AwareDateTime(load_default=None, metadata={"description": "Only for a child who attended"})
    left_at = fields.AwareDateTime(load_default=None, metadata={"description": "Only for a child who attended"})

    @post_load
    def make_line(self, data: dict[str, Any], **_: Any) -> RegisterLine:
        return RegisterLine(**data)


def register_lines_field(**kwargs: Any) -> fields.List:
    return fields.List(
        fields.Nested(RegisterLineInSchema), validate=validate.Length(min=1, max=MAX_GROUP_SIZE), **kwargs
    )


class SessionUpdateSchema(SessionLogFields):
    status = fields.Enum(SessionStatus, by_value=True, validate=validate.OneOf(SETTABLE_BY_EDIT))
    kind = fields.Enum(SessionKind, by_value=True)
    location_category = fields.Enum(LocationCategory, by_value=True)
    register = register_lines_field(
        metadata={"description": "A group session: who came, taken with the log (as PUT /sessions/{id}/register)"}
    )


class CarerInSchema(Schema):
    relationship = fields.Enum(CarerRelationship, by_value=True, required=True)
    child_id = fields.UUID(
        load_default=None, metadata={"description": "Optional: the child on the register they came for"}
    )

    @post_load
    def make_carer(self, data: dict[str, Any], **_: Any) -> CarerAtSession:
        return CarerAtSession(**data)


class RegisterSchema(EditSchema):
    lines = register_lines_field(
        metadata={"description": "One line per child sent; children not sent keep their line (left out: all kept)"}
    )
    carers = fields.List(
        fields.Nested(CarerInSchema),
        validate=validate.Length(max=MAX_CARERS),
        metadata={
            "description": "A group session: the parents and carers who came, replacing those recorded (left out: "
            "kept; empty: none). No name is kept; carers hold no place and count towards no cap or child figure."
        },
    )


class RescheduleSchema(Schema):
    new_session_id = fields.UUID(load_default=None, metadata={"description": "Optional: an id generated on the phone"})
    planned_start_at = fields.AwareDateTime(required=True)
    planned_end_at = fields.AwareDateTime(required=True)


class AttendeeSchema(Schema):
    enrolment_id = fields.UUID()
    child_id = fields.UUID()
    child_reference = fields.String()


class RegisterLineSchema(Schema):
    child_id = fields.UUID()
    attendance = fields.Enum(
        Attendance,
        by_value=True,
        metadata={"description": "booked until the register is taken; attended is what every count of delivery reads"},
    )
    arrived_at = fields.AwareDateTime(allow_none=True)
    left_at = fields.AwareDateTime(allow_none=True)


class CarerSchema(Schema):
    relationship = fields.Enum(CarerRelationship, by_value=True)
    child_id = fields.UUID(allow_none=True, metadata={"description": "The child on the register they came for"})


class LoneWorkingStateSchema(Schema):
    check_in_by = fields.AwareDateTime(metadata={"description": "Not closed by then, the mentor is texted"})
    started_at = fields.AwareDateTime()
    closed_at = fields.AwareDateTime(allow_none=True)
    closed_how = fields.Enum(
        LoneWorkingClosedHow,
        by_value=True,
        allow_none=True,
        metadata={"description": "safe: the mentor said so; session_logged: the session was logged or cancelled"},
    )


class LoneWorkingCheckSchema(LoneWorkingStateSchema):
    session_id = fields.UUID()


class LoneWorkingStartSchema(Schema):
    check_in_by = fields.AwareDateTime(
        load_default=None,
        metadata={"description": "Default: the planned end plus the programme's lone_working_grace_minutes"},
    )


class SessionSchema(Schema):
    id = fields.UUID()
    programme_id = fields.UUID()
    mentor_id = fields.UUID()
    kind = fields.Enum(SessionKind, by_value=True)
    location_category = fields.Enum(LocationCategory, by_value=True)
    status = fields.Enum(SessionStatus, by_value=True)
    planned_start_at = fields.AwareDateTime()
    planned_end_at = fields.AwareDateTime()
    week = fields.String(attribute="local_week", metadata={"description": "ISO week in programme time, 2026-W48"})
    is_evening = fields.Boolean(metadata={"description": "Starts at or after 17:00 local time"})
    is_weekend = fields.Boolean()
    attendees = fields.List(fields.Nested(AttendeeSchema))
    register = fields.List(
        fields.Nested(RegisterLineSchema),
        metadata={"description": "One line per child booked: whether they came (a one-to-one's follows its status)"},
    )
    register_taken = fields.Boolean(
        metadata={"description": "False while any line is still booked: such a child is not counted as attended"}
    )
    carers = fields.List(
        fields.Nested(CarerSchema),
        metadata={"description": "Parents and carers who came (a group session): no place, no line, no name"},
    )
    carers_attended = Integer(metadata={"description": "How many carers came; never counted as children"})
    actual_duration_minutes = Integer(allow_none=True)
    activities = fields.List(fields.String(), allow_none=True)
    notes = fields.String(allow_none=True, metadata={"description": "Null when you may not see notes"})
    pattern_id = fields.UUID(allow_none=True)
    series_id = fields.UUID(
        allow_none=True, metadata={"description": "The group series this session is one of (GET /group-series/{id})"}
    )
    rescheduled_to_id = fields.UUID(allow_none=True)
    version = Integer(metadata={"description": "Send it back in If-Match to edit"})
    updated_at = fields.AwareDateTime()
    lone_working = fields.Nested(
        LoneWorkingStateSchema,
        allow_none=True,
        metadata={"description": "The mentor's lone-working check, if one was started for this session"},
    )


class SessionListQuerySchema(Schema):
    child_id = fields.UUID()
    starts_from = fields.AwareDateTime()
    starts_before = fields.AwareDateTime()


class CapOverrideSchema(Schema):
    id = fields.UUID(dump_only=True)
    enrolment_id = fields.UUID(dump_only=True)
    week = fields.String(
        required=True,
        attribute="local_week",
        validate=validate.Regexp(r"^\d{4}-W(0[1-9]|[1-4]\d|5[0-3])$"),
        metadata={"description": "ISO week in programme time, e.g. 2026-W48"},
    )
    max_sessions = Integer(required=True, validate=validate.Range(min=1, max=14))
    reason = text(2000)
    created_at = fields.AwareDateTime(dump_only=True)


class WeekOfSessionsSchema(Schema):
    week = fields.String()
    planned = Integer(metadata={"description": "Planned or held (not cancelled) that week"})
    delivered = Integer()


class DeliverySummarySchema(Schema):
    planned = Integer(metadata={"description": "Sessions not cancelled or moved"})
    delivered = Integer()
    did_not_attend = Integer()
    cancelled = Integer()
    rescheduled = Integer()
    evening_share = fields.Float(allow_none=True, metadata={"description": "Of delivered sessions"})
    weekend_share = fields.Float(allow_none=True)
    weeks = fields.List(fields.Nested(WeekOfSessionsSchema))
