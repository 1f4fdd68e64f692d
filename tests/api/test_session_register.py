"""A session's register: at a group session each child's line says whether they came, and every count of attendance
(the child's session summary, the weekly cap, the sync feed) reads the lines, never the session's status alone. A
one-to-one session's line follows its status, as logging always did."""

from __future__ import annotations

import uuid
from datetime import timedelta

import pytest
from sqlalchemy import func, select

from api.changes.models import ChangeEvent
from api.outbox.models import OutboundMessage
from api.outbox.rules import MessageState, RecipientType
from tests.api.sessions_over_http import (
    ENROLLED_FROM,
    FRIDAY_AFTERNOON,
    THURSDAY_AFTERNOON,
    TUESDAY_EVENING,
    WEDNESDAY_MORNING,
    error,
    get,
    patch,
    plan,
    planned,
)
from tests.builders import Team, iso

AFTER_TUESDAY = TUESDAY_EVENING + timedelta(hours=2)


@pytest.fixture()
def team(db_session, clock) -> Team:
    return Team(db_session, clock, enrolled_from=ENROLLED_FROM)


def put_register(client, team: Team, session_id, lines, *, if_match: str | None = '"1"', by=None):
    extra = {"If-Match": if_match} if if_match is not None else {}
    return client.put(f"/sessions/{session_id}/register", json={"lines": lines}, headers=team.headers(by, **extra))


def line(enrolment, attendance: str, **times) -> dict:
    return {"child_id": str(enrolment.child_id), "attendance": attendance} | {k: iso(v) for k, v in times.items()}


def register_of(body) -> dict[str, str]:
    return {row["child_id"]: row["attendance"] for row in body["register"]}


def summary(client, team: Team, enrolment) -> dict:
    response = client.get(f"/children/{enrolment.child_id}/session-summary", headers=team.headers())
    assert response.status_code == 200, response.json
    return response.json


def figures(body: dict) -> tuple[int, int, int]:
    return body["planned"], body["delivered"], body["did_not_attend"]


def three_children(team: Team):
    return [team.child() for _ in range(3)]


def test_a_group_session_logged_with_its_register_counts_only_the_children_who_came(client, team):
    came, also_came, stayed_away = children = three_children(team)
    session = planned(client, team, children, TUESDAY_EVENING)
    team.travel_to(AFTER_TUESDAY)

    response = patch(
        client,
        team,
        session["id"],
        {
            "status": "completed",
            "actual_duration_minutes": 60,
            "register": [
                line(came, "attended", arrived_at=TUESDAY_EVENING, left_at=TUESDAY_EVENING + timedelta(minutes=55)),
                line(also_came, "attended"),
                line(stayed_away, "did_not_attend"),
            ],
        },
        if_match='"1"',
    )

    assert response.status_code == 200, response.json
    assert register_of(response.json) == {
        str(came.child_id): "attended",
        str(also_came.child_id): "attended",
        str(stayed_away.child_id): "did_not_attend",
    }
    assert response.json["register_taken"] is True
    [came_line] = [row for row in response.json["register"] if row["child_id"] == str(came.child_id)]
    assert came_line["arrived_at"] == iso(TUESDAY_EVENING)
    assert figures(summary(client, team, came)) == (1, 1, 0)
    assert figures(summary(client, team, stayed_away)) == (1, 0, 1)
    assert summary(client, team, stayed_away)["weeks"] == [{"week": "2026-W48", "planned": 1, "delivered": 0}]


def test_a_group_session_logged_completed_without_a_register_counts_no_one_as_attended(client, team):
    children = three_children(team)
    session = planned(client, team, children, TUESDAY_EVENING)
    team.travel_to(AFTER_TUESDAY)

    response = patch(client, team, session["id"], {"status": "completed"}, if_match='"1"')

    assert response.status_code == 200, response.json
    assert set(register_of(response.json).values()) == {"booked"}
    assert response.json["register_taken"] is False
    assert figures(summary(client, team, children[0])) == (1, 0, 0)

    # Taken afterwards, the register is what counts.
    taken = put_register(client, team, session["id"], [line(children[0], "attended")], if_match='"2"')
    assert taken.status_code == 200, taken.json
    assert taken.headers["ETag"] == '"3"'
    assert figures(summary(client, team, children[0])) == (1, 1, 0)
    assert figures(summary(client, team, children[1])) == (1, 0, 0)


