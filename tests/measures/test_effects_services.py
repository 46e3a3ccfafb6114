"""Effect values: editing rules by stage, plan freeze, re-baselines, validation of actuals (DESIGN §5.2)."""

from __future__ import annotations

from decimal import Decimal

import pytest

from config.errors import Conflict, InvalidInput, NotFound, PermissionRefused, SeparationOfDutiesViolation
from measures import selectors, services
from measures.choices import ScopeRole, Series, Stage
from measures.models import AuditEntry, EffectValue, PlanVersion
from measures.selectors.figures import add_months, closure_window
from tests.measures.effects_builders import (
    benefit_line,
    fill_doi2,
    fy_months,
    to_doi1,
    to_doi2,
    to_doi3,
    to_doi4,
    to_doi5,
    validated_actuals,
)

M0 = fy_months()[0]


def set_value(measure, cast, series, amount=Decimal("100"), who="owner", month=M0):
    return services.effect_value_set(
        line=benefit_line(measure), month=month, series=series, amount=amount, by=cast[who]
    )


# --- Editing rules by stage ----------------------------------------------------------------------


def test_plan_is_editable_up_to_doi2(cast, ready_measure):
    value = set_value(ready_measure, cast, Series.PLAN)
    assert value.amount == Decimal("100.00") and value.validation_state == ""
    measure = to_doi2(ready_measure, cast)
    value = set_value(measure, cast, Series.PLAN, Decimal("250"))
    assert value.amount == Decimal("250.00")


@pytest.mark.parametrize("series", [Series.FORECAST, Series.ACTUAL])
def test_forecast_and_actuals_are_refused_before_doi3(cast, ready_measure, series):
    with pytest.raises(Conflict, match="DoI 3"):
        set_value(ready_measure, cast, series)
    assert not EffectValue.objects.filter(series=series).exists()


def test_plan_is_frozen_from_doi3_with_the_reason(cast, ready_measure):
    measure = to_doi3(ready_measure, cast)
    with pytest.raises(Conflict, match="frozen.*re-baseline"):
        set_value(measure, cast, Series.PLAN)


def test_forecast_and_actuals_are_editable_from_doi3(cast, ready_measure):
    measure = to_doi3(ready_measure, cast)
    assert set_value(measure, cast, Series.FORECAST, Decimal("9000")).amount == Decimal("9000")
    actual = set_value(measure, cast, Series.ACTUAL, Decimal("8000"))
    assert actual.validation_state == "draft"


def test_closed_measure_keeps_accepting_actuals_but_not_forecasts(cast, ready_measure):
    measure = to_doi5(ready_measure, cast)
    assert measure.stage == Stage.CLOSED
    later = add_months(closure_window()[-1], 1)
    assert set_value(measure, cast, Series.ACTUAL, Decimal("7000"), month=later).validation_state == "draft"
    with pytest.raises(Conflict, match="forecast is final"):
        set_value(measure, cast, Series.FORECAST)
    with pytest.raises(Conflict, match="target is final"):
        set_value(measure, cast, Series.TARGET, who="pm")


def test_cancelled_measure_refuses_every_series(cast, ready_measure):
    services.measure_cancel(measure=ready_measure, by=cast["pm"], reason="Superseded.")
    ready_measure.refresh_from_db()
    for series in Series.values:
        with pytest.raises(Conflict, match="cancelled"):
            set_value(ready_measure, cast, series, who="pm")


def test_targets_are_set_by_program_managers_only(cast, ready_measure):
    with pytest.raises(PermissionRefused, match="program manager"):
        set_value(ready_measure, cast, Series.TARGET, who="owner")
    assert set_value(ready_measure, cast, Series.TARGET, who="pm").amount == Decimal("100")


def test_people_without_edit_rights_cannot_enter_values(cast, ready_measure):
    with pytest.raises(PermissionRefused):
        set_value(ready_measure, cast, Series.PLAN, who="viewer")


def test_months_are_stored_as_first_day_and_bad_input_is_400(cast, ready_measure):
    line = benefit_line(ready_measure)
    value = services.effect_value_set(
        line=line, month="2026-04", series="plan", amount="1,200.5", by=cast["owner"]
    )
    assert str(value.month) == "2026-04-01" and value.amount == Decimal("1200.50")
    with pytest.raises(InvalidInput):
        services.effect_value_set(line=line, month="2026-04-15", series="plan", amount="1", by=cast["owner"])
    with pytest.raises(InvalidInput):
        services.effect_value_set(line=line, month="2026-04", series="wish", amount="1", by=cast["owner"])
    with pytest.raises(InvalidInput):
        services.effect_value_set(line=line, month="2026-04", series="plan", amount="lots", by=cast["owner"])


