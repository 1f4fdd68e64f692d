"""Retention: how long each kind of record is kept, and the moment before which it goes.

Retention is configurable per record type, and every purge is logged (docs/domain.md, "Privacy and retention").
The days per type come from RETENTION_DAYS (api/config.py, which says why each default is what it is); SMS
follow SMS_RETENTION_DAYS unless RETENTION_DAYS names them. Children's case
records are not a type here: they are kept for years, and nothing in this product decides when they end.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

REFRESH_TOKEN = "refresh_token"
SIGN_IN_SOURCE = "sign_in_source"
IDEMPOTENCY_RECORD = "idempotency_record"
CHECK_IN_LINK_TOKEN = "check_in_link_token"
SMS_MESSAGE = "sms_message"
AUDIT_EVENT = "audit_event"
RECORD_TYPES = (REFRESH_TOKEN, SIGN_IN_SOURCE, IDEMPOTENCY_RECORD, CHECK_IN_LINK_TOKEN, SMS_MESSAGE, AUDIT_EVENT)
# Nothing younger than a day is ever purged: a typo of 0 must not empty a table that is still in use.
MIN_RETENTION_DAYS = 1


class InvalidRetention(ValueError):
    """RETENTION_DAYS names an unknown record type or gives a number of days that is not a whole number >= 1."""


@dataclass(frozen=True)
class RetentionPolicy:
    """Days kept, per record type."""

    days: tuple[tuple[str, int], ...]

    def days_for(self, record_type: str) -> int:
        return dict(self.days)[record_type]

    def cutoffs(self, now: datetime) -> dict[str, datetime]:
        """Per record type, the moment before which its records go."""
        return {record_type: now - timedelta(days=days) for record_type, days in self.days}


def retention_policy(
    configured: Mapping[str, Any], *, defaults: Mapping[str, int], sms_retention_days: int
) -> RetentionPolicy:
    """The configured days over the defaults (an operator names only the types they change)."""
    if not isinstance(configured, Mapping):
        raise InvalidRetention('RETENTION_DAYS must map record types to days, e.g. {"audit_event": 2557}.')
    merged: dict[str, Any] = {SMS_MESSAGE: sms_retention_days, **defaults, **configured}
    unknown = sorted(set(merged) - set(RECORD_TYPES))
    if unknown:
        raise InvalidRetention(
            f"RETENTION_DAYS names unknown record types {unknown}; known: {', '.join(RECORD_TYPES)}."
        )
    missing = [record_type for record_type in RECORD_TYPES if record_type not in merged]
    if missing:
        raise InvalidRetention(f"RETENTION_DAYS has no days for {', '.join(missing)}.")
    for record_type, days in merged.items():
        if isinstance(days, bool) or not isinstance(days, int) or days < MIN_RETENTION_DAYS:
            raise InvalidRetention(
                f"RETENTION_DAYS[{record_type!r}] must be a whole number of days, at least {MIN_RETENTION_DAYS}."
            )
    return RetentionPolicy(tuple((record_type, int(merged[record_type])) for record_type in RECORD_TYPES))


# The subject-access export: each section -> the table its rows come from (every column of it, except the few
# secrets api/privacy/service.py withholds). A table that holds a child's data and is missing here is missing from
# the export (tests/security/test_subject_access.py finds such tables from the metadata).
SECTION_TABLES = {
    "phone_numbers": "phone_number",
    "contact_consents": "contact_consent",
    "referrals": "referral",
    "enrolments": "enrolment",
    "allocations": "allocation",
    "session_patterns": "session_pattern",
    "session_attendances": "session_attendee",
    "series_memberships": "series_member",
    "session_carers": "session_carer",
    "sessions": "mentoring_session",
    "check_in_invitations": "check_in_invitation",
    "check_ins": "check_in",
    "check_in_responses": "check_in_response",
    "check_in_scores": "check_in_score",
    "goals": "goal",
    "alerts": "alert",
    "missing_episodes": "missing_episode",
    "return_conversations": "return_conversation",
    "outcome_events": "outcome_event",
    "sms_messages": "outbound_message",
    "sms_message_events": "outbound_message_event",
    "change_events": "change_event",
    "reminder_rechecks": "reminder_recheck",
    "audit_events": "audit_event",
}
