"""Signing in to the mentors' app with a second factor, when a mentor's account asks for one (their programme
requires it of mentors, or they set up an authenticator themselves): setting the authenticator up, keeping the
recovery codes, then a wrong code refused and a recovery code taking its place."""

from __future__ import annotations

import pytest
from flask import Flask
from selenium.webdriver.chrome.webdriver import WebDriver
from selenium.webdriver.common.by import By
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from api.accounts import totp
from api.accounts.models import MfaRecoveryCode
from api.clock import FixedClock
from tests.browser.conftest import Mentor, PageServer
from tests.browser.mentors_app_driving import (
    PIN,
    axe_violations,
    button,
    click,
    heading,
    screen_problems,
    synced_until,
    wait_until,
)
from tests.builders import PASSWORD

pytestmark = pytest.mark.browser


def password_step(browser: WebDriver, server: PageServer, mentor: Mentor) -> None:
    browser.get(server.url("/app"))
    wait_until(browser, lambda b: heading(b) == "Sign in", "the sign-in screen")
    browser.find_element(By.ID, "email").send_keys(mentor.email)
    browser.find_element(By.ID, "password").send_keys(PASSWORD)
    click(browser, "Sign in")


def set_pin(browser: WebDriver, mentor: Mentor) -> None:
    wait_until(browser, lambda b: heading(b) == "Set a PIN for this app", "the PIN to set")
    browser.find_element(By.ID, "pin").send_keys(PIN)
    browser.find_element(By.ID, "pin-again").send_keys(PIN)
    click(browser, "Set the PIN")
    wait_until(browser, lambda b: heading(b) == "Your caseload", "the caseload")
    wait_until(browser, lambda b: synced_until(b, lambda: button(b, mentor.child_reference)), "the child, synced")


def problems_here(browser: WebDriver) -> list[str]:
    """The page's problems, less the browser's own report of the password step's 401 (mfa_required, expected)."""
    return [problem for problem in screen_problems(browser) if "/auth/sign-in" not in problem]


def unused_recovery_codes(db: Session, mentor: Mentor) -> int:
    found = db.scalar(
        select(func.count())
        .select_from(MfaRecoveryCode)
        .where(MfaRecoveryCode.user_id == mentor.mentor_id, MfaRecoveryCode.used_at.is_(None))
    )
    db.commit()
    return int(found or 0)


def test_a_mentor_sets_up_an_authenticator_keeps_the_recovery_codes_and_signs_in_again_with_one(
    browser: WebDriver,
    page_server: PageServer,
    mentor: Mentor,
    committed_app: Flask,
    committed_db_session: Session,
    clock: FixedClock,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setitem(committed_app.config, "MFA_REQUIRED_ROLES", "mentor")
    password_step(browser, page_server, mentor)

    wait_until(browser, lambda b: heading(b) == "Set up your authenticator app", "the authenticator to set up")
    link = browser.find_element(By.LINK_TEXT, "Add Reachable to my authenticator app").get_attribute("href")
    assert link is not None and link.startswith("otpauth://totp/")
    secret = browser.find_element(By.CSS_SELECTOR, ".secret").text.replace(" ", "")
    assert f"secret={secret}" in link
    assert problems_here(browser) == []
    assert axe_violations(browser) == []
    browser.find_element(By.ID, "code").send_keys(totp.code_at_step(secret, totp.step_at(clock.now())))
    click(browser, "Check the code and sign in")

    wait_until(browser, lambda b: heading(b) == "Keep your recovery codes", "the recovery codes")
    codes = [item.text for item in browser.find_elements(By.CSS_SELECTOR, "ul.codes li")]
    assert len(codes) == 10
    assert axe_violations(browser) == []
    click(browser, "I have kept them somewhere safe")
    set_pin(browser, mentor)
    assert unused_recovery_codes(committed_db_session, mentor) == 10

    browser.execute_script("window.confirm = () => true;")
    click(browser, "Sign out")
    wait_until(browser, lambda b: heading(b) == "Sign in", "signed out")
    password_step(browser, page_server, mentor)
    wait_until(browser, lambda b: heading(b) == "Sign in: the second step", "the code asked for")
    assert problems_here(browser) == []
    assert axe_violations(browser) == []
    browser.find_element(By.ID, "code").send_keys("000000")
    click(browser, "Sign in")
    wait_until(browser, lambda b: "That code did not work" in b.find_element(By.CSS_SELECTOR, ".problem").text, "no")

    click(browser, "use a recovery code")
    browser.find_element(By.ID, "recovery-code").send_keys(codes[0])
    click(browser, "Sign in with it")
    set_pin(browser, mentor)
    assert unused_recovery_codes(committed_db_session, mentor) == 9
