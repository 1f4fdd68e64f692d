from api.errors import Conflict, InvalidValue, NotFound


class InvalidAnswers(InvalidValue):
    """Answers to an instrument that are incomplete, out of range or for questions it does not ask.

    `errors` maps each item key to its messages (`answers` when no single item is at fault), so the form can
    show each message next to its question.
    """

    reason = "invalid_answers"
    default_message = "Some answers are missing or not valid."


class UnknownInstrument(InvalidValue):
    reason = "unknown_instrument"
    default_message = "There is no such wellbeing instrument."


class InstrumentNotSuitable(InvalidValue):
    reason = "instrument_not_suitable"
    default_message = "This instrument is not for a child of this age."


class InstrumentHasNoWording(InvalidValue):
    reason = "instrument_has_no_wording"
    default_message = "This instrument's questions are licensed and were not supplied, so a link cannot ask them."


class NoActiveGoals(InvalidValue):
    reason = "no_active_goals"
    default_message = "This child has no active goals to rate: set a goal first."


class CheckInNotFound(NotFound):
    reason = "check_in_not_found"
    default_message = "No such check-in in your caseload."


class GoalNotFound(NotFound):
    reason = "goal_not_found"
    default_message = "No such goal in your caseload."


class TooManyGoals(Conflict):
    reason = "too_many_active_goals"
    default_message = "This child already has three active goals: mark one achieved, changed or dropped first."


class GoalNotActive(Conflict):
    reason = "goal_not_active"
    default_message = "This goal has already been achieved, changed or dropped."


class InvitationNotFound(NotFound):
    reason = "check_in_invitation_not_found"
    default_message = "No such check-in invitation in your caseload."


class InvitationNotOpen(Conflict):
    reason = "check_in_invitation_not_open"
    default_message = "This check-in link has already been used, has expired or was withdrawn."


class NoMobileForLink(Conflict):
    reason = "no_mobile_with_sms_consent"
    default_message = "A check-in link goes to the child's own mobile: record one and the child's consent to SMS first."


class LinkNotUsable(NotFound):
    """Unknown, expired, used or withdrawn: one answer for all, so a guess learns nothing."""

    reason = "check_in_link_not_usable"
    default_message = "This link does not work any more."


class SessionNotOfChild(InvalidValue):
    reason = "session_not_of_child"
    default_message = "The session given is not one this child attends."


class GoalEndNotAllowed(InvalidValue):
    reason = "goal_end_not_allowed"
    default_message = "A goal ends achieved or dropped; to reword it, change it."
