"""Every read and write of child-level data leaves exactly its audit rows (issue 7).

The app's live routes (app.url_map: the JSON API, the check-in page and Twilio's webhooks) are each classified
in one of the two tables below. An operation in neither fails `test_every_operation_is_classified`, so a new
endpoint cannot arrive without someone deciding whether it touches a child's data and what it audits.

For each child-level operation a scenario builds its world, calls it as a role allowed to, and compares the
audit rows that appeared with the ones expected: who (user and role; none for the child's own link and for
Twilio), the action, the record type and id, and the child. The conventions, as the services already had them:

- a read of one record: one `<type>.read` row naming it;
- a list: one row per record on the page (`<type>.list`), each naming its child; an empty page writes none;
- a write: one row per record written, named by its table (`child.create`, `enrolment.end` ...);
- a read or write by no signed-in user (the child's check-in link, a Twilio reply or status callback, the
  scheduler) has no actor.

Aggregates (dashboards, place counts, rates, the cost-benefit estimate) name no child and write no audit row.
"""

from __future__ import annotations

import csv
import io
import time
import uuid
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import func, select, text
from sqlalchemy.orm import Session
from werkzeug.test import TestResponse

from api.accounts.models import AppUser
from api.actors import Role
from api.alerts import service as alerts_service
from api.alerts.models import Alert
from api.alerts.rules import AlertKind
from api.audit.models import AuditEvent
from api.changes.models import ChangeEvent
from api.children import service as children_service
from api.children.models import Child, PhoneNumber
from api.children.rules import ConsentGivenBy, ContactChannel, PhoneOwner
from api.clock import FixedClock
from api.db import transaction
from api.enrolments import service as enrolments_service
from api.enrolments.models import Enrolment
from api.enrolments.rules import EndReason
from api.groups import service as groups_service
from api.groups.models import SeriesMember
from api.groups.rules import PlannedTimes
from api.missing import service as missing_service
from api.missing.rules import MissingSource
from api.outbox.models import OutboundMessage
from api.outbox.rules import MessageState
from api.outcomes import service as outcomes_service
from api.outcomes.rules import OutcomeEventType, OutcomeSource
from api.programmes.models import Cohort, Programme
from api.reminders import service as reminders_service
from api.schedules import service as schedules_service
from api.schedules.rules import Slot
from api.sessions import lone_working
from api.sessions import queries as sessions_queries
from api.sessions import service as sessions_service
from api.sessions.models import LoneWorkingCheck
from api.sessions.rules import LocationCategory, SessionKind, SessionLog, SessionStatus
from api.wellbeing import check_ins as wellbeing_check_ins
from api.wellbeing import goals as wellbeing_goals
from api.wellbeing import invitations as wellbeing_invitations
from tests.builders import (
    ONS4_GOOD,
    actor_for,
    admit_child,
    allocate,
    auth_headers,
    make_cohort,
    make_programme,
    make_referral,
    make_user,
)
from tests.conftest import SECRET_KEY
from tests.twilio_webhooks import AUTH_TOKEN, INBOUND, PUBLIC_BASE_URL, STATUS, status_callback, twilio_post

Op = tuple[str, str]  # (method, the route as Flask spells it)
Row = tuple[uuid.UUID | None, Role | None, str, str, uuid.UUID | None, uuid.UUID | None]
# The same, and when it happened.
StoredRow = tuple[uuid.UUID | None, Role | None, str, str, uuid.UUID | None, uuid.UUID | None, datetime]
ONS4_WORSE = {"life_satisfaction": 3, "worthwhile": 7, "happy_yesterday": 7, "anxious_yesterday": 7}


# --- The world each scenario starts from ---------------------------------------------------------------------


@dataclass
class World:
    db: Session
    app: Flask
    clock: FixedClock
    programme: Programme
    cohort: Cohort
    admin: AppUser
    coordinator: AppUser
    mentor: AppUser
    enrolment: Enrolment
    child: Child
    phone: PhoneNumber  # the child's own mobile, with consent to SMS the child

    @property
    def now(self) -> datetime:
        return self.clock.now()

    def actor(self, user: AppUser) -> Any:
        return actor_for(user)

    @property
    def instruments(self) -> Any:
        return self.app.extensions["reachable.instruments"]


@pytest.fixture()
def world(db_session: Session, app: Flask, clock: FixedClock) -> World:
    return build_world(db_session, app, clock)


def build_world(db_session: Session, app: Flask, clock: FixedClock) -> World:
    programme = make_programme(db_session)
    cohort = make_cohort(db_session, programme=programme, places=5)
    coordinator = make_user(db_session, Role.COORDINATOR, programme=programme)
    mentor = make_user(db_session, Role.MENTOR, programme=programme)
    enrolment = admit_child(db_session, cohort=cohort, by=coordinator)
    allocate(db_session, enrolment=enrolment, mentor=mentor, by=coordinator)
    children_service.record_consent(
        db_session,
        actor=actor_for(coordinator),
        child_id=enrolment.child_id,
        channel=ContactChannel.SMS_TO_CHILD,
        granted=True,
        given_by=ConsentGivenBy.CHILD,
        now=clock.now(),
    )
    phone = db_session.scalars(select(PhoneNumber).where(PhoneNumber.child_id == enrolment.child_id)).one()
    assert phone.belongs_to is PhoneOwner.CHILD
    return World(
        db=db_session,
        app=app,
        clock=clock,
        programme=programme,
        cohort=cohort,
        admin=make_user(db_session, Role.ADMIN),
        coordinator=coordinator,
        mentor=mentor,
        enrolment=enrolment,
        child=db_session.get_one(Child, enrolment.child_id),
        phone=phone,
    )


# --- Records a scenario may need, made through the services ---------------------------------------------------


def a_session(w: World, *, hours_from_now: int = 50, kind: SessionKind = SessionKind.ONE_TO_ONE) -> uuid.UUID:
    start = w.now + timedelta(hours=hours_from_now)
    view = sessions_service.create_session(
        w.db,
        actor=w.actor(w.mentor),
        session_id=None,
        enrolment_ids=[w.enrolment.id],
        mentor_id=None,
        kind=kind,
        location_category=LocationCategory.SCHOOL,
        planned_start_at=start,
        planned_end_at=start + timedelta(hours=1),
        status=SessionStatus.PLANNED,
        log=SessionLog(),
        now=w.now,
    )
    return view.id


def a_pattern(w: World) -> uuid.UUID:
    result = schedules_service.set_pattern(
        w.db,
        actor=w.actor(w.mentor),
        enrolment_id=w.enrolment.id,
        slots=[Slot(3, datetime.strptime("16:00", "%H:%M").time())],
        duration_minutes=60,
        kind=SessionKind.ONE_TO_ONE,
        location_category=LocationCategory.SCHOOL,
        starts_on=None,
        now=w.now,
    )
    return result.id


def an_episode(w: World, *, returned: bool = True) -> uuid.UUID:
    record = missing_service.record_missing_episode(
        w.db,
        actor=w.actor(w.coordinator),
        child_id=w.child.id,
        reported_at=w.now - timedelta(hours=30),
        returned_at=w.now - timedelta(hours=6) if returned else None,
        source=MissingSource.POLICE,
        now=w.now,
    )
    return record.id


def an_outcome_event(w: World) -> uuid.UUID:
    event = outcomes_service.record_outcome_event(
        w.db,
        actor=w.actor(w.coordinator),
        child_id=w.child.id,
        event_type=OutcomeEventType.POLICE_CALL_OUT,
        occurred_on=date(2026, 10, 1),
        source=OutcomeSource.POLICE,
        source_detail=None,
        missing_episode_id=None,
        now=w.now,
    )
    return event.id


def a_goal(w: World) -> uuid.UUID:
    record = wellbeing_goals.set_goal(
        w.db, actor=w.actor(w.mentor), child_id=w.child.id, description="Go to school every day", now=w.now
    )
    return record.id


