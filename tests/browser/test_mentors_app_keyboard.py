"""The mentors' app (/app) with the keyboard alone: the whole evening, from signing in to taking a group's register.

Nothing is clicked: every step is Tab (or Shift+Tab) to a control, then typing, Space for a checkbox or radio, the
arrow keys within a radio group and Enter for a button or a form. Reaching each control by Tab checks the tab order
as it goes. The server is then read for what the mentor did. On both database backends.
"""

from __future__ import annotations

import uuid
from typing import Any

import pytest
from flask import Flask
from selenium.common.exceptions import NoSuchElementException
from selenium.webdriver.common.by import By
from selenium.webdriver.common.keys import Keys
from sqlalchemy import select
from sqlalchemy.orm import Session

from api.clock import FixedClock
from api.sessions.models import MentoringSession, SessionAttendee
from api.sessions.register_rules import Attendance
from api.sessions.rules import SessionKind, SessionStatus
from tests.browser.conftest import Mentor, PageServer
from tests.browser.mentors_app_driving import (
    PIN,
    button,
    focused,
    group_session_led_by,
    heading,
    press,
    screen_problems,
    status,
    store_counts,
    tab_to,
    wait_until,
)
from tests.builders import PASSWORD

pytestmark = pytest.mark.browser


def found(browser: Any, words: str) -> bool:
    try:
        return bool(button(browser, words))
    except NoSuchElementException:
        return False


def sync_by_keyboard(browser: Any, until: str) -> None:
    """Until the button `until` is on the screen: Shift+Tab back (the header is before the screen) to "Sync now",
    Enter."""

    def synced(b: Any) -> bool:
        if found(b, until):
            return True
        if "Syncing" not in status(b):
            tab_to(b, "Sync now", backwards=True)
            press(b, Keys.ENTER)
        return False

    wait_until(browser, synced, f"{until!r} after a sync")


def test_the_whole_evening_is_done_with_the_keyboard_alone(
    page_server: PageServer,
    browsers: Any,
    committed_app: Flask,
    committed_db_session: Session,
    mentor: Mentor,
    clock: FixedClock,
) -> None:
    group = group_session_led_by(committed_app, committed_db_session, mentor, clock, starts_in_minutes=5)
    clock.advance(minutes=10)  # on the server, the group session has started
    browser = browsers.open()
    browser.get(page_server.url("/app"))
    wait_until(browser, lambda b: heading(b) == "Sign in", "the sign-in screen")

    # Sign in, and set the PIN.
    tab_to(browser, "email")
    press(browser, mentor.email)
    tab_to(browser, "password")
    press(browser, PASSWORD, Keys.ENTER)
    wait_until(browser, lambda b: heading(b) == "Set a PIN for this app", "the PIN to set")
    tab_to(browser, "pin")
    press(browser, PIN)
    tab_to(browser, "pin-again")
    press(browser, PIN, Keys.ENTER)
    wait_until(browser, lambda b: heading(b) == "Your caseload", "the caseload")

    # Open the child, and log a session that happened an hour ago (the form's suggestion) with an activity and notes.
    sync_by_keyboard(browser, mentor.child_reference)
    tab_to(browser, mentor.child_reference)
    press(browser, Keys.ENTER)
    wait_until(browser, lambda b: found(b, "Log a session"), "the child's page")
    tab_to(browser, "Log a session")
    press(browser, Keys.ENTER)
    wait_until(browser, lambda b: heading(b).startswith("Log a session"), "the log form")
    tab_to(browser, "activity-0")
    press(browser, Keys.SPACE)
    tab_to(browser, "notes")
    press(browser, "Practised the bus route to college.")
    tab_to(browser, "|Save")
    press(browser, Keys.ENTER)
    wait_until(browser, lambda b: "Saved" in b.find_element(By.CSS_SELECTOR, ".notice").text, "the log saved")

    # Plan a session for tomorrow (the form's suggestion).
    tab_to(browser, "Plan a session")
    press(browser, Keys.ENTER)
    wait_until(browser, lambda b: heading(b).startswith("Plan a session"), "the plan form")
    tab_to(browser, "duration")
    press(browser, Keys.BACKSPACE, Keys.BACKSPACE, "45")
    tab_to(browser, "|Save")
    press(browser, Keys.ENTER)
    wait_until(browser, lambda b: "Saved" in b.find_element(By.CSS_SELECTOR, ".notice").text, "the plan saved")

    # Take the group's register: the child came (Space), the other child did not (the arrow moves to "Did not come").
    tab_to(browser, "Back to caseload")
    press(browser, Keys.ENTER)
    wait_until(browser, lambda b: heading(b) == "Your caseload", "the caseload")
    sync_by_keyboard(browser, "Take the register")
    tab_to(browser, "Take the register")
    press(browser, Keys.ENTER)
    wait_until(browser, lambda b: heading(b) == f"Take the register: {group.series_name}", "the register")
    assert screen_problems(browser) == []
    references = sorted([mentor.child_reference, group.other_child_reference])  # the session's order
    for index, reference in enumerate(references):
        tab_to(browser, f"register-{index}-came")
        press(browser, Keys.SPACE if reference == mentor.child_reference else Keys.ARROW_DOWN)
        if reference != mentor.child_reference:
            assert f"register-{index}-missed" in focused(browser)
    tab_to(browser, "Save the register")
    press(browser, Keys.ENTER)
    wait_until(browser, lambda b: heading(b) == "Your caseload", "back to the caseload")
    wait_until(browser, lambda b: store_counts(b)["outbox"] == 0, "everything sent")

    # The server has what the mentor did.
    sessions = committed_db_session.scalars(
        select(MentoringSession).where(MentoringSession.mentor_id == mentor.mentor_id)
    ).all()
    one_to_one = {(s.status, s.notes, tuple(s.activities or ())) for s in sessions if s.kind is SessionKind.ONE_TO_ONE}
    lines = dict(
        committed_db_session.execute(
            select(SessionAttendee.child_id, SessionAttendee.attendance).where(
                SessionAttendee.session_id == uuid.UUID(group.session_id)
            )
        ).all()
    )
    activities = committed_db_session.scalars(
        select(MentoringSession.activities).where(
            MentoringSession.mentor_id == mentor.mentor_id, MentoringSession.status == SessionStatus.COMPLETED
        )
    ).one()
    committed_db_session.commit()
    assert activities
    assert one_to_one == {
        (SessionStatus.COMPLETED, "Practised the bus route to college.", tuple(activities)),
        (SessionStatus.PLANNED, None, ()),
    }
    assert lines[mentor.enrolment.child_id] is Attendance.ATTENDED
    assert set(lines.values()) == {Attendance.ATTENDED, Attendance.DID_NOT_ATTEND}
