"""The pure rules of outcome reporting: reading and checking an agency's CSV extract row by row, the baseline
and during windows, rates per child-year, the GDP-deflator uplift and the savings estimate. Expected values
are worked by hand in the comments."""

import uuid
from datetime import UTC, date, datetime
from decimal import Decimal

import pytest

from api.outcomes.cost_benefit import CostItems, CostRange, cost_benefit, cost_items, financial_year, saving, uplift
from api.outcomes.csv_import import CsvRow, KnownChild, parse_csv, validate_rows
from api.outcomes.errors import (
    DeflatorYearMissing,
    ImportHeaderInvalid,
    ImportNotReadable,
    ImportTooManyRows,
    InvalidPriceYear,
)
from api.outcomes.rates import (
    EnrolmentSpan,
    OutcomeTotals,
    TypeRates,
    Window,
    baseline_window,
    child_outcomes,
    child_years,
    during_window,
    intervention_spell,
    months_before,
    outcome_totals,
    percent_change,
    rate,
)
from api.outcomes.rules import EventKey, OutcomeEventType, OutcomeSource, event_problems

ARREST = OutcomeEventType.ARREST
CALL_OUT = OutcomeEventType.POLICE_CALL_OUT
MISSING = OutcomeEventType.MISSING_EPISODE
TODAY = date(2026, 11, 23)
HEADER = "child_reference,event_type,occurred_on,source"
CHILD = KnownChild(uuid.UUID(int=1), date_of_birth=date(2012, 5, 17))
OTHER_CHILD = KnownChild(uuid.UUID(int=2), date_of_birth=date(2011, 1, 1))
CHILDREN = {"YP-AAAAAA": CHILD, "YP-BBBBBB": OTHER_CHILD}


def csv_bytes(*lines: str) -> bytes:
    return ("\n".join(lines) + "\n").encode()


def check(*lines: str, existing=(), children=CHILDREN):
    _, rows = parse_csv(csv_bytes(HEADER, *lines))
    return validate_rows(rows, children=children, existing=set(existing), today=TODAY)


def problems_of(*lines: str, **kwargs):
    return [(problem.line, problem.field, problem.reason) for problem in check(*lines, **kwargs)[1]]


# Reading the file


def test_rows_carry_their_physical_line_number_and_blank_lines_still_count():
    _, rows = parse_csv(
        csv_bytes(HEADER, "YP-AAAAAA,arrest,2026-01-02,police", "", ",,,", "YP-BBBBBB,arrest,2026-01-03,school")
    )

    assert [row.line for row in rows] == [2, 5]
    assert rows[1].values == {
        "child_reference": "YP-BBBBBB",
        "event_type": "arrest",
        "occurred_on": "2026-01-03",
        "source": "school",
    }


def test_a_quoted_field_across_two_lines_keeps_the_line_numbers_after_it_right():
    header = HEADER + ",source_detail"
    content = csv_bytes(
        header, 'YP-AAAAAA,arrest,2026-01-02,police,"Kent Police\nextract"', "YP-BBBBBB,arrest,2026-01-03,police,"
    )

    _, rows = parse_csv(content)

    assert [row.line for row in rows] == [2, 4]
    assert rows[0].values["source_detail"] == "Kent Police\nextract"


def test_the_header_is_read_whatever_its_case_spacing_order_or_byte_order_mark():
    content = "\ufeff Source ,OCCURRED_ON,event_type,child_reference\r\npolice,2026-01-02,arrest,YP-AAAAAA\r\n"

    header, rows = parse_csv(content.encode())

    assert header == ("source", "occurred_on", "event_type", "child_reference")
    assert rows[0].values["child_reference"] == "YP-AAAAAA"


def test_spreadsheet_padding_after_the_last_column_is_not_an_extra_field():
    _, rows = parse_csv(csv_bytes(HEADER, "YP-AAAAAA,arrest,2026-01-02,police,,"))

    assert rows[0].values is not None


def test_a_header_missing_a_column_is_refused_naming_it():
    with pytest.raises(ImportHeaderInvalid) as refused:
        parse_csv(csv_bytes("child_reference,event_type,occurred_on", "YP-AAAAAA,arrest,2026-01-02"))

    assert refused.value.errors == {"header": ["Missing column(s): source."]}


