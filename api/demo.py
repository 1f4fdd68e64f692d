"""Invented demonstration data, loaded through the services so every rule applies to it too.

Nothing here is real: names are made up, phone numbers are in Ofcom's drama range (07700 900xxx).
"""

from __future__ import annotations

import itertools
import random
import uuid
from collections.abc import Callable, Mapping
from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.orm import Session

from api.accounts import service as accounts_service
from api.accounts.models import AppUser
from api.actors import Actor, Role
from api.caseloads.errors import MentorCaseloadFull
from api.children import service as children_service
from api.children.rules import ConsentGivenBy, ContactChannel, NewPhoneNumber, PhoneOwner
from api.duty import service as duty_service
from api.enrolments import allocations as enrolments_allocations
from api.enrolments import reading as enrolments_reading
from api.enrolments.rules import EndReason, EnrolmentStatus, Priority
from api.groups import service as groups_service
from api.groups.rules import PlannedTimes
from api.pagination import Window
from api.programmes import service as programmes_service
from api.programmes.models import Programme
from api.programmes.rules import CohortKind
from api.referrals import service as referrals_service
from api.referrals.rules import ReferralSource
from api.schedules import service as schedules_service
from api.schedules.rules import Slot
from api.sessions import service as sessions_service
from api.sessions.register_rules import Attendance, CarerAtSession, CarerRelationship, RegisterLine
from api.sessions.rules import LocationCategory, SessionKind, SessionLog, SessionStatus
from api.wellbeing import check_ins as wellbeing_check_ins
from api.wellbeing import goals as wellbeing_goals
from api.wellbeing import invitations as wellbeing_invitations
from api.wellbeing import routine as wellbeing_routine
from api.wellbeing.rules import Instrument

DEMO_PROGRAMME = "North Kent and Medway mentoring programme"
# Shown after a check-in from a link. Invented wording; a real programme writes its own.
DEMO_HELP_TEXT = (
    "If you are in danger now, call 999.\nTo talk to someone in confidence, call Childline free on 0800 1111, any time."
)
DEMO_PASSWORD = "demo-password-not-secret"
# fmt: off
KENT_AND_MEDWAY_DISTRICTS = [
    "Ashford", "Canterbury", "Dartford", "Dover", "Folkestone and Hythe", "Gravesham", "Maidstone",
    "Medway", "Sevenoaks", "Swale", "Thanet", "Tonbridge and Malling", "Tunbridge Wells",
]
# (email, display name, role, max caseload)
DEMO_USERS = [
    ("admin@reachable.example", "Demo Admin", Role.ADMIN, None),
    ("coordinator@reachable.example", "Sam Okafor (coordinator)", Role.COORDINATOR, None),
    ("coordinator2@reachable.example", "Rene Adeyemi (coordinator)", Role.COORDINATOR, None),
    ("mentor@reachable.example", "Jordan Reyes (mentor)", Role.MENTOR, 14),
    ("mentor2@reachable.example", "Priya Lal (mentor)", Role.MENTOR, 14),
    ("mentor3@reachable.example", "Alex Byrne (mentor)", Role.MENTOR, 14),
    ("mentor4@reachable.example", "Morgan Hale (mentor)", Role.MENTOR, 14),
    ("commissioner@reachable.example", "Chris Dunn (commissioner)", Role.COMMISSIONER, None),
]
FIRST_NAMES = [
    "Aiden", "Bella", "Caleb", "Demi", "Ellis", "Freya", "Gabe", "Hana", "Isaac", "Jade", "Kai", "Lena",
    "Mason", "Nia", "Oscar", "Poppy", "Reuben", "Sienna", "Tyler", "Una", "Vince", "Willow", "Zane", "Amara",
]
LAST_NAMES = [
    "Ashdown", "Brierley", "Calloway", "Denholm", "Everard", "Fairbrook", "Gatling", "Holloway", "Inchley",
    "Jessop", "Kestrel", "Larkham", "Mercer", "Northcott", "Oakley", "Pennant", "Quarry", "Ravensworth",
]
SESSION_ACTIVITIES = [
    "Talking and listening", "Sport or exercise", "Education support", "Employment or training",
    "Creative activity", "Life skills", "Safety planning", "Family work", "Other",
]
# fmt: on
REASONS = [
    "Concerns about association with older peers and late nights.",
    "Found carrying a knife near school; first contact with police.",
    "Repeated missing episodes; possible criminal exploitation.",
    "Exclusion risk; disengaging from education.",
]


