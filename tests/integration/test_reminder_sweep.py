"""The reminder sweep's cost follows what changed, not everything planned (issue 20).

Each sweep looks at the planned sessions entering the 48-hour horizon since the last one (a watermark it moves with
the reminders it queued), and at the sessions within the horizon of the children, mentors and programmes whose
changes it was told of; a change to a session itself re-syncs its reminders at once. The clock starts on Monday
23 November 2026, 14:00 UTC (London time is UTC).
"""

from __future__ import annotations

import uuid
from datetime import date, time, timedelta

import pytest
from sqlalchemy import delete, select

from api.accounts import service as accounts_service
from api.children import service as children_service
from api.children.models import PhoneNumber
from api.children.rules import ConsentGivenBy, ContactChannel, NewPhoneNumber, PhoneOwner
from api.outbox.rules import MessageState, RecipientType
from api.programmes import service as programmes_service
from api.reminders import service as reminders_service
from api.reminders.models import ReminderSweep
from api.reminders.rules import REMINDER_HORIZON
from api.schedules import service as schedules_service
from api.schedules.rules import Slot
from api.sessions import service as sessions_service
from api.sessions.models import MentoringSession, SessionAttendee
from api.sessions.rules import LocationCategory, SessionKind, SessionLog, SessionStatus
from tests.builders import Team, actor_for, utc, work_mobile
from tests.conftest import DEFAULT_NOW
from tests.reminder_sweeps import counted_sweep, plant_sessions, queued_reminders, reminders_of

TOMORROW_10 = utc(2026, 11, 24, 10)


@pytest.fixture()
def team(db_session, clock) -> Team:
    """A child with a mobile and consent to SMS, allocated to a mentor without a work mobile."""
    team = Team(db_session, clock, places=5, with_child=True)
    team.consent_to_sms()
    return team


def plan(db_session, team: Team, start, *, now=None) -> uuid.UUID:
    """A session planned through the sessions service, as a mentor's request would."""
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
        status=SessionStatus.PLANNED,
        log=SessionLog(),
        now=now or team.clock.now(),
    )
    return view.id


def plant(db_session, team: Team, starts) -> list[uuid.UUID]:
    return plant_sessions(
        db_session,
        actor=actor_for(team.coordinator),
        enrolment_id=team.enrolment.id,
        starts=starts,
        now=team.clock.now(),
    )


def spread_over_the_horizon(count: int, *, from_: object = DEFAULT_NOW) -> list:
    """`count` starts between 1 and 47 hours ahead, a few minutes apart."""
    step = (REMINDER_HORIZON - timedelta(hours=2)) / count
    return [from_ + timedelta(hours=1) + step * index for index in range(count)]  # type: ignore[operator]


# --- Nothing changed: nothing looked at ----------------------------------------------------------------------


def test_a_sweep_with_nothing_changed_looks_at_no_session_and_costs_the_same_for_10_or_200_planned(
    db_session, team, clock
):
    costs = {}
    for planned in (10, 200):
        # Start afresh: no watermark, and sessions up to `planned` across the horizon, none reminded yet.
        db_session.execute(delete(ReminderSweep))
        db_session.commit()
        plant(db_session, team, spread_over_the_horizon(planned - len(costs) * 10))
        first = counted_sweep(db_session, now=clock.now())
        assert first.examined == planned
        assert first.queued > 0

        clock.advance(minutes=5)
        quiet = counted_sweep(db_session, now=clock.now())
        assert (quiet.examined, quiet.queued) == (0, 0)
        costs[planned] = quiet.statements
        clock.advance(minutes=-5)

    assert costs[10] == costs[200], costs
    # The watermark (written if missing, locked, moved), the notes, one select of sessions.
    assert costs[10] <= 5, costs


def test_the_first_sweep_reminds_everything_in_the_horizon_once_and_the_next_nothing(db_session, team, clock):
    inside = plant(db_session, team, [utc(2026, 11, 24, 9), utc(2026, 11, 25, 12)])
    [beyond] = plant(db_session, team, [utc(2026, 11, 25, 15)])

    first = counted_sweep(db_session, now=clock.now())
    again = counted_sweep(db_session, now=clock.now())

    assert (first.examined, first.queued) == (2, 4)
    assert (again.examined, again.queued) == (0, 0)
    assert [len(queued_reminders(db_session, session_id)) for session_id in inside] == [2, 2]
    assert queued_reminders(db_session, beyond) == []
    assert db_session.get_one(ReminderSweep, 1).covered_until == clock.now() + REMINDER_HORIZON


