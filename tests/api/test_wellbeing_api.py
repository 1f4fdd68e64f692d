"""Wellbeing check-ins, goals and one-time check-in links over HTTP (issue 4), beyond the core journeys in
test_wellbeing.py: every stored answer and score, every refusal and what it names, the wellbeing picture and
its verdicts, goals and their history, alerts on a meaningful fall, links and their states, who may do what,
the audit trail, and the programme's check-in settings.

The clock stands on Monday 23 November 2026, 14:00 UTC; the default child (born 17 May 2012) is 14. Access
tokens last 15 minutes, so every request here signs in again at the clock's current time.

The sync feed tests at the end run on a database whose transactions really commit, in the serial pass, as
tests/api/test_sync.py explains: on PostgreSQL the feed waits for every older write transaction on the server.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta
from typing import Any
from unittest.mock import ANY

import pytest
from flask.testing import FlaskClient
from sqlalchemy import func, select, text
from sqlalchemy.orm import Session

from api.accounts.models import AppUser
from api.actors import Role
from api.alerts.models import Alert
from api.audit.models import AuditEvent
from api.changes.models import ChangeEvent
from api.children import service as children_service
from api.children.models import PhoneNumber
from api.children.rules import ConsentGivenBy, ContactChannel, NewPhoneNumber, PhoneOwner
from api.clock import FixedClock
from api.enrolments.models import Enrolment
from api.outbox.models import OutboundMessage
from api.outbox.rules import MessagePurpose
from api.programmes.models import Programme
from api.wellbeing import invitations as wellbeing_invitations
from api.wellbeing.models import CheckIn, CheckInInvitation, CheckInResponse, CheckInScore, Goal
from tests.builders import (
    Team,
    actor_for,
    admit_child,
    allocate,
    make_cohort,
    make_programme,
    make_user,
)
from tests.conftest import DEFAULT_NOW, SECRET_KEY

NOW_JSON = "2026-11-23T14:00:00+00:00"
ONS4 = {"life_satisfaction": 8, "worthwhile": 7, "happy_yesterday": 8, "anxious_yesterday": 2}
ALL_THREES = {f"item_{number}": 3 for number in range(1, 8)}  # SWEMWBS raw total 21, metric 19.25
ONS4_NAME = "ONS personal wellbeing questions"
NOT_A_WHOLE_NUMBER = ["The answer must be a whole number."]
ZERO_TO_TEN = ["Please choose a number from 0 to 10."]
MISSING = ["Please answer this question."]
NO_GOAL_HERE = ["There is no active goal in this place."]
FORBIDDEN = {
    "code": 403,
    "request_id": ANY,
    "status": "Forbidden",
    "message": "Your role may not do this.",
    "reason": "forbidden",
}


def ons4(life: int = 7, worthwhile: int = 7, happy: int = 7, anxious: int = 3) -> dict[str, int]:
    return {"life_satisfaction": life, "worthwhile": worthwhile, "happy_yesterday": happy, "anxious_yesterday": anxious}


def born_years_ago(years: int, *, days: int = 0) -> date:
    """A date of birth that makes a child exactly `years` old today (23 November 2026), `days` later."""
    return date(2026 - years, 11, 23) + timedelta(days=days)


class World(Team):
    """A team (tests/builders.py) with one child (14, with their own mobile) allocated to the mentor, and the
    requests these tests make, as the mentor unless someone else is named."""

    def __init__(self, db_session: Session, client: FlaskClient, clock: FixedClock) -> None:
        super().__init__(db_session, clock)
        self.db = db_session
        self.client = client
        self.enrolment = self.enrol()
        self.child_id = self.enrolment.child_id

    # --- people and children ---

    def enrol(self, *, mentor: AppUser | None = None, **child: Any) -> Enrolment:
        """A new child with an active place, allocated to the mentor (fields of the child may be given)."""
        return self.child(mentor, **child)

    def consent_to_sms(self, child_id: uuid.UUID | None = None, *, granted: bool = True, channel=None) -> None:
        children_service.record_consent(
            self.db,
            actor=actor_for(self.coordinator),
            child_id=child_id or self.child_id,
            channel=channel or ContactChannel.SMS_TO_CHILD,
            granted=granted,
            given_by=ConsentGivenBy.CHILD,
            now=self.clock.now(),
        )

    def own_phone(self, child_id: uuid.UUID | None = None) -> PhoneNumber:
        return self.db.scalars(
            select(PhoneNumber).where(
                PhoneNumber.child_id == (child_id or self.child_id), PhoneNumber.belongs_to == PhoneOwner.CHILD
            )
        ).one()

    def later(self, **delta: float) -> None:
        self.clock.advance(**(delta or {"days": 7}))

    # --- requests, as the mentor unless someone else is named ---

    def request(self, method: str, path: str, *, by: AppUser | None = None, headers: dict | None = None, **kwargs):
        return self.client.open(path, method=method, headers=self.headers(by, **(headers or {})), **kwargs)

    def get(self, path: str, *, by: AppUser | None = None, **kwargs):
        return self.request("GET", path, by=by, **kwargs)

    def post(self, path: str, body: Any = None, *, by: AppUser | None = None, **kwargs):
        return self.request("POST", path, by=by, json=body if body is not None else {}, **kwargs)

    def check_in(self, instrument: str, answers: Any, *, child_id=None, by: AppUser | None = None, **fields: Any):
        body = {"instrument": instrument, "answers": answers, **fields}
        return self.post(f"/children/{child_id or self.child_id}/check-ins", body, by=by)

    def recorded(self, instrument: str, answers: Any, **kwargs: Any) -> dict:
        response = self.check_in(instrument, answers, **kwargs)
        assert response.status_code == 201, response.json
        return response.json

    def set_goal(self, description: str, *, child_id=None, by: AppUser | None = None):
        return self.post(f"/children/{child_id or self.child_id}/goals", {"description": description}, by=by)

    def goal(self, description: str) -> dict:
        response = self.set_goal(description)
        assert response.status_code == 201, response.json
        assert response.headers["ETag"] == f'"{response.json["version"]}"'
        return response.json

    def goals(self, child_id=None) -> list[dict]:
        response = self.get(f"/children/{child_id or self.child_id}/goals")
        assert response.status_code == 200, response.json
        return response.json

    def end_goal(self, goal: dict, status: str, *, version: int | None = None, note: str | None = None):
        etag = f'"{version if version is not None else goal["version"]}"'
        body = {"status": status, **({"note": note} if note is not None else {})}
        return self.post(f"/goals/{goal['id']}/end", body, headers={"If-Match": etag})

    def change_goal(self, goal: dict, description: str, *, version: int | None = None):
        etag = f'"{version if version is not None else goal["version"]}"'
        return self.post(f"/goals/{goal['id']}/change", {"description": description}, headers={"If-Match": etag})

    def picture(self, child_id=None, *, by: AppUser | None = None) -> dict:
        response = self.get(f"/children/{child_id or self.child_id}/wellbeing", by=by)
        assert response.status_code == 200, response.json
        return response.json

    def summary(self, instrument: str) -> dict:
        [found] = [summary for summary in self.picture()["instruments"] if summary["instrument"] == instrument]
        return found

    def alerts(self, by: AppUser | None = None) -> list[dict]:
        response = self.get("/alerts", by=by or self.coordinator)
        assert response.status_code == 200, response.json
        return response.json

    def invite(self, body: dict | None = None, *, child_id=None, by: AppUser | None = None):
        return self.post(f"/children/{child_id or self.child_id}/check-in-invitations", body or {}, by=by)

    def invited(self, body: dict | None = None, **kwargs: Any) -> dict:
        response = self.invite(body, **kwargs)
        assert response.status_code == 201, response.json
        return response.json

    def invitations(self, child_id=None) -> list[dict]:
        response = self.get(f"/children/{child_id or self.child_id}/check-in-invitations")
        assert response.status_code == 200, response.json
        return response.json

    def revoke(self, invitation: dict, *, by: AppUser | None = None):
        return self.post(f"/check-in-invitations/{invitation['id']}/revoke", by=by)

    def link(self, invitation: dict) -> str:
        return wellbeing_invitations.link_for(self.db, invitation_id=uuid.UUID(invitation["id"]), secret_key=SECRET_KEY)

    def session(self, enrolment: Enrolment | None = None) -> dict:
        start = datetime(2026, 11, 23, 10, tzinfo=UTC)
        body = {
            "enrolment_ids": [str((enrolment or self.enrolment).id)],
            "kind": "one_to_one",
            "location_category": "community_venue",
            "planned_start_at": start.isoformat(),
            "planned_end_at": (start + timedelta(hours=1)).isoformat(),
            "status": "completed",
        }
        response = self.post("/sessions", body)
        assert response.status_code == 201, response.json
        return response.json

    # --- what is stored ---

    def count(self, model: type, **where: Any) -> int:
        query = select(func.count()).select_from(model)
        for name, value in where.items():
            query = query.where(getattr(model, name) == value)
        return self.db.scalar(query) or 0


@pytest.fixture()
def world(db_session, client, clock) -> World:
    return World(db_session, client, clock)


def by_measure(summary: dict) -> dict[str, dict]:
    return {change["measure"]: change for change in summary["changes"]}


def reason(response) -> tuple[int, str]:
    return response.status_code, response.json["reason"]


# --- instruments ---------------------------------------------------------------------------------------------


def test_the_instruments_offered_are_ons4_gbo_and_swemwbs_and_swemwbs_has_no_wording(world):
    response = world.get("/instruments")

    assert response.status_code == 200
    instruments = {instrument["key"]: instrument for instrument in response.json}
    assert sorted(instruments) == ["gbo", "ons4", "swemwbs"]
    assert {key: instrument["has_wording"] for key, instrument in instruments.items()} == {
        "gbo": True,
        "ons4": True,
        "swemwbs": False,
    }
    assert [item["prompt"] for item in instruments["swemwbs"]["items"]] == [None] * 7
    assert all(item["prompt"] for item in instruments["ons4"]["items"])
    assert {key: instrument["meaningful_change_threshold"] for key, instrument in instruments.items()} == {
        "gbo": 2.5,
        "ons4": 2,
        "swemwbs": 3,
    }
    assert {key: instrument["min_age"] for key, instrument in instruments.items()} == {
        "gbo": None,
        "ons4": 10,
        "swemwbs": 13,
    }
    lower_is_better = [item["key"] for item in instruments["ons4"]["items"] if item["lower_is_better"]]
    assert lower_is_better == ["anxious_yesterday"]
    assert all(instrument["licence"] and instrument["credit"] for instrument in instruments.values())


@pytest.mark.parametrize("role", [Role.ADMIN, Role.COORDINATOR, Role.MENTOR, Role.COMMISSIONER])
def test_anyone_signed_in_may_read_the_instruments_which_hold_no_childs_data(world, role):
    user = make_user(world.db, role, programme=None if role is Role.ADMIN else world.programme)

    assert world.get("/instruments", by=user).status_code == 200


def test_the_instruments_need_a_signed_in_caller(world):
    assert world.client.get("/instruments").status_code == 401


# --- check-ins in a session: what is stored -------------------------------------------------------------------


def test_an_ons4_check_in_stores_every_answer_and_its_raw_and_derived_scores(world):
    answers = {"life_satisfaction": 8, "worthwhile": 6, "happy_yesterday": 9, "anxious_yesterday": 3}

    created = world.recorded("ons4", answers)

    assert created["child_id"] == str(world.child_id)
    assert (created["instrument"], created["instrument_version"], created["channel"]) == ("ons4", "1", "in_session")
    assert (created["session_id"], created["invitation_id"], created["alert_id"]) == (None, None, None)
    assert (created["recorded_by_user_id"], created["completed_at"]) == (str(world.mentor.id), NOW_JSON)
    assert created["responses"] == [
        {"item": item, "response": value, "goal_id": None} for item, value in answers.items()
    ]
    assert created["raw_scores"] == answers
    assert created["derived_scores"] == answers
    check_in_id = uuid.UUID(created["id"])
    assert world.count(CheckInResponse, check_in_id=check_in_id) == 4
    assert world.count(CheckInScore, check_in_id=check_in_id, kind="raw") == 4
    assert world.count(CheckInScore, check_in_id=check_in_id, kind="derived") == 4


def test_a_check_in_read_back_has_the_same_answers_and_scores(world):
    created = world.recorded("ons4", ONS4)

    read = world.get(f"/check-ins/{created['id']}")

    assert read.status_code == 200
    assert sorted(read.json["responses"], key=lambda item: item["item"]) == sorted(
        created["responses"], key=lambda item: item["item"]
    )
    assert {key: read.json[key] for key in ("raw_scores", "derived_scores", "channel", "completed_at")} == {
        key: created[key] for key in ("raw_scores", "derived_scores", "channel", "completed_at")
    }


def test_a_childs_check_ins_are_listed_newest_first(world):
    first = world.recorded("ons4", ONS4)
    world.later()
    second = world.recorded("swemwbs", ALL_THREES)

    listed = world.get(f"/children/{world.child_id}/check-ins")

    assert listed.status_code == 200
    assert [check_in["id"] for check_in in listed.json] == [second["id"], first["id"]]
    assert listed.headers["X-Pagination"]


def test_a_swemwbs_check_in_can_be_recorded_in_a_session_without_its_wording(world):
    created = world.recorded("swemwbs", ALL_THREES)

    assert created["responses"] == [{"item": f"item_{n}", "response": 3, "goal_id": None} for n in range(1, 8)]
    assert created["raw_scores"] == {"total": 21}
    assert created["derived_scores"] == {"metric": 19.25}


@pytest.mark.parametrize(
    ("answers", "total", "metric"),
    [
        ({f"item_{n}": 1 for n in range(1, 8)}, 7, 7.0),
        ({f"item_{n}": 5 for n in range(1, 8)}, 35, 35.0),
        ({**ALL_THREES, "item_1": 5, "item_7": 4}, 24, 21.54),
        ({**ALL_THREES, "item_2": 1, "item_5": 2}, 18, 17.43),
    ],
)
def test_the_swemwbs_raw_total_is_converted_to_the_metric_score_with_the_table(world, answers, total, metric):
    created = world.recorded("swemwbs", answers)

    assert (created["raw_scores"], created["derived_scores"]) == ({"total": total}, {"metric": metric})


def test_a_check_in_can_name_the_session_the_child_attended(world):
    session = world.session()

    created = world.recorded("ons4", ONS4, session_id=session["id"])

    assert created["session_id"] == session["id"]
    assert world.db.get(CheckIn, uuid.UUID(created["id"])).session_id == uuid.UUID(session["id"])


def test_a_session_the_child_does_not_attend_is_refused_and_nothing_is_stored(world):
    someone_elses = world.session(world.enrol())

    response = world.check_in("ons4", ONS4, session_id=someone_elses["id"])

    assert reason(response) == (422, "session_not_of_child")
    assert response.json["errors"] == {"session_id": ["Not a session this child attends."]}
    assert world.count(CheckIn) == 0


def test_a_session_that_does_not_exist_is_refused(world):
    response = world.check_in("ons4", ONS4, session_id=str(uuid.uuid4()))

    assert reason(response) == (422, "session_not_of_child")


def test_a_check_in_retried_with_the_same_idempotency_key_is_recorded_once(world):
    body = {"instrument": "ons4", "answers": ONS4}
    path = f"/children/{world.child_id}/check-ins"

    first = world.post(path, body, headers={"Idempotency-Key": "check-in-1"})
    again = world.post(path, body, headers={"Idempotency-Key": "check-in-1"})

    assert (first.status_code, again.status_code) == (201, 201)
    assert again.json == first.json
    assert again.headers["Idempotent-Replayed"] == "true"
    assert world.count(CheckIn) == 1


# --- ages ----------------------------------------------------------------------------------------------------


def test_swemwbs_is_refused_for_a_child_under_13(world):
    twelve = world.enrol(date_of_birth=born_years_ago(13, days=1))  # 13 tomorrow

    response = world.check_in("swemwbs", ALL_THREES, child_id=twelve.child_id)

    assert reason(response) == (422, "instrument_not_suitable")
    assert response.json["errors"] == {
        "instrument": ["Short Warwick-Edinburgh Mental Wellbeing Scale (SWEMWBS) is for children aged from 13."]
    }
    assert world.count(CheckIn) == 0


def test_swemwbs_is_recorded_for_a_child_who_turns_13_today(world):
    thirteen = world.enrol(date_of_birth=born_years_ago(13))

    assert world.check_in("swemwbs", ALL_THREES, child_id=thirteen.child_id).status_code == 201


def test_ons4_is_refused_for_a_child_under_10_and_recorded_from_their_tenth_birthday(world):
    nine = world.enrol(date_of_birth=born_years_ago(10, days=1))
    ten = world.enrol(date_of_birth=born_years_ago(10))

    refused = world.check_in("ons4", ONS4, child_id=nine.child_id)
    recorded = world.check_in("ons4", ONS4, child_id=ten.child_id)

    assert reason(refused) == (422, "instrument_not_suitable")
    assert refused.json["errors"] == {"instrument": [f"{ONS4_NAME} is for children aged from 10."]}
    assert recorded.status_code == 201


def test_goal_based_outcomes_suit_any_age(world):
    seven = world.enrol(date_of_birth=born_years_ago(7))
    assert world.set_goal("Make a friend at school", child_id=seven.child_id).status_code == 201

    assert world.check_in("gbo", {"goal_1": 4}, child_id=seven.child_id).status_code == 201


# --- answers that cannot be stored ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("answers", "errors"),
    [
        pytest.param(
            {key: value for key, value in ONS4.items() if key != "happy_yesterday"},
            {"happy_yesterday": MISSING},
            id="missing",
        ),
        pytest.param({**ONS4, "life_satisfaction": 11}, {"life_satisfaction": ZERO_TO_TEN}, id="above-the-scale"),
        pytest.param({**ONS4, "anxious_yesterday": -1}, {"anxious_yesterday": ZERO_TO_TEN}, id="below-the-scale"),
        pytest.param({**ONS4, "worthwhile": 7.5}, {"worthwhile": NOT_A_WHOLE_NUMBER}, id="fraction"),
        pytest.param({**ONS4, "worthwhile": "7"}, {"worthwhile": NOT_A_WHOLE_NUMBER}, id="string"),
        pytest.param({**ONS4, "happy_yesterday": True}, {"happy_yesterday": NOT_A_WHOLE_NUMBER}, id="true"),
        pytest.param({**ONS4, "happy_yesterday": False}, {"happy_yesterday": NOT_A_WHOLE_NUMBER}, id="false"),
        pytest.param({**ONS4, "worthwhile": [7]}, {"worthwhile": NOT_A_WHOLE_NUMBER}, id="list"),
        pytest.param({**ONS4, "mood": 5}, {"mood": [f"This is not a question in {ONS4_NAME}."]}, id="unknown-item"),
        pytest.param(
            {},
            # Each missing question says so; no extra "at least one" when every question is required.
            dict.fromkeys(ONS4, MISSING),
            id="no-answers",
        ),
    ],
)
def test_a_wrong_answer_is_a_422_naming_its_item_and_nothing_is_stored(world, answers, errors):
    response = world.check_in("ons4", answers)

    assert reason(response) == (422, "invalid_answers")
    assert response.json["errors"] == {"answers": errors}
    assert world.count(CheckIn) == 0
    assert world.count(AuditEvent, action="check_in.create") == 0


def test_a_null_answer_is_refused_naming_its_item(world):
    response = world.check_in("ons4", {**ONS4, "worthwhile": None})

    # Refused by the request schema rather than the instrument, so the reason and the shape differ.
    assert response.status_code == 422
    assert list(response.json["errors"]["answers"]) == ["worthwhile"]
    assert world.count(CheckIn) == 0


def test_every_wrong_answer_is_named_at_once(world):
    answers = {"life_satisfaction": 12, "worthwhile": True, "anxious_yesterday": 3, "sleep": 4}

    response = world.check_in("ons4", answers)

    assert response.json["errors"] == {
        "answers": {
            "life_satisfaction": ZERO_TO_TEN,
            "worthwhile": NOT_A_WHOLE_NUMBER,
            "happy_yesterday": MISSING,
            "sleep": [f"This is not a question in {ONS4_NAME}."],
        }
    }


@pytest.mark.parametrize("answer", [0, 6])
def test_a_swemwbs_answer_outside_1_to_5_is_refused_naming_its_item(world, answer):
    response = world.check_in("swemwbs", {**ALL_THREES, "item_6": answer})

    assert reason(response) == (422, "invalid_answers")
    assert response.json["errors"] == {"answers": {"item_6": ["Please choose a number from 1 to 5."]}}


def test_a_swemwbs_check_in_needs_all_seven_items(world):
    answers = {key: value for key, value in ALL_THREES.items() if key != "item_7"}

    response = world.check_in("swemwbs", answers)

    assert response.json["errors"] == {"answers": {"item_7": MISSING}}


def test_an_unknown_instrument_is_refused(world):
    response = world.check_in("wemwbs", ONS4)

    assert reason(response) == (422, "unknown_instrument")
    assert response.json["errors"] == {"instrument": ["Choose one of: gbo, ons4, swemwbs."]}
    assert world.count(CheckIn) == 0


@pytest.mark.parametrize(
    "body",
    [
        pytest.param({"answers": ONS4}, id="no-instrument"),
        pytest.param({"instrument": "ons4"}, id="no-answers"),
        pytest.param({"instrument": "ons4", "answers": [8, 7, 8, 2]}, id="answers-not-an-object"),
        pytest.param({"instrument": "ons4", "answers": ONS4, "session_id": "not-an-id"}, id="bad-session-id"),
        pytest.param({"instrument": "ons4", "answers": ONS4, "score": 25}, id="unknown-field"),
    ],
)
def test_a_malformed_check_in_is_refused_before_it_is_scored(world, body):
    response = world.post(f"/children/{world.child_id}/check-ins", body)

    assert reason(response) == (422, "invalid_request")
    assert world.count(CheckIn) == 0


# --- goal based outcomes -------------------------------------------------------------------------------------


def test_goal_based_outcomes_need_an_active_goal(world):
    response = world.check_in("gbo", {"goal_1": 5})

    assert reason(response) == (422, "no_active_goals")
    assert world.count(CheckIn) == 0


def test_a_rating_for_a_place_with_no_goal_is_refused_naming_the_place(world):
    world.goal("Go to school every day")

    response = world.check_in("gbo", {"goal_1": 5, "goal_3": 4})

    assert reason(response) == (422, "invalid_answers")
    assert response.json["errors"] == {"answers": {"goal_3": NO_GOAL_HERE}}
    assert world.count(CheckIn) == 0


def test_a_rating_for_the_place_of_an_ended_goal_is_refused(world):
    first = world.goal("Go to school every day")
    world.goal("Keep my temper")
    assert world.end_goal(first, "achieved").status_code == 200

    response = world.check_in("gbo", {"goal_1": 5, "goal_2": 4})

    assert response.json["errors"] == {"answers": {"goal_1": NO_GOAL_HERE}}


def test_a_goal_rating_outside_0_to_10_is_refused_naming_the_goal(world):
    world.goal("Go to school every day")

    response = world.check_in("gbo", {"goal_1": 11})

    assert response.json["errors"] == {"answers": {"goal_1": ZERO_TO_TEN}}


def test_goal_based_outcomes_need_at_least_one_rating(world):
    world.goal("Go to school every day")

    response = world.check_in("gbo", {})

    assert reason(response) == (422, "invalid_answers")
    assert response.json["errors"] == {"answers": {"answers": ["Please answer at least one question."]}}


def test_each_goal_rating_is_stored_against_its_goal_with_the_mean_of_the_ratings(world):
    goals = [world.goal(words) for words in ("Go to school every day", "Keep my temper", "Join a football club")]

    created = world.recorded("gbo", {"goal_1": 2, "goal_2": 5, "goal_3": 1})

    assert created["responses"] == [
        {"item": "goal_1", "response": 2, "goal_id": goals[0]["id"]},
        {"item": "goal_2", "response": 5, "goal_id": goals[1]["id"]},
        {"item": "goal_3", "response": 1, "goal_id": goals[2]["id"]},
    ]
    assert created["raw_scores"] == {"goal_1": 2, "goal_2": 5, "goal_3": 1}
    assert created["derived_scores"] == {"goal_1": 2, "goal_2": 5, "goal_3": 1, "mean": 2.67}


def test_some_goals_may_be_left_unrated_and_the_mean_is_of_those_rated(world):
    world.goal("Go to school every day")
    world.goal("Keep my temper")

    created = world.recorded("gbo", {"goal_2": 7})

    assert [response["item"] for response in created["responses"]] == ["goal_2"]
    assert created["derived_scores"] == {"goal_2": 7, "mean": 7}


# --- the wellbeing picture -----------------------------------------------------------------------------------


def test_a_child_with_no_check_ins_has_an_empty_picture(world):
    assert world.picture() == {"child_id": str(world.child_id), "instruments": [], "goals": []}


def test_a_single_check_in_is_both_baseline_and_latest_with_no_change_yet(world):
    created = world.recorded("ons4", ONS4)

    summary = world.summary("ons4")

    assert (summary["name"], summary["check_ins"]) == (ONS4_NAME, 1)
    assert summary["baseline"] == summary["latest"]
    assert summary["baseline"] == {
        "check_in_id": created["id"],
        "completed_at": NOW_JSON,
        "channel": "in_session",
        "derived_scores": ONS4,
    }
    assert (summary["changes"], summary["meaningful_change"]) == ([], False)


def test_change_is_latest_minus_the_first_check_in_with_a_verdict_for_each_score(world):
    baseline = world.recorded("ons4", ons4(life=5, worthwhile=6, happy=5, anxious=6))
    world.later()
    world.recorded("ons4", ons4(life=10, worthwhile=10, happy=10, anxious=0))  # in between: not compared
    world.later()
    latest = world.recorded("ons4", ons4(life=7, worthwhile=7, happy=3, anxious=4))

    summary = world.summary("ons4")

    assert summary["check_ins"] == 3
    assert (summary["baseline"]["check_in_id"], summary["latest"]["check_in_id"]) == (baseline["id"], latest["id"])
    assert summary["changes"] == [
        # Exactly the threshold of 2 counts.
        {
            "measure": "life_satisfaction",
            "baseline": 5,
            "latest": 7,
            "change": 2,
            "lower_is_better": False,
            "verdict": "meaningful_improvement",
            "is_meaningful": True,
        },
        {
            "measure": "worthwhile",
            "baseline": 6,
            "latest": 7,
            "change": 1,
            "lower_is_better": False,
            "verdict": "no_meaningful_change",
            "is_meaningful": False,
        },
        {
            "measure": "happy_yesterday",
            "baseline": 5,
            "latest": 3,
            "change": -2,
            "lower_is_better": False,
            "verdict": "meaningful_deterioration",
            "is_meaningful": True,
        },
        # Anxiety fell by 2: lower is better, so that is an improvement.
        {
            "measure": "anxious_yesterday",
            "baseline": 6,
            "latest": 4,
            "change": -2,
            "lower_is_better": True,
            "verdict": "meaningful_improvement",
            "is_meaningful": True,
        },
    ]
    assert summary["meaningful_change"] is True


def test_changes_within_the_threshold_are_not_meaningful(world):
    world.recorded("ons4", ons4(life=5, worthwhile=6, happy=5, anxious=6))
    world.later()
    world.recorded("ons4", ons4(life=6, worthwhile=5, happy=5, anxious=7))

    summary = world.summary("ons4")

    assert {measure: change["verdict"] for measure, change in by_measure(summary).items()} == dict.fromkeys(
        ONS4, "no_meaningful_change"
    )
    assert summary["meaningful_change"] is False


def test_a_rise_in_anxiety_is_a_deterioration(world):
    world.recorded("ons4", ons4(anxious=2))
    world.later()
    world.recorded("ons4", ons4(anxious=4))

    anxiety = by_measure(world.summary("ons4"))["anxious_yesterday"]

    assert (anxiety["change"], anxiety["lower_is_better"], anxiety["verdict"]) == (2, True, "meaningful_deterioration")


def test_swemwbs_change_is_read_on_the_metric_score(world):
    world.recorded("swemwbs", ALL_THREES)  # 21: 19.25
    world.later()
    world.recorded("swemwbs", {**ALL_THREES, "item_1": 4, "item_2": 4, "item_3": 4, "item_4": 4})  # 25: 22.35

    summary = world.summary("swemwbs")

    [metric] = summary["changes"]
    assert metric["measure"] == "metric"
    assert (metric["baseline"], metric["latest"], metric["change"]) == (19.25, 22.35, 3.1)
    assert metric["verdict"] == "meaningful_improvement"
    assert summary["latest"]["derived_scores"] == {"metric": 22.35}


def test_a_rise_of_2_95_metric_points_is_not_meaningful(world):
    world.recorded("swemwbs", {**ALL_THREES, "item_1": 2})  # 20: 18.59
    world.later()
    world.recorded("swemwbs", {**ALL_THREES, "item_1": 4, "item_2": 4, "item_3": 4})  # 24: 21.54

    [metric] = world.summary("swemwbs")["changes"]

    assert (metric["change"], metric["verdict"]) == (2.95, "no_meaningful_change")


def test_each_instrument_has_its_own_baseline(world):
    world.recorded("ons4", ons4(life=3))
    world.later()
    world.recorded("swemwbs", ALL_THREES)
    world.later()
    world.recorded("ons4", ons4(life=6))

    picture = world.picture()

    assert [(summary["instrument"], summary["check_ins"]) for summary in picture["instruments"]] == [
        ("ons4", 2),
        ("swemwbs", 1),
    ]
    assert by_measure(picture["instruments"][0])["life_satisfaction"]["change"] == 3


def test_another_childs_check_ins_are_not_in_the_picture(world):
    other = world.enrol()
    world.recorded("ons4", ons4(life=2), child_id=other.child_id)

    assert world.picture()["instruments"] == []


def test_goal_progress_is_read_on_the_mean_across_goals_and_on_each_goal(world):
    first, second = world.goal("Go to school every day"), world.goal("Keep my temper")
    baseline = world.recorded("gbo", {"goal_1": 2, "goal_2": 2})
    world.later()
    latest = world.recorded("gbo", {"goal_1": 4, "goal_2": 5})

    picture = world.picture()

    [gbo] = picture["instruments"]
    # Across goals only the mean is compared: 2 to 4.5, exactly the threshold of 2.5.
    assert gbo["changes"] == [
        {
            "measure": "mean",
            "baseline": 2,
            "latest": 4.5,
            "change": 2.5,
            "lower_is_better": False,
            "verdict": "meaningful_improvement",
            "is_meaningful": True,
        }
    ]
    goals = {goal["id"]: goal for goal in picture["goals"]}
    assert [rating["rating"] for rating in goals[first["id"]]["ratings"]] == [2, 4]
    assert [rating["check_in_id"] for rating in goals[first["id"]]["ratings"]] == [baseline["id"], latest["id"]]
    assert (goals[first["id"]]["change"]["change"], goals[first["id"]]["change"]["verdict"]) == (
        2,
        "no_meaningful_change",
    )
    assert (goals[second["id"]]["change"]["change"], goals[second["id"]]["change"]["verdict"]) == (
        3,
        "meaningful_improvement",
    )


# --- alerts --------------------------------------------------------------------------------------------------


def test_a_meaningful_fall_raises_exactly_one_wellbeing_alert_for_the_coordinator(world):
    world.recorded("ons4", ons4(life=8, worthwhile=8, happy=8, anxious=2))
    world.later()

    fallen = world.recorded("ons4", ons4(life=4, worthwhile=5, happy=8, anxious=6))

    [alert] = world.alerts()
    assert fallen["alert_id"] == alert["id"]
    assert (alert["kind"], alert["child_id"], alert["check_in_id"]) == (
        "wellbeing_drop",
        str(world.child_id),
        fallen["id"],
    )
    assert (alert["programme_id"], alert["raised_by_user_id"]) == (str(world.programme.id), str(world.mentor.id))
    assert alert["raised_at"] == world.clock.now().isoformat()
    assert alert["acknowledged_at"] is None
    for fall in ("life_satisfaction 8 to 4", "worthwhile 8 to 5", "anxious_yesterday 2 to 6"):
        assert fall in alert["detail"]
    assert ONS4_NAME in alert["detail"]
    assert "happy_yesterday" not in alert["detail"]


def test_the_baseline_raises_no_alert_however_low_it_is(world):
    created = world.recorded("ons4", ons4(life=0, worthwhile=0, happy=0, anxious=10))

    assert created["alert_id"] is None
    assert world.alerts() == []


@pytest.mark.parametrize(
    "latest",
    [
        pytest.param(ons4(life=9, worthwhile=9, happy=9, anxious=0), id="improvement"),
        pytest.param(ons4(life=6, worthwhile=6, happy=6, anxious=4), id="falls-of-1"),
        pytest.param(ons4(anxious=1), id="anxiety-falling-by-2"),
        pytest.param(ons4(), id="unchanged"),
    ],
)
def test_no_alert_without_a_meaningful_fall(world, latest):
    world.recorded("ons4", ons4())
    world.later()

    created = world.recorded("ons4", latest)

    assert created["alert_id"] is None
    assert world.alerts() == []
    assert world.count(Alert) == 0


def test_a_rise_in_anxiety_by_the_threshold_raises_an_alert(world):
    world.recorded("ons4", ons4(anxious=3))
    world.later()

    created = world.recorded("ons4", ons4(anxious=5))

    [alert] = world.alerts()
    assert alert["id"] == created["alert_id"]
    assert "anxious_yesterday 3 to 5" in alert["detail"]


def test_a_fall_is_measured_from_the_baseline_not_the_previous_check_in(world):
    world.recorded("ons4", ons4(life=6))
    world.later()
    world.recorded("ons4", ons4(life=9))
    world.later()

    # 9 to 6 is a fall of 3 from the last check-in, but no fall at all from the baseline.
    assert world.recorded("ons4", ons4(life=6))["alert_id"] is None
    world.later()
    # 6 to 5 is a fall of 1 from the last check-in, but 1 below the baseline: still not meaningful.
    assert world.recorded("ons4", ons4(life=5))["alert_id"] is None
    world.later()
    assert world.recorded("ons4", ons4(life=4))["alert_id"] is not None


def test_a_further_fall_counts_on_the_open_alert_instead_of_opening_another(world):
    world.recorded("ons4", ons4(life=8))
    world.later()
    first = world.recorded("ons4", ons4(life=5))
    world.later()
    second = world.recorded("ons4", ons4(life=4))

    [alert] = world.alerts()

    # One open alert per child and kind, so a falling score does not bury the coordinator: the repeat counts on
    # it and points at the latest check-in.
    assert (alert["id"], alert["occurrences"], alert["check_in_id"]) == (first["alert_id"], 2, second["id"])
    assert second["alert_id"] == first["alert_id"]


def test_a_swemwbs_fall_of_3_metric_points_or_more_raises_an_alert(world):
    world.recorded("swemwbs", ALL_THREES)  # 19.25
    world.later()
    small = world.recorded("swemwbs", {**ALL_THREES, "item_1": 2, "item_2": 2, "item_3": 2, "item_4": 2})  # 16.88
    world.later()
    big = world.recorded("swemwbs", {**ALL_THREES, **{f"item_{n}": 2 for n in range(1, 7)}})  # 15.84

    assert small["alert_id"] is None
    [alert] = world.alerts()
    assert alert["id"] == big["alert_id"]
    assert "metric 19.25 to 15.84" in alert["detail"]


def test_a_goal_falling_by_2_5_or_more_raises_an_alert_even_when_the_mean_holds(world):
    world.goal("Go to school every day")
    world.goal("Keep my temper")
    world.recorded("gbo", {"goal_1": 6, "goal_2": 2})
    world.later()

    created = world.recorded("gbo", {"goal_1": 3, "goal_2": 5})  # mean 4 both times

    [alert] = world.alerts()
    assert alert["id"] == created["alert_id"]
    # Only the goal that fell is named: the mean held at 4.
    assert alert["detail"] == (
        "Goal Based Outcomes: a meaningful fall since each goal's first rating: goal_1 6 to 3 (threshold 2.5)."
    )


def test_a_new_goals_first_rating_raises_no_alert_however_low_it_is(world):
    world.goal("Go to school every day")
    world.recorded("gbo", {"goal_1": 5})
    world.later()
    world.goal("Keep my temper")

    created = world.recorded("gbo", {"goal_1": 6, "goal_2": 0})  # the mean falls from 5 to 3: under 2.5

    assert created["alert_id"] is None
    assert world.alerts() == []


def test_a_fall_in_a_check_in_the_child_sent_from_a_link_raises_an_alert_too(world):
    world.recorded("ons4", ons4(life=8))
    world.consent_to_sms()
    invitation = world.invited()
    world.later(hours=1)

    form = {f"ons4.{item}": str(value) for item, value in ons4(life=5).items()}
    assert world.client.post(world.link(invitation), data=form).status_code == 200

    [alert] = world.alerts()
    latest = world.get(f"/children/{world.child_id}/check-ins").json[0]
    assert (alert["kind"], alert["check_in_id"], alert["raised_by_user_id"]) == ("wellbeing_drop", latest["id"], None)
    assert latest["channel"] == "sms_link"


def test_another_programmes_coordinator_does_not_see_the_alert(world):
    world.recorded("ons4", ons4(life=8))
    world.later()
    world.recorded("ons4", ons4(life=2))
    elsewhere = make_user(world.db, Role.COORDINATOR, programme=make_programme(world.db))

    assert len(world.alerts()) == 1
    assert world.alerts(by=elsewhere) == []


def test_a_check_in_read_back_still_names_the_alert_it_raised(world):
    world.recorded("ons4", ons4(life=8))
    world.later()
    fallen = world.recorded("ons4", ons4(life=2))
    assert fallen["alert_id"] is not None

    read = world.get(f"/check-ins/{fallen['id']}").json
    listed = world.get(f"/children/{world.child_id}/check-ins").json

    assert read["alert_id"] == fallen["alert_id"]
    assert listed[0]["alert_id"] == fallen["alert_id"]


def test_the_alert_names_the_day_of_the_baseline_in_the_programmes_calendar(db_session, client, clock):
    world = World(db_session, client, clock)
    world.programme.time_zone = "Pacific/Auckland"  # 14:00 UTC on 23 November is 03:00 on 24 November there
    db_session.commit()
    world.recorded("ons4", ons4(life=8))
    world.later()

    world.recorded("ons4", ons4(life=2))

    [alert] = world.alerts()
    assert "the first check-in on 2026-11-24" in alert["detail"]


# --- goals ---------------------------------------------------------------------------------------------------


def test_a_goal_is_set_in_the_childs_own_words_in_the_first_place(world):
    response = world.set_goal("  Go to school every day ")

    assert response.status_code == 201
    assert response.headers["ETag"] == '"1"'
    goal = response.json
    assert (goal["description"], goal["status"], goal["slot"], goal["item_key"]) == (
        "Go to school every day",
        "active",
        1,
        "goal_1",
    )
    assert (goal["child_id"], goal["created_at"], goal["version"]) == (str(world.child_id), NOW_JSON, 1)
    assert (goal["ended_at"], goal["end_note"], goal["replaced_by_goal_id"]) == (None, None, None)
    assert (goal["ratings"], goal["change"]) == ([], None)


@pytest.mark.parametrize("description", ["", "   ", "x" * 201])
def test_a_goal_needs_words(world, description):
    assert reason(world.set_goal(description)) == (422, "invalid_request")
    assert world.count(Goal) == 0


def test_a_mentor_cannot_set_a_fourth_active_goal(world):
    for words in ("Go to school every day", "Keep my temper", "Join a football club"):
        world.goal(words)

    response = world.set_goal("Learn to cook")

    assert reason(response) == (409, "too_many_active_goals")
    assert [goal["slot"] for goal in world.goals()] == [1, 2, 3]
    assert world.count(Goal) == 3


def test_once_a_goal_ends_a_new_one_takes_its_place(world):
    goals = [world.goal(words) for words in ("Go to school every day", "Keep my temper", "Join a football club")]
    assert world.end_goal(goals[1], "dropped").status_code == 200

    replacement = world.goal("Learn to cook")

    assert (replacement["slot"], replacement["item_key"]) == (2, "goal_2")
    assert reason(world.set_goal("One more")) == (409, "too_many_active_goals")


def test_ended_goals_do_not_count_towards_the_three(world):
    for words in ("One", "Two", "Three"):
        goal = world.goal(words)
        assert world.end_goal(goal, "achieved").status_code == 200

    assert [world.goal(words)["slot"] for words in ("Four", "Five", "Six")] == [1, 2, 3]
    assert len(world.goals()) == 6


@pytest.mark.parametrize("status", ["achieved", "dropped"])
def test_a_goal_ends_achieved_or_dropped_and_stays_in_the_history(world, status):
    goal = world.goal("Go to school every day")
    world.later(days=30)

    response = world.end_goal(goal, status, note="  Went every day this term. ")

    assert response.status_code == 200
    assert response.headers["ETag"] == '"2"'
    ended = response.json
    assert (ended["status"], ended["version"], ended["item_key"], ended["slot"]) == (status, 2, None, 1)
    assert (ended["ended_at"], ended["end_note"]) == (world.clock.now().isoformat(), "Went every day this term.")
    [listed] = world.goals()
    assert (listed["id"], listed["status"]) == (goal["id"], status)


@pytest.mark.parametrize("status", ["changed", "active", "finished"])
def test_a_goal_cannot_be_ended_as_anything_but_achieved_or_dropped(world, status):
    goal = world.goal("Go to school every day")

    response = world.end_goal(goal, status)

    assert reason(response) == (422, "invalid_request")
    assert world.goals()[0]["status"] == "active"


def test_ending_a_goal_needs_if_match(world):
    goal = world.goal("Go to school every day")

    response = world.post(f"/goals/{goal['id']}/end", {"status": "achieved"})

    assert reason(response) == (428, "if_match_required")
    assert world.goals()[0]["status"] == "active"


def test_ending_a_goal_with_a_stale_etag_is_refused(world):
    goal = world.goal("Go to school every day")

    response = world.end_goal(goal, "achieved", version=7)

    assert reason(response) == (412, "stale_version")
    assert response.json["current_version"] == 1
    assert world.goals()[0]["status"] == "active"


def test_a_goal_cannot_be_ended_twice(world):
    goal = world.goal("Go to school every day")
    ended = world.end_goal(goal, "achieved").json

    again = world.end_goal(ended, "dropped")  # with the ETag it now has
    stale = world.end_goal(goal, "dropped")  # with the ETag from before

    assert reason(again) == (409, "goal_not_active")
    assert reason(stale) == (412, "stale_version")
    assert world.goals()[0]["status"] == "achieved"


def test_a_changed_goal_is_kept_and_its_replacement_takes_the_same_place(world):
    world.goal("Go to school every day")
    goal = world.goal("Keep my temper")
    world.goal("Join a football club")
    world.later()

    response = world.change_goal(goal, "Stay calm when I am told off")

    assert response.status_code == 201
    assert response.headers["ETag"] == '"1"'
    new = response.json
    assert (new["description"], new["status"], new["slot"], new["item_key"], new["version"]) == (
        "Stay calm when I am told off",
        "active",
        2,
        "goal_2",
        1,
    )
    old = next(listed for listed in world.goals() if listed["id"] == goal["id"])
    assert (old["status"], old["replaced_by_goal_id"], old["item_key"], old["version"]) == (
        "changed",
        new["id"],
        None,
        2,
    )
    assert old["ended_at"] == world.clock.now().isoformat()
    assert sum(listed["status"] == "active" for listed in world.goals()) == 3


def test_changing_a_goal_needs_if_match_and_the_current_version(world):
    goal = world.goal("Keep my temper")

    missing = world.post(f"/goals/{goal['id']}/change", {"description": "Stay calm"})
    stale = world.change_goal(goal, "Stay calm", version=2)

    assert reason(missing) == (428, "if_match_required")
    assert reason(stale) == (412, "stale_version")
    assert [listed["description"] for listed in world.goals()] == ["Keep my temper"]


def test_an_ended_goal_cannot_be_changed(world):
    goal = world.goal("Keep my temper")
    ended = world.end_goal(goal, "dropped").json

    assert reason(world.change_goal(ended, "Stay calm")) == (409, "goal_not_active")
    assert len(world.goals()) == 1


def test_ratings_follow_the_goal_not_its_place(world):
    world.goal("Go to school every day")
    goal = world.goal("Keep my temper")
    before = world.recorded("gbo", {"goal_1": 2, "goal_2": 5})
    world.later()
    new = world.change_goal(goal, "Stay calm when I am told off").json
    world.later()
    after = world.recorded("gbo", {"goal_1": 3, "goal_2": 1})

    goals = {listed["id"]: listed for listed in world.goals()}

    assert [(r["check_in_id"], r["rating"]) for r in goals[goal["id"]]["ratings"]] == [(before["id"], 5)]
    assert [(r["check_in_id"], r["rating"]) for r in goals[new["id"]]["ratings"]] == [(after["id"], 1)]
    assert goals[new["id"]]["change"] is None  # one rating: no change yet
    assert after["responses"][1] == {"item": "goal_2", "response": 1, "goal_id": new["id"]}
    # The replacement's first rating is its own start, not a fall from the old goal's 5.
    assert after["alert_id"] is None


def test_a_goals_ratings_over_time_and_its_change_from_the_first_rating(world):
    goal = world.goal("Go to school every day")
    ratings = []
    for rating in (2, 5, 6):
        created = world.recorded("gbo", {"goal_1": rating})
        ratings.append({"check_in_id": created["id"], "completed_at": created["completed_at"], "rating": rating})
        world.later()

    [listed] = world.goals()

    assert listed["id"] == goal["id"]
    assert listed["ratings"] == ratings
    assert listed["change"] == {
        "measure": "rating",
        "baseline": 2,
        "latest": 6,
        "change": 4,
        "lower_is_better": False,
        "verdict": "meaningful_improvement",
        "is_meaningful": True,
    }


def test_goals_are_listed_oldest_first_active_and_ended(world):
    first = world.goal("One")
    world.later(minutes=1)
    second = world.goal("Two")
    world.end_goal(first, "achieved")
    world.later(minutes=1)
    third = world.goal("Three")

    assert [(goal["id"], goal["status"], goal["slot"]) for goal in world.goals()] == [
        (first["id"], "achieved", 1),
        (second["id"], "active", 2),
        (third["id"], "active", 1),
    ]


# --- check-in links: sending ---------------------------------------------------------------------------------


def test_a_link_is_sent_to_the_childs_own_mobile_with_exactly_one_message_queued(world):
    world.consent_to_sms()

    response = world.invite()

    assert response.status_code == 201, response.json
    invitation = response.json
    assert (invitation["child_id"], invitation["instruments"], invitation["reason"]) == (
        str(world.child_id),
        ["ons4"],
        "on_request",
    )
    assert (invitation["state"], invitation["messages"], invitation["created_by_user_id"]) == (
        "open",
        1,
        str(world.mentor.id),
    )
    assert (invitation["created_at"], invitation["expires_at"]) == (
        NOW_JSON,
        (DEFAULT_NOW + timedelta(hours=72)).isoformat(),
    )
    assert (invitation["completed_at"], invitation["revoked_at"]) == (None, None)
    [message] = world.db.scalars(select(OutboundMessage)).all()
    assert message.check_in_invitation_id == uuid.UUID(invitation["id"])
    assert message.dedupe_key == f"check_in_link:{invitation['id']}"
    assert (message.purpose, message.child_id, message.phone_number_id) == (
        MessagePurpose.CHECK_IN_LINK,
        world.child_id,
        world.own_phone().id,
    )
    assert (message.send_after, message.drop_after) == (DEFAULT_NOW, DEFAULT_NOW + timedelta(hours=72))


def test_the_link_and_its_message_are_written_together_or_not_at_all(world, monkeypatch):
    world.consent_to_sms()

    def outbox_down(*_args: Any, **_kwargs: Any) -> None:
        raise RuntimeError("the outbox table is unavailable")

    monkeypatch.setattr(wellbeing_invitations.outbox, "queue_message", outbox_down)

    with pytest.raises(RuntimeError):
        world.invite()

    assert (world.count(CheckInInvitation), world.count(OutboundMessage)) == (0, 0)
    assert world.count(AuditEvent, action="check_in_invitation.create") == 0


def test_each_link_queues_its_own_message(world):
    world.consent_to_sms()

    first, second = world.invited(), world.invited()

    assert first["id"] != second["id"]
    assert world.count(OutboundMessage) == 2
    assert world.count(OutboundMessage, check_in_invitation_id=uuid.UUID(second["id"])) == 1


def test_a_link_needs_the_childs_consent_to_sms(world):
    response = world.invite()

    assert reason(response) == (409, "no_mobile_with_sms_consent")
    assert (world.count(CheckInInvitation), world.count(OutboundMessage)) == (0, 0)


def test_a_parents_mobile_is_not_enough_for_a_link(world):
    enrolment = world.enrol(phone_numbers=[NewPhoneNumber("+447700900901", PhoneOwner.PARENT)])
    world.consent_to_sms(enrolment.child_id, channel=ContactChannel.SMS_TO_CARER)

    response = world.invite(child_id=enrolment.child_id)

    assert reason(response) == (409, "no_mobile_with_sms_consent")
    assert (world.count(CheckInInvitation), world.count(OutboundMessage)) == (0, 0)


def test_once_the_childs_own_mobile_is_removed_a_link_cannot_go_to_the_parents(world):
    world.consent_to_sms()
    children_service.add_phone_number(
        world.db,
        actor=actor_for(world.coordinator),
        child_id=world.child_id,
        phone=NewPhoneNumber("+447700900902", PhoneOwner.PARENT),
        accept_drama_numbers=True,
        now=world.clock.now(),
    )
    children_service.remove_phone_number(
        world.db,
        actor=actor_for(world.coordinator),
        child_id=world.child_id,
        phone_number_id=world.own_phone().id,
        now=world.clock.now(),
    )

    assert reason(world.invite()) == (409, "no_mobile_with_sms_consent")
    assert world.count(OutboundMessage) == 0


def test_a_withdrawn_consent_stops_links(world):
    world.consent_to_sms()
    world.later(minutes=5)
    world.consent_to_sms(granted=False)

    assert reason(world.invite()) == (409, "no_mobile_with_sms_consent")


def test_the_link_goes_to_the_childs_newest_own_mobile(world):
    world.later(minutes=5)
    newer = children_service.add_phone_number(
        world.db,
        actor=actor_for(world.coordinator),
        child_id=world.child_id,
        phone=NewPhoneNumber("+447700900903", PhoneOwner.CHILD),
        accept_drama_numbers=True,
        now=world.clock.now(),
    )
    world.consent_to_sms()

    world.invited()

    assert world.db.scalars(select(OutboundMessage)).one().phone_number_id == newer.id


def test_a_link_asks_the_programmes_instruments_and_lasts_as_long_as_the_programme_says(world):
    admin = make_user(world.db, Role.ADMIN)
    patched = world.request(
        "PATCH",
        f"/programmes/{world.programme.id}",
        by=admin,
        json={"check_in_instruments": ["gbo", "ons4"], "check_in_link_hours": 24},
    )
    assert patched.status_code == 200, patched.json
    world.consent_to_sms()
    world.goal("Go to school every day")

    invitation = world.invited()

    assert invitation["instruments"] == ["gbo", "ons4"]
    assert invitation["expires_at"] == (DEFAULT_NOW + timedelta(hours=24)).isoformat()


def test_instruments_named_for_a_link_replace_the_programmes_and_repeats_are_dropped(world):
    world.consent_to_sms()
    world.goal("Go to school every day")

    invitation = world.invited({"instruments": ["gbo", "ons4", "gbo"]})

    assert invitation["instruments"] == ["gbo", "ons4"]


def test_a_link_with_no_instruments_named_asks_the_programmes_default(world):
    world.consent_to_sms()

    assert world.invited({"instruments": None})["instruments"] == ["ons4"]


@pytest.mark.parametrize(
    ("instruments", "expected"),
    [
        pytest.param(["wemwbs"], (422, "unknown_instrument"), id="unknown"),
        pytest.param(["ons4", "nope"], (422, "unknown_instrument"), id="one-unknown"),
        pytest.param(["swemwbs"], (422, "instrument_has_no_wording"), id="no-wording"),
        pytest.param(["gbo"], (422, "no_active_goals"), id="no-goals"),
        pytest.param([], (422, "invalid_request"), id="none"),
        pytest.param(["ons4", "gbo", "swemwbs", "ons4"], (422, "invalid_request"), id="too-many"),
    ],
)
def test_a_link_cannot_ask_what_the_child_cannot_answer(world, instruments, expected):
    world.consent_to_sms()

    response = world.invite({"instruments": instruments})

    assert reason(response) == expected
    assert "instruments" in response.json["errors"]
    assert (world.count(CheckInInvitation), world.count(OutboundMessage)) == (0, 0)


def test_a_link_cannot_ask_an_instrument_the_child_is_too_young_for(world):
    nine = world.enrol(date_of_birth=born_years_ago(9))
    world.consent_to_sms(nine.child_id)

    response = world.invite({"instruments": ["ons4"]}, child_id=nine.child_id)

    assert reason(response) == (422, "instrument_not_suitable")
    assert response.json["errors"] == {"instruments": [f"{ONS4_NAME} is for children aged from 10."]}
    assert world.count(OutboundMessage) == 0


# --- check-in links: states, revoking ------------------------------------------------------------------------


def complete(world: World, invitation: dict) -> None:
    form = {f"ons4.{item}": str(value) for item, value in ONS4.items()}
    assert world.client.post(world.link(invitation), data=form).status_code == 200


def test_a_childs_links_are_listed_newest_first_as_open_completed_expired_or_revoked(world):
    world.consent_to_sms()
    expired = world.invited()
    world.later(hours=73)
    revoked = world.invited()
    world.later(minutes=1)
    assert world.revoke(revoked).status_code == 200
    world.later(minutes=1)
    completed = world.invited()
    world.later(minutes=1)
    complete(world, completed)
    world.later(minutes=1)
    still_open = world.invited()

    listed = world.invitations()

    assert [(invitation["id"], invitation["state"]) for invitation in listed] == [
        (still_open["id"], "open"),
        (completed["id"], "completed"),
        (revoked["id"], "revoked"),
        (expired["id"], "expired"),
    ]
    assert [invitation["messages"] for invitation in listed] == [1, 1, 1, 1]
    done = listed[1]
    assert done["completed_at"] == (DEFAULT_NOW + timedelta(hours=73, minutes=3)).isoformat()
    assert listed[2]["revoked_at"] == (DEFAULT_NOW + timedelta(hours=73, minutes=1)).isoformat()


def test_a_link_is_open_until_the_moment_it_expires(world):
    world.consent_to_sms()
    world.invited()

    world.later(hours=72, microseconds=-1)
    assert world.invitations()[0]["state"] == "open"
    world.later(microseconds=1)
    assert world.invitations()[0]["state"] == "expired"


def test_a_completed_link_leaves_a_check_in_from_the_link_with_no_recorder(world):
    world.consent_to_sms()
    invitation = world.invited()

    complete(world, invitation)

    [check_in] = world.get(f"/children/{world.child_id}/check-ins").json
    assert (check_in["channel"], check_in["invitation_id"], check_in["recorded_by_user_id"]) == (
        "sms_link",
        invitation["id"],
        None,
    )
    assert check_in["derived_scores"] == ONS4


def test_a_goal_ended_after_the_link_was_sent_does_not_stop_the_child_completing_it(world):
    world.consent_to_sms()
    goal = world.goal("Go to school every day")
    invitation = world.invited({"instruments": ["ons4", "gbo"]})
    assert world.end_goal(goal, "achieved").status_code == 200

    form = {f"ons4.{item}": str(value) for item, value in ONS4.items()}
    submitted = world.client.post(world.link(invitation), data=form)

    assert submitted.status_code == 200, submitted.get_data(as_text=True)
    assert [check_in["instrument"] for check_in in world.get(f"/children/{world.child_id}/check-ins").json] == ["ons4"]


def test_a_revoked_link_stops_working_with_the_same_page_as_a_link_that_never_existed(world):
    world.consent_to_sms()
    invitation = world.invited()
    link = world.link(invitation)
    assert world.client.get(link).status_code == 200

    revoked = world.revoke(invitation)

    assert revoked.status_code == 200
    assert (revoked.json["state"], revoked.json["revoked_at"]) == ("revoked", NOW_JSON)
    gone = world.client.get(link)
    never = world.client.get("/c/" + "A" * 32)
    assert (gone.status_code, never.status_code) == (404, 404)
    assert gone.get_data(as_text=True) == never.get_data(as_text=True)
    assert "does not work any more" in gone.get_data(as_text=True)
    submitted = world.client.post(link, data={f"ons4.{item}": str(value) for item, value in ONS4.items()})
    assert submitted.status_code == 404
    assert world.count(CheckIn) == 0


def test_a_link_cannot_be_revoked_twice(world):
    world.consent_to_sms()
    invitation = world.invited()
    world.revoke(invitation)
    world.later(minutes=1)

    again = world.revoke(invitation)

    assert reason(again) == (409, "check_in_invitation_not_open")
    assert world.invitations()[0]["revoked_at"] == NOW_JSON


def test_a_used_link_cannot_be_revoked(world):
    world.consent_to_sms()
    invitation = world.invited()
    complete(world, invitation)

    assert reason(world.revoke(invitation)) == (409, "check_in_invitation_not_open")
    assert world.invitations()[0]["state"] == "completed"


def test_an_expired_link_cannot_be_revoked(world):
    world.consent_to_sms()
    invitation = world.invited()
    world.later(hours=72)

    assert reason(world.revoke(invitation)) == (409, "check_in_invitation_not_open")
    assert world.invitations()[0]["state"] == "expired"


def test_the_coordinator_may_revoke_a_link_the_mentor_sent(world):
    world.consent_to_sms()
    invitation = world.invited()

    response = world.revoke(invitation, by=world.coordinator)

    assert response.status_code == 200
    assert response.json["state"] == "revoked"


# --- who may do what -----------------------------------------------------------------------------------------


class Records:
    """One of each record of the world's child, to aim requests at."""

    def __init__(self, world: World) -> None:
        world.consent_to_sms()
        self.check_in = world.recorded("ons4", ONS4)
        self.goal = world.goal("Go to school every day")
        self.invitation = world.invited()
        self.ids = {
            "child": str(world.child_id),
            "check_in": self.check_in["id"],
            "goal": self.goal["id"],
            "invitation": self.invitation["id"],
        }


