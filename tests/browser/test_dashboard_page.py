"""The commissioners' dashboard page in a real headless Chromium (Debian's), at a desktop size of 1280x900.

A commissioner signs in through the page's own form (its anti-forgery token and cookie, and the Origin a real
browser sends), lands on their programme's dashboard and sees every chart drawn: each SVG has a size and bars of
a size, and a full-page screenshot is a real picture, not a blank page. Then they sign out with the page's button,
and the page asks them to sign in again. The programme is big enough that a commissioner's figures are not
suppressed, so the bars are there to see.

A page on another site (another address, so another origin and another site to the browser) posting its own
account's email and password to the form from the commissioner's browser is refused (issue 13, login CSRF).
"""

from __future__ import annotations

import struct
import threading
import zlib
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from urllib.parse import urlencode

import pytest
from flask import Flask, request
from markupsafe import escape
from selenium import webdriver
from selenium.common.exceptions import NoSuchElementException, StaleElementReferenceException
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.chrome.webdriver import WebDriver
from selenium.webdriver.common.by import By
from selenium.webdriver.support.wait import WebDriverWait
from sqlalchemy import select
from sqlalchemy.orm import Session
from werkzeug.serving import make_server

from api.accounts.models import AppUser, AuthSession
from api.actors import Role
from api.dashboards.page import FORM_COOKIE, SIGN_IN_COOKIE
from api.outcomes.models import OutcomeEvent
from api.outcomes.rules import OutcomeEventType, OutcomeSource
from api.sessions.models import MentoringSession
from api.sessions.rules import LocationCategory, SessionKind, SessionStatus, local_timing, local_week
from api.sessions.service import attendee_row
from api.wellbeing.check_ins import score_row
from api.wellbeing.models import CheckIn
from api.wellbeing.scoring import CheckInChannel, ScoreKind
from tests.browser.conftest import CHROMEDRIVER, CHROMIUM, HEADLESS_FLAGS, OFFLINE_FLAGS, Browsers, PageServer
from tests.builders import PASSWORD, admit_child, make_cohort, make_programme, make_user
from tests.conftest import DEFAULT_NOW

WIDTH, HEIGHT = 1280, 900
CHARTS = ("occupancy-0", "delivery", "wellbeing", "outcomes")
CHILDREN = 8


def _noon(day: date) -> datetime:
    return datetime(day.year, day.month, day.day, 12, tzinfo=UTC)


def seed_programme(db: Session) -> AppUser:
    """Eight children supported since June 2025, a dozen weeks of sessions (six delivered, five missed, five
    cancelled each week), SWEMWBS baselines and follow-ups, and arrests before and during support."""
    programme = make_programme(db)
    coordinator = make_user(db, Role.COORDINATOR, programme=programme)
    commissioner = make_user(db, Role.COMMISSIONER, programme=programme)
    cohort = make_cohort(db, programme=programme, name="Main", places=10)
    started = _noon(date(2025, 6, 2))
    enrolments = [admit_child(db, cohort=cohort, by=coordinator) for _ in range(CHILDREN)]
    for enrolment in enrolments:
        enrolment.started_at = started
    db.commit()
    today = DEFAULT_NOW.date()
    monday = today - timedelta(days=today.weekday())
    statuses = [SessionStatus.COMPLETED] * 6 + [SessionStatus.DID_NOT_ATTEND] * 5
    statuses += [SessionStatus.CANCELLED_BY_CHILD] * 5
    for week in range(12):
        for number, status in enumerate(statuses):
            start = _noon(monday - timedelta(weeks=week)) + timedelta(minutes=number)
            enrolment = enrolments[number % CHILDREN]
            session = MentoringSession(
                programme_id=programme.id,
                mentor_id=coordinator.id,
                kind=SessionKind.ONE_TO_ONE,
                location_category=LocationCategory.COMMUNITY_VENUE,
                status=status,
                planned_start_at=start,
                planned_end_at=start + timedelta(hours=1),
                local_week=local_week(start, "Europe/London"),
                created_at=DEFAULT_NOW,
                created_by_user_id=coordinator.id,
                updated_at=DEFAULT_NOW,
                updated_by_user_id=coordinator.id,
            )
            db.add(session)
            db.flush()
            db.add(attendee_row(session, enrolment, local_timing(session.planned_start_at, "Europe/London")))
    for number, enrolment in enumerate(enrolments):
        for completed, value in ((date(2025, 6, 10), 18 + number % 3), (date(2026, 10, 1), 22 + number % 4)):
            check_in = CheckIn(
                child_id=enrolment.child_id,
                instrument_key="swemwbs",
                instrument_version="1",
                channel=CheckInChannel.IN_SESSION,
                completed_at=_noon(completed),
                recorded_by_user_id=coordinator.id,
            )
            db.add(check_in)
            db.flush()
            db.add(score_row(check_in, ScoreKind.DERIVED, "metric", Decimal(value)))
        for occurred in (date(2025, 1, 15), date(2025, 3, 15), date(2026, 2, 15)):
            db.add(
                OutcomeEvent(
                    child_id=enrolment.child_id,
                    event_type=OutcomeEventType.ARREST,
                    occurred_on=occurred,
                    source=OutcomeSource.POLICE,
                    recorded_at=DEFAULT_NOW,
                    recorded_by_user_id=coordinator.id,
                )
            )
    db.commit()
    return commissioner


