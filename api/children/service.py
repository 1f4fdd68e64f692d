"""Recording children, their phone numbers and their consent to contact, and reading their records as the people
working with them see them (with their place and key worker). Every read and write is audited.

Two use cases of other domains' operations live here because they need the children: a cohort's waitlist names
children by reference, and a programme cannot drop a district a child is still recorded against."""

from __future__ import annotations

import uuid
from collections.abc import Collection, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy.orm import Session

from api.accounts.models import AppUser
from api.actors import Actor
from api.audit import service as audit
from api.changes.rules import EntityType
from api.changes.service import note_reminder_recheck, record_change
from api.children import errors, queries, rules
from api.children.models import Child, ContactConsent, PhoneNumber
from api.children.rules import ConsentGivenBy, ContactChannel, NewPhoneNumber
from api.db import use_case
from api.enrolments.models import Enrolment
from api.enrolments.queries import waitlist_positions_of
from api.enrolments.rules import EnrolmentStatus
from api.mobile_numbers import PHONE_NUMBER_ERRORS, MobileNumberProblem, normalise_mobile_number
from api.pagination import Page, Window
from api.programmes import service as programmes_service
from api.programmes.errors import CohortNotFound, DistrictInUse, ProgrammeNotFound
from api.programmes.models import Programme
from api.programmes.queries import get_cohort_or_none


@dataclass(frozen=True)
class ChildRecord:
    """A child's record as the API shows it (ChildSchema): the child, their open enrolment (if any), its cohort's
    name, their current key worker, the waitlist position while waiting, current numbers and consents in force."""

    child: Child
    enrolment: Enrolment | None
    cohort_name: str | None
    mentor: AppUser | None
    waitlist_position: int | None
    phone_numbers: Sequence[PhoneNumber]
    consents: Sequence[ContactConsent]


def _child_record_changed(db_session: Session, child: Child, now: datetime, *, contact: bool = False) -> None:
    """Every change to a child's record reaches the phones of the mentors who see the child; a change to how the
    child may be texted (`contact`: a number or a consent) also to the next reminder sweep, which re-syncs the
    reminders of the child's sessions within its horizon."""
    record_change(db_session, entity_type=EntityType.CHILD, entity_id=child.id, child_id=child.id, now=now)
    if contact:
        note_reminder_recheck(db_session, child_id=child.id, now=now)


def child_record(db_session: Session, child: Child) -> ChildRecord:
    return child_records(db_session, [child.id])[child.id]


def child_records(db_session: Session, child_ids: Collection[uuid.UUID]) -> dict[uuid.UUID, ChildRecord]:
    """Children's records, read together (the sync feed's pages); a child that is gone is absent."""
    summaries = queries.child_summaries(db_session, child_ids=child_ids)
    numbers = queries.current_phone_numbers_of(db_session, child_ids=list(summaries))
    consents = queries.consents_in_force_of(db_session, child_ids=list(summaries))
    positions = waitlist_positions_of(
        db_session, enrolments=[summary.enrolment for summary in summaries.values() if summary.enrolment]
    )
    return {
        child_id: ChildRecord(
            child=summary.child,
            enrolment=summary.enrolment,
            cohort_name=summary.cohort_name,
            mentor=summary.mentor,
            waitlist_position=positions.get(summary.enrolment.id) if summary.enrolment else None,
            phone_numbers=numbers[child_id],
            consents=list(consents[child_id].values()),
        )
        for child_id, summary in summaries.items()
    }


def visible_child(db_session: Session, *, actor: Actor, child_id: uuid.UUID) -> Child:
    child = queries.get_visible_child(db_session, actor=actor, child_id=child_id)
    if child is None:
        # Same answer for "does not exist" and "not yours", so ids cannot be probed.
        raise errors.ChildNotFound()
    return child


def _check_district(programme: Programme, district: str) -> None:
    if district not in programme.districts:
        raise errors.UnknownDistrict(errors={"district": [f"Choose one of: {', '.join(programme.districts)}."]})


def _check_date_of_birth(date_of_birth: date, *, programme: Programme, now: datetime) -> None:
    problem = rules.date_of_birth_problem(date_of_birth, today=now.astimezone(ZoneInfo(programme.time_zone)).date())
    if problem:
        raise errors.ImplausibleDateOfBirth(problem, errors={"date_of_birth": [problem]})