# (method, path, body, If-Match, the kind of record the path names, status for someone allowed)
ENDPOINTS = [
    ("POST", "/children/{child}/check-ins", {"instrument": "ons4", "answers": ONS4}, None, "child", 201),
    ("GET", "/children/{child}/check-ins", None, None, "child", 200),
    ("GET", "/check-ins/{check_in}", None, None, "check_in", 200),
    ("GET", "/children/{child}/wellbeing", None, None, "child", 200),
    ("POST", "/children/{child}/goals", {"description": "Learn to cook"}, None, "child", 201),
    ("GET", "/children/{child}/goals", None, None, "child", 200),
    ("POST", "/goals/{goal}/end", {"status": "achieved"}, '"1"', "goal", 200),
    ("POST", "/goals/{goal}/change", {"description": "Go to school more"}, '"1"', "goal", 201),
    ("POST", "/children/{child}/check-in-invitations", {}, None, "child", 201),
    ("GET", "/children/{child}/check-in-invitations", None, None, "child", 200),
    ("POST", "/check-in-invitations/{invitation}/revoke", None, None, "invitation", 200),
]
NOT_FOUND_REASON = {
    "child": "child_not_found",
    "check_in": "check_in_not_found",
    "goal": "goal_not_found",
    "invitation": "check_in_invitation_not_found",
}
ENDPOINT_IDS = [f"{method} {path}" for method, path, *_ in ENDPOINTS]