def test_a_column_we_do_not_know_is_refused_rather_than_dropped():
    with pytest.raises(ImportHeaderInvalid) as refused:
        parse_csv(csv_bytes(HEADER + ",name", "YP-AAAAAA,arrest,2026-01-02,police,Jo Bloggs"))

    assert refused.value.errors == {"header": ["Unknown column(s): name. Children are identified by reference only."]}


def test_a_repeated_column_is_refused():
    with pytest.raises(ImportHeaderInvalid) as refused:
        parse_csv(csv_bytes(HEADER + ",source", "YP-AAAAAA,arrest,2026-01-02,police,school"))

    assert refused.value.errors == {"header": ["Repeated column(s): source."]}


@pytest.mark.parametrize("content", [b"", b"\n\n", b",,,\nYP-AAAAAA,arrest,2026-01-02,police\n"])
def test_an_empty_file_or_a_blank_first_line_has_no_header(content):
    with pytest.raises(ImportHeaderInvalid):
        parse_csv(content)


def test_a_file_that_is_not_utf8_is_refused():
    with pytest.raises(ImportNotReadable):
        parse_csv((HEADER + "\nYP-AAAAAA,arrest,2026-01-02,Sch\xf6le\n").encode("latin-1"))


def test_malformed_csv_is_refused_with_its_line():
    with pytest.raises(ImportNotReadable) as refused:
        parse_csv(csv_bytes(HEADER, 'YP-AAAAAA,arrest,2026-01-02,"police"x'))

    assert refused.value.details["line"] == 2


def test_more_rows_than_the_cap_are_refused_but_the_cap_itself_is_accepted():
    rows = [f"YP-AAAAAA,arrest,2026-01-{day:02d},police" for day in range(1, 4)]

    assert len(parse_csv(csv_bytes(HEADER, *rows), max_rows=3)[1]) == 3
    with pytest.raises(ImportTooManyRows):
        parse_csv(csv_bytes(HEADER, *rows, "YP-AAAAAA,arrest,2026-01-04,police"), max_rows=3)


# Checking each row


def test_a_good_row_becomes_an_event_of_the_programmes_child():
    valid, problems = check("yp-aaaaaa , ARREST ,2026-01-02, Police")

    assert problems == []
    assert [(row.line, row.key, row.source_detail) for row in valid] == [
        (2, EventKey(CHILD.child_id, ARREST, date(2026, 1, 2), OutcomeSource.POLICE), None)
    ]


def test_a_reference_not_in_the_programme_is_an_unknown_child():
    # The programme's children only are passed in, so another programme's child reads the same as nobody.
    assert problems_of("YP-ZZZZZZ,arrest,2026-01-02,police") == [(2, "child_reference", "unknown_child")]


@pytest.mark.parametrize(
    ("line", "expected"),
    [
        (",arrest,2026-01-02,police", (2, "child_reference", "required")),
        ("YP-AAAAAA,,2026-01-02,police", (2, "event_type", "required")),
        ("YP-AAAAAA,exclusion,2026-01-02,police", (2, "event_type", "unknown_event_type")),
        ("YP-AAAAAA,arrest,,police", (2, "occurred_on", "required")),
        ("YP-AAAAAA,arrest,2026-02-30,police", (2, "occurred_on", "invalid_date")),
        ("YP-AAAAAA,arrest,02/01/2026,police", (2, "occurred_on", "invalid_date")),
        ("YP-AAAAAA,arrest,20260102,police", (2, "occurred_on", "invalid_date")),
        ("YP-AAAAAA,arrest,2026-11-24,police", (2, "occurred_on", "future_date")),
        ("YP-AAAAAA,arrest,2012-05-16,police", (2, "occurred_on", "before_birth")),
        ("YP-AAAAAA,arrest,2026-01-02,", (2, "source", "required")),
        ("YP-AAAAAA,arrest,2026-01-02,neighbour", (2, "source", "unknown_source")),
    ],
)
def test_each_field_is_checked(line, expected):
    assert problems_of(line) == [expected]


