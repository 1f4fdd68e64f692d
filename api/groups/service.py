"""Creating and changing group series, and their rosters (issue 17).

A series is created with its sessions, in one transaction: group sessions led by the lead facilitator, planned,
with no one booked. A child joins the roster through the enrolment that holds their place (in a one-to-one cohort
or a group-only one) and is booked on every session of the series not yet started, each within their weekly cap;
a child who leaves has those lines cancelled by the service. Lines already held stay: they are what completion
(K of N, rules.py) counts.

Locks, in this order, so roster changes and registers never deadlock: the series' row (which serialises every
roster change of one series, so its capacity holds), then its sessions not yet started (in id order), then the
child's enrolment (as planning a session locks it, so the weekly cap holds against any other session planned
meanwhile). Every write records the series' change for the phones' sync, a change per child on its roster (and
for a child who just left), and its sessions' changes and reminders as the sessions service does.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy.orm import Session

from api.accounts.models import AppUser
from api.actors import Actor, Role
from api.audit import service as audit
from api.changes.rules import EntityType
from api.changes.service import record_change
from api.db import step, use_case
from api.enrolments.errors import EnrolmentNotFound
from api.enrolments.rules import EnrolmentStatus
from api.errors import check_version
from api.groups import errors, queries, rules
from api.groups.models import GroupSeries, SeriesMember
from api.groups.reading import SeriesView, view_series
from api.groups.rules import PlannedTimes
from api.programmes.errors import ProgrammeNotFound
from api.programmes.models import Programme
from api.sessions import queries as sessions_queries
from api.sessions import rules as session_rules
from api.sessions import service as sessions_service
from api.sessions.models import MentoringSession
from api.sessions.queries import Place
from api.sessions.rules import LocationCategory

# Who may stand beside the lead facilitator: another mentor or a coordinator of the programme.
CO_FACILITATOR_ROLES = (Role.MENTOR, Role.COORDINATOR)


def _staff_of(actor: Actor, programme_id: uuid.UUID) -> bool:
    return actor.role is Role.ADMIN or (actor.role is Role.COORDINATOR and actor.programme_id == programme_id)


def _facilitates(actor: Actor, series: GroupSeries) -> bool:
    return actor.user_id in (series.lead_facilitator_id, series.co_facilitator_id)


def _check_may_change(actor: Actor, series: GroupSeries) -> None:
    if not (_staff_of(actor, series.programme_id) or (actor.role is Role.MENTOR and _facilitates(actor, series))):
        raise errors.NotAFacilitator()


def _colleague(
    db_session: Session, user_id: uuid.UUID, *, programme_id: uuid.UUID, roles: tuple[Role, ...]
) -> AppUser | None:
    user = db_session.get(AppUser, user_id)
    if user is None or not user.is_active or user.role not in roles or user.programme_id != programme_id:
        return None
    return user


def _check_co_facilitator(
    db_session: Session, co_facilitator_id: uuid.UUID | None, *, lead_facilitator_id: uuid.UUID, programme_id: uuid.UUID
) -> None:
    if co_facilitator_id is None:
        return
    if co_facilitator_id == lead_facilitator_id:
        raise errors.InvalidSeries(errors={"co_facilitator_id": ["The co-facilitator is someone other than the lead."]})
    if _colleague(db_session, co_facilitator_id, programme_id=programme_id, roles=CO_FACILITATOR_ROLES) is None:
        raise errors.InvalidSeries(
            errors={"co_facilitator_id": ["Choose an active mentor or coordinator of this programme."]}
        )


def _check_times(sessions: list[PlannedTimes]) -> None:
    problems = rules.planned_times_problems(sessions)
    if problems:
        raise errors.InvalidSeries(errors=problems)


def _check_completion(*, complete_after_sessions: int, session_count: int) -> None:
    problem = rules.completion_problem(complete_after_sessions=complete_after_sessions, session_count=session_count)
    if problem:
        raise errors.InvalidSeries(problem, errors={"complete_after_sessions": [problem]})


def _record_series_written(
    db_session: Session,
    series: GroupSeries,
    *,
    actor: Actor,
    action: str,
    now: datetime,
    also: uuid.UUID | None = None,
) -> None:
    """The series changed: one change for the phones' sync and one audit row per child on its roster now (and
    `also`, a child who just left, so their mentor's phone learns they are off it)."""
    child_ids = {member.child_id for member in queries.current_members(db_session, series_id=series.id)}
    if also is not None:
        child_ids.add(also)
    for child_id in sorted(child_ids):
        record_change(db_session, entity_type=EntityType.GROUP_SERIES, entity_id=series.id, child_id=child_id, now=now)
        audit.record(db_session, actor=actor, action=action, record=series, child_id=child_id, now=now)
    if not child_ids:
        audit.record(db_session, actor=actor, action=action, record=series, child_id=None, now=now)


