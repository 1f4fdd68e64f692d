"""Two coordinators adding overlapping shifts to one programme's rota at the same moment: exactly one is added.

On PostgreSQL the guarantee comes from the programme's row lock taken before the overlap check
(api/duty/queries.py::lock_programme_rota); on SQLite from BEGIN IMMEDIATE. Without the lock both requests find
no shift in the way and both are added, so "who is on duty" would have two answers.
"""

from __future__ import annotations

from collections import Counter
from datetime import UTC, datetime, timedelta

from sqlalchemy import func, select

from api.actors import Role
from api.duty.models import DutyShift
from tests.builders import auth_headers, make_programme, make_user

SIMULTANEOUS_REQUESTS = 8
EVENING = datetime(2026, 11, 24, 18, tzinfo=UTC)


def test_simultaneous_overlapping_shifts_add_exactly_one(committed_db_session, live_server):
    programme = make_programme(committed_db_session)
    coordinators = [
        make_user(committed_db_session, Role.COORDINATOR, programme=programme, mobile_e164=f"+44770090020{n}")
        for n in range(SIMULTANEOUS_REQUESTS)
    ]
    headers = [auth_headers(committed_db_session, coordinator) for coordinator in coordinators]
    # Each overlaps every other: all start within the first's 14 hours.
    bodies = [
        {
            "coordinator_user_id": str(coordinator.id),
            "starts_at": (EVENING + timedelta(minutes=10 * n)).isoformat(),
            "ends_at": (EVENING + timedelta(hours=14, minutes=10 * n)).isoformat(),
        }
        for n, coordinator in enumerate(coordinators)
    ]
    committed_db_session.commit()

    answers = live_server.all_at_once(
        [
            lambda headers=headers[n], body=bodies[n]: live_server.request(
                "POST", "/duty-rota", headers=headers, body=body
            )
            for n in range(SIMULTANEOUS_REQUESTS)
        ]
    )

    assert Counter(answer.status for answer in answers) == {201: 1, 409: SIMULTANEOUS_REQUESTS - 1}
    assert {answer.body["reason"] for answer in answers if answer.status == 409} == {"duty_shift_overlaps"}
    committed_db_session.expire_all()
    shifts = committed_db_session.scalar(
        select(func.count()).select_from(DutyShift).where(DutyShift.programme_id == programme.id)
    )
    assert shifts == 1
