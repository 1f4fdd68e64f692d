"""The group-delivery dashboard: series run, children starting and completing them (by their own register lines,
against the series' K), attendance and carers per session, small-number suppression, scope, period and roles."""

from __future__ import annotations

import csv
import io
from datetime import date

import pytest
from sqlalchemy import event

from api.actors import Role
from api.children.models import Child
from api.sessions.register_rules import Attendance
from api.sessions.rules import SessionStatus
from tests.api.dashboard_world import add_series, at
from tests.builders import admit_child, auth_headers, make_cohort, make_programme, make_user

HELD = SessionStatus.COMPLETED
WEEKS = [date(2026, 3, 2), date(2026, 3, 9), date(2026, 3, 16), date(2026, 3, 23)]
PERIOD = "since=2026-01-01&until=2026-06-30"


class Programme:
    """Five children in a series of four weekly sessions (K = 3): child 1 did not come to the second session, child
    4 came to the first, cancelled the second and left; three carers came to the first session."""

    def __init__(self, db_session):
        self.db_session = db_session
        self.programme = make_programme(db_session)
        self.coordinator = make_user(db_session, Role.COORDINATOR, programme=self.programme)
        self.commissioner = make_user(db_session, Role.COMMISSIONER, programme=self.programme)
        self.mentor = make_user(db_session, Role.MENTOR, programme=self.programme)
        self.admin = make_user(db_session, Role.ADMIN)
        self.cohort = make_cohort(db_session, programme=self.programme, places=20)
        self.children = [admit_child(db_session, cohort=self.cohort, by=self.coordinator) for _ in range(5)]
        self.series = self.add_series(
            name="Safer choices",
            sessions=[
                (at(WEEKS[0], 17), HELD, {}),
                (at(WEEKS[1], 17), HELD, {1: Attendance.DID_NOT_ATTEND, 4: Attendance.CANCELLED_BY_CHILD}),
                (at(WEEKS[2], 17), HELD, {}),
                (at(WEEKS[3], 17), HELD, {}),
            ],
            left={4: at(WEEKS[1], 20)},
            carers={0: 3},
        )

    def add_series(self, **kwargs):
        kwargs.setdefault("members", self.children)
        kwargs.setdefault("complete_after", 3)
        return add_series(
            self.db_session, programme=self.programme, facilitator=self.mentor, by=self.coordinator, **kwargs
        )

    def get(self, client, user, query=PERIOD, programme_id=None):
        return client.get(
            f"/programmes/{programme_id or self.programme.id}/dashboards/group-delivery?{query}",
            headers=auth_headers(self.db_session, user),
        )


@pytest.fixture()
def world(db_session) -> Programme:
    return Programme(db_session)


def test_series_run_children_started_and_completed_by_their_own_register_lines(client, world):
    body = world.get(client, world.coordinator).json

    (series,) = body["series"]
    assert (series["name"], series["complete_after_sessions"], series["sessions_planned"]) == ("Safer choices", 3, 4)
    assert (series["sessions_in_period"], series["sessions_held"]) == (4, 4)
    # Child 4 left: four on the roster now, one left.
    assert (series["roster"], series["left"]) == (4, 1)
    # Everyone came at least once; child 4 came once only, so four reached K = 3 (child 1 with exactly 3).
    assert (series["children_started"], series["children_completed"]) == (5, 4)
    assert (body["series_run"], body["sessions_held"]) == (1, 4)
    assert (body["children_started"], body["children_completed"], body["carers_attended"]) == (5, 4, 3)


def test_each_sessions_attendance_is_its_lines_and_carers_are_counted_apart(client, world):
    (series,) = world.get(client, world.coordinator).json["series"]

    rows = [
        (s["date"], s["status"], s["booked"], s["attended"], s["did_not_attend"], s["cancelled"], s["carers"])
        for s in series["sessions"]
    ]
    assert rows == [
        ("2026-03-02", "completed", 5, 5, 0, 0, 3),
        # Held, yet one child did not come and one cancelled: the lines say so, not the session's status.
        ("2026-03-09", "completed", 5, 3, 1, 1, 0),
        ("2026-03-16", "completed", 4, 4, 0, 0, 0),
        ("2026-03-23", "completed", 4, 4, 0, 0, 0),
    ]
    assert all(s["not_yet_marked"] == 0 for s in series["sessions"])


