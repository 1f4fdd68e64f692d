"""Carers at a session (issue 17): parents and carers recorded as having come to a group session (the introductory
session of a series, say) with the register. They are not children: no place, no register line, no name; they count
towards no cap and no child count."""

from __future__ import annotations

import uuid
from datetime import timedelta

import pytest
from sqlalchemy import select

from api.sessions.models import SessionCarer
from tests.api.sessions_over_http import ENROLLED_FROM, TUESDAY_EVENING, error, get, patch, planned
from tests.builders import Team

AFTER_TUESDAY = TUESDAY_EVENING + timedelta(hours=2)


@pytest.fixture()
def team(db_session, clock) -> Team:
    return Team(db_session, clock, enrolled_from=ENROLLED_FROM)


def put_register(client, team: Team, session_id, body: dict, *, if_match: str = '"1"'):
    return client.put(f"/sessions/{session_id}/register", json=body, headers=team.headers(**{"If-Match": if_match}))


def attended(*enrolments) -> list[dict]:
    return [{"child_id": str(enrolment.child_id), "attendance": "attended"} for enrolment in enrolments]


def carer(relationship: str, enrolment=None) -> dict:
    return {"relationship": relationship} | ({"child_id": str(enrolment.child_id)} if enrolment else {})


def carers_of(body: dict) -> list[tuple[str, str | None]]:
    return sorted((row["relationship"], row["child_id"]) for row in body["carers"])


def test_carers_who_came_are_recorded_with_the_register_and_shown_on_the_session(client, db_session, team):
    first, second = team.child(), team.child()
    session = planned(client, team, [first, second], TUESDAY_EVENING)
    assert (session["carers"], session["carers_attended"]) == ([], 0)
    team.travel_to(AFTER_TUESDAY)

    response = put_register(
        client,
        team,
        session["id"],
        {
            "lines": attended(first, second),
            "carers": [carer("parent", first), carer("foster_carer", second), carer("other_carer")],
        },
    )

    assert response.status_code == 200, response.json
    expected = sorted([("parent", str(first.child_id)), ("foster_carer", str(second.child_id)), ("other_carer", None)])
    assert carers_of(response.json) == expected
    assert response.json["carers_attended"] == 3
    read = get(client, team, session["id"]).json
    assert (carers_of(read), read["carers_attended"]) == (expected, 3)
    listed = client.get(f"/sessions?child_id={first.child_id}", headers=team.headers()).json
    assert listed[0]["carers_attended"] == 3
    rows = db_session.scalars(select(SessionCarer).where(SessionCarer.session_id == uuid.UUID(session["id"]))).all()
    assert {(row.recorded_at, row.recorded_by_user_id) for row in rows} == {(AFTER_TUESDAY, team.mentor.id)}


def test_the_carers_sent_replace_those_recorded_and_the_lines_may_be_left_out(client, team):
    first, second = team.child(), team.child()
    session = planned(client, team, [first, second], TUESDAY_EVENING)
    team.travel_to(AFTER_TUESDAY)
    put_register(client, team, session["id"], {"lines": attended(first), "carers": [carer("parent"), carer("parent")]})

    only_carers = put_register(
        client, team, session["id"], {"carers": [carer("kinship_carer", second)]}, if_match='"2"'
    )
    assert only_carers.status_code == 200, only_carers.json
    assert carers_of(only_carers.json) == [("kinship_carer", str(second.child_id))]
    lines = {row["child_id"]: row["attendance"] for row in only_carers.json["register"]}
    assert lines == {str(first.child_id): "attended", str(second.child_id): "booked"}  # kept as they were
    kept = put_register(client, team, session["id"], {"lines": attended(second)}, if_match='"3"')
    assert kept.json["carers_attended"] == 1
    cleared = put_register(client, team, session["id"], {"carers": []}, if_match='"4"')
    assert cleared.json["carers_attended"] == 0
    assert error(put_register(client, team, session["id"], {}, if_match='"5"')) == (422, "invalid_request")


def test_only_a_group_session_has_carers(client, team):
    child = team.child()
    session = planned(client, team, child, TUESDAY_EVENING)
    team.travel_to(AFTER_TUESDAY)

    response = put_register(client, team, session["id"], {"carers": [carer("parent", child)]})

    assert error(response) == (422, "invalid_session")
    assert "carers" in response.json["errors"]


def test_a_carer_comes_for_a_child_on_the_sessions_register(client, team):
    first, second = team.child(), team.child()
    elsewhere = team.child()
    session = planned(client, team, [first, second], TUESDAY_EVENING)
    team.travel_to(AFTER_TUESDAY)

    response = put_register(
        client, team, session["id"], {"carers": [carer("parent", first), carer("parent", elsewhere)]}
    )

    assert error(response) == (422, "invalid_session")
    assert response.json["errors"] == {"carers": {"1": {"child_id": ["Not a child on this session's register."]}}}


def test_carers_are_not_recorded_before_the_session_starts_and_at_most_forty(client, team):
    first, second = team.child(), team.child()
    session = planned(client, team, [first, second], TUESDAY_EVENING)

    early = put_register(client, team, session["id"], {"carers": [carer("parent", first)]})
    assert error(early) == (422, "session_not_started")
    team.travel_to(AFTER_TUESDAY)
    too_many = put_register(client, team, session["id"], {"carers": [carer("other_carer")] * 41})
    assert too_many.status_code == 422
    assert put_register(client, team, session["id"], {"carers": [carer("other_carer")] * 40}).status_code == 200


def test_carers_hold_no_place_and_count_towards_no_child_figure(client, team):
    first, second = team.child(), team.child()
    session = planned(client, team, [first, second], TUESDAY_EVENING)
    team.travel_to(AFTER_TUESDAY)
    put_register(
        client,
        team,
        session["id"],
        {
            "lines": attended(first, second),
            "carers": [carer("parent", first), carer("parent", second), carer("parent")],
        },
    )
    patch(client, team, session["id"], {"status": "completed"}, if_match='"2"')

    summary = client.get(f"/children/{first.child_id}/session-summary", headers=team.headers()).json
    assert (summary["planned"], summary["delivered"]) == (1, 1)
    dashboard = client.get(
        f"/programmes/{team.programme.id}/dashboards/delivery?since=2026-11-01&until=2026-11-30",
        headers=team.headers(team.coordinator),
    ).json
    assert (dashboard["delivered"], dashboard["attendances"], dashboard["children_seen"]) == (1, 2, 2)
