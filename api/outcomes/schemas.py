from marshmallow import fields, validate

from api.enrolments.schemas import SUPPRESSIBLE_COUNT
from api.outcomes.csv_import import IMPORT_MAX_BYTES, IMPORT_MAX_ROWS, ImportMode
from api.outcomes.rates import MAX_BASELINE_MONTHS
from api.outcomes.rules import SOURCE_DETAIL_MAX_LENGTH, OutcomeEventType, OutcomeSource
from api.schemas import Integer, Schema


class OutcomeEventSchema(Schema):
    id = fields.UUID(dump_only=True)
    child_id = fields.UUID(dump_only=True)
    event_type = fields.Enum(OutcomeEventType, by_value=True, required=True)
    occurred_on = fields.Date(required=True, metadata={"description": "The day it happened (not the day recorded)"})
    source = fields.Enum(
        OutcomeSource, by_value=True, required=True, metadata={"description": "Where the record of it came from"}
    )
    source_detail = fields.String(
        load_default=None,
        allow_none=True,
        validate=validate.Length(max=SOURCE_DETAIL_MAX_LENGTH),
        metadata={"description": 'Which extract or return, e.g. "Kent Police extract, March 2026"'},
    )
    missing_episode_id = fields.UUID(
        load_default=None,
        allow_none=True,
        metadata={"description": "For a missing_episode event: the same child's missing episode it counts"},
    )
    recorded_at = fields.AwareDateTime(dump_only=True)
    recorded_by_user_id = fields.UUID(dump_only=True)


class ImportQuerySchema(Schema):
    mode = fields.Enum(
        ImportMode,
        by_value=True,
        load_default=ImportMode.ALL_OR_NOTHING,
        metadata={
            "description": "all_or_nothing (default): import nothing if any row is refused (422 listing them); "
            "valid_rows: import the rows that pass and list the others"
        },
    )


class RejectedRowSchema(Schema):
    line = Integer(metadata={"description": "Physical line in the file; the header is line 1"})
    field = fields.String(allow_none=True, metadata={"description": "The column at fault; null for the whole row"})
    reason = fields.String(metadata={"description": "Stable code: unknown_child, future_date, duplicate_in_file ..."})
    message = fields.String()


class ImportReportSchema(Schema):
    imported = Integer()
    rejected = fields.List(fields.Nested(RejectedRowSchema))


IMPORT_REQUEST_BODY = {
    "required": True,
    "description": (
        "A CSV file with the header child_reference,event_type,occurred_on,source (source_detail optional); "
        "children by pseudonymous reference only, dates as YYYY-MM-DD. At most "
        f"{IMPORT_MAX_ROWS} rows and {IMPORT_MAX_BYTES // 1024} KiB (413 beyond that size)."
    ),
    "content": {
        "text/csv": {"schema": {"type": "string"}},
        "multipart/form-data": {
            "schema": {"type": "object", "properties": {"file": {"type": "string", "format": "binary"}}},
        },
    },
}


class OutcomeSettingsSchema(Schema):
    programme_id = fields.UUID(dump_only=True)
    baseline_months = Integer(
        required=True,
        validate=validate.Range(min=1, max=MAX_BASELINE_MONTHS),
        metadata={"description": "How many months before a child's start make their baseline window (default 12)"},
    )
    fixed_term_exclusion_cost_code = fields.String(
        load_default=None,
        allow_none=True,
        validate=validate.Length(max=40),
        metadata={"description": "A unit cost item to price fixed-term exclusions; null leaves them unmonetised"},
    )


class CostBenefitQuerySchema(Schema):
    price_year = fields.String(
        required=True,
        validate=validate.Regexp(r"^\d{4}[/-]\d{2}$", error="Use a financial year such as 2024/25."),
        metadata={"description": "The financial year whose prices the estimate is in, e.g. 2024/25"},
    )
    cohort_id = fields.UUID(metadata={"description": "Only children who started in this cohort"})


class TypeEstimateSchema(Schema):
    event_type = fields.Enum(OutcomeEventType, by_value=True)
    baseline_events = fields.Raw(metadata=SUPPRESSIBLE_COUNT)
    during_events = fields.Raw(metadata=SUPPRESSIBLE_COUNT)
    baseline_rate = fields.Float(allow_none=True, metadata={"description": "Events per child-year before"})
    during_rate = fields.Float(allow_none=True, metadata={"description": "Events per child-year during"})
    percent_change = fields.Float(allow_none=True, metadata={"description": "-52.0 is 52% fewer; null from zero"})
    monetised = fields.Boolean()
    unit_cost_items = fields.List(fields.String(), metadata={"description": "Unit cost item codes used, low first"})
    unit_cost_low = fields.Float(allow_none=True, metadata={"description": "One event's cost, low, in price_year £"})
    unit_cost_high = fields.Float(allow_none=True)
    saving_low = fields.Float(allow_none=True, metadata={"description": "£; negative when events went up"})
    saving_high = fields.Float(allow_none=True)


class CostBenefitSchema(Schema):
    programme_id = fields.UUID()
    cohort_id = fields.UUID(allow_none=True)
    as_of = fields.Date(metadata={"description": "Support still going on is measured to this day"})
    price_year = fields.String()
    deflator_series = fields.String()
    baseline_months = Integer()
    children = fields.Raw(metadata=SUPPRESSIBLE_COUNT)
    child_years_baseline = fields.Float(allow_none=True)
    child_years_during = fields.Float(allow_none=True)
    outcomes = fields.List(fields.Nested(TypeEstimateSchema))
    total_saving_low = fields.Float(allow_none=True)
    total_saving_high = fields.Float(allow_none=True)
    saving_per_child_low = fields.Float(allow_none=True)
    saving_per_child_high = fields.Float(allow_none=True)
    method = fields.String(metadata={"description": "How the estimate is made and what it cannot show"})