def test_grid_saves_one_series_in_one_transaction_or_nothing(cast, ready_measure):
    line = benefit_line(ready_measure)
    months = fy_months()
    saved = services.effect_values_save(
        measure=ready_measure, by=cast["owner"], series="plan", cells=[(line.pk, m, "1000") for m in months]
    )
    assert saved == 12
    with pytest.raises(InvalidInput):
        services.effect_values_save(
            measure=ready_measure,
            by=cast["owner"],
            series="plan",
            cells=[(line.pk, months[0], "5"), (line.pk, months[1], "not a number")],
        )
    assert EffectValue.objects.get(line=line, month=months[0], series="plan").amount == Decimal("1000")
    services.effect_values_save(
        measure=ready_measure, by=cast["owner"], series="plan", cells=[(line.pk, months[0], "")]
    )
    assert EffectValue.objects.filter(line=line, series="plan").count() == 11


# --- Gate criteria on the values ---------------------------------------------------------------------


def test_doi2_needs_plan_values_on_every_line(cast, ready_measure):
    measure = to_doi1(ready_measure, cast)
    codes = {item["code"] for item in selectors.gate_unmet(measure=measure, to_doi=2)}
    assert "plan_values_missing" in codes
    fill_doi2(measure, cast)
    assert selectors.gate_unmet(measure=measure, to_doi=2) == []


def test_doi3_needs_the_plan_for_every_month_of_the_fiscal_year(cast, ready_measure):
    measure = to_doi2(ready_measure, cast)
    assert selectors.gate_unmet(measure=measure, to_doi=3) == []
    line = benefit_line(measure)
    services.effect_values_save(
        measure=measure, by=cast["owner"], series="plan", cells=[(line.pk, fy_months()[5], None)]
    )
    unmet = selectors.gate_unmet(measure=measure, to_doi=3)
    assert [item["code"] for item in unmet] == ["plan_incomplete"]
    assert "P&L cost" in unmet[0]["message"]


# --- Freeze ----------------------------------------------------------------------------------------


def test_doi3_approval_freezes_plan_version_1_and_starts_the_forecast(cast, ready_measure):
    measure = to_doi3(ready_measure, cast)
    version = PlanVersion.objects.get(measure=measure)
    assert version.number == 1
    plan = set(measure.effect_values.filter(series="plan").values_list("line_id", "month", "amount"))
    forecast = set(measure.effect_values.filter(series="forecast").values_list("line_id", "month", "amount"))
    assert plan == forecast == set(version.values.values_list("line_id", "month", "amount"))
    assert len(plan) == 24
    frozen = AuditEntry.objects.get(measure_id=measure.pk, action="plan_frozen")
    assert frozen.after["version"] == 1 and frozen.after["plan_total"] == "123000.00"


def test_sponsor_approval_alone_does_not_freeze(cast, ready_measure):
    measure = to_doi2(ready_measure, cast)
    request = services.gate_request_submit(measure=measure, by=cast["owner"])
    services.gate_request_approve(request=request, by=cast["sponsor"])
    assert not PlanVersion.objects.filter(measure=measure).exists()


# --- Re-baseline -------------------------------------------------------------------------------------


def test_rebaseline_creates_version_2_and_keeps_version_1(cast, ready_measure):
    measure = to_doi3(ready_measure, cast)
    line = benefit_line(measure)
    months = fy_months()
    request = services.rebaseline_request_submit(
        measure=measure,
        by=cast["owner"],
        reason="Vendor delivers two months later.",
        values=[
            {"line": line.pk, "month": str(months[0]), "amount": "0"},
            {"line": line.pk, "month": str(months[1]), "amount": None},
        ],
    )
    services.rebaseline_request_approve(request=request, by=cast["controller"], comment="Accepted.")
    versions = {v.number: v for v in PlanVersion.objects.filter(measure=measure)}
    assert set(versions) == {1, 2}
    assert versions[1].values.count() == 24 and versions[2].values.count() == 23
    diff = selectors.plan_version_diff(measure=measure, from_version=1, to_version=2)
    assert [(row.month, row.before, row.after) for row in diff.rows] == [
        (months[0], Decimal("10000.00"), Decimal("0.00")),
        (months[1], Decimal("10000.00"), None),
    ]
    assert diff.total_change == Decimal("-20000.00")
    assert measure.effect_values.get(line=line, month=months[0], series="plan").amount == 0
    # the forecast is the owner's and stays as it was
    assert measure.effect_values.get(line=line, month=months[0], series="forecast").amount == Decimal("10000")
    assert AuditEntry.objects.filter(measure_id=measure.pk, action="rebaseline_approved").count() == 1
    # a third version on top
    again = services.rebaseline_request_submit(
        measure=measure,
        by=cast["owner"],
        reason="Back on track.",
        values=[{"line": line.pk, "month": str(months[1]), "amount": "10000"}],
    )
    services.rebaseline_request_approve(request=again, by=cast["controller"])
    assert list(PlanVersion.objects.filter(measure=measure).values_list("number", flat=True)) == [1, 2, 3]


