"""The commissioners' dashboard page over HTTP: who may open it, how they sign in and out (a page-only sign-in,
forms that only this site can send), its headers, that its figures are the JSON dashboards' (suppressed for
commissioners) and that no child is ever named in it."""

from __future__ import annotations

import re
from datetime import date, timedelta

import jwt
import pytest
from sqlalchemy import select

from api.accounts.models import AuthSession
from api.actors import Role
from api.alerts.rules import AlertKind
from api.children.models import Child
from api.dashboards import page, rules
from api.dashboards.acknowledgement import acknowledgement_dashboard
from api.dashboards.capacity import places_dashboard
from api.dashboards.delivery import delivery_dashboard
from api.dashboards.group_delivery import group_delivery_dashboard
from api.dashboards.page_figures import page_figures
from api.dashboards.scope import DashboardRequest
from api.programmes.rules import CohortKind
from api.sessions.register_rules import Attendance
from api.sessions.rules import SessionStatus
from api.wellbeing.instruments import SHIPPED_INSTRUMENTS, load_instruments
from tests.api.dashboard_page_sign_in import SAME_SITE, hidden_token, sign_in, sign_in_token
from tests.api.dashboard_world import World, add_series, at
from tests.builders import PASSWORD, actor_for, auth_headers, make_programme, make_user
from tests.conftest import DEFAULT_NOW

EVIL = "https://evil.example"
# The cookie the page used to keep an API access token in (before issue 13).
OLD_TOKEN_COOKIE = "reachable_dashboard_token"


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
    # Urgent alerts acknowledged after 10 and 20 minutes, and one waiting since 10:00 yesterday.
    world.alert(AlertKind.SAFEGUARDING_CONCERN, at(today - timedelta(days=40)), timedelta(minutes=20))
    world.alert(AlertKind.SAFEGUARDING_CONCERN, at(today - timedelta(days=9)), timedelta(minutes=10))
    world.alert(AlertKind.SAFEGUARDING_CONCERN, at(today - timedelta(days=1)))
    world.alert(AlertKind.SAFEGUARDING_CONCERN, at(today - timedelta(days=400)), timedelta(minutes=90))  # too old
    return world


def sign_in_cookie(client) -> str:
    cookie = client.get_cookie(page.SIGN_IN_COOKIE, path="/dashboard")
    assert cookie is not None, "not signed in"
    return cookie.value


def set_cookies(response) -> list[str]:
    return response.headers.getlist("Set-Cookie")


def page_path(world) -> str:
    return f"/dashboard/programmes/{world.programme.id}"


def sign_ins_of(db_session, user) -> int:
    db_session.expire_all()
    return len(db_session.scalars(select(AuthSession).where(AuthSession.user_id == user.id)).all())


def test_without_a_sign_in_the_page_asks_for_one(client, page_world):
    response = client.get(page_path(page_world))
    assert response.status_code == 401
    assert response.mimetype == "text/html"
    html = response.get_data(as_text=True)
    assert 'action="/dashboard/sign-in"' in html and f'value="{page_path(page_world)}"' in html
    assert hidden_token(html, "/dashboard/sign-in")
    # A forged or expired credential is the same as none, and the cookie is cleared.
    client.set_cookie(page.SIGN_IN_COOKIE, "not-a-credential", path="/dashboard")
    response = client.get(page_path(page_world))
    assert response.status_code == 401
    assert any(page.SIGN_IN_COOKIE in header and "Max-Age=0" in header for header in set_cookies(response))


def test_the_sign_in_form_carries_a_token_bound_to_a_strict_http_only_cookie(client):
    response = client.get("/dashboard/sign-in")
    (cookie,) = set_cookies(response)
    assert cookie.startswith(f"{page.FORM_COOKIE}=")
    assert "HttpOnly" in cookie and "SameSite=Strict" in cookie and "Path=/dashboard" in cookie
    token = hidden_token(response.get_data(as_text=True), "/dashboard/sign-in")
    assert token
    # The same browser opening the form again keeps its cookie (another tab's form still works).
    again = client.get("/dashboard/sign-in")
    assert set_cookies(again) == []
    assert hidden_token(again.get_data(as_text=True), "/dashboard/sign-in")


