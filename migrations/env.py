from __future__ import annotations

from typing import Any

from alembic import context
from sqlalchemy import pool

import api.models  # noqa: F401  (registers every table on Base.metadata)
from api.db import Base, UtcDateTime, make_engine

config = context.config
target_metadata = Base.metadata


def render_item(type_: str, obj: Any, autogen_context: Any) -> str | bool:
    # Migrations must not import application types: write UtcDateTime as the plain column type it stores.
    if type_ == "type" and isinstance(obj, UtcDateTime):
        return "sa.DateTime(timezone=True)"
    return False


def run_migrations() -> None:
    connection = config.attributes.get("connection")
    if connection is not None:
        _run(connection)
        return
    engine = make_engine(config.get_main_option("sqlalchemy.url") or "", poolclass=pool.NullPool)
    with engine.connect() as connection:
        _run(connection)
    engine.dispose()


def _run(connection: Any) -> None:
    context.configure(
        connection=connection,
        target_metadata=target_metadata,
        compare_type=True,
        render_as_batch=connection.dialect.name == "sqlite",
        render_item=render_item,
    )
    # SQLite's batch migrations copy a table, drop it and rename the copy: with foreign keys enforced, dropping a
    # table other rows reference fails once there is data. Enforcement can only be switched outside a transaction,
    # so it is off for the migration and the references are checked before it commits.
    checks_foreign_keys_itself = connection.dialect.name == "sqlite" and not connection.in_transaction()
    if checks_foreign_keys_itself:
        connection.connection.driver_connection.execute("PRAGMA foreign_keys = OFF")
    try:
        with context.begin_transaction():
            context.run_migrations()
            if checks_foreign_keys_itself:
                broken = connection.exec_driver_sql("PRAGMA foreign_key_check").all()
                if broken:
                    raise RuntimeError(f"the migration would leave rows referring to missing rows: {broken[:5]}")
    finally:
        if checks_foreign_keys_itself:
            connection.connection.driver_connection.execute("PRAGMA foreign_keys = ON")


run_migrations()
