"""Planning, logging, editing and rescheduling sessions over HTTP, within each child's weekly cap.

The default clock stands on Monday 23 November 2026, 14:00 UTC (GMT): week 2026-W48 runs from Monday
23 November to Sunday 29 November. Tests about summer time or the changeover weekends move the clock.
"""

from __future__ import annotations

import json
import uuid
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from api.accounts.models import AppUser
from api.actors import Role
from api.alerts.models import Alert
from api.alerts.rules import AlertKind
from api.audit.models import AuditEvent
from api.changes.models import ChangeEvent
from api.changes.rules import ChangeOp
from api.children.models import Child
from api.enrolments.rules import EnrolmentStatus
from api.idempotency import service as idempotency_service
from api.idempotency.models import IdempotencyRecord
from api.idempotency.service import fingerprint
from api.sessions import views as sessions_views
from api.sessions.models import MentoringSession, SessionAttendee
from tests.api.sessions_over_http import (
    ENROLLED_FROM,
    FRIDAY_AFTERNOON,
    NEXT_TUESDAY,
    SATURDAY_MORNING,
    THURSDAY_AFTERNOON,
    TUESDAY_EVENING,
    WEDNESDAY_MORNING,
    cap_refusal,
    error,
    fill_week,
    get,
    patch,
    plan,
    planned,
    reschedule,
    session_body,
    sessions_of,
)
from tests.builders import (
    ACTIVITIES,
    Team,
    admit_child,
    allocate,
    auth_headers,
    iso,
    make_cohort,
    make_programme,
    make_user,
    utc,
)
from tests.conftest import DEFAULT_NOW


@pytest.fixture()
def team(db_session, clock) -> Team:
    return Team(db_session, clock, enrolled_from=ENROLLED_FROM)


# --- planning and logging ------------------------------------------------------------------------------------


def test_a_mentor_plans_a_one_to_one_session_for_their_child(client, db_session, team):
    enrolment = team.child()
    child = db_session.get(Child, enrolment.child_id)

    response = plan(client, team, enrolment, TUESDAY_EVENING, location_category="home")

    assert response.status_code == 201
    assert response.headers["ETag"] == '"1"'
    body = response.json
    assert uuid.UUID(body["id"])
    assert {key: body[key] for key in body if key != "id"} == {
        "programme_id": str(team.programme.id),
        "mentor_id": str(team.mentor.id),
        "kind": "one_to_one",
        "location_category": "home",
        "status": "planned",
        "planned_start_at": "2026-11-24T17:30:00+00:00",
        "planned_end_at": "2026-11-24T18:30:00+00:00",
        "week": "2026-W48",
        "is_evening": True,
        "is_weekend": False,
        "attendees": [
            {"enrolment_id": str(enrolment.id), "child_id": str(child.id), "child_reference": child.reference}
        ],
        "register": [{"child_id": str(child.id), "attendance": "booked", "arrived_at": None, "left_at": None}],
        "register_taken": False,
        "carers": [],
        "carers_attended": 0,
        "actual_duration_minutes": None,
        "activities": None,
        "notes": None,
        "pattern_id": None,
        "series_id": None,
        "rescheduled_to_id": None,
        "version": 1,
        "updated_at": iso(DEFAULT_NOW),
        "lone_working": None,
    }


def test_a_planned_session_can_be_read_back_with_its_etag(client, team):
    enrolment = team.child()
    created = planned(client, team, enrolment, TUESDAY_EVENING)

    response = get(client, team, created["id"])

    assert response.status_code == 200
    assert response.headers["ETag"] == '"1"'
    assert response.json == created


@pytest.mark.parametrize(
    ("start", "week", "is_evening", "is_weekend"),
    [
        # Saturday 5 June 2027, 16:00 UTC is 17:00 BST.
        (utc(2027, 6, 5, 16, 0), "2027-W22", True, True),
        # Tuesday 8 June 2027, 15:59 UTC is 16:59 BST.
        (utc(2027, 6, 8, 15, 59), "2027-W23", False, False),
        # Sunday 6 June 2027, 23:30 UTC is Monday 00:30 BST.
        (utc(2027, 6, 6, 23, 30), "2027-W23", False, False),
        # Sunday 6 June 2027, 22:30 UTC is Sunday 23:30 BST.
        (utc(2027, 6, 6, 22, 30), "2027-W22", True, True),
    ],
    ids=["saturday-1700-bst", "tuesday-1659-bst", "sunday-2330-utc-is-monday", "sunday-2230-utc-is-sunday"],
)
def test_week_evening_and_weekend_are_worked_out_in_london_time(client, team, start, week, is_evening, is_weekend):
    enrolment = team.child()
    team.travel_to(utc(2027, 6, 1, 9))

    body = planned(client, team, enrolment, start)

    assert (body["week"], body["is_evening"], body["is_weekend"]) == (week, is_evening, is_weekend)


def test_a_group_session_lists_every_child_at_it(client, db_session, team):
    enrolments = [team.child() for _ in range(3)]
    children = [db_session.get(Child, enrolment.child_id) for enrolment in enrolments]

    response = plan(client, team, enrolments, SATURDAY_MORNING, location_category="outdoors")

    assert response.status_code == 201
    assert response.json["kind"] == "group"
    assert response.json["is_weekend"] is True
    assert response.json["attendees"] == sorted(
        (
            {"enrolment_id": str(enrolment.id), "child_id": str(child.id), "child_reference": child.reference}
            for enrolment, child in zip(enrolments, children, strict=True)
        ),
        key=lambda attendee: attendee["child_reference"],
    )
    for enrolment in enrolments:
        assert sessions_of(db_session, enrolment) == 1


def test_a_session_that_already_happened_is_logged_as_completed_when_created(client, team):
    enrolment = team.child()

    response = plan(
        client,
        team,
        enrolment,
        utc(2026, 11, 23, 10),
        status="completed",
        actual_duration_minutes=55,
        activities=[ACTIVITIES[0], ACTIVITIES[2]],
        notes="Talked about school; walked to the park.",
    )

    assert response.status_code == 201
    body = response.json
    assert (body["status"], body["actual_duration_minutes"], body["activities"], body["notes"]) == (
        "completed",
        55,
        [ACTIVITIES[0], ACTIVITIES[2]],
        "Talked about school; walked to the park.",
    )
    assert body["version"] == 1


def test_a_session_logged_as_did_not_attend_when_created_counts_as_such(client, team):
    enrolment = team.child()

    response = plan(client, team, enrolment, utc(2026, 11, 23, 10), status="did_not_attend")

    assert response.status_code == 201
    assert response.json["status"] == "did_not_attend"


def test_a_session_cannot_be_created_already_cancelled(client, team):
    enrolment = team.child()

    response = plan(client, team, enrolment, TUESDAY_EVENING, status="cancelled_by_child")

    assert error(response) == (422, "invalid_request")
    assert "status" in response.json["errors"]


