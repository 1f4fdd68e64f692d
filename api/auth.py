"""Bearer-token authentication and role gates for views.

Roles are checked here (who may call an operation at all); which *records* a caller may touch is decided
in the services from the Actor, so object-level authorisation cannot be forgotten by a view.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any, TypeVar

from flask import current_app, g, request

from api.actors import Actor, Role
from api.errors import PermissionDenied

F = TypeVar("F", bound=Callable[..., Any])

ALL_ROLES = tuple(Role)
STAFF = (Role.ADMIN, Role.COORDINATOR)
CASEWORK = (Role.ADMIN, Role.COORDINATOR, Role.MENTOR)


# app.extensions[AUTHENTICATE]: the function that turns a bearer token into the Actor it belongs to, or raises an
# AuthenticationFailed (an empty token included). api/app.py wires in the accounts domain's, so this edge, which
# every view imports, stands below every domain instead of on top of accounts.
AUTHENTICATE = "reachable.authenticate"
Authenticate = Callable[[str], Actor]


def _bearer_token() -> str:
    """The request's bearer token; empty when there is none, which the authenticator refuses like a bad one."""
    scheme, _, token = request.headers.get("Authorization", "").partition(" ")
    return token.strip() if scheme.lower() == "bearer" else ""


def requires(*roles: Role) -> Callable[[F], F]:
    """Authenticate the caller and refuse roles not listed (403 names no record, so leaks nothing)."""

    def decorator(view: F) -> F:
        @functools.wraps(view)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            authenticate: Authenticate = current_app.extensions[AUTHENTICATE]
            actor = authenticate(_bearer_token())
            if actor.role not in roles:
                raise PermissionDenied()
            g.actor = actor
            return view(*args, **kwargs)

        wrapper._required_roles = roles  # type: ignore[attr-defined]
        return wrapper  # type: ignore[return-value]

    return decorator


def current_actor() -> Actor:
    actor: Actor = g.actor
    return actor
