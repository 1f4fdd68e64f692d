"""Sessions over HTTP, for the tests of sessions and of the weekly cap: the week they plan in, and requests to
plan, edit, reschedule and read sessions as a team's mentor (or whoever is named)."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from api.accounts.models import AppUser
from api.enrolments.models import Enrolment
from api.sessions.models import SessionAttendee
from tests.builders import Team, iso, utc
from tests.conftest import DEFAULT_NOW

# Children are enrolled two months before the weeks these tests plan in, a minute apart: their year of planned support
# (52 weeks) covers every session these tests plan or log, from October 2026 to the summer of 2027.
ENROLLED_FROM = DEFAULT_NOW - timedelta(days=60)
# Week 2026-W48, Monday 23 to Sunday 29 November 2026 (GMT).
TUESDAY_EVENING = utc(2026, 11, 24, 17, 30)
WEDNESDAY_MORNING = utc(2026, 11, 25, 10)
THURSDAY_AFTERNOON = utc(2026, 11, 26, 15)
FRIDAY_AFTERNOON = utc(2026, 11, 27, 15)
SATURDAY_MORNING = utc(2026, 11, 28, 10)
# Week 2026-W49.
NEXT_TUESDAY = utc(2026, 12, 1, 10)


def session_body(
    enrolments: list[Enrolment] | Enrolment, start: datetime, *, minutes: int = 60, **fields: Any
) -> dict[str, Any]:
    enrolments = enrolments if isinstance(enrolments, list) else [enrolments]
    body: dict[str, Any] = {
        "enrolment_ids": [str(enrolment.id) for enrolment in enrolments],
        "kind": "group" if len(enrolments) > 1 else "one_to_one",
        "location_category": "community_venue",
        "planned_start_at": iso(start),
        "planned_end_at": iso(start + timedelta(minutes=minutes)),
    }
    return body | fields


def plan(client, team: Team, enrolments, start: datetime, *, by: AppUser | None = None, **fields: Any):
    return client.post("/sessions", json=session_body(enrolments, start, **fields), headers=team.headers(by))


def planned(client, team: Team, enrolments, start: datetime, **fields: Any) -> dict[str, Any]:
    response = plan(client, team, enrolments, start, **fields)
    assert response.status_code == 201, response.json
    return response.json


def patch(client, team: Team, session_id, body: dict[str, Any], *, if_match: str | None, by: AppUser | None = None):
    extra = {"If-Match": if_match} if if_match is not None else {}
    return client.patch(f"/sessions/{session_id}", json=body, headers=team.headers(by, **extra))


def reschedule(client, team: Team, session_id, start: datetime, *, if_match: str | None, **fields: Any):
    extra = {"If-Match": if_match} if if_match is not None else {}
    body = {"planned_start_at": iso(start), "planned_end_at": iso(start + timedelta(hours=1))} | fields
    return client.post(f"/sessions/{session_id}/reschedule", json=body, headers=team.headers(**extra))


def get(client, team: Team, session_id, *, by: AppUser | None = None):
    return client.get(f"/sessions/{session_id}", headers=team.headers(by))


def error(response) -> tuple[int, str]:
    return response.status_code, response.json["reason"]


def sessions_of(db_session: Session, enrolment: Enrolment) -> int:
    return db_session.scalar(
        select(func.count()).select_from(SessionAttendee).where(SessionAttendee.enrolment_id == enrolment.id)
    )


def fill_week(
    client, team: Team, enrolment: Enrolment, starts=(TUESDAY_EVENING, WEDNESDAY_MORNING, THURSDAY_AFTERNOON)
):
    return [planned(client, team, enrolment, start) for start in starts]


def cap_refusal(response) -> dict[str, Any]:
    assert error(response) == (409, "weekly_session_cap_reached")
    return {key: response.json[key] for key in ("week", "sessions_in_week", "max_sessions")}
