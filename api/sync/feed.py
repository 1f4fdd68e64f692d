"""Reading the change log for a phone: everything in the caller's caseload that changed after a cursor.

See rules.py for why the cursor never skips a late commit and why, when nothing changes while a phone pages,
each record comes exactly once. A page holds at most `limit` changes, each record in its current state (a
record that no longer exists is a delete). When the caller gains a child the stream carries the child, then each
of its sessions, patterns, alerts, missing episodes, check-ins and goals as items of their own (paged like any
other); when they lose one, an access_revoked tells the phone to forget the child.

What a page costs, whatever the caseload or the page's size: one statement finds its items (the log read, the
expansions of gained children and the first-mention rule all in SQL), two more the horizon and the watermark
(SQLite: BEGIN IMMEDIATE instead of the horizon); then the records' current state is read one kind at a time,
never one record at a time: children 3 (their summaries, phone numbers and consents; 4 when one is waitlisted),
sessions 5 (the sessions, attendees, lone-working checks, carers, the programmes' time zones), patterns 1, alerts
1, missing episodes 1, check-ins 4, goals 2, group series 5; and one insert of the page's audit rows. At most 27
statements, 28 with the request's authentication (tests/api/test_sync_first_page.py holds a 2-child and a
14-child first page to that, and to the same count).
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any

from sqlalchemy import (
    ColumnElement,
    Integer,
    Select,
    String,
    and_,
    func,
    literal_column,
    or_,
    select,
    text,
    tuple_,
    union_all,
)
from sqlalchemy.orm import Session, aliased

from api.actors import Actor
from api.alerts.models import Alert
from api.audit import service as audit
from api.changes.models import ChangeEvent
from api.changes.rules import ChangeOp, EntityType
from api.children.models import Child
from api.children.queries import visible_to
from api.children.service import child_records
from api.db import use_case
from api.groups.models import SeriesMember
from api.groups.queries import readable_series
from api.groups.reading import view_series
from api.missing.models import MissingEpisode
from api.schedules.models import SessionPattern
from api.sessions.models import MentoringSession, SessionAttendee
from api.sessions.reading import view_sessions
from api.sync.rules import (
    ENTRY_RANK,
    EXPANSION_RANKS,
    START,
    Cursor,
    Position,
)
from api.wellbeing.check_ins import view_check_ins
from api.wellbeing.goals import view_goals
from api.wellbeing.models import CheckIn, Goal

RECORD_OPS = (ChangeOp.UPSERT, ChangeOp.DELETE)
# What an item of the stream is: a record (from a log entry or an expansion), a gained child, a lost one.
RECORD, GRANT, REVOKE = 0, 1, 2
# The records a gained child expands into, besides the child itself: (model, its child column).
EXPANDED: dict[EntityType, Any] = {
    EntityType.PATTERN: SessionPattern,
    EntityType.ALERT: Alert,
    EntityType.MISSING_EPISODE: MissingEpisode,
    EntityType.CHECK_IN: CheckIn,
    EntityType.GOAL: Goal,
}


@dataclass(frozen=True)
class Change:
    type: EntityType
    op: ChangeOp
    id: uuid.UUID
    child_id: uuid.UUID
    record: Any = None

    # One attribute per record type, so the schema can nest each with its own contract.
    def _record_if(self, entity_type: EntityType) -> Any:
        return self.record if self.type is entity_type and self.record is not None else None

    @property
    def child(self) -> Any:
        return self._record_if(EntityType.CHILD)

    @property
    def session(self) -> Any:
        return self._record_if(EntityType.SESSION)

    @property
    def pattern(self) -> Any:
        return self._record_if(EntityType.PATTERN)

    @property
    def alert(self) -> Any:
        return self._record_if(EntityType.ALERT)

    @property
    def check_in(self) -> Any:
        return self._record_if(EntityType.CHECK_IN)

    @property
    def goal(self) -> Any:
        return self._record_if(EntityType.GOAL)

    @property
    def group_series(self) -> Any:
        return self._record_if(EntityType.GROUP_SERIES)


@dataclass(frozen=True)
class SyncPage:
    changes: list[Change]
    cursor: str
    has_more: bool


@dataclass(frozen=True)
class _Item:
    position: Position
    type: EntityType
    child_id: uuid.UUID
    kind: int


Entry = tuple[Any, Any]  # (txid, change id): numbers or columns


def _horizon(db_session: Session) -> int | None:
    """PostgreSQL: the oldest transaction still running; changes from it or later are not served yet."""
    if db_session.get_bind().dialect.name != "postgresql":
        return None
    return int(db_session.execute(text("SELECT pg_snapshot_xmin(pg_current_snapshot())::text::bigint")).scalar_one())


def _last_finished_entry(db_session: Session, horizon: int | None) -> tuple[int, int]:
    """The last log entry whose transaction has finished: nothing can later be written at or before it."""
    query = select(ChangeEvent.txid, ChangeEvent.id).order_by(ChangeEvent.txid.desc(), ChangeEvent.id.desc())
    if horizon is not None:
        query = query.where(ChangeEvent.txid < horizon)
    row = db_session.execute(query.limit(1)).first()
    return (row[0], row[1]) if row else START.entry


# Row comparisons, which PostgreSQL answers from the (txid, id) index.
def _after(entry: Entry, than: Entry) -> ColumnElement[bool]:
    return tuple_(*entry) > tuple_(*than)


def _at_or_before(entry: Entry, than: Entry) -> ColumnElement[bool]:
    return tuple_(*entry) <= tuple_(*than)


def _constant(value: int | str) -> Any:
    """A constant column of our own (ranks, kinds, entity types): inline, so every branch of the UNION agrees."""
    if isinstance(value, int):
        return literal_column(str(value), Integer)
    return literal_column(f"'{value}'", String)


def _item_columns(
    txid: Any, change_id: Any, rank: Any, record_id: Any, entity_type: Any, child_id: Any, kind: Any
) -> list:
    return [
        txid.label("txid"),
        change_id.label("change_id"),
        rank.label("rank"),
        record_id.label("record_id"),
        entity_type.label("entity_type"),
        child_id.label("child_id"),
        kind.label("kind"),
    ]


def _latest_access(actor: Actor, op: ChangeOp) -> Any:
    """The caller's latest grant (or removal) of each child, numbered 1."""
    return (
        select(
            ChangeEvent.child_id,
            ChangeEvent.txid,
            ChangeEvent.id,
            func.row_number()
            .over(partition_by=ChangeEvent.child_id, order_by=(ChangeEvent.txid.desc(), ChangeEvent.id.desc()))
            .label("latest"),
        )
        .where(ChangeEvent.op == op, ChangeEvent.mentor_id == actor.user_id)
        .subquery()
    )


