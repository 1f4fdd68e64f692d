from api.errors import Conflict, InvalidValue, NotFound


class OutcomeEventNotFound(NotFound):
    reason = "outcome_event_not_found"
    default_message = "No such outcome event in your caseload."


class ImplausibleOutcomeEvent(InvalidValue):
    reason = "implausible_outcome_event"
    default_message = "Check the event's date."


class MissingEpisodeNotLinkable(InvalidValue):
    reason = "missing_episode_not_linkable"
    default_message = "Only a missing_episode event may name a missing episode, and only one of the same child."


class OutcomeEventAlreadyRecorded(Conflict):
    reason = "outcome_event_already_recorded"
    default_message = "This child already has an event of this type from this source on this day."


class MissingEpisodeAlreadyRecorded(Conflict):
    reason = "missing_episode_already_recorded"
    default_message = "This missing episode is already recorded as an outcome event."


class ImportNotReadable(InvalidValue):
    reason = "import_not_readable"
    default_message = "The file could not be read as CSV."


class ImportHeaderInvalid(InvalidValue):
    reason = "import_header_invalid"
    default_message = "The header must name the columns child_reference,event_type,occurred_on,source,source_detail."


class ImportTooManyRows(InvalidValue):
    reason = "import_too_many_rows"
    default_message = "The file has too many rows; split it."


class ImportRejected(InvalidValue):
    """All or nothing: some rows were refused, so none was imported (the answer lists them)."""

    reason = "import_rejected"
    default_message = "Some rows were refused, so nothing was imported. Correct them and import the file again."


class InvalidPriceYear(InvalidValue):
    reason = "invalid_price_year"
    default_message = "Use a financial year such as 2024/25."


class DeflatorYearMissing(InvalidValue):
    reason = "deflator_year_missing"
    default_message = "The GDP deflator series does not cover this year."


class UnitCostMissing(Conflict):
    reason = "unit_cost_missing"
    default_message = "A unit cost the estimate needs is not in the unit cost table."


class UnknownUnitCost(InvalidValue):
    reason = "unknown_unit_cost"
    default_message = "There is no unit cost with this item code."
