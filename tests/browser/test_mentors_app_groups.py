"""The mentors' app (/app) in a real headless Chromium: a group session's register and a child's weekly pattern.

The register is taken offline and reaches the server once when the signal comes back, even when the server's
answer is lost on the way (the replay meets 412 and the phone tells its own register from someone else's); a
refusal (the session has not started yet) is kept and shown with its reason. A weekly pattern is set from the
child's page, listed in words, and a cap refusal is shown plainly. On both database backends.
"""

from __future__ import annotations

import threading
import uuid
from collections.abc import Callable, Iterable
from typing import Any

import pytest
from flask import Flask
from selenium.webdriver.common.by import By
from sqlalchemy import select
from sqlalchemy.orm import Session

from api.clock import FixedClock
from api.programmes.models import Cohort
from api.schedules.models import SessionPattern
from api.sessions.models import SessionAttendee, SessionCarer
from api.sessions.register_rules import Attendance
from tests.browser.conftest import Mentor, PageServer
from tests.browser.mentors_app_driving import (
    OFFLINE,
    ONLINE,
    axe_violations,
    button,
    click,
    group_session_led_by,
    heading,
    screen_problems,
    session_on_server,
    set_network,
    sign_in,
    status,
    store_counts,
    synced_until,
    wait_until,
)

pytestmark = pytest.mark.browser


