"""What the mentors' phone app syncs, and the cursor that never skips a change.

Every change to a record in a caseload is written to the change log in the same transaction as the change
itself. A phone asks for everything after its cursor and gets, page by page, the current state of every
changed record, deletions, and the children it gained or lost access to.

Why the cursor is safe: on PostgreSQL each change carries the id of the transaction that wrote it, and a
page only ever contains changes from transactions older than the oldest transaction still running
(the snapshot's xmin). Every such transaction has finished, so nothing can later appear before the cursor;
a slow transaction that commits late is simply served on a later call. Changes are ordered by
(transaction id, change id). On SQLite writers are serialised (BEGIN IMMEDIATE), so commit order is id order.

The price: xmin is server-wide, so a write transaction left open anywhere on the PostgreSQL server delays
every phone's sync until it ends (it delays, it never loses). Production should set
idle_in_transaction_session_timeout so an abandoned transaction cannot hold sync back for long.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


class EntityType(StrEnum):
    CHILD = "child"
    SESSION = "session"
    PATTERN = "pattern"
    ALERT = "alert"
    MISSING_EPISODE = "missing_episode"
    CHECK_IN = "check_in"
    GOAL = "goal"


class ChangeOp(StrEnum):
    UPSERT = "upsert"
    DELETE = "delete"
    ACCESS_GRANTED = "access_granted"
    ACCESS_REVOKED = "access_revoked"


@dataclass(frozen=True, order=True)
class Cursor:
    txid: int
    change_id: int

    def encode(self) -> str:
        return f"{self.txid}.{self.change_id}"

    @staticmethod
    def decode(raw: str | None) -> Cursor:
        if not raw:
            return Cursor(-1, 0)
        txid, _, change_id = raw.partition(".")
        return Cursor(int(txid), int(change_id))