def a_check_in(w: World) -> uuid.UUID:
    record = wellbeing_check_ins.record_check_in(
        w.db,
        actor=w.actor(w.mentor),
        instruments=w.instruments,
        child_id=w.child.id,
        instrument="ons4",
        answers=ONS4_GOOD,
        session_id=None,
        now=w.now,
    )
    return record.id


def an_invitation(w: World) -> uuid.UUID:
    record = wellbeing_invitations.invite_check_in(
        w.db,
        actor=w.actor(w.mentor),
        instruments=w.instruments,
        child_id=w.child.id,
        instrument_keys=["ons4"],
        secret_key=SECRET_KEY,
        now=w.now,
    )
    return record.id


def an_alert(w: World) -> uuid.UUID:
    with transaction(w.db):
        alert = alerts_service.raise_alert(
            w.db,
            programme_id=w.programme.id,
            child_id=w.child.id,
            kind=AlertKind.SAFEGUARDING_CONCERN,
            detail="Seen with older young people the school does not know.",
            now=w.now,
        )
    return alert.id


def a_waitlisted_enrolment(w: World) -> Enrolment:
    full = make_cohort(w.db, programme=w.programme, places=0)
    return admit_child(w.db, cohort=full, by=w.coordinator)


def messages_about(w: World, **where: uuid.UUID) -> list[OutboundMessage]:
    query = select(OutboundMessage)
    for column, value in where.items():
        query = query.where(getattr(OutboundMessage, column) == value)
    return list(w.db.scalars(query))


def a_sent_message(w: World) -> OutboundMessage:
    """The check-in link's SMS, as if handed to Twilio (state sent, with Twilio's id)."""
    [message] = messages_about(w, check_in_invitation_id=an_invitation(w))
    message.provider_id = "SM" + uuid.uuid4().hex
    message.state = MessageState.SENT
    w.db.commit()
    return message


# --- A call and the rows it must leave ---------------------------------------------------------------------------


def row(
    user: AppUser | None, action: str, record_type: str, record_id: uuid.UUID | str | None, child_id: uuid.UUID
) -> Row:
    return (
        user.id if user else None,
        user.role if user else None,
        action,
        record_type,
        uuid.UUID(str(record_id)) if record_id is not None else None,
        child_id,
    )


@dataclass
class Call:
    method: str
    path: str
    user: AppUser | None  # signed in as; None for the check-in page and Twilio
    status: int
    expected: Callable[[TestResponse], list[Row]]
    json: Any = None
    query: dict[str, Any] | None = None
    data: Any = None
    content_type: str | None = None
    headers: dict[str, str] = field(default_factory=dict)
    twilio: bool = False


Scenario = Callable[[World], Call]


def if_match(version: int) -> dict[str, str]:
    return {"If-Match": f'"{version}"'}


def new_id(response: TestResponse) -> str:
    return response.json["id"]


# Children, their numbers and consents


def create_child(w: World) -> Call:
    return Call(
        "POST",
        "/children",
        w.coordinator,
        201,
        json={"first_name": "Amira", "last_name": "Example", "date_of_birth": "2012-05-17", "district": "Medway"},
        expected=lambda r: [row(w.coordinator, "child.create", "child", new_id(r), uuid.UUID(new_id(r)))],
    )


def list_children(w: World) -> Call:
    return Call(
        "GET",
        "/children",
        w.mentor,
        200,
        expected=lambda r: [row(w.mentor, "child.list", "child", w.child.id, w.child.id)],
    )


def get_child(w: World) -> Call:
    return Call(
        "GET",
        f"/children/{w.child.id}",
        w.mentor,
        200,
        expected=lambda r: [row(w.mentor, "child.read", "child", w.child.id, w.child.id)],
    )


def update_child(w: World) -> Call:
    return Call(
        "PATCH",
        f"/children/{w.child.id}",
        w.coordinator,
        200,
        json={"school": "Oak Hill"},
        expected=lambda r: [row(w.coordinator, "child.update", "child", w.child.id, w.child.id)],
    )


def add_phone_number(w: World) -> Call:
    return Call(
        "POST",
        f"/children/{w.child.id}/phone-numbers",
        w.mentor,
        201,
        json={"number": "07911 123456", "belongs_to": "parent"},
        expected=lambda r: [row(w.mentor, "phone_number.create", "phone_number", new_id(r), w.child.id)],
    )


def remove_phone_number(w: World) -> Call:
    return Call(
        "DELETE",
        f"/children/{w.child.id}/phone-numbers/{w.phone.id}",
        w.mentor,
        204,
        expected=lambda r: [row(w.mentor, "phone_number.remove", "phone_number", w.phone.id, w.child.id)],
    )


def record_consent(w: World) -> Call:
    return Call(
        "POST",
        f"/children/{w.child.id}/consents",
        w.mentor,
        201,
        json={"channel": "sms_to_child", "granted": False, "given_by": "child"},
        expected=lambda r: [row(w.mentor, "contact_consent.create", "contact_consent", new_id(r), w.child.id)],
    )


def subject_access_export(w: World) -> Call:
    return Call(
        "GET",
        f"/children/{w.child.id}/subject-access-export",
        w.admin,
        200,
        expected=lambda r: [row(w.admin, "child.subject_access_export", "child", w.child.id, w.child.id)],
    )


# Referrals and enrolments


def list_referrals(w: World) -> Call:
    referral_id = w.enrolment.referral_id
    return Call(
        "GET",
        "/referrals",
        w.coordinator,
        200,
        expected=lambda r: [row(w.coordinator, "referral.list", "referral", referral_id, w.child.id)],
    )


def create_referral(w: World) -> Call:
    enrolments_service.end_enrolment(
        w.db,
        actor=w.actor(w.coordinator),
        enrolment_id=w.enrolment.id,
        reason=EndReason.COMPLETED,
        note=None,
        now=w.now,
    )
    return Call(
        "POST",
        "/referrals",
        w.coordinator,
        201,
        json={
            "child_id": str(w.child.id),
            "cohort_id": str(w.cohort.id),
            "source": "school",
            "source_name": "Oak Hill Academy",
            "reason": "Missing from home twice this term.",
        },
        expected=lambda r: [row(w.coordinator, "referral.create", "referral", new_id(r), w.child.id)],
    )


def get_referral(w: World) -> Call:
    return Call(
        "GET",
        f"/referrals/{w.enrolment.referral_id}",
        w.coordinator,
        200,
        expected=lambda r: [row(w.coordinator, "referral.read", "referral", w.enrolment.referral_id, w.child.id)],
    )


def accept_referral(w: World) -> Call:
    referral = make_referral(w.db, cohort=w.cohort, by=w.coordinator)
    return Call(
        "POST",
        f"/referrals/{referral.id}/accept",
        w.coordinator,
        201,
        expected=lambda r: [
            row(w.coordinator, "referral.accept", "referral", referral.id, referral.child_id),
            row(w.coordinator, "enrolment.active", "enrolment", new_id(r), referral.child_id),
        ],
    )


def decline_referral(w: World) -> Call:
    referral = make_referral(w.db, cohort=w.cohort, by=w.coordinator)
    return Call(
        "POST",
        f"/referrals/{referral.id}/decline",
        w.coordinator,
        200,
        json={"reason": "Out of area."},
        expected=lambda r: [row(w.coordinator, "referral.decline", "referral", referral.id, referral.child_id)],
    )


def list_waitlist(w: World) -> Call:
    waiting = a_waitlisted_enrolment(w)
    return Call(
        "GET",
        f"/cohorts/{waiting.cohort_id}/waitlist",
        w.coordinator,
        200,
        expected=lambda r: [row(w.coordinator, "enrolment.list_waitlist", "enrolment", waiting.id, waiting.child_id)],
    )


def list_enrolments(w: World) -> Call:
    return Call(
        "GET",
        "/enrolments",
        w.coordinator,
        200,
        expected=lambda r: [row(w.coordinator, "enrolment.list", "enrolment", w.enrolment.id, w.child.id)],
    )


def get_enrolment(w: World) -> Call:
    return Call(
        "GET",
        f"/enrolments/{w.enrolment.id}",
        w.coordinator,
        200,
        expected=lambda r: [row(w.coordinator, "enrolment.read", "enrolment", w.enrolment.id, w.child.id)],
    )