def _answer(db_session: Session, series: GroupSeries) -> SeriesView:
    [view] = view_series(db_session, [series])
    return view


@use_case
def create_series(
    db_session: Session,
    *,
    actor: Actor,
    programme_id: uuid.UUID,
    name: str,
    capacity: int,
    complete_after_sessions: int | None,
    lead_facilitator_id: uuid.UUID | None,
    co_facilitator_id: uuid.UUID | None,
    location_category: LocationCategory,
    sessions: list[PlannedTimes],
    now: datetime,
) -> SeriesView:
    """Create a series and its group sessions, planned, led by the lead facilitator, no one booked yet."""
    programme = db_session.get(Programme, programme_id)
    if programme is None or not (actor.role is Role.ADMIN or actor.programme_id == programme_id):
        raise ProgrammeNotFound()
    _check_times(sessions)
    if complete_after_sessions is None:
        complete_after_sessions = rules.default_complete_after(len(sessions))
    _check_completion(complete_after_sessions=complete_after_sessions, session_count=len(sessions))
    if lead_facilitator_id is None:
        if actor.role is not Role.MENTOR:
            raise errors.InvalidSeries(errors={"lead_facilitator_id": ["Name the mentor who leads the series."]})
        lead_facilitator_id = actor.user_id
    if _colleague(db_session, lead_facilitator_id, programme_id=programme_id, roles=(Role.MENTOR,)) is None:
        raise errors.InvalidSeries(errors={"lead_facilitator_id": ["Choose an active mentor of this programme."]})
    _check_co_facilitator(
        db_session, co_facilitator_id, lead_facilitator_id=lead_facilitator_id, programme_id=programme_id
    )
    if actor.role is Role.MENTOR and actor.user_id not in (lead_facilitator_id, co_facilitator_id):
        raise errors.NotAFacilitator("A mentor creates only a series they facilitate.")
    if queries.name_taken(db_session, programme_id=programme_id, name=name):
        raise errors.SeriesNameTaken()
    series = GroupSeries(
        programme_id=programme_id,
        name=name,
        capacity=capacity,
        complete_after_sessions=complete_after_sessions,
        lead_facilitator_id=lead_facilitator_id,
        co_facilitator_id=co_facilitator_id,
        created_at=now,
        created_by_user_id=actor.user_id,
        updated_at=now,
        updated_by_user_id=actor.user_id,
    )
    db_session.add(series)
    db_session.flush()
    for times in sessions:
        sessions_service.plan_group_session(
            db_session,
            actor=actor,
            programme=programme,
            series_id=series.id,
            mentor_id=lead_facilitator_id,
            location_category=location_category,
            planned_start_at=times.planned_start_at,
            planned_end_at=times.planned_end_at,
            now=now,
        )
    db_session.flush()
    _record_series_written(db_session, series, actor=actor, action="group_series.create", now=now)
    return _answer(db_session, series)


