"""Refusals of a dashboard request or of the dashboard page's forms, each named after the rule broken, with a stable
machine reason."""

from __future__ import annotations

from api.errors import InvalidValue, PermissionDenied


class DashboardPeriodReversed(InvalidValue):
    reason = "dashboard_period_reversed"
    default_message = "The period must not end before it starts."


class DistrictUnknown(InvalidValue):
    reason = "district_unknown"
    default_message = "The programme has no such district."


class FormRefused(PermissionDenied):
    """A form of the dashboard page (sign in, sign out) this site cannot tell it sent: nothing is done (issue 13)."""

    reason = "form_refused"


class CrossSiteFormRefused(FormRefused):
    reason = "cross_site_form"
    default_message = (
        "The form was sent from another site, or your browser did not say which site it came from, so nothing was done."
    )


class FormTokenRefused(FormRefused):
    reason = "form_token_invalid"
    default_message = (
        "The form was not one this site gave this browser (or the browser did not keep this site's cookie), so "
        "nothing was done."
    )


class FormExpired(FormRefused):
    reason = "form_expired"
    default_message = "The form was open too long (more than an hour), so nothing was done."