def test_today_and_the_day_of_birth_are_both_allowed():
    valid, problems = check("YP-AAAAAA,arrest,2026-11-23,police", "YP-AAAAAA,arrest,2012-05-17,school")

    assert problems == []
    assert len(valid) == 2


def test_every_problem_of_a_row_is_reported_not_just_the_first():
    assert problems_of("YP-ZZZZZZ,burglary,tomorrow,") == [
        (2, "child_reference", "unknown_child"),
        (2, "event_type", "unknown_event_type"),
        (2, "occurred_on", "invalid_date"),
        (2, "source", "required"),
    ]


def test_a_source_detail_longer_than_200_characters_is_refused():
    _, rows = parse_csv(csv_bytes(HEADER + ",source_detail", "YP-AAAAAA,arrest,2026-01-02,police," + "x" * 201))

    _, problems = validate_rows(rows, children=CHILDREN, existing=set(), today=TODAY)

    assert [(problem.field, problem.reason) for problem in problems] == [("source_detail", "too_long")]


def test_a_row_with_the_wrong_number_of_fields_is_refused_as_a_whole():
    assert problems_of("YP-AAAAAA,arrest,2026-01-02") == [(2, None, "wrong_field_count")]


def test_a_row_repeating_an_earlier_row_of_the_file_is_refused_naming_that_line():
    valid, problems = check(
        "YP-AAAAAA,arrest,2026-01-02,police",
        "YP-AAAAAA,arrest,2026-01-02,school",  # another source: another event
        "yp-aaaaaa,Arrest,2026-01-02,POLICE",
    )

    assert [row.line for row in valid] == [2, 3]
    assert [(problem.line, problem.reason, problem.message) for problem in problems] == [
        (4, "duplicate_in_file", "Repeats line 2.")
    ]


def test_a_row_already_recorded_is_refused():
    existing = [EventKey(CHILD.child_id, ARREST, date(2026, 1, 2), OutcomeSource.POLICE)]

    assert problems_of("YP-AAAAAA,arrest,2026-01-02,police", existing=existing) == [(2, None, "already_recorded")]


def test_the_same_event_of_another_child_is_not_a_duplicate():
    valid, problems = check("YP-AAAAAA,arrest,2026-01-02,police", "YP-BBBBBB,arrest,2026-01-02,police")

    assert (len(valid), problems) == (2, [])


def test_rows_are_checked_in_file_order_with_good_and_bad_mixed():
    rows = [
        CsvRow(2, None, 3),
        CsvRow(
            7,
            {"child_reference": "YP-AAAAAA", "event_type": "arrest", "occurred_on": "2026-01-02", "source": "police"},
            4,
        ),
    ]

    valid, problems = validate_rows(rows, children=CHILDREN, existing=set(), today=TODAY)

    assert ([row.line for row in valid], [problem.line for problem in problems]) == ([7], [2])


def test_one_event_is_checked_for_a_future_date_and_a_date_before_birth():
    assert event_problems(occurred_on=TODAY, today=TODAY, date_of_birth=None) == {}
    assert event_problems(occurred_on=date(2026, 11, 24), today=TODAY, date_of_birth=None) == {
        "occurred_on": "An event cannot be in the future."
    }
    assert event_problems(occurred_on=date(2010, 1, 1), today=TODAY, date_of_birth=date(2012, 5, 17)) == {
        "occurred_on": "An event cannot be before the child was born."
    }


# Windows


@pytest.mark.parametrize(
    ("day", "months", "expected"),
    [
        (date(2026, 5, 31), 12, date(2025, 5, 31)),
        (date(2024, 2, 29), 12, date(2023, 2, 28)),  # no 29 February in 2023
        (date(2026, 3, 31), 1, date(2026, 2, 28)),
        (date(2026, 1, 15), 1, date(2025, 12, 15)),
        (date(2026, 1, 15), 18, date(2024, 7, 15)),
    ],
)
def test_months_before_keeps_the_day_of_the_month_or_the_last_day_of_a_shorter_month(day, months, expected):
    assert months_before(day, months) == expected