def load_demo_data(
    db_session: Session,
    *,
    instruments: Mapping[str, Instrument],
    now: datetime,
    progress: Callable[[str], None] = print,
) -> bool:
    """Returns False (and changes nothing) if the demo programme already exists."""
    if db_session.scalar(select(Programme.id).where(Programme.name == DEMO_PROGRAMME)):
        return False
    rng = random.Random(20261123)
    progress("Creating the demo programme and cohorts ...")
    programme = programmes_service.create_programme(
        db_session,
        name=DEMO_PROGRAMME,
        time_zone="Europe/London",
        offer_lapse_hours=72,
        districts=KENT_AND_MEDWAY_DISTRICTS,
        session_activities=SESSION_ACTIVITIES,
        now=now,
        check_in_help_text=DEMO_HELP_TEXT,
    )
    protect = programmes_service.add_cohort(
        db_session,
        programme_id=programme.id,
        name="Protect",
        places=60,
        max_sessions_per_week=3,
        planned_weeks=52,
        now=now,
    )
    prevent = programmes_service.add_cohort(
        db_session,
        programme_id=programme.id,
        name="Prevent",
        places=30,
        max_sessions_per_week=1,
        planned_weeks=26,
        now=now,
    )

    progress("Creating demo users ...")
    users = {}
    for index, (email, name, role, max_caseload) in enumerate(DEMO_USERS):
        users[email] = accounts_service.create_user(
            db_session,
            email=email,
            display_name=name,
            role=role,
            password=DEMO_PASSWORD,
            programme_id=None if role is Role.ADMIN else programme.id,
            max_caseload=max_caseload,
            now=now,
            # Work mobiles, for mentors' session reminders and coordinators' alerts: Ofcom's drama range, like the
            # children's.
            mobile_e164=f"+4477009009{90 + index}" if role in (Role.MENTOR, Role.COORDINATOR) else None,
            accept_drama_numbers=True,
        )
    coordinator = _actor(users["coordinator@reachable.example"])
    progress("Putting the two coordinators on the duty rota for the next 8 days ...")
    _duty_rota(
        db_session,
        actor=coordinator,
        pair=(users["coordinator@reachable.example"].id, users["coordinator2@reachable.example"].id),
        zone=ZoneInfo(programme.time_zone),
        now=now,
    )
    mentors = [user for user in users.values() if user.role is Role.MENTOR]

    # Protect: 48 of 60 places used. Prevent: full, with 6 waiting. A few referrals still undecided.
    plan = [(protect, 48), (prevent, 36)]
    number = 0
    progress("Referring and enrolling 84 invented children ...")
    # Their support started a week before today, so the sessions logged as held in the last week fall within it.
    enrolled_at = now - timedelta(weeks=1)
    for cohort, count in plan:
        for _ in range(count):
            child = _make_child(db_session, coordinator=coordinator, number=number, rng=rng, now=enrolled_at)
            number += 1
            referral = referrals_service.create_referral(
                db_session,
                actor=coordinator,
                child_id=child.child.id,
                cohort_id=cohort.id,
                source=rng.choice(list(ReferralSource)),
                source_name="Demo referrer",
                reason=rng.choice(REASONS),
                priority=rng.choice([Priority.NORMAL] * 4 + [Priority.HIGH, Priority.URGENT]),
                referred_on=(now - timedelta(days=rng.randint(20, 200))).date(),
                now=enrolled_at,
            )
            enrolment = referrals_service.accept_referral(
                db_session, actor=coordinator, referral_id=referral.id, now=enrolled_at
            ).enrolment
            if enrolment.status is EnrolmentStatus.ACTIVE:
                _allocate(
                    db_session,
                    coordinator=coordinator,
                    enrolment_id=enrolment.id,
                    mentors=mentors,
                    rng=rng,
                    now=now,
                )
    for _ in range(4):
        child = _make_child(db_session, coordinator=coordinator, number=number, rng=rng, now=now)
        number += 1
        referrals_service.create_referral(
            db_session,
            actor=coordinator,
            child_id=child.child.id,
            cohort_id=rng.choice([protect, prevent]).id,
            source=ReferralSource.SCHOOL,
            source_name="Demo secondary school",
            reason=rng.choice(REASONS),
            priority=Priority.NORMAL,
            referred_on=None,
            now=now,
        )

    progress("Giving the demo mentor's caseload weekly patterns and a week of logged sessions ...")
    _plan_and_log_sessions(db_session, mentor=users["mentor@reachable.example"], now=now)
    progress("Setting goals and recording wellbeing check-ins for the demo mentor's caseload ...")
    _goals_and_check_ins(db_session, mentor=users["mentor@reachable.example"], instruments=instruments, now=now)

    progress("Running an eight-week awareness group for a group-only cohort, three sessions in, registers taken ...")
    _awareness_group(
        db_session,
        coordinator=coordinator,
        programme=programme,
        facilitators=(users["mentor@reachable.example"], users["mentor2@reachable.example"]),
        first_number=number,
        rng=rng,
        now=now,
    )

    progress("Ending one Prevent enrolment, so its place is offered to the first child waiting ...")
    first_prevent = (
        enrolments_reading.list_enrolments(
            db_session,
            actor=coordinator,
            cohort_id=prevent.id,
            child_id=None,
            status=EnrolmentStatus.ACTIVE,
            window=Window(offset=0, limit=1),
            now=now,
        )
        .items[0]
        .enrolment
    )
    schedules_service.end_enrolment_and_its_patterns(
        db_session,
        actor=coordinator,
        enrolment_id=first_prevent.id,
        reason=EndReason.COMPLETED,
        note="Completed the programme (demo).",
        now=now,
    )
    progress("Demo data loaded.")
    return True