def test_an_activity_not_in_the_programmes_list_is_refused(client, db_session, team):
    enrolment = team.child()

    response = plan(
        client,
        team,
        enrolment,
        utc(2026, 11, 23, 10),
        status="completed",
        actual_duration_minutes=60,
        activities=[ACTIVITIES[0], "Go-karting"],
    )

    assert error(response) == (422, "invalid_session")
    assert response.json["errors"] == {"activities": ["Not one of the programme's activities: Go-karting."]}
    assert sessions_of(db_session, enrolment) == 0


@pytest.mark.parametrize(
    "log",
    [{"actual_duration_minutes": 45}, {"activities": [ACTIVITIES[0]]}, {"notes": "Went well."}],
    ids=["duration", "activities", "notes"],
)
def test_what_happened_cannot_be_logged_on_a_session_only_planned(client, db_session, team, log):
    enrolment = team.child()

    response = plan(client, team, enrolment, TUESDAY_EVENING, **log)

    assert error(response) == (422, "invalid_session")
    assert response.json["errors"] == {
        "status": ["Duration, activities and notes are recorded for completed sessions."]
    }
    assert sessions_of(db_session, enrolment) == 0


@pytest.mark.parametrize("minutes", [0, -30], ids=["ends-when-it-starts", "ends-before-it-starts"])
def test_a_session_must_end_after_it_starts(client, db_session, team, minutes):
    enrolment = team.child()

    response = plan(client, team, enrolment, TUESDAY_EVENING, minutes=minutes)

    assert error(response) == (422, "invalid_session")
    assert response.json["errors"] == {"planned_end_at": ["A session must end after it starts."]}
    assert sessions_of(db_session, enrolment) == 0


def test_a_session_cannot_last_more_than_twelve_hours(client, team):
    enrolment = team.child()

    response = plan(client, team, enrolment, utc(2026, 11, 24, 8), minutes=12 * 60 + 1)

    assert error(response) == (422, "invalid_session")
    assert response.json["errors"] == {"planned_end_at": ["A session cannot last more than 12 hours."]}


def test_a_time_without_an_offset_is_refused_as_ambiguous(client, team):
    enrolment = team.child()
    body = session_body(enrolment, TUESDAY_EVENING) | {"planned_start_at": "2026-11-24T17:30:00"}

    response = client.post("/sessions", json=body, headers=team.headers())

    assert error(response) == (422, "invalid_request")
    assert "planned_start_at" in response.json["errors"]


@pytest.mark.parametrize("kind", ["one_to_one", "phone_video"])
def test_a_one_to_one_or_phone_session_with_two_children_is_refused(client, db_session, team, kind):
    first, second = team.child(), team.child()

    response = plan(client, team, [first, second], TUESDAY_EVENING, kind=kind)

    assert error(response) == (422, "invalid_session")
    assert response.json["errors"] == {"enrolment_ids": ["A one-to-one or phone session has one child."]}
    assert sessions_of(db_session, first) == sessions_of(db_session, second) == 0


def test_a_session_listing_the_same_enrolment_twice_is_refused(client, db_session, team):
    enrolment = team.child()

    response = plan(client, team, [enrolment, enrolment], TUESDAY_EVENING, kind="group")

    assert error(response) == (422, "invalid_request")
    assert response.json["errors"] == {"enrolment_ids": ["An enrolment is listed twice."]}
    assert sessions_of(db_session, enrolment) == 0


def test_a_session_with_no_children_is_refused(client, team):
    response = client.post(
        "/sessions", json=session_body([], TUESDAY_EVENING) | {"kind": "group"}, headers=team.headers()
    )

    assert error(response) == (422, "invalid_request")
    assert "enrolment_ids" in response.json["errors"]


def test_a_session_id_generated_on_the_phone_is_kept(client, team):
    enrolment = team.child()
    session_id = uuid.uuid4()

    response = plan(client, team, enrolment, TUESDAY_EVENING, id=str(session_id))

    assert response.status_code == 201
    assert response.json["id"] == str(session_id)
    assert get(client, team, session_id).status_code == 200


def test_creating_a_session_with_an_id_that_already_exists_is_a_conflict(client, db_session, team):
    enrolment = team.child()
    session_id = str(uuid.uuid4())
    planned(client, team, enrolment, TUESDAY_EVENING, id=session_id)

    response = plan(client, team, enrolment, WEDNESDAY_MORNING, id=session_id)

    assert error(response) == (409, "session_already_exists")
    assert sessions_of(db_session, enrolment) == 1
    assert get(client, team, session_id).json["planned_start_at"] == iso(TUESDAY_EVENING)


# --- who may plan and see sessions ---------------------------------------------------------------------------


def test_a_mentor_cannot_plan_for_a_child_they_are_not_key_worker_for(client, db_session, team):
    other_mentor = team.new_mentor()
    someone_elses = team.child(other_mentor)

    response = plan(client, team, someone_elses, TUESDAY_EVENING)

    assert error(response) == (404, "enrolment_not_found")
    assert sessions_of(db_session, someone_elses) == 0


def test_a_mentor_cannot_slip_another_childs_enrolment_into_a_group_session(client, db_session, team):
    mine = team.child()
    someone_elses = team.child(team.new_mentor())

    response = plan(client, team, [mine, someone_elses], TUESDAY_EVENING)

    assert error(response) == (404, "enrolment_not_found")
    assert sessions_of(db_session, mine) == 0


def test_an_unknown_enrolment_is_not_found(client, team):
    response = client.post(
        "/sessions",
        json=session_body(team.child(), TUESDAY_EVENING) | {"enrolment_ids": [str(uuid.uuid4())]},
        headers=team.headers(),
    )

    assert error(response) == (404, "enrolment_not_found")


def test_a_coordinator_of_another_programme_cannot_plan_for_the_child(client, db_session, team):
    enrolment = team.child()
    outsider = make_user(db_session, Role.COORDINATOR, programme=make_programme(db_session))

    response = plan(client, team, enrolment, TUESDAY_EVENING, by=outsider)

    assert error(response) == (404, "enrolment_not_found")
    assert sessions_of(db_session, enrolment) == 0


def test_a_commissioner_may_not_plan_sessions(client, db_session, team):
    enrolment = team.child()

    response = plan(client, team, enrolment, TUESDAY_EVENING, by=team.user(Role.COMMISSIONER))

    assert response.status_code == 403
    assert sessions_of(db_session, enrolment) == 0


def test_a_session_needs_a_signed_in_caller(client, team):
    enrolment = team.child()

    response = client.post("/sessions", json=session_body(enrolment, TUESDAY_EVENING))

    assert response.status_code == 401


def test_no_session_can_be_planned_for_a_child_still_on_the_waitlist(client, db_session, clock):
    team = Team(db_session, clock, places=1, enrolled_from=ENROLLED_FROM)
    team.child()
    waiting = team.admit()
    assert waiting.status is EnrolmentStatus.WAITLISTED

    response = plan(client, team, waiting, TUESDAY_EVENING, by=team.coordinator, mentor_id=str(team.mentor.id))

    assert error(response) == (409, "enrolment_not_active")
    assert sessions_of(db_session, waiting) == 0


