"""The scheduled checks' reads: one query per kind of evidence for every child at once, never one per child.

On PostgreSQL the rows a check acts on (episodes, enrolments) are locked with SKIP LOCKED, so a second scheduler
running the same check at the same moment passes over them instead of counting the same finding twice.
"""

from __future__ import annotations

import uuid
from collections import defaultdict
from collections.abc import Collection, Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, or_, select
from sqlalchemy.orm import Session

from api.children.models import Child
from api.enrolments.models import Enrolment
from api.enrolments.rules import EnrolmentStatus
from api.missing.models import MissingEpisode, ReturnConversation
from api.missing.rules import ConversationOutcome
from api.programmes.models import Programme
from api.sessions.models import MentoringSession, SessionAttendee
from api.sessions.register_rules import HOLDS_A_PLACE, Attendance
from api.watch.rules import OutstandingReturn, PastSession, SettledLink
from api.wellbeing.models import CheckInInvitation

# A child's sessions that count towards "in a row", by their line of the register: attended, did not attend, or still
# booked though the session's time has gone (not planned as held, or a group register not taken). Only `attended`
# breaks a run: a child who missed a group session that others came to has missed it.
COUNTED_LINES = HOLDS_A_PLACE


def _on_postgresql(db_session: Session) -> bool:
    return db_session.get_bind().dialect.name == "postgresql"


@dataclass(frozen=True)
class ChildReturns:
    child_id: uuid.UUID
    programme_id: uuid.UUID
    outstanding: list[OutstandingReturn]


def outstanding_returns(db_session: Session, *, returned_since: datetime, now: datetime) -> list[ChildReturns]:
    """Children back from missing since `returned_since` whose return conversation is not held: none recorded, or
    offered and not completed. A declined one is closed (the child said no; nothing is left to chase), as on the
    coordinators' outstanding list."""
    query = (
        select(MissingEpisode.id, MissingEpisode.child_id, MissingEpisode.returned_at, Child.programme_id)
        .join(Child, Child.id == MissingEpisode.child_id)
        .outerjoin(ReturnConversation, ReturnConversation.missing_episode_id == MissingEpisode.id)
        .where(
            MissingEpisode.returned_at.is_not(None),
            MissingEpisode.returned_at >= returned_since,
            MissingEpisode.returned_at <= now,
            ReturnConversation.completed_at.is_(None),
            or_(ReturnConversation.id.is_(None), ReturnConversation.outcome != ConversationOutcome.DECLINED),
        )
        .order_by(MissingEpisode.child_id, MissingEpisode.returned_at, MissingEpisode.id)
    )
    if _on_postgresql(db_session):
        query = query.with_for_update(of=MissingEpisode, skip_locked=True)
    by_child: dict[uuid.UUID, ChildReturns] = {}
    for episode_id, child_id, returned_at, programme_id in db_session.execute(query):
        assert returned_at is not None  # the query asks for returns
        entry = by_child.setdefault(child_id, ChildReturns(child_id, programme_id, []))
        entry.outstanding.append(OutstandingReturn(episode_id, returned_at))
    return list(by_child.values())


@dataclass(frozen=True)
class ActiveEnrolment:
    enrolment_id: uuid.UUID
    child_id: uuid.UUID
    programme_id: uuid.UUID
    started_at: datetime


def active_enrolments(db_session: Session, *, now: datetime) -> list[ActiveEnrolment]:
    """One active, started enrolment per child (the latest started, should a child hold two): one open alert per
    child, so one enrolment's evidence speaks for the child and repeated runs keep reading the same one."""
    query = (
        select(Enrolment.id, Enrolment.child_id, Child.programme_id, Enrolment.started_at)
        .join(Child, Child.id == Enrolment.child_id)
        .where(
            Enrolment.status == EnrolmentStatus.ACTIVE,
            Enrolment.started_at.is_not(None),
            Enrolment.started_at <= now,
        )
        .order_by(Enrolment.child_id, Enrolment.started_at, Enrolment.id)
    )
    if _on_postgresql(db_session):
        query = query.with_for_update(of=Enrolment, skip_locked=True)
    by_child: dict[uuid.UUID, ActiveEnrolment] = {}
    for enrolment_id, child_id, programme_id, started_at in db_session.execute(query):
        assert started_at is not None  # the query asks for started enrolments
        by_child[child_id] = ActiveEnrolment(enrolment_id, child_id, programme_id, started_at)
    return list(by_child.values())


