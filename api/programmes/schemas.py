from marshmallow import fields, validate

from api.programmes.rules import CohortKind
from api.schemas import Boolean, Integer, Schema, text


class ReminderFields(Schema):
    """When sessions are reminded by SMS, the same when creating and when changing a programme."""

    reminder_day_before_at = fields.Time(
        allow_none=True, metadata={"description": "Local time of the reminder the day before (null: none)"}
    )
    reminder_hours_before = Integer(
        allow_none=True,
        validate=validate.Range(min=1, max=24),
        metadata={"description": "Hours before the start of the second reminder (null: none)"},
    )


class CheckInRoutineFields(ReminderFields):
    """The programme's check-in routine (issue 4), the same when creating and when changing a programme."""

    check_in_instruments = fields.List(
        fields.String(validate=validate.Length(min=1, max=40)),
        validate=validate.Length(min=1, max=3),
        metadata={"description": "What a scheduled check-in link asks (instrument keys)"},
    )
    check_in_at_enrolment = Boolean(metadata={"description": "Send a check-in link when a child starts"})
    check_in_every_weeks = Integer(
        allow_none=True,
        validate=validate.Range(min=1, max=52),
        metadata={"description": "Then every this many weeks (null: never)"},
    )
    check_in_at_end = Boolean(metadata={"description": "And in the last week before the planned end"})
    check_in_link_hours = Integer(
        validate=validate.Range(min=1, max=24 * 14), metadata={"description": "How long a check-in link works"}
    )
    check_in_help_text = fields.String(
        allow_none=True,
        validate=validate.Length(max=1000),
        metadata={"description": "Shown after a check-in from a link: where to get help now (plain text)"},
    )


class AlertThresholdsSchema(Schema):
    """When alerts escalate and what raises them; each is optional when changing (the others stay)."""

    acknowledge_urgent_minutes = Integer(
        validate=validate.Range(min=1, max=24 * 60),
        metadata={"description": "An urgent alert not acknowledged in this many minutes escalates (default 15)"},
    )
    acknowledge_high_minutes = Integer(
        validate=validate.Range(min=1, max=7 * 24 * 60),
        metadata={"description": "A high alert not acknowledged in this many minutes escalates (default 120)"},
    )
    return_conversation_warning_hours = Integer(
        validate=validate.Range(min=1, max=72),
        metadata={"description": "Alert when a return conversation is due within this many hours (default 12)"},
    )
    missed_sessions_in_a_row = Integer(
        validate=validate.Range(min=1, max=20),
        metadata={"description": "Disengagement: planned sessions not attended in a row (default 3)"},
    )
    days_without_completed_session = Integer(
        validate=validate.Range(min=1, max=180),
        metadata={"description": "Disengagement: days with no completed session while enrolled (default 14)"},
    )
    unanswered_links_in_a_row = Integer(
        validate=validate.Range(min=1, max=20),
        metadata={"description": "Disengagement: check-in links in a row that expired unanswered (default 2)"},
    )
    lone_working_grace_minutes = Integer(
        validate=validate.Range(min=0, max=24 * 60),
        metadata={"description": "A session's 'check in by' is its planned end plus this many minutes (default 30)"},
    )
    lone_working_alert_after_minutes = Integer(
        validate=validate.Range(min=1, max=24 * 60),
        metadata={"description": "The duty coordinator is alerted this long after a missed check-in (default 15)"},
    )
    duty_cover_days_ahead = Integer(
        validate=validate.Range(min=1, max=31),
        metadata={"description": "Gaps in duty cover are looked for this many days ahead (default 7)"},
    )


class ProgrammeSchema(CheckInRoutineFields):
    id = fields.UUID(dump_only=True)
    name = text(200)
    time_zone = fields.String(
        load_default="Europe/London",
        validate=validate.Length(max=64),
        metadata={"description": "IANA zone name"},
    )
    offer_lapse_hours = Integer(
        load_default=72,
        validate=validate.Range(min=1, max=24 * 28),
        metadata={"description": "How long a coordinator has to confirm a place offered from the waitlist"},
    )
    districts = fields.List(text(80), required=True, validate=validate.Length(min=1, max=100))
    session_activities = fields.List(
        text(60), load_default=list, validate=validate.Length(max=50), metadata={"description": "Loggable activities"}
    )
    alert_thresholds = fields.Nested(
        AlertThresholdsSchema,
        attribute="alert_settings",
        dump_only=True,
        metadata={"description": "Every alert threshold in force (change them with PATCH)"},
    )
    created_at = fields.AwareDateTime(dump_only=True)


class ProgrammeUpdateSchema(CheckInRoutineFields):
    name = text(200, required=False)
    alert_thresholds = fields.Nested(
        AlertThresholdsSchema,
        metadata={"description": "The thresholds to change; those left out stay as they are"},
    )
    offer_lapse_hours = Integer(validate=validate.Range(min=1, max=24 * 28))
    districts = fields.List(text(80), validate=validate.Length(min=1, max=100))
    session_activities = fields.List(text(60), validate=validate.Length(max=50))


COHORT_KIND_DESCRIPTION = (
    "one_to_one (Protect, Prevent: mentored one to one at the cohort's intensity) or group_only (its own places; its "
    "children attend group sessions only, never a one-to-one or phone session)"
)


class CohortSchema(Schema):
    id = fields.UUID(dump_only=True)
    programme_id = fields.UUID(dump_only=True)
    name = text(80)
    kind = fields.Enum(
        CohortKind, by_value=True, load_default=CohortKind.ONE_TO_ONE, metadata={"description": COHORT_KIND_DESCRIPTION}
    )
    places = Integer(
        required=True,
        validate=validate.Range(min=0, max=100_000),
        metadata={"description": "Places at any one time"},
    )
    max_sessions_per_week = Integer(required=True, validate=validate.Range(min=1, max=14))
    planned_weeks = Integer(required=True, validate=validate.Range(min=1, max=520))
    created_at = fields.AwareDateTime(dump_only=True)


class CohortUpdateSchema(Schema):
    name = text(80, required=False)
    kind = fields.Enum(
        CohortKind,
        by_value=True,
        metadata={"description": "Only while no child has been enrolled in the cohort (409 cohort_kind_fixed)"},
    )
    places = Integer(validate=validate.Range(min=0, max=100_000))
    max_sessions_per_week = Integer(validate=validate.Range(min=1, max=14))
    planned_weeks = Integer(validate=validate.Range(min=1, max=520))
