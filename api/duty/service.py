"""Managing a programme's duty rota (its coordinators and admins) and reading it with its gaps in cover.

Every write locks the programme's row before it checks the rota for overlaps (queries.lock_programme_rota), so two
coordinators adding shifts at the same moment cannot both add one the other overlaps.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy.orm import Session

from api.accounts.models import AppUser
from api.actors import Actor, Role
from api.audit import service as audit
from api.db import use_case
from api.duty import errors, queries, rules
from api.duty.models import DutyShift
from api.errors import PermissionDenied, check_version
from api.programmes.models import Programme
from api.programmes.service import get_programme

# Who may be on duty or fall back: someone who can act on a safeguarding alert.
ON_DUTY_ROLES = (Role.ADMIN, Role.COORDINATOR)
# Who may ask whom to phone now: anyone who may be with a child (commissioners see figures, not numbers).
MAY_PHONE_DUTY = (Role.ADMIN, Role.COORDINATOR, Role.MENTOR)
PERSON_FIELDS = ("coordinator_user_id", "fallback_user_id")


@dataclass(frozen=True)
class Person:
    user_id: uuid.UUID
    display_name: str
    has_mobile: bool


@dataclass(frozen=True)
class ShiftView:
    """A shift as the rota shows it (DutyShiftSchema): times in the programme's local time."""

    id: uuid.UUID
    programme_id: uuid.UUID
    starts_at: datetime
    ends_at: datetime
    coordinator: Person
    fallback: Person | None
    version: int
    created_by_user_id: uuid.UUID
    created_at: datetime
    updated_at: datetime


@dataclass(frozen=True)
class Gap:
    starts_at: datetime
    ends_at: datetime


@dataclass(frozen=True)
class Rota:
    """The rota over a window (DutyRotaSchema): its shifts, the stretches no one covers, and how long cover runs
    without a break from the window's start."""

    programme_id: uuid.UUID
    time_zone: str
    starts_at: datetime
    ends_at: datetime
    shifts: list[ShiftView]
    gaps: list[Gap]
    covered_until: datetime | None


@dataclass(frozen=True)
class Contact:
    user_id: uuid.UUID
    display_name: str
    mobile: str | None


@dataclass(frozen=True)
class OnDutyNow:
    """Whom to phone now (OnDutyNowSchema): the duty coordinator and the fallback, both None in a gap in cover."""

    programme_id: uuid.UUID
    on_duty: Contact | None
    fallback: Contact | None
    until: datetime | None


def on_duty_now(db_session: Session, *, actor: Actor, programme_id: uuid.UUID | None, now: datetime) -> OnDutyNow:
    """Who is on duty for the programme now, with their work mobiles: a mentor with a child who may be in danger
    phones them (an alert raised meanwhile texts them as well)."""
    if actor.role not in MAY_PHONE_DUTY:
        raise PermissionDenied()
    programme = _programme(db_session, actor=actor, programme_id=programme_id)
    shift = queries.shift_covering(db_session, programme_id=programme.id, at=now)
    if shift is None:
        return OnDutyNow(programme_id=programme.id, on_duty=None, fallback=None, until=None)
    people = [shift.coordinator_user_id] + ([shift.fallback_user_id] if shift.fallback_user_id else [])
    users = queries.get_users(db_session, set(people))

    def contact(user_id: uuid.UUID | None) -> Contact | None:
        if user_id is None:
            return None
        user = users[user_id]
        return Contact(user_id=user.id, display_name=user.display_name, mobile=user.mobile_e164)

    return OnDutyNow(
        programme_id=programme.id,
        on_duty=contact(shift.coordinator_user_id),
        fallback=contact(shift.fallback_user_id),
        until=shift.ends_at.astimezone(ZoneInfo(programme.time_zone)),
    )


def get_rota(
    db_session: Session,
    *,
    actor: Actor,
    programme_id: uuid.UUID | None,
    start: datetime | None,
    end: datetime | None,
    now: datetime,
) -> Rota:
    """The programme's shifts that cover any part of [start, end) (now to 7 days on, unless told), and its gaps."""
    _refuse_non_staff(actor)
    programme = _programme(db_session, actor=actor, programme_id=programme_id)
    start = start or now
    end = end or start + rules.DEFAULT_WINDOW
    _check_window(start, end, now=now)
    shifts = queries.list_shifts_between(db_session, programme_id=programme.id, start=start, end=end)
    intervals = [(shift.starts_at, shift.ends_at) for shift in shifts]
    covered_until = rules.covered_until(intervals, start=start)
    zone = ZoneInfo(programme.time_zone)
    return Rota(
        programme_id=programme.id,
        time_zone=programme.time_zone,
        starts_at=start.astimezone(zone),
        ends_at=end.astimezone(zone),
        shifts=_views(db_session, shifts, zone),
        gaps=[
            Gap(gap_start.astimezone(zone), gap_end.astimezone(zone))
            for gap_start, gap_end in rules.uncovered(intervals, start=start, end=end)
        ],
        covered_until=None if covered_until is None else min(covered_until, end).astimezone(zone),
    )


