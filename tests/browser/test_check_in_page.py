"""The child's check-in page, as a child meets it: a phone-sized headless Chromium against the real server.

A child opens the link from their SMS, answers the four ONS4 questions by tapping (or with the keyboard alone),
sends them and is thanked; the link then never works again, nor after it expires, and both show the same kind
page. A missing answer is shown inside its own question. The page is checked for the basics of accessibility,
works without JavaScript, and never shows who the child is.
"""

from __future__ import annotations

import struct
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from selenium.common.exceptions import StaleElementReferenceException, WebDriverException
from selenium.webdriver import ActionChains, Keys
from selenium.webdriver.chrome.webdriver import WebDriver
from selenium.webdriver.common.actions import interaction
from selenium.webdriver.common.actions.action_builder import ActionBuilder
from selenium.webdriver.common.actions.pointer_input import PointerInput
from selenium.webdriver.common.by import By
from selenium.webdriver.remote.webelement import WebElement
from selenium.webdriver.support import expected_conditions
from selenium.webdriver.support.wait import WebDriverWait
from sqlalchemy import select
from sqlalchemy.orm import Session

from api.clock import FixedClock
from api.wellbeing.models import CheckIn, CheckInResponse
from api.wellbeing.scoring import CheckInChannel
from tests.browser.conftest import PHONE_PIXEL_RATIO, PHONE_WIDTH, Browsers, Link, PageServer

pytestmark = pytest.mark.browser

ITEMS = ["life_satisfaction", "worthwhile", "happy_yesterday", "anxious_yesterday"]
ANSWERS = {"life_satisfaction": 8, "worthwhile": 7, "happy_yesterday": 6, "anxious_yesterday": 2}
PROMPTS = {
    "life_satisfaction": "Overall, how satisfied are you with your life nowadays?",
    "worthwhile": "Overall, to what extent do you feel that the things you do in your life are worthwhile?",
    "happy_yesterday": "Overall, how happy did you feel yesterday?",
    "anxious_yesterday": "how anxious did you feel yesterday?",
}
THANKS = "Thank you"
GONE = "This link does not work any more"
MISSING = "Please answer this question."
HELP_TEXT = "Call Childline free on 0800 1111, any time.\nOr talk to your mentor."
# DEFAULT_NOW (Monday 23 November 2026, 14:00 GMT) plus the programme's 72 hours.
EXPIRY_LINE = "This link works once, until Thursday 26 November at 14:00."


# --- Driving the page -----------------------------------------------------------------------------------------


def open_link(driver: WebDriver, server: PageServer, link: Link) -> None:
    driver.get(server.url(link.path))
    WebDriverWait(driver, 15).until(expected_conditions.presence_of_element_located((By.TAG_NAME, "h1")))


def heading(driver: WebDriver) -> str:
    return driver.find_element(By.TAG_NAME, "h1").text


def radio(driver: WebDriver, item: str, value: int) -> WebElement:
    return driver.find_element(By.CSS_SELECTOR, f"input[type=radio][name='ons4.{item}'][value='{value}']")


def chosen(driver: WebDriver) -> dict[str, int]:
    """The selected answer of each question that has one, as the browser holds it."""
    return {
        str(element.get_attribute("name")).removeprefix("ons4."): int(str(element.get_attribute("value")))
        for element in driver.find_elements(By.CSS_SELECTOR, "input[type=radio]")
        if element.is_selected()
    }


def tap(driver: WebDriver, item: str, value: int) -> None:
    """Tap the numbered box, as a finger would: the click lands on whatever is on top at the box's centre."""
    # No script here: with JavaScript switched off, WebDriver's script calls never return (clicks scroll anyway).
    radio(driver, item, value).find_element(By.XPATH, "./ancestor::label").click()
    assert radio(driver, item, value).is_selected(), f"tapping {value} did not choose it for {item}"


def answer_by_tapping(driver: WebDriver, answers: dict[str, int]) -> None:
    for item, value in answers.items():
        tap(driver, item, value)


