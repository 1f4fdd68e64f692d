"""The mentors' app (/app) in a real headless Chromium: a mentor works offline and nothing is lost or doubled.

The network is switched off and on through the DevTools protocol (Network.emulateNetworkConditions), as a
phone's signal comes and goes. On both database backends (tests/conftest.py's committed databases), against a
live threaded server whose clock is set to the browser's (the phone's) time.
"""

from __future__ import annotations

import os
import struct
import threading
import uuid
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from selenium.common.exceptions import (
    ElementNotInteractableException,
    NoSuchElementException,
    StaleElementReferenceException,
)
from selenium.webdriver.chrome.webdriver import WebDriver
from selenium.webdriver.common.by import By
from selenium.webdriver.support.wait import WebDriverWait
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from api.alerts.models import Alert
from api.children.models import Child
from api.clock import FixedClock
from api.enrolments.models import Enrolment
from api.sessions.models import MentoringSession
from tests.browser.conftest import PHONE_HEIGHT, PHONE_PIXEL_RATIO, PHONE_WIDTH, PageServer
from tests.builders import PASSWORD, Team, auth_headers, work_mobile
from tests.contract.node_tools import CLIENT, REPO_ROOT, unavailable

pytestmark = pytest.mark.browser

WAIT_SECONDS = 30
PIN = "246810"
OFFLINE = {"offline": True, "latency": 0, "downloadThroughput": -1, "uploadThroughput": -1}
ONLINE = {"offline": False, "latency": 0, "downloadThroughput": -1, "uploadThroughput": -1}


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


@dataclass
class Traffic:
    """What reached the server: (method, path) of each request, and the answers to the writes to sessions
    (method, status, Idempotent-Replayed)."""

    requests: list[tuple[str, str]] = field(default_factory=list)
    session_answers: list[tuple[str, int, str | None]] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def paths_since(self, mark: int) -> list[str]:
        with self.lock:
            return [path for _, path in self.requests[mark:]]


