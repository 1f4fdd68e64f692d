"""The Node.js tools the contract tests run: Spectral, openapi-typescript and tsc, pinned by
clients/typescript/package-lock.json and installed by `make client-deps` (`npm ci`, which `make test` runs where
npm is available). Without them those tests skip and say why, unless REACHABLE_TEST_REQUIRE_NODE_TOOLS=1 (as in
CI), which makes that a failure. Node is a tool for tests only: nothing the service runs needs it.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path
from typing import Any, NoReturn

import pytest
from flask import Flask

from api.app import create_app
from tests.conftest import SECRET_KEY

REPO_ROOT = Path(__file__).resolve().parents[2]
CLIENT = REPO_ROOT / "clients" / "typescript"
TOOLS = CLIENT / "node_modules" / ".bin"
REQUIRED = os.environ.get("REACHABLE_TEST_REQUIRE_NODE_TOOLS") == "1"
# Upper bounds for a slow, shared machine, not expectations.
TOOL_TIMEOUT_SECONDS = 600


def unavailable(reason: str) -> NoReturn:
    if REQUIRED:
        pytest.fail(f"{reason} (REACHABLE_TEST_REQUIRE_NODE_TOOLS=1, so this is a failure)", pytrace=False)
    pytest.skip(f"SKIPPING THE OPENAPI CLIENT TESTS (Spectral, TypeScript): {reason}")


def node() -> str:
    found = shutil.which("node")
    if found is None:
        unavailable("Node.js is not installed (install Node 20 or newer and npm, then run `make client-deps`)")
    return found


def tool(name: str) -> Path:
    """A tool from clients/typescript/node_modules/.bin, or skip (fail in CI) saying how to install it."""
    node()
    path = TOOLS / name
    if not path.exists():
        unavailable(f"{path.relative_to(REPO_ROOT)} is missing: run `make client-deps` (needs npm)")
    return path


def run(command: list[str | Path], **kwargs: Any) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(part) for part in command],
        capture_output=True,
        text=True,
        timeout=TOOL_TIMEOUT_SECONDS,
        stdin=subprocess.DEVNULL,
        check=False,
        **kwargs,
    )


def live_document() -> dict[str, Any]:
    """The OpenAPI document as the code generates it now (what `make openapi` writes)."""
    app: Flask = create_app({"TESTING": True, "SECRET_KEY": SECRET_KEY, "DATABASE_URL": "sqlite://"})
    with app.app_context():
        document: dict[str, Any] = app.extensions["flask-smorest"]["apis"][""]["ext_obj"].spec.to_dict()
    return document


def write_live_document(path: Path) -> Path:
    path.write_text(json.dumps(live_document(), indent=2))
    return path