def and_wait_for_next_page(driver: WebDriver, action: Callable[[], Any]) -> None:
    page = driver.find_element(By.TAG_NAME, "html")

    def replaced(_driver: WebDriver) -> bool:
        try:
            page.is_enabled()
        except StaleElementReferenceException:
            return True
        return False

    action()
    # Mid-navigation, ChromeDriver can also answer with other errors ("node does not belong to the document").
    patiently = WebDriverWait(driver, 15, ignored_exceptions=[WebDriverException])
    patiently.until(replaced)
    patiently.until(expected_conditions.presence_of_element_located((By.TAG_NAME, "h1")))


def send(driver: WebDriver) -> None:
    and_wait_for_next_page(driver, driver.find_element(By.CSS_SELECTOR, "form button[type=submit]").click)


def press(driver: WebDriver, *keys: str) -> None:
    actions = ActionChains(driver)
    for key in keys:
        actions.send_keys(key)
    actions.perform()


def focused(driver: WebDriver) -> WebElement:
    return driver.switch_to.active_element


def tab_to(driver: WebDriver, wanted: Callable[[WebElement], bool], *, limit: int = 30) -> WebElement:
    """Press Tab until the focus reaches what is wanted."""
    for _ in range(limit):
        press(driver, Keys.TAB)
        here = focused(driver)
        if wanted(here):
            return here
    raise AssertionError(f"{limit} presses of Tab never reached the element wanted")


def in_question(item: str) -> Callable[[WebElement], bool]:
    return lambda element: element.get_attribute("name") == f"ons4.{item}"


def is_send_button(element: WebElement) -> bool:
    return element.tag_name == "button" and element.text == "Send my answers"


def choose_with_keys(driver: WebDriver, value: int) -> None:
    """From a question's focused first number: Space chooses it; each arrow moves on a number and chooses that."""
    press(driver, Keys.SPACE, *([Keys.ARROW_RIGHT] * value))
    here = focused(driver)
    assert here.get_attribute("value") == str(value) and here.is_selected()


def ax_node(driver: WebDriver, selector: str) -> dict[str, Any]:
    """The element's node in Chromium's accessibility tree (computed name, role and description)."""
    root = driver.execute_cdp_cmd("DOM.getDocument", {"depth": 0})["root"]["nodeId"]
    node_id = driver.execute_cdp_cmd("DOM.querySelector", {"nodeId": root, "selector": selector})["nodeId"]
    assert node_id, f"no element matches {selector}"
    tree = driver.execute_cdp_cmd("Accessibility.getPartialAXTree", {"nodeId": node_id, "fetchRelatives": False})
    return tree["nodes"][0]


def ax_value(node: dict[str, Any], key: str) -> str:
    return str(node.get(key, {}).get("value", ""))


TEXT_COLOURS_SCRIPT = """
const seen = new Set(), found = [];
const walker = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT);
while (walker.nextNode()) {
  const element = walker.currentNode.parentElement;
  if (!walker.currentNode.textContent.trim() || seen.has(element)) continue;
  seen.add(element);
  const style = getComputedStyle(element), box = element.getBoundingClientRect();
  // Text that is not seen (visually hidden, or the skip link off-screen) has no contrast to check.
  if (box.width <= 1 || box.height <= 1 || box.right <= 0 || style.visibility === 'hidden') continue;
  let background = 'rgb(255, 255, 255)';
  for (let at = element; at; at = at.parentElement) {
    const colour = getComputedStyle(at).backgroundColor;
    if (colour !== 'transparent' && !/, 0\\)$/.test(colour)) { background = colour; break; }
  }
  found.push([element.textContent.trim().slice(0, 50), style.color, background,
              parseFloat(style.fontSize), parseInt(style.fontWeight, 10)]);
}
return found;
"""


