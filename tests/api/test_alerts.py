"""Safeguarding alerts: a concern logged with a session alerts the programme's coordinators at once, and a
coordinator acknowledges it, saying what was done.

The clock stands on Monday 23 November 2026, 14:00 UTC.
"""

from __future__ import annotations

import re
import uuid
from datetime import datetime, timedelta
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
from api.enrolments.models import Enrolment
from tests.builders import Team, make_user, utc
from tests.conftest import DEFAULT_NOW

CONCERN = "Said an older boy has been asking them to carry parcels."


@pytest.fixture()
def other_team(db_session, clock) -> Team:
    """A second programme, for what one programme must not see of another's."""
    return Team(db_session, clock)


def session_body(enrolments: list[Enrolment], start: datetime, **fields: Any) -> dict[str, Any]:
    return {
        "enrolment_ids": [str(enrolment.id) for enrolment in enrolments],
        "kind": "group" if len(enrolments) > 1 else "one_to_one",
        "location_category": "community_venue",
        "planned_start_at": start.isoformat(),
        "planned_end_at": (start + timedelta(hours=1)).isoformat(),
    } | fields


def log_concern(client, team: Team, enrolment: Enrolment, detail: str = CONCERN, *, hour: int = 10) -> dict[str, Any]:
    """A session earlier today, logged as completed with a safeguarding concern."""
    body = session_body([enrolment], utc(2026, 11, 23, hour), status="completed", safeguarding_concern=detail)
    response = client.post("/sessions", json=body, headers=team.headers())
    assert response.status_code == 201, response.json
    return response.json


def alerts(client, team: Team, user: AppUser | None = None, **query: str):
    return client.get("/alerts", query_string=query, headers=team.headers(user or team.coordinator))


def acknowledge(client, team: Team, alert_id, note: Any = "Discussed with the DSL.", *, by: AppUser | None = None):
    return client.post(
        f"/alerts/{alert_id}/acknowledge", json={"note": note}, headers=team.headers(by or team.coordinator)
    )


def error(response) -> tuple[int, str]:
    return response.status_code, response.json["reason"]


def alert_rows(db_session: Session) -> list[Alert]:
    return list(db_session.scalars(select(Alert).execution_options(populate_existing=True)))


def the_alert_id(client, team: Team) -> str:
    [alert] = alerts(client, team, acknowledged="false").json
    return alert["id"]


# --- raising ------------------------------------------------------------------------------------------------


def test_a_concern_logged_when_a_session_is_edited_raises_an_alert(client, db_session, team):
    enrolment = team.child()
    created = client.post("/sessions", json=session_body([enrolment], utc(2026, 11, 23, 10)), headers=team.headers())
    assert created.status_code == 201

    response = client.patch(
        f"/sessions/{created.json['id']}",
        json={"status": "completed", "actual_duration_minutes": 55, "safeguarding_concern": CONCERN},
        headers=team.headers(**{"If-Match": '"1"'}),
    )

    assert response.status_code == 200, response.json
    [alert] = alert_rows(db_session)
    assert (
        alert.programme_id,
        alert.child_id,
        alert.kind,
        alert.session_id,
        alert.detail,
        alert.raised_by_user_id,
        alert.raised_at,
        alert.acknowledged_at,
        alert.acknowledged_by_user_id,
        alert.acknowledgement_note,
    ) == (
        team.programme.id,
        enrolment.child_id,
        AlertKind.SAFEGUARDING_CONCERN,
        uuid.UUID(created.json["id"]),
        CONCERN,
        team.mentor.id,
        DEFAULT_NOW,
        None,
        None,
        None,
    )


def test_a_concern_logged_with_a_session_created_as_completed_raises_an_alert(client, db_session, team):
    enrolment = team.child()

    session = log_concern(client, team, enrolment)

    [alert] = alert_rows(db_session)
    assert (alert.child_id, alert.session_id, alert.detail, alert.raised_at) == (
        enrolment.child_id,
        uuid.UUID(session["id"]),
        CONCERN,
        DEFAULT_NOW,
    )


