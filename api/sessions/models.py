from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import JSON, ForeignKey, Index, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from api.db import Base, new_id
from api.enums import enum_column_type
from api.sessions.register_rules import Attendance, CarerRelationship
from api.sessions.rules import LocationCategory, LoneWorkingClosedHow, SessionKind, SessionStatus


class MentoringSession(Base):
    """A planned or delivered meeting. (Named so it is never confused with a database session.)"""

    __tablename__ = "mentoring_session"

    # Phones may generate the id offline; a retried create with the same id is recognised.
    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=new_id)
    programme_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("programme.id"))
    mentor_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("app_user.id"))
    kind: Mapped[SessionKind] = mapped_column(enum_column_type(SessionKind, "session_kind"))
    location_category: Mapped[LocationCategory] = mapped_column(
        enum_column_type(LocationCategory, "session_location_category")
    )
    status: Mapped[SessionStatus] = mapped_column(enum_column_type(SessionStatus, "session_status"))
    planned_start_at: Mapped[datetime]
    planned_end_at: Mapped[datetime]
    # The ISO week of planned_start_at in the programme's time zone ("2026-W48"): the weekly cap's key,
    # stored because ISO weeks in a local time zone cannot be computed portably in SQL.
    local_week: Mapped[str] = mapped_column(String(8))
    actual_duration_minutes: Mapped[int | None]
    activities: Mapped[list[str] | None] = mapped_column(JSON)
    # Sensitive: only the mentor, coordinators and admins see notes, and every read is audited.
    notes: Mapped[str | None] = mapped_column(Text)
    pattern_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("session_pattern.id"))
    # A group session that is one of a series' (api/groups).
    series_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("group_series.id"))
    rescheduled_to_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("mentoring_session.id"))
    # Changes whenever the session does: the ETag, so a stale edit from a phone is refused, not applied.
    version: Mapped[int] = mapped_column(default=1)
    created_at: Mapped[datetime]
    created_by_user_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("app_user.id"))
    updated_at: Mapped[datetime]
    updated_by_user_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("app_user.id"))


Index("ix_mentoring_session_pattern_id", MentoringSession.pattern_id)
Index("ix_mentoring_session_series_id", MentoringSession.series_id)
# The reminder sweep reads the sessions entering its horizon by start time, whatever their programme (migration
# 20261206_e8b2c4f6a1d3).
Index("ix_mentoring_session_planned_start_at", MentoringSession.planned_start_at)
Index("ix_mentoring_session_mentor_id_planned_start_at", MentoringSession.mentor_id, MentoringSession.planned_start_at)
# The dashboards read one programme's sessions in a period, by status (migration 9b3e2c41d7a5).
Index(
    "ix_mentoring_session_programme_id_planned_start_at_status",
    MentoringSession.programme_id,
    MentoringSession.planned_start_at,
    MentoringSession.status,
)


class SessionAttendee(Base):
    """One enrolled child at one session, and whether they came: the session's register line (register_rules.py).
    One row for a one-to-one session, several for a group."""

    __tablename__ = "session_attendee"
    __table_args__ = (
        UniqueConstraint("session_id", "enrolment_id", name="uq_session_attendee_session_id_enrolment_id"),
    )

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=new_id)
    session_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("mentoring_session.id", ondelete="CASCADE"))
    enrolment_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("enrolment.id"))
    child_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("child.id"))
    # Copied from the session so the weekly cap is one indexed count per child and week.
    local_week: Mapped[str] = mapped_column(String(8))
    # Copied from the session (status kept in step by the sessions service, which alone changes it) so the
    # dashboards count a programme's sessions by what happened to them from this table's index alone: reaching each
    # session row instead means one random page read per attendance (bench/README.md, migration 7c1d2e3f4a5b).
    status: Mapped[SessionStatus] = mapped_column(enum_column_type(SessionStatus, "session_status"))
    # This child's line of the register: what every count of attendance reads (migration 8a4c2e6f1b37).
    attendance: Mapped[Attendance] = mapped_column(enum_column_type(Attendance, "session_attendance"))
    arrived_at: Mapped[datetime | None]
    left_at: Mapped[datetime | None]
    planned_start_at: Mapped[datetime]
    # In the programme's time zone, decided once when the session is planned (as local_week is).
    starts_in_evening: Mapped[bool]
    starts_at_weekend: Mapped[bool]


