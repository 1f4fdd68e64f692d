"""The change log's vocabulary: which kinds of record it names, and what happened to one.

Every change to a record in some caseload is written to the log (`change_event`) in the same transaction as the
change itself; the mentors' phones read it through the sync feed (api/sync), which is why it exists.
"""

from __future__ import annotations

from enum import StrEnum


class EntityType(StrEnum):
    CHILD = "child"
    SESSION = "session"
    PATTERN = "pattern"
    ALERT = "alert"
    MISSING_EPISODE = "missing_episode"
    CHECK_IN = "check_in"
    GOAL = "goal"
    GROUP_SERIES = "group_series"


class ChangeOp(StrEnum):
    UPSERT = "upsert"
    DELETE = "delete"
    ACCESS_GRANTED = "access_granted"
    ACCESS_REVOKED = "access_revoked"
