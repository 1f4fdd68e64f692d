from __future__ import annotations

from datetime import datetime

from sqlalchemy import String
from sqlalchemy.orm import Mapped, mapped_column

from api.db import Base


class JobHeartbeat(Base):
    """The scheduler's record of each job's latest runs, written as each run starts and ends (scheduling/runner.py),
    so the web app (/readyz, /metrics) and `python -m scheduling --check` can tell a stuck scheduler from a working
    one. It holds no personal data: a failure is kept as the exception's class name only, never its message."""

    __tablename__ = "job_heartbeat"

    job: Mapped[str] = mapped_column(String(64), primary_key=True)
    last_started_at: Mapped[datetime | None]
    last_succeeded_at: Mapped[datetime | None]
    last_failed_at: Mapped[datetime | None]
    # How long the last finished run took, succeeded or failed.
    last_duration_ms: Mapped[int | None]
    # The exception's class name of the last failure ("OperationalError"): nothing from its message.
    last_error: Mapped[str | None] = mapped_column(String(120))
    # Which process ran it last: "host:pid".
    process: Mapped[str | None] = mapped_column(String(120))
