"""Reminder lead times are each programme's to set, and quiet hours the deployment's; a mentor with a work mobile
is reminded of their sessions with the child, and only while they can be."""

from __future__ import annotations

import uuid
from datetime import datetime, time, timedelta

import pytest
from sqlalchemy import select

from api.actors import Role
from api.children.models import Child, PhoneNumber
from api.outbox.models import OutboundMessage
from api.outbox.rules import MessagePurpose, MessageState, RecipientType
from api.sms import dispatch as sms_dispatch
from api.sms.dispatch import DispatchSettings
from api.sms.rules import QuietHours, parse_quiet_hours
from notifications.fake import FakeSmsSender
from scheduling.runner import _quiet_hours
from tests.builders import Team, auth_headers, make_user, utc
from tests.conftest import DEFAULT_NOW, SECRET_KEY


def plan_session_tomorrow(client, team, db_session):
    start = DEFAULT_NOW + timedelta(days=1)
    response = client.post(
        "/sessions",
        json={
            "enrolment_ids": [str(team.enrolment.id)],
            "kind": "one_to_one",
            "location_category": "community_venue",
            "planned_start_at": start.isoformat(),
            "planned_end_at": (start + timedelta(hours=1)).isoformat(),
            "status": "planned",
        },
        headers=team.headers(),
    )
    assert response.status_code == 201, response.json
    return db_session.scalars(select(OutboundMessage).order_by(OutboundMessage.send_after)).all()


def test_a_programme_that_wants_only_the_evening_before_reminder_gets_only_that(client, db_session, clock):
    team = Team(db_session, clock, places=5, with_child=True)
    team.consent_to_sms()
    admin = make_user(db_session, Role.ADMIN)
    changed = client.patch(
        f"/programmes/{team.programme.id}",
        json={"reminder_day_before_at": "18:30:00", "reminder_hours_before": None},
        headers=auth_headers(db_session, admin),
    )
    assert changed.status_code == 200, changed.json
    assert (changed.json["reminder_day_before_at"], changed.json["reminder_hours_before"]) == ("18:30:00", None)

    [reminder] = plan_session_tomorrow(client, team, db_session)

    assert reminder.dedupe_key.split(":")[4] == "day_before"
    assert reminder.send_after == DEFAULT_NOW.replace(hour=18, minute=30)


def test_the_default_programme_reminds_the_evening_before_and_two_hours_before(client, db_session, clock):
    team = Team(db_session, clock, places=5, with_child=True)
    team.consent_to_sms()

    reminders = plan_session_tomorrow(client, team, db_session)

    assert [reminder.dedupe_key.split(":")[4] for reminder in reminders] == ["day_before", "2h_before"]


def test_quiet_hours_are_read_from_configuration_and_can_be_switched_off():
    parsed = parse_quiet_hours({"child": "20:30-07:45", "carer": None, "mentor": ""})

    assert parsed == {
        RecipientType.CHILD: QuietHours(time(20, 30), time(7, 45)),
        RecipientType.CARER: None,
        RecipientType.MENTOR: None,
    }


@pytest.mark.parametrize("bad", [{"children": "21:00-08:00"}, {"child": "9pm-8am"}, "21:00-08:00"])
def test_the_scheduler_refuses_to_start_with_quiet_hours_it_cannot_read(bad):
    with pytest.raises(SystemExit, match="REACHABLE_SMS_QUIET_HOURS"):
        _quiet_hours(bad)


# --- The mentor's own reminder -------------------------------------------------------------------------------
# The clock starts on Monday 23 November 2026, 14:00 UTC (GMT, so London time is UTC). The child has a mobile
# and consent to SMS; the mentor is given a work mobile over HTTP, as a coordinator would.

MENTOR_MOBILE = "+447700900999"
TUESDAY_17 = utc(2026, 11, 24, 17)
WEDNESDAY_08 = utc(2026, 11, 25, 8)
WEDNESDAY_10 = utc(2026, 11, 25, 10)
MENTOR_IS_GONE = "the mentor has no mobile recorded or is no longer active"
# Words that would tell someone reading over the mentor's shoulder what the meeting is (the templates' rules).
REVEALING = ("programme", "mentor", "youth", "referral", "risk", "wellbeing", "police", "council", "school")
GSM7_BASIC = set(
    "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?"
    "¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà"
)


