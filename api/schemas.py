"""Shared pieces of the HTTP contract."""

from __future__ import annotations

import marshmallow as ma
from marshmallow import fields, validate


class Schema(ma.Schema):
    """Unknown fields are rejected (marshmallow's default, stated here so nobody relaxes it by accident)."""

    class Meta:
        unknown = ma.RAISE


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
    revoked = fields.Integer(required=True, metadata={"description": "How many sign-ins were revoked"})
