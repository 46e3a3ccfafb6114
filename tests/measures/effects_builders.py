"""Measures walked through the real services to the DoI a financial-effects test starts from.

Every step is the one a person takes in the product: the owner fills in what the gate needs and
asks, the right approvers approve. Months are relative to the fiscal year of `today`."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal

from django.core.files.uploadedfile import SimpleUploadedFile
from django.utils import timezone

from measures import services
from measures.choices import DocumentKind, Series
from measures.models import EffectLine, Measure
from measures.selectors.figures import add_months, closure_window, fiscal_year


def pdf(name: str) -> SimpleUploadedFile:
    return SimpleUploadedFile(name, b"%PDF-1.4\n%\xe2\xe3\n1 0 obj<<>>endobj\n%%EOF\n", "application/pdf")


def fy_months(today: date | None = None) -> list[date]:
    start = fiscal_year(today).start
    return [add_months(start, offset) for offset in range(12)]


def benefit_line(measure: Measure) -> EffectLine:
    return measure.effect_lines.get(nature="benefit", recurrence="recurring")


def cost_line(measure: Measure) -> EffectLine:
    return measure.effect_lines.get(nature="cost_to_achieve")


def approve(request, *people) -> None:
    for person in people:
        services.gate_request_approve(request=request, by=person, comment="Agreed.")


def to_doi1(measure: Measure, cast) -> Measure:
    request = services.gate_request_submit(measure=measure, by=cast["owner"])
    approve(request, cast["pm"])
    measure.refresh_from_db()
    return measure


def fill_doi2(measure: Measure, cast, *, monthly=Decimal("10000"), cost=Decimal("3000")) -> Measure:
    """Baselines, a one-time cost line, the plan for the fiscal year, a milestone, the business case."""
    owner = cast["owner"]
    line = benefit_line(measure)
    services.effect_line_update(
        line=line, by=owner, baseline_value=Decimal("500000"), baseline_definition="Run cost FY before"
    )
    costs = services.effect_line_create(
        measure=measure,
        by=owner,
        account="capex",
        nature="cost_to_achieve",
        recurrence="one_time",
        annual_potential=cost,
        baseline_value=0,
        baseline_definition="Project budget",
    )
    months = fy_months()
    services.effect_values_save(
        measure=measure, by=owner, series=Series.PLAN, cells=[(line.pk, m, monthly) for m in months]
    )
    services.effect_values_save(
        measure=measure,
        by=owner,
        series=Series.PLAN,
        cells=[(costs.pk, m, cost if m == months[0] else 0) for m in months],
    )
    services.milestone_create(
        measure=measure,
        by=owner,
        title="Cutover",
        due_date=timezone.localdate() + timedelta(days=60),
        critical=True,
    )
    services.document_upload(
        measure=measure, by=owner, uploaded_file=pdf("case.pdf"), kind=DocumentKind.BUSINESS_CASE
    )
    measure.refresh_from_db()
    return measure


def to_doi2(measure: Measure, cast, **plan) -> Measure:
    to_doi1(measure, cast)
    fill_doi2(measure, cast, **plan)
    request = services.gate_request_submit(measure=measure, by=cast["owner"])
    approve(request, cast["sponsor"])
    measure.refresh_from_db()
    return measure


def to_doi3(measure: Measure, cast, **plan) -> Measure:
    to_doi2(measure, cast, **plan)
    request = services.gate_request_submit(measure=measure, by=cast["owner"])
    approve(request, cast["sponsor"], cast["controller"])
    measure.refresh_from_db()
    return measure


def to_doi4(measure: Measure, cast, **plan) -> Measure:
    to_doi3(measure, cast, **plan)
    for milestone in measure.milestones.all():
        services.milestone_complete(
            milestone=milestone, by=cast["owner"], completed_at=timezone.localdate(), evidence_note="Done."
        )
    request = services.gate_request_submit(measure=measure, by=cast["owner"])
    approve(request, cast["sponsor"])
    measure.refresh_from_db()
    return measure


def validated_actuals(measure: Measure, cast, amounts: dict[date, Decimal], line=None) -> None:
    """The owner enters and submits actuals; the controller validates each."""
    line = line or benefit_line(measure)
    services.effect_values_save(
        measure=measure,
        by=cast["owner"],
        series=Series.ACTUAL,
        cells=[(line.pk, m, a) for m, a in amounts.items()],
    )
    services.actuals_submit(measure=measure, by=cast["owner"])
    for value in measure.effect_values.filter(series=Series.ACTUAL, validation_state="submitted"):
        services.actual_validate(value=value, by=cast["controller"])


def to_doi5(measure: Measure, cast, *, actual=Decimal("10000"), **plan) -> Measure:
    to_doi4(measure, cast, **plan)
    validated_actuals(measure, cast, dict.fromkeys(closure_window(), actual))
    services.document_upload(
        measure=measure, by=cast["owner"], uploaded_file=pdf("closure.pdf"), kind="closure"
    )
    request = services.gate_request_submit(measure=measure, by=cast["owner"])
    approve(request, cast["controller"])
    measure.refresh_from_db()
    return measure
