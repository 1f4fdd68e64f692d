"""Small-number suppression for aggregate figures shown to commissioners.

A count of 1 to threshold-1 could identify a child in a small area or cohort, so it is shown as "<N"
(docs/domain.md: counts under 5 shown as "<5", configurable). Zero identifies no one and is shown. A figure
derived from a suppressed count is withheld (None), or the count could be worked back out.
"""

from __future__ import annotations

DEFAULT_THRESHOLD = 5


def suppress(count: int, *, threshold: int) -> int | str:
    return f"<{threshold}" if 0 < count < threshold else count


def is_suppressed(count: int, *, threshold: int) -> bool:
    return 0 < count < threshold
