"""No sequence of operations can take a cohort over its places, or leave a child waiting beside a free place.

Hypothesis drives random sequences of everything that changes who holds a place (accepting, ending,
withdrawing, confirming, letting offers lapse, resizing, moving between cohorts) and checks the invariants
after every step, on SQLite and PostgreSQL.
"""

from __future__ import annotations

from datetime import timedelta

from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, rule, run_state_machine_as_test
from sqlalchemy import func, select

from api.actors import Role
from api.enrolments import service as enrolments_service
from api.enrolments.models import Enrolment
from api.enrolments.rules import OPEN, EndReason, EnrolmentStatus, Priority
from api.errors import DomainError
from tests.builders import actor_for, admit_child, make_cohort, make_programme, make_user
from tests.conftest import DEFAULT_NOW


def test_places_invariants_hold_for_any_sequence_of_operations(db_session):
    class PlacesMachine(RuleBasedStateMachine):
        def __init__(self) -> None:
            super().__init__()
            programme = make_programme(db_session, offer_lapse_hours=24)
            # Small cohorts fill quickly, so short sequences reach full cohorts, waitlists and offers.
            self.cohorts = [make_cohort(db_session, programme=programme, places=1) for _ in range(2)]
            self.coordinator = make_user(db_session, Role.COORDINATOR, programme=programme)
            self.admin = make_user(db_session, Role.ADMIN)
            self.now = DEFAULT_NOW

        def _enrolments(self, status: EnrolmentStatus) -> list[Enrolment]:
            cohort_ids = [cohort.id for cohort in self.cohorts]
            return list(
                db_session.scalars(
                    select(Enrolment)
                    .where(Enrolment.cohort_id.in_(cohort_ids), Enrolment.status == status)
                    .order_by(Enrolment.created_at, Enrolment.id)
                )
            )

        def _attempt(self, operation, *args, **kwargs) -> None:  # type: ignore[no-untyped-def]
            try:
                operation(db_session, *args, **kwargs)
            except DomainError:
                db_session.rollback()  # refused by a rule: nothing may have changed, the invariants check that

        @rule(which=st.integers(0, 1), priority=st.sampled_from(list(Priority)))
        def accept_a_referral(self, which: int, priority: Priority) -> None:
            admit_child(db_session, cohort=self.cohorts[which], by=self.coordinator, now=self.now, priority=priority)

        @rule(pick=st.integers(0, 50), reason=st.sampled_from([EndReason.COMPLETED, EndReason.DISENGAGED]))
        def end_an_enrolment(self, pick: int, reason: EndReason) -> None:
            active = self._enrolments(EnrolmentStatus.ACTIVE)
            if active:
                self._attempt(
                    enrolments_service.end_enrolment,
                    actor=actor_for(self.coordinator),
                    enrolment_id=active[pick % len(active)].id,
                    reason=reason,
                    note=None,
                    now=self.now,
                )

        @rule(pick=st.integers(0, 50), offered=st.booleans())
        def withdraw_a_waiting_child(self, pick: int, offered: bool) -> None:
            waiting = self._enrolments(EnrolmentStatus.OFFERED if offered else EnrolmentStatus.WAITLISTED)
            if waiting:
                self._attempt(
                    enrolments_service.withdraw_from_waitlist,
                    actor=actor_for(self.coordinator),
                    enrolment_id=waiting[pick % len(waiting)].id,
                    note="No longer needed",
                    now=self.now,
                )

        @rule(pick=st.integers(0, 50))
        def confirm_an_offer(self, pick: int) -> None:
            offered = self._enrolments(EnrolmentStatus.OFFERED)
            if offered:
                self._attempt(
                    enrolments_service.confirm_offer,
                    actor=actor_for(self.coordinator),
                    enrolment_id=offered[pick % len(offered)].id,
                    now=self.now,
                )

        @rule(hours=st.sampled_from([1, 23, 25]))
        def time_passes_and_offers_lapse(self, hours: int) -> None:
            self.now += timedelta(hours=hours)
            enrolments_service.lapse_expired_offers(db_session, now=self.now)

        @rule(which=st.integers(0, 1), places=st.integers(0, 3))
        def resize_a_cohort(self, which: int, places: int) -> None:
            self._attempt(
                enrolments_service.update_cohort,
                actor=actor_for(self.admin),
                cohort_id=self.cohorts[which].id,
                changes={"places": places},
                now=self.now,
            )

        @rule(pick=st.integers(0, 50))
        def move_a_child_to_the_other_cohort(self, pick: int) -> None:
            active = self._enrolments(EnrolmentStatus.ACTIVE)
            if active:
                enrolment = active[pick % len(active)]
                target = next(cohort for cohort in self.cohorts if cohort.id != enrolment.cohort_id)
                self._attempt(
                    enrolments_service.move_enrolment,
                    actor=actor_for(self.coordinator),
                    enrolment_id=enrolment.id,
                    to_cohort_id=target.id,
                    note=None,
                    now=self.now,
                )

        @invariant()
        def no_cohort_is_over_its_places_and_no_one_waits_beside_a_free_place(self) -> None:
            for cohort in self.cohorts:
                db_session.refresh(cohort)
                counts = dict(
                    db_session.execute(
                        select(Enrolment.status, func.count())
                        .where(Enrolment.cohort_id == cohort.id)
                        .group_by(Enrolment.status)
                    ).all()
                )
                taken = counts.get(EnrolmentStatus.ACTIVE, 0) + counts.get(EnrolmentStatus.OFFERED, 0)
                waiting = counts.get(EnrolmentStatus.WAITLISTED, 0)
                assert taken <= cohort.places
                assert taken == cohort.places or waiting == 0

        @invariant()
        def no_child_holds_two_open_enrolments(self) -> None:
            open_per_child = db_session.scalars(
                select(func.count()).where(Enrolment.status.in_(OPEN)).group_by(Enrolment.child_id)
            ).all()
            assert all(count == 1 for count in open_per_child)

        @invariant()
        def no_offer_outlives_its_window(self) -> None:
            for enrolment in self._enrolments(EnrolmentStatus.OFFERED):
                assert enrolment.offer_expires_at is not None and enrolment.offer_expires_at > self.now

    run_state_machine_as_test(
        PlacesMachine,
        settings=settings(
            max_examples=30,
            stateful_step_count=25,
            deadline=None,
            suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
            database=None,
        ),
    )
