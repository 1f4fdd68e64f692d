"""The mentors' app (/app) in a real headless Chromium: a mentor works offline and nothing is lost or doubled.

The network is switched off and on through the DevTools protocol (Network.emulateNetworkConditions), as a
phone's signal comes and goes. On both database backends (tests/conftest.py's committed databases), against a
live threaded server whose clock is set to the browser's (the phone's) time.
"""

from __future__ import annotations

import os
import struct
from datetime import UTC, timedelta
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from selenium.webdriver.common.by import By
from sqlalchemy import select
from sqlalchemy.orm import Session

from api.alerts.models import Alert
from api.children.models import Child
from api.clock import FixedClock
from api.sessions.models import MentoringSession
from tests.browser.conftest import PHONE_HEIGHT, PHONE_PIXEL_RATIO, PHONE_WIDTH, Mentor, PageServer
from tests.browser.mentors_app_driving import (
    OFFLINE,
    ONLINE,
    PIN,
    axe_violations,
    button,
    click,
    heading,
    idle_for,
    log_planned,
    log_session,
    plan_on_server,
    screen_problems,
    session_on_server,
    sessions_on_server,
    set_network,
    sign_in,
    status,
    store_counts,
    synced_until,
    wait_until,
    watch_traffic,
)
from tests.builders import PASSWORD, auth_headers, work_mobile

pytestmark = pytest.mark.browser


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
