"""Database plumbing shared by the web app, the scheduler and the CLI. No Flask here.

SQLite is the embedded default for a new user's machine; PostgreSQL is what production and CI run.
Both must keep the same guarantees, so SQLite transactions start with BEGIN IMMEDIATE: a transaction
takes the single database write lock up front, which gives SQLite the serialisation that
PostgreSQL's row locks give (a read-then-write never races another writer).
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import BigInteger, DateTime, Engine, Integer, MetaData, create_engine, event
from sqlalchemy.engine import Dialect
from sqlalchemy.orm import DeclarativeBase, Session, sessionmaker
from sqlalchemy.types import TypeDecorator

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class UtcDateTime(TypeDecorator[datetime]):
    """A timezone-aware UTC datetime on every backend (SQLite would otherwise hand back naive values)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetimes are ambiguous; pass an aware datetime")
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)
    type_annotation_map = {datetime: UtcDateTime()}


# A growing 64-bit id (event logs); SQLite only auto-increments an INTEGER PRIMARY KEY.
BIG_ID = BigInteger().with_variant(Integer(), "sqlite")


def new_id() -> uuid.UUID:
    return uuid.uuid4()


def is_sqlite(url: str) -> bool:
    return url.startswith("sqlite")


def make_engine(url: str, *, echo: bool = False, **kwargs: Any) -> Engine:
    """Create an engine whose errors never echo bound parameters (they can hold personal data)."""
    if is_sqlite(url):
        engine = create_engine(
            url,
            echo=echo,
            hide_parameters=True,
            connect_args={"check_same_thread": False, "timeout": 30},
            **kwargs,
        )
        _make_sqlite_transactional(engine)
        return engine
    return create_engine(url, echo=echo, hide_parameters=True, pool_pre_ping=True, **kwargs)


def _make_sqlite_transactional(engine: Engine) -> None:
    # The pysqlite driver's own transaction handling defers BEGIN and breaks SAVEPOINT; take it over,
    # as SQLAlchemy's documentation recommends, and begin every transaction IMMEDIATE.
    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA foreign_keys = ON")
        cursor.execute("PRAGMA journal_mode = WAL")
        cursor.execute("PRAGMA busy_timeout = 30000")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(connection: Any) -> None:
        # A connection opened AUTOCOMMIT (the readiness probe) only reads, and must not queue for the lock.
        if connection.get_execution_options().get("isolation_level") != "AUTOCOMMIT":
            connection.exec_driver_sql("BEGIN IMMEDIATE")


_COMMITS_HELD = "reachable.commits_held"


class HoldableSession(Session):
    """A session whose commits a caller can hold (`hold_commits`): a service's commit() then only flushes, and the
    caller commits once, after adding rows of its own to the same transaction."""

    def commit(self) -> None:
        if self.info.get(_COMMITS_HELD):
            self.flush()
            return
        super().commit()


@contextmanager
def hold_commits(db_session: Session) -> Iterator[None]:
    """Inside the block, commit() only flushes; an exception rolls everything back, so nothing of the block is kept.

    Used by idempotent creates: the key's answer exists only once the view has returned, and it must commit in the
    same transaction as the write it answers for (a crash between two commits would strand the key).
    """
    if not isinstance(db_session, HoldableSession):
        raise TypeError("hold_commits needs a HoldableSession (make_session_factory makes them)")
    db_session.info[_COMMITS_HELD] = True
    try:
        yield
    except BaseException:
        db_session.rollback()
        raise
    finally:
        db_session.info.pop(_COMMITS_HELD, None)


def make_session_factory(engine: Engine) -> sessionmaker[Session]:
    return sessionmaker(engine, class_=HoldableSession, expire_on_commit=False)


class Database:
    """An engine and the session factory bound to it; one per process."""

    def __init__(self, url: str, **engine_kwargs: Any) -> None:
        self.url = url
        self.engine = make_engine(url, **engine_kwargs)
        self.session_factory = make_session_factory(self.engine)

    def session(self) -> Session:
        return self.session_factory()

    def dispose(self) -> None:
        self.engine.dispose()
