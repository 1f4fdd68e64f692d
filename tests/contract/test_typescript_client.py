"""A supplier's TypeScript client, generated from the OpenAPI document, is enough to write the phone app's evening
without stepping outside its types, and that program works against the real server.

clients/typescript holds the generated types (src/schema.d.ts: openapi-typescript at its default settings, for
openapi-fetch) and a mentor's evening written against them (src/mentors-evening.ts). Here:

- the committed types are what openapi-typescript makes of the document the code generates now (like
  openapi/openapi.json, `make openapi` regenerates them);
- the program type-checks with `tsc --strict` and uses no cast, no `any`, no hand-made header;
- compiled, it runs against a live server with the demo data, on SQLite and PostgreSQL; every answer it gets is
  as the document says (tests/contract/answers.py), and the server holds what it did afterwards (with the tests
  that need the database server to themselves: `-m serial`).
"""

from __future__ import annotations

import json
import os
import threading
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

import pytest
from flask import Flask
from sqlalchemy import select
from sqlalchemy.orm import Session
from werkzeug.serving import make_server

from api.clock import FixedClock
from api.demo import DEMO_PASSWORD, load_demo_data
from api.sessions.models import MentoringSession
from api.sessions.rules import SessionStatus
from api.wellbeing.models import CheckIn
from tests.contract.answers import answers_not_as_documented, check_every_answer
from tests.contract.node_tools import CLIENT, REPO_ROOT, node, run, tool, write_live_document

SCHEMA = CLIENT / "src" / "schema.d.ts"
PROGRAM = CLIENT / "src" / "mentors-evening.ts"
DEMO_MENTOR = "mentor@reachable.example"
# The phone's clock: the evening of the tests' fixed Monday (the demo is loaded at 14:00 that day; the server's
# clock then moves on to the evening too).
PHONE_CLOCK = "2026-11-23T19:30:00Z"


def test_the_committed_client_types_match_the_document(tmp_path: Path):
    generate = tool("openapi-typescript")
    document = write_live_document(tmp_path / "openapi.json")
    generated = tmp_path / "schema.d.ts"
    finished = run([generate, document, "--output", generated], cwd=CLIENT)
    assert finished.returncode == 0, finished.stdout + finished.stderr
    assert generated.read_text() == SCHEMA.read_text(), (
        f"{SCHEMA.relative_to(REPO_ROOT)} is stale: run `make openapi` and commit the result"
    )


@dataclass(frozen=True)
class Compiled:
    program: Path
    diagnostics: str
    succeeded: bool


@pytest.fixture(scope="session")
def compiled_evening(tmp_path_factory: pytest.TempPathFactory) -> Compiled:
    """The program compiled by tsc with --strict (on top of tsconfig.json's own settings), as ES modules."""
    tsc = tool("tsc")
    out = tmp_path_factory.mktemp("evening")
    finished = run([tsc, "--project", CLIENT, "--strict", "--noEmitOnError", "--outDir", out], cwd=CLIENT)
    # Node finds openapi-fetch from the compiled files as it would from the sources.
    (out / "node_modules").symlink_to(CLIENT / "node_modules", target_is_directory=True)
    (out / "package.json").write_text('{"type": "module"}\n')
    return Compiled(out / "src" / "mentors-evening.js", finished.stdout + finished.stderr, finished.returncode == 0)


def test_the_mentors_evening_type_checks_with_tsc_strict(compiled_evening: Compiled):
    assert compiled_evening.succeeded, compiled_evening.diagnostics


def test_the_mentors_evening_uses_no_cast_no_any_and_no_hand_made_header():
    tool("tsc")  # the script reads the program with the pinned TypeScript compiler's parser
    finished = run([node(), CLIENT / "scripts" / "no-escape-hatches.mjs", PROGRAM], cwd=CLIENT)
    assert finished.returncode == 0, finished.stdout + finished.stderr


@pytest.fixture()
def evening_server(committed_app: Flask, committed_db_session: Session, clock: FixedClock) -> Iterator[str]:
    """The app with the demo data (through its services), in a threaded server on a free port; every JSON answer
    it gives is checked against its OpenAPI document."""
    load_demo_data(
        committed_db_session,
        instruments=committed_app.extensions["reachable.instruments"],
        now=clock.now(),
        progress=lambda _line: None,
    )
    # On SQLite every transaction, reads too, takes the write lock: never leave one open for the server.
    committed_db_session.commit()
    # The evening itself: the server's clock agrees with the phone's, so tonight's session has started when the
    # mentor logs what happened (a session cannot be logged before it starts).
    clock.advance(seconds=(datetime.fromisoformat(PHONE_CLOCK) - clock.now()).total_seconds())
    check_every_answer(committed_app)
    server = make_server("127.0.0.1", 0, committed_app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}"
    server.shutdown()
    server.server_close()
    thread.join(timeout=10)


# Serial: on PostgreSQL a sync page waits for every write transaction open on the server, and the parallel tests
# keep some open; the evening checks that its own changes come back through sync.
@pytest.mark.serial
def test_the_mentors_evening_runs_against_a_live_server(
    compiled_evening: Compiled, evening_server: str, committed_app: Flask, committed_db_session: Session
):
    assert compiled_evening.succeeded, compiled_evening.diagnostics
    finished = run(
        [node(), compiled_evening.program],
        cwd=CLIENT,
        env={
            **os.environ,
            "REACHABLE_BASE_URL": evening_server,
            "REACHABLE_EMAIL": DEMO_MENTOR,
            "REACHABLE_PASSWORD": DEMO_PASSWORD,
            "REACHABLE_PHONE_CLOCK": PHONE_CLOCK,
        },
    )
    print(finished.stdout)  # shown with -rP, or when the test fails
    assert finished.returncode == 0, f"The evening failed:\n{finished.stdout}\n{finished.stderr}"
    lines = finished.stdout.strip().splitlines()
    for step in ("Synced", "the retry was replayed", "Completed it", "check-in", "412 stale_version", "409"):
        assert any(step in line for line in lines), f"no {step!r} in:\n{finished.stdout}"
    outcome = json.loads(lines[-1])
    assert outcome["pages"] > 1
    assert answers_not_as_documented(committed_app) == []

    # The server holds what the evening did: one session (the retry wrote nothing), completed, with the late note,
    # and the check-in made in it.
    session = committed_db_session.get_one(MentoringSession, uuid.UUID(outcome["session_id"]))
    assert session.status is SessionStatus.COMPLETED
    assert session.notes is not None and session.notes.endswith("college application.")
    check_in_sessions = committed_db_session.scalars(
        select(CheckIn.session_id).where(CheckIn.child_id == uuid.UUID(outcome["child_id"]))
    ).all()
    assert session.id in check_in_sessions
    committed_db_session.commit()
    # The refresh token it swapped is spent: presenting it again is refused.
    answer = committed_app.test_client().post("/auth/refresh", json={"refresh_token": outcome["spent_refresh_token"]})
    assert answer.status_code == 401