def test_the_baseline_is_the_twelve_months_before_the_start_and_stops_the_day_before_it():
    window = baseline_window(date(2026, 3, 1))

    assert window == Window(date(2025, 3, 1), date(2026, 3, 1))
    assert window.days == 365
    assert date(2025, 3, 1) in window and date(2026, 2, 28) in window
    assert date(2025, 2, 28) not in window and date(2026, 3, 1) not in window


def test_the_baseline_length_is_configurable():
    assert baseline_window(date(2026, 3, 1), months=6) == Window(date(2025, 9, 1), date(2026, 3, 1))


def test_the_during_window_runs_from_the_start_to_the_end_day_inclusive():
    window = during_window(date(2026, 3, 1), ended_on=date(2026, 3, 31), today=TODAY)

    assert window == Window(date(2026, 3, 1), date(2026, 4, 1))
    assert (window.days, date(2026, 3, 31) in window, date(2026, 4, 1) in window) == (31, True, False)


def test_support_still_going_on_is_measured_to_today_inclusive():
    assert during_window(date(2026, 11, 13), ended_on=None, today=TODAY).days == 11


def test_a_child_who_started_today_has_one_day_of_support():
    assert during_window(TODAY, ended_on=None, today=TODAY).days == 1


# Rates


def test_child_years_are_days_over_365_and_a_quarter():
    assert child_years(1461) == 4
    assert child_years(365) == Decimal(365) / Decimal("365.25")


def test_a_rate_is_events_per_child_year_and_undefined_without_time():
    assert rate(3, Decimal(2)) == Decimal("1.5")
    assert rate(0, Decimal(2)) == 0
    assert rate(1, Decimal(0)) is None


def test_the_percentage_change_is_against_the_baseline_rate():
    # The seed evaluation's "52% fewer missing episodes": 2.00 -> 0.96 a child-year.
    assert percent_change(Decimal(2), Decimal("0.96")) == -52
    assert percent_change(Decimal(1), Decimal("1.19")) == 19
    assert percent_change(Decimal(0), Decimal(1)) is None
    assert percent_change(None, Decimal(1)) is None


def test_totals_pool_events_and_child_years_over_children_and_ignore_events_outside_both_windows():
    # Today 2026-11-22. A started 2025-11-23: baseline 2024-11-23..2025-11-22 (365 days), during to today (365).
    # B started 2026-05-23: baseline 365 days, during 2026-05-23..2026-11-22 (184 days).
    today = date(2026, 11, 22)
    a = child_outcomes(
        intervention_spell([span(started=datetime(2025, 11, 23, 10, tzinfo=UTC))], time_zone="Europe/London"),
        [
            (ARREST, date(2025, 1, 10)),
            (ARREST, date(2025, 6, 1)),
            (ARREST, date(2026, 2, 1)),
            (CALL_OUT, date(2024, 11, 22)),  # the day before A's baseline: not counted
        ],
        baseline_months=12,
        today=today,
    )
    b = child_outcomes(
        intervention_spell([span(started=datetime(2026, 5, 23, 10, tzinfo=UTC))], time_zone="Europe/London"),
        [(ARREST, date(2026, 1, 1)), (ARREST, date(2026, 6, 1)), (MISSING, date(2026, 5, 23))],
        baseline_months=12,
        today=today,
    )

    totals = outcome_totals([a, b])

    assert (a.baseline.days, a.during.days, b.baseline.days, b.during.days) == (365, 365, 365, 184)
    assert totals.children == 2
    assert totals.baseline_child_years == Decimal(730) / Decimal("365.25")
    assert totals.during_child_years == Decimal(549) / Decimal("365.25")
    arrests = totals.for_type(ARREST)
    assert (arrests.baseline_events, arrests.during_events) == (3, 2)
    assert float(arrests.baseline_rate) == pytest.approx(3 * 365.25 / 730)  # 1.5010 a child-year
    assert float(arrests.during_rate) == pytest.approx(2 * 365.25 / 549)  # 1.3306
    assert float(arrests.percent_change) == pytest.approx((1460 / 1647 - 1) * 100)  # -11.35%
    missing = totals.for_type(MISSING)
    assert (missing.baseline_events, missing.during_events, missing.baseline_rate) == (0, 1, 0)
    assert missing.percent_change is None  # from zero
    call_outs = totals.for_type(CALL_OUT)
    assert (call_outs.baseline_events, call_outs.during_events, call_outs.percent_change) == (0, 0, None)


