"""The SMS outbox dispatching for real on both databases: session reminders following their session, quiet
hours, retries, lost answers, refusals, opt-outs, callbacks, the ledger, and dispatchers dying half-way.

The clock starts on Monday 23 November 2026, 14:00 UTC (GMT, so London time is UTC). Sessions are planned over
HTTP by the child's mentor; messages are sent by `dispatch_due` through a FakeSmsSender, whose `sent` list is
what really reached a phone, whatever the dispatcher was told.
"""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime, timedelta, timezone

import pytest
from sqlalchemy import func, select, update

from api.children import service as children_service
from api.children.models import Child, ContactConsent, PhoneNumber
from api.children.rules import ConsentGivenBy, ContactChannel, NewPhoneNumber, PhoneOwner
from api.db import transaction
from api.outbox.models import MessageEvent, OutboundMessage
from api.outbox.rules import MessagePurpose, MessageState, RecipientType
from api.outbox.service import queue_message
from api.sessions import reminder_sweep
from api.sms import dispatch as sms_dispatch
from api.sms import queries as sms_queries
from api.sms import reconcile as sms_reconcile
from api.sms import rules
from api.sms import service as sms_service
from api.sms.dispatch import DISPATCH_BATCH, DispatchSettings
from api.sms.models import EarlyStatusReport
from api.sms.provider_status import keep_early_report
from api.sms.schemas import LedgerEntrySchema
from api.wellbeing import invitations as wellbeing_invitations
from notifications.fake import FakeSmsSender, Step, permanent_failure
from notifications.port import OutgoingSms, SendResult
from scheduling.jobs import JobContext, reconcile_messages, recover_dead_claims
from tests.builders import ONS4_GOOD, Team, actor_for
from tests.conftest import DEFAULT_NOW, SECRET_KEY
from tests.times import utc

SITE = "https://checkin.example.org"
QUEUED, SENDING, UNKNOWN, SENT = MessageState.QUEUED, MessageState.SENDING, MessageState.UNKNOWN, MessageState.SENT
DELIVERED, FAILED, DROPPED, CANCELLED = (
    MessageState.DELIVERED,
    MessageState.FAILED,
    MessageState.DROPPED,
    MessageState.CANCELLED,
)

# Week 2026-W48 (GMT): the clock starts on Monday the 23rd at 14:00.
TUESDAY_17 = utc(2026, 11, 24, 17)
WEDNESDAY_08 = utc(2026, 11, 25, 8)
WEDNESDAY_10 = utc(2026, 11, 25, 10)


class Casework(Team):
    """A team with a child enrolled and allocated to the mentor (the child has a mobile of their own), with
    the child's consent to SMS unless told otherwise, and the few things the tests below do to it."""

    def __init__(self, db_session, client, clock, *, consent: bool = True):
        super().__init__(db_session, clock, places=5, with_child=True)
        self.client = client
        if consent:
            self.consent_to_sms()
        self.child = db_session.get_one(Child, self.child_id)
        self.mobile = db_session.scalar(select(PhoneNumber).where(PhoneNumber.child_id == self.child_id))
        # The reminders below are the child's and the carer's: the mentor has no mobile to be reminded on.
        assert getattr(self.mentor, "mobile_e164", None) is None

    def add_carer(self, *, consent: bool = True) -> PhoneNumber:
        """A parent's mobile, different from the child's, and (unless told not to) their consent to SMS."""
        digits = (int(self.mobile.e164[-3:]) + 500) % 1000
        number = children_service.add_phone_number(
            self.db_session,
            actor=actor_for(self.coordinator),
            child_id=self.child_id,
            phone=NewPhoneNumber(f"+447700900{digits:03d}", PhoneOwner.PARENT),
            accept_drama_numbers=True,
            now=self.clock.now(),
        )
        if consent:
            self.record_consent(ContactChannel.SMS_TO_CARER, granted=True, given_by=ConsentGivenBy.PARENT)
        return number

    def record_consent(
        self, channel: ContactChannel, *, granted: bool, given_by: ConsentGivenBy = ConsentGivenBy.CHILD
    ) -> None:
        children_service.record_consent(
            self.db_session,
            actor=actor_for(self.coordinator),
            child_id=self.child_id,
            channel=channel,
            granted=granted,
            given_by=given_by,
            now=self.clock.now(),
        )

    def plan(self, start: datetime, *, offset: timezone = UTC) -> dict:
        """A one-hour session, its times written in `offset` (a phone may send them in its own)."""
        start_text, end_text = (moment.astimezone(offset).isoformat() for moment in (start, start + timedelta(hours=1)))
        response = self.client.post(
            "/sessions",
            json={
                "enrolment_ids": [str(self.enrolment.id)],
                "kind": "one_to_one",
                "location_category": "community_venue",
                "planned_start_at": start_text,
                "planned_end_at": end_text,
            },
            headers=self.headers(),
        )
        assert response.status_code == 201, response.json
        return response.json

    def reschedule(self, session: dict, start: datetime) -> dict:
        response = self.client.post(
            f"/sessions/{session['id']}/reschedule",
            json={"planned_start_at": start.isoformat(), "planned_end_at": (start + timedelta(hours=1)).isoformat()},
            headers=self.headers() | {"If-Match": f'"{session["version"]}"'},
        )
        assert response.status_code == 201, response.json
        return response.json

    def change(self, session: dict, **fields: str) -> dict:
        response = self.client.patch(
            f"/sessions/{session['id']}",
            json=fields,
            headers=self.headers() | {"If-Match": f'"{session["version"]}"'},
        )
        assert response.status_code == 200, response.json
        return response.json

    def invite(self) -> uuid.UUID:
        """A check-in link for the child, queued in the outbox with the invitation."""
        response = self.client.post(f"/children/{self.child_id}/check-in-invitations", json={}, headers=self.headers())
        assert response.status_code == 201, response.json
        return uuid.UUID(response.json["id"])


class Outbox:
    """The dispatcher as the scheduler runs it, a FakeSmsSender behind it, and fresh reads of the outbox."""

    def __init__(self, session_factory, clock, *, fake: type[FakeSmsSender] = FakeSmsSender, **fake_options):
        self.session_factory, self.clock = session_factory, clock
        self.fake = fake(now=clock.now, **fake_options)
        self.settings = DispatchSettings(
            sender=self.fake, secret_key=SECRET_KEY, public_base_url=SITE, status_callback_url=None
        )

    def dispatch(self, **options) -> int:
        return sms_dispatch.dispatch_due(self.session_factory, settings=self.settings, clock=self.clock.now, **options)

    def reconcile(self) -> int:
        return sms_reconcile.reconcile(self.session_factory, settings=self.settings, clock=self.clock.now)

    def queue_due_reminders(self) -> int:
        """The scheduler's reminder sweep (scheduling/jobs.py, queue_due_reminders): how many reminders it queued."""
        with self.session_factory() as db_session:
            return reminder_sweep.sweep_reminders(db_session, now=self.clock.now()).queued

    def travel_to(self, moment: datetime) -> None:
        self.clock.at = moment

    def message(self, message_id: uuid.UUID) -> OutboundMessage:
        with self.session_factory() as db_session:
            message = db_session.get_one(OutboundMessage, message_id)
            db_session.commit()
        return message

    def for_invitation(self, invitation_id: uuid.UUID) -> OutboundMessage:
        with self.session_factory() as db_session:
            message = db_session.scalars(
                select(OutboundMessage).where(OutboundMessage.check_in_invitation_id == invitation_id)
            ).one()
            db_session.commit()
        return message

    def ledger(self, session_id) -> list[sms_queries.LedgerEntry]:
        with self.session_factory() as db_session:
            entries = sms_queries.ledger(db_session, session_id=uuid.UUID(str(session_id)))
            db_session.commit()
        return entries

    def reminders(self, session_id) -> list[OutboundMessage]:
        """The session's reminders, earliest first (the child's before the carer's at the same time)."""
        return sorted(
            (entry.message for entry in self.ledger(session_id)),
            key=lambda message: (message.send_after, message.recipient_type != RecipientType.CHILD),
        )

    def history(self, message_id: uuid.UUID) -> list[tuple[MessageState, str | None]]:
        with self.session_factory() as db_session:
            events = db_session.scalars(
                select(MessageEvent).where(MessageEvent.message_id == message_id).order_by(MessageEvent.id)
            ).all()
            db_session.commit()
        return [(event.state, event.detail) for event in events]

    def states(self, message_id: uuid.UUID) -> list[MessageState]:
        return [state for state, _ in self.history(message_id)]

    def number(self, phone_number_id: uuid.UUID) -> PhoneNumber:
        with self.session_factory() as db_session:
            number = db_session.get_one(PhoneNumber, phone_number_id)
            db_session.commit()
        return number

    def consent_in_force(self, child_id: uuid.UUID, channel: ContactChannel) -> ContactConsent | None:
        with self.session_factory() as db_session:
            consents = db_session.scalars(
                select(ContactConsent)
                .where(ContactConsent.child_id == child_id, ContactConsent.channel == channel)
                .order_by(ContactConsent.recorded_at)
            ).all()
            db_session.commit()
        return consents[-1] if consents else None

    def apply_status(self, provider_id: str, status: str, error_code: int | None = None) -> bool:
        with self.session_factory() as db_session:
            return sms_service.apply_status(
                db_session, provider_id=provider_id, status=status, error_code=error_code, now=self.clock.now()
            )

    def apply_reply(self, from_number: str, body: str) -> str | None:
        with self.session_factory() as db_session:
            return sms_service.apply_reply(db_session, from_number=from_number, body=body, now=self.clock.now())


