"""HTTP contracts of the dashboards: the filters every dashboard takes and the shape of each answer."""

from __future__ import annotations

from typing import Any

from marshmallow import ValidationError, fields, validate, validates_schema

from api.alerts.rules import Urgency
from api.enrolments.schemas import SUPPRESSIBLE_COUNT
from api.missing.schemas import ReturnConversationSummarySchema
from api.outcomes.schemas import CostBenefitSchema
from api.programmes.rules import CohortKind
from api.programmes.schemas import COHORT_KIND_DESCRIPTION
from api.schemas import Integer, Schema
from api.sessions.rules import SessionStatus

WITHHELD = "null when withheld for a commissioner because a count it comes from is suppressed"


def _derived(description: str) -> dict[str, str]:
    return {"description": f"{description}; {WITHHELD}"}


def _total(description: str) -> dict[str, Any]:
    """A count shown beside its parts: "<5" when small, and null for a commissioner when a part is suppressed."""
    return {
        "oneOf": [*SUPPRESSIBLE_COUNT["oneOf"], {"type": "null"}],
        "description": f"{description}; null when withheld for a commissioner because a part of it is suppressed",
    }


class DashboardQuerySchema(Schema):
    cohort_id = fields.UUID(metadata={"description": "Only this cohort (its enrolments and their children)"})
    district = fields.String(
        validate=validate.Length(min=1, max=80), metadata={"description": "Only children recorded in this district"}
    )
    since = fields.Date(metadata={"description": "First day of the period (programme time); default a year before"})
    until = fields.Date(metadata={"description": "Last day of the period, inclusive; default today"})
    format = fields.String(
        load_default="json",
        validate=validate.OneOf(["json", "csv"]),
        metadata={"description": "csv answers the dashboard's table as text/csv (so does Accept: text/csv)"},
    )

    @validates_schema
    def _period_in_order(self, data: dict[str, Any], **_kwargs: Any) -> None:
        if "since" in data and "until" in data and data["until"] < data["since"]:
            raise ValidationError("Must not be before since.", "until")


class OutcomesQuerySchema(DashboardQuerySchema):
    price_year = fields.String(
        validate=validate.Regexp(r"^\d{4}[/-]\d{2}$", error="Use a financial year such as 2024/25."),
        metadata={"description": "Financial year of the savings' prices; default the latest the deflators cover"},
    )


class DashboardFiltersSchema(Schema):
    programme_id = fields.UUID()
    cohort_id = fields.UUID(allow_none=True)
    district = fields.String(allow_none=True)
    since = fields.Date(allow_none=True, metadata={"description": "null where the figures do not use a period"})
    until = fields.Date(allow_none=True)


class DashboardCohortPlacesSchema(Schema):
    cohort_id = fields.UUID()
    cohort_name = fields.String()
    cohort_kind = fields.Enum(CohortKind, by_value=True, metadata={"description": COHORT_KIND_DESCRIPTION})
    funded = Integer(metadata={"description": "Places the cohort is funded for now"})
    occupied = fields.Raw(metadata={**SUPPRESSIBLE_COUNT, "description": "Children in active support now"})
    offered = fields.Raw(metadata={**SUPPRESSIBLE_COUNT, "description": "Places offered and awaiting an answer"})
    free = Integer(allow_none=True, metadata=_derived("Funded minus occupied and offered, whole cohort"))
    children_supported_in_period = fields.Raw(
        metadata={**SUPPRESSIBLE_COUNT, "description": "Spells of support that held a place on any day of the period"}
    )
    occupied_place_days = Integer(allow_none=True, metadata=_derived("Days places were held in the period"))
    funded_place_days = Integer(metadata={"description": "Funded places times days in the period"})
    occupancy = fields.Float(allow_none=True, metadata=_derived("occupied / funded place-days, 0 to 1"))


class PlacesDashboardSchema(Schema):
    filters = fields.Nested(DashboardFiltersSchema)
    cohorts = fields.List(fields.Nested(DashboardCohortPlacesSchema))


