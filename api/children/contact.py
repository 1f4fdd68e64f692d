"""A child's SMS consent and numbers as the SMS provider's answers change them, with no member of staff involved.

A texted STOP or START (or the provider's opt-out error) is a consent decision about the child's record, made by
the person who holds the number; an answer saying the number cannot take SMS (it does not exist, or is a
landline, where a message would be read aloud in the home) blocks that number. Each is written like the change
staff make through the children's endpoints: a change the mentors' phones sync, and an audit row, here with no
actor. The SMS domain (api/sms) decides when; these steps write, in its transaction.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from api.audit import service as audit
from api.changes.rules import EntityType
from api.changes.service import note_reminder_recheck, record_change
from api.children.models import ContactConsent, PhoneNumber
from api.children.queries import consents_in_force
from api.children.rules import ConsentGivenBy, ContactChannel, PhoneOwner
from api.db import step


def numbers_in_use(db_session: Session, *, e164: str) -> Sequence[PhoneNumber]:
    """Every current number recorded as this one, for every child it belongs to."""
    return db_session.scalars(
        select(PhoneNumber).where(PhoneNumber.e164 == e164, PhoneNumber.removed_at.is_(None))
    ).all()


def sms_channel_of(number: PhoneNumber) -> ContactChannel:
    return ContactChannel.SMS_TO_CHILD if number.belongs_to is PhoneOwner.CHILD else ContactChannel.SMS_TO_CARER


def withdrawn_by_reply(db_session: Session, number: PhoneNumber) -> bool:
    """The SMS consent in force for this number was withdrawn by a reply (no user recorded it), not by staff."""
    consent = consents_in_force(db_session, child_id=number.child_id).get(sms_channel_of(number))
    return consent is not None and not consent.granted and consent.recorded_by_user_id is None


@step
def record_reply_consent(db_session: Session, *, number: PhoneNumber, granted: bool, now: datetime) -> ContactConsent:
    """Record the SMS consent decision a reply from this number made (STOP withdraws, START restores)."""
    given_by = {
        PhoneOwner.CHILD: ConsentGivenBy.CHILD,
        PhoneOwner.PARENT: ConsentGivenBy.PARENT,
        PhoneOwner.CARER: ConsentGivenBy.CARER,
    }[number.belongs_to]
    consent = ContactConsent(
        child_id=number.child_id,
        channel=sms_channel_of(number),
        granted=granted,
        given_by=given_by,
        recorded_by_user_id=None,
        recorded_at=now,
    )
    db_session.add(consent)
    db_session.flush()
    # Consents are part of the child's record on the mentors' phones, as when staff record one, and decide who the
    # next reminder sweep reminds (a START brings the child's reminders back).
    record_change(
        db_session, entity_type=EntityType.CHILD, entity_id=number.child_id, child_id=number.child_id, now=now
    )
    note_reminder_recheck(db_session, child_id=number.child_id, now=now)
    # The row staff write when they record a consent, with no actor: a texted STOP or START (or the
    # provider's opt-out error) comes from no user.
    audit.record(
        db_session,
        actor=None,
        action="contact_consent.create",
        record=consent,
        child_id=number.child_id,
        now=now,
    )
    return consent


@step
def block_number(db_session: Session, *, number: PhoneNumber, reason: str, now: datetime) -> None:
    """Send nothing more to this number (once blocked it stays so, with its first reason)."""
    if number.sms_blocked_at is not None:
        return
    number.sms_blocked_at = now
    number.sms_blocked_reason = reason
    record_change(
        db_session, entity_type=EntityType.CHILD, entity_id=number.child_id, child_id=number.child_id, now=now
    )
    # A change to the child's record made by no one (the provider's answer): audited with no actor.
    audit.record(
        db_session,
        actor=None,
        action="phone_number.block",
        record=number,
        child_id=number.child_id,
        now=now,
    )