class MentorReminders:
    """A team whose mentor plans sessions over HTTP for the child, the dispatcher with a FakeSmsSender behind it
    (its `sent` is what reached a phone), and fresh reads of the outbox."""

    def __init__(self, db_session, client, clock, session_factory, *, mentor_mobile: str | None = MENTOR_MOBILE):
        self.team = Team(db_session, clock, places=5, with_child=True)
        self.team.consent_to_sms()
        self.client, self.clock, self.session_factory = client, clock, session_factory
        self.child = db_session.get_one(Child, self.team.child_id)
        self.child_mobile = db_session.scalar(select(PhoneNumber).where(PhoneNumber.child_id == self.child.id))
        assert self.child_mobile.e164 != MENTOR_MOBILE
        if mentor_mobile is not None:
            self.update_mentor(mobile=mentor_mobile)
        self.fake = FakeSmsSender(now=clock.now)
        self.settings = DispatchSettings(
            sender=self.fake,
            secret_key=SECRET_KEY,
            public_base_url="https://checkin.example.org",
            status_callback_url=None,
        )

    @property
    def mentor(self):
        return self.team.mentor

    def update_mentor(self, **changes) -> None:
        response = self.client.patch(
            f"/users/{self.mentor.id}", json=changes, headers=self.team.headers(self.team.coordinator)
        )
        assert response.status_code == 200, response.json

    def plan(self, start: datetime) -> dict:
        response = self.client.post(
            "/sessions",
            json={
                "enrolment_ids": [str(self.team.enrolment.id)],
                "kind": "one_to_one",
                "location_category": "community_venue",
                "planned_start_at": start.isoformat(),
                "planned_end_at": (start + timedelta(hours=1)).isoformat(),
            },
            headers=self.team.headers(),
        )
        assert response.status_code == 201, response.json
        return response.json

    def reschedule(self, session: dict, start: datetime) -> dict:
        response = self.client.post(
            f"/sessions/{session['id']}/reschedule",
            json={"planned_start_at": start.isoformat(), "planned_end_at": (start + timedelta(hours=1)).isoformat()},
            headers=self.team.headers() | {"If-Match": f'"{session["version"]}"'},
        )
        assert response.status_code == 201, response.json
        return response.json

    def cancel(self, session: dict) -> None:
        response = self.client.patch(
            f"/sessions/{session['id']}",
            json={"status": "cancelled_by_mentor"},
            headers=self.team.headers() | {"If-Match": f'"{session["version"]}"'},
        )
        assert response.status_code == 200, response.json

    def travel_to(self, moment: datetime) -> None:
        self.clock.at = moment

    def dispatch(self) -> int:
        return sms_dispatch.dispatch_due(self.session_factory, settings=self.settings, clock=self.clock.now)

    def reminders(self, session: dict, recipient: RecipientType | None = None) -> list[OutboundMessage]:
        """The session's reminders (to `recipient` only, if named), earliest first, read afresh."""
        with self.session_factory() as db_session:
            query = select(OutboundMessage).where(OutboundMessage.session_id == uuid.UUID(session["id"]))
            if recipient is not None:
                query = query.where(OutboundMessage.recipient_type == recipient)
            messages = db_session.scalars(query.order_by(OutboundMessage.send_after, OutboundMessage.id)).all()
            db_session.commit()
        return list(messages)

    def sent_to_mentor(self) -> list[str]:
        return [sent.sms.body for sent in self.fake.sent if sent.sms.to == MENTOR_MOBILE]


@pytest.fixture()
def mentor_reminders(db_session, client, clock, session_factory) -> MentorReminders:
    return MentorReminders(db_session, client, clock, session_factory)


