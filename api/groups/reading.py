"""Reading group series: a series as GET /group-series/{id} and the phones' sync feed show it (its sessions with the
counts of their registers, its roster with who started and completed it), and a page of series in brief.

A child on the roster is named by their pseudonymous reference, as a session's attendees are. Reading one series is
audited, a row per child on its roster; the list names no child (counts only) and writes none.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy.orm import Session

from api.actors import Actor
from api.audit import service as audit
from api.db import step, use_case
from api.groups import errors, queries, rules
from api.groups.models import GroupSeries
from api.pagination import Page, Window
from api.programmes.rules import CohortKind
from api.sessions.models import MentoringSession
from api.sessions.register_rules import CANCELLED, Attendance
from api.sessions.rules import LocationCategory, SessionStatus


@dataclass(frozen=True)
class SeriesSessionView:
    id: uuid.UUID
    planned_start_at: datetime
    planned_end_at: datetime
    status: SessionStatus
    location_category: LocationCategory
    mentor_id: uuid.UUID
    version: int
    booked: int
    attended: int
    did_not_attend: int
    cancelled: int


@dataclass(frozen=True)
class RosterEntry:
    child_id: uuid.UUID
    child_reference: str
    enrolment_id: uuid.UUID
    cohort_kind: CohortKind
    joined_at: datetime
    left_at: datetime | None
    sessions_attended: int
    started: bool
    completed: bool


@dataclass(frozen=True)
class SeriesView:
    id: uuid.UUID
    programme_id: uuid.UUID
    name: str
    capacity: int
    complete_after_sessions: int
    lead_facilitator_id: uuid.UUID
    co_facilitator_id: uuid.UUID | None
    version: int
    created_at: datetime
    updated_at: datetime
    sessions: list[SeriesSessionView]
    roster: list[RosterEntry]

    @property
    def session_count(self) -> int:
        return len(self.sessions)

    @property
    def members(self) -> int:
        """Children on the roster now."""
        return sum(1 for entry in self.roster if entry.left_at is None)

    @property
    def child_ids(self) -> list[uuid.UUID]:
        """Every child the roster names, once each (a child who left and joined again has two rows)."""
        return sorted({entry.child_id for entry in self.roster})


def _session_view(session: MentoringSession, counts: dict[Attendance, int]) -> SeriesSessionView:
    return SeriesSessionView(
        id=session.id,
        planned_start_at=session.planned_start_at,
        planned_end_at=session.planned_end_at,
        status=session.status,
        location_category=session.location_category,
        mentor_id=session.mentor_id,
        version=session.version,
        booked=counts.get(Attendance.BOOKED, 0),
        attended=counts.get(Attendance.ATTENDED, 0),
        did_not_attend=counts.get(Attendance.DID_NOT_ATTEND, 0),
        cancelled=sum(counts.get(attendance, 0) for attendance in CANCELLED),
    )


@step
def view_series(db_session: Session, series: Sequence[GroupSeries]) -> list[SeriesView]:
    """Series as they are now, read together (a page of the sync feed holds several)."""
    ids = [one.id for one in series]
    sessions = queries.sessions_of(db_session, series_ids=ids)
    counts = queries.register_counts(
        db_session, session_ids=[session.id for listed in sessions.values() for session in listed]
    )
    rosters = queries.rosters(db_session, series_ids=ids)
    attended = queries.attended(db_session, series_ids=ids)
    views = []
    for one in series:
        roster = []
        for row in rosters[one.id]:
            times = attended.get((one.id, row.member.child_id), 0)
            roster.append(
                RosterEntry(
                    child_id=row.member.child_id,
                    child_reference=row.child_reference,
                    enrolment_id=row.member.enrolment_id,
                    cohort_kind=row.cohort_kind,
                    joined_at=row.member.joined_at,
                    left_at=row.member.left_at,
                    sessions_attended=times,
                    started=rules.has_started(attended=times),
                    completed=rules.has_completed(attended=times, complete_after_sessions=one.complete_after_sessions),
                )
            )
        views.append(
            SeriesView(
                id=one.id,
                programme_id=one.programme_id,
                name=one.name,
                capacity=one.capacity,
                complete_after_sessions=one.complete_after_sessions,
                lead_facilitator_id=one.lead_facilitator_id,
                co_facilitator_id=one.co_facilitator_id,
                version=one.version,
                created_at=one.created_at,
                updated_at=one.updated_at,
                sessions=[_session_view(session, counts[session.id]) for session in sessions[one.id]],
                roster=roster,
            )
        )
    return views


@use_case
def get_series(db_session: Session, *, actor: Actor, series_id: uuid.UUID, now: datetime) -> SeriesView:
    series = queries.get_readable_series(db_session, actor=actor, series_id=series_id)
    if series is None:
        raise errors.GroupSeriesNotFound()
    [view] = view_series(db_session, [series])
    audit.record_many(
        db_session,
        actor=actor,
        action="group_series.read",
        of=GroupSeries,
        records=[(series.id, child_id) for child_id in view.child_ids],
        now=now,
    )
    return view


@dataclass(frozen=True)
class SeriesBrief:
    """A series in a list: its own facts and its counts, no child named."""

    id: uuid.UUID
    programme_id: uuid.UUID
    name: str
    capacity: int
    complete_after_sessions: int
    lead_facilitator_id: uuid.UUID
    co_facilitator_id: uuid.UUID | None
    version: int
    session_count: int
    members: int
    first_session_at: datetime | None
    last_session_at: datetime | None


@use_case
def list_series(
    db_session: Session, *, actor: Actor, programme_id: uuid.UUID | None, window: Window
) -> Page[SeriesBrief]:
    page = queries.list_series(db_session, actor=actor, programme_id=programme_id, window=window)
    views = view_series(db_session, page.items)
    briefs = [
        SeriesBrief(
            id=view.id,
            programme_id=view.programme_id,
            name=view.name,
            capacity=view.capacity,
            complete_after_sessions=view.complete_after_sessions,
            lead_facilitator_id=view.lead_facilitator_id,
            co_facilitator_id=view.co_facilitator_id,
            version=view.version,
            session_count=view.session_count,
            members=view.members,
            first_session_at=view.sessions[0].planned_start_at if view.sessions else None,
            last_session_at=view.sessions[-1].planned_start_at if view.sessions else None,
        )
        for view in views
    ]
    return Page(briefs, page.total)
