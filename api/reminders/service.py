"""Keeping a session's SMS reminders in the outbox queue in step with the session, in the caller's transaction.

The sessions domain calls resync_if_reminded whenever it creates, edits, moves or cancels a session, in the same
transaction as the change, so a reminder never outlives the time it was for. The scheduler's sweep
(api/sessions/reminder_sweep.py) syncs the planned sessions entering REMINDER_HORIZON since its last run and those
of the children, mentors and programmes noted as changed since (begin_sweep, finish_sweep: the watermark and the
notes move in the transaction that queued the reminders). Either way the session comes as a SessionToRemind built
by the sessions domain: this policy sits below sessions and never reads them itself.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from zoneinfo import ZoneInfo

from sqlalchemy import delete, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from api.accounts.models import AppUser
from api.changes.models import ReminderRecheck
from api.children.models import PhoneNumber
from api.children.queries import consents_in_force
from api.children.rules import ContactChannel, PhoneOwner
from api.db import step, use_case
from api.outbox import queries as outbox_queries
from api.outbox.rules import MessagePurpose, MessageState, RecipientType
from api.outbox.service import move_message, queue_message
from api.programmes.models import Programme
from api.reminders import rules
from api.reminders.models import ReminderSweep
from api.reminders.rules import SessionToRemind, SweepWindow


def _recipients(db_session: Session, child_id: uuid.UUID) -> list[tuple[RecipientType, PhoneNumber]]:
    """Who gets a child's session reminders: the child's own mobile and/or a carer's, per the consent in force."""
    consents = consents_in_force(db_session, child_id=child_id)
    numbers = db_session.scalars(
        select(PhoneNumber)
        .where(PhoneNumber.child_id == child_id, PhoneNumber.removed_at.is_(None))
        .order_by(PhoneNumber.created_at.desc(), PhoneNumber.id)
    ).all()
    chosen: list[tuple[RecipientType, PhoneNumber]] = []
    for recipient, channel, owners in (
        (RecipientType.CHILD, ContactChannel.SMS_TO_CHILD, {PhoneOwner.CHILD}),
        (RecipientType.CARER, ContactChannel.SMS_TO_CARER, {PhoneOwner.PARENT, PhoneOwner.CARER}),
    ):
        consent = consents.get(channel)
        number = next((number for number in numbers if number.belongs_to in owners), None)
        if consent is not None and consent.granted and number is not None:
            chosen.append((recipient, number))
    return chosen


@step
def resync_if_reminded(db_session: Session, *, session: SessionToRemind, now: datetime, created: bool = False) -> None:
    """After a session changed: re-sync its reminders if it is close enough to have any, or already has some
    (`created`: it was made in this transaction, so it has none yet)."""
    # A session already begun gets no new reminders; any still pending are cancelled below.
    soon = rules.reminded_when_written(session.planned_start_at, now=now)
    if not soon and created:
        return
    db_session.flush()
    if soon or outbox_queries.has_queued_for_session(db_session, session_id=session.session_id):
        sync_session_reminders(db_session, session=session, now=now)


