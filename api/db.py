"""Database plumbing shared by the web app, the scheduler and the CLI. No Flask here.

SQLite is the embedded default for a new user's machine; PostgreSQL is what production and CI run.
Both must keep the same guarantees, so SQLite transactions start with BEGIN IMMEDIATE: a transaction
takes the single database write lock up front, which gives SQLite the serialisation that
PostgreSQL's row locks give (a read-then-write never races another writer).
"""

from __future__ import annotations

import functools
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import Any, TypeVar, cast

from sqlalchemy import BigInteger, DateTime, Engine, Integer, MetaData, create_engine, event
from sqlalchemy.engine import Dialect
from sqlalchemy.orm import DeclarativeBase, Session, sessionmaker
from sqlalchemy.types import TypeDecorator

F = TypeVar("F", bound=Callable[..., Any])

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


_DEPTH = "reachable.transaction_depth"
_FAILED_INSIDE = "reachable.transaction_failed_inside"


class TransactionAbandoned(RuntimeError):
    """An inner scope failed and its caller carried on: committing the rest would keep half a change."""


class ScopedSession(Session):
    """A session whose transactions are opened and ended by `transaction` scopes (`use_case`, `step`).

    commit() inside an open scope is refused rather than obeyed: it would commit half of a use case (and the caller's
    work with it) before the use case had finished. Outside any scope it commits, as a plain Session does (tests and
    command-line set-up use that)."""

    def commit(self) -> None:
        if self.info.get(_DEPTH, 0):
            raise RuntimeError("commit() inside a transaction scope: the scope commits when the use case ends")
        super().commit()


@contextmanager
def transaction(db_session: Session) -> Iterator[Session]:
    """The unit of work of a use case: the outermost scope commits when its block ends, or rolls back if it raises.

    A scope opened inside another joins it (a use case called by another use case, or the idempotency wrapper around
    a create), so the whole request commits once, at the outermost end. If an inner scope fails, the transaction is
    spoiled even if its caller catches the error: the outermost end then rolls back and raises TransactionAbandoned.
    """
    depth = db_session.info.get(_DEPTH, 0)
    db_session.info[_DEPTH] = depth + 1
    try:
        yield db_session
    except BaseException:
        db_session.info[_DEPTH] = depth
        if depth == 0:
            db_session.info.pop(_FAILED_INSIDE, None)
            db_session.rollback()
        else:
            db_session.info[_FAILED_INSIDE] = True
        raise
    db_session.info[_DEPTH] = depth
    if depth:
        return
    if db_session.info.pop(_FAILED_INSIDE, False):
        db_session.rollback()
        raise TransactionAbandoned("a step of this transaction failed; nothing of it was kept")
    try:
        db_session.commit()
    except BaseException:
        db_session.rollback()
        raise


def in_transaction_scope(db_session: Session) -> bool:
    return bool(db_session.info.get(_DEPTH, 0))


def _session_argument(args: tuple[Any, ...], kwargs: dict[str, Any]) -> Session:
    candidate = kwargs.get("db_session", args[0] if args else None)
    if not isinstance(candidate, Session):
        raise TypeError("a use case or step takes the database session as its first argument or as db_session=")
    return candidate


def use_case(function: F) -> F:
    """Marks a service function that owns its transaction: it commits when it returns, rolls back when it raises, and
    joins the caller's transaction when called inside another use case."""

    @functools.wraps(function)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        with transaction(_session_argument(args, kwargs)):
            return function(*args, **kwargs)

    return cast(F, wrapper)


def step(function: F) -> F:
    """Marks a service function that joins its caller's transaction and never commits: its rows commit (or not) with
    the use case that called it."""

    @functools.wraps(function)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        if not in_transaction_scope(_session_argument(args, kwargs)):
            raise RuntimeError(f"{function.__qualname__} is a step: call it inside a use case or transaction()")
        return function(*args, **kwargs)

    return cast(F, wrapper)


def make_session_factory(engine: Engine) -> sessionmaker[Session]:
    return sessionmaker(engine, class_=ScopedSession, expire_on_commit=False)


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
