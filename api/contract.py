"""What the OpenAPI document says beyond what flask-smorest derives from the views, added in one place.

- Every operation has an `operationId`, the view function's name in camelCase (`create_session` gives
  `createSession`): generated clients name their functions after it, so it must be stable and unique, and a
  view's name is both (Flask refuses two views of one name in a blueprint; a test checks across blueprints).
  A view may still name its own with `@blp.doc(operationId=...)`.
- Every operation whose view honours an `Idempotency-Key` (the `@idempotent` decorator marks it) declares the
  header, so the document cannot forget one the code honours.
- Each enumeration is one named component with its type (`SessionKind`), referred to wherever a field takes its
  whole value set; a field that accepts only some of the values (the statuses a new session may be logged with)
  lists those inline, with the type. Generated clients then have one type per value set, not one per field.
- An optional request field that the server defaults to null says nothing of a default: `default: null` made
  generators treat the field as always present.
"""

from __future__ import annotations

import enum
from typing import Any

import marshmallow as ma
from apispec import BasePlugin
from apispec.ext.marshmallow import OpenAPIConverter
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


def enum_as_component(
    converter: OpenAPIConverter, field: ma.fields.Field, ret: dict[str, Any], **_: Any
) -> dict[str, Any]:
    """apispec attribute function: an Enum field refers to its enumeration's named component (or lists the subset it
    accepts), with a type, instead of repeating an untyped value list inline."""
    if not isinstance(field, ma.fields.Enum):
        return {}
    members: list[enum.Enum] = list(field.enum.__members__.values())
    values = [member.value for member in members] if field.by_value else [member.name for member in members]
    accepted = [value for value in values if value in ret.pop("enum", values)]
    ret.pop("type", None)
    value_type = "string" if all(isinstance(value, str) for value in values) else "integer"
    if accepted != values:
        return _nullable(converter, {"type": value_type, "enum": accepted}, nullable=field.allow_none)
    name = field.enum.__name__
    existing = converter.spec.components.schemas.get(name)
    if existing is not None and existing.get("enum") != values:
        raise RuntimeError(f"OpenAPI component {name} is taken: rename the schema or the enumeration")
    if existing is None:
        component: dict[str, Any] = {"type": value_type, "enum": values}
        summary = (field.enum.__doc__ or "").strip().split("\n\n")[0]
        if summary and summary != enum.Enum.__doc__:
            component["description"] = " ".join(summary.split())
        converter.spec.components.schema(name, component)
    reference = {"$ref": f"#/components/schemas/{name}"}
    if not field.allow_none:
        return reference
    if converter.openapi_version.major == 3 and converter.openapi_version.minor == 0:
        return {"allOf": [reference], "nullable": True}
    return {"anyOf": [reference, {"type": "null"}]}


def _nullable(converter: OpenAPIConverter, schema: dict[str, Any], *, nullable: bool) -> dict[str, Any]:
    if not nullable:
        return schema
    if converter.openapi_version.major == 3 and converter.openapi_version.minor == 0:
        return {**schema, "enum": [*schema["enum"], None], "nullable": True}
    return {**schema, "type": [schema["type"], "null"], "enum": [*schema["enum"], None]}


def no_null_default(
    _converter: OpenAPIConverter, _field: ma.fields.Field, ret: dict[str, Any], **_: Any
) -> dict[str, Any]:
    """apispec attribute function: drop `default: null` (absent and null mean the same to the server)."""
    if "default" in ret and ret["default"] is None:
        del ret["default"]
    return {}


ATTRIBUTE_FUNCTIONS = (enum_as_component, no_null_default)