def call(world: World, endpoint: tuple, ids: dict[str, str], user: AppUser):
    method, path, body, if_match, _, _ = endpoint
    kwargs: dict[str, Any] = {"json": body or {}} if method == "POST" else {}
    headers = {"If-Match": if_match} if if_match else {}
    return world.request(method, path.format(**ids), by=user, headers=headers, **kwargs)


def stored_counts(world: World) -> tuple[int, ...]:
    return tuple(world.count(model) for model in (CheckIn, Goal, CheckInInvitation, OutboundMessage, Alert))


def someone_else(world: World, who: str) -> AppUser:
    if who == "other programme's coordinator":
        return make_user(world.db, Role.COORDINATOR, programme=make_programme(world.db))
    if who == "other programme's mentor":
        elsewhere = make_programme(world.db)
        mentor = make_user(world.db, Role.MENTOR, programme=elsewhere)
        cohort = make_cohort(world.db, programme=elsewhere)
        coordinator = make_user(world.db, Role.COORDINATOR, programme=elsewhere)
        allocate(
            world.db, enrolment=admit_child(world.db, cohort=cohort, by=coordinator), mentor=mentor, by=coordinator
        )
        return mentor
    if who == "mentor of another child":
        mentor = make_user(world.db, Role.MENTOR, programme=world.programme)
        world.enrol(mentor=mentor)
        return mentor
    if who == "former mentor":
        mentor = make_user(world.db, Role.MENTOR, programme=world.programme)
        allocate(world.db, enrolment=world.enrolment, mentor=mentor, by=world.coordinator, now=world.clock.now())
        allocate(world.db, enrolment=world.enrolment, mentor=world.mentor, by=world.coordinator, now=world.clock.now())
        return mentor
    raise AssertionError(who)


