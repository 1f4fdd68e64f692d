"""JSON answers are gzipped for clients that accept it (api/compression.py); ETags stay usable for edits."""

from __future__ import annotations

import gzip
import json
from datetime import UTC, datetime, timedelta

import pytest

from api.actors import Role
from tests.builders import admit_child, allocate, auth_headers, make_cohort, make_user


@pytest.fixture()
def team(db_session):
    cohort = make_cohort(db_session, places=10)
    coordinator = make_user(db_session, Role.COORDINATOR, programme_id=cohort.programme_id)
    mentor = make_user(db_session, Role.MENTOR, programme_id=cohort.programme_id)
    enrolments = [admit_child(db_session, cohort=cohort, by=coordinator) for _ in range(4)]
    allocate(db_session, enrolment=enrolments[0], mentor=mentor, by=coordinator)
    return {
        "enrolment": enrolments[0],
        "coordinator": auth_headers(db_session, coordinator),
        "mentor": auth_headers(db_session, mentor),
    }


def session_body(enrolment) -> dict:
    start = datetime(2026, 11, 25, 10, tzinfo=UTC)
    return {
        "enrolment_ids": [str(enrolment.id)],
        "kind": "one_to_one",
        "location_category": "community_venue",
        "planned_start_at": start.isoformat(),
        "planned_end_at": (start + timedelta(hours=1)).isoformat(),
    }


def test_a_json_answer_is_gzipped_for_a_client_that_accepts_it_and_reads_the_same(client, team):
    plain = client.get("/children", headers=team["coordinator"])
    gzipped = client.get("/children", headers=team["coordinator"] | {"Accept-Encoding": "gzip, deflate, br"})

    assert (plain.status_code, gzipped.status_code) == (200, 200)
    assert len(plain.get_data()) > 500
    assert gzipped.headers["Content-Encoding"] == "gzip"
    assert int(gzipped.headers["Content-Length"]) == len(gzipped.get_data()) < len(plain.get_data())
    assert json.loads(gzip.decompress(gzipped.get_data())) == plain.json
    assert "Accept-Encoding" in gzipped.headers["Vary"]
    assert gzipped.headers["Content-Type"] == plain.headers["Content-Type"] == "application/json"


@pytest.mark.parametrize("accept", [None, "identity", "gzip;q=0", "br"])
def test_a_client_that_does_not_accept_gzip_gets_plain_json_and_is_told_it_varies(client, team, accept):
    headers = team["coordinator"] | ({"Accept-Encoding": accept} if accept else {})

    response = client.get("/children", headers=headers)

    assert "Content-Encoding" not in response.headers
    assert response.json and len(response.get_data()) > 500
    assert "Accept-Encoding" in response.headers["Vary"]


def test_small_answers_and_errors_are_sent_plain(client, team):
    accepts = {"Accept-Encoding": "gzip"}

    not_found = client.get("/children/00000000-0000-4000-8000-000000000000", headers=team["mentor"] | accepts)
    refused = client.get("/sync?limit=0", headers=team["mentor"] | accepts)

    assert (not_found.status_code, refused.status_code) == (404, 422)
    assert "Content-Encoding" not in not_found.headers and "Content-Encoding" not in refused.headers
    assert not_found.json["reason"] and refused.json["reason"] == "invalid_request"


def test_a_compressed_record_has_a_weak_etag_of_the_same_version_that_an_edit_accepts(client, team):
    created = client.post("/sessions", json=session_body(team["enrolment"]), headers=team["mentor"])
    assert created.status_code == 201, created.json
    path = f"/sessions/{created.json['id']}"

    plain = client.get(path, headers=team["mentor"])
    gzipped = client.get(path, headers=team["mentor"] | {"Accept-Encoding": "gzip"})
    assert len(plain.get_data()) > 500, "the session answer is big enough to be compressed"
    edited = client.patch(
        path, json={"location_category": "school"}, headers=team["mentor"] | {"If-Match": gzipped.headers["ETag"]}
    )

    assert (plain.headers["ETag"], gzipped.headers["ETag"]) == ('"1"', 'W/"1"')
    assert gzipped.headers["Content-Encoding"] == "gzip"
    assert edited.status_code == 200, edited.json
    assert edited.headers["ETag"] == '"2"'