def confirm_offer(w: World) -> Call:
    cohort = make_cohort(w.db, programme=w.programme, places=1)
    first = admit_child(w.db, cohort=cohort, by=w.coordinator)
    waiting = admit_child(w.db, cohort=cohort, by=w.coordinator)
    enrolments_service.end_enrolment(
        w.db, actor=w.actor(w.coordinator), enrolment_id=first.id, reason=EndReason.COMPLETED, note=None, now=w.now
    )
    return Call(
        "POST",
        f"/enrolments/{waiting.id}/confirm-offer",
        w.coordinator,
        200,
        expected=lambda r: [row(w.coordinator, "enrolment.confirm_offer", "enrolment", waiting.id, waiting.child_id)],
    )


def withdraw(w: World) -> Call:
    waiting = a_waitlisted_enrolment(w)
    return Call(
        "POST",
        f"/enrolments/{waiting.id}/withdraw",
        w.coordinator,
        200,
        json={"note": "Family moved away."},
        expected=lambda r: [row(w.coordinator, "enrolment.withdraw", "enrolment", waiting.id, waiting.child_id)],
    )


def change_priority(w: World) -> Call:
    waiting = a_waitlisted_enrolment(w)
    return Call(
        "PUT",
        f"/enrolments/{waiting.id}/priority",
        w.coordinator,
        200,
        json={"priority": "urgent"},
        expected=lambda r: [row(w.coordinator, "enrolment.change_priority", "enrolment", waiting.id, waiting.child_id)],
    )


def end_enrolment(w: World) -> Call:
    return Call(
        "POST",
        f"/enrolments/{w.enrolment.id}/end",
        w.coordinator,
        200,
        json={"reason": "completed", "note": None},
        expected=lambda r: [row(w.coordinator, "enrolment.end", "enrolment", w.enrolment.id, w.child.id)],
    )


def end_enrolment_with_a_pattern(w: World) -> Call:
    pattern_id = a_pattern(w)
    return Call(
        "POST",
        f"/enrolments/{w.enrolment.id}/end",
        w.coordinator,
        200,
        json={"reason": "completed"},
        expected=lambda r: [
            row(w.coordinator, "enrolment.end", "enrolment", w.enrolment.id, w.child.id),
            row(w.coordinator, "pattern.end", "session_pattern", pattern_id, w.child.id),
        ],
    )


def move_enrolment(w: World) -> Call:
    other = make_cohort(w.db, programme=w.programme, places=5)
    return Call(
        "POST",
        f"/enrolments/{w.enrolment.id}/move",
        w.coordinator,
        201,
        json={"cohort_id": str(other.id)},
        expected=lambda r: [
            row(w.coordinator, "enrolment.move_out", "enrolment", w.enrolment.id, w.child.id),
            row(w.coordinator, "enrolment.move_in", "enrolment", new_id(r), w.child.id),
        ],
    )


# Caseloads


def allocate_mentor(w: World) -> Call:
    other_mentor = make_user(w.db, Role.MENTOR, programme=w.programme)
    return Call(
        "PUT",
        f"/enrolments/{w.enrolment.id}/allocation",
        w.coordinator,
        200,
        json={"mentor_id": str(other_mentor.id)},
        expected=lambda r: [row(w.coordinator, "allocation.create", "allocation", new_id(r), w.child.id)],
    )


def list_allocations(w: World) -> Call:
    # The convention here: one row naming the enrolment whose key-worker history was read.
    return Call(
        "GET",
        f"/enrolments/{w.enrolment.id}/allocations",
        w.coordinator,
        200,
        expected=lambda r: [row(w.coordinator, "allocation.list", "enrolment", w.enrolment.id, w.child.id)],
    )


# Sessions, patterns, the weekly cap


def create_session(w: World) -> Call:
    start = w.now + timedelta(days=2)
    return Call(
        "POST",
        "/sessions",
        w.mentor,
        201,
        json={
            "enrolment_ids": [str(w.enrolment.id)],
            "kind": "one_to_one",
            "location_category": "school",
            "planned_start_at": start.isoformat(),
            "planned_end_at": (start + timedelta(hours=1)).isoformat(),
        },
        expected=lambda r: [row(w.mentor, "session.create", "mentoring_session", new_id(r), w.child.id)],
    )


def log_a_concern_in_a_new_session(w: World) -> Call:
    start = w.now - timedelta(hours=2)  # earlier the day the world's child was enrolled, within their support

    def expected(r: TestResponse) -> list[Row]:
        [alert_id] = w.db.scalars(select(Alert.id).where(Alert.session_id == uuid.UUID(new_id(r))))
        return [
            row(w.mentor, "session.create", "mentoring_session", new_id(r), w.child.id),
            row(w.mentor, "alert.raise", "alert", alert_id, w.child.id),
        ]

    return Call(
        "POST",
        "/sessions",
        w.mentor,
        201,
        json={
            "enrolment_ids": [str(w.enrolment.id)],
            "kind": "one_to_one",
            "location_category": "school",
            "planned_start_at": start.isoformat(),
            "planned_end_at": (start + timedelta(hours=1)).isoformat(),
            "status": "completed",
            "safeguarding_concern": "Said an older man collects him after school.",
        },
        expected=expected,
    )


def list_sessions(w: World) -> Call:
    session_id = a_session(w)
    return Call(
        "GET",
        "/sessions",
        w.mentor,
        200,
        expected=lambda r: [row(w.mentor, "session.list", "mentoring_session", session_id, w.child.id)],
    )


def get_session(w: World) -> Call:
    session_id = a_session(w)
    return Call(
        "GET",
        f"/sessions/{session_id}",
        w.mentor,
        200,
        expected=lambda r: [row(w.mentor, "session.read", "mentoring_session", session_id, w.child.id)],
    )


def update_session(w: World) -> Call:
    session_id = a_session(w)
    return Call(
        "PATCH",
        f"/sessions/{session_id}",
        w.mentor,
        200,
        json={"status": "cancelled_by_child"},
        headers=if_match(1),
        expected=lambda r: [row(w.mentor, "session.update", "mentoring_session", session_id, w.child.id)],
    )


def take_register(w: World) -> Call:
    session_id = a_session(w, kind=SessionKind.GROUP)
    return Call(
        "PUT",
        f"/sessions/{session_id}/register",
        w.mentor,
        200,
        # A line that may be taken before the session starts (who came is recorded once it has).
        json={"lines": [{"child_id": str(w.child.id), "attendance": "cancelled_by_child"}]},
        headers=if_match(1),
        expected=lambda r: [row(w.mentor, "session.register", "mentoring_session", session_id, w.child.id)],
    )


# Group series


def a_series(w: World, *, with_child: bool = True) -> tuple[uuid.UUID, uuid.UUID]:
    """A series of one session (in two days), led by the world's mentor, with the world's child on the roster:
    (series id, session id)."""
    start = w.now + timedelta(days=2)
    view = groups_service.create_series(
        w.db,
        actor=w.actor(w.coordinator),
        programme_id=w.programme.id,
        name="Staying safe online",
        capacity=8,
        complete_after_sessions=None,
        lead_facilitator_id=w.mentor.id,
        co_facilitator_id=None,
        location_category=LocationCategory.SCHOOL,
        sessions=[PlannedTimes(start, start + timedelta(hours=1))],
        now=w.now,
    )
    if with_child:
        groups_service.join_series(
            w.db, actor=w.actor(w.coordinator), series_id=view.id, enrolment_id=w.enrolment.id, now=w.now
        )
    return view.id, view.sessions[0].id


def member_id(w: World, series_id: uuid.UUID) -> uuid.UUID:
    return w.db.scalars(select(SeriesMember.id).where(SeriesMember.series_id == series_id)).one()


def get_series(w: World) -> Call:
    series_id, _ = a_series(w)
    return Call(
        "GET",
        f"/group-series/{series_id}",
        w.mentor,
        200,
        expected=lambda r: [row(w.mentor, "group_series.read", "group_series", series_id, w.child.id)],
    )


