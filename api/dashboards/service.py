"""The commissioner dashboards: each use case checks who may see the programme, reads aggregates from
queries.py and, for commissioners, applies small-number suppression (api.disclosure). Read-only: no writes.

Staff (admins, the programme's coordinators) see every figure; commissioners see counts from 1 to threshold-1
as "<5" and no figure derived from such a count. No answer carries a child's id, reference or name.
"""

from __future__ import annotations

import dataclasses
import uuid
from collections import Counter, defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

from sqlalchemy.orm import Session

from api.actors import Actor, Role
from api.dashboards import errors, queries, rules
from api.dashboards.queries import SupportSpan
from api.dashboards.rules import Disclosure, Period
from api.enrolments.rules import EnrolmentStatus
from api.missing import service as missing_service
from api.missing.service import ReturnConversationSummary
from api.outcomes import queries as outcomes_queries
from api.outcomes import service as outcomes_service
from api.outcomes.service import CostBenefitEstimate
from api.programmes.errors import CohortNotFound
from api.programmes.models import Programme
from api.programmes.queries import get_cohort_or_none
from api.programmes.service import get_programme
from api.sessions.rules import SessionStatus
from api.wellbeing import rules as wellbeing_rules
from api.wellbeing import scoring
from api.wellbeing.rules import Instrument, ScoringRule
from api.wellbeing.scoring import ChangeVerdict


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
class _Scope:
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


def _local_date(moment: datetime, zone: ZoneInfo) -> date:
    return moment.astimezone(zone).date()


@dataclass(frozen=True)
class _PageReads:
    """What the page's periods have in common, read once for all of them, with the page's filters: the spells of
    support overlapping any period (by cohort, as local dates), the open enrolments and the cohorts as they are now
    (the places dashboards' "now" figures, the same for every period), and the sessions counted for each of the
    page's weeks, by their (since, until)."""

    spells: Mapping[uuid.UUID, Sequence[rules.Spell]]
    enrolment_counts: Sequence[tuple[uuid.UUID, EnrolmentStatus, str, int]]
    cohorts: Sequence[tuple[uuid.UUID, str, int]]
    sessions: Mapping[tuple[date, date], dict[SessionStatus, queries.SessionCounts]]


def _scope(
    db_session: Session, *, actor: Actor, request: DashboardRequest, suppression_threshold: int, now: datetime
) -> _Scope:
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
    return _Scope(
        programme,
        Filters(programme.id, request.cohort_id, request.district, period.since, period.until),
        period,
        Disclosure(commissioner=actor.role is Role.COMMISSIONER, threshold=suppression_threshold),
    )


def _narrowing(scope: _Scope) -> dict[str, object]:
    return {
        "programme_id": scope.programme.id,
        "cohort_id": scope.filters.cohort_id,
        "district": scope.filters.district,
    }


# Places


