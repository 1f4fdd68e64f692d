"""Places, caseloads and decisions hold when many requests arrive at the same moment.

On PostgreSQL the guarantee comes from the cohort's (and mentor's, and referral's) row lock; on SQLite from
BEGIN IMMEDIATE. Remove either and these tests fail: the requests all count the same free places.
"""

from __future__ import annotations

from collections import Counter

from sqlalchemy import func, select

from api.actors import Role
from api.enrolments.models import Enrolment
from api.enrolments.rules import EnrolmentStatus
from api.programmes.rules import CohortKind
from tests.builders import admit_child, auth_headers, make_cohort, make_referral, make_user

SIMULTANEOUS_REQUESTS = 100
# The tester's rush: 150 acceptances at once into a cohort with 30 free places.
RUSH = 150


def test_a_hundred_simultaneous_acceptances_fill_thirty_places_and_waitlist_seventy(committed_db_session, live_server):
    cohort = make_cohort(committed_db_session, places=30)
    coordinator = make_user(committed_db_session, Role.COORDINATOR, programme_id=cohort.programme_id)
    referrals = [
        make_referral(committed_db_session, cohort=cohort, by=coordinator) for _ in range(SIMULTANEOUS_REQUESTS)
    ]
    headers = auth_headers(committed_db_session, coordinator)

    answers = live_server.all_at_once(
        [
            lambda referral=referral: live_server.request("POST", f"/referrals/{referral.id}/accept", headers=headers)
            for referral in referrals
        ]
    )

    assert Counter(answer.status for answer in answers) == {201: SIMULTANEOUS_REQUESTS}
    assert Counter(answer.body["status"] for answer in answers) == {"active": 30, "waitlisted": 70}
    positions = sorted(answer.body["waitlist_position"] for answer in answers if answer.body["status"] == "waitlisted")
    assert positions[-1] <= 70
    committed_db_session.expire_all()
    counts = dict(
        committed_db_session.execute(
            select(Enrolment.status, func.count()).where(Enrolment.cohort_id == cohort.id).group_by(Enrolment.status)
        ).all()
    )
    assert counts == {EnrolmentStatus.ACTIVE: 30, EnrolmentStatus.WAITLISTED: 70}


def test_under_a_simultaneous_rush_each_answered_waitlist_position_is_the_childs_place_in_the_final_queue(
    committed_db_session, live_server
):
    """Places and waitlist positions follow one order, the order the requests took the cohort's lock: each answered
    position stays true, no two children are told the same one, and no later arrival takes a place over an earlier
    one (issue 17: with the request's clock as the tie-break, two children were told 87)."""
    cohort = make_cohort(committed_db_session, places=30)
    coordinator = make_user(committed_db_session, Role.COORDINATOR, programme_id=cohort.programme_id)
    referrals = [make_referral(committed_db_session, cohort=cohort, by=coordinator) for _ in range(RUSH)]
    headers = auth_headers(committed_db_session, coordinator)

    answers = live_server.all_at_once(
        [
            lambda referral=referral: live_server.request("POST", f"/referrals/{referral.id}/accept", headers=headers)
            for referral in referrals
        ]
    )

    assert Counter(answer.status for answer in answers) == {201: RUSH}
    answered = {answer.body["id"]: answer.body["waitlist_position"] for answer in answers}
    waitlist = live_server.request("GET", f"/cohorts/{cohort.id}/waitlist", headers=headers).body
    final = {entry["enrolment_id"]: entry["position"] for entry in waitlist}
    assert {enrolment_id: answered[enrolment_id] for enrolment_id in final} == final
    assert sorted(final.values()) == list(range(1, RUSH - 30 + 1))
    committed_db_session.expire_all()
    queue = committed_db_session.execute(
        select(Enrolment.id, Enrolment.status).where(Enrolment.cohort_id == cohort.id).order_by(Enrolment.queue_number)
    ).all()
    assert [status for _, status in queue] == [EnrolmentStatus.ACTIVE] * 30 + [EnrolmentStatus.WAITLISTED] * (RUSH - 30)
    assert [str(enrolment_id) for enrolment_id, _ in queue[30:]] == sorted(final, key=final.__getitem__)