def update_series(w: World) -> Call:
    series_id, _ = a_series(w)
    return Call(
        "PATCH",
        f"/group-series/{series_id}",
        w.mentor,
        200,
        json={"capacity": 9},
        headers=if_match(1),
        expected=lambda r: [row(w.mentor, "group_series.update", "group_series", series_id, w.child.id)],
    )


def join_series(w: World) -> Call:
    series_id, session_id = a_series(w, with_child=False)
    return Call(
        "POST",
        f"/group-series/{series_id}/members",
        w.mentor,
        201,
        json={"enrolment_id": str(w.enrolment.id)},
        expected=lambda r: [
            row(w.mentor, "session.book", "mentoring_session", session_id, w.child.id),
            row(w.mentor, "series_member.join", "series_member", member_id(w, series_id), w.child.id),
            row(w.mentor, "group_series.roster", "group_series", series_id, w.child.id),
        ],
    )


def leave_series(w: World) -> Call:
    series_id, session_id = a_series(w)
    return Call(
        "DELETE",
        f"/group-series/{series_id}/members/{w.child.id}",
        w.mentor,
        204,
        expected=lambda r: [
            row(w.mentor, "session.unbook", "mentoring_session", session_id, w.child.id),
            row(w.mentor, "series_member.leave", "series_member", member_id(w, series_id), w.child.id),
            row(w.mentor, "group_series.roster", "group_series", series_id, w.child.id),
        ],
    )


def start_lone_working(w: World) -> Call:
    session_id = a_session(w)
    return Call(
        "POST",
        f"/sessions/{session_id}/lone-working",
        w.mentor,
        201,
        json={},
        expected=lambda r: [
            row(w.mentor, "lone_working.start", "lone_working_check", check_of(w, session_id), w.child.id)
        ],
    )


def check_of(w: World, session_id: uuid.UUID) -> uuid.UUID:
    return w.db.scalars(select(LoneWorkingCheck.id).where(LoneWorkingCheck.session_id == session_id)).one()


def confirm_safe(w: World) -> Call:
    session_id = a_session(w)
    check = lone_working.start_lone_working(
        w.db, actor=w.actor(w.mentor), session_id=session_id, check_in_by=None, now=w.now
    )
    return Call(
        "POST",
        f"/sessions/{session_id}/lone-working/safe",
        w.mentor,
        200,
        expected=lambda r: [row(w.mentor, "lone_working.close.safe", "lone_working_check", check.id, w.child.id)],
    )


def reschedule_session(w: World) -> Call:
    session_id = a_session(w)
    start = w.now + timedelta(days=3)
    return Call(
        "POST",
        f"/sessions/{session_id}/reschedule",
        w.mentor,
        201,
        json={"planned_start_at": start.isoformat(), "planned_end_at": (start + timedelta(hours=1)).isoformat()},
        headers=if_match(1),
        expected=lambda r: [
            row(w.mentor, "session.reschedule", "mentoring_session", session_id, w.child.id),
            row(w.mentor, "session.create", "mentoring_session", new_id(r), w.child.id),
        ],
    )


def summarise_delivery(w: World) -> Call:
    a_session(w)
    return Call(
        "GET",
        f"/children/{w.child.id}/session-summary",
        w.mentor,
        200,
        expected=lambda r: [row(w.mentor, "session.summary", "child", w.child.id, w.child.id)],
    )


def override_weekly_cap(w: World) -> Call:
    return Call(
        "PUT",
        f"/enrolments/{w.enrolment.id}/weekly-cap-overrides",
        w.coordinator,
        200,
        json={"week": "2026-W49", "max_sessions": 5, "reason": "Court date week: extra support agreed."},
        expected=lambda r: [
            row(w.coordinator, "weekly_cap_override.set", "weekly_cap_override", new_id(r), w.child.id)
        ],
    )


# A pattern's generated sessions and the removal of its untouched ones are audited as the pattern's own row.


def set_pattern(w: World) -> Call:
    return Call(
        "POST",
        f"/enrolments/{w.enrolment.id}/patterns",
        w.mentor,
        201,
        json={"slots": [{"weekday": 3, "start": "16:00"}], "duration_minutes": 60, "location_category": "school"},
        expected=lambda r: [row(w.mentor, "pattern.create", "session_pattern", new_id(r), w.child.id)],
    )


def list_patterns(w: World) -> Call:
    pattern_id = a_pattern(w)
    return Call(
        "GET",
        f"/enrolments/{w.enrolment.id}/patterns",
        w.mentor,
        200,
        expected=lambda r: [row(w.mentor, "pattern.read", "session_pattern", pattern_id, w.child.id)],
    )


def change_pattern(w: World) -> Call:
    pattern_id = a_pattern(w)
    return Call(
        "PUT",
        f"/patterns/{pattern_id}",
        w.mentor,
        200,
        json={"slots": [{"weekday": 4, "start": "17:00"}], "duration_minutes": 60, "location_category": "home"},
        headers=if_match(1),
        expected=lambda r: [row(w.mentor, "pattern.change", "session_pattern", pattern_id, w.child.id)],
    )


def end_pattern(w: World) -> Call:
    pattern_id = a_pattern(w)
    return Call(
        "POST",
        f"/patterns/{pattern_id}/end",
        w.mentor,
        200,
        headers=if_match(1),
        expected=lambda r: [row(w.mentor, "pattern.end", "session_pattern", pattern_id, w.child.id)],
    )


# SMS ledgers


def session_messages(w: World) -> Call:
    session_id = a_session(w, hours_from_now=30)
    reminders_service.queue_reminders(w.db, sessions=sessions_queries.sessions_to_remind(w.db, now=w.now), now=w.now)
    messages = messages_about(w, session_id=session_id)
    assert messages, "the session's reminders were queued"
    return Call(
        "GET",
        f"/sessions/{session_id}/messages",
        w.mentor,
        200,
        expected=lambda r: [
            row(w.mentor, "outbound_message.list", "outbound_message", message.id, message.child_id)
            for message in messages
        ],
    )


def invitation_messages(w: World) -> Call:
    invitation_id = an_invitation(w)
    [message] = messages_about(w, check_in_invitation_id=invitation_id)
    return Call(
        "GET",
        f"/check-in-invitations/{invitation_id}/messages",
        w.mentor,
        200,
        expected=lambda r: [row(w.mentor, "outbound_message.list", "outbound_message", message.id, w.child.id)],
    )


# Missing episodes and return conversations


def record_missing_episode(w: World) -> Call:
    return Call(
        "POST",
        f"/children/{w.child.id}/missing-episodes",
        w.mentor,
        201,
        json={"reported_at": (w.now - timedelta(hours=5)).isoformat(), "source": "family"},
        expected=lambda r: [
            row(w.mentor, "missing_episode.create", "missing_episode", new_id(r), w.child.id),
            # Reported with the child still missing: the urgent alert is raised in the same transaction.
            row(w.mentor, "alert.raise", "alert", alert_about(w, AlertKind.CHILD_MISSING), w.child.id),
        ],
    )


def alert_about(w: World, kind: AlertKind) -> uuid.UUID:
    return w.db.scalars(select(Alert.id).where(Alert.child_id == w.child.id, Alert.kind == kind)).one()


def list_missing_episodes(w: World) -> Call:
    episode_id = an_episode(w)
    return Call(
        "GET",
        f"/children/{w.child.id}/missing-episodes",
        w.mentor,
        200,
        expected=lambda r: [row(w.mentor, "missing_episode.list", "missing_episode", episode_id, w.child.id)],
    )


def get_missing_episode(w: World) -> Call:
    episode_id = an_episode(w)
    return Call(
        "GET",
        f"/missing-episodes/{episode_id}",
        w.mentor,
        200,
        expected=lambda r: [row(w.mentor, "missing_episode.read", "missing_episode", episode_id, w.child.id)],
    )


