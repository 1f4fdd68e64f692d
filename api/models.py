"""Imports every domain's models so Base.metadata is complete (for Alembic and relationship resolution)."""

from api.accounts.models import AppUser, AuthSession, RefreshToken
from api.audit.models import AuditEvent
from api.caseloads.models import Allocation
from api.children.models import Child, ContactConsent, PhoneNumber
from api.db import Base
from api.enrolments.models import Enrolment
from api.programmes.models import Cohort, Programme
from api.referrals.models import Referral

__all__ = [
    "Allocation",
    "AppUser",
    "AuditEvent",
    "AuthSession",
    "Base",
    "Child",
    "Cohort",
    "ContactConsent",
    "Enrolment",
    "PhoneNumber",
    "Programme",
    "Referral",
    "RefreshToken",
]
