from api.errors import Conflict, NotFound


class EnrolmentNotFound(NotFound):
    reason = "enrolment_not_found"
    default_message = "No such enrolment."


class ChildAlreadyEnrolled(Conflict):
    reason = "child_already_enrolled"
    default_message = "This child already has a place or is already waiting for one."


class EnrolmentNotActive(Conflict):
    reason = "enrolment_not_active"
    default_message = "Only an active enrolment can be ended or moved."


class NotOnWaitlist(Conflict):
    reason = "not_on_waitlist"
    default_message = "This child is not waiting for a place."


class NoOfferToConfirm(Conflict):
    reason = "no_offer_to_confirm"
    default_message = "There is no open offer of a place to confirm."


class OfferLapsed(Conflict):
    reason = "offer_lapsed"
    default_message = "The offer was not confirmed in time and has passed to the next child."


class CohortFull(Conflict):
    reason = "cohort_full"
    default_message = "The cohort has no free place."


class SameCohort(Conflict):
    reason = "same_cohort"
    default_message = "The child is already in this cohort."