# --- Sessions entering the horizon ---------------------------------------------------------------------------


def test_a_session_entering_the_horizon_gets_its_reminders_exactly_once(db_session, team, clock):
    session_id = plan(db_session, team, utc(2026, 11, 26, 10))  # 68 hours ahead: not reminded yet
    assert reminders_of(db_session, session_id) == []

    sweeps = []
    for _ in range(12 * 24):  # a day of sweeps, every five minutes
        sweeps.append(counted_sweep(db_session, now=clock.now()))
        clock.advance(minutes=5)

    entering = [index for index, sweep in enumerate(sweeps) if sweep.examined]
    assert len(entering) == 1
    # 68 - 48 = 20 hours in: the sweep at 10:00 on Tuesday, the first whose horizon reaches 10:00 on Thursday.
    assert entering[0] == 20 * 12
    assert (sweeps[entering[0]].examined, sweeps[entering[0]].queued) == (1, 2)
    assert sum(sweep.queued for sweep in sweeps) == 2
    assert [(m.dedupe_key.split(":")[4], m.state) for m in reminders_of(db_session, session_id)] == [
        ("day_before", MessageState.QUEUED),
        ("2h_before", MessageState.QUEUED),
    ]


def test_a_session_planned_within_the_horizon_is_reminded_by_its_own_write_not_the_sweep(db_session, team, clock):
    counted_sweep(db_session, now=clock.now())
    session_id = plan(db_session, team, TOMORROW_10)
    assert len(queued_reminders(db_session, session_id)) == 2

    sweep = counted_sweep(db_session, now=clock.now() + timedelta(minutes=5))

    assert (sweep.examined, sweep.queued) == (0, 0)


def test_a_session_planned_just_beyond_the_horizon_as_a_sweep_looks_is_not_missed(db_session, team, clock):
    # A request whose clock read 14:00 plans a session at 14:03 two days on, just beyond its horizon; the sweep's
    # clock reads 14:05 and its horizon reaches the session, but the request commits after the sweep has looked.
    counted_sweep(db_session, now=clock.now())
    session_id = plan(db_session, team, clock.now() + REMINDER_HORIZON + timedelta(minutes=3))

    assert len(queued_reminders(db_session, session_id)) == 2  # the write reminds it (WRITER_MARGIN)


def test_after_three_hours_without_a_sweep_the_next_covers_the_gap(db_session, clock):
    team = Team(db_session, clock, places=5, max_sessions_per_week=7, with_child=True)
    team.consent_to_sms()
    counted_sweep(db_session, now=clock.now())
    # Planned now, beyond the horizon and the writer's margin: each enters the horizon while the scheduler is down.
    gap = [clock.now() + REMINDER_HORIZON + timedelta(minutes=minutes) for minutes in (70, 110, 150, 179)]
    later = clock.now() + REMINDER_HORIZON + timedelta(hours=3, minutes=10)
    session_ids = [plan(db_session, team, start) for start in gap] + [plan(db_session, team, later)]
    assert all(reminders_of(db_session, session_id) == [] for session_id in session_ids)

    clock.advance(hours=3)
    back = counted_sweep(db_session, now=clock.now())

    assert (back.examined, back.queued) == (4, 8)
    assert [len(queued_reminders(db_session, session_id)) for session_id in session_ids] == [2, 2, 2, 2, 0]
    clock.advance(minutes=5)
    assert counted_sweep(db_session, now=clock.now()).examined == 0


def test_a_pattern_planning_a_session_tomorrow_reminds_it_at_once(db_session, team, clock):
    counted_sweep(db_session, now=clock.now())
    schedules_service.set_pattern(
        db_session,
        actor=actor_for(team.mentor),
        enrolment_id=team.enrolment.id,
        slots=[Slot(2, time(10, 0))],  # Tuesdays at 10:00
        duration_minutes=60,
        kind=SessionKind.ONE_TO_ONE,
        location_category=LocationCategory.COMMUNITY_VENUE,
        starts_on=date(2026, 11, 23),
        now=clock.now(),
    )
    [tomorrow] = [session for session in sessions_of_child(db_session, team) if session.planned_start_at == TOMORROW_10]

    assert len(queued_reminders(db_session, tomorrow.id)) == 2


def sessions_of_child(db_session, team: Team):
    return db_session.scalars(
        select(MentoringSession)
        .join(SessionAttendee, SessionAttendee.session_id == MentoringSession.id)
        .where(SessionAttendee.child_id == team.child_id)
    ).all()


