"""The interactive API docs on a closed network: Swagger UI (/docs) and ReDoc (/redoc) in a real Chromium.

Every host but the test server's is unresolvable in these browsers (OFFLINE_FLAGS in conftest.py), as on a
council network that blocks CDNs. Both pages must still draw every operation of the OpenAPI document, Swagger
UI's "Try it out" and "Authorize" must work, and the browser's own network log must show that nothing tried to
leave for another host but what the page's policy stopped before it left the browser. The docs need no
database, so these tests serve an app of their own instead of conftest's page_server (which makes one per
backend).
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
from selenium import webdriver
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.chrome.webdriver import WebDriver
from selenium.webdriver.common.by import By
from selenium.webdriver.common.selenium_manager import SeleniumManager
from selenium.webdriver.support import expected_conditions
from selenium.webdriver.support.wait import WebDriverWait

from api.app import create_app
from tests.browser.conftest import CHROMEDRIVER, Browsers, PageServer, chromium_options, serving
from tests.conftest import test_config as app_config  # renamed so pytest does not collect it as a test

pytestmark = pytest.mark.browser

SIGN_IN_SUMMARY = "Sign in with email and password: a short-lived access token and a refresh token"
METHODS = {"get", "put", "post", "delete", "patch"}
# ReDoc's sidebar credit always asks for this image; the page's img-src refuses it inside the browser.
REDOCLY_LOGO = "https://cdn.redoc.ly/redoc/logo-mini.svg"


@pytest.fixture()
def docs_server(browser_binaries: None, tmp_path: Path) -> Iterator[PageServer]:
    app = create_app(app_config(f"sqlite:///{tmp_path / 'never-opened.sqlite3'}"))
    with serving(app) as server:
        yield server
    app.extensions["reachable.db"].dispose()


def _no_selenium_manager(*_args: Any, **_kwargs: Any) -> dict[str, str]:
    raise AssertionError("Selenium Manager was asked for a browser or driver: it must never download one here")


@pytest.fixture()
def browser(docs_server: PageServer, monkeypatch: pytest.MonkeyPatch) -> Iterator[WebDriver]:
    """A desktop-sized Chromium (people read API docs at a desk) that logs every request it makes."""
    monkeypatch.setattr(SeleniumManager, "binary_paths", _no_selenium_manager)
    monkeypatch.setenv("SE_OFFLINE", "true")
    options = chromium_options(javascript=True)
    options.experimental_options.pop("mobileEmulation")
    options.set_capability("goog:loggingPrefs", {"browser": "ALL", "performance": "ALL"})
    opened = Browsers()
    driver = webdriver.Chrome(service=Service(executable_path=CHROMEDRIVER), options=options)
    opened.opened.append(driver)
    driver.set_page_load_timeout(30)
    driver.set_window_size(1280, 900)
    yield driver
    opened.quit_all()


def operation_count(server: PageServer) -> int:
    document = json.loads(server.get("/openapi.json").body)
    return sum(1 for item in document["paths"].values() for method in item if method in METHODS)


def requests_made(driver: WebDriver) -> dict[str, dict[str, Any]]:
    """Every request the page made since the last call, by id: its URL and, if it failed, why."""
    requests: dict[str, dict[str, Any]] = {}
    for entry in driver.get_log("performance"):
        message = json.loads(entry["message"])["message"]
        params = message["params"]
        if message["method"] == "Network.requestWillBeSent":
            requests.setdefault(params["requestId"], {})["url"] = params["request"]["url"]
        elif message["method"] == "Network.loadingFailed":
            requests.setdefault(params["requestId"], {})["blocked"] = params.get("blockedReason")
    return requests


def assert_nothing_left_for_another_host(driver: WebDriver, server: PageServer) -> set[str]:
    """Every request went to the test server (or was data: or blob:, which never leave the browser), except
    any the page's own policy stopped in the browser; returns those."""
    own_host = urlsplit(server.base_url).netloc
    stopped_by_policy = set()
    for request in requests_made(driver).values():
        url = request.get("url", "")
        parts = urlsplit(url)
        if parts.scheme in {"data", "blob"} or parts.netloc == own_host:
            continue
        assert request.get("blocked") == "csp", f"the page tried to reach another host: {url}"
        stopped_by_policy.add(url)
    return stopped_by_policy


