"""Imports every domain's models so Base.metadata is complete (for Alembic and relationship resolution)."""

from api.accounts.models import AppUser, AuthSession, RefreshToken
from api.alerts.models import Alert
from api.audit.models import AuditEvent
from api.caseloads.models import Allocation
from api.changes.models import ChangeEvent, ReminderRecheck
from api.children.models import Child, ContactConsent, PhoneNumber
from api.db import Base
from api.duty.models import DutyShift
from api.enrolments.models import Enrolment
from api.groups.models import GroupSeries, SeriesMember
from api.health.models import JobHeartbeat
from api.idempotency.models import IdempotencyRecord
from api.missing.models import MissingEpisode, ReturnConversation
from api.outbox.models import OutboundMessage
from api.outcomes.models import DeflatorIndex, DeflatorSeries, OutcomeEvent, OutcomeSetting, UnitCost
from api.programmes.models import Cohort, Programme
from api.referrals.models import Referral
from api.reminders.models import ReminderSweep
from api.schedules.models import SessionPattern
from api.sessions.models import (
    LoneWorkingCheck,
    MentoringSession,
    SessionAttendee,
    SessionCarer,
    WeeklyCapOverride,
)
from api.sms.models import EarlyStatusReport
from api.wellbeing.models import CheckIn, CheckInInvitation, CheckInResponse, CheckInScore, Goal

__all__ = [
    "Alert",
    "Allocation",
    "AppUser",
    "AuditEvent",
    "AuthSession",
    "Base",
    "ChangeEvent",
    "CheckIn",
    "CheckInInvitation",
    "CheckInResponse",
    "CheckInScore",
    "Child",
    "Cohort",
    "ContactConsent",
    "DeflatorIndex",
    "DeflatorSeries",
    "DutyShift",
    "EarlyStatusReport",
    "Enrolment",
    "Goal",
    "GroupSeries",
    "IdempotencyRecord",
    "JobHeartbeat",
    "LoneWorkingCheck",
    "MentoringSession",
    "MissingEpisode",
    "OutboundMessage",
    "OutcomeEvent",
    "OutcomeSetting",
    "PhoneNumber",
    "Programme",
    "Referral",
    "RefreshToken",
    "ReminderRecheck",
    "ReminderSweep",
    "ReturnConversation",
    "SeriesMember",
    "SessionAttendee",
    "SessionCarer",
    "SessionPattern",
    "UnitCost",
    "WeeklyCapOverride",
]