@step
def sync_session_reminders(db_session: Session, *, session: SessionToRemind, now: datetime) -> int:
    """Make a session's pending reminders match the session as it is now, in the caller's transaction; how many
    reminders it queued.

    Called whenever a session is created, moved or cancelled, and by the scheduler for sessions coming due.
    Reminders for another start time, or for a session no longer planned, are cancelled; missing ones queued.
    """
    pending = outbox_queries.queued_for_session(db_session, session_id=session.session_id)
    wanted: dict[str, tuple[RecipientType, PhoneNumber | AppUser, uuid.UUID, rules.ReminderTime]] = {}
    # Every reminder the session as it is now should have, due or not: a queued one among them stays queued
    # (held for quiet hours, requeued after a 429, or simply not dispatched yet).
    current: set[str] = set()
    if session.planned and session.planned_start_at > now:
        programme = db_session.get_one(Programme, session.programme_id)
        zone = ZoneInfo(programme.time_zone)
        child_ids = list(session.child_ids)
        reminders = rules.reminder_times(
            session.planned_start_at,
            zone,
            now=None,
            day_before_at=programme.reminder_day_before_at,
            hours_before=programme.reminder_hours_before,
        )
        recipients: list[tuple[RecipientType, PhoneNumber | AppUser, uuid.UUID]] = [
            (recipient, number, child_id)
            for child_id in child_ids
            for recipient, number in _recipients(db_session, child_id)
        ]
        mentor = db_session.get_one(AppUser, session.mentor_id)
        if mentor.mobile_e164 and mentor.is_active and child_ids:
            # One reminder to the mentor per session, however many children attend (named after the first).
            recipients.append((RecipientType.MENTOR, mentor, child_ids[0]))
        for recipient, addressee, child_id in recipients:
            for reminder in reminders:
                who = f"{recipient}:{addressee.id}"
                key = rules.reminder_key(session.session_id, who, reminder.lead, session.planned_start_at)
                current.add(key)
                if reminder.send_at > now:  # only reminders still ahead are queued
                    wanted[key] = (recipient, addressee, child_id, reminder)
    for message in pending:
        if message.dedupe_key not in current:
            move_message(db_session, message, MessageState.CANCELLED, "the session changed", now)
    existing = outbox_queries.dedupe_keys_taken(db_session, keys=wanted)
    queued = 0
    for key, (recipient, addressee, child_id, reminder) in wanted.items():
        if key in existing:
            continue
        queued += 1
        queue_message(
            db_session,
            dedupe_key=key,
            purpose=MessagePurpose.SESSION_REMINDER,
            recipient_type=recipient,
            child_id=child_id,
            phone_number_id=addressee.id if isinstance(addressee, PhoneNumber) else None,
            recipient_user_id=addressee.id if isinstance(addressee, AppUser) else None,
            session_id=session.session_id,
            send_after=reminder.send_at,
            drop_after=session.planned_start_at,
            now=now,
        )
    return queued


@use_case
def queue_reminders(db_session: Session, *, sessions: Iterable[SessionToRemind], now: datetime) -> int:
    """Queue the reminders of the planned sessions starting soon (each exactly once); how many were queued.

    The scheduler passes the sessions the sessions domain finds starting within REMINDER_HORIZON.
    """
    return sum(sync_session_reminders(db_session, session=session, now=now) for session in sessions)


# The most notes of changes one sweep reads (the rest wait for the next): a burst of them (a consent import, a
# scheduler down for a day) must not make one statement's list of ids too long for the database to take.
NOTES_PER_SWEEP = 5000


@dataclass(frozen=True)
class SweepStarted:
    """A sweep under way: what it looks at, and the notes it read (deleted when it finishes)."""

    window: SweepWindow
    recheck_ids: tuple[int, ...]
    # The watermark's row, locked by begin_sweep until the transaction ends.
    watermark: ReminderSweep


@step
def begin_sweep(db_session: Session, *, now: datetime) -> SweepStarted:
    """Take the sweep's watermark row, locked until the sweep's transaction ends (a second sweep waits, then finds
    the watermark moved and the notes gone), and read the notes of changes since the last sweep."""
    insert = (postgresql if db_session.get_bind().dialect.name == "postgresql" else sqlite).insert
    # The first sweep writes the row; two first sweeps at once meet on its primary key, and the second waits.
    db_session.execute(insert(ReminderSweep).values(id=1).on_conflict_do_nothing(index_elements=["id"]))
    sweep = db_session.scalars(
        select(ReminderSweep).where(ReminderSweep.id == 1).with_for_update().execution_options(populate_existing=True)
    ).one()
    notes = db_session.execute(
        select(ReminderRecheck.id, ReminderRecheck.child_id, ReminderRecheck.mentor_id, ReminderRecheck.programme_id)
        .order_by(ReminderRecheck.id)
        .limit(NOTES_PER_SWEEP)
    ).all()
    window = SweepWindow.from_watermark(
        sweep.covered_until,
        now=now,
        child_ids=frozenset(note.child_id for note in notes if note.child_id is not None),
        mentor_ids=frozenset(note.mentor_id for note in notes if note.mentor_id is not None),
        programme_ids=frozenset(note.programme_id for note in notes if note.programme_id is not None),
    )
    return SweepStarted(window, tuple(note.id for note in notes), sweep)


@step
def finish_sweep(db_session: Session, *, started: SweepStarted, now: datetime) -> None:
    """Move the watermark to the end of the window and delete the notes read, with the reminders queued."""
    sweep = started.watermark
    until = started.window.until
    sweep.covered_until = until if sweep.covered_until is None else max(sweep.covered_until, until)
    sweep.swept_at = now
    for chunk in range(0, len(started.recheck_ids), 1000):
        ids = started.recheck_ids[chunk : chunk + 1000]
        db_session.execute(delete(ReminderRecheck).where(ReminderRecheck.id.in_(ids)))
