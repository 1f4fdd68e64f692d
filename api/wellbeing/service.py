"""Check-ins (in a session or from a one-time link), goals, and each child's wellbeing picture.

Every read and write of a child's check-ins and goals is audited; every write goes to the phones' change log in
the same transaction; a check-in that falls meaningfully from the child's baseline raises an alert to the
coordinator (and, through the sync feed, the mentor) in the same transaction as the check-in.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from api.actors import Actor
from api.alerts.models import Alert
from api.alerts.rules import AlertKind
from api.audit import service as audit
from api.changes.rules import EntityType
from api.changes.service import record_change
from api.children import queries as children_queries
from api.children.models import Child, PhoneNumber
from api.children.rules import ContactChannel, PhoneOwner, age_on
from api.children.service import visible_child
from api.errors import check_version
from api.outbox import service as outbox
from api.outbox.queries import messages_for_invitation
from api.outbox.rules import MessagePurpose, RecipientType, check_in_link_key
from api.pagination import Page, Window
from api.programmes.models import Programme
from api.wellbeing import errors, links, queries, rules
from api.wellbeing.models import CheckIn, CheckInInvitation, CheckInResponse, CheckInScore, Goal
from api.wellbeing.rules import (
    MEAN_OF_GOALS,
    CheckInChannel,
    GoalStatus,
    Instrument,
    InvitationReason,
    InvitationState,
    MeasureChange,
    ScoreKind,
    ScoringRule,
)

log = logging.getLogger(__name__)


# --- Records as answered -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class ItemResponse:
    item: str
    response: int
    goal_id: uuid.UUID | None


@dataclass(frozen=True)
class CheckInRecord:
    check_in: CheckIn
    responses: list[ItemResponse]
    raw_scores: dict[str, Decimal]
    derived_scores: dict[str, Decimal]
    alert_id: uuid.UUID | None = None

    def __getattr__(self, name: str) -> Any:
        return getattr(self.check_in, name)


@dataclass(frozen=True)
class ScorePoint:
    check_in_id: uuid.UUID
    completed_at: datetime
    channel: CheckInChannel
    derived_scores: dict[str, Decimal]


@dataclass(frozen=True)
class InstrumentSummary:
    instrument: str
    name: str
    check_ins: int
    baseline: ScorePoint
    latest: ScorePoint
    changes: list[MeasureChange]

    @property
    def meaningful_change(self) -> bool:
        return any(change.is_meaningful for change in self.changes)


@dataclass(frozen=True)
class Rating:
    check_in_id: uuid.UUID
    completed_at: datetime
    rating: int


@dataclass(frozen=True)
class GoalRecord:
    goal: Goal
    ratings: list[Rating] = field(default_factory=list)
    change: MeasureChange | None = None

    def __getattr__(self, name: str) -> Any:
        return getattr(self.goal, name)

    @property
    def item_key(self) -> str | None:
        return rules.goal_item_key(self.goal.slot) if self.goal.status is GoalStatus.ACTIVE else None


@dataclass(frozen=True)
class WellbeingPicture:
    child_id: uuid.UUID
    instruments: list[InstrumentSummary]
    goals: list[GoalRecord]


@dataclass(frozen=True)
class InvitationRecord:
    invitation: CheckInInvitation
    state: InvitationState
    messages: int

    def __getattr__(self, name: str) -> Any:
        return getattr(self.invitation, name)


@dataclass(frozen=True)
class LinkForm:
    """What the check-in page asks: the instruments in order, and for goals the child's active ones by place."""

    instruments: list[Instrument]
    goals_by_item: dict[str, str]
    # Which goal each place held when the page was made: a rating is only stored against that same goal.
    goal_ids_by_item: dict[str, uuid.UUID]
    # In the programme's time zone, as the child reads it.
    expires_at: datetime


# --- Helpers -------------------------------------------------------------------------------------------------


def _audit(
    db_session: Session, actor: Actor | None, action: str, record: Any, child_id: uuid.UUID, now: datetime
) -> None:
    audit.record(
        db_session,
        actor=actor,
        action=action,
        record=record,
        child_id=child_id,
        now=now,
    )


def _instrument(instruments: Mapping[str, Instrument], key: str, *, field_name: str = "instrument") -> Instrument:
    instrument = instruments.get(key)
    if instrument is None:
        raise errors.UnknownInstrument(errors={field_name: [f"Choose one of: {', '.join(sorted(instruments))}."]})
    return instrument


