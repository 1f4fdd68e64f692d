"""The mentors' app (/app) on an old phone over a poor connection (issue 18): the shell's size, and the time to a
usable caseload on Chromium's "Slow 3G" network profile with the CPU slowed four times.

    .venv/bin/python bench/mentors_app.py                  # a throwaway SQLite database with the demo data
    .venv/bin/python bench/mentors_app.py --cpu-slowdown 6 --runs 5

It prints figures; nothing is asserted. Needs Debian's Chromium and ChromeDriver (`make browser-deps`).
"""

from __future__ import annotations

import argparse
import gzip
import re
import secrets
import statistics
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from selenium import webdriver
from selenium.common.exceptions import NoSuchElementException, StaleElementReferenceException
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By
from werkzeug.serving import make_server

from api import migrate
from api.app import create_app
from api.db import Database
from api.demo import DEMO_PASSWORD, load_demo_data
from api.mentors_app.views import STATIC

CHROMIUM = "/usr/bin/chromium"
CHROMEDRIVER = "/usr/bin/chromedriver"
MENTOR = "mentor@reachable.example"
PIN = "246810"
# Chromium DevTools' "Slow 3G" preset: 500 kbit/s each way (at 80%, as DevTools applies it), 2 s round trip.
SLOW_3G = {
    "offline": False,
    "latency": 2000,
    "downloadThroughput": 500_000 / 8 * 0.8,
    "uploadThroughput": 500_000 / 8 * 0.8,
}
OFFLINE = {"offline": True, "latency": 0, "downloadThroughput": -1, "uploadThroughput": -1}


def shell_sizes(client: Any) -> list[tuple[str, int, int]]:
    """Each file the service worker keeps (and the worker itself): its size as served, and gzipped."""
    worker = client.get("/app/sw.js").get_data().decode()
    listed = worker[worker.index("const SHELL_FILES = [") : worker.index("];", worker.index("const SHELL_FILES"))]
    paths = ["/app/sw.js", "/app", *re.findall(r'"(/app/[^"]*)"', listed)]
    sizes = []
    for path in dict.fromkeys(paths):
        answer = client.get(path)
        body = answer.get_data()
        answer.close()
        sizes.append((path, len(body), len(gzip.compress(body, 9))))
    return sizes


@contextmanager
def demo_server() -> Iterator[str]:
    with tempfile.TemporaryDirectory() as folder:
        url = f"sqlite:///{Path(folder) / 'bench.sqlite3'}"
        migrate.upgrade(url)
        app = create_app({"SECRET_KEY": secrets.token_urlsafe(48), "DATABASE_URL": url})
        database = Database(url)
        with database.session() as session:
            load_demo_data(
                session,
                instruments=app.extensions["reachable.instruments"],
                now=datetime.now(UTC),
                progress=lambda _: None,
            )
            session.commit()
        database.dispose()
        server = make_server("127.0.0.1", 0, app, threaded=True)
        thread = threading.Thread(target=server.serve_forever, daemon=True)
        thread.start()
        try:
            yield f"http://127.0.0.1:{server.server_port}"
        finally:
            server.shutdown()
            server.server_close()
            thread.join(timeout=10)
            app.extensions["reachable.db"].dispose()


def phone() -> webdriver.Chrome:
    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for flag in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--no-first-run"):
        options.add_argument(flag)
    options.add_argument("--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE 127.0.0.1")
    options.add_experimental_option(
        "mobileEmulation", {"deviceMetrics": {"width": 360, "height": 740, "pixelRatio": 2}}
    )
    return webdriver.Chrome(service=Service(executable_path=CHROMEDRIVER), options=options)


def seconds_until(driver: webdriver.Chrome, ready: Callable[[], bool], limit: float = 300) -> float:
    started = time.monotonic()
    while time.monotonic() - started < limit:
        try:
            if ready():
                return time.monotonic() - started
        except (NoSuchElementException, StaleElementReferenceException):
            pass
        time.sleep(0.05)
    raise TimeoutError("the app did not get there in time")