class TestTheMentorsReminder:
    def test_a_mentor_with_a_mobile_gets_each_reminder_the_child_gets_addressed_to_them(self, mentor_reminders):
        session = mentor_reminders.plan(WEDNESDAY_10)

        child = mentor_reminders.reminders(session, RecipientType.CHILD)
        mentor = mentor_reminders.reminders(session, RecipientType.MENTOR)
        assert [(m.send_after, m.state) for m in child] == [
            (TUESDAY_17, MessageState.QUEUED),
            (WEDNESDAY_08, MessageState.QUEUED),
        ]
        assert [(m.send_after, m.drop_after, m.state) for m in mentor] == [
            (TUESDAY_17, WEDNESDAY_10, MessageState.QUEUED),
            (WEDNESDAY_08, WEDNESDAY_10, MessageState.QUEUED),
        ]
        assert {(m.recipient_user_id, m.phone_number_id, m.child_id, m.purpose) for m in mentor} == {
            (mentor_reminders.mentor.id, None, mentor_reminders.child.id, MessagePurpose.SESSION_REMINDER)
        }
        assert len({m.dedupe_key for m in child + mentor}) == 4

    @pytest.mark.parametrize(
        ("planned_at", "start", "day_before", "when"),
        [
            (DEFAULT_NOW, WEDNESDAY_10, TUESDAY_17, "Wed 25 Nov at 10:00"),
            # BST: 11:00 UTC is 12:00 in London, and the evening before is 17:00 BST (16:00 UTC).
            (utc(2027, 6, 14, 13), utc(2027, 6, 16, 11), utc(2027, 6, 15, 16), "Wed 16 Jun at 12:00"),
        ],
        ids=["gmt", "bst"],
    )
    def test_the_mentors_text_names_the_time_in_the_programmes_zone_and_nothing_that_gives_the_service_away(
        self, mentor_reminders, planned_at, start, day_before, when
    ):
        mentor_reminders.travel_to(planned_at)
        mentor_reminders.plan(start)
        mentor_reminders.travel_to(day_before)

        assert mentor_reminders.dispatch() == 2

        [body] = mentor_reminders.sent_to_mentor()
        child = mentor_reminders.child
        assert body == f"Reminder: {child.first_name} {when}."
        # A first name and a day and time at most, in one GSM-7 segment: no surname, programme, place or purpose.
        assert len(body) <= 160 and set(body) <= GSM7_BASIC
        programme = mentor_reminders.team.programme
        for secret in (child.last_name, programme.name, "community", "venue", *REVEALING):
            assert secret.lower() not in body.lower(), (secret, body)

    def test_a_mentor_without_a_mobile_gets_no_reminder_and_the_child_still_does(
        self, db_session, client, clock, session_factory
    ):
        without_mobile = MentorReminders(db_session, client, clock, session_factory, mentor_mobile=None)
        session = without_mobile.plan(WEDNESDAY_10)

        assert {m.recipient_type for m in without_mobile.reminders(session)} == {RecipientType.CHILD}
        assert len(without_mobile.reminders(session)) == 2

    def test_a_mentor_whose_mobile_was_cleared_gets_no_reminder_for_sessions_planned_since(self, mentor_reminders):
        mentor_reminders.update_mentor(mobile=None)
        session = mentor_reminders.plan(WEDNESDAY_10)

        assert mentor_reminders.reminders(session, RecipientType.MENTOR) == []

    def test_moving_the_session_moves_the_mentors_reminders_with_it(self, mentor_reminders):
        old = mentor_reminders.plan(WEDNESDAY_10)
        mentor_reminders.clock.advance(minutes=5)
        new_start = utc(2026, 11, 24, 18)
        new = mentor_reminders.reschedule(old, new_start)

        assert [(m.state, m.state_reason) for m in mentor_reminders.reminders(old, RecipientType.MENTOR)] == [
            (MessageState.CANCELLED, "the session changed"),
            (MessageState.CANCELLED, "the session changed"),
        ]
        moved = mentor_reminders.reminders(new, RecipientType.MENTOR)
        assert [(m.send_after, m.drop_after, m.state, m.recipient_user_id) for m in moved] == [
            (utc(2026, 11, 23, 17), new_start, MessageState.QUEUED, mentor_reminders.mentor.id),
            (utc(2026, 11, 24, 16), new_start, MessageState.QUEUED, mentor_reminders.mentor.id),
        ]

        for moment in (utc(2026, 11, 23, 17), utc(2026, 11, 24, 16), TUESDAY_17, WEDNESDAY_08):
            mentor_reminders.travel_to(moment)
            mentor_reminders.dispatch()
        name = mentor_reminders.child.first_name
        assert mentor_reminders.sent_to_mentor() == [f"Reminder: {name} Tue 24 Nov at 18:00."] * 2

    def test_cancelling_the_session_cancels_the_mentors_reminders(self, mentor_reminders):
        session = mentor_reminders.plan(WEDNESDAY_10)
        mentor_reminders.clock.advance(minutes=5)
        mentor_reminders.cancel(session)

        assert [(m.state, m.state_reason) for m in mentor_reminders.reminders(session, RecipientType.MENTOR)] == [
            (MessageState.CANCELLED, "the session changed"),
            (MessageState.CANCELLED, "the session changed"),
        ]
        for moment in (TUESDAY_17, WEDNESDAY_08):
            mentor_reminders.travel_to(moment)
            assert mentor_reminders.dispatch() == 0
        assert mentor_reminders.fake.attempts == []

    @pytest.mark.parametrize("change", [{"is_active": False}, {"mobile": None}], ids=["deactivated", "mobile_cleared"])
    def test_a_mentor_deactivated_or_without_a_mobile_by_sending_time_has_the_reminder_dropped_with_a_reason(
        self, mentor_reminders, change
    ):
        session = mentor_reminders.plan(WEDNESDAY_10)
        [day_before, _] = mentor_reminders.reminders(session, RecipientType.MENTOR)
        mentor_reminders.clock.advance(minutes=5)
        mentor_reminders.update_mentor(**change)

        mentor_reminders.travel_to(TUESDAY_17)
        assert mentor_reminders.dispatch() == 1

        [dropped, _] = mentor_reminders.reminders(session, RecipientType.MENTOR)
        assert (dropped.id, dropped.state, dropped.state_reason) == (
            day_before.id,
            MessageState.DROPPED,
            MENTOR_IS_GONE,
        )
        assert [sent.sms.to for sent in mentor_reminders.fake.sent] == [mentor_reminders.child_mobile.e164]
        assert mentor_reminders.sent_to_mentor() == []