def test_the_coordinator_sees_the_new_alert_at_once(client, team):
    enrolment = team.child()
    session = log_concern(client, team, enrolment)

    response = alerts(client, team, acknowledged="false")

    assert response.status_code == 200
    [alert] = response.json
    assert uuid.UUID(alert["id"])
    assert re.fullmatch(r"A-[0-9A-HJKMNP-TV-Z]{5}", alert["code"])
    assert {key: value for key, value in alert.items() if key not in ("id", "code")} == {
        "programme_id": str(team.programme.id),
        "child_id": str(enrolment.child_id),
        "kind": "safeguarding_concern",
        "session_id": session["id"],
        "check_in_id": None,
        "detail": CONCERN,
        "raised_by_user_id": str(team.mentor.id),
        "raised_at": DEFAULT_NOW.isoformat(),
        "urgency": "urgent",
        "state": "raised",
        "occurrences": 1,
        "last_raised_at": DEFAULT_NOW.isoformat(),
        # No duty rota in this programme and no coordinator with a work mobile: nobody could be texted.
        "escalation_step": "exhausted",
        "escalate_at": None,
        "acknowledged_at": None,
        "acknowledged_by_user_id": None,
        "acknowledgement_note": None,
        "resolved_at": None,
        "resolved_by_user_id": None,
        "resolution_note": None,
    }


def test_a_concern_at_a_group_session_is_raised_about_the_child_named(client, db_session, team):
    enrolments = [team.child(), team.child()]
    body = session_body(
        enrolments,
        utc(2026, 11, 23, 10),
        status="completed",
        safeguarding_concern=CONCERN,
        concern_child_id=str(enrolments[1].child_id),
    )

    response = client.post("/sessions", json=body, headers=team.headers())

    assert response.status_code == 201, response.json
    assert [alert.child_id for alert in alert_rows(db_session)] == [enrolments[1].child_id]


def test_a_session_logged_without_a_concern_raises_no_alert(client, db_session, team):
    body = session_body([team.child()], utc(2026, 11, 23, 10), status="completed", notes="All fine.")

    response = client.post("/sessions", json=body, headers=team.headers())

    assert response.status_code == 201
    assert alert_rows(db_session) == []


def test_a_blank_concern_is_refused_and_raises_no_alert(client, db_session, team):
    body = session_body([team.child()], utc(2026, 11, 23, 10), status="completed", safeguarding_concern="   ")

    response = client.post("/sessions", json=body, headers=team.headers())

    assert error(response) == (422, "invalid_request")
    assert "safeguarding_concern" in response.json["errors"]
    assert alert_rows(db_session) == []


def test_raising_an_alert_is_audited_and_reaches_the_phones(client, db_session, team):
    enrolment = team.child()
    log_concern(client, team, enrolment)
    [alert] = alert_rows(db_session)

    raised = db_session.execute(
        select(AuditEvent.actor_user_id, AuditEvent.record_type, AuditEvent.record_id, AuditEvent.child_id).where(
            AuditEvent.action == "alert.raise"
        )
    ).all()
    changes = db_session.execute(
        select(ChangeEvent.op, ChangeEvent.child_id).where(
            ChangeEvent.entity_type == "alert", ChangeEvent.entity_id == alert.id
        )
    ).all()
    assert [tuple(row) for row in raised] == [(team.mentor.id, "alert", alert.id, enrolment.child_id)]
    assert [tuple(row) for row in changes] == [(ChangeOp.UPSERT, enrolment.child_id)]


# --- listing ------------------------------------------------------------------------------------------------


def test_a_coordinator_lists_their_programmes_alerts_newest_first(client, team, other_team):
    first, second, third = team.child(), team.child(), team.child()
    log_concern(client, team, first, "First concern.")
    team.clock.advance(minutes=30)
    log_concern(client, team, second, "Second concern.")
    team.clock.advance(minutes=30)
    log_concern(client, team, third, "Third concern.")
    log_concern(client, other_team, other_team.child(), "Another programme's concern.")

    response = alerts(client, team, acknowledged="false")

    assert response.status_code == 200
    assert [(alert["detail"], alert["child_id"], alert["raised_at"]) for alert in response.json] == [
        ("Third concern.", str(third.child_id), (DEFAULT_NOW + timedelta(hours=1)).isoformat()),
        ("Second concern.", str(second.child_id), (DEFAULT_NOW + timedelta(minutes=30)).isoformat()),
        ("First concern.", str(first.child_id), DEFAULT_NOW.isoformat()),
    ]


def test_another_programmes_coordinator_does_not_see_the_alerts(client, team, other_team):
    log_concern(client, team, team.child())

    response = alerts(client, other_team, acknowledged="false")

    assert (response.status_code, response.json) == (200, [])


