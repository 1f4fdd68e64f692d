"""The interactive API docs are served whole by this server (issue 14, part 5): no CDN, pinned files.

What the pages' Content-Security-Policy allows is checked with every other HTML page's headers
(tests/security/test_logs_and_headers.py); that they draw in a browser with every other host blocked, in
tests/browser/test_api_docs.py.
"""

from __future__ import annotations

import re

import pytest
from flask.testing import FlaskClient

from api.apidocs.vendored import REDOC, SWAGGER_UI, VENDORED
from api.app import create_app
from tests.conftest import SECRET_KEY

PAGES = {
    "/docs": [SWAGGER_UI.path("swagger-ui.css"), SWAGGER_UI.path("swagger-ui-bundle.js")],
    "/redoc": [REDOC.path("redoc.standalone.js")],
}
PINNED = {package.path(name): integrity for package in VENDORED for name, integrity in package.files.items()}


@pytest.fixture(scope="module")
def client() -> FlaskClient:
    """The docs never open the database: one app for the module, not one per database backend."""
    return create_app({"TESTING": True, "SECRET_KEY": SECRET_KEY, "DATABASE_URL": "sqlite://"}).test_client()


def tags_loading(page: str) -> dict[str, str | None]:
    """Each script's and stylesheet's address and its integrity attribute, if any."""
    loaded = {}
    for tag in re.findall(r"<(?:script|link)\b[^>]*>", page):
        address = re.search(r'\b(?:src|href)="([^"]*)"', tag)
        integrity = re.search(r'\bintegrity="([^"]*)"', tag)
        if address and not tag.startswith('<link rel="icon"'):
            loaded[address.group(1)] = integrity.group(1) if integrity else None
    return loaded


@pytest.mark.parametrize("path", PAGES)
def test_each_docs_page_loads_its_pinned_files_from_this_server_with_their_hashes(client, path):
    response = client.get(path)
    loaded = tags_loading(response.get_data(as_text=True))

    assert response.status_code == 200
    assert all(address.startswith("/docs/static/") for address in loaded)
    vendored = {address.removeprefix("/docs/static/"): integrity for address, integrity in loaded.items()}
    for file in PAGES[path]:
        assert vendored[file] == PINNED[file]
    assert "cdn" not in response.get_data(as_text=True).lower()
    # The page itself is not kept past a deployment; it holds nothing personal.
    assert response.headers["Cache-Control"] == "no-cache"


def test_the_pages_name_the_openapi_document_of_this_server(client):
    assert 'data-spec-url="/openapi.json"' in client.get("/docs").get_data(as_text=True)
    assert '<redoc spec-url="/openapi.json">' in client.get("/redoc").get_data(as_text=True)


@pytest.mark.parametrize("file", PINNED)
def test_vendored_files_are_cached_for_a_year_as_their_version_is_in_their_address(client, file):
    with client.get(f"/docs/static/{file}") as response:
        pass

    assert response.status_code == 200
    assert response.mimetype == ("text/css" if file.endswith(".css") else "text/javascript")
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    cache = response.cache_control
    assert cache.public and cache.max_age == 365 * 24 * 60 * 60 and cache.immutable


@pytest.mark.parametrize("file", ["swagger-ui-init.js", "docs.css"])
def test_our_own_files_for_the_pages_are_revalidated_each_time(client, file):
    with client.get(f"/docs/static/{file}") as response:
        pass
    with client.get(f"/docs/static/{file}", headers={"If-None-Match": response.headers["ETag"]}) as again:
        pass

    assert response.status_code == 200
    assert response.cache_control.no_cache and not response.cache_control.max_age
    assert again.status_code == 304