@dataclass(frozen=True)
class CohortPlaces:
    cohort_id: uuid.UUID
    cohort_name: str
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
    page: _PageReads | None = None,
) -> PlacesDashboard:
    """Per cohort: places funded, occupied (active) and offered now, free now; and time-weighted occupancy over
    the period. With a district, occupied, offered and place-days count that district's children only, while
    free stays the cohort's (whoever holds its places). `page`: the page's reads, made once for all its periods."""
    scope = _scope(db_session, actor=actor, request=request, suppression_threshold=suppression_threshold, now=now)
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
    place_days, spells = _occupied_place_days(db_session, scope, page.spells if page else None)
    cohort_rows = (
        page.cohorts if page else queries.list_cohorts(db_session, programme_id=programme_id, cohort_id=only_cohort)
    )
    cohorts = []
    for cohort_id, name, places in cohort_rows:
        occupied = counts[cohort_id, EnrolmentStatus.ACTIVE]
        offered = counts[cohort_id, EnrolmentStatus.OFFERED]
        active_all = counts_all[cohort_id, EnrolmentStatus.ACTIVE]
        offered_all = counts_all[cohort_id, EnrolmentStatus.OFFERED]
        used, funded_days, supported = place_days[cohort_id], places * scope.period.days, spells[cohort_id]
        cohorts.append(
            CohortPlaces(
                cohort_id=cohort_id,
                cohort_name=name,
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


def _spells_by_cohort(spans: Iterable[SupportSpan], zone: ZoneInfo) -> dict[uuid.UUID, list[rules.Spell]]:
    by_cohort: dict[uuid.UUID, list[rules.Spell]] = defaultdict(list)
    for cohort_id, started_at, ended_at in spans:
        if started_at is None:  # excluded by the query; here for the type checker
            continue
        ended_on = _local_date(ended_at, zone) if ended_at is not None else None
        by_cohort[cohort_id].append((_local_date(started_at, zone), ended_on))
    return by_cohort


def _occupied_place_days(
    db_session: Session, scope: _Scope, spells: Mapping[uuid.UUID, Sequence[rules.Spell]] | None = None
) -> tuple[dict[uuid.UUID, int], dict[uuid.UUID, int]]:
    """Occupied place-days in the period and the spells of support contributing, per cohort. Spells given are
    those of a longer period, within the same filters (a spell outside this period holds no day of it)."""
    if spells is None:
        spans = queries.list_support_spans(
            db_session,
            starts_at=scope.starts_at,
            ends_before=scope.ends_before,
            **_narrowing(scope),  # type: ignore[arg-type]
        )
        spells = _spells_by_cohort(spans, scope.zone)
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
    scope = _scope(db_session, actor=actor, request=request, suppression_threshold=suppression_threshold, now=now)
    shown = scope.disclosure
    waitlisted = sum(
        count
        for _cohort, status, district, count in queries.count_enrolments(
            db_session, programme_id=scope.programme.id, cohort_id=scope.filters.cohort_id
        )
        if status is EnrolmentStatus.WAITLISTED and scope.filters.district in (None, district)
    )
    waits = [
        (_local_date(first_at, scope.zone) - referred_on).days
        for referred_on, first_at in queries.list_first_session_waits(
            db_session,
            starts_at=scope.starts_at,
            ends_before=scope.ends_before,
            **_narrowing(scope),  # type: ignore[arg-type]
        )
    ]
    still_waiting = queries.count_still_waiting(db_session, **_narrowing(scope))  # type: ignore[arg-type]
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
    scope = _scope(db_session, actor=actor, request=request, suppression_threshold=suppression_threshold, now=now)
    shown = scope.disclosure
    rows = queries.list_mentor_caseloads(db_session, **_narrowing(scope))  # type: ignore[arg-type]
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


# Delivery


@dataclass(frozen=True)
class DeliveryDashboard:
    filters: Filters
    planned: int | str
    delivered: int | str
    missed: int | str
    cancelled: int | str
    not_yet_recorded: int | str
    evening_share: Decimal | None
    weekend_share: Decimal | None
    children_seen: int | str
    attendances: int | str
    child_weeks_of_support: Decimal | None
    sessions_per_child_per_week: Decimal | None


def delivery_dashboard(
    db_session: Session,
    *,
    actor: Actor,
    request: DashboardRequest,
    suppression_threshold: int,
    now: datetime,
    page: _PageReads | None = None,
) -> DeliveryDashboard:
    """Sessions planned to start in the period, by what happened; evening and weekend shares of delivered
    sessions (programme time); and dosage: children's attendances at delivered sessions per week of support.
    `page`: the page's reads, made once for all its periods."""
    scope = _scope(db_session, actor=actor, request=request, suppression_threshold=suppression_threshold, now=now)
    shown = scope.disclosure
    if page is not None:
        by_status = page.sessions[scope.period.since, scope.period.until]
    else:
        window = {"starts_at": scope.starts_at, "ends_before": scope.ends_before, **_narrowing(scope)}
        by_status = queries.count_sessions(db_session, **window)  # type: ignore[arg-type]
    # A rescheduled session is replaced by its new one, which is counted in its own right.
    planned = sum(counts.sessions for status, counts in by_status.items() if status is not SessionStatus.RESCHEDULED)
    completed = by_status[SessionStatus.COMPLETED]
    delivered, evening, weekend = completed.sessions, completed.evening, completed.weekend
    attendances, children = completed.attendances, completed.children
    cancelled = (
        by_status[SessionStatus.CANCELLED_BY_CHILD].sessions + by_status[SessionStatus.CANCELLED_BY_MENTOR].sessions
    )
    place_days, spells = _occupied_place_days(db_session, scope, page.spells if page else None)
    supported = sum(spells.values())
    child_weeks = rules.ratio(sum(place_days.values()), 7, "0.01")
    return DeliveryDashboard(
        filters=scope.filters,
        planned=shown.count(planned),
        delivered=shown.count(delivered),
        missed=shown.count(by_status[SessionStatus.DID_NOT_ATTEND].sessions),
        cancelled=shown.count(cancelled),
        not_yet_recorded=shown.count(by_status[SessionStatus.PLANNED].sessions),
        evening_share=shown.derived(rules.ratio(evening, delivered), evening, delivered),
        weekend_share=shown.derived(rules.ratio(weekend, delivered), weekend, delivered),
        children_seen=shown.count(children),
        attendances=shown.count(attendances),
        child_weeks_of_support=shown.derived(child_weeks, supported),
        sessions_per_child_per_week=shown.derived(
            rules.ratio(attendances, child_weeks, "0.01") if child_weeks else None, attendances, supported
        ),
    )


# Wellbeing


@dataclass(frozen=True)
class MeasureChange:
    instrument_key: str
    measure: str
    children_with_baseline: int | str
    children_with_follow_up: int | str
    mean_change: Decimal | None
    meaningfully_improved: int | str
    improved_share: Decimal | None


@dataclass(frozen=True)
class WellbeingDashboard:
    filters: Filters
    measures: tuple[MeasureChange, ...]
    goal_progress: MeasureChange | None


def _measures_compared(instrument: Instrument) -> tuple[str, ...]:
    """The scores change is read on: each ONS4 item, SWEMWBS's metric score, the mean of a child's goals."""
    if instrument.scoring is ScoringRule.PER_ITEM:
        return instrument.item_keys
    if instrument.scoring is ScoringRule.SUM_THEN_TABLE:
        return (wellbeing_rules.METRIC,)
    return (wellbeing_rules.MEAN_OF_GOALS,)


def wellbeing_dashboard(
    db_session: Session,
    *,
    actor: Actor,
    request: DashboardRequest,
    instruments: Mapping[str, Instrument],
    suppression_threshold: int,
    now: datetime,
) -> WellbeingDashboard:
    """Per instrument and measure: children with a baseline (their first score ever, up to the period's end) and
    a follow-up (their latest later score completed in the period); the mean change (follow-up minus baseline);
    and how many, and what share, improved by at least the instrument's meaningful-change threshold. Goal
    progress is the same for the mean goal rating (Goal Based Outcomes), first rating to latest."""
    scope = _scope(db_session, actor=actor, request=request, suppression_threshold=suppression_threshold, now=now)
    shown = scope.disclosure
    # Per measure: how many children have a baseline, and the change of each that has a follow-up (their latest
    # score, if it is later than the baseline and completed in the period).
    with_baseline: Counter[tuple[str, str]] = Counter()
    changes_by_measure: dict[tuple[str, str], list[Decimal]] = defaultdict(list)
    for instrument_key, measure, baseline_at, baseline, latest_at, latest in queries.list_baselines_and_latest(
        db_session,
        ends_before=scope.ends_before,
        **_narrowing(scope),  # type: ignore[arg-type]
    ):
        with_baseline[instrument_key, measure] += 1
        if latest_at >= scope.starts_at and latest_at > baseline_at:
            changes_by_measure[instrument_key, measure].append(latest - baseline)
    rows = []
    for key in sorted(instruments):
        instrument = instruments[key]
        for measure in _measures_compared(instrument):
            changes = changes_by_measure.get((key, measure), [])
            improved = sum(
                scoring.classify_change(
                    change,
                    threshold=instrument.meaningful_change.threshold,
                    lower_is_better=scoring.lower_is_better(instrument, measure),
                )
                is ChangeVerdict.MEANINGFUL_IMPROVEMENT
                for change in changes
            )
            rows.append(
                MeasureChange(
                    instrument_key=key,
                    measure=measure,
                    children_with_baseline=shown.count(with_baseline[key, measure]),
                    children_with_follow_up=shown.count(len(changes)),
                    mean_change=shown.derived(rules.mean(changes), len(changes)),
                    meaningfully_improved=shown.count(improved),
                    improved_share=shown.derived(rules.ratio(improved, len(changes)), len(changes), improved),
                )
            )
    goals = next((row for row in rows if row.measure == wellbeing_rules.MEAN_OF_GOALS), None)
    return WellbeingDashboard(scope.filters, tuple(rows), goals)


# Outcomes and return conversations: the owning domains' services, which suppress for commissioners themselves.


@dataclass(frozen=True)
class OutcomesDashboard:
    filters: Filters
    estimate: CostBenefitEstimate


def outcomes_dashboard(
    db_session: Session,
    *,
    actor: Actor,
    request: DashboardRequest,
    price_year: str | None,
    suppression_threshold: int,
    now: datetime,
) -> OutcomesDashboard:
    """Events per child-year before and during support and their percentage change per event type, with savings
    (api.outcomes.service.estimate_cost_benefit). Each child's own windows apply, so only the cohort filter
    narrows it; the period and district do not. The price year defaults to the latest the deflators cover."""
    scope = _scope(db_session, actor=actor, request=request, suppression_threshold=suppression_threshold, now=now)
    if price_year is None:
        series = outcomes_queries.get_deflator_series(db_session, name=None)
        years = outcomes_queries.deflator_indices(db_session, series_name=series.name) if series else {}
        price_year = max(years) if years else "2024/25"
    estimate = outcomes_service.estimate_cost_benefit(
        db_session,
        actor=actor,
        programme_id=scope.programme.id,
        cohort_id=scope.filters.cohort_id,
        price_year=price_year,
        suppression_threshold=suppression_threshold,
        now=now,
    )
    # Only the cohort narrows the outcomes, so only it is echoed.
    return OutcomesDashboard(dataclasses.replace(scope.filters, district=None, since=None, until=None), estimate)


@dataclass(frozen=True)
class ReturnConversationsDashboard:
    filters: Filters
    summary: ReturnConversationSummary


def return_conversations_dashboard(
    db_session: Session, *, actor: Actor, request: DashboardRequest, suppression_threshold: int, now: datetime
) -> ReturnConversationsDashboard:
    """Returns from missing in the period and how many had their return conversation completed within 72 hours
    (api.missing.service.summarise_return_conversations): programme-wide, the cohort and district do not apply."""
    scope = _scope(db_session, actor=actor, request=request, suppression_threshold=suppression_threshold, now=now)
    summary = missing_service.summarise_return_conversations(
        db_session,
        actor=actor,
        programme_id=scope.programme.id,
        since=scope.period.since,
        until=scope.period.until,
        suppression_threshold=suppression_threshold,
    )
    return ReturnConversationsDashboard(dataclasses.replace(scope.filters, cohort_id=None, district=None), summary)


# --- The dashboard page's figures --------------------------------------------------------------------------

PAGE_MONTHS = 12
PAGE_WEEKS = 12


@dataclass(frozen=True)
class PageFigures:
    """Everything the dashboard page draws: the year, each of the last 12 months and ISO weeks, and the rest."""

    year: PlacesDashboard
    months: list[tuple[date, PlacesDashboard]]  # (first day of the month, its places dashboard)
    weeks: list[tuple[date, DeliveryDashboard]]  # (Monday, its delivery dashboard)
    wellbeing: WellbeingDashboard
    outcomes: OutcomesDashboard


def _month_starts(until: date, count: int) -> list[date]:
    first, months = until.replace(day=1), []
    for _ in range(count):
        months.append(first)
        first = (first - timedelta(days=1)).replace(day=1)
    return months[::-1]


def _month_end(first: date) -> date:
    return (first.replace(day=28) + timedelta(days=4)).replace(day=1) - timedelta(days=1)


def page_figures(
    db_session: Session,
    *,
    actor: Actor,
    programme_id: uuid.UUID,
    instruments: Mapping[str, Instrument],
    suppression_threshold: int,
    now: datetime,
) -> PageFigures:
    """The page's series are the dashboards themselves, asked period by period, so the page shows exactly the
    figures (and the suppression) the JSON gives for the same periods."""
    request = DashboardRequest(programme_id=programme_id)
    # Held for the whole page: the session's identity map keeps only objects something refers to, so while this
    # reference lives, each period's access check finds the programme there instead of asking the database again.
    programme = get_programme(db_session, actor=actor, programme_id=programme_id)
    today = now.astimezone(ZoneInfo(programme.time_zone)).date()
    year = rules.default_period(today=today, since=None, until=None)
    until = year.until
    months = [(first, min(_month_end(first), until)) for first in _month_starts(until, PAGE_MONTHS)]
    this_monday = until - timedelta(days=until.weekday())
    mondays = [this_monday - timedelta(weeks=back) for back in range(PAGE_WEEKS - 1, -1, -1)]
    weeks = [(monday, min(monday + timedelta(days=6), until)) for monday in mondays]
    page = _read_for_page(
        db_session,
        programme=programme,
        covering=Period(min(year.since, months[0][0], weeks[0][0]), until),
        weeks=weeks,
    )

    def places(since: date, until: date) -> PlacesDashboard:
        period = dataclasses.replace(request, since=since, until=until)
        return places_dashboard(
            db_session, actor=actor, request=period, suppression_threshold=suppression_threshold, now=now, page=page
        )

    def delivery(since: date, until: date) -> DeliveryDashboard:
        period = dataclasses.replace(request, since=since, until=until)
        return delivery_dashboard(
            db_session, actor=actor, request=period, suppression_threshold=suppression_threshold, now=now, page=page
        )

    by_year = places(year.since, year.until)
    by_month = [(first, places(first, last)) for first, last in months]
    by_week = [(monday, delivery(monday, last)) for monday, last in weeks]
    wellbeing = wellbeing_dashboard(
        db_session,
        actor=actor,
        request=request,
        instruments=instruments,
        suppression_threshold=suppression_threshold,
        now=now,
    )
    outcomes = outcomes_dashboard(
        db_session,
        actor=actor,
        request=request,
        price_year=None,
        suppression_threshold=suppression_threshold,
        now=now,
    )
    return PageFigures(by_year, by_month, by_week, wellbeing, outcomes)


def _read_for_page(
    db_session: Session, *, programme: Programme, covering: Period, weeks: Sequence[tuple[date, date]]
) -> _PageReads:
    """The reads the page's periods share (the page has no cohort or district filter). The weeks are back to back,
    so their sessions are counted in one pass, split at each Monday's start in the programme's time zone."""
    zone, programme_id = programme.time_zone, programme.id
    bounds = [Period(since, until).starts_at(zone) for since, until in weeks] + [Period(*weeks[-1]).ends_before(zone)]
    by_week = queries.count_sessions_by_period(
        db_session, programme_id=programme_id, cohort_id=None, district=None, bounds=bounds
    )
    return _PageReads(
        spells=_spells_by_cohort(
            queries.list_support_spans(
                db_session,
                programme_id=programme_id,
                cohort_id=None,
                district=None,
                starts_at=covering.starts_at(zone),
                ends_before=covering.ends_before(zone),
            ),
            ZoneInfo(zone),
        ),
        enrolment_counts=queries.count_enrolments(db_session, programme_id=programme_id, cohort_id=None),
        cohorts=queries.list_cohorts(db_session, programme_id=programme_id, cohort_id=None),
        sessions=dict(zip(weeks, by_week, strict=True)),
    )