@pytest.mark.parametrize(
    ("status", "attendance"),
    [("cancelled_by_child", "cancelled_by_child"), ("cancelled_by_mentor", "cancelled_by_service")],
)
def test_a_cancelled_session_cancels_every_line(client, team, status, attendance):
    children = three_children(team)
    session = planned(client, team, children, TUESDAY_EVENING)
    team.travel_to(AFTER_TUESDAY)
    put_register(client, team, session["id"], [line(children[0], "attended")])

    response = patch(client, team, session["id"], {"status": status}, if_match='"2"')

    assert response.status_code == 200, response.json
    assert set(register_of(response.json).values()) == {attendance}
    assert summary(client, team, children[0])["cancelled"] == 1


def test_a_one_to_one_sessions_line_follows_its_status(client, team):
    enrolment = team.child()
    session = planned(client, team, enrolment, TUESDAY_EVENING)
    assert register_of(session) == {str(enrolment.child_id): "booked"}
    team.travel_to(AFTER_TUESDAY)

    response = patch(client, team, session["id"], {"status": "completed"}, if_match='"1"')

    assert register_of(response.json) == {str(enrolment.child_id): "attended"}
    assert response.json["register_taken"] is True
    assert figures(summary(client, team, enrolment)) == (1, 1, 0)
    # Its register is its status: it cannot be taken line by line.
    refused = put_register(client, team, session["id"], [line(enrolment, "did_not_attend")], if_match='"2"')
    assert error(refused) == (422, "invalid_session")


def test_a_cancelled_line_frees_the_childs_place_in_the_weekly_cap(client, team, db_session):
    children = three_children(team)
    child = children[0]
    group = planned(client, team, children, TUESDAY_EVENING)
    planned(client, team, child, WEDNESDAY_MORNING)
    planned(client, team, child, THURSDAY_AFTERNOON)
    assert error(plan(client, team, child, FRIDAY_AFTERNOON)) == (409, "weekly_session_cap_reached")

    cancelled = put_register(client, team, group["id"], [line(child, "cancelled_by_child")])
    assert cancelled.status_code == 200, cancelled.json

    assert plan(client, team, child, FRIDAY_AFTERNOON).status_code == 201
    # The week is full again: the place cannot be taken back.
    back = put_register(client, team, group["id"], [line(child, "booked")], if_match='"2"')
    assert error(back) == (409, "weekly_session_cap_reached")
    assert back.json["child_id"] == str(child.child_id)


def test_the_register_names_a_line_for_a_child_not_booked(client, team):
    children = three_children(team)
    elsewhere = team.child()
    session = planned(client, team, children, TUESDAY_EVENING)

    response = put_register(client, team, session["id"], [line(children[0], "attended"), line(elsewhere, "attended")])

    assert error(response) == (422, "invalid_session")
    assert response.json["errors"] == {"lines": {"1": {"child_id": ["Not a child booked at this session."]}}}


def test_the_registers_lines_are_checked(client, team):
    children = three_children(team)
    session = planned(client, team, children, TUESDAY_EVENING)
    late = TUESDAY_EVENING + timedelta(hours=6)

    response = put_register(
        client,
        team,
        session["id"],
        [
            line(children[0], "attended"),
            line(children[0], "did_not_attend"),
            line(children[1], "did_not_attend", arrived_at=TUESDAY_EVENING),
            line(children[2], "attended", arrived_at=late),
        ],
    )

    assert error(response) == (422, "invalid_session")
    assert set(response.json["errors"]["lines"]) == {"1", "2", "3"}


def test_a_stale_register_is_refused(client, team):
    children = three_children(team)
    session = planned(client, team, children, TUESDAY_EVENING)
    patch(client, team, session["id"], {"location_category": "school"}, if_match='"1"')

    stale = put_register(client, team, session["id"], [line(children[0], "attended")], if_match='"1"')
    unconditional = put_register(client, team, session["id"], [line(children[0], "attended")], if_match=None)

    assert error(stale) == (412, "stale_version")
    assert stale.json["current_version"] == 2
    assert unconditional.status_code == 428