def recent_past_sessions(
    db_session: Session, *, enrolment_ids: Collection[uuid.UUID], per_enrolment: int, now: datetime
) -> dict[uuid.UUID, list[PastSession]]:
    """Each enrolment's last `per_enrolment` sessions whose planned end has passed, newest first."""
    if not enrolment_ids or per_enrolment <= 0:
        return {}
    ranked = (
        select(
            SessionAttendee.enrolment_id,
            SessionAttendee.session_id,
            SessionAttendee.planned_start_at,
            SessionAttendee.attendance,
            func.row_number()
            .over(
                partition_by=SessionAttendee.enrolment_id,
                order_by=(SessionAttendee.planned_start_at.desc(), SessionAttendee.session_id.desc()),
            )
            .label("position"),
        )
        .join(MentoringSession, MentoringSession.id == SessionAttendee.session_id)
        .where(
            SessionAttendee.enrolment_id.in_(list(enrolment_ids)),
            SessionAttendee.attendance.in_(COUNTED_LINES),
            MentoringSession.planned_end_at <= now,
        )
        .subquery()
    )
    rows = db_session.execute(
        select(ranked.c.enrolment_id, ranked.c.session_id, ranked.c.planned_start_at, ranked.c.attendance)
        .where(ranked.c.position <= per_enrolment)
        .order_by(ranked.c.enrolment_id, ranked.c.position)
    )
    sessions: dict[uuid.UUID, list[PastSession]] = defaultdict(list)
    for enrolment_id, session_id, planned_start_at, attendance in rows:
        sessions[enrolment_id].append(PastSession(session_id, planned_start_at, attendance == Attendance.ATTENDED))
    return sessions


def last_completed_sessions(
    db_session: Session, *, enrolment_ids: Collection[uuid.UUID], now: datetime
) -> dict[uuid.UUID, datetime]:
    """When each enrolment's latest session the child attended was planned to start."""
    if not enrolment_ids:
        return {}
    rows = db_session.execute(
        select(SessionAttendee.enrolment_id, func.max(SessionAttendee.planned_start_at))
        .where(
            SessionAttendee.enrolment_id.in_(list(enrolment_ids)),
            SessionAttendee.attendance == Attendance.ATTENDED,
            SessionAttendee.planned_start_at <= now,
        )
        .group_by(SessionAttendee.enrolment_id)
    )
    return {enrolment_id: latest for enrolment_id, latest in rows if latest is not None}


def recent_settled_links(
    db_session: Session, *, enrolment_ids: Collection[uuid.UUID], per_enrolment: int, now: datetime
) -> dict[uuid.UUID, list[SettledLink]]:
    """Each enrolment's child's last `per_enrolment` check-in links created since the enrolment started that were
    answered or have expired, newest first. Revoked links and links still open are neither."""
    if not enrolment_ids or per_enrolment <= 0:
        return {}
    ranked = (
        select(
            Enrolment.id.label("enrolment_id"),
            CheckInInvitation.id.label("invitation_id"),
            CheckInInvitation.created_at,
            CheckInInvitation.expires_at,
            CheckInInvitation.completed_at,
            func.row_number()
            .over(
                partition_by=Enrolment.id,
                order_by=(CheckInInvitation.created_at.desc(), CheckInInvitation.id.desc()),
            )
            .label("position"),
        )
        .join(Enrolment, Enrolment.child_id == CheckInInvitation.child_id)
        .where(
            Enrolment.id.in_(list(enrolment_ids)),
            CheckInInvitation.created_at >= Enrolment.started_at,
            CheckInInvitation.revoked_at.is_(None),
            or_(CheckInInvitation.completed_at.is_not(None), CheckInInvitation.expires_at <= now),
        )
        .subquery()
    )
    rows = db_session.execute(
        select(
            ranked.c.enrolment_id,
            ranked.c.invitation_id,
            ranked.c.created_at,
            ranked.c.expires_at,
            ranked.c.completed_at,
        )
        .where(ranked.c.position <= per_enrolment)
        .order_by(ranked.c.enrolment_id, ranked.c.position)
    )
    links: dict[uuid.UUID, list[SettledLink]] = defaultdict(list)
    for enrolment_id, invitation_id, created_at, expires_at, completed_at in rows:
        links[enrolment_id].append(SettledLink(invitation_id, created_at, expires_at, completed_at is not None))
    return links


def programmes(db_session: Session, programme_ids: Collection[uuid.UUID]) -> Sequence[Programme]:
    if not programme_ids:
        return []
    return db_session.scalars(select(Programme).where(Programme.id.in_(list(programme_ids)))).all()