def _age(db_session: Session, child: Child, now: datetime) -> int:
    programme = db_session.get_one(Programme, child.programme_id)
    return age_on(child.date_of_birth, now.astimezone(ZoneInfo(programme.time_zone)).date())


def _check_suits(instrument: Instrument, age: int, *, field_name: str = "instrument") -> None:
    if not instrument.suits_age(age):
        bounds = (
            f"from {instrument.min_age}"
            if instrument.max_age is None
            else f"{instrument.min_age} to {instrument.max_age}"
        )
        raise errors.InstrumentNotSuitable(errors={field_name: [f"{instrument.name} is for children aged {bounds}."]})


def _score_from_storage(instrument: Instrument, check_in: CheckIn, stored: queries.StoredScores) -> rules.Score:
    return rules.Score(instrument.key, check_in.instrument_version, stored.responses, {}, stored.derived)


def _record(check_in: CheckIn, stored: queries.StoredScores, alert_id: uuid.UUID | None = None) -> CheckInRecord:
    responses = [ItemResponse(item, value, stored.goal_ids.get(item)) for item, value in stored.responses.items()]
    return CheckInRecord(check_in, responses, dict(stored.raw), dict(stored.derived), alert_id)


def _goal_answers_problems(
    instrument: Instrument, answers: Mapping[str, object], goals: dict[int, Goal]
) -> dict[str, list[str]]:
    """Goal Based Outcomes rates the child's active goals: a rating for a place with no goal is refused."""
    if instrument.scoring is not ScoringRule.PER_GOAL:
        return {}
    active_items = {rules.goal_item_key(slot) for slot in goals}
    return {
        item: ["There is no active goal in this place."]
        for item in answers
        if item in instrument.item_keys and item not in active_items
    }


