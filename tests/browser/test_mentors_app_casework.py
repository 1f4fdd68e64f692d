"""The mentors' app (/app), casework: a child's missing episode, their return and the return conversation, and
lone working on a session ("Start lone working", then "I'm safe"), each written offline and reaching the server
once; every screen of it checked by axe-core and the page checks. In a real headless Chromium, on both database
backends, against a live server whose clock is the phone's."""

from __future__ import annotations

import uuid
from typing import Any

import pytest
from flask import Flask
from selenium.webdriver.chrome.webdriver import WebDriver
from selenium.webdriver.common.by import By
from sqlalchemy import select
from sqlalchemy.orm import Session

from api.clock import FixedClock
from api.missing.models import MissingEpisode, ReturnConversation
from api.sessions.models import LoneWorkingCheck
from tests.browser.conftest import Mentor, PageServer
from tests.browser.mentors_app_driving import (
    OFFLINE,
    ONLINE,
    axe_violations,
    button,
    click,
    heading,
    plan_on_server,
    screen_problems,
    set_network,
    sign_in,
    status,
    synced_until,
    wait_until,
    watch_traffic,
)

pytestmark = pytest.mark.browser


def set_moment(browser: WebDriver, field: str, *, minutes_ago: int) -> None:
    """Fill in a date and time pair (`<field>-date`, `<field>-time`) with the phone's time `minutes_ago`. (The
    server's clock stands still at the test's start, so nothing is written as "now".)"""
    browser.execute_script(
        """
        const [field, minutes] = arguments;
        const at = new Date(Date.now() - minutes * 60000);
        const pad = (n) => String(n).padStart(2, "0");
        document.getElementById(`${field}-date`).value =
          `${at.getFullYear()}-${pad(at.getMonth() + 1)}-${pad(at.getDate())}`;
        document.getElementById(`${field}-time`).value = `${pad(at.getHours())}:${pad(at.getMinutes())}`;
        """,
        field,
        minutes_ago,
    )


def phone_records(browser: WebDriver, store: str) -> list[dict[str, Any]]:
    """Every record one of the app's IndexedDB stores holds."""
    found: list[dict[str, Any]] = browser.execute_async_script(
        """
        const [name, done] = arguments;
        const opening = indexedDB.open("reachable-mentors");
        opening.onsuccess = () => {
          const reading = opening.result.transaction([name], "readonly").objectStore(name).getAll();
          reading.onsuccess = () => { opening.result.close(); done(reading.result); };
        };
        """,
        store,
    )
    return found


def notice_text(browser: WebDriver) -> str:
    return str(browser.find_element(By.CSS_SELECTOR, ".notice").text)


def problems(browser: WebDriver, *, opened_by_the_mentor: bool = True) -> list[str]:
    """axe-core and the page checks (labels, 44 px targets, the heading's focus, no sideways scroll) on this screen;
    a request the phone tried with no network is logged by the browser, and is no problem of the screen's."""
    found = axe_violations(browser) + screen_problems(browser, opened_by_the_mentor=opened_by_the_mentor)
    return [problem for problem in found if "net::ERR_INTERNET_DISCONNECTED" not in problem]


def checked(browser: WebDriver, screens: dict[str, list[str]], name: str) -> None:
    """The checks on a screen redrawn since the mentor opened it (the focus is wherever they left it)."""
    screens[name] = problems(browser, opened_by_the_mentor=False)


def click_im_safe(browser: WebDriver) -> None:
    """The "I'm safe" button (its apostrophe cannot go in the shared helper's XPath)."""

    def clicked(driver: WebDriver) -> bool:
        driver.find_element(By.CSS_SELECTOR, "button.safe").click()
        return True

    wait_until(browser, clicked, "the I'm safe button")


def requests_to(traffic: Any, method: str, path_part: str) -> int:
    with traffic.lock:
        return sum(1 for m, path in traffic.requests if m == method and path_part in path)