def watch_traffic(app: Flask, *, lose_first_answer_to: str | None = None) -> Traffic:
    """Record every request; given a method ("POST" or "PATCH"), let the first write to a session by it commit
    and then lose its answer (a 502, as a proxy gives when its connection drops after the server wrote)."""
    traffic = Traffic()
    inner = app.wsgi_app
    losses = [lose_first_answer_to]

    def middleware(environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        method, path = environ["REQUEST_METHOD"], environ["PATH_INFO"]
        with traffic.lock:
            traffic.requests.append((method, path))
        if method not in {"POST", "PATCH"} or not path.startswith("/sessions"):
            return inner(environ, start_response)
        answered: dict[str, Any] = {}

        def keep(status: str, headers: list[tuple[str, str]], *_: Any) -> Callable[[bytes], None]:
            answered["status"], answered["headers"] = status, headers
            return lambda _data: None

        body = b"".join(inner(environ, keep))
        replayed = dict(answered["headers"]).get("Idempotent-Replayed")
        with traffic.lock:
            traffic.session_answers.append((method, int(answered["status"].split()[0]), replayed))
            lose = losses[0] == method
            if lose:
                losses[0] = None
        if lose:
            start_response("502 Bad Gateway", [("Content-Type", "text/plain")])
            return [b"the answer was lost"]
        start_response(answered["status"], answered["headers"])
        return [body]

    app.wsgi_app = middleware  # type: ignore[method-assign]
    return traffic


def sessions_on_server(db: Session, mentor: Mentor) -> int:
    count = db.scalar(
        select(func.count()).select_from(MentoringSession).where(MentoringSession.mentor_id == mentor.mentor_id)
    )
    db.commit()
    return int(count or 0)


def wait_until(browser: WebDriver, condition: Callable[[WebDriver], Any], what: str) -> Any:
    ignored = (StaleElementReferenceException, NoSuchElementException, ElementNotInteractableException)
    return WebDriverWait(browser, WAIT_SECONDS, ignored_exceptions=ignored).until(condition, what)


def heading(browser: WebDriver) -> str:
    return str(browser.find_element(By.TAG_NAME, "h1").text)


def status(browser: WebDriver) -> str:
    return str(browser.find_element(By.ID, "status").text)


def button(browser: WebDriver, words: str) -> Any:
    return browser.find_element(By.XPATH, f"//button[contains(normalize-space(), '{words}')]")


def click(browser: WebDriver, words: str) -> None:
    """Click the button, once it is there (a background sync may redraw the screen under the test's hand)."""

    def clicked(driver: WebDriver) -> bool:
        button(driver, words).click()
        return True

    wait_until(browser, clicked, f"the button {words!r}")


def sign_in(browser: WebDriver, server: PageServer, mentor: Mentor) -> None:
    browser.get(server.url("/app"))
    wait_until(browser, lambda b: heading(b) == "Sign in", "the sign-in screen")
    browser.find_element(By.ID, "email").send_keys(mentor.email)
    browser.find_element(By.ID, "password").send_keys(PASSWORD)
    click(browser, "Sign in")
    wait_until(browser, lambda b: heading(b) == "Set a PIN for this app", "the PIN to set")
    browser.find_element(By.ID, "pin").send_keys(PIN)
    browser.find_element(By.ID, "pin-again").send_keys(PIN)
    click(browser, "Set the PIN")
    wait_until(browser, lambda b: heading(b) == "Your caseload", "the caseload")
    wait_until(browser, lambda b: synced_until(b, lambda: button(b, mentor.child_reference)), "the child, synced")
    # The service worker has taken over the page, so the shell is kept for offline.
    wait_until(browser, lambda b: b.execute_script("return navigator.serviceWorker.controller !== null"), "the worker")


def synced_until(browser: WebDriver, found: Callable[[], Any]) -> Any:
    """What `found` finds, or else ask for a sync and look again later. (On PostgreSQL a sync page waits for every
    transaction open on the database server, other test runs' too: a change may come a sync or two later.)"""
    try:
        result = found()
    except NoSuchElementException:
        result = None
    if not result and "Syncing" not in status(browser):
        click(browser, "Sync now")
    return result


def set_network(browser: WebDriver, conditions: dict[str, Any]) -> None:
    browser.execute_cdp_cmd("Network.enable", {})
    browser.execute_cdp_cmd("Network.emulateNetworkConditions", conditions)


def log_session(browser: WebDriver, mentor: Mentor, *, started_minutes_ago: int, notes: str) -> None:
    click(browser, mentor.child_reference)
    wait_until(browser, lambda b: b.find_elements(By.XPATH, "//button[normalize-space()='Log a session']"), "child")
    click(browser, "Log a session")
    wait_until(browser, lambda b: heading(b).startswith("Log a session"), "the log form")
    # The phone's own date and time (the inputs take the phone's local time).
    browser.execute_script(
        """
        const started = new Date(Date.now() - arguments[0] * 60000);
        const pad = (n) => String(n).padStart(2, "0");
        document.getElementById("date").value =
          `${started.getFullYear()}-${pad(started.getMonth() + 1)}-${pad(started.getDate())}`;
        document.getElementById("time").value = `${pad(started.getHours())}:${pad(started.getMinutes())}`;
        """,
        started_minutes_ago,
    )
    duration = browser.find_element(By.ID, "duration")
    duration.clear()
    duration.send_keys("45")
    browser.find_element(By.ID, "activity-0").click()
    browser.find_element(By.ID, "notes").send_keys(notes)
    click(browser, "Save")
    wait_until(browser, lambda b: "Saved" in b.find_element(By.CSS_SELECTOR, ".notice").text, "saved")
    click(browser, "Back to caseload")
    wait_until(browser, lambda b: heading(b) == "Your caseload", "the caseload")


def test_a_mentor_logs_two_sessions_offline_reopens_the_app_offline_and_each_reaches_the_server_once(
    page_server: PageServer,
    browsers: Any,
    committed_app: Flask,
    committed_db_session: Session,
    mentor: Mentor,
) -> None:
    traffic = watch_traffic(committed_app)
    browser = browsers.open()
    sign_in(browser, page_server, mentor)

    set_network(browser, OFFLINE)
    log_session(browser, mentor, started_minutes_ago=180, notes="Football, then talked about school.")
    log_session(browser, mentor, started_minutes_ago=90, notes="Homework club.")
    wait_until(browser, lambda b: "2 waiting to send" in status(b), "two writes waiting")
    assert sessions_on_server(committed_db_session, mentor) == 0

    # Closed and opened again with no network: the service worker serves the shell, IndexedDB the caseload.
    before_reload = len(traffic.requests)
    browser.refresh()
    wait_until(browser, lambda b: heading(b) == "Your caseload", "the caseload, offline")
    wait_until(browser, lambda b: "2 waiting to send" in status(b), "the writes kept")
    assert button(browser, mentor.child_reference)
    # (The browser's own check for a new worker, /app/sw.js, is not the page's and ignores the page's network.)
    shell_fetched = [path for path in traffic.paths_since(before_reload) if path.startswith("/app")]
    assert [path for path in shell_fetched if path != "/app/sw.js"] == [], "the shell must come from the cache"

    set_network(browser, ONLINE)
    click(browser, "Sync now")
    wait_until(browser, lambda b: "everything sent" in status(b), "everything sent")
    assert sessions_on_server(committed_db_session, mentor) == 2
    # And sending again changes nothing.
    click(browser, "Sync now")
    wait_until(browser, lambda b: "synced" in status(b) and "Syncing" not in status(b), "synced again")
    assert sessions_on_server(committed_db_session, mentor) == 2
    assert [status for _, status, _ in traffic.session_answers] == [201, 201]


def test_a_write_whose_answer_was_lost_is_retried_with_its_key_and_made_once(
    page_server: PageServer,
    browsers: Any,
    committed_app: Flask,
    committed_db_session: Session,
    mentor: Mentor,
) -> None:
    traffic = watch_traffic(committed_app, lose_first_answer_to="POST")
    browser = browsers.open()
    sign_in(browser, page_server, mentor)

    log_session(browser, mentor, started_minutes_ago=120, notes="Went for a walk.")
    # The server wrote it, but the phone heard a 502: it keeps the write, with its key, to send again.
    wait_until(browser, lambda _: len(traffic.session_answers) == 1, "the first try")
    wait_until(browser, lambda b: "1 waiting to send" in status(b), "the write kept after a lost answer")
    assert sessions_on_server(committed_db_session, mentor) == 1

    click(browser, "Sync now")
    wait_until(browser, lambda b: "everything sent" in status(b), "everything sent")
    assert sessions_on_server(committed_db_session, mentor) == 1
    assert traffic.session_answers == [("POST", 201, None), ("POST", 201, "true")]


def store_counts(browser: WebDriver) -> dict[str, int]:
    """How many records each of the app's IndexedDB stores holds (the tokens and cursor are in "meta")."""
    counts: dict[str, int] = browser.execute_async_script(
        """
        const done = arguments[arguments.length - 1];
        const opening = indexedDB.open("reachable-mentors");
        opening.onsuccess = () => {
          const db = opening.result;
          const names = [...db.objectStoreNames];
          const transaction = db.transaction(names, "readonly");
          const counts = {};
          for (const name of names) {
            const counting = transaction.objectStore(name).count();
            counting.onsuccess = () => { counts[name] = counting.result; };
          }
          transaction.oncomplete = () => { db.close(); done(counts); };
        };
        """
    )
    return counts


def test_a_weekly_cap_refusal_on_replay_is_kept_shown_and_moved_to_another_week_with_nothing_lost(
    page_server: PageServer,
    browsers: Any,
    committed_app: Flask,
    committed_db_session: Session,
    mentor: Mentor,
    clock: FixedClock,
) -> None:
    browser = browsers.open()
    sign_in(browser, page_server, mentor)
    set_network(browser, OFFLINE)
    log_session(browser, mentor, started_minutes_ago=120, notes="Cooked together; talked about college.")

    # Meanwhile the coordinator fills the child's week (the cohort's cap is 3), just after the phone's session.
    team = mentor.team
    headers = auth_headers(committed_db_session, team.coordinator, now=clock.now())
    committed_db_session.commit()
    api = committed_app.test_client()
    for minutes in (119, 118, 117):
        starts = clock.now() - timedelta(minutes=minutes)
        answer = api.post(
            "/sessions",
            headers=headers,
            json={
                "enrolment_ids": [str(mentor.enrolment.id)],
                "kind": "one_to_one",
                "location_category": "school",
                "status": "completed",
                "actual_duration_minutes": 30,
                "planned_start_at": starts.isoformat(),
                "planned_end_at": (starts + timedelta(minutes=30)).isoformat(),
            },
        )
        assert answer.status_code == 201, answer.get_json()

    set_network(browser, ONLINE)
    click(browser, "Sync now")
    wait_until(browser, lambda b: "1 not accepted" in status(b), "the refusal")
    # Read afresh on each try (a background sync may redraw the caseload); nothing the mentor wrote is lost.
    wait_until(
        browser,
        lambda b: (
            "Not accepted: This child already has 3 of 3 sessions" in b.find_element(By.CSS_SELECTOR, ".refusal").text
            and "Cooked together; talked about college." in b.find_element(By.CSS_SELECTOR, ".refusal").text
        ),
        "the refusal with the mentor's notes",
    )
    assert sessions_on_server(committed_db_session, mentor) == 3
    # Syncing again does not send it again, nor hide it.
    click(browser, "Sync now")
    wait_until(browser, lambda b: "Syncing" not in status(b) and "synced" in status(b), "synced")
    assert "1 not accepted" in status(browser)

    # The mentor moves it to the week before, which has room: everything they wrote comes with it.
    click(browser, "Move it to another day")
    wait_until(browser, lambda b: heading(b).startswith("Change the session"), "the form, filled in")
    assert browser.find_element(By.ID, "notes").get_attribute("value") == "Cooked together; talked about college."
    assert browser.find_element(By.ID, "activity-0").is_selected()
    browser.execute_script(
        """
        const field = document.getElementById("date");
        const moved = new Date(`${field.value}T12:00`);
        moved.setDate(moved.getDate() - 7);
        const pad = (n) => String(n).padStart(2, "0");
        field.value = `${moved.getFullYear()}-${pad(moved.getMonth() + 1)}-${pad(moved.getDate())}`;
        """
    )
    click(browser, "Save")
    wait_until(browser, lambda b: store_counts(b)["outbox"] == 0, "the moved session sent, the refused one gone")
    wait_until(browser, lambda b: "everything sent" in status(b) and "not accepted" not in status(b), "all sent")
    assert not browser.find_elements(By.CSS_SELECTOR, ".refusal")
    assert sessions_on_server(committed_db_session, mentor) == 4
    moved = committed_db_session.scalars(
        select(MentoringSession).where(MentoringSession.notes == "Cooked together; talked about college.")
    ).one()
    assert moved.planned_start_at.replace(tzinfo=UTC) < clock.now() - timedelta(days=6)
    committed_db_session.commit()


def test_a_child_reallocated_away_disappears_and_a_revoked_sign_in_wipes_the_phone(
    page_server: PageServer,
    browsers: Any,
    committed_app: Flask,
    committed_db_session: Session,
    mentor: Mentor,
    clock: FixedClock,
) -> None:
    traffic = watch_traffic(committed_app)
    team = mentor.team
    second = team.child()
    second_reference = committed_db_session.get_one(Child, second.child_id).reference
    committed_db_session.commit()
    browser = browsers.open()
    sign_in(browser, page_server, mentor)
    wait_until(browser, lambda b: synced_until(b, lambda: button(b, second_reference)), "both children")

    # The access token runs out: the app refreshes it once and carries on.
    clock.advance(minutes=20)
    team.allocate(second, team.new_mentor())
    committed_db_session.commit()
    gone = f"//button[contains(., '{second_reference}')]"
    wait_until(browser, lambda b: synced_until(b, lambda: not b.find_elements(By.XPATH, gone)), "forgotten")
    assert button(browser, mentor.child_reference)
    assert traffic.paths_since(0).count("/auth/refresh") == 1
    assert store_counts(browser)["children"] == 1

    # The phone is lost: a coordinator revokes the mentor's sign-ins. At its next contact the phone forgets all.
    headers = auth_headers(committed_db_session, team.coordinator, now=clock.now())
    committed_db_session.commit()
    revoked = committed_app.test_client().post(f"/users/{mentor.mentor_id}/revoke-sign-ins", headers=headers)
    assert revoked.status_code == 200
    click(browser, "Sync now")
    wait_until(browser, lambda b: heading(b) == "Sign in", "the sign-in screen")
    assert "Your sign-in has ended" in browser.find_element(By.CSS_SELECTOR, ".notice").text
    assert set(store_counts(browser).values()) == {0}


def test_signing_out_ends_the_sign_in_and_wipes_the_phone(
    page_server: PageServer, browsers: Any, committed_app: Flask, mentor: Mentor
) -> None:
    traffic = watch_traffic(committed_app)
    browser = browsers.open()
    sign_in(browser, page_server, mentor)
    assert store_counts(browser)["children"] == 1

    click(browser, "Sign out")
    wait_until(browser, lambda b: heading(b) == "Sign in", "the sign-in screen")
    assert "/auth/sign-out" in traffic.paths_since(0)
    assert set(store_counts(browser).values()) == {0}


SCREEN_PROBLEMS = """
const problems = [];
for (const control of document.querySelectorAll("input, select, textarea")) {
  if (control.labels === null || control.labels.length === 0 || control.labels[0].textContent.trim() === "") {
    problems.push(`no label: ${control.id || control.name}`);
  }
}
// 44 px targets: buttons and fields themselves, and each checkbox or radio's whole row (its label is the target).
const targets = "button:not([hidden]), input:not([type=radio]):not([type=checkbox]), select, textarea, .choice";
for (const target of document.querySelectorAll(targets)) {
  const box = target.getBoundingClientRect();
  if (box.height < 44 || box.width < 44) {
    problems.push(`small target: ${target.textContent.trim() || target.id} ${box.width}x${box.height}`);
  }
}
if (document.documentElement.scrollWidth > window.innerWidth) {
  problems.push(`scrolls sideways: ${document.documentElement.scrollWidth} > ${window.innerWidth}`);
}
// A screen the mentor opened moves the focus to its heading (a screen reader reads where they are).
if (arguments[0] && (document.activeElement === null || document.activeElement.tagName !== "H1")) {
  problems.push(`the screen's heading does not have the focus: ${document.activeElement?.tagName}`);
}
return problems;
"""


def screen_problems(browser: WebDriver, *, opened_by_the_mentor: bool = True) -> list[str]:
    problems: list[str] = browser.execute_script(SCREEN_PROBLEMS, opened_by_the_mentor)
    # A policy (CSP) refusal or a script error shows in the console.
    problems += [entry["message"] for entry in browser.get_log("browser") if entry["level"] == "SEVERE"]
    return problems


def test_each_screen_is_labelled_phone_sized_and_plans_a_session(
    page_server: PageServer, browsers: Any, committed_db_session: Session, mentor: Mentor
) -> None:
    browser = browsers.open()
    browser.get(page_server.url("/app"))
    wait_until(browser, lambda b: heading(b) == "Sign in", "the sign-in screen")
    assert browser.execute_script("return window.innerWidth") == 360
    assert screen_problems(browser, opened_by_the_mentor=False) == []
    sign_in(browser, page_server, mentor)
    assert screen_problems(browser) == []

    click(browser, mentor.child_reference)
    wait_until(browser, lambda b: heading(b) != "Your caseload", "the child's page")
    assert screen_problems(browser) == []
    click(browser, "Log a session")
    wait_until(browser, lambda b: heading(b).startswith("Log a session"), "the log form")
    assert screen_problems(browser) == []
    click(browser, "Cancel")
    wait_until(browser, lambda b: button(b, "Plan a session"), "the child's page again")
    click(browser, "Plan a session")
    wait_until(browser, lambda b: heading(b).startswith("Plan a session"), "the plan form")
    assert screen_problems(browser) == []

    click(browser, "Save")  # tomorrow, as the form suggests
    wait_until(browser, lambda b: "Saved" in b.find_element(By.CSS_SELECTOR, ".notice").text, "saved")
    # A session shows under "Next sessions" once the server has accepted it (until then: "Waiting to send").
    next_sessions = "//h2[.='Next sessions']/following-sibling::ul[1]"
    wait_until(browser, lambda b: "Planned" in b.find_element(By.XPATH, next_sessions).text, "accepted")
    assert sessions_on_server(committed_db_session, mentor) == 1
    assert browser.current_url == page_server.url("/app")  # no screen, child or id ever in the address


def plan_on_server(app: Flask, db: Session, mentor: Mentor, clock: FixedClock, *, started_minutes_ago: int) -> str:
    """The coordinator plans a session for the mentor's child that started a while ago; its id."""
    headers = auth_headers(db, mentor.team.coordinator, now=clock.now())
    db.commit()
    starts = clock.now() - timedelta(minutes=started_minutes_ago)
    answer = app.test_client().post(
        "/sessions",
        headers=headers,
        json={
            "enrolment_ids": [str(mentor.enrolment.id)],
            "kind": "one_to_one",
            "location_category": "school",
            "planned_start_at": starts.isoformat(),
            "planned_end_at": (starts + timedelta(minutes=45)).isoformat(),
        },
    )
    assert answer.status_code == 201, answer.get_json()
    return str(answer.get_json()["id"])


def log_planned(browser: WebDriver, mentor: Mentor, *, notes: str) -> None:
    click(browser, mentor.child_reference)
    wait_until(browser, lambda b: synced_until(b, lambda: button(b, "Log it")), "the planned session")
    click(browser, "Log it")
    wait_until(browser, lambda b: heading(b).startswith("Log the session"), "the log form")
    browser.find_element(By.ID, "activity-1").click()
    browser.find_element(By.ID, "notes").send_keys(notes)
    click(browser, "Save")
    wait_until(browser, lambda b: "Saved" in b.find_element(By.CSS_SELECTOR, ".notice").text, "saved")


def session_on_server(db: Session, session_id: str) -> MentoringSession:
    session = db.get_one(MentoringSession, uuid.UUID(session_id))
    db.refresh(session)
    db.commit()
    return session


def test_logging_a_planned_session_whose_answer_was_lost_is_recognised_as_sent_once(
    page_server: PageServer,
    browsers: Any,
    committed_app: Flask,
    committed_db_session: Session,
    mentor: Mentor,
    clock: FixedClock,
) -> None:
    session_id = plan_on_server(committed_app, committed_db_session, mentor, clock, started_minutes_ago=60)
    traffic = watch_traffic(committed_app, lose_first_answer_to="PATCH")
    browser = browsers.open()
    sign_in(browser, page_server, mentor)

    log_planned(browser, mentor, notes="Went bowling; talked about his brother.")
    wait_until(browser, lambda _: len(traffic.session_answers) == 1, "the first try")
    wait_until(browser, lambda b: "1 waiting to send" in status(b), "kept after the lost answer")
    assert session_on_server(committed_db_session, session_id).version == 2  # the server wrote it

    # Sent again with the same If-Match: 412, and the session already holds this log, so it was sent once.
    click(browser, "Sync now")
    wait_until(browser, lambda b: store_counts(b)["outbox"] == 0, "recognised as sent")
    assert "not accepted" not in status(browser)
    logged = session_on_server(committed_db_session, session_id)
    assert (logged.status.value, logged.version) == ("completed", 2)
    assert logged.notes == "Went bowling; talked about his brother."
    assert [(method, answer) for method, answer, _ in traffic.session_answers] == [("PATCH", 200), ("PATCH", 412)]


def test_a_log_that_meets_someone_elses_change_shows_both_and_the_mentor_chooses(
    page_server: PageServer,
    browsers: Any,
    committed_app: Flask,
    committed_db_session: Session,
    mentor: Mentor,
    clock: FixedClock,
) -> None:
    session_id = plan_on_server(committed_app, committed_db_session, mentor, clock, started_minutes_ago=60)
    browser = browsers.open()
    sign_in(browser, page_server, mentor)
    set_network(browser, OFFLINE)
    log_planned(browser, mentor, notes="Cinema; he seemed tired.")

    # Meanwhile the coordinator corrects where it was.
    headers = auth_headers(committed_db_session, mentor.team.coordinator, now=clock.now())
    committed_db_session.commit()
    corrected = committed_app.test_client().patch(
        f"/sessions/{session_id}", headers={**headers, "If-Match": '"1"'}, json={"location_category": "outdoors"}
    )
    assert corrected.status_code == 200, corrected.get_json()

    set_network(browser, ONLINE)
    click(browser, "Sync now")
    wait_until(browser, lambda b: "1 not accepted" in status(b), "the conflict")
    click(browser, "Back to caseload")
    # Read afresh on each try: a background sync may redraw the caseload between finding an element and reading it.
    wait_until(
        browser,
        lambda b: (
            "Planned" in b.find_element(By.CSS_SELECTOR, ".conflict .theirs").text
            and "Cinema; he seemed tired." in b.find_element(By.CSS_SELECTOR, ".conflict .mine").text
        ),
        "the conflict on the caseload, both versions shown",
    )
    assert session_on_server(committed_db_session, session_id).status.value == "planned"

    click(browser, "Send mine instead")
    wait_until(browser, lambda b: store_counts(b)["outbox"] == 0, "sent over theirs")
    logged = session_on_server(committed_db_session, session_id)
    assert (logged.status.value, logged.notes) == ("completed", "Cinema; he seemed tired.")
    assert logged.location_category.value == "outdoors"  # the coordinator's correction stands


def idle_for(browser: WebDriver, minutes: int) -> None:
    """As if the app was last used `minutes` ago (the lock reads when it was, kept in IndexedDB)."""
    browser.execute_async_script(
        """
        const [minutes, done] = arguments;
        const opening = indexedDB.open("reachable-mentors");
        opening.onsuccess = () => {
          const transaction = opening.result.transaction(["meta"], "readwrite");
          transaction.objectStore("meta").put(Date.now() - minutes * 60000, "last_active");
          transaction.oncomplete = () => { opening.result.close(); done(); };
        };
        """,
        minutes,
    )


def test_the_app_locks_after_15_minutes_idle_and_five_wrong_pins_wipe_the_phone(
    page_server: PageServer, browsers: Any, mentor: Mentor
) -> None:
    browser = browsers.open()
    sign_in(browser, page_server, mentor)
    body = browser.find_element(By.TAG_NAME, "body")

    # Opened again 14 minutes later: still open. After 16: locked, and nothing of the caseload shows.
    idle_for(browser, 14)
    browser.refresh()
    wait_until(browser, lambda b: heading(b) == "Your caseload", "open")
    idle_for(browser, 16)
    browser.refresh()
    wait_until(browser, lambda b: heading(b) == "Locked", "locked")
    body = browser.find_element(By.TAG_NAME, "body")
    assert mentor.child_reference not in body.text
    assert not browser.find_element(By.ID, "sign-out").is_displayed()

    browser.find_element(By.ID, "pin").send_keys("000000")
    click(browser, "Unlock")
    wait_until(browser, lambda b: "4 tries left" in b.find_element(By.CSS_SELECTOR, ".problem").text, "wrong")
    browser.find_element(By.ID, "pin").send_keys(PIN)
    click(browser, "Unlock")
    wait_until(browser, lambda b: heading(b) == "Your caseload", "unlocked")
    assert button(browser, mentor.child_reference)

    # Left open and untouched for 16 minutes (the page's clock moved on), then shown again: locked. Five wrong PINs.
    browser.execute_script("const real = Date.now; Date.now = () => real() + 16 * 60000;")
    browser.execute_script("document.dispatchEvent(new Event('visibilitychange'))")
    wait_until(browser, lambda b: heading(b) == "Locked", "locked in use")
    for attempt in range(5):
        browser.find_element(By.ID, "pin").send_keys(f"11111{attempt}")
        click(browser, "Unlock")
        if attempt < 4:
            wait_until(browser, lambda b, left=4 - attempt: f"{left} tr" in b.find_element(By.ID, "lock").text, "wrong")
    wait_until(browser, lambda b: heading(b) == "Sign in", "signed out")
    assert "Too many wrong PINs" in browser.find_element(By.CSS_SELECTOR, ".notice").text
    assert set(store_counts(browser).values()) == {0}


# Set it to a folder to keep the screenshots (the README's come from here: docs/images/).
SCREENSHOTS = os.environ.get("REACHABLE_APP_SCREENSHOTS")


def test_at_phone_size_the_caseload_and_a_childs_page_show_what_matters_first(
    page_server: PageServer,
    browsers: Any,
    committed_app: Flask,
    committed_db_session: Session,
    mentor: Mentor,
    clock: FixedClock,
    tmp_path: Path,
) -> None:
    plan_on_server(committed_app, committed_db_session, mentor, clock, started_minutes_ago=30)
    browser = browsers.open()
    sign_in(browser, page_server, mentor)
    folder = Path(SCREENSHOTS) if SCREENSHOTS else tmp_path

    def screenshot(name: str, *, shows: str) -> None:
        seen = browser.find_element(By.XPATH, f"//*[contains(text(), '{shows}')]")
        top = seen.location["y"]
        assert 0 <= top < PHONE_HEIGHT - 44, f"{shows!r} is below the first screenful ({top} px down)"
        path = folder / f"mentors-app-{name}.png"
        assert browser.save_screenshot(str(path))
        width, height = struct.unpack(">II", path.read_bytes()[16:24])
        assert (width, height) == (PHONE_WIDTH * PHONE_PIXEL_RATIO, PHONE_HEIGHT * PHONE_PIXEL_RATIO)

    wait_until(browser, lambda b: "Log it" not in b.page_source, "settled")
    screenshot("caseload", shows="Today")
    click(browser, mentor.child_reference)
    wait_until(browser, lambda b: button(b, "Log it"), "the child's page")
    screenshot("child", shows="Next sessions")
    click(browser, "Log it")
    wait_until(browser, lambda b: heading(b).startswith("Log the session"), "the log form")
    screenshot("log", shows="Did they come?")


def test_a_concern_logged_offline_says_plainly_to_phone_and_shows_when_it_is_acknowledged(
    page_server: PageServer,
    browsers: Any,
    committed_app: Flask,
    committed_db_session: Session,
    mentor: Mentor,
    clock: FixedClock,
) -> None:
    plan_on_server(committed_app, committed_db_session, mentor, clock, started_minutes_ago=60)
    coordinator = mentor.team.coordinator
    coordinator.mobile_e164 = work_mobile()
    mentor.team.duty_shift(coordinator, clock.now() - timedelta(hours=1), clock.now() + timedelta(hours=8))
    committed_db_session.commit()
    browser = browsers.open()
    sign_in(browser, page_server, mentor)
    set_network(browser, OFFLINE)
    click(browser, mentor.child_reference)
    click(browser, "Log it")
    wait_until(browser, lambda b: heading(b).startswith("Log the session"), "the log form")
    assert "phone 999" in browser.find_element(By.ID, "concern-hint").text
    # Whom to phone, as the rota had it at the last contact: links that work with no data signal.
    calls = {
        link.get_attribute("href"): link.text for link in browser.find_elements(By.CSS_SELECTOR, "#phone-now a.call")
    }
    assert calls == {
        "tel:999": "Phone 999",
        f"tel:{coordinator.mobile_e164}": f"Phone {coordinator.display_name} (on duty)",
    }
    browser.find_element(By.ID, "concern").send_keys("Said an older boy has been asking him to carry things.")
    click(browser, "Save")
    wait_until(browser, lambda b: "NOT sent" in b.find_element(By.CSS_SELECTOR, ".notice").text, "told to phone")

    set_network(browser, ONLINE)
    open_alerts = "//h2[starts-with(., 'Open alerts')]/following-sibling::ul[1]"
    wait_until(
        browser,
        lambda b: synced_until(b, lambda: "not acknowledged yet" in b.find_element(By.XPATH, open_alerts).text),
        "the alert raised",
    )
    alert = committed_db_session.scalars(select(Alert).where(Alert.child_id == mentor.enrolment.child_id)).one()
    committed_db_session.commit()
    headers = auth_headers(committed_db_session, mentor.team.coordinator, now=clock.now())
    committed_db_session.commit()
    acknowledged = committed_app.test_client().post(
        f"/alerts/{alert.id}/acknowledge", headers=headers, json={"note": "Spoke to the mentor; DSL informed."}
    )
    assert acknowledged.status_code == 200, acknowledged.get_json()
    wait_until(
        browser,
        lambda b: synced_until(b, lambda: "not acknowledged" not in b.find_element(By.XPATH, open_alerts).text),
        "the acknowledgement",
    )


AXE = CLIENT / "node_modules" / "axe-core" / "axe.min.js"
WCAG_22_AA = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "wcag22aa"]