def test_a_coordinators_session_is_led_by_the_childs_key_worker_by_default(client, team):
    enrolment = team.child()

    body = planned(client, team, enrolment, TUESDAY_EVENING, by=team.coordinator)

    assert body["mentor_id"] == str(team.mentor.id)


def test_a_coordinator_may_name_another_mentor_of_the_programme_to_lead(client, team):
    enrolment = team.child()
    cover = team.new_mentor()

    body = planned(client, team, enrolment, TUESDAY_EVENING, by=team.coordinator, mentor_id=str(cover.id))

    assert body["mentor_id"] == str(cover.id)


def test_a_coordinator_cannot_name_a_mentor_of_another_programme_to_lead(client, db_session, team):
    enrolment = team.child()
    stranger = make_user(db_session, Role.MENTOR, programme=make_programme(db_session))

    response = plan(client, team, enrolment, TUESDAY_EVENING, by=team.coordinator, mentor_id=str(stranger.id))

    assert error(response) == (422, "invalid_session")
    assert list(response.json["errors"]) == ["mentor_id"]
    assert sessions_of(db_session, enrolment) == 0


def test_a_session_of_a_child_the_mentor_does_not_work_with_is_not_found(client, team):
    other_mentor = team.new_mentor()
    theirs = planned(client, team, team.child(other_mentor), TUESDAY_EVENING, by=other_mentor)

    response = get(client, team, theirs["id"])

    assert error(response) == (404, "session_not_found")


def test_a_session_of_another_programme_is_not_found_for_its_coordinator(client, db_session, team):
    created = planned(client, team, team.child(), TUESDAY_EVENING)
    outsider = make_user(db_session, Role.COORDINATOR, programme=make_programme(db_session))

    response = get(client, team, created["id"], by=outsider)

    assert error(response) == (404, "session_not_found")


def test_an_unknown_session_is_not_found(client, team):
    assert error(get(client, team, uuid.uuid4())) == (404, "session_not_found")


class TestNotesOfAGroupSession:
    """A group session led by mentor A for A's child and mentor B's child: B sees it, but not its notes."""

    @pytest.fixture()
    def group(self, client, team) -> tuple[AppUser, AppUser, dict[str, Any]]:
        mentor_a, mentor_b = team.mentor, team.new_mentor()
        child_a, child_b = team.child(mentor_a), team.child(mentor_b)
        created = planned(
            client,
            team,
            [child_a, child_b],
            utc(2026, 11, 23, 10),
            by=team.coordinator,
            mentor_id=str(mentor_a.id),
            status="completed",
            actual_duration_minutes=90,
            notes="Both children talked about a worrying older friend.",
        )
        return mentor_a, mentor_b, created

    def test_the_leading_mentor_sees_the_notes(self, client, team, group):
        mentor_a, _, created = group

        response = get(client, team, created["id"], by=mentor_a)

        assert response.json["notes"] == "Both children talked about a worrying older friend."

    def test_another_childs_mentor_sees_the_session_but_its_notes_are_null(self, client, team, group):
        _, mentor_b, created = group

        response = get(client, team, created["id"], by=mentor_b)

        assert response.status_code == 200
        assert response.json["mentor_id"] == created["mentor_id"]
        assert response.json["notes"] is None
        assert response.json["actual_duration_minutes"] == 90

    def test_another_childs_mentor_sees_null_notes_in_the_list_too(self, client, team, group):
        _, mentor_b, created = group

        response = client.get("/sessions", headers=team.headers(mentor_b))

        assert response.status_code == 200
        assert [(row["id"], row["notes"]) for row in response.json] == [(created["id"], None)]

    def test_a_coordinator_sees_the_notes(self, client, team, group):
        _, _, created = group

        response = get(client, team, created["id"], by=team.coordinator)

        assert response.json["notes"] == "Both children talked about a worrying older friend."

    def test_an_admin_sees_the_notes(self, client, db_session, team, group):
        _, _, created = group
        admin = make_user(db_session, Role.ADMIN)

        response = get(client, team, created["id"], by=admin)

        assert response.json["notes"] == "Both children talked about a worrying older friend."


def test_a_mentor_lists_only_the_sessions_of_their_own_children_in_time_order(client, team):
    mine = team.child()
    later = planned(client, team, mine, THURSDAY_AFTERNOON)
    earlier = planned(client, team, mine, TUESDAY_EVENING)
    other_mentor = team.new_mentor()
    planned(client, team, team.child(other_mentor), TUESDAY_EVENING, by=other_mentor)

    response = client.get("/sessions", headers=team.headers())

    assert response.status_code == 200
    assert [row["id"] for row in response.json] == [earlier["id"], later["id"]]


# --- rescheduling --------------------------------------------------------------------------------------------


def test_rescheduling_marks_the_old_session_and_returns_the_new_planned_one(client, team):
    enrolment = team.child()
    old = planned(client, team, enrolment, TUESDAY_EVENING, location_category="school")

    response = reschedule(client, team, old["id"], NEXT_TUESDAY, if_match='"1"')

    assert response.status_code == 201
    assert response.headers["ETag"] == '"1"'
    new = response.json
    assert new["id"] != old["id"]
    assert (new["status"], new["version"], new["week"]) == ("planned", 1, "2026-W49")
    assert (new["planned_start_at"], new["planned_end_at"]) == (
        iso(NEXT_TUESDAY),
        iso(NEXT_TUESDAY + timedelta(hours=1)),
    )
    assert (new["mentor_id"], new["kind"], new["location_category"], new["attendees"]) == (
        old["mentor_id"],
        old["kind"],
        old["location_category"],
        old["attendees"],
    )
    moved = get(client, team, old["id"])
    assert moved.headers["ETag"] == '"2"'
    assert (moved.json["status"], moved.json["version"], moved.json["rescheduled_to_id"]) == (
        "rescheduled",
        2,
        new["id"],
    )
    assert moved.json["planned_start_at"] == iso(TUESDAY_EVENING)


def test_a_rescheduled_session_may_take_an_id_generated_on_the_phone(client, team):
    old = planned(client, team, team.child(), TUESDAY_EVENING)
    new_id = str(uuid.uuid4())

    response = reschedule(client, team, old["id"], NEXT_TUESDAY, if_match='"1"', new_session_id=new_id)

    assert response.json["id"] == new_id
    assert get(client, team, old["id"]).json["rescheduled_to_id"] == new_id


def test_rescheduling_into_a_full_week_is_refused_and_leaves_the_session_as_it_was(client, team):
    enrolment = team.child()
    old = planned(client, team, enrolment, NEXT_TUESDAY)
    fill_week(client, team, enrolment)

    response = reschedule(client, team, old["id"], FRIDAY_AFTERNOON, if_match='"1"')

    assert cap_refusal(response) == {"week": "2026-W48", "sessions_in_week": 3, "max_sessions": 3}
    unchanged = get(client, team, old["id"]).json
    assert (unchanged["status"], unchanged["version"], unchanged["rescheduled_to_id"]) == ("planned", 1, None)


