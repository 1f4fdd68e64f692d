"""The subject-access export's documented shape: one JSON document, one section per kind of record.

Each section lists the rows of one table that concern the child, every column by its own name (UUIDs and times
as strings, times in ISO 8601 UTC, enumerations by value, decimals as strings), so the document shows exactly what
is held. Only a check-in link's nonce and token hash are left out: they are not about the child.
"""

from __future__ import annotations

from marshmallow import fields

from api.privacy.rules import SECTION_TABLES
from api.schemas import Integer, Schema

SECTION_DESCRIPTIONS = {
    "phone_numbers": "Every phone number recorded for the child (theirs, a parent's or a carer's), removed ones too",
    "contact_consents": "Every decision about contact by each channel, oldest first (the latest is in force)",
    "referrals": "Referrals of the child, with their source, reason and decision",
    "enrolments": "Places on a cohort: waitlisted, offered, active and ended",
    "allocations": "Which mentor worked with the child, from when to when",
    "session_patterns": "Repeating session plans for the child",
    "session_attendances": "The child's place on each session",
    "series_memberships": "The child's places on group series' rosters, joined and left",
    "session_carers": "Parents and carers who came to a session for the child (how related; no name is kept)",
    "sessions": "Every session the child was on, planned, delivered or cancelled, with the mentor's notes",
    "check_in_invitations": "Check-in links sent to the child (the link itself is not kept)",
    "check_ins": "Wellbeing check-ins the child completed",
    "check_in_responses": "Each answer of each check-in",
    "check_in_scores": "Raw and derived scores of each check-in",
    "goals": "The child's goals in their own words",
    "alerts": "Safeguarding alerts raised about the child",
    "missing_episodes": "Times the child was reported missing and returned",
    "return_conversations": "Return conversations offered or held after each missing episode",
    "outcome_events": "Arrests, police call-outs, missing episodes and exclusions recorded, voided ones too",
    "sms_messages": "SMS about the child, to any of the numbers above (their text is never stored)",
    "sms_message_events": "Each SMS's history: queued, sent, delivered, failed",
    "change_events": "Changes to the child's records sent to their mentors' phones",
    "reminder_rechecks": "Notes that the child's session reminders must be checked again (kept until the next sweep)",
    "audit_events": "Who read or changed the child's records, when and how",
}


def _section(name: str) -> fields.List:
    return fields.List(
        fields.Dict(keys=fields.String()),
        required=True,
        metadata={"description": f"{SECTION_DESCRIPTIONS[name]}. Rows of table `{SECTION_TABLES[name]}`."},
    )


class SubjectAccessExportSchema(Schema):
    schema_version = Integer(required=True, metadata={"description": "Changes when the document's shape does"})
    generated_at = fields.String(required=True, metadata={"description": "When the export was made (ISO 8601, UTC)"})
    child_id = fields.String(required=True)
    child = fields.Dict(
        keys=fields.String(), required=True, metadata={"description": "The child's record (table `child`)"}
    )
    phone_numbers = _section("phone_numbers")
    contact_consents = _section("contact_consents")
    referrals = _section("referrals")
    enrolments = _section("enrolments")
    allocations = _section("allocations")
    session_patterns = _section("session_patterns")
    session_attendances = _section("session_attendances")
    series_memberships = _section("series_memberships")
    session_carers = _section("session_carers")
    sessions = _section("sessions")
    check_in_invitations = _section("check_in_invitations")
    check_ins = _section("check_ins")
    check_in_responses = _section("check_in_responses")
    check_in_scores = _section("check_in_scores")
    goals = _section("goals")
    alerts = _section("alerts")
    missing_episodes = _section("missing_episodes")
    return_conversations = _section("return_conversations")
    outcome_events = _section("outcome_events")
    sms_messages = _section("sms_messages")
    sms_message_events = _section("sms_message_events")
    change_events = _section("change_events")
    reminder_rechecks = _section("reminder_rechecks")
    audit_events = _section("audit_events")