def _luminance(colour: str) -> float:
    red, green, blue = (int(part) for part in colour[colour.index("(") + 1 : -1].split(",")[:3])

    def linear(channel: int) -> float:
        value = channel / 255
        return value / 12.92 if value <= 0.04045 else ((value + 0.055) / 1.055) ** 2.4

    return 0.2126 * linear(red) + 0.7152 * linear(green) + 0.0722 * linear(blue)


def contrast_problems(driver: WebDriver) -> list[str]:
    """Visible text below WCAG 1.4.3 AA contrast: 4.5:1, or 3:1 for large text (24px, or 18.66px bold)."""
    problems = []
    for text, colour, background, size, weight in driver.execute_script(TEXT_COLOURS_SCRIPT):
        lighter, darker = sorted((_luminance(colour), _luminance(background)), reverse=True)
        ratio = (lighter + 0.05) / (darker + 0.05)
        needed = 3.0 if size >= 24 or (size >= 18.66 and weight >= 700) else 4.5
        if ratio < needed:
            problems.append(f"{text!r}: {colour} on {background} is {ratio:.2f}:1, needs {needed}:1")
    return problems


def touch(driver: WebDriver, element: WebElement, *, taps: int = 1, between: float = 0.25) -> None:
    """A finger's taps on the element (several, `between` seconds apart, for a double tap)."""
    finger = ActionBuilder(driver, mouse=PointerInput(interaction.POINTER_TOUCH, "finger"))
    finger.pointer_action.move_to(element)
    for number in range(taps):
        if number:
            finger.pointer_action.pause(between)
        finger.pointer_action.pointer_down().pointer_up()
    finger.perform()


def console_errors(driver: WebDriver) -> list[str]:
    """Errors in the console, but for the browser's own request for /favic.ico (the page declares no icon)."""
    return [
        entry["message"]
        for entry in driver.get_log("browser")
        if entry["level"] == "SEVERE" and "/favicon.ico " not in entry["message"]
    ]


def stored_check_ins(db_session: Session, link: Link) -> list[tuple[CheckIn, dict[str, int]]]:
    db_session.expire_all()
    check_ins = db_session.scalars(select(CheckIn).where(CheckIn.invitation_id == link.invitation_id)).all()
    stored = [
        (
            check_in,
            {
                response.item_key: response.response
                for response in db_session.scalars(
                    select(CheckInResponse).where(CheckInResponse.check_in_id == check_in.id)
                )
            },
        )
        for check_in in check_ins
    ]
    # On SQLite every transaction, reads too, takes the write lock: never leave one open for the server.
    db_session.commit()
    return stored


def assert_gone_page(driver: WebDriver) -> None:
    assert heading(driver) == GONE
    assert driver.title == GONE
    assert "ask your mentor to send you a new link" in driver.find_element(By.TAG_NAME, "main").text
    assert not driver.find_elements(By.CSS_SELECTOR, "form, input")


# --- (a) Tapping through --------------------------------------------------------------------------------------


@pytest.mark.parametrize("help_text", [None, HELP_TEXT], ids=["no-help-text", "help-text"])
def test_a_child_taps_an_answer_to_each_question_sends_them_and_is_thanked(
    page_server: PageServer,
    browser: WebDriver,
    make_link: Callable[..., Link],
    committed_db_session: Session,
    help_text: str | None,
) -> None:
    link = make_link(help_text=help_text)
    open_link(browser, page_server, link)
    assert heading(browser) == "Your check-in"
    questions = browser.find_elements(By.CSS_SELECTOR, "form fieldset.question")
    assert len(questions) == 4
    for question, item in zip(questions, ITEMS, strict=True):
        assert PROMPTS[item] in question.find_element(By.TAG_NAME, "legend").text
        assert len(question.find_elements(By.CSS_SELECTOR, "input[type=radio]")) == 11
    assert EXPIRY_LINE in browser.find_element(By.TAG_NAME, "main").text
    # Opening the page does not use the link up, nor store anything.
    assert stored_check_ins(committed_db_session, link) == []

    answer_by_tapping(browser, ANSWERS)
    assert chosen(browser) == ANSWERS
    send(browser)

    assert heading(browser) == THANKS
    assert browser.title == THANKS
    assert "Your answers have been sent." in browser.find_element(By.TAG_NAME, "main").text
    help_sections = browser.find_elements(By.CSS_SELECTOR, "section.help")
    if help_text is None:
        assert help_sections == []
        assert "If you need help now" not in browser.page_source
    else:
        (section,) = help_sections
        assert section.find_element(By.TAG_NAME, "h2").text == "If you need help now"
        # The programme's line breaks are kept.
        assert section.find_element(By.CSS_SELECTOR, ".help-text").text == help_text
    ((check_in, responses),) = stored_check_ins(committed_db_session, link)
    assert check_in.channel is CheckInChannel.SMS_LINK
    assert check_in.instrument_key == "ons4"
    assert check_in.child_id == link.child.id
    assert check_in.recorded_by_user_id is None
    assert responses == ANSWERS