def test_a_wrong_password_is_refused(client, page_world):
    response = sign_in(client, page_world.commissioner, password="wrong")
    assert response.status_code == 401
    assert "not right" in response.get_data(as_text=True)
    assert "Set-Cookie" not in response.headers
    # The form shown again can be sent again.
    assert hidden_token(response.get_data(as_text=True), "/dashboard/sign-in")


def test_sign_in_sets_a_short_lived_strict_http_only_cookie_and_goes_back(client, app, page_world):
    response = sign_in(client, page_world.commissioner, page_path(page_world))
    assert response.status_code == 303
    assert response.headers["Location"] == page_path(page_world)
    cookie = next(header for header in set_cookies(response) if header.startswith(f"{page.SIGN_IN_COOKIE}="))
    assert "HttpOnly" in cookie and "SameSite=Strict" in cookie and "Path=/dashboard" in cookie
    assert f"Max-Age={app.config['DASHBOARD_SIGN_IN_MINUTES'] * 60}" in cookie
    assert "Secure" not in cookie  # plain HTTP here; over HTTPS it is Secure
    # The form's cookie has done its work: it goes.
    assert any(header.startswith(f"{page.FORM_COOKIE}=;") for header in set_cookies(response))
    https = app.test_client()
    token = sign_in_token(https, base_url="https://localhost")
    secure = https.post(
        "/dashboard/sign-in",
        data={"email": page_world.commissioner.email, "password": PASSWORD, "form_token": token},
        base_url="https://localhost",
        headers={"Origin": "https://localhost"},
    )
    assert secure.status_code == 303
    assert all("Secure" in header for header in set_cookies(secure))
    # With no page asked for, a programme's user goes to their programme; an address elsewhere is ignored.
    elsewhere = sign_in(client, page_world.commissioner, "https://evil.example/dashboard/programmes/x")
    assert elsewhere.headers["Location"] == page_path(page_world)


# --- Issue 13, finding 5: login CSRF, and a cookie that was a full API token -------------------------------------


def test_a_sign_in_posted_from_another_site_is_refused_and_signs_no_one_in(client, db_session, page_world):
    # An attacker's page posts the attacker's own email and password to the form from the victim's browser.
    attacker = page_world.commissioner
    response = client.post(
        "/dashboard/sign-in",
        data={"email": attacker.email, "password": PASSWORD, "next": ""},
        headers={"Origin": EVIL},
    )

    assert response.status_code == 403
    assert response.mimetype == "text/html"
    assert "another site" in response.get_data(as_text=True)
    assert set_cookies(response) == []
    assert sign_ins_of(db_session, attacker) == 0


@pytest.mark.parametrize(
    ("origin", "referer"),
    [
        (EVIL, None),
        (EVIL, "http://localhost/dashboard/sign-in"),  # Origin decides when it is there
        ("null", None),  # a sandboxed frame, a redirect across sites, or a page that withheld its origin
        ("http://localhost:8080", None),  # another port is another origin
        ("https://localhost", None),  # and another scheme
        (None, f"{EVIL}/dashboard/sign-in"),
        (None, None),  # a browser that says nothing of where the form came from (OWASP: block)
    ],
)
def test_a_sign_in_not_shown_to_be_from_this_site_is_refused_even_with_a_good_token(
    client, db_session, page_world, origin, referer
):
    # Even with this browser's own form token (another site cannot read it, but a sibling subdomain can plant a
    # cookie): the Origin check stands on its own.
    token = sign_in_token(client)
    headers = {name: value for name, value in (("Origin", origin), ("Referer", referer)) if value is not None}
    response = client.post(
        "/dashboard/sign-in",
        data={"email": page_world.commissioner.email, "password": PASSWORD, "form_token": token},
        headers=headers,
    )

    assert response.status_code == 403
    assert set_cookies(response) == []
    assert sign_ins_of(db_session, page_world.commissioner) == 0


def test_a_browser_that_sends_only_a_referer_from_this_site_may_sign_in(client, page_world):
    token = sign_in_token(client)
    response = client.post(
        "/dashboard/sign-in",
        data={"email": page_world.commissioner.email, "password": PASSWORD, "form_token": token},
        headers={"Referer": "http://localhost/dashboard/sign-in?next="},
    )

    assert response.status_code == 303


