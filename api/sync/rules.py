"""What the mentors' phone app syncs, and the cursor that never skips a change and sends each record once.

Every change to a record in a caseload is written to the change log in the same transaction as the change
itself. A phone asks for everything after its cursor and gets, page by page, the current state of every
changed record, deletions, and the children it gained or lost access to.

Why the cursor never skips: on PostgreSQL each change carries the id of the transaction that wrote it, and a
page only ever contains changes from transactions older than the oldest transaction still running
(the snapshot's xmin). Every such transaction has finished, so nothing can later appear before the cursor;
a slow transaction that commits late is simply served on a later call. Changes are ordered by
(transaction id, change id). On SQLite writers are serialised (BEGIN IMMEDIATE), so commit order is id order.

The price: xmin is server-wide, so a write transaction left open anywhere on the PostgreSQL server delays
every phone's sync until it ends (it delays, it never loses). Production should set
idle_in_transaction_session_timeout so an abandoned transaction cannot hold sync back for long.

Why each record comes once. The stream a phone pages through is the change log, in that order, with each
child the caller gained (their latest access_granted after the pass began) expanded, at the grant's place,
into the child and every record it has now (one item each, so `limit` bounds them too). A *pass* is the run of
pages from a cursor until has_more is false; its cursors remember where it began and its *watermark*, the last
log entry that had finished when its first page was read. Within a pass:

- a gained child's log entries up to its grant, or up to the watermark, are not sent: the expansion, read
  after they had all committed, already carries their effect;
- any other record is sent at its first mention in the pass (a log entry, or a gained child's expansion) up
  to the watermark, its later entries up to the watermark are skipped (each page sends the record as it is
  now, so those were carried too); log entries after the watermark, written while the phone pages, are sent
  as they come, so a change made between two pages is never lost (the record may then come twice);
- a lost child's removal (access_revoked) is sent once, for its latest removal.

So when nothing changes while a phone pages, each record, and each removal, comes exactly once, from any
cursor with any limit. The pass's last page returns a plain position (the end of the log it could read), the
start of the next pass.
"""

from __future__ import annotations

import re
import uuid
from dataclasses import dataclass

from api.changes.rules import EntityType

# Where, inside one log entry's place in the stream, an item sits: the entry itself, or a gained child's
# expansion (the child first, then its records by kind). AFTER_ALL: past everything at that entry.
ENTRY_RANK = 0
EXPANSION_RANKS: dict[EntityType, int] = {
    EntityType.CHILD: 1,
    EntityType.SESSION: 2,
    EntityType.PATTERN: 3,
    EntityType.ALERT: 4,
    EntityType.MISSING_EPISODE: 5,
    EntityType.CHECK_IN: 6,
    EntityType.GOAL: 7,
    # Added after the others: a mid-pass cursor from before, at rank 8 (then AFTER_ALL), is past every item of its
    # entry still, since no child expanded into a series then.
    EntityType.GROUP_SERIES: 8,
}
AFTER_ALL = 9
NO_RECORD = uuid.UUID(int=0)
# A cursor is text the phone sends back unread: "<txid>.<change id>" between passes (the format every cursor
# had before pages were bounded, so cursors already on phones stay valid), and mid-pass
# "<txid>.<change id>.<rank>.<record id>.<pass start txid>.<pass start change id>.<watermark txid>.<watermark
# change id>". Every string the pattern matches in full decodes; 18 digits fit the 64-bit columns they meet.
_NUMBER = r"-?\d{1,18}"
_ENTRY = rf"{_NUMBER}\.\d{{1,18}}"
CURSOR_PATTERN = rf"^({_ENTRY}(\.[0-{AFTER_ALL}]\.[0-9a-f]{{32}}\.{_ENTRY}\.{_ENTRY})?)?$"
_CURSOR = re.compile(CURSOR_PATTERN)


class InvalidCursor(ValueError):
    """Not a cursor this API gave out."""


@dataclass(frozen=True, order=True)
class Position:
    """A place in the sync stream: a log entry (txid, change id) and, inside a gained child's expansion at that
    entry, the item's rank and record id. Ordered as the stream is."""

    txid: int
    change_id: int
    rank: int = AFTER_ALL
    record_id: uuid.UUID = NO_RECORD

    @property
    def entry(self) -> tuple[int, int]:
        return (self.txid, self.change_id)

    def end_of_entry(self) -> Position:
        return Position(self.txid, self.change_id)


START = Position(-1, 0)


@dataclass(frozen=True)
class Cursor:
    """Where a phone is: the last item it was sent (or, between passes, the end of the log it has read), and
    mid-pass where the pass began and its watermark (see the module's docstring)."""

    position: Position = START
    pass_start: Position | None = None
    watermark: tuple[int, int] | None = None

    @property
    def mid_pass(self) -> bool:
        return self.pass_start is not None and self.watermark is not None

    def encode(self) -> str:
        position = self.position
        if not self.mid_pass:
            return f"{position.txid}.{position.change_id}"
        assert self.pass_start is not None and self.watermark is not None
        return ".".join(
            str(part)
            for part in (
                position.txid,
                position.change_id,
                position.rank,
                position.record_id.hex,
                self.pass_start.txid,
                self.pass_start.change_id,
                *self.watermark,
            )
        )

    @staticmethod
    def decode(raw: str | None) -> Cursor:
        if not raw:
            return Cursor()
        if not _CURSOR.fullmatch(raw):
            raise InvalidCursor(raw)
        parts = raw.split(".")
        if len(parts) == 2:
            return Cursor(Position(int(parts[0]), int(parts[1])))
        txid, change_id, rank, record_id, start_txid, start_id, watermark_txid, watermark_id = parts
        return Cursor(
            Position(int(txid), int(change_id), int(rank), uuid.UUID(hex=record_id)),
            pass_start=Position(int(start_txid), int(start_id)),
            watermark=(int(watermark_txid), int(watermark_id)),
        )
