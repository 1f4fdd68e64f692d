"""The pure rules of a session's register: what a session's status makes of its lines, which lines hold a place in
the weekly cap, and what a register sent by a mentor must fit."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

import pytest

from api.sessions.errors import InvalidSession
from api.sessions.register_rules import (
    CANCELLED,
    HOLDS_A_PLACE,
    Attendance,
    RegisterLine,
    check_register,
    line_for_status,
    register_taken,
)
from api.sessions.rules import SessionKind, SessionStatus

START = datetime(2026, 11, 24, 17, 30, tzinfo=UTC)
END = START + timedelta(hours=1)
BOOKED_CHILD, OTHER_CHILD = uuid.uuid4(), uuid.uuid4()


@pytest.mark.parametrize("kind", [SessionKind.ONE_TO_ONE, SessionKind.PHONE_VIDEO])
@pytest.mark.parametrize(
    ("status", "line"),
    [
        (SessionStatus.PLANNED, Attendance.BOOKED),
        (SessionStatus.COMPLETED, Attendance.ATTENDED),
        (SessionStatus.DID_NOT_ATTEND, Attendance.DID_NOT_ATTEND),
        (SessionStatus.CANCELLED_BY_CHILD, Attendance.CANCELLED_BY_CHILD),
        (SessionStatus.CANCELLED_BY_MENTOR, Attendance.CANCELLED_BY_SERVICE),
        (SessionStatus.RESCHEDULED, Attendance.CANCELLED_BY_SERVICE),
    ],
)
def test_a_single_childs_line_follows_the_sessions_status(kind, status, line):
    assert line_for_status(kind, status) is line


@pytest.mark.parametrize("status", [SessionStatus.PLANNED, SessionStatus.COMPLETED])
def test_a_group_session_held_or_planned_keeps_its_register_as_taken(status):
    assert line_for_status(SessionKind.GROUP, status) is None


def test_a_group_session_cancelled_moved_or_not_attended_sets_every_line():
    assert line_for_status(SessionKind.GROUP, SessionStatus.CANCELLED_BY_MENTOR) is Attendance.CANCELLED_BY_SERVICE
    assert line_for_status(SessionKind.GROUP, SessionStatus.DID_NOT_ATTEND) is Attendance.DID_NOT_ATTEND


def test_a_cancelled_line_holds_no_place():
    assert {Attendance.BOOKED, Attendance.ATTENDED, Attendance.DID_NOT_ATTEND} == HOLDS_A_PLACE
    assert not HOLDS_A_PLACE & CANCELLED


def test_a_register_is_taken_once_no_line_is_booked():
    assert register_taken([Attendance.ATTENDED, Attendance.DID_NOT_ATTEND])
    assert not register_taken([Attendance.ATTENDED, Attendance.BOOKED])


def problems(*lines: RegisterLine) -> dict:
    with pytest.raises(InvalidSession) as raised:
        check_register(lines, booked_child_ids={BOOKED_CHILD}, planned_start_at=START, planned_end_at=END)
    assert raised.value.errors is not None
    return raised.value.errors["lines"]


def test_a_good_register_passes():
    check_register(
        [RegisterLine(BOOKED_CHILD, Attendance.ATTENDED, START - timedelta(minutes=5), END + timedelta(minutes=5))],
        booked_child_ids={BOOKED_CHILD},
        planned_start_at=START,
        planned_end_at=END,
    )


def test_each_bad_line_is_named_by_its_position():
    assert problems(
        RegisterLine(BOOKED_CHILD, Attendance.ATTENDED), RegisterLine(OTHER_CHILD, Attendance.ATTENDED)
    ) == {"1": {"child_id": ["Not a child booked at this session."]}}
    assert set(
        problems(RegisterLine(BOOKED_CHILD, Attendance.BOOKED), RegisterLine(BOOKED_CHILD, Attendance.BOOKED))
    ) == {"1"}


def test_times_only_for_a_child_who_came_within_reason_and_in_order():
    assert problems(RegisterLine(BOOKED_CHILD, Attendance.DID_NOT_ATTEND, arrived_at=START))["0"] == {
        "arrived_at": ["Recorded only for a child who attended."]
    }
    assert "left_at" in problems(RegisterLine(BOOKED_CHILD, Attendance.ATTENDED, left_at=END + timedelta(hours=4)))["0"]
    assert problems(RegisterLine(BOOKED_CHILD, Attendance.ATTENDED, arrived_at=END, left_at=START))["0"] == {
        "left_at": ["Must be after arrived_at."]
    }
