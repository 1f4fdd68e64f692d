"""What the OpenAPI document says beyond what flask-smorest derives from the views, added in one place.

- Every operation has an `operationId`, the view function's name in camelCase (`create_session` gives
  `createSession`): generated clients name their functions after it, so it must be stable and unique, and a
  view's name is both (Flask refuses two views of one name in a blueprint; a test checks across blueprints).
  A view may still name its own with `@blp.doc(operationId=...)`.
- Every operation whose view honours an `Idempotency-Key` (the `@idempotent` decorator marks it) declares the
  header, so the document cannot forget one the code honours.
"""

from __future__ import annotations

from typing import Any

from apispec import BasePlugin
from flask import Flask

IDEMPOTENCY_KEY_PARAMETER = {
    "name": "Idempotency-Key",
    "in": "header",
    "required": False,
    "schema": {"type": "string", "minLength": 1, "maxLength": 100},
    "description": "Retry-safe create: the same key and body replay the first answer (Idempotent-Replayed: true); "
    "a UUID made on the device is ideal",
}


def operation_id(endpoint: str) -> str:
    """`sessions.create_session` -> `createSession`."""
    first, *rest = endpoint.rsplit(".", 1)[-1].split("_")
    return first + "".join(word.capitalize() for word in rest)


class ContractPlugin(BasePlugin):
    def __init__(self, app: Flask) -> None:
        self.app = app

    def operation_helper(
        self, path: str | None = None, operations: dict[str, Any] | None = None, **kwargs: Any
    ) -> None:
        rule = kwargs.get("rule")
        if rule is None or not operations:
            return
        view = self.app.view_functions.get(rule.endpoint)
        for operation in operations.values():
            operation.setdefault("operationId", operation_id(rule.endpoint))
            if getattr(view, "honours_idempotency_key", False):
                parameters = operation.setdefault("parameters", [])
                if not any(p.get("name") == IDEMPOTENCY_KEY_PARAMETER["name"] for p in parameters):
                    parameters.append(dict(IDEMPOTENCY_KEY_PARAMETER))