@use_case
def add_shift(
    db_session: Session,
    *,
    actor: Actor,
    programme_id: uuid.UUID | None,
    coordinator_user_id: uuid.UUID,
    fallback_user_id: uuid.UUID | None,
    starts_at: datetime,
    ends_at: datetime,
    now: datetime,
) -> ShiftView:
    _refuse_non_staff(actor)
    programme = _programme(db_session, actor=actor, programme_id=programme_id)
    _check_times(starts_at, ends_at, time_zone=programme.time_zone, now=now)
    _check_people(
        db_session, programme=programme, coordinator_user_id=coordinator_user_id, fallback_user_id=fallback_user_id
    )
    queries.lock_programme_rota(db_session, programme.id)
    _refuse_overlap(db_session, programme_id=programme.id, starts_at=starts_at, ends_at=ends_at)
    shift = DutyShift(
        programme_id=programme.id,
        coordinator_user_id=coordinator_user_id,
        fallback_user_id=fallback_user_id,
        starts_at=starts_at,
        ends_at=ends_at,
        created_by_user_id=actor.user_id,
        created_at=now,
        updated_at=now,
    )
    db_session.add(shift)
    db_session.flush()
    audit.record(db_session, actor=actor, action="duty_shift.create", record=shift, child_id=None, now=now)
    return _views(db_session, [shift], ZoneInfo(programme.time_zone))[0]


@use_case
def change_shift(
    db_session: Session,
    *,
    actor: Actor,
    shift_id: uuid.UUID,
    expected_version: int,
    changes: dict[str, Any],
    now: datetime,
) -> ShiftView:
    """Change who is on duty or falls back, or the times. A shift that is over cannot change: it is the record of
    who was on duty."""
    _refuse_non_staff(actor)
    shift, programme = _lock_shift(db_session, actor=actor, shift_id=shift_id)
    check_version(current=shift.version, expected=expected_version)
    if shift.ends_at <= now:
        raise errors.DutyShiftEnded()
    starts_at = changes.get("starts_at", shift.starts_at)
    ends_at = changes.get("ends_at", shift.ends_at)
    coordinator_user_id = changes.get("coordinator_user_id", shift.coordinator_user_id)
    fallback_user_id = changes.get("fallback_user_id", shift.fallback_user_id)
    if "starts_at" in changes or "ends_at" in changes:
        _check_times(starts_at, ends_at, time_zone=programme.time_zone, now=now)
        _refuse_overlap(
            db_session, programme_id=programme.id, starts_at=starts_at, ends_at=ends_at, other_than=shift.id
        )
    _check_people(
        db_session,
        programme=programme,
        coordinator_user_id=coordinator_user_id,
        fallback_user_id=fallback_user_id,
        only=[field for field in PERSON_FIELDS if field in changes],
    )
    shift.starts_at, shift.ends_at = starts_at, ends_at
    shift.coordinator_user_id, shift.fallback_user_id = coordinator_user_id, fallback_user_id
    shift.version += 1
    shift.updated_at = now
    audit.record(
        db_session,
        actor=actor,
        action="duty_shift.change",
        record=shift,
        child_id=None,
        now=now,
        details={"changed": sorted(changes)},
    )
    return _views(db_session, [shift], ZoneInfo(programme.time_zone))[0]


@use_case
def remove_shift(db_session: Session, *, actor: Actor, shift_id: uuid.UUID, now: datetime) -> None:
    """Take a shift off the rota; its time becomes a gap unless another shift is added. A shift that is over stays,
    as the record of who was on duty."""
    _refuse_non_staff(actor)
    shift, _ = _lock_shift(db_session, actor=actor, shift_id=shift_id)
    if shift.ends_at <= now:
        raise errors.DutyShiftEnded()
    audit.record(db_session, actor=actor, action="duty_shift.remove", record=shift, child_id=None, now=now)
    db_session.delete(shift)


def _refuse_non_staff(actor: Actor) -> None:
    # The views' role gate says the same; a service called from elsewhere must not rely on it.
    if actor.role not in ON_DUTY_ROLES:
        raise PermissionDenied()


def _programme(db_session: Session, *, actor: Actor, programme_id: uuid.UUID | None) -> Programme:
    """The programme whose rota this is: a coordinator's own unless they name it; an admin must name one. Another
    programme answers not found, as one that does not exist."""
    programme_id = programme_id or actor.programme_id
    if programme_id is None:
        raise errors.DutyProgrammeRequired(errors={"programme_id": [errors.DutyProgrammeRequired.default_message]})
    return get_programme(db_session, actor=actor, programme_id=programme_id)