# --- Changes to who is reminded ------------------------------------------------------------------------------


def test_consent_granted_to_a_child_with_a_session_tomorrow_brings_the_reminders_at_the_next_sweep(db_session, clock):
    team = Team(db_session, clock, places=5, with_child=True)  # no consent to SMS yet
    session_id = plan(db_session, team, TOMORROW_10)
    counted_sweep(db_session, now=clock.now())
    assert reminders_of(db_session, session_id) == []

    clock.advance(minutes=2)
    team.consent_to_sms()
    clock.advance(minutes=3)
    sweep = counted_sweep(db_session, now=clock.now())

    assert (sweep.examined, sweep.queued) == (1, 2)
    assert len(queued_reminders(db_session, session_id)) == 2
    clock.advance(minutes=5)
    assert counted_sweep(db_session, now=clock.now()).examined == 0


def test_consent_withdrawn_cancels_the_reminders_at_the_next_sweep(db_session, team, clock):
    session_id = plan(db_session, team, TOMORROW_10)
    counted_sweep(db_session, now=clock.now())
    clock.advance(minutes=1)  # a later decision than the consent (the one in force is the latest)
    team.consent_to_sms(granted=False)

    sweep = counted_sweep(db_session, now=clock.now() + timedelta(minutes=4))

    assert sweep.examined == 1
    assert [m.state for m in reminders_of(db_session, session_id)] == [MessageState.CANCELLED] * 2


def test_a_new_number_for_the_child_takes_over_the_reminders_at_the_next_sweep(db_session, team, clock):
    session_id = plan(db_session, team, TOMORROW_10)
    counted_sweep(db_session, now=clock.now())
    clock.advance(minutes=1)
    new = children_service.add_phone_number(
        db_session,
        actor=actor_for(team.coordinator),
        child_id=team.child_id,
        phone=NewPhoneNumber("+447700900998", PhoneOwner.CHILD),
        accept_drama_numbers=True,
        now=clock.now(),
    )

    counted_sweep(db_session, now=clock.now() + timedelta(minutes=4))

    assert {m.phone_number_id for m in queued_reminders(db_session, session_id)} == {new.id}


def test_a_carers_consent_reaches_only_that_childs_sessions(db_session, team, clock):
    other = team.child()
    team.consent_to_sms(other.child_id)
    mine, theirs = plan(db_session, team, TOMORROW_10), plan_for(db_session, team, other.id, TOMORROW_10)
    counted_sweep(db_session, now=clock.now())
    children_service.add_phone_number(
        db_session,
        actor=actor_for(team.coordinator),
        child_id=team.child_id,
        phone=NewPhoneNumber("+447700900997", PhoneOwner.CARER),
        accept_drama_numbers=True,
        now=clock.now(),
    )
    children_service.record_consent(
        db_session,
        actor=actor_for(team.coordinator),
        child_id=team.child_id,
        channel=ContactChannel.SMS_TO_CARER,
        granted=True,
        given_by=ConsentGivenBy.CARER,
        now=clock.now(),
    )

    sweep = counted_sweep(db_session, now=clock.now() + timedelta(minutes=5))

    assert (sweep.examined, sweep.queued) == (1, 2)
    assert {m.recipient_type for m in queued_reminders(db_session, mine)} == {RecipientType.CHILD, RecipientType.CARER}
    assert {m.recipient_type for m in queued_reminders(db_session, theirs)} == {RecipientType.CHILD}


def plan_for(db_session, team: Team, enrolment_id, start) -> uuid.UUID:
    view = sessions_service.create_session(
        db_session,
        actor=actor_for(team.mentor),
        session_id=None,
        enrolment_ids=[enrolment_id],
        mentor_id=None,
        kind=SessionKind.ONE_TO_ONE,
        location_category=LocationCategory.COMMUNITY_VENUE,
        planned_start_at=start,
        planned_end_at=start + timedelta(hours=1),
        status=SessionStatus.PLANNED,
        log=SessionLog(),
        now=team.clock.now(),
    )
    return view.id


