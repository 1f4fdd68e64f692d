"""What raises an alert by itself: a child reported missing (urgent, texted to the duty coordinator at once), SMS to
a child's number stopping (a STOP, a number the provider blocked), and the scheduled checks of api/watch for a
return conversation coming due and then overdue, and for a child drifting away.

The clock stands on Monday 23 November 2026, 14:00 UTC (GMT, the programme's Europe/London time).
"""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta

import pytest
from sqlalchemy import select

from api.actors import Role
from api.alerts.models import Alert
from api.alerts.rules import AlertKind, AlertState, Urgency
from api.alerts.service import resolve_alert
from api.children.models import PhoneNumber
from api.duty.service import add_shift
from api.enrolments.rules import EndReason
from api.enrolments.service import end_enrolment
from api.missing import service as missing_service
from api.missing.rules import ConversationOutcome, MissingSource
from api.outbox.models import OutboundMessage
from api.outbox.rules import MessagePurpose
from api.sessions import service as sessions_service
from api.sessions.register_rules import Attendance, RegisterLine
from api.sessions.rules import LocationCategory, SessionKind, SessionLog, SessionStatus
from api.sms import dispatch as sms_dispatch
from api.sms import service as sms_service
from api.sms.dispatch import DispatchSettings
from api.watch.service import check_disengagement, check_return_conversations
from api.wellbeing.instruments import SHIPPED_INSTRUMENTS, load_instruments
from api.wellbeing.invitations import invite_check_in
from api.wellbeing.models import CheckInInvitation
from notifications.fake import FakeSmsSender
from tests.builders import Team, actor_for
from tests.conftest import DEFAULT_NOW, SECRET_KEY

HOURS_72 = timedelta(hours=72)


def alerts(db_session, kind: AlertKind) -> list[Alert]:
    db_session.expire_all()
    return list(db_session.scalars(select(Alert).where(Alert.kind == kind).order_by(Alert.raised_at, Alert.id)))


def only_alert(db_session, kind: AlertKind) -> Alert:
    found = alerts(db_session, kind)
    assert len(found) == 1, found
    return found[0]


def set_thresholds(db_session, team: Team, **thresholds: int) -> None:
    team.programme.alert_thresholds = thresholds
    db_session.commit()


# --- child_missing -------------------------------------------------------------------------------------------


def record_episode(db_session, team: Team, *, reported_at: datetime, returned_at: datetime | None = None):
    return missing_service.record_missing_episode(
        db_session,
        actor=actor_for(team.mentor),
        child_id=team.child_id,
        reported_at=reported_at,
        returned_at=returned_at,
        source=MissingSource.POLICE,
        now=team.clock.now(),
    )


def test_a_child_recorded_as_still_missing_raises_one_urgent_alert(db_session, clock):
    team = Team(db_session, clock, with_child=True)
    episode = record_episode(db_session, team, reported_at=DEFAULT_NOW - timedelta(hours=2))

    alert = only_alert(db_session, AlertKind.CHILD_MISSING)
    assert (alert.child_id, alert.urgency, alert.occurrences) == (team.child_id, Urgency.URGENT, 1)
    assert alert.detail == "Reported missing at Mon 23 Nov 2026 12:00 (source: police)"
    assert alert.subject == {"episode_id": str(episode.id)}
    assert alert.raised_by_user_id == team.mentor.id


def test_the_report_is_given_in_the_programmes_local_time(db_session, clock):
    team = Team(db_session, clock, with_child=True)
    team.clock.advance(days=200)  # June 2027: British Summer Time
    record_episode(db_session, team, reported_at=team.clock.now() - timedelta(hours=1))
    assert only_alert(db_session, AlertKind.CHILD_MISSING).detail == (
        "Reported missing at Fri 11 Jun 2027 14:00 (source: police)"
    )


def test_an_episode_recorded_after_the_child_came_back_raises_nothing(db_session, clock):
    team = Team(db_session, clock, with_child=True)
    record_episode(
        db_session, team, reported_at=DEFAULT_NOW - timedelta(hours=5), returned_at=DEFAULT_NOW - timedelta(hours=1)
    )
    assert alerts(db_session, AlertKind.CHILD_MISSING) == []


