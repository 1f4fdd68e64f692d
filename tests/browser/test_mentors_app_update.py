"""A new version of the mentors' app: the page an older service worker served says so, and reloads on request."""

from __future__ import annotations

import pytest
from selenium.webdriver.chrome.webdriver import WebDriver
from selenium.webdriver.common.by import By

from api.mentors_app import views
from tests.browser.conftest import Mentor, PageServer
from tests.browser.mentors_app_driving import button, click, heading, sign_in, wait_until

pytestmark = pytest.mark.browser


def update_shown(browser: WebDriver) -> bool:
    return bool(browser.find_element(By.ID, "update").is_displayed())


def test_a_new_version_is_offered_and_taken_without_losing_the_sign_in(
    browser: WebDriver, page_server: PageServer, mentor: Mentor, monkeypatch: pytest.MonkeyPatch
) -> None:
    sign_in(browser, page_server, mentor)
    assert not update_shown(browser)

    # The same worker script again: nothing new, nothing said.
    browser.execute_async_script(
        "const done = arguments[0]; navigator.serviceWorker.getRegistration().then((r) => r.update()).then(done);"
    )
    assert not update_shown(browser)

    # A release changes a file of the shell, so the worker's script carries a new version.
    monkeypatch.setattr(views, "shell_version", lambda: "a-newer-release")
    browser.execute_script("navigator.serviceWorker.getRegistration().then((r) => r.update());")
    wait_until(browser, update_shown, "the new version offered")
    assert "new version" in browser.find_element(By.ID, "update").text

    click(browser, "Use the new version now")
    wait_until(browser, lambda b: heading(b) == "Your caseload", "the caseload, still signed in")
    wait_until(browser, lambda b: button(b, mentor.child_reference), "the child, from the phone's store")
    assert not update_shown(browser)
    cache_names = browser.execute_async_script("const done = arguments[0]; caches.keys().then(done);")
    assert cache_names == ["reachable-app-a-newer-release"]