def test_a_group_only_cohorts_places_hold_under_a_rush_as_a_one_to_one_cohorts_do(committed_db_session, live_server):
    """Issue 17: a group-only cohort has its own places, taken and waitlisted under the same cohort lock: 20
    acceptances at once into 5 places leave 5 active and 15 waiting, each told their place in the final queue."""
    cohort = make_cohort(committed_db_session, places=5, kind=CohortKind.GROUP_ONLY)
    coordinator = make_user(committed_db_session, Role.COORDINATOR, programme_id=cohort.programme_id)
    referrals = [make_referral(committed_db_session, cohort=cohort, by=coordinator) for _ in range(20)]
    headers = auth_headers(committed_db_session, coordinator)

    answers = live_server.all_at_once(
        [
            lambda referral=referral: live_server.request("POST", f"/referrals/{referral.id}/accept", headers=headers)
            for referral in referrals
        ]
    )

    assert Counter(answer.status for answer in answers) == {201: 20}
    assert Counter(answer.body["status"] for answer in answers) == {"active": 5, "waitlisted": 15}
    answered = {answer.body["id"]: answer.body["waitlist_position"] for answer in answers}
    waitlist = live_server.request("GET", f"/cohorts/{cohort.id}/waitlist", headers=headers).body
    final = {entry["enrolment_id"]: entry["position"] for entry in waitlist}
    assert {enrolment_id: answered[enrolment_id] for enrolment_id in final} == final
    assert sorted(final.values()) == list(range(1, 16))
    committed_db_session.expire_all()
    queue = committed_db_session.execute(
        select(Enrolment.status).where(Enrolment.cohort_id == cohort.id).order_by(Enrolment.queue_number)
    ).scalars()
    assert list(queue) == [EnrolmentStatus.ACTIVE] * 5 + [EnrolmentStatus.WAITLISTED] * 15


def test_simultaneous_allocations_never_take_a_mentor_past_their_maximum_caseload(committed_db_session, live_server):
    cohort = make_cohort(committed_db_session, places=10)
    coordinator = make_user(committed_db_session, Role.COORDINATOR, programme_id=cohort.programme_id)
    mentor = make_user(committed_db_session, Role.MENTOR, programme_id=cohort.programme_id, max_caseload=3)
    enrolments = [admit_child(committed_db_session, cohort=cohort, by=coordinator) for _ in range(10)]
    headers = auth_headers(committed_db_session, coordinator)

    answers = live_server.all_at_once(
        [
            lambda enrolment=enrolment: live_server.request(
                "PUT", f"/enrolments/{enrolment.id}/allocation", headers=headers, body={"mentor_id": str(mentor.id)}
            )
            for enrolment in enrolments
        ]
    )

    assert Counter(answer.status for answer in answers) == {200: 3, 409: 7}
    assert {answer.body["reason"] for answer in answers if answer.status == 409} == {"mentor_caseload_full"}


def test_a_referral_accepted_twice_at_once_is_admitted_once(committed_db_session, live_server):
    cohort = make_cohort(committed_db_session, places=5)
    coordinator = make_user(committed_db_session, Role.COORDINATOR, programme_id=cohort.programme_id)
    referral = make_referral(committed_db_session, cohort=cohort, by=coordinator)
    headers = auth_headers(committed_db_session, coordinator)

    answers = live_server.all_at_once(
        [lambda: live_server.request("POST", f"/referrals/{referral.id}/accept", headers=headers)] * 10
    )

    assert Counter(answer.status for answer in answers) == {201: 1, 409: 9}
    assert {answer.body["reason"] for answer in answers if answer.status == 409} == {"referral_already_decided"}
