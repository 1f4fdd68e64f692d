"""The change dashboards: how children's wellbeing moved from their baseline, the outcome events before and
during support with their cost-benefit estimate, and return conversations after missing episodes. Read-only.

Wellbeing is computed here; outcomes and return conversations are the owning domains' services
(api.outcomes.service, api.missing.service), which suppress small numbers for commissioners themselves.
"""

from __future__ import annotations

import dataclasses
from collections import Counter, defaultdict
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from sqlalchemy.orm import Session

from api.actors import Actor
from api.dashboards import queries, rules
from api.dashboards.scope import DashboardRequest, Filters, narrowing, resolve_scope
from api.missing import service as missing_service
from api.missing.service import ReturnConversationSummary
from api.outcomes import queries as outcomes_queries
from api.outcomes import service as outcomes_service
from api.outcomes.service import CostBenefitEstimate
from api.wellbeing import rules as wellbeing_rules
from api.wellbeing import scoring
from api.wellbeing.rules import Instrument, ScoringRule
from api.wellbeing.scoring import ChangeVerdict


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
    scope = resolve_scope(
        db_session, actor=actor, request=request, suppression_threshold=suppression_threshold, now=now
    )
    shown = scope.disclosure
    # Per measure: how many children have a baseline, and the change of each that has a follow-up (their latest
    # score, if it is later than the baseline and completed in the period).
    # (One row per child and measure: the period's start is worked out once, not per row.)
    with_baseline: Counter[tuple[str, str]] = Counter()
    changes_by_measure: dict[tuple[str, str], list[Decimal]] = defaultdict(list)
    starts_at = scope.starts_at
    for instrument_key, measure, baseline_at, baseline, latest_at, latest in queries.list_baselines_and_latest(
        db_session,
        ends_before=scope.ends_before,
        **narrowing(scope),  # type: ignore[arg-type]
    ):
        with_baseline[instrument_key, measure] += 1
        if latest_at >= starts_at and latest_at > baseline_at:
            changes_by_measure[instrument_key, measure].append(latest - baseline)
    rows = []
    for key in sorted(instruments):
        instrument = instruments[key]
        threshold = instrument.meaningful_change.threshold
        for measure in _measures_compared(instrument):
            changes = changes_by_measure.get((key, measure), [])
            lower_is_better = scoring.lower_is_better(instrument, measure)
            improved = sum(
                scoring.classify_change(change, threshold=threshold, lower_is_better=lower_is_better)
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
    scope = resolve_scope(
        db_session, actor=actor, request=request, suppression_threshold=suppression_threshold, now=now
    )
    # The estimate uses the most recently published deflator series; named here once found, the estimate finds it
    # in the session instead of asking again.
    series = outcomes_queries.get_deflator_series(db_session, name=None)
    if price_year is None:
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
        deflator_series=series.name if series else None,
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
    scope = resolve_scope(
        db_session, actor=actor, request=request, suppression_threshold=suppression_threshold, now=now
    )
    summary = missing_service.summarise_return_conversations(
        db_session,
        actor=actor,
        programme_id=scope.programme.id,
        since=scope.period.since,
        until=scope.period.until,
        suppression_threshold=suppression_threshold,
    )
    return ReturnConversationsDashboard(dataclasses.replace(scope.filters, cohort_id=None, district=None), summary)
