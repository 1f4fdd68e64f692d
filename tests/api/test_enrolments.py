"""Places, the waitlist, offers, ending, moving and caseloads over HTTP."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from api.accounts.models import AppUser
from api.actors import Role
from api.caseloads.models import Allocation
from api.enrolments.models import Enrolment
from api.enrolments.rules import Priority
from api.programmes.models import Cohort, Programme
from tests.builders import admit_child, allocate, auth_headers, make_cohort, make_programme, make_user
from tests.conftest import DEFAULT_NOW
from tests.times import iso


class Programme_:
    """A programme with two cohorts and its staff, and a way to put children in them."""

    def __init__(self, db_session: Session, *, places: int = 1, other_places: int = 2, offer_lapse_hours: int = 72):
        self.db_session = db_session
        self.programme: Programme = make_programme(db_session, offer_lapse_hours=offer_lapse_hours)
        self.cohort: Cohort = make_cohort(db_session, programme=self.programme, places=places, planned_weeks=52)
        self.other: Cohort = make_cohort(db_session, programme=self.programme, places=other_places, planned_weeks=26)
        self.coordinator: AppUser = make_user(db_session, Role.COORDINATOR, programme=self.programme)
        self.mentor: AppUser = make_user(db_session, Role.MENTOR, programme=self.programme, max_caseload=2)
        self._minute = 0

    def admit(self, cohort: Cohort | None = None, **overrides) -> Enrolment:
        self._minute += 1
        return admit_child(
            self.db_session,
            cohort=cohort or self.cohort,
            by=self.coordinator,
            now=DEFAULT_NOW + timedelta(minutes=self._minute),
            **overrides,
        )

    def headers(self, user: AppUser | None = None, *, now=DEFAULT_NOW) -> dict[str, str]:
        return auth_headers(self.db_session, user or self.coordinator, now=now)

    def user(self, role: Role, **overrides) -> AppUser:
        return make_user(self.db_session, role, programme=None if role is Role.ADMIN else self.programme, **overrides)


@pytest.fixture()
def setting(db_session) -> Programme_:
    return Programme_(db_session)


def reload(db_session: Session, record):
    db_session.refresh(record)
    return record


def assert_places_invariants(client, setting: Programme_, headers: dict[str, str] | None = None) -> None:
    response = client.get(f"/programmes/{setting.programme.id}/places", headers=headers or setting.headers())
    assert response.status_code == 200
    for cohort in response.json:
        taken = cohort["active"] + cohort["offered"]
        assert taken <= cohort["places"]
        assert cohort["free"] == cohort["places"] - taken
        if cohort["free"]:
            assert cohort["waitlisted"] == 0


def error(response) -> tuple[int, str]:
    return response.status_code, response.json["reason"]


# --- places summary ------------------------------------------------------------------------------------------


def places_by_cohort(response) -> dict[str, dict]:
    return {row["cohort_name"]: row for row in response.json}


def test_a_coordinator_sees_exact_places_for_every_cohort(client, db_session, setting):
    active = setting.admit()
    setting.admit()
    setting.admit()
    client.post(f"/enrolments/{active.id}/end", json={"reason": "completed"}, headers=setting.headers())

    response = client.get(f"/programmes/{setting.programme.id}/places", headers=setting.headers())

    assert response.status_code == 200
    rows = places_by_cohort(response)
    assert rows[setting.cohort.name] == {
        "cohort_id": str(setting.cohort.id),
        "cohort_name": setting.cohort.name,
        "cohort_kind": "one_to_one",
        "places": 1,
        "active": 0,
        "offered": 1,
        "free": 0,
        "waitlisted": 1,
    }
    assert rows[setting.other.name] | {"cohort_id": None} == {
        "cohort_id": None,
        "cohort_name": setting.other.name,
        "cohort_kind": "one_to_one",
        "places": 2,
        "active": 0,
        "offered": 0,
        "free": 2,
        "waitlisted": 0,
    }


def test_a_commissioner_sees_small_counts_as_less_than_five_and_free_withheld(client, db_session):
    setting = Programme_(db_session, places=3, other_places=1)
    for _ in range(5):
        setting.admit()
    commissioner = setting.user(Role.COMMISSIONER)

    response = client.get(f"/programmes/{setting.programme.id}/places", headers=setting.headers(commissioner))

    assert response.status_code == 200
    rows = places_by_cohort(response)
    assert {key: rows[setting.cohort.name][key] for key in ("places", "active", "offered", "free", "waitlisted")} == {
        "places": 3,
        "active": "<5",
        "offered": 0,
        "free": None,
        "waitlisted": "<5",
    }
    assert {key: rows[setting.other.name][key] for key in ("places", "active", "offered", "free", "waitlisted")} == {
        "places": 1,
        "active": 0,
        "offered": 0,
        "free": 1,
        "waitlisted": 0,
    }


def test_a_commissioner_sees_counts_of_five_and_more_exactly(client, db_session):
    setting = Programme_(db_session, places=6)
    for _ in range(6):
        setting.admit()
    commissioner = setting.user(Role.COMMISSIONER)

    response = client.get(f"/programmes/{setting.programme.id}/places", headers=setting.headers(commissioner))

    row = places_by_cohort(response)[setting.cohort.name]
    assert (row["active"], row["offered"], row["free"], row["waitlisted"]) == (6, 0, 0, 0)


def test_a_commissioner_does_not_see_free_places_when_only_the_offers_are_few(client, db_session):
    setting = Programme_(db_session, places=7)
    enrolments = [setting.admit() for _ in range(8)]
    client.post(f"/enrolments/{enrolments[0].id}/end", json={"reason": "completed"}, headers=setting.headers())
    commissioner = setting.user(Role.COMMISSIONER)

    response = client.get(f"/programmes/{setting.programme.id}/places", headers=setting.headers(commissioner))

    row = places_by_cohort(response)[setting.cohort.name]
    assert (row["active"], row["offered"], row["free"], row["waitlisted"]) == (6, "<5", None, 0)


def test_the_places_of_another_programme_are_not_found(client, db_session, setting):
    stranger = make_user(db_session, Role.COMMISSIONER, programme=make_programme(db_session))

    response = client.get(f"/programmes/{setting.programme.id}/places", headers=setting.headers(stranger))

    assert error(response) == (404, "programme_not_found")


# --- admission through a referral ----------------------------------------------------------------------------


def test_accepting_a_referral_into_a_full_cohort_answers_with_the_waitlist_position(client, db_session, setting):
    setting.admit()
    setting.admit()
    waiting = setting.admit(priority=Priority.URGENT)

    response = client.get(f"/enrolments/{waiting.id}", headers=setting.headers())

    assert response.status_code == 200
    body = response.json
    assert (body["status"], body["waitlist_position"], body["priority"]) == ("waitlisted", 1, "urgent")
    assert (body["started_at"], body["planned_end_on"], body["offered_at"]) == (None, None, None)


def test_an_active_enrolment_shows_when_support_started_and_is_planned_to_end(client, db_session, setting):
    active = setting.admit()

    body = client.get(f"/enrolments/{active.id}", headers=setting.headers()).json

    assert body["status"] == "active"
    assert body["started_at"] == iso(DEFAULT_NOW + timedelta(minutes=1))
    assert body["planned_end_on"] == "2027-11-22"
    assert body["waitlist_position"] is None


# --- the waitlist --------------------------------------------------------------------------------------------


def test_the_waitlist_shows_offers_first_then_children_in_priority_and_referral_date_order(client, db_session, setting):
    active = setting.admit()
    first_normal = setting.admit()
    later_normal = setting.admit()
    old_normal = setting.admit(referred_on=DEFAULT_NOW.date() - timedelta(days=30))
    high = setting.admit(priority=Priority.HIGH)
    urgent = setting.admit(priority=Priority.URGENT)
    client.post(f"/enrolments/{active.id}/end", json={"reason": "completed"}, headers=setting.headers())

    response = client.get(f"/cohorts/{setting.cohort.id}/waitlist", headers=setting.headers())

    assert response.status_code == 200
    assert [(row["enrolment_id"], row["status"], row["position"]) for row in response.json] == [
        (str(urgent.id), "offered", None),
        (str(high.id), "waitlisted", 1),
        (str(old_normal.id), "waitlisted", 2),
        (str(first_normal.id), "waitlisted", 3),
        (str(later_normal.id), "waitlisted", 4),
    ]
    offered = response.json[0]
    assert offered["offer_expires_at"] == iso(DEFAULT_NOW + timedelta(hours=72))
    assert offered["priority"] == "urgent"
    assert offered["child_reference"]


@pytest.mark.parametrize("role", [Role.MENTOR, Role.COMMISSIONER])
def test_only_staff_may_see_the_waitlist(client, db_session, setting, role):
    response = client.get(f"/cohorts/{setting.cohort.id}/waitlist", headers=setting.headers(setting.user(role)))

    assert error(response) == (403, "forbidden")


def test_the_waitlist_of_another_programmes_cohort_is_not_found(client, db_session, setting):
    stranger = make_user(db_session, Role.COORDINATOR, programme=make_programme(db_session))

    response = client.get(f"/cohorts/{setting.cohort.id}/waitlist", headers=setting.headers(stranger))

    assert error(response) == (404, "cohort_not_found")


def test_enrolments_can_be_listed_by_cohort_and_status(client, db_session, setting):
    setting.admit()
    first = setting.admit()
    second = setting.admit()
    setting.admit(setting.other)

    response = client.get(
        "/enrolments",
        query_string={"cohort_id": str(setting.cohort.id), "status": "waitlisted"},
        headers=setting.headers(),
    )

    assert response.status_code == 200
    assert {(row["id"], row["waitlist_position"]) for row in response.json} == {(str(first.id), 1), (str(second.id), 2)}


# --- changing priority ---------------------------------------------------------------------------------------


def test_raising_priority_moves_the_child_up_the_waitlist(client, db_session, setting):
    setting.admit()
    first = setting.admit()
    second = setting.admit()

    response = client.put(f"/enrolments/{second.id}/priority", json={"priority": "high"}, headers=setting.headers())

    assert response.status_code == 200
    assert (response.json["priority"], response.json["waitlist_position"]) == ("high", 1)
    assert client.get(f"/enrolments/{first.id}", headers=setting.headers()).json["waitlist_position"] == 2


def test_the_priority_of_a_child_not_waiting_cannot_be_changed(client, db_session, setting):
    active = setting.admit()

    response = client.put(f"/enrolments/{active.id}/priority", json={"priority": "urgent"}, headers=setting.headers())

    assert error(response) == (409, "not_on_waitlist")
    assert reload(db_session, active).priority is Priority.NORMAL


def test_an_unknown_priority_is_refused(client, db_session, setting):
    setting.admit()
    waiting = setting.admit()

    response = client.put(f"/enrolments/{waiting.id}/priority", json={"priority": "asap"}, headers=setting.headers())

    assert error(response) == (422, "invalid_request")
    assert "priority" in response.json["errors"]


# --- ending --------------------------------------------------------------------------------------------------


def test_ending_support_frees_the_place_and_offers_it_to_the_head_of_the_waitlist(client, db_session, clock, setting):
    active = setting.admit()
    normal = setting.admit()
    urgent = setting.admit(priority=Priority.URGENT)
    allocate(db_session, enrolment=active, mentor=setting.mentor, by=setting.coordinator)
    clock.advance(days=10)
    headers = setting.headers(now=clock.now())

    response = client.post(
        f"/enrolments/{active.id}/end", json={"reason": "disengaged", "note": "Stopped answering."}, headers=headers
    )

    assert response.status_code == 200
    body = response.json
    assert (body["status"], body["end_reason"], body["end_note"]) == ("ended", "disengaged", "Stopped answering.")
    assert body["ended_at"] == iso(clock.now())
    offered = client.get(f"/enrolments/{urgent.id}", headers=headers).json
    assert offered["status"] == "offered"
    assert offered["offered_at"] == iso(clock.now())
    assert offered["offer_expires_at"] == iso(clock.now() + timedelta(hours=72))
    assert client.get(f"/enrolments/{normal.id}", headers=headers).json["waitlist_position"] == 1
    allocations = client.get(f"/enrolments/{active.id}/allocations", headers=headers).json
    assert [(row["end_reason"], row["ended_at"]) for row in allocations] == [("enrolment_ended", iso(clock.now()))]
    assert_places_invariants(client, setting, headers)


@pytest.mark.parametrize("reason", ["completed", "disengaged", "moved_away", "stepped_down", "custody", "other"])
def test_support_can_be_ended_for_each_chosen_reason(client, db_session, setting, reason):
    active = setting.admit()

    response = client.post(f"/enrolments/{active.id}/end", json={"reason": reason}, headers=setting.headers())

    assert response.status_code == 200
    assert (response.json["status"], response.json["end_reason"], response.json["end_note"]) == ("ended", reason, None)


@pytest.mark.parametrize("body", [{"reason": "moved_cohort"}, {"reason": "bored"}, {}, {"reason": "other", "x": 1}])
def test_ending_support_needs_a_reason_a_coordinator_may_choose(client, db_session, setting, body):
    active = setting.admit()

    response = client.post(f"/enrolments/{active.id}/end", json=body, headers=setting.headers())

    assert error(response) == (422, "invalid_request")
    assert reload(db_session, active).ended_at is None


def test_ending_support_twice_is_refused(client, db_session, setting):
    active = setting.admit()
    client.post(f"/enrolments/{active.id}/end", json={"reason": "completed"}, headers=setting.headers())

    response = client.post(f"/enrolments/{active.id}/end", json={"reason": "other"}, headers=setting.headers())

    assert error(response) == (409, "enrolment_not_active")
    assert reload(db_session, active).end_reason.value == "completed"


def test_an_unknown_enrolment_is_not_found(client, db_session, setting):
    response = client.post(
        "/enrolments/00000000-0000-4000-8000-000000000000/end", json={"reason": "other"}, headers=setting.headers()
    )

    assert error(response) == (404, "enrolment_not_found")


# --- offers --------------------------------------------------------------------------------------------------


def offer(client, setting: Programme_, *, waiting: int = 2) -> list[Enrolment]:
    active = setting.admit()
    children = [setting.admit() for _ in range(waiting)]
    response = client.post(f"/enrolments/{active.id}/end", json={"reason": "completed"}, headers=setting.headers())
    assert response.status_code == 200
    return children


def test_confirming_an_offer_starts_support(client, db_session, clock, setting):
    offered, _ = offer(client, setting)
    clock.advance(hours=72, seconds=-1)
    headers = setting.headers(now=clock.now())

    response = client.post(f"/enrolments/{offered.id}/confirm-offer", headers=headers)

    assert response.status_code == 200
    assert (response.json["status"], response.json["started_at"]) == ("active", iso(clock.now()))
    assert response.json["planned_end_on"] == "2027-11-25"
    assert_places_invariants(client, setting, headers)


def test_confirming_after_the_offer_window_fails_but_the_place_passes_to_the_next_child(
    client, db_session, clock, setting
):
    offered, next_waiting = offer(client, setting)
    clock.advance(hours=73)
    headers = setting.headers(now=clock.now())

    response = client.post(f"/enrolments/{offered.id}/confirm-offer", headers=headers)

    assert error(response) == (409, "offer_lapsed")
    lapsed = client.get(f"/enrolments/{offered.id}", headers=headers).json
    assert (lapsed["status"], lapsed["started_at"]) == ("offer_lapsed", None)
    passed_on = client.get(f"/enrolments/{next_waiting.id}", headers=headers).json
    assert passed_on["status"] == "offered"
    assert passed_on["offer_expires_at"] == iso(clock.now() + timedelta(hours=72))
    assert_places_invariants(client, setting, headers)


def test_confirming_a_waiting_childs_place_is_refused(client, db_session, setting):
    setting.admit()
    waiting = setting.admit()

    response = client.post(f"/enrolments/{waiting.id}/confirm-offer", headers=setting.headers())

    assert error(response) == (409, "no_offer_to_confirm")
    assert reload(db_session, waiting).status.value == "waitlisted"


# --- withdrawing ---------------------------------------------------------------------------------------------


def test_withdrawing_a_waiting_child_records_why(client, db_session, setting):
    setting.admit()
    waiting, behind = setting.admit(), setting.admit()

    response = client.post(
        f"/enrolments/{waiting.id}/withdraw", json={"note": "Family moved."}, headers=setting.headers()
    )

    assert response.status_code == 200
    assert (response.json["status"], response.json["status_note"]) == ("withdrawn", "Family moved.")
    assert client.get(f"/enrolments/{behind.id}", headers=setting.headers()).json["waitlist_position"] == 1
    assert_places_invariants(client, setting)


def test_withdrawing_a_child_holding_an_offer_offers_the_place_to_the_next_child(client, db_session, setting):
    offered, next_waiting = offer(client, setting)

    response = client.post(f"/enrolments/{offered.id}/withdraw", json={"note": "Declined."}, headers=setting.headers())

    assert response.status_code == 200
    assert response.json["status"] == "withdrawn"
    assert client.get(f"/enrolments/{next_waiting.id}", headers=setting.headers()).json["status"] == "offered"
    assert_places_invariants(client, setting)


@pytest.mark.parametrize("body", [{}, {"note": "   "}])
def test_withdrawing_needs_a_note(client, db_session, setting, body):
    setting.admit()
    waiting = setting.admit()

    response = client.post(f"/enrolments/{waiting.id}/withdraw", json=body, headers=setting.headers())

    assert error(response) == (422, "invalid_request")
    assert "note" in response.json["errors"]
    assert reload(db_session, waiting).status.value == "waitlisted"


def test_an_active_child_cannot_be_withdrawn_from_the_waitlist(client, db_session, setting):
    active = setting.admit()

    response = client.post(f"/enrolments/{active.id}/withdraw", json={"note": "No."}, headers=setting.headers())

    assert error(response) == (409, "not_on_waitlist")


# --- changing a cohort's places ------------------------------------------------------------------------------


def test_raising_a_cohorts_places_offers_them_to_the_waitlist_at_once(client, db_session, setting):
    setting.admit()
    first, second, third = setting.admit(), setting.admit(), setting.admit()
    admin = setting.user(Role.ADMIN)

    response = client.patch(f"/cohorts/{setting.cohort.id}", json={"places": 3}, headers=setting.headers(admin))

    assert response.status_code == 200
    assert response.json["places"] == 3
    statuses = [
        client.get(f"/enrolments/{e.id}", headers=setting.headers()).json["status"] for e in (first, second, third)
    ]
    assert statuses == ["offered", "offered", "waitlisted"]
    assert_places_invariants(client, setting)


def test_cutting_places_below_those_taken_is_refused_and_nothing_changes(client, db_session):
    setting = Programme_(db_session, places=3)
    for _ in range(4):
        setting.admit()
    admin = setting.user(Role.ADMIN)

    response = client.patch(
        f"/cohorts/{setting.cohort.id}", json={"places": 2, "name": "Renamed"}, headers=setting.headers(admin)
    )

    assert error(response) == (409, "places_below_taken")
    assert response.json["places_taken"] == 3
    cohort = reload(db_session, setting.cohort)
    assert (cohort.places, cohort.name) != (2, "Renamed")
    assert cohort.places == 3
    assert_places_invariants(client, setting)


def test_only_an_admin_may_change_a_cohorts_places(client, db_session, setting):
    response = client.patch(f"/cohorts/{setting.cohort.id}", json={"places": 10}, headers=setting.headers())

    assert error(response) == (403, "forbidden")
    assert reload(db_session, setting.cohort).places == 1


def test_a_cohort_cannot_have_negative_places(client, db_session, setting):
    admin = setting.user(Role.ADMIN)

    response = client.patch(f"/cohorts/{setting.cohort.id}", json={"places": -1}, headers=setting.headers(admin))

    assert error(response) == (422, "invalid_request")


# --- moving --------------------------------------------------------------------------------------------------


def test_moving_a_child_keeps_their_key_worker_and_offers_their_old_place(client, db_session, clock, setting):
    active = setting.admit()
    waiting = setting.admit()
    allocate(db_session, enrolment=active, mentor=setting.mentor, by=setting.coordinator)
    clock.advance(days=7)
    headers = setting.headers(now=clock.now())

    response = client.post(
        f"/enrolments/{active.id}/move",
        json={"cohort_id": str(setting.other.id), "note": "Step down."},
        headers=headers,
    )

    assert response.status_code == 201
    moved = response.json
    assert (moved["cohort_id"], moved["status"], moved["moved_from_enrolment_id"]) == (
        str(setting.other.id),
        "active",
        str(active.id),
    )
    assert moved["started_at"] == iso(clock.now())
    assert moved["planned_end_on"] == "2027-05-31"
    old = client.get(f"/enrolments/{active.id}", headers=headers).json
    assert (old["status"], old["end_reason"]) == ("ended", "moved_cohort")
    old_allocations = client.get(f"/enrolments/{active.id}/allocations", headers=headers).json
    assert [row["end_reason"] for row in old_allocations] == ["moved_cohort"]
    new_allocations = client.get(f"/enrolments/{moved['id']}/allocations", headers=headers).json
    assert [(row["mentor_id"], row["ended_at"]) for row in new_allocations] == [(str(setting.mentor.id), None)]
    mentors = {row["mentor_id"]: row for row in client.get("/mentors", headers=headers).json}
    assert mentors[str(setting.mentor.id)]["caseload"] == 1
    assert client.get(f"/enrolments/{waiting.id}", headers=headers).json["status"] == "offered"
    assert_places_invariants(client, setting, headers)


def test_moving_into_a_full_cohort_is_refused_and_nothing_changes(client, db_session):
    setting = Programme_(db_session, places=1, other_places=1)
    active = setting.admit()
    waiting = setting.admit()
    setting.admit(setting.other)
    allocate(db_session, enrolment=active, mentor=setting.mentor, by=setting.coordinator)
    enrolments_before = db_session.scalar(select(func.count()).select_from(Enrolment))

    response = client.post(
        f"/enrolments/{active.id}/move", json={"cohort_id": str(setting.other.id)}, headers=setting.headers()
    )

    assert error(response) == (409, "cohort_full")
    assert (response.json["places"], response.json["places_taken"]) == (1, 1)
    assert db_session.scalar(select(func.count()).select_from(Enrolment)) == enrolments_before
    assert reload(db_session, active).status.value == "active"
    assert active.end_reason is None
    assert reload(db_session, waiting).status.value == "waitlisted"
    allocations = db_session.scalars(select(Allocation).where(Allocation.enrolment_id == active.id)).all()
    assert [(a.mentor_id, a.ended_at) for a in allocations] == [(setting.mentor.id, None)]
    assert_places_invariants(client, setting)


def test_moving_a_child_to_the_cohort_they_are_in_is_refused(client, db_session, setting):
    active = setting.admit()

    response = client.post(
        f"/enrolments/{active.id}/move", json={"cohort_id": str(setting.cohort.id)}, headers=setting.headers()
    )

    assert error(response) == (409, "same_cohort")


def test_moving_a_child_to_another_programmes_cohort_is_not_found(client, db_session, setting):
    active = setting.admit()
    elsewhere = make_cohort(db_session, places=10)

    response = client.post(
        f"/enrolments/{active.id}/move", json={"cohort_id": str(elsewhere.id)}, headers=setting.headers()
    )

    assert error(response) == (404, "cohort_not_found")
    assert reload(db_session, active).status.value == "active"


def test_moving_a_waiting_child_is_refused(client, db_session, setting):
    setting.admit()
    waiting = setting.admit()

    response = client.post(
        f"/enrolments/{waiting.id}/move", json={"cohort_id": str(setting.other.id)}, headers=setting.headers()
    )

    assert error(response) == (409, "enrolment_not_active")


# --- caseloads -----------------------------------------------------------------------------------------------


def test_allocating_a_key_worker_shows_on_their_caseload(client, db_session, setting):
    active = setting.admit()

    response = client.put(
        f"/enrolments/{active.id}/allocation", json={"mentor_id": str(setting.mentor.id)}, headers=setting.headers()
    )

    assert response.status_code == 200
    assert (response.json["enrolment_id"], response.json["mentor_id"]) == (str(active.id), str(setting.mentor.id))
    assert (response.json["started_at"], response.json["ended_at"], response.json["end_reason"]) == (
        iso(DEFAULT_NOW),
        None,
        None,
    )
    mentors = client.get("/mentors", headers=setting.headers()).json
    assert mentors == [
        {
            "mentor_id": str(setting.mentor.id),
            "display_name": setting.mentor.display_name,
            "is_active": True,
            "caseload": 1,
            "max_caseload": 2,
        }
    ]


def test_a_mentor_at_their_maximum_caseload_cannot_be_allocated_another_child(client, db_session):
    setting = Programme_(db_session, places=5)
    first, second, third = setting.admit(), setting.admit(), setting.admit()
    allocate(db_session, enrolment=first, mentor=setting.mentor, by=setting.coordinator)
    allocate(db_session, enrolment=second, mentor=setting.mentor, by=setting.coordinator)

    response = client.put(
        f"/enrolments/{third.id}/allocation", json={"mentor_id": str(setting.mentor.id)}, headers=setting.headers()
    )

    assert error(response) == (409, "mentor_caseload_full")
    assert (response.json["caseload"], response.json["max_caseload"]) == (2, 2)
    assert client.get(f"/enrolments/{third.id}/allocations", headers=setting.headers()).json == []


def test_reallocating_keeps_the_history_oldest_first(client, db_session, clock, setting):
    active = setting.admit()
    second_mentor = setting.user(Role.MENTOR)
    client.put(
        f"/enrolments/{active.id}/allocation", json={"mentor_id": str(setting.mentor.id)}, headers=setting.headers()
    )
    clock.advance(days=2)
    headers = setting.headers(now=clock.now())

    response = client.put(
        f"/enrolments/{active.id}/allocation", json={"mentor_id": str(second_mentor.id)}, headers=headers
    )

    assert response.status_code == 200
    history = client.get(f"/enrolments/{active.id}/allocations", headers=headers).json
    assert [(row["mentor_id"], row["ended_at"], row["end_reason"]) for row in history] == [
        (str(setting.mentor.id), iso(clock.now()), "reallocated"),
        (str(second_mentor.id), None, None),
    ]
    caseloads = {row["mentor_id"]: row["caseload"] for row in client.get("/mentors", headers=headers).json}
    assert caseloads == {str(setting.mentor.id): 0, str(second_mentor.id): 1}


def test_allocating_the_same_mentor_again_is_refused(client, db_session, setting):
    active = setting.admit()
    allocate(db_session, enrolment=active, mentor=setting.mentor, by=setting.coordinator)

    response = client.put(
        f"/enrolments/{active.id}/allocation", json={"mentor_id": str(setting.mentor.id)}, headers=setting.headers()
    )

    assert error(response) == (409, "already_allocated")
    assert len(client.get(f"/enrolments/{active.id}/allocations", headers=setting.headers()).json) == 1


@pytest.mark.parametrize("who", ["other_programme", "inactive", "coordinator", "unknown"])
def test_allocating_someone_who_is_not_an_active_mentor_of_the_programme_is_not_found(client, db_session, setting, who):
    active = setting.admit()
    mentor_id = {
        "other_programme": lambda: make_user(db_session, Role.MENTOR, programme=make_programme(db_session)).id,
        "inactive": lambda: setting.user(Role.MENTOR, is_active=False).id,
        "coordinator": lambda: setting.coordinator.id,
        "unknown": lambda: "00000000-0000-4000-8000-000000000000",
    }[who]()

    response = client.put(
        f"/enrolments/{active.id}/allocation", json={"mentor_id": str(mentor_id)}, headers=setting.headers()
    )

    assert error(response) == (404, "mentor_not_found")


def test_a_waiting_child_cannot_be_allocated_a_key_worker(client, db_session, setting):
    setting.admit()
    waiting = setting.admit()

    response = client.put(
        f"/enrolments/{waiting.id}/allocation", json={"mentor_id": str(setting.mentor.id)}, headers=setting.headers()
    )

    assert error(response) == (409, "enrolment_not_allocatable")


def test_a_coordinator_of_another_programme_cannot_see_or_allocate_the_enrolment(client, db_session, setting):
    active = setting.admit()
    stranger = make_user(db_session, Role.COORDINATOR, programme=make_programme(db_session))
    headers = setting.headers(stranger)

    allocation = client.put(
        f"/enrolments/{active.id}/allocation", json={"mentor_id": str(setting.mentor.id)}, headers=headers
    )
    history = client.get(f"/enrolments/{active.id}/allocations", headers=headers)
    enrolment = client.get(f"/enrolments/{active.id}", headers=headers)
    ended = client.post(f"/enrolments/{active.id}/end", json={"reason": "other"}, headers=headers)

    assert error(allocation) == (404, "enrolment_not_found")
    assert error(history) == (404, "enrolment_not_found")
    assert error(enrolment) == (404, "enrolment_not_found")
    assert error(ended) == (404, "enrolment_not_found")
    assert reload(db_session, active).status.value == "active"


def test_the_mentor_list_shows_only_the_programmes_mentors(client, db_session, setting):
    make_user(db_session, Role.MENTOR, programme=make_programme(db_session))

    response = client.get("/mentors", headers=setting.headers())

    assert [row["mentor_id"] for row in response.json] == [str(setting.mentor.id)]


@pytest.mark.parametrize("role", [Role.MENTOR, Role.COMMISSIONER])
def test_mentors_and_commissioners_may_not_use_the_caseload_or_enrolment_endpoints(client, db_session, setting, role):
    active = setting.admit()
    headers = setting.headers(setting.user(role))
    calls = [
        client.get("/mentors", headers=headers),
        client.put(f"/enrolments/{active.id}/allocation", json={"mentor_id": str(setting.mentor.id)}, headers=headers),
        client.get(f"/enrolments/{active.id}/allocations", headers=headers),
        client.get("/enrolments", headers=headers),
        client.get(f"/enrolments/{active.id}", headers=headers),
        client.post(f"/enrolments/{active.id}/end", json={"reason": "other"}, headers=headers),
        client.post(f"/enrolments/{active.id}/move", json={"cohort_id": str(setting.other.id)}, headers=headers),
        client.post(f"/enrolments/{active.id}/withdraw", json={"note": "x"}, headers=headers),
        client.post(f"/enrolments/{active.id}/confirm-offer", headers=headers),
        client.put(f"/enrolments/{active.id}/priority", json={"priority": "urgent"}, headers=headers),
    ]

    assert [error(response) for response in calls] == [(403, "forbidden")] * len(calls)
    assert reload(db_session, active).status.value == "active"


def test_the_enrolment_endpoints_need_a_bearer_token(client, db_session, setting):
    active = setting.admit()

    response = client.post(f"/enrolments/{active.id}/end", json={"reason": "other"})

    assert response.status_code == 401
    assert reload(db_session, active).status.value == "active"