def _duty_rota(
    db_session: Session, *, actor: Actor, pair: tuple[uuid.UUID, uuid.UUID], zone: ZoneInfo, now: datetime
) -> None:
    """Day (08:00-20:00) and night shifts, local time, each coordinator the other's fallback, so an urgent alert
    raised at any hour of the demo week reaches someone (the development sender writes its SMS to a file)."""
    local_now = now.astimezone(zone)
    day = local_now.date() - timedelta(days=1)
    boundaries = [
        datetime.combine(day + timedelta(days=offset), time(hour), tzinfo=zone)
        for offset in range(10)
        for hour in (8, 20)
    ]
    for index, (start, end) in enumerate(itertools.pairwise(boundaries)):
        if end <= local_now or start > local_now + timedelta(days=8):
            continue
        on_duty, fallback = pair if index % 2 == 0 else pair[::-1]
        duty_service.add_shift(
            db_session,
            actor=actor,
            programme_id=None,
            coordinator_user_id=on_duty,
            fallback_user_id=fallback,
            starts_at=start.astimezone(UTC),
            ends_at=end.astimezone(UTC),
            now=now,
        )


def _actor(user: AppUser) -> Actor:
    return Actor(user_id=user.id, role=user.role, programme_id=user.programme_id)


def _make_child(
    db_session: Session, *, coordinator: Actor, number: int, rng: random.Random, now: datetime
) -> children_service.ChildRecord:
    age_days = rng.randint(11 * 365 + 30, 17 * 365)
    record = children_service.create_child(
        db_session,
        actor=coordinator,
        programme_id=None,
        first_name=rng.choice(FIRST_NAMES),
        last_name=rng.choice(LAST_NAMES),
        date_of_birth=date.fromordinal(now.date().toordinal() - age_days),
        district=rng.choice(KENT_AND_MEDWAY_DISTRICTS),
        school=f"Demo Academy {number % 9 + 1}",
        phone_numbers=[
            NewPhoneNumber(f"+447700900{(2 * number) % 1000:03d}", PhoneOwner.CHILD),
            NewPhoneNumber(f"+447700900{(2 * number + 1) % 1000:03d}", PhoneOwner.CARER),
        ],
        accept_drama_numbers=True,
        now=now,
    )
    child_id = record.child.id
    for channel in ContactChannel:
        children_service.record_consent(
            db_session,
            actor=coordinator,
            child_id=child_id,
            channel=channel,
            granted=True,
            given_by=ConsentGivenBy.CARER,
            now=now,
        )
    return record