def _normalise(number: str, *, accept_drama_numbers: bool, field_path: tuple[str | int, ...] = ()) -> str:
    result = normalise_mobile_number(number, accept_drama_numbers=accept_drama_numbers)
    if isinstance(result, MobileNumberProblem):
        # Field errors nest the way marshmallow reports them: {"phone_numbers": {0: {"number": [...]}}}.
        field_errors: dict[str | int, object] = {"number": [result.message]}
        for key in reversed(field_path):
            field_errors = {key: field_errors}
        raise PHONE_NUMBER_ERRORS[result.reason](result.message, errors=field_errors)
    return result


@use_case
def create_child(
    db_session: Session,
    *,
    actor: Actor,
    programme_id: uuid.UUID | None,
    first_name: str,
    last_name: str,
    date_of_birth: date,
    district: str,
    school: str | None,
    phone_numbers: Sequence[NewPhoneNumber],
    accept_drama_numbers: bool,
    now: datetime,
) -> ChildRecord:
    programme_id = programme_id or actor.programme_id
    if programme_id is None:  # an admin belongs to no programme, so must name one
        raise errors.ProgrammeRequired(errors={"programme_id": [errors.ProgrammeRequired.default_message]})
    if not actor.sees_programme(programme_id):
        raise errors.ProgrammeNotYours()
    programme = db_session.get(Programme, programme_id)
    if programme is None:
        raise ProgrammeNotFound()
    district = district.strip()
    _check_district(programme, district)
    _check_date_of_birth(date_of_birth, programme=programme, now=now)
    normalised = [
        (
            _normalise(phone.number, accept_drama_numbers=accept_drama_numbers, field_path=("phone_numbers", index)),
            phone.belongs_to,
        )
        for index, phone in enumerate(phone_numbers)
    ]
    if len({number for number, _ in normalised}) != len(normalised):
        raise errors.PhoneNumberAlreadyRecorded(errors={"phone_numbers": ["A number is listed twice."]})
    reference = rules.new_child_reference()
    while queries.reference_taken(db_session, reference):
        reference = rules.new_child_reference()
    child = Child(
        reference=reference,
        programme_id=programme.id,
        first_name=first_name.strip(),
        last_name=last_name.strip(),
        date_of_birth=date_of_birth,
        district=district,
        school=school.strip() if school else None,
        created_at=now,
        updated_at=now,
    )
    db_session.add(child)
    db_session.flush()
    for number, owner in normalised:
        db_session.add(
            PhoneNumber(
                child_id=child.id,
                e164=number,
                belongs_to=owner,
                created_at=now,
                created_by_user_id=actor.user_id,
            )
        )
    _child_record_changed(db_session, child, now)
    audit.record(db_session, actor=actor, action="child.create", record=child, child_id=child.id, now=now)
    return child_record(db_session, child)


@use_case
def get_child(db_session: Session, *, actor: Actor, child_id: uuid.UUID, now: datetime) -> ChildRecord:
    child = visible_child(db_session, actor=actor, child_id=child_id)
    audit.record(db_session, actor=actor, action="child.read", record=child, child_id=child.id, now=now)
    record = child_record(db_session, child)
    return record


@use_case
def update_child(
    db_session: Session, *, actor: Actor, child_id: uuid.UUID, changes: dict[str, Any], now: datetime
) -> ChildRecord:
    child = visible_child(db_session, actor=actor, child_id=child_id)
    programme = db_session.get(Programme, child.programme_id)
    assert programme is not None
    if "district" in changes:
        changes["district"] = changes["district"].strip()
        _check_district(programme, changes["district"])
    if "date_of_birth" in changes:
        _check_date_of_birth(changes["date_of_birth"], programme=programme, now=now)
    for field in ("first_name", "last_name", "school"):
        if isinstance(changes.get(field), str):
            changes[field] = changes[field].strip() or None
    for field in ("first_name", "last_name", "date_of_birth", "district", "school"):
        if field in changes:
            setattr(child, field, changes[field])
    child.updated_at = now
    _child_record_changed(db_session, child, now)
    audit.record(db_session, actor=actor, action="child.update", record=child, child_id=child.id, now=now)
    return child_record(db_session, child)


@use_case
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
    now: datetime,
) -> Page[queries.ChildSummary]:
    page = queries.list_children(
        db_session,
        actor=actor,
        cohort_id=cohort_id,
        status=status,
        not_enrolled=not_enrolled,
        district=district,
        mentor_id=mentor_id,
        window=window,
    )
    audit.record_many(
        db_session,
        actor=actor,
        action="child.list",
        of=Child,
        records=[(summary.child.id, summary.child.id) for summary in page.items],
        now=now,
    )
    return page


