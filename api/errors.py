"""Domain error categories. Each domain's errors.py subclasses one of these and names the rule broken.

Framework-free on purpose: services raise these, and one mapping in api/web.py turns each category into
an HTTP status. `reason` is a stable machine-readable string clients may branch on; `message` is for people.
"""

from __future__ import annotations

from typing import Any, ClassVar


class DomainError(Exception):
    reason: ClassVar[str] = "domain_error"
    default_message: ClassVar[str] = "The request could not be completed."

    def __init__(self, message: str | None = None, *, errors: dict[Any, Any] | None = None, **details: Any):
        self.message = message or self.default_message
        self.errors = errors
        self.details = details
        super().__init__(self.message)


class NotFound(DomainError):
    """The record does not exist or the caller may not know it exists (both answer the same)."""

    reason = "not_found"
    default_message = "Not found."


class AuthenticationFailed(DomainError):
    reason = "authentication_failed"
    default_message = "Authentication failed."


class PermissionDenied(DomainError):
    reason = "forbidden"
    default_message = "Your role may not do this."


class Conflict(DomainError):
    """The request is well formed but the current state of the records does not allow it."""

    reason = "conflict"


class InvalidValue(DomainError):
    """A value that passed the HTTP contract but breaks a domain rule (reported per field)."""

    reason = "invalid_value"
    default_message = "Some values are not valid."


class PreconditionFailed(DomainError):
    """The client edited a version of the record that is no longer current."""

    reason = "precondition_failed"


class StaleVersion(PreconditionFailed):
    """Every versioned record (a session, a pattern, a goal, a missing episode ...) answers an edit of an old version
    the same way, with the version that is current, so a client can read it again and reapply its change."""

    reason = "stale_version"
    default_message = "This record changed since you read it: fetch it again and reapply your change."


def check_version(*, current: int, expected: int) -> None:
    """Optimistic locking: the edit was made to `expected`; refuse it unless that is still the current version."""
    if current != expected:
        raise StaleVersion(current_version=current)