@pytest.mark.parametrize(
    "who", ["other programme's coordinator", "other programme's mentor", "mentor of another child", "former mentor"]
)
@pytest.mark.parametrize("endpoint", ENDPOINTS, ids=ENDPOINT_IDS)
def test_someone_outside_the_childs_caseload_gets_the_same_404_as_for_a_record_that_does_not_exist(
    world, endpoint, who
):
    records = Records(world)
    outsider = someone_else(world, who)
    before = stored_counts(world)
    kind = endpoint[4]

    response = call(world, endpoint, records.ids, outsider)
    nonexistent = call(world, endpoint, {**records.ids, kind: str(uuid.uuid4())}, outsider)

    assert reason(response) == (404, NOT_FOUND_REASON[kind])
    assert response.json == {**nonexistent.json, "request_id": response.json["request_id"]}
    assert stored_counts(world) == before
    assert world.count(AuditEvent, actor_user_id=outsider.id) == 0


@pytest.mark.parametrize("endpoint", ENDPOINTS, ids=ENDPOINT_IDS)
def test_a_commissioner_may_not_use_any_wellbeing_endpoint(world, endpoint):
    records = Records(world)
    commissioner = make_user(world.db, Role.COMMISSIONER, programme=world.programme)
    before = stored_counts(world)

    response = call(world, endpoint, records.ids, commissioner)

    assert response.status_code == 403
    assert response.json == FORBIDDEN
    assert stored_counts(world) == before
    assert world.count(AuditEvent, actor_user_id=commissioner.id) == 0