# --- (b) and (c) Links that no longer work --------------------------------------------------------------------


def test_a_used_link_is_refused_with_the_friendly_page_however_it_is_reused(
    page_server: PageServer,
    browsers: Browsers,
    make_link: Callable[..., Link],
    committed_db_session: Session,
) -> None:
    link = make_link()
    browser = browsers.open()
    open_link(browser, page_server, link)
    first_tab = browser.current_window_handle
    # The same link open in a second tab, as when a child taps the SMS twice.
    browser.switch_to.new_window("tab")
    open_link(browser, page_server, link)
    second_tab = browser.current_window_handle

    browser.switch_to.window(first_tab)
    answer_by_tapping(browser, ANSWERS)
    send(browser)
    assert heading(browser) == THANKS

    # Sending the other tab's answers is refused, and nothing more is stored.
    browser.switch_to.window(second_tab)
    answer_by_tapping(browser, {**ANSWERS, "life_satisfaction": 2})
    send(browser)
    assert_gone_page(browser)
    # Opening the link again is refused too.
    open_link(browser, page_server, link)
    assert_gone_page(browser)
    # Going back from the thank-you page shows no answers (the form is never kept), only the friendly page.
    browser.switch_to.window(first_tab)
    and_wait_for_next_page(browser, browser.back)
    assert_gone_page(browser)

    assert [responses for _, responses in stored_check_ins(committed_db_session, link)] == [ANSWERS]
    assert page_server.get(link.path).status == 404


def test_an_expired_link_is_refused_with_the_same_friendly_page(
    page_server: PageServer,
    browser: WebDriver,
    make_link: Callable[..., Link],
    committed_db_session: Session,
    clock: FixedClock,
) -> None:
    link = make_link()
    # Opened just before it expires, sent just after.
    clock.advance(hours=71, minutes=59)
    open_link(browser, page_server, link)
    assert heading(browser) == "Your check-in"
    answer_by_tapping(browser, ANSWERS)
    clock.advance(minutes=2)
    send(browser)
    assert_gone_page(browser)
    # Opened after it expired.
    open_link(browser, page_server, link)
    assert_gone_page(browser)

    assert stored_check_ins(committed_db_session, link) == []
    used = make_link()
    open_link(browser, page_server, used)
    answer_by_tapping(browser, ANSWERS)
    send(browser)
    # The same page as a used link: a guess learns nothing from the difference.
    gone_after_expiry = page_server.get(link.path)
    gone_after_use = page_server.get(used.path)
    assert gone_after_expiry.status == gone_after_use.status == 404
    assert gone_after_expiry.body == gone_after_use.body


# --- (d) The keyboard alone -----------------------------------------------------------------------------------


