"""Setting, changing and ending a recurring session pattern, and generating its sessions.

A pattern's sessions are planned through the sessions domain's own steps (its places locked, the weekly cap counted
and checked, the session added) so a pattern never plans what a mentor could not.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import date, datetime
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from api.actors import Actor, Role
from api.audit import service as audit
from api.changes.rules import ChangeOp, EntityType
from api.changes.service import record_change
from api.children.queries import get_visible_child
from api.db import step, use_case
from api.enrolments import service as enrolments_service
from api.enrolments.errors import EnrolmentNotFound
from api.enrolments.models import Enrolment
from api.enrolments.reading import EnrolmentWithPosition
from api.enrolments.rules import EndReason
from api.errors import check_version
from api.groups import service as groups_service
from api.schedules import errors, rules
from api.schedules.models import SessionPattern
from api.schedules.rules import Slot
from api.sessions import queries as session_queries
from api.sessions import rules as session_rules
from api.sessions.models import MentoringSession, SessionAttendee
from api.sessions.queries import Place
from api.sessions.rules import LocationCategory, SessionKind, SessionStatus
from api.sessions.service import add_session, check_kind_fits_places, follow_with_reminders, lock_places_to_plan


@dataclass(frozen=True)
class PatternResult:
    """A pattern as the answer shows it (PatternResultSchema), with what this request did to its sessions."""

    id: uuid.UUID
    enrolment_id: uuid.UUID
    child_id: uuid.UUID
    mentor_id: uuid.UUID
    slots: list[dict[str, Any]]
    duration_minutes: int
    kind: SessionKind
    location_category: LocationCategory
    starts_on: date
    ends_on: date
    ended_at: datetime | None
    version: int
    sessions_planned: int
    weeks_skipped_at_cap: list[str]
    sessions_removed: int

    @classmethod
    def of(cls, pattern: SessionPattern, *, planned: int, skipped: list[str], removed: int = 0) -> PatternResult:
        return cls(
            id=pattern.id,
            enrolment_id=pattern.enrolment_id,
            child_id=pattern.child_id,
            mentor_id=pattern.mentor_id,
            slots=pattern.slots,
            duration_minutes=pattern.duration_minutes,
            kind=pattern.kind,
            location_category=pattern.location_category,
            starts_on=pattern.starts_on,
            ends_on=pattern.ends_on,
            ended_at=pattern.ended_at,
            version=pattern.version,
            sessions_planned=planned,
            weeks_skipped_at_cap=skipped,
            sessions_removed=removed,
        )


@use_case
def set_pattern(
    db_session: Session,
    *,
    actor: Actor,
    enrolment_id: uuid.UUID,
    slots: list[Slot],
    duration_minutes: int,
    kind: SessionKind,
    location_category: LocationCategory,
    starts_on: date | None,
    now: datetime,
) -> PatternResult:
    place = lock_places_to_plan(db_session, actor=actor, enrolment_ids=[enrolment_id])[0]
    assert place.enrolment.planned_end_on is not None
    check_kind_fits_places([place], kind)
    _check_slots(slots, place)
    today = now.astimezone(ZoneInfo(place.programme.time_zone)).date()
    pattern = SessionPattern(
        enrolment_id=place.enrolment.id,
        child_id=place.enrolment.child_id,
        mentor_id=_mentor(actor, place),
        slots=rules.slots_to_json(slots),
        duration_minutes=duration_minutes,
        kind=kind,
        location_category=location_category,
        starts_on=max(starts_on or today, today),
        ends_on=place.enrolment.planned_end_on,
        created_at=now,
        updated_at=now,
    )
    db_session.add(pattern)
    db_session.flush()
    planned, skipped = _generate(db_session, actor=actor, pattern=pattern, place=place, now=now)
    record_change(db_session, entity_type=EntityType.PATTERN, entity_id=pattern.id, child_id=pattern.child_id, now=now)
    audit.record(db_session, actor=actor, action="pattern.create", record=pattern, child_id=pattern.child_id, now=now)
    return PatternResult.of(pattern, planned=planned, skipped=skipped)


@use_case
def change_pattern(
    db_session: Session,
    *,
    actor: Actor,
    pattern_id: uuid.UUID,
    expected_version: int,
    slots: list[Slot],
    duration_minutes: int,
    kind: SessionKind,
    location_category: LocationCategory,
    now: datetime,
) -> PatternResult:
    """Replace the pattern's future, untouched sessions with ones from the new slots."""
    pattern, place = _lock_pattern(db_session, actor=actor, pattern_id=pattern_id, version=expected_version)
    check_kind_fits_places([place], kind)
    _check_slots(slots, place)
    removed = _remove_untouched_future_sessions(db_session, pattern=pattern, now=now)
    pattern.slots = rules.slots_to_json(slots)
    pattern.duration_minutes, pattern.kind, pattern.location_category = duration_minutes, kind, location_category
    today = now.astimezone(ZoneInfo(place.programme.time_zone)).date()
    pattern.starts_on = max(pattern.starts_on, today)
    pattern.version += 1
    pattern.updated_at = now
    planned, skipped = _generate(db_session, actor=actor, pattern=pattern, place=place, now=now)
    record_change(db_session, entity_type=EntityType.PATTERN, entity_id=pattern.id, child_id=pattern.child_id, now=now)
    audit.record(db_session, actor=actor, action="pattern.change", record=pattern, child_id=pattern.child_id, now=now)
    return PatternResult.of(pattern, planned=planned, skipped=skipped, removed=removed)


