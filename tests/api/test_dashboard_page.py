"""The commissioners' dashboard page over HTTP: who may open it, how they sign in, its headers, that its figures
are the JSON dashboards' (suppressed for commissioners) and that no child is ever named in it."""

from __future__ import annotations

import re
from datetime import date, timedelta

import pytest

from api.accounts.rules import Role
from api.children.models import Child
from api.dashboards import service as dashboards
from api.dashboards.page import TOKEN_COOKIE
from api.sessions.rules import SessionStatus
from api.wellbeing.instruments import SHIPPED_INSTRUMENTS, load_instruments
from tests.api.test_dashboards import World, at
from tests.builders import PASSWORD, actor_for, auth_headers, make_programme, make_user
from tests.conftest import DEFAULT_NOW


@pytest.fixture()
def page_world(db_session) -> World:
    world = World(db_session)
    a = world.a
    today = DEFAULT_NOW.date()
    for back in range(6):
        world.session(at(today - timedelta(days=7 * back + 1)), SessionStatus.COMPLETED, [a[0], a[2]])
    world.session(at(today - timedelta(days=3)), SessionStatus.DID_NOT_ATTEND, [a[0]])
    world.score(a[0], "swemwbs", "metric", at(today - timedelta(days=200)), "18.00")
    world.score(a[0], "swemwbs", "metric", at(today - timedelta(days=20)), "22.00")
    return world


def sign_in(client, user, next_path=""):
    return client.post("/dashboard/sign-in", data={"email": user.email, "password": PASSWORD, "next": next_path})


def page_path(world) -> str:
    return f"/dashboard/programmes/{world.programme.id}"


def test_without_a_sign_in_the_page_asks_for_one(client, page_world):
    response = client.get(page_path(page_world))
    assert response.status_code == 401
    assert response.mimetype == "text/html"
    html = response.get_data(as_text=True)
    assert 'action="/dashboard/sign-in"' in html and f'value="{page_path(page_world)}"' in html
    # A forged or expired token is the same as none, and the cookie is cleared.
    client.set_cookie(TOKEN_COOKIE, "not-a-token", path="/dashboard")
    response = client.get(page_path(page_world))
    assert response.status_code == 401
    assert any(TOKEN_COOKIE in header and "Max-Age=0" in header for header in response.headers.getlist("Set-Cookie"))


def test_a_wrong_password_is_refused(client, page_world):
    response = client.post(
        "/dashboard/sign-in", data={"email": page_world.commissioner.email, "password": "wrong", "next": ""}
    )
    assert response.status_code == 401
    assert "not right" in response.get_data(as_text=True)
    assert "Set-Cookie" not in response.headers


def test_sign_in_sets_a_short_lived_strict_http_only_cookie_and_goes_back(client, app, page_world):
    response = sign_in(client, page_world.commissioner, page_path(page_world))
    assert response.status_code == 303
    assert response.headers["Location"] == page_path(page_world)
    cookie = response.headers["Set-Cookie"]
    assert cookie.startswith(f"{TOKEN_COOKIE}=")
    assert "HttpOnly" in cookie and "SameSite=Strict" in cookie and "Path=/dashboard" in cookie
    assert f"Max-Age={app.config['ACCESS_TOKEN_MINUTES'] * 60}" in cookie
    assert "Secure" not in cookie  # plain HTTP here; over HTTPS it is Secure
    secure = client.post(
        "/dashboard/sign-in",
        data={"email": page_world.commissioner.email, "password": PASSWORD},
        base_url="https://localhost",
    )
    assert "Secure" in secure.headers["Set-Cookie"]
    # With no page asked for, a programme's user goes to their programme; an address elsewhere is ignored.
    elsewhere = sign_in(client, page_world.commissioner, "https://evil.example/dashboard/programmes/x")
    assert elsewhere.headers["Location"] == page_path(page_world)


@pytest.mark.parametrize("role", ["commissioner", "coordinator", "admin"])
def test_the_programmes_staff_and_commissioners_may_open_it(client, page_world, role):
    sign_in(client, getattr(page_world, role))
    response = client.get(page_path(page_world))
    assert response.status_code == 200, response.get_data(as_text=True)[:500]
    html = response.get_data(as_text=True)
    for key in ("occupancy-0", "occupancy-1", "delivery", "wellbeing", "outcomes"):
        assert f'data-chart="{key}"' in html


def test_a_mentor_is_refused_and_another_programme_is_not_found(client, db_session, page_world):
    mentor_client = client.application.test_client()
    sign_in(mentor_client, page_world.mentor)
    assert mentor_client.get(page_path(page_world)).status_code == 403
    other = make_user(db_session, Role.COMMISSIONER, programme=make_programme(db_session))
    sign_in(client, other)
    response = client.get(page_path(page_world))
    assert response.status_code == 404
    assert response.mimetype == "text/html"