@pytest.fixture()
def casework(db_session, client, clock) -> Casework:
    return Casework(db_session, client, clock)


@pytest.fixture()
def sms(session_factory, clock) -> Outbox:
    return Outbox(session_factory, clock)


def reminder_text(first_name: str, when: str) -> str:
    return f"Hi {first_name}, just a reminder: see you {when}."


def carer_reminder_text(first_name: str, when: str) -> str:
    return f"Reminder: {first_name} has an appointment {when}."


# --- Reminders follow their session --------------------------------------------------------------------------


class TestReminders:
    def test_a_session_planned_within_48_hours_queues_two_reminders_to_the_childs_mobile(self, casework, sms):
        session = casework.plan(WEDNESDAY_10)

        reminders = sms.reminders(session["id"])
        assert [(m.recipient_type, m.phone_number_id, m.send_after, m.state) for m in reminders] == [
            (RecipientType.CHILD, casework.mobile.id, TUESDAY_17, QUEUED),
            (RecipientType.CHILD, casework.mobile.id, WEDNESDAY_08, QUEUED),
        ]
        assert {m.drop_after for m in reminders} == {WEDNESDAY_10}
        assert {m.purpose for m in reminders} == {MessagePurpose.SESSION_REMINDER}

    def test_the_carer_gets_the_reminders_too_with_consent_to_sms_to_a_carer(self, casework, sms):
        carer = casework.add_carer()
        session = casework.plan(WEDNESDAY_10)

        reminders = sms.reminders(session["id"])
        assert [(m.recipient_type, m.phone_number_id, m.send_after) for m in reminders] == [
            (RecipientType.CHILD, casework.mobile.id, TUESDAY_17),
            (RecipientType.CARER, carer.id, TUESDAY_17),
            (RecipientType.CHILD, casework.mobile.id, WEDNESDAY_08),
            (RecipientType.CARER, carer.id, WEDNESDAY_08),
        ]

        sms.travel_to(TUESDAY_17)
        assert sms.dispatch() == 2
        name = casework.child.first_name
        assert sorted((sent.sms.to, sent.sms.body) for sent in sms.fake.sent) == sorted(
            [
                (casework.mobile.e164, reminder_text(name, "Wed 25 Nov at 10:00")),
                (carer.e164, carer_reminder_text(name, "Wed 25 Nov at 10:00")),
            ]
        )

    @pytest.mark.parametrize("carer_consent", ["never_asked", "withdrawn"])
    def test_a_carers_number_without_consent_in_force_gets_no_reminders(self, casework, sms, clock, carer_consent):
        casework.add_carer(consent=carer_consent == "withdrawn")
        if carer_consent == "withdrawn":
            clock.advance(minutes=1)
            casework.record_consent(ContactChannel.SMS_TO_CARER, granted=False, given_by=ConsentGivenBy.PARENT)
        session = casework.plan(WEDNESDAY_10)

        assert {m.recipient_type for m in sms.reminders(session["id"])} == {RecipientType.CHILD}
        assert len(sms.reminders(session["id"])) == 2

    def test_a_carer_with_consent_gets_reminders_when_the_child_has_none(self, db_session, client, clock, sms):
        casework = Casework(db_session, client, clock, consent=False)
        carer = casework.add_carer()
        session = casework.plan(WEDNESDAY_10)

        assert [(m.recipient_type, m.phone_number_id) for m in sms.reminders(session["id"])] == [
            (RecipientType.CARER, carer.id),
            (RecipientType.CARER, carer.id),
        ]

    def test_without_any_consent_to_sms_nothing_is_queued(self, db_session, client, clock, sms):
        casework = Casework(db_session, client, clock, consent=False)
        session = casework.plan(WEDNESDAY_10)
        assert sms.reminders(session["id"]) == []

    def test_rescheduling_cancels_the_old_reminders_and_queues_the_new_sessions(self, casework, sms, clock):
        old = casework.plan(WEDNESDAY_10)
        new_start = utc(2026, 11, 24, 18)
        clock.advance(minutes=5)
        new = casework.reschedule(old, new_start)

        assert [(m.state, m.state_reason) for m in sms.reminders(old["id"])] == [
            (CANCELLED, "the session changed"),
            (CANCELLED, "the session changed"),
        ]
        assert [(m.send_after, m.drop_after, m.state) for m in sms.reminders(new["id"])] == [
            (utc(2026, 11, 23, 17), new_start, QUEUED),
            (utc(2026, 11, 24, 16), new_start, QUEUED),
        ]

        for moment in (utc(2026, 11, 23, 17), utc(2026, 11, 24, 16), TUESDAY_17, WEDNESDAY_08):
            sms.travel_to(moment)
            sms.dispatch()
        assert [sent.sms.body for sent in sms.fake.sent] == [
            reminder_text(casework.child.first_name, "Tue 24 Nov at 18:00"),
            reminder_text(casework.child.first_name, "Tue 24 Nov at 18:00"),
        ]

    def test_rescheduling_twice_leaves_only_the_latest_sessions_reminders_queued(self, casework, sms, clock):
        first = casework.plan(WEDNESDAY_10)
        clock.advance(minutes=1)
        second = casework.reschedule(first, utc(2026, 11, 25, 11))
        clock.advance(minutes=1)
        third = casework.reschedule(second, utc(2026, 11, 25, 12))

        assert {m.state for m in sms.reminders(first["id"]) + sms.reminders(second["id"])} == {CANCELLED}
        assert [m.state for m in sms.reminders(third["id"])] == [QUEUED, QUEUED]

    @pytest.mark.parametrize("status", ["cancelled_by_child", "cancelled_by_mentor"])
    def test_cancelling_a_session_cancels_its_pending_reminders(self, casework, sms, clock, status):
        session = casework.plan(WEDNESDAY_10)
        clock.advance(minutes=5)
        casework.change(session, status=status)

        assert [(m.state, m.state_reason) for m in sms.reminders(session["id"])] == [
            (CANCELLED, "the session changed"),
            (CANCELLED, "the session changed"),
        ]
        for moment in (TUESDAY_17, WEDNESDAY_08):
            sms.travel_to(moment)
            assert sms.dispatch() == 0
        assert sms.fake.attempts == []

    def test_cancelling_after_the_first_reminder_went_cancels_only_the_one_still_pending(self, casework, sms):
        session = casework.plan(WEDNESDAY_10)
        sms.travel_to(TUESDAY_17)
        assert sms.dispatch() == 1
        sms.travel_to(utc(2026, 11, 24, 19))
        casework.change(session, status="cancelled_by_child")

        assert [m.state for m in sms.reminders(session["id"])] == [SENT, CANCELLED]

    def test_a_session_ten_days_away_gets_its_reminders_once_it_comes_within_48_hours(self, casework, sms):
        start = utc(2026, 12, 3, 10)
        session = casework.plan(start)
        assert sms.reminders(session["id"]) == []
        assert sms.queue_due_reminders() == 0
        assert sms.reminders(session["id"]) == []

        sms.travel_to(utc(2026, 12, 1, 12))
        assert sms.queue_due_reminders() == 2
        assert [(m.send_after, m.state) for m in sms.reminders(session["id"])] == [
            (utc(2026, 12, 2, 17), QUEUED),
            (utc(2026, 12, 3, 8), QUEUED),
        ]

        assert sms.queue_due_reminders() == 0
        sms.travel_to(utc(2026, 12, 1, 12, 5))
        assert sms.queue_due_reminders() == 0
        assert [m.state for m in sms.reminders(session["id"])] == [QUEUED, QUEUED]
        assert len(sms.ledger(session["id"])) == 2

    def test_the_scheduler_queues_nothing_for_a_session_already_reminded(self, casework, sms):
        session = casework.plan(WEDNESDAY_10)
        assert sms.queue_due_reminders() == 0
        assert [m.state for m in sms.reminders(session["id"])] == [QUEUED, QUEUED]

    def test_reminders_go_at_their_times_and_each_only_once(self, casework, sms):
        session = casework.plan(WEDNESDAY_10)
        sms.travel_to(utc(2026, 11, 24, 16, 59))
        assert sms.dispatch() == 0
        sms.travel_to(TUESDAY_17)
        assert sms.dispatch() == 1
        assert sms.dispatch() == 0
        sms.travel_to(WEDNESDAY_08)
        assert sms.dispatch() == 1
        sms.travel_to(utc(2026, 11, 25, 9))
        assert sms.dispatch() == 0

        assert [m.state for m in sms.reminders(session["id"])] == [SENT, SENT]
        assert sms.fake.count_sent(to=casework.mobile.e164) == 2

    def test_a_session_planned_in_another_offset_is_reminded_without_churn(self, casework, sms):
        session = casework.plan(WEDNESDAY_10, offset=timezone(timedelta(hours=1)))
        first = {m.id for m in sms.reminders(session["id"])}
        assert len(first) == 2

        assert sms.queue_due_reminders() == 0
        assert {m.id for m in sms.reminders(session["id"])} == first
        assert [m.state for m in sms.reminders(session["id"])] == [QUEUED, QUEUED]