@pytest.mark.parametrize("role", [Role.MENTOR, Role.COORDINATOR, Role.ADMIN])
@pytest.mark.parametrize("endpoint", ENDPOINTS, ids=ENDPOINT_IDS)
def test_the_key_worker_the_coordinator_and_an_admin_may_use_every_wellbeing_endpoint(world, endpoint, role):
    records = Records(world)
    user = {Role.MENTOR: world.mentor, Role.COORDINATOR: world.coordinator, Role.ADMIN: make_user(world.db, Role.ADMIN)}

    response = call(world, endpoint, records.ids, user[role])

    assert response.status_code == endpoint[5], response.json


@pytest.mark.parametrize("endpoint", ENDPOINTS, ids=ENDPOINT_IDS)
def test_every_wellbeing_endpoint_needs_a_signed_in_caller(world, endpoint):
    method, path, body, *_ = endpoint
    ids = {"child": uuid.uuid4(), "check_in": uuid.uuid4(), "goal": uuid.uuid4(), "invitation": uuid.uuid4()}

    response = world.client.open(path.format(**ids), method=method, json=body or {})

    assert response.status_code == 401


def test_a_mentor_loses_access_when_the_child_is_given_to_another_mentor(world):
    world.recorded("ons4", ONS4)
    new_mentor = make_user(world.db, Role.MENTOR, programme=world.programme)
    allocate(world.db, enrolment=world.enrolment, mentor=new_mentor, by=world.coordinator, now=world.clock.now())

    assert reason(world.get(f"/children/{world.child_id}/wellbeing")) == (404, "child_not_found")
    assert world.get(f"/children/{world.child_id}/wellbeing", by=new_mentor).status_code == 200


