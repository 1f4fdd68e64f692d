"""What a dashboard covers, and who sees which figures: the request, the filters echoed back, and the scope.

Every dashboard starts here: the caller must see the programme (another programme answers not found, not
forbidden), a cohort or district must be the programme's, and the period defaults to the 12 months to today in
the programme's time zone. Staff (admins, the programme's coordinators) see every figure; commissioners see counts
from 1 to threshold-1 as "<5" and no figure derived from such a count (api.dashboards.rules.Disclosure). No
answer carries a child's id, reference or name.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import date, datetime
from zoneinfo import ZoneInfo

from sqlalchemy.orm import Session

from api.actors import Actor, Role
from api.dashboards import errors, rules
from api.dashboards.rules import Disclosure, Period
from api.programmes.errors import CohortNotFound
from api.programmes.models import Programme
from api.programmes.queries import get_cohort_or_none
from api.programmes.service import get_programme


@dataclass(frozen=True)
class DashboardRequest:
    """The filters every dashboard takes; since and until default to the 12 months to today."""

    programme_id: uuid.UUID
    cohort_id: uuid.UUID | None = None
    district: str | None = None
    since: date | None = None
    until: date | None = None


@dataclass(frozen=True)
class Filters:
    """What a dashboard covers, echoed back so an exported table says what it is."""

    programme_id: uuid.UUID
    cohort_id: uuid.UUID | None
    district: str | None
    since: date | None
    until: date | None


@dataclass(frozen=True)
class Scope:
    """A request checked: its programme, the filters echoed back, the period and what the caller may see."""

    programme: Programme
    filters: Filters
    period: Period
    disclosure: Disclosure

    @property
    def zone(self) -> ZoneInfo:
        return ZoneInfo(self.programme.time_zone)

    @property
    def starts_at(self) -> datetime:
        return self.period.starts_at(self.programme.time_zone)

    @property
    def ends_before(self) -> datetime:
        return self.period.ends_before(self.programme.time_zone)


def local_date(moment: datetime, zone: ZoneInfo) -> date:
    return moment.astimezone(zone).date()


def resolve_scope(
    db_session: Session, *, actor: Actor, request: DashboardRequest, suppression_threshold: int, now: datetime
) -> Scope:
    # Another programme answers not found, not forbidden: its existence is not the caller's to know.
    programme = get_programme(db_session, actor=actor, programme_id=request.programme_id)
    if request.cohort_id is not None:
        cohort = get_cohort_or_none(db_session, request.cohort_id)
        if cohort is None or cohort.programme_id != programme.id:
            raise CohortNotFound()
    if request.district is not None and request.district not in programme.districts:
        raise errors.DistrictUnknown(errors={"district": ["The programme has no such district."]})
    today = now.astimezone(ZoneInfo(programme.time_zone)).date()
    period = rules.default_period(today=today, since=request.since, until=request.until)
    if period.until < period.since:
        raise errors.DashboardPeriodReversed(errors={"until": ["Must not be before since."]})
    return Scope(
        programme,
        Filters(programme.id, request.cohort_id, request.district, period.since, period.until),
        period,
        Disclosure(commissioner=actor.role is Role.COMMISSIONER, threshold=suppression_threshold),
    )


def narrowing(scope: Scope) -> dict[str, object]:
    return {
        "programme_id": scope.programme.id,
        "cohort_id": scope.filters.cohort_id,
        "district": scope.filters.district,
    }