def _allocate(
    db_session: Session,
    *,
    coordinator: Actor,
    enrolment_id: uuid.UUID,
    mentors: list[AppUser],
    rng: random.Random,
    now: datetime,
) -> None:
    for mentor in rng.sample(mentors, len(mentors)):
        try:
            enrolments_allocations.allocate_mentor(
                db_session,
                actor=coordinator,
                enrolment_id=enrolment_id,
                mentor_id=mentor.id,
                now=now,
            )
            return
        except MentorCaseloadFull:
            continue  # a full caseload is refused before anything is written: try the next mentor
    # Everyone is full: the child waits for a key worker, which the demo shows too.


# Who came to the awareness group's first three sessions, child by child (six on its roster).
AWARENESS_REGISTERS = [
    [Attendance.ATTENDED] * 6,
    [Attendance.ATTENDED] * 5 + [Attendance.DID_NOT_ATTEND],
    [Attendance.ATTENDED] * 4 + [Attendance.DID_NOT_ATTEND, Attendance.CANCELLED_BY_CHILD],
]
# The parents and carers who came to the first session, the introduction for them, by the child they came for.
AWARENESS_CARERS = [
    (0, CarerRelationship.PARENT),
    (1, CarerRelationship.PARENT),
    (2, CarerRelationship.FOSTER_CARER),
    (4, CarerRelationship.KINSHIP_CARER),
]


