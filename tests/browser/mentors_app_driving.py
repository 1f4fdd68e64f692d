"""Driving the mentors' app (/app) in a real browser, shared by its browser tests: signing in, clicking by a
button's words, switching the network off and on, reading the phone's store, watching what reached the server,
and the page checks (labels, 44 px targets, focus, axe-core)."""

from __future__ import annotations

import re
import threading
import uuid
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

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

from api.clock import FixedClock
from api.sessions.models import MentoringSession
from tests.browser.conftest import Mentor, PageServer
from tests.builders import PASSWORD, auth_headers
from tests.contract.node_tools import CLIENT, REPO_ROOT, unavailable

WAIT_SECONDS = 30


PIN = "246810"


OFFLINE = {"offline": True, "latency": 0, "downloadThroughput": -1, "uploadThroughput": -1}


ONLINE = {"offline": False, "latency": 0, "downloadThroughput": -1, "uploadThroughput": -1}


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
  if (target.getClientRects().length === 0) {
    continue; // not shown (inside something hidden): not a target
  }
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


@dataclass
class LostAnswers:
    """The answers to the writes being watched: (method, path, status, Idempotent-Replayed), in order."""

    answers: list[tuple[str, str, int, str | None]] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def to(self, method: str, pattern: str) -> list[tuple[int, str | None]]:
        with self.lock:
            return [
                (status, replayed)
                for m, path, status, replayed in self.answers
                if m == method and re.search(pattern, path)
            ]


def lose_first_answers(app: Flask, *writes: tuple[str, str]) -> LostAnswers:
    """For each (method, path pattern) given, e.g. ("POST", r"/check-ins$"), let the first matching write commit and
    then lose its answer (a 502, as a proxy gives when its connection drops after the server wrote); the answers to
    every matching write are recorded. watch_traffic does the same for the first write to /sessions only."""
    watched = LostAnswers()
    inner = app.wsgi_app
    to_lose = list(writes)

    def matching(method: str, path: str) -> tuple[str, str] | None:
        return next((write for write in writes if write[0] == method and re.search(write[1], path)), None)

    def middleware(environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        method, path = environ["REQUEST_METHOD"], environ["PATH_INFO"]
        write = matching(method, path)
        if write is None:
            return inner(environ, start_response)
        answered: dict[str, Any] = {}

        def keep(status: str, headers: list[tuple[str, str]], *_: Any) -> Callable[[bytes], None]:
            answered["status"], answered["headers"] = status, headers
            return lambda _data: None

        body = b"".join(inner(environ, keep))
        replayed = dict(answered["headers"]).get("Idempotent-Replayed")
        with watched.lock:
            watched.answers.append((method, path, int(answered["status"].split()[0]), replayed))
            lose = write in to_lose
            if lose:
                to_lose.remove(write)
        if lose:
            start_response("502 Bad Gateway", [("Content-Type", "text/plain")])
            return [b"the answer was lost"]
        start_response(answered["status"], answered["headers"])
        return [body]

    app.wsgi_app = middleware  # type: ignore[method-assign]
    return watched


@dataclass
class GroupSession:
    """A group session the mentor leads (one of a series), with their child and another mentor's child booked."""

    session_id: str
    series_name: str
    other_child_reference: str
    other_child_first_name: str


def group_session_led_by(
    app: Flask,
    db: Session,
    mentor: Mentor,
    clock: FixedClock,
    *,
    starts_in_minutes: int,
    name: str = "Staying safe online",
    with_the_mentors_child: bool = True,
) -> GroupSession:
    """A series of two sessions led by the mentor (the first starting soon, the next a week later), its roster the
    mentor's child (unless not wanted) and a child on another mentor's caseload, made through the API as a
    coordinator does."""
    from api.children.models import Child

    team = mentor.team
    other = team.child(team.new_mentor())
    other_child = db.get_one(Child, other.child_id)
    headers = auth_headers(db, team.coordinator, now=clock.now())
    db.commit()
    client = app.test_client()
    first = clock.now() + timedelta(minutes=starts_in_minutes)
    answer = client.post(
        "/group-series",
        headers=headers,
        json={
            "programme_id": str(team.programme.id),
            "name": name,
            "capacity": 8,
            "lead_facilitator_id": str(mentor.mentor_id),
            "location_category": "community_venue",
            "sessions": [
                {"planned_start_at": start.isoformat(), "planned_end_at": (start + timedelta(minutes=90)).isoformat()}
                for start in (first, first + timedelta(weeks=1))
            ],
        },
    )
    assert answer.status_code == 201, answer.get_json()
    series = answer.get_json()
    for enrolment_id in [mentor.enrolment.id, other.id][0 if with_the_mentors_child else 1 :]:
        joined = client.post(
            f"/group-series/{series['id']}/members", headers=headers, json={"enrolment_id": str(enrolment_id)}
        )
        assert joined.status_code == 201, joined.get_json()
    found = GroupSession(series["sessions"][0]["id"], name, other_child.reference, other_child.first_name)
    db.commit()
    return found


def press(browser: WebDriver, *keys: str) -> None:
    """Keys pressed on the keyboard, to whatever has the focus (never a click)."""
    from selenium.webdriver.common.action_chains import ActionChains

    ActionChains(browser).send_keys(*keys).perform()


FOCUSED = """
const focused = document.activeElement;
if (focused === null) { return ""; }
return `${focused.id}|${focused.getAttribute("aria-label") ?? ""}|${focused.textContent.trim()}`;
"""


def focused(browser: WebDriver) -> str:
    """What has the focus: its id, aria-label and text, joined by |."""
    return str(browser.execute_script(FOCUSED))


def tab_to(browser: WebDriver, words: str, *, most: int = 60, backwards: bool = False) -> None:
    """Press Tab (or Shift+Tab) until the focus is on the control whose id, label or text holds `words` (it must be
    reachable by the keyboard, in order, from where the focus is)."""
    from selenium.webdriver.common.action_chains import ActionChains
    from selenium.webdriver.common.keys import Keys

    for _ in range(most):
        if backwards:
            ActionChains(browser).key_down(Keys.SHIFT).send_keys(Keys.TAB).key_up(Keys.SHIFT).perform()
        else:
            press(browser, Keys.TAB)
        if words in focused(browser):
            return
    raise AssertionError(f"{words!r} is not reached by Tab (the focus is on {focused(browser)!r})")
