from marshmallow import fields

from api.schemas import EditSchema, Integer, Schema


class DutyPersonSchema(Schema):
    user_id = fields.UUID()
    display_name = fields.String()
    has_mobile = fields.Boolean(
        metadata={"description": "Whether a work mobile is recorded: out of hours an alert reaches them by text"}
    )


class DutyShiftSchema(Schema):
    id = fields.UUID()
    programme_id = fields.UUID()
    starts_at = fields.AwareDateTime(metadata={"description": "When the shift starts, in the programme's local time"})
    ends_at = fields.AwareDateTime(
        metadata={"description": "When it ends (the next shift may start at this very moment), in local time"}
    )
    coordinator = fields.Nested(DutyPersonSchema, metadata={"description": "Who is on duty"})
    fallback = fields.Nested(
        DutyPersonSchema, allow_none=True, metadata={"description": "Who to try when they do not answer, if anyone"}
    )
    version = Integer(metadata={"description": "Send it back in If-Match to change the shift"})
    created_by_user_id = fields.UUID()
    created_at = fields.AwareDateTime()
    updated_at = fields.AwareDateTime()


class DutyShiftCreateSchema(Schema):
    programme_id = fields.UUID(
        load_default=None, metadata={"description": "Defaults to your own programme; an admin must name one"}
    )
    coordinator_user_id = fields.UUID(
        required=True,
        metadata={
            "description": "Who is on duty: an active coordinator of the programme, or an admin, with a work mobile"
        },
    )
    fallback_user_id = fields.UUID(
        load_default=None,
        allow_none=True,
        metadata={
            "description": "Who to try next: the programme's manager or a second coordinator, with a work mobile"
        },
    )
    starts_at = fields.AwareDateTime(required=True, metadata={"description": "With its UTC offset"})
    ends_at = fields.AwareDateTime(
        required=True, metadata={"description": "With its UTC offset; after starts_at, at most 7 days later"}
    )


class DutyShiftChangeSchema(EditSchema):
    coordinator_user_id = fields.UUID()
    fallback_user_id = fields.UUID(allow_none=True, metadata={"description": "null: no fallback"})
    starts_at = fields.AwareDateTime()
    ends_at = fields.AwareDateTime()


class DutyRotaQuerySchema(Schema):
    programme_id = fields.UUID(metadata={"description": "Defaults to your own programme; an admin must name one"})
    from_ = fields.AwareDateTime(
        data_key="from", metadata={"description": "Start of the period, with its UTC offset; defaults to now"}
    )
    to = fields.AwareDateTime(metadata={"description": "End of the period; defaults to 7 days after from, at most 31"})


class DutyGapSchema(Schema):
    starts_at = fields.AwareDateTime()
    ends_at = fields.AwareDateTime()


class DutyRotaSchema(Schema):
    programme_id = fields.UUID()
    time_zone = fields.String(metadata={"description": "The programme's time zone, in which the times are given"})
    starts_at = fields.AwareDateTime(metadata={"description": "The period shown: from"})
    ends_at = fields.AwareDateTime(metadata={"description": "The period shown: to"})
    shifts = fields.List(
        fields.Nested(DutyShiftSchema),
        metadata={"description": "Every shift covering part of the period, by start (one begun before it too)"},
    )
    gaps = fields.List(
        fields.Nested(DutyGapSchema), metadata={"description": "The stretches of the period no one is on duty"}
    )
    covered_until = fields.AwareDateTime(
        allow_none=True,
        metadata={
            "description": "Cover runs without a break from the period's start until this moment (the period's end "
            "if it never breaks); null when no one is on duty at its start"
        },
    )


class OnDutyNowQuerySchema(Schema):
    programme_id = fields.UUID(metadata={"description": "Defaults to your own programme; an admin must name one"})


class DutyContactSchema(Schema):
    user_id = fields.UUID()
    display_name = fields.String()
    mobile = fields.String(allow_none=True, metadata={"description": "Their work mobile (E.164), to phone now"})


class OnDutyNowSchema(Schema):
    programme_id = fields.UUID()
    on_duty = fields.Nested(
        DutyContactSchema, allow_none=True, metadata={"description": "The duty coordinator now; null in a gap in cover"}
    )
    fallback = fields.Nested(
        DutyContactSchema, allow_none=True, metadata={"description": "Who to phone when they do not answer, if anyone"}
    )
    until = fields.AwareDateTime(
        allow_none=True, metadata={"description": "When this shift ends, in the programme's local time"}
    )
