"""Outcome rates before and during support, per programme and per cohort, and the cost-benefit estimate, through
the services on a small programme, against the same figures worked out independently in this file (plain date
arithmetic and fractions, the docs/domain.md unit costs and the seeded HM Treasury indices written out again)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime
from decimal import Decimal
from fractions import Fraction

import pytest

from api.actors import Role
from api.enrolments import service as enrolments_service
from api.enrolments.rules import EndReason
from api.outcomes import service
from api.outcomes.errors import UnitCostMissing
from api.outcomes.rules import OutcomeEventType, OutcomeSource
from tests.builders import actor_for, admit_child, make_child, make_cohort, make_programme, make_user
from tests.conftest import DEFAULT_NOW

ARREST = OutcomeEventType.ARREST
CALL_OUT = OutcomeEventType.POLICE_CALL_OUT
MISSING = OutcomeEventType.MISSING_EPISODE
FIXED_TERM = OutcomeEventType.EXCLUSION_FIXED_TERM
PERMANENT = OutcomeEventType.EXCLUSION_PERMANENT
TODAY = date(2026, 11, 23)  # DEFAULT_NOW in London


@dataclass
class Expected:
    """One child's support as the test understands it, and their events."""

    cohort: str
    started_on: date
    last_day: date | None
    events: list[tuple[OutcomeEventType, date]]


def months_earlier(day: date, months: int) -> date:
    month = day.month - months
    year = day.year
    while month < 1:
        month += 12
        year -= 1
    return day.replace(year=year, month=month)  # the days used here exist in every month


def independent_totals(children: list[Expected], *, months: int = 12):
    baseline_days = during_days = 0
    before = dict.fromkeys(OutcomeEventType, 0)
    during = dict.fromkeys(OutcomeEventType, 0)
    for child in children:
        baseline_start = months_earlier(child.started_on, months)
        last_day = child.last_day or TODAY
        baseline_days += (child.started_on - baseline_start).days
        during_days += (last_day - child.started_on).days + 1
        for event_type, day in child.events:
            if baseline_start <= day < child.started_on:
                before[event_type] += 1
            elif child.started_on <= day <= last_day:
                during[event_type] += 1
    years_before = Fraction(baseline_days) / Fraction("365.25")
    years_during = Fraction(during_days) / Fraction("365.25")
    return len(children), years_before, years_during, before, during


@pytest.fixture()
def programme_world(db_session):
    """Three children who started at different times in two cohorts, with events inside and outside their windows;
    a child never enrolled and another programme's child, whose events must not count; and a voided event."""
    programme = make_programme(db_session)
    protect = make_cohort(db_session, programme=programme, name="Protect", places=10)
    prevent = make_cohort(db_session, programme=programme, name="Prevent", places=10)
    coordinator = make_user(db_session, Role.COORDINATOR, programme=programme)
    actor = actor_for(coordinator)

    def admit(cohort, at):
        return admit_child(db_session, cohort=cohort, by=coordinator, now=at)

    def record(child_id, event_type, day, by=actor):
        return service.record_outcome_event(
            db_session,
            actor=by,
            child_id=child_id,
            event_type=event_type,
            occurred_on=day,
            source=OutcomeSource.POLICE,
            source_detail=None,
            missing_episode_id=None,
            now=DEFAULT_NOW,
        )

    # A: Protect from 1 December 2025 to 30 June 2026.
    a = admit(protect, datetime(2025, 12, 1, 10, tzinfo=UTC))
    enrolments_service.end_enrolment(
        db_session,
        actor=actor,
        enrolment_id=a.id,
        reason=EndReason.COMPLETED,
        note=None,
        now=datetime(2026, 6, 30, 10, tzinfo=UTC),
    )
    a_events = [
        (MISSING, date(2024, 11, 30)),  # the day before the baseline
        (ARREST, date(2025, 3, 1)),
        (ARREST, date(2025, 11, 30)),  # the last day of the baseline
        (ARREST, date(2025, 12, 1)),  # the first day of support
        (CALL_OUT, date(2026, 6, 30)),  # the last day of support
        (CALL_OUT, date(2026, 7, 1)),  # after support: not counted
    ]
    # B: Protect from 15 March 2026, moved to Prevent on 1 August, still supported.
    b = admit(protect, datetime(2026, 3, 15, 9, tzinfo=UTC))
    enrolments_service.move_enrolment(
        db_session,
        actor=actor,
        enrolment_id=b.id,
        to_cohort_id=prevent.id,
        note=None,
        now=datetime(2026, 8, 1, 9, tzinfo=UTC),
    )
    b_events = [(MISSING, date(2025, 6, 1)), (MISSING, date(2026, 4, 1)), (MISSING, date(2026, 9, 1))]
    voided = record(b.child_id, ARREST, date(2026, 5, 5))
    service.void_outcome_event(db_session, actor=actor, event_id=voided.id, now=DEFAULT_NOW)
    # C: Prevent from 1 October 2026 in London (23:30 UTC on 30 September, in summer time).
    c = admit(prevent, datetime(2026, 9, 30, 23, 30, tzinfo=UTC))
    c_events = [(PERMANENT, date(2026, 1, 10)), (FIXED_TERM, date(2026, 10, 5)), (ARREST, date(2026, 11, 23))]

    for enrolment, events in ((a, a_events), (b, b_events), (c, c_events)):
        for event_type, day in events:
            record(enrolment.child_id, event_type, day)
    never_enrolled = make_child(db_session, programme=programme, by=coordinator)
    record(never_enrolled.id, ARREST, date(2026, 1, 1))
    elsewhere = make_programme(db_session)
    elsewhere_coordinator = make_user(db_session, Role.COORDINATOR, programme=elsewhere)
    elsewhere_enrolment = admit_child(
        db_session, cohort=make_cohort(db_session, programme=elsewhere), by=elsewhere_coordinator
    )
    record(elsewhere_enrolment.child_id, ARREST, date(2026, 1, 1), by=actor_for(elsewhere_coordinator))

    expected = {
        "a": Expected("protect", date(2025, 12, 1), date(2026, 6, 30), a_events),
        "b": Expected("protect", date(2026, 3, 15), None, b_events),
        "c": Expected("prevent", date(2026, 10, 1), None, c_events),
    }
    return programme, {"protect": protect, "prevent": prevent}, coordinator, expected