def _store_check_in(
    db_session: Session,
    *,
    child: Child,
    instrument: Instrument,
    scored: rules.Score,
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
    latest = db_session.scalar(
        select(func.max(CheckIn.completed_at)).where(
            CheckIn.child_id == child.id, CheckIn.instrument_key == instrument.key
        )
    )
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
    goal_ids = {rules.goal_item_key(slot): goal.id for slot, goal in goals.items()}
    for item, value in scored.responses.items():
        db_session.add(
            CheckInResponse(check_in_id=check_in.id, item_key=item, response=value, goal_id=goal_ids.get(item))
        )
    for measure, raw in scored.raw.items():
        db_session.add(score_row(check_in, ScoreKind.RAW, measure, Decimal(raw)))
    for measure, derived in scored.derived.items():
        db_session.add(score_row(check_in, ScoreKind.DERIVED, measure, derived))
    db_session.flush()
    _audit(db_session, recorded_by, "check_in.create", check_in, child.id, now)
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
    return _record(check_in, stored, alert.id if alert else None)


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
    if instrument.scoring is ScoringRule.PER_GOAL:
        # Goals come and go, so each goal is compared with its own first rating (in the goals list); across
        # goals, only the mean rating is compared with the baseline's.
        before = rules.Score(instrument.key, "", {}, {}, _only_mean(baseline_scores.derived))
        after = rules.Score(instrument.key, "", {}, {}, _only_mean(latest_scores.derived))
    else:
        before = _score_from_storage(instrument, baseline, baseline_scores)
        after = _score_from_storage(instrument, latest, latest_scores)
    return baseline, rules.change(instrument, before, after)


def _only_mean(derived: Mapping[str, Decimal]) -> dict[str, Decimal]:
    return {MEAN_OF_GOALS: derived[MEAN_OF_GOALS]} if MEAN_OF_GOALS in derived else {}


def _goal_falls(
    db_session: Session, *, instrument: Instrument, child_id: uuid.UUID, stored: queries.StoredScores
) -> list[MeasureChange]:
    """Each goal rated now against its own first rating."""
    if instrument.scoring is not ScoringRule.PER_GOAL:
        return []
    ratings = queries.goal_ratings(db_session, child_id=child_id)
    changes = []
    for item, goal_id in stored.goal_ids.items():
        first = ratings.get(goal_id, [])
        if len(first) < 2:
            continue
        change = _goal_change(instrument, item, Decimal(first[0].rating), Decimal(stored.responses[item]))
        changes.append(change)
    return rules.deteriorations(changes)


def _goal_change(instrument: Instrument, measure: str, before: Decimal, after: Decimal) -> MeasureChange:
    verdict = rules.classify_change(
        after - before, threshold=instrument.meaningful_change.threshold, lower_is_better=False
    )
    return MeasureChange(measure, before, after, after - before, False, verdict)


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
    baseline_falls = rules.deteriorations(compared[1]) if compared else []
    goal_falls = _goal_falls(db_session, instrument=instrument, child_id=child.id, stored=stored)
    if not baseline_falls and not goal_falls:
        return None
    described = []
    if compared and baseline_falls:
        zone = ZoneInfo(db_session.get_one(Programme, child.programme_id).time_zone)
        baseline_on = compared[0].completed_at.astimezone(zone).date().isoformat()
        described.append(f"since the first check-in on {baseline_on}: {_falls(baseline_falls)}")
    if goal_falls:
        described.append(f"since each goal's first rating: {_falls(goal_falls)}")
    threshold = _number(instrument.meaningful_change.threshold)
    detail = f"{instrument.name}: a meaningful fall {'; and '.join(described)} (threshold {threshold})."
    alert = Alert(
        programme_id=child.programme_id,
        child_id=child.id,
        kind=AlertKind.WELLBEING_DROP,
        check_in_id=check_in.id,
        detail=detail,
        raised_by_user_id=check_in.recorded_by_user_id,
        raised_at=now,
    )
    db_session.add(alert)
    db_session.flush()
    record_change(db_session, entity_type=EntityType.ALERT, entity_id=alert.id, child_id=child.id, now=now)
    # Audited like a safeguarding concern raised from a session; no actor when the child answered a link.
    _audit(db_session, actor, "alert.raise", alert, child.id, now)
    return alert


def _falls(falls: list[MeasureChange]) -> str:
    return ", ".join(f"{fall.measure} {_number(fall.baseline)} to {_number(fall.latest)}" for fall in falls)


def _number(value: Decimal) -> str:
    return format(value.normalize(), "f") if value == value.to_integral_value() else format(value, "f")


# --- Check-ins in a session ----------------------------------------------------------------------------------


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
    # Serialise a child's check-ins and goal changes, so two at once both see the same baseline and goals.
    db_session.execute(select(Child.id).where(Child.id == child.id).with_for_update())
    definition = _instrument(instruments, instrument)
    _check_suits(definition, _age(db_session, child, now))
    if session_id is not None and not queries.session_has_child(db_session, session_id=session_id, child_id=child.id):
        raise errors.SessionNotOfChild(errors={"session_id": ["Not a session this child attends."]})
    goals = queries.active_goals(db_session, child_id=child.id)
    if definition.scoring is ScoringRule.PER_GOAL and not goals:
        raise errors.NoActiveGoals()
    goal_problems = _goal_answers_problems(definition, answers, goals)
    if goal_problems:
        raise errors.InvalidAnswers(errors={"answers": goal_problems})
    try:
        scored = rules.score(definition, answers)
    except errors.InvalidAnswers as problem:
        raise errors.InvalidAnswers(errors={"answers": problem.errors}) from problem
    record = _store_check_in(
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
    db_session.commit()
    return record


def get_check_in(db_session: Session, *, actor: Actor, check_in_id: uuid.UUID, now: datetime) -> CheckInRecord:
    check_in = queries.get_visible_check_in(db_session, actor=actor, check_in_id=check_in_id)
    if check_in is None:
        raise errors.CheckInNotFound()
    stored = queries.stored_scores(db_session, check_in_ids=[check_in.id])[check_in.id]
    _audit(db_session, actor, "check_in.read", check_in, check_in.child_id, now)
    db_session.commit()
    return _record(
        check_in, stored, queries.alerts_for_check_ins(db_session, check_in_ids=[check_in.id]).get(check_in.id)
    )


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
    db_session.commit()
    alerts = queries.alerts_for_check_ins(db_session, check_in_ids=[row.id for row in rows])
    return Page([_record(row, stored[row.id], alerts.get(row.id)) for row in rows], page.total)


def view_check_ins(db_session: Session, check_ins: Sequence[CheckIn]) -> list[CheckInRecord]:
    """Check-ins as the sync feed sends them, read together (the feed audits its own reads)."""
    check_in_ids = [check_in.id for check_in in check_ins]
    stored = queries.stored_scores(db_session, check_in_ids=check_in_ids)
    alerts = queries.alerts_for_check_ins(db_session, check_in_ids=check_in_ids)
    return [_record(check_in, stored[check_in.id], alerts.get(check_in.id)) for check_in in check_ins]


# --- The wellbeing picture -----------------------------------------------------------------------------------


def _goal_records(
    db_session: Session, *, child_id: uuid.UUID, instruments: Mapping[str, Instrument]
) -> list[GoalRecord]:
    ratings = queries.goal_ratings(db_session, child_id=child_id)
    gbo = next((instrument for instrument in instruments.values() if instrument.scoring is ScoringRule.PER_GOAL), None)
    records = []
    for goal in queries.goals_of_child(db_session, child_id=child_id):
        goal_ratings = [
            Rating(rating.check_in_id, rating.completed_at, rating.rating) for rating in ratings.get(goal.id, [])
        ]
        change = None
        if gbo is not None and len(goal_ratings) >= 2:
            first, last = Decimal(goal_ratings[0].rating), Decimal(goal_ratings[-1].rating)
            change = _goal_change(gbo, "rating", first, last)
        records.append(GoalRecord(goal, goal_ratings, change))
    return records


def get_wellbeing(
    db_session: Session, *, actor: Actor, instruments: Mapping[str, Instrument], child_id: uuid.UUID, now: datetime
) -> WellbeingPicture:
    """Per instrument: baseline, latest, the change in each score and whether it is meaningful; goal progress."""
    child = visible_child(db_session, actor=actor, child_id=child_id)
    history = queries.list_check_ins(db_session, child_id=child.id)
    stored = queries.stored_scores(db_session, check_in_ids=[row.id for row in history])
    by_instrument: dict[str, list[CheckIn]] = {}
    for row in history:
        by_instrument.setdefault(row.instrument_key, []).append(row)
    summaries = []
    for key, rows in by_instrument.items():
        instrument = instruments.get(key)
        if instrument is None:  # an instrument since withdrawn from the deployment: its history stays, unsummarised
            continue
        baseline, latest = rows[0], rows[-1]
        before, after = stored[baseline.id], stored[latest.id]
        if instrument.scoring is ScoringRule.PER_GOAL:
            changes = rules.change(
                instrument,
                rules.Score(key, "", {}, {}, _only_mean(before.derived)),
                rules.Score(key, "", {}, {}, _only_mean(after.derived)),
            )
        else:
            changes = rules.change(
                instrument,
                _score_from_storage(instrument, baseline, before),
                _score_from_storage(instrument, latest, after),
            )
        summaries.append(
            InstrumentSummary(
                instrument=key,
                name=instrument.name,
                check_ins=len(rows),
                baseline=ScorePoint(baseline.id, baseline.completed_at, baseline.channel, before.derived),
                latest=ScorePoint(latest.id, latest.completed_at, latest.channel, after.derived),
                changes=changes if len(rows) > 1 else [],
            )
        )
    goals = _goal_records(db_session, child_id=child.id, instruments=instruments)
    audit.record(
        db_session,
        actor=actor,
        action="wellbeing.read",
        record=child,
        child_id=child.id,
        now=now,
    )
    db_session.commit()
    return WellbeingPicture(child.id, summaries, goals)


# --- Goals ---------------------------------------------------------------------------------------------------


def _lock_child(db_session: Session, child_id: uuid.UUID) -> None:
    db_session.execute(select(Child.id).where(Child.id == child_id).with_for_update())


def _goal_changed(db_session: Session, goal: Goal, now: datetime) -> None:
    record_change(db_session, entity_type=EntityType.GOAL, entity_id=goal.id, child_id=goal.child_id, now=now)


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
        db_session.rollback()
        raise errors.TooManyGoals() from error
    _audit(db_session, actor, "goal.create", goal, child_id, now)
    _goal_changed(db_session, goal, now)
    return goal


def set_goal(db_session: Session, *, actor: Actor, child_id: uuid.UUID, description: str, now: datetime) -> GoalRecord:
    """A new goal in the child's own words, in the first free place (at most three are active)."""
    child = visible_child(db_session, actor=actor, child_id=child_id)
    _lock_child(db_session, child.id)
    slot = rules.free_goal_slot(set(queries.active_goals(db_session, child_id=child.id)))
    if slot is None:
        raise errors.TooManyGoals()
    goal = _new_goal(db_session, actor=actor, child_id=child.id, description=description, slot=slot, now=now)
    db_session.commit()
    return GoalRecord(goal)


def list_goals(
    db_session: Session, *, actor: Actor, instruments: Mapping[str, Instrument], child_id: uuid.UUID, now: datetime
) -> list[GoalRecord]:
    child = visible_child(db_session, actor=actor, child_id=child_id)
    records = _goal_records(db_session, child_id=child.id, instruments=instruments)
    audit.record_many(
        db_session,
        actor=actor,
        action="goal.list",
        of=Goal,
        records=[(record.goal.id, child.id) for record in records],
        now=now,
    )
    db_session.commit()
    return records


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
    _audit(db_session, actor, f"goal.{status.value}", goal, goal.child_id, now)
    _goal_changed(db_session, goal, now)
    db_session.commit()
    return GoalRecord(goal)


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
    _audit(db_session, actor, "goal.changed", goal, goal.child_id, now)
    _goal_changed(db_session, goal, now)
    db_session.commit()
    return GoalRecord(new_goal)


def view_goals(db_session: Session, goals: Sequence[Goal]) -> list[GoalRecord]:
    """Goals as the sync feed sends them, with their ratings, read together."""
    ratings = queries.ratings_of_goals(db_session, goal_ids=[goal.id for goal in goals])
    return [
        GoalRecord(
            goal,
            [Rating(rating.check_in_id, rating.completed_at, rating.rating) for rating in ratings.get(goal.id, [])],
        )
        for goal in goals
    ]


# --- Invitations: one-time links by SMS ----------------------------------------------------------------------


def _child_mobile(db_session: Session, child_id: uuid.UUID) -> PhoneNumber | None:
    """The child's own mobile, if the child's consent to SMS is in force: a link never goes to a carer's phone."""
    consent = children_queries.consents_in_force(db_session, child_id=child_id).get(ContactChannel.SMS_TO_CHILD)
    if consent is None or not consent.granted:
        return None
    own = [
        number
        for number in children_queries.current_phone_numbers(db_session, child_id=child_id)
        if number.belongs_to is PhoneOwner.CHILD
    ]
    return max(own, key=lambda number: number.created_at, default=None)


def _link_instruments(
    db_session: Session, *, instruments: Mapping[str, Instrument], keys: Sequence[str], child: Child, now: datetime
) -> list[str]:
    """The instruments a link may ask this child: known, worded, right for their age, goals to rate."""
    if not keys:
        raise errors.UnknownInstrument(errors={"instruments": ["Choose at least one instrument."]})
    age = _age(db_session, child, now)
    chosen: list[str] = []
    for key in keys:
        instrument = _instrument(instruments, key, field_name="instruments")
        if not instrument.has_wording:
            raise errors.InstrumentHasNoWording(errors={"instruments": [f"{instrument.name} has no wording here."]})
        _check_suits(instrument, age, field_name="instruments")
        if instrument.scoring is ScoringRule.PER_GOAL and not queries.active_goals(db_session, child_id=child.id):
            raise errors.NoActiveGoals(errors={"instruments": ["This child has no active goals to rate."]})
        if key not in chosen:
            chosen.append(key)
    return chosen


def _create_invitation(
    db_session: Session,
    *,
    child: Child,
    phone: PhoneNumber,
    instrument_keys: list[str],
    reason: InvitationReason,
    occasion: str | None,
    created_by: Actor | None,
    link_hours: int,
    secret_key: str,
    now: datetime,
) -> CheckInInvitation:
    nonce = links.new_nonce()
    invitation = CheckInInvitation(
        child_id=child.id,
        token_nonce=nonce,
        token_hash=links.token_hash(links.link_token(secret_key, nonce)),
        instrument_keys=instrument_keys,
        reason=reason,
        occasion=occasion,
        created_at=now,
        created_by_user_id=created_by.user_id if created_by else None,
        expires_at=now + timedelta(hours=link_hours),
    )
    db_session.add(invitation)
    db_session.flush()
    # The SMS goes out through the outbox in the same transaction; its text (with the link) is made when sent.
    outbox.queue_message(
        db_session,
        dedupe_key=check_in_link_key(invitation.id),
        purpose=MessagePurpose.CHECK_IN_LINK,
        recipient_type=RecipientType.CHILD,
        child_id=child.id,
        phone_number_id=phone.id,
        check_in_invitation_id=invitation.id,
        send_after=now,
        drop_after=invitation.expires_at,
        now=now,
    )
    _audit(db_session, created_by, "check_in_invitation.create", invitation, child.id, now)
    return invitation


def _state(invitation: CheckInInvitation, now: datetime) -> InvitationState:
    return rules.invitation_state(
        expires_at=invitation.expires_at,
        completed_at=invitation.completed_at,
        revoked_at=invitation.revoked_at,
        now=now,
    )


def _invitation_record(db_session: Session, invitation: CheckInInvitation, now: datetime) -> InvitationRecord:
    state = _state(invitation, now)
    return InvitationRecord(invitation, state, len(messages_for_invitation(db_session, invitation_id=invitation.id)))


def invite_check_in(
    db_session: Session,
    *,
    actor: Actor,
    instruments: Mapping[str, Instrument],
    child_id: uuid.UUID,
    instrument_keys: list[str] | None,
    secret_key: str,
    now: datetime,
    spend_sms_budget: Callable[[], None] = lambda: None,
) -> InvitationRecord:
    """Send the child a one-time link now (queued in the outbox with the invitation).

    `spend_sms_budget` counts the SMS against the sender's rate limit, and raises if it is spent: called once
    everything else is checked, just before the message is queued, so a refused request costs nothing and
    parallel requests cannot all pass a check made before any of them counted."""
    child = visible_child(db_session, actor=actor, child_id=child_id)
    programme = db_session.get_one(Programme, child.programme_id)
    keys = _link_instruments(
        db_session,
        instruments=instruments,
        keys=instrument_keys or programme.check_in_instruments,
        child=child,
        now=now,
    )
    phone = _child_mobile(db_session, child.id)
    if phone is None:
        raise errors.NoMobileForLink()
    spend_sms_budget()
    invitation = _create_invitation(
        db_session,
        child=child,
        phone=phone,
        instrument_keys=keys,
        reason=InvitationReason.ON_REQUEST,
        occasion=None,
        created_by=actor,
        link_hours=programme.check_in_link_hours,
        secret_key=secret_key,
        now=now,
    )
    db_session.commit()
    return _invitation_record(db_session, invitation, now)


def list_invitations(
    db_session: Session, *, actor: Actor, child_id: uuid.UUID, window: Window, now: datetime
) -> Page[InvitationRecord]:
    child = visible_child(db_session, actor=actor, child_id=child_id)
    page = queries.invitations_of_child(db_session, child_id=child.id, window=window)
    rows = page.items
    audit.record_many(
        db_session,
        actor=actor,
        action="check_in_invitation.list",
        of=CheckInInvitation,
        records=[(row.id, row.child_id) for row in rows],
        now=now,
    )
    db_session.commit()
    return Page([_invitation_record(db_session, row, now) for row in rows], page.total)


def revoke_invitation(
    db_session: Session, *, actor: Actor, invitation_id: uuid.UUID, now: datetime
) -> InvitationRecord:
    """Withdraw a link that has not been used (sent to the wrong phone, say): it stops working at once."""
    invitation = queries.get_visible_invitation(db_session, actor=actor, invitation_id=invitation_id, for_update=True)
    if invitation is None:
        raise errors.InvitationNotFound()
    state = _state(invitation, now)
    if state is not InvitationState.OPEN:
        raise errors.InvitationNotOpen()
    invitation.revoked_at = now
    _audit(db_session, actor, "check_in_invitation.revoke", invitation, invitation.child_id, now)
    db_session.commit()
    return _invitation_record(db_session, invitation, now)


# --- The check-in page (no sign-in: the link is the key) -----------------------------------------------------


def _usable_invitation(db_session: Session, *, token: str, now: datetime, for_update: bool) -> CheckInInvitation:
    invitation = queries.invitation_by_token_hash(db_session, token_hash=links.token_hash(token), for_update=for_update)
    if invitation is None:
        raise errors.LinkNotUsable()
    state = _state(invitation, now)
    if state is not InvitationState.OPEN:
        raise errors.LinkNotUsable()
    return invitation


def _form_for(db_session: Session, invitation: CheckInInvitation, instruments: Mapping[str, Instrument]) -> LinkForm:
    goals = queries.active_goals(db_session, child_id=invitation.child_id)
    # Goals ended since the link was sent leave nothing to rate: the rest of the link still works.
    asked = [
        instruments[key]
        for key in invitation.instrument_keys
        if key in instruments and (goals or instruments[key].scoring is not ScoringRule.PER_GOAL)
    ]
    child = db_session.get_one(Child, invitation.child_id)
    zone = ZoneInfo(db_session.get_one(Programme, child.programme_id).time_zone)
    if not asked:
        raise errors.LinkNotUsable()
    return LinkForm(
        instruments=asked,
        goals_by_item={rules.goal_item_key(slot): goal.description for slot, goal in sorted(goals.items())},
        goal_ids_by_item={rules.goal_item_key(slot): goal.id for slot, goal in goals.items()},
        expires_at=invitation.expires_at.astimezone(zone),
    )


def open_link(db_session: Session, *, instruments: Mapping[str, Instrument], token: str, now: datetime) -> LinkForm:
    """What the page asks. Opening does not use the link up: link previews open links too."""
    invitation = _usable_invitation(db_session, token=token, now=now, for_update=False)
    form = _form_for(db_session, invitation, instruments)
    _audit(db_session, None, "check_in_invitation.open", invitation, invitation.child_id, now)
    db_session.commit()
    return form


def submit_link(
    db_session: Session,
    *,
    instruments: Mapping[str, Instrument],
    token: str,
    answers: Mapping[str, Mapping[str, object]],
    now: datetime,
    shown_goals: Mapping[str, str] | None = None,
) -> str | None:
    """Store the child's answers and use the link up, in one transaction; returns the programme's help text.

    `shown_goals` is which goal (id) the page showed in each place: a goal reworded or ended since is not
    rated with an answer given to the old wording; the page is shown again with the goals as they are now.

    The invitation row is locked first, so of two submissions at once exactly one is stored and the other is
    told the link no longer works. Answers with problems store nothing and leave the link usable; the problems
    come back keyed "<instrument>.<item>" so the page can show each next to its question.
    """
    invitation = _usable_invitation(db_session, token=token, now=now, for_update=True)
    _lock_child(db_session, invitation.child_id)
    form = _form_for(db_session, invitation, instruments)
    child = db_session.get_one(Child, invitation.child_id)
    goals = queries.active_goals(db_session, child_id=child.id)
    shown_goals = shown_goals or {}
    problems: dict[str, list[str]] = {}
    scored: list[tuple[Instrument, rules.Score]] = []
    for instrument in form.instruments:
        # A form field for a question the page did not ask is ignored: the child could not correct it.
        given = {item: value for item, value in answers.get(instrument.key, {}).items() if item in instrument.item_keys}
        found = rules.problems_by_item(rules.validate_answers(instrument, given))
        found.update(_goal_answers_problems(instrument, given, goals))
        if instrument.scoring is ScoringRule.PER_GOAL:
            found.update(
                {
                    item: ["This goal changed since the page was opened. Please read it and answer again."]
                    for item in given
                    if shown_goals.get(item) != str(form.goal_ids_by_item.get(item))
                }
            )
        if found:
            problems.update({f"{instrument.key}.{item}": messages for item, messages in found.items()})
        else:
            scored.append((instrument, rules.score(instrument, given)))
    if problems:
        db_session.rollback()
        raise errors.InvalidAnswers(errors=problems)
    invitation.completed_at = now
    for instrument, score in scored:
        _store_check_in(
            db_session,
            child=child,
            instrument=instrument,
            scored=score,
            channel=CheckInChannel.SMS_LINK,
            goals=goals,
            recorded_by=None,
            invitation_id=invitation.id,
            session_id=None,
            now=now,
        )
    _audit(db_session, None, "check_in_invitation.complete", invitation, child.id, now)
    help_text = db_session.get_one(Programme, child.programme_id).check_in_help_text
    db_session.commit()
    return help_text


@dataclass(frozen=True)
class LinkAnswer:
    """What sending the page gives: thanks (with the programme's help text), or the form again with problems."""

    help_text: str | None = None
    form: LinkForm | None = None
    errors: Mapping[str, list[str]] = field(default_factory=dict)


def answer_link(
    db_session: Session,
    *,
    instruments: Mapping[str, Instrument],
    token: str,
    answers: Mapping[str, Mapping[str, object]],
    shown_goals: Mapping[str, str],
    now: datetime,
) -> LinkAnswer:
    """The child sends the page: store and thank; or show the form again with each problem by its question; or,
    for the same answers sent twice moments apart, thank again. Any other unusable link raises LinkNotUsable."""
    try:
        help_text = submit_link(
            db_session, instruments=instruments, token=token, answers=answers, now=now, shown_goals=shown_goals
        )
    except errors.InvalidAnswers as problem:
        form = open_link(db_session, instruments=instruments, token=token, now=now)
        return LinkAnswer(form=form, errors=problem.errors or {})
    except errors.LinkNotUsable:
        db_session.rollback()
        help_text = thanks_for_a_repeated_submission(db_session, token=token, answers=answers, now=now)
    return LinkAnswer(help_text=help_text)


# A repeated "Send" within this of the first is the same child tapping twice, not a reused link.
REPEAT_SUBMISSION_WINDOW = timedelta(minutes=10)


def thanks_for_a_repeated_submission(
    db_session: Session, *, token: str, answers: Mapping[str, Mapping[str, object]], now: datetime
) -> str | None:
    """The help text again if this is the same submission arriving twice (the link completed moments ago with
    exactly these answers); otherwise the link is not usable, as for anyone else."""
    invitation = queries.invitation_by_token_hash(db_session, token_hash=links.token_hash(token))
    if (
        invitation is None
        or invitation.completed_at is None
        or now - invitation.completed_at > REPEAT_SUBMISSION_WINDOW
    ):
        raise errors.LinkNotUsable()
    stored_check_ins = db_session.scalars(select(CheckIn).where(CheckIn.invitation_id == invitation.id)).all()
    stored = queries.stored_scores(db_session, check_in_ids=[check_in.id for check_in in stored_check_ins])
    given = {key: dict(values) for key, values in answers.items() if values}
    as_stored = {check_in.instrument_key: stored[check_in.id].responses for check_in in stored_check_ins}
    if {key: given.get(key) for key in as_stored} != as_stored:
        raise errors.LinkNotUsable()
    child = db_session.get_one(Child, invitation.child_id)
    help_text = db_session.get_one(Programme, child.programme_id).check_in_help_text
    db_session.commit()
    return help_text


# --- The programme's routine (run by the scheduler) ----------------------------------------------------------


def invite_due_check_ins(
    db_session: Session, *, instruments: Mapping[str, Instrument], secret_key: str, now: datetime
) -> int:
    """Create the scheduled check-in links that are due (at enrolment, every few weeks, at the end).

    Each occasion is created at most once per enrolment (a unique key), even with two schedulers running; a
    child with no mobile of their own or no consent to SMS is skipped and tried again on the next run.
    """
    created = 0
    for candidate in queries.enrolments_with_check_in_routine(db_session):
        programme, enrolment, child = candidate.programme, candidate.enrolment, candidate.child
        schedule = rules.CheckInSchedule(
            at_enrolment=programme.check_in_at_enrolment,
            every_weeks=programme.check_in_every_weeks,
            at_end=programme.check_in_at_end,
        )
        zone = ZoneInfo(programme.time_zone)
        assert enrolment.started_at is not None  # the query selects started enrolments only
        prefix = f"enrolment:{enrolment.id}:"
        due = rules.due_invitation(
            schedule,
            started_on=enrolment.started_at.astimezone(zone).date(),
            planned_end_on=enrolment.planned_end_on,
            today=now.astimezone(zone).date(),
            occasions_done=queries.occasions_sent(db_session, child_id=child.id, prefix=prefix),
        )
        if due is None:
            continue
        phone = _child_mobile(db_session, child.id)
        age = _age(db_session, child, now)
        keys = [
            key
            for key in programme.check_in_instruments
            if key in instruments
            and instruments[key].has_wording
            and instruments[key].suits_age(age)
            and (
                instruments[key].scoring is not ScoringRule.PER_GOAL
                or queries.active_goals(db_session, child_id=child.id)
            )
        ]
        if phone is None or not keys:
            continue
        try:
            _create_invitation(
                db_session,
                child=child,
                phone=phone,
                instrument_keys=keys,
                reason=due.reason,
                occasion=prefix + due.occasion,
                created_by=None,
                link_hours=programme.check_in_link_hours,
                secret_key=secret_key,
                now=now,
            )
            db_session.commit()
            created += 1
        except IntegrityError:  # another scheduler created this occasion first
            db_session.rollback()
    return created


def link_for(db_session: Session, *, invitation_id: uuid.UUID, secret_key: str) -> str:
    """The path of an invitation's link, derived again from its nonce (for the SMS dispatcher and the demo)."""
    invitation = db_session.get_one(CheckInInvitation, invitation_id)
    return links.link_path(links.link_token(secret_key, invitation.token_nonce))


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
