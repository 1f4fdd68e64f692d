"""The weekly cap over HTTP: up to the cohort's max_sessions_per_week sessions per child per ISO week in
Europe/London time, across every mentor and group session; a coordinator may raise one child's cap for one week.

The default clock stands on Monday 23 November 2026, 14:00 UTC (GMT): week 2026-W48 runs from Monday
23 November to Sunday 29 November. Tests about summer time or the changeover weekends move the clock.
"""

from __future__ import annotations

import uuid
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import func, select

from api.accounts.models import AppUser
from api.actors import Role
from api.audit.models import AuditEvent
from api.enrolments.models import Enrolment
from api.sessions.models import WeeklyCapOverride
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
    patch,
    plan,
    planned,
    sessions_of,
)
from tests.builders import Team, iso, make_programme, make_user, utc
from tests.conftest import DEFAULT_NOW


@pytest.fixture()
def team(db_session, clock) -> Team:
    return Team(db_session, clock, enrolled_from=ENROLLED_FROM)


# --- counting ------------------------------------------------------------------------------------------


def test_a_fourth_session_in_one_week_is_refused_when_the_cap_is_three(client, db_session, team):
    enrolment = team.child()
    fill_week(client, team, enrolment)

    response = plan(client, team, enrolment, FRIDAY_AFTERNOON)

    assert cap_refusal(response) == {"week": "2026-W48", "sessions_in_week": 3, "max_sessions": 3}
    assert response.json["child_id"] == str(enrolment.child_id)
    assert sessions_of(db_session, enrolment) == 3


def test_the_cap_is_the_cohorts_maximum_sessions_per_week(client, db_session, clock):
    team = Team(db_session, clock, max_sessions_per_week=1, enrolled_from=ENROLLED_FROM)
    enrolment = team.child()
    planned(client, team, enrolment, TUESDAY_EVENING)

    response = plan(client, team, enrolment, WEDNESDAY_MORNING)

    assert cap_refusal(response) == {"week": "2026-W48", "sessions_in_week": 1, "max_sessions": 1}


def test_a_full_week_does_not_stop_sessions_in_the_next_week(client, team):
    enrolment = team.child()
    fill_week(client, team, enrolment)

    body = planned(client, team, enrolment, NEXT_TUESDAY)

    assert body["week"] == "2026-W49"


def test_a_full_week_for_one_child_does_not_stop_another_child(client, team):
    full, other = team.child(), team.child()
    fill_week(client, team, full)

    assert plan(client, team, other, FRIDAY_AFTERNOON).status_code == 201


@pytest.mark.parametrize("cancelled", ["cancelled_by_child", "cancelled_by_mentor"])
def test_a_cancelled_session_frees_its_slot_in_the_week(client, team, cancelled):
    enrolment = team.child()
    first, _, _ = fill_week(client, team, enrolment)

    cancel = patch(client, team, first["id"], {"status": cancelled}, if_match='"1"')

    assert cancel.status_code == 200
    assert cancel.json["status"] == cancelled
    assert plan(client, team, enrolment, FRIDAY_AFTERNOON).status_code == 201
    assert cap_refusal(plan(client, team, enrolment, SATURDAY_MORNING))["sessions_in_week"] == 3


@pytest.mark.parametrize("status", ["completed", "did_not_attend"])
def test_sessions_that_happened_or_were_missed_still_count_towards_the_cap(client, team, status):
    enrolment = team.child()
    first, _, _ = fill_week(client, team, enrolment)
    team.travel_to(TUESDAY_EVENING + timedelta(hours=1))
    assert patch(client, team, first["id"], {"status": status}, if_match='"1"').status_code == 200

    assert cap_refusal(plan(client, team, enrolment, FRIDAY_AFTERNOON))["sessions_in_week"] == 3


def test_a_session_at_2330_utc_on_a_summer_sunday_counts_in_the_next_london_week(client, team):
    enrolment = team.child()
    team.travel_to(utc(2027, 6, 1, 9))
    # Week 2027-W23: Monday 7 to Sunday 13 June 2027.
    fill_week(client, team, enrolment, starts=(utc(2027, 6, 8, 16), utc(2027, 6, 9, 16), utc(2027, 6, 10, 16)))

    # Sunday 6 June, 23:30 UTC is Monday 7 June, 00:30 BST.
    refused = plan(client, team, enrolment, utc(2027, 6, 6, 23, 30))
    # Sunday 6 June, 22:30 UTC is still Sunday in London: the week before.
    allowed = plan(client, team, enrolment, utc(2027, 6, 6, 22, 30))

    assert cap_refusal(refused) == {"week": "2027-W23", "sessions_in_week": 3, "max_sessions": 3}
    assert allowed.status_code == 201
    assert (allowed.json["week"], allowed.json["is_weekend"]) == ("2027-W22", True)