def test_a_second_report_while_the_alert_is_open_counts_a_repeat(db_session, clock):
    team = Team(db_session, clock, with_child=True)
    record_episode(db_session, team, reported_at=DEFAULT_NOW - timedelta(hours=3))
    second = record_episode(db_session, team, reported_at=DEFAULT_NOW - timedelta(hours=1))
    alert = only_alert(db_session, AlertKind.CHILD_MISSING)
    assert alert.occurrences == 2
    assert alert.subject == {"episode_id": str(second.id)}


def test_the_duty_coordinator_is_texted_urgently_when_the_rota_names_one(db_session, clock):
    team = Team(db_session, clock, with_child=True)
    on_duty = team.user(Role.COORDINATOR, mobile_e164="+447700900501")
    add_shift(
        db_session,
        actor=actor_for(team.coordinator),
        programme_id=team.programme.id,
        coordinator_user_id=on_duty.id,
        fallback_user_id=None,
        starts_at=DEFAULT_NOW,
        ends_at=DEFAULT_NOW + timedelta(hours=12),
        now=DEFAULT_NOW,
    )
    record_episode(db_session, team, reported_at=DEFAULT_NOW - timedelta(minutes=30))

    alert = only_alert(db_session, AlertKind.CHILD_MISSING)
    texts = db_session.scalars(select(OutboundMessage).where(OutboundMessage.alert_id == alert.id)).all()
    assert [(text.purpose, text.recipient_user_id, text.urgent) for text in texts] == [
        (MessagePurpose.ALERT, on_duty.id, True)
    ]


def test_taking_back_a_recorded_return_raises_child_missing(db_session, clock):
    team = Team(db_session, clock, with_child=True)
    episode = record_episode(
        db_session, team, reported_at=DEFAULT_NOW - timedelta(hours=5), returned_at=DEFAULT_NOW - timedelta(hours=1)
    )
    missing_service.update_missing_episode(
        db_session,
        actor=actor_for(team.mentor),
        episode_id=episode.id,
        expected_version=episode.version,
        changes={"returned_at": None},
        now=DEFAULT_NOW,
    )
    assert only_alert(db_session, AlertKind.CHILD_MISSING).subject == {"episode_id": str(episode.id)}


# --- return_conversation_due ---------------------------------------------------------------------------------


def returned_child(db_session, clock, *, returned_at: datetime) -> tuple[Team, uuid.UUID]:
    team = Team(db_session, clock, with_child=True)
    episode = record_episode(db_session, team, reported_at=returned_at - timedelta(hours=6), returned_at=returned_at)
    return team, episode.id


def check_returns_at(db_session, moment: datetime) -> int:
    return check_return_conversations(db_session, now=moment)


def test_a_conversation_not_held_is_alerted_once_when_due_soon_and_once_more_when_overdue(db_session, clock):
    returned_at = DEFAULT_NOW - timedelta(hours=1)
    _, episode_id = returned_child(db_session, clock, returned_at=returned_at)

    assert check_returns_at(db_session, returned_at + HOURS_72 - timedelta(hours=12, seconds=1)) == 0
    assert alerts(db_session, AlertKind.RETURN_CONVERSATION_DUE) == []

    assert check_returns_at(db_session, returned_at + HOURS_72 - timedelta(hours=12)) == 1
    alert = only_alert(db_session, AlertKind.RETURN_CONVERSATION_DUE)
    assert (alert.urgency, alert.occurrences) == (Urgency.HIGH, 1)
    assert alert.subject == {"episode_id": str(episode_id), "stage": "due_soon"}
    assert alert.detail == "Return conversation not yet held: due by Thu 26 Nov 13:00."

    # Every run until it is overdue finds nothing new.
    assert check_returns_at(db_session, returned_at + HOURS_72 - timedelta(hours=6)) == 0
    assert check_returns_at(db_session, returned_at + HOURS_72) == 0
    assert only_alert(db_session, AlertKind.RETURN_CONVERSATION_DUE).occurrences == 1

    assert check_returns_at(db_session, returned_at + HOURS_72 + timedelta(seconds=1)) == 1
    alert = only_alert(db_session, AlertKind.RETURN_CONVERSATION_DUE)
    assert alert.occurrences == 2
    assert alert.subject == {"episode_id": str(episode_id), "stage": "overdue"}
    assert alert.detail == "Return conversation overdue: it was due by Thu 26 Nov 13:00."

    assert check_returns_at(db_session, returned_at + HOURS_72 + timedelta(days=3)) == 0
    assert only_alert(db_session, AlertKind.RETURN_CONVERSATION_DUE).occurrences == 2


