"""Reading enrolments: one, or a page of them, each with its place in the waitlist while it waits (audited); and a
programme's places per cohort, used against funded (small numbers suppressed for commissioners).

The use cases that change an enrolment (service.py) answer with it through `with_position`."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy.orm import Session

from api.actors import Actor, Role
from api.audit import service as audit
from api.db import use_case
from api.disclosure import is_suppressed, suppress
from api.enrolments import errors, queries, rules
from api.enrolments.models import Enrolment
from api.enrolments.rules import EnrolmentStatus
from api.pagination import Page, Window
from api.programmes.errors import ProgrammeNotFound
from api.programmes.models import Programme
from api.programmes.queries import list_cohorts
from api.programmes.rules import CohortKind


@dataclass(frozen=True)
class EnrolmentWithPosition:
    """An enrolment as the API shows it: with its place in the waitlist while it waits (EnrolmentSchema)."""

    enrolment: Enrolment
    waitlist_position: int | None


@dataclass(frozen=True)
class PlacesSummary:
    cohort_id: uuid.UUID
    cohort_name: str
    cohort_kind: CohortKind
    places: int
    active: int | str
    offered: int | str
    free: int | None
    waitlisted: int | str


def get_places(
    db_session: Session, *, actor: Actor, programme_id: uuid.UUID, suppression_threshold: int
) -> list[PlacesSummary]:
    """Places used against places funded, per cohort. Commissioners get small numbers suppressed."""
    if not actor.sees_programme(programme_id) or db_session.get(Programme, programme_id) is None:
        raise ProgrammeNotFound()
    summaries = []
    for cohort in list_cohorts(db_session, programme_id=programme_id):
        counts = queries.count_by_status(db_session, cohort_id=cohort.id)
        active, offered = counts[EnrolmentStatus.ACTIVE], counts[EnrolmentStatus.OFFERED]
        waitlisted = counts[EnrolmentStatus.WAITLISTED]
        free: int | None = rules.free_places(places=cohort.places, taken=active + offered)
        if actor.role is not Role.COMMISSIONER:
            summaries.append(
                PlacesSummary(cohort.id, cohort.name, cohort.kind, cohort.places, active, offered, free, waitlisted)
            )
            continue
        threshold = suppression_threshold
        if is_suppressed(active, threshold=threshold) or is_suppressed(offered, threshold=threshold):
            free = None
        summaries.append(
            PlacesSummary(
                cohort.id,
                cohort.name,
                cohort.kind,
                cohort.places,
                active=suppress(active, threshold=threshold),
                offered=suppress(offered, threshold=threshold),
                free=free,
                waitlisted=suppress(waitlisted, threshold=threshold),
            )
        )
    return summaries


def with_position(db_session: Session, enrolment: Enrolment) -> EnrolmentWithPosition:
    return EnrolmentWithPosition(enrolment, queries.waitlist_position(db_session, enrolment=enrolment))


@use_case
def get_enrolment(
    db_session: Session, *, actor: Actor, enrolment_id: uuid.UUID, now: datetime
) -> EnrolmentWithPosition:
    enrolment = get_enrolment_for_staff(db_session, actor=actor, enrolment_id=enrolment_id)
    audit.record(
        db_session, actor=actor, action="enrolment.read", record=enrolment, child_id=enrolment.child_id, now=now
    )
    return with_position(db_session, enrolment)


@use_case
def list_enrolments(
    db_session: Session,
    *,
    actor: Actor,
    cohort_id: uuid.UUID | None,
    child_id: uuid.UUID | None,
    status: EnrolmentStatus | None,
    window: Window,
    now: datetime,
) -> Page[EnrolmentWithPosition]:
    page = queries.list_enrolments(
        db_session,
        programme_id=actor.programme_scope,
        cohort_id=cohort_id,
        child_id=child_id,
        status=status,
        window=window,
    )
    audit.record_many(
        db_session,
        actor=actor,
        action="enrolment.list",
        of=Enrolment,
        records=[(enrolment.id, enrolment.child_id) for enrolment in page.items],
        now=now,
    )
    positions = queries.waitlist_positions_of(db_session, enrolments=page.items)
    return Page([EnrolmentWithPosition(enrolment, positions.get(enrolment.id)) for enrolment in page.items], page.total)


def get_enrolment_for_staff(db_session: Session, *, actor: Actor, enrolment_id: uuid.UUID) -> Enrolment:
    """The enrolment, if it is of a programme the caller works on (any, for an admin); else 404."""
    enrolment = queries.get_enrolment_in_programme(
        db_session, enrolment_id=enrolment_id, programme_id=actor.programme_scope
    )
    if enrolment is None:
        raise errors.EnrolmentNotFound()
    return enrolment