def test_no_children_means_no_rates():
    totals = outcome_totals([])

    assert (totals.children, totals.baseline_child_years) == (0, 0)
    assert all(rates.baseline_rate is None and rates.during_rate is None for rates in totals.by_type)


# The intervention spell


def span(*, started, ended=None, enrolment=None, moved_from=None, cohort=None):
    return EnrolmentSpan(enrolment or uuid.uuid4(), cohort or uuid.UUID(int=10), started, ended, moved_from)


def test_the_spell_starts_on_the_local_day_support_started():
    # 23:30 UTC on 30 June is 00:30 on 1 July in London (BST).
    spell = intervention_spell([span(started=datetime(2026, 6, 30, 23, 30, tzinfo=UTC))], time_zone="Europe/London")

    assert (spell.started_on, spell.ended_on) == (date(2026, 7, 1), None)


def test_a_move_between_cohorts_continues_the_spell_to_the_end_of_the_enrolment_moved_to():
    first, moved = uuid.uuid4(), uuid.uuid4()
    protect, prevent = uuid.UUID(int=11), uuid.UUID(int=12)
    spans = [
        span(
            enrolment=moved,
            moved_from=first,
            cohort=prevent,
            started=datetime(2026, 4, 1, 9, tzinfo=UTC),
            ended=datetime(2026, 9, 30, 9, tzinfo=UTC),
        ),
        span(
            enrolment=first,
            cohort=protect,
            started=datetime(2026, 1, 5, 9, tzinfo=UTC),
            ended=datetime(2026, 4, 1, 9, tzinfo=UTC),
        ),
    ]

    spell = intervention_spell(spans, time_zone="Europe/London")

    assert (spell.started_on, spell.ended_on, spell.cohort_id) == (date(2026, 1, 5), date(2026, 9, 30), protect)


def test_a_later_re_referral_is_a_new_spell_and_does_not_extend_the_first():
    spans = [
        span(started=datetime(2025, 1, 6, 9, tzinfo=UTC), ended=datetime(2025, 6, 30, 9, tzinfo=UTC)),
        span(started=datetime(2026, 2, 2, 9, tzinfo=UTC)),
    ]

    spell = intervention_spell(spans, time_zone="Europe/London")

    assert (spell.started_on, spell.ended_on) == (date(2025, 1, 6), date(2025, 6, 30))


def test_no_started_enrolment_no_spell():
    assert intervention_spell([], time_zone="Europe/London") is None


# Uplift to a price year


def test_financial_years_are_written_with_a_slash_and_must_be_consecutive():
    assert financial_year("2024/25") == "2024/25"
    assert financial_year(" 2024-25 ") == "2024/25"
    assert financial_year("1999/00") == "1999/00"
    for bad in ("2024/26", "24/25", "2024", "2024/2025"):
        with pytest.raises(InvalidPriceYear):
            financial_year(bad)


SERIES = {"2006/07": Decimal(80), "2011/12": Decimal("92.5"), "2024/25": Decimal(100)}


def test_uplift_multiplies_by_the_ratio_of_the_two_years_indices():
    # 593 x 100 / 80 = 741.25; and back again.
    assert uplift(Decimal(593), from_year="2006/07", to_year="2024/25", series=SERIES) == Decimal("741.25")
    assert uplift(Decimal("741.25"), from_year="2024/25", to_year="2006/07", series=SERIES) == Decimal(593)
    assert uplift(Decimal(1850), from_year="2011/12", to_year="2024/25", series=SERIES) == Decimal(2000)


def test_uplift_within_one_year_changes_nothing():
    assert uplift(Decimal(35), from_year="2024/25", to_year="2024/25", series=SERIES) == Decimal(35)


def test_a_year_missing_from_the_series_is_refused_never_guessed():
    with pytest.raises(DeflatorYearMissing) as refused:
        uplift(Decimal(500), from_year="2002/03", to_year="2025/26", series=SERIES)

    assert refused.value.details == {"missing_years": ["2002/03", "2025/26"]}
    assert "2002/03, 2025/26" in refused.value.message


# Savings


