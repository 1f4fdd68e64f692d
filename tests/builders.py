"""Builders for test data: make_x(db_session, **overrides), going through the services where a rule applies."""

from __future__ import annotations

import itertools
from datetime import date, datetime, time, timedelta
from typing import Any

from sqlalchemy.orm import Session

from api.accounts import auth_sessions, signing_in
from api.accounts.models import AppUser
from api.actors import Actor, Role
from api.children import service as children_service
from api.children.models import Child
from api.children.rules import ConsentGivenBy, ContactChannel, NewPhoneNumber, PhoneOwner
from api.clock import FixedClock
from api.duty.models import DutyShift
from api.enrolments import allocations
from api.enrolments.models import Enrolment
from api.enrolments.rules import EnrolmentStatus, Priority
from api.programmes.models import Cohort, Programme
from api.referrals import service as referrals_service
from api.referrals.models import Referral
from api.referrals.rules import ReferralSource
from tests.conftest import DEFAULT_NOW, SECRET_KEY
from tests.times import iso as iso  # re-exported: builders and times go together in the tests
from tests.times import utc as utc

_counter = itertools.count(1)
PASSWORD = "correct horse battery staple"
# Hashing is deliberately slow; hash the shared test password once.
_PASSWORD_HASH = signing_in.hash_password(PASSWORD)
TOKEN_SETTINGS = auth_sessions.TokenSettings(SECRET_KEY, access_token_minutes=15, refresh_token_days=30)
DISTRICTS = ["Dartford", "Medway", "Swale", "Thanet"]
ACTIVITIES = ["Talking and listening", "Sport or exercise", "Education support"]
# A child's good answers to the ONS personal wellbeing questions.
ONS4_GOOD = {"life_satisfaction": 8, "worthwhile": 7, "happy_yesterday": 8, "anxious_yesterday": 2}


def unique(prefix: str) -> str:
    return f"{prefix}-{next(_counter)}"


_mobiles = itertools.count()


def work_mobile() -> str:
    """A staff work mobile from the top of the drama range (children's numbers from make_child rarely reach it)."""
    return f"+447700900{900 + next(_mobiles) % 100:03d}"


def make_programme(db_session: Session, **overrides: Any) -> Programme:
    values: dict[str, Any] = {
        "name": unique("Programme"),
        "time_zone": "Europe/London",
        "offer_lapse_hours": 72,
        "districts": DISTRICTS,
        "session_activities": ACTIVITIES,
        "check_in_every_weeks": 4,
        "reminder_day_before_at": time(17, 0),
        "reminder_hours_before": 2,
        "created_at": DEFAULT_NOW,
    }
    programme = Programme(**(values | overrides))
    db_session.add(programme)
    db_session.commit()
    return programme


def make_cohort(db_session: Session, *, programme: Programme | None = None, **overrides: Any) -> Cohort:
    programme = programme or make_programme(db_session)
    values: dict[str, Any] = {
        "programme_id": programme.id,
        "name": unique("Cohort"),
        "places": 3,
        "max_sessions_per_week": 3,
        "planned_weeks": 52,
        "created_at": DEFAULT_NOW,
    }
    cohort = Cohort(**(values | overrides))
    db_session.add(cohort)
    db_session.commit()
    return cohort


def make_user(
    db_session: Session, role: Role = Role.COORDINATOR, *, programme: Programme | None = None, **overrides: Any
) -> AppUser:
    if role is not Role.ADMIN and programme is None:
        programme = make_programme(db_session)
    values: dict[str, Any] = {
        "email": f"{unique(role.value)}@example.org",
        "display_name": unique(role.value.title()),
        "role": role,
        "programme_id": programme.id if programme else None,
        "max_caseload": 10 if role is Role.MENTOR else None,
        "password_hash": _PASSWORD_HASH,
        "created_at": DEFAULT_NOW,
    }
    user = AppUser(**(values | overrides))
    db_session.add(user)
    db_session.commit()
    return user


def make_duty_shift(
    db_session: Session,
    *,
    programme: Programme,
    coordinator: AppUser,
    starts_at: datetime,
    ends_at: datetime,
    fallback: AppUser | None = None,
    now: datetime = DEFAULT_NOW,
) -> DutyShift:
    """A shift of the programme's duty rota, stored as is: it may have begun already (the service only adds shifts
    that start in the future), so a test can stand inside one."""
    shift = DutyShift(
        programme_id=programme.id,
        coordinator_user_id=coordinator.id,
        fallback_user_id=fallback.id if fallback else None,
        starts_at=starts_at,
        ends_at=ends_at,
        created_by_user_id=coordinator.id,
        created_at=now,
        updated_at=now,
    )
    db_session.add(shift)
    db_session.commit()
    return shift