def console_errors(driver: WebDriver) -> list[str]:
    return [entry["message"] for entry in driver.get_log("browser") if entry["level"] == "SEVERE"]


def assert_policy_names_no_other_origin(server: PageServer, path: str) -> None:
    policy = server.get(path).headers["Content-Security-Policy"]
    sources = {source for directive in policy.split(";") for source in directive.split()[1:]}
    assert sources <= {"'none'", "'self'", "'unsafe-inline'", "data:", "blob:"}, policy


def test_swagger_ui_draws_every_operation_with_every_other_host_blocked(docs_server, browser):
    browser.get(docs_server.url("/docs"))

    sign_in = WebDriverWait(browser, 20).until(
        expected_conditions.visibility_of_element_located((By.ID, "operations-accounts-signIn"))
    )
    assert SIGN_IN_SUMMARY in sign_in.text
    assert len(browser.find_elements(By.CSS_SELECTOR, ".opblock")) == operation_count(docs_server)
    assert_policy_names_no_other_origin(docs_server, "/docs")
    assert console_errors(browser) == []
    assert assert_nothing_left_for_another_host(browser, docs_server) == set()


def test_swagger_ui_tries_an_operation_on_this_server_and_keeps_a_token_out_of_storage(docs_server, browser):
    browser.get(docs_server.url("/docs"))
    wait = WebDriverWait(browser, 20)
    health = wait.until(expected_conditions.visibility_of_element_located((By.ID, "operations-health-healthz")))

    health.find_element(By.CSS_SELECTOR, ".opblock-summary-control").click()
    wait.until(lambda _: health.find_element(By.CSS_SELECTOR, ".try-out__btn")).click()
    wait.until(lambda _: health.find_element(By.CSS_SELECTOR, ".execute")).click()
    status = wait.until(
        lambda _: health.find_element(By.CSS_SELECTOR, ".live-responses-table tbody .response-col_status")
    )
    assert status.text == "200"

    browser.find_element(By.CSS_SELECTOR, ".auth-wrapper .authorize").click()
    wait.until(lambda _: browser.find_element(By.CSS_SELECTOR, ".auth-container input")).send_keys("a.pasted.token")
    browser.find_element(By.CSS_SELECTOR, ".auth-btn-wrapper .authorize").click()
    wait.until(lambda _: "Authorized" in browser.find_element(By.CSS_SELECTOR, ".auth-container").text)
    assert browser.execute_script("return window.localStorage.length + window.sessionStorage.length") == 0
    assert console_errors(browser) == []
    assert assert_nothing_left_for_another_host(browser, docs_server) == set()


def test_redoc_draws_every_operation_with_every_other_host_blocked(docs_server, browser):
    browser.get(docs_server.url("/redoc"))

    sign_in = WebDriverWait(browser, 20).until(
        expected_conditions.visibility_of_element_located(
            (By.CSS_SELECTOR, "[data-section-id='tag/accounts/operation/signIn'] h2")
        )
    )
    assert sign_in.text == SIGN_IN_SUMMARY
    operations = browser.find_elements(By.CSS_SELECTOR, "[data-section-id*='/operation/']")
    assert len(operations) == operation_count(docs_server)
    assert_policy_names_no_other_origin(docs_server, "/redoc")
    # The one thing that reached for another host is ReDoc's logo, stopped by the policy before it left.
    assert assert_nothing_left_for_another_host(browser, docs_server) == {REDOCLY_LOGO}
    assert [error for error in console_errors(browser) if REDOCLY_LOGO not in error] == []