# --- Quiet hours ---------------------------------------------------------------------------------------------


class TestQuietHours:
    @pytest.mark.parametrize(
        ("planned_at", "start", "back_at", "opens_at", "when"),
        [
            # GMT: the dispatcher, down since the afternoon, is back at 22:00 London time (22:00 UTC).
            (DEFAULT_NOW, utc(2026, 11, 25, 12), utc(2026, 11, 24, 22), WEDNESDAY_08, "Wed 25 Nov at 12:00"),
            # BST: back at 22:00 London time (21:00 UTC); the window opens at 08:00 BST (07:00 UTC).
            (
                utc(2027, 6, 14, 13),
                utc(2027, 6, 16, 11),
                utc(2027, 6, 15, 21),
                utc(2027, 6, 16, 7),
                "Wed 16 Jun at 12:00",
            ),
        ],
        ids=["gmt", "bst"],
    )
    def test_a_reminder_due_at_22_00_is_held_until_08_00_and_sent_then(
        self, casework, sms, planned_at, start, back_at, opens_at, when
    ):
        sms.travel_to(planned_at)
        session = casework.plan(start)
        day_before = sms.reminders(session["id"])[0]

        sms.travel_to(back_at)
        assert sms.dispatch() == 0
        held = sms.message(day_before.id)
        assert (held.state, held.send_after, held.state_reason) == (QUEUED, opens_at, "held for quiet hours")
        assert sms.history(day_before.id)[-1] == (QUEUED, "held for quiet hours")

        sms.travel_to(opens_at - timedelta(minutes=1))
        assert sms.dispatch() == 0
        sms.travel_to(opens_at)
        assert sms.dispatch() == 1

        assert sms.states(day_before.id) == [QUEUED, SENDING, QUEUED, SENDING, SENT]
        assert [(sent.sms.to, sent.sms.body) for sent in sms.fake.sent] == [
            (casework.mobile.e164, reminder_text(casework.child.first_name, when))
        ]

    def test_a_reminder_before_a_session_at_07_30_is_dropped_not_sent_late(self, casework, sms):
        session = casework.plan(utc(2026, 11, 25, 7, 30))
        day_before, two_hours_before = sms.reminders(session["id"])
        assert two_hours_before.send_after == utc(2026, 11, 25, 5, 30)

        sms.travel_to(TUESDAY_17)
        assert sms.dispatch() == 1
        sms.travel_to(utc(2026, 11, 25, 5, 30))
        assert sms.dispatch() == 0

        dropped = sms.message(two_hours_before.id)
        assert (dropped.state, dropped.state_reason) == (DROPPED, "quiet hours last until after it would be useful")
        assert sms.history(two_hours_before.id)[-1] == (DROPPED, "quiet hours last until after it would be useful")
        assert sms.message(day_before.id).state is SENT
        assert sms.fake.count_sent() == 1

    def test_a_check_in_link_asked_for_late_at_night_waits_for_the_morning(self, casework, sms):
        sms.travel_to(utc(2026, 11, 23, 23, 30))
        message = sms.for_invitation(casework.invite())
        assert sms.dispatch() == 0
        assert sms.message(message.id).send_after == utc(2026, 11, 24, 8)
        sms.travel_to(utc(2026, 11, 24, 8))
        assert sms.dispatch() == 1

    @pytest.mark.parametrize("what_runs", ["the_schedulers_reminder_run", "an_edit_to_the_sessions_place"])
    def test_a_reminder_held_for_quiet_hours_survives_until_it_is_sent(self, casework, sms, what_runs):
        session = casework.plan(utc(2026, 11, 25, 12))
        day_before = sms.reminders(session["id"])[0]
        sms.travel_to(utc(2026, 11, 24, 22))
        sms.dispatch()
        assert sms.message(day_before.id).state is QUEUED

        sms.travel_to(utc(2026, 11, 24, 22, 5))
        if what_runs == "the_schedulers_reminder_run":
            sms.queue_due_reminders()
        else:
            casework.change(session, location_category="school")
        sms.travel_to(WEDNESDAY_08)
        sms.dispatch()

        assert sms.message(day_before.id).state is SENT
        assert sms.fake.count_sent() == 1

    def test_a_reminder_due_but_not_yet_dispatched_when_the_scheduler_queues_reminders_is_still_sent(
        self, casework, sms
    ):
        session = casework.plan(WEDNESDAY_10)
        sms.travel_to(TUESDAY_17 + timedelta(seconds=5))
        sms.queue_due_reminders()
        sms.dispatch()

        assert [m.state for m in sms.reminders(session["id"])] == [SENT, QUEUED]


# --- Retries, lost answers and refusals ----------------------------------------------------------------------


class TestRateLimiting:
    def test_a_rate_limited_message_is_queued_again_with_a_growing_backoff_and_sent_when_allowed(
        self, casework, session_factory, clock
    ):
        sms = Outbox(session_factory, clock, retry_after_seconds=None)
        message = sms.for_invitation(casework.invite())
        sms.fake.script(casework.mobile.e164, [Step.RETRY_LATER] * 3)

        waits = []
        for attempt in range(1, 4):
            assert sms.dispatch() == 0
            retried = sms.message(message.id)
            assert (retried.state, retried.attempts) == (QUEUED, attempt)
            assert retried.state_reason == "rate limited (20429): retry"
            wait = retried.send_after - clock.now()
            low, high = 15 * 2 ** (attempt - 1), 30 * 2 ** (attempt - 1)
            assert timedelta(seconds=low) <= wait <= timedelta(seconds=high)
            waits.append(wait)
            assert sms.dispatch() == 0  # not yet due
            assert len(sms.fake.attempts) == attempt
            sms.travel_to(retried.send_after)
        assert waits == sorted(waits)

        assert sms.dispatch() == 1
        sent = sms.message(message.id)
        assert (sent.state, sent.attempts) == (SENT, 4)
        assert sms.fake.count_sent() == 1

    def test_the_providers_retry_after_is_honoured_when_longer_than_the_backoff(self, casework, session_factory, clock):
        sms = Outbox(session_factory, clock, retry_after_seconds=600)
        message = sms.for_invitation(casework.invite())
        sms.fake.script(casework.mobile.e164, [Step.RETRY_LATER])
        sms.dispatch()
        assert sms.message(message.id).send_after >= clock.now() + timedelta(seconds=600)

    def test_after_the_maximum_attempts_a_rate_limited_message_fails_and_is_not_tried_again(self, casework, sms, clock):
        message = sms.for_invitation(casework.invite())
        sms.fake.script(casework.mobile.e164, [Step.RETRY_LATER] * rules.MAX_ATTEMPTS)

        for _ in range(rules.MAX_ATTEMPTS):
            sms.dispatch()
            sms.travel_to(max(clock.now(), sms.message(message.id).send_after))
        failed = sms.message(message.id)
        assert (failed.state, failed.attempts) == (FAILED, rules.MAX_ATTEMPTS)
        assert failed.state_reason == f"gave up after {rules.MAX_ATTEMPTS} attempts (rate limited)"

        clock.advance(hours=1)
        assert sms.dispatch() == 0
        assert sms.reconcile() == 0
        assert len(sms.fake.attempts) == rules.MAX_ATTEMPTS
        assert sms.fake.count_sent() == 0


