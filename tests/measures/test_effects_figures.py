"""Derived figures with hand-computed expectations (DESIGN §5.2) and the potential light (§5.3)."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal

import pytest
from django.contrib.auth import get_user_model
from django.db import connection
from django.test.utils import CaptureQueriesContext

from measures import selectors, services
from measures.selectors.figures import Money, add_months, closure_window, fiscal_year, short_money
from tests.measures.effects_builders import benefit_line, fy_months, to_doi3, to_doi5, validated_actuals

D = Decimal


def money(recurring, one_time=0) -> Money:
    return Money(D(str(recurring)), D(str(one_time)))


# --- Calendar ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("start", "today", "first", "last", "label"),
    [
        (1, date(2026, 11, 27), date(2026, 1, 1), date(2026, 12, 1), "FY 2026"),
        (4, date(2026, 3, 31), date(2025, 4, 1), date(2026, 3, 1), "FY 2025/26"),
        (4, date(2026, 4, 1), date(2026, 4, 1), date(2027, 3, 1), "FY 2026/27"),
        (10, date(2026, 9, 30), date(2025, 10, 1), date(2026, 9, 1), "FY 2025/26"),
    ],
)
def test_fiscal_year_follows_the_setting(settings, start, today, first, last, label):
    settings.VALUEGATE_FISCAL_YEAR_START = start
    year = fiscal_year(today)
    assert (year.start, year.end, year.label) == (first, last, label)


def test_short_money_for_reasons():
    assert [short_money(D(x)) for x in ("410000", "1250000", "950", "-12500")] == [
        "410k",
        "1.25m",
        "950",
        "-12.5k",
    ]


# --- One measure, every figure, by hand ----------------------------------------------------------------


@pytest.fixture
def april_measure(settings, cast, ready_measure):
    """Fiscal year from April. Lines: L1 recurring benefit, L2 one-time benefit, L3 one-time cost.

    Plan (frozen at DoI 3): L1 10,000 in each of m0..m11 and 10,000 in m12 (next fiscal year);
    L2 50,000 in m2, 0 in the other months; L3 3,000 in m0, 0 after. Target L1 11,000 in m0..m11.
    After the freeze: forecast L1 8,000 in m6..m12, L2 40,000 in m2; validated actuals L1 9,000 in
    m0..m3 and L2 45,000 in m2; L1 m4 9,500 submitted but not validated. Today is m5 + 14 days."""
    settings.VALUEGATE_FISCAL_YEAR_START = 4
    owner, pm = cast["owner"], cast["pm"]
    m = fy_months() + [add_months(fy_months()[-1], 1)]
    l1 = benefit_line(ready_measure)
    l2 = services.effect_line_create(
        measure=ready_measure,
        by=owner,
        account="pl_revenue",
        recurrence="one_time",
        annual_potential=D("50000"),
        baseline_value=0,
        baseline_definition="No licence income today",
    )
    services.effect_values_save(
        measure=ready_measure,
        by=owner,
        series="plan",
        cells=[(l2.pk, x, 50000 if x == m[2] else 0) for x in m[:12]],
    )
    services.effect_values_save(measure=ready_measure, by=owner, series="plan", cells=[(l1.pk, m[12], 10000)])
    services.effect_values_save(
        measure=ready_measure, by=pm, series="target", cells=[(l1.pk, x, 11000) for x in m[:12]]
    )
    measure = to_doi3(ready_measure, cast)
    services.effect_values_save(
        measure=measure, by=owner, series="forecast", cells=[(l1.pk, x, 8000) for x in m[6:]]
    )
    services.effect_values_save(measure=measure, by=owner, series="forecast", cells=[(l2.pk, m[2], 40000)])
    validated_actuals(measure, cast, {x: D("9000") for x in m[:4]})
    validated_actuals(measure, cast, {m[2]: D("45000")}, line=l2)
    services.effect_value_set(line=l1, month=m[4], series="actual", amount=9500, by=owner)
    services.actuals_submit(measure=measure, by=owner)
    return measure, m[5] + timedelta(days=14)


def test_every_figure_of_a_recurring_and_one_time_measure(april_measure):
    measure, today = april_measure
    f = selectors.measure_figures(measure=measure, today=today)
    assert f.fiscal_year.start == fy_months()[0] and f.fiscal_year.start.month == 4
    # target: 12 × 11,000
    assert f.target == money(132000, 0)
    # plan: L1 13 × 10,000; L2 50,000 (L3 is a cost and not value)
    assert f.plan == money(130000, 50000)
    assert f.plan_in_year == money(120000, 50000)
    # forecast: L1 6 × 10,000 + 7 × 8,000 = 116,000; L2 40,000
    assert f.forecast == money(116000, 40000)
    # only validated actuals: L1 4 × 9,000; L2 45,000 (the submitted 9,500 does not count)
    assert f.actual == money(36000, 45000)
    # estimate L1: 4 × 9,000 (actual) + 10,000 (m4: forecast, actual not validated) + 10,000 (m5)
    #              + 6 × 8,000 (m6..m11) + 8,000 (m12) = 112,000; L2: 45,000 actual, 0 elsewhere
    assert f.estimate == money(112000, 45000)
    # in-year leaves out m12
    assert f.in_year == money(104000, 45000)
    assert f.cost_to_achieve == money(0, 3000)
    assert f.net == money(112000, 42000)
    assert f.gap == money(132000 - 112000, -45000)
    assert f.committed == money(130000, 50000)
    assert f.pipeline == money(97500, 37500)  # 75 % at DoI 3
    assert f.run_rate == D("120000")  # m4 estimate 10,000 × 12
    assert f.planned_run_rate == D("120000")  # plan of the last planned month (m12) × 12
    assert f.exit_run_rate == D("96000")  # estimate of m12 × 12
    assert f.validated_run_rate == D("108000")  # m3's validated 9,000 × 12
    # in-year 104k < 114k (plan less 5 %) and the run rate will not reach plan → red
    assert (f.potential.computed, f.potential.reason) == ("red", "run rate 96k of 120k planned")
    assert f.value_at_risk == money(14000, 10000)
    assert f.leakage is False


def test_figures_api_matches_the_selector(api, cast, april_measure):
    measure, _ = april_measure
    body = api.as_user(cast["viewer"]).get(f"/api/v1/measures/{measure.pk}/figures/").json()
    f = selectors.measure_figures(measure=measure)
    assert body["plan"] == {"recurring": "130000.00", "one_time": "50000.00"}
    assert body["actual"] == {"recurring": "36000.00", "one_time": "45000.00"}
    assert D(body["planned_run_rate"]) == f.planned_run_rate
    assert body["potential"]["computed"] == f.potential.computed


def test_before_doi3_run_rate_is_the_annualized_potential_and_light_grey(cast, ready_measure):
    f = selectors.measure_figures(measure=ready_measure)
    assert f.run_rate == D("120000.00")
    assert (f.potential.computed, f.committed) == ("grey", Money())
    assert f.potential.reason.startswith("No frozen plan yet")


# --- The potential light: colours and boundaries -------------------------------------------------------


@pytest.fixture
def decided(cast, ready_measure):
    """DoI 3, plan 10,000 in each month of the fiscal year; today is the first day of month 2."""
    measure = to_doi3(ready_measure, cast)
    return measure, fy_months()[1]


def forecast(measure, cast, cells):
    line = benefit_line(measure)
    services.effect_values_save(
        measure=measure,
        by=cast["owner"],
        series="forecast",
        cells=[(line.pk, fy_months()[i], a) for i, a in cells],
    )


def light(measure, today):
    return selectors.measure_figures(measure=measure, today=today).potential


def test_on_plan_is_green(cast, decided):
    measure, today = decided
    assert light(measure, today).computed == "green"
    assert light(measure, today).reason == "in-year 120k of 120k planned"


def test_exactly_plan_less_tolerance_is_green(cast, decided):
    measure, today = decided
    forecast(measure, cast, [(0, "4000")])  # in-year 114,000 = 120,000 × 95 %
    assert light(measure, today).computed == "green"


def test_a_cent_below_tolerance_with_run_rate_reached_is_amber(cast, decided):
    measure, today = decided
    forecast(measure, cast, [(0, "3999.99")])
    shown = light(measure, today)
    assert shown.computed == "amber"
    assert (
        shown.reason
        == "in-year 114k of 120k planned; run rate reaches 120k of 120k planned (ramp-up delayed)"
    )


def test_short_in_year_and_run_rate_not_reached_is_red(cast, decided):
    measure, today = decided
    forecast(measure, cast, [(0, "3999.99"), (11, "9999.99")])
    assert light(measure, today).computed == "red"


def test_run_rate_short_alone_keeps_green_while_in_year_holds(cast, decided):
    measure, today = decided
    forecast(measure, cast, [(11, "9999.99")])
    assert light(measure, today).computed == "green"


def test_program_tolerance_overrides_the_default(cast, decided, tree):
    measure, today = decided
    forecast(measure, cast, [(0, "3999.99")])
    tree.program.potential_tolerance_percent = D("10")
    tree.program.save()
    assert light(measure, today).computed == "green"


def test_override_shows_beside_the_computed_light(cast, decided):
    measure, today = decided
    forecast(measure, cast, [(0, "3999.99"), (11, "9999.99")])
    services.measure_status_override(
        measure=measure, by=cast["controller"], light="potential", status="amber", comment="Contract signed."
    )
    measure.refresh_from_db()
    shown = light(measure, today)
    assert (shown.computed, shown.override, shown.status) == ("red", "amber", "amber")
    assert selectors.potential_status(measure) == "red"


# --- Leakage ------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(("later", "leaking"), [("9000", False), ("8999.99", True)])
def test_leakage_after_closure(cast, ready_measure, later, leaking):
    measure = to_doi5(ready_measure, cast)
    assert measure.closed_run_rate == D("120000.00")
    month_after = add_months(closure_window()[-1], 1)
    validated_actuals(measure, cast, {month_after: D(later)})
    f = selectors.measure_figures(measure=measure)
    assert f.leakage is leaking
    found = selectors.leakage_measures(user=cast["leader"])
    assert [row.measure_id for row in found] == ([measure.pk] if leaking else [])
    if leaking:
        assert f.leakage_reason == "validated run rate 108k is more than 10 % below the 120k it closed with"


# --- Roll-ups -------------------------------------------------------------------------------------------------


def planned_measure(by, package, monthly, title):
    measure = services.measure_create(by=by, title=title, objective="x", package=package)
    line = services.effect_line_create(
        measure=measure, by=by, account="pl_cost", annual_potential=monthly * 12
    )
    services.effect_values_save(
        measure=measure, by=by, series="plan", cells=[(line.pk, m, monthly) for m in fy_months()]
    )
    return measure


def test_rollup_across_three_levels(cast, tree):
    planned_measure(cast["pm"], tree.package, 1000, "A")
    planned_measure(cast["pm"], tree.sibling_package, 2000, "B")
    planned_measure(cast["outsider"], tree.other_package, 4000, "C")
    leader = cast["leader"]
    assert selectors.scope_figures(scope=tree.package, user=leader).plan == money(12000)
    project = selectors.scope_figures(scope=tree.project, user=leader)
    assert project.plan == money(36000) and project.pipeline == money(3600)  # 10 % at DoI 0
    assert project.count_by_doi == {0: 2, 1: 0, 2: 0, 3: 0, 4: 0, 5: 0}
    assert project.run_rate == D("36000.00")
    assert selectors.scope_figures(scope=tree.program, user=leader).plan == money(36000)
    assert selectors.scope_figures(scope=tree.portfolio, user=leader).plan == money(84000)
    assert selectors.portfolio_figures(user=leader).measure_count == 3
    # what a user cannot see never counts
    assert selectors.scope_figures(scope=tree.portfolio, user=cast["pm"]).plan == money(36000)
    assert selectors.portfolio_figures(user=cast["viewer"]).plan == money(12000)
    by_doi = selectors.value_by_doi(user=leader)
    assert [row.count for row in by_doi] == [3, 0, 0, 0, 0, 0]
    assert by_doi[0].plan == money(84000)


def test_rollup_query_count_does_not_grow_with_measures(cast, tree, django_assert_max_num_queries):
    def queries():
        user = get_user_model().objects.get(pk=cast["leader"].pk)
        selectors.refresh_figures()  # the stored rows are current (ADR 0013); the read is measured
        with CaptureQueriesContext(connection) as context:
            selectors.scope_figures(scope=tree.portfolio, user=user)
        return len(context)

    planned_measure(cast["pm"], tree.package, 1000, "first")
    few = queries()
    for n in range(8):
        planned_measure(cast["pm"], tree.sibling_package, 1000 + n, f"more {n}")
    assert queries() == few
    user = get_user_model().objects.get(pk=cast["leader"].pk)
    with django_assert_max_num_queries(10):
        selectors.portfolio_figures(user=user)
        selectors.status_matrix(user=user)


def test_status_matrix_and_red_list(cast, decided, tree):
    measure, today = decided
    forecast(measure, cast, [(0, "3999.99"), (11, "9999.99")])
    matrix = selectors.status_matrix(user=cast["leader"], today=today)
    # the measure has a future milestone: implementation green, potential red
    cell = matrix.on_time_but_short
    assert (cell.count, cell.plan) == (1, money(120000, 0))
    assert sum(c.count for c in matrix.cells) == 1
    assert [row.measure_id for row in selectors.red_measures(user=cast["leader"], today=today)] == [
        measure.pk
    ]
    assert selectors.red_measures(user=cast["outsider"], today=today) == []


def test_implementation_reason_names_the_critical_milestone(cast, ready_measure):
    services.milestone_create(
        measure=ready_measure,
        by=cast["owner"],
        title="Cutover",
        due_date=date.today() - timedelta(days=21),
        critical=True,
    )
    light = selectors.measure_figures(measure=ready_measure).implementation
    assert (light.computed, light.reason) == ("red", "critical milestone “Cutover” 21 days overdue")


def test_program_thresholds_are_set_through_the_scope_api(api, cast, tree, admin_user):
    response = api.as_user(admin_user).patch(
        f"/api/v1/scopes/{tree.program.pk}/",
        {"potential_tolerance_percent": "7.5", "leakage_percent": "15"},
        format="json",
    )
    assert response.status_code == 200, response.json()
    assert (response.json()["potential_tolerance_percent"], response.json()["leakage_percent"]) == (
        "7.50",
        "15.00",
    )
