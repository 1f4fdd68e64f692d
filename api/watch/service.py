"""The scheduled checks that watch for what nobody records: a return conversation coming due or overdue, and a child
drifting away from the programme. Each is one transaction over every child at once, reading each kind of evidence
in one query (api/watch/queries.py), and raises its alerts through the alerts domain in that transaction.

They sit above missing, sessions, enrolments and wellbeing because they need all of them; nothing imports them but
the scheduler's job table (scheduling/jobs.py).
"""

from __future__ import annotations

import uuid
from datetime import datetime
from zoneinfo import ZoneInfo

from sqlalchemy.orm import Session

from api.alerts.rules import AlertKind
from api.alerts.service import latest_alerts, raise_alert
from api.db import use_case
from api.programmes.rules import AlertThresholds, thresholds_from
from api.watch import queries, rules
from api.watch.rules import EngagementEvidence


def _programme_settings(
    db_session: Session, programme_ids: set[uuid.UUID]
) -> dict[uuid.UUID, tuple[AlertThresholds, ZoneInfo]]:
    return {
        programme.id: (thresholds_from(programme.alert_thresholds), ZoneInfo(programme.time_zone))
        for programme in queries.programmes(db_session, programme_ids)
    }


@use_case
def check_return_conversations(db_session: Session, *, now: datetime) -> int:
    """Raise return_conversation_due (high: texted to the duty coordinator) once when a child's conversation not yet
    held comes within the programme's warning hours of the 72-hour deadline, and once more when it is overdue: a
    repeat on the open alert, or a new alert if the first was resolved. A finding the child's latest alert already
    records (same episode, same stage) raises nothing, so the check can run every few minutes. Returns how many
    alerts it raised or repeated."""
    children = queries.outstanding_returns(
        db_session, returned_since=now - rules.RETURN_CONVERSATION_WITHIN - rules.OVERDUE_WATCHED_FOR, now=now
    )
    settings = _programme_settings(db_session, {child.programme_id for child in children})
    findings = []
    for child in children:
        thresholds, zone = settings[child.programme_id]
        finding = rules.return_finding(
            child.outstanding, now=now, warning_hours=thresholds.return_conversation_warning_hours
        )
        if finding is not None:
            findings.append((child, finding, zone))
    latest = latest_alerts(
        db_session, kind=AlertKind.RETURN_CONVERSATION_DUE, child_ids=[child.child_id for child, _, _ in findings]
    )
    raised = 0
    for child, finding, zone in findings:
        already = latest.get(child.child_id)
        if already is not None and already.subject == finding.subject:
            continue
        raise_alert(
            db_session,
            programme_id=child.programme_id,
            kind=AlertKind.RETURN_CONVERSATION_DUE,
            detail=finding.detail(zone),
            now=now,
            child_id=child.child_id,
            subject=finding.subject,
        )
        raised += 1
    return raised


@use_case
def check_disengagement(db_session: Session, *, now: datetime) -> int:
    """Raise disengagement (normal: listed, not texted) for each child with an active enrolment who has missed the
    last N planned sessions (did not attend, or planned and never logged once its time passed), or completed no
    session for the programme's number of days (counted from the enrolment's start if none), or left the last M
    check-in links to expire unanswered. Only new evidence (a reason the latest alert did not have, or a later
    missed session or unanswered link) raises or repeats. Returns how many alerts it raised or repeated."""
    enrolments = queries.active_enrolments(db_session, now=now)
    settings = _programme_settings(db_session, {enrolment.programme_id for enrolment in enrolments})
    if not enrolments:
        return 0
    enrolment_ids = [enrolment.enrolment_id for enrolment in enrolments]
    most_sessions = max(thresholds.missed_sessions_in_a_row for thresholds, _ in settings.values())
    most_links = max(thresholds.unanswered_links_in_a_row for thresholds, _ in settings.values())
    sessions = queries.recent_past_sessions(
        db_session, enrolment_ids=enrolment_ids, per_enrolment=most_sessions, now=now
    )
    completed = queries.last_completed_sessions(db_session, enrolment_ids=enrolment_ids, now=now)
    links = queries.recent_settled_links(db_session, enrolment_ids=enrolment_ids, per_enrolment=most_links, now=now)
    findings = []
    for enrolment in enrolments:
        thresholds, zone = settings[enrolment.programme_id]
        evidence = EngagementEvidence(
            enrolment_started_at=enrolment.started_at,
            recent_sessions=sessions.get(enrolment.enrolment_id, []),
            last_completed_at=completed.get(enrolment.enrolment_id),
            recent_links=links.get(enrolment.enrolment_id, []),
        )
        finding = rules.disengagement_finding(evidence, thresholds=thresholds, now=now, zone=zone)
        if finding is not None:
            findings.append((enrolment, finding))
    latest = latest_alerts(
        db_session, kind=AlertKind.DISENGAGEMENT, child_ids=[enrolment.child_id for enrolment, _ in findings]
    )
    raised = 0
    for enrolment, finding in findings:
        already = latest.get(enrolment.child_id)
        if not rules.is_new(finding.subject, already=already.subject if already else None):
            continue
        raise_alert(
            db_session,
            programme_id=enrolment.programme_id,
            kind=AlertKind.DISENGAGEMENT,
            detail=finding.detail,
            now=now,
            child_id=enrolment.child_id,
            subject=finding.subject,
        )
        raised += 1
    return raised