class TestUnknownOutcomes:
    def test_a_send_that_never_reached_the_provider_is_looked_up_then_sent_exactly_once(self, casework, sms, clock):
        message = sms.for_invitation(casework.invite())
        sms.fake.script(casework.mobile.e164, [Step.UNKNOWN_NOT_SENT])

        assert sms.dispatch() == 0
        unknown = sms.message(message.id)
        assert unknown.state is UNKNOWN
        assert sms.dispatch() == 0  # an unknown outcome is never resent blindly
        assert sms.reconcile() == 0  # nor looked up before the provider has had time to record it
        assert len(sms.fake.attempts) == 1

        clock.advance(minutes=3)
        assert sms.reconcile() == 1
        requeued = sms.message(message.id)
        assert (requeued.state, requeued.state_reason) == (QUEUED, "not at the provider: send again")
        assert len(sms.fake.lookups) == 1
        assert sms.dispatch() == 1

        assert sms.message(message.id).state is SENT
        assert sms.fake.count_sent(to=casework.mobile.e164) == 1
        assert sms.states(message.id) == [QUEUED, SENDING, UNKNOWN, SENDING, QUEUED, SENDING, SENT]

    def test_a_send_that_went_though_its_answer_was_lost_is_found_and_never_resent(self, casework, sms, clock):
        message = sms.for_invitation(casework.invite())
        sms.fake.script(casework.mobile.e164, [Step.UNKNOWN_BUT_SENT])

        assert sms.dispatch() == 0
        attempted_at = clock.now()
        clock.advance(minutes=3)
        assert sms.reconcile() == 1
        for _ in range(3):
            clock.advance(minutes=10)
            assert sms.dispatch() == 0
            assert sms.reconcile() == 0

        found = sms.message(message.id)
        assert (found.state, found.state_reason) == (SENT, "found at the provider")
        assert found.provider_id == sms.fake.sent[0].provider_id
        assert found.sent_at == attempted_at
        assert sms.fake.count_sent() == 1
        assert len(sms.fake.attempts) == 1

    @pytest.mark.parametrize("step", [Step.UNKNOWN_NOT_SENT, Step.UNKNOWN_BUT_SENT])
    def test_a_look_up_that_fails_keeps_the_message_unknown_and_sends_nothing_until_it_succeeds(
        self, casework, sms, clock, step
    ):
        message = sms.for_invitation(casework.invite())
        sms.fake.script(casework.mobile.e164, [step])
        sms.fake.fail_lookups(casework.mobile.e164, times=2)
        sms.dispatch()

        for _ in range(2):
            clock.advance(minutes=3)
            assert sms.reconcile() == 0
            still = sms.message(message.id)
            assert still.state is UNKNOWN
            assert still.state_reason.startswith("look-up failed")
            assert still.send_after > clock.now()
            assert sms.dispatch() == 0
            assert len(sms.fake.attempts) == 1

        clock.advance(minutes=3)
        assert sms.reconcile() == 1
        sms.dispatch()
        assert sms.message(message.id).state is SENT
        assert sms.fake.count_sent() == 1
        assert len(sms.fake.attempts) == (2 if step is Step.UNKNOWN_NOT_SENT else 1)

    def test_a_message_never_found_after_the_maximum_attempts_fails(self, casework, sms, clock):
        message = sms.for_invitation(casework.invite())
        sms.fake.script(casework.mobile.e164, [Step.UNKNOWN_NOT_SENT] * rules.MAX_ATTEMPTS)
        for _ in range(rules.MAX_ATTEMPTS):
            sms.dispatch()
            clock.advance(minutes=3)
            sms.reconcile()
        failed = sms.message(message.id)
        assert (failed.state, failed.attempts) == (FAILED, rules.MAX_ATTEMPTS)
        assert failed.state_reason == f"not at the provider after {rules.MAX_ATTEMPTS} attempts"
        assert sms.fake.count_sent() == 0

    def test_a_name_corrected_between_a_lost_answer_and_its_look_up_does_not_cause_a_second_send(
        self, casework, sms, clock
    ):
        message = sms.for_invitation(casework.invite())
        sms.fake.script(casework.mobile.e164, [Step.UNKNOWN_BUT_SENT])
        sms.dispatch()
        children_service.update_child(
            casework.db_session,
            actor=actor_for(casework.coordinator),
            child_id=casework.child_id,
            changes={"first_name": "Corrected"},
            now=clock.now(),
        )
        clock.advance(minutes=3)
        sms.reconcile()
        sms.dispatch()

        assert sms.fake.count_sent(to=casework.mobile.e164) == 1
        # The new text cannot be looked up, so whether the old one went is unknown: never risk a second send,
        # and leave it for a person to check.
        settled = sms.message(message.id)
        assert settled.state is FAILED
        assert settled.state_reason.startswith("its text or number changed after a send with an unknown outcome")


class TestRefusals:
    @pytest.mark.parametrize("code", [21211, 21614])
    def test_a_number_the_provider_refuses_for_good_is_blocked_and_later_messages_to_it_dropped(
        self, casework, sms, clock, code
    ):
        first = sms.for_invitation(casework.invite())
        sms.fake.script(casework.mobile.e164, [permanent_failure(code)])
        assert sms.dispatch() == 0

        failed = sms.message(first.id)
        assert (failed.state, failed.error_code, failed.attempts) == (FAILED, code, 1)
        assert failed.state_reason == f"refused for good: error {code}"
        number = sms.number(casework.mobile.id)
        assert number.sms_blocked_at == clock.now()
        assert number.sms_blocked_reason == f"SMS provider error {code}"
        clock.advance(hours=1)
        assert sms.reconcile() == 0
        assert sms.dispatch() == 0  # never retried

        later = sms.for_invitation(casework.invite())
        assert sms.dispatch() == 0
        dropped = sms.message(later.id)
        assert (dropped.state, dropped.state_reason) == (
            DROPPED,
            f"the number is blocked: SMS provider error {code}",
        )
        assert len(sms.fake.attempts) == 1

    def test_a_recipient_who_replied_stop_has_their_consent_withdrawn_and_gets_nothing_more(self, casework, sms, clock):
        clock.advance(minutes=1)
        first = sms.for_invitation(casework.invite())
        clock.advance(minutes=1)
        second = sms.for_invitation(casework.invite())
        sms.fake.script(casework.mobile.e164, [Step.OPTED_OUT])

        assert sms.dispatch() == 0

        refused = sms.message(first.id)
        assert (refused.state, refused.error_code) == (FAILED, 21610)
        consent = sms.consent_in_force(casework.child_id, ContactChannel.SMS_TO_CHILD)
        assert (consent.granted, consent.given_by, consent.recorded_by_user_id, consent.recorded_at) == (
            False,
            ConsentGivenBy.CHILD,
            None,
            clock.now(),
        )
        assert sms.message(second.id).state is DROPPED
        assert sms.message(second.id).state_reason == "no consent to SMS in force (or the recipient replied STOP)"
        assert len(sms.fake.attempts) == 1

        clock.advance(minutes=1)
        refused_link = casework.client.post(
            f"/children/{casework.child_id}/check-in-invitations", json={}, headers=casework.headers()
        )
        assert refused_link.status_code == 409
        assert refused_link.json["reason"] == "no_mobile_with_sms_consent"
        session = casework.plan(WEDNESDAY_10)
        assert sms.reminders(session["id"]) == []
        sms.travel_to(WEDNESDAY_08)
        sms.dispatch()
        assert sms.fake.count_sent() == 0


