"""Check-ins: a child's answers to an instrument, scored, stored and compared with the child's baseline.

Every read and write of a child's check-ins is audited; every write goes to the phones' change log in the same
transaction; a check-in that falls meaningfully from the child's baseline (or rates a goal meaningfully below its
first rating) raises an alert to the coordinator (and, through the sync feed, the mentor) in the same transaction
as the check-in.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal

from sqlalchemy.orm import Session

from api.actors import Actor
from api.alerts import service as alerts
from api.alerts.models import Alert
from api.alerts.rules import AlertKind
from api.audit import service as audit
from api.changes.rules import EntityType
from api.changes.service import record_change
from api.children.models import Child
from api.children.service import visible_child
from api.db import step, use_case
from api.pagination import Page, Window
from api.wellbeing import errors, goal_rules, queries, rules, scoring
from api.wellbeing.models import CheckIn, CheckInResponse, CheckInScore, Goal
from api.wellbeing.rules import Instrument, ScoringRule
from api.wellbeing.scoring import CheckInChannel, MeasureChange, ScoreKind


@dataclass(frozen=True)
class ItemResponse:
    item: str
    response: int
    goal_id: uuid.UUID | None


@dataclass(frozen=True)
class CheckInRecord:
    """A check-in as the API shows it: how, when and by whom it was done, every answer, the scores kept with it,
    and the alert it raised, if any."""

    id: uuid.UUID
    child_id: uuid.UUID
    instrument_key: str
    instrument_version: str
    channel: CheckInChannel
    session_id: uuid.UUID | None
    invitation_id: uuid.UUID | None
    completed_at: datetime
    recorded_by_user_id: uuid.UUID | None
    responses: list[ItemResponse]
    raw_scores: dict[str, Decimal]
    derived_scores: dict[str, Decimal]
    alert_id: uuid.UUID | None = None

    @classmethod
    def of(cls, check_in: CheckIn, stored: queries.StoredScores, alert_id: uuid.UUID | None = None) -> CheckInRecord:
        return cls(
            id=check_in.id,
            child_id=check_in.child_id,
            instrument_key=check_in.instrument_key,
            instrument_version=check_in.instrument_version,
            channel=check_in.channel,
            session_id=check_in.session_id,
            invitation_id=check_in.invitation_id,
            completed_at=check_in.completed_at,
            recorded_by_user_id=check_in.recorded_by_user_id,
            responses=[
                ItemResponse(item, value, stored.goal_ids.get(item)) for item, value in stored.responses.items()
            ],
            raw_scores=dict(stored.raw),
            derived_scores=dict(stored.derived),
            alert_id=alert_id,
        )


# --- In a session --------------------------------------------------------------------------------------------


@use_case
def record_check_in(
    db_session: Session,
    *,
    actor: Actor,
    instruments: Mapping[str, Instrument],
    child_id: uuid.UUID,
    instrument: str,
    answers: dict[str, object],
    session_id: uuid.UUID | None,
    now: datetime,
) -> CheckInRecord:
    """A check-in completed with the mentor (or entered by staff): scored, stored, compared with the baseline."""
    child = visible_child(db_session, actor=actor, child_id=child_id)
    queries.lock_child(db_session, child.id)
    definition = rules.instrument_named(instruments, instrument)
    rules.check_suits_age(definition, queries.child_age(db_session, child, now))
    if session_id is not None and not queries.session_has_child(db_session, session_id=session_id, child_id=child.id):
        raise errors.SessionNotOfChild(errors={"session_id": ["Not a session this child attends."]})
    goals = queries.active_goals(db_session, child_id=child.id)
    if definition.scoring is ScoringRule.PER_GOAL and not goals:
        raise errors.NoActiveGoals()
    goal_problems = goal_rules.goal_answer_problems(definition, answers, goals)
    if goal_problems:
        raise errors.InvalidAnswers(errors={"answers": goal_problems})
    try:
        scored = scoring.score(definition, answers)
    except errors.InvalidAnswers as problem:
        raise errors.InvalidAnswers(errors={"answers": problem.errors}) from problem
    return store_check_in(
        db_session,
        child=child,
        instrument=definition,
        scored=scored,
        channel=CheckInChannel.IN_SESSION,
        goals=goals,
        recorded_by=actor,
        invitation_id=None,
        session_id=session_id,
        now=now,
    )


@use_case
def get_check_in(db_session: Session, *, actor: Actor, check_in_id: uuid.UUID, now: datetime) -> CheckInRecord:
    check_in = queries.get_visible_check_in(db_session, actor=actor, check_in_id=check_in_id)
    if check_in is None:
        raise errors.CheckInNotFound()
    stored = queries.stored_scores(db_session, check_in_ids=[check_in.id])[check_in.id]
    audit.record(db_session, actor=actor, action="check_in.read", record=check_in, child_id=check_in.child_id, now=now)
    alerts = queries.alerts_for_check_ins(db_session, check_in_ids=[check_in.id])
    return CheckInRecord.of(check_in, stored, alerts.get(check_in.id))


@use_case
def list_check_ins(
    db_session: Session, *, actor: Actor, child_id: uuid.UUID, window: Window, now: datetime
) -> Page[CheckInRecord]:
    """A child's check-in history, newest first, each with its channel and scores."""
    child = visible_child(db_session, actor=actor, child_id=child_id)
    page = queries.page_of_check_ins(db_session, child_id=child.id, window=window)
    rows = page.items
    stored = queries.stored_scores(db_session, check_in_ids=[row.id for row in rows])
    audit.record_many(
        db_session,
        actor=actor,
        action="check_in.list",
        of=CheckIn,
        records=[(row.id, row.child_id) for row in rows],
        now=now,
    )
    alerts = queries.alerts_for_check_ins(db_session, check_in_ids=[row.id for row in rows])
    return Page([CheckInRecord.of(row, stored[row.id], alerts.get(row.id)) for row in rows], page.total)