@use_case
def end_pattern(
    db_session: Session, *, actor: Actor, pattern_id: uuid.UUID, expected_version: int, now: datetime
) -> PatternResult:
    pattern, _ = _lock_pattern(db_session, actor=actor, pattern_id=pattern_id, version=expected_version)
    removed = _end(db_session, actor=actor, pattern=pattern, now=now)
    return PatternResult.of(pattern, planned=0, skipped=[], removed=removed)


@step
def end_patterns_of_enrolment(db_session: Session, *, actor: Actor, enrolment_id: uuid.UUID, now: datetime) -> int:
    """An enrolment that ends (or moves cohort) takes its patterns with it: their future, untouched sessions
    go. Returns how many sessions were removed."""
    patterns = db_session.scalars(
        select(SessionPattern).where(SessionPattern.enrolment_id == enrolment_id, SessionPattern.ended_at.is_(None))
    ).all()
    return sum(_end(db_session, actor=actor, pattern=pattern, now=now) for pattern in patterns)


def _end(db_session: Session, *, actor: Actor, pattern: SessionPattern, now: datetime) -> int:
    removed = _remove_untouched_future_sessions(db_session, pattern=pattern, now=now)
    pattern.ended_at = now
    pattern.version += 1
    pattern.updated_at = now
    record_change(db_session, entity_type=EntityType.PATTERN, entity_id=pattern.id, child_id=pattern.child_id, now=now)
    audit.record(db_session, actor=actor, action="pattern.end", record=pattern, child_id=pattern.child_id, now=now)
    return removed


@use_case
def list_patterns(
    db_session: Session, *, actor: Actor, enrolment_id: uuid.UUID, now: datetime
) -> Sequence[SessionPattern]:
    """An enrolment's patterns, ended ones included, for whoever may see the child."""
    enrolment = db_session.get(Enrolment, enrolment_id)
    if enrolment is None or get_visible_child(db_session, actor=actor, child_id=enrolment.child_id) is None:
        raise EnrolmentNotFound()
    patterns = db_session.scalars(
        select(SessionPattern).where(SessionPattern.enrolment_id == enrolment.id).order_by(SessionPattern.created_at)
    ).all()
    audit.record_many(
        db_session,
        actor=actor,
        action="pattern.read",
        of=SessionPattern,
        records=[(pattern.id, pattern.child_id) for pattern in patterns],
        now=now,
    )
    return patterns


def _lock_pattern(
    db_session: Session, *, actor: Actor, pattern_id: uuid.UUID, version: int
) -> tuple[SessionPattern, Place]:
    pattern = db_session.get(SessionPattern, pattern_id)
    if pattern is None:
        raise errors.PatternNotFound()
    try:
        place = lock_places_to_plan(db_session, actor=actor, enrolment_ids=[pattern.enrolment_id])[0]
    except EnrolmentNotFound:
        raise errors.PatternNotFound() from None
    db_session.refresh(pattern)
    check_version(current=pattern.version, expected=version)
    if pattern.ended_at is not None:
        raise errors.PatternEnded()
    return pattern, place


def _check_slots(slots: list[Slot], place: Place) -> None:
    if len(set(slots)) != len(slots):
        raise errors.InvalidPattern(errors={"slots": ["A slot is listed twice."]})
    if rules.exceeds_weekly_cap(slots, max_sessions_per_week=place.cohort.max_sessions_per_week):
        raise errors.PatternExceedsWeeklyCap(max_sessions=place.cohort.max_sessions_per_week, slots=len(slots))


def _mentor(actor: Actor, place: Place) -> uuid.UUID:
    """Pattern sessions are led by the child's key worker."""
    if actor.role is Role.MENTOR:
        return actor.user_id
    if place.key_worker_id is None:
        raise errors.InvalidPattern("Allocate a key worker before setting a pattern.")
    return place.key_worker_id