def lose_first_answer_to_put(app: Flask) -> list[int]:
    """Let the first PUT to a register commit and then lose its answer (a 502, as a proxy gives when its connection
    drops after the server wrote); the statuses the server answered to each PUT are listed."""
    answered: list[int] = []
    lock = threading.Lock()
    inner = app.wsgi_app

    def middleware(environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        if environ["REQUEST_METHOD"] != "PUT" or not environ["PATH_INFO"].endswith("/register"):
            return inner(environ, start_response)
        kept: dict[str, Any] = {}

        def keep(status: str, headers: list[tuple[str, str]], *_: Any) -> Callable[[bytes], None]:
            kept["status"], kept["headers"] = status, headers
            return lambda _data: None

        body = b"".join(inner(environ, keep))
        with lock:
            answered.append(int(kept["status"].split()[0]))
            lose = len(answered) == 1
        if lose:
            start_response("502 Bad Gateway", [("Content-Type", "text/plain")])
            return [b"the answer was lost"]
        start_response(kept["status"], kept["headers"])
        return [body]

    app.wsgi_app = middleware  # type: ignore[method-assign]
    return answered


def lines_on_server(db: Session, session_id: str) -> dict[uuid.UUID, Attendance]:
    rows = db.execute(
        select(SessionAttendee.child_id, SessionAttendee.attendance).where(
            SessionAttendee.session_id == uuid.UUID(session_id)
        )
    ).all()
    db.commit()
    return {child_id: attendance for child_id, attendance in rows}


def refusal_text(browser: Any) -> str:
    return " ".join(item.text for item in browser.find_elements(By.CSS_SELECTOR, "li.refusal"))


def test_a_register_refused_before_the_start_is_shown_then_taken_offline_reaches_the_server_once(
    page_server: PageServer,
    browsers: Any,
    committed_app: Flask,
    committed_db_session: Session,
    mentor: Mentor,
    clock: FixedClock,
) -> None:
    group = group_session_led_by(committed_app, committed_db_session, mentor, clock, starts_in_minutes=5)
    # A series none of the mentor's caseload is on (the sync feed does not carry it): read as a session they lead.
    group_session_led_by(
        committed_app,
        committed_db_session,
        mentor,
        clock,
        starts_in_minutes=65,
        name="Awareness group",
        with_the_mentors_child=False,
    )
    version_before = session_on_server(committed_db_session, group.session_id).version
    browser = browsers.open()
    sign_in(browser, page_server, mentor)
    registers = "//button[normalize-space()='Take the register']"
    wait_until(browser, lambda b: synced_until(b, lambda: len(b.find_elements(By.XPATH, registers)) == 2), "both")

    # Before the session starts, marking who came is refused, and the refusal is kept with its reason.
    click(browser, "Take the register")
    wait_until(browser, lambda b: heading(b) == f"Take the register: {group.series_name}", "the register")
    page = browser.find_element(By.TAG_NAME, "main").text
    assert group.other_child_reference in page and mentor.child_reference in page
    assert group.other_child_first_name not in page  # a child not on the caseload: only what the session gives
    assert screen_problems(browser) == []
    assert axe_violations(browser) == []
    browser.find_element(By.CSS_SELECTOR, "label[for='register-0-came']").click()
    click(browser, "Save the register")
    wait_until(browser, lambda b: heading(b) == "Your caseload", "back to the caseload")
    wait_until(browser, lambda b: "started" in refusal_text(b), "the refusal")
    assert f"Register · {group.series_name}" in refusal_text(browser)
    assert session_on_server(committed_db_session, group.session_id).version == version_before
    click(browser, "I have read this: remove it")
    wait_until(browser, lambda b: refusal_text(b) == "", "the refusal removed")

    # The session has started (the server's clock moves on); the register is taken with no signal.
    clock.advance(minutes=10)
    set_network(browser, OFFLINE)
    click(browser, "Take the register")
    wait_until(browser, lambda b: heading(b).startswith("Take the register"), "the register")
    ours = mentor.enrolment.child_id
    [others] = [child_id for child_id in lines_on_server(committed_db_session, group.session_id) if child_id != ours]
    # Lines are in the order of the references, as the session gives them.
    order = sorted([(mentor.child_reference, ours), (group.other_child_reference, others)])
    missed_line = next(index for index, (_, child_id) in enumerate(order) if child_id == others)
    came_line = 1 - missed_line
    browser.find_element(By.CSS_SELECTOR, f"label[for='register-{came_line}-came']").click()
    browser.find_element(By.CSS_SELECTOR, f"label[for='register-{missed_line}-missed']").click()
    browser.find_element(By.ID, "carers-parent").clear()
    browser.find_element(By.ID, "carers-parent").send_keys("1")
    click(browser, "Save the register")
    wait_until(browser, lambda b: "Saved on this phone" in b.find_element(By.CSS_SELECTOR, ".notice").text, "saved")
    assert store_counts(browser)["outbox"] == 1
    assert "1 waiting to send" in status(browser)

    # Back online: the first answer is lost after the server wrote; the replay meets 412 and finds its own register.
    answered = lose_first_answer_to_put(committed_app)
    set_network(browser, ONLINE)
    click(browser, "Sync now")
    wait_until(browser, lambda _: len(answered) >= 1, "the register sent")
    wait_until(browser, lambda b: synced_until(b, lambda: store_counts(b)["outbox"] == 0), "the register accepted")
    assert answered[0] == 200 and all(later == 412 for later in answered[1:]), answered
    assert lines_on_server(committed_db_session, group.session_id) == {
        ours: Attendance.ATTENDED,
        others: Attendance.DID_NOT_ATTEND,
    }
    # Taken once: one new version, one carer.
    assert session_on_server(committed_db_session, group.session_id).version == version_before + 1
    carers = committed_db_session.scalars(
        select(SessionCarer).where(SessionCarer.session_id == uuid.UUID(group.session_id))
    ).all()
    committed_db_session.commit()
    assert len(carers) == 1
    assert refusal_text(browser) == ""


def test_a_weekly_pattern_is_set_from_the_childs_page_listed_in_words_and_a_cap_refusal_is_shown(
    page_server: PageServer,
    browsers: Any,
    committed_app: Flask,
    committed_db_session: Session,
    mentor: Mentor,
) -> None:
    browser = browsers.open()
    sign_in(browser, page_server, mentor)
    click(browser, mentor.child_reference)
    wait_until(browser, lambda b: button(b, "Set a weekly pattern"), "the child's page")
    assert "Weekly pattern\nNone set." in browser.find_element(By.TAG_NAME, "main").text
    click(browser, "Set a weekly pattern")
    wait_until(browser, lambda b: heading(b).startswith("Set a weekly pattern"), "the pattern form")
    assert screen_problems(browser) == []

    # More days than the cohort's weekly cap (3, which the phone has fetched) is refused on the phone.
    for day in (1, 2, 4, 5):
        browser.find_element(By.CSS_SELECTOR, f"label[for='day-{day}']").click()
    click(browser, "Set the pattern")
    wait_until(browser, lambda b: "at most 3 sessions" in b.find_element(By.CSS_SELECTOR, ".problem").text, "the cap")
    for day in (1, 5):
        browser.find_element(By.CSS_SELECTOR, f"label[for='day-{day}']").click()
    for day in (2, 4):
        browser.execute_script("document.getElementById(arguments[0]).value = '17:30'", f"time-{day}")
    assert screen_problems(browser, opened_by_the_mentor=False) == []
    assert axe_violations(browser) == []
    click(browser, "Set the pattern")
    wait_until(browser, lambda b: button(b, "Set a weekly pattern"), "the child's page")
    words = "Tuesdays and Thursdays at 17:30, 60 min"
    wait_until(browser, lambda b: words in b.find_element(By.TAG_NAME, "main").text, "the pattern listed")
    wait_until(browser, lambda b: store_counts(b)["outbox"] == 0, "the pattern sent")
    patterns = committed_db_session.scalars(
        select(SessionPattern).where(SessionPattern.enrolment_id == mentor.enrolment.id)
    ).all()
    committed_db_session.commit()
    assert len(patterns) == 1
    # The sessions it planned arrive by the sync feed.
    wait_until(
        browser,
        lambda b: synced_until(b, lambda: "Planned · Face to face" in b.find_element(By.TAG_NAME, "main").text),
        "the planned sessions",
    )

    # The coordinator lowers the cohort's cap; the phone still thinks 3, and the server refuses two days a week.
    cohort = committed_db_session.get_one(Cohort, mentor.team.cohort.id)
    cohort.max_sessions_per_week = 1
    committed_db_session.commit()
    click(browser, "Set a weekly pattern")
    wait_until(browser, lambda b: heading(b).startswith("Set a weekly pattern"), "the pattern form")
    for day in (1, 3):
        browser.find_element(By.CSS_SELECTOR, f"label[for='day-{day}']").click()
    click(browser, "Set the pattern")
    wait_until(browser, lambda b: "Not accepted" in refusal_text(b), "the refusal")
    assert "Weekly pattern · Mondays and Wednesdays at 17:00, 60 min" in refusal_text(browser)
    assert len(committed_db_session.scalars(select(SessionPattern)).all()) == 1
    committed_db_session.commit()
