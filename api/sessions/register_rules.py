"""A session's register: for each child booked, whether they came (issue 17).

Every session keeps one line per child booked. A one-to-one (or phone) session's line follows the session's status,
as logging always did: completed is attended, did-not-attend is did-not-attend. A group session's lines are the
mentor's register, taken child by child (`PUT /sessions/{id}/register`): logging it completed leaves each line as the
register says, `booked` where it was not taken, so a child is never counted as having come unless someone said so.
Whatever the kind, a session cancelled, rescheduled or not attended at all sets every line to match.

Every count of attendance reads the lines: delivered attendances and children seen (dashboards, the child's
delivery summary, dosage) count `attended`; missed counts `did_not_attend`; the weekly cap counts a line that holds
the child's place (booked, attended, did-not-attend), so a cancelled line frees it.
"""

from __future__ import annotations

import uuid
from collections.abc import Collection, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum

from api.sessions.errors import InvalidSession
from api.sessions.rules import SessionKind, SessionStatus, not_started_problem


class CarerRelationship(StrEnum):
    """How a carer at a session is related to the child they came for (no name is kept)."""

    PARENT = "parent"
    FOSTER_CARER = "foster_carer"
    KINSHIP_CARER = "kinship_carer"
    OTHER_CARER = "other_carer"


class Attendance(StrEnum):
    BOOKED = "booked"  # on the register, not yet marked (or the register was not taken)
    ATTENDED = "attended"
    DID_NOT_ATTEND = "did_not_attend"
    CANCELLED_BY_CHILD = "cancelled_by_child"
    # The mentor or the service called it off for this child, or the whole session was cancelled or moved.
    CANCELLED_BY_SERVICE = "cancelled_by_service"


# A line that holds the child's place in their week (the weekly cap, and "planned" in the delivery figures).
HOLDS_A_PLACE = frozenset({Attendance.BOOKED, Attendance.ATTENDED, Attendance.DID_NOT_ATTEND})
CANCELLED = frozenset({Attendance.CANCELLED_BY_CHILD, Attendance.CANCELLED_BY_SERVICE})

# What a whole session's status makes of every line (a one-to-one's line always; a group's unless completed).
_LINE_FOR_STATUS = {
    SessionStatus.PLANNED: Attendance.BOOKED,
    SessionStatus.COMPLETED: Attendance.ATTENDED,
    SessionStatus.DID_NOT_ATTEND: Attendance.DID_NOT_ATTEND,
    SessionStatus.CANCELLED_BY_CHILD: Attendance.CANCELLED_BY_CHILD,
    SessionStatus.CANCELLED_BY_MENTOR: Attendance.CANCELLED_BY_SERVICE,
    # The session moved: it never happened as planned; its replacement has its own lines.
    SessionStatus.RESCHEDULED: Attendance.CANCELLED_BY_SERVICE,
}

# A register is taken at a session that is still planned (on the day) or was held; not at one cancelled or moved.
REGISTER_OPEN = frozenset({SessionStatus.PLANNED, SessionStatus.COMPLETED})
# How far outside its planned times a child's arrival or leaving may be recorded (an early start, a late finish).
TIME_SLACK = timedelta(hours=3)


def has_register(kind: SessionKind) -> bool:
    """Only a group session's lines are taken one by one; any other session's one line follows its status."""
    return kind is SessionKind.GROUP


def line_for_status(kind: SessionKind, status: SessionStatus) -> Attendance | None:
    """What every line becomes when its session takes `status`, or None where the register as taken stands: a group
    session held (or still planned) keeps its lines, so logging it completed marks no one as attended."""
    if has_register(kind) and status in REGISTER_OPEN:
        return None
    return _LINE_FOR_STATUS[status]


def register_taken(lines: Collection[Attendance]) -> bool:
    return not any(line is Attendance.BOOKED for line in lines)


@dataclass(frozen=True)
class RegisterLine:
    child_id: uuid.UUID
    attendance: Attendance
    arrived_at: datetime | None = None
    left_at: datetime | None = None


def check_register(
    lines: Sequence[RegisterLine],
    *,
    booked_child_ids: Collection[uuid.UUID],
    planned_start_at: datetime,
    planned_end_at: datetime,
) -> None:
    """Each line must be for a child booked at the session, once; times only for a child who came, within reason
    of the session, leaving after arriving. Problems are named by the line's position (`lines.2.child_id`)."""
    problems: dict[str, dict[str, list[str]]] = {}
    seen: set[uuid.UUID] = set()
    earliest, latest = planned_start_at - TIME_SLACK, planned_end_at + TIME_SLACK
    for index, line in enumerate(lines):
        found: dict[str, list[str]] = {}
        if line.child_id not in booked_child_ids:
            found["child_id"] = ["Not a child booked at this session."]
        elif line.child_id in seen:
            found["child_id"] = ["This child has another line in this register."]
        seen.add(line.child_id)
        for field in ("arrived_at", "left_at"):
            moment = getattr(line, field)
            if moment is None:
                continue
            if line.attendance is not Attendance.ATTENDED:
                found[field] = ["Recorded only for a child who attended."]
            elif not earliest <= moment <= latest:
                found[field] = ["Must be within three hours of the session's planned times."]
        if line.arrived_at and line.left_at and line.left_at <= line.arrived_at and "left_at" not in found:
            found["left_at"] = ["Must be after arrived_at."]
        if found:
            problems[str(index)] = found
    if problems:
        raise InvalidSession("Some lines of the register are not valid.", errors={"lines": problems})


# What a line says happened, as the session's status would say it: only a session that has started has either.
_OUTCOME_OF_LINE = {
    Attendance.ATTENDED: SessionStatus.COMPLETED,
    Attendance.DID_NOT_ATTEND: SessionStatus.DID_NOT_ATTEND,
}


def lines_before_start(
    lines: Sequence[RegisterLine], *, planned_start_at: datetime, now: datetime
) -> dict[str, dict[str, list[str]]]:
    """The lines that say a child came or did not before the session started (the same rule as logging a session:
    rules.not_started_problem), by position. Booked and cancelled lines may be taken in advance."""
    problems: dict[str, dict[str, list[str]]] = {}
    for index, line in enumerate(lines):
        outcome = _OUTCOME_OF_LINE.get(line.attendance)
        problem = outcome and not_started_problem(status=outcome, planned_start_at=planned_start_at, now=now)
        if problem:
            problems[str(index)] = {"attendance": [problem]}
    return problems


# The most carers one session records (an introductory session for a series' parents and carers, say).
MAX_CARERS = 40


@dataclass(frozen=True)
class CarerAtSession:
    """A parent or carer who came: how they are related, and the child on the register they came for, if named."""

    relationship: CarerRelationship
    child_id: uuid.UUID | None = None


def check_carers(
    carers: Sequence[CarerAtSession], *, kind: SessionKind, booked_child_ids: Collection[uuid.UUID]
) -> None:
    """Carers come to a group session only, each for a child on its register when one is named. Carers are not
    children: they hold no place and count towards no cap or child figure, which is why they are not lines."""
    if carers and not has_register(kind):
        raise InvalidSession(errors={"carers": ["Only a group session records carers who came."]})
    problems = {
        str(index): {"child_id": ["Not a child on this session's register."]}
        for index, carer in enumerate(carers)
        if carer.child_id is not None and carer.child_id not in booked_child_ids
    }
    if problems:
        raise InvalidSession("Some carers are not valid.", errors={"carers": problems})
