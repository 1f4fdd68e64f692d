"""Read models for the commissioner dashboards: aggregate selects of plain columns, no domain objects, no writes.

Every query is scoped to one programme and narrowed by the same filters: a cohort (the enrolment's cohort) and a
district (the child's district). Rows returned carry no child id, reference or name.
"""

from __future__ import annotations

import uuid
from datetime import date, datetime
from decimal import Decimal
from typing import Any, TypeVar

from sqlalchemy import Select, and_, exists, func, or_, select
from sqlalchemy.orm import Session

from api.accounts.models import AppUser
from api.accounts.rules import Role
from api.caseloads.models import Allocation
from api.children.models import Child
from api.enrolments.models import Enrolment
from api.enrolments.rules import EnrolmentStatus
from api.programmes.models import Cohort
from api.sessions.models import MentoringSession, SessionAttendee
from api.sessions.rules import SessionStatus
from api.wellbeing.models import CheckIn, CheckInScore
from api.wellbeing.rules import ScoreKind

Query = TypeVar("Query", bound=Select)

OPEN = (EnrolmentStatus.WAITLISTED, EnrolmentStatus.OFFERED, EnrolmentStatus.ACTIVE)


def _narrow(query: Query, *, programme_id: uuid.UUID, cohort_id: uuid.UUID | None, district: str | None) -> Query:
    """Enrolment joined to its cohort and child, within the programme and the filters."""
    query = query.where(Cohort.programme_id == programme_id)
    if cohort_id is not None:
        query = query.where(Enrolment.cohort_id == cohort_id)
    if district is not None:
        query = query.where(Child.district == district)
    return query


def list_cohorts(db_session: Session, *, programme_id: uuid.UUID, cohort_id: uuid.UUID | None) -> list[Any]:
    query = select(Cohort.id, Cohort.name, Cohort.places).where(Cohort.programme_id == programme_id)
    if cohort_id is not None:
        query = query.where(Cohort.id == cohort_id)
    return list(db_session.execute(query.order_by(Cohort.name)).all())


def count_enrolments(
    db_session: Session, *, programme_id: uuid.UUID, cohort_id: uuid.UUID | None
) -> list[tuple[uuid.UUID, EnrolmentStatus, str, int]]:
    """Open enrolments per cohort, status and child's district (the caller picks the district it needs)."""
    query = (
        select(Enrolment.cohort_id, Enrolment.status, Child.district, func.count())
        .join(Cohort, Cohort.id == Enrolment.cohort_id)
        .join(Child, Child.id == Enrolment.child_id)
        .where(Enrolment.status.in_(OPEN))
        .group_by(Enrolment.cohort_id, Enrolment.status, Child.district)
    )
    query = _narrow(query, programme_id=programme_id, cohort_id=cohort_id, district=None)
    return [(row[0], row[1], row[2], int(row[3])) for row in db_session.execute(query).all()]


def list_support_spans(
    db_session: Session,
    *,
    programme_id: uuid.UUID,
    cohort_id: uuid.UUID | None,
    district: str | None,
    starts_at: datetime,
    ends_before: datetime,
) -> list[tuple[uuid.UUID, datetime | None, datetime | None]]:
    """(cohort, started_at, ended_at) of every spell of support that overlaps the period."""
    query = (
        select(Enrolment.cohort_id, Enrolment.started_at, Enrolment.ended_at)
        .join(Cohort, Cohort.id == Enrolment.cohort_id)
        .join(Child, Child.id == Enrolment.child_id)
        .where(
            Enrolment.started_at.is_not(None),
            Enrolment.started_at < ends_before,
            or_(Enrolment.ended_at.is_(None), Enrolment.ended_at >= starts_at),
        )
    )
    query = _narrow(query, programme_id=programme_id, cohort_id=cohort_id, district=district)
    return [(row[0], row[1], row[2]) for row in db_session.execute(query).all()]


