from api.errors import InvalidValue, NotFound, PermissionDenied


class ChildNotFound(NotFound):
    reason = "child_not_found"
    default_message = "No such child in your caseload."


class PhoneNumberNotFound(NotFound):
    reason = "phone_number_not_found"
    default_message = "No such phone number for this child."


class UnknownDistrict(InvalidValue):
    reason = "unknown_district"
    default_message = "Choose one of the programme's districts."


class PhoneNumberAlreadyRecorded(InvalidValue):
    reason = "phone_number_already_recorded"
    default_message = "This number is already recorded for this child."


class ConsentChannelWithoutNumber(InvalidValue):
    reason = "consent_channel_without_number"
    default_message = "Record a phone number this channel can reach before recording consent to use it."


class ProgrammeRequired(InvalidValue):
    reason = "programme_required"
    default_message = "Choose the child's programme."


class ProgrammeNotYours(PermissionDenied):
    reason = "programme_not_yours"
    default_message = "You can only add children to your own programme."


class ImplausibleDateOfBirth(InvalidValue):
    reason = "implausible_date_of_birth"