def test_a_sign_in_without_this_browsers_form_token_is_refused(app, client, db_session, page_world):
    email = page_world.commissioner.email
    client.get("/dashboard/sign-in")  # this browser has the form's cookie

    no_token = client.post("/dashboard/sign-in", data={"email": email, "password": PASSWORD}, headers=SAME_SITE)

    assert no_token.status_code == 403
    assert no_token.mimetype == "text/html"
    assert "Open the sign-in page again" in no_token.get_data(as_text=True)
    assert set_cookies(no_token) == []
    # A token from another browser's form (the attacker's own) does not match this browser's cookie.
    attackers_token = sign_in_token(app.test_client())
    data = {"email": email, "password": PASSWORD, "form_token": attackers_token}
    assert client.post("/dashboard/sign-in", data=data, headers=SAME_SITE).status_code == 403
    # Nor does a good token without its cookie, or a token altered by one character.
    token = sign_in_token(client)
    cookieless = app.test_client().post("/dashboard/sign-in", data={**data, "form_token": token}, headers=SAME_SITE)
    assert cookieless.status_code == 403
    middle = len(token) - 10
    altered = token[:middle] + ("A" if token[middle] != "A" else "B") + token[middle + 1 :]
    assert client.post("/dashboard/sign-in", data={**data, "form_token": altered}, headers=SAME_SITE).status_code == 403
    assert sign_ins_of(db_session, page_world.commissioner) == 0


def test_a_sign_in_form_left_open_too_long_is_refused(app, client, clock, page_world):
    token = sign_in_token(client)
    clock.advance(seconds=rules.FORM_TOKEN_MAX_AGE.total_seconds() + 1)
    data = {"email": page_world.commissioner.email, "password": PASSWORD, "form_token": token}

    response = client.post("/dashboard/sign-in", data=data, headers=SAME_SITE)

    assert response.status_code == 403
    assert "too long" in response.get_data(as_text=True)


def test_refused_forms_are_not_counted_as_wrong_passwords(client, db_session, page_world):
    commissioner = page_world.commissioner
    for _ in range(6):  # more than the lock-out's five
        data = {"email": commissioner.email, "password": "wrong password"}
        assert client.post("/dashboard/sign-in", data=data, headers={"Origin": EVIL}).status_code == 403

    assert client.post("/auth/sign-in", json={"email": commissioner.email, "password": PASSWORD}).status_code == 200


def test_the_page_s_cookie_cannot_be_used_against_the_json_api(client, page_world):
    # A coordinator's or admin's sign-in on the page gives nothing that can write through the API.
    for user in (page_world.coordinator, page_world.admin):
        browser = client.application.test_client()
        assert sign_in(browser, user).status_code == 303
        credential = sign_in_cookie(browser)
        bearer = {"Authorization": f"Bearer {credential}"}

        assert browser.get("/auth/me", headers=bearer).status_code == 401
        assert browser.post("/auth/sign-out", headers=bearer).status_code == 401
        assert browser.post(f"/users/{page_world.mentor.id}/revoke-sign-ins", headers=bearer).status_code == 401
        # The cookie itself never goes to the API (Path=/dashboard), and the API reads no cookies anyway.
        assert browser.get("/auth/me").status_code == 401


def test_an_api_access_token_no_longer_opens_the_page(client, db_session, page_world):
    token = auth_headers(db_session, page_world.commissioner)["Authorization"].removeprefix("Bearer ")
    for name in (OLD_TOKEN_COOKIE, page.SIGN_IN_COOKIE):
        browser = client.application.test_client()
        browser.set_cookie(name, token, path="/dashboard")

        assert browser.get(page_path(page_world)).status_code == 401, name


