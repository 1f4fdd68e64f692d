from api.errors import Conflict, InvalidValue, NotFound, PermissionDenied


class SessionNotFound(NotFound):
    reason = "session_not_found"
    default_message = "No such session in your caseload."


class WeeklySessionCapReached(Conflict):
    reason = "weekly_session_cap_reached"
    default_message = "This child already has the most sessions their cohort allows in that week."


class SessionAlreadyExists(Conflict):
    reason = "session_already_exists"
    default_message = "A session with this id already exists."


class SessionStatusFinal(Conflict):
    reason = "session_status_final"
    default_message = "This session has already happened, been cancelled or been rescheduled."


class InvalidSession(InvalidValue):
    reason = "invalid_session"


class EnrolmentNotActiveForSession(Conflict):
    reason = "enrolment_not_active"
    default_message = "Sessions can be planned only for children with an active enrolment."


class NotTheSessionsMentor(PermissionDenied):
    reason = "not_the_sessions_mentor"
    default_message = "Only the mentor who leads this session (or a coordinator) can change it."


class LoneWorkingAlreadyStarted(Conflict):
    reason = "lone_working_already_started"
    default_message = "Lone working was already started for this session."


class LoneWorkingNotStarted(Conflict):
    reason = "lone_working_not_started"
    default_message = "Lone working was not started for this session: there is nothing to check in from."


class NotTheMentorWorkingAlone(PermissionDenied):
    reason = "not_the_sessions_mentor"
    default_message = "Only the mentor who leads this session can start its lone-working check or check in."


class SessionOutsideEnrolment(InvalidValue):
    reason = "session_outside_enrolment"
    default_message = "A session must fall within its child's planned support, from its start to its planned end."


class DuplicateSession(Conflict):
    reason = "duplicate_session"
    default_message = "This child already has a session with this mentor at this time."


class SessionNotStarted(InvalidValue):
    reason = "session_not_started"
    default_message = "A session can be logged as held or missed only once it has started."


class GroupOnlyEnrolment(InvalidValue):
    reason = "group_only_enrolment"
    default_message = "This child's place is in a group-only cohort: they attend group sessions only."
