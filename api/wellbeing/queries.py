"""Read-only selects for check-ins, goals and check-in links (and the child's row lock that orders their writes)."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from zoneinfo import ZoneInfo

from sqlalchemy import ColumnElement, func, select
from sqlalchemy.orm import Session

from api.actors import Actor
from api.alerts.models import Alert
from api.children.models import Child, PhoneNumber
from api.children.queries import consents_in_force, current_phone_numbers, visible_to
from api.children.rules import ContactChannel, PhoneOwner, age_on
from api.enrolments.models import Enrolment
from api.enrolments.rules import EnrolmentStatus
from api.pagination import Page, Window, page_of
from api.programmes.models import Cohort, Programme
from api.sessions.models import SessionAttendee
from api.wellbeing.goal_rules import GoalStatus
from api.wellbeing.models import CheckIn, CheckInInvitation, CheckInResponse, CheckInScore, Goal
from api.wellbeing.scoring import ScoreKind


@dataclass(frozen=True)
class StoredScores:
    responses: dict[str, int]
    goal_ids: dict[str, uuid.UUID]
    raw: dict[str, Decimal]
    derived: dict[str, Decimal]


def lock_child(db_session: Session, child_id: uuid.UUID) -> None:
    """Serialise a child's check-ins and goal changes, so two at once both see the same baseline and goals."""
    db_session.execute(select(Child.id).where(Child.id == child_id).with_for_update())


def programme_zone(db_session: Session, child: Child) -> ZoneInfo:
    """The time zone of the child's programme: the child's own calendar."""
    return ZoneInfo(db_session.get_one(Programme, child.programme_id).time_zone)


def child_age(db_session: Session, child: Child, now: datetime) -> int:
    return age_on(child.date_of_birth, now.astimezone(programme_zone(db_session, child)).date())


def child_mobile_for_links(db_session: Session, *, child_id: uuid.UUID) -> PhoneNumber | None:
    """The child's own mobile, if the child's consent to SMS is in force: a link never goes to a carer's phone."""
    consent = consents_in_force(db_session, child_id=child_id).get(ContactChannel.SMS_TO_CHILD)
    if consent is None or not consent.granted:
        return None
    own = [
        number
        for number in current_phone_numbers(db_session, child_id=child_id)
        if number.belongs_to is PhoneOwner.CHILD
    ]
    return max(own, key=lambda number: number.created_at, default=None)


def get_visible_check_in(db_session: Session, *, actor: Actor, check_in_id: uuid.UUID) -> CheckIn | None:
    return db_session.scalar(
        select(CheckIn).join(Child, Child.id == CheckIn.child_id).where(CheckIn.id == check_in_id, visible_to(actor))
    )


def get_visible_goal(db_session: Session, *, actor: Actor, goal_id: uuid.UUID, for_update: bool = False) -> Goal | None:
    query = select(Goal).join(Child, Child.id == Goal.child_id).where(Goal.id == goal_id, visible_to(actor))
    if for_update:
        query = query.with_for_update(of=Goal)
    return db_session.scalar(query)


def get_visible_invitation(
    db_session: Session, *, actor: Actor, invitation_id: uuid.UUID, for_update: bool = False
) -> CheckInInvitation | None:
    query = (
        select(CheckInInvitation)
        .join(Child, Child.id == CheckInInvitation.child_id)
        .where(CheckInInvitation.id == invitation_id, visible_to(actor))
    )
    if for_update:
        query = query.with_for_update(of=CheckInInvitation)
    return db_session.scalar(query)


def invitation_by_token_hash(
    db_session: Session, *, token_hash: str, for_update: bool = False
) -> CheckInInvitation | None:
    query = select(CheckInInvitation).where(CheckInInvitation.token_hash == token_hash)
    if for_update:
        query = query.with_for_update()
    return db_session.scalar(query)


def list_check_ins(db_session: Session, *, child_id: uuid.UUID, instrument_key: str | None = None) -> Sequence[CheckIn]:
    """Oldest first: the first of each instrument is the child's baseline for it."""
    query = select(CheckIn).where(CheckIn.child_id == child_id)
    if instrument_key is not None:
        query = query.where(CheckIn.instrument_key == instrument_key)
    return db_session.scalars(query.order_by(CheckIn.completed_at, CheckIn.id)).all()


def latest_completed_at(db_session: Session, *, child_id: uuid.UUID, instrument_key: str) -> datetime | None:
    """When the child last completed this instrument."""
    return db_session.scalar(
        select(func.max(CheckIn.completed_at)).where(
            CheckIn.child_id == child_id, CheckIn.instrument_key == instrument_key
        )
    )


def check_ins_from_invitation(db_session: Session, *, invitation_id: uuid.UUID) -> Sequence[CheckIn]:
    return db_session.scalars(select(CheckIn).where(CheckIn.invitation_id == invitation_id)).all()


def page_of_check_ins(db_session: Session, *, child_id: uuid.UUID, window: Window) -> Page[CheckIn]:
    """Newest first, for a history list."""
    return page_of(
        db_session,
        select(CheckIn).where(CheckIn.child_id == child_id),
        order_by=(CheckIn.completed_at.desc(), CheckIn.id.desc()),
        window=window,
    )