# --- the audit trail -----------------------------------------------------------------------------------------


def audit_rows_after(world: World, action: Callable[[], Any]) -> tuple[Any, list[tuple]]:
    """Do something; return what it returned and the audit rows it left: (action, type, record, child, user)."""
    before = set(world.db.scalars(select(AuditEvent.id)))
    result = action()
    rows = [row for row in world.db.scalars(select(AuditEvent)) if row.id not in before]
    for row in rows:
        assert row.occurred_at == world.clock.now()
    found = sorted(
        (row.action, row.record_type, str(row.record_id), str(row.child_id), row.actor_user_id) for row in rows
    )
    return result, found


def test_recording_and_reading_check_ins_is_audited(world):
    child, mentor = str(world.child_id), world.mentor.id

    created, rows = audit_rows_after(world, lambda: world.recorded("ons4", ONS4))
    assert rows == [("check_in.create", "check_in", created["id"], child, mentor)]

    world.later(minutes=1)
    second, _ = audit_rows_after(world, lambda: world.recorded("swemwbs", ALL_THREES))
    _, rows = audit_rows_after(world, lambda: world.get(f"/check-ins/{created['id']}"))
    assert rows == [("check_in.read", "check_in", created["id"], child, mentor)]

    _, rows = audit_rows_after(world, lambda: world.get(f"/children/{world.child_id}/check-ins", by=world.coordinator))
    assert rows == sorted(
        ("check_in.list", "check_in", check_in["id"], child, world.coordinator.id) for check_in in (created, second)
    )

    _, rows = audit_rows_after(world, lambda: world.picture())
    assert rows == [("wellbeing.read", "child", child, child, mentor)]