def heading(driver: webdriver.Chrome) -> str:
    return str(driver.find_element(By.TAG_NAME, "h1").text)


def caseload_ready(driver: webdriver.Chrome) -> bool:
    """The caseload is drawn with its children (usable: a child can be opened)."""
    return heading(driver) == "Your caseload" and bool(driver.find_elements(By.CSS_SELECTOR, "ul.rows button"))


def one_run(base_url: str, cpu_slowdown: float) -> dict[str, float]:
    driver = phone()
    try:
        driver.execute_cdp_cmd("Network.enable", {})
        driver.execute_cdp_cmd("Network.setCacheDisabled", {"cacheDisabled": True})
        driver.execute_cdp_cmd("Network.emulateNetworkConditions", SLOW_3G)
        driver.execute_cdp_cmd("Emulation.setCPUThrottlingRate", {"rate": cpu_slowdown})
        figures: dict[str, float] = {}
        started = time.monotonic()
        driver.get(base_url + "/app")
        seconds_until(driver, lambda: heading(driver) == "Sign in")
        figures["first visit: the sign-in screen"] = time.monotonic() - started
        driver.find_element(By.ID, "email").send_keys(MENTOR)
        driver.find_element(By.ID, "password").send_keys(DEMO_PASSWORD)
        driver.find_element(By.CSS_SELECTOR, "button[type=submit]").click()
        figures["signing in: the PIN screen"] = seconds_until(driver, lambda: heading(driver).startswith("Set a PIN"))
        driver.find_element(By.ID, "pin").send_keys(PIN)
        driver.find_element(By.ID, "pin-again").send_keys(PIN)
        driver.find_element(By.CSS_SELECTOR, "button[type=submit]").click()
        figures["after the PIN: the caseload, first sync"] = seconds_until(driver, lambda: caseload_ready(driver))
        seconds_until(driver, lambda: bool(driver.execute_script("return navigator.serviceWorker.controller !== null")))
        started = time.monotonic()
        driver.refresh()
        seconds_until(driver, lambda: caseload_ready(driver))
        figures["opened again on Slow 3G: the caseload"] = time.monotonic() - started
        driver.execute_cdp_cmd("Network.emulateNetworkConditions", OFFLINE)
        started = time.monotonic()
        driver.refresh()
        seconds_until(driver, lambda: caseload_ready(driver))
        figures["opened again offline: the caseload"] = time.monotonic() - started
        return figures
    finally:
        driver.quit()


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--cpu-slowdown", type=float, default=4.0, help="Chromium's CPU throttling rate (default 4)")
    parser.add_argument("--runs", type=int, default=3, help="fresh phones, each signing in once (default 3)")
    options = parser.parse_args(argv)

    client = create_app({"SECRET_KEY": secrets.token_urlsafe(48), "DATABASE_URL": "sqlite://"}).test_client()
    sizes = shell_sizes(client)
    print(f"The app shell: {len(sizes)} files, as the service worker keeps them (files: {STATIC})")
    print(f"{'file':<40} {'bytes':>9} {'gzip -9':>9}")
    for path, raw, packed in sizes:
        print(f"{path:<40} {raw:>9,} {packed:>9,}")
    print(f"{'total':<40} {sum(s[1] for s in sizes):>9,} {sum(s[2] for s in sizes):>9,}")
    print("(Reachable gzips JSON answers only; a proxy in front of it that gzips text sends the second column.)")
    print()

    print(f"Time to a usable caseload: Slow 3G (2 s round trip, 400 kbit/s), CPU slowed {options.cpu_slowdown:g}x")
    runs: list[dict[str, float]] = []
    with demo_server() as base_url:
        for number in range(options.runs):
            runs.append(one_run(base_url, options.cpu_slowdown))
            print(f"  run {number + 1} of {options.runs} done")
    for step in runs[0]:
        values = [run[step] for run in runs]
        print(f"{step:<45} median {statistics.median(values):6.2f} s  (min {min(values):.2f}, max {max(values):.2f})")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
