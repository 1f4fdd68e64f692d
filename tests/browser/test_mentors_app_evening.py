"""The mentors' app (/app) in a real headless Chromium: a mentor's evening with the wellbeing part of a child's page.

Issue: "install and open the app, go offline, log three sessions and a check-in, raise a concern, come back
online: the server has each record exactly once and the concern's urgent SMS went to the development sender"; and
"a flaky network that drops answers after the server committed (the app retries): still exactly once", for a
check-in and a goal. The phone's reading of the change since the first check-in is compared with the server's
GET /children/{id}/wellbeing for the same check-ins. On both database backends, against a live threaded server
whose clock is the phone's.
"""

from __future__ import annotations

import json
import re
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from selenium.webdriver.common.by import By
from selenium.webdriver.remote.webdriver import WebDriver
from selenium.webdriver.support.select import Select
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from api.alerts.models import Alert
from api.alerts.rules import AlertKind
from api.clock import FixedClock
from api.outbox.models import OutboundMessage
from api.sessions.models import MentoringSession
from api.wellbeing.models import CheckIn, Goal
from notifications.dev_sender import RecordingSmsSender
from scheduling.jobs import dispatch_urgent
from tests.alerting import URGENT_TEXT, job_context
from tests.browser.conftest import Mentor, PageServer
from tests.browser.mentors_app_driving import (
    OFFLINE,
    ONLINE,
    axe_violations,
    button,
    click,
    heading,
    log_session,
    lose_first_answers,
    screen_problems,
    sessions_on_server,
    set_network,
    sign_in,
    status,
    store_counts,
    synced_until,
    wait_until,
)
from tests.builders import auth_headers, work_mobile

pytestmark = pytest.mark.browser

CONCERN = "Said an older boy keeps asking him to carry things."


def count(db: Session, model: Any, *where: Any) -> int:
    found = db.scalar(select(func.count()).select_from(model).where(*where))
    db.commit()  # on SQLite, never leave a transaction open for the server
    return int(found or 0)


def open_child(browser: WebDriver, mentor: Mentor) -> None:
    if heading(browser) != "Your caseload":
        click(browser, "Back to caseload")
    click(browser, mentor.child_reference)
    wait_until(browser, lambda b: button(b, "Record a check-in"), "the child's page")


def record_check_in(browser: WebDriver, instrument: str, answers: dict[str, int]) -> None:
    """From the child's page: the questionnaire chosen, one answer ticked per item, saved."""
    click(browser, "Record a check-in")
    wait_until(browser, lambda b: heading(b).startswith("Record a check-in"), "the check-in form")
    Select(browser.find_element(By.ID, "instrument")).select_by_value(instrument)
    for item, value in answers.items():
        wait_until(
            browser, lambda b, i=item, v=value: b.find_element(By.CSS_SELECTOR, f"label[for='answer-{i}-{v}']"), item
        )
        browser.find_element(By.CSS_SELECTOR, f"label[for='answer-{item}-{value}']").click()
    click(browser, "Save the check-in")
    wait_until(browser, lambda b: "saved" in b.find_element(By.CSS_SELECTOR, ".notice").text.lower(), "saved")


def add_goal(browser: WebDriver, words: str) -> None:
    click(browser, "Add a goal")
    wait_until(browser, lambda b: heading(b).startswith("Add a goal"), "the goal form")
    browser.find_element(By.ID, "goal-words").send_keys(words)
    click(browser, "Save the goal")
    wait_until(browser, lambda b: "saved" in b.find_element(By.CSS_SELECTOR, ".notice").text.lower(), "saved")


def page_text(browser: WebDriver) -> str:
    return str(browser.find_element(By.ID, "screen").text)


def problems_here(browser: WebDriver, *, opened_by_the_mentor: bool = True) -> list[str]:
    """screen_problems, once the console's reports of the answers this test refused or lost on purpose (a 502, a
    412, a 409, a 422) are read and set aside: any other console error still counts."""
    expected = re.compile(r"Failed to load resource: the server responded with a status of (502|412|409|422)")
    unexpected = [
        entry["message"]
        for entry in browser.get_log("browser")
        if entry["level"] == "SEVERE" and not expected.search(entry["message"])
    ]
    return unexpected + screen_problems(browser, opened_by_the_mentor=opened_by_the_mentor)


def everything_sent(browser: WebDriver) -> None:
    wait_until(browser, lambda b: synced_until(b, lambda: "everything sent" in status(b)), "everything sent")