def test_acknowledged_alerts_are_filtered_in_or_out(client, team):
    log_concern(client, team, team.child(), "Still open.")
    team.clock.advance(minutes=5)
    log_concern(client, team, team.child(), "Dealt with.")
    dealt_with = alerts(client, team, acknowledged="false").json[0]
    assert dealt_with["detail"] == "Dealt with."
    acknowledge(client, team, dealt_with["id"])

    waiting = alerts(client, team, acknowledged="false").json
    done = alerts(client, team, acknowledged="true").json
    everything = alerts(client, team).json

    assert [alert["detail"] for alert in waiting] == ["Still open."]
    assert [alert["detail"] for alert in done] == ["Dealt with."]
    assert [alert["detail"] for alert in everything] == ["Dealt with.", "Still open."]


def test_an_admin_sees_every_programmes_alerts(client, db_session, team, other_team):
    log_concern(client, team, team.child(), "Ours.")
    team.clock.advance(minutes=1)
    log_concern(client, other_team, other_team.child(), "Theirs.")
    admin = make_user(db_session, Role.ADMIN)

    response = alerts(client, team, admin, acknowledged="false")

    assert [alert["detail"] for alert in response.json] == ["Theirs.", "Ours."]


def test_each_alert_listed_is_audited_against_its_child(client, db_session, team):
    first, second = team.child(), team.child()
    log_concern(client, team, first)
    log_concern(client, team, second, hour=11)
    team.clock.advance(minutes=10)

    listed = alerts(client, team, acknowledged="false").json

    rows = db_session.execute(
        select(
            AuditEvent.actor_user_id,
            AuditEvent.record_type,
            AuditEvent.record_id,
            AuditEvent.child_id,
            AuditEvent.occurred_at,
        ).where(AuditEvent.action == "alert.list")
    ).all()
    assert sorted(tuple(row) for row in rows) == sorted(
        (
            team.coordinator.id,
            "alert",
            uuid.UUID(alert["id"]),
            uuid.UUID(alert["child_id"]),
            DEFAULT_NOW + timedelta(minutes=10),
        )
        for alert in listed
    )
    assert {uuid.UUID(alert["child_id"]) for alert in listed} == {first.child_id, second.child_id}


@pytest.mark.parametrize("role", [Role.MENTOR, Role.COMMISSIONER])
def test_mentors_and_commissioners_may_not_list_alerts(client, team, role):
    log_concern(client, team, team.child())

    response = alerts(client, team, team.user(role), acknowledged="false")

    assert error(response) == (403, "forbidden")


def test_listing_alerts_needs_a_signed_in_caller(client):
    assert client.get("/alerts").status_code == 401


def test_the_acknowledged_filter_must_be_a_boolean(client, team):
    response = alerts(client, team, acknowledged="perhaps")

    assert error(response) == (422, "invalid_request")
    assert "acknowledged" in response.json["errors"]


# --- acknowledging ------------------------------------------------------------------------------------------


def test_a_coordinator_acknowledges_an_alert_saying_what_was_done(client, db_session, team):
    log_concern(client, team, team.child())
    alert_id = the_alert_id(client, team)
    team.clock.advance(hours=2)

    response = acknowledge(client, team, alert_id, "  Discussed with the DSL; strategy meeting booked.  ")

    assert response.status_code == 200
    body = response.json
    assert (
        body["id"],
        body["acknowledged_at"],
        body["acknowledged_by_user_id"],
        body["acknowledgement_note"],
        body["raised_at"],
    ) == (
        alert_id,
        (DEFAULT_NOW + timedelta(hours=2)).isoformat(),
        str(team.coordinator.id),
        "Discussed with the DSL; strategy meeting booked.",
        DEFAULT_NOW.isoformat(),
    )
    [stored] = alert_rows(db_session)
    assert (stored.acknowledged_at, stored.acknowledged_by_user_id) == (
        DEFAULT_NOW + timedelta(hours=2),
        team.coordinator.id,
    )


def test_an_alert_cannot_be_acknowledged_twice_and_the_first_acknowledgement_stands(client, db_session, team):
    log_concern(client, team, team.child())
    alert_id = the_alert_id(client, team)
    assert acknowledge(client, team, alert_id, "First.").status_code == 200
    team.clock.advance(minutes=5)
    second_coordinator = team.user(Role.COORDINATOR)

    response = acknowledge(client, team, alert_id, "Second.", by=second_coordinator)

    assert error(response) == (409, "alert_already_acknowledged")
    [stored] = alert_rows(db_session)
    assert (stored.acknowledged_at, stored.acknowledged_by_user_id, stored.acknowledgement_note) == (
        DEFAULT_NOW,
        team.coordinator.id,
        "First.",
    )


