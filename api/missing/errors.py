from api.errors import Conflict, InvalidValue, NotFound


class MissingEpisodeNotFound(NotFound):
    reason = "missing_episode_not_found"
    default_message = "No such missing episode in your caseload."


class ImplausibleEpisodeTimes(InvalidValue):
    reason = "implausible_episode_times"
    default_message = "Check when the child went missing and when they returned."


class ImplausibleConversation(InvalidValue):
    reason = "implausible_return_conversation"
    default_message = "Check the return conversation's outcome and times."


class ChildNotReturned(Conflict):
    reason = "child_not_returned"
    default_message = "Record the child's return before their return conversation."