def test_moving_a_session_within_its_own_full_week_does_not_count_it_twice(client, db_session, team):
    enrolment = team.child()
    first, _, _ = fill_week(client, team, enrolment)

    response = reschedule(client, team, first["id"], SATURDAY_MORNING, if_match='"1"')

    assert response.status_code == 201
    assert response.json["week"] == "2026-W48"
    assert cap_refusal(plan(client, team, enrolment, FRIDAY_AFTERNOON))["sessions_in_week"] == 3
    assert sessions_of(db_session, enrolment) == 4


def test_a_rescheduled_session_frees_its_slot_in_its_old_week(client, team):
    enrolment = team.child()
    first, _, _ = fill_week(client, team, enrolment)
    assert reschedule(client, team, first["id"], NEXT_TUESDAY, if_match='"1"').status_code == 201

    assert plan(client, team, enrolment, FRIDAY_AFTERNOON).status_code == 201


def test_a_completed_session_cannot_be_rescheduled(client, team):
    done = planned(client, team, team.child(), utc(2026, 11, 23, 10), status="completed", actual_duration_minutes=60)

    response = reschedule(client, team, done["id"], NEXT_TUESDAY, if_match='"1"')

    assert error(response) == (409, "session_status_final")


def test_a_session_already_rescheduled_cannot_be_rescheduled_again(client, team):
    old = planned(client, team, team.child(), TUESDAY_EVENING)
    reschedule(client, team, old["id"], NEXT_TUESDAY, if_match='"1"')

    response = reschedule(client, team, old["id"], utc(2026, 12, 2, 10), if_match='"2"')

    assert error(response) == (409, "session_status_final")


def test_rescheduling_from_a_stale_version_is_refused(client, team):
    old = planned(client, team, team.child(), TUESDAY_EVENING)
    assert patch(client, team, old["id"], {"location_category": "home"}, if_match='"1"').status_code == 200

    response = reschedule(client, team, old["id"], NEXT_TUESDAY, if_match='"1"')

    assert error(response) == (412, "stale_version")
    assert response.json["current_version"] == 2
    unchanged = get(client, team, old["id"]).json
    assert (unchanged["status"], unchanged["version"]) == ("planned", 2)


def test_rescheduling_without_if_match_is_refused(client, team):
    old = planned(client, team, team.child(), TUESDAY_EVENING)

    response = reschedule(client, team, old["id"], NEXT_TUESDAY, if_match=None)

    assert error(response) == (428, "if_match_required")
    assert get(client, team, old["id"]).json["status"] == "planned"


def test_rescheduling_to_a_time_that_ends_before_it_starts_is_refused(client, team):
    old = planned(client, team, team.child(), TUESDAY_EVENING)

    response = client.post(
        f"/sessions/{old['id']}/reschedule",
        json={"planned_start_at": iso(NEXT_TUESDAY), "planned_end_at": iso(NEXT_TUESDAY - timedelta(hours=1))},
        headers=team.headers(**{"If-Match": '"1"'}),
    )

    assert error(response) == (422, "invalid_session")
    assert get(client, team, old["id"]).json["status"] == "planned"


# --- editing -------------------------------------------------------------------------------------------------


def test_logging_a_completed_session_moves_its_etag_to_two(client, team):
    created = planned(client, team, team.child(), utc(2026, 11, 23, 10))

    response = patch(
        client,
        team,
        created["id"],
        {
            "status": "completed",
            "actual_duration_minutes": 50,
            "activities": [ACTIVITIES[1]],
            "notes": "Played football, talked about home.",
        },
        if_match='"1"',
    )

    assert response.status_code == 200
    assert response.headers["ETag"] == '"2"'
    body = response.json
    assert (body["status"], body["version"], body["actual_duration_minutes"], body["activities"], body["notes"]) == (
        "completed",
        2,
        50,
        [ACTIVITIES[1]],
        "Played football, talked about home.",
    )


def test_a_weak_etag_in_if_match_is_accepted(client, team):
    created = planned(client, team, team.child(), TUESDAY_EVENING)

    response = patch(client, team, created["id"], {"location_category": "online"}, if_match='W/"1"')

    assert response.status_code == 200
    assert response.json["location_category"] == "online"


def test_a_stale_edit_is_refused_and_the_first_edit_is_not_lost(client, team):
    created = planned(client, team, team.child(), utc(2026, 11, 23, 10))
    first = patch(
        client,
        team,
        created["id"],
        {"status": "completed", "actual_duration_minutes": 40, "activities": [ACTIVITIES[0]], "notes": "First phone."},
        if_match='"1"',
    )
    assert first.status_code == 200

    second = patch(
        client,
        team,
        created["id"],
        {"status": "completed", "actual_duration_minutes": 90, "activities": [ACTIVITIES[2]], "notes": "Second phone."},
        if_match='"1"',
    )

    assert error(second) == (412, "stale_version")
    assert second.json["current_version"] == 2
    now = get(client, team, created["id"])
    assert now.headers["ETag"] == '"2"'
    body = now.json
    assert (body["version"], body["actual_duration_minutes"], body["activities"], body["notes"]) == (
        2,
        40,
        [ACTIVITIES[0]],
        "First phone.",
    )


def test_an_edit_without_if_match_is_refused_and_changes_nothing(client, team):
    created = planned(client, team, team.child(), TUESDAY_EVENING)

    response = patch(client, team, created["id"], {"status": "cancelled_by_child"}, if_match=None)

    assert error(response) == (428, "if_match_required")
    assert get(client, team, created["id"]).json == created


def test_an_if_match_that_names_no_version_is_refused(client, team):
    created = planned(client, team, team.child(), TUESDAY_EVENING)

    response = patch(client, team, created["id"], {"status": "cancelled_by_child"}, if_match='"abc"')

    assert error(response) == (412, "stale_version")
    assert get(client, team, created["id"]).json["status"] == "planned"


def test_a_cancelled_session_cannot_be_planned_again(client, team):
    created = planned(client, team, team.child(), TUESDAY_EVENING)
    patch(client, team, created["id"], {"status": "cancelled_by_mentor"}, if_match='"1"')

    response = patch(client, team, created["id"], {"status": "planned"}, if_match='"2"')

    assert error(response) == (409, "session_status_final")
    assert get(client, team, created["id"]).json["status"] == "cancelled_by_mentor"


def test_a_completed_session_cannot_be_cancelled(client, team):
    created = planned(client, team, team.child(), utc(2026, 11, 23, 10), status="completed", actual_duration_minutes=60)

    response = patch(client, team, created["id"], {"status": "cancelled_by_child"}, if_match='"1"')

    assert error(response) == (409, "session_status_final")