def axe_violations(browser: WebDriver) -> list[str]:
    """What axe-core (pinned by clients/typescript/package-lock.json) finds against WCAG 2.2 AA on the screen now.
    It is put into the page by the test's DevTools connection, which the page's policy does not govern."""
    if not AXE.exists():
        unavailable(f"{AXE.relative_to(REPO_ROOT)} is missing: run `make client-deps` (needs npm)")
    if not browser.execute_script("return typeof axe !== 'undefined'"):
        browser.execute_script(AXE.read_text(encoding="utf-8"))
    found: list[str] = browser.execute_async_script(
        """
        const [tags, done] = arguments;
        axe.run(document, { runOnly: { type: "tag", values: tags } }).then(
          (results) =>
            done(results.violations.map((v) => `${v.id}: ${v.nodes.map((n) => n.target.join(" ")).join(", ")}`)),
          (problem) => done([`axe failed: ${problem}`]),
        );
        """,
        WCAG_22_AA,
    )
    return found


def test_axe_core_finds_nothing_against_wcag_2_2_aa_on_any_screen(
    page_server: PageServer,
    browsers: Any,
    committed_app: Flask,
    committed_db_session: Session,
    mentor: Mentor,
    clock: FixedClock,
) -> None:
    plan_on_server(committed_app, committed_db_session, mentor, clock, started_minutes_ago=30)
    browser = browsers.open()
    browser.get(page_server.url("/app"))
    wait_until(browser, lambda b: heading(b) == "Sign in", "the sign-in screen")
    screens = {"sign in": axe_violations(browser)}
    browser.find_element(By.ID, "email").send_keys(mentor.email)
    browser.find_element(By.ID, "password").send_keys(PASSWORD)
    click(browser, "Sign in")
    wait_until(browser, lambda b: heading(b) == "Set a PIN for this app", "the PIN to set")
    screens["set a PIN"] = axe_violations(browser)
    browser.find_element(By.ID, "pin").send_keys(PIN)
    browser.find_element(By.ID, "pin-again").send_keys(PIN)
    click(browser, "Set the PIN")
    wait_until(browser, lambda b: synced_until(b, lambda: button(b, mentor.child_reference)), "the caseload")
    screens["caseload"] = axe_violations(browser)
    click(browser, mentor.child_reference)
    wait_until(browser, lambda b: button(b, "Log it"), "the child's page")
    screens["child"] = axe_violations(browser)
    click(browser, "Log it")
    wait_until(browser, lambda b: heading(b).startswith("Log the session"), "the log form")
    screens["log a planned session"] = axe_violations(browser)
    click(browser, "Cancel")
    click(browser, "Log a session")
    wait_until(browser, lambda b: heading(b).startswith("Log a session"), "the log form")
    screens["log a session"] = axe_violations(browser)
    click(browser, "Cancel")
    click(browser, "Plan a session")
    wait_until(browser, lambda b: heading(b).startswith("Plan a session"), "the plan form")
    screens["plan a session"] = axe_violations(browser)
    browser.execute_script("const real = Date.now; Date.now = () => real() + 16 * 60000;")
    browser.execute_script("document.dispatchEvent(new Event('visibilitychange'))")
    wait_until(browser, lambda b: heading(b) == "Locked", "locked")
    screens["locked"] = axe_violations(browser)

    assert {screen: found for screen, found in screens.items() if found} == {}


