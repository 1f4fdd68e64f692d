"""The capacity dashboards: places (funded, occupied, offered, free; time-weighted occupancy), the waitlist and
the waits to a first session, and mentors' caseloads against their maximum. Read-only: no writes."""

from __future__ import annotations

import uuid
from collections import defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from sqlalchemy.orm import Session

from api.actors import Actor
from api.dashboards import queries, rules
from api.dashboards.page_reads import PageReads, spells_by_cohort
from api.dashboards.scope import DashboardRequest, Filters, Scope, local_date, narrowing, resolve_scope
from api.enrolments.rules import EnrolmentStatus
from api.programmes.rules import CohortKind

# Places


@dataclass(frozen=True)
class CohortPlaces:
    cohort_id: uuid.UUID
    cohort_name: str
    cohort_kind: CohortKind
    funded: int
    occupied: int | str
    offered: int | str
    free: int | None
    children_supported_in_period: int | str
    occupied_place_days: int | None
    funded_place_days: int
    occupancy: Decimal | None


@dataclass(frozen=True)
class PlacesDashboard:
    filters: Filters
    cohorts: tuple[CohortPlaces, ...]


def places_dashboard(
    db_session: Session,
    *,
    actor: Actor,
    request: DashboardRequest,
    suppression_threshold: int,
    now: datetime,
    page: PageReads | None = None,
) -> PlacesDashboard:
    """Per cohort: places funded, occupied (active) and offered now, free now; and time-weighted occupancy over
    the period. With a district, occupied, offered and place-days count that district's children only, while
    free stays the cohort's (whoever holds its places). `page`: the page's reads, made once for all its periods."""
    scope = resolve_scope(
        db_session, actor=actor, request=request, suppression_threshold=suppression_threshold, now=now
    )
    shown = scope.disclosure
    programme_id, only_cohort = scope.programme.id, scope.filters.cohort_id
    enrolment_counts = (
        page.enrolment_counts
        if page
        else queries.count_enrolments(db_session, programme_id=programme_id, cohort_id=only_cohort)
    )
    counts: dict[tuple[uuid.UUID, EnrolmentStatus], int] = defaultdict(int)
    counts_all: dict[tuple[uuid.UUID, EnrolmentStatus], int] = defaultdict(int)
    for cohort_id, status, district, count in enrolment_counts:
        counts_all[cohort_id, status] += count
        if scope.filters.district in (None, district):
            counts[cohort_id, status] += count
    place_days, spells = occupied_place_days(db_session, scope, page.spells if page else None)
    cohort_rows = (
        page.cohorts if page else queries.list_cohorts(db_session, programme_id=programme_id, cohort_id=only_cohort)
    )
    cohorts = []
    for cohort_id, name, places, kind in cohort_rows:
        occupied = counts[cohort_id, EnrolmentStatus.ACTIVE]
        offered = counts[cohort_id, EnrolmentStatus.OFFERED]
        active_all = counts_all[cohort_id, EnrolmentStatus.ACTIVE]
        offered_all = counts_all[cohort_id, EnrolmentStatus.OFFERED]
        used, funded_days, supported = place_days[cohort_id], places * scope.period.days, spells[cohort_id]
        cohorts.append(
            CohortPlaces(
                cohort_id=cohort_id,
                cohort_name=name,
                cohort_kind=kind,
                funded=places,
                occupied=shown.count(occupied),
                offered=shown.count(offered),
                # Funded minus free would give back a suppressed number of children holding places.
                free=shown.derived(max(places - active_all - offered_all, 0), active_all, offered_all),
                children_supported_in_period=shown.count(supported),
                occupied_place_days=shown.derived(used, supported),
                funded_place_days=funded_days,
                occupancy=shown.derived(rules.ratio(used, funded_days), supported),
            )
        )
    return PlacesDashboard(scope.filters, tuple(cohorts))


def occupied_place_days(
    db_session: Session, scope: Scope, spells: Mapping[uuid.UUID, Sequence[rules.Spell]] | None = None
) -> tuple[dict[uuid.UUID, int], dict[uuid.UUID, int]]:
    """Occupied place-days in the period and the spells of support contributing, per cohort. Spells given are
    those of a longer period, within the same filters (a spell outside this period holds no day of it)."""
    if spells is None:
        spans = queries.list_support_spans(
            db_session,
            starts_at=scope.starts_at,
            ends_before=scope.ends_before,
            **narrowing(scope),  # type: ignore[arg-type]
        )
        spells = spells_by_cohort(spans, scope.zone)
    days: dict[uuid.UUID, int] = defaultdict(int)
    holding: dict[uuid.UUID, int] = defaultdict(int)
    for cohort_id, cohort_spells in spells.items():
        days[cohort_id], holding[cohort_id] = rules.place_days_held(cohort_spells, scope.period)
    return days, holding


