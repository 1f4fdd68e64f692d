from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import Engine, text
from sqlalchemy.exc import SQLAlchemyError

from api import migrate


@dataclass(frozen=True)
class Readiness:
    ready: bool
    database: str
    migrations: str


def check_readiness(engine: Engine, *, database_url: str) -> Readiness:
    """Ready means the database answers and its schema is at the newest migration."""
    try:
        with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
            connection.execute(text("SELECT 1"))
            current = migrate.current_revision(connection)
    except SQLAlchemyError:
        return Readiness(False, database="unreachable", migrations="unknown")
    head = migrate.head_revision(database_url)
    if current != head:
        return Readiness(False, database="ok", migrations=f"at {current or 'nothing'}, head is {head}")
    return Readiness(True, database="ok", migrations="at head")
