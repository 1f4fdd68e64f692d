"""SIGTERM stops gunicorn gracefully: the request in flight completes, its write is committed, exit 0.

The mechanism is gunicorn's graceful shutdown with the repository's gunicorn.conf.py (graceful_timeout, sync
workers): on SIGTERM the master closes the listening socket and tells each worker to exit after the request it
is serving. The test makes a request slow without changing the app: it holds a lock on the programme's row, so
the request's INSERT of a child (whose foreign key must lock that row for key share) waits on it. It then sends
SIGTERM, waits until the worker has received it (tests/reliability/gunicorn_probe_conf.py), and only then lets
the request go on. With graceful_timeout 0 (no grace) the worker is killed with its transaction open: the client
gets no answer and the child is never stored, and this test fails.
"""

from __future__ import annotations

import signal
import threading
from datetime import UTC, datetime
from typing import Any

import pytest
import requests
from sqlalchemy import select, text

from api.actors import Role
from api.children.models import Child
from api.db import Database
from tests.builders import auth_headers, make_programme, make_user
from tests.conftest import throwaway_database
from tests.reliability.processes import PATIENCE_SECONDS, gunicorn, wait_until


@pytest.fixture()
def postgres_url(tmp_path):
    """A migrated PostgreSQL database of this test's own on the shared server (nothing here restarts it)."""
    with throwaway_database("postgresql", tmp_path) as url:
        yield url


def waiting_on_a_lock(database: Database) -> int:
    """How many other connections to this database are waiting for a lock."""
    with database.engine.connect() as connection:
        return int(
            connection.scalar(
                text(
                    "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() "
                    "AND wait_event_type = 'Lock' AND pid <> pg_backend_pid()"
                )
            )
        )


def test_sigterm_lets_the_request_in_flight_commit_and_answer_then_exits_0(postgres_url):
    database = Database(postgres_url)
    with database.session() as db_session:
        programme = make_programme(db_session)
        coordinator = make_user(db_session, Role.COORDINATOR, programme=programme)
        headers = auth_headers(db_session, coordinator, now=datetime.now(UTC))
        programme_id, district = programme.id, programme.districts[0]
    payload = {"first_name": "Inflight", "last_name": "Request", "date_of_birth": "2012-05-17", "district": district}
    answers: list[Any] = []

    with gunicorn(postgres_url, workers=1) as server:
        holder = database.engine.connect()
        holder.begin()
        holder.execute(text("SELECT id FROM programme WHERE id = :id FOR UPDATE"), {"id": programme_id})

        def create_child() -> None:
            try:
                answers.append(requests.post(server.base_url + "/children", json=payload, headers=headers,
                                             timeout=PATIENCE_SECONDS))  # fmt: skip
            except requests.RequestException as problem:
                answers.append(problem)

        request = threading.Thread(target=create_child)
        request.start()
        try:
            wait_until(lambda: waiting_on_a_lock(database) == 1, "the request waits on the programme's row lock")
            server.process.send_signal(signal.SIGTERM)
            server.output.wait_for("got SIGTERM")  # the worker is stopping, with the request still in flight
        finally:
            holder.rollback()
            holder.close()
        request.join(PATIENCE_SECONDS)
        exit_code = server.process.wait(timeout=PATIENCE_SECONDS)
        log = server.output.text()

    assert not request.is_alive()
    (answer,) = answers
    assert isinstance(answer, requests.Response), f"{answer!r}\n{log}"
    assert answer.status_code == 201, answer.text
    assert exit_code == 0, log
    assert "SIGKILL" not in log and "WORKER TIMEOUT" not in log and "Traceback" not in log, log
    with database.session() as db_session:
        stored = db_session.scalar(select(Child).where(Child.id == answer.json()["id"]))
        assert stored is not None and stored.first_name == "Inflight"
    database.dispose()