def update_missing_episode(w: World) -> Call:
    episode_id = an_episode(w, returned=False)
    return Call(
        "PATCH",
        f"/missing-episodes/{episode_id}",
        w.mentor,
        200,
        json={"returned_at": (w.now - timedelta(hours=1)).isoformat()},
        headers=if_match(1),
        expected=lambda r: [row(w.mentor, "missing_episode.update", "missing_episode", episode_id, w.child.id)],
    )


def record_return_conversation(w: World) -> Call:
    episode_id = an_episode(w)
    return Call(
        "PUT",
        f"/missing-episodes/{episode_id}/return-conversation",
        w.mentor,
        200,
        json={
            "outcome": "completed",
            "offered_at": (w.now - timedelta(hours=5)).isoformat(),
            "completed_at": (w.now - timedelta(hours=4)).isoformat(),
            "independent": True,
        },
        expected=lambda r: [row(w.mentor, "return_conversation.record", "return_conversation", new_id(r), w.child.id)],
    )


def list_outstanding_conversations(w: World) -> Call:
    episode_id = an_episode(w)
    return Call(
        "GET",
        f"/programmes/{w.programme.id}/return-conversations",
        w.coordinator,
        200,
        expected=lambda r: [row(w.coordinator, "return_conversation.list", "missing_episode", episode_id, w.child.id)],
    )


# Outcome events


def record_outcome_event(w: World) -> Call:
    return Call(
        "POST",
        f"/children/{w.child.id}/outcome-events",
        w.coordinator,
        201,
        json={"event_type": "arrest", "occurred_on": "2026-10-02", "source": "police"},
        expected=lambda r: [row(w.coordinator, "outcome_event.create", "outcome_event", new_id(r), w.child.id)],
    )


def list_outcome_events(w: World) -> Call:
    event_id = an_outcome_event(w)
    return Call(
        "GET",
        f"/children/{w.child.id}/outcome-events",
        w.mentor,
        200,
        expected=lambda r: [row(w.mentor, "outcome_event.list", "outcome_event", event_id, w.child.id)],
    )


def void_outcome_event(w: World) -> Call:
    event_id = an_outcome_event(w)
    return Call(
        "DELETE",
        f"/outcome-events/{event_id}",
        w.coordinator,
        204,
        expected=lambda r: [row(w.coordinator, "outcome_event.void", "outcome_event", event_id, w.child.id)],
    )


def import_outcome_events(w: World) -> Call:
    text = io.StringIO()
    writer = csv.writer(text, lineterminator="\n")
    writer.writerow(["child_reference", "event_type", "occurred_on", "source"])
    writer.writerow([w.child.reference, "arrest", "2026-09-03", "police"])
    writer.writerow([w.child.reference, "exclusion_fixed_term", "2026-09-10", "school"])

    def expected(r: TestResponse) -> list[Row]:
        assert r.json["imported"] == 2
        from api.outcomes.models import OutcomeEvent

        ids = w.db.scalars(select(OutcomeEvent.id).where(OutcomeEvent.child_id == w.child.id))
        return [row(w.coordinator, "outcome_event.import", "outcome_event", event_id, w.child.id) for event_id in ids]

    return Call(
        "POST",
        f"/programmes/{w.programme.id}/outcome-events/import",
        w.coordinator,
        200,
        data=text.getvalue().encode(),
        content_type="text/csv",
        expected=expected,
    )


# Wellbeing: check-ins, goals, invitations and the child's own page


def record_check_in(w: World) -> Call:
    return Call(
        "POST",
        f"/children/{w.child.id}/check-ins",
        w.mentor,
        201,
        json={"instrument": "ons4", "answers": ONS4_GOOD},
        expected=lambda r: [row(w.mentor, "check_in.create", "check_in", new_id(r), w.child.id)],
    )


def record_a_check_in_that_raises_an_alert(w: World) -> Call:
    a_check_in(w)
    w.clock.advance(days=28)

    def expected(r: TestResponse) -> list[Row]:
        assert r.json["alert_id"] is not None
        return [
            row(w.mentor, "check_in.create", "check_in", new_id(r), w.child.id),
            row(w.mentor, "alert.raise", "alert", r.json["alert_id"], w.child.id),
        ]

    return Call(
        "POST",
        f"/children/{w.child.id}/check-ins",
        w.mentor,
        201,
        json={"instrument": "ons4", "answers": ONS4_WORSE},
        expected=expected,
    )


def list_check_ins(w: World) -> Call:
    check_in_id = a_check_in(w)
    return Call(
        "GET",
        f"/children/{w.child.id}/check-ins",
        w.mentor,
        200,
        expected=lambda r: [row(w.mentor, "check_in.list", "check_in", check_in_id, w.child.id)],
    )


def get_check_in(w: World) -> Call:
    check_in_id = a_check_in(w)
    return Call(
        "GET",
        f"/check-ins/{check_in_id}",
        w.mentor,
        200,
        expected=lambda r: [row(w.mentor, "check_in.read", "check_in", check_in_id, w.child.id)],
    )


def get_wellbeing(w: World) -> Call:
    a_check_in(w)
    return Call(
        "GET",
        f"/children/{w.child.id}/wellbeing",
        w.mentor,
        200,
        expected=lambda r: [row(w.mentor, "wellbeing.read", "child", w.child.id, w.child.id)],
    )


def set_goal(w: World) -> Call:
    return Call(
        "POST",
        f"/children/{w.child.id}/goals",
        w.mentor,
        201,
        json={"description": "Talk to my mum when I am worried"},
        expected=lambda r: [row(w.mentor, "goal.create", "goal", new_id(r), w.child.id)],
    )


def list_goals(w: World) -> Call:
    goal_id = a_goal(w)
    return Call(
        "GET",
        f"/children/{w.child.id}/goals",
        w.mentor,
        200,
        expected=lambda r: [row(w.mentor, "goal.list", "goal", goal_id, w.child.id)],
    )


def end_goal(w: World) -> Call:
    goal_id = a_goal(w)
    return Call(
        "POST",
        f"/goals/{goal_id}/end",
        w.mentor,
        200,
        json={"status": "achieved"},
        headers=if_match(1),
        expected=lambda r: [row(w.mentor, "goal.achieved", "goal", goal_id, w.child.id)],
    )


def change_goal(w: World) -> Call:
    goal_id = a_goal(w)
    return Call(
        "POST",
        f"/goals/{goal_id}/change",
        w.mentor,
        201,
        json={"description": "Go to school four days a week"},
        headers=if_match(1),
        expected=lambda r: [
            row(w.mentor, "goal.changed", "goal", goal_id, w.child.id),
            row(w.mentor, "goal.create", "goal", new_id(r), w.child.id),
        ],
    )


def invite_check_in(w: World) -> Call:
    return Call(
        "POST",
        f"/children/{w.child.id}/check-in-invitations",
        w.mentor,
        201,
        json={"instruments": ["ons4"]},
        expected=lambda r: [row(w.mentor, "check_in_invitation.create", "check_in_invitation", new_id(r), w.child.id)],
    )


def list_invitations(w: World) -> Call:
    invitation_id = an_invitation(w)
    return Call(
        "GET",
        f"/children/{w.child.id}/check-in-invitations",
        w.mentor,
        200,
        expected=lambda r: [
            row(w.mentor, "check_in_invitation.list", "check_in_invitation", invitation_id, w.child.id)
        ],
    )


def revoke_invitation(w: World) -> Call:
    invitation_id = an_invitation(w)
    return Call(
        "POST",
        f"/check-in-invitations/{invitation_id}/revoke",
        w.mentor,
        200,
        expected=lambda r: [
            row(w.mentor, "check_in_invitation.revoke", "check_in_invitation", invitation_id, w.child.id)
        ],
    )


def link_path(w: World) -> tuple[uuid.UUID, str]:
    invitation_id = an_invitation(w)
    return invitation_id, wellbeing_invitations.link_for(w.db, invitation_id=invitation_id, secret_key=SECRET_KEY)


def open_check_in_page(w: World) -> Call:
    invitation_id, path = link_path(w)
    return Call(
        "GET",
        path,
        None,
        200,
        expected=lambda r: [row(None, "check_in_invitation.open", "check_in_invitation", invitation_id, w.child.id)],
    )


