"""Children whose check-in links are due, for the SMS outbox's races (tests/concurrency/test_sms_races.py) and
the scheduler's SIGTERM (tests/reliability/test_scheduler_sigterm.py): each sent their first check-in link by
the scheduler, so that many queued messages, due now."""

from __future__ import annotations

import uuid
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from api.actors import Role
from api.children import service as children_service
from api.children.models import PhoneNumber
from api.children.rules import ConsentGivenBy, ContactChannel
from api.outbox.models import OutboundMessage
from api.outbox.rules import MessageState
from api.programmes.models import Programme
from api.wellbeing import invitations as wellbeing_invitations
from api.wellbeing import routine as wellbeing_routine
from api.wellbeing.instruments import SHIPPED_INSTRUMENTS, load_instruments
from tests.builders import actor_for, admit_child, make_cohort, make_user
from tests.conftest import DEFAULT_NOW, SECRET_KEY

PUBLIC_BASE_URL = "https://checkin.example.org"
INSTRUMENTS = load_instruments(SHIPPED_INSTRUMENTS, licensed_wording_file=None)


@dataclass(frozen=True)
class DueLink:
    message_id: uuid.UUID
    invitation_id: uuid.UUID
    to: str
    link: str


def due_check_in_links(db_session: Session, count: int) -> list[DueLink]:
    """`count` children with a mobile and consent to SMS, each sent their first check-in link by the scheduler:
    `count` queued messages, due now."""
    cohort = make_cohort(db_session, places=count)
    programme = db_session.get_one(Programme, cohort.programme_id)
    coordinator = make_user(db_session, Role.COORDINATOR, programme=programme)
    for _ in range(count):
        enrolment = admit_child(db_session, cohort=cohort, by=coordinator)
        children_service.record_consent(
            db_session,
            actor=actor_for(coordinator),
            child_id=enrolment.child_id,
            channel=ContactChannel.SMS_TO_CHILD,
            granted=True,
            given_by=ConsentGivenBy.CHILD,
            now=DEFAULT_NOW,
        )
    created = wellbeing_routine.invite_due_check_ins(
        db_session, instruments=INSTRUMENTS, secret_key=SECRET_KEY, now=DEFAULT_NOW
    )
    assert created == count
    links = [
        DueLink(
            message.id,
            message.check_in_invitation_id,
            db_session.get_one(PhoneNumber, message.phone_number_id).e164,
            PUBLIC_BASE_URL
            + wellbeing_invitations.link_for(
                db_session, invitation_id=message.check_in_invitation_id, secret_key=SECRET_KEY
            ),
        )
        for message in db_session.scalars(select(OutboundMessage).order_by(OutboundMessage.id))
    ]
    assert {message_state(db_session, link.message_id) for link in links} == {MessageState.QUEUED}
    db_session.rollback()  # end the read: on SQLite an open transaction holds the write lock
    assert len(links) == count and len({link.to for link in links}) == count
    return links


def message_state(db_session: Session, message_id: uuid.UUID) -> MessageState:
    return db_session.get_one(OutboundMessage, message_id).state
