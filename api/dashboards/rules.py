"""Pure arithmetic behind the commissioner dashboards (docs/domain.md, "What commissioners measure").

- A period is the days since..until inclusive, in the programme's time zone; by default the 12 months to today.
- Time-weighted occupancy is occupied place-days over funded place-days. A child occupies a place on each day
  from the day their support started up to, but not including, the day it ended (still going: to the end of the
  period); funded place-days are the cohort's places times the days in the period.
- Waits are whole days from referral to the first completed session. The median is the middle value (the mean
  of the two middle values for an even count); the 90th percentile is the nearest-rank value: the smallest wait
  at or above which 90% of waits fall.
- Time to acknowledge an alert: minutes from raised_at to acknowledged_at, to a tenth of a minute, computed here
  from the timestamps (never in SQL) so SQLite and PostgreSQL agree; median and nearest-rank 90th percentile as
  for waits. Alerts still unacknowledged are counted apart, with the age of the oldest at `now`.
- Group delivery (series of group sessions): a child started a series in a period when the first of its sessions
  they attended (by their own register line) was in the period, and completed it in the period when the K-th was
  (api.groups.rules: started at one attended, completed at K). A child on two series counts in each.
- A share or mean derived from a count that is suppressed for a commissioner is withheld (None), or the small
  count could be worked back out of it.

The dashboard page's forms (sign in, sign out) are done only when this site can tell it sent them (issue 13,
login CSRF; OWASP's Cross-Site Request Forgery Prevention Cheat Sheet), both of these:
- the browser says the form came from this origin: `Origin` when it sends one (the exact scheme, host and port;
  "null" is not an origin), else `Referer`'s origin; with neither, the form is refused (the cheat sheet's advice;
  every current browser sends Origin with a POST);
- it carries a token only this server can make, bound to this browser: for signing in (there is no sign-in yet),
  an HMAC of a random value the page keeps in a SameSite=Strict cookie, with when the form was made (a form
  lasts an hour); for signing out, an HMAC of the sign-in being ended.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import math
import re
import statistics
import uuid
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from decimal import ROUND_HALF_UP, Decimal
from typing import TypeVar
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo

from api.dashboards.errors import CrossSiteFormRefused, FormExpired, FormTokenRefused
from api.disclosure import is_suppressed, suppress
from api.groups.rules import has_completed, has_started

T = TypeVar("T")


@dataclass(frozen=True)
class Period:
    since: date
    until: date

    @property
    def days(self) -> int:
        return (self.until - self.since).days + 1

    def starts_at(self, time_zone: str) -> datetime:
        return datetime.combine(self.since, time(), ZoneInfo(time_zone))

    def ends_before(self, time_zone: str) -> datetime:
        """The first moment after the period: midnight at the start of the day after until."""
        return datetime.combine(self.until + timedelta(days=1), time(), ZoneInfo(time_zone))


def default_period(*, today: date, since: date | None, until: date | None) -> Period:
    """The last 12 months to today unless given: until defaults to today, since to a year before until + 1 day."""
    until = until or today
    if since is None:
        try:
            since = until.replace(year=until.year - 1) + timedelta(days=1)
        except ValueError:  # 29 February
            since = until.replace(year=until.year - 1, day=28) + timedelta(days=1)
    return Period(since, until)


def series_milestones(*, attended_before: int, attended_within: int, complete_after_sessions: int) -> tuple[bool, bool]:
    """Whether a child, from the sessions of a series they attended before a period and in it, started the series in
    the period, and whether they completed it in the period (reached K then)."""
    attended = attended_before + attended_within
    started = has_started(attended=attended) and not has_started(attended=attended_before)
    completed = has_completed(attended=attended, complete_after_sessions=complete_after_sessions) and not has_completed(
        attended=attended_before, complete_after_sessions=complete_after_sessions
    )
    return started, completed


# A spell of support as local dates: a place held from started_on up to, not including, ended_on (None: still held).
Spell = tuple[date, date | None]


def place_days_held(spells: Iterable[Spell], period: Period) -> tuple[int, int]:
    """Days of the period on which the spells held places, added up, and how many spells held one on any day."""
    first, after_last = period.since, period.until + timedelta(days=1)
    days = spells_holding = 0
    for started_on, ended_on in spells:
        end = after_last if ended_on is None or ended_on > after_last else ended_on
        held = (end - max(started_on, first)).days
        if held > 0:
            days += held
            spells_holding += 1
    return days, spells_holding


def ratio(numerator: int | Decimal, denominator: int | Decimal, places: str = "0.0001") -> Decimal | None:
    if not denominator:
        return None
    return (Decimal(numerator) / Decimal(denominator)).quantize(Decimal(places), rounding=ROUND_HALF_UP)


def median(values: Sequence[int]) -> Decimal | None:
    if not values:
        return None
    return Decimal(str(statistics.median(sorted(values)))).quantize(Decimal("0.1"), rounding=ROUND_HALF_UP)


def nearest_rank_percentile(values: Sequence[int], percentile: int) -> int | None:
    if not values:
        return None
    ordered = sorted(values)
    rank = max(math.ceil(percentile / 100 * len(ordered)), 1)
    return ordered[rank - 1]


def minutes(seconds: float | Decimal) -> Decimal:
    return (Decimal(str(seconds)) / 60).quantize(Decimal("0.1"), rounding=ROUND_HALF_UP)


@dataclass(frozen=True)
class AcknowledgementTimes:
    """Alerts of one urgency raised in a period: how many, how fast they were acknowledged, and those still open."""

    raised: int
    acknowledged: int
    median_minutes: Decimal | None
    p90_minutes: Decimal | None
    unacknowledged: int
    oldest_unacknowledged_minutes: Decimal | None


def acknowledgement_times(alerts: Iterable[tuple[datetime, datetime | None]], *, now: datetime) -> AcknowledgementTimes:
    """From (raised_at, acknowledged_at or None) of each alert: the median and 90th percentile (nearest rank) of
    the minutes each acknowledged one waited, and how many are still waiting, the oldest for how long by `now`."""
    waits: list[int] = []
    waiting_since: list[datetime] = []
    for raised_at, acknowledged_at in alerts:
        if acknowledged_at is None:
            waiting_since.append(raised_at)
        else:
            # Whole seconds, so the median of an even count is exact; never below zero should clocks disagree.
            waits.append(max(int((acknowledged_at - raised_at).total_seconds()), 0))
    middle = statistics.median(waits) if waits else None
    p90 = nearest_rank_percentile(waits, 90)
    return AcknowledgementTimes(
        raised=len(waits) + len(waiting_since),
        acknowledged=len(waits),
        median_minutes=minutes(middle) if middle is not None else None,
        p90_minutes=minutes(p90) if p90 is not None else None,
        unacknowledged=len(waiting_since),
        oldest_unacknowledged_minutes=(
            minutes(max((now - min(waiting_since)).total_seconds(), 0)) if waiting_since else None
        ),
    )


def mean(values: Sequence[Decimal]) -> Decimal | None:
    if not values:
        return None
    return (sum(values, Decimal(0)) / len(values)).quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)


@dataclass(frozen=True)
class Disclosure:
    """How figures are shown to one caller: everything for staff; small counts masked for commissioners."""

    commissioner: bool
    threshold: int

    def count(self, value: int) -> int | str:
        return suppress(value, threshold=self.threshold) if self.commissioner else value

    def hides(self, *counts: int) -> bool:
        return self.commissioner and any(is_suppressed(count, threshold=self.threshold) for count in counts)

    def derived(self, value: T, *counts: int) -> T | None:
        """A figure computed from these counts, withheld when any of them is suppressed."""
        return None if self.hides(*counts) else value

    def total(self, value: int, *parts: int) -> int | str | None:
        """A total shown beside its parts: withheld when a part is suppressed and the total is not, or that part
        would be the total less the others."""
        if self.hides(*parts) and not self.hides(value):
            return None
        return self.count(value)


# --- The page's forms: only this site may send them -------------------------------------------------------------

FORM_TOKEN_MAX_AGE = timedelta(hours=1)
# The cookie's random value as the page makes it (secrets.token_urlsafe): anything else is not one of ours.
FORM_NONCE_PATTERN = re.compile(r"[A-Za-z0-9_-]{32,128}")
_FORMS_KEY_LABEL = b"reachable dashboard page forms v1"
_DEFAULT_PORTS = {"http": 80, "https": 443}


def forms_key(secret_key: str) -> bytes:
    """The forms' own key, derived from the secret key (as check-in links' is), so no other token can pass."""
    return hmac.new(secret_key.encode(), _FORMS_KEY_LABEL, hashlib.sha256).digest()


def _mac(key: bytes, *parts: str) -> str:
    digest = hmac.new(key, "|".join(parts).encode(), hashlib.sha256).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode()


def sign_in_form_token(key: bytes, *, nonce: str, issued_at: datetime) -> str:
    """The sign-in form's token: when it was made, and an HMAC binding that to the browser's cookie value."""
    issued = str(int(issued_at.timestamp()))
    return f"{issued}.{_mac(key, 'sign-in', nonce, issued)}"


def check_sign_in_form_token(key: bytes, *, nonce: str, token: str, now: datetime) -> None:
    issued, _, mac = token.partition(".")
    if not FORM_NONCE_PATTERN.fullmatch(nonce) or not (issued.isascii() and issued.isdigit()):
        raise FormTokenRefused()
    if not _same(mac, _mac(key, "sign-in", nonce, issued)):
        raise FormTokenRefused()
    if now.timestamp() - int(issued) > FORM_TOKEN_MAX_AGE.total_seconds():
        raise FormExpired()


def sign_out_form_token(key: bytes, *, sign_in_id: uuid.UUID) -> str:
    return _mac(key, "sign-out", sign_in_id.hex)


def check_sign_out_form_token(key: bytes, *, sign_in_id: uuid.UUID, token: str) -> None:
    if not _same(token, sign_out_form_token(key, sign_in_id=sign_in_id)):
        raise FormTokenRefused()


def _same(sent: str, expected: str) -> bool:
    """Compared in constant time, as bytes (compare_digest refuses str that is not ASCII with a TypeError)."""
    return hmac.compare_digest(sent.encode("utf-8", "surrogatepass"), expected.encode())


def origin_of(url: str) -> str | None:
    """scheme://host[:port] of an absolute http(s) URL or origin, lower case, the scheme's default port left out;
    None for anything else (including "null")."""
    try:
        parts = urlsplit(url.strip())
        scheme, host, port = parts.scheme.lower(), parts.hostname, parts.port
    except ValueError:  # a port that is not a number, or out of range
        return None
    if scheme not in _DEFAULT_PORTS or not host:
        return None
    host = f"[{host}]" if ":" in host else host
    return f"{scheme}://{host}" + ("" if port in (None, _DEFAULT_PORTS[scheme]) else f":{port}")


def check_sent_from(own_origin: str, *, origin: str | None, referer: str | None) -> None:
    """Refuse a form unless the browser says it came from own_origin: Origin if sent, else Referer, else refuse."""
    claimed = origin if origin is not None else referer
    expected = origin_of(own_origin)
    if claimed is None or expected is None or origin_of(claimed) != expected:
        raise CrossSiteFormRefused()
