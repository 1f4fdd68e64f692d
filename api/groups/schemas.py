from typing import Any

from marshmallow import fields, post_load, validate

from api.groups.rules import MAX_CAPACITY, MAX_SESSIONS, PlannedTimes
from api.programmes.rules import CohortKind
from api.schemas import EditSchema, Integer, Schema, text
from api.sessions.rules import LocationCategory, SessionStatus


class PlannedTimesSchema(Schema):
    planned_start_at = fields.AwareDateTime(required=True)
    planned_end_at = fields.AwareDateTime(required=True)

    @post_load
    def make_times(self, data: dict[str, Any], **_: Any) -> PlannedTimes:
        return PlannedTimes(**data)


class SeriesCreateSchema(Schema):
    programme_id = fields.UUID(required=True)
    name = text(120)
    capacity = Integer(
        required=True,
        validate=validate.Range(min=1, max=MAX_CAPACITY),
        metadata={"description": "Children on the roster at any one time"},
    )
    complete_after_sessions = Integer(
        load_default=None,
        validate=validate.Range(min=1, max=MAX_SESSIONS),
        metadata={
            "description": "K: a child who attended at least K sessions completed the series (default: "
            "three quarters of the sessions, rounded up)"
        },
    )
    lead_facilitator_id = fields.UUID(
        load_default=None, metadata={"description": "A mentor of the programme (default: you, if you are a mentor)"}
    )
    co_facilitator_id = fields.UUID(
        load_default=None, metadata={"description": "Optional: another active mentor or a coordinator of the programme"}
    )
    location_category = fields.Enum(LocationCategory, by_value=True, required=True)
    sessions = fields.List(
        fields.Nested(PlannedTimesSchema),
        required=True,
        validate=validate.Length(min=1, max=MAX_SESSIONS),
        metadata={"description": "Each session's planned start and end (no two at the same start)"},
    )


class SeriesUpdateSchema(EditSchema):
    name = text(120, required=False)
    capacity = Integer(validate=validate.Range(min=1, max=MAX_CAPACITY))
    complete_after_sessions = Integer(validate=validate.Range(min=1, max=MAX_SESSIONS))
    co_facilitator_id = fields.UUID(allow_none=True, metadata={"description": "null: the lead facilitates alone"})


class SeriesListQuerySchema(Schema):
    programme_id = fields.UUID()


class JoinSchema(Schema):
    enrolment_id = fields.UUID(required=True, metadata={"description": "The active place the child joins through"})


class SeriesSessionSchema(Schema):
    id = fields.UUID()
    planned_start_at = fields.AwareDateTime()
    planned_end_at = fields.AwareDateTime()
    status = fields.Enum(SessionStatus, by_value=True)
    location_category = fields.Enum(LocationCategory, by_value=True)
    mentor_id = fields.UUID(metadata={"description": "The lead facilitator, who takes its register"})
    version = Integer(metadata={"description": "The session's ETag (PUT /sessions/{id}/register)"})
    booked = Integer(metadata={"description": "Register lines not yet marked"})
    attended = Integer()
    did_not_attend = Integer()
    cancelled = Integer(metadata={"description": "Cancelled by the child or the service"})


class RosterEntrySchema(Schema):
    child_id = fields.UUID()
    child_reference = fields.String()
    enrolment_id = fields.UUID()
    cohort_kind = fields.Enum(CohortKind, by_value=True)
    joined_at = fields.AwareDateTime()
    left_at = fields.AwareDateTime(allow_none=True)
    sessions_attended = Integer()
    started = fields.Boolean(metadata={"description": "Attended at least one session"})
    completed = fields.Boolean(metadata={"description": "Attended at least complete_after_sessions sessions"})


class SeriesFields(Schema):
    id = fields.UUID()
    programme_id = fields.UUID()
    name = fields.String()
    capacity = Integer()
    complete_after_sessions = Integer()
    lead_facilitator_id = fields.UUID()
    co_facilitator_id = fields.UUID(allow_none=True)
    version = Integer(metadata={"description": "Send it back in If-Match to edit"})
    session_count = Integer(metadata={"description": "N (sessions moved away are counted as their replacement)"})
    members = Integer(metadata={"description": "Children on the roster now"})


class SeriesSchema(SeriesFields):
    created_at = fields.AwareDateTime()
    updated_at = fields.AwareDateTime()
    sessions = fields.List(fields.Nested(SeriesSessionSchema))
    roster = fields.List(
        fields.Nested(RosterEntrySchema),
        metadata={"description": "Everyone who joined, in order of joining; a child who left has left_at"},
    )


class SeriesBriefSchema(SeriesFields):
    first_session_at = fields.AwareDateTime(allow_none=True)
    last_session_at = fields.AwareDateTime(allow_none=True)