def test_a_completed_sessions_kind_and_place_cannot_change(client, team):
    created = planned(client, team, team.child(), utc(2026, 11, 23, 10), status="completed", actual_duration_minutes=60)

    response = patch(client, team, created["id"], {"location_category": "online"}, if_match='"1"')

    assert error(response) == (409, "session_status_final")


def test_a_completed_sessions_notes_can_be_corrected(client, team):
    created = planned(
        client,
        team,
        team.child(),
        utc(2026, 11, 23, 10),
        status="completed",
        actual_duration_minutes=60,
        notes="Frist draft.",
    )

    response = patch(client, team, created["id"], {"notes": "First draft."}, if_match='"1"')

    assert response.status_code == 200
    assert (response.json["status"], response.json["notes"], response.json["version"]) == (
        "completed",
        "First draft.",
        2,
    )
    assert response.json["actual_duration_minutes"] == 60


@pytest.mark.parametrize(
    "edit", [{"location_category": "home"}, {"status": "cancelled_by_child"}, {}], ids=["place", "status", "nothing"]
)
def test_a_session_that_was_rescheduled_cannot_be_edited(client, team, edit):
    old = planned(client, team, team.child(), TUESDAY_EVENING)
    reschedule(client, team, old["id"], NEXT_TUESDAY, if_match='"1"')

    response = patch(client, team, old["id"], edit, if_match='"2"')

    assert error(response) == (409, "session_status_final")
    unchanged = get(client, team, old["id"]).json
    assert (unchanged["status"], unchanged["version"], unchanged["location_category"]) == (
        "rescheduled",
        2,
        "community_venue",
    )


def test_a_session_cannot_be_marked_rescheduled_by_an_edit(client, team):
    created = planned(client, team, team.child(), TUESDAY_EVENING)

    response = patch(client, team, created["id"], {"status": "rescheduled"}, if_match='"1"')

    assert response.status_code == 422
    assert "status" in response.json["errors"]
    assert get(client, team, created["id"]).json["status"] == "planned"


def test_notes_cannot_be_logged_on_a_session_the_child_did_not_attend(client, team):
    created = planned(client, team, team.child(), utc(2026, 11, 23, 10))

    response = patch(client, team, created["id"], {"status": "did_not_attend", "notes": "No answer."}, if_match='"1"')

    assert error(response) == (422, "invalid_session")
    assert get(client, team, created["id"]).json["status"] == "planned"


def test_a_session_the_mentor_cannot_see_cannot_be_edited(client, team):
    other_mentor = team.new_mentor()
    theirs = planned(client, team, team.child(other_mentor), TUESDAY_EVENING, by=other_mentor)

    response = patch(client, team, theirs["id"], {"status": "cancelled_by_mentor"}, if_match='"1"')

    assert error(response) == (404, "session_not_found")
    assert get(client, team, theirs["id"], by=other_mentor).json["status"] == "planned"


# --- safeguarding concerns -----------------------------------------------------------------------------------


def alerts_for_session(db_session: Session, session_id) -> list[Alert]:
    return list(db_session.scalars(select(Alert).where(Alert.session_id == uuid.UUID(str(session_id)))).all())


def test_a_concern_logged_with_a_session_raises_a_safeguarding_alert(client, db_session, team):
    enrolment = team.child()
    created = planned(client, team, enrolment, utc(2026, 11, 23, 10))
    team.clock.advance(hours=2)

    response = patch(
        client,
        team,
        created["id"],
        {
            "status": "completed",
            "actual_duration_minutes": 60,
            "safeguarding_concern": "Mentioned an older man offering lifts.",
        },
        if_match='"1"',
    )

    assert response.status_code == 200
    alerts = alerts_for_session(db_session, created["id"])
    assert [
        (a.kind, a.child_id, a.programme_id, a.raised_by_user_id, a.detail, a.raised_at, a.acknowledged_at)
        for a in alerts
    ] == [
        (
            AlertKind.SAFEGUARDING_CONCERN,
            enrolment.child_id,
            team.programme.id,
            team.mentor.id,
            "Mentioned an older man offering lifts.",
            DEFAULT_NOW + timedelta(hours=2),
            None,
        )
    ]


def test_a_concern_logged_when_the_session_is_created_raises_an_alert(client, db_session, team):
    enrolment = team.child()

    created = planned(
        client,
        team,
        enrolment,
        utc(2026, 11, 23, 10),
        status="completed",
        actual_duration_minutes=30,
        safeguarding_concern="Bruising on the arm, explained vaguely.",
    )

    alerts = alerts_for_session(db_session, created["id"])
    assert [(a.kind, a.child_id, a.detail) for a in alerts] == [
        (AlertKind.SAFEGUARDING_CONCERN, enrolment.child_id, "Bruising on the arm, explained vaguely.")
    ]


def test_a_session_logged_without_a_concern_raises_no_alert(client, db_session, team):
    created = planned(client, team, team.child(), utc(2026, 11, 23, 10))

    patch(client, team, created["id"], {"status": "completed", "actual_duration_minutes": 60}, if_match='"1"')

    assert alerts_for_session(db_session, created["id"]) == []


def test_a_concern_at_a_group_session_must_say_which_child_it_is_about(client, db_session, team):
    first, second = team.child(), team.child()
    created = planned(client, team, [first, second], utc(2026, 11, 23, 10))

    response = patch(
        client,
        team,
        created["id"],
        {"status": "completed", "actual_duration_minutes": 60, "safeguarding_concern": "Talk of a party flat."},
        if_match='"1"',
    )

    assert error(response) == (422, "invalid_session")
    assert list(response.json["errors"]) == ["concern_child_id"]
    assert alerts_for_session(db_session, created["id"]) == []
    assert get(client, team, created["id"]).json["status"] == "planned"


def test_a_concern_at_a_group_session_about_a_child_not_at_it_is_refused(client, db_session, team):
    first, second, absent = team.child(), team.child(), team.child()
    created = planned(client, team, [first, second], utc(2026, 11, 23, 10))

    response = patch(
        client,
        team,
        created["id"],
        {
            "status": "completed",
            "actual_duration_minutes": 60,
            "safeguarding_concern": "Talk of a party flat.",
            "concern_child_id": str(absent.child_id),
        },
        if_match='"1"',
    )

    assert error(response) == (422, "invalid_session")
    assert alerts_for_session(db_session, created["id"]) == []


def test_a_concern_on_a_one_to_one_session_naming_another_child_is_refused_not_ignored(client, db_session, team):
    child, elsewhere = team.child(), team.child()
    created = planned(client, team, child, utc(2026, 11, 23, 10))

    response = patch(
        client,
        team,
        created["id"],
        {
            "status": "completed",
            "actual_duration_minutes": 60,
            "safeguarding_concern": "Talk of a party flat.",
            "concern_child_id": str(elsewhere.child_id),
        },
        if_match='"1"',
    )

    assert error(response) == (422, "invalid_session")
    assert response.json["errors"] == {"concern_child_id": ["Not a child at this session."]}
    assert alerts_for_session(db_session, created["id"]) == []