def test_an_api_access_token_for_a_page_sign_in_is_refused_by_the_api(app, client, db_session, page_world):
    # The API's check refuses a page sign-in by its kind too, not only because no access token is ever made for
    # one: a token forged with the key for such a sign-in still gets nothing.
    sign_in(client, page_world.coordinator)
    db_session.expire_all()
    page_sign_in = db_session.scalars(select(AuthSession).where(AuthSession.user_id == page_world.coordinator.id)).one()
    now = int(DEFAULT_NOW.timestamp())
    claims = {"sub": str(page_world.coordinator.id), "sid": str(page_sign_in.id), "iat": now, "exp": now + 60}
    forged = jwt.encode(claims, app.config["SECRET_KEY"], algorithm="HS256")

    assert client.get("/auth/me", headers={"Authorization": f"Bearer {forged}"}).status_code == 401


def test_the_page_sign_in_ends_after_its_minutes_whatever_the_browser_keeps(
    client, app, clock, monkeypatch, page_world
):
    monkeypatch.setitem(app.config, "DASHBOARD_SIGN_IN_MINUTES", 5)
    response = sign_in(client, page_world.commissioner)
    assert any(f"{page.SIGN_IN_COOKIE}=" in header and "Max-Age=300" in header for header in set_cookies(response))
    credential = sign_in_cookie(client)

    clock.advance(minutes=4, seconds=59)
    assert client.get(page_path(page_world)).status_code == 200
    clock.advance(seconds=1)
    # A browser that kept the cookie longer than it was told is refused by the server's own record.
    client.set_cookie(page.SIGN_IN_COOKIE, credential, path="/dashboard")
    expired = client.get(page_path(page_world))
    assert expired.status_code == 401
    assert any(page.SIGN_IN_COOKIE in header and "Max-Age=0" in header for header in set_cookies(expired))


def sign_out_token(client, world) -> str:
    return hidden_token(client.get(page_path(world)).get_data(as_text=True), "/dashboard/sign-out")


def test_signing_out_ends_the_page_sign_in_and_clears_the_cookie(client, page_world):
    sign_in(client, page_world.commissioner)
    credential = sign_in_cookie(client)
    token = sign_out_token(client, page_world)

    response = client.post("/dashboard/sign-out", data={"form_token": token}, headers=SAME_SITE)

    assert response.status_code == 303
    assert response.headers["Location"] == "/dashboard/sign-in"
    cleared = [header for header in set_cookies(response) if header.startswith(f"{page.SIGN_IN_COOKIE}=;")]
    assert cleared and "Max-Age=0" in cleared[0]
    assert client.get(page_path(page_world)).status_code == 401
    # The old credential, sent again (a copy kept by someone), opens nothing: the sign-in is over on the server.
    client.set_cookie(page.SIGN_IN_COOKIE, credential, path="/dashboard")
    assert client.get(page_path(page_world)).status_code == 401


@pytest.mark.parametrize("forged", ["no token", "another sign-in's token", "another site"])
def test_signing_out_needs_the_pages_own_form(client, page_world, forged):
    other = client.application.test_client()
    sign_in(other, page_world.coordinator)
    sign_in(client, page_world.commissioner)
    data, headers = {"form_token": sign_out_token(client, page_world)}, SAME_SITE
    if forged == "no token":
        data = {}
    elif forged == "another sign-in's token":
        data = {"form_token": sign_out_token(other, page_world)}
    else:
        headers = {"Origin": EVIL}

    response = client.post("/dashboard/sign-out", data=data, headers=headers)

    assert response.status_code == 403
    assert set_cookies(response) == []
    assert client.get(page_path(page_world)).status_code == 200


def test_signing_out_when_already_signed_out_just_shows_the_sign_in_page(client):
    response = client.post("/dashboard/sign-out", data={"form_token": "whatever"}, headers=SAME_SITE)

    assert response.status_code == 303
    assert response.headers["Location"] == "/dashboard/sign-in"


def test_revoking_a_users_sign_ins_ends_their_page_sign_in_too(client, db_session, page_world):
    sign_in(client, page_world.commissioner)
    assert client.get(page_path(page_world)).status_code == 200

    revoked = client.application.test_client().post(
        f"/users/{page_world.commissioner.id}/revoke-sign-ins", headers=auth_headers(db_session, page_world.admin)
    )

    assert revoked.status_code == 200 and revoked.json["revoked"] >= 1
    assert client.get(page_path(page_world)).status_code == 401