@use_case
def add_phone_number(
    db_session: Session,
    *,
    actor: Actor,
    child_id: uuid.UUID,
    phone: NewPhoneNumber,
    accept_drama_numbers: bool,
    now: datetime,
) -> PhoneNumber:
    child = visible_child(db_session, actor=actor, child_id=child_id)
    number = _normalise(phone.number, accept_drama_numbers=accept_drama_numbers)
    if any(existing.e164 == number for existing in queries.current_phone_numbers(db_session, child_id=child.id)):
        raise errors.PhoneNumberAlreadyRecorded(errors={"number": [errors.PhoneNumberAlreadyRecorded.default_message]})
    phone_number = PhoneNumber(
        child_id=child.id,
        e164=number,
        belongs_to=phone.belongs_to,
        created_at=now,
        created_by_user_id=actor.user_id,
    )
    db_session.add(phone_number)
    db_session.flush()
    _child_record_changed(db_session, child, now, contact=True)
    audit.record(db_session, actor=actor, action="phone_number.create", record=phone_number, child_id=child.id, now=now)
    return phone_number


@use_case
def remove_phone_number(
    db_session: Session, *, actor: Actor, child_id: uuid.UUID, phone_number_id: uuid.UUID, now: datetime
) -> None:
    child = visible_child(db_session, actor=actor, child_id=child_id)
    phone_number = db_session.get(PhoneNumber, phone_number_id)
    if phone_number is None or phone_number.child_id != child.id or phone_number.removed_at is not None:
        raise errors.PhoneNumberNotFound()
    phone_number.removed_at = now
    _child_record_changed(db_session, child, now, contact=True)
    audit.record(db_session, actor=actor, action="phone_number.remove", record=phone_number, child_id=child.id, now=now)


@use_case
def record_consent(
    db_session: Session,
    *,
    actor: Actor,
    child_id: uuid.UUID,
    channel: ContactChannel,
    granted: bool,
    given_by: ConsentGivenBy,
    now: datetime,
) -> ContactConsent:
    """Record a decision about one channel. Granting needs a number the channel can reach; withdrawing never
    does (a withdrawal must always be recordable)."""
    child = visible_child(db_session, actor=actor, child_id=child_id)
    if granted and not any(
        rules.channel_reaches(channel, phone.belongs_to)
        for phone in queries.current_phone_numbers(db_session, child_id=child.id)
    ):
        raise errors.ConsentChannelWithoutNumber(
            errors={"channel": [errors.ConsentChannelWithoutNumber.default_message]}
        )
    consent = ContactConsent(
        child_id=child.id,
        channel=channel,
        granted=granted,
        given_by=given_by,
        recorded_by_user_id=actor.user_id,
        recorded_at=now,
    )
    db_session.add(consent)
    db_session.flush()
    _child_record_changed(db_session, child, now, contact=True)
    audit.record(db_session, actor=actor, action="contact_consent.create", record=consent, child_id=child.id, now=now)
    return consent


@use_case
def list_waitlist(
    db_session: Session, *, actor: Actor, cohort_id: uuid.UUID, now: datetime
) -> list[queries.WaitlistEntry]:
    """The children holding an offer in a cohort, then those waiting, in order (api/enrolments), by reference."""
    cohort = get_cohort_or_none(db_session, cohort_id)
    if cohort is None or not actor.sees_programme(cohort.programme_id):
        raise CohortNotFound()
    entries = queries.list_waitlist(db_session, cohort_id=cohort.id)
    audit.record_many(
        db_session,
        actor=actor,
        action="enrolment.list_waitlist",
        of=Enrolment,
        records=[(entry.enrolment.id, entry.enrolment.child_id) for entry in entries],
        now=now,
    )
    return entries


@use_case
def update_programme(
    db_session: Session,
    *,
    programme_id: uuid.UUID,
    changes: dict[str, Any],
    now: datetime,
    known_instruments: Collection[str] | None = None,
) -> Programme:
    """Change a programme's settings (api/programmes), refusing to remove a district a child is still recorded
    against: every child's district must stay one of its programme's."""
    programme = programmes_service.update_programme(
        db_session, programme_id=programme_id, changes=changes, now=now, known_instruments=known_instruments
    )
    if "districts" in changes:
        in_use = queries.districts_in_use(db_session, programme_id=programme.id, outside=programme.districts)
        if in_use:
            raise DistrictInUse(errors={"districts": [f"Still in use: {', '.join(in_use)}."]})
    return programme
