"""Bearer-token authentication and role gates for views.

Roles are checked here (who may call an operation at all); which *records* a caller may touch is decided
in the services from the Actor, so object-level authorisation cannot be forgotten by a view.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any, TypeVar

from flask import current_app, g, request

from api.accounts import auth_sessions
from api.accounts.errors import AccessTokenInvalid
from api.actors import Actor, Role
from api.errors import PermissionDenied
from api.web import clock, db_session

F = TypeVar("F", bound=Callable[..., Any])

ALL_ROLES = tuple(Role)
STAFF = (Role.ADMIN, Role.COORDINATOR)
CASEWORK = (Role.ADMIN, Role.COORDINATOR, Role.MENTOR)


def token_settings() -> auth_sessions.TokenSettings:
    config = current_app.config
    return auth_sessions.TokenSettings(
        secret_key=config["SECRET_KEY"],
        access_token_minutes=int(config["ACCESS_TOKEN_MINUTES"]),
        refresh_token_days=int(config["REFRESH_TOKEN_DAYS"]),
    )


def _bearer_token() -> str:
    scheme, _, token = request.headers.get("Authorization", "").partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise AccessTokenInvalid()
    return token.strip()


def requires(*roles: Role) -> Callable[[F], F]:
    """Authenticate the caller and refuse roles not listed (403 names no record, so leaks nothing)."""

    def decorator(view: F) -> F:
        @functools.wraps(view)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            actor = auth_sessions.authenticate(
                db_session(), access_token=_bearer_token(), settings=token_settings(), now=clock().now()
            )
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