@pytest.mark.parametrize("role", ["commissioner", "coordinator", "admin"])
def test_the_programmes_staff_and_commissioners_may_open_it(client, page_world, role):
    sign_in(client, getattr(page_world, role))
    response = client.get(page_path(page_world))
    assert response.status_code == 200, response.get_data(as_text=True)[:500]
    html = response.get_data(as_text=True)
    for key in ("occupancy-0", "occupancy-1", "delivery", "wellbeing", "outcomes", "time-to-acknowledge"):
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
        # Not no-referrer: under it a browser sends "Origin: null" with the page's own forms, which the origin
        # check must refuse. same-origin still sends nothing to any other site.
        assert response.headers["Referrer-Policy"] == "same-origin"
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
    cells = "".join(f"<td>{week[key]}</td>".replace("<5", "&lt;5") for key in WEEK_COLUMNS)
    assert row + cells in html


WEEK_COLUMNS = ("delivered", "missed", "cancelled", "missed_attendances")


def test_each_weeks_missed_attendances_are_on_the_page_as_the_delivery_dashboard_counts_them(
    client, db_session, page_world
):
    """A group session nobody came to misses one session and every child's attendance: the JSON dashboard's
    missed_attendances, on the page too (suppressed for a commissioner as the JSON suppresses it)."""
    monday = DEFAULT_NOW.date() - timedelta(days=DEFAULT_NOW.weekday())
    page_world.session(at(monday, 9, 0), SessionStatus.DID_NOT_ATTEND, page_world.a[:3])
    row = f'<th scope="row">{monday:%G-W%V} (from {monday:%d %b})</th>'
    for user in (page_world.coordinator, page_world.commissioner):
        sign_in(client, user)
        html = client.get(page_path(page_world)).get_data(as_text=True)
        week = client.get(
            f"/programmes/{page_world.programme.id}/dashboards/delivery?since={monday}&until={DEFAULT_NOW.date()}",
            headers=auth_headers(db_session, user),
        ).json
        assert '<th scope="col">Missed attendances</th>' in html
        assert row + "".join(f"<td>{week[key]}</td>".replace("<5", "&lt;5") for key in WEEK_COLUMNS) in html
    assert week["missed_attendances"] == "<5"


def test_staff_see_the_small_numbers(client, page_world):
    sign_in(client, page_world.coordinator)
    html = client.get(page_path(page_world)).get_data(as_text=True)
    assert "&lt;5" not in html
    # One delivered session a week for six weeks, drawn and printed as 1.
    assert re.search(r"<td>1</td><td>0</td><td>0</td>", html)


def acknowledgement_row(urgency: str, *cells: str) -> str:
    return f'<th scope="row">{urgency}</th>' + "".join(f"<td>{cell}</td>" for cell in cells)


def test_the_time_to_acknowledge_alerts_is_on_the_page_by_urgency(client, page_world):
    sign_in(client, page_world.coordinator)
    html = client.get(page_path(page_world)).get_data(as_text=True)

    assert 'data-chart="time-to-acknowledge"' in html
    # Raised, acknowledged, median and 90th percentile minutes, still waiting, the oldest's age (since 10:00 GMT).
    assert acknowledgement_row("Urgent", "3", "2", "15.0", "20.0", "1", f"{24 * 60 + 4 * 60:.1f}") in html
    assert acknowledgement_row("High", "0", "0", "no data", "no data", "0", "no data") in html
    assert acknowledgement_row("Normal", "0", "0", "no data", "no data", "0", "no data") in html