def test_an_evening_offline_three_sessions_a_check_in_and_a_concern_each_reach_the_server_once_and_the_sms_goes(
    page_server: PageServer,
    browsers: Any,
    committed_app: Flask,
    committed_db_session: Session,
    mentor: Mentor,
    clock: FixedClock,
    tmp_path: Path,
) -> None:
    db = committed_db_session
    duty = mentor.team.on_call(display_name="Duty Coordinator", mobile_e164=work_mobile())
    mentor.team.duty_shift(duty, clock.now() - timedelta(hours=1), clock.now() + timedelta(hours=8))
    db.commit()
    browser = browsers.open()
    sign_in(browser, page_server, mentor)  # installed: the service worker controls the page
    wait_until(browser, lambda b: store_counts(b)["instruments"] > 0, "the instruments, kept for offline")

    set_network(browser, OFFLINE)
    # Three sessions on one day: the cohort's cap is three a week, so the week is full but not over.
    log_session(browser, mentor, started_minutes_ago=300, notes="Football in the park.")
    log_session(browser, mentor, started_minutes_ago=180, notes="Homework club.")
    open_child(browser, mentor)
    click(browser, "Log a session")
    wait_until(browser, lambda b: heading(b).startswith("Log a session"), "the log form")
    browser.execute_script(
        """
        const started = new Date(Date.now() - 60 * 60000);
        const pad = (n) => String(n).padStart(2, "0");
        document.getElementById("date").value =
          `${started.getFullYear()}-${pad(started.getMonth() + 1)}-${pad(started.getDate())}`;
        document.getElementById("time").value = `${pad(started.getHours())}:${pad(started.getMinutes())}`;
        """
    )
    browser.find_element(By.ID, "concern").send_keys(CONCERN)
    click(browser, "Save")
    wait_until(browser, lambda b: "NOT sent" in b.find_element(By.CSS_SELECTOR, ".notice").text, "told to phone")
    # The check-in done together in that session (today's sessions are offered, the latest first).
    assert Select(_open_form(browser)).first_selected_option.text.startswith("The session of")
    Select(browser.find_element(By.ID, "instrument")).select_by_value("ons4")
    for item, value in {"life_satisfaction": 6, "worthwhile": 7, "happy_yesterday": 5, "anxious_yesterday": 4}.items():
        browser.find_element(By.CSS_SELECTOR, f"label[for='answer-{item}-{value}']").click()
    click(browser, "Save the check-in")
    wait_until(browser, lambda b: "Saved on this phone" in b.find_element(By.CSS_SELECTOR, ".notice").text, "kept")
    wait_until(browser, lambda b: "4 waiting to send" in status(b), "four writes waiting")
    assert sessions_on_server(db, mentor) == 0

    set_network(browser, ONLINE)
    click(browser, "Sync now")
    everything_sent(browser)
    click(browser, "Sync now")  # and sending again changes nothing
    wait_until(browser, lambda b: "synced" in status(b) and "Syncing" not in status(b), "synced again")

    child_id = mentor.enrolment.child_id
    assert sessions_on_server(db, mentor) == 3
    [check_in] = db.scalars(select(CheckIn).where(CheckIn.child_id == child_id)).all()
    linked = db.get_one(MentoringSession, check_in.session_id) if check_in.session_id else None
    db.commit()
    assert linked is not None and linked.mentor_id == mentor.mentor_id
    assert count(db, Alert, Alert.child_id == child_id) == 1
    assert count(db, Alert, Alert.child_id == child_id, Alert.kind == AlertKind.SAFEGUARDING_CONCERN) == 1
    assert count(db, OutboundMessage, OutboundMessage.urgent.is_(True)) == 1

    # The scheduler's urgent dispatcher, run here in-process, sends it through the development sender (a file).
    dev_sms = tmp_path / "dev-sms.jsonl"
    context = job_context(sessionmaker(bind=db.get_bind()), clock, RecordingSmsSender(dev_sms))
    assert dispatch_urgent(context) == 1
    assert dispatch_urgent(context) == 0
    sent = [json.loads(line) for line in dev_sms.read_text(encoding="utf-8").splitlines()]
    assert [message["to"] for message in sent] == [duty.mobile_e164]
    assert re.fullmatch(URGENT_TEXT, sent[0]["body"])
    assert CONCERN not in sent[0]["body"]


def _open_form(browser: WebDriver) -> Any:
    """The check-in form, opened from the child's page; its session choice."""
    click(browser, "Record a check-in")
    wait_until(browser, lambda b: heading(b).startswith("Record a check-in"), "the check-in form")
    return browser.find_element(By.ID, "session")


PHONE_SUMMARIES = """
const done = arguments[arguments.length - 1];
(async () => {
  const wellbeing = await import("/app/static/js/wellbeing.js");
  const db = await new Promise((resolve) => {
    const opening = indexedDB.open("reachable-mentors");
    opening.onsuccess = () => resolve(opening.result);
  });
  const all = (name) => new Promise((resolve) => {
    const reading = db.transaction([name], "readonly").objectStore(name).getAll();
    reading.onsuccess = () => resolve(reading.result);
  });
  const [checkIns, instruments] = [await all("check_ins"), await all("instruments")];
  db.close();
  return wellbeing.summaries(arguments[0], checkIns, instruments).map((s) => ({
    instrument: s.instrument, check_ins: s.check_ins, baseline: s.baseline.id, latest: s.latest.id,
    changes: s.changes, meaningful_change: s.meaningful_change,
  }));
})().then(done, (problem) => done(String(problem)));
"""