@pytest.mark.parametrize("send_key", [Keys.ENTER, Keys.SPACE], ids=["enter", "space"])
def test_the_whole_form_can_be_completed_with_the_keyboard_alone(
    page_server: PageServer,
    browser: WebDriver,
    make_link: Callable[..., Link],
    committed_db_session: Session,
    send_key: str,
) -> None:
    link = make_link()
    open_link(browser, page_server, link)

    press(browser, Keys.TAB)
    skip_link = focused(browser)
    assert (skip_link.get_attribute("class"), skip_link.text) == ("skip-link", "Skip to the questions")
    # Shown when focused (it sits off-screen otherwise), and it takes the focus to the questions.
    assert skip_link.is_displayed() and skip_link.location["x"] >= 0
    press(browser, Keys.ENTER)
    assert focused(browser).tag_name == "main"
    for item in ITEMS:
        # One Tab reaches each question (a radio group is one stop): its first number, not yet chosen.
        press(browser, Keys.TAB)
        here = focused(browser)
        assert (here.get_attribute("type"), here.get_attribute("name")) == ("radio", f"ons4.{item}")
        assert here.get_attribute("value") == "0" and not here.is_selected()
        # The focused number is clearly marked (WCAG 2.4.7): an outline on its visible box.
        box = here.find_element(By.XPATH, "following-sibling::span")
        assert box.value_of_css_property("outline-style") == "solid"
        # Space chooses the focused number; each arrow moves to the next number and chooses it.
        press(browser, Keys.SPACE)
        assert focused(browser).is_selected()
        press(browser, Keys.ARROW_RIGHT, *([Keys.ARROW_RIGHT] * ANSWERS[item]), Keys.ARROW_LEFT)
        assert focused(browser).get_attribute("value") == str(ANSWERS[item])
    assert chosen(browser) == ANSWERS

    press(browser, Keys.TAB)
    button = focused(browser)
    assert (button.tag_name, button.get_attribute("type"), button.text) == ("button", "submit", "Send my answers")
    assert button.value_of_css_property("background-color") == "rgba(255, 221, 0, 1)", "focus is not shown"
    and_wait_for_next_page(browser, lambda: press(browser, send_key))

    assert heading(browser) == THANKS
    assert [responses for _, responses in stored_check_ins(committed_db_session, link)] == [ANSWERS]


# --- (e) A missing answer -------------------------------------------------------------------------------------


def test_a_missing_answer_is_shown_inside_its_question_and_the_other_answers_stay_chosen(
    page_server: PageServer,
    browser: WebDriver,
    make_link: Callable[..., Link],
    committed_db_session: Session,
) -> None:
    link = make_link()
    open_link(browser, page_server, link)
    without_worthwhile = {item: value for item, value in ANSWERS.items() if item != "worthwhile"}
    answer_by_tapping(browser, without_worthwhile)
    send(browser)

    assert heading(browser) == "Your check-in"
    assert browser.title.startswith("Please check your answers")
    summary = browser.find_element(By.CSS_SELECTOR, ".error-summary")
    assert summary.get_attribute("role") == "alert"
    assert summary.find_element(By.TAG_NAME, "h2").text == "Please check your answers"
    (summary_link,) = summary.find_elements(By.CSS_SELECTOR, "li a")
    # It names the question, as well as the problem.
    assert summary_link.text == f"Question 2: {MISSING}"
    assert summary_link.get_attribute("hash") == "#q-ons4-worthwhile"

    question = browser.find_element(By.ID, "q-ons4-worthwhile")
    assert question.tag_name == "fieldset"
    assert PROMPTS["worthwhile"] in question.find_element(By.TAG_NAME, "legend").text
    message = question.find_element(By.CSS_SELECTOR, ".error-message")
    assert MISSING in message.text
    message_id = message.get_attribute("id")
    assert message_id and message_id in str(question.get_attribute("aria-describedby")).split()
    # The DOM relationship holds: the message element is a descendant of that question's fieldset.
    assert browser.execute_script(
        "return document.getElementById(arguments[0]).closest('fieldset').id", message_id
    ) == ("q-ons4-worthwhile")
    # ... and Chromium's accessibility tree gives the question the message as its description.
    node = ax_node(browser, "#q-ons4-worthwhile")
    assert ax_value(node, "role") == "group"
    assert PROMPTS["worthwhile"] in ax_value(node, "name")
    assert MISSING in ax_value(node, "description")
    # Only that question is marked.
    marked = browser.find_elements(By.CSS_SELECTOR, "fieldset.has-error")
    assert [fieldset.get_attribute("id") for fieldset in marked] == ["q-ons4-worthwhile"]
    assert len(browser.find_elements(By.CSS_SELECTOR, "fieldset .error-message")) == 1
    # The answers already given stay chosen.
    assert chosen(browser) == without_worthwhile
    assert stored_check_ins(committed_db_session, link) == []

    # The summary's link takes the child to the question: the next Tab lands on its numbers.
    summary_link.click()
    WebDriverWait(browser, 5).until(lambda driver: driver.current_url.endswith("#q-ons4-worthwhile"))
    press(browser, Keys.TAB)
    assert focused(browser).get_attribute("name") == "ons4.worthwhile"

    # The link still works: answer the question and send again.
    tap(browser, "worthwhile", ANSWERS["worthwhile"])
    send(browser)
    assert heading(browser) == THANKS
    assert [responses for _, responses in stored_check_ins(committed_db_session, link)] == [ANSWERS]