def _expansions(gained: Any) -> list[Select[Any]]:
    """Each gained child at its grant's place in the stream, then each record it has now, one item each."""
    g = gained.c

    def items(entity_type: EntityType, record_id: Any, kind: int = RECORD) -> Select[Any]:
        return select(
            *_item_columns(
                g.txid,
                g.id,
                _constant(EXPANSION_RANKS[entity_type]),
                record_id,
                _constant(entity_type.value),
                g.child_id,
                _constant(kind),
            )
        )

    selects = [
        items(EntityType.CHILD, g.child_id, GRANT),
        items(EntityType.SESSION, SessionAttendee.session_id).select_from(
            gained.join(SessionAttendee, SessionAttendee.child_id == g.child_id)
        ),
    ]
    for entity_type, model in EXPANDED.items():
        selects.append(items(entity_type, model.id).select_from(gained.join(model, model.child_id == g.child_id)))
    # The series whose roster the child is on now (one item per series, however often they joined).
    selects.append(
        items(EntityType.GROUP_SERIES, SeriesMember.series_id).select_from(
            gained.join(SeriesMember, (SeriesMember.child_id == g.child_id) & SeriesMember.left_at.is_(None))
        )
    )
    return selects


def _stream(
    actor: Actor,
    *,
    position: Position,
    pass_start: Position,
    watermark: tuple[int, int],
    horizon: int | None,
    limit: int,
) -> Select[Any]:
    """The next items of the caller's stream after `position`, in order (see rules.py)."""
    visible = select(Child.id).where(visible_to(actor))

    grants = _latest_access(actor, ChangeOp.ACCESS_GRANTED)
    gained = (
        select(grants.c.child_id, grants.c.txid, grants.c.id)
        .where(
            grants.c.latest == 1, grants.c.child_id.in_(visible), _after((grants.c.txid, grants.c.id), pass_start.entry)
        )
        .cte("gained")
    )
    expansions = _expansions(gained)
    grant_entry = (gained.c.txid, gained.c.id)

    # Up to the watermark: the first mention of each record in the pass, from the log entries of children the
    # caller already had and from the expansions (a gained child's own entries up to then are covered by it).
    held_entry = aliased(ChangeEvent)
    held_entries = select(
        *_item_columns(
            held_entry.txid,
            held_entry.id,
            _constant(ENTRY_RANK),
            held_entry.entity_id,
            held_entry.entity_type,
            held_entry.child_id,
            _constant(RECORD),
        )
    ).where(
        held_entry.op.in_(RECORD_OPS),
        held_entry.child_id.in_(visible),
        held_entry.child_id.not_in(select(gained.c.child_id)),
        _after((held_entry.txid, held_entry.id), pass_start.entry),
        _at_or_before((held_entry.txid, held_entry.id), watermark),
    )
    mentions = union_all(
        held_entries, *(expansion.where(_at_or_before(grant_entry, watermark)) for expansion in expansions)
    ).subquery()
    numbered = select(
        mentions,
        func.row_number()
        .over(
            partition_by=(mentions.c.entity_type, mentions.c.record_id),
            order_by=(mentions.c.txid, mentions.c.change_id, mentions.c.rank),
        )
        .label("mention"),
    ).subquery()
    first_mentions = select(*(numbered.c[column.key] for column in mentions.c)).where(numbered.c.mention == 1)

    # After the watermark (written while the phone pages): every log entry as it comes, but a gained child's
    # entries only after its grant.
    late_entry = aliased(ChangeEvent)
    late_entries = (
        select(
            *_item_columns(
                late_entry.txid,
                late_entry.id,
                _constant(ENTRY_RANK),
                late_entry.entity_id,
                late_entry.entity_type,
                late_entry.child_id,
                _constant(RECORD),
            )
        )
        .outerjoin(gained, gained.c.child_id == late_entry.child_id)
        .where(
            late_entry.op.in_(RECORD_OPS),
            late_entry.child_id.in_(visible),
            _after((late_entry.txid, late_entry.id), watermark),
            _after((late_entry.txid, late_entry.id), position.entry),
            or_(gained.c.child_id.is_(None), _after((late_entry.txid, late_entry.id), grant_entry)),
        )
    )
    if horizon is not None:
        late_entries = late_entries.where(late_entry.txid < horizon)

    # Children lost: the latest removal of each, once.
    removals = _latest_access(actor, ChangeOp.ACCESS_REVOKED)
    lost = select(
        *_item_columns(
            removals.c.txid,
            removals.c.id,
            _constant(ENTRY_RANK),
            removals.c.child_id,
            _constant(EntityType.CHILD.value),
            removals.c.child_id,
            _constant(REVOKE),
        )
    ).where(removals.c.latest == 1, _after((removals.c.txid, removals.c.id), position.entry))

    stream = union_all(
        first_mentions,
        late_entries,
        *(expansion.where(_after(grant_entry, watermark)) for expansion in expansions),
        lost,
    ).subquery()
    c = stream.c
    at_position = and_(c.txid == position.txid, c.change_id == position.change_id)
    query = select(stream).where(
        or_(
            _after((c.txid, c.change_id), position.entry),
            and_(at_position, c.rank > position.rank),
            and_(at_position, c.rank == position.rank, c.record_id > position.record_id),
        )
    )
    if horizon is not None:
        query = query.where(c.txid < horizon)
    return query.order_by(c.txid, c.change_id, c.rank, c.record_id).limit(limit + 1)