def test_the_headers_keep_the_page_off_caches_and_allow_no_scripts(client, page_world):
    sign_in(client, page_world.commissioner)
    for response in (client.get(page_path(page_world)), client.get("/dashboard/sign-in")):
        policy = response.headers["Content-Security-Policy"]
        assert "default-src 'none'" in policy and "style-src 'self'" in policy
        assert "frame-ancestors 'none'" in policy and "script-src" not in policy
        assert response.headers["Cache-Control"] == "no-store"
        assert response.headers["Referrer-Policy"] == "no-referrer"
    html = client.get(page_path(page_world)).get_data(as_text=True)
    assert "<script" not in html and "style=" not in html and "http://" not in html.replace("http://www.w3", "")


def test_a_commissioner_sees_suppressed_figures_and_never_a_child(client, db_session, page_world):
    sign_in(client, page_world.commissioner)
    html = client.get(page_path(page_world)).get_data(as_text=True)
    assert "&lt;5" in html and "withheld" in html
    for enrolment in page_world.a + page_world.b:
        child = db_session.get(Child, enrolment.child_id)
        for words in (child.first_name, child.last_name, child.reference, str(child.id), str(enrolment.id)):
            assert words and words.lower() not in html.lower()
    # The figures are the JSON dashboard's, with its suppression: this week's as the delivery endpoint gives them.
    monday = DEFAULT_NOW.date() - timedelta(days=DEFAULT_NOW.weekday())
    week = client.get(
        f"/programmes/{page_world.programme.id}/dashboards/delivery?since={monday}&until={DEFAULT_NOW.date()}",
        headers=auth_headers(db_session, page_world.commissioner),
    ).json
    row = f'<th scope="row">{monday:%G-W%V} (from {monday:%d %b})</th>'
    cells = "".join(f"<td>{week[key]}</td>".replace("<5", "&lt;5") for key in ("delivered", "missed", "cancelled"))
    assert row + cells in html


def test_staff_see_the_small_numbers(client, page_world):
    sign_in(client, page_world.coordinator)
    html = client.get(page_path(page_world)).get_data(as_text=True)
    assert "&lt;5" not in html
    # One delivered session a week for six weeks, drawn and printed as 1.
    assert re.search(r"<td>1</td><td>0</td><td>0</td>", html)


@pytest.mark.parametrize("role", ["coordinator", "commissioner"])
def test_the_pages_weeks_and_months_are_each_periods_own_dashboard(db_session, page_world, role):
    # The page reads what its periods share once and counts its twelve weeks' sessions in one pass, split at each
    # Monday's start in programme time: each week and month must still be exactly the dashboard asked alone.
    world, a = page_world, page_world.a
    for start, status, children in [
        (at(date(2026, 9, 6), 23, 30), SessionStatus.COMPLETED, [a[0]]),  # the Sunday before the first week
        (at(date(2026, 9, 7), 0, 0), SessionStatus.COMPLETED, [a[0], a[2], a[3]]),  # its first moment
        (at(date(2026, 10, 18), 23, 59), SessionStatus.DID_NOT_ATTEND, [a[2]]),  # Sunday, summer time
        (at(date(2026, 10, 19), 0, 0), SessionStatus.COMPLETED, [a[0], a[2]]),  # Monday 00:00, summer time
        (at(date(2026, 10, 25), 23, 30), SessionStatus.CANCELLED_BY_CHILD, [a[3]]),  # Sunday, clocks gone back
        (at(date(2026, 10, 26), 0, 30), SessionStatus.COMPLETED, [a[0]]),
        (at(date(2026, 11, 14), 19, 0), SessionStatus.COMPLETED, [a[0], a[2], a[3], a[5]]),  # a Saturday evening
        (at(date(2026, 11, 23), 18, 0), SessionStatus.PLANNED, [a[2]]),  # today, after now
        (at(date(2026, 11, 24), 10, 0), SessionStatus.PLANNED, [a[0]]),  # tomorrow: after the page's period
    ]:
        world.session(start, status, children)
    actor = actor_for(getattr(world, role))
    asked = {"actor": actor, "suppression_threshold": 5, "now": DEFAULT_NOW}

    figures = dashboards.page_figures(
        db_session,
        programme_id=world.programme.id,
        instruments=load_instruments(SHIPPED_INSTRUMENTS, licensed_wording_file=None),
        **asked,
    )

    assert figures.weeks[0][0] == date(2026, 9, 7)
    whole_year = dashboards.DashboardRequest(world.programme.id)
    assert figures.year == dashboards.places_dashboard(db_session, request=whole_year, **asked)
    for monday, week in figures.weeks:
        until = min(monday + timedelta(days=6), DEFAULT_NOW.date())
        request = dashboards.DashboardRequest(world.programme.id, since=monday, until=until)
        assert week == dashboards.delivery_dashboard(db_session, request=request, **asked), monday
    assert sum(week.delivered != 0 for _, week in figures.weeks) >= 4  # not a page of empty weeks
    for first, month in figures.months:
        until = min((first + timedelta(days=31)).replace(day=1) - timedelta(days=1), DEFAULT_NOW.date())
        request = dashboards.DashboardRequest(world.programme.id, since=first, until=until)
        assert month == dashboards.places_dashboard(db_session, request=request, **asked), first
