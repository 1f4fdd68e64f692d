from datetime import timedelta

import pytest
from apscheduler.triggers.date import DateTrigger
from sqlalchemy import select

from api.actors import Role
from api.children.rules import ConsentGivenBy, ContactChannel
from api.children.service import record_consent
from api.db import Database
from api.enrolments.models import Enrolment
from api.enrolments.rules import EndReason, EnrolmentStatus
from api.enrolments.service import end_enrolment
from api.sms.dispatch import DispatchSettings
from api.wellbeing.instruments import SHIPPED_INSTRUMENTS, load_instruments
from api.wellbeing.models import CheckInInvitation
from api.wellbeing.schedule import InvitationReason
from notifications.fake import FakeSmsSender
from scheduling.jobs import JOBS, RECOVER_DEAD_CLAIMS, JobContext, invite_due_check_ins, lapse_expired_offers
from scheduling.lock import SchedulerLock
from scheduling.runner import build_scheduler, context_from_environment
from tests.builders import actor_for, admit_child, make_cohort, make_user
from tests.conftest import DEFAULT_NOW, SECRET_KEY


def job_context(session_factory, clock, sender=None):
    instruments = load_instruments(SHIPPED_INSTRUMENTS, licensed_wording_file=None)
    dispatch = DispatchSettings(
        sender=sender or FakeSmsSender(), secret_key=SECRET_KEY, public_base_url="https://checkin.example.org",
        status_callback_url=None,
    )  # fmt: skip
    return JobContext(session_factory, clock, SECRET_KEY, instruments, dispatch)


def test_the_job_table_names_every_job_with_its_purpose():
    assert [job.name for job in JOBS] == [
        "lapse_expired_offers",
        "invite_due_check_ins",
        "queue_due_reminders",
        "dispatch_outbox",
        "dispatch_urgent",
        "escalate_alerts",
        "check_duty_cover",
        "check_lone_working",
        "check_return_conversations",
        "check_disengagement",
        "reconcile_messages",
        "drop_late_messages",
        "purge_expired_records",
    ]
    assert all(job.purpose and job.every_seconds > 0 for job in JOBS)


def test_the_scheduler_registers_every_job_in_the_table(database_url, clock):
    database = Database(database_url)
    scheduler = build_scheduler(job_context(database.session_factory, clock))
    assert {job.id for job in scheduler.get_jobs()} == {job.name for job in JOBS} | {RECOVER_DEAD_CLAIMS.name}
    # Once, at start-up: the claims a killed scheduler left are settled at once, not after their lease.
    assert isinstance(scheduler.get_job(RECOVER_DEAD_CLAIMS.name).trigger, DateTrigger)
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

    assert lapse_expired_offers(job_context(session_factory, clock)) == 1

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


def test_the_check_in_job_sends_a_link_when_a_consenting_child_starts(db_session, session_factory, clock):
    cohort = make_cohort(db_session, places=1)
    coordinator = make_user(db_session, Role.COORDINATOR, programme_id=cohort.programme_id)
    enrolment = admit_child(db_session, cohort=cohort, by=coordinator)
    record_consent(
        db_session, actor=actor_for(coordinator), child_id=enrolment.child_id, channel=ContactChannel.SMS_TO_CHILD,
        granted=True, given_by=ConsentGivenBy.CHILD, now=DEFAULT_NOW,
    )  # fmt: skip

    assert invite_due_check_ins(job_context(session_factory, clock)) == 1
    assert invite_due_check_ins(job_context(session_factory, clock)) == 0  # at most once per occasion

    invitation = db_session.scalar(select(CheckInInvitation))
    assert (invitation.child_id, invitation.reason, invitation.instrument_keys) == (
        enrolment.child_id,
        InvitationReason.AT_ENROLMENT,
        ["ons4"],
    )
    assert invitation.occasion == f"enrolment:{enrolment.id}:at_enrolment"


def test_the_scheduler_refuses_to_start_without_the_secret_key(database_url, clock, monkeypatch):
    monkeypatch.delenv("REACHABLE_SECRET_KEY", raising=False)
    database = Database(database_url)
    try:
        with pytest.raises(SystemExit, match="REACHABLE_SECRET_KEY"):
            context_from_environment(database, clock)
    finally:
        database.dispose()


def test_the_scheduler_refuses_to_start_with_a_public_address_too_long_for_a_one_segment_check_in_sms(
    database_url, clock, monkeypatch
):
    monkeypatch.setenv("REACHABLE_SECRET_KEY", SECRET_KEY)
    monkeypatch.setenv(
        "REACHABLE_PUBLIC_BASE_URL", "https://reachable-check-ins.north-kent-and-medway.example.org/mentoring/links/x"
    )
    database = Database(database_url)
    try:
        with pytest.raises(SystemExit, match=r"REACHABLE_PUBLIC_BASE_URL .* too long"):
            context_from_environment(database, clock)
    finally:
        database.dispose()
