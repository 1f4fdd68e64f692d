"""Fixtures shared by every test.

Every database test runs twice: on SQLite (the embedded default) and on PostgreSQL (production and CI).
The schema is always built by Alembic, never create_all. Each test runs inside a transaction that is
rolled back afterwards; the services' own commits only release savepoints inside it.

PostgreSQL comes from REACHABLE_TEST_POSTGRES_URL (default: the local server as user postgres). If it
cannot be reached the PostgreSQL half is skipped with a loud reason, unless REACHABLE_TEST_REQUIRE_POSTGRES=1
(as in CI), which makes that a failure instead.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import Connection, Engine, create_engine, text
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session, sessionmaker

from api import migrate
from api.app import create_app
from api.clock import FixedClock
from api.db import Database, ScopedSession, make_engine
from tests.contract.answers import answers_not_as_documented, check_every_answer

# Helper modules whose asserts came from test modules (issue 15): pytest rewrites them as it did there, so a
# failing one still shows its values.
pytest.register_assert_rewrite(
    "tests.api.check_in_family", "tests.concurrency.due_check_in_links", "tests.security.sign_in_attempts"
)

POSTGRES_ADMIN_URL = os.environ.get(
    "REACHABLE_TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
)
REQUIRE_POSTGRES = os.environ.get("REACHABLE_TEST_REQUIRE_POSTGRES") == "1"
SECRET_KEY = "test-secret-key-" + "x" * 32
# A Monday afternoon in GMT, so tests start from a plain week.
DEFAULT_NOW = datetime(2026, 11, 23, 14, 0, tzinfo=UTC)


def postgres_unavailable_reason() -> str | None:
    try:
        engine = create_engine(POSTGRES_ADMIN_URL, connect_args={"connect_timeout": 3})
        with engine.connect() as connection:
            connection.execute(text("SELECT 1"))
        engine.dispose()
    except Exception as error:  # any failure to connect means the same thing here
        return f"PostgreSQL at {make_url(POSTGRES_ADMIN_URL).render_as_string()} is unreachable: {error}"
    return None


def create_postgres_database() -> str:
    """A database of this test run's own, so runs (and xdist workers) never share state."""
    name = f"reachable_test_{uuid.uuid4().hex[:12]}"
    admin = create_engine(POSTGRES_ADMIN_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(text(f'CREATE DATABASE "{name}"'))
    admin.dispose()
    return make_url(POSTGRES_ADMIN_URL).set(database=name).render_as_string(hide_password=False)


def drop_postgres_database(url: str) -> None:
    name = make_url(url).database
    admin = create_engine(POSTGRES_ADMIN_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


@contextmanager
def throwaway_database(backend: str, directory: Path, *, migrated: bool = True) -> Iterator[str]:
    """A new, empty database of the backend, migrated to head unless asked not to, removed afterwards."""
    if backend == "sqlite":
        url = f"sqlite:///{directory / f'reachable-{uuid.uuid4().hex[:8]}.sqlite3'}"
    else:
        reason = postgres_unavailable_reason()
        if reason:
            if REQUIRE_POSTGRES:
                pytest.fail(f"{reason} (REACHABLE_TEST_REQUIRE_POSTGRES=1)", pytrace=False)
            pytest.skip(f"SKIPPING ALL POSTGRESQL TESTS: {reason}")
        url = create_postgres_database()
    try:
        if migrated:
            migrate.upgrade(url)
        yield url
    finally:
        if backend == "postgresql":
            drop_postgres_database(url)


@pytest.fixture(scope="session", params=["sqlite", "postgresql"])
def database_url(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """An empty database migrated to head, one per backend for the whole session."""
    with throwaway_database(request.param, tmp_path_factory.mktemp(request.param)) as url:
        yield url


@pytest.fixture(scope="session")
def backend(database_url: str) -> str:
    return "sqlite" if database_url.startswith("sqlite") else "postgresql"


@pytest.fixture(scope="session")
def engine(database_url: str) -> Iterator[Engine]:
    engine = make_engine(database_url)
    yield engine
    engine.dispose()


@pytest.fixture()
def connection(engine: Engine) -> Iterator[Connection]:
    with engine.connect() as connection:
        transaction = connection.begin()
        yield connection
        transaction.rollback()


@pytest.fixture()
def session_factory(connection: Connection) -> sessionmaker[Session]:
    # Services commit; here a commit only releases a savepoint inside the test's transaction.
    return sessionmaker(
        bind=connection, class_=ScopedSession, join_transaction_mode="create_savepoint", expire_on_commit=False
    )


@pytest.fixture()
def db_session(session_factory: sessionmaker[Session]) -> Iterator[Session]:
    with session_factory() as db_session:
        yield db_session


@pytest.fixture()
def clock() -> FixedClock:
    return FixedClock(DEFAULT_NOW)


def test_config(database_url: str, **overrides: Any) -> dict[str, Any]:
    return {
        "TESTING": True,
        "SECRET_KEY": SECRET_KEY,
        "DATABASE_URL": database_url,
        "ACCEPT_DRAMA_NUMBERS": True,
        # Off here, so the many tests that sign staff in through POST /auth/sign-in keep to one step; the tests
        # of the second factor (tests/api/test_mfa.py) turn it on, and one proves the shipped default requires it.
        "MFA_REQUIRED_ROLES": "",
        **overrides,
    }


@pytest.fixture(scope="session")
def session_app(database_url: str) -> Iterator[Flask]:
    app = create_app(test_config(database_url))
    # Every JSON answer a test receives through `app` is checked against the OpenAPI document (see `app`).
    check_every_answer(app)
    yield app
    app.extensions["reachable.db"].dispose()


@pytest.fixture()
def app(session_app: Flask, session_factory: sessionmaker[Session], clock: FixedClock) -> Iterator[Flask]:
    """The app, with its requests joined to the test's transaction and its time fixed."""
    database = session_app.extensions["reachable.db"]
    original_factory, original_clock = database.session_factory, session_app.extensions["reachable.clock"]
    database.session_factory = session_factory
    session_app.extensions["reachable.clock"] = clock
    # Rate-limit counters live in the app's store: each test starts with none spent.
    session_app.extensions["reachable.limiter"].reset()
    yield session_app
    database.session_factory, session_app.extensions["reachable.clock"] = original_factory, original_clock
    problems = answers_not_as_documented(session_app)
    if problems:
        pytest.fail("Answers that do not match the OpenAPI document:\n" + "\n".join(problems), pytrace=False)


@pytest.fixture()
def client(app: Flask) -> FlaskClient:
    return app.test_client()


@pytest.fixture()
def team(db_session: Session, clock: FixedClock) -> Any:
    """A programme with a cohort of ten places, a coordinator and a mentor (tests/builders.py's Team)."""
    from tests.builders import Team  # the builders import this module's constants

    return Team(db_session, clock)


@pytest.fixture()
def headers_for(db_session: Session, clock: FixedClock) -> Any:
    """headers_for(user, **extra): fresh bearer headers for the user at the clock's time."""
    from tests.builders import auth_headers  # the builders import this module's constants

    def headers(user: Any, **extra: str) -> dict[str, str]:
        return auth_headers(db_session, user, now=clock.now()) | extra

    return headers


@pytest.fixture(scope="session")
def repo_root() -> Path:
    return Path(__file__).resolve().parent.parent


@pytest.fixture()
def committed_database_url(backend: str, tmp_path: Path) -> Iterator[str]:
    """A database of this test's own whose transactions really commit (for concurrency and sync tests)."""
    with throwaway_database(backend, tmp_path) as url:
        yield url


@pytest.fixture()
def committed_db_session(committed_database_url: str) -> Iterator[Session]:
    database = Database(committed_database_url)
    with database.session() as db_session:
        yield db_session
    database.dispose()


@pytest.fixture()
def committed_app(committed_database_url: str, clock: FixedClock) -> Iterator[Flask]:
    app = create_app(test_config(committed_database_url, CLOCK=clock))
    yield app
    app.extensions["reachable.db"].dispose()


@pytest.fixture()
def committed_client(committed_app: Flask) -> FlaskClient:
    return committed_app.test_client()
