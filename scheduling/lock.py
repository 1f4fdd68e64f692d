"""One scheduler at a time. A second process started by mistake must do no harm, so it waits here.

PostgreSQL: a session-level advisory lock held on a dedicated connection for the life of the process (it is
released by the server if the process dies). SQLite: an exclusive flock on a file beside the database.
"""

from __future__ import annotations

import fcntl
import os
from typing import IO

from sqlalchemy import Connection, Engine, text

# An arbitrary constant that names "the Reachable scheduler" among advisory locks.
SCHEDULER_LOCK_KEY = 7_304_181_522


class SchedulerLock:
    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self._connection: Connection | None = None
        self._file: IO[str] | None = None

    def try_acquire(self) -> bool:
        if self.engine.dialect.name == "postgresql":
            connection = self.engine.connect()
            acquired = bool(
                connection.execute(text("SELECT pg_try_advisory_lock(:key)"), {"key": SCHEDULER_LOCK_KEY}).scalar()
            )
            connection.commit()
            if acquired:
                self._connection = connection
            else:
                connection.close()
            return acquired
        lock_file = open(self._lock_path(), "a")  # noqa: SIM115 (held open for the life of the process)
        try:
            fcntl.flock(lock_file, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            lock_file.close()
            return False
        self._file = lock_file
        return True

    def release(self) -> None:
        if self._connection is not None:
            self._connection.execute(text("SELECT pg_advisory_unlock(:key)"), {"key": SCHEDULER_LOCK_KEY})
            self._connection.close()
            self._connection = None
        if self._file is not None:
            fcntl.flock(self._file, fcntl.LOCK_UN)
            self._file.close()
            self._file = None

    def _lock_path(self) -> str:
        database = self.engine.url.database
        if not database or database == ":memory:":
            raise RuntimeError("The scheduler needs a file or server database, not an in-memory one.")
        return os.path.abspath(database) + ".scheduler.lock"