def _items(db_session: Session, query: Select[Any]) -> list[_Item]:
    return [
        _Item(
            Position(row.txid, row.change_id, row.rank, row.record_id),
            EntityType(row.entity_type),
            row.child_id,
            row.kind,
        )
        for row in db_session.execute(query)
    ]


def _current(db_session: Session, actor: Actor, items: Sequence[_Item]) -> dict[tuple[EntityType, uuid.UUID], Any]:
    """The current state of the page's records, read one kind at a time; a record that is gone is absent.
    Missing episodes are sent as references (fetch them by id): present, as None, while they exist."""
    wanted: dict[EntityType, set[uuid.UUID]] = {}
    for item in items:
        if item.kind != REVOKE:
            wanted.setdefault(item.type, set()).add(item.position.record_id)
    found: dict[tuple[EntityType, uuid.UUID], Any] = {}
    for entity_type, ids in wanted.items():
        records: Sequence[Any]
        if entity_type is EntityType.CHILD:
            found |= {(entity_type, child_id): record for child_id, record in child_records(db_session, ids).items()}
            continue
        if entity_type is EntityType.MISSING_EPISODE:
            found |= {
                (entity_type, episode_id): None
                for episode_id in db_session.scalars(select(MissingEpisode.id).where(MissingEpisode.id.in_(ids)))
            }
            continue
        if entity_type is EntityType.SESSION:
            sessions = db_session.scalars(select(MentoringSession).where(MentoringSession.id.in_(ids))).all()
            records = view_sessions(db_session, sessions, actor=actor)
        elif entity_type is EntityType.GROUP_SERIES:
            # Only a series the caller may still read: one their child just left comes as a delete.
            records = view_series(db_session, readable_series(db_session, actor=actor, series_ids=ids))
        else:
            model = EXPANDED[entity_type]
            records = db_session.scalars(select(model).where(model.id.in_(ids))).all()
            if entity_type is EntityType.CHECK_IN:
                records = view_check_ins(db_session, records)
            elif entity_type is EntityType.GOAL:
                records = view_goals(db_session, records)
        found |= {(entity_type, record.id): record for record in records}
    return found