class TestDroppedAtDispatch:
    @pytest.mark.parametrize("what_happened", ["revoked", "completed"])
    def test_a_check_in_link_used_or_withdrawn_before_its_message_went_is_dropped(
        self, casework, sms, clock, db_session, what_happened
    ):
        invitation_id = casework.invite()
        message = sms.for_invitation(invitation_id)
        clock.advance(minutes=1)
        if what_happened == "revoked":
            response = casework.client.post(
                f"/check-in-invitations/{invitation_id}/revoke", json={}, headers=casework.headers()
            )
            assert response.status_code == 200, response.json
        else:
            path = wellbeing_invitations.link_for(db_session, invitation_id=invitation_id, secret_key=SECRET_KEY)
            form = {f"ons4.{item}": str(value) for item, value in ONS4_GOOD.items()}
            assert casework.client.post(path, data=form).status_code == 200

        assert sms.dispatch() == 0
        dropped = sms.message(message.id)
        assert (dropped.state, dropped.state_reason) == (DROPPED, "the check-in link was used or withdrawn")
        assert sms.fake.attempts == []

    def test_consent_withdrawn_after_a_message_was_queued_drops_it_at_dispatch(self, casework, sms, clock):
        message = sms.for_invitation(casework.invite())
        session = casework.plan(WEDNESDAY_10)
        clock.advance(minutes=1)
        casework.record_consent(ContactChannel.SMS_TO_CHILD, granted=False)

        assert sms.dispatch() == 0
        for moment in (TUESDAY_17, WEDNESDAY_08):
            sms.travel_to(moment)
            assert sms.dispatch() == 0

        reason = "no consent to SMS in force (or the recipient replied STOP)"
        assert (sms.message(message.id).state, sms.message(message.id).state_reason) == (DROPPED, reason)
        assert [(m.state, m.state_reason) for m in sms.reminders(session["id"])] == [(DROPPED, reason)] * 2
        assert sms.fake.attempts == []

    def test_a_message_the_dispatcher_reaches_too_late_is_dropped_not_sent(self, casework, sms):
        session = casework.plan(WEDNESDAY_10)
        sms.travel_to(WEDNESDAY_10 + timedelta(minutes=1))
        assert sms.dispatch() == 0
        assert [(m.state, m.state_reason) for m in sms.reminders(session["id"])] == [
            (DROPPED, "too late: its moment has passed")
        ] * 2
        assert sms.fake.attempts == []


class TestOneBadMessage:
    def three_children(self, db_session, client, clock) -> list[tuple[Casework, uuid.UUID]]:
        """Three children, each with a check-in link queued a minute after the last (so sent in that order)."""
        children = [Casework(db_session, client, clock) for _ in range(3)]
        assert len({casework.mobile.e164 for casework in children}) == 3
        invitations = []
        for casework in children:
            clock.advance(minutes=1)
            invitations.append((casework, casework.invite()))
        return invitations

    def test_a_number_refused_for_good_in_the_middle_of_a_batch_does_not_stop_the_others(
        self, db_session, client, clock, sms
    ):
        children = self.three_children(db_session, client, clock)
        sms.fake.script(children[1][0].mobile.e164, [permanent_failure(21211)])

        assert sms.dispatch() == 2

        states = [sms.for_invitation(invitation_id).state for _, invitation_id in children]
        assert states == [SENT, FAILED, SENT]
        assert [attempt.to for attempt in sms.fake.attempts] == [casework.mobile.e164 for casework, _ in children]
        assert [sent.sms.to for sent in sms.fake.sent] == [children[0][0].mobile.e164, children[2][0].mobile.e164]

    def test_a_sender_that_blows_up_on_one_message_does_not_stop_the_others_and_that_one_is_settled_later(
        self, db_session, client, clock, session_factory
    ):
        class Exploding(FakeSmsSender):
            def __init__(self, bad: str, **options):
                super().__init__(**options)
                self.bad, self.exploded = bad, False

            def send(self, sms: OutgoingSms) -> SendResult:
                if sms.to == self.bad and not self.exploded:
                    self.exploded = True
                    raise RuntimeError("the connection pool is broken")
                return super().send(sms)

        reader = Outbox(session_factory, clock)
        messages = self.three_children(db_session, client, clock)
        fake = Exploding(messages[1][0].mobile.e164, now=clock.now)
        settings = DispatchSettings(sender=fake, secret_key=SECRET_KEY, public_base_url=SITE, status_callback_url=None)

        assert sms_dispatch.dispatch_due(session_factory, settings=settings, clock=clock.now) == 2
        states = [reader.for_invitation(invitation_id).state for _, invitation_id in messages]
        assert states == [SENT, SENDING, SENT]

        clock.advance(minutes=6)
        assert sms_reconcile.reconcile(session_factory, settings=settings, clock=clock.now) == 1
        assert sms_dispatch.dispatch_due(session_factory, settings=settings, clock=clock.now) == 1
        assert [reader.for_invitation(invitation_id).state for _, invitation_id in messages] == [SENT] * 3
        assert [fake.count_sent(to=casework.mobile.e164) for casework, _ in messages] == [1, 1, 1]


# --- Housekeeping --------------------------------------------------------------------------------------------


class TestHousekeeping:
    def test_queued_messages_whose_moment_passed_are_dropped_with_that_reason(self, casework, sms, clock):
        stale = sms.for_invitation(casework.invite())
        session = casework.plan(WEDNESDAY_10)
        clock.advance(hours=71)
        fresh = sms.for_invitation(casework.invite())

        sms.travel_to(DEFAULT_NOW + timedelta(hours=72))
        with sms.session_factory() as db_session:
            assert sms_service.drop_late_messages(db_session, now=clock.now()) == 3  # the link and both reminders
        with sms.session_factory() as db_session:
            assert sms_service.drop_late_messages(db_session, now=clock.now()) == 0

        assert (sms.message(stale.id).state, sms.message(stale.id).state_reason) == (
            DROPPED,
            "too late: its moment has passed",
        )
        assert {m.state for m in sms.reminders(session["id"])} == {DROPPED}
        assert sms.message(fresh.id).state is QUEUED
        assert sms.dispatch() == 1
        assert [sent.sms.to for sent in sms.fake.sent] == [casework.mobile.e164]
        assert sms.message(fresh.id).state is SENT

    def test_drop_late_messages_leaves_sent_and_in_flight_messages_alone(self, casework, sms, clock):
        sent = sms.for_invitation(casework.invite())
        sms.dispatch()
        clock.advance(minutes=1)
        unknown = sms.for_invitation(casework.invite())
        sms.fake.script(casework.mobile.e164, [Step.UNKNOWN_BUT_SENT])
        sms.dispatch()

        clock.advance(hours=80)
        with sms.session_factory() as db_session:
            assert sms_service.drop_late_messages(db_session, now=clock.now()) == 0
        assert (sms.message(sent.id).state, sms.message(unknown.id).state) == (SENT, UNKNOWN)
        assert sms.reconcile() == 1
        assert sms.message(unknown.id).state is SENT

    def test_finished_messages_past_the_retention_period_are_purged_with_their_ledger(
        self, casework, sms, clock, session_factory
    ):
        old = sms.for_invitation(casework.invite())
        sms.dispatch()
        sms.apply_status(sms.message(old.id).provider_id, "delivered")
        clock.advance(minutes=1)
        dropped = sms.for_invitation(casework.invite())
        casework.record_consent(ContactChannel.SMS_TO_CHILD, granted=False)
        clock.advance(minutes=1)
        sms.dispatch()
        assert sms.message(dropped.id).state is DROPPED
        casework.record_consent(ContactChannel.SMS_TO_CHILD, granted=True)
        clock.advance(days=20)
        recent = sms.for_invitation(casework.invite())
        sms.dispatch()
        sms.apply_status(sms.message(recent.id).provider_id, "delivered")
        pending = sms.for_invitation(casework.invite())
        sms.fake.script(casework.mobile.e164, [Step.UNKNOWN_NOT_SENT])
        sms.dispatch()
        assert sms.message(pending.id).state is UNKNOWN

        clock.advance(days=11)
        with session_factory() as db_session:
            assert sms_service.purge_old_messages(db_session, retention_days=30, now=clock.now()) == 2

        with session_factory() as db_session:
            remaining = set(db_session.scalars(select(OutboundMessage.id)))
            orphans = db_session.scalar(
                select(func.count()).select_from(MessageEvent).where(MessageEvent.message_id.in_([old.id, dropped.id]))
            )
            db_session.commit()
        assert old.id not in remaining
        assert dropped.id not in remaining
        assert {recent.id, pending.id} <= remaining
        assert orphans == 0
        assert sms.states(recent.id) == [QUEUED, SENDING, SENT, DELIVERED]
        with session_factory() as db_session:
            assert sms_service.purge_old_messages(db_session, retention_days=30, now=clock.now()) == 0

    def test_a_sent_message_that_never_heard_back_is_purged_after_the_retention_period(
        self, casework, sms, clock, session_factory
    ):
        message = sms.for_invitation(casework.invite())
        sms.dispatch()
        assert sms.message(message.id).state is SENT
        clock.advance(days=31)
        with session_factory() as db_session:
            assert sms_service.purge_old_messages(db_session, retention_days=30, now=clock.now()) == 1