def rates(event_type, *, before, during, baseline_rate, during_rate):
    return TypeRates(event_type, before, during, baseline_rate, during_rate, percent_change(baseline_rate, during_rate))


def totals_of(*by_type, children=2, baseline_years=Decimal(2), during_years=Decimal(1)):
    return OutcomeTotals(children, baseline_years, during_years, tuple(by_type))


def test_the_saving_is_the_fall_in_rate_times_child_years_during_times_the_unit_cost():
    # 3 arrests over 2 child-years before (1.5 a year), 1 over 1 child-year during (1.0): (1.5 - 1) x 1 x 100.
    arrests = rates(ARREST, before=3, during=1, baseline_rate=Decimal("1.5"), during_rate=Decimal(1))

    assert saving(arrests, during_child_years=Decimal(1), cost=Decimal(100)) == 50


def test_a_rise_in_events_is_a_negative_saving():
    rise = rates(ARREST, before=1, during=2, baseline_rate=Decimal("0.5"), during_rate=Decimal(2))

    assert saving(rise, during_child_years=Decimal(1), cost=Decimal(100)) == -150


def test_no_baseline_no_saving():
    nothing = rates(ARREST, before=0, during=0, baseline_rate=None, during_rate=None)

    assert saving(nothing, during_child_years=Decimal(0), cost=Decimal(100)) is None


def test_low_and_high_scenarios_total_and_per_child():
    # Arrests: (1.5 - 1.0) x 1 = 0.5 fewer -> low 0.5 x 285 = 142.50, high 0.5 x 593 = 296.50.
    # Call-outs: (2.0 - 0.5) x 1 = 1.5 fewer -> low 1.5 x 35 = 52.50, high 1.5 x 500 = 750.
    # Fixed-term exclusions are not monetised. Totals 195 and 1046.50; per child (2) 97.50 and 523.25.
    totals = totals_of(
        rates(ARREST, before=3, during=1, baseline_rate=Decimal("1.5"), during_rate=Decimal(1)),
        rates(CALL_OUT, before=4, during=1, baseline_rate=Decimal(2), during_rate=Decimal("0.5")),
        rates(OutcomeEventType.EXCLUSION_FIXED_TERM, before=2, during=0, baseline_rate=Decimal(1), during_rate=0),
    )
    costs = {ARREST: CostRange(Decimal(285), Decimal(593)), CALL_OUT: CostRange(Decimal(35), Decimal(500))}

    estimate = cost_benefit(totals, costs)

    by_type = {item.event_type: (item.saving_low, item.saving_high) for item in estimate.by_type}
    assert by_type == {
        ARREST: (Decimal("142.5"), Decimal("296.5")),
        CALL_OUT: (Decimal("52.5"), Decimal(750)),
        OutcomeEventType.EXCLUSION_FIXED_TERM: (None, None),
    }
    assert (estimate.total_low, estimate.total_high) == (Decimal(195), Decimal("1046.5"))
    assert (estimate.per_child_low, estimate.per_child_high) == (Decimal("97.5"), Decimal("523.25"))


def test_no_children_no_totals():
    estimate = cost_benefit(
        totals_of(rates(ARREST, before=0, during=0, baseline_rate=None, during_rate=None), children=0),
        {ARREST: CostRange(Decimal(285), Decimal(593))},
    )

    assert (estimate.total_low, estimate.per_child_high) == (None, None)


def test_event_types_map_to_domain_unit_costs_and_fixed_term_exclusions_only_when_configured():
    items = cost_items(fixed_term_exclusion_code=None)

    assert items == {
        ARREST: CostItems("CR7.1", "CR7.0"),
        CALL_OUT: CostItems("CR1.1", "CR1.0"),
        MISSING: CostItems("UOP2012-MISSING-MEDIUM", "UOP2012-MISSING-MEDIUM"),
        OutcomeEventType.EXCLUSION_PERMANENT: CostItems("E&S2.0", "E&S2.0"),
    }
    configured = cost_items(fixed_term_exclusion_code="LOCAL-SUSPENSION")
    assert configured[OutcomeEventType.EXCLUSION_FIXED_TERM] == CostItems("LOCAL-SUSPENSION", "LOCAL-SUSPENSION")
