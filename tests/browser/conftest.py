"""Browser tests: the child's check-in page in a real headless Chromium, served by a real threaded server.

The browser is Debian's (packages chromium and chromium-driver, installed by `make browser-deps`); Selenium is
given both paths, so Selenium Manager never runs and nothing is downloaded. Chromium's own background traffic
is switched off and every host but 127.0.0.1 is made unresolvable, so a test can never reach the internet.

Each test gets a database of its own whose transactions really commit (the page and the test see each other's
writes), a server on a port of its own (port 0), a fixed clock the test can move, and a phone-sized screen.

If Chromium or ChromeDriver is missing the tests are skipped with the reason, unless
REACHABLE_TEST_REQUIRE_BROWSER=1 (as in CI), which makes that a failure instead.
"""

from __future__ import annotations

import os
import threading
import urllib.error
import urllib.request
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from email.message import Message
from typing import Any

import pytest
from flask import Flask
from selenium import webdriver
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.selenium_manager import SeleniumManager
from sqlalchemy import select
from sqlalchemy.orm import Session
from werkzeug.serving import make_server

from api.actors import Role
from api.children import service as children_service
from api.children.models import Child, PhoneNumber
from api.children.rules import ConsentGivenBy, ContactChannel
from api.clock import FixedClock
from api.enrolments.models import Enrolment
from api.programmes.models import Programme
from api.wellbeing import invitations as wellbeing_invitations
from tests.builders import Team, actor_for, admit_child, make_cohort, make_user
from tests.conftest import SECRET_KEY

CHROMIUM = os.environ.get("REACHABLE_TEST_CHROMIUM", "/usr/bin/chromium")
CHROMEDRIVER = os.environ.get("REACHABLE_TEST_CHROMEDRIVER", "/usr/bin/chromedriver")
REQUIRE_BROWSER = os.environ.get("REACHABLE_TEST_REQUIRE_BROWSER") == "1"
# A small Android phone, in CSS pixels.
PHONE_WIDTH, PHONE_HEIGHT, PHONE_PIXEL_RATIO = 360, 740, 2
HEADLESS_FLAGS = [
    "--headless=new",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-dev-shm-usage",
    "--disable-background-networking",
    f"--window-size={PHONE_WIDTH},{PHONE_HEIGHT}",
]
# Belt and braces: no component updates, sync or first-run fetches, and no name but the test server's resolves.
OFFLINE_FLAGS = [
    "--disable-component-update",
    "--disable-sync",
    "--disable-default-apps",
    "--no-first-run",
    "--no-default-browser-check",
    "--no-proxy-server",
    "--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE 127.0.0.1",
]


def browser_unavailable_reason() -> str | None:
    missing = [path for path in (CHROMIUM, CHROMEDRIVER) if not (os.path.isfile(path) and os.access(path, os.X_OK))]
    if not missing:
        return None
    return (
        f"{' and '.join(missing)} not found: install Debian's browser with "
        "`sudo apt-get install chromium chromium-driver` (or run `make browser-deps` as root)"
    )


@pytest.fixture(scope="session")
def browser_binaries() -> None:
    reason = browser_unavailable_reason()
    if reason:
        if REQUIRE_BROWSER:
            pytest.fail(f"{reason} (REACHABLE_TEST_REQUIRE_BROWSER=1)", pytrace=False)
        pytest.skip(f"SKIPPING BROWSER TESTS: {reason}")


# --- The server -----------------------------------------------------------------------------------------------


@dataclass
class Fetched:
    status: int
    headers: Message
    body: str


@dataclass
class PageServer:
    base_url: str

    def url(self, path: str) -> str:
        return self.base_url + path

    def get(self, path: str) -> Fetched:
        """A plain HTTP request, for what a browser does not show: status and headers."""
        try:
            with urllib.request.urlopen(self.url(path), timeout=30) as response:
                return Fetched(response.status, response.headers, response.read().decode())
        except urllib.error.HTTPError as error:
            with error:
                return Fetched(error.code, error.headers, error.read().decode())


@contextmanager
def serving(app: Flask) -> Iterator[PageServer]:
    """The app in a threaded werkzeug server on a free port, stopped afterwards."""
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield PageServer(f"http://127.0.0.1:{server.server_port}")
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=10)


@pytest.fixture()
def page_server(browser_binaries: None, committed_app: Flask) -> Iterator[PageServer]:
    """The real app (its clock is the test's `clock`) in a threaded werkzeug server on a free port."""
    with serving(committed_app) as server:
        yield server


# --- The browser ----------------------------------------------------------------------------------------------


def _no_selenium_manager(*_args: Any, **_kwargs: Any) -> dict[str, str]:
    raise AssertionError("Selenium Manager was asked for a browser or driver: it must never download one here")