# --- Status callbacks and replies ----------------------------------------------------------------------------


class TestStatusCallbacks:
    def sent_message(self, casework, sms) -> tuple[OutboundMessage, str]:
        message = sms.for_invitation(casework.invite())
        assert sms.dispatch() == 1
        message = sms.message(message.id)
        return message, message.provider_id

    def test_a_delivered_message_stays_delivered_when_a_late_sent_callback_arrives(self, casework, sms):
        message, sid = self.sent_message(casework, sms)
        assert sms.apply_status(sid, "delivered") is True
        assert sms.apply_status(sid, "sent") is True
        assert sms.apply_status(sid, "sending") is True

        delivered = sms.message(message.id)
        assert (delivered.state, delivered.provider_status) == (DELIVERED, "delivered")
        assert sms.states(message.id) == [QUEUED, SENDING, SENT, DELIVERED]

    def test_callbacks_arriving_out_of_order_end_at_the_latest_state(self, casework, sms):
        message, sid = self.sent_message(casework, sms)
        for status in ("delivered", "queued", "sending", "sent"):
            sms.apply_status(sid, status)
        assert sms.message(message.id).state is DELIVERED

    def test_a_repeated_callback_is_harmless(self, casework, sms):
        message, sid = self.sent_message(casework, sms)
        for _ in range(3):
            assert sms.apply_status(sid, "delivered") is True
        assert sms.states(message.id) == [QUEUED, SENDING, SENT, DELIVERED]

    def test_an_undelivered_callback_records_the_carriers_error(self, casework, sms):
        message, sid = self.sent_message(casework, sms)
        sms.apply_status(sid, "undelivered", 30003)
        undelivered = sms.message(message.id)
        assert (undelivered.state, undelivered.error_code, undelivered.state_reason) == (
            MessageState.UNDELIVERED,
            30003,
            "provider error 30003",
        )
        sms.apply_status(sid, "delivered")
        assert sms.message(message.id).state is MessageState.UNDELIVERED

    def test_a_callback_for_an_unknown_message_or_an_unknown_status_changes_nothing(self, casework, sms):
        message, sid = self.sent_message(casework, sms)
        assert sms.apply_status("SM" + "0" * 32, "delivered") is False
        assert sms.apply_status(sid, "exploded") is False
        assert sms.message(message.id).state is SENT
        assert sms.states(message.id) == [QUEUED, SENDING, SENT]


class TestStatusReportedBeforeTheSendIsRecorded:
    """Twilio may deliver a message and call back before the dispatcher has recorded the send (its answer was lost,
    or came late): the callback is kept and applied, forward only, once a send is recorded or found with its id."""

    def test_delivered_reported_while_the_outcome_was_unknown_is_applied_when_the_message_is_found(
        self, casework, sms, clock
    ):
        message = sms.for_invitation(casework.invite())
        sms.fake.script(casework.mobile.e164, [Step.UNKNOWN_BUT_SENT])
        assert sms.dispatch() == 0
        sid = sms.fake.sent[0].provider_id

        sms.apply_status(sid, "sent")
        sms.apply_status(sid, "delivered")
        assert sms.message(message.id).state is UNKNOWN
        clock.advance(minutes=3)
        assert sms.reconcile() == 1

        delivered = sms.message(message.id)
        assert (delivered.state, delivered.provider_id, delivered.provider_status) == (DELIVERED, sid, "delivered")
        assert sms.history(message.id)[-2:] == [
            (SENT, "found at the provider"),
            (DELIVERED, "reported by the provider before the send was recorded"),
        ]
        assert sms.fake.count_sent() == 1

    def test_delivered_reported_before_the_dispatcher_records_the_send_is_applied_when_it_does(
        self, casework, sms, clock, session_factory
    ):
        message = sms.for_invitation(casework.invite())
        claim_id, [message_id] = claim(session_factory, clock)
        with session_factory() as db_session:
            prepared = sms_dispatch.prepare(
                db_session, message_id=message_id, claim_id=claim_id, settings=sms.settings, now=clock.now()
            )
        result = sms.fake.send(prepared.sms)
        sms.apply_status(result.provider_id, "undelivered", 30003)
        with session_factory() as db_session:
            sms_dispatch.record(db_session, prepared=prepared, result=result, now=clock.now())

        undelivered = sms.message(message.id)
        assert (undelivered.state, undelivered.error_code) == (MessageState.UNDELIVERED, 30003)
        assert sms.states(message.id) == [QUEUED, SENDING, SENT, MessageState.UNDELIVERED]

    def test_a_report_kept_while_its_send_was_being_recorded_is_applied_by_the_next_reconciliation(
        self, casework, sms, session_factory, clock
    ):
        message = sms.for_invitation(casework.invite())
        assert sms.dispatch() == 1
        sid = sms.message(message.id).provider_id
        # The callback's transaction looked for the message before the send's committed, and kept the report.
        with session_factory() as db_session, transaction(db_session):
            keep_early_report(db_session, provider_id=sid, status="delivered", error_code=None, now=clock.now())

        sms.reconcile()

        assert sms.message(message.id).state is DELIVERED
        with session_factory() as db_session:
            assert db_session.scalar(select(func.count()).select_from(EarlyStatusReport)) == 0

    def test_a_report_no_send_ever_claims_is_purged_with_the_sms_retention(self, sms, session_factory, clock):
        assert sms.apply_status("SM" + "7" * 32, "delivered") is False
        with session_factory() as db_session:
            assert db_session.scalar(select(func.count()).select_from(EarlyStatusReport)) == 1
            sms_service.purge_old_messages(db_session, retention_days=30, now=clock.now() + timedelta(days=29))
            assert db_session.scalar(select(func.count()).select_from(EarlyStatusReport)) == 1
            sms_service.purge_old_messages(db_session, retention_days=30, now=clock.now() + timedelta(days=31))
            assert db_session.scalar(select(func.count()).select_from(EarlyStatusReport)) == 0

    def test_a_message_found_at_the_provider_takes_the_status_the_provider_reports(self, casework, sms, clock):
        message = sms.for_invitation(casework.invite())
        sms.fake.script(casework.mobile.e164, [Step.UNKNOWN_BUT_SENT])
        sms.dispatch()
        sms.fake.report_status(sms.fake.sent[0].provider_id, "delivered")  # its callback was lost too
        clock.advance(minutes=3)
        assert sms.reconcile() == 1

        found = sms.message(message.id)
        assert (found.state, found.provider_status) == (DELIVERED, "delivered")
        assert sms.history(message.id)[-2:] == [
            (SENT, "found at the provider"),
            (DELIVERED, "its status at the provider"),
        ]


