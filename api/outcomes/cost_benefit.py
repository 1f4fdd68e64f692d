"""The cost-benefit estimate: what the change in each event's rate is worth, at unit costs of one price year.

Savings per event type = (baseline rate - during rate) x child-years during x unit cost, with the unit cost
uplifted to one price year by the GDP deflator (low and high scenarios from docs/domain.md's unit costs). A
before/after design has no counterfactual: it cannot say what would have happened without the programme.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal

from api.outcomes.errors import DeflatorYearMissing, InvalidPriceYear
from api.outcomes.rates import OutcomeTotals, TypeRates
from api.outcomes.rules import OutcomeEventType

FINANCIAL_YEAR = re.compile(r"(\d{4})[/-](\d{2})")


def financial_year(text: str) -> str:
    """A UK financial year (April to March) as "2024/25"; "2024-25", as HM Treasury writes it, is accepted."""
    match = FINANCIAL_YEAR.fullmatch(text.strip())
    if match is None or (int(match[1]) + 1) % 100 != int(match[2]):
        raise InvalidPriceYear(errors={"price_year": ["Use a financial year such as 2024/25."]})
    return f"{match[1]}/{match[2]}"


def uplift(value: Decimal, *, from_year: str, to_year: str, series: Mapping[str, Decimal]) -> Decimal:
    """A price in from_year's money re-expressed in to_year's by the ratio of the deflator indices.

    A year missing from the series is refused, never guessed or extrapolated."""
    missing = [year for year in dict.fromkeys((from_year, to_year)) if year not in series]
    if missing:
        raise DeflatorYearMissing(
            f"The GDP deflator series has no index for {', '.join(missing)}; choose a year it covers or load a "
            "newer release.",
            missing_years=missing,
        )
    return value * series[to_year] / series[from_year]


@dataclass(frozen=True)
class CostItems:
    """The unit cost items whose lower and upper values give the low and high scenarios."""

    low: str
    high: str


# docs/domain.md: an arrest costs between "no further action" and "detained"; a call-out between a police incident
# with no further action and one needing it; a missing episode the University of Portsmouth's range for a
# medium-risk investigation; a permanent exclusion the cost per person per year. A fixed-term exclusion has no
# standard figure: it is left out unless the programme names a unit cost for it.
MISSING_PERSON_INVESTIGATION = "UOP2012-MISSING-MEDIUM"
COST_ITEMS: Mapping[OutcomeEventType, CostItems] = {
    OutcomeEventType.ARREST: CostItems(low="CR7.1", high="CR7.0"),
    OutcomeEventType.POLICE_CALL_OUT: CostItems(low="CR1.1", high="CR1.0"),
    OutcomeEventType.MISSING_EPISODE: CostItems(low=MISSING_PERSON_INVESTIGATION, high=MISSING_PERSON_INVESTIGATION),
    OutcomeEventType.EXCLUSION_PERMANENT: CostItems(low="E&S2.0", high="E&S2.0"),
}


def cost_items(*, fixed_term_exclusion_code: str | None) -> dict[OutcomeEventType, CostItems]:
    items = dict(COST_ITEMS)
    if fixed_term_exclusion_code:
        items[OutcomeEventType.EXCLUSION_FIXED_TERM] = CostItems(fixed_term_exclusion_code, fixed_term_exclusion_code)
    return items


@dataclass(frozen=True)
class CostRange:
    """One event's cost in the chosen price year, low and high."""

    low: Decimal
    high: Decimal


@dataclass(frozen=True)
class TypeSaving:
    event_type: OutcomeEventType
    cost: CostRange | None  # None: not monetised
    saving_low: Decimal | None
    saving_high: Decimal | None


@dataclass(frozen=True)
class CostBenefit:
    by_type: tuple[TypeSaving, ...]
    total_low: Decimal | None
    total_high: Decimal | None
    per_child_low: Decimal | None
    per_child_high: Decimal | None


def saving(rates: TypeRates, *, during_child_years: Decimal, cost: Decimal) -> Decimal | None:
    """(baseline rate - during rate) x child-years during x cost; negative when events went up. None with no
    baseline to compare against."""
    if rates.baseline_rate is None:
        return None
    during_rate = rates.during_rate if rates.during_rate is not None else Decimal(0)
    return (rates.baseline_rate - during_rate) * during_child_years * cost


def cost_benefit(totals: OutcomeTotals, costs: Mapping[OutcomeEventType, CostRange]) -> CostBenefit:
    by_type = []
    for rates in totals.by_type:
        cost = costs.get(rates.event_type)
        if cost is None:
            by_type.append(TypeSaving(rates.event_type, None, None, None))
            continue
        low = saving(rates, during_child_years=totals.during_child_years, cost=cost.low)
        high = saving(rates, during_child_years=totals.during_child_years, cost=cost.high)
        by_type.append(TypeSaving(rates.event_type, cost, low, high))
    monetised = [item for item in by_type if item.cost is not None]
    if not totals.children or any(item.saving_low is None for item in monetised):
        return CostBenefit(tuple(by_type), None, None, None, None)
    total_low = sum((item.saving_low for item in monetised if item.saving_low is not None), Decimal(0))
    total_high = sum((item.saving_high for item in monetised if item.saving_high is not None), Decimal(0))
    return CostBenefit(tuple(by_type), total_low, total_high, total_low / totals.children, total_high / totals.children)