Index("ix_session_attendee_child_id_local_week", SessionAttendee.child_id, SessionAttendee.local_week)
Index("ix_session_attendee_session_id", SessionAttendee.session_id)
# The dashboards read a programme's attendances through its enrolments, by period: on PostgreSQL an index-only
# scan, so the columns they count (the session's status and the child's attendance) are included.
Index(
    "ix_session_attendee_enrolment_id_planned_start_at",
    SessionAttendee.enrolment_id,
    SessionAttendee.planned_start_at,
    postgresql_include=["status", "attendance", "session_id", "starts_in_evening", "starts_at_weekend"],
)


class SessionCarer(Base):
    """A parent or carer who came to a session (a series' introductory session for parents and carers, say). Carers
    are not children: they hold no place, have no register line and count towards no cap. No name is kept: whose
    carer they are (when a child on the register is named) and how they are related say enough."""

    __tablename__ = "session_carer"

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=new_id)
    session_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("mentoring_session.id", ondelete="CASCADE"))
    relationship: Mapped[CarerRelationship] = mapped_column(
        enum_column_type(CarerRelationship, "session_carer_relationship")
    )
    # The child on the session's register they care for, if one is named.
    child_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("child.id"))
    recorded_at: Mapped[datetime]
    recorded_by_user_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("app_user.id"))


Index("ix_session_carer_session_id", SessionCarer.session_id)


class WeeklyCapOverride(Base):
    """A coordinator's decision that one child may have more sessions in one exceptional week."""

    __tablename__ = "weekly_cap_override"
    __table_args__ = (
        UniqueConstraint("enrolment_id", "local_week", name="uq_weekly_cap_override_enrolment_id_local_week"),
    )

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=new_id)
    enrolment_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("enrolment.id"))
    local_week: Mapped[str] = mapped_column(String(8))
    max_sessions: Mapped[int]
    reason: Mapped[str] = mapped_column(Text)
    created_by_user_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("app_user.id"))
    created_at: Mapped[datetime]


class LoneWorkingCheck(Base):
    """A mentor working alone at a session, who must check in by a time: texted at it if they have not, and the
    duty coordinator alerted a little later (api/sessions/lone_working.py).

    Its own table rather than columns on mentoring_session: the scheduler locks these rows every minute (SKIP
    LOCKED), which never holds up a mentor editing the session; the open checks are found from a small partial
    index instead of a scan of every session; and the job's marks never touch the session's version (its ETag)."""

    __tablename__ = "lone_working_check"

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=new_id)
    session_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("mentoring_session.id", ondelete="CASCADE"), unique=True)
    programme_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("programme.id"))
    mentor_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("app_user.id"))
    check_in_by: Mapped[datetime]
    started_at: Mapped[datetime]
    closed_at: Mapped[datetime | None]
    closed_how: Mapped[LoneWorkingClosedHow | None] = mapped_column(
        enum_column_type(LoneWorkingClosedHow, "lone_working_closed_how")
    )
    mentor_texted_at: Mapped[datetime | None]
    # Set once, when the overdue alert is raised, so the job never raises it again for this session.
    alert_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("alert.id"))
    alert_raised_at: Mapped[datetime | None]


# The scheduler's every-minute question: which open checks are past their time (PostgreSQL and SQLite alike).
Index(
    "ix_lone_working_check_open_check_in_by",
    LoneWorkingCheck.check_in_by,
    postgresql_where=LoneWorkingCheck.closed_at.is_(None),
    sqlite_where=LoneWorkingCheck.closed_at.is_(None),
)
