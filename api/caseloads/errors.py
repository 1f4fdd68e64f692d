from api.errors import Conflict, NotFound


class MentorNotFound(NotFound):
    reason = "mentor_not_found"
    default_message = "No such mentor in this programme."


class MentorCaseloadFull(Conflict):
    reason = "mentor_caseload_full"
    default_message = "This mentor's caseload is full."


class EnrolmentNotAllocatable(Conflict):
    reason = "enrolment_not_allocatable"
    default_message = "A key worker can be allocated only to a child who holds a place (offered or active)."


class AlreadyAllocated(Conflict):
    reason = "already_allocated"
    default_message = "This mentor is already the child's key worker."
