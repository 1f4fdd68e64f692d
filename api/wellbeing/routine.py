"""The programme's check-in routine, run by the scheduler: a link at enrolment, every few weeks, and at the end."""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from datetime import datetime
from zoneinfo import ZoneInfo

from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from api.db import transaction
from api.wellbeing import queries, rules
from api.wellbeing.invitations import create_invitation
from api.wellbeing.queries import ScheduledCandidate
from api.wellbeing.rules import Instrument
from api.wellbeing.schedule import CheckInSchedule, DueInvitation, due_invitation


def invite_due_check_ins(
    db_session: Session, *, instruments: Mapping[str, Instrument], secret_key: str, now: datetime
) -> int:
    """Create the scheduled check-in links that are due (at enrolment, every few weeks, at the end).

    Each occasion is created at most once per enrolment (a unique key), even with two schedulers running; a
    child with no mobile of their own or no consent to SMS is skipped and tried again on the next run. Each link
    commits on its own, so one child's failure never holds back another's.
    """
    created = 0
    for candidate in queries.enrolments_with_check_in_routine(db_session):
        programme, child = candidate.programme, candidate.child
        due = _due_occasion(db_session, candidate, now)
        if due is None:
            continue
        phone = queries.child_mobile_for_links(db_session, child_id=child.id)
        keys = rules.scheduled_link_instruments(
            instruments,
            programme.check_in_instruments,
            age=queries.child_age(db_session, child, now),
            has_active_goals=bool(queries.active_goals(db_session, child_id=child.id)),
        )
        if phone is None or not keys:
            continue
        try:
            with transaction(db_session):
                create_invitation(
                    db_session,
                    child=child,
                    phone=phone,
                    instrument_keys=keys,
                    reason=due.reason,
                    occasion=due.occasion,
                    created_by=None,
                    link_hours=programme.check_in_link_hours,
                    secret_key=secret_key,
                    now=now,
                )
        except IntegrityError:  # another scheduler created this occasion first; the scope rolled this one back
            continue
        created += 1
    return created


def due_occasion_for(db_session: Session, *, child_id: uuid.UUID, now: datetime) -> DueInvitation | None:
    """The routine's occasion due now for this child's active enrolment, named as the routine stores it.

    A link made by hand just then (the demo's printed link) is recorded under it, so the routine counts it as the
    child's due link and does not send a second one minutes later.
    """
    for candidate in queries.enrolments_with_check_in_routine(db_session):
        if candidate.child.id == child_id:
            return _due_occasion(db_session, candidate, now)
    return None


def _due_occasion(db_session: Session, candidate: ScheduledCandidate, now: datetime) -> DueInvitation | None:
    """The scheduled link due today for the enrolment, its occasion prefixed with the enrolment it belongs to."""
    programme, enrolment = candidate.programme, candidate.enrolment
    schedule = CheckInSchedule(
        at_enrolment=programme.check_in_at_enrolment,
        every_weeks=programme.check_in_every_weeks,
        at_end=programme.check_in_at_end,
    )
    zone = ZoneInfo(programme.time_zone)
    assert enrolment.started_at is not None  # the query selects started enrolments only
    prefix = f"enrolment:{enrolment.id}:"
    due = due_invitation(
        schedule,
        started_on=enrolment.started_at.astimezone(zone).date(),
        planned_end_on=enrolment.planned_end_on,
        today=now.astimezone(zone).date(),
        occasions_done=queries.occasions_sent(db_session, child_id=candidate.child.id, prefix=prefix),
    )
    return None if due is None else DueInvitation(due.reason, prefix + due.occasion)
