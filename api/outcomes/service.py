"""Recording outcome events (one at a time or from an agency's CSV extract), the before/during rates they feed,
and the cost-benefit estimate. Every read and write of a child's events is audited; aggregates name no child,
and what a commissioner sees has small numbers suppressed."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime
from decimal import ROUND_HALF_UP, Decimal

from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from api.actors import Actor, Role
from api.audit import service as audit
from api.children.service import visible_child
from api.db import use_case
from api.disclosure import is_suppressed, suppress
from api.missing.models import MissingEpisode
from api.outcomes import csv_import, errors, queries, rules
from api.outcomes.cost_benefit import CostRange, cost_benefit, cost_items, financial_year, uplift
from api.outcomes.csv_import import ImportMode, RowProblem
from api.outcomes.models import OutcomeEvent, OutcomeSetting
from api.outcomes.rates import (
    DEFAULT_BASELINE_MONTHS,
    ChildOutcomes,
    OutcomeTotals,
    child_outcomes,
    intervention_spell,
    outcome_totals,
)
from api.outcomes.rules import EventKey, OutcomeEventType, OutcomeSource
from api.pagination import Page, Window
from api.programmes.errors import CohortNotFound
from api.programmes.models import Programme
from api.programmes.queries import get_cohort_or_none
from api.programmes.service import get_programme


def _today(db_session: Session, programme_id: uuid.UUID, now: datetime) -> date:
    programme = db_session.get(Programme, programme_id)
    assert programme is not None
    return rules.local_date(now, programme.time_zone)


def _flush_refusing_duplicates(db_session: Session) -> None:
    try:
        db_session.flush()
    except IntegrityError as error:
        # Two writers racing to record the same event: the partial unique indexes keep one (the use case's
        # transaction rolls back as the error leaves it).
        if "missing_episode" in str(error.orig):
            raise errors.MissingEpisodeAlreadyRecorded() from error
        raise errors.OutcomeEventAlreadyRecorded() from error


# One event at a time


@use_case
def record_outcome_event(
    db_session: Session,
    *,
    actor: Actor,
    child_id: uuid.UUID,
    event_type: OutcomeEventType,
    occurred_on: date,
    source: OutcomeSource,
    source_detail: str | None,
    missing_episode_id: uuid.UUID | None,
    now: datetime,
) -> OutcomeEvent:
    child = visible_child(db_session, actor=actor, child_id=child_id)
    problems = rules.event_problems(
        occurred_on=occurred_on,
        today=_today(db_session, child.programme_id, now),
        date_of_birth=child.date_of_birth,
    )
    if problems:
        raise errors.ImplausibleOutcomeEvent(errors={field: [problem] for field, problem in problems.items()})
    if missing_episode_id is not None:
        episode = db_session.get(MissingEpisode, missing_episode_id)
        if event_type is not OutcomeEventType.MISSING_EPISODE or episode is None or episode.child_id != child.id:
            raise errors.MissingEpisodeNotLinkable(
                errors={"missing_episode_id": [errors.MissingEpisodeNotLinkable.default_message]}
            )
        if queries.missing_episode_recorded(db_session, missing_episode_id=missing_episode_id):
            raise errors.MissingEpisodeAlreadyRecorded()
    if queries.event_recorded(db_session, key=EventKey(child.id, event_type, occurred_on, source)):
        raise errors.OutcomeEventAlreadyRecorded()
    source_detail = (source_detail or "").strip() or None
    event = OutcomeEvent(
        child_id=child.id,
        event_type=event_type,
        occurred_on=occurred_on,
        source=source,
        source_detail=source_detail,
        missing_episode_id=missing_episode_id,
        recorded_at=now,
        recorded_by_user_id=actor.user_id,
    )
    db_session.add(event)
    _flush_refusing_duplicates(db_session)
    audit.record(db_session, actor=actor, action="outcome_event.create", record=event, child_id=event.child_id, now=now)
    return event


@use_case
def list_outcome_events(
    db_session: Session, *, actor: Actor, child_id: uuid.UUID, window: Window, now: datetime
) -> Page[OutcomeEvent]:
    child = visible_child(db_session, actor=actor, child_id=child_id)
    page = queries.list_child_events(db_session, child_id=child.id, window=window)
    audit.record_many(
        db_session,
        actor=actor,
        action="outcome_event.list",
        of=OutcomeEvent,
        records=[(event.id, event.child_id) for event in page.items],
        now=now,
    )
    return page


@use_case
def void_outcome_event(db_session: Session, *, actor: Actor, event_id: uuid.UUID, now: datetime) -> None:
    """Remove an event recorded in error: it stops counting and leaves the lists, but the row stays (who
    recorded it, who removed it, when). A correction is a removal and a new event."""
    event = queries.get_visible_event(db_session, actor=actor, event_id=event_id, for_update=True)
    if event is None:
        raise errors.OutcomeEventNotFound()
    event.voided_at = now
    event.voided_by_user_id = actor.user_id
    audit.record(db_session, actor=actor, action="outcome_event.void", record=event, child_id=event.child_id, now=now)


# The CSV import


@dataclass(frozen=True)
class ImportReport:
    imported: int
    rejected: Sequence[RowProblem]


def _problem_entry(problem: RowProblem) -> dict[str, object]:
    return {"line": problem.line, "field": problem.field, "reason": problem.reason, "message": problem.message}


@use_case
def import_outcome_events(
    db_session: Session,
    *,
    actor: Actor,
    programme_id: uuid.UUID,
    content: bytes,
    mode: ImportMode,
    now: datetime,
) -> ImportReport:
    """Import an extract's rows (child_reference,event_type,occurred_on,source[,source_detail]) in one
    transaction. all_or_nothing imports nothing if any row is refused; valid_rows imports the rest."""
    programme = get_programme(db_session, actor=actor, programme_id=programme_id)
    _, rows = csv_import.parse_csv(content)
    references = {
        csv_import.normalise_reference(row.values["child_reference"]) for row in rows if row.values is not None
    }
    children = queries.children_by_reference(db_session, programme_id=programme.id, references=references)
    existing = queries.current_event_keys(db_session, child_ids=[child.child_id for child in children.values()])
    valid, problems = csv_import.validate_rows(
        rows, children=children, existing=existing, today=rules.local_date(now, programme.time_zone)
    )
    if problems and mode is ImportMode.ALL_OR_NOTHING:
        raise errors.ImportRejected(imported=0, rejected=[_problem_entry(problem) for problem in problems])
    events = [
        OutcomeEvent(
            id=uuid.uuid4(),
            child_id=row.key.child_id,
            event_type=row.key.event_type,
            occurred_on=row.key.occurred_on,
            source=row.key.source,
            source_detail=row.source_detail,
            recorded_at=now,
            recorded_by_user_id=actor.user_id,
        )
        for row in valid
    ]
    db_session.add_all(events)
    _flush_refusing_duplicates(db_session)
    audit.record_many(
        db_session,
        actor=actor,
        action="outcome_event.import",
        of=OutcomeEvent,
        records=[(event.id, event.child_id) for event in events],
        now=now,
    )
    return ImportReport(imported=len(events), rejected=problems)


# Settings


@dataclass(frozen=True)
class OutcomeSettings:
    programme_id: uuid.UUID
    baseline_months: int
    fixed_term_exclusion_cost_code: str | None


def _settings(db_session: Session, programme_id: uuid.UUID) -> OutcomeSettings:
    setting = queries.get_setting(db_session, programme_id=programme_id)
    if setting is None:
        return OutcomeSettings(programme_id, DEFAULT_BASELINE_MONTHS, None)
    return OutcomeSettings(programme_id, setting.baseline_months, setting.fixed_term_exclusion_cost_code)


def get_outcome_settings(db_session: Session, *, actor: Actor, programme_id: uuid.UUID) -> OutcomeSettings:
    programme = get_programme(db_session, actor=actor, programme_id=programme_id)
    return _settings(db_session, programme.id)


@use_case
def set_outcome_settings(
    db_session: Session,
    *,
    actor: Actor,
    programme_id: uuid.UUID,
    baseline_months: int,
    fixed_term_exclusion_cost_code: str | None,
    now: datetime,
) -> OutcomeSettings:
    programme = get_programme(db_session, actor=actor, programme_id=programme_id)
    code = (fixed_term_exclusion_cost_code or "").strip() or None
    if code is not None and not queries.unit_cost_exists(db_session, item_code=code):
        raise errors.UnknownUnitCost(
            errors={"fixed_term_exclusion_cost_code": [errors.UnknownUnitCost.default_message]}
        )
    setting = queries.get_setting(db_session, programme_id=programme.id) or OutcomeSetting(programme_id=programme.id)
    setting.baseline_months = baseline_months
    setting.fixed_term_exclusion_cost_code = code
    setting.updated_at = now
    setting.updated_by_user_id = actor.user_id
    db_session.add(setting)
    return _settings(db_session, programme.id)


# Windows and rates


@dataclass(frozen=True)
class OutcomeSummary:
    """Events and rates before and during, pooled over the programme's (or a cohort's) children: no child named.
    Counts are raw: whoever shows them to a commissioner suppresses small numbers (see estimate_cost_benefit)."""

    programme_id: uuid.UUID
    cohort_id: uuid.UUID | None
    as_of: date
    baseline_months: int
    totals: OutcomeTotals


def summarise_outcomes(
    db_session: Session, *, actor: Actor, programme_id: uuid.UUID, cohort_id: uuid.UUID | None, now: datetime
) -> OutcomeSummary:
    """Per programme (or per the cohort children started in): children counted, child-years in the baseline
    and during windows, and each event type's counts, rates per child-year and percentage change.

    A child counts once their support has started; their first spell of support is the one measured."""
    programme = get_programme(db_session, actor=actor, programme_id=programme_id)
    if cohort_id is not None:
        cohort = get_cohort_or_none(db_session, cohort_id)
        if cohort is None or cohort.programme_id != programme.id:
            raise CohortNotFound()
    settings = _settings(db_session, programme.id)
    today = rules.local_date(now, programme.time_zone)
    spells = {}
    for child_id, spans in queries.list_started_enrolments(db_session, programme_id=programme.id).items():
        spell = intervention_spell(spans, time_zone=programme.time_zone)
        if spell is not None and spell.started_on <= today and cohort_id in (None, spell.cohort_id):
            spells[child_id] = spell
    windows = {
        child_id: child_outcomes(spell, [], baseline_months=settings.baseline_months, today=today)
        for child_id, spell in spells.items()
    }
    events = (
        queries.list_event_dates(
            db_session,
            programme_id=programme.id,
            child_ids=list(windows),
            since=min(child.baseline.starts_on for child in windows.values()),
            until=today,
        )
        if windows
        else {}
    )
    totals = outcome_totals(
        ChildOutcomes(child.baseline, child.during, events[child_id]) for child_id, child in windows.items()
    )
    return OutcomeSummary(programme.id, cohort_id, today, settings.baseline_months, totals)


# The cost-benefit estimate

METHOD_NOTE = (
    "A before/after comparison of the same children: events per child-year in the {months} months before each "
    "child's support started against the time since. It has no counterfactual, so it cannot say what would have "
    "happened without the programme, and the savings are gross estimates from national unit costs, uplifted to "
    "{price_year} prices with HM Treasury GDP deflators ({series}). Low and high use the lower and upper unit costs."
)


@dataclass(frozen=True)
class TypeEstimate:
    event_type: OutcomeEventType
    baseline_events: int | str
    during_events: int | str
    baseline_rate: Decimal | None
    during_rate: Decimal | None
    percent_change: Decimal | None
    monetised: bool
    unit_cost_items: tuple[str, ...]
    unit_cost_low: Decimal | None
    unit_cost_high: Decimal | None
    saving_low: Decimal | None
    saving_high: Decimal | None


@dataclass(frozen=True)
class CostBenefitEstimate:
    programme_id: uuid.UUID
    cohort_id: uuid.UUID | None
    as_of: date
    price_year: str
    deflator_series: str
    baseline_months: int
    children: int | str
    child_years_baseline: Decimal | None
    child_years_during: Decimal | None
    outcomes: tuple[TypeEstimate, ...]
    total_saving_low: Decimal | None
    total_saving_high: Decimal | None
    saving_per_child_low: Decimal | None
    saving_per_child_high: Decimal | None
    method: str


def _round(value: Decimal | None, places: str) -> Decimal | None:
    return value.quantize(Decimal(places), rounding=ROUND_HALF_UP) if value is not None else None


def _uplifted_costs(
    db_session: Session, *, fixed_term_code: str | None, price_year: str, series: dict[str, Decimal]
) -> tuple[dict[OutcomeEventType, CostRange], dict[OutcomeEventType, tuple[str, ...]]]:
    items = cost_items(fixed_term_exclusion_code=fixed_term_code)
    codes = {code for item in items.values() for code in (item.low, item.high)}
    unit_costs = queries.current_unit_costs(db_session, item_codes=codes)
    missing = sorted(codes - set(unit_costs))
    if missing:
        raise errors.UnitCostMissing(f"The unit cost table has no {', '.join(missing)}.", missing_items=missing)
    costs, names = {}, {}
    for event_type, item in items.items():
        low, high = unit_costs[item.low], unit_costs[item.high]
        costs[event_type] = CostRange(
            low=uplift(Decimal(str(low.value_low)), from_year=low.price_year, to_year=price_year, series=series),
            high=uplift(Decimal(str(high.value_high)), from_year=high.price_year, to_year=price_year, series=series),
        )
        names[event_type] = tuple(dict.fromkeys((item.low, item.high)))
    return costs, names


def estimate_cost_benefit(
    db_session: Session,
    *,
    actor: Actor,
    programme_id: uuid.UUID,
    cohort_id: uuid.UUID | None,
    price_year: str,
    suppression_threshold: int,
    now: datetime,
    deflator_series: str | None = None,
) -> CostBenefitEstimate:
    """Savings per event type, in total and per child, low and high, in one price year's money.

    Commissioners get counts from 1 to threshold-1 as "<5"; every figure derived from a suppressed count (its
    rates, change and savings, and the totals they add to) is withheld. No child is ever named."""
    price_year = financial_year(price_year)
    summary = summarise_outcomes(db_session, actor=actor, programme_id=programme_id, cohort_id=cohort_id, now=now)
    series = queries.get_deflator_series(db_session, name=deflator_series)
    if series is None:
        raise errors.DeflatorYearMissing("No GDP deflator series is loaded.", missing_years=[price_year])
    indices = queries.deflator_indices(db_session, series_name=series.name)
    settings = _settings(db_session, summary.programme_id)
    costs, cost_names = _uplifted_costs(
        db_session, fixed_term_code=settings.fixed_term_exclusion_cost_code, price_year=price_year, series=indices
    )
    totals = summary.totals
    estimate = cost_benefit(totals, costs)

    commissioner = actor.role is Role.COMMISSIONER

    def hidden(count: int) -> bool:
        return commissioner and is_suppressed(count, threshold=suppression_threshold)

    def shown(count: int) -> int | str:
        return suppress(count, threshold=suppression_threshold) if commissioner else count

    children_hidden = hidden(totals.children)
    outcomes = []
    for rates, saving in zip(totals.by_type, estimate.by_type, strict=True):
        withheld = children_hidden or hidden(rates.baseline_events) or hidden(rates.during_events)
        outcomes.append(
            TypeEstimate(
                event_type=rates.event_type,
                baseline_events=shown(rates.baseline_events),
                during_events=shown(rates.during_events),
                baseline_rate=None if withheld else _round(rates.baseline_rate, "0.0001"),
                during_rate=None if withheld else _round(rates.during_rate, "0.0001"),
                percent_change=None if withheld else _round(rates.percent_change, "0.1"),
                monetised=saving.cost is not None,
                unit_cost_items=cost_names.get(rates.event_type, ()),
                unit_cost_low=_round(saving.cost.low, "0.01") if saving.cost else None,
                unit_cost_high=_round(saving.cost.high, "0.01") if saving.cost else None,
                saving_low=None if withheld else _round(saving.saving_low, "1"),
                saving_high=None if withheld else _round(saving.saving_high, "1"),
            )
        )
    # A total shown beside its other parts would give away a withheld part.
    totals_hidden = any(item.monetised and item.saving_low is None for item in outcomes)
    return CostBenefitEstimate(
        programme_id=summary.programme_id,
        cohort_id=summary.cohort_id,
        as_of=summary.as_of,
        price_year=price_year,
        deflator_series=series.name,
        baseline_months=summary.baseline_months,
        children=shown(totals.children),
        child_years_baseline=None if children_hidden else _round(totals.baseline_child_years, "0.01"),
        child_years_during=None if children_hidden else _round(totals.during_child_years, "0.01"),
        outcomes=tuple(outcomes),
        total_saving_low=None if totals_hidden else _round(estimate.total_low, "1"),
        total_saving_high=None if totals_hidden else _round(estimate.total_high, "1"),
        saving_per_child_low=None if totals_hidden else _round(estimate.per_child_low, "1"),
        saving_per_child_high=None if totals_hidden else _round(estimate.per_child_high, "1"),
        method=METHOD_NOTE.format(months=summary.baseline_months, price_year=price_year, series=series.name),
    )