# --- (f) Accessibility, privacy, no JavaScript ----------------------------------------------------------------


def test_the_page_has_the_accessibility_basics_and_renders_on_a_small_phone(
    page_server: PageServer, browser: WebDriver, make_link: Callable[..., Link], tmp_path: Path
) -> None:
    link = make_link()
    open_link(browser, page_server, link)

    assert browser.find_element(By.TAG_NAME, "html").get_attribute("lang") == "en-GB"
    assert browser.title == "Your check-in"
    # The child can zoom (WCAG 1.4.4): the viewport does not forbid it.
    viewport = str(browser.find_element(By.CSS_SELECTOR, "meta[name=viewport]").get_attribute("content"))
    assert "user-scalable=no" not in viewport.replace(" ", "") and "maximum-scale" not in viewport
    assert len(browser.find_elements(By.TAG_NAME, "h1")) == 1
    assert len(browser.find_elements(By.TAG_NAME, "main")) == 1
    # Every number has an accessible name (its number) and every question is a named group.
    radios = browser.find_elements(By.CSS_SELECTOR, "input[type=radio]")
    assert len(radios) == 44
    for element in radios:
        assert element.aria_role == "radio"
        assert element.accessible_name == element.get_attribute("value")
    for item in ITEMS:
        node = ax_node(browser, f"#q-ons4-{item}")
        assert ax_value(node, "role") == "group"
        assert PROMPTS[item] in ax_value(node, "name")
        assert "Choose a number from 0 to 10." in ax_value(node, "description")
    button = browser.find_element(By.CSS_SELECTOR, "button[type=submit]")
    assert button.accessible_name == "Send my answers"

    # Laid out for the phone: the viewport is the phone's, nothing scrolls sideways, every box is a big target.
    assert browser.execute_script("return window.innerWidth") == PHONE_WIDTH
    assert browser.execute_script("return document.documentElement.scrollWidth") <= PHONE_WIDTH
    for box in browser.find_elements(By.CSS_SELECTOR, "label.choice span"):
        assert box.size["width"] >= 44 and box.size["height"] >= 44
    # The stylesheet loaded under the page's Content-Security-Policy, and nothing was refused or failed.
    assert button.value_of_css_property("background-color") == "rgba(0, 112, 60, 1)"
    assert console_errors(browser) == []

    screenshot = tmp_path / "check-in-page.png"
    assert browser.save_screenshot(str(screenshot))
    png = screenshot.read_bytes()
    assert png[:8] == b"\x89PNG\r\n\x1a\n"
    width, height = struct.unpack(">II", png[16:24])
    assert (width, height) == (PHONE_WIDTH * PHONE_PIXEL_RATIO, 740 * PHONE_PIXEL_RATIO)
    assert len(png) > 20_000, "the screenshot is too small to show the rendered questions"

    # Reflow (WCAG 1.4.10): at 320 CSS pixels wide nothing needs scrolling sideways either.
    browser.execute_cdp_cmd(
        "Emulation.setDeviceMetricsOverride", {"width": 320, "height": 640, "deviceScaleFactor": 2, "mobile": True}
    )
    WebDriverWait(browser, 5).until(lambda driver: driver.execute_script("return window.innerWidth") == 320)
    assert browser.execute_script("return document.documentElement.scrollWidth") <= 320