def test_a_cursor_the_server_no_longer_reads_starts_the_sync_again_keeping_unsent_writes(
    page_server: PageServer, browsers: Any, mentor: Mentor
) -> None:
    browser = browsers.open()
    sign_in(browser, page_server, mentor)
    set_network(browser, OFFLINE)
    log_session(browser, mentor, started_minutes_ago=60, notes="Chess at the library.")
    browser.execute_async_script(
        """
        const done = arguments[arguments.length - 1];
        const opening = indexedDB.open("reachable-mentors");
        opening.onsuccess = () => {
          const transaction = opening.result.transaction(["meta"], "readwrite");
          transaction.objectStore("meta").put("not-a-cursor", "cursor");
          transaction.oncomplete = () => { opening.result.close(); done(); };
        };
        """
    )

    set_network(browser, ONLINE)
    click(browser, "Sync now")
    wait_until(browser, lambda b: "everything sent" in status(b) and store_counts(b)["outbox"] == 0, "sent")
    wait_until(browser, lambda b: synced_until(b, lambda: button(b, mentor.child_reference)), "the caseload again")
    cursor = browser.execute_async_script(
        """
        const done = arguments[arguments.length - 1];
        const opening = indexedDB.open("reachable-mentors");
        opening.onsuccess = () => {
          const reading = opening.result.transaction(["meta"]).objectStore("meta").get("cursor");
          reading.onsuccess = () => { opening.result.close(); done(reading.result); };
        };
        """
    )
    assert cursor and cursor != "not-a-cursor"