def test_a_resolved_due_soon_alert_is_not_raised_again_but_overdue_opens_a_new_one(db_session, clock):
    returned_at = DEFAULT_NOW - timedelta(hours=1)
    team, episode_id = returned_child(db_session, clock, returned_at=returned_at)
    due_soon = returned_at + HOURS_72 - timedelta(hours=6)
    assert check_returns_at(db_session, due_soon) == 1
    first = only_alert(db_session, AlertKind.RETURN_CONVERSATION_DUE)
    resolve_alert(
        db_session, actor=actor_for(team.coordinator), alert_id=first.id, outcome="Booked for tomorrow.", now=due_soon
    )

    assert check_returns_at(db_session, due_soon + timedelta(minutes=15)) == 0
    assert check_returns_at(db_session, returned_at + HOURS_72 + timedelta(minutes=15)) == 1
    resolved, reopened = alerts(db_session, AlertKind.RETURN_CONVERSATION_DUE)
    assert (resolved.id, resolved.state) == (first.id, AlertState.RESOLVED)
    assert (reopened.state, reopened.occurrences) == (AlertState.RAISED, 1)
    assert reopened.subject == {"episode_id": str(episode_id), "stage": "overdue"}


def test_a_completed_conversation_raises_nothing(db_session, clock):
    returned_at = DEFAULT_NOW - timedelta(hours=1)
    team, episode_id = returned_child(db_session, clock, returned_at=returned_at)
    missing_service.record_return_conversation(
        db_session,
        actor=actor_for(team.mentor),
        episode_id=episode_id,
        outcome=ConversationOutcome.COMPLETED,
        offered_at=returned_at + timedelta(minutes=10),
        completed_at=returned_at + timedelta(minutes=40),
        declined_reason=None,
        held_by="Independent worker",
        independent=True,
        now=DEFAULT_NOW,
    )
    assert check_returns_at(db_session, returned_at + HOURS_72 - timedelta(hours=1)) == 0
    assert check_returns_at(db_session, returned_at + HOURS_72 + timedelta(hours=1)) == 0
    assert alerts(db_session, AlertKind.RETURN_CONVERSATION_DUE) == []


def test_the_programmes_warning_hours_decide_when_it_is_due_soon(db_session, clock):
    returned_at = DEFAULT_NOW - timedelta(hours=1)
    team, _ = returned_child(db_session, clock, returned_at=returned_at)
    twenty_hours_left = returned_at + HOURS_72 - timedelta(hours=20)
    assert check_returns_at(db_session, twenty_hours_left) == 0

    set_thresholds(db_session, team, return_conversation_warning_hours=24)
    assert check_returns_at(db_session, twenty_hours_left) == 1


# --- disengagement -------------------------------------------------------------------------------------------


def enrolled_child(db_session, clock, *, days_ago: int) -> Team:
    """A child enrolled (and given a key worker) `days_ago` days before the clock's time."""
    return Team(
        db_session, clock, enrolled_from=DEFAULT_NOW - timedelta(days=days_ago, minutes=1), max_sessions_per_week=7,
        with_child=True,
    )  # fmt: skip


def session_at(db_session, team: Team, start: datetime, status: SessionStatus) -> uuid.UUID:
    view = sessions_service.create_session(
        db_session,
        actor=actor_for(team.mentor),
        session_id=None,
        enrolment_ids=[team.enrolment.id],
        mentor_id=None,
        kind=SessionKind.ONE_TO_ONE,
        location_category=LocationCategory.COMMUNITY_VENUE,
        planned_start_at=start,
        planned_end_at=start + timedelta(hours=1),
        status=status,
        log=SessionLog(),
        now=team.clock.now(),
    )
    return view.id


