"""The scheduled checks' pure rules: when a return conversation is due soon or overdue, and what counts as news."""

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from api.programmes.rules import AlertThresholds
from api.watch.rules import (
    ConversationStage,
    EngagementEvidence,
    conversation_stage,
    disengagement_finding,
    is_new,
)

RETURNED = datetime(2026, 11, 23, 14, tzinfo=UTC)
DUE = RETURNED + timedelta(hours=72)


def test_a_conversation_is_due_soon_from_the_warning_hours_before_the_deadline_and_overdue_after_it():
    def stage(at: datetime) -> ConversationStage | None:
        return conversation_stage(returned_at=RETURNED, now=at, warning_hours=12)

    assert stage(DUE - timedelta(hours=12, seconds=1)) is None
    assert stage(DUE - timedelta(hours=12)) is ConversationStage.DUE_SOON
    assert stage(DUE) is ConversationStage.DUE_SOON  # exactly 72 hours is still within them
    assert stage(DUE + timedelta(seconds=1)) is ConversationStage.OVERDUE


def test_only_a_new_reason_or_newer_evidence_is_news():
    previous = {"missed_sessions": "s1"}
    assert not is_new({"missed_sessions": "s1"}, already=previous)
    assert is_new({"missed_sessions": "s2"}, already=previous)
    assert is_new({"missed_sessions": "s1", "unanswered_links": "i1"}, already=previous)
    assert not is_new({"missed_sessions": "s1"}, already=previous | {"unanswered_links": "i1"})
    assert is_new({"missed_sessions": "s1"}, already=None)


def test_no_completed_session_counts_from_the_enrolments_start_when_there_is_none():
    evidence = EngagementEvidence(
        enrolment_started_at=RETURNED, recent_sessions=[], last_completed_at=None, recent_links=[]
    )
    zone = ZoneInfo("Europe/London")
    thresholds = AlertThresholds()
    assert disengagement_finding(evidence, thresholds=thresholds, now=RETURNED + timedelta(days=13), zone=zone) is None
    finding = disengagement_finding(evidence, thresholds=thresholds, now=RETURNED + timedelta(days=14), zone=zone)
    assert finding is not None and finding.subject == {"no_completed_session": RETURNED.isoformat()}
