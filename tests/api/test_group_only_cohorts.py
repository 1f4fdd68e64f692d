"""Group-only cohorts (issue 17): a cohort kind with its own places, whose children attend group sessions only. Every
way a session is planned for a child (planning or logging one, correcting its kind, moving it, a weekly pattern)
refuses a one-to-one or phone session for a child whose place is in a group-only cohort."""

from __future__ import annotations

from datetime import timedelta

import pytest

from api.actors import Role
from api.programmes.rules import CohortKind
from tests.api.sessions_over_http import (
    ENROLLED_FROM,
    TUESDAY_EVENING,
    WEDNESDAY_MORNING,
    error,
    patch,
    plan,
    planned,
    reschedule,
)
from tests.builders import Team, make_cohort

ONE_TO_ONE_KINDS = ["one_to_one", "phone_video"]


@pytest.fixture()
def team(db_session, clock) -> Team:
    return Team(db_session, clock, enrolled_from=ENROLLED_FROM)


@pytest.fixture()
def group_only(db_session, team):
    return make_cohort(db_session, programme=team.programme, kind=CohortKind.GROUP_ONLY, places=5)


def refused_as_group_only(response) -> None:
    assert error(response) == (422, "group_only_enrolment")
    assert response.json["message"] == "This child's place is in a group-only cohort: they attend group sessions only."


# --- the cohort's kind ------------------------------------------------------------------------------------------


def test_a_cohort_is_one_to_one_unless_said_and_shows_its_kind_wherever_it_is_shown(client, team):
    admin = team.user(Role.ADMIN)
    cohorts = f"/programmes/{team.programme.id}/cohorts"
    body = {"places": 12, "max_sessions_per_week": 1, "planned_weeks": 10}

    group = client.post(cohorts, json=body | {"name": "Awareness", "kind": "group_only"}, headers=team.headers(admin))
    ordinary = client.post(cohorts, json=body | {"name": "Protect 2"}, headers=team.headers(admin))

    assert group.status_code == 201, group.json
    assert (group.json["kind"], ordinary.json["kind"]) == ("group_only", "one_to_one")
    assert client.get(f"/cohorts/{group.json['id']}", headers=team.headers()).json["kind"] == "group_only"
    listed = {cohort["name"]: cohort["kind"] for cohort in client.get(cohorts, headers=team.headers()).json}
    assert listed["Awareness"] == "group_only"
    assert listed[team.cohort.name] == "one_to_one"
    unknown = client.post(cohorts, json=body | {"name": "X", "kind": "drop_in"}, headers=team.headers(admin))
    assert unknown.status_code == 422


def test_a_cohorts_kind_changes_only_while_no_child_has_been_enrolled_in_it(client, team, group_only):
    admin = team.user(Role.ADMIN)

    changed = client.patch(f"/cohorts/{group_only.id}", json={"kind": "one_to_one"}, headers=team.headers(admin))
    assert changed.status_code == 200, changed.json
    assert changed.json["kind"] == "one_to_one"

    team.child()
    refused = client.patch(f"/cohorts/{team.cohort.id}", json={"kind": "group_only"}, headers=team.headers(admin))
    assert error(refused) == (409, "cohort_kind_fixed")
    same = client.patch(f"/cohorts/{team.cohort.id}", json={"kind": "one_to_one"}, headers=team.headers(admin))
    assert same.status_code == 200, same.json


# --- planning sessions ------------------------------------------------------------------------------------------


@pytest.mark.parametrize("kind", ONE_TO_ONE_KINDS)
def test_no_one_to_one_or_phone_session_is_planned_or_logged_for_a_child_in_a_group_only_cohort(
    client, team, group_only, kind
):
    child = team.child(cohort=group_only)

    refused_as_group_only(plan(client, team, child, TUESDAY_EVENING, kind=kind))
    team.travel_to(TUESDAY_EVENING + timedelta(hours=2))
    refused_as_group_only(plan(client, team, child, TUESDAY_EVENING, kind=kind, status="completed"))


def test_a_child_in_a_group_only_cohort_attends_group_sessions_with_any_child(client, team, group_only):
    in_group_only, one_to_one = team.child(cohort=group_only), team.child()

    assert plan(client, team, [in_group_only, one_to_one], TUESDAY_EVENING).status_code == 201
    assert plan(client, team, in_group_only, WEDNESDAY_MORNING, kind="group").status_code == 201


@pytest.mark.parametrize("kind", ONE_TO_ONE_KINDS)
def test_a_group_session_of_a_child_in_a_group_only_cohort_is_not_corrected_to_one_to_one(
    client, team, group_only, kind
):
    session = planned(client, team, team.child(cohort=group_only), TUESDAY_EVENING, kind="group")

    refused_as_group_only(patch(client, team, session["id"], {"kind": kind}, if_match='"1"'))


def test_a_one_to_one_session_of_a_child_now_in_a_group_only_cohort_is_not_moved(client, db_session, team):
    """A session planned while the cohort was one-to-one (its kind fixed since) keeps its kind when moved: refused."""
    child = team.child()
    session = planned(client, team, child, TUESDAY_EVENING)
    team.cohort.kind = CohortKind.GROUP_ONLY
    db_session.commit()

    refused_as_group_only(reschedule(client, team, session["id"], WEDNESDAY_MORNING, if_match='"1"'))


@pytest.mark.parametrize("kind", ONE_TO_ONE_KINDS)
def test_a_weekly_pattern_of_one_to_one_or_phone_sessions_is_refused_for_a_child_in_a_group_only_cohort(
    client, team, group_only, kind
):
    child = team.child(cohort=group_only)
    body = {"slots": [{"weekday": 2, "start": "18:00"}], "duration_minutes": 60, "location_category": "community_venue"}

    refused_as_group_only(
        client.post(f"/enrolments/{child.id}/patterns", json=body | {"kind": kind}, headers=team.headers())
    )
    unsaid = client.post(f"/enrolments/{child.id}/patterns", json=body, headers=team.headers())
    refused_as_group_only(unsaid)  # a pattern is one-to-one unless said
    group = client.post(f"/enrolments/{child.id}/patterns", json=body | {"kind": "group"}, headers=team.headers())
    assert group.status_code == 201, group.json
    changed = client.put(
        f"/patterns/{group.json['id']}", json=body | {"kind": kind}, headers=team.headers(**{"If-Match": '"1"'})
    )
    refused_as_group_only(changed)


# --- capacity figures -------------------------------------------------------------------------------------------


def test_places_and_the_capacity_dashboard_show_each_cohorts_kind(client, team, group_only):
    """A commissioner sees group-only places apart from the one-to-one (Protect, Prevent) places."""
    commissioner = team.user(Role.COMMISSIONER)
    team.child(cohort=group_only)

    places = client.get(f"/programmes/{team.programme.id}/places", headers=team.headers(commissioner)).json
    dashboard = client.get(
        f"/programmes/{team.programme.id}/dashboards/places", headers=team.headers(commissioner)
    ).json["cohorts"]

    expected = {team.cohort.name: "one_to_one", group_only.name: "group_only"}
    assert {row["cohort_name"]: row["cohort_kind"] for row in places} == expected
    assert {row["cohort_name"]: row["cohort_kind"] for row in dashboard} == expected
