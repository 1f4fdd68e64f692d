"""The programme's check-in routine: which scheduled link, if any, is due today for an active enrolment."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from enum import StrEnum


class InvitationReason(StrEnum):
    """Why a link was sent: someone asked for it now, or the programme's schedule said it was due."""

    ON_REQUEST = "on_request"
    AT_ENROLMENT = "at_enrolment"
    PERIODIC = "periodic"
    AT_END = "at_end"


@dataclass(frozen=True)
class CheckInSchedule:
    """A programme's routine: a link at enrolment, every `every_weeks` weeks, and in the last week."""

    at_enrolment: bool
    every_weeks: int | None
    at_end: bool


@dataclass(frozen=True)
class DueInvitation:
    reason: InvitationReason
    # Names the occasion, so the same scheduled link is never created twice ("periodic:3" is week 12).
    occasion: str


def due_invitation(
    schedule: CheckInSchedule,
    *,
    started_on: date,
    planned_end_on: date | None,
    today: date,
    occasions_done: set[str],
) -> DueInvitation | None:
    """The scheduled check-in due today for an active enrolment, if any (the earliest one not yet sent).

    Occasions are counted from the start date in the programme's own calendar. One that was missed (the
    scheduler was down, the child had no consent then) is still sent while it is the latest one due, but an
    older one is not sent late once a newer one is due: a child gets one link, not a backlog.
    """
    if today < started_on:
        return None
    if planned_end_on is not None and today > planned_end_on:
        return None
    if schedule.at_end and planned_end_on is not None and today >= planned_end_on - timedelta(days=6):
        return None if "at_end" in occasions_done else DueInvitation(InvitationReason.AT_END, "at_end")
    if schedule.every_weeks:
        number = (today - started_on).days // (7 * schedule.every_weeks)
        if number >= 1:
            occasion = f"periodic:{number}"
            return None if occasion in occasions_done else DueInvitation(InvitationReason.PERIODIC, occasion)
    if schedule.at_enrolment and "at_enrolment" not in occasions_done:
        return DueInvitation(InvitationReason.AT_ENROLMENT, "at_enrolment")
    return None
