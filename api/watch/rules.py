"""What the scheduled checks look for: a return conversation coming due or overdue, and a child drifting away.

Both checks run again and again over the same records, so each finding carries its evidence (the episode and its
stage; the latest missed session, the date since which nothing was completed, the latest unanswered link). An alert
is raised only when the evidence differs from what the child's latest alert of that kind already recorded: a
re-run finds nothing new and counts nothing, and a coordinator who resolved an alert is not handed it back until
something has changed.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from enum import StrEnum
from zoneinfo import ZoneInfo

from api.missing.rules import RETURN_CONVERSATION_WITHIN
from api.programmes.rules import AlertThresholds

# Past this long overdue an episode is no longer looked at: its alert was raised long before (the check runs every
# 15 minutes), and the outstanding list still shows it. Bounds the work, and a first run after a long outage does
# not flood the list with old news.
OVERDUE_WATCHED_FOR = timedelta(days=14)


# --- Return conversations ------------------------------------------------------------------------------------


class ConversationStage(StrEnum):
    DUE_SOON = "due_soon"
    OVERDUE = "overdue"


def conversation_stage(*, returned_at: datetime, now: datetime, warning_hours: int) -> ConversationStage | None:
    """Where a conversation not yet held stands: None while more than `warning_hours` remain of the 72; overdue past
    them (exactly 72 hours is still within, as the outstanding list says)."""
    due_at = returned_at + RETURN_CONVERSATION_WITHIN
    if now > due_at:
        return ConversationStage.OVERDUE
    if now >= due_at - timedelta(hours=warning_hours):
        return ConversationStage.DUE_SOON
    return None


@dataclass(frozen=True)
class OutstandingReturn:
    episode_id: uuid.UUID
    returned_at: datetime


@dataclass(frozen=True)
class ReturnFinding:
    episode_id: uuid.UUID
    stage: ConversationStage
    due_at: datetime
    others: int  # further conversations of this child's also due soon or overdue

    @property
    def subject(self) -> dict[str, str]:
        return {"episode_id": str(self.episode_id), "stage": str(self.stage)}

    def detail(self, zone: ZoneInfo) -> str:
        due = _local(self.due_at, zone)
        text = (
            f"Return conversation overdue: it was due by {due}"
            if self.stage is ConversationStage.OVERDUE
            else f"Return conversation not yet held: due by {due}"
        )
        more = f" ({self.others} more of this child's also due)" if self.others else ""
        return f"{text}{more}."


def return_finding(
    outstanding: Sequence[OutstandingReturn], *, now: datetime, warning_hours: int
) -> ReturnFinding | None:
    """The one finding for a child (one open alert per child and kind): the overdue conversation due first, else the
    due-soon one due first. The choice changes only when a stage does or a conversation is held, so repeated runs
    keep naming the same episode and stage."""
    staged = [
        (stage, item)
        for item in outstanding
        if (stage := conversation_stage(returned_at=item.returned_at, now=now, warning_hours=warning_hours))
    ]
    if not staged:
        return None
    staged.sort(key=lambda pair: (pair[0] is not ConversationStage.OVERDUE, pair[1].returned_at, pair[1].episode_id))
    stage, first = staged[0]
    return ReturnFinding(first.episode_id, stage, first.returned_at + RETURN_CONVERSATION_WITHIN, len(staged) - 1)


# --- Disengagement -------------------------------------------------------------------------------------------


class DisengagementReason(StrEnum):
    MISSED_SESSIONS = "missed_sessions"
    NO_COMPLETED_SESSION = "no_completed_session"
    UNANSWERED_LINKS = "unanswered_links"


@dataclass(frozen=True)
class PastSession:
    """A planned session of the enrolment whose planned end has passed, as its status stands. `attended` is False
    for did-not-attend and for a session still planned (never logged): a session nobody recorded as held is not
    evidence the child came. Cancelled and rescheduled sessions are left out by the query: neither attended nor
    missed."""

    session_id: uuid.UUID
    planned_start_at: datetime
    attended: bool


@dataclass(frozen=True)
class SettledLink:
    """A check-in link that was answered, or expired unanswered (revoked ones are left out)."""

    invitation_id: uuid.UUID
    created_at: datetime
    expires_at: datetime
    answered: bool


@dataclass(frozen=True)
class EngagementEvidence:
    enrolment_started_at: datetime
    recent_sessions: Sequence[PastSession]  # newest first
    last_completed_at: datetime | None
    recent_links: Sequence[SettledLink]  # newest first


@dataclass(frozen=True)
class DisengagementFinding:
    # reason -> its evidence: the latest missed session's id, the moment since which nothing was completed, the
    # latest unanswered link's id.
    evidence: dict[DisengagementReason, str]
    sentences: list[str]

    @property
    def subject(self) -> dict[str, str]:
        return {str(reason): value for reason, value in self.evidence.items()}

    @property
    def detail(self) -> str:
        return "Not engaging: " + "; ".join(self.sentences) + "."


def disengagement_finding(
    evidence: EngagementEvidence, *, thresholds: AlertThresholds, now: datetime, zone: ZoneInfo
) -> DisengagementFinding | None:
    found: dict[DisengagementReason, str] = {}
    sentences: list[str] = []
    missed_needed = thresholds.missed_sessions_in_a_row
    last_sessions = list(evidence.recent_sessions[:missed_needed])
    if missed_needed > 0 and len(last_sessions) == missed_needed and not any(s.attended for s in last_sessions):
        found[DisengagementReason.MISSED_SESSIONS] = str(last_sessions[0].session_id)
        sentences.append(
            f"the last {missed_needed} planned sessions were not attended"
            f" (latest {_local(last_sessions[0].planned_start_at, zone)})"
        )
    since = evidence.last_completed_at or evidence.enrolment_started_at
    if now - since >= timedelta(days=thresholds.days_without_completed_session):
        found[DisengagementReason.NO_COMPLETED_SESSION] = since.isoformat()
        what = "the last completed session" if evidence.last_completed_at else "the start of the enrolment"
        sentences.append(
            f"no completed session for {(now - since).days} days (since {what}, {_local_day(since, zone)})"
        )
    links_needed = thresholds.unanswered_links_in_a_row
    last_links = list(evidence.recent_links[:links_needed])
    if links_needed > 0 and len(last_links) == links_needed and not any(link.answered for link in last_links):
        found[DisengagementReason.UNANSWERED_LINKS] = str(last_links[0].invitation_id)
        sentences.append(
            f"the last {links_needed} check-in links expired unanswered"
            f" (latest {_local_day(last_links[0].expires_at, zone)})"
        )
    return DisengagementFinding(found, sentences) if found else None


def is_new(subject: dict[str, str], *, already: dict[str, str] | None) -> bool:
    """Whether a finding says something the latest alert did not: a reason it did not have, or the same reason with
    newer evidence. A reason that has gone is not news."""
    previous = already or {}
    return any(previous.get(key) != value for key, value in subject.items())


def _local(moment: datetime, zone: ZoneInfo) -> str:
    local = moment.astimezone(zone)
    return f"{local:%a} {local.day} {local:%b %H:%M}"


def _local_day(moment: datetime, zone: ZoneInfo) -> str:
    local: date = moment.astimezone(zone).date()
    return f"{local:%a} {local.day} {local:%b %Y}"