def test_all_text_has_enough_contrast_on_every_page(
    page_server: PageServer, browser: WebDriver, make_link: Callable[..., Link]
) -> None:
    link = make_link(help_text=HELP_TEXT)
    open_link(browser, page_server, link)
    tap(browser, "life_satisfaction", ANSWERS["life_satisfaction"])
    assert contrast_problems(browser) == []
    send(browser)
    assert browser.find_elements(By.CSS_SELECTOR, ".error-summary")
    assert contrast_problems(browser) == []
    answer_by_tapping(browser, {item: value for item, value in ANSWERS.items() if item != "life_satisfaction"})
    send(browser)
    assert heading(browser) == THANKS
    assert contrast_problems(browser) == []
    open_link(browser, page_server, link)
    assert heading(browser) == GONE
    assert contrast_problems(browser) == []


BOX_LOOKS = [
    "background-color",
    "color",
    "border-top-color",
    "border-top-style",
    "border-top-width",
    "outline-style",
    "outline-width",
    "box-shadow",
    "text-decoration-line",
    "font-weight",
]


def box_looks(driver: WebDriver, item: str, value: int) -> dict[str, str]:
    box = radio(driver, item, value).find_element(By.XPATH, "following-sibling::span")
    return {name: box.value_of_css_property(name) for name in BOX_LOOKS}


def test_a_chosen_number_can_still_be_seen_in_forced_colours_mode(
    page_server: PageServer, browser: WebDriver, make_link: Callable[..., Link]
) -> None:
    link = make_link()
    open_link(browser, page_server, link)
    tap(browser, "life_satisfaction", 8)
    # The focus ring is not the choice: look once the focus has moved on.
    browser.execute_script("document.activeElement.blur()")
    assert box_looks(browser, "life_satisfaction", 8) != box_looks(browser, "life_satisfaction", 7)

    browser.execute_cdp_cmd("Emulation.setEmulatedMedia", {"features": [{"name": "forced-colors", "value": "active"}]})
    assert browser.execute_script("return matchMedia('(forced-colors: active)').matches")
    assert radio(browser, "life_satisfaction", 8).is_selected()
    assert box_looks(browser, "life_satisfaction", 8) != box_looks(browser, "life_satisfaction", 7)