# Waitlist


@dataclass(frozen=True)
class WaitlistDashboard:
    filters: Filters
    waitlisted_now: int | str
    still_waiting_for_first_session: int | str
    first_sessions_in_period: int | str
    median_wait_days: Decimal | None
    p90_wait_days: int | None


def waitlist_dashboard(
    db_session: Session, *, actor: Actor, request: DashboardRequest, suppression_threshold: int, now: datetime
) -> WaitlistDashboard:
    """The waitlist now; waits from referral to first completed session for first sessions in the period; and
    children in the cohort or on its waitlist who have not yet had a first session."""
    scope = resolve_scope(
        db_session, actor=actor, request=request, suppression_threshold=suppression_threshold, now=now
    )
    shown = scope.disclosure
    waitlisted = sum(
        count
        for _cohort, status, district, count in queries.count_enrolments(
            db_session, programme_id=scope.programme.id, cohort_id=scope.filters.cohort_id
        )
        if status is EnrolmentStatus.WAITLISTED and scope.filters.district in (None, district)
    )
    waits = [
        (local_date(first_at, scope.zone) - referred_on).days
        for referred_on, first_at in queries.list_first_session_waits(
            db_session,
            starts_at=scope.starts_at,
            ends_before=scope.ends_before,
            **narrowing(scope),  # type: ignore[arg-type]
        )
    ]
    still_waiting = queries.count_still_waiting(db_session, **narrowing(scope))  # type: ignore[arg-type]
    return WaitlistDashboard(
        filters=scope.filters,
        waitlisted_now=shown.count(waitlisted),
        still_waiting_for_first_session=shown.count(still_waiting),
        first_sessions_in_period=shown.count(len(waits)),
        median_wait_days=shown.derived(rules.median(waits), len(waits)),
        p90_wait_days=shown.derived(rules.nearest_rank_percentile(waits, 90), len(waits)),
    )


# Mentors


@dataclass(frozen=True)
class MentorCaseload:
    mentor_id: uuid.UUID
    display_name: str
    caseload: int
    max_caseload: int | None
    utilisation: Decimal | None


@dataclass(frozen=True)
class MentorsDashboard:
    filters: Filters
    mentors: int | str
    children_allocated: int | str
    at_or_over_capacity: int | str
    mean_utilisation: Decimal | None
    # Staff only: commissioners get the distribution above and an empty list.
    caseloads: tuple[MentorCaseload, ...]


def mentors_dashboard(
    db_session: Session, *, actor: Actor, request: DashboardRequest, suppression_threshold: int, now: datetime
) -> MentorsDashboard:
    """Current caseloads against each mentor's maximum. A cohort or district counts only the allocations of
    children in it; the period does not apply (caseloads are now). Utilisation is caseload over maximum; the
    mean is over mentors with a maximum above zero."""
    scope = resolve_scope(
        db_session, actor=actor, request=request, suppression_threshold=suppression_threshold, now=now
    )
    shown = scope.disclosure
    rows = queries.list_mentor_caseloads(db_session, **narrowing(scope))  # type: ignore[arg-type]
    caseloads = tuple(
        MentorCaseload(mentor_id, name, caseload, maximum, rules.ratio(caseload, maximum) if maximum else None)
        for mentor_id, name, maximum, caseload in rows
    )
    allocated = sum(item.caseload for item in caseloads)
    full = sum(1 for item in caseloads if item.max_caseload is not None and item.caseload >= item.max_caseload)
    utilisations = [item.utilisation for item in caseloads if item.utilisation is not None]
    return MentorsDashboard(
        filters=scope.filters,
        mentors=shown.count(len(caseloads)),
        children_allocated=shown.count(allocated),
        at_or_over_capacity=shown.count(full),
        mean_utilisation=shown.derived(rules.mean(utilisations), len(caseloads), allocated),
        caseloads=() if shown.commissioner else caseloads,
    )