def test_a_concern_at_a_group_session_raises_an_alert_for_the_named_child_only(client, db_session, team):
    first, second = team.child(), team.child()
    created = planned(client, team, [first, second], utc(2026, 11, 23, 10))

    response = patch(
        client,
        team,
        created["id"],
        {
            "status": "completed",
            "actual_duration_minutes": 60,
            "safeguarding_concern": "Talk of a party flat.",
            "concern_child_id": str(second.child_id),
        },
        if_match='"1"',
    )

    assert response.status_code == 200
    alerts = alerts_for_session(db_session, created["id"])
    assert [(a.kind, a.child_id) for a in alerts] == [(AlertKind.SAFEGUARDING_CONCERN, second.child_id)]


# --- Idempotency-Key -----------------------------------------------------------------------------------------


def post_with_key(client, team: Team, body: dict[str, Any], key: str, *, by: AppUser | None = None):
    return client.post(
        "/sessions",
        data=json.dumps(body),
        content_type="application/json",
        headers=team.headers(by, **{"Idempotency-Key": key}),
    )


def test_a_retried_create_with_the_same_key_replays_the_first_answer(client, db_session, team):
    enrolment = team.child()
    body = session_body(enrolment, TUESDAY_EVENING)

    first = post_with_key(client, team, body, "phone-1-create-42")
    retry = post_with_key(client, team, body, "phone-1-create-42")

    assert first.status_code == 201
    assert "Idempotent-Replayed" not in first.headers
    assert retry.status_code == 201
    assert retry.headers["Idempotent-Replayed"] == "true"
    assert retry.json == first.json
    assert sessions_of(db_session, enrolment) == 1


def test_a_replay_does_not_count_against_the_cap(client, db_session, team):
    enrolment = team.child()
    planned(client, team, enrolment, WEDNESDAY_MORNING)
    planned(client, team, enrolment, THURSDAY_AFTERNOON)
    body = session_body(enrolment, TUESDAY_EVENING)
    first = post_with_key(client, team, body, "fills-the-week")

    retry = post_with_key(client, team, body, "fills-the-week")

    assert (first.status_code, retry.status_code) == (201, 201)
    assert retry.json["id"] == first.json["id"]
    assert sessions_of(db_session, enrolment) == 3


def test_the_same_key_with_a_different_request_is_refused(client, db_session, team):
    enrolment = team.child()
    post_with_key(client, team, session_body(enrolment, TUESDAY_EVENING), "phone-1-create-43")

    response = post_with_key(client, team, session_body(enrolment, WEDNESDAY_MORNING), "phone-1-create-43")

    assert error(response) == (422, "idempotency_key_reused")
    assert sessions_of(db_session, enrolment) == 1


def test_a_refused_request_does_not_use_up_its_key(client, db_session, team):
    enrolment = team.child()
    first, _, _ = fill_week(client, team, enrolment)
    body = session_body(enrolment, FRIDAY_AFTERNOON)
    refused = post_with_key(client, team, body, "try-friday")
    assert cap_refusal(refused)["sessions_in_week"] == 3
    patch(client, team, first["id"], {"status": "cancelled_by_child"}, if_match='"1"')

    retry = post_with_key(client, team, body, "try-friday")

    assert retry.status_code == 201
    assert "Idempotent-Replayed" not in retry.headers
    assert retry.json["planned_start_at"] == iso(FRIDAY_AFTERNOON)


def test_a_request_that_failed_validation_does_not_use_up_its_key(client, team):
    enrolment = team.child()
    body = session_body(enrolment, TUESDAY_EVENING)

    invalid = post_with_key(client, team, body | {"location_category": "moon"}, "fix-and-retry")
    valid = post_with_key(client, team, body, "fix-and-retry")

    assert error(invalid) == (422, "invalid_request")
    assert valid.status_code == 201
    assert "Idempotent-Replayed" not in valid.headers


def test_a_request_that_dies_before_its_answer_is_stored_leaves_nothing_to_retry_against(
    client, db_session, team, monkeypatch
):
    # The answer is stored in the same transaction as the session: a process that dies after the write and before
    # the answer (here, storing the answer fails) commits neither, and the phone's retry creates the session once.
    # With the answer in a second transaction, the session stayed and every retry was told 409 request_in_progress.
    enrolment = team.child()
    body = session_body(enrolment, TUESDAY_EVENING)

    def die_before_the_answer(*_args: Any, **_kwargs: Any) -> None:
        raise RuntimeError("the process died here")

    monkeypatch.setattr(idempotency_service, "complete", die_before_the_answer)
    with pytest.raises(RuntimeError):
        post_with_key(client, team, body, "dies-midway")
    monkeypatch.undo()
    assert sessions_of(db_session, enrolment) == 0
    assert db_session.scalar(select(func.count()).select_from(IdempotencyRecord)) == 0

    retry = post_with_key(client, team, body, "dies-midway")

    assert retry.status_code == 201
    assert "Idempotent-Replayed" not in retry.headers
    assert sessions_of(db_session, enrolment) == 1


def test_a_create_whose_view_rolls_back_its_key_and_carries_on_commits_nothing(client, db_session, team, monkeypatch):
    # A guard on the one-transaction design: should a service ever roll back (which also drops the key's claim)
    # and then go on to write, the write must not commit without its key, or a retry would write it twice.
    enrolment = team.child()
    real_create = sessions_views.service.create_session

    def create_after_a_rollback(db_session: Session, **kwargs: Any) -> Any:
        db_session.rollback()
        return real_create(db_session, **kwargs)

    monkeypatch.setattr(sessions_views.service, "create_session", create_after_a_rollback)
    with pytest.raises(RuntimeError, match="rolled back"):
        post_with_key(client, team, session_body(enrolment, TUESDAY_EVENING), "rolled-back")

    assert sessions_of(db_session, enrolment) == 0


def test_a_retry_while_the_first_request_is_still_running_is_told_to_wait(client, db_session, team):
    enrolment = team.child()
    body = session_body(enrolment, TUESDAY_EVENING)
    db_session.add(
        IdempotencyRecord(
            user_id=team.mentor.id,
            key="still-running",
            request_fingerprint=fingerprint("POST", "/sessions", json.dumps(body).encode()),
            created_at=DEFAULT_NOW,
            completed_at=None,
        )
    )
    db_session.commit()

    response = post_with_key(client, team, body, "still-running")

    assert error(response) == (409, "request_in_progress")
    assert sessions_of(db_session, enrolment) == 0


