from marshmallow import fields, validate

from api.schemas import Schema, text


class ProgrammeSchema(Schema):
    id = fields.UUID(dump_only=True)
    name = text(200)
    time_zone = fields.String(
        load_default="Europe/London",
        validate=validate.Length(max=64),
        metadata={"description": "IANA zone name"},
    )
    offer_lapse_hours = fields.Integer(
        load_default=72,
        validate=validate.Range(min=1, max=24 * 28),
        metadata={"description": "How long a coordinator has to confirm a place offered from the waitlist"},
    )
    districts = fields.List(text(80), required=True, validate=validate.Length(min=1, max=100))
    session_activities = fields.List(
        text(60), load_default=list, validate=validate.Length(max=50), metadata={"description": "Loggable activities"}
    )
    created_at = fields.AwareDateTime(dump_only=True)


class ProgrammeUpdateSchema(Schema):
    name = text(200, required=False)
    offer_lapse_hours = fields.Integer(validate=validate.Range(min=1, max=24 * 28))
    districts = fields.List(text(80), validate=validate.Length(min=1, max=100))
    session_activities = fields.List(text(60), validate=validate.Length(max=50))


class CohortSchema(Schema):
    id = fields.UUID(dump_only=True)
    programme_id = fields.UUID(dump_only=True)
    name = text(80)
    places = fields.Integer(
        required=True,
        validate=validate.Range(min=0, max=100_000),
        metadata={"description": "Places at any one time"},
    )
    max_sessions_per_week = fields.Integer(required=True, validate=validate.Range(min=1, max=14))
    planned_weeks = fields.Integer(required=True, validate=validate.Range(min=1, max=520))
    created_at = fields.AwareDateTime(dump_only=True)


class CohortUpdateSchema(Schema):
    name = text(80, required=False)
    places = fields.Integer(validate=validate.Range(min=0, max=100_000))
    max_sessions_per_week = fields.Integer(validate=validate.Range(min=1, max=14))
    planned_weeks = fields.Integer(validate=validate.Range(min=1, max=520))