def _awareness_group(
    db_session: Session,
    *,
    coordinator: Actor,
    programme: Programme,
    facilitators: tuple[AppUser, AppUser],
    first_number: int,
    rng: random.Random,
    now: datetime,
) -> None:
    """A group-only cohort (an exploitation-awareness group has its own places, not Protect's or Prevent's) and a
    series of eight weekly sessions on Tuesdays at 17:00 that began three weeks ago: the first, with parents and
    carers, and the next two held with their registers taken; five to come."""
    zone = ZoneInfo(programme.time_zone)
    cohort = programmes_service.add_cohort(
        db_session,
        programme_id=programme.id,
        name="Awareness group",
        places=16,
        max_sessions_per_week=1,
        planned_weeks=12,
        kind=CohortKind.GROUP_ONLY,
        now=now,
    )
    today = now.astimezone(zone).date()
    last_tuesday = today - timedelta(days=(today.weekday() - 1) % 7 or 7)
    # Wall-clock arithmetic in the programme's zone: 17:00 local every week, across a change of the clocks.
    starts = [
        datetime.combine(last_tuesday - timedelta(weeks=2), time(17, 0), tzinfo=zone) + timedelta(weeks=week)
        for week in range(8)
    ]
    enrolled_at = starts[0] - timedelta(days=7)
    enrolments = []
    for number in range(first_number, first_number + len(AWARENESS_REGISTERS[0])):
        child = _make_child(db_session, coordinator=coordinator, number=number, rng=rng, now=enrolled_at)
        referral = referrals_service.create_referral(
            db_session,
            actor=coordinator,
            child_id=child.child.id,
            cohort_id=cohort.id,
            source=ReferralSource.SCHOOL,
            source_name="Demo secondary school",
            reason="Friendship group of concern; would benefit from the awareness group.",
            priority=Priority.NORMAL,
            referred_on=(enrolled_at - timedelta(days=10)).date(),
            now=enrolled_at,
        )
        accepted = referrals_service.accept_referral(
            db_session, actor=coordinator, referral_id=referral.id, now=enrolled_at
        )
        enrolments.append(accepted.enrolment)
    lead, co_facilitator = facilitators
    planned_at = enrolled_at + timedelta(days=1)
    series = groups_service.create_series(
        db_session,
        actor=coordinator,
        programme_id=programme.id,
        name="Staying safe: awareness group (autumn)",
        capacity=10,
        complete_after_sessions=None,
        lead_facilitator_id=lead.id,
        co_facilitator_id=co_facilitator.id,
        location_category=LocationCategory.COMMUNITY_VENUE,
        sessions=[PlannedTimes(start, start + timedelta(minutes=90)) for start in starts],
        now=planned_at,
    )
    for enrolment in enrolments:
        # Booking a child changes each session's version: keep the answer's.
        series = groups_service.join_series(
            db_session, actor=coordinator, series_id=series.id, enrolment_id=enrolment.id, now=planned_at
        )
    facilitator = _actor(lead)
    for session, register in zip(series.sessions, AWARENESS_REGISTERS, strict=False):
        held = sessions_service.update_session(
            db_session,
            actor=facilitator,
            session_id=session.id,
            expected_version=session.version,
            changes={"status": SessionStatus.COMPLETED},
            log=SessionLog(actual_duration_minutes=90, activities=["Safety planning", "Talking and listening"]),
            register_lines=[
                RegisterLine(enrolment.child_id, attendance)
                for enrolment, attendance in zip(enrolments, register, strict=True)
            ],
            now=now,
        )
        if session is series.sessions[0]:
            sessions_service.take_register(
                db_session,
                actor=facilitator,
                session_id=session.id,
                expected_version=held.version,
                lines=None,
                carers=[
                    CarerAtSession(relationship, enrolments[index].child_id) for index, relationship in AWARENESS_CARERS
                ],
                now=now,
            )


def _plan_and_log_sessions(db_session: Session, *, mentor: AppUser, now: datetime) -> None:
    """Patterns for the first few children of the demo mentor, and two sessions each logged last week."""
    actor = _actor(mentor)
    children = _demo_mentor_children(db_session, actor=actor, now=now, limit=4)
    for index, summary in enumerate(children):
        assert summary.enrolment is not None
        evening = time(17 + index % 3, 30)
        schedules_service.set_pattern(
            db_session,
            actor=actor,
            enrolment_id=summary.enrolment.id,
            slots=[Slot(2 + index % 3, evening), Slot(6, time(11, 0))],
            duration_minutes=90,
            kind=SessionKind.ONE_TO_ONE,
            location_category=LocationCategory.COMMUNITY_VENUE,
            starts_on=None,
            now=now,
        )
        for days_ago, activities in ((6, ["Talking and listening"]), (3, ["Sport or exercise", "Safety planning"])):
            start = now - timedelta(days=days_ago)
            sessions_service.create_session(
                db_session,
                actor=actor,
                session_id=None,
                enrolment_ids=[summary.enrolment.id],
                mentor_id=None,
                kind=SessionKind.ONE_TO_ONE,
                location_category=LocationCategory.OUTDOORS,
                planned_start_at=start,
                planned_end_at=start + timedelta(minutes=75),
                status=SessionStatus.COMPLETED,
                log=SessionLog(actual_duration_minutes=75, activities=activities, notes="Invented demo notes."),
                now=now,
            )