def test_rebaseline_needs_a_frozen_plan_and_one_pending_at_a_time(cast, ready_measure):
    line = benefit_line(ready_measure)
    values = [{"line": line.pk, "month": str(M0), "amount": "1"}]
    with pytest.raises(Conflict, match="not frozen"):
        services.rebaseline_request_submit(measure=ready_measure, by=cast["owner"], reason="x", values=values)
    measure = to_doi3(ready_measure, cast)
    services.rebaseline_request_submit(measure=measure, by=cast["owner"], reason="x", values=values)
    with pytest.raises(Conflict, match="already pending"):
        services.rebaseline_request_submit(measure=measure, by=cast["owner"], reason="y", values=values)


def test_rebaseline_is_decided_by_a_controller_of_the_scope_only(cast, ready_measure, make_user, tree):
    measure = to_doi3(ready_measure, cast)
    line = benefit_line(measure)
    request = services.rebaseline_request_submit(
        measure=measure,
        by=cast["pm"],
        reason="x",
        values=[{"line": line.pk, "month": str(M0), "amount": "1"}],
    )
    with pytest.raises(PermissionRefused):
        services.rebaseline_request_approve(request=request, by=cast["sponsor"])
    with pytest.raises(SeparationOfDutiesViolation):
        services.rebaseline_request_approve(request=request, by=cast["pm"])
    outside = make_user("far-controller", roles=[(tree.other_program, ScopeRole.CONTROLLER)])
    with pytest.raises(NotFound):  # the measure is outside their scopes
        services.rebaseline_request_approve(request=request, by=outside)
    with pytest.raises(InvalidInput):
        services.rebaseline_request_reject(request=request, by=cast["controller"], comment="")
    services.rebaseline_request_reject(request=request, by=cast["controller"], comment="Not justified.")
    assert PlanVersion.objects.filter(measure=measure).count() == 1


# --- Actuals validation ---------------------------------------------------------------------------------


def test_actuals_go_draft_submitted_validated(cast, ready_measure):
    measure = to_doi3(ready_measure, cast)
    value = set_value(measure, cast, Series.ACTUAL, Decimal("9000"))
    with pytest.raises(Conflict, match="draft"):
        services.actual_validate(value=value, by=cast["controller"])
    assert services.actuals_submit(measure=measure, by=cast["owner"]) == 1
    value = services.actual_validate(value=value, by=cast["controller"], comment="Matches the ledger.")
    assert value.validation_state == "validated" and value.validated_by == cast["controller"]
    assert value.validated_at is not None
    entry = AuditEntry.objects.get(action="actual_validated", subject_id=value.pk)
    assert entry.before == {"validation_state": "submitted"} and entry.comment == "Matches the ledger."
    with pytest.raises(Conflict, match="validated"):
        set_value(measure, cast, Series.ACTUAL, Decimal("1"))


def test_rejected_actual_returns_to_draft_when_corrected(cast, ready_measure):
    measure = to_doi3(ready_measure, cast)
    value = set_value(measure, cast, Series.ACTUAL, Decimal("9000"))
    services.actuals_submit(measure=measure, by=cast["owner"])
    with pytest.raises(InvalidInput):
        services.actual_reject(value=value, by=cast["controller"], comment=" ")
    value = services.actual_reject(value=value, by=cast["controller"], comment="Invoice missing.")
    assert value.validation_state == "rejected"
    value = set_value(measure, cast, Series.ACTUAL, Decimal("8500"))
    assert value.validation_state == "draft" and value.validated_by is None


