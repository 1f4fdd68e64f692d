"""The SMS outbox: every message is a row written in the same transaction as what caused it.

From ARCHITECTURE.md and issue 5: nothing is sent inside a request. A message is queued with a key naming what
it is for, so the same message can never be queued twice; the scheduler's dispatcher sends it later (issue 5).
A message's text is made from its template when it is sent, from the records as they are then, so nothing
personal and no link token is stored in the outbox.
"""

from __future__ import annotations

from enum import StrEnum


class MessagePurpose(StrEnum):
    CHECK_IN_LINK = "check_in_link"


class MessageState(StrEnum):
    QUEUED = "queued"


def check_in_link_key(invitation_id: object) -> str:
    return f"check_in_link:{invitation_id}"
