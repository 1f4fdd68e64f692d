"""Reading the change log for a phone: everything in the caller's caseload that changed after a cursor.

See rules.py for why the cursor never skips a late commit. A page lists each changed record once, in its
current state (so a record changed five times is sent once); a record that no longer exists is a delete.
When the caller gains a child, the page carries the child and all of its sessions, patterns and alerts;
when they lose one, an access_revoked tells the phone to forget the child.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any

from sqlalchemy import and_, or_, select, text
from sqlalchemy.orm import Session

from api.accounts.rules import Actor
from api.alerts.models import Alert
from api.audit import service as audit
from api.children.models import Child
from api.children.queries import get_visible_child, visible_to
from api.children.service import child_record
from api.schedules.models import SessionPattern
from api.sessions.models import MentoringSession
from api.sessions.queries import sessions_of_child
from api.sessions.service import view_session
from api.sync.models import ChangeEvent
from api.sync.rules import ChangeOp, Cursor, EntityType
from api.wellbeing import queries as wellbeing_queries
from api.wellbeing import service as wellbeing
from api.wellbeing.models import CheckIn, Goal

RECORD_OPS = (ChangeOp.UPSERT, ChangeOp.DELETE)
ACCESS_OPS = (ChangeOp.ACCESS_GRANTED, ChangeOp.ACCESS_REVOKED)


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


@dataclass(frozen=True)
class SyncPage:
    changes: list[Change]
    cursor: str
    has_more: bool


def _horizon(db_session: Session) -> int | None:
    """PostgreSQL: the oldest transaction still running; changes from it or later are not served yet."""
    if db_session.get_bind().dialect.name != "postgresql":
        return None
    return int(db_session.execute(text("SELECT pg_snapshot_xmin(pg_current_snapshot())::text::bigint")).scalar_one())


def _events(db_session: Session, *, actor: Actor, cursor: Cursor, limit: int) -> Sequence[ChangeEvent]:
    after_cursor = or_(
        ChangeEvent.txid > cursor.txid, and_(ChangeEvent.txid == cursor.txid, ChangeEvent.id > cursor.change_id)
    )
    in_scope = or_(
        and_(ChangeEvent.op.in_(RECORD_OPS), ChangeEvent.child_id.in_(select(Child.id).where(visible_to(actor)))),
        and_(ChangeEvent.op.in_(ACCESS_OPS), ChangeEvent.mentor_id == actor.user_id),
    )
    query = select(ChangeEvent).where(after_cursor, in_scope)
    horizon = _horizon(db_session)
    if horizon is not None:
        query = query.where(ChangeEvent.txid < horizon)
    return db_session.scalars(query.order_by(ChangeEvent.txid, ChangeEvent.id).limit(limit + 1)).all()


def _current(db_session: Session, actor: Actor, entity_type: EntityType, entity_id: uuid.UUID) -> Any:
    if entity_type is EntityType.CHILD:
        child = db_session.get(Child, entity_id)
        return child_record(db_session, child) if child else None
    if entity_type is EntityType.SESSION:
        session = db_session.get(MentoringSession, entity_id)
        return view_session(db_session, session, actor=actor) if session else None
    if entity_type is EntityType.PATTERN:
        return db_session.get(SessionPattern, entity_id)
    if entity_type is EntityType.ALERT:
        return db_session.get(Alert, entity_id)
    if entity_type is EntityType.CHECK_IN:
        check_in = db_session.get(CheckIn, entity_id)
        return wellbeing.view_check_in(db_session, check_in) if check_in else None
    if entity_type is EntityType.GOAL:
        goal = db_session.get(Goal, entity_id)
        return wellbeing.view_goal(db_session, goal) if goal else None
    return None  # other types (missing episodes) are sent as references: fetch them by id


def _everything_about(db_session: Session, actor: Actor, child_id: uuid.UUID) -> list[Change]:
    """What a phone needs when its mentor gains a child."""
    changes = [
        Change(
            EntityType.CHILD,
            ChangeOp.ACCESS_GRANTED,
            child_id,
            child_id,
            _current(db_session, actor, EntityType.CHILD, child_id),
        )
    ]
    for session in sessions_of_child(db_session, child_id=child_id):
        changes.append(
            Change(
                EntityType.SESSION,
                ChangeOp.UPSERT,
                session.id,
                child_id,
                view_session(db_session, session, actor=actor),
            )
        )
    for pattern in db_session.scalars(select(SessionPattern).where(SessionPattern.child_id == child_id)):
        changes.append(Change(EntityType.PATTERN, ChangeOp.UPSERT, pattern.id, child_id, pattern))
    for alert in db_session.scalars(select(Alert).where(Alert.child_id == child_id)):
        changes.append(Change(EntityType.ALERT, ChangeOp.UPSERT, alert.id, child_id, alert))
    for check_in in wellbeing_queries.list_check_ins(db_session, child_id=child_id):
        record = wellbeing.view_check_in(db_session, check_in)
        changes.append(Change(EntityType.CHECK_IN, ChangeOp.UPSERT, check_in.id, child_id, record))
    for goal in wellbeing_queries.goals_of_child(db_session, child_id=child_id):
        changes.append(
            Change(EntityType.GOAL, ChangeOp.UPSERT, goal.id, child_id, wellbeing.view_goal(db_session, goal))
        )
    return changes


def _once_each(changes: list[Change]) -> list[Change]:
    """Each record once per page, where it first appears (so a child comes before its sessions), with its final
    op (records are loaded in their current state, so every mention carries the same data). A child granted in
    this page stays a grant even when an edit of the child follows it."""
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


def read_changes(db_session: Session, *, actor: Actor, cursor: Cursor, limit: int, now: datetime) -> SyncPage:
    events = list(_events(db_session, actor=actor, cursor=cursor, limit=limit))
    has_more = len(events) > limit
    events = events[:limit]
    # The last word on each record in this page decides what is sent for it.
    last: dict[tuple[str, uuid.UUID, ChangeOp | None], ChangeEvent] = {}
    for event in events:
        access = event.op if event.op in ACCESS_OPS else None
        last.pop((event.entity_type, event.entity_id, access), None)
        last[(event.entity_type, event.entity_id, access)] = event
    changes: list[Change] = []
    for event in last.values():
        entity_type = EntityType(event.entity_type)
        if event.op is ChangeOp.ACCESS_GRANTED:
            # A grant since undone (reallocated, enrolment ended) sends nothing: the child is no longer theirs.
            if get_visible_child(db_session, actor=actor, child_id=event.child_id) is not None:
                changes.extend(_everything_about(db_session, actor, event.child_id))
        elif event.op is ChangeOp.ACCESS_REVOKED:
            changes.append(Change(entity_type, ChangeOp.ACCESS_REVOKED, event.entity_id, event.child_id))
        else:
            record = None if event.op is ChangeOp.DELETE else _current(db_session, actor, entity_type, event.entity_id)
            gone = event.op is ChangeOp.DELETE or (record is None and entity_type is not EntityType.MISSING_EPISODE)
            changes.append(
                Change(
                    entity_type, ChangeOp.DELETE if gone else ChangeOp.UPSERT, event.entity_id, event.child_id, record
                )
            )
    changes = _once_each(changes)
    audit.record_many(
        db_session,
        actor=actor,
        action="sync.read",
        record_type="child",
        records=sorted(
            {(change.child_id, change.child_id) for change in changes if change.op is not ChangeOp.ACCESS_REVOKED}
        ),
        now=now,
    )
    db_session.commit()
    next_cursor = Cursor(events[-1].txid, events[-1].id) if events else cursor
    return SyncPage(changes, next_cursor.encode(), has_more)