def test_owner_cannot_validate_own_actuals_even_as_controller(cast, ready_measure, tree):
    from measures.models import Membership

    measure = to_doi3(ready_measure, cast)
    Membership.objects.create(user=cast["owner"], scope=tree.program, role=ScopeRole.CONTROLLER)
    services.measures.permissions.forget_cached_permissions(cast["owner"])
    value = set_value(measure, cast, Series.ACTUAL)
    services.actuals_submit(measure=measure, by=cast["owner"])
    with pytest.raises(SeparationOfDutiesViolation, match="owner"):
        services.actual_validate(value=value, by=cast["owner"])


def test_only_a_controller_of_the_scope_validates(cast, ready_measure, make_user, tree):
    measure = to_doi3(ready_measure, cast)
    value = set_value(measure, cast, Series.ACTUAL)
    services.actuals_submit(measure=measure, by=cast["owner"])
    for who in ("pm", "sponsor"):
        with pytest.raises(PermissionRefused, match="controller"):
            services.actual_validate(value=value, by=cast[who])
    elsewhere = make_user("cloud-controller", roles=[(tree.other_program, ScopeRole.CONTROLLER)])
    with pytest.raises(NotFound):  # outside their scopes
        services.actual_validate(value=value, by=elsewhere)
    assert EffectValue.objects.get(pk=value.pk).validation_state == "submitted"


def test_a_controller_who_entered_the_actual_cannot_validate_it(cast, ready_measure, make_user, tree):
    measure = to_doi3(ready_measure, cast)
    second = make_user(
        "controller2", roles=[(tree.program, ScopeRole.CONTROLLER), (tree.program, ScopeRole.PROGRAM_MANAGER)]
    )
    value = services.effect_value_set(
        line=benefit_line(measure), month=M0, series="actual", amount=5, by=second
    )
    services.actuals_submit(measure=measure, by=cast["owner"])
    with pytest.raises(SeparationOfDutiesViolation, match="entered"):
        services.actual_validate(value=value, by=second)
    assert services.actual_validate(value=value, by=cast["controller"]).validation_state == "validated"


def test_actuals_awaiting_validation_lists_what_the_controller_may_validate(cast, ready_measure):
    measure = to_doi3(ready_measure, cast)
    set_value(measure, cast, Series.ACTUAL)
    assert not selectors.actuals_awaiting_validation(user=cast["controller"]).exists()
    services.actuals_submit(measure=measure, by=cast["owner"])
    assert selectors.actuals_awaiting_validation(user=cast["controller"]).count() == 1
    for who in ("owner", "pm", "outsider", "viewer"):
        assert selectors.actuals_awaiting_validation(user=cast[who]).count() == 0


# --- Closure (DoI 5) -------------------------------------------------------------------------------------


def test_doi5_needs_validated_actuals_for_the_closure_window(cast, ready_measure):
    measure = to_doi4(ready_measure, cast)
    codes = {item["code"] for item in selectors.gate_unmet(measure=measure, to_doi=5)}
    assert {"actuals_not_validated", "run_rate_below_plan", "closure_evidence_missing"} <= codes
    window = closure_window()
    validated_actuals(measure, cast, {month: Decimal("10000") for month in window[:-1]})
    message = {i["code"]: i["message"] for i in selectors.gate_unmet(measure=measure, to_doi=5)}
    assert f"{window[-1]:%Y-%m}" in message["actuals_not_validated"]


def test_doi5_run_rate_below_plan_needs_the_controllers_reason(cast, ready_measure):
    measure = to_doi4(ready_measure, cast)
    validated_actuals(measure, cast, {month: Decimal("8000") for month in closure_window()})
    unmet = {i["code"]: i["message"] for i in selectors.gate_unmet(measure=measure, to_doi=5)}
    assert "96k is below the planned 120k" in unmet["run_rate_below_plan"]
    with pytest.raises(SeparationOfDutiesViolation):
        services.closure_shortfall_record(measure=measure, by=cast["owner"], reason="x")
    with pytest.raises(PermissionRefused):
        services.closure_shortfall_record(measure=measure, by=cast["pm"], reason="x")
    measure = services.closure_shortfall_record(
        measure=measure, by=cast["controller"], reason="Volume fell 20 %."
    )
    assert "run_rate_below_plan" not in {i["code"] for i in selectors.gate_unmet(measure=measure, to_doi=5)}


def test_closing_stores_the_validated_run_rate(cast, ready_measure):
    measure = to_doi5(ready_measure, cast, actual=Decimal("10500"))
    assert measure.closed_run_rate == Decimal("126000.00")
    with pytest.raises(Conflict):
        services.gate_request_submit(measure=measure, by=cast["owner"])
