from api.errors import Conflict, InvalidValue, NotFound, PermissionDenied


class GroupSeriesNotFound(NotFound):
    reason = "group_series_not_found"
    default_message = "No such group series that you may see."


class InvalidSeries(InvalidValue):
    reason = "invalid_series"


class SeriesNameTaken(Conflict):
    reason = "series_name_taken"
    default_message = "The programme already has a series of this name."


class NotAFacilitator(PermissionDenied):
    reason = "not_a_facilitator"
    default_message = "Only the series' facilitators (or a coordinator of its programme) can change it."


class SeriesFull(Conflict):
    reason = "series_full"
    default_message = "Every place on this series' roster is taken."


class AlreadyOnRoster(Conflict):
    reason = "already_on_roster"
    default_message = "This child is already on the series' roster."


class NotOnRoster(NotFound):
    reason = "not_on_roster"
    default_message = "This child is not on the series' roster."


class CapacityBelowRoster(Conflict):
    reason = "capacity_below_roster"
    default_message = "A series' capacity cannot go below the children on its roster."


class EnrolmentNotActiveForSeries(InvalidValue):
    reason = "enrolment_not_active_for_series"
    default_message = "Only a child with an active enrolment can join a series."


class EnrolmentInAnotherProgramme(InvalidValue):
    reason = "enrolment_in_another_programme"
    default_message = "The child's enrolment is in another programme than the series'."
