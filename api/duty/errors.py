from api.errors import Conflict, InvalidValue, NotFound


class DutyShiftNotFound(NotFound):
    reason = "duty_shift_not_found"
    default_message = "No such shift on your programme's duty rota."


class DutyShiftOverlaps(Conflict):
    reason = "duty_shift_overlaps"
    default_message = (
        "This shift overlaps another shift on the programme's duty rota: change or remove that one first, so only "
        "one person is on duty at a time."
    )


class DutyShiftEnded(Conflict):
    reason = "duty_shift_ended"
    default_message = "This shift is over: it stays on the rota as the record of who was on duty."


class InvalidDutyShiftTimes(InvalidValue):
    reason = "invalid_duty_shift_times"
    default_message = "The shift's times are not valid."


class DutyProgrammeRequired(InvalidValue):
    reason = "duty_programme_required"
    default_message = "Choose the programme whose rota this is."


class DutyPersonNotEligible(InvalidValue):
    """Only someone who can act on a safeguarding alert (an active coordinator of the programme, or an admin) can
    be on duty or fall back."""

    reason = "duty_person_not_eligible"
    default_message = "Only an active coordinator of the programme, or an admin, can be on duty or fall back."


class DutyPersonWithoutMobile(InvalidValue):
    """An alert out of hours is a text message: someone with no work mobile recorded cannot be reached by one."""

    reason = "duty_person_without_mobile"
    default_message = "Record this person's work mobile before putting them on the duty rota."


class DutyFallbackIsOnDuty(InvalidValue):
    reason = "duty_fallback_is_on_duty"
    default_message = "The fallback must be someone other than the coordinator on duty."


class InvalidRotaWindow(InvalidValue):
    reason = "invalid_rota_window"
    default_message = "The period asked for is not valid."