def test_a_mentor_given_a_mobile_is_reminded_of_their_sessions_from_the_next_sweep(db_session, team, clock):
    session_id = plan(db_session, team, TOMORROW_10)
    counted_sweep(db_session, now=clock.now())
    accounts_service.update_user(
        db_session,
        actor=actor_for(team.coordinator),
        user_id=team.mentor.id,
        changes={"mobile_e164": work_mobile()},
        now=clock.now(),
        accept_drama_numbers=True,
    )

    sweep = counted_sweep(db_session, now=clock.now() + timedelta(minutes=5))

    assert (sweep.examined, sweep.queued) == (1, 2)
    assert [m.recipient_type for m in queued_reminders(db_session, session_id)].count(RecipientType.MENTOR) == 2


def test_a_mentor_deactivated_has_their_reminders_cancelled_at_the_next_sweep(db_session, clock):
    team = Team(db_session, clock, places=5, with_child=True)
    team.consent_to_sms()
    accounts_service.update_user(
        db_session,
        actor=actor_for(team.coordinator),
        user_id=team.mentor.id,
        changes={"mobile_e164": work_mobile()},
        now=clock.now(),
        accept_drama_numbers=True,
    )
    session_id = plan(db_session, team, TOMORROW_10)
    counted_sweep(db_session, now=clock.now())
    accounts_service.update_user(
        db_session,
        actor=actor_for(team.coordinator),
        user_id=team.mentor.id,
        changes={"is_active": False},
        now=clock.now(),
    )

    counted_sweep(db_session, now=clock.now() + timedelta(minutes=5))

    assert {m.recipient_type for m in queued_reminders(db_session, session_id)} == {RecipientType.CHILD}


def test_a_programme_reminding_three_hours_before_instead_of_two_moves_the_reminders_at_the_next_sweep(
    db_session, team, clock
):
    session_id = plan(db_session, team, TOMORROW_10)
    counted_sweep(db_session, now=clock.now())
    programmes_service.update_programme(
        db_session, programme_id=team.programme.id, changes={"reminder_hours_before": 3}, now=clock.now()
    )

    sweep = counted_sweep(db_session, now=clock.now() + timedelta(minutes=5))

    assert sweep.examined == 1
    assert [m.dedupe_key.split(":")[4] for m in queued_reminders(db_session, session_id)] == [
        "day_before",
        "3h_before",
    ]


def test_a_change_that_leaves_reminders_as_they_were_notes_nothing(db_session, team, clock):
    plan(db_session, team, TOMORROW_10)
    counted_sweep(db_session, now=clock.now())
    programmes_service.update_programme(
        db_session, programme_id=team.programme.id, changes={"offer_lapse_hours": 24}, now=clock.now()
    )
    accounts_service.update_user(
        db_session,
        actor=actor_for(team.coordinator),
        user_id=team.mentor.id,
        changes={"display_name": "Renamed"},
        now=clock.now(),
    )

    assert counted_sweep(db_session, now=clock.now() + timedelta(minutes=5)).examined == 0


def test_a_removed_number_loses_its_reminders_at_the_next_sweep(db_session, team, clock):
    session_id = plan(db_session, team, TOMORROW_10)
    counted_sweep(db_session, now=clock.now())
    number = db_session.scalars(select(PhoneNumber).where(PhoneNumber.child_id == team.child_id)).one()
    children_service.remove_phone_number(
        db_session,
        actor=actor_for(team.coordinator),
        child_id=team.child_id,
        phone_number_id=number.id,
        now=clock.now(),
    )

    counted_sweep(db_session, now=clock.now() + timedelta(minutes=5))

    assert queued_reminders(db_session, session_id) == []


def test_a_burst_of_notes_is_read_a_slice_at_a_time_and_none_is_lost(db_session, team, clock, monkeypatch):
    monkeypatch.setattr(reminders_service, "NOTES_PER_SWEEP", 2)
    others = [team.child() for _ in range(2)]
    session_ids = [plan_for(db_session, team, place.id, TOMORROW_10) for place in others]
    counted_sweep(db_session, now=clock.now())
    for place in others:
        team.consent_to_sms(place.child_id)  # a note each; a third below, the second child's new number
    children_service.add_phone_number(
        db_session,
        actor=actor_for(team.coordinator),
        child_id=others[1].child_id,
        phone=NewPhoneNumber("+447700900996", PhoneOwner.CARER),
        accept_drama_numbers=True,
        now=clock.now(),
    )

    sweeps = [counted_sweep(db_session, now=clock.now() + timedelta(minutes=5 * (index + 1))) for index in range(3)]

    assert [sweep.examined for sweep in sweeps] == [2, 1, 0]
    assert [len(queued_reminders(db_session, session_id)) for session_id in session_ids] == [2, 2]
