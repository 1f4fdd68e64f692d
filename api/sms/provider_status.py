"""What the provider says of a message: its status moves the message forward only, and an error meaning the number
cannot take SMS stops anything more going to it. Used by the status callback, by the dispatcher when it records a
send and by reconciliation when it finds one; all steps, in the caller's transaction.

A callback can arrive before the send it reports is recorded (Twilio's answer to the send was lost, or came after
Twilio had already delivered the message and called back). It is kept as an early report and applied once a send
is recorded or found with its provider id, or by the next reconciliation if the two crossed in flight.
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from api.alerts.rules import AlertKind
from api.alerts.service import open_alert_about, raise_alert
from api.children import contact
from api.children.models import Child, PhoneNumber
from api.children.rules import PhoneOwner
from api.db import step
from api.outbox.models import OutboundMessage
from api.outbox.rules import STATE_RANK, can_move
from api.outbox.service import move_message
from api.sms import rules
from api.sms.models import EarlyStatusReport
from notifications.port import OPT_OUT_ERROR_CODE

log = logging.getLogger(__name__)


@step
def apply_provider_status(
    db_session: Session,
    message: OutboundMessage,
    *,
    status: str,
    error_code: int | None,
    now: datetime,
    reason: str | None = None,
) -> None:
    """Move the message to the provider's status if that is forward; a status we do not know changes nothing."""
    new_state = rules.PROVIDER_STATUS.get(status)
    if new_state is None or not can_move(message.state, new_state):
        return
    message.provider_status = status
    message.error_code = error_code or message.error_code
    if error_code:
        reason = f"provider error {error_code}"
    move_message(db_session, message, new_state, reason, now)
    if error_code in rules.UNREACHABLE_NUMBER_ERRORS:
        # The number does not exist, or is a landline (SMS read aloud in the home): send nothing more to it.
        stop_sending_to_number(db_session, message, error_code, now)


@step
def keep_early_report(
    db_session: Session, *, provider_id: str, status: str, error_code: int | None, now: datetime
) -> None:
    """A status for a provider id no message carries yet, kept until a send is recorded or found with it."""
    if provider_id and status in rules.PROVIDER_STATUS:
        db_session.add(
            EarlyStatusReport(provider_id=provider_id, status=status, error_code=error_code, received_at=now)
        )


@step
def apply_early_reports(db_session: Session, message: OutboundMessage, now: datetime) -> None:
    """Apply, forward only, the reports that arrived for the message's provider id before its send was recorded."""
    if message.provider_id is None:
        return
    reports = db_session.scalars(
        select(EarlyStatusReport).where(EarlyStatusReport.provider_id == message.provider_id)
    ).all()
    # Latest state last, so each report can only move the message on (the order they arrived in is no guide).
    for report in sorted(reports, key=lambda report: (STATE_RANK[rules.PROVIDER_STATUS[report.status]], report.id)):
        apply_provider_status(
            db_session,
            message,
            status=report.status,
            error_code=report.error_code,
            now=now,
            reason="reported by the provider before the send was recorded",
        )
    if reports:
        db_session.execute(delete(EarlyStatusReport).where(EarlyStatusReport.provider_id == message.provider_id))


@step
def apply_crossed_early_reports(db_session: Session, *, now: datetime) -> int:
    """Reports kept while their send was being recorded (the two transactions crossed): applied now."""
    messages = db_session.scalars(
        select(OutboundMessage)
        .where(OutboundMessage.provider_id.in_(select(EarlyStatusReport.provider_id)))
        .with_for_update()
    ).all()
    for message in messages:
        apply_early_reports(db_session, message, now)
    return len(messages)


@step
def purge_early_reports(db_session: Session, *, retention_days: int, now: datetime) -> int:
    """Reports never matched by a send within the SMS retention period (another account's, or a send never found)."""
    result = db_session.execute(
        delete(EarlyStatusReport).where(EarlyStatusReport.received_at < now - timedelta(days=retention_days))
    )
    return int(getattr(result, "rowcount", 0) or 0)


@step
def stop_sending_to_number(
    db_session: Session, message: OutboundMessage, error_code: int | None, now: datetime
) -> None:
    """The provider says this message's number must get no more SMS: opted out there (consent withdrawn, as a
    STOP would), or not a number that can take SMS (blocked)."""
    if message.phone_number_id is None:
        log.warning("a mentor's mobile was refused by the SMS provider (error %s)", error_code)
        return
    number = db_session.get_one(PhoneNumber, message.phone_number_id)
    if error_code == OPT_OUT_ERROR_CODE:
        contact.record_reply_consent(db_session, number=number, granted=False, now=now)
        alert_contact_lost(
            db_session, number, what=f"stopped: opted out at the SMS provider (error {error_code})", now=now
        )
    elif number.sms_blocked_at is None:
        contact.block_number(db_session, number=number, reason=f"SMS provider error {error_code}", now=now)
        alert_contact_lost(db_session, number, what=f"blocked: provider error {error_code}", now=now)


_WHOSE = {PhoneOwner.CHILD: "the child's", PhoneOwner.PARENT: "a parent's", PhoneOwner.CARER: "a carer's"}


@step
def alert_contact_lost(db_session: Session, number: PhoneNumber, *, what: str, now: datetime) -> None:
    """Tell the child's coordinators that SMS to one of the child's numbers has stopped (a normal alert, listed, not
    texted): the mentor may have lost their way of reaching the child. The same number stopping the same way again
    (a second STOP) is nothing new and is not counted; another number, or another way, is a repeat."""
    subject = {"phone_number_id": str(number.id), "what": what}
    open_alert = open_alert_about(db_session, child_id=number.child_id, kind=AlertKind.CONTACT_LOST)
    if open_alert is not None and open_alert.subject == subject:
        return
    raise_alert(
        db_session,
        programme_id=db_session.get_one(Child, number.child_id).programme_id,
        kind=AlertKind.CONTACT_LOST,
        detail=f"SMS to {_WHOSE[number.belongs_to]} number {what}",
        now=now,
        child_id=number.child_id,
        subject=subject,
    )