def desktop_chromium(browsers: Browsers, *, also_resolve: str | None = None) -> WebDriver:
    """A desktop-sized Chromium; also_resolve is one more loopback address it may reach (the other site)."""
    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for flag in HEADLESS_FLAGS + OFFLINE_FLAGS:
        if flag.startswith("--window-size"):
            flag = f"--window-size={WIDTH},{HEIGHT}"
        elif flag.startswith("--host-resolver-rules") and also_resolve:
            flag = f"{flag}, EXCLUDE {also_resolve}"
        options.add_argument(flag)
    options.add_experimental_option(
        "prefs", {"credentials_enable_service": False, "profile.password_manager_enabled": False}
    )
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    driver = webdriver.Chrome(service=Service(executable_path=CHROMEDRIVER), options=options)
    browsers.opened.append(driver)  # quit with the others after the test
    driver.set_page_load_timeout(30)
    driver.execute_cdp_cmd(
        "Emulation.setDeviceMetricsOverride",
        {"width": WIDTH, "height": HEIGHT, "deviceScaleFactor": 1, "mobile": False},
    )
    return driver


def png_pixels(png: bytes) -> tuple[int, int, set[bytes]]:
    """Width, height and the distinct colours of an 8-bit RGB or RGBA PNG (as Chromium writes them)."""
    assert png[:8] == b"\x89PNG\r\n\x1a\n"
    position, data, header = 8, b"", b""
    while position < len(png):
        (length,) = struct.unpack(">I", png[position : position + 4])
        kind, body = png[position + 4 : position + 8], png[position + 8 : position + 8 + length]
        if kind == b"IHDR":
            header = body
        elif kind == b"IDAT":
            data += body
        position += 12 + length
    width, height, depth, colour_type = struct.unpack(">IIBB", header[:10])
    assert depth == 8 and colour_type in (2, 6)
    channels = 4 if colour_type == 6 else 3
    raw, stride = zlib.decompress(data), width * channels
    previous, colours = bytearray(stride), set()
    for row in range(height):
        start = row * (stride + 1)
        kind, line = raw[start], bytearray(raw[start + 1 : start + 1 + stride])
        for i in range(stride):
            left = line[i - channels] if i >= channels else 0
            up, up_left = previous[i], previous[i - channels] if i >= channels else 0
            if kind == 1:
                line[i] = (line[i] + left) & 0xFF
            elif kind == 2:
                line[i] = (line[i] + up) & 0xFF
            elif kind == 3:
                line[i] = (line[i] + (left + up) // 2) & 0xFF
            elif kind == 4:
                guess = left + up - up_left
                near = min((abs(guess - left), 0, left), (abs(guess - up), 1, up), (abs(guess - up_left), 2, up_left))
                line[i] = (line[i] + near[2]) & 0xFF
        if row % 4 == 0:  # every fourth row is plenty to count colours
            colours.update(bytes(line[i : i + 3]) for i in range(0, stride, channels))
        previous = line
    return width, height, colours


def test_a_commissioner_signs_in_and_sees_every_chart_drawn(
    page_server: PageServer, browsers: Browsers, committed_db_session: Session, tmp_path: Path
) -> None:
    commissioner = seed_programme(committed_db_session)
    page = f"/dashboard/programmes/{commissioner.programme_id}"
    browser = desktop_chromium(browsers)

    browser.get(page_server.url(page))
    assert browser.find_element(By.TAG_NAME, "h1").text == "Sign in to the dashboard"
    browser.find_element(By.ID, "email").send_keys(commissioner.email)
    browser.find_element(By.ID, "password").send_keys(PASSWORD)
    browser.find_element(By.CSS_SELECTOR, "button[type=submit]").click()
    wait_for_heading(browser, "Programme dashboard")
    assert browser.current_url == page_server.url(page)
    # The sign-in is in an HttpOnly cookie: the page's scripts (there are none) could not read it.
    assert browser.execute_script("return document.cookie") == ""
    assert {cookie["name"] for cookie in browser.get_cookies()} == {SIGN_IN_COOKIE}
    assert browser.execute_script("return window.innerWidth") == WIDTH

    for key in CHARTS:
        svg = browser.find_element(By.CSS_SELECTOR, f'svg[data-chart="{key}"]')
        assert svg.size["width"] > 0 and svg.size["height"] > 0, key
        drawn = [rect for rect in svg.find_elements(By.CSS_SELECTOR, "rect.bar") if rect.size["height"] > 0]
        drawn = [rect for rect in drawn if rect.size["width"] > 0]
        assert drawn, f"no bars drawn in {key}"
        assert svg.find_element(By.TAG_NAME, "title").get_attribute("textContent")
        table = svg.find_element(By.XPATH, "following-sibling::table")
        assert table.find_element(By.TAG_NAME, "caption").text
    delivery = browser.find_element(By.CSS_SELECTOR, 'svg[data-chart="delivery"]')
    patterns = {rect.get_attribute("class") for rect in delivery.find_elements(By.CSS_SELECTOR, "rect.bar")}
    assert patterns == {"bar bar-solid", "bar bar-hatch", "bar bar-dots"}
    assert len(delivery.find_elements(By.CSS_SELECTOR, "rect.bar")) == 36
    # Nothing was refused by the page's Content-Security-Policy, and the stylesheet applied.
    # (The network entries are the expected 401 of the first, signed-out visit and the absent favicon.)
    logged = [entry for entry in browser.get_log("browser") if entry["source"] != "network"]
    assert [entry for entry in logged if entry["level"] == "SEVERE"] == []
    assert browser.find_element(By.TAG_NAME, "body").value_of_css_property("font-family").startswith("Arial")
    assert browser.execute_script("return document.documentElement.scrollWidth") <= WIDTH

    full_height = int(browser.execute_script("return document.documentElement.scrollHeight"))
    browser.execute_cdp_cmd(
        "Emulation.setDeviceMetricsOverride",
        {"width": WIDTH, "height": full_height, "deviceScaleFactor": 1, "mobile": False},
    )
    screenshot = tmp_path / "dashboard-page.png"
    assert browser.save_screenshot(str(screenshot))
    png = screenshot.read_bytes()
    width, height, colours = png_pixels(png)
    assert (width, height) == (WIDTH, full_height) and height > HEIGHT
    assert len(png) > 20_000, "the screenshot is too small to show the charts"
    assert len(colours) > 20, f"only {len(colours)} colours: the charts did not render"

    # Signing out: the page's own button (a form with its token), then the page asks for a sign-in again.
    browser.find_element(By.CSS_SELECTOR, "form.sign-out button[type=submit]").click()
    wait_for_heading(browser, "Sign in to the dashboard")
    assert browser.current_url == page_server.url("/dashboard/sign-in")
    assert SIGN_IN_COOKIE not in {cookie["name"] for cookie in browser.get_cookies()}
    browser.get(page_server.url(page))
    assert browser.find_element(By.TAG_NAME, "h1").text == "Sign in to the dashboard"


def wait_for_heading(browser: WebDriver, text: str) -> None:
    # The old page's h1 may go stale while the browser navigates: keep asking until the new page is there.
    WebDriverWait(browser, 30, ignored_exceptions=(StaleElementReferenceException, NoSuchElementException)).until(
        lambda driver: driver.find_element(By.TAG_NAME, "h1").text == text
    )


OTHER_SITE = "127.0.0.2"  # another address: another origin, and another site, to the browser


@pytest.fixture()
def other_site(page_server: PageServer) -> Iterator[str]:
    """Another site: its page has a form posting an email (?email=) and the password to the dashboard's sign-in."""
    site = Flask("other_site")

    @site.get("/")
    def bait() -> str:
        return f"""<!doctype html><html lang="en"><head><title>Prizes</title></head><body><h1>Win a prize</h1>
<form method="post" action="{page_server.url("/dashboard/sign-in")}">
<input type="hidden" name="email" value="{escape(request.args["email"])}">
<input type="hidden" name="password" value="{PASSWORD}">
<button type="submit" id="claim">Claim</button></form></body></html>"""

    server = make_server(OTHER_SITE, 0, site, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://{OTHER_SITE}:{server.server_port}"
    server.shutdown()
    server.server_close()
    thread.join(timeout=10)


def test_a_page_on_another_site_cannot_sign_the_browser_in_to_its_account(
    page_server: PageServer, browsers: Browsers, committed_db_session: Session, other_site: str
) -> None:
    db = committed_db_session
    programme = make_programme(db)
    attacker = make_user(db, Role.COMMISSIONER, programme=programme)
    db.commit()
    browser = desktop_chromium(browsers, also_resolve=OTHER_SITE)
    # The commissioner has had the sign-in form open, so the browser holds the form's cookie, then visits the site.
    browser.get(page_server.url("/dashboard/sign-in"))
    assert FORM_COOKIE in {cookie["name"] for cookie in browser.get_cookies()}

    browser.get(f"{other_site}/?{urlencode({'email': attacker.email})}")
    browser.find_element(By.ID, "claim").click()

    wait_for_heading(browser, "Signing in was refused")
    assert browser.current_url == page_server.url("/dashboard/sign-in")
    assert "another site" in browser.find_element(By.TAG_NAME, "main").text
    assert SIGN_IN_COOKIE not in {cookie["name"] for cookie in browser.get_cookies()}
    signed_in = db.scalars(select(AuthSession).where(AuthSession.user_id == attacker.id)).all()
    db.commit()  # on SQLite even a read holds the write lock: never leave it open for the server
    assert signed_in == []


@pytest.mark.parametrize("path", ["/dashboard/sign-in"])
def test_the_sign_in_page_has_its_headers(page_server: PageServer, path: str) -> None:
    fetched = page_server.get(path)
    assert fetched.status == 200
    assert "default-src 'none'" in fetched.headers["Content-Security-Policy"]
    assert fetched.headers["Cache-Control"] == "no-store"