def test_a_double_tap_on_send_over_a_slow_connection_still_thanks_the_child(
    page_server: PageServer,
    browser: WebDriver,
    make_link: Callable[..., Link],
    committed_app: Flask,
    committed_db_session: Session,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    serve = committed_app.wsgi_app

    def over_a_slow_connection(environ: dict[str, Any], start_response: Any) -> Any:
        if environ["REQUEST_METHOD"] == "POST":
            time.sleep(0.8)
        return serve(environ, start_response)

    monkeypatch.setattr(committed_app, "wsgi_app", over_a_slow_connection)
    link = make_link()
    open_link(browser, page_server, link)
    answer_by_tapping(browser, ANSWERS)
    button = browser.find_element(By.CSS_SELECTOR, "form button[type=submit]")
    and_wait_for_next_page(browser, lambda: touch(browser, button, taps=2))
    WebDriverWait(browser, 15).until(lambda driver: heading(driver) in (THANKS, GONE))
    time.sleep(1)  # let the second answer, if any, replace the first

    assert [responses for _, responses in stored_check_ins(committed_db_session, link)] == [ANSWERS]
    assert heading(browser) == THANKS


def test_the_page_never_shows_who_the_child_is(
    page_server: PageServer, browser: WebDriver, make_link: Callable[..., Link]
) -> None:
    link = make_link(help_text=HELP_TEXT)
    child = link.child
    # Nothing that names the child, their number, where they live, or the programme (it could name a service).
    identifying = [
        child.first_name,
        child.last_name,
        child.reference,
        child.district,
        link.phone_number,
        link.phone_number[-6:],
        link.programme_name,
    ]
    pages: list[tuple[str, str]] = []

    def keep() -> None:
        pages.append((heading(browser), browser.title + browser.page_source))

    open_link(browser, page_server, link)
    keep()
    answer_by_tapping(browser, {item: value for item, value in ANSWERS.items() if item != "happy_yesterday"})
    send(browser)
    keep()
    tap(browser, "happy_yesterday", ANSWERS["happy_yesterday"])
    send(browser)
    keep()
    open_link(browser, page_server, link)
    keep()

    assert [shown for shown, _ in pages] == ["Your check-in", "Your check-in", THANKS, GONE]
    for _, page in pages:
        for words in identifying:
            assert words.lower() not in page.lower()


def test_the_page_headers_keep_the_page_off_caches_indexes_and_referrers(
    page_server: PageServer, make_link: Callable[..., Link]
) -> None:
    link = make_link()
    form = page_server.get(link.path)
    unknown = page_server.get("/c/" + "A" * 32)
    assert (form.status, unknown.status) == (200, 404)
    assert GONE in unknown.body
    for fetched in (form, unknown):
        policy = fetched.headers["Content-Security-Policy"]
        assert "default-src 'none'" in policy and "frame-ancestors 'none'" in policy
        assert "script-src" not in policy
        assert fetched.headers["Cache-Control"] == "no-store"
        assert fetched.headers["Referrer-Policy"] == "no-referrer"
        assert fetched.headers["X-Robots-Tag"] == "noindex, nofollow"
        assert fetched.headers["Content-Type"].startswith("text/html")


def test_the_page_works_with_javascript_switched_off(
    page_server: PageServer,
    browsers: Browsers,
    make_link: Callable[..., Link],
    committed_db_session: Session,
) -> None:
    # With scripts off, WebDriver's clicks and scripts never return; keys and finders still work, so the child
    # here uses the keyboard (a switch or a Bluetooth keyboard on a phone): taps are covered with scripts on.
    browser = browsers.open(javascript=False)
    # Prove scripts really are off in this browser.
    browser.get("data:text/html,<title>off</title><script>document.title = 'on'</script>")
    assert browser.title == "off"

    link = make_link(help_text=HELP_TEXT)
    open_link(browser, page_server, link)
    for item in ITEMS[:3]:
        tab_to(browser, in_question(item))
        choose_with_keys(browser, ANSWERS[item])
    tab_to(browser, is_send_button)
    and_wait_for_next_page(browser, lambda: press(browser, Keys.ENTER))
    question = browser.find_element(By.ID, "q-ons4-anxious_yesterday")
    assert question.find_element(By.CSS_SELECTOR, ".error-message").text.endswith(MISSING)
    assert chosen(browser) == {item: ANSWERS[item] for item in ITEMS[:3]}

    tab_to(browser, in_question("anxious_yesterday"))
    choose_with_keys(browser, ANSWERS["anxious_yesterday"])
    tab_to(browser, is_send_button)
    and_wait_for_next_page(browser, lambda: press(browser, Keys.SPACE))
    assert heading(browser) == THANKS
    assert browser.find_element(By.CSS_SELECTOR, ".help-text").text == HELP_TEXT
    assert [responses for _, responses in stored_check_ins(committed_db_session, link)] == [ANSWERS]
