"""Reading children, always through the caller's visibility: the rule that decides what anyone may see."""

from __future__ import annotations

import functools
import uuid
from collections.abc import Collection, Sequence
from dataclasses import dataclass

from sqlalchemy import ColumnElement, Select, false, select, true
from sqlalchemy.orm import Session

from api.accounts.models import AppUser
from api.actors import Actor, Role
from api.caseloads.models import Allocation
from api.children.models import Child, ContactConsent, PhoneNumber
from api.children.rules import ContactChannel
from api.enrolments.models import Enrolment
from api.enrolments.queries import WAITLIST_ORDER, waitlist_positions
from api.enrolments.rules import OPEN, EnrolmentStatus
from api.pagination import Page, Window, page_of_rows
from api.programmes.models import Cohort


def visible_to(actor: Actor) -> ColumnElement[bool]:
    """Which children an actor may see: admins all; coordinators their programme's; mentors only the
    children currently allocated to them; commissioners none (they get aggregates elsewhere). The same rule, read
    for one place, decides who may plan sessions for it (api/sessions/rules.may_plan_for); change both together."""
    if actor.role is Role.ADMIN:
        return true()
    if actor.role is Role.COORDINATOR:
        return Child.programme_id == actor.programme_id
    if actor.role is Role.MENTOR:
        allocated = (
            select(Enrolment.child_id)
            .join(Allocation, Allocation.enrolment_id == Enrolment.id)
            .where(
                Allocation.mentor_id == actor.user_id,
                Allocation.ended_at.is_(None),
                Enrolment.status.in_(OPEN),
            )
        )
        return Child.id.in_(allocated)
    return false()


def get_visible_child(db_session: Session, *, actor: Actor, child_id: uuid.UUID) -> Child | None:
    return db_session.scalar(select(Child).where(Child.id == child_id, visible_to(actor)))


@dataclass(frozen=True)
class ChildSummary:
    """A child with their open enrolment (if any), its cohort's name and their current key worker."""

    child: Child
    enrolment: Enrolment | None
    cohort_name: str | None
    mentor: AppUser | None


@functools.cache
def _summary_query() -> Select[Child, Enrolment | None, str | None, AppUser | None]:
    """Built once (a select is immutable: each caller's .where() makes a new one); building its joins anew cost the
    busy caseload list several per cent of its CPU."""
    return (
        select(Child, Enrolment, Cohort.name, AppUser)
        .outerjoin(Enrolment, (Enrolment.child_id == Child.id) & Enrolment.status.in_(OPEN))
        .outerjoin(Cohort, Cohort.id == Enrolment.cohort_id)
        .outerjoin(Allocation, (Allocation.enrolment_id == Enrolment.id) & Allocation.ended_at.is_(None))
        .outerjoin(AppUser, AppUser.id == Allocation.mentor_id)
    )


def list_children(
    db_session: Session,
    *,
    actor: Actor,
    cohort_id: uuid.UUID | None,
    status: EnrolmentStatus | None,
    not_enrolled: bool,
    district: str | None,
    mentor_id: uuid.UUID | None,
    window: Window,
) -> Page[ChildSummary]:
    query = _summary_query().where(visible_to(actor))
    if cohort_id is not None:
        query = query.where(Enrolment.cohort_id == cohort_id)
    if status is not None:
        query = query.where(Enrolment.status == status)
    if not_enrolled:
        query = query.where(Enrolment.id.is_(None))
    if district is not None:
        query = query.where(Child.district == district)
    if mentor_id is not None:
        query = query.where(Allocation.mentor_id == mentor_id)
    page = page_of_rows(db_session, query, order_by=(Child.reference,), window=window)
    return Page([ChildSummary(*row) for row in page.items], page.total)


def child_summaries(db_session: Session, *, child_ids: Collection[uuid.UUID]) -> dict[uuid.UUID, ChildSummary]:
    """Children with their open enrolment, cohort name and key worker, in one statement, by child id (a child that
    is gone is absent)."""
    rows = db_session.execute(_summary_query().where(Child.id.in_(child_ids))).all() if child_ids else []
    return {row[0].id: ChildSummary(*row) for row in rows}


def current_phone_numbers_of(
    db_session: Session, *, child_ids: Collection[uuid.UUID]
) -> dict[uuid.UUID, list[PhoneNumber]]:
    """current_phone_numbers for many children in one statement, by child id."""
    found: dict[uuid.UUID, list[PhoneNumber]] = {child_id: [] for child_id in child_ids}
    if child_ids:
        for number in db_session.scalars(
            select(PhoneNumber)
            .where(PhoneNumber.child_id.in_(child_ids), PhoneNumber.removed_at.is_(None))
            .order_by(PhoneNumber.created_at)
        ):
            found[number.child_id].append(number)
    return found


def consents_in_force_of(
    db_session: Session, *, child_ids: Collection[uuid.UUID]
) -> dict[uuid.UUID, dict[ContactChannel, ContactConsent]]:
    """consents_in_force for many children in one statement, by child id."""
    found: dict[uuid.UUID, dict[ContactChannel, ContactConsent]] = {child_id: {} for child_id in child_ids}
    if child_ids:
        for consent in db_session.scalars(
            select(ContactConsent)
            .where(ContactConsent.child_id.in_(child_ids))
            .order_by(ContactConsent.recorded_at, ContactConsent.id)
        ):
            found[consent.child_id][consent.channel] = consent
    return found


def current_phone_numbers(db_session: Session, *, child_id: uuid.UUID) -> Sequence[PhoneNumber]:
    return db_session.scalars(
        select(PhoneNumber)
        .where(PhoneNumber.child_id == child_id, PhoneNumber.removed_at.is_(None))
        .order_by(PhoneNumber.created_at)
    ).all()


def consents_in_force(db_session: Session, *, child_id: uuid.UUID) -> dict[ContactChannel, ContactConsent]:
    """The latest decision per channel."""
    history = db_session.scalars(
        select(ContactConsent)
        .where(ContactConsent.child_id == child_id)
        .order_by(ContactConsent.recorded_at, ContactConsent.id)
    ).all()
    return {consent.channel: consent for consent in history}


def reference_taken(db_session: Session, reference: str) -> bool:
    return db_session.scalar(select(Child.id).where(Child.reference == reference)) is not None


def districts_in_use(db_session: Session, *, programme_id: uuid.UUID, outside: Collection[str]) -> list[str]:
    """The districts, other than these, that children of the programme are recorded against."""
    return sorted(
        db_session.scalars(
            select(Child.district).where(Child.programme_id == programme_id, Child.district.not_in(outside)).distinct()
        )
    )


@dataclass(frozen=True)
class WaitlistEntry:
    enrolment: Enrolment
    position: int | None
    child_reference: str


def list_waitlist(db_session: Session, *, cohort_id: uuid.UUID) -> list[WaitlistEntry]:
    """Children offered a place first (they hold one), then everyone waiting, in waitlist order."""
    positions = waitlist_positions([cohort_id]).subquery()
    rows = db_session.execute(
        select(Enrolment, positions.c.position, Child.reference)
        .join(Child, Child.id == Enrolment.child_id)
        .outerjoin(positions, positions.c.id == Enrolment.id)
        .where(
            Enrolment.cohort_id == cohort_id,
            Enrolment.status.in_([EnrolmentStatus.OFFERED, EnrolmentStatus.WAITLISTED]),
        )
        .order_by(Enrolment.status.asc(), *WAITLIST_ORDER)  # 'offered' sorts before 'waitlisted'
    ).all()
    return [WaitlistEntry(enrolment, position, reference) for enrolment, position, reference in rows]
