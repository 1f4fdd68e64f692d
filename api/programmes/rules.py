"""Programmes and cohorts.

Places, intensity and duration are configuration, not constants: the seed project funds 60 Protect and 30
Prevent places "at any one time", but other programmes differ (docs/domain.md). A cohort's places can be cut
only to what is already taken, so a change of contract never silently pushes a cohort over capacity.
"""

from __future__ import annotations

from datetime import time
from zoneinfo import ZoneInfo, available_timezones

# A new programme's SMS session reminders (an admin can change either or switch it off): the evening before at
# 17:00 local time, and 2 hours before. The reminder policy (api/reminders) reads a programme's own settings.
DAY_BEFORE_AT = time(17, 0)
HOURS_BEFORE = 2


def is_known_time_zone(name: str) -> bool:
    return name in available_timezones()


def time_zone(name: str) -> ZoneInfo:
    return ZoneInfo(name)


def places_cut_below_taken(*, new_places: int, taken: int) -> bool:
    return new_places < taken
