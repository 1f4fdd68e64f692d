"""Invitations: one-time links to a check-in, sent to the child's own mobile by SMS.

A link is queued in the outbox in the same transaction as its invitation (the SMS, with the link, is made when it
is sent); it goes only to the child's own number, and only while the child's consent to SMS is in force. Every
read and write of a child's invitations is audited.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy.orm import Session

from api.actors import Actor
from api.audit import service as audit
from api.children.models import Child, PhoneNumber
from api.children.service import visible_child
from api.db import step, use_case
from api.outbox import service as outbox
from api.outbox.queries import messages_for_invitation
from api.outbox.rules import MessagePurpose, RecipientType, check_in_link_key
from api.pagination import Page, Window
from api.programmes.models import Programme
from api.wellbeing import errors, links, queries, rules
from api.wellbeing.links import InvitationState
from api.wellbeing.models import CheckInInvitation
from api.wellbeing.rules import Instrument
from api.wellbeing.schedule import DueInvitation, InvitationReason


@dataclass(frozen=True)
class InvitationRecord:
    """An invitation as the API shows it: what it asks, why, its state now, and how many SMS were queued for it."""

    id: uuid.UUID
    child_id: uuid.UUID
    instrument_keys: list[str]
    reason: InvitationReason
    state: InvitationState
    created_at: datetime
    created_by_user_id: uuid.UUID | None
    expires_at: datetime
    completed_at: datetime | None
    revoked_at: datetime | None
    messages: int


def state_of(invitation: CheckInInvitation, now: datetime) -> InvitationState:
    return links.invitation_state(
        expires_at=invitation.expires_at,
        completed_at=invitation.completed_at,
        revoked_at=invitation.revoked_at,
        now=now,
    )


def _invitation_record(db_session: Session, invitation: CheckInInvitation, now: datetime) -> InvitationRecord:
    return InvitationRecord(
        id=invitation.id,
        child_id=invitation.child_id,
        instrument_keys=invitation.instrument_keys,
        reason=invitation.reason,
        state=state_of(invitation, now),
        created_at=invitation.created_at,
        created_by_user_id=invitation.created_by_user_id,
        expires_at=invitation.expires_at,
        completed_at=invitation.completed_at,
        revoked_at=invitation.revoked_at,
        messages=len(messages_for_invitation(db_session, invitation_id=invitation.id)),
    )


@use_case
def invite_check_in(
    db_session: Session,
    *,
    actor: Actor,
    instruments: Mapping[str, Instrument],
    child_id: uuid.UUID,
    instrument_keys: list[str] | None,
    secret_key: str,
    now: datetime,
    spend_sms_budget: Callable[[], None] = lambda: None,
    scheduled: DueInvitation | None = None,
) -> InvitationRecord:
    """Send the child a one-time link now (queued in the outbox with the invitation).

    `scheduled` records it as the routine's occasion due now (routine.due_occasion_for), so the routine does not
    send another.

    `spend_sms_budget` counts the SMS against the sender's rate limit, and raises if it is spent: called once
    everything else is checked, just before the message is queued, so a refused request costs nothing and
    parallel requests cannot all pass a check made before any of them counted."""
    child = visible_child(db_session, actor=actor, child_id=child_id)
    programme = db_session.get_one(Programme, child.programme_id)
    keys = rules.link_instruments(
        instruments,
        instrument_keys or programme.check_in_instruments,
        age=queries.child_age(db_session, child, now),
        has_active_goals=bool(queries.active_goals(db_session, child_id=child.id)),
    )
    phone = queries.child_mobile_for_links(db_session, child_id=child.id)
    if phone is None:
        raise errors.NoMobileForLink()
    spend_sms_budget()
    invitation = create_invitation(
        db_session,
        child=child,
        phone=phone,
        instrument_keys=keys,
        reason=scheduled.reason if scheduled else InvitationReason.ON_REQUEST,
        occasion=scheduled.occasion if scheduled else None,
        created_by=actor,
        link_hours=programme.check_in_link_hours,
        secret_key=secret_key,
        now=now,
    )
    return _invitation_record(db_session, invitation, now)


@use_case
def list_invitations(
    db_session: Session, *, actor: Actor, child_id: uuid.UUID, window: Window, now: datetime
) -> Page[InvitationRecord]:
    child = visible_child(db_session, actor=actor, child_id=child_id)
    page = queries.invitations_of_child(db_session, child_id=child.id, window=window)
    rows = page.items
    audit.record_many(
        db_session,
        actor=actor,
        action="check_in_invitation.list",
        of=CheckInInvitation,
        records=[(row.id, row.child_id) for row in rows],
        now=now,
    )
    return Page([_invitation_record(db_session, row, now) for row in rows], page.total)


@use_case
def revoke_invitation(
    db_session: Session, *, actor: Actor, invitation_id: uuid.UUID, now: datetime
) -> InvitationRecord:
    """Withdraw a link that has not been used (sent to the wrong phone, say): it stops working at once."""
    invitation = queries.get_visible_invitation(db_session, actor=actor, invitation_id=invitation_id, for_update=True)
    if invitation is None:
        raise errors.InvitationNotFound()
    if state_of(invitation, now) is not InvitationState.OPEN:
        raise errors.InvitationNotOpen()
    invitation.revoked_at = now
    audit.record(
        db_session,
        actor=actor,
        action="check_in_invitation.revoke",
        record=invitation,
        child_id=invitation.child_id,
        now=now,
    )
    return _invitation_record(db_session, invitation, now)


def link_for(db_session: Session, *, invitation_id: uuid.UUID, secret_key: str) -> str:
    """The path of an invitation's link, derived again from its nonce (for the SMS dispatcher and the demo)."""
    invitation = db_session.get_one(CheckInInvitation, invitation_id)
    return links.link_path(links.link_token(secret_key, invitation.token_nonce))


@step
def create_invitation(
    db_session: Session,
    *,
    child: Child,
    phone: PhoneNumber,
    instrument_keys: list[str],
    reason: InvitationReason,
    occasion: str | None,
    created_by: Actor | None,
    link_hours: int,
    secret_key: str,
    now: datetime,
) -> CheckInInvitation:
    """An invitation and its SMS in the outbox, in the caller's transaction."""
    nonce = links.new_nonce()
    invitation = CheckInInvitation(
        child_id=child.id,
        token_nonce=nonce,
        token_hash=links.token_hash(links.link_token(secret_key, nonce)),
        instrument_keys=instrument_keys,
        reason=reason,
        occasion=occasion,
        created_at=now,
        created_by_user_id=created_by.user_id if created_by else None,
        expires_at=now + timedelta(hours=link_hours),
    )
    db_session.add(invitation)
    db_session.flush()
    # The SMS goes out through the outbox in the same transaction; its text (with the link) is made when sent.
    outbox.queue_message(
        db_session,
        dedupe_key=check_in_link_key(invitation.id),
        purpose=MessagePurpose.CHECK_IN_LINK,
        recipient_type=RecipientType.CHILD,
        child_id=child.id,
        phone_number_id=phone.id,
        check_in_invitation_id=invitation.id,
        send_after=now,
        drop_after=invitation.expires_at,
        now=now,
    )
    audit.record(
        db_session,
        actor=created_by,
        action="check_in_invitation.create",
        record=invitation,
        child_id=child.id,
        now=now,
    )
    return invitation