def view_check_ins(db_session: Session, check_ins: Sequence[CheckIn]) -> list[CheckInRecord]:
    """Check-ins as the sync feed sends them, read together (the feed audits its own reads)."""
    check_in_ids = [check_in.id for check_in in check_ins]
    stored = queries.stored_scores(db_session, check_in_ids=check_in_ids)
    alerts = queries.alerts_for_check_ins(db_session, check_in_ids=check_in_ids)
    return [CheckInRecord.of(check_in, stored[check_in.id], alerts.get(check_in.id)) for check_in in check_ins]


# --- Storing one, in a session or from a link ----------------------------------------------------------------


@step
def store_check_in(
    db_session: Session,
    *,
    child: Child,
    instrument: Instrument,
    scored: scoring.Score,
    channel: CheckInChannel,
    goals: dict[int, Goal],
    recorded_by: Actor | None,
    invitation_id: uuid.UUID | None,
    session_id: uuid.UUID | None,
    now: datetime,
) -> CheckInRecord:
    """Part of the caller's transaction, which holds the child's row lock (so the history cannot change under it)."""
    # Never before the child's latest check-in with this instrument: a request that waited for the lock is
    # stored after the one it waited for, and the first stored stays the baseline.
    latest = queries.latest_completed_at(db_session, child_id=child.id, instrument_key=instrument.key)
    completed_at = max(now, latest + timedelta(microseconds=1)) if latest is not None else now
    check_in = CheckIn(
        child_id=child.id,
        instrument_key=instrument.key,
        instrument_version=scored.instrument_version,
        channel=channel,
        invitation_id=invitation_id,
        session_id=session_id,
        completed_at=completed_at,
        recorded_by_user_id=recorded_by.user_id if recorded_by else None,
    )
    db_session.add(check_in)
    db_session.flush()
    goal_ids = {goal_rules.goal_item_key(slot): goal.id for slot, goal in goals.items()}
    for item, value in scored.responses.items():
        db_session.add(
            CheckInResponse(check_in_id=check_in.id, item_key=item, response=value, goal_id=goal_ids.get(item))
        )
    for measure, raw in scored.raw.items():
        db_session.add(score_row(check_in, ScoreKind.RAW, measure, Decimal(raw)))
    for measure, derived in scored.derived.items():
        db_session.add(score_row(check_in, ScoreKind.DERIVED, measure, derived))
    db_session.flush()
    audit.record(db_session, actor=recorded_by, action="check_in.create", record=check_in, child_id=child.id, now=now)
    record_change(db_session, entity_type=EntityType.CHECK_IN, entity_id=check_in.id, child_id=child.id, now=now)
    stored = queries.StoredScores(
        dict(scored.responses),
        {item: goal_ids[item] for item in scored.responses if item in goal_ids},
        {measure: Decimal(value) for measure, value in scored.raw.items()},
        dict(scored.derived),
    )
    alert = _alert_if_fallen(
        db_session, actor=recorded_by, child=child, instrument=instrument, check_in=check_in, stored=stored, now=now
    )
    return CheckInRecord.of(check_in, stored, alert.id if alert else None)