class TestReplies:
    @pytest.mark.parametrize("body", ["STOP", "stop", "  Stop  ", "\tsToP\n", "Stop please", "unsubscribe"])
    def test_stop_withdraws_consent_and_drops_what_is_queued_for_that_number(
        self, db_session, client, clock, sms, body
    ):
        casework = Casework(db_session, client, clock)
        other = Casework(db_session, client, clock)
        assert casework.mobile.e164 != other.mobile.e164
        clock.advance(minutes=1)
        mine, theirs = sms.for_invitation(casework.invite()), sms.for_invitation(other.invite())

        assert sms.apply_reply(casework.mobile.e164, body) == "stop"

        consent = sms.consent_in_force(casework.child_id, ContactChannel.SMS_TO_CHILD)
        assert (consent.granted, consent.recorded_by_user_id) == (False, None)
        assert (sms.message(mine.id).state, sms.message(mine.id).state_reason) == (
            DROPPED,
            "the recipient replied STOP",
        )
        assert sms.message(theirs.id).state is QUEUED
        assert sms.dispatch() == 1
        assert [sent.sms.to for sent in sms.fake.sent] == [other.mobile.e164]

    @pytest.mark.parametrize("body", ["START", "start", " Start ", "unstop"])
    def test_start_restores_consent_after_stop(self, casework, sms, clock, body):
        clock.advance(minutes=1)
        sms.apply_reply(casework.mobile.e164, "STOP")
        clock.advance(minutes=1)
        assert sms.apply_reply(casework.mobile.e164, body) == "start"

        consent = sms.consent_in_force(casework.child_id, ContactChannel.SMS_TO_CHILD)
        assert (consent.granted, consent.recorded_by_user_id) == (True, None)
        clock.advance(minutes=1)
        message = sms.for_invitation(casework.invite())
        assert sms.dispatch() == 1
        assert sms.message(message.id).state is SENT

    @pytest.mark.parametrize("body", ["HELP", "help", "  Help\n", "info"])
    def test_help_is_understood_and_changes_nothing(self, casework, sms, clock, body):
        clock.advance(minutes=1)
        message = sms.for_invitation(casework.invite())
        consents_before = sms.consent_in_force(casework.child_id, ContactChannel.SMS_TO_CHILD)

        assert sms.apply_reply(casework.mobile.e164, body) == "help"

        assert sms.consent_in_force(casework.child_id, ContactChannel.SMS_TO_CHILD).id == consents_before.id
        assert sms.message(message.id).state is QUEUED

    @pytest.mark.parametrize("body", ["thanks", "", "   ", "see you then, stop by later"])
    def test_any_other_reply_is_not_a_keyword(self, casework, sms, body):
        message = sms.for_invitation(casework.invite())
        assert sms.apply_reply(casework.mobile.e164, body) is None
        assert sms.message(message.id).state is QUEUED

    def test_a_carer_who_replies_stop_gets_no_more_reminders_and_the_child_still_does(self, casework, sms, clock):
        carer = casework.add_carer()
        session = casework.plan(WEDNESDAY_10)
        clock.advance(minutes=1)

        assert sms.apply_reply(carer.e164, "STOP") == "stop"

        consent = sms.consent_in_force(casework.child_id, ContactChannel.SMS_TO_CARER)
        assert (consent.granted, consent.given_by, consent.recorded_by_user_id) == (
            False,
            ConsentGivenBy.PARENT,
            None,
        )
        by_recipient = {}
        for message in sms.reminders(session["id"]):
            by_recipient.setdefault(message.recipient_type, []).append(message.state)
        assert by_recipient == {RecipientType.CHILD: [QUEUED, QUEUED], RecipientType.CARER: [DROPPED, DROPPED]}
        for moment in (TUESDAY_17, WEDNESDAY_08):
            sms.travel_to(moment)
            sms.dispatch()
        assert {sent.sms.to for sent in sms.fake.sent} == {casework.mobile.e164}


# --- The ledger ----------------------------------------------------------------------------------------------


class TestLedger:
    def test_the_ledger_lists_each_message_with_its_events_in_order_and_never_its_text_or_number(
        self, casework, sms, clock, session_factory
    ):
        carer = casework.add_carer()
        session = casework.plan(WEDNESDAY_10)
        sms.fake.script(carer.e164, [Step.RETRY_LATER])
        sms.travel_to(TUESDAY_17)
        sms.dispatch()
        child_sid = sms.fake.sent[0].provider_id
        sms.apply_status(child_sid, "delivered")

        entries = sms.ledger(session["id"])
        assert len(entries) == 4
        assert [entry.created_at for entry in entries] == sorted(entry.created_at for entry in entries)
        histories = {
            (entry.recipient_type, entry.dedupe_key.split(":")[-2]): [
                (event.state, event.detail) for event in entry.events
            ]
            for entry in entries
        }
        assert histories[(RecipientType.CHILD, "day_before")] == [
            (QUEUED, None),
            (SENDING, "claimed (was queued)"),
            (SENT, None),
            (DELIVERED, None),
        ]
        assert histories[(RecipientType.CARER, "day_before")] == [
            (QUEUED, None),
            (SENDING, "claimed (was queued)"),
            (QUEUED, "rate limited (20429): retry"),
        ]
        assert histories[(RecipientType.CHILD, "2h_before")] == [(QUEUED, None)]
        for entry in entries:
            occurred = [event.occurred_at for event in entry.events]
            assert occurred == sorted(occurred)

        secrets = [sent.sms.body for sent in sms.fake.sent] + [
            casework.mobile.e164,
            carer.e164,
            casework.child.first_name,
        ]
        dumped = json.dumps(LedgerEntrySchema(many=True).dump(entries), default=str)
        over_http = casework.client.get(f"/sessions/{session['id']}/messages", headers=casework.headers())
        assert over_http.status_code == 200, over_http.json
        assert len(over_http.json) == 4
        assert all(entry["events"][0]["state"] == "queued" for entry in over_http.json)
        with session_factory() as db_session:
            stored = [
                repr(row)
                for model in (OutboundMessage, MessageEvent)
                for row in db_session.execute(select(model.__table__)).all()
            ]
            db_session.commit()
        for secret in secrets:
            assert secret not in dumped
            assert secret not in over_http.get_data(as_text=True)
            assert not any(secret in row for row in stored)

    def test_a_check_in_links_ledger_never_holds_its_link(self, casework, sms):
        invitation_id = casework.invite()
        sms.dispatch()
        [sent] = sms.fake.sent
        token = sent.sms.body.rsplit("/", 1)[-1]

        response = casework.client.get(f"/check-in-invitations/{invitation_id}/messages", headers=casework.headers())
        assert response.status_code == 200, response.json
        assert [entry["state"] for entry in response.json] == ["sent"]
        assert [event["state"] for event in response.json[0]["events"]] == ["queued", "sending", "sent"]
        assert token not in response.get_data(as_text=True)
        assert casework.mobile.e164 not in response.get_data(as_text=True)


# --- Dispatchers that die half-way ---------------------------------------------------------------------------


def job_context(session_factory, clock, sender) -> JobContext:
    """What the scheduler hands its jobs; only the session factory, the clock and the SMS settings matter here."""
    settings = DispatchSettings(sender=sender, secret_key=SECRET_KEY, public_base_url=SITE, status_callback_url=None)
    return JobContext(session_factory, clock, SECRET_KEY, {}, settings)


def claim(session_factory, clock) -> tuple[uuid.UUID, list[uuid.UUID]]:
    with session_factory() as db_session:
        return sms_dispatch.claim_due(db_session, now=clock.now())


def prepare_and_send(session_factory, sms: Outbox, clock, message_id: uuid.UUID, claim_id: uuid.UUID) -> None:
    """Steps 2 and 3 of dispatch: the attempt is noted and the provider takes the message; step 4 never comes."""
    with session_factory() as db_session:
        prepared = sms_dispatch.prepare(
            db_session, message_id=message_id, claim_id=claim_id, settings=sms.settings, now=clock.now()
        )
    assert prepared is not None
    sms.fake.send(prepared.sms)


