"""The programme's check-in routine, run by the scheduler: api.wellbeing.routine.invite_due_check_ins.

A consenting child with a mobile of their own is sent a one-time link when they start, every four weeks after
(counted in the programme's own calendar), and in the last week before their planned end. Each occasion is
created once, however often the scheduler runs; a child without consent or their own mobile is skipped and
picked up on a later run once that is put right; a programme that switched its routine off sends nothing.

The clock starts on Monday 23 November 2026, 14:00 UTC (GMT in London), the day each child starts.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from api.accounts.models import AppUser
from api.actors import Role
from api.children import service as children_service
from api.children.models import Child, PhoneNumber
from api.children.rules import ConsentGivenBy, ContactChannel, NewPhoneNumber, PhoneOwner
from api.clock import FixedClock
from api.enrolments import service as enrolments_service
from api.enrolments.models import Enrolment
from api.enrolments.rules import EndReason, EnrolmentStatus
from api.outbox.models import OutboundMessage
from api.outbox.rules import MessagePurpose
from api.programmes import service as programmes_service
from api.programmes.models import Cohort, Programme
from api.wellbeing import goals as wellbeing_goals
from api.wellbeing import routine as wellbeing_routine
from api.wellbeing.instruments import SHIPPED_INSTRUMENTS, load_instruments
from api.wellbeing.models import CheckInInvitation
from api.wellbeing.schedule import InvitationReason
from tests.builders import actor_for, admit_child, make_child, make_cohort, make_programme, make_user
from tests.conftest import DEFAULT_NOW, SECRET_KEY

INSTRUMENTS = load_instruments(SHIPPED_INSTRUMENTS, licensed_wording_file=None)
TEN_WEEKS = 10  # planned end on day 70, so its last week runs from day 64


class Routine:
    """A programme with one cohort of ten-week enrolments and a coordinator, and the scheduler to run."""

    def __init__(
        self, db_session: Session, clock: FixedClock, *, time_zone: str = "Europe/London", **check_in_routine: object
    ) -> None:
        self.db_session = db_session
        self.clock = clock
        self.programme: Programme = make_programme(db_session, time_zone=time_zone)
        if check_in_routine:
            # As an admin changes it (PATCH /programmes/{id}).
            programmes_service.update_programme(
                db_session,
                programme_id=self.programme.id,
                changes=check_in_routine,
                now=clock.now(),
                known_instruments=INSTRUMENTS,
            )
        self.cohort: Cohort = make_cohort(db_session, programme=self.programme, places=5, planned_weeks=TEN_WEEKS)
        self.coordinator: AppUser = make_user(db_session, Role.COORDINATOR, programme=self.programme)

    # --- children ---

    def enrol(self, *, consent: bool = True, cohort: Cohort | None = None, **child: object) -> Enrolment:
        """A new child admitted to the cohort today (with the child's consent to SMS unless told otherwise)."""
        made = make_child(self.db_session, programme=self.programme, by=self.coordinator, now=self.clock.now(), **child)
        enrolment = admit_child(
            self.db_session, cohort=cohort or self.cohort, by=self.coordinator, now=self.clock.now(), child=made
        )
        if consent:
            self.consent(enrolment)
        return enrolment

    def consent(self, enrolment: Enrolment, *, granted: bool = True, channel=ContactChannel.SMS_TO_CHILD) -> None:
        children_service.record_consent(
            self.db_session,
            actor=actor_for(self.coordinator),
            child_id=enrolment.child_id,
            channel=channel,
            granted=granted,
            given_by=ConsentGivenBy.CHILD,
            now=self.clock.now(),
        )

    def add_phone(self, enrolment: Enrolment, number: str, owner: PhoneOwner) -> PhoneNumber:
        return children_service.add_phone_number(
            self.db_session,
            actor=actor_for(self.coordinator),
            child_id=enrolment.child_id,
            phone=NewPhoneNumber(number, owner),
            accept_drama_numbers=True,
            now=self.clock.now(),
        )

    def set_goal(self, enrolment: Enrolment, description: str = "Go to school every day") -> None:
        wellbeing_goals.set_goal(
            self.db_session,
            actor=actor_for(self.coordinator),
            child_id=enrolment.child_id,
            description=description,
            now=self.clock.now(),
        )

    # --- the scheduler ---

    def run(self) -> int:
        return wellbeing_routine.invite_due_check_ins(
            self.db_session, instruments=INSTRUMENTS, secret_key=SECRET_KEY, now=self.clock.now()
        )

    def run_on(self, day: int, *, hours: float = 0) -> int:
        """Run the scheduler `day` days (and `hours` hours) after the start."""
        self.clock.at = DEFAULT_NOW + timedelta(days=day, hours=hours)
        return self.run()

    # --- what it made ---

    def invitations(self, enrolment: Enrolment) -> list[CheckInInvitation]:
        self.db_session.expire_all()
        return list(
            self.db_session.scalars(
                select(CheckInInvitation)
                .where(CheckInInvitation.child_id == enrolment.child_id)
                .order_by(CheckInInvitation.created_at, CheckInInvitation.id)
            )
        )

    def occasions(self, enrolment: Enrolment) -> list[tuple[int, str]]:
        """(day after the start, occasion) of each scheduled link the child was sent, oldest first."""
        prefix = f"enrolment:{enrolment.id}:"
        found = []
        for invitation in self.invitations(enrolment):
            assert invitation.occasion is not None and invitation.occasion.startswith(prefix)
            day = (invitation.created_at.astimezone(UTC) - DEFAULT_NOW).days
            found.append((day, invitation.occasion.removeprefix(prefix)))
        return found

    def messages(self, enrolment: Enrolment) -> list[OutboundMessage]:
        return list(
            self.db_session.scalars(select(OutboundMessage).where(OutboundMessage.child_id == enrolment.child_id))
        )


@pytest.fixture()
def routine(db_session, clock) -> Routine:
    return Routine(db_session, clock)


def own_phone(db_session: Session, enrolment: Enrolment) -> PhoneNumber:
    return db_session.scalars(
        select(PhoneNumber).where(
            PhoneNumber.child_id == enrolment.child_id, PhoneNumber.belongs_to == PhoneOwner.CHILD
        )
    ).one()


# --- the occasions -------------------------------------------------------------------------------------------


def test_a_consenting_child_is_sent_a_link_on_the_day_they_start(routine, db_session, clock):
    enrolment = routine.enrol()

    assert routine.run() == 1

    [invitation] = routine.invitations(enrolment)
    assert invitation.reason is InvitationReason.AT_ENROLMENT
    assert invitation.occasion == f"enrolment:{enrolment.id}:at_enrolment"
    assert invitation.instrument_keys == ["ons4"]  # the programme's default choice
    assert invitation.created_by_user_id is None  # the schedule made it, not a person
    assert invitation.created_at == clock.now()
    assert invitation.expires_at == clock.now() + timedelta(hours=72)
    assert (invitation.completed_at, invitation.revoked_at) == (None, None)
    [message] = routine.messages(enrolment)
    assert message.check_in_invitation_id == invitation.id
    assert message.purpose is MessagePurpose.CHECK_IN_LINK
    assert message.phone_number_id == own_phone(db_session, enrolment).id
    assert (message.send_after, message.drop_after) == (clock.now(), invitation.expires_at)


def test_running_the_schedule_twice_creates_each_occasion_once(routine):
    enrolment = routine.enrol()

    assert (routine.run(), routine.run()) == (1, 0)
    assert (routine.run_on(28), routine.run_on(28, hours=3)) == (1, 0)

    assert routine.occasions(enrolment) == [(0, "at_enrolment"), (28, "periodic:1")]
    assert len(routine.messages(enrolment)) == 2


def test_run_daily_a_child_gets_a_link_at_enrolment_every_four_weeks_and_in_the_last_week(routine):
    enrolment = routine.enrol()

    created = [routine.run_on(day) for day in range(0, TEN_WEEKS * 7 + 8)]

    assert routine.occasions(enrolment) == [(0, "at_enrolment"), (28, "periodic:1"), (56, "periodic:2"), (64, "at_end")]
    assert sum(created) == 4
    assert [invitation.reason for invitation in routine.invitations(enrolment)] == [
        InvitationReason.AT_ENROLMENT,
        InvitationReason.PERIODIC,
        InvitationReason.PERIODIC,
        InvitationReason.AT_END,
    ]


def test_the_end_link_is_sent_in_the_last_week_before_the_planned_end_and_not_before(routine):
    enrolment = routine.enrol()
    assert enrolment.planned_end_on == date(2027, 2, 1)  # day 70
    for day in (0, 28, 56):
        routine.run_on(day)

    assert routine.run_on(63) == 0
    assert routine.run_on(64) == 1
    assert (routine.run_on(65), routine.run_on(70), routine.run_on(71)) == (0, 0, 0)

    assert routine.occasions(enrolment)[-1] == (64, "at_end")


def test_a_scheduler_that_was_down_sends_the_latest_occasion_only(routine):
    enrolment = routine.enrol()
    routine.run_on(0)

    # Down from day 1 to day 59: the week-4 link is not sent late once the week-8 one is due.
    assert routine.run_on(60) == 1

    assert routine.occasions(enrolment) == [(0, "at_enrolment"), (60, "periodic:2")]


def test_periods_are_counted_in_the_programmes_calendar_days_not_in_elapsed_hours(routine):
    enrolment = routine.enrol()  # started at 14:00 on 23 November
    routine.run()

    # 27 days and 9 hours later it is still 20 December in London: not yet four weeks.
    assert routine.run_on(27, hours=9.5) == 0
    # Ten minutes past midnight on 21 December is the fourth Monday on, though 28 x 24 hours have not passed.
    assert routine.run_on(27, hours=10 + 1 / 6) == 1

    assert routine.occasions(enrolment)[-1][1] == "periodic:1"


def test_the_calendar_is_the_programmes_own_time_zone(db_session, clock):
    # In Auckland (UTC+13 in summer) the child started on Tuesday 24 November, at 03:00 local time.
    routine = Routine(db_session, clock, time_zone="Pacific/Auckland")
    enrolment = routine.enrol()
    routine.run()
    fourth_tuesday = datetime(2026, 12, 22, 0, 0, tzinfo=UTC) - timedelta(hours=13)  # midnight in Auckland

    clock.at = fourth_tuesday - timedelta(minutes=5)
    assert routine.run() == 0
    clock.at = fourth_tuesday + timedelta(minutes=5)
    assert routine.run() == 1

    assert [occasion for _, occasion in routine.occasions(enrolment)] == ["at_enrolment", "periodic:1"]


def test_each_enrolment_has_its_own_occasions(routine):
    first, second = routine.enrol(), routine.enrol()

    assert routine.run() == 2
    assert routine.run() == 0

    assert routine.occasions(first) == [(0, "at_enrolment")]
    assert routine.occasions(second) == [(0, "at_enrolment")]
    assert routine.invitations(first)[0].occasion != routine.invitations(second)[0].occasion


def test_a_link_lasts_as_long_as_the_programme_says(db_session, clock):
    routine = Routine(db_session, clock, check_in_link_hours=24)
    enrolment = routine.enrol()

    routine.run()

    [invitation] = routine.invitations(enrolment)
    assert invitation.expires_at == clock.now() + timedelta(hours=24)


# --- consent and the child's own mobile ----------------------------------------------------------------------


def test_a_child_without_consent_is_skipped_and_sent_a_link_once_consent_is_given(routine, clock):
    enrolment = routine.enrol(consent=False)

    assert routine.run() == 0
    assert routine.invitations(enrolment) == []

    clock.advance(hours=2)
    routine.consent(enrolment)
    assert routine.run() == 1
    assert routine.run() == 0

    assert routine.occasions(enrolment) == [(0, "at_enrolment")]


def test_a_parents_mobile_is_not_enough_the_link_goes_to_the_childs_own_once_they_consent(routine, clock):
    enrolment = routine.enrol(consent=False, phone_numbers=[NewPhoneNumber("+447700900901", PhoneOwner.PARENT)])
    routine.consent(enrolment, channel=ContactChannel.SMS_TO_CARER)

    assert routine.run() == 0

    clock.advance(hours=1)
    own = routine.add_phone(enrolment, "+447700900902", PhoneOwner.CHILD)
    assert routine.run() == 0  # their own mobile, but no consent to SMS to the child yet
    clock.advance(hours=1)
    routine.consent(enrolment)
    assert routine.run() == 1

    [message] = routine.messages(enrolment)
    assert message.phone_number_id == own.id


def test_a_withdrawn_consent_stops_the_links_until_it_is_given_again(routine, clock):
    enrolment = routine.enrol()
    routine.run_on(0)
    clock.advance(days=1)
    routine.consent(enrolment, granted=False)

    assert routine.run_on(28) == 0
    clock.advance(days=2)
    routine.consent(enrolment)
    assert routine.run() == 1  # day 30: the week-4 occasion is still the latest one due

    assert routine.occasions(enrolment) == [(0, "at_enrolment"), (30, "periodic:1")]


def test_a_child_whose_own_mobile_was_removed_is_skipped(routine, db_session, clock):
    enrolment = routine.enrol()
    routine.add_phone(enrolment, "+447700900903", PhoneOwner.PARENT)
    clock.advance(hours=1)
    children_service.remove_phone_number(
        db_session,
        actor=actor_for(routine.coordinator),
        child_id=enrolment.child_id,
        phone_number_id=own_phone(db_session, enrolment).id,
        now=clock.now(),
    )

    assert routine.run() == 0
    assert routine.messages(enrolment) == []


# --- the routine and its instruments -------------------------------------------------------------------------


def test_a_programme_that_switched_its_routine_off_sends_nothing(db_session, clock):
    routine = Routine(db_session, clock, check_in_at_enrolment=False, check_in_every_weeks=None, check_in_at_end=False)
    enrolment = routine.enrol()

    created = [routine.run_on(day) for day in range(0, TEN_WEEKS * 7 + 2)]

    assert sum(created) == 0
    assert routine.invitations(enrolment) == []
    assert routine.messages(enrolment) == []


def test_a_programme_created_without_periodic_links_sends_none(db_session, clock):
    created = programmes_service.create_programme(
        db_session,
        name="No periodic check-ins",
        time_zone="Europe/London",
        offer_lapse_hours=72,
        districts=["Dartford"],
        session_activities=[],
        now=clock.now(),
        known_instruments=INSTRUMENTS,
        check_in_at_enrolment=False,
        check_in_every_weeks=None,
        check_in_at_end=False,
    )
    routine = Routine(db_session, clock)
    routine.programme = created
    routine.cohort = make_cohort(db_session, programme=created, places=5, planned_weeks=TEN_WEEKS)
    routine.coordinator = make_user(db_session, Role.COORDINATOR, programme=created)
    enrolment = routine.enrol()

    created_links = [routine.run_on(day) for day in (0, 28, 56, 64)]

    assert created_links == [0, 0, 0, 0]
    assert routine.invitations(enrolment) == []


def test_a_programme_without_an_enrolment_link_starts_at_the_first_period(db_session, clock):
    routine = Routine(db_session, clock, check_in_at_enrolment=False)
    enrolment = routine.enrol()

    created = [routine.run_on(day) for day in range(0, 29)]

    assert sum(created) == 1
    assert routine.occasions(enrolment) == [(28, "periodic:1")]


def test_a_link_asks_only_the_programmes_instruments_this_child_can_answer(db_session, clock):
    routine = Routine(db_session, clock, check_in_instruments=["swemwbs", "gbo", "ons4"])
    enrolment = routine.enrol()
    routine.set_goal(enrolment)

    assert routine.run() == 1

    # SWEMWBS has no wording here, so a link cannot ask it; the child has a goal to rate.
    [invitation] = routine.invitations(enrolment)
    assert invitation.instrument_keys == ["gbo", "ons4"]


def test_a_child_with_nothing_they_can_answer_is_skipped_until_they_can(db_session, clock):
    routine = Routine(db_session, clock, check_in_instruments=["swemwbs", "gbo"])
    enrolment = routine.enrol()

    assert routine.run() == 0  # no wording for SWEMWBS, no goals to rate

    clock.advance(hours=1)
    routine.set_goal(enrolment)
    assert routine.run() == 1
    assert routine.invitations(enrolment)[0].instrument_keys == ["gbo"]


def test_a_child_too_young_for_the_programmes_instrument_is_not_sent_it(routine):
    nine = routine.enrol(date_of_birth=date(2017, 5, 1))  # ONS4 is from age 10
    fourteen = routine.enrol()

    assert routine.run() == 1

    assert routine.invitations(nine) == []
    assert len(routine.invitations(fourteen)) == 1


def test_only_children_with_an_active_place_are_sent_links(db_session, clock):
    routine = Routine(db_session, clock)
    small = make_cohort(db_session, programme=routine.programme, places=1, planned_weeks=TEN_WEEKS)
    active = routine.enrol(cohort=small)
    waiting = routine.enrol(cohort=small)
    assert (active.status, waiting.status) == (EnrolmentStatus.ACTIVE, EnrolmentStatus.WAITLISTED)
    not_enrolled = make_child(db_session, programme=routine.programme, by=routine.coordinator)
    children_service.record_consent(
        db_session,
        actor=actor_for(routine.coordinator),
        child_id=not_enrolled.id,
        channel=ContactChannel.SMS_TO_CHILD,
        granted=True,
        given_by=ConsentGivenBy.CHILD,
        now=clock.now(),
    )

    assert routine.run() == 1

    assert len(routine.invitations(active)) == 1
    assert routine.invitations(waiting) == []
    assert (
        db_session.scalars(select(CheckInInvitation).where(CheckInInvitation.child_id == not_enrolled.id)).all() == []
    )


def test_a_child_whose_enrolment_ended_is_sent_nothing_more(routine, db_session, clock):
    enrolment = routine.enrol()
    routine.run_on(0)
    clock.advance(days=3)
    enrolments_service.end_enrolment(
        db_session,
        actor=actor_for(routine.coordinator),
        enrolment_id=enrolment.id,
        reason=EndReason.COMPLETED,
        note=None,
        now=clock.now(),
    )

    assert [routine.run_on(day) for day in (28, 56, 64)] == [0, 0, 0]

    assert routine.occasions(enrolment) == [(0, "at_enrolment")]
    assert db_session.get(Child, enrolment.child_id) is not None