def _changes(items: Sequence[_Item], current: dict[tuple[EntityType, uuid.UUID], Any]) -> list[Change]:
    changes = []
    for item in items:
        record_id = item.position.record_id
        if item.kind == REVOKE:
            changes.append(Change(EntityType.CHILD, ChangeOp.ACCESS_REVOKED, record_id, item.child_id))
        elif (item.type, record_id) not in current:
            # Gone since: a delete (a grant of a child since erased sends nothing).
            if item.kind == RECORD:
                changes.append(Change(item.type, ChangeOp.DELETE, record_id, item.child_id))
        else:
            op = ChangeOp.ACCESS_GRANTED if item.kind == GRANT else ChangeOp.UPSERT
            changes.append(Change(item.type, op, record_id, item.child_id, current[(item.type, record_id)]))
    return changes


def _once_each(changes: list[Change]) -> list[Change]:
    """Each record once per page, where it first appears (so a child comes before its sessions), with its final
    op (records are loaded in their current state, so every mention carries the same data). A child granted in
    this page stays a grant even when an edit of the child follows it. (Only changes written while the phone
    pages can mention a record twice: see rules.py.)"""
    granted = {change.id for change in changes if change.op is ChangeOp.ACCESS_GRANTED}
    final: dict[tuple[EntityType, uuid.UUID, bool], Change] = {}
    for change in changes:
        final[(change.type, change.id, change.op is ChangeOp.ACCESS_REVOKED)] = change  # keeps first position
    return [
        replace(change, op=ChangeOp.ACCESS_GRANTED)
        if change.type is EntityType.CHILD and change.op is ChangeOp.UPSERT and change.id in granted
        else change
        for change in final.values()
    ]


@use_case
def read_changes(db_session: Session, *, actor: Actor, cursor: Cursor, limit: int, now: datetime) -> SyncPage:
    horizon = _horizon(db_session)
    if cursor.mid_pass:
        assert cursor.pass_start is not None and cursor.watermark is not None
        pass_start, watermark = cursor.pass_start, cursor.watermark
    else:
        # A new pass: everything that had finished by now is covered by what this pass reads.
        pass_start, watermark = cursor.position.end_of_entry(), _last_finished_entry(db_session, horizon)
    items = _items(
        db_session,
        _stream(
            actor,
            position=cursor.position,
            pass_start=pass_start,
            watermark=watermark,
            horizon=horizon,
            limit=limit,
        ),
    )
    has_more = len(items) > limit
    items = items[:limit]
    if has_more:
        next_cursor = Cursor(items[-1].position, pass_start=pass_start, watermark=watermark)
    else:
        # The pass is over: the next one starts after every entry that had finished, all of them read now.
        end = _last_finished_entry(db_session, horizon) if cursor.mid_pass else watermark
        next_cursor = Cursor(Position(*max(end, cursor.position.entry, *(item.position.entry for item in items))))
    changes = _once_each(_changes(items, _current(db_session, actor, items)))
    audit.record_many(
        db_session,
        actor=actor,
        action="sync.read",
        of=Child,
        records=sorted(
            {(change.child_id, change.child_id) for change in changes if change.op is not ChangeOp.ACCESS_REVOKED}
        ),
        now=now,
    )
    return SyncPage(changes, next_cursor.encode(), has_more)