def test_goals_are_audited_as_they_are_set_listed_ended_and_changed(world):
    child, mentor = str(world.child_id), world.mentor.id

    first, rows = audit_rows_after(world, lambda: world.goal("One"))
    assert rows == [("goal.create", "goal", first["id"], child, mentor)]
    second = world.goal("Two")
    third = world.goal("Three")

    _, rows = audit_rows_after(world, lambda: world.goals())
    assert rows == sorted(("goal.list", "goal", goal["id"], child, mentor) for goal in (first, second, third))

    _, rows = audit_rows_after(world, lambda: world.end_goal(first, "achieved"))
    assert rows == [("goal.achieved", "goal", first["id"], child, mentor)]
    _, rows = audit_rows_after(world, lambda: world.end_goal(second, "dropped"))
    assert rows == [("goal.dropped", "goal", second["id"], child, mentor)]

    new, rows = audit_rows_after(world, lambda: world.change_goal(third, "Three, reworded").json)
    assert rows == sorted(
        [("goal.changed", "goal", third["id"], child, mentor), ("goal.create", "goal", new["id"], child, mentor)]
    )


def test_links_are_audited_as_they_are_sent_listed_opened_used_and_revoked(world):
    child, mentor = str(world.child_id), world.mentor.id
    world.consent_to_sms()

    used, rows = audit_rows_after(world, lambda: world.invited())
    assert rows == [("check_in_invitation.create", "check_in_invitation", used["id"], child, mentor)]

    _, rows = audit_rows_after(world, lambda: world.client.get(world.link(used)))
    assert rows == [("check_in_invitation.open", "check_in_invitation", used["id"], child, None)]

    _, rows = audit_rows_after(world, lambda: complete(world, used))
    check_in_id = str(world.db.scalars(select(CheckIn.id)).one())
    assert rows == sorted(
        [
            ("check_in.create", "check_in", check_in_id, child, None),
            ("check_in_invitation.complete", "check_in_invitation", used["id"], child, None),
        ]
    )

    withdrawn = world.invited()
    _, rows = audit_rows_after(world, lambda: world.revoke(withdrawn, by=world.coordinator))
    assert rows == [("check_in_invitation.revoke", "check_in_invitation", withdrawn["id"], child, world.coordinator.id)]

    _, rows = audit_rows_after(world, lambda: world.invitations())
    assert rows == sorted(
        ("check_in_invitation.list", "check_in_invitation", invitation["id"], child, mentor)
        for invitation in (used, withdrawn)
    )


def test_audit_rows_record_the_actors_role(world):
    world.recorded("ons4", ONS4)

    [row] = world.db.scalars(select(AuditEvent).where(AuditEvent.action == "check_in.create")).all()

    assert (row.actor_user_id, row.actor_role) == (world.mentor.id, Role.MENTOR)


def test_a_refused_write_leaves_no_audit_row(world):
    _, rows = audit_rows_after(world, lambda: world.check_in("ons4", {**ONS4, "worthwhile": 11}))
    assert rows == []
    _, rows = audit_rows_after(world, lambda: world.invite())
    assert rows == []


# --- the programme's check-in settings -----------------------------------------------------------------------


def patch_programme(world: World, body: dict, *, by: AppUser | None = None):
    admin = by or make_user(world.db, Role.ADMIN)
    return world.request("PATCH", f"/programmes/{world.programme.id}", by=admin, json=body)