def test_a_missing_episode_its_return_and_the_return_conversation_recorded_offline_reach_the_server_once(
    page_server: PageServer,
    browsers: Any,
    committed_app: Flask,
    committed_db_session: Session,
    mentor: Mentor,
) -> None:
    traffic = watch_traffic(committed_app)
    browser = browsers.open()
    sign_in(browser, page_server, mentor)
    click(browser, mentor.child_reference)
    wait_until(browser, lambda b: button(b, "Record a missing episode"), "the child's page")
    screens: dict[str, list[str]] = {}

    # No concern is raised on its own (the API takes one with a log): the log form opens at the concern box.
    click(browser, "Raise a concern")
    wait_until(browser, lambda b: heading(b).startswith("Log a session"), "the log form, for a concern")
    assert browser.switch_to.active_element.get_attribute("id") == "concern"
    click(browser, "Cancel")

    set_network(browser, OFFLINE)
    click(browser, "Record a missing episode")
    wait_until(browser, lambda b: heading(b).startswith("Record a missing episode"), "the missing episode form")
    screens["record a missing episode"] = problems(browser)
    set_moment(browser, "reported", minutes_ago=180)
    click(browser, "Save")
    wait_until(browser, lambda b: "nobody knows" in notice_text(b), "told plainly nobody knows yet")
    assert "NOT sent yet" in browser.find_element(By.XPATH, "//li[contains(@class, 'episode')]").text

    set_network(browser, ONLINE)
    wait_until(browser, lambda b: synced_until(b, lambda: button(b, "Record their return")), "the episode, sent")
    episode = committed_db_session.scalars(
        select(MissingEpisode).where(MissingEpisode.child_id == mentor.enrolment.child_id)
    ).one()
    committed_db_session.commit()
    assert episode.returned_at is None
    checked(browser, screens, "child, missing")

    set_network(browser, OFFLINE)
    click(browser, "Record their return")
    wait_until(browser, lambda b: heading(b).startswith("Record their return"), "the return form")
    screens["record their return"] = problems(browser)
    set_moment(browser, "returned", minutes_ago=60)
    click(browser, "Save")
    wait_until(browser, lambda b: "Saved on this phone" in notice_text(b), "the return saved")
    # Its return still in the outbox, the return conversation can already be recorded: it is sent after it.
    click(browser, "Record the return conversation")
    wait_until(browser, lambda b: heading(b).startswith("Record the return conversation"), "the conversation form")
    screens["record the return conversation"] = problems(browser)
    set_moment(browser, "offered", minutes_ago=40)
    set_moment(browser, "completed", minutes_ago=30)
    browser.find_element(By.ID, "held-by").send_keys("Return home interview service")
    click(browser, "Save")
    wait_until(browser, lambda b: "Saved on this phone" in notice_text(b), "the conversation saved")
    wait_until(browser, lambda b: "2 waiting to send" in status(b), "two writes waiting")
    episode_item = browser.find_element(By.XPATH, "//li[contains(@class, 'episode')]").text
    assert "saved on this phone, not sent yet" in episode_item
    # After a lost answer the phone knows its return was applied if the episode says the same `returned_at`: the
    # phone sends it as the server writes it back, so the two compare exactly.
    (sent_return,) = [w["body"]["returned_at"] for w in phone_records(browser, "outbox") if w["method"] == "PATCH"]
    checked(browser, screens, "child, return and conversation waiting")

    set_network(browser, ONLINE)
    click(browser, "Sync now")
    wait_until(browser, lambda b: "everything sent" in status(b), "everything sent")
    wait_until(
        browser,
        lambda b: synced_until(b, lambda: "Return conversation completed" in b.find_element(By.ID, "screen").text),
        "the conversation, as the server has it",
    )
    (kept,) = phone_records(browser, "missing_episodes")
    assert kept["returned_at"] == sent_return
    committed_db_session.refresh(episode)
    conversations = committed_db_session.scalars(
        select(ReturnConversation).where(ReturnConversation.missing_episode_id == episode.id)
    ).all()
    committed_db_session.commit()
    assert episode.returned_at is not None
    assert [(c.outcome.value, c.independent, c.held_by) for c in conversations] == [
        ("completed", True, "Return home interview service")
    ]
    episodes_path = f"/children/{mentor.enrolment.child_id}/missing-episodes"
    assert requests_to(traffic, "POST", episodes_path) == 1
    assert requests_to(traffic, "PATCH", f"/missing-episodes/{episode.id}") == 1
    assert requests_to(traffic, "PUT", f"/missing-episodes/{episode.id}/return-conversation") == 1
    assert {screen: found for screen, found in screens.items() if found} == {}


def test_lone_working_started_and_im_safe_offline_reach_the_server_once_and_close_the_check(
    page_server: PageServer,
    browsers: Any,
    committed_app: Flask,
    committed_db_session: Session,
    mentor: Mentor,
    clock: FixedClock,
) -> None:
    session_id = plan_on_server(committed_app, committed_db_session, mentor, clock, started_minutes_ago=20)
    traffic = watch_traffic(committed_app)
    browser = browsers.open()
    sign_in(browser, page_server, mentor)
    screens: dict[str, list[str]] = {}
    # The caseload's Today offers it under the session, as the child's page does.
    wait_until(browser, lambda b: synced_until(b, lambda: button(b, "Start lone working")), "today's session")
    checked(browser, screens, "caseload, lone working to start")

    click(browser, "Start lone working")
    wait_until(browser, lambda b: heading(b).startswith("Start lone working"), "the lone working form")
    screens["start lone working"] = problems(browser)
    said = browser.find_element(By.ID, "lone-working-what").text
    assert "you will be texted" in said and "15 minutes later" in said and "duty coordinator is alerted" in said
    assert browser.find_element(By.ID, "check-in-by").get_attribute("value") != ""

    set_network(browser, OFFLINE)
    click(browser, "Start lone working")
    wait_until(browser, lambda b: "nobody knows you have started" in notice_text(b), "told nobody knows yet")
    click_im_safe(browser)
    wait_until(browser, lambda b: "may still be texted" in notice_text(b), "told the server may still text")
    assert browser.find_elements(By.CSS_SELECTOR, ".lone-working a.call[href='tel:999']")
    checked(browser, screens, "child, I'm safe waiting")
    assert requests_to(traffic, "POST", "/lone-working") == 0

    set_network(browser, ONLINE)
    click(browser, "Sync now")
    wait_until(browser, lambda b: "everything sent" in status(b), "everything sent")
    wait_until(
        browser,
        lambda b: synced_until(b, lambda: "you checked in at" in b.find_element(By.ID, "screen").text),
        "the check closed, as the server has it",
    )
    checks = committed_db_session.scalars(
        select(LoneWorkingCheck).where(LoneWorkingCheck.session_id == uuid.UUID(session_id))
    ).all()
    committed_db_session.commit()
    closed = [(check.closed_at is not None, check.closed_how.value if check.closed_how else None) for check in checks]
    assert closed == [(True, "safe")]
    assert requests_to(traffic, "POST", f"/sessions/{session_id}/lone-working") == 2  # the start, then "I'm safe"
    assert requests_to(traffic, "POST", f"/sessions/{session_id}/lone-working/safe") == 1
    assert {screen: found for screen, found in screens.items() if found} == {}
