"""Storing StrEnums as short strings guarded by a CHECK constraint, on PostgreSQL and SQLite alike."""

from __future__ import annotations

from enum import StrEnum

from sqlalchemy import Enum


def enum_column_type(enum_class: type[StrEnum], name: str) -> Enum:
    return Enum(
        enum_class,
        name=name,
        native_enum=False,
        create_constraint=True,
        length=32,
        values_callable=lambda members: [member.value for member in members],
        validate_strings=True,
    )
