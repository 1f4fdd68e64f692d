from api.errors import Conflict, InvalidValue


class IdempotencyKeyReused(InvalidValue):
    reason = "idempotency_key_reused"
    default_message = "This Idempotency-Key was already used for a different request."


class RequestInProgress(Conflict):
    reason = "request_in_progress"
    default_message = "A request with this Idempotency-Key is still being processed; retry shortly."


class InvalidIdempotencyKey(InvalidValue):
    reason = "invalid_idempotency_key"
    default_message = "An Idempotency-Key is 1 to 100 visible ASCII characters (a UUID is ideal)."
