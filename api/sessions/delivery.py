"""A child's sessions delivered: planned against delivered, missed and cancelled, the evening and weekend share of
those delivered (in programme time), and sessions per week, all read from the child's own line of each session's
register (register_rules.py). Reading it is audited."""

from __future__ import annotations

import uuid
from collections import Counter
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy.orm import Session

from api.actors import Actor
from api.audit import service as audit
from api.children.service import visible_child
from api.db import use_case
from api.programmes.models import Programme
from api.sessions import queries, rules
from api.sessions.models import MentoringSession
from api.sessions.register_rules import CANCELLED, HOLDS_A_PLACE, Attendance
from api.sessions.rules import SessionStatus


@dataclass(frozen=True)
class WeekOfSessions:
    week: str
    planned: int
    delivered: int


@dataclass(frozen=True)
class DeliverySummary:
    planned: int
    delivered: int
    did_not_attend: int
    cancelled: int
    rescheduled: int
    evening_share: float | None
    weekend_share: float | None
    weeks: list[WeekOfSessions]


@use_case
def summarise_delivery(db_session: Session, *, actor: Actor, child_id: uuid.UUID, now: datetime) -> DeliverySummary:
    """Planned against delivered, missed and cancelled, evening and weekend share, and sessions per week."""
    child = visible_child(db_session, actor=actor, child_id=child_id)
    programme = db_session.get(Programme, child.programme_id)
    assert programme is not None
    lines = queries.lines_of_child(db_session, child_id=child.id)
    # What this child did, from their line of each session's register: a group session held counts as delivered
    # to the children who came, not to every child booked.
    by_line = Counter(attendance for session, attendance in lines if session.status is not SessionStatus.RESCHEDULED)
    delivered = [session for session, attendance in lines if attendance is Attendance.ATTENDED]
    weeks: dict[str, Counter[str]] = {}
    for session, attendance in lines:
        if attendance in HOLDS_A_PLACE:
            week = weeks.setdefault(session.local_week, Counter())
            week["planned"] += 1
            week["delivered"] += attendance is Attendance.ATTENDED
    audit.record(
        db_session,
        actor=actor,
        action="session.summary",
        record=child,
        child_id=child.id,
        now=now,
    )
    return DeliverySummary(
        planned=sum(by_line[attendance] for attendance in HOLDS_A_PLACE),
        delivered=len(delivered),
        did_not_attend=by_line[Attendance.DID_NOT_ATTEND],
        cancelled=sum(by_line[attendance] for attendance in CANCELLED),
        rescheduled=sum(1 for session, _ in lines if session.status is SessionStatus.RESCHEDULED),
        evening_share=_share(delivered, lambda s: rules.is_evening(s.planned_start_at, programme.time_zone)),
        weekend_share=_share(delivered, lambda s: rules.is_weekend(s.planned_start_at, programme.time_zone)),
        weeks=[WeekOfSessions(week, counts["planned"], counts["delivered"]) for week, counts in sorted(weeks.items())],
    )


def _share(sessions: list[MentoringSession], predicate: Any) -> float | None:
    if not sessions:
        return None
    return round(sum(1 for session in sessions if predicate(session)) / len(sessions), 3)
