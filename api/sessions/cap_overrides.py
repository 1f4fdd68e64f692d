"""A coordinator's override of one child's weekly cap for one exceptional week (a crisis, a court date): the most
sessions the child may have in that week, whatever their cohort allows, with the reason. Audited."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy.orm import Session

from api.actors import Actor
from api.audit import service as audit
from api.db import use_case
from api.sessions import queries
from api.sessions.models import WeeklyCapOverride
from api.sessions.service import lock_places_to_plan


@use_case
def override_weekly_cap(
    db_session: Session,
    *,
    actor: Actor,
    enrolment_id: uuid.UUID,
    local_week: str,
    max_sessions: int,
    reason: str,
    now: datetime,
) -> WeeklyCapOverride:
    """A coordinator allows one child more sessions in one exceptional week (audited, with the reason)."""
    places = lock_places_to_plan(db_session, actor=actor, enrolment_ids=[enrolment_id])
    enrolment = places[0].enrolment
    override = queries.cap_override(db_session, enrolment_id=enrolment.id, local_week=local_week)
    if override is None:
        override = WeeklyCapOverride(
            enrolment_id=enrolment.id,
            local_week=local_week,
            max_sessions=max_sessions,
            reason=reason.strip(),
            created_by_user_id=actor.user_id,
            created_at=now,
        )
        db_session.add(override)
    else:
        override.max_sessions, override.reason = max_sessions, reason.strip()
        override.created_by_user_id, override.created_at = actor.user_id, now
    db_session.flush()
    audit.record(
        db_session,
        actor=actor,
        action="weekly_cap_override.set",
        record=override,
        child_id=enrolment.child_id,
        now=now,
    )
    return override