class TestCrashes:
    def test_a_dispatcher_that_died_after_claiming_leaves_a_message_that_is_queued_again_and_sent_once(
        self, casework, sms, clock, session_factory
    ):
        message = sms.for_invitation(casework.invite())
        _, claimed = claim(session_factory, clock)
        assert claimed == [message.id]

        clock.advance(minutes=4)
        assert sms.reconcile() == 0  # its claim is not stale yet
        assert sms.dispatch() == 0
        assert sms.message(message.id).state is SENDING

        clock.advance(minutes=2)
        assert sms.reconcile() == 1
        requeued = sms.message(message.id)
        assert (requeued.state, requeued.state_reason) == (QUEUED, "a dispatcher stopped before sending")
        assert sms.fake.lookups == []  # never handed to the provider: nothing to look up
        assert sms.dispatch() == 1
        assert sms.fake.count_sent() == 1
        assert sms.message(message.id).state is SENT

    def test_claims_a_killed_scheduler_left_are_settled_as_soon_as_the_next_takes_the_lock_and_live_ones_kept(
        self, casework, sms, clock, session_factory
    ):
        invitations = [casework.invite() for _ in range(4)]
        claim_id, claimed = claim(session_factory, clock)
        # The first never handed over; the second's request lost on the way (attempted, not at the provider).
        sms.fake.script(casework.mobile.e164, [Step.UNKNOWN_NOT_SENT])
        for message_id in claimed[1:]:
            prepare_and_send(session_factory, sms, clock, message_id, claim_id)
        with session_factory() as db_session, transaction(db_session):
            db_session.execute(
                update(OutboundMessage).where(OutboundMessage.id.in_(claimed)).values(claimed_by=uuid.uuid4())
            )  # made by a scheduler since killed (kill -9): nothing of it will ever record them
        casework.invite()
        live_claim, [live_id] = claim(session_factory, clock)  # this scheduler's own dispatcher, busy with it

        clock.advance(seconds=5)  # seconds, not the 5 minutes of the lease
        assert sms.reconcile() == 0
        assert recover_dead_claims(job_context(session_factory, clock, sms.fake)) == 4

        states = {message_id: sms.message(message_id) for message_id in claimed}
        assert [(states[message_id].state, states[message_id].state_reason) for message_id in claimed] == [
            (QUEUED, "a dispatcher stopped before sending"),
            (QUEUED, "not at the provider: send again"),
            (SENT, "found at the provider"),
            (SENT, "found at the provider"),
        ]
        kept = sms.message(live_id)
        assert (kept.state, kept.claim_id) == (SENDING, live_claim)
        assert len(sms.fake.lookups) == 3  # every attempted one looked up before any resend
        assert sms.dispatch() == 2
        assert sms.fake.count_sent() == len(invitations)

    def test_the_reconciliation_job_settles_a_backlog_at_once_not_one_batch_a_minute(
        self, casework, sms, clock, session_factory
    ):
        link = sms.for_invitation(casework.invite())
        with session_factory() as db_session, transaction(db_session):
            for number in range(DISPATCH_BATCH + 9):  # the same link, as many times as a busy hour's links
                queue_message(
                    db_session, dedupe_key=f"backlog:{number}", purpose=link.purpose,
                    recipient_type=link.recipient_type, child_id=link.child_id,
                    phone_number_id=link.phone_number_id, send_after=clock.now(), drop_after=link.drop_after,
                    now=clock.now(), check_in_invitation_id=link.check_in_invitation_id,
                )  # fmt: skip
        sms.fake.script(casework.mobile.e164, [Step.UNKNOWN_NOT_SENT] * (DISPATCH_BATCH + 10))
        sms.dispatch(limit=DISPATCH_BATCH + 10)
        clock.advance(minutes=3)

        assert reconcile_messages(job_context(session_factory, clock, sms.fake)) == DISPATCH_BATCH + 10

    def test_a_dispatcher_that_died_after_sending_leaves_a_message_found_at_the_provider_not_resent(
        self, casework, sms, clock, session_factory
    ):
        message = sms.for_invitation(casework.invite())
        claim_id, [message_id] = claim(session_factory, clock)
        prepare_and_send(session_factory, sms, clock, message_id, claim_id)

        clock.advance(minutes=6)
        assert sms.reconcile() == 1
        assert sms.dispatch() == 0

        found = sms.message(message.id)
        assert (found.state, found.state_reason, found.attempts) == (SENT, "found at the provider", 1)
        assert found.provider_id == sms.fake.sent[0].provider_id
        assert sms.fake.count_sent() == 1

    def test_a_record_arriving_after_a_reconciler_took_over_the_claim_changes_nothing(
        self, casework, sms, clock, session_factory
    ):
        message = sms.for_invitation(casework.invite())
        claim_id, [message_id] = claim(session_factory, clock)
        with session_factory() as db_session:
            prepared = sms_dispatch.prepare(
                db_session, message_id=message_id, claim_id=claim_id, settings=sms.settings, now=clock.now()
            )
        result = sms.fake.send(prepared.sms)
        clock.advance(minutes=6)
        assert sms.reconcile() == 1
        with session_factory() as db_session:
            assert sms_dispatch.record(db_session, prepared=prepared, result=result, now=clock.now()) is None

        assert sms.message(message.id).state is SENT
        assert sms.states(message.id) == [QUEUED, SENDING, SENDING, SENT]
        assert sms.fake.count_sent() == 1

    def test_a_look_up_slower_than_the_claim_lease_never_undoes_what_another_reconciler_settled(
        self, casework, clock, session_factory
    ):
        class SlowLookups(FakeSmsSender):
            """Its first look-up answers only after another reconciler and dispatcher have done their work."""

            meanwhile = None

            def find_sent(self, *, to, body, since):
                answer = super().find_sent(to=to, body=body, since=since)
                meanwhile, SlowLookups.meanwhile = SlowLookups.meanwhile, None
                if meanwhile is not None:
                    meanwhile()
                return answer

        sms = Outbox(session_factory, clock, fake=SlowLookups)
        message = sms.for_invitation(casework.invite())
        sms.fake.script(casework.mobile.e164, [Step.UNKNOWN_NOT_SENT])
        sms.dispatch()
        clock.advance(minutes=3)

        def another_reconciler_and_dispatcher():
            clock.advance(minutes=6)  # the first reconciler's claim has gone stale
            assert sms.reconcile() == 1
            assert sms.dispatch() == 1

        SlowLookups.meanwhile = another_reconciler_and_dispatcher
        assert sms.reconcile() == 0
        assert sms.dispatch() == 0

        assert sms.message(message.id).state is SENT
        assert sms.fake.count_sent() == 1

    def test_twenty_messages_in_a_row_with_the_dispatcher_dying_at_alternate_points_are_each_sent_once(
        self, casework, sms, clock, session_factory
    ):
        message_ids = []
        for number in range(20):
            clock.advance(minutes=1)
            message_id = sms.for_invitation(casework.invite()).id
            message_ids.append(message_id)
            claim_id, claimed = claim(session_factory, clock)
            assert claimed == [message_id]
            if number % 2:
                prepare_and_send(session_factory, sms, clock, message_id, claim_id)
            clock.advance(minutes=6)
            assert sms.reconcile() == 1
            sms.dispatch()
            assert sms.message(message_id).state is SENT

        bodies = [sent.sms.body for sent in sms.fake.sent]
        assert len(bodies) == 20
        assert len(set(bodies)) == 20
        assert len(sms.fake.attempts) == 20
        assert all(sms.message(message_id).state is SENT for message_id in message_ids)

    def test_a_dispatcher_dying_part_way_through_a_batch_loses_and_doubles_nothing(
        self, casework, sms, clock, session_factory
    ):
        message_ids = []
        for _ in range(20):
            clock.advance(seconds=1)
            message_ids.append(sms.for_invitation(casework.invite()).id)
        claim_id, claimed = claim(session_factory, clock)
        assert claimed == message_ids
        for message_id in claimed[::2]:
            prepare_and_send(session_factory, sms, clock, message_id, claim_id)
        # ... and the dispatcher dies, with half its claimed batch sent and none of it recorded.

        clock.advance(minutes=6)
        assert sms.reconcile() == 20
        assert sms.dispatch() == 10
        assert sms.reconcile() == 0
        assert sms.dispatch() == 0

        assert [sms.message(message_id).state for message_id in message_ids] == [SENT] * 20
        bodies = [sent.sms.body for sent in sms.fake.sent]
        assert len(bodies) == len(set(bodies)) == 20
        assert len(sms.fake.attempts) == 20