def test_keys_belong_to_each_user_so_another_user_may_use_the_same_key(client, db_session, team):
    other_mentor = team.new_mentor()
    mine, theirs = team.child(), team.child(other_mentor)

    first = post_with_key(client, team, session_body(mine, TUESDAY_EVENING), "create-1")
    second = post_with_key(client, team, session_body(theirs, TUESDAY_EVENING), "create-1", by=other_mentor)

    assert (first.status_code, second.status_code) == (201, 201)
    assert "Idempotent-Replayed" not in second.headers
    assert first.json["id"] != second.json["id"]
    assert sessions_of(db_session, mine) == sessions_of(db_session, theirs) == 1


@pytest.mark.parametrize("key", ["has space", "x" * 101, "naïve"], ids=["space", "too-long", "non-ascii"])
def test_a_malformed_idempotency_key_is_refused(client, db_session, team, key):
    enrolment = team.child()

    response = client.post(
        "/sessions",
        json=session_body(enrolment, TUESDAY_EVENING),
        headers=team.headers() | {"Idempotency-Key": key.encode("utf-8").decode("latin-1")},
    )

    assert error(response) == (422, "invalid_idempotency_key")
    assert sessions_of(db_session, enrolment) == 0


# --- audit and the phones' change log ------------------------------------------------------------------------


def audit_rows(db_session: Session, session_id) -> list[tuple[str, uuid.UUID | None, uuid.UUID | None]]:
    events = db_session.scalars(
        select(AuditEvent)
        .where(AuditEvent.record_id == uuid.UUID(str(session_id)))
        .order_by(AuditEvent.occurred_at, AuditEvent.action, AuditEvent.child_id)
    ).all()
    return [(event.action, event.child_id, event.actor_user_id) for event in events]


def change_rows(db_session: Session, session_id) -> list[tuple[str, uuid.UUID, ChangeOp]]:
    events = db_session.scalars(
        select(ChangeEvent).where(ChangeEvent.entity_id == uuid.UUID(str(session_id))).order_by(ChangeEvent.id)
    ).all()
    return [(event.entity_type, event.child_id, event.op) for event in events]


def test_creating_reading_and_editing_a_session_are_audited_per_child(client, db_session, team):
    first, second = team.child(), team.child()
    by_child = sorted([first.child_id, second.child_id])
    created = planned(client, team, [first, second], TUESDAY_EVENING)
    team.clock.advance(minutes=1)
    get(client, team, created["id"])
    team.clock.advance(minutes=1)
    patch(client, team, created["id"], {"location_category": "school"}, if_match='"1"')

    assert audit_rows(db_session, created["id"]) == [
        ("session.create", by_child[0], team.mentor.id),
        ("session.create", by_child[1], team.mentor.id),
        ("session.read", by_child[0], team.mentor.id),
        ("session.read", by_child[1], team.mentor.id),
        ("session.update", by_child[0], team.mentor.id),
        ("session.update", by_child[1], team.mentor.id),
    ]


def test_a_refused_session_leaves_no_audit_or_change_rows(client, db_session, team):
    enrolment = team.child()
    fill_week(client, team, enrolment)
    session_id = uuid.uuid4()

    response = plan(client, team, enrolment, FRIDAY_AFTERNOON, id=str(session_id))

    assert response.status_code == 409
    assert audit_rows(db_session, session_id) == []
    assert change_rows(db_session, session_id) == []


def test_every_write_to_a_session_is_in_the_change_log_once_per_child(client, db_session, team):
    first, second = team.child(), team.child()
    created = planned(client, team, [first, second], TUESDAY_EVENING)
    patch(client, team, created["id"], {"status": "cancelled_by_child"}, if_match='"1"')

    rows = change_rows(db_session, created["id"])

    assert sorted(rows) == sorted(
        [("session", child_id, ChangeOp.UPSERT) for child_id in (first.child_id, second.child_id)] * 2
    )


def test_rescheduling_is_audited_and_logged_for_both_sessions(client, db_session, team):
    enrolment = team.child()
    old = planned(client, team, enrolment, TUESDAY_EVENING)
    team.clock.advance(minutes=1)

    new = reschedule(client, team, old["id"], NEXT_TUESDAY, if_match='"1"').json

    child, mentor = enrolment.child_id, team.mentor.id
    assert audit_rows(db_session, old["id"]) == [
        ("session.create", child, mentor),
        ("session.reschedule", child, mentor),
    ]
    assert audit_rows(db_session, new["id"]) == [("session.create", child, mentor)]
    assert change_rows(db_session, old["id"]) == [("session", child, ChangeOp.UPSERT)] * 2
    assert change_rows(db_session, new["id"]) == [("session", child, ChangeOp.UPSERT)]


# --- the delivery summary ------------------------------------------------------------------------------------


def test_the_session_summary_counts_each_outcome_and_the_evening_and_weekend_share(client, team):
    enrolment = team.child()
    team.travel_to(utc(2026, 12, 9, 9))  # after them all: a session is logged as held only once it has started
    completed = {"status": "completed", "actual_duration_minutes": 60}
    # Week 2026-W48.
    planned(client, team, enrolment, utc(2026, 11, 24, 17, 30), **completed)  # evening
    planned(client, team, enrolment, utc(2026, 11, 28, 10), **completed)  # weekend
    missed = planned(client, team, enrolment, utc(2026, 11, 26, 10))
    patch(client, team, missed["id"], {"status": "did_not_attend"}, if_match='"1"')
    # Week 2026-W49.
    planned(client, team, enrolment, utc(2026, 11, 30, 10), **completed)
    cancelled = planned(client, team, enrolment, utc(2026, 12, 1, 10))
    patch(client, team, cancelled["id"], {"status": "cancelled_by_child"}, if_match='"1"')
    moved = planned(client, team, enrolment, utc(2026, 12, 2, 10))
    reschedule(client, team, moved["id"], utc(2026, 12, 3, 10), if_match='"1"')
    # Week 2026-W50.
    planned(client, team, enrolment, utc(2026, 12, 8, 19), **completed)  # evening

    response = client.get(f"/children/{enrolment.child_id}/session-summary", headers=team.headers())

    assert response.status_code == 200
    assert response.json == {
        "planned": 6,
        "delivered": 4,
        "did_not_attend": 1,
        "cancelled": 1,
        "rescheduled": 1,
        "evening_share": 0.5,
        "weekend_share": 0.25,
        "weeks": [
            {"week": "2026-W48", "planned": 3, "delivered": 2},
            {"week": "2026-W49", "planned": 2, "delivered": 1},
            {"week": "2026-W50", "planned": 1, "delivered": 1},
        ],
    }


def test_the_evening_share_is_judged_in_london_time(client, team):
    enrolment = team.child()
    team.travel_to(utc(2027, 6, 6, 9))
    completed = {"status": "completed", "actual_duration_minutes": 60}
    planned(client, team, enrolment, utc(2027, 6, 1, 16), **completed)  # 17:00 BST
    planned(client, team, enrolment, utc(2027, 6, 2, 15, 59), **completed)  # 16:59 BST
    planned(client, team, enrolment, utc(2027, 6, 5, 23, 30), **completed)  # Sunday 00:30 BST

    response = client.get(f"/children/{enrolment.child_id}/session-summary", headers=team.headers())

    assert (response.json["evening_share"], response.json["weekend_share"]) == (0.333, 0.333)
    assert response.json["weeks"] == [{"week": "2027-W22", "planned": 3, "delivered": 3}]