def actor_for(user: AppUser) -> Actor:
    return Actor(user_id=user.id, role=user.role, programme_id=user.programme_id)


def auth_headers(db_session: Session, user: AppUser, *, now: datetime = DEFAULT_NOW) -> dict[str, str]:
    # As a sign-in that proved both factors would make (a coordinator's or admin's needs them: api/accounts).
    tokens = auth_sessions.start_auth_session(
        db_session, user=user, settings=TOKEN_SETTINGS, now=now, second_factor=True
    )
    return {"Authorization": f"Bearer {tokens.access_token}"}


def make_child(
    db_session: Session,
    *,
    programme: Programme,
    by: AppUser | None = None,
    now: datetime = DEFAULT_NOW,
    **overrides: Any,
) -> Child:
    coordinator = by or make_user(db_session, Role.COORDINATOR, programme=programme)
    number = next(_counter) % 1000
    values: dict[str, Any] = {
        "programme_id": programme.id,
        "first_name": unique("Child"),
        "last_name": "Testchild",
        "date_of_birth": date(2012, 5, 17),
        "district": programme.districts[0],
        "school": None,
        "phone_numbers": [NewPhoneNumber(f"+447700900{number:03d}", PhoneOwner.CHILD)],
    }
    record = children_service.create_child(
        db_session, actor=actor_for(coordinator), accept_drama_numbers=True, now=now, **(values | overrides)
    )
    return record.child


def make_referral(
    db_session: Session,
    *,
    cohort: Cohort,
    child: Child | None = None,
    by: AppUser | None = None,
    now: datetime = DEFAULT_NOW,
    **overrides: Any,
) -> Referral:
    programme = db_session.get(Programme, cohort.programme_id)
    assert programme is not None
    coordinator = by or make_user(db_session, Role.COORDINATOR, programme=programme)
    child = child or make_child(db_session, programme=programme, by=coordinator, now=now)
    values: dict[str, Any] = {
        "source": ReferralSource.POLICE,
        "source_name": "Test constabulary",
        "reason": "Test referral reason.",
        "priority": Priority.NORMAL,
        "referred_on": None,
    }
    return referrals_service.create_referral(
        db_session,
        actor=actor_for(coordinator),
        child_id=child.id,
        cohort_id=cohort.id,
        now=now,
        **(values | overrides),
    )


def admit_child(
    db_session: Session, *, cohort: Cohort, by: AppUser | None = None, now: datetime = DEFAULT_NOW, **overrides: Any
) -> Enrolment:
    """Refer a new child to the cohort and accept them: active if a place is free, else waitlisted."""
    programme = db_session.get(Programme, cohort.programme_id)
    assert programme is not None
    coordinator = by or make_user(db_session, Role.COORDINATOR, programme=programme)
    referral = make_referral(db_session, cohort=cohort, by=coordinator, now=now, **overrides)
    result = referrals_service.accept_referral(
        db_session, actor=actor_for(coordinator), referral_id=referral.id, now=now
    )
    return result.enrolment


def allocate(
    db_session: Session, *, enrolment: Enrolment, mentor: AppUser, by: AppUser, now: datetime = DEFAULT_NOW
) -> None:
    allocations.allocate_mentor(
        db_session, actor=actor_for(by), enrolment_id=enrolment.id, mentor_id=mentor.id, now=now
    )