def submit_check_in_page(w: World) -> Call:
    invitation_id, path = link_path(w)

    def expected(r: TestResponse) -> list[Row]:
        from api.wellbeing.models import CheckIn

        [check_in_id] = w.db.scalars(select(CheckIn.id).where(CheckIn.invitation_id == invitation_id))
        return [
            row(None, "check_in.create", "check_in", check_in_id, w.child.id),
            row(None, "check_in_invitation.complete", "check_in_invitation", invitation_id, w.child.id),
        ]

    return Call(
        "POST",
        path,
        None,
        200,
        data={f"ons4.{item}": str(value) for item, value in ONS4_GOOD.items()},
        expected=expected,
    )


# Alerts


def list_alerts(w: World) -> Call:
    alert_id = an_alert(w)
    return Call(
        "GET",
        "/alerts",
        w.coordinator,
        200,
        expected=lambda r: [row(w.coordinator, "alert.list", "alert", alert_id, w.child.id)],
    )


def acknowledge_alert(w: World) -> Call:
    alert_id = an_alert(w)
    return Call(
        "POST",
        f"/alerts/{alert_id}/acknowledge",
        w.coordinator,
        200,
        json={"note": "Discussed with the DSL."},
        expected=lambda r: [row(w.coordinator, "alert.acknowledge", "alert", alert_id, w.child.id)],
    )


def read_alert(w: World) -> Call:
    alert_id = an_alert(w)
    return Call(
        "GET",
        f"/alerts/{alert_id}",
        w.coordinator,
        200,
        expected=lambda r: [row(w.coordinator, "alert.read", "alert", alert_id, w.child.id)],
    )


def resolve_alert(w: World) -> Call:
    alert_id = an_alert(w)
    return Call(
        "POST",
        f"/alerts/{alert_id}/resolve",
        w.coordinator,
        200,
        json={"outcome": "Strategy meeting held; plan in place."},
        expected=lambda r: [row(w.coordinator, "alert.resolve", "alert", alert_id, w.child.id)],
    )


# The phones' sync: one row per child whose records the page carried


def read_changes(w: World) -> Call:
    return Call(
        "GET",
        "/sync",
        w.mentor,
        200,
        expected=lambda r: [row(w.mentor, "sync.read", "child", w.child.id, w.child.id)],
    )


# Twilio: a reply or a status callback that changes a child's record is audited with no actor


def reply_stop(w: World) -> Call:
    def expected(r: TestResponse) -> list[Row]:
        from api.children.models import ContactConsent

        latest = w.db.scalars(
            select(ContactConsent).where(
                ContactConsent.child_id == w.child.id, ContactConsent.recorded_by_user_id.is_(None)
            )
        ).one()
        assert (latest.channel, latest.granted) == (ContactChannel.SMS_TO_CHILD, False)
        return [
            row(None, "contact_consent.create", "contact_consent", latest.id, w.child.id),
            row(None, "alert.raise", "alert", alert_about(w, AlertKind.CONTACT_LOST), w.child.id),
        ]

    return Call(
        "POST",
        INBOUND,
        None,
        200,
        data={"From": w.phone.e164, "To": "+447700900999", "Body": "STOP", "MessageSid": "SM" + "1" * 32},
        twilio=True,
        expected=expected,
    )


def reply_help(w: World) -> Call:
    return Call(
        "POST",
        INBOUND,
        None,
        200,
        data={"From": w.phone.e164, "To": "+447700900999", "Body": "HELP", "MessageSid": "SM" + "2" * 32},
        twilio=True,
        expected=lambda r: [],
    )


def status_unreachable_number(w: World) -> Call:
    message = a_sent_message(w)
    return Call(
        "POST",
        STATUS,
        None,
        204,
        data=status_callback(message.provider_id or "", "undelivered", ErrorCode="30005"),
        twilio=True,
        expected=lambda r: [
            row(None, "phone_number.block", "phone_number", w.phone.id, w.child.id),
            row(None, "alert.raise", "alert", alert_about(w, AlertKind.CONTACT_LOST), w.child.id),
        ],
    )


def status_delivered(w: World) -> Call:
    # A message moving forward changes no child's record: its own history (the ledger) records the move.
    message = a_sent_message(w)
    return Call(
        "POST",
        STATUS,
        None,
        204,
        data=status_callback(message.provider_id or "", "delivered"),
        twilio=True,
        expected=lambda r: [],
    )


# --- The tables ------------------------------------------------------------------------------------------------

CHILD = "<uuid:child_id>"

CHILD_LEVEL: dict[Op, tuple[Scenario, ...]] = {
    ("GET", "/children"): (list_children,),
    ("POST", "/children"): (create_child,),
    ("GET", f"/children/{CHILD}"): (get_child,),
    ("PATCH", f"/children/{CHILD}"): (update_child,),
    ("POST", f"/children/{CHILD}/phone-numbers"): (add_phone_number,),
    ("DELETE", f"/children/{CHILD}/phone-numbers/<uuid:phone_number_id>"): (remove_phone_number,),
    ("POST", f"/children/{CHILD}/consents"): (record_consent,),
    ("GET", f"/children/{CHILD}/subject-access-export"): (subject_access_export,),
    ("GET", "/referrals"): (list_referrals,),
    ("POST", "/referrals"): (create_referral,),
    ("GET", "/referrals/<uuid:referral_id>"): (get_referral,),
    ("POST", "/referrals/<uuid:referral_id>/accept"): (accept_referral,),
    ("POST", "/referrals/<uuid:referral_id>/decline"): (decline_referral,),
    ("GET", "/cohorts/<uuid:cohort_id>/waitlist"): (list_waitlist,),
    ("GET", "/enrolments"): (list_enrolments,),
    ("GET", "/enrolments/<uuid:enrolment_id>"): (get_enrolment,),
    ("POST", "/enrolments/<uuid:enrolment_id>/confirm-offer"): (confirm_offer,),
    ("POST", "/enrolments/<uuid:enrolment_id>/withdraw"): (withdraw,),
    ("PUT", "/enrolments/<uuid:enrolment_id>/priority"): (change_priority,),
    ("POST", "/enrolments/<uuid:enrolment_id>/end"): (end_enrolment, end_enrolment_with_a_pattern),
    ("POST", "/enrolments/<uuid:enrolment_id>/move"): (move_enrolment,),
    ("PUT", "/enrolments/<uuid:enrolment_id>/allocation"): (allocate_mentor,),
    ("GET", "/enrolments/<uuid:enrolment_id>/allocations"): (list_allocations,),
    ("POST", "/sessions"): (create_session, log_a_concern_in_a_new_session),
    ("GET", "/sessions"): (list_sessions,),
    ("GET", "/sessions/<uuid:session_id>"): (get_session,),
    ("PATCH", "/sessions/<uuid:session_id>"): (update_session,),
    ("PUT", "/sessions/<uuid:session_id>/register"): (take_register,),
    ("POST", "/sessions/<uuid:session_id>/lone-working"): (start_lone_working,),
    ("POST", "/sessions/<uuid:session_id>/lone-working/safe"): (confirm_safe,),
    ("POST", "/sessions/<uuid:session_id>/reschedule"): (reschedule_session,),
    ("GET", "/group-series/<uuid:series_id>"): (get_series,),
    ("PATCH", "/group-series/<uuid:series_id>"): (update_series,),
    ("POST", "/group-series/<uuid:series_id>/members"): (join_series,),
    ("DELETE", "/group-series/<uuid:series_id>/members/<uuid:child_id>"): (leave_series,),
    ("GET", f"/children/{CHILD}/session-summary"): (summarise_delivery,),
    ("PUT", "/enrolments/<uuid:enrolment_id>/weekly-cap-overrides"): (override_weekly_cap,),
    ("POST", "/enrolments/<uuid:enrolment_id>/patterns"): (set_pattern,),
    ("GET", "/enrolments/<uuid:enrolment_id>/patterns"): (list_patterns,),
    ("PUT", "/patterns/<uuid:pattern_id>"): (change_pattern,),
    ("POST", "/patterns/<uuid:pattern_id>/end"): (end_pattern,),
    ("GET", "/sessions/<uuid:session_id>/messages"): (session_messages,),
    ("GET", "/check-in-invitations/<uuid:invitation_id>/messages"): (invitation_messages,),
    ("POST", f"/children/{CHILD}/missing-episodes"): (record_missing_episode,),
    ("GET", f"/children/{CHILD}/missing-episodes"): (list_missing_episodes,),
    ("GET", "/missing-episodes/<uuid:episode_id>"): (get_missing_episode,),
    ("PATCH", "/missing-episodes/<uuid:episode_id>"): (update_missing_episode,),
    ("PUT", "/missing-episodes/<uuid:episode_id>/return-conversation"): (record_return_conversation,),
    ("GET", "/programmes/<uuid:programme_id>/return-conversations"): (list_outstanding_conversations,),
    ("POST", f"/children/{CHILD}/outcome-events"): (record_outcome_event,),
    ("GET", f"/children/{CHILD}/outcome-events"): (list_outcome_events,),
    ("DELETE", "/outcome-events/<uuid:event_id>"): (void_outcome_event,),
    ("POST", "/programmes/<uuid:programme_id>/outcome-events/import"): (import_outcome_events,),
    ("POST", f"/children/{CHILD}/check-ins"): (record_check_in, record_a_check_in_that_raises_an_alert),
    ("GET", f"/children/{CHILD}/check-ins"): (list_check_ins,),
    ("GET", "/check-ins/<uuid:check_in_id>"): (get_check_in,),
    ("GET", f"/children/{CHILD}/wellbeing"): (get_wellbeing,),
    ("POST", f"/children/{CHILD}/goals"): (set_goal,),
    ("GET", f"/children/{CHILD}/goals"): (list_goals,),
    ("POST", "/goals/<uuid:goal_id>/end"): (end_goal,),
    ("POST", "/goals/<uuid:goal_id>/change"): (change_goal,),
    ("POST", f"/children/{CHILD}/check-in-invitations"): (invite_check_in,),
    ("GET", f"/children/{CHILD}/check-in-invitations"): (list_invitations,),
    ("POST", "/check-in-invitations/<uuid:invitation_id>/revoke"): (revoke_invitation,),
    ("GET", "/c/<token>"): (open_check_in_page,),
    ("POST", "/c/<token>"): (submit_check_in_page,),
    ("GET", "/alerts"): (list_alerts,),
    ("POST", "/alerts/<uuid:alert_id>/acknowledge"): (acknowledge_alert,),
    ("GET", "/alerts/<uuid:alert_id>"): (read_alert,),
    ("POST", "/alerts/<uuid:alert_id>/resolve"): (resolve_alert,),
    ("GET", "/sync"): (read_changes,),
    ("POST", "/webhooks/twilio/inbound"): (reply_stop, reply_help),
    ("POST", "/webhooks/twilio/status"): (status_unreachable_number, status_delivered),
}

