from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import BigInteger, CheckConstraint, Index, String
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.orm import Mapped, mapped_column
from sqlalchemy.sql.compiler import SQLCompiler
from sqlalchemy.sql.functions import FunctionElement

from api.changes.rules import ChangeOp
from api.db import BIG_ID, Base
from api.enums import enum_column_type


class writing_transaction_id(FunctionElement[int]):
    """The id of the transaction writing the row, worked out inside the INSERT itself (no round trip, and rows
    inserted together stay one statement): PostgreSQL's pg_current_xact_id(); 0 on SQLite, whose writers are
    serialised."""

    type = BigInteger()
    inherit_cache = True


@compiles(writing_transaction_id)
def _no_transaction_id(_element: writing_transaction_id, _compiler: SQLCompiler, **_kw: Any) -> str:
    return "0"


@compiles(writing_transaction_id, "postgresql")
def _postgresql_transaction_id(_element: writing_transaction_id, _compiler: SQLCompiler, **_kw: Any) -> str:
    return "pg_current_xact_id()::text::bigint"


class ChangeEvent(Base):
    """One change to a record in some caseload, written in the transaction that made it (the sync feed reads it)."""

    __tablename__ = "change_event"

    id: Mapped[int] = mapped_column(BIG_ID, primary_key=True, autoincrement=True)
    # PostgreSQL: pg_current_xact_id() of the writing transaction. SQLite: 0 (writers are serialised).
    txid: Mapped[int] = mapped_column(BigInteger, default=writing_transaction_id())
    entity_type: Mapped[str] = mapped_column(String(32))
    entity_id: Mapped[uuid.UUID]
    child_id: Mapped[uuid.UUID]
    # Set for access changes: the mentor who gained or lost the child.
    mentor_id: Mapped[uuid.UUID | None]
    op: Mapped[ChangeOp] = mapped_column(enum_column_type(ChangeOp, "change_op"))
    occurred_at: Mapped[datetime]


Index("ix_change_event_txid_id", ChangeEvent.txid, ChangeEvent.id)
Index("ix_change_event_child_id", ChangeEvent.child_id)
Index("ix_change_event_mentor_id", ChangeEvent.mentor_id)


class ReminderRecheck(Base):
    """A note that who is reminded of some sessions may have changed: a child's consent or numbers, a mentor's mobile
    or whether they are active, a programme's reminder times. Written in the transaction that made the change (the
    domains that make them sit below the reminders, so they note it here, on the ground floor); the reminder sweep
    re-syncs the affected sessions within its horizon and deletes the notes it read, in one transaction
    (docs/decisions.md, "The reminder sweep follows what changed")."""

    __tablename__ = "reminder_recheck"
    __table_args__ = (
        CheckConstraint(
            "(CASE WHEN child_id IS NULL THEN 0 ELSE 1 END) + (CASE WHEN mentor_id IS NULL THEN 0 ELSE 1 END)"
            " + (CASE WHEN programme_id IS NULL THEN 0 ELSE 1 END) = 1",
            name="names_one_thing",
        ),
    )

    id: Mapped[int] = mapped_column(BIG_ID, primary_key=True, autoincrement=True)
    # Exactly one of the three: no foreign keys, so a note never holds up erasing what it names.
    child_id: Mapped[uuid.UUID | None]
    mentor_id: Mapped[uuid.UUID | None]
    programme_id: Mapped[uuid.UUID | None]
    noted_at: Mapped[datetime]
