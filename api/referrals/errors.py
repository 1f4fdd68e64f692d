from api.errors import Conflict, InvalidValue, NotFound


class ReferralNotFound(NotFound):
    reason = "referral_not_found"
    default_message = "No such referral."


class ReferralAlreadyDecided(Conflict):
    reason = "referral_already_decided"
    default_message = "This referral has already been accepted or declined."


class ReferralAlreadyPending(Conflict):
    reason = "referral_already_pending"
    default_message = "This child already has a referral waiting for a decision."


class ReferralDateInFuture(InvalidValue):
    reason = "referral_date_in_future"
    default_message = "A referral cannot be dated in the future."
