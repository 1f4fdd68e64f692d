"""A child's wellbeing at a glance: per instrument, the baseline (the first check-in), the latest, and how far each
score moved between them; and each goal's ratings over time. Reading it is audited."""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from sqlalchemy.orm import Session

from api.actors import Actor
from api.audit import service as audit
from api.children.service import visible_child
from api.db import use_case
from api.wellbeing import queries, scoring
from api.wellbeing.goals import GoalRecord, goal_records
from api.wellbeing.models import CheckIn
from api.wellbeing.rules import Instrument
from api.wellbeing.scoring import CheckInChannel, MeasureChange


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
class WellbeingPicture:
    child_id: uuid.UUID
    instruments: list[InstrumentSummary]
    goals: list[GoalRecord]


@use_case
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
        before, after = stored[baseline.id].derived, stored[latest.id].derived
        summaries.append(
            InstrumentSummary(
                instrument=key,
                name=instrument.name,
                check_ins=len(rows),
                baseline=ScorePoint(baseline.id, baseline.completed_at, baseline.channel, before),
                latest=ScorePoint(latest.id, latest.completed_at, latest.channel, after),
                changes=scoring.change_from_baseline(instrument, before, after) if len(rows) > 1 else [],
            )
        )
    goals = goal_records(db_session, child_id=child.id, instruments=instruments)
    audit.record(db_session, actor=actor, action="wellbeing.read", record=child, child_id=child.id, now=now)
    return WellbeingPicture(child.id, summaries, goals)
