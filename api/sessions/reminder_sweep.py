"""The scheduler's reminder sweep: its cost follows what changed, not everything planned (issue 20).

A planned session gets its reminders queued when it enters the 48-hour horizon, once; after that only a change can
alter them. A change to the session itself re-syncs them in its own transaction (record_written, and a pattern's
new sessions); a change elsewhere to who is reminded (a consent, a number, a mentor's mobile or activity, a
programme's reminder times) leaves a note (api/changes, ReminderRecheck) in its transaction. So each sweep syncs only
the sessions that entered the horizon since the last one (after its watermark) and the sessions within the horizon
of what the notes name, then moves the watermark and deletes the notes, in the transaction that queued the
reminders: a sweep that fails leaves both for the next; a second sweep at once waits for the first's lock and finds
nothing left to do. docs/decisions.md, "The reminder sweep follows what changed".
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy.orm import Session

from api.db import use_case
from api.reminders import service as reminders
from api.sessions import queries


@dataclass(frozen=True)
class SweepResult:
    # How many sessions the sweep synced (handed to the reminder policy), and how many reminders it queued.
    examined: int
    queued: int


@use_case
def sweep_reminders(db_session: Session, *, now: datetime) -> SweepResult:
    """Queue the reminders of the sessions entering the horizon since the last sweep, and re-sync those of the
    children, mentors and programmes changed since; one transaction."""
    started = reminders.begin_sweep(db_session, now=now)
    sessions = queries.sessions_to_remind(db_session, now=now, window=started.window)
    queued = sum(reminders.sync_session_reminders(db_session, session=session, now=now) for session in sessions)
    reminders.finish_sweep(db_session, started=started, now=now)
    return SweepResult(examined=len(sessions), queued=queued)
