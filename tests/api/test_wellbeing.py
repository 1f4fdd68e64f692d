"""Wellbeing check-ins, goals and one-time links over HTTP: the core journeys.

A mentor records a check-in in a session; a child completes one from an SMS link; the mentor sees the scores,
the change from baseline and whether it is meaningful; a meaningful fall raises an alert.
"""

from __future__ import annotations

import re
import uuid

import pytest
from sqlalchemy import select

from api.alerts.models import Alert
from api.outbox.models import OutboundMessage
from api.wellbeing import invitations as wellbeing_invitations
from api.wellbeing.models import CheckInInvitation
from tests.builders import ONS4_GOOD, Team
from tests.conftest import SECRET_KEY


@pytest.fixture()
def team(db_session, clock):
    """A programme with a child enrolled and allocated to the mentor."""
    return Team(db_session, clock, places=5, with_child=True)


def test_a_mentor_records_a_check_in_and_sees_the_change_from_baseline(client, team, clock, db_session):
    first = client.post(
        f"/children/{team.child_id}/check-ins",
        json={"instrument": "ons4", "answers": ONS4_GOOD},
        headers=team.headers(),
    )
    assert first.status_code == 201, first.json
    assert first.json["channel"] == "in_session"
    assert first.json["derived_scores"]["life_satisfaction"] == 8
    clock.advance(days=28)
    worse = {"life_satisfaction": 4, "worthwhile": 7, "happy_yesterday": 7, "anxious_yesterday": 6}
    second = client.post(
        f"/children/{team.child_id}/check-ins",
        json={"instrument": "ons4", "answers": worse},
        headers=team.headers(),
    )
    assert second.status_code == 201, second.json
    assert second.json["alert_id"] is not None
    picture = client.get(f"/children/{team.child_id}/wellbeing", headers=team.headers())
    assert picture.status_code == 200, picture.json
    (ons4,) = picture.json["instruments"]
    changes = {change["measure"]: change for change in ons4["changes"]}
    assert changes["life_satisfaction"]["change"] == -4
    assert changes["life_satisfaction"]["verdict"] == "meaningful_deterioration"
    assert changes["anxious_yesterday"]["verdict"] == "meaningful_deterioration"
    assert changes["happy_yesterday"]["verdict"] == "no_meaningful_change"
    alerts = client.get("/alerts", headers=team.headers(team.coordinator)).json
    assert [alert["kind"] for alert in alerts] == ["wellbeing_drop"]


def test_a_missing_answer_is_a_422_naming_the_item(client, team):
    answers = dict(ONS4_GOOD)
    del answers["worthwhile"]
    response = client.post(
        f"/children/{team.child_id}/check-ins",
        json={"instrument": "ons4", "answers": {**answers, "life_satisfaction": 11}},
        headers=team.headers(),
    )
    assert response.status_code == 422
    assert response.json["reason"] == "invalid_answers"
    assert response.json["errors"]["answers"] == {
        "life_satisfaction": ["Please choose a number from 0 to 10."],
        "worthwhile": ["Please answer this question."],
    }


def test_goals_are_rated_and_ended_with_history(client, team, clock, db_session):
    created = [
        client.post(f"/children/{team.child_id}/goals", json={"description": words}, headers=team.headers())
        for words in ("Go to school every day", "Keep my temper", "Join a football club")
    ]
    assert [response.status_code for response in created] == [201, 201, 201]
    fourth = client.post(f"/children/{team.child_id}/goals", json={"description": "One more"}, headers=team.headers())
    assert fourth.status_code == 409 and fourth.json["reason"] == "too_many_active_goals"
    rated = client.post(
        f"/children/{team.child_id}/check-ins",
        json={"instrument": "gbo", "answers": {"goal_1": 2, "goal_2": 5, "goal_3": 1}},
        headers=team.headers(),
    )
    assert rated.status_code == 201, rated.json
    goal = created[1].json
    clock.advance(days=7)
    changed = client.post(
        f"/goals/{goal['id']}/change",
        json={"description": "Stay calm when I am told off"},
        headers={**team.headers(), "If-Match": created[1].headers["ETag"]},
    )
    assert changed.status_code == 201, changed.json
    assert changed.json["slot"] == 2
    goals = client.get(f"/children/{team.child_id}/goals", headers=team.headers()).json
    assert [(g["description"], g["status"]) for g in goals] == [
        ("Go to school every day", "active"),
        ("Keep my temper", "changed"),
        ("Join a football club", "active"),
        ("Stay calm when I am told off", "active"),
    ]
    assert goals[1]["ratings"][0]["rating"] == 5
    assert goals[1]["replaced_by_goal_id"] == goals[3]["id"]


def test_a_child_completes_a_check_in_from_a_link_once(client, team, db_session, clock):
    team.consent_to_sms()
    invited = client.post(f"/children/{team.child_id}/check-in-invitations", json={}, headers=team.headers())
    assert invited.status_code == 201, invited.json
    assert invited.json["state"] == "open" and invited.json["messages"] == 1
    assert "token" not in str(invited.json)
    message = db_session.scalar(select(OutboundMessage))
    assert message.dedupe_key == f"check_in_link:{invited.json['id']}"
    path = wellbeing_invitations.link_for(
        db_session, invitation_id=uuid.UUID(invited.json["id"]), secret_key=SECRET_KEY
    )
    assert re.fullmatch(r"/c/[A-Za-z0-9_-]{32}", path)
    invitation = db_session.scalar(select(CheckInInvitation))
    assert path.removeprefix("/c/") not in (invitation.token_hash, invitation.token_nonce)

    page = client.get(path)
    assert page.status_code == 200
    assert page.headers["Cache-Control"] == "no-store"
    assert "default-src 'none'" in page.headers["Content-Security-Policy"]
    html = page.get_data(as_text=True)
    assert "Overall, how satisfied are you with your life nowadays?" in html

    missing = client.post(path, data={"ons4.life_satisfaction": "7"})
    assert missing.status_code == 422
    assert "Please answer this question." in missing.get_data(as_text=True)

    form = {f"ons4.{item}": str(value) for item, value in ONS4_GOOD.items()}
    done = client.post(path, data=form)
    assert done.status_code == 200, done.get_data(as_text=True)
    assert "Thank you" in done.get_data(as_text=True)
    again = client.post(path, data={**form, "ons4.worthwhile": "1"})  # other answers: a reuse, not a double tap
    assert again.status_code == 404
    assert "does not work any more" in again.get_data(as_text=True)

    history = client.get(f"/children/{team.child_id}/check-ins", headers=team.headers()).json
    assert [(c["channel"], c["invitation_id"]) for c in history] == [("sms_link", invited.json["id"])]
    assert db_session.scalar(select(Alert)) is None
