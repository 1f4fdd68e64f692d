from api.errors import Conflict, InvalidValue, NotFound


class ProgrammeNotFound(NotFound):
    reason = "programme_not_found"
    default_message = "No such programme."


class CohortNotFound(NotFound):
    reason = "cohort_not_found"
    default_message = "No such cohort."


class ProgrammeNameTaken(Conflict):
    reason = "programme_name_taken"
    default_message = "A programme with this name already exists."


class CohortNameTaken(Conflict):
    reason = "cohort_name_taken"
    default_message = "This programme already has a cohort with this name."


class UnknownTimeZone(InvalidValue):
    reason = "unknown_time_zone"
    default_message = "Use an IANA time zone name such as Europe/London."


class PlacesBelowTaken(Conflict):
    reason = "places_below_taken"
    default_message = "A cohort cannot have fewer places than children already holding one."


class DistrictInUse(Conflict):
    reason = "district_in_use"
    default_message = "Children are recorded against a district you removed."


class UnknownInstrument(InvalidValue):
    reason = "unknown_instrument"
    default_message = "There is no such wellbeing instrument."


class CohortKindFixed(Conflict):
    reason = "cohort_kind_fixed"
    default_message = (
        "Children have been enrolled in this cohort: its kind cannot change. Add a cohort of the other kind instead."
    )
