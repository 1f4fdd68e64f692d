"""A child's goals, in their own words: at most three active, each in its place (rated as Goal Based Outcomes items
goal_1 to goal_3). A goal ends achieved, changed (reworded: a new goal takes its place) or dropped; ended goals stay,
with their ratings, as history. Every read and write is audited; every write goes to the phones' change log.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal

from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from api.actors import Actor
from api.audit import service as audit
from api.changes.rules import EntityType
from api.changes.service import record_change
from api.children.service import visible_child
from api.db import step, use_case
from api.errors import check_version
from api.wellbeing import errors, goal_rules, queries
from api.wellbeing.goal_rules import GoalStatus
from api.wellbeing.models import Goal
from api.wellbeing.rules import Instrument, ScoringRule
from api.wellbeing.scoring import MeasureChange


@dataclass(frozen=True)
class Rating:
    check_in_id: uuid.UUID
    completed_at: datetime
    rating: int


@dataclass(frozen=True)
class GoalRecord:
    """A goal as the API shows it, with its ratings over time and the change from its first rating."""

    id: uuid.UUID
    child_id: uuid.UUID
    slot: int
    description: str
    status: GoalStatus
    replaced_by_goal_id: uuid.UUID | None
    created_at: datetime
    ended_at: datetime | None
    end_note: str | None
    version: int
    ratings: list[Rating] = field(default_factory=list)
    change: MeasureChange | None = None

    @classmethod
    def of(
        cls, goal: Goal, ratings: Sequence[queries.GoalRating] = (), change: MeasureChange | None = None
    ) -> GoalRecord:
        return cls(
            id=goal.id,
            child_id=goal.child_id,
            slot=goal.slot,
            description=goal.description,
            status=goal.status,
            replaced_by_goal_id=goal.replaced_by_goal_id,
            created_at=goal.created_at,
            ended_at=goal.ended_at,
            end_note=goal.end_note,
            version=goal.version,
            ratings=[Rating(rating.check_in_id, rating.completed_at, rating.rating) for rating in ratings],
            change=change,
        )

    @property
    def item_key(self) -> str | None:
        return goal_rules.goal_item_key(self.slot) if self.status is GoalStatus.ACTIVE else None


def goal_records(
    db_session: Session, *, child_id: uuid.UUID, instruments: Mapping[str, Instrument]
) -> list[GoalRecord]:
    """Every goal of the child, oldest first, with its ratings and the change from its first rating to its latest."""
    ratings = queries.goal_ratings(db_session, child_id=child_id)
    gbo = next((instrument for instrument in instruments.values() if instrument.scoring is ScoringRule.PER_GOAL), None)
    records = []
    for goal in queries.goals_of_child(db_session, child_id=child_id):
        goal_ratings = ratings.get(goal.id, [])
        change = None
        if gbo is not None and len(goal_ratings) >= 2:
            first, last = Decimal(goal_ratings[0].rating), Decimal(goal_ratings[-1].rating)
            change = goal_rules.goal_change(gbo, "rating", first, last)
        records.append(GoalRecord.of(goal, goal_ratings, change))
    return records


@use_case
def set_goal(db_session: Session, *, actor: Actor, child_id: uuid.UUID, description: str, now: datetime) -> GoalRecord:
    """A new goal in the child's own words, in the first free place (at most three are active)."""
    child = visible_child(db_session, actor=actor, child_id=child_id)
    queries.lock_child(db_session, child.id)
    slot = goal_rules.free_goal_slot(set(queries.active_goals(db_session, child_id=child.id)))
    if slot is None:
        raise errors.TooManyGoals()
    goal = _new_goal(db_session, actor=actor, child_id=child.id, description=description, slot=slot, now=now)
    return GoalRecord.of(goal)


@use_case
def list_goals(
    db_session: Session, *, actor: Actor, instruments: Mapping[str, Instrument], child_id: uuid.UUID, now: datetime
) -> list[GoalRecord]:
    child = visible_child(db_session, actor=actor, child_id=child_id)
    records = goal_records(db_session, child_id=child.id, instruments=instruments)
    audit.record_many(
        db_session,
        actor=actor,
        action="goal.list",
        of=Goal,
        records=[(record.id, child.id) for record in records],
        now=now,
    )
    return records


