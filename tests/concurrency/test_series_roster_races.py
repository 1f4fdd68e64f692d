"""A series' roster holds its capacity, and a child is on it once, when joins arrive at the same moment.

On PostgreSQL the guarantee comes from the series' row lock (api/groups/service.py, `_series_to_change`) taken before
the roster is counted; on SQLite from BEGIN IMMEDIATE. Without the lock every join counts the same free places and
the roster overfills (and the same child's two joins both find them absent: one would then fail on the unique index
with a 500 instead of a 409).
"""

from __future__ import annotations

import uuid
from collections import Counter
from datetime import timedelta

from sqlalchemy import func, select

from api.actors import Role
from api.groups.models import SeriesMember
from api.sessions.models import SessionAttendee
from tests.builders import admit_child, allocate, auth_headers, make_cohort, make_user
from tests.conftest import DEFAULT_NOW

CHILDREN = 12
CAPACITY = 8
FIRST_SESSION = DEFAULT_NOW + timedelta(days=1, hours=3)


def a_series(db_session, *, children: int):
    cohort = make_cohort(db_session, places=CHILDREN, max_sessions_per_week=3)
    coordinator = make_user(db_session, Role.COORDINATOR, programme_id=cohort.programme_id)
    mentor = make_user(db_session, Role.MENTOR, programme_id=cohort.programme_id, max_caseload=CHILDREN)
    enrolments = [admit_child(db_session, cohort=cohort, by=coordinator) for _ in range(children)]
    for enrolment in enrolments:
        allocate(db_session, enrolment=enrolment, mentor=mentor, by=coordinator)
    return coordinator, mentor, enrolments, cohort.programme_id


def create_series(live_server, headers, programme_id, mentor, *, first=FIRST_SESSION) -> dict:
    starts = [first + timedelta(weeks=week) for week in range(4)]
    answer = live_server.request(
        "POST",
        "/group-series",
        headers=headers,
        body={
            "programme_id": str(programme_id),
            "name": "Healthy relationships",
            "capacity": CAPACITY,
            "lead_facilitator_id": str(mentor.id),
            "location_category": "community_venue",
            "sessions": [
                {"planned_start_at": start.isoformat(), "planned_end_at": (start + timedelta(hours=1)).isoformat()}
                for start in starts
            ],
        },
    )
    assert answer.status == 201, answer.body
    return answer.body


def members(db_session, series_id) -> int:
    db_session.expire_all()
    return db_session.scalar(
        select(func.count()).where(SeriesMember.series_id == uuid.UUID(series_id), SeriesMember.left_at.is_(None))
    )


def test_twelve_simultaneous_joins_to_eight_places_put_exactly_eight_on_the_roster(committed_db_session, live_server):
    coordinator, mentor, enrolments, programme_id = a_series(committed_db_session, children=CHILDREN)
    headers = auth_headers(committed_db_session, coordinator)
    series = create_series(live_server, headers, programme_id, mentor)

    answers = live_server.all_at_once(
        [
            lambda enrolment=enrolment: live_server.request(
                "POST",
                f"/group-series/{series['id']}/members",
                headers=headers,
                body={"enrolment_id": str(enrolment.id)},
            )
            for enrolment in enrolments
        ]
    )

    assert Counter(answer.status for answer in answers) == {201: CAPACITY, 409: CHILDREN - CAPACITY}
    assert {
        (answer.body["reason"], answer.body["capacity"], answer.body["members"])
        for answer in answers
        if answer.status == 409
    } == {("series_full", CAPACITY, CAPACITY)}
    assert members(committed_db_session, series["id"]) == CAPACITY
    # Only the children who joined were booked: four sessions each.
    booked = committed_db_session.scalar(
        select(func.count()).where(
            SessionAttendee.session_id.in_([uuid.UUID(session["id"]) for session in series["sessions"]])
        )
    )
    assert booked == CAPACITY * 4


def test_the_roster_holds_its_capacity_with_no_session_left_to_book(committed_db_session, live_server):
    """Every session already started: nothing but the series' own lock stands between the joins."""
    coordinator, mentor, enrolments, programme_id = a_series(committed_db_session, children=CHILDREN)
    headers = auth_headers(committed_db_session, coordinator)
    series = create_series(live_server, headers, programme_id, mentor, first=DEFAULT_NOW - timedelta(weeks=4))

    answers = live_server.all_at_once(
        [
            lambda enrolment=enrolment: live_server.request(
                "POST",
                f"/group-series/{series['id']}/members",
                headers=headers,
                body={"enrolment_id": str(enrolment.id)},
            )
            for enrolment in enrolments
        ]
    )

    assert Counter(answer.status for answer in answers) == {201: CAPACITY, 409: CHILDREN - CAPACITY}
    assert members(committed_db_session, series["id"]) == CAPACITY


def test_the_same_child_joining_twice_at_once_is_on_the_roster_once(committed_db_session, live_server):
    coordinator, mentor, [enrolment], programme_id = a_series(committed_db_session, children=1)
    headers = auth_headers(committed_db_session, coordinator)
    series = create_series(live_server, headers, programme_id, mentor)

    answers = live_server.all_at_once(
        [
            lambda: live_server.request(
                "POST",
                f"/group-series/{series['id']}/members",
                headers=headers,
                body={"enrolment_id": str(enrolment.id)},
            )
        ]
        * 2
    )

    assert sorted((answer.status, (answer.body or {}).get("reason")) for answer in answers) == [
        (201, None),
        (409, "already_on_roster"),
    ]
    assert members(committed_db_session, series["id"]) == 1
