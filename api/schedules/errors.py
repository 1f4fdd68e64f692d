from api.errors import Conflict, InvalidValue, NotFound


class PatternNotFound(NotFound):
    reason = "pattern_not_found"
    default_message = "No such session pattern in your caseload."


class PatternExceedsWeeklyCap(Conflict):
    reason = "pattern_exceeds_weekly_cap"
    default_message = "The pattern has more sessions a week than the child's cohort allows."


class PatternEnded(Conflict):
    reason = "pattern_ended"
    default_message = "This pattern has ended."


class InvalidPattern(InvalidValue):
    reason = "invalid_pattern"