class WaitlistDashboardSchema(Schema):
    filters = fields.Nested(DashboardFiltersSchema)
    waitlisted_now = fields.Raw(metadata=SUPPRESSIBLE_COUNT)
    still_waiting_for_first_session = fields.Raw(
        metadata={**SUPPRESSIBLE_COUNT, "description": "Waitlisted, offered or active, and no completed session yet"}
    )
    first_sessions_in_period = fields.Raw(
        metadata={**SUPPRESSIBLE_COUNT, "description": "Referred children whose first completed session fell in it"}
    )
    median_wait_days = fields.Float(allow_none=True, metadata=_derived("Days from referral to first session"))
    p90_wait_days = Integer(allow_none=True, metadata=_derived("90th percentile (nearest rank) of the waits"))


class DashboardMentorCaseloadSchema(Schema):
    mentor_id = fields.UUID()
    display_name = fields.String()
    caseload = Integer()
    max_caseload = Integer(allow_none=True)
    utilisation = fields.Float(allow_none=True, metadata={"description": "caseload / max_caseload"})


class MentorsDashboardSchema(Schema):
    filters = fields.Nested(DashboardFiltersSchema)
    mentors = fields.Raw(metadata=SUPPRESSIBLE_COUNT)
    children_allocated = fields.Raw(metadata=SUPPRESSIBLE_COUNT)
    at_or_over_capacity = fields.Raw(metadata=SUPPRESSIBLE_COUNT)
    mean_utilisation = fields.Float(allow_none=True, metadata=_derived("Mean of caseload / maximum"))
    caseloads = fields.List(
        fields.Nested(DashboardMentorCaseloadSchema), metadata={"description": "Per mentor; empty for commissioners"}
    )


class DeliveryDashboardSchema(Schema):
    filters = fields.Nested(DashboardFiltersSchema)
    planned = fields.Raw(metadata={**SUPPRESSIBLE_COUNT, "description": "Sessions planned to start in the period"})
    delivered = fields.Raw(metadata=SUPPRESSIBLE_COUNT)
    missed = fields.Raw(metadata={**SUPPRESSIBLE_COUNT, "description": "Did not attend"})
    cancelled = fields.Raw(metadata={**SUPPRESSIBLE_COUNT, "description": "Cancelled by the child or the mentor"})
    not_yet_recorded = fields.Raw(metadata={**SUPPRESSIBLE_COUNT, "description": "Still planned"})
    evening_share = fields.Float(allow_none=True, metadata=_derived("Delivered sessions starting 17:00 or later"))
    weekend_share = fields.Float(allow_none=True, metadata=_derived("Delivered sessions on Saturday or Sunday"))
    children_seen = fields.Raw(metadata=SUPPRESSIBLE_COUNT)
    attendances = fields.Raw(
        metadata={**SUPPRESSIBLE_COUNT, "description": "Children who attended delivered sessions, by the register"}
    )
    missed_attendances = fields.Raw(
        metadata={
            **SUPPRESSIBLE_COUNT,
            "description": "Children who did not attend: sessions not attended, and marked so at group sessions held",
        }
    )
    child_weeks_of_support = fields.Float(allow_none=True, metadata=_derived("Occupied place-days / 7"))
    sessions_per_child_per_week = fields.Float(allow_none=True, metadata=_derived("attendances / child-weeks"))


class DashboardMeasureChangeSchema(Schema):
    instrument_key = fields.String()
    measure = fields.String()
    children_with_baseline = fields.Raw(metadata=SUPPRESSIBLE_COUNT)
    children_with_follow_up = fields.Raw(metadata=SUPPRESSIBLE_COUNT)
    mean_change = fields.Float(allow_none=True, metadata=_derived("Follow-up minus baseline"))
    meaningfully_improved = fields.Raw(metadata=SUPPRESSIBLE_COUNT)
    improved_share = fields.Float(allow_none=True, metadata=_derived("meaningfully_improved / with follow-up"))


class WellbeingDashboardSchema(Schema):
    filters = fields.Nested(DashboardFiltersSchema)
    measures = fields.List(fields.Nested(DashboardMeasureChangeSchema))
    goal_progress = fields.Nested(DashboardMeasureChangeSchema, allow_none=True)


class OutcomesDashboardSchema(Schema):
    filters = fields.Nested(DashboardFiltersSchema)
    estimate = fields.Nested(CostBenefitSchema)


class ReturnConversationsDashboardSchema(Schema):
    filters = fields.Nested(DashboardFiltersSchema)
    summary = fields.Nested(ReturnConversationSummarySchema)