def stored_scores(db_session: Session, *, check_in_ids: Sequence[uuid.UUID]) -> dict[uuid.UUID, StoredScores]:
    found = {check_in_id: StoredScores({}, {}, {}, {}) for check_in_id in check_in_ids}
    if not check_in_ids:
        return found
    for response in db_session.scalars(select(CheckInResponse).where(CheckInResponse.check_in_id.in_(check_in_ids))):
        found[response.check_in_id].responses[response.item_key] = response.response
        if response.goal_id is not None:
            found[response.check_in_id].goal_ids[response.item_key] = response.goal_id
    for score in db_session.scalars(select(CheckInScore).where(CheckInScore.check_in_id.in_(check_in_ids))):
        target = found[score.check_in_id].raw if score.kind is ScoreKind.RAW else found[score.check_in_id].derived
        target[score.measure] = Decimal(score.value)
    return found


def goals_of_child(db_session: Session, *, child_id: uuid.UUID) -> Sequence[Goal]:
    return db_session.scalars(
        select(Goal).where(Goal.child_id == child_id).order_by(Goal.created_at, Goal.slot, Goal.id)
    ).all()


def active_goals(db_session: Session, *, child_id: uuid.UUID) -> dict[int, Goal]:
    """The child's active goals by their place (1 to 3)."""
    goals = db_session.scalars(select(Goal).where(Goal.child_id == child_id, Goal.status == GoalStatus.ACTIVE))
    return {goal.slot: goal for goal in goals}


@dataclass(frozen=True)
class GoalRating:
    goal_id: uuid.UUID
    check_in_id: uuid.UUID
    completed_at: datetime
    rating: int


def goal_ratings(db_session: Session, *, child_id: uuid.UUID) -> dict[uuid.UUID, list[GoalRating]]:
    """Every rating of every goal of the child, oldest first."""
    return _ratings(db_session, CheckIn.child_id == child_id, CheckInResponse.goal_id.is_not(None))


def ratings_of_goals(db_session: Session, *, goal_ids: Sequence[uuid.UUID]) -> dict[uuid.UUID, list[GoalRating]]:
    """Every rating of each of the goals, oldest first, in one statement."""
    if not goal_ids:
        return {}
    return _ratings(db_session, CheckInResponse.goal_id.in_(goal_ids))


def _ratings(db_session: Session, *conditions: ColumnElement[bool]) -> dict[uuid.UUID, list[GoalRating]]:
    rows = db_session.execute(
        select(CheckInResponse.goal_id, CheckIn.id, CheckIn.completed_at, CheckInResponse.response)
        .join(CheckIn, CheckIn.id == CheckInResponse.check_in_id)
        .where(*conditions)
        .order_by(CheckIn.completed_at, CheckIn.id)
    ).all()
    ratings: dict[uuid.UUID, list[GoalRating]] = {}
    for goal_id, check_in_id, completed_at, response in rows:
        assert goal_id is not None  # every condition selects goal ratings
        ratings.setdefault(goal_id, []).append(GoalRating(goal_id, check_in_id, completed_at, response))
    return ratings


def session_has_child(db_session: Session, *, session_id: uuid.UUID, child_id: uuid.UUID) -> bool:
    found = db_session.scalar(
        select(SessionAttendee.id).where(SessionAttendee.session_id == session_id, SessionAttendee.child_id == child_id)
    )
    return found is not None


def invitations_of_child(db_session: Session, *, child_id: uuid.UUID, window: Window) -> Page[CheckInInvitation]:
    return page_of(
        db_session,
        select(CheckInInvitation).where(CheckInInvitation.child_id == child_id),
        order_by=(CheckInInvitation.created_at.desc(), CheckInInvitation.id.desc()),
        window=window,
    )


@dataclass(frozen=True)
class ScheduledCandidate:
    enrolment: Enrolment
    child: Child
    programme: Programme


def enrolments_with_check_in_routine(db_session: Session) -> list[ScheduledCandidate]:
    """Active enrolments in programmes that send scheduled check-in links."""
    rows = db_session.execute(
        select(Enrolment, Child, Programme)
        .join(Child, Child.id == Enrolment.child_id)
        .join(Cohort, Cohort.id == Enrolment.cohort_id)
        .join(Programme, Programme.id == Cohort.programme_id)
        .where(Enrolment.status == EnrolmentStatus.ACTIVE, Enrolment.started_at.is_not(None))
        .order_by(Enrolment.started_at, Enrolment.id)
    ).all()
    return [ScheduledCandidate(enrolment, child, programme) for enrolment, child, programme in rows]


def occasions_sent(db_session: Session, *, child_id: uuid.UUID, prefix: str) -> set[str]:
    """The scheduled occasions already created under one enrolment (the prefix names it)."""
    occasions = db_session.scalars(
        select(CheckInInvitation.occasion).where(
            CheckInInvitation.child_id == child_id, CheckInInvitation.occasion.startswith(prefix, autoescape=True)
        )
    )
    return {occasion.removeprefix(prefix) for occasion in occasions if occasion}


def alerts_for_check_ins(db_session: Session, *, check_in_ids: Sequence[uuid.UUID]) -> dict[uuid.UUID, uuid.UUID]:
    """The alert each check-in raised (a fall from the baseline), by check-in id."""
    if not check_in_ids:
        return {}
    rows = db_session.execute(select(Alert.check_in_id, Alert.id).where(Alert.check_in_id.in_(check_in_ids)))
    return {check_in_id: alert_id for check_in_id, alert_id in rows if check_in_id is not None}