def test_a_child_left_on_the_register_unmarked_has_not_come(client, world):
    # A session held whose register was not taken for anyone: nobody came, by the lines.
    unmarked = {n: Attendance.BOOKED for n in range(5)}
    world.add_series(name="Unmarked", sessions=[(at(date(2026, 4, 6), 17), HELD, unmarked)], complete_after=1)

    body = world.get(client, world.coordinator).json
    series = next(s for s in body["series"] if s["name"] == "Unmarked")
    (session,) = series["sessions"]
    assert (session["booked"], session["attended"], session["not_yet_marked"]) == (5, 0, 5)
    assert (series["children_started"], series["children_completed"]) == (0, 0)
    assert (body["series_run"], body["children_started"]) == (2, 5)


def test_the_period_counts_starting_and_completing_where_they_happened(client, world):
    first_week = world.get(client, world.coordinator, "since=2026-03-01&until=2026-03-08").json
    (series,) = first_week["series"]
    assert (series["sessions_in_period"], series["sessions_held"], series["sessions_planned"]) == (1, 1, 4)
    assert (series["children_started"], series["children_completed"]) == (5, 0)
    assert [s["date"] for s in series["sessions"]] == ["2026-03-02"]

    # The third and fourth sessions: every completion (each child's third attended session), no start.
    later = world.get(client, world.coordinator, "since=2026-03-10&until=2026-06-30").json
    (series,) = later["series"]
    assert (series["children_started"], series["children_completed"]) == (0, 4)
    assert (later["sessions_held"], later["carers_attended"]) == (2, 0)

    # No session in the period: no series.
    empty = world.get(client, world.coordinator, "since=2026-04-01&until=2026-06-30").json
    assert (empty["series"], empty["series_run"], empty["children_started"]) == ([], 0, 0)


def test_a_series_only_planned_in_the_period_is_listed_but_not_run(client, world):
    world.add_series(name="Next term", sessions=[(at(date(2026, 6, 1), 17), SessionStatus.PLANNED, {})])

    body = world.get(client, world.coordinator).json
    planned = next(s for s in body["series"] if s["name"] == "Next term")
    assert (planned["sessions_held"], planned["children_started"]) == (0, 0)
    assert planned["sessions"][0]["not_yet_marked"] == 5
    assert body["series_run"] == 1


def test_a_commissioner_sees_small_counts_suppressed_and_totals_that_would_betray_them_withheld(client, world):
    body = world.get(client, world.commissioner).json

    (series,) = body["series"]
    assert (series["roster"], series["left"]) == ("<5", "<5")
    assert (series["children_started"], series["children_completed"]) == (5, "<5")
    first, second, *_ = series["sessions"]
    assert (first["booked"], first["attended"], first["carers"]) == (5, 5, "<5")
    # 3 attended, 1 did not, 1 cancelled: each suppressed, and the 5 booked withheld beside them.
    assert (second["booked"], second["attended"], second["did_not_attend"], second["cancelled"]) == (
        None,
        "<5",
        "<5",
        "<5",
    )
    # Sessions and series are not children: shown as they are.
    assert (series["sessions_held"], series["complete_after_sessions"], body["series_run"]) == (4, 3, 1)
    assert (body["children_started"], body["children_completed"], body["carers_attended"]) == (5, "<5", "<5")


def test_a_total_is_withheld_from_a_commissioner_when_a_series_in_it_is_suppressed(client, world):
    world.add_series(name="Small", members=world.children[:2], sessions=[(at(date(2026, 4, 6), 17), HELD, {})])

    body = world.get(client, world.commissioner).json
    small = next(s for s in body["series"] if s["name"] == "Small")
    assert small["children_started"] == "<5"
    # 5 + 2 would give the small series' 2 back.
    assert body["children_started"] is None
    assert world.get(client, world.coordinator).json["children_started"] == 7


