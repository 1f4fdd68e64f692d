"""Setting up programmes and cohorts (admins), and reading them (anyone in the programme)."""

from __future__ import annotations

import uuid
from collections.abc import Collection, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from api.actors import Actor
from api.changes.service import note_reminder_recheck
from api.db import use_case
from api.programmes import errors, queries, rules
from api.programmes.models import Cohort, Programme
from api.programmes.rules import DAY_BEFORE_AT, HOURS_BEFORE

# A new programme's check-in routine unless the admin says otherwise: a link at enrolment, every 4 weeks, at the end.
NEW_PROGRAMME_ROUTINE: dict[str, Any] = {
    "check_in_every_weeks": 4,
    "reminder_day_before_at": DAY_BEFORE_AT,
    "reminder_hours_before": HOURS_BEFORE,
}
CHECK_IN_ROUTINE_FIELDS = (
    "reminder_day_before_at",
    "reminder_hours_before",
    "check_in_instruments",
    "check_in_at_enrolment",
    "check_in_every_weeks",
    "check_in_at_end",
    "check_in_link_hours",
    "check_in_help_text",
)


def get_programme(db_session: Session, *, actor: Actor, programme_id: uuid.UUID) -> Programme:
    programme = queries.get_programme_or_none(db_session, programme_id)
    if programme is None or not actor.sees_programme(programme.id):
        raise errors.ProgrammeNotFound()
    return programme


def list_programmes(db_session: Session, *, actor: Actor) -> Sequence[Programme]:
    return queries.list_programmes(db_session, actor=actor)


def list_cohorts(db_session: Session, *, actor: Actor, programme_id: uuid.UUID) -> Sequence[Cohort]:
    get_programme(db_session, actor=actor, programme_id=programme_id)
    return queries.list_cohorts(db_session, programme_id=programme_id)


def get_cohort(db_session: Session, *, actor: Actor, cohort_id: uuid.UUID) -> Cohort:
    cohort = queries.get_cohort_or_none(db_session, cohort_id)
    if cohort is None or not actor.sees_programme(cohort.programme_id):
        raise errors.CohortNotFound()
    return cohort


@use_case
def create_programme(
    db_session: Session,
    *,
    name: str,
    time_zone: str,
    offer_lapse_hours: int,
    districts: list[str],
    session_activities: list[str],
    now: datetime,
    known_instruments: Collection[str] | None = None,
    **check_in_routine: Any,
) -> Programme:
    if not rules.is_known_time_zone(time_zone):
        raise errors.UnknownTimeZone(errors={"time_zone": [errors.UnknownTimeZone.default_message]})
    name = name.strip()
    if db_session.scalar(select(Programme.id).where(Programme.name == name)) is not None:
        raise errors.ProgrammeNameTaken()
    programme = Programme(
        name=name,
        time_zone=time_zone,
        offer_lapse_hours=offer_lapse_hours,
        districts=_clean_districts(districts),
        session_activities=_clean_list(session_activities),
        created_at=now,
    )
    _set_check_in_routine(programme, {**NEW_PROGRAMME_ROUTINE, **check_in_routine}, known_instruments)
    db_session.add(programme)
    return programme


def _set_check_in_routine(
    programme: Programme, changes: dict[str, Any], known_instruments: Collection[str] | None
) -> None:
    """`known_instruments`: the deployment's instrument keys (None only for trusted callers such as the demo)."""
    instruments = changes.get("check_in_instruments")
    if instruments is not None and known_instruments is not None:
        unknown = sorted(set(instruments) - set(known_instruments))
        if unknown:
            choices = ", ".join(sorted(known_instruments))
            message = f"Unknown: {', '.join(unknown)}. Choose from {choices}."
            raise errors.UnknownInstrument(errors={"check_in_instruments": [message]})
    if instruments is not None:
        changes = {**changes, "check_in_instruments": list(dict.fromkeys(instruments))}
    if "check_in_help_text" in changes:
        help_text = (changes["check_in_help_text"] or "").strip()
        changes = {**changes, "check_in_help_text": help_text or None}
    for name in CHECK_IN_ROUTINE_FIELDS:
        if name in changes:
            setattr(programme, name, changes[name])
    if changes.get("alert_thresholds"):
        programme.alert_thresholds = rules.overridden_thresholds(
            programme.alert_thresholds, changes["alert_thresholds"]
        )