def chromium_options(*, javascript: bool) -> webdriver.ChromeOptions:
    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for flag in HEADLESS_FLAGS + OFFLINE_FLAGS:
        options.add_argument(flag)
    # Headless Chromium keeps windows at least 500 pixels wide; emulate the phone's screen instead.
    options.add_experimental_option(
        "mobileEmulation",
        {"deviceMetrics": {"width": PHONE_WIDTH, "height": PHONE_HEIGHT, "pixelRatio": PHONE_PIXEL_RATIO}},
    )
    prefs: dict[str, Any] = {"credentials_enable_service": False, "profile.password_manager_enabled": False}
    if not javascript:
        options.add_argument("--blink-settings=scriptEnabled=false")
        prefs["profile.managed_default_content_settings.javascript"] = 2
    options.add_experimental_option("prefs", prefs)
    # The console, to catch stylesheet or policy (CSP) failures.
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    return options


@dataclass
class Browsers:
    """Opens Chromiums for one test and closes them all afterwards."""

    opened: list[webdriver.Chrome] = field(default_factory=list)

    def open(self, *, javascript: bool = True) -> webdriver.Chrome:
        driver = webdriver.Chrome(
            service=Service(executable_path=CHROMEDRIVER), options=chromium_options(javascript=javascript)
        )
        self.opened.append(driver)
        driver.set_page_load_timeout(30)
        return driver

    def quit_all(self) -> None:
        """Quit every browser, even if one fails to (a browser left running outlives the test run)."""
        problems = []
        while self.opened:
            try:
                self.opened.pop().quit()
            except Exception as problem:  # any failure to quit; the others must still be quit
                problems.append(problem)
        if problems:
            raise problems[0]


@pytest.fixture()
def browsers(page_server: PageServer, monkeypatch: pytest.MonkeyPatch) -> Iterator[Browsers]:
    # Depends on the server so that the browsers close before it stops.
    monkeypatch.setattr(SeleniumManager, "binary_paths", _no_selenium_manager)
    monkeypatch.setenv("SE_OFFLINE", "true")
    opened = Browsers()
    yield opened
    opened.quit_all()


@pytest.fixture()
def browser(browsers: Browsers) -> webdriver.Chrome:
    """A phone-sized headless Chromium with JavaScript on (the page itself has none)."""
    return browsers.open()


# --- A child with a link --------------------------------------------------------------------------------------


@dataclass
class Link:
    path: str
    invitation_id: uuid.UUID
    child: Child
    phone_number: str
    programme_name: str


@pytest.fixture()
def make_link(committed_db_session: Session, committed_app: Flask, clock: FixedClock) -> Callable[..., Link]:
    """A child (consented to SMS, with a mobile of their own) sent a one-time ONS4 check-in link now."""

    def make(*, help_text: str | None = None) -> Link:
        db = committed_db_session
        cohort = make_cohort(db, places=5)
        programme = db.get_one(Programme, cohort.programme_id)
        programme.check_in_help_text = help_text
        db.commit()
        coordinator = make_user(db, Role.COORDINATOR, programme=programme)
        enrolment = admit_child(db, cohort=cohort, by=coordinator, now=clock.now())
        children_service.record_consent(
            db,
            actor=actor_for(coordinator),
            child_id=enrolment.child_id,
            channel=ContactChannel.SMS_TO_CHILD,
            granted=True,
            given_by=ConsentGivenBy.CHILD,
            now=clock.now(),
        )
        invitation = wellbeing_invitations.invite_check_in(
            db,
            actor=actor_for(coordinator),
            instruments=committed_app.extensions["reachable.instruments"],
            child_id=enrolment.child_id,
            instrument_keys=None,
            secret_key=SECRET_KEY,
            now=clock.now(),
        )
        path = wellbeing_invitations.link_for(db, invitation_id=invitation.id, secret_key=SECRET_KEY)
        child = db.get_one(Child, enrolment.child_id)
        phone_number = db.scalars(select(PhoneNumber.e164).where(PhoneNumber.child_id == child.id)).one()
        # On SQLite every transaction, reads too, takes the write lock: never leave one open for the server.
        db.commit()
        return Link(path, invitation.id, child, phone_number, programme.name)

    return make


@dataclass
class Mentor:
    email: str
    mentor_id: uuid.UUID
    child_reference: str
    team: Team
    enrolment: Enrolment


@pytest.fixture()
def mentor(committed_db_session: Session, clock: FixedClock) -> Mentor:
    """A mentor with one child, supported for a fortnight; the server's clock is the phone's (now)."""
    clock.advance(seconds=(datetime.now(UTC) - clock.now()).total_seconds())
    team = Team(committed_db_session, clock=clock, enrolled_from=clock.now() - timedelta(days=14))
    enrolment = team.child()
    child = committed_db_session.get_one(Child, enrolment.child_id)
    found = Mentor(team.mentor.email, team.mentor.id, child.reference, team, enrolment)
    committed_db_session.commit()  # on SQLite, never leave a transaction open for the server
    return found