def _first_completed_session() -> Any:
    return (
        select(SessionAttendee.enrolment_id, func.min(MentoringSession.planned_start_at).label("first_at"))
        .join(MentoringSession, MentoringSession.id == SessionAttendee.session_id)
        .where(MentoringSession.status == SessionStatus.COMPLETED)
        .group_by(SessionAttendee.enrolment_id)
        .subquery()
    )


def list_first_session_waits(
    db_session: Session,
    *,
    programme_id: uuid.UUID,
    cohort_id: uuid.UUID | None,
    district: str | None,
    starts_at: datetime,
    ends_before: datetime,
) -> list[tuple[date, datetime]]:
    """(referred_on, first completed session) of each enrolment from a referral whose first session fell in the
    period."""
    first = _first_completed_session()
    query = (
        select(Enrolment.referred_on, first.c.first_at)
        .join(first, first.c.enrolment_id == Enrolment.id)
        .join(Cohort, Cohort.id == Enrolment.cohort_id)
        .join(Child, Child.id == Enrolment.child_id)
        .where(Enrolment.referral_id.is_not(None), first.c.first_at >= starts_at, first.c.first_at < ends_before)
    )
    query = _narrow(query, programme_id=programme_id, cohort_id=cohort_id, district=district)
    return [(row[0], row[1]) for row in db_session.execute(query).all()]


def count_still_waiting(
    db_session: Session, *, programme_id: uuid.UUID, cohort_id: uuid.UUID | None, district: str | None
) -> int:
    """Open enrolments (waitlisted, offered or active) that have had no completed session yet."""
    seen = exists().where(
        SessionAttendee.enrolment_id == Enrolment.id,
        MentoringSession.id == SessionAttendee.session_id,
        MentoringSession.status == SessionStatus.COMPLETED,
    )
    query = (
        select(func.count())
        .select_from(Enrolment)
        .join(Cohort, Cohort.id == Enrolment.cohort_id)
        .join(Child, Child.id == Enrolment.child_id)
        .where(Enrolment.status.in_(OPEN), ~seen)
    )
    query = _narrow(query, programme_id=programme_id, cohort_id=cohort_id, district=district)
    return int(db_session.scalar(query) or 0)


def list_mentor_caseloads(
    db_session: Session, *, programme_id: uuid.UUID, cohort_id: uuid.UUID | None, district: str | None
) -> list[tuple[uuid.UUID, str, int | None, int]]:
    """(mentor, display name, maximum caseload, current allocations within the filters) for each active mentor."""
    current = (
        select(Allocation.mentor_id, func.count().label("caseload"))
        .join(Enrolment, Enrolment.id == Allocation.enrolment_id)
        .join(Cohort, Cohort.id == Enrolment.cohort_id)
        .join(Child, Child.id == Enrolment.child_id)
        .where(Allocation.ended_at.is_(None))
        .group_by(Allocation.mentor_id)
    )
    current_sq = _narrow(current, programme_id=programme_id, cohort_id=cohort_id, district=district).subquery()
    query = (
        select(AppUser.id, AppUser.display_name, AppUser.max_caseload, func.coalesce(current_sq.c.caseload, 0))
        .outerjoin(current_sq, current_sq.c.mentor_id == AppUser.id)
        .where(AppUser.role == Role.MENTOR, AppUser.programme_id == programme_id, AppUser.is_active.is_(True))
        .order_by(AppUser.display_name, AppUser.id)
    )
    return [(row[0], row[1], row[2], int(row[3])) for row in db_session.execute(query).all()]


def _session_matches(*, cohort_id: uuid.UUID | None, district: str | None) -> Any:
    """A session counts for a cohort or district when any child at it is in that cohort or district."""
    conditions = [SessionAttendee.session_id == MentoringSession.id]
    if cohort_id is not None:
        conditions.append(
            exists().where(Enrolment.id == SessionAttendee.enrolment_id, Enrolment.cohort_id == cohort_id)
        )
    if district is not None:
        conditions.append(exists().where(Child.id == SessionAttendee.child_id, Child.district == district))
    return exists().where(and_(*conditions))


