"""Shared pieces of the HTTP contract."""

from __future__ import annotations

import numbers
from typing import Any

import marshmallow as ma
from marshmallow import fields, validate


class Schema(ma.Schema):
    """Unknown fields are rejected (marshmallow's default, stated here so nobody relaxes it by accident)."""

    class Meta:
        unknown = ma.RAISE


class EditSchema(Schema):
    """An edit that must change something: an empty body, or none, is refused (422). The document says so too
    (`minProperties: 1`, and the body is required: api/contract.py), where an edit whose fields are all optional
    would otherwise read as one that may be sent empty."""

    @ma.validates_schema
    def _something_to_change(self, data: dict[str, Any], **_kwargs: Any) -> None:
        if not data:
            raise ma.ValidationError("Send at least one field to change.", "_schema")


class Integer(fields.Integer):
    """A whole number, as JSON writes one. marshmallow's own Integer casts with int(): it truncated 2.589e-42 to 0
    and 2.5 to 2, and read "5" as 5. A number with nothing after the point (5.0) is the integer it names, as JSON
    Schema reads it. Query strings, which are always text, keep marshmallow's field (webargs parses them)."""

    default_error_messages = {"invalid": "Not a valid integer: send a whole number."}

    def _validated(self, value: Any) -> int:
        if isinstance(value, float) and value.is_integer():
            value = int(value)
        if not isinstance(value, numbers.Integral) or isinstance(value, bool):
            raise self.make_error("invalid", input=value)
        return super()._validated(value)


class Boolean(fields.Boolean):
    """true or false, as JSON writes them. marshmallow's own Boolean also reads 0, 1, 1.0, "yes", "off" and the
    like: a consent sent as "granted": 0 was recorded as refused, where the document allows only true or false.
    Query strings, which are always text, keep marshmallow's field (webargs parses "true" and "false")."""

    default_error_messages = {"invalid": "Not a valid boolean: send true or false."}

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> bool:
        if not isinstance(value, bool):
            raise self.make_error("invalid", input=value)
        return value


def text(max_length: int, *, required: bool = True, allow_none: bool = False, **kwargs: object) -> fields.String:
    """A string that must have something in it besides white space."""
    return fields.String(
        required=required,
        allow_none=allow_none,
        # Regexp matches at the start of the string, so allow leading white space before the first character.
        validate=[validate.Length(max=max_length), validate.Regexp(r"\s*\S", error="Must not be blank.")],
        **kwargs,  # type: ignore[arg-type]
    )


class RevokedSchema(Schema):
    revoked = Integer(required=True, metadata={"description": "How many sign-ins were revoked"})
