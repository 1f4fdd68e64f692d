"""Refusals of a dashboard request, each named after the rule broken, with a stable machine reason."""

from __future__ import annotations

from api.errors import InvalidValue


class DashboardPeriodReversed(InvalidValue):
    reason = "dashboard_period_reversed"
    default_message = "The period must not end before it starts."


class DistrictUnknown(InvalidValue):
    reason = "district_unknown"
    default_message = "The programme has no such district."