AGGREGATE = "aggregate: counts and rates, no child named; small numbers suppressed for commissioners"
NOT_CHILD_LEVEL: dict[Op, str] = {
    # Commissioner dashboards and other aggregates
    ("GET", "/programmes/<uuid:programme_id>/dashboards/delivery"): AGGREGATE,
    ("GET", "/programmes/<uuid:programme_id>/dashboards/group-delivery"): AGGREGATE,
    ("GET", "/programmes/<uuid:programme_id>/dashboards/mentors"): AGGREGATE,
    ("GET", "/programmes/<uuid:programme_id>/dashboards/outcomes"): AGGREGATE,
    ("GET", "/programmes/<uuid:programme_id>/dashboards/places"): AGGREGATE,
    ("GET", "/programmes/<uuid:programme_id>/dashboards/return-conversations"): AGGREGATE,
    ("GET", "/programmes/<uuid:programme_id>/dashboards/time-to-acknowledge"): AGGREGATE,
    ("GET", "/programmes/<uuid:programme_id>/dashboards/waitlist"): AGGREGATE,
    ("GET", "/programmes/<uuid:programme_id>/dashboards/wellbeing"): AGGREGATE,
    ("GET", "/dashboard/programmes/<uuid:programme_id>"): AGGREGATE + " (the dashboards drawn as a page)",
    ("GET", "/programmes/<uuid:programme_id>/places"): AGGREGATE + " (places per cohort)",
    ("GET", "/programmes/<uuid:programme_id>/return-conversations/summary"): AGGREGATE,
    ("GET", "/programmes/<uuid:programme_id>/cost-benefit"): AGGREGATE,
    ("GET", "/mentors"): "each mentor's caseload as a number, no child named",
    # Programme set-up
    ("GET", "/programmes"): "programme set-up",
    ("POST", "/programmes"): "programme set-up",
    ("GET", "/programmes/<uuid:programme_id>"): "programme set-up",
    ("PATCH", "/programmes/<uuid:programme_id>"): "programme set-up",
    ("GET", "/programmes/<uuid:programme_id>/cohorts"): "programme set-up",
    ("POST", "/programmes/<uuid:programme_id>/cohorts"): "programme set-up",
    ("GET", "/cohorts/<uuid:cohort_id>"): "programme set-up",
    ("PATCH", "/cohorts/<uuid:cohort_id>"): "programme set-up",
    ("GET", "/programmes/<uuid:programme_id>/outcome-settings"): "programme set-up (baseline months, a unit cost)",
    ("PUT", "/programmes/<uuid:programme_id>/outcome-settings"): "programme set-up (baseline months, a unit cost)",
    ("GET", "/instruments"): "the deployment's questionnaires, no answers",
    # The duty rota: staff's shifts, no child (its writes are audited all the same)
    ("GET", "/duty-rota"): "the duty rota: staff's shifts, no child",
    ("GET", "/duty-rota/now"): "who is on duty now: staff's work numbers, no child",
    # Group series: made before anyone joins, listed by counts (their writes and reads of a roster are audited)
    ("POST", "/group-series"): "a series and its sessions, no child on the roster yet (audited all the same)",
    ("GET", "/group-series"): "series in brief: counts of sessions and children, no child named",
    ("POST", "/duty-rota"): "the duty rota: staff's shifts, no child",
    ("PATCH", "/duty-rota/<uuid:shift_id>"): "the duty rota: staff's shifts, no child",
    ("DELETE", "/duty-rota/<uuid:shift_id>"): "the duty rota: staff's shifts, no child",
    # Staff accounts and signing in
    ("POST", "/auth/sign-in"): "staff accounts",
    ("POST", "/auth/refresh"): "staff accounts",
    ("POST", "/auth/sign-out"): "staff accounts",
    ("GET", "/auth/me"): "staff accounts",
    ("POST", "/auth/mfa/verify"): "staff accounts (a sign-in's second step; a recovery code's use is audited)",
    ("POST", "/auth/mfa/enrolment"): "staff accounts (an authenticator set up while signing in)",
    ("POST", "/auth/mfa/enrolment/confirm"): "staff accounts (audited: app_user.mfa_enrol, tests/api/test_mfa.py)",
    ("POST", "/auth/me/mfa/enrolment"): "staff accounts (an authenticator set up of one's own accord)",
    ("POST", "/auth/me/mfa/enrolment/confirm"): "staff accounts (audited: app_user.mfa_enrol)",
    ("POST", "/users/<uuid:user_id>/mfa/reset"): "staff accounts (audited: app_user.mfa_reset, tests/api/test_mfa.py)",
    ("GET", "/users"): "staff accounts",
    ("POST", "/users"): "staff accounts",
    ("PATCH", "/users/<uuid:user_id>"): "staff accounts",
    ("POST", "/users/<uuid:user_id>/revoke-sign-ins"): "staff accounts",
    ("POST", "/users/<uuid:user_id>/unlock"): "staff accounts",
    ("GET", "/dashboard/sign-in"): "staff accounts (the dashboard page's sign-in form)",
    ("POST", "/dashboard/sign-in"): "staff accounts (the dashboard page's sign-in form)",
    ("POST", "/dashboard/sign-out"): "staff accounts (the dashboard page's sign-out button)",
    # The audit log itself: reading it is not audited, or every read would add to what it reads
    ("GET", "/audit-events"): "the audit log itself (admins only)",
    # Machinery
    ("GET", "/healthz"): "health probe",
    ("GET", "/readyz"): "health probe",
    ("GET", "/metrics"): "operational metrics: counts and times, no personal data",
    ("GET", "/openapi.json"): "API documentation",
    ("GET", "/docs"): "API documentation",
    ("GET", "/redoc"): "API documentation",
    ("GET", "/docs/static/<path:filename>"): "static files (the API docs' Swagger UI and ReDoc)",
    ("GET", "/static/<path:filename>"): "static files",
    ("GET", "/c/static/<path:filename>"): "static files (the check-in page's stylesheet)",
    ("GET", "/dashboard/static/<path:filename>"): "static files (the dashboard page's)",
    ("GET", "/app"): "the mentors' app's shell page: static code, no data (its data comes from the API)",
    ("GET", "/app/manifest.webmanifest"): "the mentors' app's web app manifest",
    ("GET", "/app/sw.js"): "the mentors' app's service worker script",
    ("GET", "/app/static/<path:filename>"): "static files (the mentors' app's code, styles and icons)",
}