def _demo_mentor_children(db_session: Session, *, actor: Actor, now: datetime, limit: int) -> list[Any]:
    return list(
        children_service.list_children(
            db_session,
            actor=actor,
            cohort_id=None,
            status=EnrolmentStatus.ACTIVE,
            not_enrolled=False,
            district=None,
            mentor_id=None,
            window=Window(offset=0, limit=limit),
            now=now,
        ).items
    )


# Baseline six weeks ago and a review last week; the third child's fall raises a wellbeing alert.
DEMO_ONS4 = [
    ({"life_satisfaction": 4, "worthwhile": 5, "happy_yesterday": 4, "anxious_yesterday": 7},
     {"life_satisfaction": 7, "worthwhile": 6, "happy_yesterday": 7, "anxious_yesterday": 4}),
    ({"life_satisfaction": 5, "worthwhile": 5, "happy_yesterday": 6, "anxious_yesterday": 5},
     {"life_satisfaction": 6, "worthwhile": 6, "happy_yesterday": 6, "anxious_yesterday": 4}),
    ({"life_satisfaction": 7, "worthwhile": 6, "happy_yesterday": 7, "anxious_yesterday": 3},
     {"life_satisfaction": 4, "worthwhile": 5, "happy_yesterday": 3, "anxious_yesterday": 7}),
]  # fmt: skip
DEMO_GOALS = ["Go to school every day this term", "Walk away when someone starts trouble", "Get a weekend job"]


def _goals_and_check_ins(
    db_session: Session, *, mentor: AppUser, instruments: Mapping[str, Instrument], now: datetime
) -> None:
    actor = _actor(mentor)
    baseline_at, review_at = now - timedelta(weeks=6), now - timedelta(days=5)
    children = _demo_mentor_children(db_session, actor=actor, now=now, limit=len(DEMO_ONS4))
    for summary, (baseline, review) in zip(children, DEMO_ONS4, strict=False):
        child_id = summary.child.id
        for description in DEMO_GOALS[:2]:
            wellbeing_goals.set_goal(
                db_session, actor=actor, child_id=child_id, description=description, now=baseline_at
            )
        for answers, at, ratings in ((baseline, baseline_at, (2, 3)), (review, review_at, (5, 4))):
            wellbeing_check_ins.record_check_in(
                db_session, actor=actor, instruments=instruments, child_id=child_id, instrument="ons4",
                answers=dict(answers), session_id=None, now=at,
            )  # fmt: skip
            wellbeing_check_ins.record_check_in(
                db_session, actor=actor, instruments=instruments, child_id=child_id, instrument="gbo",
                answers={"goal_1": ratings[0], "goal_2": ratings[1]}, session_id=None, now=at,
            )  # fmt: skip


def demo_check_in_link(
    db_session: Session, *, instruments: Mapping[str, Instrument], secret_key: str, now: datetime
) -> str:
    """A fresh one-time link for the demo mentor's first child, so `make run` can show the child's page.

    It is the child's link the routine owes now (at enrolment), when one is due, so the scheduler's first run does
    not send the child a second link a minute later.
    """
    mentor = db_session.scalar(select(AppUser).where(AppUser.email == "mentor@reachable.example"))
    assert mentor is not None, "load the demo data first"
    actor = _actor(mentor)
    (first, *_) = _demo_mentor_children(db_session, actor=actor, now=now, limit=1)
    invitation = wellbeing_invitations.invite_check_in(
        db_session,
        actor=actor,
        instruments=instruments,
        child_id=first.child.id,
        instrument_keys=["ons4", "gbo"],
        secret_key=secret_key,
        now=now,
        scheduled=wellbeing_routine.due_occasion_for(db_session, child_id=first.child.id, now=now),
    )
    return wellbeing_invitations.link_for(db_session, invitation_id=invitation.id, secret_key=secret_key)