def assert_matches(summary, expected_children, *, months=12):
    children, years_before, years_during, before, during = independent_totals(expected_children, months=months)
    totals = summary.totals
    assert totals.children == children
    assert totals.baseline_child_years == pytest.approx(Decimal(float(years_before)))
    assert totals.during_child_years == pytest.approx(Decimal(float(years_during)))
    for event_type in OutcomeEventType:
        rates = totals.for_type(event_type)
        assert (rates.baseline_events, rates.during_events) == (before[event_type], during[event_type]), event_type
        expected_before = before[event_type] / years_before
        expected_during = during[event_type] / years_during
        assert float(rates.baseline_rate) == pytest.approx(float(expected_before))
        assert float(rates.during_rate) == pytest.approx(float(expected_during))
        if expected_before:
            change = (expected_during - expected_before) / expected_before * 100
            assert float(rates.percent_change) == pytest.approx(float(change))
        else:
            assert rates.percent_change is None


def test_the_programme_totals_match_an_independent_computation(db_session, programme_world):
    programme, _, coordinator, expected = programme_world

    summary = service.summarise_outcomes(
        db_session, actor=actor_for(coordinator), programme_id=programme.id, cohort_id=None, now=DEFAULT_NOW
    )

    assert (summary.as_of, summary.baseline_months) == (TODAY, 12)
    assert_matches(summary, list(expected.values()))
    # Spelled out once: A, B and C give 365 + 365 + 365 baseline days and 212 + 254 + 54 days of support.
    assert summary.totals.during_child_years == Decimal(520) / Decimal("365.25")
    arrests = summary.totals.for_type(ARREST)
    assert (arrests.baseline_events, arrests.during_events) == (2, 2)


@pytest.mark.parametrize("cohort", ["protect", "prevent"])
def test_cohort_totals_count_children_in_the_cohort_they_started_in(db_session, programme_world, cohort):
    programme, cohorts, coordinator, expected = programme_world

    summary = service.summarise_outcomes(
        db_session,
        actor=actor_for(coordinator),
        programme_id=programme.id,
        cohort_id=cohorts[cohort].id,
        now=DEFAULT_NOW,
    )

    assert_matches(summary, [child for child in expected.values() if child.cohort == cohort])


def test_a_shorter_baseline_set_for_the_programme_changes_the_windows(db_session, programme_world):
    programme, _, coordinator, expected = programme_world
    admin = make_user(db_session, Role.ADMIN)
    service.set_outcome_settings(
        db_session,
        actor=actor_for(admin),
        programme_id=programme.id,
        baseline_months=6,
        fixed_term_exclusion_cost_code=None,
        now=DEFAULT_NOW,
    )

    summary = service.summarise_outcomes(
        db_session, actor=actor_for(coordinator), programme_id=programme.id, cohort_id=None, now=DEFAULT_NOW
    )

    assert summary.baseline_months == 6
    assert_matches(summary, list(expected.values()), months=6)
    assert summary.totals.for_type(ARREST).baseline_events == 1  # A's arrest of 1 March 2025 is now too early


# The cost-benefit estimate, independently: docs/domain.md's unit costs and the seeded HM Treasury indices.
INDEX = {"2002/03": 56.6, "2005/06": 61.3576, "2006/07": 63.2017, "2011/12": 70.3261, "2024/25": 100.0}
COSTS = {
    ARREST: ((285, "2006/07"), (593, "2006/07")),
    CALL_OUT: ((35, "2002/03"), (500, "2002/03")),
    MISSING: ((1325, "2011/12"), (2415, "2011/12")),
    PERMANENT: ((9219, "2005/06"), (9219, "2005/06")),
}