# Added by other work in progress: classified already; absent from the app until it lands.
NOT_YET_LIVE: set[Op] = {
    ("GET", f"/children/{CHILD}/subject-access-export"),
    ("POST", "/users/<uuid:user_id>/unlock"),
}


def live_operations(app: Flask) -> set[Op]:
    return {
        (method, rule.rule)
        for rule in app.url_map.iter_rules()
        for method in rule.methods or ()
        if method not in {"HEAD", "OPTIONS"}
    }


def test_the_two_tables_do_not_overlap():
    assert set(CHILD_LEVEL) & set(NOT_CHILD_LEVEL) == set()


def test_every_operation_is_classified(app):
    live = live_operations(app)
    classified = set(CHILD_LEVEL) | set(NOT_CHILD_LEVEL)

    assert sorted(live - classified) == [], (
        "new operations: add each to CHILD_LEVEL (with a scenario) or NOT_CHILD_LEVEL"
    )
    assert sorted(classified - live - NOT_YET_LIVE) == [], "the tables name operations the app no longer has"


def test_every_documented_path_is_a_live_operation(app):
    """The OpenAPI document and the url map agree, so walking the url map walks the whole API."""
    spec = app.extensions["flask-smorest"]["apis"][""]["ext_obj"].spec.to_dict()
    documented = {
        (method.upper(), path)
        for path, operations in spec["paths"].items()
        for method in operations
        if method in {"get", "post", "put", "patch", "delete"}
    }
    live = {
        (method, rule.replace("<uuid:", "{").replace("<", "{").replace(">", "}"))
        for method, rule in live_operations(app)
    }

    assert documented - live == set()


SCENARIOS = [
    pytest.param(op, scenario, id=f"{op[0]} {op[1]} [{scenario.__name__}]")
    for op, scenarios in CHILD_LEVEL.items()
    for scenario in scenarios
]


def audit_rows(db_session: Session) -> dict[uuid.UUID, StoredRow]:
    db_session.expire_all()
    rows = {
        event.id: (
            event.actor_user_id,
            event.actor_role,
            event.action,
            event.record_type,
            event.record_id,
            event.child_id,
            event.occurred_at,
        )
        for event in db_session.scalars(select(AuditEvent))
    }
    # Ends the read's transaction: on PostgreSQL an open one would hold back what the sync feed may serve.
    db_session.commit()
    return rows


# On PostgreSQL the sync feed serves only changes from finished transactions, so inside the rolled-back
# transaction every other scenario uses it would show nothing: it is proved on a committed database below.
NEEDS_COMMITTED_DATABASE: set[Op] = {("GET", "/sync")}


@pytest.mark.parametrize(("op", "scenario"), SCENARIOS)
def test_the_operation_leaves_exactly_its_audit_rows(
    op: Op,
    scenario: Scenario,
    world: World,
    client: FlaskClient,
    app: Flask,
    backend: str,
    monkeypatch: pytest.MonkeyPatch,
):
    if op in NOT_YET_LIVE and op not in live_operations(app):
        pytest.skip(f"{op[0]} {op[1]} is not in this build yet")
    if op in NEEDS_COMMITTED_DATABASE and backend == "postgresql":
        pytest.skip("proved by test_the_sync_feed_leaves_exactly_its_audit_rows_on_a_committed_database")
    monkeypatch.setitem(app.config, "TWILIO_AUTH_TOKEN", AUTH_TOKEN)
    monkeypatch.setitem(app.config, "PUBLIC_BASE_URL", PUBLIC_BASE_URL)
    call_and_compare(world, client, scenario(world))


@pytest.mark.serial
def test_the_sync_feed_leaves_exactly_its_audit_rows_on_a_committed_database(
    committed_db_session: Session, committed_app: Flask, committed_client: FlaskClient, clock: FixedClock
):
    world = build_world(committed_db_session, committed_app, clock)
    settle(committed_db_session)

    call_and_compare(world, committed_client, read_changes(world))


def settle(db_session: Session) -> None:
    """Wait (up to a minute) until PostgreSQL may serve the world's changes: every older write transaction on
    the server has finished. As tests/api/test_sync.py does; another run's open transaction only slows this."""
    if db_session.get_bind().dialect.name != "postgresql":
        return
    deadline = time.monotonic() + 60
    while True:
        newest = db_session.scalar(select(func.max(ChangeEvent.txid)))
        horizon = db_session.scalar(text("SELECT pg_snapshot_xmin(pg_current_snapshot())::text::bigint"))
        db_session.rollback()
        if newest is None or horizon > newest or time.monotonic() > deadline:
            return
        time.sleep(0.05)


def call_and_compare(world: World, client: FlaskClient, call: Call) -> None:
    before = audit_rows(world.db)

    if call.twilio:
        response = twilio_post(client, call.path, call.data)
    else:
        headers = dict(call.headers)
        if call.user is not None:
            headers |= auth_headers(world.db, call.user, now=world.now)
        response = client.open(
            call.path,
            method=call.method,
            json=call.json,
            data=call.data,
            query_string=call.query,
            content_type=call.content_type,
            headers=headers,
        )

    assert response.status_code == call.status, response.get_data(as_text=True)[:2000]
    after = audit_rows(world.db)
    appeared = [event for event_id, event in after.items() if event_id not in before]
    assert Counter(event[:6] for event in appeared) == Counter(call.expected(response))
    assert {event[6] for event in appeared} <= {world.now}


# --- Found on the way (outside this file's remit) ---------------------------------------------------------------


def test_a_stop_reaches_the_mentors_phones_as_a_change_to_the_child(
    world: World, client: FlaskClient, app: Flask, monkeypatch: pytest.MonkeyPatch
):
    monkeypatch.setitem(app.config, "TWILIO_AUTH_TOKEN", AUTH_TOKEN)
    monkeypatch.setitem(app.config, "PUBLIC_BASE_URL", PUBLIC_BASE_URL)
    before = set(world.db.scalars(select(ChangeEvent.id).where(ChangeEvent.child_id == world.child.id)))

    response = twilio_post(client, INBOUND, {"From": world.phone.e164, "To": "+447700900999", "Body": "STOP"})

    assert response.status_code == 200
    world.db.expire_all()
    after = world.db.scalars(
        select(ChangeEvent).where(ChangeEvent.child_id == world.child.id, ChangeEvent.id.not_in(before))
    ).all()
    # The consent, and the contact_lost alert it raised (alerts reach the key worker's phone too).
    assert [(change.entity_type, change.entity_id) for change in after] == [
        ("child", world.child.id),
        ("alert", alert_about(world, AlertKind.CONTACT_LOST)),
    ]
