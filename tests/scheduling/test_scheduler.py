from datetime import timedelta

from sqlalchemy import select

from api.accounts.rules import Role
from api.db import Database
from api.enrolments.models import Enrolment
from api.enrolments.rules import EndReason, EnrolmentStatus
from api.enrolments.service import end_enrolment
from scheduling.jobs import JOBS, lapse_expired_offers
from scheduling.lock import SchedulerLock
from scheduling.runner import build_scheduler
from tests.builders import actor_for, admit_child, make_cohort, make_user
from tests.conftest import DEFAULT_NOW


def test_the_job_table_names_every_job_with_its_purpose():
    assert [job.name for job in JOBS] == ["lapse_expired_offers"]
    assert all(job.purpose and job.every_seconds > 0 for job in JOBS)


def test_the_scheduler_registers_every_job_in_the_table(database_url, clock):
    database = Database(database_url)
    scheduler = build_scheduler(database, clock)
    assert {job.id for job in scheduler.get_jobs()} == {job.name for job in JOBS}
    database.dispose()


def test_the_lapse_job_passes_an_unconfirmed_offer_to_the_next_child(db_session, session_factory, clock):
    cohort = make_cohort(db_session, places=1)
    coordinator = make_user(db_session, Role.COORDINATOR, programme_id=cohort.programme_id)
    # A minute apart, as admissions always are (the cohort lock serialises them): arrival order decides ties.
    first = admit_child(db_session, cohort=cohort, by=coordinator, now=DEFAULT_NOW)
    second = admit_child(db_session, cohort=cohort, by=coordinator, now=DEFAULT_NOW + timedelta(minutes=1))
    third = admit_child(db_session, cohort=cohort, by=coordinator, now=DEFAULT_NOW + timedelta(minutes=2))
    end_enrolment(
        db_session, actor=actor_for(coordinator), enrolment_id=first.id, reason=EndReason.COMPLETED, note=None,
        now=DEFAULT_NOW + timedelta(minutes=3),
    )  # fmt: skip
    clock.advance(hours=72, minutes=3, seconds=1)

    assert lapse_expired_offers(session_factory, clock) == 1

    db_session.expire_all()  # the job changed the rows through its own session
    statuses = dict(db_session.execute(select(Enrolment.id, Enrolment.status)).all())
    assert statuses[second.id] is EnrolmentStatus.OFFER_LAPSED
    assert statuses[third.id] is EnrolmentStatus.OFFERED
    third_row = db_session.get(Enrolment, third.id)
    assert third_row.offer_expires_at == clock.now() + timedelta(hours=72)


def test_a_second_scheduler_cannot_take_the_lock_while_the_first_holds_it(database_url):
    first_database, second_database = Database(database_url), Database(database_url)
    first, second = SchedulerLock(first_database.engine), SchedulerLock(second_database.engine)
    try:
        assert first.try_acquire()
        assert not second.try_acquire()
        first.release()
        assert second.try_acquire()
    finally:
        first.release()
        second.release()
        first_database.dispose()
        second_database.dispose()