@use_case
def end_goal(
    db_session: Session,
    *,
    actor: Actor,
    goal_id: uuid.UUID,
    status: GoalStatus,
    note: str | None,
    expected_version: int,
    now: datetime,
) -> GoalRecord:
    """Mark a goal achieved or dropped; it and its ratings stay in the history."""
    if status not in (GoalStatus.ACHIEVED, GoalStatus.DROPPED):
        raise errors.GoalEndNotAllowed(errors={"status": ["Use achieved or dropped; to reword a goal, change it."]})
    goal = _active_goal_for_update(db_session, actor=actor, goal_id=goal_id, expected_version=expected_version)
    _end_goal(goal, actor=actor, status=status, note=note, now=now)
    audit.record(db_session, actor=actor, action=f"goal.{status.value}", record=goal, child_id=goal.child_id, now=now)
    record_change(db_session, entity_type=EntityType.GOAL, entity_id=goal.id, child_id=goal.child_id, now=now)
    return GoalRecord.of(goal)


@use_case
def change_goal(
    db_session: Session,
    *,
    actor: Actor,
    goal_id: uuid.UUID,
    description: str,
    note: str | None,
    expected_version: int,
    now: datetime,
) -> GoalRecord:
    """Reword a goal: the old one ends as changed and points to the new one, which takes its place."""
    goal = _active_goal_for_update(db_session, actor=actor, goal_id=goal_id, expected_version=expected_version)
    _end_goal(goal, actor=actor, status=GoalStatus.CHANGED, note=note, now=now)
    db_session.flush()  # frees the place before the new goal takes it
    new_goal = _new_goal(
        db_session, actor=actor, child_id=goal.child_id, description=description, slot=goal.slot, now=now
    )
    goal.replaced_by_goal_id = new_goal.id
    audit.record(db_session, actor=actor, action="goal.changed", record=goal, child_id=goal.child_id, now=now)
    record_change(db_session, entity_type=EntityType.GOAL, entity_id=goal.id, child_id=goal.child_id, now=now)
    return GoalRecord.of(new_goal)


def view_goals(db_session: Session, goals: Sequence[Goal]) -> list[GoalRecord]:
    """Goals as the sync feed sends them, with their ratings, read together."""
    ratings = queries.ratings_of_goals(db_session, goal_ids=[goal.id for goal in goals])
    return [GoalRecord.of(goal, ratings.get(goal.id, [])) for goal in goals]


@step
def _new_goal(
    db_session: Session, *, actor: Actor, child_id: uuid.UUID, description: str, slot: int, now: datetime
) -> Goal:
    goal = Goal(
        child_id=child_id,
        slot=slot,
        description=description.strip(),
        status=GoalStatus.ACTIVE,
        created_at=now,
        created_by_user_id=actor.user_id,
        version=1,
    )
    db_session.add(goal)
    try:
        db_session.flush()
    except IntegrityError as error:  # the place was taken by a goal set at the same moment
        raise errors.TooManyGoals() from error
    audit.record(db_session, actor=actor, action="goal.create", record=goal, child_id=child_id, now=now)
    record_change(db_session, entity_type=EntityType.GOAL, entity_id=goal.id, child_id=child_id, now=now)
    return goal


def _active_goal_for_update(db_session: Session, *, actor: Actor, goal_id: uuid.UUID, expected_version: int) -> Goal:
    goal = queries.get_visible_goal(db_session, actor=actor, goal_id=goal_id, for_update=True)
    if goal is None:
        raise errors.GoalNotFound()
    check_version(current=goal.version, expected=expected_version)
    if goal.status is not GoalStatus.ACTIVE:
        raise errors.GoalNotActive()
    return goal


def _end_goal(goal: Goal, *, actor: Actor, status: GoalStatus, note: str | None, now: datetime) -> None:
    goal.status = status
    goal.ended_at = now
    goal.ended_by_user_id = actor.user_id
    goal.end_note = note.strip() if note and note.strip() else None
    goal.version += 1