def _series_to_change(db_session: Session, *, actor: Actor, series_id: uuid.UUID) -> GroupSeries:
    """Lock a series the caller may read (404 otherwise) and may change (403)."""
    series = queries.get_readable_series(db_session, actor=actor, series_id=series_id, for_update=True)
    if series is None:
        raise errors.GroupSeriesNotFound()
    _check_may_change(actor, series)
    return series


@use_case
def update_series(
    db_session: Session,
    *,
    actor: Actor,
    series_id: uuid.UUID,
    expected_version: int,
    changes: dict[str, Any],
    now: datetime,
) -> SeriesView:
    """Rename a series, change its capacity (never below its roster), K, or co-facilitator. A stale version is
    refused (412)."""
    series = _series_to_change(db_session, actor=actor, series_id=series_id)
    check_version(current=series.version, expected=expected_version)
    if "name" in changes and queries.name_taken(
        db_session, programme_id=series.programme_id, name=changes["name"], excluding=series.id
    ):
        raise errors.SeriesNameTaken()
    if "capacity" in changes:
        members = len(queries.current_members(db_session, series_id=series.id))
        if changes["capacity"] < members:
            raise errors.CapacityBelowRoster(
                f"The roster holds {members} children: the capacity cannot be {changes['capacity']}.",
                capacity=changes["capacity"],
                members=members,
            )
    if "complete_after_sessions" in changes:
        _check_completion(
            complete_after_sessions=changes["complete_after_sessions"],
            session_count=queries.session_count(db_session, series_id=series.id),
        )
    if changes.get("co_facilitator_id") is not None:
        _check_co_facilitator(
            db_session,
            changes["co_facilitator_id"],
            lead_facilitator_id=series.lead_facilitator_id,
            programme_id=series.programme_id,
        )
    for field in ("name", "capacity", "complete_after_sessions", "co_facilitator_id"):
        if field in changes:
            setattr(series, field, changes[field])
    series.version += 1
    series.updated_at = now
    series.updated_by_user_id = actor.user_id
    _record_series_written(db_session, series, actor=actor, action="group_series.update", now=now)
    return _answer(db_session, series)


def _lock_place(db_session: Session, *, actor: Actor, series: GroupSeries, enrolment_id: uuid.UUID) -> Place:
    """Lock the child's place (enrolment): one the caller may plan for (404 otherwise, so existence does not leak),
    active, in the series' programme."""
    places = sessions_queries.lock_places(db_session, enrolment_ids=[enrolment_id])
    if not places or not session_rules.may_plan_for(
        actor, programme_id=places[0].cohort.programme_id, key_worker_id=places[0].key_worker_id
    ):
        raise EnrolmentNotFound()
    place = places[0]
    if place.cohort.programme_id != series.programme_id:
        raise errors.EnrolmentInAnotherProgramme(
            errors={"enrolment_id": [errors.EnrolmentInAnotherProgramme.default_message]}
        )
    if place.enrolment.status is not EnrolmentStatus.ACTIVE:
        raise errors.EnrolmentNotActiveForSeries(
            f"This enrolment is {place.enrolment.status.value.replace('_', ' ')}: only a child with an active "
            "enrolment can join a series.",
            errors={"enrolment_id": ["Not an active enrolment."]},
        )
    return place


def _record_sessions_written(
    db_session: Session, sessions: list[MentoringSession], *, actor: Actor, action: str, now: datetime
) -> None:
    for session in sessions:
        child_ids = [attendee.child_id for attendee in sessions_queries.attendees(db_session, session_id=session.id)]
        sessions_service.record_written(db_session, session, child_ids, actor=actor, action=action, now=now)


