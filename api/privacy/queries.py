"""Read-only selects for the subject-access export that no domain already offers in full (with history:
removed numbers, every consent decision, voided events), and for finding records past their retention."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from api.accounts.models import AuthSession, SignInSource
from api.alerts.models import Alert
from api.audit.models import AuditEvent
from api.changes.models import ChangeEvent, ReminderRecheck
from api.children.models import ContactConsent, PhoneNumber
from api.groups.models import SeriesMember
from api.idempotency.models import IdempotencyRecord
from api.outbox.models import MessageEvent, OutboundMessage
from api.outcomes.models import OutcomeEvent
from api.schedules.models import SessionPattern
from api.sessions.models import SessionAttendee, SessionCarer
from api.wellbeing.models import CheckInInvitation, CheckInResponse, CheckInScore

# A check-in link whose token was purged keeps this in place of the nonce.
PURGED_NONCE = ""


def phone_numbers_of_child(db_session: Session, *, child_id: uuid.UUID) -> Sequence[PhoneNumber]:
    """Every number, removed ones too."""
    return db_session.scalars(
        select(PhoneNumber).where(PhoneNumber.child_id == child_id).order_by(PhoneNumber.created_at, PhoneNumber.id)
    ).all()


def consent_history(db_session: Session, *, child_id: uuid.UUID) -> Sequence[ContactConsent]:
    return db_session.scalars(
        select(ContactConsent)
        .where(ContactConsent.child_id == child_id)
        .order_by(ContactConsent.recorded_at, ContactConsent.id)
    ).all()


def attendances_of_child(db_session: Session, *, child_id: uuid.UUID) -> Sequence[SessionAttendee]:
    return db_session.scalars(
        select(SessionAttendee).where(SessionAttendee.child_id == child_id).order_by(SessionAttendee.id)
    ).all()


def series_memberships_of_child(db_session: Session, *, child_id: uuid.UUID) -> Sequence[SeriesMember]:
    """The child's rows on group series' rosters, left ones too."""
    return db_session.scalars(
        select(SeriesMember).where(SeriesMember.child_id == child_id).order_by(SeriesMember.joined_at, SeriesMember.id)
    ).all()


def carers_of_child(db_session: Session, *, child_id: uuid.UUID) -> Sequence[SessionCarer]:
    """The carers recorded as having come to a session for the child (how related; no name is kept)."""
    return db_session.scalars(
        select(SessionCarer).where(SessionCarer.child_id == child_id).order_by(SessionCarer.id)
    ).all()


def session_patterns_of_child(db_session: Session, *, child_id: uuid.UUID) -> Sequence[SessionPattern]:
    return db_session.scalars(
        select(SessionPattern).where(SessionPattern.child_id == child_id).order_by(SessionPattern.created_at)
    ).all()


def responses_of_check_ins(db_session: Session, *, check_in_ids: Sequence[uuid.UUID]) -> Sequence[CheckInResponse]:
    if not check_in_ids:
        return []
    return db_session.scalars(
        select(CheckInResponse)
        .where(CheckInResponse.check_in_id.in_(check_in_ids))
        .order_by(CheckInResponse.check_in_id, CheckInResponse.item_key)
    ).all()


def scores_of_check_ins(db_session: Session, *, check_in_ids: Sequence[uuid.UUID]) -> Sequence[CheckInScore]:
    if not check_in_ids:
        return []
    return db_session.scalars(
        select(CheckInScore)
        .where(CheckInScore.check_in_id.in_(check_in_ids))
        .order_by(CheckInScore.check_in_id, CheckInScore.kind, CheckInScore.measure)
    ).all()


def alerts_of_child(db_session: Session, *, child_id: uuid.UUID) -> Sequence[Alert]:
    return db_session.scalars(select(Alert).where(Alert.child_id == child_id).order_by(Alert.raised_at, Alert.id)).all()


def outcome_events_of_child(db_session: Session, *, child_id: uuid.UUID) -> Sequence[OutcomeEvent]:
    """Voided events too: they are still held."""
    return db_session.scalars(
        select(OutcomeEvent)
        .where(OutcomeEvent.child_id == child_id)
        .order_by(OutcomeEvent.occurred_on, OutcomeEvent.recorded_at, OutcomeEvent.id)
    ).all()


def messages_of_child(db_session: Session, *, child_id: uuid.UUID) -> Sequence[OutboundMessage]:
    """SMS about the child, to their own numbers and their parents' or carers'."""
    return db_session.scalars(
        select(OutboundMessage)
        .where(OutboundMessage.child_id == child_id)
        .order_by(OutboundMessage.created_at, OutboundMessage.id)
    ).all()


def message_events(db_session: Session, *, message_ids: Sequence[uuid.UUID]) -> Sequence[MessageEvent]:
    if not message_ids:
        return []
    return db_session.scalars(
        select(MessageEvent).where(MessageEvent.message_id.in_(message_ids)).order_by(MessageEvent.id)
    ).all()


def change_events_of_child(db_session: Session, *, child_id: uuid.UUID) -> Sequence[ChangeEvent]:
    return db_session.scalars(
        select(ChangeEvent).where(ChangeEvent.child_id == child_id).order_by(ChangeEvent.id)
    ).all()


def reminder_rechecks_of_child(db_session: Session, *, child_id: uuid.UUID) -> Sequence[ReminderRecheck]:
    return db_session.scalars(
        select(ReminderRecheck).where(ReminderRecheck.child_id == child_id).order_by(ReminderRecheck.id)
    ).all()


# --- Past their retention -----------------------------------------------------------------------------------


def ended_sign_ins(db_session: Session, *, before: datetime, limit: int) -> Sequence[uuid.UUID]:
    """Sign-ins that expired or were revoked before the moment."""
    return db_session.scalars(
        select(AuthSession.id)
        .where(or_(AuthSession.expires_at < before, AuthSession.revoked_at < before))
        .order_by(AuthSession.id)
        .limit(limit)
    ).all()


def old_sign_in_sources(db_session: Session, *, before: datetime, limit: int) -> Sequence[uuid.UUID]:
    """The lock-out's rows of an email and a client address last tried before the moment (and not locked past it)."""
    return db_session.scalars(
        select(SignInSource.id)
        .where(
            SignInSource.last_attempt_at < before,
            or_(SignInSource.locked_until.is_(None), SignInSource.locked_until < before),
        )
        .order_by(SignInSource.id)
        .limit(limit)
    ).all()


def old_idempotency_records(db_session: Session, *, before: datetime, limit: int) -> Sequence[uuid.UUID]:
    return db_session.scalars(
        select(IdempotencyRecord.id)
        .where(IdempotencyRecord.created_at < before)
        .order_by(IdempotencyRecord.id)
        .limit(limit)
    ).all()


def finished_links_with_tokens(db_session: Session, *, before: datetime, limit: int) -> Sequence[uuid.UUID]:
    """Check-in links used, withdrawn or expired before the moment whose token is still kept."""
    return db_session.scalars(
        select(CheckInInvitation.id)
        .where(
            CheckInInvitation.token_nonce != PURGED_NONCE,
            or_(
                CheckInInvitation.completed_at < before,
                CheckInInvitation.revoked_at < before,
                CheckInInvitation.expires_at < before,
            ),
        )
        .order_by(CheckInInvitation.id)
        .limit(limit)
    ).all()


def old_audit_events(db_session: Session, *, before: datetime, limit: int) -> Sequence[uuid.UUID]:
    return db_session.scalars(
        select(AuditEvent.id).where(AuditEvent.occurred_at < before).order_by(AuditEvent.id).limit(limit)
    ).all()