class Team:
    """A programme's people and places: a programme with one cohort, its coordinator and a mentor; children are
    enrolled (referred, accepted, given a key worker) through the services when a test asks for them.

    Children are admitted and allocated at the clock's time, or, given `enrolled_from`, one minute apart from it
    (the first a minute after), so that they queue in the order they came. With `with_child`, one child is
    enrolled and allocated to the mentor at once: `team.enrolment` and `team.child_id`.
    """

    def __init__(
        self,
        db_session: Session,
        clock: FixedClock | None = None,
        *,
        places: int = 10,
        max_sessions_per_week: int = 3,
        planned_weeks: int = 52,
        max_caseload: int = 10,
        enrolled_from: datetime | None = None,
        with_child: bool = False,
    ) -> None:
        self.db_session = db_session
        self.clock = clock or FixedClock(DEFAULT_NOW)
        self._enrolled_from = enrolled_from
        self._admitted = 0
        self.programme = make_programme(db_session)
        self.cohort = make_cohort(
            db_session,
            programme=self.programme,
            places=places,
            max_sessions_per_week=max_sessions_per_week,
            planned_weeks=planned_weeks,
        )
        self.coordinator = make_user(db_session, Role.COORDINATOR, programme=self.programme)
        self.mentor = self.new_mentor(max_caseload=max_caseload)
        if with_child:
            self.enrolment = self.child()
            self.child_id = self.enrolment.child_id

    # --- people ---

    def user(self, role: Role, **overrides: Any) -> AppUser:
        return make_user(self.db_session, role, programme=self.programme, **overrides)

    def new_mentor(self, **overrides: Any) -> AppUser:
        return self.user(Role.MENTOR, **overrides)

    def on_call(self, **overrides: Any) -> AppUser:
        """A coordinator of the programme with a work mobile: someone an alert can reach."""
        return self.user(Role.COORDINATOR, **({"mobile_e164": work_mobile()} | overrides))

    def duty_shift(
        self, coordinator: AppUser, starts_at: datetime, ends_at: datetime, *, fallback: AppUser | None = None
    ) -> DutyShift:
        return make_duty_shift(
            self.db_session,
            programme=self.programme,
            coordinator=coordinator,
            fallback=fallback,
            starts_at=starts_at,
            ends_at=ends_at,
            now=self.clock.now(),
        )

    # --- children ---

    def enrolled_at(self) -> datetime:
        if self._enrolled_from is None:
            return self.clock.now()
        self._admitted += 1
        return self._enrolled_from + timedelta(minutes=self._admitted)

    def admit(self, cohort: Cohort | None = None, *, now: datetime | None = None, **referral: Any) -> Enrolment:
        """Refer a new child to the cohort (the team's unless named) and accept them: active if a place is free,
        else waitlisted."""
        return admit_child(
            self.db_session,
            cohort=cohort or self.cohort,
            by=self.coordinator,
            now=now or self.enrolled_at(),
            **referral,
        )

    def child(self, mentor: AppUser | None = None, *, cohort: Cohort | None = None, **child: Any) -> Enrolment:
        """A child (of the given details, if any) with an active place and a key worker: the team's mentor unless
        named."""
        now = self.enrolled_at()
        made = (
            make_child(self.db_session, programme=self.programme, by=self.coordinator, now=now, **child)
            if child
            else None
        )
        enrolment = self.admit(cohort, now=now, **({"child": made} if made else {}))
        assert enrolment.status is EnrolmentStatus.ACTIVE, "the cohort has no free place"
        allocate(self.db_session, enrolment=enrolment, mentor=mentor or self.mentor, by=self.coordinator, now=now)
        return enrolment

    def allocate(
        self,
        enrolment: Enrolment,
        mentor: AppUser | None = None,
        *,
        now: datetime | None = None,
        by: AppUser | None = None,
    ) -> Any:
        """Allocate (or reallocate) a key worker through the service at the clock's time, returning the
        allocation."""
        return allocations.allocate_mentor(
            self.db_session,
            actor=actor_for(by or self.coordinator),
            enrolment_id=enrolment.id,
            mentor_id=(mentor or self.mentor).id,
            now=now or self.clock.now(),
        )

    def consent_to_sms(self, child_id: Any = None, *, granted: bool = True, now: datetime | None = None) -> None:
        """The child's own consent to SMS on their mobile (the team's child unless named)."""
        children_service.record_consent(
            self.db_session,
            actor=actor_for(self.coordinator),
            child_id=child_id or self.child_id,
            channel=ContactChannel.SMS_TO_CHILD,
            granted=granted,
            given_by=ConsentGivenBy.CHILD,
            now=now or self.clock.now(),
        )

    # --- requests ---

    def headers(self, user: AppUser | None = None, **extra: str) -> dict[str, str]:
        """Fresh bearer headers (the mentor's unless someone is named) at the clock's time; tokens last 15 minutes
        of it."""
        return auth_headers(self.db_session, user or self.mentor, now=self.clock.now()) | extra

    def travel_to(self, moment: datetime) -> None:
        self.clock.advance(seconds=(moment - self.clock.now()).total_seconds())