def test_only_the_sessions_mentor_or_staff_take_its_register(client, team):
    children = three_children(team)
    other_mentor = team.new_mentor()
    sibling = team.child(other_mentor)
    session = planned(
        client, team, [*children, sibling], TUESDAY_EVENING, by=team.coordinator, mentor_id=str(team.mentor.id)
    )
    stranger = team.new_mentor()
    team.travel_to(AFTER_TUESDAY)

    # A mentor who sees the session through their own child may read it, not change it; one who cannot see it at all
    # is told it does not exist.
    seen = put_register(client, team, session["id"], [line(sibling, "attended")], by=other_mentor)
    unseen = put_register(client, team, session["id"], [line(sibling, "attended")], by=stranger)
    assert error(seen) == (403, "not_the_sessions_mentor")
    assert error(unseen) == (404, "session_not_found")

    by_coordinator = put_register(client, team, session["id"], [line(sibling, "attended")], by=team.coordinator)
    assert by_coordinator.status_code == 200, by_coordinator.json


def test_a_register_cannot_change_once_the_session_is_cancelled(client, team):
    children = three_children(team)
    session = planned(client, team, children, TUESDAY_EVENING)
    patch(client, team, session["id"], {"status": "cancelled_by_mentor"}, if_match='"1"')

    response = put_register(client, team, session["id"], [line(children[0], "attended")], if_match='"2"')

    assert error(response) == (409, "session_status_final")


def test_the_register_is_recorded_for_the_phones_sync(client, team, db_session):
    children = three_children(team)
    session = planned(client, team, children, TUESDAY_EVENING)
    team.travel_to(AFTER_TUESDAY)
    changes_before = db_session.scalar(select(func.count()).select_from(ChangeEvent))

    put_register(client, team, session["id"], [line(children[2], "did_not_attend")])

    assert db_session.scalar(select(func.count()).select_from(ChangeEvent)) == changes_before + 3
    # The feed answers each change with the session as SessionSchema dumps it, register and all.
    assert register_of(get(client, team, session["id"]).json)[str(children[2].child_id)] == "did_not_attend"


def test_a_child_whose_place_is_cancelled_is_not_reminded_of_the_session(client, team, db_session):
    staying, leaving = team.child(), team.child()
    for enrolment in (staying, leaving):
        team.consent_to_sms(enrolment.child_id)
    session = planned(client, team, [staying, leaving], TUESDAY_EVENING)  # within 48 hours: reminders queued
    assert reminded(db_session, session, staying) and reminded(db_session, session, leaving)

    put_register(client, team, session["id"], [line(leaving, "cancelled_by_child")])

    assert reminded(db_session, session, staying)
    assert not reminded(db_session, session, leaving)


def reminded(db_session, session, enrolment) -> bool:
    db_session.expire_all()
    return bool(
        db_session.scalars(
            select(OutboundMessage.id).where(
                OutboundMessage.session_id == uuid.UUID(session["id"]),
                OutboundMessage.child_id == enrolment.child_id,
                OutboundMessage.recipient_type == RecipientType.CHILD,
                OutboundMessage.state == MessageState.QUEUED,
            )
        ).all()
    )


@pytest.mark.parametrize("attendance", ["attended", "did_not_attend"])
def test_who_came_is_not_recorded_before_the_session_starts(client, team, attendance):
    children = three_children(team)
    session = planned(client, team, children, TUESDAY_EVENING)

    early = put_register(client, team, session["id"], [line(children[0], attendance)])
    with_the_log = patch(client, team, session["id"], {"register": [line(children[0], attendance)]}, if_match='"1"')

    assert error(early) == (422, "session_not_started")
    assert early.json["errors"] == {"lines": {"0": {"attendance": [early.json["message"]]}}}
    assert error(with_the_log) == (422, "session_not_started")
    team.travel_to(TUESDAY_EVENING)
    assert put_register(client, team, session["id"], [line(children[0], attendance)]).status_code == 200


def test_booked_and_cancelled_lines_are_recorded_before_the_session_starts(client, team):
    children = three_children(team)
    session = planned(client, team, children, TUESDAY_EVENING)

    response = put_register(
        client,
        team,
        session["id"],
        [
            line(children[0], "cancelled_by_child"),
            line(children[1], "cancelled_by_service"),
            line(children[2], "booked"),
        ],
    )

    assert response.status_code == 200, response.json
