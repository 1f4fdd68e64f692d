from marshmallow import fields, validate

from api.schemas import Integer, Schema, text
from api.wellbeing.goal_rules import GoalStatus
from api.wellbeing.links import InvitationState
from api.wellbeing.schedule import InvitationReason
from api.wellbeing.scoring import ChangeVerdict, CheckInChannel

INSTRUMENT_KEY = validate.Length(min=1, max=40)
SCORES = fields.Dict(keys=fields.String(), values=fields.Float())


class CheckInCreateSchema(Schema):
    instrument = fields.String(
        required=True, validate=INSTRUMENT_KEY, metadata={"description": "Instrument key: ons4, gbo, swemwbs"}
    )
    answers = fields.Dict(
        keys=fields.String(validate=validate.Length(max=40)),
        # Checked against the instrument by the service, so a wrong answer is reported next to its item.
        values=fields.Raw(allow_none=True),
        required=True,
        metadata={
            "description": 'Item key to a whole number on the item\'s scale, e.g. {"life_satisfaction": 7}; '
            "goals are rated as goal_1 to goal_3 (each goal's item_key)"
        },
    )
    session_id = fields.UUID(load_default=None, metadata={"description": "The session it was completed in"})


class ItemResponseSchema(Schema):
    item = fields.String()
    response = Integer()
    goal_id = fields.UUID(allow_none=True)


class CheckInSchema(Schema):
    id = fields.UUID()
    child_id = fields.UUID()
    instrument = fields.String(attribute="instrument_key")
    instrument_version = fields.String()
    channel = fields.Enum(CheckInChannel, by_value=True)
    session_id = fields.UUID(allow_none=True)
    invitation_id = fields.UUID(allow_none=True)
    completed_at = fields.AwareDateTime()
    recorded_by_user_id = fields.UUID(allow_none=True, metadata={"description": "Null when the child used a link"})
    responses = fields.List(fields.Nested(ItemResponseSchema))
    raw_scores = SCORES
    derived_scores = SCORES
    alert_id = fields.UUID(
        allow_none=True, metadata={"description": "The alert raised by a meaningful fall from the baseline"}
    )


class ScorePointSchema(Schema):
    check_in_id = fields.UUID()
    completed_at = fields.AwareDateTime()
    channel = fields.Enum(CheckInChannel, by_value=True)
    derived_scores = SCORES


class MeasureChangeSchema(Schema):
    measure = fields.String()
    baseline = fields.Float()
    latest = fields.Float()
    change = fields.Float(metadata={"description": "Latest minus baseline"})
    lower_is_better = fields.Boolean()
    verdict = fields.Enum(ChangeVerdict, by_value=True)
    is_meaningful = fields.Boolean()


class InstrumentSummarySchema(Schema):
    instrument = fields.String()
    name = fields.String()
    check_ins = Integer()
    baseline = fields.Nested(ScorePointSchema)
    latest = fields.Nested(ScorePointSchema)
    changes = fields.List(fields.Nested(MeasureChangeSchema))
    meaningful_change = fields.Boolean()


class RatingSchema(Schema):
    check_in_id = fields.UUID()
    completed_at = fields.AwareDateTime()
    rating = Integer()


class GoalSchema(Schema):
    id = fields.UUID()
    child_id = fields.UUID()
    description = fields.String()
    status = fields.Enum(GoalStatus, by_value=True)
    slot = Integer(metadata={"description": "Its place (1 to 3) among the active goals"})
    item_key = fields.String(
        allow_none=True, metadata={"description": "Rate an active goal under this Goal Based Outcomes item"}
    )
    replaced_by_goal_id = fields.UUID(allow_none=True)
    created_at = fields.AwareDateTime()
    ended_at = fields.AwareDateTime(allow_none=True)
    end_note = fields.String(allow_none=True)
    version = Integer()
    ratings = fields.List(fields.Nested(RatingSchema))
    change = fields.Nested(MeasureChangeSchema, allow_none=True, metadata={"description": "First rating to latest"})


class GoalCreateSchema(Schema):
    description = text(200, metadata={"description": "The goal in the child's own words"})


class GoalEndSchema(Schema):
    status = fields.Enum(
        GoalStatus,
        by_value=True,
        required=True,
        validate=validate.OneOf([GoalStatus.ACHIEVED, GoalStatus.DROPPED]),
        metadata={"description": "achieved or dropped"},
    )
    note = fields.String(load_default=None, allow_none=True, validate=validate.Length(max=2000))


class GoalChangeSchema(Schema):
    description = text(200, metadata={"description": "The new wording, in the child's own words"})
    note = fields.String(load_default=None, allow_none=True, validate=validate.Length(max=2000))


class WellbeingSchema(Schema):
    child_id = fields.UUID()
    instruments = fields.List(fields.Nested(InstrumentSummarySchema))
    goals = fields.List(fields.Nested(GoalSchema))


class InvitationCreateSchema(Schema):
    instruments = fields.List(
        fields.String(validate=INSTRUMENT_KEY),
        load_default=None,
        validate=validate.Length(min=1, max=3),
        metadata={"description": "Which instruments the link asks; the programme's choice when left out"},
    )


class InvitationSchema(Schema):
    id = fields.UUID()
    child_id = fields.UUID()
    instruments = fields.List(fields.String(), attribute="instrument_keys")
    reason = fields.Enum(InvitationReason, by_value=True)
    state = fields.Enum(InvitationState, by_value=True)
    created_at = fields.AwareDateTime()
    created_by_user_id = fields.UUID(allow_none=True, metadata={"description": "Null when the schedule created it"})
    expires_at = fields.AwareDateTime()
    completed_at = fields.AwareDateTime(allow_none=True)
    revoked_at = fields.AwareDateTime(allow_none=True)
    messages = Integer(metadata={"description": "SMS queued for this link"})


class InstrumentItemSchema(Schema):
    key = fields.String()
    prompt = fields.String(allow_none=True, metadata={"description": "Null when the licensed wording is not loaded"})
    min_response = Integer()
    max_response = Integer()
    lower_is_better = fields.Boolean()


class InstrumentSchema(Schema):
    key = fields.String()
    name = fields.String()
    version = fields.String()
    scoring = fields.String()
    meaningful_change_threshold = fields.Float(attribute="meaningful_change.threshold")
    min_age = Integer(allow_none=True)
    max_age = Integer(allow_none=True)
    licence = fields.String()
    credit = fields.String()
    instructions = fields.String(allow_none=True)
    has_wording = fields.Boolean()
    items = fields.List(fields.Nested(InstrumentItemSchema))
