"""A child with a phone of their own, consent to SMS and a mentor, and check-in links sent to them, for the
check-in page's tests (tests/api/test_check_in_page.py) and the abuse tests (tests/security/test_abuse.py): the
family, a link sent now, and one link of each kind that does not work."""

from __future__ import annotations

import secrets
import uuid
from dataclasses import dataclass

from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy.orm import Session

from api.accounts.models import AppUser
from api.actors import Role
from api.children import service as children_service
from api.children.models import Child
from api.children.rules import ConsentGivenBy, ContactChannel, NewPhoneNumber, PhoneOwner
from api.clock import FixedClock
from api.programmes.models import Programme
from api.referrals import service as referrals_service
from api.wellbeing import invitations as wellbeing_invitations
from api.wellbeing import links
from tests.builders import actor_for, allocate, make_child, make_cohort, make_programme, make_referral, make_user
from tests.conftest import DEFAULT_NOW, SECRET_KEY

FIRST_NAME = "Zebedee"
LAST_NAME = "Quillfeather"
PHONE = "+447700900417"
PROGRAMME_NAME = "Northvale Youth Violence Prevention Programme"
HELP_TEXT = "If you feel unsafe now, call 999. Childline is free on 0800 1111."
ANSWERS = {
    "ons4.life_satisfaction": "8",
    "ons4.worthwhile": "7",
    "ons4.happy_yesterday": "8",
    "ons4.anxious_yesterday": "2",
}


@dataclass
class Family:
    programme: Programme
    coordinator: AppUser
    mentor: AppUser
    child: Child


def make_family(db_session: Session) -> Family:
    """A programme with a coordinator and a mentor, and a child allocated to the mentor, with a mobile and SMS
    consent."""
    programme = make_programme(db_session, name=PROGRAMME_NAME, check_in_help_text=HELP_TEXT)
    cohort = make_cohort(db_session, programme=programme, places=5)
    coordinator = make_user(db_session, Role.COORDINATOR, programme=programme)
    mentor = make_user(db_session, Role.MENTOR, programme=programme)
    child = make_child(
        db_session,
        programme=programme,
        by=coordinator,
        first_name=FIRST_NAME,
        last_name=LAST_NAME,
        phone_numbers=[NewPhoneNumber(PHONE, PhoneOwner.CHILD)],
    )
    referral = make_referral(db_session, cohort=cohort, child=child, by=coordinator)
    accepted = referrals_service.accept_referral(
        db_session, actor=actor_for(coordinator), referral_id=referral.id, now=DEFAULT_NOW
    )
    allocate(db_session, enrolment=accepted.enrolment, mentor=mentor, by=coordinator)
    children_service.record_consent(
        db_session,
        actor=actor_for(coordinator),
        child_id=child.id,
        channel=ContactChannel.SMS_TO_CHILD,
        granted=True,
        given_by=ConsentGivenBy.CHILD,
        now=DEFAULT_NOW,
    )
    return Family(programme, coordinator, mentor, child)


@dataclass
class Link:
    invitation_id: uuid.UUID
    path: str

    @property
    def token(self) -> str:
        return self.path.removeprefix("/c/")


def send_link(db_session: Session, app: Flask, family: Family, clock: FixedClock) -> Link:
    """The mentor sends the child a link now (an ONS4 check-in)."""
    record = wellbeing_invitations.invite_check_in(
        db_session,
        actor=actor_for(family.mentor),
        instruments=app.extensions["reachable.instruments"],
        child_id=family.child.id,
        instrument_keys=["ons4"],
        secret_key=SECRET_KEY,
        now=clock.now(),
    )
    path = wellbeing_invitations.link_for(db_session, invitation_id=record.id, secret_key=SECRET_KEY)
    return Link(record.id, path)


def unknown_path() -> str:
    """A well-formed link that was never sent."""
    return "/c/" + secrets.token_urlsafe(links.TOKEN_BYTES)


def links_that_do_not_work(
    client: FlaskClient, db_session: Session, app: Flask, family: Family, clock: FixedClock
) -> dict[str, str]:
    """One path of each kind: never sent, malformed, used, withdrawn, expired."""
    used, revoked, expired = (send_link(db_session, app, family, clock) for _ in range(3))
    assert client.post(used.path, data=ANSWERS).status_code == 200
    wellbeing_invitations.revoke_invitation(
        db_session, actor=actor_for(family.mentor), invitation_id=revoked.invitation_id, now=clock.now()
    )
    clock.advance(hours=72)  # the programme's links last 72 hours
    return {
        "unknown": unknown_path(),
        "too short": "/c/" + "A" * 31,
        "too long": "/c/" + "A" * 33,
        "not base64url": "/c/" + "A" * 31 + "!",
        "dotted": "/c/" + "A" * 31 + ".",
        "used": used.path,
        "revoked": revoked.path,
        "expired": expired.path,
    }
