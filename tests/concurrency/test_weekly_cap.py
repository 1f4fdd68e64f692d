"""The weekly cap and Idempotency-Key hold when many requests for one child arrive at the same moment.

On PostgreSQL the guarantee comes from the enrolment's row lock taken before counting
(api/sessions/queries.py::lock_places); on SQLite from BEGIN IMMEDIATE. Without the lock every request
counts the same sessions and the cap is overrun.
"""

from __future__ import annotations

import uuid
from collections import Counter
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from api.accounts.models import AppUser
from api.actors import Role
from api.enrolments.models import Enrolment
from api.sessions.models import MentoringSession, SessionAttendee
from api.sessions.rules import SessionStatus
from tests.builders import admit_child, allocate, auth_headers, make_cohort, make_user

SIMULTANEOUS_REQUESTS = 10
# Week 2026-W48 (GMT): ten distinct starts from Monday 23 to Friday 27 November 2026.
STARTS = [datetime(2026, 11, 23 + i // 2, 10 + 4 * (i % 2), tzinfo=UTC) for i in range(SIMULTANEOUS_REQUESTS)]


def session_body(enrolments: list[Enrolment], start: datetime, **fields: Any) -> dict[str, Any]:
    return {
        "enrolment_ids": [str(enrolment.id) for enrolment in enrolments],
        "kind": "group" if len(enrolments) > 1 else "one_to_one",
        "location_category": "community_venue",
        "planned_start_at": start.isoformat(),
        "planned_end_at": (start + timedelta(hours=1)).isoformat(),
    } | fields


def setting(db_session: Session, *, children: int = 1) -> tuple[AppUser, list[Enrolment]]:
    cohort = make_cohort(db_session, places=10, max_sessions_per_week=3)
    coordinator = make_user(db_session, Role.COORDINATOR, programme_id=cohort.programme_id)
    mentor = make_user(db_session, Role.MENTOR, programme_id=cohort.programme_id)
    enrolments = [admit_child(db_session, cohort=cohort, by=coordinator) for _ in range(children)]
    for enrolment in enrolments:
        allocate(db_session, enrolment=enrolment, mentor=mentor, by=coordinator)
    return mentor, enrolments


def counted_sessions(db_session: Session, enrolment: Enrolment, week: str = "2026-W48") -> int:
    db_session.expire_all()
    return db_session.scalar(
        select(func.count())
        .select_from(SessionAttendee)
        .join(MentoringSession, MentoringSession.id == SessionAttendee.session_id)
        .where(
            SessionAttendee.enrolment_id == enrolment.id,
            SessionAttendee.local_week == week,
            MentoringSession.status == SessionStatus.PLANNED,
        )
    )


def test_ten_simultaneous_sessions_for_one_child_in_one_week_create_exactly_three(committed_db_session, live_server):
    mentor, [enrolment] = setting(committed_db_session)
    headers = auth_headers(committed_db_session, mentor)

    answers = live_server.all_at_once(
        [
            lambda start=start: live_server.request(
                "POST", "/sessions", headers=headers, body=session_body([enrolment], start)
            )
            for start in STARTS
        ]
    )

    assert Counter(answer.status for answer in answers) == {201: 3, 409: 7}
    refusals = [answer.body for answer in answers if answer.status == 409]
    assert {(body["reason"], body["week"], body["sessions_in_week"], body["max_sessions"]) for body in refusals} == {
        ("weekly_session_cap_reached", "2026-W48", 3, 3)
    }
    assert counted_sessions(committed_db_session, enrolment) == 3


def test_simultaneous_group_sessions_listing_the_children_in_either_order_neither_deadlock_nor_overrun_the_cap(
    committed_db_session, live_server
):
    mentor, [first, second] = setting(committed_db_session, children=2)
    headers = auth_headers(committed_db_session, mentor)
    orders = [[first, second], [second, first]]

    answers = live_server.all_at_once(
        [
            lambda start=start, order=orders[i % 2]: live_server.request(
                "POST", "/sessions", headers=headers, body=session_body(order, start)
            )
            for i, start in enumerate(STARTS)
        ]
    )

    assert Counter(answer.status for answer in answers) == {201: 3, 409: 7}
    assert {answer.body["reason"] for answer in answers if answer.status == 409} == {"weekly_session_cap_reached"}
    assert counted_sessions(committed_db_session, first) == counted_sessions(committed_db_session, second) == 3


def test_ten_simultaneous_requests_with_one_idempotency_key_create_exactly_one_session(
    committed_db_session, live_server
):
    mentor, [enrolment] = setting(committed_db_session)
    headers = auth_headers(committed_db_session, mentor) | {"Idempotency-Key": "phone-retry-storm"}
    body = session_body([enrolment], STARTS[0])

    answers = live_server.all_at_once(
        [lambda: live_server.request("POST", "/sessions", headers=headers, body=body)] * SIMULTANEOUS_REQUESTS
    )

    # The first answer commits with the session, so every retry that waited on the key finds it and replays it:
    # none is told to come back later (as they were when the answer was stored in a second transaction).
    assert Counter(answer.status for answer in answers) == {201: SIMULTANEOUS_REQUESTS}
    assert len({answer.body["id"] for answer in answers}) == 1
    assert counted_sessions(committed_db_session, enrolment) == 1


def test_ten_simultaneous_creates_with_one_phone_generated_id_create_it_once(committed_db_session, live_server):
    mentor, [enrolment] = setting(committed_db_session)
    headers = auth_headers(committed_db_session, mentor)
    body = session_body([enrolment], STARTS[0], id=str(uuid.uuid4()))

    answers = live_server.all_at_once(
        [lambda: live_server.request("POST", "/sessions", headers=headers, body=body)] * SIMULTANEOUS_REQUESTS
    )

    assert Counter(answer.status for answer in answers) == {201: 1, 409: SIMULTANEOUS_REQUESTS - 1}
    assert {answer.body["reason"] for answer in answers if answer.status == 409} == {"session_already_exists"}
    assert counted_sessions(committed_db_session, enrolment) == 1


def test_simultaneous_reschedules_into_a_week_with_one_free_slot_move_exactly_one(committed_db_session, live_server):
    mentor, [enrolment] = setting(committed_db_session)
    headers = auth_headers(committed_db_session, mentor)
    for start in STARTS[:2]:
        assert (
            live_server.request("POST", "/sessions", headers=headers, body=session_body([enrolment], start)).status
            == 201
        )
    # Five sessions in later weeks (2026-W49 and W50), each to be moved into 2026-W48 at once.
    later = [datetime(2026, 12, 1 + 7 * (i // 3) + i % 3, 10, tzinfo=UTC) for i in range(5)]
    movable = [
        live_server.request("POST", "/sessions", headers=headers, body=session_body([enrolment], start)).body
        for start in later
    ]
    assert all("id" in session for session in movable)
    # Each to its own hour of one afternoon, so none is a duplicate of another: only the cap can refuse them.
    targets = [datetime(2026, 11, 27, 12 + i, tzinfo=UTC) for i in range(len(movable))]

    answers = live_server.all_at_once(
        [
            lambda session=session, target=target: live_server.request(
                "POST",
                f"/sessions/{session['id']}/reschedule",
                headers=headers | {"If-Match": '"1"'},
                body={
                    "planned_start_at": target.isoformat(),
                    "planned_end_at": (target + timedelta(hours=1)).isoformat(),
                },
            )
            for session, target in zip(movable, targets, strict=True)
        ]
    )

    assert Counter(answer.status for answer in answers) == {201: 1, 409: 4}
    assert {answer.body["reason"] for answer in answers if answer.status == 409} == {"weekly_session_cap_reached"}
    assert counted_sessions(committed_db_session, enrolment) == 3


def test_two_simultaneous_identical_sessions_make_one_and_refuse_the_other_as_a_duplicate(
    committed_db_session, live_server
):
    mentor, [enrolment] = setting(committed_db_session)
    headers = auth_headers(committed_db_session, mentor)
    body = session_body([enrolment], STARTS[0])

    answers = live_server.all_at_once(
        [lambda: live_server.request("POST", "/sessions", headers=headers, body=body) for _ in range(2)]
    )

    assert sorted(answer.status for answer in answers) == [201, 409]
    (made,) = [answer.body for answer in answers if answer.status == 201]
    (refused,) = [answer.body for answer in answers if answer.status == 409]
    assert (refused["reason"], refused["existing_session_id"]) == ("duplicate_session", made["id"])
    assert counted_sessions(committed_db_session, enrolment) == 1