def test_another_programmes_series_is_not_counted_nor_shown(client, db_session, world):
    other = make_programme(db_session)
    other_coordinator = make_user(db_session, Role.COORDINATOR, programme=other)
    other_children = [admit_child(db_session, cohort=make_cohort(db_session, programme=other, places=9))]
    add_series(
        db_session,
        programme=other,
        facilitator=make_user(db_session, Role.MENTOR, programme=other),
        by=other_coordinator,
        members=other_children,
        sessions=[(at(WEEKS[0], 17), HELD, {})],
        complete_after=1,
        carers={0: 2},
    )

    body = world.get(client, world.coordinator).json
    assert [s["name"] for s in body["series"]] == ["Safer choices"]
    assert (body["series_run"], body["children_started"], body["carers_attended"]) == (1, 5, 3)
    assert world.get(client, other_coordinator).status_code == 404


@pytest.mark.parametrize("role", ["coordinator", "commissioner"])
def test_another_programme_is_not_found_a_mentor_is_refused_and_an_admin_sees_it(client, world, role):
    other = make_programme(world.db_session)
    outsider = make_user(world.db_session, Role(role), programme=other)
    assert world.get(client, outsider).status_code == 404
    assert world.get(client, world.mentor).status_code == 403
    assert world.get(client, world.admin).status_code == 200


def test_no_child_is_named_or_identified_in_any_form(client, world):
    children = [world.db_session.get(Child, enrolment.child_id) for enrolment in world.children]
    secrets = {str(child.id) for child in children} | {child.reference for child in children}
    secrets |= {child.first_name for child in children} | {child.last_name for child in children}
    secrets |= {str(enrolment.id) for enrolment in world.children}
    for user in (world.commissioner, world.coordinator):
        for query in (PERIOD, f"{PERIOD}&format=csv"):
            response = world.get(client, user, query)
            assert response.status_code == 200
            text = response.get_data(as_text=True)
            assert not [secret for secret in secrets if secret in text]


def test_csv_has_a_row_per_session_and_leaves_withheld_figures_empty(client, world):
    response = world.get(client, world.commissioner, f"{PERIOD}&format=csv")

    assert response.mimetype == "text/csv"
    rows = list(csv.DictReader(io.StringIO(response.get_data(as_text=True))))
    assert [row["date"] for row in rows] == ["2026-03-02", "2026-03-09", "2026-03-16", "2026-03-23"]
    assert (rows[1]["series_name"], rows[1]["booked"], rows[1]["attended"]) == ("Safer choices", "", "<5")
    assert rows[0]["since"] == "2026-01-01"


def statements_for(client, world, connection) -> int:
    statements: list[str] = []

    def count(_connection, _cursor, statement, *_args) -> None:
        statements.append(statement)

    headers = auth_headers(world.db_session, world.coordinator)
    event.listen(connection, "before_cursor_execute", count)
    try:
        response = client.get(f"/programmes/{world.programme.id}/dashboards/group-delivery?{PERIOD}", headers=headers)
    finally:
        event.remove(connection, "before_cursor_execute", count)
    assert response.status_code == 200
    return len(statements)


def test_the_statements_do_not_grow_with_series_or_sessions(client, connection, world):
    one_series = statements_for(client, world, connection)
    for number in range(3):
        weeks = [at(date(2026, 4, 6 + 7 * week), 17) for week in range(4)]
        world.add_series(name=f"More {number}", sessions=[(start, HELD, {}) for start in weeks], carers={1: 1})

    assert statements_for(client, world, connection) == one_series


def test_a_rescheduled_session_counts_nowhere_its_replacement_does(client, world):
    moved = {n: Attendance.CANCELLED_BY_SERVICE for n in range(5)}
    world.add_series(
        name="Moved",
        sessions=[(at(date(2026, 5, 4), 17), SessionStatus.RESCHEDULED, moved), (at(date(2026, 5, 6), 17), HELD, {})],
        complete_after=1,
    )

    series = next(s for s in world.get(client, world.coordinator).json["series"] if s["name"] == "Moved")
    assert (series["sessions_planned"], series["sessions_in_period"], series["sessions_held"]) == (1, 1, 1)
    assert [s["date"] for s in series["sessions"]] == ["2026-05-06"]
    assert (series["children_started"], series["children_completed"]) == (5, 5)