def days_ago(days: float) -> datetime:
    return DEFAULT_NOW - timedelta(days=days)


def disengagement(db_session) -> Alert:
    return only_alert(db_session, AlertKind.DISENGAGEMENT)


def test_missed_sessions_in_a_row_raise_a_normal_alert_once(db_session, clock):
    team = enrolled_child(db_session, clock, days_ago=12)
    session_at(db_session, team, days_ago(10), SessionStatus.COMPLETED)
    session_at(db_session, team, days_ago(8), SessionStatus.DID_NOT_ATTEND)
    session_at(db_session, team, days_ago(6), SessionStatus.DID_NOT_ATTEND)
    latest = session_at(db_session, team, days_ago(4), SessionStatus.PLANNED)  # never logged: not attendance
    session_at(db_session, team, days_ago(3), SessionStatus.CANCELLED_BY_MENTOR)  # neither attended nor missed

    assert check_disengagement(db_session, now=DEFAULT_NOW) == 1
    alert = disengagement(db_session)
    assert (alert.child_id, alert.urgency, alert.occurrences) == (team.child_id, Urgency.NORMAL, 1)
    assert alert.subject == {"missed_sessions": str(latest)}
    assert alert.detail == "Not engaging: the last 3 planned sessions were not attended (latest Thu 19 Nov 14:00)."
    # Normal alerts are listed, not texted.
    assert db_session.scalars(select(OutboundMessage).where(OutboundMessage.alert_id == alert.id)).all() == []

    assert check_disengagement(db_session, now=DEFAULT_NOW + timedelta(hours=1)) == 0
    assert disengagement(db_session).occurrences == 1

    newer = session_at(db_session, team, days_ago(1), SessionStatus.DID_NOT_ATTEND)
    assert check_disengagement(db_session, now=DEFAULT_NOW + timedelta(hours=2)) == 1
    alert = disengagement(db_session)
    assert (alert.occurrences, alert.subject) == (2, {"missed_sessions": str(newer)})


def test_an_attended_session_among_the_last_ones_raises_nothing(db_session, clock):
    team = enrolled_child(db_session, clock, days_ago=12)
    session_at(db_session, team, days_ago(8), SessionStatus.DID_NOT_ATTEND)
    session_at(db_session, team, days_ago(6), SessionStatus.COMPLETED)
    session_at(db_session, team, days_ago(4), SessionStatus.DID_NOT_ATTEND)
    session_at(db_session, team, days_ago(2), SessionStatus.DID_NOT_ATTEND)
    assert check_disengagement(db_session, now=DEFAULT_NOW) == 0


def test_a_child_who_did_not_come_to_group_sessions_others_attended_has_missed_them(db_session, clock):
    team = enrolled_child(db_session, clock, days_ago=12)
    other = team.child()
    sessions = [
        group_session_at(db_session, team, days_ago(day), came=[other], stayed_away=[team.enrolment])
        for day in (6, 4, 2)
    ]

    assert check_disengagement(db_session, now=DEFAULT_NOW) == 1
    alert = disengagement(db_session)
    assert (alert.child_id, alert.subject) == (team.child_id, {"missed_sessions": str(sessions[-1])})


def group_session_at(db_session, team: Team, start: datetime, *, came, stayed_away) -> uuid.UUID:
    """A group session held, with its register taken."""
    view = sessions_service.create_session(
        db_session,
        actor=actor_for(team.mentor),
        session_id=None,
        enrolment_ids=[enrolment.id for enrolment in [*came, *stayed_away]],
        mentor_id=None,
        kind=SessionKind.GROUP,
        location_category=LocationCategory.COMMUNITY_VENUE,
        planned_start_at=start,
        planned_end_at=start + timedelta(hours=1),
        status=SessionStatus.COMPLETED,
        log=SessionLog(),
        now=team.clock.now(),
    )
    sessions_service.take_register(
        db_session,
        actor=actor_for(team.mentor),
        session_id=view.id,
        expected_version=view.version,
        lines=[RegisterLine(enrolment.child_id, Attendance.ATTENDED) for enrolment in came]
        + [RegisterLine(enrolment.child_id, Attendance.DID_NOT_ATTEND) for enrolment in stayed_away],
        now=team.clock.now(),
    )
    return view.id


