"""Read models for the commissioner dashboards: aggregate selects of plain columns, no domain objects, no writes.

Every query is scoped to one programme and narrowed by the same filters: a cohort (the enrolment's cohort) and a
district (the child's district). Rows returned carry no child id, reference or name.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from typing import Any, TypeVar

from sqlalchemy import Select, and_, case, exists, func, or_, select
from sqlalchemy.orm import Session, aliased

from api.accounts.models import AppUser
from api.actors import Role
from api.alerts.models import Alert
from api.alerts.rules import AlertKind
from api.caseloads.models import Allocation
from api.children.models import Child
from api.enrolments.models import Enrolment
from api.enrolments.rules import EnrolmentStatus
from api.groups.models import GroupSeries, SeriesMember
from api.programmes.models import Cohort
from api.sessions.models import MentoringSession, SessionAttendee, SessionCarer
from api.sessions.register_rules import CANCELLED, Attendance
from api.sessions.rules import SessionStatus
from api.wellbeing.models import CheckInScore
from api.wellbeing.scoring import ScoreKind

Query = TypeVar("Query", bound=Select)

OPEN = (EnrolmentStatus.WAITLISTED, EnrolmentStatus.OFFERED, EnrolmentStatus.ACTIVE)
# A spell of support: (cohort, started_at, ended_at).
SupportSpan = tuple[uuid.UUID, datetime | None, datetime | None]


def _narrow(query: Query, *, programme_id: uuid.UUID, cohort_id: uuid.UUID | None, district: str | None) -> Query:
    """Enrolment joined to its cohort, within the programme and the filters; joined to its child as well only for a
    district. (Every enrolment has its child, so the join never changes a count; without a district it was work for
    nothing on every enrolment read.)"""
    query = query.where(Cohort.programme_id == programme_id)
    if cohort_id is not None:
        query = query.where(Enrolment.cohort_id == cohort_id)
    if district is not None:
        query = query.join(Child, Child.id == Enrolment.child_id).where(Child.district == district)
    return query


def list_cohorts(db_session: Session, *, programme_id: uuid.UUID, cohort_id: uuid.UUID | None) -> list[Any]:
    query = select(Cohort.id, Cohort.name, Cohort.places, Cohort.kind).where(Cohort.programme_id == programme_id)
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
) -> list[SupportSpan]:
    """(cohort, started_at, ended_at) of every spell of support that overlaps the period."""
    query = (
        select(Enrolment.cohort_id, Enrolment.started_at, Enrolment.ended_at)
        .join(Cohort, Cohort.id == Enrolment.cohort_id)
        .where(
            Enrolment.started_at.is_not(None),
            Enrolment.started_at < ends_before,
            or_(Enrolment.ended_at.is_(None), Enrolment.ended_at >= starts_at),
        )
    )
    query = _narrow(query, programme_id=programme_id, cohort_id=cohort_id, district=district)
    return [(row[0], row[1], row[2]) for row in db_session.execute(query).all()]


def list_first_session_waits(
    db_session: Session,
    *,
    programme_id: uuid.UUID,
    cohort_id: uuid.UUID | None,
    district: str | None,
    starts_at: datetime,
    ends_before: datetime,
) -> list[tuple[date, datetime]]:
    """(referred_on, first session the child attended) of each enrolment from a referral whose first such session fell
    in the period."""
    first_at = func.min(SessionAttendee.planned_start_at)
    query = (
        select(Enrolment.referred_on, first_at)
        .join(Cohort, Cohort.id == Enrolment.cohort_id)
        .join(SessionAttendee, SessionAttendee.enrolment_id == Enrolment.id)
        .where(Enrolment.referral_id.is_not(None), SessionAttendee.attendance == Attendance.ATTENDED)
        .group_by(Enrolment.id, Enrolment.referred_on)
        .having(first_at >= starts_at, first_at < ends_before)
    )
    query = _narrow(query, programme_id=programme_id, cohort_id=cohort_id, district=district)
    return [(row[0], row[1]) for row in db_session.execute(query).all()]


def count_still_waiting(
    db_session: Session, *, programme_id: uuid.UUID, cohort_id: uuid.UUID | None, district: str | None
) -> int:
    """Open enrolments (waitlisted, offered or active) whose child has attended no session yet."""
    seen = exists().where(
        SessionAttendee.enrolment_id == Enrolment.id, SessionAttendee.attendance == Attendance.ATTENDED
    )
    query = (
        select(func.count())
        .select_from(Enrolment)
        .join(Cohort, Cohort.id == Enrolment.cohort_id)
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


@dataclass(frozen=True)
class SessionCounts:
    """Sessions planned to start in a period, with a given status, that any child within the filters is at."""

    sessions: int
    evening: int
    weekend: int
    # Children (within the filters) at those sessions who attended, by the register, and the distinct children
    # among them; and those who did not attend.
    attendances: int
    children: int
    missed_attendances: int


def count_sessions(
    db_session: Session,
    *,
    programme_id: uuid.UUID,
    cohort_id: uuid.UUID | None,
    district: str | None,
    starts_at: datetime,
    ends_before: datetime,
) -> dict[SessionStatus, SessionCounts]:
    """Per status, read from attendances (which carry their session's status, start and local time of day, and the
    child's line of the register, which the attendance figures count).

    A group session counts once, in a cohort or district when any child at it is in that cohort or district."""
    [counts] = count_sessions_by_period(
        db_session, programme_id=programme_id, cohort_id=cohort_id, district=district, bounds=[starts_at, ends_before]
    )
    return counts


def count_sessions_by_period(
    db_session: Session,
    *,
    programme_id: uuid.UUID,
    cohort_id: uuid.UUID | None,
    district: str | None,
    bounds: Sequence[datetime],
) -> list[dict[SessionStatus, SessionCounts]]:
    """`count_sessions` for each of the back-to-back periods [bounds[i], bounds[i + 1]), in one pass: each
    attendance is put in its period by comparing its start with the bounds (worked out in the programme's time
    zone by the caller), which keeps the scan on the index. Distinct counts are per period, as if each period
    were asked alone."""
    session_id = SessionAttendee.session_id
    start = SessionAttendee.planned_start_at
    splits = bounds[1:-1]
    # The period's number, where there is more than one.
    period = [case(*((start < bound, n) for n, bound in enumerate(splits)), else_=len(splits))] if splits else []
    attended = SessionAttendee.attendance == Attendance.ATTENDED
    query = (
        select(
            *period,
            SessionAttendee.status,
            func.count(func.distinct(session_id)),
            func.count(func.distinct(case((SessionAttendee.starts_in_evening, session_id)))),
            func.count(func.distinct(case((SessionAttendee.starts_at_weekend, session_id)))),
            func.count(case((attended, 1))),
            func.count(func.distinct(case((attended, Enrolment.child_id)))),
            func.count(case((SessionAttendee.attendance == Attendance.DID_NOT_ATTEND, 1))),
        )
        .select_from(Enrolment)
        .join(Cohort, Cohort.id == Enrolment.cohort_id)
        .join(SessionAttendee, SessionAttendee.enrolment_id == Enrolment.id)
        .where(start >= bounds[0], start < bounds[-1])
        .group_by(*period, SessionAttendee.status)
    )
    query = _narrow(query, programme_id=programme_id, cohort_id=cohort_id, district=district)
    periods = [{status: SessionCounts(0, 0, 0, 0, 0, 0) for status in SessionStatus} for _ in bounds[1:]]
    for row in db_session.execute(query).all():
        index, (status, *figures) = (row[0], row[1:]) if splits else (0, row)
        periods[index][status] = SessionCounts(*(int(figure) for figure in figures))
    return periods


def list_baselines_and_latest(
    db_session: Session,
    *,
    programme_id: uuid.UUID,
    cohort_id: uuid.UUID | None,
    district: str | None,
    ends_before: datetime,
) -> list[tuple[str, str, datetime, Decimal, datetime, Decimal]]:
    """(instrument, measure, baseline time, baseline, latest time, latest) per child and measure, from the derived
    scores completed before the period's end: the baseline is the child's first score, the latest their last (two
    at one instant: the lower is the baseline, the higher the latest). One row per child and measure; which child
    is not returned.

    The first and last times come from one pass over the scores' index in its own order; each value is then one
    index look-up. (Window functions ranking every score cost two sorts of all of them: four times slower.)"""
    derived = CheckInScore.kind == ScoreKind.DERIVED
    bounds_query = (
        select(
            CheckInScore.child_id,
            CheckInScore.instrument_key,
            CheckInScore.measure,
            func.min(CheckInScore.completed_at).label("first_at"),
            func.max(CheckInScore.completed_at).label("last_at"),
        )
        .join(Child, Child.id == CheckInScore.child_id)
        .where(Child.programme_id == programme_id, derived, CheckInScore.completed_at < ends_before)
        .group_by(CheckInScore.child_id, CheckInScore.instrument_key, CheckInScore.measure)
    )
    if district is not None:
        bounds_query = bounds_query.where(Child.district == district)
    if cohort_id is not None:
        bounds_query = bounds_query.where(
            exists().where(Enrolment.child_id == CheckInScore.child_id, Enrolment.cohort_id == cohort_id)
        )
    bounds = bounds_query.subquery()
    first, last = aliased(CheckInScore), aliased(CheckInScore)

    def score_at(score: Any, at: Any) -> Any:
        return and_(
            score.child_id == bounds.c.child_id,
            score.kind == ScoreKind.DERIVED,
            score.instrument_key == bounds.c.instrument_key,
            score.measure == bounds.c.measure,
            score.completed_at == at,
        )

    query = (
        select(
            bounds.c.instrument_key,
            bounds.c.measure,
            bounds.c.first_at,
            func.min(first.value),
            bounds.c.last_at,
            func.max(last.value),
        )
        .join(first, score_at(first, bounds.c.first_at))
        .join(last, score_at(last, bounds.c.last_at))
        .group_by(bounds.c.child_id, bounds.c.instrument_key, bounds.c.measure, bounds.c.first_at, bounds.c.last_at)
    )
    return [
        (row[0], row[1], row[2], Decimal(row[3]), row[4], Decimal(row[5])) for row in db_session.execute(query).all()
    ]


def list_alerts_raised(
    db_session: Session, *, programme_id: uuid.UUID, starts_at: datetime, ends_before: datetime
) -> list[tuple[AlertKind, datetime, datetime | None]]:
    """(kind, raised_at, acknowledged_at) of the programme's alerts raised in the period: no child, no detail."""
    query = select(Alert.kind, Alert.raised_at, Alert.acknowledged_at).where(
        Alert.programme_id == programme_id, Alert.raised_at >= starts_at, Alert.raised_at < ends_before
    )
    return [(row[0], row[1], row[2]) for row in db_session.execute(query).all()]


@dataclass(frozen=True)
class SeriesSessions:
    """A group series with a session planned to start in the period, and how many of its sessions (none counted
    that were rescheduled: their replacements are) there are in all, in the period, and held in the period."""

    series_id: uuid.UUID
    name: str
    complete_after_sessions: int
    sessions_planned: int
    sessions_in_period: int
    sessions_held: int
    # Children on the roster now, and children ever on it (a child who left and came back counts once).
    roster: int
    ever_on_roster: int


def list_series_in_period(
    db_session: Session, *, programme_id: uuid.UUID, starts_at: datetime, ends_before: datetime
) -> list[SeriesSessions]:
    """The programme's series with a session in the period, by name: one statement, the roster counted by
    correlated subqueries."""
    session = MentoringSession
    in_period = and_(session.planned_start_at >= starts_at, session.planned_start_at < ends_before)
    roster = (
        select(func.count(func.distinct(SeriesMember.child_id)))
        .where(SeriesMember.series_id == GroupSeries.id, SeriesMember.left_at.is_(None))
        .scalar_subquery()
    )
    ever = (
        select(func.count(func.distinct(SeriesMember.child_id)))
        .where(SeriesMember.series_id == GroupSeries.id)
        .scalar_subquery()
    )
    query = (
        select(
            GroupSeries.id,
            GroupSeries.name,
            GroupSeries.complete_after_sessions,
            func.count(session.id),
            func.count(case((in_period, session.id))),
            func.count(case((and_(in_period, session.status == SessionStatus.COMPLETED), session.id))),
            roster,
            ever,
        )
        .join(session, session.series_id == GroupSeries.id)
        .where(GroupSeries.programme_id == programme_id, session.status != SessionStatus.RESCHEDULED)
        .group_by(GroupSeries.id, GroupSeries.name, GroupSeries.complete_after_sessions)
        .having(func.count(case((in_period, session.id))) > 0)
        .order_by(GroupSeries.name, GroupSeries.id)
    )
    return [
        SeriesSessions(row[0], row[1], row[2], *(int(figure) for figure in row[3:]))
        for row in db_session.execute(query).all()
    ]


@dataclass(frozen=True)
class SeriesSessionLines:
    """One session of a series in the period: its register lines by what they say, and the carers who came."""

    series_id: uuid.UUID
    planned_start_at: datetime
    status: SessionStatus
    booked: int  # every line: the children booked onto it
    attended: int
    did_not_attend: int
    cancelled: int
    not_yet_marked: int
    carers: int


def list_series_session_lines(
    db_session: Session, *, programme_id: uuid.UUID, starts_at: datetime, ends_before: datetime
) -> list[SeriesSessionLines]:
    """Every series session of the programme planned to start in the period (none rescheduled), in time order, its
    lines counted in SQL: one statement whatever the number of series and sessions."""
    session = MentoringSession
    line = SessionAttendee.attendance
    carers = select(func.count()).where(SessionCarer.session_id == session.id).scalar_subquery()
    query = (
        select(
            session.series_id,
            session.planned_start_at,
            session.status,
            func.count(SessionAttendee.id),
            func.count(case((line == Attendance.ATTENDED, 1))),
            func.count(case((line == Attendance.DID_NOT_ATTEND, 1))),
            func.count(case((line.in_(CANCELLED), 1))),
            func.count(case((line == Attendance.BOOKED, 1))),
            carers,
        )
        .outerjoin(SessionAttendee, SessionAttendee.session_id == session.id)
        .where(
            session.programme_id == programme_id,
            session.series_id.is_not(None),
            session.status != SessionStatus.RESCHEDULED,
            session.planned_start_at >= starts_at,
            session.planned_start_at < ends_before,
        )
        .group_by(session.id, session.series_id, session.planned_start_at, session.status)
        .order_by(session.planned_start_at, session.id)
    )
    return [
        SeriesSessionLines(row[0], row[1], row[2], *(int(figure) for figure in row[3:]))
        for row in db_session.execute(query).all()
    ]


def list_series_attendance_by_child(
    db_session: Session, *, programme_id: uuid.UUID, starts_at: datetime, ends_before: datetime
) -> list[tuple[uuid.UUID, int, int]]:
    """(series, sessions attended before the period, sessions attended in it) for each child on a series' roster (now
    or once) who attended one of its sessions (none rescheduled) in the period, by their own register line. One row
    per child and series; which child is not returned."""
    session = MentoringSession
    within, before = session.planned_start_at >= starts_at, session.planned_start_at < starts_at
    on_roster = exists().where(
        SeriesMember.series_id == GroupSeries.id, SeriesMember.child_id == SessionAttendee.child_id
    )
    query = (
        select(GroupSeries.id, func.count(case((before, 1))), func.count(case((within, 1))))
        .select_from(session)
        .join(GroupSeries, GroupSeries.id == session.series_id)
        .join(SessionAttendee, SessionAttendee.session_id == session.id)
        .where(
            session.programme_id == programme_id,
            session.status != SessionStatus.RESCHEDULED,
            session.planned_start_at < ends_before,
            SessionAttendee.attendance == Attendance.ATTENDED,
            on_roster,
        )
        .group_by(GroupSeries.id, SessionAttendee.child_id)
        .having(func.count(case((within, 1))) > 0)
    )
    return [(row[0], int(row[1]), int(row[2])) for row in db_session.execute(query).all()]