def score_row(check_in: CheckIn, kind: ScoreKind, measure: str, value: Decimal) -> CheckInScore:
    """One score of a check-in, with the check-in's child, instrument and time copied on for the dashboards."""
    return CheckInScore(
        check_in_id=check_in.id,
        kind=kind,
        measure=measure,
        value=value,
        child_id=check_in.child_id,
        instrument_key=check_in.instrument_key,
        completed_at=check_in.completed_at,
    )


# --- A meaningful fall raises an alert -----------------------------------------------------------------------


@step
def _alert_if_fallen(
    db_session: Session,
    *,
    actor: Actor | None,
    child: Child,
    instrument: Instrument,
    check_in: CheckIn,
    stored: queries.StoredScores,
    now: datetime,
) -> Alert | None:
    compared = _changes_since_baseline(
        db_session, instrument=instrument, child_id=child.id, latest=check_in, latest_scores=stored
    )
    baseline_falls = scoring.deteriorations(compared[1]) if compared else []
    goal_falls = _goal_falls(db_session, instrument=instrument, child_id=child.id, stored=stored)
    if not baseline_falls and not goal_falls:
        return None
    baseline_on = None
    if compared and baseline_falls:
        baseline_on = compared[0].completed_at.astimezone(queries.programme_zone(db_session, child)).date()
    # Audited like a safeguarding concern raised from a session; no actor when the child answered a link.
    return alerts.raise_alert(
        db_session,
        programme_id=child.programme_id,
        child_id=child.id,
        kind=AlertKind.WELLBEING_DROP,
        check_in_id=check_in.id,
        detail=scoring.fall_detail(
            instrument, baseline_on=baseline_on, baseline_falls=baseline_falls, goal_falls=goal_falls
        ),
        actor=actor,
        now=now,
    )


def _changes_since_baseline(
    db_session: Session,
    *,
    instrument: Instrument,
    child_id: uuid.UUID,
    latest: CheckIn,
    latest_scores: queries.StoredScores,
) -> tuple[CheckIn, list[MeasureChange]] | None:
    """Change from the child's first check-in with this instrument; None when the latest is the first."""
    history = queries.list_check_ins(db_session, child_id=child_id, instrument_key=instrument.key)
    baseline = history[0] if history else None
    if baseline is None or baseline.id == latest.id:
        return None
    baseline_scores = queries.stored_scores(db_session, check_in_ids=[baseline.id])[baseline.id]
    return baseline, scoring.change_from_baseline(instrument, baseline_scores.derived, latest_scores.derived)


def _goal_falls(
    db_session: Session, *, instrument: Instrument, child_id: uuid.UUID, stored: queries.StoredScores
) -> list[MeasureChange]:
    """Each goal rated now against its own first rating (a goal rated for the first time has nothing to fall from)."""
    if instrument.scoring is not ScoringRule.PER_GOAL:
        return []
    ratings = queries.goal_ratings(db_session, child_id=child_id)
    first_and_now = {
        item: (ratings[goal_id][0].rating, stored.responses[item])
        for item, goal_id in stored.goal_ids.items()
        if len(ratings.get(goal_id, [])) >= 2
    }
    return goal_rules.goal_falls(instrument, first_and_now)
