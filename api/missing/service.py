"""Recording missing episodes and the return conversation after each return; the 72-hour picture for
coordinators and the rate commissioners watch. Every read and write of a child's episode is audited, and
every write goes to the phones' change log in the same transaction."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy.orm import Session

from api.actors import Actor, Role
from api.alerts.rules import AlertKind
from api.alerts.service import raise_alert
from api.audit import service as audit
from api.changes.rules import EntityType
from api.changes.service import record_change
from api.children.models import Child
from api.children.service import visible_child
from api.db import use_case
from api.disclosure import is_suppressed, suppress
from api.errors import check_version
from api.missing import errors, queries, rules
from api.missing.models import MissingEpisode, ReturnConversation
from api.missing.rules import ConversationOutcome, MissingSource
from api.pagination import Page, Window
from api.programmes.models import Programme
from api.programmes.service import get_programme

EDITABLE_FIELDS = ("reported_at", "returned_at", "source")


@dataclass(frozen=True)
class EpisodeRecord:
    """An episode as answered: its own fields, its return conversation and where it stands against the 72 hours."""

    id: uuid.UUID
    child_id: uuid.UUID
    reported_at: datetime
    returned_at: datetime | None
    source: MissingSource
    recorded_by_user_id: uuid.UUID
    created_at: datetime
    updated_at: datetime
    version: int
    return_conversation: ReturnConversation | None
    return_conversation_due_at: datetime | None
    overdue: bool


@dataclass(frozen=True)
class OutstandingConversation:
    missing_episode_id: uuid.UUID
    child_id: uuid.UUID
    child_reference: str
    returned_at: datetime
    due_at: datetime
    overdue: bool
    outcome: ConversationOutcome | None


@dataclass(frozen=True)
class ReturnConversationSummary:
    """Counts are ints, or "<5" for a commissioner when small; rate is withheld when a count is."""

    returns: int | str
    completed_within_72h: int | str
    rate: float | None


def _record(episode: MissingEpisode, conversation: ReturnConversation | None, now: datetime) -> EpisodeRecord:
    returned_at = episode.returned_at
    completed_at = conversation.completed_at if conversation else None
    return EpisodeRecord(
        id=episode.id,
        child_id=episode.child_id,
        reported_at=episode.reported_at,
        returned_at=returned_at,
        source=episode.source,
        recorded_by_user_id=episode.recorded_by_user_id,
        created_at=episode.created_at,
        updated_at=episode.updated_at,
        version=episode.version,
        return_conversation=conversation,
        return_conversation_due_at=None if returned_at is None else rules.conversation_due_at(returned_at),
        overdue=returned_at is not None
        and rules.is_overdue(returned_at=returned_at, completed_at=completed_at, now=now),
    )


def _changed(db_session: Session, episode: MissingEpisode, now: datetime) -> None:
    # The return conversation travels inside its episode, so either changing is a change to the episode.
    record_change(
        db_session, entity_type=EntityType.MISSING_EPISODE, entity_id=episode.id, child_id=episode.child_id, now=now
    )


def _visible_episode(
    db_session: Session, *, actor: Actor, episode_id: uuid.UUID, for_update: bool = False
) -> MissingEpisode:
    episode = queries.get_visible_episode(db_session, actor=actor, episode_id=episode_id, for_update=for_update)
    if episode is None:
        raise errors.MissingEpisodeNotFound()
    return episode


def _utc(moment: datetime | None) -> datetime | None:
    # Stored in UTC; converting on the way in keeps what is answered the same as what a later read gives.
    return moment.astimezone(UTC) if moment is not None else None


def _alert_child_missing(
    db_session: Session, episode: MissingEpisode, *, programme_id: uuid.UUID, actor: Actor, now: datetime
) -> None:
    """The child is missing now: the duty coordinator is texted at once (an urgent alert), in this transaction."""
    zone = ZoneInfo(db_session.get_one(Programme, programme_id).time_zone)
    raise_alert(
        db_session,
        programme_id=programme_id,
        kind=AlertKind.CHILD_MISSING,
        detail=rules.missing_alert_detail(reported_at=episode.reported_at, source=episode.source, zone=zone),
        now=now,
        child_id=episode.child_id,
        actor=actor,
        subject={"episode_id": str(episode.id)},
    )


def _check_times(*, reported_at: datetime, returned_at: datetime | None, now: datetime) -> None:
    problems = rules.episode_problems(reported_at=reported_at, returned_at=returned_at, now=now)
    if problems:
        raise errors.ImplausibleEpisodeTimes(errors={field: [problem] for field, problem in problems.items()})


@use_case
def record_missing_episode(
    db_session: Session,
    *,
    actor: Actor,
    child_id: uuid.UUID,
    reported_at: datetime,
    returned_at: datetime | None,
    source: MissingSource,
    now: datetime,
) -> EpisodeRecord:
    child = visible_child(db_session, actor=actor, child_id=child_id)
    reported_at, returned_at = reported_at.astimezone(UTC), _utc(returned_at)
    _check_times(reported_at=reported_at, returned_at=returned_at, now=now)
    episode = MissingEpisode(
        child_id=child.id,
        reported_at=reported_at,
        returned_at=returned_at,
        source=source,
        recorded_by_user_id=actor.user_id,
        created_at=now,
        updated_at=now,
        version=1,
    )
    db_session.add(episode)
    db_session.flush()
    audit.record(db_session, actor=actor, action="missing_episode.create", record=episode, child_id=child.id, now=now)
    _changed(db_session, episode, now)
    if episode.returned_at is None:
        _alert_child_missing(db_session, episode, programme_id=child.programme_id, actor=actor, now=now)
    return _record(episode, None, now)


@use_case
def get_missing_episode(db_session: Session, *, actor: Actor, episode_id: uuid.UUID, now: datetime) -> EpisodeRecord:
    episode = _visible_episode(db_session, actor=actor, episode_id=episode_id)
    conversation = queries.get_return_conversation(db_session, episode_id=episode.id)
    audit.record(
        db_session, actor=actor, action="missing_episode.read", record=episode, child_id=episode.child_id, now=now
    )
    return _record(episode, conversation, now)


@use_case
def list_missing_episodes(
    db_session: Session, *, actor: Actor, child_id: uuid.UUID, window: Window, now: datetime
) -> Page[EpisodeRecord]:
    child = visible_child(db_session, actor=actor, child_id=child_id)
    page = queries.list_child_episodes(db_session, child_id=child.id, window=window)
    audit.record_many(
        db_session,
        actor=actor,
        action="missing_episode.list",
        of=MissingEpisode,
        records=[(episode.id, episode.child_id) for episode, _ in page.items],
        now=now,
    )
    return Page([_record(episode, conversation, now) for episode, conversation in page.items], page.total)


@use_case
def update_missing_episode(
    db_session: Session,
    *,
    actor: Actor,
    episode_id: uuid.UUID,
    expected_version: int,
    changes: dict[str, Any],
    now: datetime,
) -> EpisodeRecord:
    """Record the return, or correct the report; only against the version the caller last read."""
    episode = _visible_episode(db_session, actor=actor, episode_id=episode_id, for_update=True)
    check_version(current=episode.version, expected=expected_version)
    changes = {field: _utc(value) if isinstance(value, datetime) else value for field, value in changes.items()}
    reported_at = changes.get("reported_at", episode.reported_at)
    returned_at = changes.get("returned_at", episode.returned_at)
    _check_times(reported_at=reported_at, returned_at=returned_at, now=now)
    conversation = queries.get_return_conversation(db_session, episode_id=episode.id)
    if conversation is not None and (returned_at is None or returned_at > conversation.offered_at):
        raise errors.ImplausibleEpisodeTimes(
            errors={"returned_at": ["The return conversation was offered before this return."]}
        )
    missing_again = episode.returned_at is not None and returned_at is None
    for field in EDITABLE_FIELDS:
        if field in changes:
            setattr(episode, field, changes[field])
    episode.version += 1
    episode.updated_at = now
    audit.record(
        db_session, actor=actor, action="missing_episode.update", record=episode, child_id=episode.child_id, now=now
    )
    _changed(db_session, episode, now)
    if missing_again:
        # A return recorded in error and taken back: the child is missing after all.
        programme_id = db_session.get_one(Child, episode.child_id).programme_id
        _alert_child_missing(db_session, episode, programme_id=programme_id, actor=actor, now=now)
    return _record(episode, conversation, now)


@use_case
def record_return_conversation(
    db_session: Session,
    *,
    actor: Actor,
    episode_id: uuid.UUID,
    outcome: ConversationOutcome,
    offered_at: datetime,
    completed_at: datetime | None,
    declined_reason: str | None,
    held_by: str | None,
    independent: bool,
    now: datetime,
) -> ReturnConversation:
    """Record, or replace, the one return conversation for an episode whose child has come back."""
    # Locking the episode serialises two people recording the same conversation at once.
    episode = _visible_episode(db_session, actor=actor, episode_id=episode_id, for_update=True)
    if episode.returned_at is None:
        raise errors.ChildNotReturned()
    offered_at, completed_at = offered_at.astimezone(UTC), _utc(completed_at)
    declined_reason = declined_reason.strip() if declined_reason is not None else None
    problems = rules.conversation_problems(
        outcome=outcome,
        returned_at=episode.returned_at,
        offered_at=offered_at,
        completed_at=completed_at,
        declined_reason=declined_reason,
        now=now,
    )
    if problems:
        raise errors.ImplausibleConversation(errors={field: [problem] for field, problem in problems.items()})
    conversation = queries.get_return_conversation(db_session, episode_id=episode.id)
    if conversation is None:
        conversation = ReturnConversation(missing_episode_id=episode.id)
        db_session.add(conversation)
    conversation.outcome = outcome
    conversation.offered_at = offered_at
    conversation.completed_at = completed_at
    conversation.declined_reason = declined_reason
    conversation.held_by = (held_by.strip() or None) if held_by is not None else None
    conversation.independent = independent
    conversation.recorded_by_user_id = actor.user_id
    conversation.recorded_at = now
    db_session.flush()
    audit.record(
        db_session,
        actor=actor,
        action="return_conversation.record",
        record=conversation,
        child_id=episode.child_id,
        now=now,
    )
    _changed(db_session, episode, now)
    return conversation


@use_case
def list_outstanding_conversations(
    db_session: Session,
    *,
    actor: Actor,
    programme_id: uuid.UUID,
    overdue: bool | None,
    window: Window,
    now: datetime,
) -> Page[OutstandingConversation]:
    """Children back from missing whose return conversation is not completed, the longest-waiting first."""
    programme = get_programme(db_session, actor=actor, programme_id=programme_id)
    page = queries.list_outstanding_conversations(
        db_session, programme_id=programme.id, overdue=overdue, now=now, window=window
    )
    items = []
    for episode, reference, conversation in page.items:
        assert episode.returned_at is not None
        items.append(
            OutstandingConversation(
                missing_episode_id=episode.id,
                child_id=episode.child_id,
                child_reference=reference,
                returned_at=episode.returned_at,
                due_at=rules.conversation_due_at(episode.returned_at),
                overdue=rules.is_overdue(returned_at=episode.returned_at, completed_at=None, now=now),
                outcome=conversation.outcome if conversation else None,
            )
        )
    audit.record_many(
        db_session,
        actor=actor,
        action="return_conversation.list",
        of=MissingEpisode,
        records=[(item.missing_episode_id, item.child_id) for item in items],
        now=now,
    )
    return Page(items, page.total)


def summarise_return_conversations(
    db_session: Session,
    *,
    actor: Actor,
    programme_id: uuid.UUID,
    since: date,
    until: date,
    suppression_threshold: int,
) -> ReturnConversationSummary:
    """Returns on the days since..until (inclusive, programme time) and how many had their conversation
    completed within 72 hours. A return less than 72 hours old counts against the rate until its
    conversation is completed, as it does in the national figure."""
    programme = get_programme(db_session, actor=actor, programme_id=programme_id)
    zone = ZoneInfo(programme.time_zone)
    times = queries.list_return_times(
        db_session,
        programme_id=programme.id,
        returned_from=datetime.combine(since, time(), zone),
        returned_before=datetime.combine(until + timedelta(days=1), time(), zone),
    )
    returns = len(times)
    completed = sum(
        rules.held_within_72_hours(returned_at=returned_at, completed_at=completed_at)
        for returned_at, completed_at in times
    )
    rate = round(completed / returns, 4) if returns else None
    if actor.role is not Role.COMMISSIONER:
        return ReturnConversationSummary(returns, completed, rate)
    threshold = suppression_threshold
    if is_suppressed(returns, threshold=threshold) or is_suppressed(completed, threshold=threshold):
        rate = None
    return ReturnConversationSummary(
        suppress(returns, threshold=threshold), suppress(completed, threshold=threshold), rate
    )
