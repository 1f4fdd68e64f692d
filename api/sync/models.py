from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import BigInteger, Index, String
from sqlalchemy.orm import Mapped, mapped_column

from api.db import BIG_ID, Base
from api.enums import enum_column_type
from api.sync.rules import ChangeOp


class ChangeEvent(Base):
    """One change to a record in some caseload, written in the transaction that made it (see sync/rules.py)."""

    __tablename__ = "change_event"

    id: Mapped[int] = mapped_column(BIG_ID, primary_key=True, autoincrement=True)
    # PostgreSQL: pg_current_xact_id() of the writing transaction. SQLite: 0 (writers are serialised).
    txid: Mapped[int] = mapped_column(BigInteger)
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