class DashboardUrgencyAcknowledgementSchema(Schema):
    urgency = fields.Enum(Urgency, by_value=True, metadata={"description": "From the alert's kind"})
    raised = fields.Raw(metadata={**SUPPRESSIBLE_COUNT, "description": "Alerts raised in the period"})
    acknowledged = fields.Raw(metadata={**SUPPRESSIBLE_COUNT, "description": "Of those, acknowledged by now"})
    median_minutes = fields.Float(allow_none=True, metadata=_derived("Minutes from raised to acknowledged, median"))
    p90_minutes = fields.Float(allow_none=True, metadata=_derived("90th percentile (nearest rank) of the minutes"))
    unacknowledged = fields.Raw(metadata={**SUPPRESSIBLE_COUNT, "description": "Of those, not acknowledged now"})
    oldest_unacknowledged_minutes = fields.Float(
        allow_none=True, metadata=_derived("Age now of the oldest unacknowledged one, in minutes")
    )


class AcknowledgementDashboardSchema(Schema):
    filters = fields.Nested(DashboardFiltersSchema)
    urgencies = fields.List(
        fields.Nested(DashboardUrgencyAcknowledgementSchema),
        metadata={"description": "One row per urgency, urgent first, even with no alert raised"},
    )


class DashboardGroupSessionSchema(Schema):
    date = fields.Date(metadata={"description": "The day it was planned for, in programme time"})
    status = fields.Enum(SessionStatus, by_value=True)
    booked = fields.Raw(
        allow_none=True,
        metadata=_total("Children booked onto it (every register line): attended, did not attend, cancelled, unmarked"),
    )
    attended = fields.Raw(metadata={**SUPPRESSIBLE_COUNT, "description": "Children marked attended on the register"})
    did_not_attend = fields.Raw(metadata={**SUPPRESSIBLE_COUNT, "description": "Children marked did not attend"})
    cancelled = fields.Raw(metadata={**SUPPRESSIBLE_COUNT, "description": "Lines cancelled by the child or service"})
    not_yet_marked = fields.Raw(metadata={**SUPPRESSIBLE_COUNT, "description": "Lines still booked, not marked"})
    carers = fields.Raw(metadata={**SUPPRESSIBLE_COUNT, "description": "Parents or carers recorded (not children)"})


class DashboardSeriesSchema(Schema):
    series_id = fields.UUID()
    name = fields.String()
    sessions_planned = Integer(metadata={"description": "N: the series' sessions in all, none rescheduled"})
    sessions_in_period = Integer(metadata={"description": "Its sessions planned to start in the period"})
    sessions_held = Integer(metadata={"description": "Of those, held (completed)"})
    complete_after_sessions = Integer(metadata={"description": "K: sessions a child must attend to complete it"})
    roster = fields.Raw(metadata={**SUPPRESSIBLE_COUNT, "description": "Children on its roster now"})
    left = fields.Raw(metadata={**SUPPRESSIBLE_COUNT, "description": "Children who were on it and left"})
    children_started = fields.Raw(
        metadata={**SUPPRESSIBLE_COUNT, "description": "Roster children whose first session attended was in the period"}
    )
    children_completed = fields.Raw(
        metadata={**SUPPRESSIBLE_COUNT, "description": "Roster children whose K-th session attended was in the period"}
    )
    carers_attended = fields.Raw(metadata={**SUPPRESSIBLE_COUNT, "description": "Carers at its sessions in the period"})
    sessions = fields.List(
        fields.Nested(DashboardGroupSessionSchema), metadata={"description": "Its sessions in the period, in order"}
    )


class GroupDeliveryDashboardSchema(Schema):
    filters = fields.Nested(DashboardFiltersSchema)
    series_run = Integer(metadata={"description": "Series with a session held in the period"})
    sessions_held = Integer(metadata={"description": "Their sessions held in the period"})
    children_started = fields.Raw(allow_none=True, metadata=_total("The series' children_started, added up"))
    children_completed = fields.Raw(allow_none=True, metadata=_total("The series' children_completed, added up"))
    carers_attended = fields.Raw(allow_none=True, metadata=_total("The series' carers_attended, added up"))
    series = fields.List(
        fields.Nested(DashboardSeriesSchema),
        metadata={"description": "Each series with a session planned in the period, by name"},
    )
