"""Missing episodes and return conversations over HTTP.

After every return from missing a return conversation should be offered within 72 hours of the return (not
of the report). Mentors record episodes for their own caseload; coordinators see who is due or overdue;
commissioners see only the rate, with small numbers suppressed.
"""

import json
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from unittest.mock import ANY

import pytest
from sqlalchemy import func, select

from api.accounts.models import AppUser
from api.actors import Role
from api.audit.models import AuditEvent
from api.changes.models import ChangeEvent
from api.children.models import Child
from api.missing import service as missing_service
from api.missing.models import MissingEpisode, ReturnConversation
from api.missing.rules import ConversationOutcome, MissingSource
from api.programmes.models import Cohort, Programme
from tests.builders import actor_for, admit_child, allocate, make_cohort, make_programme, make_user
from tests.conftest import DEFAULT_NOW

NOW_JSON = "2026-11-23T14:00:00+00:00"
HOURS_72 = timedelta(hours=72)

CHILD_NOT_FOUND = {
    "code": 404,
    "request_id": ANY,
    "status": "Not Found",
    "message": "No such child in your caseload.",
    "reason": "child_not_found",
}
EPISODE_NOT_FOUND = {
    "code": 404,
    "request_id": ANY,
    "status": "Not Found",
    "message": "No such missing episode in your caseload.",
    "reason": "missing_episode_not_found",
}
PROGRAMME_NOT_FOUND = {
    "code": 404,
    "request_id": ANY,
    "status": "Not Found",
    "message": "No such programme.",
    "reason": "programme_not_found",
}
FORBIDDEN = {
    "code": 403,
    "request_id": ANY,
    "status": "Forbidden",
    "message": "Your role may not do this.",
    "reason": "forbidden",
}