def test_the_programmes_number_of_missed_sessions_decides(db_session, clock):
    team = enrolled_child(db_session, clock, days_ago=12)
    session_at(db_session, team, days_ago(10), SessionStatus.COMPLETED)
    session_at(db_session, team, days_ago(4), SessionStatus.DID_NOT_ATTEND)
    session_at(db_session, team, days_ago(2), SessionStatus.DID_NOT_ATTEND)
    assert check_disengagement(db_session, now=DEFAULT_NOW) == 0

    set_thresholds(db_session, team, missed_sessions_in_a_row=2)
    assert check_disengagement(db_session, now=DEFAULT_NOW) == 1
    assert set(disengagement(db_session).subject) == {"missed_sessions"}


def test_no_completed_session_for_the_programmes_days_counts_from_the_enrolments_start(db_session, clock):
    enrolled_child(db_session, clock, days_ago=13)
    assert check_disengagement(db_session, now=DEFAULT_NOW) == 0

    assert check_disengagement(db_session, now=DEFAULT_NOW + timedelta(days=1)) == 1
    alert = disengagement(db_session)
    assert set(alert.subject) == {"no_completed_session"}
    assert "no completed session for 14 days (since the start of the enrolment, Tue 10 Nov 2026)" in alert.detail
    # Days going by are not new evidence.
    assert check_disengagement(db_session, now=DEFAULT_NOW + timedelta(days=3)) == 0
    assert disengagement(db_session).occurrences == 1


def test_the_programmes_days_without_a_completed_session_decide(db_session, clock):
    team = enrolled_child(db_session, clock, days_ago=20)
    set_thresholds(db_session, team, days_without_completed_session=30)
    assert check_disengagement(db_session, now=DEFAULT_NOW) == 0

    set_thresholds(db_session, team, days_without_completed_session=20)
    assert check_disengagement(db_session, now=DEFAULT_NOW) == 1


def test_days_without_a_completed_session_count_from_the_last_one(db_session, clock):
    team = enrolled_child(db_session, clock, days_ago=40)
    session_at(db_session, team, days_ago(10), SessionStatus.COMPLETED)
    assert check_disengagement(db_session, now=DEFAULT_NOW) == 0
    assert check_disengagement(db_session, now=DEFAULT_NOW + timedelta(days=4)) == 1
    assert set(disengagement(db_session).subject) == {"no_completed_session"}


def invite(db_session, team: Team, at: datetime) -> CheckInInvitation:
    record = invite_check_in(
        db_session,
        actor=actor_for(team.mentor),
        instruments=load_instruments(SHIPPED_INSTRUMENTS, licensed_wording_file=None),
        child_id=team.child_id,
        instrument_keys=None,
        secret_key=SECRET_KEY,
        now=at,
    )
    return db_session.get_one(CheckInInvitation, record.id)


def test_check_in_links_expired_unanswered_in_a_row_raise_disengagement(db_session, clock):
    team = enrolled_child(db_session, clock, days_ago=10)
    team.consent_to_sms(now=days_ago(10))
    session_at(db_session, team, days_ago(9), SessionStatus.COMPLETED)
    invite(db_session, team, days_ago(9))
    latest = invite(db_session, team, days_ago(8))
    now = latest.expires_at + timedelta(minutes=1)
    assert now < DEFAULT_NOW + timedelta(days=4)  # before the days-without-a-session rule would speak

    assert check_disengagement(db_session, now=latest.expires_at - timedelta(minutes=1)) == 0
    assert check_disengagement(db_session, now=now) == 1
    alert = disengagement(db_session)
    assert alert.subject == {"unanswered_links": str(latest.id)}
    assert "the last 2 check-in links expired unanswered" in alert.detail
    assert check_disengagement(db_session, now=now + timedelta(hours=1)) == 0