@use_case
def join_series(
    db_session: Session, *, actor: Actor, series_id: uuid.UUID, enrolment_id: uuid.UUID, now: datetime
) -> SeriesView:
    """Put a child on the roster and book them on every session of the series not yet started."""
    series = _series_to_change(db_session, actor=actor, series_id=series_id)
    to_book = queries.sessions_not_started(db_session, series_id=series.id, now=now)
    place = _lock_place(db_session, actor=actor, series=series, enrolment_id=enrolment_id)
    members = queries.current_members(db_session, series_id=series.id)
    if any(member.child_id == place.enrolment.child_id for member in members):
        raise errors.AlreadyOnRoster()
    if len(members) >= series.capacity:
        raise errors.SeriesFull(
            f"All {series.capacity} places on this series' roster are taken.",
            capacity=series.capacity,
            members=len(members),
        )
    member = SeriesMember(
        series_id=series.id,
        enrolment_id=place.enrolment.id,
        child_id=place.enrolment.child_id,
        joined_at=now,
        joined_by_user_id=actor.user_id,
    )
    db_session.add(member)
    db_session.flush()
    for session in sorted(to_book, key=lambda session: session.planned_start_at):
        sessions_service.book_children(db_session, actor=actor, session=session, places=[place], now=now)
    _record_sessions_written(db_session, to_book, actor=actor, action="session.book", now=now)
    audit.record(db_session, actor=actor, action="series_member.join", record=member, child_id=member.child_id, now=now)
    _record_series_written(db_session, series, actor=actor, action="group_series.roster", now=now)
    return _answer(db_session, series)


@use_case
def leave_series(
    db_session: Session, *, actor: Actor, series_id: uuid.UUID, child_id: uuid.UUID, now: datetime
) -> None:
    """Take a child off the roster: their lines at the sessions not yet started are cancelled by the service (their
    reminders with them); the lines of sessions already held stay."""
    series = _series_to_change(db_session, actor=actor, series_id=series_id)
    member = next(
        (one for one in queries.current_members(db_session, series_id=series.id) if one.child_id == child_id), None
    )
    if member is None:
        raise errors.NotOnRoster()
    to_cancel = queries.sessions_not_started(db_session, series_id=series.id, now=now)
    places = sessions_queries.lock_places(db_session, enrolment_ids=[member.enrolment_id])
    if not places or not session_rules.may_plan_for(
        actor, programme_id=series.programme_id, key_worker_id=places[0].key_worker_id
    ):
        # A mentor facilitating the series takes off only children of their own caseload.
        raise errors.NotOnRoster()
    _take_off_roster(db_session, actor=actor, series=series, member=member, to_cancel=to_cancel, now=now)


def _take_off_roster(
    db_session: Session,
    *,
    actor: Actor,
    series: GroupSeries,
    member: SeriesMember,
    to_cancel: list[MentoringSession],
    now: datetime,
) -> None:
    """The child leaves: their lines at the sessions not yet started (`to_cancel`, locked) are cancelled by the
    service, with their reminders. The caller holds the series' lock."""
    member.left_at = now
    member.left_by_user_id = actor.user_id
    for session in to_cancel:
        sessions_service.cancel_lines(db_session, actor=actor, session=session, child_ids=[member.child_id], now=now)
    _record_sessions_written(db_session, to_cancel, actor=actor, action="session.unbook", now=now)
    audit.record(
        db_session, actor=actor, action="series_member.leave", record=member, child_id=member.child_id, now=now
    )
    _record_series_written(db_session, series, actor=actor, action="group_series.roster", now=now, also=member.child_id)


@step
def leave_every_series(db_session: Session, *, actor: Actor, enrolment_id: uuid.UUID, now: datetime) -> None:
    """A child whose enrolment ends leaves every roster they are on through it, so their place on each is free and
    no session still books them. Called before the enrolment is locked to end it: the series' rows first, as every
    roster change takes them."""
    for member in queries.current_memberships(db_session, enrolment_id=enrolment_id):
        series = queries.lock_series(db_session, series_id=member.series_id)
        to_cancel = queries.sessions_not_started(db_session, series_id=series.id, now=now)
        _take_off_roster(db_session, actor=actor, series=series, member=member, to_cancel=to_cancel, now=now)
