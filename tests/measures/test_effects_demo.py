"""The demo's financial effects: every potential colour, a re-baseline, a leakage case, actuals
waiting for the controller, and one measure walked from DoI 0 to DoI 5 through the real gates."""

from __future__ import annotations

from django.contrib.auth import get_user_model
from django.core.management import call_command

from measures import selectors, services
from measures.demo_effects import WALKED_TITLE
from measures.models import AuditEntry, EffectValue, GateRequest, Measure, PlanVersion, RebaselineRequest


def test_demo_effects(transactional_db):
    call_command("demo", no_serve=True)
    counts = (EffectValue.objects.count(), PlanVersion.objects.count(), RebaselineRequest.objects.count())
    call_command("demo", no_serve=True)
    assert (
        EffectValue.objects.count(),
        PlanVersion.objects.count(),
        RebaselineRequest.objects.count(),
    ) == counts
    people = {user.username: user for user in get_user_model().objects.all()}
    rows = selectors.figures_for(selectors.measure_list(user=people["leader"]))
    assert {row.potential.computed for row in rows} == {"grey", "green", "amber", "red"}
    assert any(row.implementation.status == "green" and row.potential.status == "red" for row in rows)
    assert selectors.leakage_measures(user=people["leader"])
    assert PlanVersion.objects.filter(number=2).exists()
    assert RebaselineRequest.objects.filter(state="pending").exists()
    assert selectors.actuals_awaiting_validation(user=people["controller"]).exists()
    months = EffectValue.objects.filter(series="plan").values("month").distinct().count()
    assert 12 <= months <= 24

    walked = Measure.objects.get(title=WALKED_TITLE)
    assert walked.stage == "closed"
    assert list(
        GateRequest.objects.filter(measure=walked, state="approved")
        .order_by("to_doi")
        .values_list("to_doi", flat=True)
    ) == [1, 2, 3, 4, 5]
    actions = set(AuditEntry.objects.filter(measure_id=walked.pk).values_list("action", flat=True))
    assert {"plan_frozen", "actual_validated", "closing_run_rate"} <= actions
    figures = selectors.measure_figures(measure=walked)
    assert figures.validated_run_rate >= figures.planned_run_rate
    assert services.audit_verify() is None