def test_a_child_with_no_delivered_sessions_has_no_shares(client, team):
    enrolment = team.child()
    planned(client, team, enrolment, TUESDAY_EVENING)

    response = client.get(f"/children/{enrolment.child_id}/session-summary", headers=team.headers())

    assert response.json == {
        "planned": 1,
        "delivered": 0,
        "did_not_attend": 0,
        "cancelled": 0,
        "rescheduled": 0,
        "evening_share": None,
        "weekend_share": None,
        "weeks": [{"week": "2026-W48", "planned": 1, "delivered": 0}],
    }


def test_the_summary_of_a_child_the_mentor_does_not_work_with_is_not_found(client, team):
    someone_elses = team.child(team.new_mentor())

    response = client.get(f"/children/{someone_elses.child_id}/session-summary", headers=team.headers())

    assert error(response) == (404, "child_not_found")


def test_reading_the_summary_is_audited(client, db_session, team):
    enrolment = team.child()

    client.get(f"/children/{enrolment.child_id}/session-summary", headers=team.headers(team.coordinator))

    events = db_session.scalars(select(AuditEvent).where(AuditEvent.action == "session.summary")).all()
    assert [(e.record_type, e.record_id, e.child_id, e.actor_user_id) for e in events] == [
        ("child", enrolment.child_id, enrolment.child_id, team.coordinator.id)
    ]


def test_no_session_row_is_left_behind_by_a_refused_create(client, db_session, team):
    enrolment = team.child()
    session_id = uuid.uuid4()
    fill_week(client, team, enrolment)

    plan(client, team, enrolment, FRIDAY_AFTERNOON, id=str(session_id))

    assert db_session.get(MentoringSession, session_id) is None


def test_a_mentor_who_only_sees_a_group_session_through_their_own_child_cannot_change_it(client, db_session):
    cohort = make_cohort(db_session, places=5, max_sessions_per_week=3)
    coordinator = make_user(db_session, Role.COORDINATOR, programme_id=cohort.programme_id)
    lead, other = (make_user(db_session, Role.MENTOR, programme_id=cohort.programme_id) for _ in range(2))
    first, second = (admit_child(db_session, cohort=cohort, by=coordinator) for _ in range(2))
    allocate(db_session, enrolment=first, mentor=lead, by=coordinator)
    allocate(db_session, enrolment=second, mentor=other, by=coordinator)
    created = client.post(
        "/sessions",
        headers=auth_headers(db_session, coordinator),
        json={
            "enrolment_ids": [str(first.id), str(second.id)],
            "mentor_id": str(lead.id),
            "kind": "group",
            "location_category": "community_venue",
            "planned_start_at": "2026-11-25T18:00:00+00:00",
            "planned_end_at": "2026-11-25T19:30:00+00:00",
        },
    ).json

    response = client.patch(
        f"/sessions/{created['id']}",
        headers={**auth_headers(db_session, other), "If-Match": '"1"'},
        json={"status": "cancelled_by_mentor"},
    )

    assert response.status_code == 403
    assert response.json["reason"] == "not_the_sessions_mentor"
    assert client.get(f"/sessions/{created['id']}", headers=auth_headers(db_session, lead)).json["status"] == "planned"


def test_a_replayed_create_carries_the_same_etag(client, db_session):
    cohort = make_cohort(db_session, places=5, max_sessions_per_week=3)
    coordinator = make_user(db_session, Role.COORDINATOR, programme_id=cohort.programme_id)
    mentor = make_user(db_session, Role.MENTOR, programme_id=cohort.programme_id)
    enrolment = admit_child(db_session, cohort=cohort, by=coordinator)
    allocate(db_session, enrolment=enrolment, mentor=mentor, by=coordinator)
    headers = {**auth_headers(db_session, mentor), "Idempotency-Key": "replay-etag"}
    body = {
        "enrolment_ids": [str(enrolment.id)],
        "kind": "one_to_one",
        "location_category": "home",
        "planned_start_at": "2026-11-25T18:00:00+00:00",
        "planned_end_at": "2026-11-25T19:00:00+00:00",
    }

    first = client.post("/sessions", headers=headers, json=body)
    replay = client.post("/sessions", headers=headers, json=body)

    assert replay.headers["Idempotent-Replayed"] == "true"
    assert replay.headers["ETag"] == first.headers["ETag"] == '"1"'


# --- the dashboards' copy on each attendance -----------------------------------------------------------------


def attendance_copies(db_session: Session, session_id: str) -> set[tuple[Any, ...]]:
    rows = db_session.execute(
        select(
            SessionAttendee.status,
            SessionAttendee.planned_start_at,
            SessionAttendee.starts_in_evening,
            SessionAttendee.starts_at_weekend,
        ).where(SessionAttendee.session_id == uuid.UUID(session_id))
    ).all()
    return {tuple(row) for row in rows}


def test_each_attendance_carries_its_sessions_status_start_and_time_of_week_through_every_change(
    client, db_session, team
):
    """The dashboards count attendances alone: every way a session's status changes must change the copies."""
    enrolments = [team.child() for _ in range(2)]
    team.travel_to(utc(2027, 6, 1, 9))
    # Saturday 5 June 2027, 16:00 UTC is 17:00 BST: evening and weekend in London, not in UTC.
    saturday_evening = utc(2027, 6, 5, 16, 0)
    created = planned(client, team, enrolments, saturday_evening, location_category="outdoors")
    assert attendance_copies(db_session, created["id"]) == {("planned", saturday_evening, True, True)}

    tuesday_morning = utc(2027, 6, 8, 9, 0)
    moved = reschedule(client, team, created["id"], tuesday_morning, if_match='"1"')
    assert moved.status_code == 201, moved.json
    assert attendance_copies(db_session, created["id"]) == {("rescheduled", saturday_evening, True, True)}
    assert attendance_copies(db_session, moved.json["id"]) == {("planned", tuesday_morning, False, False)}

    team.travel_to(utc(2027, 6, 8, 11))
    logged = patch(
        client, team, moved.json["id"], {"status": "completed", "actual_duration_minutes": 60}, if_match='"1"'
    )
    assert logged.status_code == 200, logged.json
    assert attendance_copies(db_session, moved.json["id"]) == {("completed", tuesday_morning, False, False)}

    later = planned(client, team, enrolments, utc(2027, 6, 9, 9, 0), location_category="outdoors")
    cancelled = patch(client, team, later["id"], {"status": "cancelled_by_child"}, if_match='"1"')
    assert cancelled.status_code == 200, cancelled.json
    assert attendance_copies(db_session, later["id"]) == {("cancelled_by_child", utc(2027, 6, 9, 9, 0), False, False)}
