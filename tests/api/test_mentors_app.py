"""The mentors' app at /app is served whole by Reachable, under its own strict policy (issue 18).

Everything under /app is public code with no data: the shell, its manifest, its service worker, its modules.
That it works, offline too, is tested in a real browser (tests/browser/test_mentors_app.py); that its JavaScript
type-checks against the generated API types, in tests/contract/test_mentors_app_types.py.
"""

from __future__ import annotations

import re
import struct
from pathlib import Path

import pytest
from flask.testing import FlaskClient
from werkzeug.test import TestResponse

from api.app import create_app
from api.mentors_app.views import STATIC, shell_version
from tests.conftest import SECRET_KEY

APP_POLICY = {
    "default-src": ["'none'"],
    "script-src": ["'self'"],
    "style-src": ["'self'"],
    "img-src": ["'self'"],
    "connect-src": ["'self'"],
    "manifest-src": ["'self'"],
    "worker-src": ["'self'"],
    "base-uri": ["'none'"],
    "form-action": ["'none'"],
    "frame-ancestors": ["'none'"],
}


@pytest.fixture(scope="module")
def client() -> FlaskClient:
    """The app's files never open the database: one app for the module, not one per database backend."""
    return create_app({"TESTING": True, "SECRET_KEY": SECRET_KEY, "DATABASE_URL": "sqlite://"}).test_client()


def get(client: FlaskClient, path: str) -> TestResponse:
    """The answer, read whole and closed (a file's answer holds the file open until it is)."""
    response = client.get(path)
    response.get_data()
    response.close()
    return response


def policy(header: str) -> dict[str, list[str]]:
    return {part.split()[0]: part.split()[1:] for part in header.split(";") if part.strip()}


def shell_files() -> list[str]:
    """Every static file but the worker itself, as the worker names them."""
    return sorted(
        "/app/static/" + path.relative_to(STATIC).as_posix()
        for path in STATIC.rglob("*")
        if path.is_file() and path.name != "sw.js"
    )


@pytest.mark.parametrize("path", ["/app", "/app/manifest.webmanifest", "/app/sw.js", "/app/static/js/app.js"])
def test_every_file_of_the_app_is_served_under_its_strict_policy(client, path):
    response = get(client, path)

    assert response.status_code == 200
    assert policy(response.headers["Content-Security-Policy"]) == APP_POLICY
    assert response.headers["Referrer-Policy"] == "no-referrer"
    assert response.headers["Cache-Control"] == "no-cache"


def test_the_shell_runs_no_inline_script_or_style_and_loads_only_its_own_files(client):
    page = get(client, "/app").get_data(as_text=True)

    scripts = re.findall(r"<script\b[^>]*>(.*?)</script>", page, re.S)
    assert scripts == [""]  # one module, loaded from its file
    assert "<style" not in page and "style=" not in page
    loaded = re.findall(r'\b(?:src|href)="([^"]*)"', page)
    assert loaded and all(address.startswith("/app") for address in loaded)


def test_the_manifest_makes_it_installable(client):
    response = get(client, "/app/manifest.webmanifest")
    manifest = response.get_json(force=True)

    assert response.mimetype == "application/manifest+json"
    assert manifest["start_url"] == "/app" and manifest["scope"] == "/app"
    assert manifest["display"] == "standalone"
    assert manifest["name"] and manifest["short_name"]
    sizes = {icon["sizes"]: icon["src"] for icon in manifest["icons"]}
    assert set(sizes) == {"192x192", "512x512"}
    for size, src in sizes.items():
        icon = get(client, src)
        assert icon.status_code == 200 and icon.mimetype == "image/png"
        width, height = struct.unpack(">II", icon.data[16:24])  # the PNG's IHDR
        assert f"{width}x{height}" == size


def test_the_service_worker_may_control_the_bare_app_address_and_caches_every_shell_file(client):
    response = get(client, "/app/sw.js")
    script = response.get_data(as_text=True)

    assert response.mimetype == "text/javascript"
    assert response.headers["Service-Worker-Allowed"] == "/app"
    assert f'const VERSION = "{shell_version()}";' in script  # a changed file changes the worker: an update
    listed = sorted(re.findall(r'"(/app/static/[^"]+)"', script))
    assert listed == shell_files(), "SHELL_FILES in static/sw.js must list every file of the shell"
    assert all(get(client, path).status_code == 200 for path in listed)


def test_the_shell_version_changes_with_any_file(tmp_path: Path):
    (tmp_path / "app.js").write_text("one")
    before = shell_version(tmp_path)
    (tmp_path / "app.js").write_text("two")

    assert shell_version.__wrapped__(tmp_path) != before
