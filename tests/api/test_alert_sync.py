"""The mentor who logged a safeguarding concern sees on their phone (GET /sync) what became of it: acknowledged,
by whom, with the note, then resolved.

Run on a database whose transactions really commit, in the serial pass, as tests/api/test_sync.py explains.
"""

from __future__ import annotations

import pytest

from api.actors import Role
from tests.alerting import concern_body, settle
from tests.builders import admit_child, allocate, auth_headers, make_cohort, make_programme, make_user, utc

pytestmark = pytest.mark.serial


def test_the_mentor_sees_the_alert_acknowledged_and_by_whom_through_sync(committed_db_session, committed_client, clock):
    db_session, client = committed_db_session, committed_client
    programme = make_programme(db_session)
    cohort = make_cohort(db_session, programme=programme)
    coordinator = make_user(db_session, Role.COORDINATOR, programme=programme)
    mentor = make_user(db_session, Role.MENTOR, programme=programme)
    enrolment = admit_child(db_session, cohort=cohort, by=coordinator, now=clock.now())
    allocate(db_session, enrolment=enrolment, mentor=mentor, by=coordinator, now=clock.now())

    def sync(cursor: str | None = None) -> dict:
        settle(db_session)
        response = client.get(
            "/sync",
            query_string={"cursor": cursor} if cursor else {},
            headers=auth_headers(db_session, mentor, now=clock.now()),
        )
        assert response.status_code == 200, response.json
        return response.json

    logged = client.post(
        "/sessions",
        json=concern_body(enrolment, utc(2026, 11, 23, 10)),
        headers=auth_headers(db_session, mentor, now=clock.now()),
    )
    assert logged.status_code == 201, logged.json
    first = sync()
    [raised] = [change for change in first["changes"] if change["type"] == "alert"]
    assert (raised["alert"]["state"], raised["alert"]["acknowledged_by_user_id"]) == ("raised", None)
    clock.advance(minutes=7)

    acknowledged = client.post(
        f"/alerts/{raised['id']}/acknowledge",
        json={"note": "Spoke to the DSL."},
        headers=auth_headers(db_session, coordinator, now=clock.now()),
    )
    assert acknowledged.status_code == 200, acknowledged.json
    second = sync(first["cursor"])

    [change] = [change for change in second["changes"] if change["type"] == "alert"]
    assert (change["id"], change["op"]) == (raised["id"], "upsert")
    alert = change["alert"]
    assert (
        alert["state"],
        alert["acknowledged_by_user_id"],
        alert["acknowledged_at"],
        alert["acknowledgement_note"],
    ) == ("acknowledged", str(coordinator.id), clock.now().isoformat(), "Spoke to the DSL.")
    clock.advance(minutes=30)

    resolved = client.post(
        f"/alerts/{raised['id']}/resolve",
        json={"outcome": "Strategy meeting held."},
        headers=auth_headers(db_session, coordinator, now=clock.now()),
    )
    assert resolved.status_code == 200, resolved.json
    [change] = [change for change in sync(second["cursor"])["changes"] if change["type"] == "alert"]
    assert (change["alert"]["state"], change["alert"]["resolution_note"]) == ("resolved", "Strategy meeting held.")