def test_another_programmes_coordinator_cannot_acknowledge_the_alert(client, db_session, team, other_team):
    log_concern(client, team, team.child())
    alert_id = the_alert_id(client, team)

    response = acknowledge(client, other_team, alert_id, by=other_team.coordinator)

    assert error(response) == (404, "alert_not_found")
    assert alert_rows(db_session)[0].acknowledged_at is None


def test_an_unknown_alert_is_not_found(client, team):
    response = acknowledge(client, team, uuid.uuid4())

    assert error(response) == (404, "alert_not_found")


def test_an_admin_may_acknowledge_any_programmes_alert(client, db_session, team):
    log_concern(client, team, team.child())
    admin = make_user(db_session, Role.ADMIN)

    response = acknowledge(client, team, the_alert_id(client, team), by=admin)

    assert (response.status_code, response.json["acknowledged_by_user_id"]) == (200, str(admin.id))


@pytest.mark.parametrize("role", [Role.MENTOR, Role.COMMISSIONER])
def test_mentors_and_commissioners_may_not_acknowledge_alerts(client, db_session, team, role):
    log_concern(client, team, team.child())
    alert_id = the_alert_id(client, team)

    response = acknowledge(client, team, alert_id, by=team.user(role))

    assert error(response) == (403, "forbidden")
    assert alert_rows(db_session)[0].acknowledged_at is None


@pytest.mark.parametrize("note", ["", "   ", "\n\t", None], ids=["empty", "spaces", "whitespace", "null"])
def test_an_acknowledgement_without_a_note_is_refused(client, db_session, team, note):
    log_concern(client, team, team.child())
    alert_id = the_alert_id(client, team)

    response = acknowledge(client, team, alert_id, note)

    assert error(response) == (422, "invalid_request")
    assert "note" in response.json["errors"]
    assert alert_rows(db_session)[0].acknowledged_at is None


def test_an_acknowledgement_missing_its_note_is_refused(client, team):
    log_concern(client, team, team.child())
    alert_id = the_alert_id(client, team)

    response = client.post(f"/alerts/{alert_id}/acknowledge", json={}, headers=team.headers(team.coordinator))

    assert error(response) == (422, "invalid_request")
    assert "note" in response.json["errors"]


def test_an_acknowledgement_note_of_more_than_2000_characters_is_refused(client, team):
    log_concern(client, team, team.child())

    response = acknowledge(client, team, the_alert_id(client, team), "x" * 2001)

    assert error(response) == (422, "invalid_request")


def test_acknowledging_is_audited_and_reaches_the_phones(client, db_session, team):
    enrolment = team.child()
    log_concern(client, team, enrolment)
    alert_id = uuid.UUID(the_alert_id(client, team))
    team.clock.advance(minutes=3)

    acknowledge(client, team, alert_id)

    rows = db_session.execute(
        select(
            AuditEvent.actor_user_id,
            AuditEvent.actor_role,
            AuditEvent.record_type,
            AuditEvent.record_id,
            AuditEvent.child_id,
            AuditEvent.occurred_at,
        ).where(AuditEvent.action == "alert.acknowledge")
    ).all()
    assert [tuple(row) for row in rows] == [
        (
            team.coordinator.id,
            Role.COORDINATOR,
            "alert",
            alert_id,
            enrolment.child_id,
            DEFAULT_NOW + timedelta(minutes=3),
        )
    ]
    upserts = db_session.scalar(
        select(func.count())
        .select_from(ChangeEvent)
        .where(ChangeEvent.entity_type == "alert", ChangeEvent.entity_id == alert_id, ChangeEvent.op == ChangeOp.UPSERT)
    )
    assert upserts == 2  # raised, then acknowledged


def test_a_refused_acknowledgement_is_not_audited(client, db_session, team, other_team):
    log_concern(client, team, team.child())
    alert_id = the_alert_id(client, team)

    acknowledge(client, other_team, alert_id, by=other_team.coordinator)
    acknowledge(client, team, alert_id, "   ")

    assert (
        db_session.scalar(select(func.count()).select_from(AuditEvent).where(AuditEvent.action == "alert.acknowledge"))
        == 0
    )
