"""Caseloads: each enrolled child has one key worker (mentor) at a time; each mentor has a maximum caseload.

Reallocation ends the current allocation and starts a new one, so the history of who supported the child
is kept. A mentor's caseload is the number of children currently allocated to them.
"""

from __future__ import annotations

from enum import StrEnum


class AllocationEndReason(StrEnum):
    REALLOCATED = "reallocated"
    ENROLMENT_ENDED = "enrolment_ended"
    MOVED_COHORT = "moved_cohort"


def has_room(*, caseload: int, max_caseload: int | None) -> bool:
    return max_caseload is not None and caseload < max_caseload
