from api.errors import Conflict, NotFound


class AlertNotFound(NotFound):
    reason = "alert_not_found"
    default_message = "No such alert in your programme."


class AlertAlreadyAcknowledged(Conflict):
    reason = "alert_already_acknowledged"
    default_message = "This alert has already been acknowledged."


class AlertAlreadyResolved(Conflict):
    reason = "alert_already_resolved"
    default_message = "This alert has been resolved; a new occurrence opens a new alert."