def independent_savings(expected_children, *, price_year="2024/25"):
    children, years_before, years_during, before, during = independent_totals(expected_children)
    totals = {"low": 0.0, "high": 0.0}
    for event_type, scenarios in COSTS.items():
        fewer = float(before[event_type] / years_before - during[event_type] / years_during) * float(years_during)
        for scenario, (value, year) in zip(("low", "high"), scenarios, strict=True):
            totals[scenario] += fewer * value * INDEX[price_year] / INDEX[year]
    return children, totals


def test_the_estimate_matches_an_independent_computation(db_session, programme_world):
    programme, _, coordinator, expected = programme_world

    estimate = service.estimate_cost_benefit(
        db_session,
        actor=actor_for(coordinator),
        programme_id=programme.id,
        cohort_id=None,
        price_year="2024/25",
        suppression_threshold=5,
        now=DEFAULT_NOW,
    )

    children, totals = independent_savings(list(expected.values()))
    assert estimate.children == children
    assert float(estimate.total_saving_low) == pytest.approx(totals["low"], abs=0.5)
    assert float(estimate.total_saving_high) == pytest.approx(totals["high"], abs=0.5)
    assert float(estimate.saving_per_child_high) == pytest.approx(totals["high"] / children, abs=0.5)
    by_type = {item.event_type: item for item in estimate.outcomes}
    assert (by_type[CALL_OUT].unit_cost_low, by_type[CALL_OUT].unit_cost_high) == (Decimal("61.84"), Decimal("883.39"))
    assert (by_type[FIXED_TERM].monetised, by_type[FIXED_TERM].saving_low) == (False, None)


def test_a_configured_unit_cost_monetises_fixed_term_exclusions(db_session, programme_world):
    from api.outcomes.models import UnitCost

    programme, _, coordinator, _ = programme_world
    db_session.add(
        UnitCost(
            item_code="LOCAL-SUSPENSION",
            version=1,
            description="A fixed-term exclusion, local estimate",
            value_low=100,
            value_high=200,
            unit="per exclusion",
            price_year="2024/25",
            source="Test",
            created_at=DEFAULT_NOW,
        )
    )
    admin = make_user(db_session, Role.ADMIN)
    service.set_outcome_settings(
        db_session,
        actor=actor_for(admin),
        programme_id=programme.id,
        baseline_months=12,
        fixed_term_exclusion_cost_code="LOCAL-SUSPENSION",
        now=DEFAULT_NOW,
    )

    estimate = service.estimate_cost_benefit(
        db_session,
        actor=actor_for(coordinator),
        programme_id=programme.id,
        cohort_id=None,
        price_year="2024/25",
        suppression_threshold=5,
        now=DEFAULT_NOW,
    )

    fixed_term = next(item for item in estimate.outcomes if item.event_type is FIXED_TERM)
    # None before, one during 520/365.25 child-years: (0 - 1/Yd) x Yd = one more exclusion.
    assert (fixed_term.monetised, fixed_term.saving_low, fixed_term.saving_high) == (True, Decimal(-100), Decimal(-200))


def test_a_newer_version_of_a_unit_cost_replaces_the_older_one(db_session, programme_world):
    from api.outcomes.models import UnitCost

    programme, _, coordinator, _ = programme_world
    db_session.add(
        UnitCost(
            item_code="CR1.0",
            version=2,
            description="Police incident, further action needed (revised)",
            value_low=1000,
            value_high=1000,
            unit="per incident",
            price_year="2024/25",
            source="Test",
            created_at=DEFAULT_NOW,
        )
    )
    db_session.commit()

    estimate = service.estimate_cost_benefit(
        db_session,
        actor=actor_for(coordinator),
        programme_id=programme.id,
        cohort_id=None,
        price_year="2024/25",
        suppression_threshold=5,
        now=DEFAULT_NOW,
    )

    call_outs = next(item for item in estimate.outcomes if item.event_type is CALL_OUT)
    assert call_outs.unit_cost_high == Decimal("1000.00")


def test_a_configured_unit_cost_that_disappeared_is_reported_not_ignored(db_session, programme_world):
    from sqlalchemy import delete

    from api.outcomes.models import UnitCost

    programme, _, coordinator, _ = programme_world
    db_session.execute(delete(UnitCost).where(UnitCost.item_code == "E&S2.0"))

    with pytest.raises(UnitCostMissing) as refused:
        service.estimate_cost_benefit(
            db_session,
            actor=actor_for(coordinator),
            programme_id=programme.id,
            cohort_id=None,
            price_year="2024/25",
            suppression_threshold=5,
            now=DEFAULT_NOW,
        )

    assert refused.value.details == {"missing_items": ["E&S2.0"]}