def test_the_cap_counts_sessions_led_by_different_mentors(client, team):
    enrolment = team.child()
    cover = team.new_mentor()
    planned(client, team, enrolment, TUESDAY_EVENING)
    planned(client, team, enrolment, WEDNESDAY_MORNING, by=team.coordinator, mentor_id=str(cover.id))
    planned(client, team, enrolment, THURSDAY_AFTERNOON, by=team.coordinator)

    response = plan(client, team, enrolment, FRIDAY_AFTERNOON)

    assert cap_refusal(response) == {"week": "2026-W48", "sessions_in_week": 3, "max_sessions": 3}


def test_the_cap_counts_group_sessions_for_each_child_at_them(client, db_session, team):
    busy, quiet = team.child(), team.child()
    planned(client, team, busy, TUESDAY_EVENING)
    planned(client, team, busy, WEDNESDAY_MORNING)
    planned(client, team, [busy, quiet], THURSDAY_AFTERNOON)

    refused = plan(client, team, busy, FRIDAY_AFTERNOON)
    allowed = plan(client, team, quiet, FRIDAY_AFTERNOON)

    assert cap_refusal(refused) == {"week": "2026-W48", "sessions_in_week": 3, "max_sessions": 3}
    assert allowed.status_code == 201
    assert sessions_of(db_session, quiet) == 2


def test_a_group_session_is_refused_for_everyone_when_one_child_is_at_their_cap(client, db_session, team):
    full, free = team.child(), team.child()
    fill_week(client, team, full)

    response = plan(client, team, [free, full], FRIDAY_AFTERNOON)

    assert cap_refusal(response) == {"week": "2026-W48", "sessions_in_week": 3, "max_sessions": 3}
    assert response.json["child_id"] == str(full.child_id)
    assert sessions_of(db_session, free) == 0


class TestWeeklyCapOverride:
    def put_override(self, client, team: Team, enrolment: Enrolment, *, by: AppUser | None = None, **fields: Any):
        body = {"week": "2026-W48", "max_sessions": 4, "reason": "Court hearing this week; extra support."} | fields
        return client.put(
            f"/enrolments/{enrolment.id}/weekly-cap-overrides", json=body, headers=team.headers(by or team.coordinator)
        )

    def test_a_coordinator_raises_one_childs_cap_for_one_week(self, client, team):
        enrolment = team.child()

        response = self.put_override(client, team, enrolment)

        assert response.status_code == 200
        body = response.json
        assert uuid.UUID(body["id"])
        assert {key: body[key] for key in body if key != "id"} == {
            "enrolment_id": str(enrolment.id),
            "week": "2026-W48",
            "max_sessions": 4,
            "reason": "Court hearing this week; extra support.",
            "created_at": iso(DEFAULT_NOW),
        }

    def test_an_override_allows_a_fourth_session_in_that_week_only(self, client, team):
        enrolment = team.child()
        fill_week(client, team, enrolment)
        fill_week(client, team, enrolment, starts=(utc(2026, 12, 1, 10), utc(2026, 12, 2, 10), utc(2026, 12, 3, 10)))
        assert self.put_override(client, team, enrolment).status_code == 200

        fourth = plan(client, team, enrolment, FRIDAY_AFTERNOON)
        fifth = plan(client, team, enrolment, SATURDAY_MORNING)
        next_weeks_fourth = plan(client, team, enrolment, utc(2026, 12, 4, 10))

        assert fourth.status_code == 201
        assert cap_refusal(fifth) == {"week": "2026-W48", "sessions_in_week": 4, "max_sessions": 4}
        assert cap_refusal(next_weeks_fourth) == {"week": "2026-W49", "sessions_in_week": 3, "max_sessions": 3}

    def test_an_override_applies_to_that_child_only(self, client, team):
        raised, other = team.child(), team.child()
        fill_week(client, team, other)
        assert self.put_override(client, team, raised).status_code == 200

        assert cap_refusal(plan(client, team, other, FRIDAY_AFTERNOON))["max_sessions"] == 3

    def test_an_override_is_audited_with_who_set_it(self, client, db_session, team):
        enrolment = team.child()

        body = self.put_override(client, team, enrolment).json

        events = db_session.scalars(select(AuditEvent).where(AuditEvent.action == "weekly_cap_override.set")).all()
        assert [
            (event.record_type, event.record_id, event.child_id, event.actor_user_id, event.actor_role)
            for event in events
        ] == [
            (
                "weekly_cap_override",
                uuid.UUID(body["id"]),
                enrolment.child_id,
                team.coordinator.id,
                Role.COORDINATOR,
            )
        ]

    def test_setting_the_override_again_replaces_it(self, client, db_session, team):
        enrolment = team.child()
        first = self.put_override(client, team, enrolment).json

        second = self.put_override(client, team, enrolment, max_sessions=5, reason="Hearing moved; more support.")

        assert second.status_code == 200
        assert (second.json["id"], second.json["max_sessions"], second.json["reason"]) == (
            first["id"],
            5,
            "Hearing moved; more support.",
        )
        assert (
            db_session.scalar(
                select(func.count())
                .select_from(WeeklyCapOverride)
                .where(WeeklyCapOverride.enrolment_id == enrolment.id)
            )
            == 1
        )

    def test_a_mentor_may_not_raise_the_cap(self, client, db_session, team):
        enrolment = team.child()

        response = self.put_override(client, team, enrolment, by=team.mentor)

        assert response.status_code == 403
        assert db_session.scalar(select(func.count()).select_from(WeeklyCapOverride)) == 0

    def test_a_coordinator_of_another_programme_cannot_raise_the_cap(self, client, db_session, team):
        enrolment = team.child()
        outsider = make_user(db_session, Role.COORDINATOR, programme=make_programme(db_session))

        response = self.put_override(client, team, enrolment, by=outsider)

        assert error(response) == (404, "enrolment_not_found")

    @pytest.mark.parametrize("week", ["2026-48", "2026-W54", "2026-W00", "W48"])
    def test_an_override_names_a_real_iso_week(self, client, team, week):
        response = self.put_override(client, team, team.child(), week=week)

        assert error(response) == (422, "invalid_request")
        assert "week" in response.json["errors"]

    def test_an_override_needs_a_reason(self, client, team):
        response = self.put_override(client, team, team.child(), reason="   ")

        assert error(response) == (422, "invalid_request")
        assert "reason" in response.json["errors"]


