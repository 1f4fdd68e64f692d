"""Whether a session may be made or moved to a time: within every child's planned support, and not a copy of a
session a child already has with that mentor at that start (issue 17).

Every path that makes or moves a session asks `check_session_fits` with the children's places locked
(`api.sessions.service.lock_places_to_plan`): POST /sessions and rescheduling call it; a pattern plans only within
the planned end and skips an occurrence a child already has, so it never needs refusing. Under the place lock two
simultaneous identical requests queue and the second finds the first (tests/concurrency/test_weekly_cap.py).
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import datetime

from sqlalchemy.orm import Session

from api.db import step
from api.enrolments import rules as enrolment_rules
from api.sessions import errors, queries
from api.sessions.queries import Place


def check_within_enrolments(places: Sequence[Place], *, planned_start_at: datetime) -> None:
    """Refuse a session starting outside any child's planned support (422, naming the field and the child)."""
    for place in places:
        problem = enrolment_rules.outside_planned_period(
            planned_start_at,
            started_at=place.enrolment.started_at,
            planned_end_on=place.enrolment.planned_end_on,
            time_zone=place.programme.time_zone,
        )
        if problem:
            raise errors.SessionOutsideEnrolment(
                problem, errors={"planned_start_at": [problem]}, child_id=str(place.enrolment.child_id)
            )


@step
def check_session_fits(
    db_session: Session,
    *,
    places: Sequence[Place],
    mentor_id: uuid.UUID,
    planned_start_at: datetime,
    replacing: uuid.UUID | None = None,
) -> None:
    """Refuse a session outside a child's planned support (422 `session_outside_enrolment`) or one repeating a
    session a child already has with this mentor at this start (409 `duplicate_session`, naming it). `replacing`:
    the session being moved, which may keep its own start. The caller holds the places' locks."""
    check_within_enrolments(places, planned_start_at=planned_start_at)
    copy = queries.copy_of_session(
        db_session,
        child_ids=[place.enrolment.child_id for place in places],
        mentor_id=mentor_id,
        planned_start_at=planned_start_at,
        excluding=replacing,
    )
    if copy is not None:
        existing_session_id, child_id = copy
        raise errors.DuplicateSession(existing_session_id=str(existing_session_id), child_id=str(child_id))
