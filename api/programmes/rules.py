"""Programmes and cohorts.

Places, intensity and duration are configuration, not constants: the seed project funds 60 Protect and 30
Prevent places "at any one time", but other programmes differ (docs/domain.md). A cohort's places can be cut
only to what is already taken, so a change of contract never silently pushes a cohort over capacity.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, fields, replace
from datetime import time
from enum import StrEnum
from typing import Any
from zoneinfo import ZoneInfo, available_timezones

# A new programme's SMS session reminders (an admin can change either or switch it off): the evening before at
# 17:00 local time, and 2 hours before. The reminder policy (api/reminders) reads a programme's own settings.
DAY_BEFORE_AT = time(17, 0)
HOURS_BEFORE = 2


class CohortKind(StrEnum):
    """What a cohort's places are for. A one-to-one cohort (Protect, Prevent) holds children who are mentored one to
    one, at its weekly intensity, and may join group series as well; a group-only cohort (a level-2 awareness group)
    has its own places, and its children attend group sessions only: no one-to-one or phone session is planned for
    them."""

    ONE_TO_ONE = "one_to_one"
    GROUP_ONLY = "group_only"


def is_known_time_zone(name: str) -> bool:
    return name in available_timezones()


def time_zone(name: str) -> ZoneInfo:
    return ZoneInfo(name)


def places_cut_below_taken(*, new_places: int, taken: int) -> bool:
    return new_places < taken


@dataclass(frozen=True)
class AlertThresholds:
    """A programme's alert thresholds (api/alerts/rules.py says what each does). programme.alert_thresholds holds
    only what differs from these defaults."""

    # Unacknowledged this long, an alert escalates one step.
    acknowledge_urgent_minutes: int = 15
    acknowledge_high_minutes: int = 120
    # A return conversation not held raises an alert when it is due within this many hours.
    return_conversation_warning_hours: int = 12
    # Disengagement: planned sessions not attended in a row; days with no completed session while enrolled;
    # check-in links in a row that expired unanswered.
    missed_sessions_in_a_row: int = 3
    days_without_completed_session: int = 14
    unanswered_links_in_a_row: int = 2
    # Lone working: a session's "check in by" defaults to its planned end plus this; the mentor is texted at
    # check-in-by, and the duty coordinator alerted this many minutes later.
    lone_working_grace_minutes: int = 30
    lone_working_alert_after_minutes: int = 15
    # Gaps in duty cover are looked for this many days ahead.
    duty_cover_days_ahead: int = 7


THRESHOLD_NAMES = tuple(field.name for field in fields(AlertThresholds))


def thresholds_from(stored: dict[str, Any] | None) -> AlertThresholds:
    """A programme's thresholds: its stored overrides over the defaults (unknown names are ignored)."""
    overrides = {name: int(value) for name, value in (stored or {}).items() if name in THRESHOLD_NAMES}
    return replace(AlertThresholds(), **overrides)


def overridden_thresholds(stored: dict[str, Any] | None, changes: dict[str, int]) -> dict[str, int] | None:
    """What to store after a change: only the thresholds that differ from the defaults (None when none does), so a
    later change of a default reaches every programme that never chose its own."""
    merged = asdict(replace(thresholds_from(stored), **changes))
    defaults = asdict(AlertThresholds())
    return {name: value for name, value in merged.items() if value != defaults[name]} or None