class TestChangeoverWeeks:
    """Tuesday 18:00 in London is 18:00 UTC in GMT and 17:00 UTC in BST; both are evenings. Each test runs for
    the last Sunday of March 2027 (GMT to BST at 01:00 UTC) and of October 2026 (BST to GMT)."""

    @pytest.mark.parametrize(
        ("arrive", "tuesday", "wednesday", "sunday", "late_sunday", "week"),
        [
            pytest.param(
                utc(2027, 3, 20, 9),
                utc(2027, 3, 23, 18),  # 18:00 GMT
                utc(2027, 3, 24, 16, 59),  # 16:59 GMT
                utc(2027, 3, 28, 17),  # 18:00 BST, after the change
                utc(2027, 3, 28, 22, 30),  # 23:30 BST, still Sunday
                "2027-W12",
                id="march",
            ),
            pytest.param(
                utc(2026, 10, 17, 9),
                utc(2026, 10, 20, 17),  # 18:00 BST
                utc(2026, 10, 21, 15, 59),  # 16:59 BST
                utc(2026, 10, 25, 18),  # 18:00 GMT, after the change
                utc(2026, 10, 25, 23, 30),  # 23:30 GMT, still Sunday
                "2026-W43",
                id="october",
            ),
        ],
    )
    def test_the_week_containing_the_last_sunday_counts_sessions_either_side_of_the_change(
        self, client, team, arrive, tuesday, wednesday, sunday, late_sunday, week
    ):
        enrolment = team.child()
        team.travel_to(arrive)

        bodies = [planned(client, team, enrolment, start) for start in (tuesday, wednesday, sunday)]
        late = plan(client, team, enrolment, late_sunday)

        assert [(body["week"], body["is_evening"], body["is_weekend"]) for body in bodies] == [
            (week, True, False),
            (week, False, False),
            (week, True, True),
        ]
        assert cap_refusal(late) == {"week": week, "sessions_in_week": 3, "max_sessions": 3}

    @pytest.mark.parametrize(
        ("arrive", "full_week", "monday", "next_week"),
        [
            pytest.param(
                utc(2027, 3, 20, 9),
                (utc(2027, 3, 23, 18), utc(2027, 3, 24, 18), utc(2027, 3, 25, 18)),
                utc(2027, 3, 28, 23, 30),  # 23:30 UTC on the changeover Sunday is 00:30 BST on Monday
                "2027-W13",
                id="march",
            ),
            pytest.param(
                utc(2026, 10, 17, 9),
                (utc(2026, 10, 20, 17), utc(2026, 10, 21, 17), utc(2026, 10, 22, 17)),
                utc(2026, 10, 26, 0, 0),  # midnight GMT on the Monday after the change
                "2026-W44",
                id="october",
            ),
        ],
    )
    def test_the_monday_after_the_change_is_in_the_next_week(self, client, team, arrive, full_week, monday, next_week):
        enrolment = team.child()
        team.travel_to(arrive)
        fill_week(client, team, enrolment, starts=full_week)

        body = planned(client, team, enrolment, monday)

        assert (body["week"], body["is_evening"], body["is_weekend"]) == (next_week, False, False)

    @pytest.mark.parametrize(
        ("arrive", "london_1800", "week"),
        [
            pytest.param(utc(2027, 3, 27, 9), utc(2027, 3, 30, 17), "2027-W13", id="march-1700-utc"),
            pytest.param(utc(2026, 10, 24, 9), utc(2026, 10, 27, 18), "2026-W44", id="october-1800-utc"),
        ],
    )
    def test_tuesday_1800_in_london_after_the_change_is_an_evening(self, client, team, arrive, london_1800, week):
        enrolment = team.child()
        team.travel_to(arrive)

        body = planned(client, team, enrolment, london_1800)

        assert (body["week"], body["is_evening"]) == (week, True)