@use_case
def update_programme(
    db_session: Session,
    *,
    programme_id: uuid.UUID,
    changes: dict[str, Any],
    now: datetime,
    known_instruments: Collection[str] | None = None,
) -> Programme:
    """Change a programme's settings. Districts still recorded on a child are refused by the use case the API
    calls, api.children.service.update_programme, which knows the children and calls this."""
    programme = queries.get_programme_or_none(db_session, programme_id)
    if programme is None:
        raise errors.ProgrammeNotFound()
    if "name" in changes:
        name = changes["name"].strip()
        clash = select(Programme.id).where(Programme.name == name, Programme.id != programme.id)
        if db_session.scalar(clash) is not None:
            raise errors.ProgrammeNameTaken()
        programme.name = name
    if "offer_lapse_hours" in changes:
        programme.offer_lapse_hours = changes["offer_lapse_hours"]
    reminder_times = (programme.reminder_day_before_at, programme.reminder_hours_before)
    _set_check_in_routine(programme, changes, known_instruments)
    if (programme.reminder_day_before_at, programme.reminder_hours_before) != reminder_times:
        # The reminders of the programme's sessions within the horizon follow at the next reminder sweep.
        note_reminder_recheck(db_session, programme_id=programme.id, now=now)
    if "session_activities" in changes:
        # Sessions already logged keep the activities they were logged with.
        programme.session_activities = _clean_list(changes["session_activities"])
    if "districts" in changes:
        programme.districts = _clean_districts(changes["districts"])
    return programme


@use_case
def add_cohort(
    db_session: Session,
    *,
    programme_id: uuid.UUID,
    name: str,
    places: int,
    max_sessions_per_week: int,
    planned_weeks: int,
    now: datetime,
    kind: rules.CohortKind = rules.CohortKind.ONE_TO_ONE,
) -> Cohort:
    if queries.get_programme_or_none(db_session, programme_id) is None:
        raise errors.ProgrammeNotFound()
    name = name.strip()
    _refuse_cohort_name_clash(db_session, programme_id=programme_id, name=name)
    cohort = Cohort(
        programme_id=programme_id,
        name=name,
        kind=kind,
        places=places,
        max_sessions_per_week=max_sessions_per_week,
        planned_weeks=planned_weeks,
        created_at=now,
    )
    db_session.add(cohort)
    return cohort


@use_case
def update_cohort(db_session: Session, *, cohort_id: uuid.UUID, changes: dict[str, Any]) -> Cohort:
    """Rename a cohort or change its intensity or kind, holding its row lock. Its places are who holds them: those
    are changed by api.enrolments.service.update_cohort (the use case the API calls), which calls this first and
    refuses a change of kind once a child has been enrolled in the cohort."""
    cohort = queries.select_cohort_for_update(db_session, cohort_id)
    if cohort is None:
        raise errors.CohortNotFound()
    if "name" in changes:
        name = changes["name"].strip()
        _refuse_cohort_name_clash(db_session, programme_id=cohort.programme_id, name=name, cohort_id=cohort.id)
        cohort.name = name
    for field in ("kind", "max_sessions_per_week", "planned_weeks"):
        if field in changes:
            setattr(cohort, field, changes[field])
    return cohort


def _refuse_cohort_name_clash(
    db_session: Session, *, programme_id: uuid.UUID, name: str, cohort_id: uuid.UUID | None = None
) -> None:
    query = select(func.count()).where(Cohort.programme_id == programme_id, Cohort.name == name)
    if cohort_id is not None:
        query = query.where(Cohort.id != cohort_id)
    if db_session.scalar(query):
        raise errors.CohortNameTaken()


def _clean_districts(districts: list[str]) -> list[str]:
    return sorted({district.strip() for district in districts if district.strip()})


def _clean_list(values: list[str]) -> list[str]:
    """Trimmed, without repeats, in the order given."""
    return list(dict.fromkeys(value.strip() for value in values if value.strip()))