def count_sessions_by_status(
    db_session: Session,
    *,
    programme_id: uuid.UUID,
    cohort_id: uuid.UUID | None,
    district: str | None,
    starts_at: datetime,
    ends_before: datetime,
) -> dict[SessionStatus, int]:
    query = (
        select(MentoringSession.status, func.count())
        .where(
            MentoringSession.programme_id == programme_id,
            MentoringSession.planned_start_at >= starts_at,
            MentoringSession.planned_start_at < ends_before,
        )
        .group_by(MentoringSession.status)
    )
    if cohort_id is not None or district is not None:
        query = query.where(_session_matches(cohort_id=cohort_id, district=district))
    counts = dict.fromkeys(SessionStatus, 0)
    counts.update({status: int(count) for status, count in db_session.execute(query).all()})
    return counts


def list_delivered_starts(
    db_session: Session,
    *,
    programme_id: uuid.UUID,
    cohort_id: uuid.UUID | None,
    district: str | None,
    starts_at: datetime,
    ends_before: datetime,
) -> list[datetime]:
    """When each completed session in the period was planned to start (for the evening and weekend shares)."""
    query = select(MentoringSession.planned_start_at).where(
        MentoringSession.programme_id == programme_id,
        MentoringSession.status == SessionStatus.COMPLETED,
        MentoringSession.planned_start_at >= starts_at,
        MentoringSession.planned_start_at < ends_before,
    )
    if cohort_id is not None or district is not None:
        query = query.where(_session_matches(cohort_id=cohort_id, district=district))
    return list(db_session.scalars(query).all())


def count_attendances(
    db_session: Session,
    *,
    programme_id: uuid.UUID,
    cohort_id: uuid.UUID | None,
    district: str | None,
    starts_at: datetime,
    ends_before: datetime,
) -> tuple[int, int]:
    """(children's attendances at completed sessions, distinct children seen) in the period, within the filters."""
    query = (
        select(func.count(), func.count(func.distinct(SessionAttendee.child_id)))
        .select_from(SessionAttendee)
        .join(MentoringSession, MentoringSession.id == SessionAttendee.session_id)
        .join(Enrolment, Enrolment.id == SessionAttendee.enrolment_id)
        .join(Cohort, Cohort.id == Enrolment.cohort_id)
        .join(Child, Child.id == SessionAttendee.child_id)
        .where(
            MentoringSession.status == SessionStatus.COMPLETED,
            MentoringSession.planned_start_at >= starts_at,
            MentoringSession.planned_start_at < ends_before,
        )
    )
    query = _narrow(query, programme_id=programme_id, cohort_id=cohort_id, district=district)
    row = db_session.execute(query).one()
    return int(row[0]), int(row[1])


def list_derived_scores(
    db_session: Session,
    *,
    programme_id: uuid.UUID,
    cohort_id: uuid.UUID | None,
    district: str | None,
    ends_before: datetime,
) -> list[tuple[uuid.UUID, str, str, datetime, Decimal]]:
    """(child, instrument, measure, completed_at, value) of every derived score up to the end of the period.

    The child id is only a grouping key for the service: it never leaves it."""
    query = (
        select(CheckIn.child_id, CheckIn.instrument_key, CheckInScore.measure, CheckIn.completed_at, CheckInScore.value)
        .join(CheckInScore, CheckInScore.check_in_id == CheckIn.id)
        .join(Child, Child.id == CheckIn.child_id)
        .where(
            Child.programme_id == programme_id,
            CheckInScore.kind == ScoreKind.DERIVED,
            CheckIn.completed_at < ends_before,
        )
    )
    if district is not None:
        query = query.where(Child.district == district)
    if cohort_id is not None:
        query = query.where(exists().where(Enrolment.child_id == CheckIn.child_id, Enrolment.cohort_id == cohort_id))
    return [(row[0], row[1], row[2], row[3], row[4]) for row in db_session.execute(query).all()]