def _generate(
    db_session: Session, *, actor: Actor, pattern: SessionPattern, place: Place, now: datetime
) -> tuple[int, list[str]]:
    """Plan the pattern's sessions from its start to its end, skipping past times and weeks at the cap.

    An occurrence the pattern already has a session for (one kept by a change: logged, cancelled, moved or
    edited) is not planned again, so a change never doubles a session or brings back a cancelled one."""
    time_zone = place.programme.time_zone
    kept = set(
        db_session.scalars(select(MentoringSession.planned_start_at).where(MentoringSession.pattern_id == pattern.id))
    )
    # Nor is one the child already has with this mentor, planned by hand: a second copy would be refused as a
    # duplicate (api/sessions/fitting.py). The occurrences stop at the enrolment's planned end (pattern.ends_on).
    kept |= session_queries.starts_with_mentor(
        db_session, child_id=pattern.child_id, mentor_id=pattern.mentor_id, after=now
    )
    wanted = [
        (start, end, session_rules.local_timing(start, time_zone))
        for start, end in rules.occurrences(
            rules.slots_from_json(pattern.slots),
            starts_on=pattern.starts_on,
            ends_on=pattern.ends_on,
            time_zone=time_zone,
            duration_minutes=pattern.duration_minutes,
        )
        if start > now and start not in kept
    ]
    loads = session_queries.week_loads(
        db_session,
        child_id=place.enrolment.child_id,
        enrolment_id=place.enrolment.id,
        weeks={timing.week for _, _, timing in wanted},
    )
    skipped: set[str] = set()
    planned = 0
    for start, end, timing in wanted:
        load = loads[timing.week]
        check = session_rules.check_weekly_cap(
            week=timing.week,
            sessions_in_week=load.sessions_in_week,
            adding=1,
            max_sessions=place.cohort.max_sessions_per_week,
            override=load.override,
        )
        if not check.allowed:
            skipped.add(timing.week)
            continue
        loads[timing.week] = replace(load, sessions_in_week=load.sessions_in_week + 1)
        session = add_session(
            db_session,
            actor=actor,
            places=[place],
            session_id=None,
            mentor_id=pattern.mentor_id,
            kind=pattern.kind,
            location_category=pattern.location_category,
            status=SessionStatus.PLANNED,
            planned_start_at=start,
            planned_end_at=end,
            timing=timing,
            pattern_id=pattern.id,
            now=now,
        )
        record_change(
            db_session, entity_type=EntityType.SESSION, entity_id=session.id, child_id=pattern.child_id, now=now
        )
        # A session planned within the reminder horizon is reminded now: the sweep only looks at those entering it.
        follow_with_reminders(db_session, session, [pattern.child_id], now=now, created=True)
        planned += 1
    return planned, sorted(skipped)


def _remove_untouched_future_sessions(db_session: Session, *, pattern: SessionPattern, now: datetime) -> int:
    untouched = db_session.scalars(
        select(MentoringSession.id).where(
            MentoringSession.pattern_id == pattern.id,
            MentoringSession.status == SessionStatus.PLANNED,
            MentoringSession.version == 1,
            MentoringSession.planned_start_at > now,
        )
    ).all()
    if untouched:
        db_session.execute(delete(SessionAttendee).where(SessionAttendee.session_id.in_(untouched)))
        db_session.execute(delete(MentoringSession).where(MentoringSession.id.in_(untouched)))
        for session_id in untouched:
            record_change(
                db_session,
                entity_type=EntityType.SESSION,
                entity_id=session_id,
                child_id=pattern.child_id,
                op=ChangeOp.DELETE,
                now=now,
            )
    return len(untouched)


@use_case
def end_enrolment_and_its_patterns(
    db_session: Session,
    *,
    actor: Actor,
    enrolment_id: uuid.UUID,
    reason: EndReason,
    note: str | None,
    now: datetime,
) -> EnrolmentWithPosition:
    """End support (api/enrolments) and, in the same transaction, the enrolment's patterns (their future, untouched
    sessions go; sessions already logged, edited or past stay as they are) and its places on group series' rosters."""
    groups_service.leave_every_series(db_session, actor=actor, enrolment_id=enrolment_id, now=now)
    ended = enrolments_service.end_enrolment(
        db_session, actor=actor, enrolment_id=enrolment_id, reason=reason, note=note, now=now
    )
    end_patterns_of_enrolment(db_session, actor=actor, enrolment_id=enrolment_id, now=now)
    return ended


@use_case
def move_enrolment_ending_its_patterns(
    db_session: Session,
    *,
    actor: Actor,
    enrolment_id: uuid.UUID,
    to_cohort_id: uuid.UUID,
    note: str | None,
    now: datetime,
) -> EnrolmentWithPosition:
    """Move a child to another cohort (api/enrolments); the old enrolment's patterns end with it, since the new
    cohort may allow a different number of sessions a week (the mentor sets a new pattern). For the same reason the
    child leaves the group series they were on through the old enrolment: a coordinator puts them back on a roster
    through the new one, which checks the new cohort's weekly cap."""
    groups_service.leave_every_series(db_session, actor=actor, enrolment_id=enrolment_id, now=now)
    moved = enrolments_service.move_enrolment(
        db_session, actor=actor, enrolment_id=enrolment_id, to_cohort_id=to_cohort_id, note=note, now=now
    )
    end_patterns_of_enrolment(db_session, actor=actor, enrolment_id=enrolment_id, now=now)
    return moved