def comparable(summaries: list[dict[str, Any]]) -> dict[str, Any]:
    return {
        summary["instrument"]: {
            "check_ins": summary["check_ins"],
            "baseline": summary["baseline"]
            if isinstance(summary["baseline"], str)
            else summary["baseline"]["check_in_id"],
            "latest": summary["latest"] if isinstance(summary["latest"], str) else summary["latest"]["check_in_id"],
            "meaningful_change": summary["meaningful_change"],
            "changes": [
                (c["measure"], round(c["baseline"], 2), round(c["latest"], 2), round(c["change"], 2), c["verdict"])
                for c in summary["changes"]
            ],
        }
        for summary in summaries
    }


def test_goals_and_check_ins_over_a_flaky_network_are_made_once_and_read_as_the_server_reads_them(
    page_server: PageServer,
    browsers: Any,
    committed_app: Flask,
    committed_db_session: Session,
    mentor: Mentor,
    clock: FixedClock,
) -> None:
    db = committed_db_session
    child_id = mentor.enrolment.child_id
    api = committed_app.test_client()

    def coordinator() -> dict[str, str]:
        headers = auth_headers(db, mentor.team.coordinator, now=clock.now())
        db.commit()
        return headers

    # Their first ONS4 check-in, entered at the office: the baseline.
    first = {"life_satisfaction": 3, "worthwhile": 4, "happy_yesterday": 5, "anxious_yesterday": 6}
    answer = api.post(
        f"/children/{child_id}/check-ins", headers=coordinator(), json={"instrument": "ons4", "answers": first}
    )
    assert answer.status_code == 201, answer.get_json()
    lost = lose_first_answers(committed_app, ("POST", r"/goals$"), ("POST", r"/check-ins$"), ("POST", r"/end$"))
    browser = browsers.open()
    sign_in(browser, page_server, mentor)
    wait_until(browser, lambda b: store_counts(b)["instruments"] > 0, "the instruments")
    open_child(browser, mentor)
    wait_until(browser, lambda b: synced_until(b, lambda: "one check-in" in page_text(b)), "the baseline, synced")

    # A goal whose answer is lost: the app sends it again with its key, and the server answers with the first.
    add_goal(browser, "Go to football training every week")
    wait_until(browser, lambda _: lost.to("POST", r"/goals$") != [], "the first try")
    add_goal(browser, "Be kinder to my sister")
    everything_sent(browser)
    assert lost.to("POST", r"/goals$") == [(201, None), (201, "true"), (201, None)]
    assert count(db, Goal, Goal.child_id == child_id) == 2
    wait_until(browser, lambda b: synced_until(b, lambda: "Goals (2 of 3)" in page_text(b)), "two goals")

    # Goals rated in a Goal Based Outcomes check-in, each shown with the goal's own words; the first answer lost.
    click(browser, "Record a check-in")
    wait_until(browser, lambda b: heading(b).startswith("Record a check-in"), "the check-in form")
    legends = [legend.text for legend in browser.find_elements(By.TAG_NAME, "legend")]
    assert legends == ["Goal: Go to football training every week", "Goal: Be kinder to my sister"]
    assert problems_here(browser) == []
    assert axe_violations(browser) == []
    Select(browser.find_element(By.ID, "instrument")).select_by_value("swemwbs")  # licensed: no wording here
    assert "licensed" in page_text(browser) and "Item 1 (question 1 on the form)" in page_text(browser)
    assert problems_here(browser, opened_by_the_mentor=False) == []  # the focus stays on the choice made
    assert axe_violations(browser) == []
    click(browser, "Cancel")
    wait_until(browser, lambda b: button(b, "Record a check-in"), "the child's page")
    record_check_in(browser, "gbo", {"goal_1": 3, "goal_2": 5})
    everything_sent(browser)
    record_check_in(browser, "gbo", {"goal_1": 7})
    record_check_in(
        browser, "ons4", {"life_satisfaction": 7, "worthwhile": 6, "happy_yesterday": 5, "anxious_yesterday": 2}
    )
    everything_sent(browser)
    assert lost.to("POST", r"/check-ins$") == [(201, None), (201, "true"), (201, None), (201, None)]
    assert count(db, CheckIn, CheckIn.child_id == child_id) == 4

    # The child's page, as of the last sync: the goals with their latest rating and each instrument's change.
    wait_until(
        browser,
        lambda b: synced_until(b, lambda: "7 of 10, up from 3: a meaningful improvement" in page_text(b)),
        "the goal's rating",
    )
    text = page_text(browser)
    assert "5 of 10 (its first rating)" in text
    assert "ONS personal wellbeing questions: 2 check-ins" in text and "a meaningful change since the first" in text
    for words in (
        "Life satisfaction: 7, up from 3: a meaningful improvement",
        "Worthwhile: 6, up from 4: a meaningful improvement",  # exactly the threshold counts
        "Happy yesterday: 5, the same as at first: not a meaningful change (2 needed)",
        "Anxious yesterday (lower is better): 2, down from 6: a meaningful improvement",
        "Mean rating of the goals: 7, up from 4: a meaningful improvement",
    ):
        assert words in text
    assert problems_here(browser, opened_by_the_mentor=False) == []
    assert axe_violations(browser) == []

    # The phone's reading is the server's, for the same check-ins.
    phone = browser.execute_async_script(PHONE_SUMMARIES, str(child_id))
    assert isinstance(phone, list), phone
    mentor_headers = auth_headers(db, mentor.team.mentor, now=clock.now())
    db.commit()
    server = api.get(f"/children/{child_id}/wellbeing", headers=mentor_headers).get_json()
    assert comparable(phone) == comparable(server["instruments"])
    assert set(comparable(phone)) == {"ons4", "gbo"}

    # Dropped, its answer lost: the retry meets 412, reads the goal, finds it dropped, and counts it sent once.
    click(browser, "Update")
    wait_until(browser, lambda b: heading(b).startswith("A goal of"), "the goal")
    assert problems_here(browser) == []
    assert axe_violations(browser) == []
    click(browser, "Mark it dropped")
    wait_until(browser, lambda b: "Goal marked dropped" in b.find_element(By.CSS_SELECTOR, ".notice").text, "saved")
    everything_sent(browser)
    assert [status for status, _ in lost.to("POST", r"/end$")] == [200, 412]
    dropped = db.scalars(select(Goal).where(Goal.child_id == child_id, Goal.slot == 1)).all()
    assert [(goal.status.value, goal.version) for goal in dropped] == [("dropped", 2)]
    db.commit()
    wait_until(browser, lambda b: synced_until(b, lambda: "Goals (1 of 3)" in page_text(b)), "one goal left")
    add_goal(browser, "Read a book a month")  # in the first place, freed
    everything_sent(browser)

    # Offline, a rating of a goal the coordinator ends meanwhile: refused on replay, naming the item.
    set_network(browser, OFFLINE)
    record_check_in(browser, "gbo", {"goal_2": 8})
    kinder = db.scalars(select(Goal).where(Goal.child_id == child_id, Goal.slot == 2)).one()
    db.commit()
    ended = api.post(
        f"/goals/{kinder.id}/end",
        headers=coordinator() | {"If-Match": f'"{kinder.version}"'},
        json={"status": "achieved"},
    )
    assert ended.status_code == 200, ended.get_json()
    set_network(browser, ONLINE)
    click(browser, "Sync now")
    wait_until(browser, lambda b: "1 not accepted" in status(b), "the refusal")
    wait_until(
        browser,
        lambda b: "goal_2: There is no active goal in this place." in b.find_element(By.CSS_SELECTOR, ".refusal").text,
        "the refusal naming the goal's item",
    )
    click(browser, "I have read this")
    wait_until(browser, lambda b: not b.find_elements(By.CSS_SELECTOR, ".refusal"), "read")

    # Three active goals, counting one waiting: the phone refuses a fourth; the server refuses one it cannot place.
    wait_until(browser, lambda b: synced_until(b, lambda: "Goals (1 of 3)" in page_text(b)), "one goal")
    add_goal(browser, "Cook a meal for the family")
    everything_sent(browser)
    set_network(browser, OFFLINE)
    add_goal(browser, "Tidy my room")
    click(browser, "Add a goal")
    wait_until(browser, lambda b: "already has 3 active goals" in page_text(b), "refused on the phone")
    click(browser, "Cancel")
    wait_until(browser, lambda b: button(b, "Record a check-in"), "the child's page")
    set_goal = api.post(f"/children/{child_id}/goals", headers=coordinator(), json={"description": "Sleep by ten"})
    assert set_goal.status_code == 201, set_goal.get_json()
    set_network(browser, ONLINE)
    click(browser, "Sync now")
    wait_until(
        browser,
        lambda b: "already has three active goals" in b.find_element(By.CSS_SELECTOR, ".refusal").text,
        "the 409 in plain words",
    )
    assert "New goal: “Tidy my room”" in browser.find_element(By.CSS_SELECTOR, ".refusal").text
    assert count(db, Goal, Goal.child_id == child_id) == 5