def test_an_answered_link_among_the_last_ones_raises_nothing(db_session, clock):
    team = enrolled_child(db_session, clock, days_ago=10)
    team.consent_to_sms(now=days_ago(10))
    session_at(db_session, team, days_ago(9), SessionStatus.COMPLETED)
    answered = invite(db_session, team, days_ago(9))
    latest = invite(db_session, team, days_ago(8))
    answered.completed_at = days_ago(9) + timedelta(hours=1)
    db_session.commit()
    assert check_disengagement(db_session, now=latest.expires_at + timedelta(minutes=1)) == 0


def test_an_ended_enrolment_is_not_watched(db_session, clock):
    team = enrolled_child(db_session, clock, days_ago=30)
    end_enrolment(
        db_session, actor=actor_for(team.coordinator), enrolment_id=team.enrolment.id, reason=EndReason.COMPLETED,
        note=None, now=DEFAULT_NOW,
    )  # fmt: skip
    assert check_disengagement(db_session, now=DEFAULT_NOW) == 0


# --- contact_lost --------------------------------------------------------------------------------------------


def childs_number(db_session, team: Team) -> PhoneNumber:
    return db_session.scalars(select(PhoneNumber).where(PhoneNumber.child_id == team.child_id)).one()


def test_a_stop_from_the_childs_number_raises_contact_lost_once(db_session, clock):
    team = Team(db_session, clock, with_child=True)
    team.consent_to_sms()
    number = childs_number(db_session, team)

    assert sms_service.apply_reply(db_session, from_number=number.e164, body="STOP", now=DEFAULT_NOW) == "stop"
    alert = only_alert(db_session, AlertKind.CONTACT_LOST)
    assert (alert.child_id, alert.urgency) == (team.child_id, Urgency.NORMAL)
    assert alert.detail == "SMS to the child's number stopped: they replied STOP"

    sms_service.apply_reply(db_session, from_number=number.e164, body="STOP", now=DEFAULT_NOW + timedelta(minutes=5))
    assert only_alert(db_session, AlertKind.CONTACT_LOST).occurrences == 1


def test_other_replies_raise_nothing(db_session, clock):
    team = Team(db_session, clock, with_child=True)
    team.consent_to_sms()
    sms_service.apply_reply(db_session, from_number=childs_number(db_session, team).e164, body="HELP", now=DEFAULT_NOW)
    assert alerts(db_session, AlertKind.CONTACT_LOST) == []


@pytest.fixture()
def sent_to_child(db_session, session_factory, clock) -> tuple[Team, OutboundMessage]:
    """A check-in link sent to the child's number (the message carries the provider's id)."""
    team = Team(db_session, clock, with_child=True)
    team.consent_to_sms()
    invitation = invite(db_session, team, DEFAULT_NOW)
    provider = FakeSmsSender(now=clock.now)
    settings = DispatchSettings(
        sender=provider, secret_key=SECRET_KEY, public_base_url="https://checkin.example.org",
        status_callback_url=None,
    )  # fmt: skip
    sms_dispatch.dispatch_due(session_factory, settings=settings, clock=clock.now)
    db_session.expire_all()
    message = db_session.scalars(
        select(OutboundMessage).where(OutboundMessage.check_in_invitation_id == invitation.id)
    ).one()
    assert message.provider_id is not None
    return team, message


def test_a_number_the_provider_blocks_raises_contact_lost(db_session, sent_to_child):
    team, message = sent_to_child
    assert message.provider_id is not None
    sms_service.apply_status(
        db_session, provider_id=message.provider_id, status="undelivered", error_code=30006, now=DEFAULT_NOW
    )
    alert = only_alert(db_session, AlertKind.CONTACT_LOST)
    assert alert.child_id == team.child_id
    assert alert.detail == "SMS to the child's number blocked: provider error 30006"


def test_an_error_that_does_not_block_the_number_raises_nothing(db_session, sent_to_child):
    _, message = sent_to_child
    assert message.provider_id is not None
    sms_service.apply_status(
        db_session, provider_id=message.provider_id, status="undelivered", error_code=30003, now=DEFAULT_NOW
    )
    assert alerts(db_session, AlertKind.CONTACT_LOST) == []