def test_an_admin_sets_the_programmes_check_in_routine(world):
    body = {
        "check_in_instruments": ["ons4", "gbo", "ons4"],
        "check_in_at_enrolment": False,
        "check_in_every_weeks": 6,
        "check_in_at_end": False,
        "check_in_link_hours": 48,
        "check_in_help_text": "  Call Childline free on 0800 1111.  ",
    }

    response = patch_programme(world, body)

    assert response.status_code == 200, response.json
    expected = {
        "check_in_instruments": ["ons4", "gbo"],
        "check_in_at_enrolment": False,
        "check_in_every_weeks": 6,
        "check_in_at_end": False,
        "check_in_link_hours": 48,
        "check_in_help_text": "Call Childline free on 0800 1111.",
    }
    assert {key: response.json[key] for key in expected} == expected
    read = world.get(f"/programmes/{world.programme.id}", by=world.coordinator).json
    assert {key: read[key] for key in expected} == expected


def test_a_programme_starts_with_ons4_at_enrolment_every_four_weeks_and_at_the_end(world):
    read = world.get(f"/programmes/{world.programme.id}", by=world.coordinator).json

    assert {key: value for key, value in read.items() if key.startswith("check_in_")} == {
        "check_in_instruments": ["ons4"],
        "check_in_at_enrolment": True,
        "check_in_every_weeks": 4,
        "check_in_at_end": True,
        "check_in_link_hours": 72,
        "check_in_help_text": None,
    }


def test_periodic_links_can_be_switched_off_and_blank_help_text_is_none(world):
    response = patch_programme(world, {"check_in_every_weeks": None, "check_in_help_text": "   "})

    assert response.status_code == 200, response.json
    assert (response.json["check_in_every_weeks"], response.json["check_in_help_text"]) == (None, None)
    world.db.expire_all()
    assert world.db.get(Programme, world.programme.id).check_in_every_weeks is None


def test_an_unknown_instrument_in_the_programmes_routine_is_refused(world):
    response = patch_programme(world, {"check_in_instruments": ["ons4", "wemwbs"]})

    assert reason(response) == (422, "unknown_instrument")
    assert response.json["errors"] == {"check_in_instruments": ["Unknown: wemwbs. Choose from gbo, ons4, swemwbs."]}
    world.db.expire_all()
    assert world.db.get(Programme, world.programme.id).check_in_instruments == ["ons4"]


@pytest.mark.parametrize(
    "body",
    [
        pytest.param({"check_in_instruments": []}, id="no-instruments"),
        pytest.param({"check_in_instruments": ["ons4", "gbo", "swemwbs", "ons4"]}, id="four-instruments"),
        pytest.param({"check_in_every_weeks": 0}, id="every-0-weeks"),
        pytest.param({"check_in_every_weeks": 53}, id="every-53-weeks"),
        pytest.param({"check_in_link_hours": 0}, id="links-for-0-hours"),
        pytest.param({"check_in_link_hours": 24 * 14 + 1}, id="links-for-over-two-weeks"),
        pytest.param({"check_in_at_end": "sometimes"}, id="not-a-boolean"),
        pytest.param({"check_in_help_text": "x" * 1001}, id="help-text-too-long"),
    ],
)
def test_an_impossible_check_in_routine_is_refused(world, body):
    response = patch_programme(world, body)

    assert reason(response) == (422, "invalid_request")
    assert set(response.json["errors"]) == set(body)


@pytest.mark.parametrize("role", [Role.COORDINATOR, Role.MENTOR, Role.COMMISSIONER])
def test_only_an_admin_may_change_the_check_in_routine(world, role):
    user = make_user(world.db, role, programme=world.programme)

    response = patch_programme(world, {"check_in_every_weeks": 2}, by=user)

    assert response.status_code == 403
    world.db.expire_all()
    assert world.db.get(Programme, world.programme.id).check_in_every_weeks == 4


def test_a_new_programme_can_name_its_check_in_instruments_and_unknown_ones_are_refused(world):
    admin = make_user(world.db, Role.ADMIN)
    body = {"name": "Wellbeing first", "districts": ["Medway"], "check_in_instruments": ["swemwbs", "ons4"]}

    created = world.post("/programmes", body, by=admin)
    refused = world.post("/programmes", {**body, "name": "Another", "check_in_instruments": ["nope"]}, by=admin)

    assert created.status_code == 201, created.json
    assert created.json["check_in_instruments"] == ["swemwbs", "ons4"]
    assert reason(refused) == (422, "unknown_instrument")


def test_a_new_programme_can_be_created_without_periodic_links(world):
    admin = make_user(world.db, Role.ADMIN)

    created = world.post(
        "/programmes", {"name": "No periodic links", "districts": ["Medway"], "check_in_every_weeks": None}, by=admin
    )

    assert created.status_code == 201, created.json
    assert created.json["check_in_every_weeks"] is None


# --- the mentor's sync feed (serial: see the module's docstring) ---------------------------------------------


class SyncWorld(World):
    """The same world on a database whose transactions commit, with the mentor's sync feed to read."""

    def settle(self) -> None:
        """Wait until every write transaction on the PostgreSQL server older than now has finished (as in
        tests/api/test_sync.py), so the feed serves what this test wrote rather than one sync late."""
        if self.db.get_bind().dialect.name != "postgresql":
            return
        deadline = time.monotonic() + 60
        while True:
            newest = self.db.scalar(select(func.max(ChangeEvent.txid)))
            horizon = self.db.scalar(text("SELECT pg_snapshot_xmin(pg_current_snapshot())::text::bigint"))
            self.db.rollback()
            if newest is None or horizon > newest or time.monotonic() > deadline:
                return
            time.sleep(0.05)

    def sync(self, *, cursor: str | None = None) -> dict:
        self.settle()
        response = self.get("/sync", query_string={"cursor": cursor} if cursor else {})
        assert response.status_code == 200, response.json
        assert response.json["has_more"] is False
        return response.json


@pytest.fixture()
def sync_world(committed_db_session, committed_client, clock) -> SyncWorld:
    return SyncWorld(committed_db_session, committed_client, clock)


def changes_of(page: dict, type_: str) -> list[dict]:
    return [change for change in page["changes"] if change["type"] == type_]


@pytest.mark.serial
def test_a_meaningful_fall_reaches_the_mentors_phone_as_the_check_in_and_one_alert(sync_world):
    world = sync_world
    world.recorded("ons4", ons4(life=8))
    cursor = world.sync()["cursor"]
    world.later()

    fallen = world.recorded("ons4", ons4(life=3))
    page = world.sync(cursor=cursor)

    assert sorted((change["type"], change["op"]) for change in page["changes"]) == [
        ("alert", "upsert"),
        ("check_in", "upsert"),
    ]
    [check_in] = changes_of(page, "check_in")
    assert (check_in["id"], check_in["child_id"]) == (fallen["id"], str(world.child_id))
    record = check_in["check_in"]
    assert (record["instrument"], record["channel"], record["derived_scores"]) == (
        "ons4",
        "in_session",
        ons4(life=3),
    )
    assert sorted(record["responses"], key=lambda item: item["item"]) == sorted(
        fallen["responses"], key=lambda item: item["item"]
    )
    [alert] = changes_of(page, "alert")
    assert (alert["id"], alert["alert"]["kind"], alert["alert"]["check_in_id"]) == (
        fallen["alert_id"],
        "wellbeing_drop",
        fallen["id"],
    )
    assert [listed["id"] for listed in world.alerts()] == [fallen["alert_id"]]


@pytest.mark.serial
def test_an_improvement_reaches_the_phone_as_a_check_in_without_an_alert(sync_world):
    world = sync_world
    world.recorded("ons4", ons4(life=3))
    cursor = world.sync()["cursor"]
    world.later()

    better = world.recorded("ons4", ons4(life=9))
    page = world.sync(cursor=cursor)

    assert [(change["type"], change["id"]) for change in page["changes"]] == [("check_in", better["id"])]


@pytest.mark.serial
def test_goals_reach_the_mentors_phone_as_they_are_set_rated_and_changed(sync_world):
    world = sync_world
    cursor = world.sync()["cursor"]

    goal = world.goal("Keep my temper")
    set_page = world.sync(cursor=cursor)
    [synced] = changes_of(set_page, "goal")
    assert (synced["id"], synced["op"], synced["goal"]["description"], synced["goal"]["status"]) == (
        goal["id"],
        "upsert",
        "Keep my temper",
        "active",
    )

    world.later()
    rated = world.recorded("gbo", {"goal_1": 4})
    world.later()
    new = world.change_goal(goal, "Stay calm when I am told off").json
    page = world.sync(cursor=set_page["cursor"])

    assert sorted((change["type"], change["id"]) for change in page["changes"]) == sorted(
        [("check_in", rated["id"]), ("goal", goal["id"]), ("goal", new["id"])]
    )
    goals = {change["id"]: change["goal"] for change in changes_of(page, "goal")}
    assert (goals[goal["id"]]["status"], goals[goal["id"]]["replaced_by_goal_id"]) == ("changed", new["id"])
    assert [rating["rating"] for rating in goals[goal["id"]]["ratings"]] == [4]
    assert (goals[new["id"]]["status"], goals[new["id"]]["slot"]) == ("active", 1)


@pytest.mark.serial
def test_a_mentor_given_a_child_receives_the_childs_check_ins_and_goals(sync_world):
    world = sync_world
    goal = world.goal("Go to school every day")
    check_in = world.recorded("gbo", {"goal_1": 3})
    new_mentor = make_user(world.db, Role.MENTOR, programme=world.programme)
    allocate(world.db, enrolment=world.enrolment, mentor=new_mentor, by=world.coordinator, now=world.clock.now())
    world.mentor = new_mentor

    page = world.sync()

    assert ("child", "access_granted") in {(change["type"], change["op"]) for change in page["changes"]}
    [synced_check_in] = changes_of(page, "check_in")
    [synced_goal] = changes_of(page, "goal")
    assert synced_check_in["id"] == check_in["id"]
    assert synced_check_in["check_in"]["responses"] == [{"item": "goal_1", "response": 3, "goal_id": goal["id"]}]
    assert (synced_goal["id"], synced_goal["goal"]["ratings"][0]["rating"]) == (goal["id"], 3)