def iso(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat()


def count_rows(db_session, model, *where):
    return db_session.scalar(select(func.count()).select_from(model).where(*where))


def audited(db_session, action):
    """(record type, record id, child id, actor) for each audit row of the action."""
    return [
        (event.record_type, event.record_id, event.child_id, event.actor_user_id)
        for event in db_session.scalars(select(AuditEvent).where(AuditEvent.action == action))
    ]


def change_events(db_session, entity_id):
    return db_session.scalars(
        select(ChangeEvent).where(ChangeEvent.entity_id == entity_id).order_by(ChangeEvent.id)
    ).all()


@dataclass
class World:
    """One programme: a coordinator, a mentor with one child, another mentor with another, and a commissioner."""

    programme: Programme
    cohort: Cohort
    coordinator: AppUser
    mentor: AppUser
    other_mentor: AppUser
    commissioner: AppUser
    child: Child  # allocated to mentor
    theirs: Child  # allocated to other_mentor


@pytest.fixture()
def world(db_session):
    programme = make_programme(db_session)
    cohort = make_cohort(db_session, programme=programme, places=10)
    coordinator = make_user(db_session, Role.COORDINATOR, programme=programme)
    mentor = make_user(db_session, Role.MENTOR, programme=programme)
    other_mentor = make_user(db_session, Role.MENTOR, programme=programme)
    mine = admit_child(db_session, cohort=cohort, by=coordinator)
    allocate(db_session, enrolment=mine, mentor=mentor, by=coordinator)
    theirs = admit_child(db_session, cohort=cohort, by=coordinator)
    allocate(db_session, enrolment=theirs, mentor=other_mentor, by=coordinator)
    return World(
        programme=programme,
        cohort=cohort,
        coordinator=coordinator,
        mentor=mentor,
        other_mentor=other_mentor,
        commissioner=make_user(db_session, Role.COMMISSIONER, programme=programme),
        child=db_session.get(Child, mine.child_id),
        theirs=db_session.get(Child, theirs.child_id),
    )


def record_episode(db_session, *, child, by, reported_at, returned_at=None, now=DEFAULT_NOW):
    return missing_service.record_missing_episode(
        db_session,
        actor=actor_for(by),
        child_id=child.id,
        reported_at=reported_at,
        returned_at=returned_at,
        source=MissingSource.POLICE,
        now=now,
    )


def record_conversation(db_session, *, episode, by, completed_at=None, outcome=None, now=DEFAULT_NOW):
    assert episode.returned_at is not None
    outcome = outcome or (ConversationOutcome.COMPLETED if completed_at else ConversationOutcome.OFFERED)
    return missing_service.record_return_conversation(
        db_session,
        actor=actor_for(by),
        episode_id=episode.id,
        outcome=outcome,
        offered_at=episode.returned_at,
        completed_at=completed_at,
        declined_reason="Did not want to talk." if outcome is ConversationOutcome.DECLINED else None,
        held_by=None,
        independent=True,
        now=now,
    )


def episode_payload(**overrides):
    return {"reported_at": "2026-11-22T21:15:00+00:00", "source": "police"} | overrides


def conversation_payload(**overrides):
    return {
        "outcome": "completed",
        "offered_at": "2026-11-23T10:00:00+00:00",
        "completed_at": "2026-11-23T12:00:00+00:00",
        "held_by": "  Safe Return Service  ",
        "independent": True,
    } | overrides


# Recording an episode


def test_a_mentor_records_an_episode_for_a_child_on_their_caseload(client, db_session, world, headers_for):
    response = client.post(
        f"/children/{world.child.id}/missing-episodes",
        json=episode_payload(returned_at="2026-11-23T08:00:00+01:00", source="carer"),
        headers=headers_for(world.mentor),
    )

    assert response.status_code == 201
    assert response.headers["ETag"] == '"1"'
    assert response.json == {
        "id": ANY,
        "child_id": str(world.child.id),
        "reported_at": "2026-11-22T21:15:00+00:00",
        "returned_at": "2026-11-23T07:00:00+00:00",
        "source": "carer",
        "recorded_by_user_id": str(world.mentor.id),
        "created_at": NOW_JSON,
        "updated_at": NOW_JSON,
        "version": 1,
        "return_conversation_due_at": "2026-11-26T07:00:00+00:00",
        "overdue": False,
        "return_conversation": None,
    }
    episode = db_session.get(MissingEpisode, uuid.UUID(response.json["id"]))
    assert (episode.child_id, episode.source) == (world.child.id, MissingSource.CARER)


def test_an_episode_still_open_has_no_conversation_due(client, world, headers_for):
    response = client.post(
        f"/children/{world.child.id}/missing-episodes", json=episode_payload(), headers=headers_for(world.coordinator)
    )

    assert response.status_code == 201
    assert (response.json["returned_at"], response.json["return_conversation_due_at"], response.json["overdue"]) == (
        None,
        None,
        False,
    )


def test_recording_an_episode_is_audited_and_sent_to_the_phones(client, db_session, world, headers_for):
    response = client.post(
        f"/children/{world.child.id}/missing-episodes", json=episode_payload(), headers=headers_for(world.mentor)
    )

    episode_id = uuid.UUID(response.json["id"])
    [event] = db_session.scalars(select(AuditEvent).where(AuditEvent.record_id == episode_id)).all()
    assert (event.action, event.record_type, event.child_id, event.actor_user_id, event.actor_role) == (
        "missing_episode.create",
        "missing_episode",
        world.child.id,
        world.mentor.id,
        Role.MENTOR,
    )
    [change] = change_events(db_session, episode_id)
    assert (change.entity_type, change.child_id, change.op, change.occurred_at) == (
        "missing_episode",
        world.child.id,
        "upsert",
        DEFAULT_NOW,
    )


def test_an_episode_reported_in_the_future_is_refused(client, db_session, world, headers_for):
    response = client.post(
        f"/children/{world.child.id}/missing-episodes",
        json=episode_payload(reported_at="2026-11-23T14:00:01+00:00"),
        headers=headers_for(world.mentor),
    )

    assert response.status_code == 422
    assert response.json == {
        "code": 422,
        "request_id": ANY,
        "status": "Unprocessable Entity",
        "message": "Check when the child went missing and when they returned.",
        "reason": "implausible_episode_times",
        "errors": {"reported_at": ["A missing episode cannot be reported in the future."]},
    }
    assert count_rows(db_session, MissingEpisode) == 0
    assert count_rows(db_session, ChangeEvent, ChangeEvent.entity_type == "missing_episode") == 0


def test_a_return_before_the_report_is_refused(client, db_session, world, headers_for):
    response = client.post(
        f"/children/{world.child.id}/missing-episodes",
        json=episode_payload(returned_at="2026-11-22T21:14:59+00:00"),
        headers=headers_for(world.mentor),
    )

    assert response.status_code == 422
    assert response.json["reason"] == "implausible_episode_times"
    assert response.json["errors"] == {"returned_at": ["A child cannot return before they were reported missing."]}
    assert count_rows(db_session, MissingEpisode) == 0


def test_a_return_in_the_future_is_refused(client, world, headers_for):
    response = client.post(
        f"/children/{world.child.id}/missing-episodes",
        json=episode_payload(returned_at="2026-11-23T15:00:00+00:00"),
        headers=headers_for(world.mentor),
    )

    assert response.status_code == 422
    assert response.json["errors"] == {"returned_at": ["A return cannot be in the future."]}


@pytest.mark.parametrize(
    ("payload", "field"),
    [
        (episode_payload(reported_at="2026-11-22T21:15:00"), "reported_at"),  # no offset: ambiguous
        (episode_payload(source="neighbour"), "source"),
        ({"source": "police"}, "reported_at"),
    ],
)
def test_a_malformed_episode_is_refused_by_field(client, world, headers_for, payload, field):
    response = client.post(
        f"/children/{world.child.id}/missing-episodes", json=payload, headers=headers_for(world.mentor)
    )

    assert response.status_code == 422
    assert response.json["reason"] == "invalid_request"
    assert list(response.json["errors"]) == [field]


# Idempotent creates (phones retry on bad networks)


def test_a_retried_create_with_the_same_key_replays_the_first_answer_and_writes_once(
    client, db_session, world, headers_for
):
    headers = headers_for(world.mentor, **{"Idempotency-Key": "episode-7f3a"})
    url = f"/children/{world.child.id}/missing-episodes"

    first = client.post(url, json=episode_payload(), headers=headers)
    retry = client.post(url, json=episode_payload(), headers=headers)

    assert (first.status_code, retry.status_code) == (201, 201)
    assert retry.json == first.json
    assert retry.headers["Idempotent-Replayed"] == "true"
    assert count_rows(db_session, MissingEpisode) == 1
    assert len(change_events(db_session, uuid.UUID(first.json["id"]))) == 1
    assert len(audited(db_session, "missing_episode.create")) == 1


def test_a_key_reused_for_a_different_episode_is_refused(client, db_session, world, headers_for):
    headers = headers_for(world.mentor, **{"Idempotency-Key": "episode-7f3a"})
    url = f"/children/{world.child.id}/missing-episodes"

    client.post(url, json=episode_payload(), headers=headers)
    reused = client.post(url, json=episode_payload(source="school"), headers=headers)

    assert reused.status_code == 422
    assert reused.json["reason"] == "idempotency_key_reused"
    assert count_rows(db_session, MissingEpisode) == 1


# Who may see and record episodes


def test_a_mentor_cannot_record_or_list_episodes_for_a_child_not_allocated_to_them(
    client, db_session, world, headers_for
):
    headers = headers_for(world.mentor)
    record_episode(db_session, child=world.theirs, by=world.coordinator, reported_at=DEFAULT_NOW - HOURS_72)

    responses = [
        client.post(f"/children/{world.theirs.id}/missing-episodes", json=episode_payload(), headers=headers),
        client.get(f"/children/{world.theirs.id}/missing-episodes", headers=headers),
        client.post(f"/children/{uuid.uuid4()}/missing-episodes", json=episode_payload(), headers=headers),
        client.get(f"/children/{uuid.uuid4()}/missing-episodes", headers=headers),
    ]

    assert [(response.status_code, response.json) for response in responses] == [(404, CHILD_NOT_FOUND)] * 4
    assert count_rows(db_session, MissingEpisode) == 1


def test_another_mentors_episode_looks_exactly_like_one_that_does_not_exist(client, db_session, world, headers_for):
    theirs = record_episode(
        db_session,
        child=world.theirs,
        by=world.coordinator,
        reported_at=DEFAULT_NOW - timedelta(hours=5),
        returned_at=DEFAULT_NOW - timedelta(hours=1),
    )
    headers = headers_for(world.mentor, **{"If-Match": '"1"'})

    for episode_id in (theirs.id, uuid.uuid4()):
        responses = [
            client.get(f"/missing-episodes/{episode_id}", headers=headers),
            client.patch(
                f"/missing-episodes/{episode_id}", json={"returned_at": "2026-11-23T13:00:00+00:00"}, headers=headers
            ),
            client.put(
                f"/missing-episodes/{episode_id}/return-conversation", json=conversation_payload(), headers=headers
            ),
        ]
        assert [(response.status_code, response.json) for response in responses] == [(404, EPISODE_NOT_FOUND)] * 3
    db_session.expire_all()
    assert db_session.get(MissingEpisode, theirs.id).version == 1
    assert count_rows(db_session, ReturnConversation) == 0


def test_a_coordinator_of_another_programme_gets_not_found(client, db_session, world, headers_for):
    stranger = make_user(db_session, Role.COORDINATOR, programme=make_programme(db_session))
    episode = record_episode(db_session, child=world.child, by=world.coordinator, reported_at=DEFAULT_NOW)
    headers = headers_for(stranger)

    assert client.get(f"/children/{world.child.id}/missing-episodes", headers=headers).json == CHILD_NOT_FOUND
    assert client.get(f"/missing-episodes/{episode.id}", headers=headers).json == EPISODE_NOT_FOUND
    listing = client.get(f"/programmes/{world.programme.id}/return-conversations", headers=headers)
    assert (listing.status_code, listing.json) == (404, PROGRAMME_NOT_FOUND)


def test_an_admin_records_and_reads_episodes_in_any_programme(client, db_session, world, headers_for):
    headers = headers_for(make_user(db_session, Role.ADMIN))

    created = client.post(f"/children/{world.child.id}/missing-episodes", json=episode_payload(), headers=headers)
    listed = client.get(f"/children/{world.child.id}/missing-episodes", headers=headers)

    assert created.status_code == 201
    assert [episode["id"] for episode in listed.json] == [created.json["id"]]


def test_commissioners_are_refused_every_child_level_operation(client, db_session, world, headers_for):
    episode = record_episode(
        db_session, child=world.child, by=world.coordinator, reported_at=DEFAULT_NOW, returned_at=DEFAULT_NOW
    )
    headers = headers_for(world.commissioner, **{"If-Match": '"1"'})

    responses = [
        client.post(f"/children/{world.child.id}/missing-episodes", json=episode_payload(), headers=headers),
        client.get(f"/children/{world.child.id}/missing-episodes", headers=headers),
        client.get(f"/missing-episodes/{episode.id}", headers=headers),
        client.patch(f"/missing-episodes/{episode.id}", json={"source": "family"}, headers=headers),
        client.put(f"/missing-episodes/{episode.id}/return-conversation", json=conversation_payload(), headers=headers),
        client.get(f"/programmes/{world.programme.id}/return-conversations", headers=headers),
    ]

    assert [(response.status_code, response.json) for response in responses] == [(403, FORBIDDEN)] * 6


def test_mentors_cannot_list_a_programmes_return_conversations_or_see_its_rate(client, world, headers_for):
    headers = headers_for(world.mentor)

    listing = client.get(f"/programmes/{world.programme.id}/return-conversations", headers=headers)
    summary = client.get(
        f"/programmes/{world.programme.id}/return-conversations/summary?since=2026-11-01&until=2026-11-23",
        headers=headers,
    )

    assert [(listing.status_code, listing.json), (summary.status_code, summary.json)] == [(403, FORBIDDEN)] * 2


# A child's episodes and the 72-hour clock


def test_a_childs_episodes_are_listed_newest_first_with_their_conversations(client, db_session, world, headers_for):
    older = record_episode(
        db_session,
        child=world.child,
        by=world.mentor,
        reported_at=DEFAULT_NOW - timedelta(days=10),
        returned_at=DEFAULT_NOW - timedelta(days=9),
    )
    conversation = record_conversation(
        db_session, episode=older, by=world.mentor, completed_at=DEFAULT_NOW - timedelta(days=8)
    )
    newer = record_episode(db_session, child=world.child, by=world.mentor, reported_at=DEFAULT_NOW - timedelta(hours=3))
    record_episode(db_session, child=world.theirs, by=world.coordinator, reported_at=DEFAULT_NOW)

    response = client.get(f"/children/{world.child.id}/missing-episodes", headers=headers_for(world.mentor))

    assert response.status_code == 200
    assert [episode["id"] for episode in response.json] == [str(newer.id), str(older.id)]
    assert json.loads(response.headers["X-Pagination"])["total"] == 2
    assert response.json[1]["return_conversation"] == {
        "id": str(conversation.id),
        "missing_episode_id": str(older.id),
        "outcome": "completed",
        "offered_at": "2026-11-14T14:00:00+00:00",
        "completed_at": "2026-11-15T14:00:00+00:00",
        "declined_reason": None,
        "held_by": None,
        "independent": True,
        "recorded_by_user_id": str(world.mentor.id),
        "recorded_at": NOW_JSON,
    }
    assert response.json[1]["overdue"] is False
    assert response.json[0]["return_conversation"] is None


def test_listing_a_childs_episodes_is_audited_once_per_episode(client, db_session, world, headers_for):
    first = record_episode(db_session, child=world.child, by=world.mentor, reported_at=DEFAULT_NOW - HOURS_72)
    second = record_episode(db_session, child=world.child, by=world.mentor, reported_at=DEFAULT_NOW)

    client.get(f"/children/{world.child.id}/missing-episodes", headers=headers_for(world.coordinator))

    listed = db_session.scalars(select(AuditEvent).where(AuditEvent.action == "missing_episode.list")).all()
    assert sorted((event.record_id, event.child_id, event.actor_user_id) for event in listed) == sorted(
        [(first.id, world.child.id, world.coordinator.id), (second.id, world.child.id, world.coordinator.id)]
    )


def test_the_clock_starts_at_the_return_not_at_the_report(client, db_session, world, headers_for):
    # Reported five days ago, back 71 hours ago: long past 72 hours since the report, but not since the return.
    record_episode(
        db_session,
        child=world.child,
        by=world.mentor,
        reported_at=DEFAULT_NOW - timedelta(days=5),
        returned_at=DEFAULT_NOW - timedelta(hours=71),
    )

    [episode] = client.get(f"/children/{world.child.id}/missing-episodes", headers=headers_for(world.mentor)).json

    assert episode["return_conversation_due_at"] == "2026-11-23T15:00:00+00:00"
    assert episode["overdue"] is False


def test_exactly_72_hours_after_the_return_is_still_within_time_and_a_second_later_is_overdue(
    client, db_session, world, clock, headers_for
):
    record_episode(db_session, child=world.child, by=world.mentor, reported_at=DEFAULT_NOW, returned_at=DEFAULT_NOW)
    url = f"/children/{world.child.id}/missing-episodes"

    clock.advance(hours=72)
    [at_72_hours] = client.get(url, headers=headers_for(world.mentor)).json
    clock.advance(seconds=1)
    [after] = client.get(url, headers=headers_for(world.mentor)).json

    assert (at_72_hours["return_conversation_due_at"], at_72_hours["overdue"]) == ("2026-11-26T14:00:00+00:00", False)
    assert after["overdue"] is True


def test_a_child_not_yet_back_is_never_overdue(client, db_session, world, clock, headers_for):
    record_episode(db_session, child=world.child, by=world.mentor, reported_at=DEFAULT_NOW)
    clock.advance(days=30)

    [episode] = client.get(f"/children/{world.child.id}/missing-episodes", headers=headers_for(world.mentor)).json

    assert (episode["return_conversation_due_at"], episode["overdue"]) == (None, False)


def test_a_conversation_completed_late_is_no_longer_overdue(client, db_session, world, clock, headers_for):
    episode = record_episode(
        db_session, child=world.child, by=world.mentor, reported_at=DEFAULT_NOW, returned_at=DEFAULT_NOW
    )
    clock.advance(hours=100)
    record_conversation(db_session, episode=episode, by=world.mentor, completed_at=clock.now(), now=clock.now())

    [listed] = client.get(f"/children/{world.child.id}/missing-episodes", headers=headers_for(world.mentor)).json

    assert listed["overdue"] is False


# Recording the return and correcting an episode (If-Match)


def test_reading_an_episode_gives_its_version_as_the_etag(client, db_session, world, headers_for):
    episode = record_episode(db_session, child=world.child, by=world.mentor, reported_at=DEFAULT_NOW)

    response = client.get(f"/missing-episodes/{episode.id}", headers=headers_for(world.mentor))

    assert response.status_code == 200
    assert response.headers["ETag"] == '"1"'
    assert response.json["id"] == str(episode.id)
    assert audited(db_session, "missing_episode.read") == [
        ("missing_episode", episode.id, world.child.id, world.mentor.id)
    ]


def test_recording_the_return_bumps_the_version_and_starts_the_clock(client, db_session, world, clock, headers_for):
    episode = record_episode(db_session, child=world.child, by=world.mentor, reported_at=DEFAULT_NOW)
    clock.advance(hours=20)

    response = client.patch(
        f"/missing-episodes/{episode.id}",
        json={"returned_at": "2026-11-24T09:00:00+00:00"},
        headers=headers_for(world.mentor, **{"If-Match": '"1"'}),
    )

    assert response.status_code == 200
    assert response.headers["ETag"] == '"2"'
    assert response.json | {"id": None} == {
        "id": None,
        "child_id": str(world.child.id),
        "reported_at": NOW_JSON,
        "returned_at": "2026-11-24T09:00:00+00:00",
        "source": "police",
        "recorded_by_user_id": str(world.mentor.id),
        "created_at": NOW_JSON,
        "updated_at": "2026-11-24T10:00:00+00:00",
        "version": 2,
        "return_conversation_due_at": "2026-11-27T09:00:00+00:00",
        "overdue": False,
        "return_conversation": None,
    }
    assert audited(db_session, "missing_episode.update") == [
        ("missing_episode", episode.id, world.child.id, world.mentor.id)
    ]
    changes = change_events(db_session, episode.id)
    assert [change.occurred_at for change in changes] == [DEFAULT_NOW, clock.now()]


def test_a_weak_etag_is_accepted_as_if_match(client, db_session, world, headers_for):
    episode = record_episode(db_session, child=world.child, by=world.mentor, reported_at=DEFAULT_NOW)

    response = client.patch(
        f"/missing-episodes/{episode.id}",
        json={"source": "family"},
        headers=headers_for(world.coordinator, **{"If-Match": 'W/"1"'}),
    )

    assert (response.status_code, response.json["source"], response.json["version"]) == (200, "family", 2)


def test_an_edit_based_on_a_stale_version_is_refused(client, db_session, world, headers_for):
    episode = record_episode(db_session, child=world.child, by=world.mentor, reported_at=DEFAULT_NOW)
    url = f"/missing-episodes/{episode.id}"
    client.patch(url, json={"source": "family"}, headers=headers_for(world.coordinator, **{"If-Match": '"1"'}))

    response = client.patch(
        url, json={"returned_at": NOW_JSON}, headers=headers_for(world.mentor, **{"If-Match": '"1"'})
    )

    assert response.status_code == 412
    assert response.json == {
        "code": 412,
        "request_id": ANY,
        "status": "Precondition Failed",
        "message": "This record changed since you read it: fetch it again and reapply your change.",
        "reason": "stale_version",
        "current_version": 2,
    }
    db_session.expire_all()
    stored = db_session.get(MissingEpisode, episode.id)
    assert (stored.returned_at, stored.version, stored.source) == (None, 2, MissingSource.FAMILY)
    assert len(change_events(db_session, episode.id)) == 2


def test_an_edit_without_if_match_is_refused(client, db_session, world, headers_for):
    episode = record_episode(db_session, child=world.child, by=world.mentor, reported_at=DEFAULT_NOW)

    response = client.patch(
        f"/missing-episodes/{episode.id}", json={"returned_at": NOW_JSON}, headers=headers_for(world.mentor)
    )

    assert response.status_code == 428
    assert response.json == {
        "code": 428,
        "request_id": ANY,
        "status": "Precondition Required",
        "message": "Send If-Match with the ETag you last read.",
        "reason": "if_match_required",
    }
    db_session.expire_all()
    assert db_session.get(MissingEpisode, episode.id).version == 1


def test_an_if_match_that_is_not_a_version_is_stale(client, db_session, world, headers_for):
    episode = record_episode(db_session, child=world.child, by=world.mentor, reported_at=DEFAULT_NOW)

    response = client.patch(
        f"/missing-episodes/{episode.id}",
        json={"returned_at": NOW_JSON},
        headers=headers_for(world.mentor, **{"If-Match": '"abc"'}),
    )

    assert (response.status_code, response.json["reason"]) == (412, "stale_version")


def test_a_correction_that_puts_the_return_before_the_report_is_refused(client, db_session, world, headers_for):
    episode = record_episode(
        db_session, child=world.child, by=world.mentor, reported_at=DEFAULT_NOW - timedelta(hours=4)
    )

    response = client.patch(
        f"/missing-episodes/{episode.id}",
        json={"returned_at": "2026-11-23T09:00:00+00:00"},
        headers=headers_for(world.mentor, **{"If-Match": '"1"'}),
    )

    assert response.status_code == 422
    assert response.json["reason"] == "implausible_episode_times"
    assert response.json["errors"] == {"returned_at": ["A child cannot return before they were reported missing."]}
    db_session.expire_all()
    assert db_session.get(MissingEpisode, episode.id).version == 1


def test_moving_the_return_after_its_conversation_was_offered_is_refused(client, db_session, world, headers_for):
    episode = record_episode(
        db_session,
        child=world.child,
        by=world.mentor,
        reported_at=DEFAULT_NOW - timedelta(hours=10),
        returned_at=DEFAULT_NOW - timedelta(hours=5),
    )
    record_conversation(db_session, episode=episode, by=world.mentor)

    response = client.patch(
        f"/missing-episodes/{episode.id}",
        json={"returned_at": "2026-11-23T12:00:00+00:00"},
        headers=headers_for(world.mentor, **{"If-Match": '"1"'}),
    )

    assert response.status_code == 422
    assert response.json["errors"] == {"returned_at": ["The return conversation was offered before this return."]}


def test_an_empty_edit_is_refused(client, db_session, world, headers_for):
    episode = record_episode(db_session, child=world.child, by=world.mentor, reported_at=DEFAULT_NOW)

    response = client.patch(
        f"/missing-episodes/{episode.id}", json={}, headers=headers_for(world.mentor, **{"If-Match": '"1"'})
    )

    assert response.status_code == 422
    assert response.json["errors"] == {"_schema": ["Send at least one field to change."]}


# The return conversation


def test_a_conversation_cannot_be_recorded_before_the_child_is_back(client, db_session, world, headers_for):
    episode = record_episode(db_session, child=world.child, by=world.mentor, reported_at=DEFAULT_NOW)

    response = client.put(
        f"/missing-episodes/{episode.id}/return-conversation",
        json=conversation_payload(),
        headers=headers_for(world.mentor),
    )

    assert response.status_code == 409
    assert response.json == {
        "code": 409,
        "request_id": ANY,
        "status": "Conflict",
        "message": "Record the child's return before their return conversation.",
        "reason": "child_not_returned",
    }
    assert count_rows(db_session, ReturnConversation) == 0


def test_a_mentor_records_a_completed_conversation(client, db_session, world, headers_for):
    episode = record_episode(
        db_session,
        child=world.child,
        by=world.mentor,
        reported_at=DEFAULT_NOW - timedelta(days=1),
        returned_at=datetime(2026, 11, 23, 9, 0, tzinfo=UTC),
    )

    response = client.put(
        f"/missing-episodes/{episode.id}/return-conversation",
        json=conversation_payload(),
        headers=headers_for(world.mentor),
    )

    assert response.status_code == 200
    assert response.json == {
        "id": ANY,
        "missing_episode_id": str(episode.id),
        "outcome": "completed",
        "offered_at": "2026-11-23T10:00:00+00:00",
        "completed_at": "2026-11-23T12:00:00+00:00",
        "declined_reason": None,
        "held_by": "Safe Return Service",
        "independent": True,
        "recorded_by_user_id": str(world.mentor.id),
        "recorded_at": NOW_JSON,
    }
    assert audited(db_session, "return_conversation.record") == [
        ("return_conversation", uuid.UUID(response.json["id"]), world.child.id, world.mentor.id)
    ]
    assert len(change_events(db_session, episode.id)) == 2
    [listed] = client.get(f"/children/{world.child.id}/missing-episodes", headers=headers_for(world.mentor)).json
    assert listed["return_conversation"]["id"] == response.json["id"]


def test_recording_the_conversation_again_replaces_it(client, db_session, world, headers_for):
    episode = record_episode(
        db_session, child=world.child, by=world.mentor, reported_at=DEFAULT_NOW - timedelta(days=1),
        returned_at=datetime(2026, 11, 23, 9, 0, tzinfo=UTC),
    )  # fmt: skip
    url = f"/missing-episodes/{episode.id}/return-conversation"
    offered = client.put(
        url, json=conversation_payload(outcome="offered", completed_at=None), headers=headers_for(world.mentor)
    )

    declined = client.put(
        url,
        json=conversation_payload(outcome="declined", completed_at=None, declined_reason="Wants to talk to mum first."),
        headers=headers_for(world.coordinator),
    )

    assert (offered.status_code, declined.status_code) == (200, 200)
    assert declined.json["id"] == offered.json["id"]
    assert (declined.json["outcome"], declined.json["declined_reason"], declined.json["recorded_by_user_id"]) == (
        "declined",
        "Wants to talk to mum first.",
        str(world.coordinator.id),
    )
    assert count_rows(db_session, ReturnConversation) == 1


@pytest.mark.parametrize(
    ("overrides", "errors"),
    [
        ({"completed_at": None}, {"completed_at": ["Say when a completed conversation was held."]}),
        ({"outcome": "declined", "completed_at": None}, {"declined_reason": ["Say why the child declined."]}),
        (
            {"outcome": "offered"},
            {"completed_at": ["Only a completed conversation has a completion time."]},
        ),
        (
            {"offered_at": "2026-11-23T08:59:00+00:00"},
            {"offered_at": ["A return conversation is offered after the child's return."]},
        ),
    ],
)
def test_an_implausible_conversation_is_refused_by_field(client, db_session, world, headers_for, overrides, errors):
    episode = record_episode(
        db_session,
        child=world.child,
        by=world.mentor,
        reported_at=DEFAULT_NOW - timedelta(days=1),
        returned_at=datetime(2026, 11, 23, 9, 0, tzinfo=UTC),
    )

    response = client.put(
        f"/missing-episodes/{episode.id}/return-conversation",
        json=conversation_payload(**overrides),
        headers=headers_for(world.mentor),
    )

    assert response.status_code == 422
    assert response.json == {
        "code": 422,
        "request_id": ANY,
        "status": "Unprocessable Entity",
        "message": "Check the return conversation's outcome and times.",
        "reason": "implausible_return_conversation",
        "errors": errors,
    }
    assert count_rows(db_session, ReturnConversation) == 0


def test_a_conversation_must_say_whether_it_was_independent(client, db_session, world, headers_for):
    episode = record_episode(
        db_session, child=world.child, by=world.mentor, reported_at=DEFAULT_NOW, returned_at=DEFAULT_NOW
    )
    payload = conversation_payload()
    del payload["independent"]

    response = client.put(
        f"/missing-episodes/{episode.id}/return-conversation", json=payload, headers=headers_for(world.mentor)
    )

    assert response.status_code == 422
    assert response.json["errors"] == {"independent": ["Missing data for required field."]}


# Who is due and overdue, for coordinators


@pytest.fixture()
def outstanding(db_session, world):
    """Returns in every state relative to DEFAULT_NOW, plus one in another programme."""
    hours_ago = lambda hours: DEFAULT_NOW - timedelta(hours=hours)  # noqa: E731
    overdue = record_episode(
        db_session, child=world.child, by=world.coordinator, reported_at=hours_ago(90), returned_at=hours_ago(80)
    )
    offered_only = record_episode(
        db_session, child=world.theirs, by=world.coordinator, reported_at=hours_ago(75), returned_at=hours_ago(73)
    )
    record_conversation(db_session, episode=offered_only, by=world.coordinator)
    at_72_hours = record_episode(
        db_session, child=world.theirs, by=world.coordinator, reported_at=hours_ago(72), returned_at=hours_ago(72)
    )
    due = record_episode(
        db_session, child=world.child, by=world.coordinator, reported_at=hours_ago(12), returned_at=hours_ago(10)
    )
    completed = record_episode(
        db_session, child=world.child, by=world.coordinator, reported_at=hours_ago(50), returned_at=hours_ago(40)
    )
    record_conversation(db_session, episode=completed, by=world.coordinator, completed_at=hours_ago(30))
    record_episode(db_session, child=world.child, by=world.coordinator, reported_at=hours_ago(2))  # not back
    elsewhere = make_cohort(db_session)
    stranger = admit_child(db_session, cohort=elsewhere)
    other_programme = db_session.get(Programme, elsewhere.programme_id)
    record_episode(
        db_session,
        child=db_session.get(Child, stranger.child_id),
        by=make_user(db_session, Role.COORDINATOR, programme=other_programme),
        reported_at=hours_ago(100),
        returned_at=hours_ago(99),
    )
    return {"overdue": overdue, "offered_only": offered_only, "at_72_hours": at_72_hours, "due": due}


def test_coordinators_see_overdue_return_conversations_longest_waiting_first(
    client, db_session, world, outstanding, headers_for
):
    response = client.get(
        f"/programmes/{world.programme.id}/return-conversations?state=overdue", headers=headers_for(world.coordinator)
    )

    assert response.status_code == 200
    assert response.json == [
        {
            "missing_episode_id": str(outstanding["overdue"].id),
            "child_id": str(world.child.id),
            "child_reference": world.child.reference,
            "returned_at": "2026-11-20T06:00:00+00:00",
            "due_at": "2026-11-23T06:00:00+00:00",
            "overdue": True,
            "outcome": None,
        },
        {
            "missing_episode_id": str(outstanding["offered_only"].id),
            "child_id": str(world.theirs.id),
            "child_reference": world.theirs.reference,
            "returned_at": "2026-11-20T13:00:00+00:00",
            "due_at": "2026-11-23T13:00:00+00:00",
            "overdue": True,
            "outcome": "offered",
        },
    ]
    assert json.loads(response.headers["X-Pagination"])["total"] == 2


def test_a_return_exactly_72_hours_ago_is_due_not_overdue(client, world, outstanding, headers_for):
    response = client.get(
        f"/programmes/{world.programme.id}/return-conversations?state=due", headers=headers_for(world.coordinator)
    )

    assert [(item["missing_episode_id"], item["overdue"]) for item in response.json] == [
        (str(outstanding["at_72_hours"].id), False),
        (str(outstanding["due"].id), False),
    ]
    assert response.json[0]["due_at"] == NOW_JSON


def test_without_a_state_every_outstanding_conversation_is_listed(client, world, outstanding, headers_for):
    response = client.get(
        f"/programmes/{world.programme.id}/return-conversations", headers=headers_for(world.coordinator)
    )

    assert [item["missing_episode_id"] for item in response.json] == [
        str(outstanding[name].id) for name in ("overdue", "offered_only", "at_72_hours", "due")
    ]


def test_a_due_conversation_becomes_overdue_as_the_clock_moves(client, world, outstanding, clock, headers_for):
    clock.advance(hours=62, seconds=1)  # the "due" return is now 72 hours and a second old

    response = client.get(
        f"/programmes/{world.programme.id}/return-conversations?state=due", headers=headers_for(world.coordinator)
    )

    assert response.json == []


def test_the_outstanding_list_is_audited_per_child_record(client, db_session, world, outstanding, headers_for):
    client.get(f"/programmes/{world.programme.id}/return-conversations", headers=headers_for(world.coordinator))

    listed = db_session.scalars(select(AuditEvent).where(AuditEvent.action == "return_conversation.list")).all()
    assert sorted((event.record_id, event.child_id) for event in listed) == sorted(
        (episode.id, episode.child_id) for episode in outstanding.values()
    )


def test_an_unknown_state_is_refused(client, world, headers_for):
    response = client.get(
        f"/programmes/{world.programme.id}/return-conversations?state=late", headers=headers_for(world.coordinator)
    )

    assert response.status_code == 422
    assert response.json["errors"] == {"state": ["Must be one of: due, overdue."]}


# The rate commissioners watch


def summary_url(programme, since="2026-11-01", until="2026-11-23"):
    return f"/programmes/{programme.id}/return-conversations/summary?since={since}&until={until}"


def add_returns(db_session, *, child, by, within, late=0, pending=0, returned_at):
    """Returns at returned_at: `within` completed in 72 hours, `late` completed after, `pending` not completed."""
    for index in range(within + late + pending):
        episode = record_episode(
            db_session, child=child, by=by, reported_at=returned_at - timedelta(hours=1), returned_at=returned_at
        )
        if index < within:
            record_conversation(db_session, episode=episode, by=by, completed_at=returned_at + HOURS_72)
        elif index < within + late:
            record_conversation(
                db_session, episode=episode, by=by, completed_at=returned_at + HOURS_72 + timedelta(seconds=1)
            )


def test_coordinators_see_the_share_of_returns_with_a_conversation_within_72_hours(
    client, db_session, world, headers_for
):
    returned = datetime(2026, 11, 10, 12, 0, tzinfo=UTC)
    add_returns(db_session, child=world.child, by=world.coordinator, within=2, late=1, pending=0, returned_at=returned)
    add_returns(
        db_session,
        child=world.child,
        by=world.coordinator,
        within=1,
        returned_at=datetime(2026, 10, 31, 23, 59, tzinfo=UTC),
    )
    record_episode(db_session, child=world.child, by=world.coordinator, reported_at=returned)  # not back: no return

    response = client.get(summary_url(world.programme), headers=headers_for(world.coordinator))

    assert response.status_code == 200
    assert response.json == {"returns": 3, "completed_within_72h": 2, "rate": 0.6667}


def test_commissioners_see_the_rate_when_no_count_is_small(client, db_session, world, headers_for):
    add_returns(
        db_session, child=world.child, by=world.coordinator, within=5, late=2, pending=1,
        returned_at=datetime(2026, 11, 10, 12, 0, tzinfo=UTC),
    )  # fmt: skip

    response = client.get(summary_url(world.programme), headers=headers_for(world.commissioner))

    assert response.status_code == 200
    assert response.json == {"returns": 8, "completed_within_72h": 5, "rate": 0.625}


def test_commissioners_see_small_counts_as_under_five_and_no_rate(client, db_session, world, headers_for):
    add_returns(
        db_session, child=world.child, by=world.coordinator, within=4, pending=3,
        returned_at=datetime(2026, 11, 10, 12, 0, tzinfo=UTC),
    )  # fmt: skip

    commissioner = client.get(summary_url(world.programme), headers=headers_for(world.commissioner))
    coordinator = client.get(summary_url(world.programme), headers=headers_for(world.coordinator))

    assert commissioner.json == {"returns": 7, "completed_within_72h": "<5", "rate": None}
    assert coordinator.json == {"returns": 7, "completed_within_72h": 4, "rate": 0.5714}


def test_a_window_without_returns_shows_zeros_and_no_rate(client, world, headers_for):
    response = client.get(summary_url(world.programme), headers=headers_for(world.commissioner))

    assert response.json == {"returns": 0, "completed_within_72h": 0, "rate": None}


def test_the_window_is_in_programme_days_across_british_summer_time(client, db_session, world, clock, headers_for):
    # 23:30 UTC on 31 July is 00:30 on 1 August in London.
    add_returns(
        db_session,
        child=world.child,
        by=world.coordinator,
        within=1,
        returned_at=datetime(2026, 7, 31, 23, 30, tzinfo=UTC),
    )

    august = client.get(
        summary_url(world.programme, "2026-08-01", "2026-08-01"), headers=headers_for(world.coordinator)
    )
    july = client.get(summary_url(world.programme, "2026-07-31", "2026-07-31"), headers=headers_for(world.coordinator))

    assert august.json == {"returns": 1, "completed_within_72h": 1, "rate": 1.0}
    assert july.json["returns"] == 0


def test_a_commissioner_of_another_programme_gets_not_found(client, db_session, world, headers_for):
    stranger = make_user(db_session, Role.COMMISSIONER, programme=make_programme(db_session))

    response = client.get(summary_url(world.programme), headers=headers_for(stranger))

    assert (response.status_code, response.json) == (404, PROGRAMME_NOT_FOUND)


def test_a_window_that_ends_before_it_starts_is_refused(client, world, headers_for):
    response = client.get(
        summary_url(world.programme, "2026-11-23", "2026-11-01"), headers=headers_for(world.coordinator)
    )

    assert response.status_code == 422
    assert response.json["errors"] == {"until": ["Must not be before since."]}


def test_the_summary_names_no_child_and_writes_no_audit_rows(client, db_session, world, headers_for):
    add_returns(
        db_session, child=world.child, by=world.coordinator, within=1, returned_at=datetime(2026, 11, 10, tzinfo=UTC)
    )
    before = count_rows(db_session, AuditEvent)

    response = client.get(summary_url(world.programme), headers=headers_for(world.commissioner))

    assert set(response.json) == {"returns", "completed_within_72h", "rate"}
    assert count_rows(db_session, AuditEvent) == before


def test_a_declined_conversation_leaves_the_outstanding_list_but_still_counts_against_the_rate(
    client, db_session, world, headers_for
):
    episode = record_episode(
        db_session,
        child=world.child,
        by=world.coordinator,
        reported_at=DEFAULT_NOW - timedelta(hours=100),
        returned_at=DEFAULT_NOW - timedelta(hours=99),
    )
    record_conversation(db_session, episode=episode, by=world.coordinator, outcome=ConversationOutcome.DECLINED)

    outstanding = client.get(
        f"/programmes/{world.programme.id}/return-conversations?state=overdue", headers=headers_for(world.coordinator)
    )
    summary = client.get(
        f"/programmes/{world.programme.id}/return-conversations/summary?since=2026-11-01&until=2026-11-30",
        headers=headers_for(world.coordinator),
    )

    assert outstanding.status_code == 200
    assert outstanding.json == []
    assert summary.json == {"returns": 1, "completed_within_72h": 0, "rate": 0.0}
