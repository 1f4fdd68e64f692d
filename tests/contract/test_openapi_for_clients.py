"""The OpenAPI document is one that suppliers' tools accept without complaint: it validates against the OpenAPI
specification, and Spectral's OpenAPI ruleset (.spectral.yaml) finds nothing in it, not even a hint.

Both check the document as the code generates it now, not the committed file (another test keeps that equal).
"""

from __future__ import annotations

import json
from pathlib import Path

from openapi_spec_validator import validate

from tests.contract.node_tools import REPO_ROOT, live_document, run, tool, write_live_document


def test_the_document_is_valid_openapi():
    document = live_document()
    assert document["openapi"].startswith("3.1.")
    validate(document)  # raises, naming the problem, if it is not


def test_spectral_finds_nothing_in_the_document(tmp_path: Path):
    spectral = tool("spectral")
    document = write_live_document(tmp_path / "openapi.json")
    results = tmp_path / "spectral.json"
    finished = run(
        [
            spectral,
            "lint",
            "--ruleset",
            REPO_ROOT / ".spectral.yaml",
            "--format",
            "json",
            "--output",
            results,
            "--fail-severity",
            "hint",
            document,
        ],
        cwd=tmp_path,
    )
    assert results.exists(), f"Spectral did not run:\n{finished.stdout}\n{finished.stderr}"
    found = [
        f"{result['code']}: {result['message']} at {'.'.join(str(part) for part in result['path'])}"
        for result in json.loads(results.read_text())
    ]
    assert not found, "Spectral found (see .spectral.yaml):\n" + "\n".join(found)
    assert finished.returncode == 0, finished.stdout + finished.stderr