def _lock_shift(db_session: Session, *, actor: Actor, shift_id: uuid.UUID) -> tuple[DutyShift, Programme]:
    """The shift, after its programme's rota lock, so a change is checked against a rota no one else is changing."""
    shift = queries.get_shift_or_none(db_session, shift_id)
    if shift is None or not actor.sees_programme(shift.programme_id):
        raise errors.DutyShiftNotFound()
    programme = queries.lock_programme_rota(db_session, shift.programme_id)
    locked = queries.select_shift_for_update(db_session, shift_id)
    if programme is None or locked is None:  # removed while we waited for the lock
        raise errors.DutyShiftNotFound()
    return locked, programme


def _check_window(start: datetime, end: datetime, *, now: datetime) -> None:
    problem = rules.window_problem(start, now=now)
    if problem:
        raise errors.InvalidRotaWindow(problem, errors={"from": [problem]})
    if end <= start:
        raise errors.InvalidRotaWindow(errors={"to": ["Must be after from."]})
    if end - start > rules.MAX_WINDOW:
        raise errors.InvalidRotaWindow(errors={"to": [f"Ask for at most {rules.MAX_WINDOW.days} days at a time."]})


def _check_times(starts_at: datetime, ends_at: datetime, *, time_zone: str, now: datetime) -> None:
    problem = rules.shift_times_problem(starts_at, ends_at, time_zone=time_zone)
    if problem is None and ends_at <= now:
        problem = ("ends_at", "A shift must end in the future: the rota plans who will be on duty.")
    if problem is None and starts_at > now + rules.PLAN_AHEAD:
        problem = ("starts_at", f"A shift is planned at most {rules.PLAN_AHEAD.days} days ahead.")
    if problem is not None:
        field, message = problem
        raise errors.InvalidDutyShiftTimes(message, errors={field: [message]})


def _check_people(
    db_session: Session,
    *,
    programme: Programme,
    coordinator_user_id: uuid.UUID,
    fallback_user_id: uuid.UUID | None,
    only: Iterable[str] = PERSON_FIELDS,
) -> None:
    """Both people must be able to act on an alert for the programme and be reachable by text. On a change, only the
    people changed are checked: a shift already on the rota stays valid if someone's mobile is removed later (the
    rota then shows `has_mobile: false`)."""
    checked = set(only)
    if fallback_user_id is not None and fallback_user_id == coordinator_user_id and checked:
        raise errors.DutyFallbackIsOnDuty(errors={"fallback_user_id": [errors.DutyFallbackIsOnDuty.default_message]})
    named = {"coordinator_user_id": coordinator_user_id, "fallback_user_id": fallback_user_id}
    users = queries.get_users(db_session, {user_id for user_id in named.values() if user_id is not None})
    for field in PERSON_FIELDS:
        user_id = named[field]
        if field not in checked or user_id is None:
            continue
        user = users.get(user_id)
        if user is None or not _may_be_on_duty(user, programme):
            raise errors.DutyPersonNotEligible(errors={field: [errors.DutyPersonNotEligible.default_message]})
        if not user.mobile_e164:
            raise errors.DutyPersonWithoutMobile(errors={field: [errors.DutyPersonWithoutMobile.default_message]})


def _may_be_on_duty(user: AppUser, programme: Programme) -> bool:
    if not user.is_active or user.role not in ON_DUTY_ROLES:
        return False
    return user.role is Role.ADMIN or user.programme_id == programme.id


def _refuse_overlap(
    db_session: Session,
    *,
    programme_id: uuid.UUID,
    starts_at: datetime,
    ends_at: datetime,
    other_than: uuid.UUID | None = None,
) -> None:
    others = queries.list_shifts_between(db_session, programme_id=programme_id, start=starts_at, end=ends_at)
    clash = rules.first_overlap(
        (starts_at, ends_at), [(other.starts_at, other.ends_at) for other in others if other.id != other_than]
    )
    if clash is not None:
        raise errors.DutyShiftOverlaps()


def _views(db_session: Session, shifts: Sequence[DutyShift], zone: ZoneInfo) -> list[ShiftView]:
    ids = {shift.coordinator_user_id for shift in shifts} | {
        shift.fallback_user_id for shift in shifts if shift.fallback_user_id is not None
    }
    users = queries.get_users(db_session, ids)

    def person(user_id: uuid.UUID) -> Person:
        user = users[user_id]
        return Person(user_id=user.id, display_name=user.display_name, has_mobile=bool(user.mobile_e164))

    return [
        ShiftView(
            id=shift.id,
            programme_id=shift.programme_id,
            starts_at=shift.starts_at.astimezone(zone),
            ends_at=shift.ends_at.astimezone(zone),
            coordinator=person(shift.coordinator_user_id),
            fallback=None if shift.fallback_user_id is None else person(shift.fallback_user_id),
            version=shift.version,
            created_by_user_id=shift.created_by_user_id,
            created_at=shift.created_at,
            updated_at=shift.updated_at,
        )
        for shift in shifts
    ]