def test_a_commissioner_sees_the_time_to_acknowledge_suppressed_on_the_page(client, page_world):
    sign_in(client, page_world.commissioner)
    html = client.get(page_path(page_world)).get_data(as_text=True)

    withheld = ("withheld",) * 2
    assert acknowledgement_row("Urgent", "&lt;5", "&lt;5", *withheld, "&lt;5", "withheld") in html
    assert acknowledgement_row("High", "0", "0", "no data", "no data", "0", "no data") in html


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

    figures = page_figures(
        db_session,
        programme_id=world.programme.id,
        instruments=load_instruments(SHIPPED_INSTRUMENTS, licensed_wording_file=None),
        **asked,
    )

    assert figures.weeks[0][0] == date(2026, 9, 7)
    whole_year = DashboardRequest(world.programme.id)
    assert figures.year == places_dashboard(db_session, request=whole_year, **asked)
    assert figures.acknowledgement == acknowledgement_dashboard(db_session, request=whole_year, **asked)
    assert figures.group_delivery == group_delivery_dashboard(db_session, request=whole_year, **asked)
    for monday, week in figures.weeks:
        until = min(monday + timedelta(days=6), DEFAULT_NOW.date())
        request = DashboardRequest(world.programme.id, since=monday, until=until)
        assert week == delivery_dashboard(db_session, request=request, **asked), monday
    assert sum(week.delivered != 0 for _, week in figures.weeks) >= 4  # not a page of empty weeks
    for first, month in figures.months:
        until = min((first + timedelta(days=31)).replace(day=1) - timedelta(days=1), DEFAULT_NOW.date())
        request = DashboardRequest(world.programme.id, since=first, until=until)
        assert month == places_dashboard(db_session, request=request, **asked), first


def add_page_series(world: World) -> None:
    """Five of cohort A's children in four weekly sessions this autumn (K = 3): the first child missed the second
    session; two carers came to the first."""
    add_series(
        world.db_session,
        programme=world.programme,
        facilitator=world.mentor,
        by=world.coordinator,
        name="Safer choices",
        members=world.a[:5],
        complete_after=3,
        sessions=[
            (at(date(2026, 10, 5), 17), SessionStatus.COMPLETED, {}),
            (at(date(2026, 10, 12), 17), SessionStatus.COMPLETED, {0: Attendance.DID_NOT_ATTEND}),
            (at(date(2026, 10, 19), 17), SessionStatus.COMPLETED, {}),
            (at(date(2026, 10, 26), 17), SessionStatus.COMPLETED, {}),
        ],
        carers={0: 2},
    )


def table_row(*cells: str) -> str:
    return f'<th scope="row">{cells[0]}</th>' + "".join(f"<td>{cell}</td>" for cell in cells[1:])


def test_group_delivery_is_on_the_page_a_table_for_the_series_and_one_per_series(client, page_world):
    add_page_series(page_world)
    sign_in(client, page_world.coordinator)
    html = client.get(page_path(page_world)).get_data(as_text=True)

    assert 'data-chart="group-delivery"' in html and 'data-chart="group-series-0"' in html
    assert "<caption>Group series in the last 12 months</caption>" in html
    assert '<th scope="col">Sessions to complete (K of N)</th>' in html
    assert table_row("Safer choices", "4 of 4", "3 of 4", "5", "0", "5", "5", "2") in html
    assert "<caption>Sessions of Safer choices</caption>" in html
    assert table_row("12 Oct 2026", "completed", "5", "4", "1", "0", "0", "0") in html


def test_a_commissioner_sees_group_delivery_suppressed_as_the_rest_of_the_page(client, page_world):
    add_page_series(page_world)
    sign_in(client, page_world.commissioner)
    html = client.get(page_path(page_world)).get_data(as_text=True)

    assert table_row("Safer choices", "4 of 4", "3 of 4", "5", "0", "5", "5", "&lt;5") in html
    # Four came and one did not: both suppressed, and the five booked withheld beside them.
    assert table_row("12 Oct 2026", "completed", "withheld", "&lt;5", "&lt;5", "0", "0", "0") in html


def test_a_page_with_no_group_series_says_so(client, page_world):
    sign_in(client, page_world.coordinator)
    html = client.get(page_path(page_world)).get_data(as_text=True)
    assert "No group series had a session in the last 12 months." in html


def test_a_group_only_cohorts_occupancy_is_labelled_apart_from_one_to_one_places(client, db_session, page_world):
    page_world.cohort_b.kind = CohortKind.GROUP_ONLY
    db_session.commit()
    sign_in(client, page_world.commissioner)

    html = client.get(page_path(page_world)).get_data(as_text=True)

    assert "Occupancy over time: A (one-to-one, 10 places)" in html
    assert "Occupancy over time: B (group-only, 3 places)" in html
