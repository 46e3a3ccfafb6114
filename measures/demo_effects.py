"""Demo financial effects (issue 4): 24 months of plan, forecast and actuals for the demo measures,
so that every potential colour, a re-baseline, a pending re-baseline, actuals awaiting validation and
a leakage case appear; and one measure that walks from DoI 0 to DoI 5 through the real services.

Idempotent: a measure that already has effect values is left alone. The plans of measures whose
DoI 2–5 gates `demo_measures` replays as history are replayed the same way (written as rows, then
frozen with `plan_freeze`); forecasts, actuals, validations and re-baselines go through the services.
"""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal

from django.utils import timezone

from measures import services
from measures.choices import DocumentKind, Nature, Recurrence, Series, Stage
from measures.demo_measures import MEASURES, _pdf
from measures.models import EffectValue, Measure, Scope
from measures.selectors.figures import add_months, closure_window
from measures.services.notify import emails_suppressed

WALKED_TITLE = "Decommission legacy file servers"
WALKED_PACKAGE = "Idle resources"
HUNDRED = Decimal("100")


def horizon() -> list[date]:
    """24 months: the last 12 closed months and the next 12 (always covers the fiscal year)."""
    current = timezone.localdate().replace(day=1)
    return [add_months(current, offset) for offset in range(-12, 12)]


def _monthly(potential: Decimal) -> Decimal:
    return (potential / 12).quantize(HUNDRED)


def _replay_plan(measure: Measure, months: list[date], pm) -> None:
    """The plan as the owner entered it up to DoI 2: a three-month ramp-up, then the full potential;
    the one-time cost in the first two months; a top-down target 10 % above the potential."""
    rows = []
    for line in measure.effect_lines.all():
        potential = line.annual_potential or Decimal("0")
        for index, month in enumerate(months):
            if line.recurrence == Recurrence.RECURRING:
                amount = _monthly(potential) * (Decimal("0.5") if index < 3 else 1)
            else:
                amount = (potential / 2).quantize(HUNDRED) if index < 2 else Decimal("0")
            rows.append(
                EffectValue(measure=measure, line=line, month=month, series=Series.PLAN, amount=amount)
            )
            if line.nature == Nature.BENEFIT and line.recurrence == Recurrence.RECURRING:
                rows.append(
                    EffectValue(
                        measure=measure,
                        line=line,
                        month=month,
                        series=Series.TARGET,
                        amount=(_monthly(potential) * Decimal("1.1")).quantize(HUNDRED),
                        entered_by=pm,
                    )
                )
    EffectValue.objects.bulk_create(rows)


def _cells(line, months, factor, plan) -> list[tuple[int, date, Decimal]]:
    return [(line.pk, month, (plan[(line.pk, month)] * factor).quantize(HUNDRED)) for month in months]


def _actuals(measure: Measure, cast, cells, *, validate: bool) -> None:
    services.effect_values_save(measure=measure, by=measure.owner, series=Series.ACTUAL, cells=cells)
    services.actuals_submit(measure=measure, by=measure.owner)
    if validate:
        for value in measure.effect_values.filter(series=Series.ACTUAL, validation_state="submitted"):
            services.actual_validate(value=value, by=cast["controller"], comment="Agrees with the ledger.")


def _closing_month() -> date:
    """The month the replayed closed measures closed in (three months before the last closed one)."""
    return add_months(closure_window()[-1], -3)


def _scenario(measure: Measure, number: int, months: list[date], cast, *, leaking: bool = False) -> str:
    """Forecast and actuals after the freeze. Scenarios by number: on plan (green), ramp-up late
    but catching up (amber), falling short for good (red)."""
    current = timezone.localdate().replace(day=1)
    past = [m for m in months if m < current]
    future = [m for m in months if m >= current]
    plan = {(v.line_id, v.month): v.amount for v in measure.effect_values.filter(series=Series.PLAN)}
    benefit = measure.effect_lines.filter(nature=Nature.BENEFIT, recurrence=Recurrence.RECURRING).first()
    if benefit is None:
        return "none"
    kind = ["green", "amber", "red", "green"][number % 4]
    if measure.stage == Stage.CLOSED:
        kind = "closed"
    owner = measure.owner
    if kind == "amber":
        services.effect_values_save(
            measure=measure,
            by=owner,
            series=Series.FORECAST,
            cells=_cells(benefit, future[:3], Decimal("0.7"), plan),
        )
    elif kind == "red":
        services.effect_values_save(
            measure=measure,
            by=owner,
            series=Series.FORECAST,
            cells=_cells(benefit, future, Decimal("0.6"), plan),
        )
    factor = {"green": Decimal("1.01"), "amber": Decimal("0.7"), "red": Decimal("0.62"), "closed": 1}[kind]
    if measure.stage == Stage.ON_HOLD:
        return kind
    older, last = past[:-1], past[-1:]
    if kind == "closed" and leaking:
        # validated actuals fall 20 % below the closing run rate after closure
        kept = [m for m in older if m <= _closing_month()]
        _actuals(measure, cast, _cells(benefit, kept, factor, plan), validate=True)
        _actuals(
            measure, cast, _cells(benefit, [*older[len(kept) :], *last], Decimal("0.8"), plan), validate=True
        )
        return kind
    _actuals(measure, cast, _cells(benefit, older, factor, plan), validate=True)
    # the last closed month waits for the controller on every other measure
    _actuals(measure, cast, _cells(benefit, last, factor, plan), validate=number % 2 == 1)
    return kind


def _close_history(measure: Measure) -> None:
    """Replayed closure (like the replayed gate): the closing run rate is the validated run rate of
    the month it closed in."""
    benefit = measure.effect_lines.filter(nature=Nature.BENEFIT, recurrence=Recurrence.RECURRING).first()
    if benefit is None:
        return
    at_close = measure.effect_values.filter(
        line=benefit, month=_closing_month(), series=Series.ACTUAL
    ).first()
    Measure.objects.filter(pk=measure.pk).update(closed_run_rate=(at_close.amount if at_close else 0) * 12)


def _rebaselines(decided: list[Measure], cast) -> None:
    if len(decided) < 2:
        return
    months = horizon()
    approved, pending = decided[0], decided[1]
    for measure, reason in (
        (approved, "Supplier delivers the second wave three months later."),
        (pending, "Scope extended to the second data centre."),
    ):
        line = measure.effect_lines.filter(nature=Nature.BENEFIT, recurrence=Recurrence.RECURRING).first()
        current = measure.effect_values.get(line=line, month=months[14], series=Series.PLAN).amount
        values = [
            {"line": line.pk, "month": str(m), "amount": str(current * Decimal("0.5"))} for m in months[12:15]
        ]
        request = services.rebaseline_request_submit(
            measure=measure, by=measure.owner, reason=reason, values=values
        )
        if measure is approved:
            services.rebaseline_request_approve(request=request, by=cast["controller"], comment="Agreed.")


def _walk(cast, scopes) -> None:
    """One measure through every gate with the real services and criteria."""
    package: Scope = scopes[WALKED_PACKAGE]
    if Measure.objects.filter(package=package, title=WALKED_TITLE).exists():
        return
    owner, pm, sponsor, controller = cast["owner"], cast["pm"], cast["sponsor"], cast["controller"]
    measure = services.measure_create(
        by=pm,
        title=WALKED_TITLE,
        objective="Twelve file servers idle since the move to cloud storage still cost licences and power.",
        package=package,
        owner=owner,
        sponsor=sponsor,
        controller=controller,
        business_unit="Cloud Platform",
        no_known_overlaps=True,
        no_known_risks=True,
    )
    line = services.effect_line_create(
        measure=measure,
        by=owner,
        account="pl_cost",
        annual_potential=Decimal("96000"),
        baseline_value=Decimal("180000"),
        baseline_definition="Licences, power and support of the twelve servers, last twelve months",
    )
    cost = services.effect_line_create(
        measure=measure,
        by=owner,
        account="pl_cost",
        nature="cost_to_achieve",
        recurrence="one_time",
        annual_potential=Decimal("12000"),
        baseline_value=0,
        baseline_definition="Project budget",
    )

    def gate(*approvers):
        request = services.gate_request_submit(measure=measure, by=owner)
        for person in approvers:
            services.gate_request_approve(request=request, by=person, comment="Agreed.")

    gate(pm)
    months = horizon()
    services.effect_values_save(
        measure=measure, by=owner, series="plan", cells=[(line.pk, m, 8000) for m in months]
    )
    services.effect_values_save(
        measure=measure,
        by=owner,
        series="plan",
        cells=[(cost.pk, m, 12000 if i == 0 else 0) for i, m in enumerate(months)],
    )
    milestone = services.milestone_create(
        measure=measure,
        by=owner,
        title="Servers powered off",
        due_date=months[3] + timedelta(days=20),
        critical=True,
    )
    services.document_upload(
        measure=measure, by=owner, uploaded_file=_pdf("business-case.pdf"), kind="business_case"
    )
    gate(sponsor)
    gate(sponsor, controller)  # DoI 3: the plan freezes as version 1
    services.milestone_complete(
        milestone=milestone,
        by=owner,
        completed_at=months[3] + timedelta(days=18),
        evidence_note="Switched off.",
    )
    gate(sponsor)
    window = closure_window()
    older = [m for m in months if m < window[0]][-6:]
    _actuals(measure, cast, [(line.pk, m, Decimal("8100")) for m in [*older, *window]], validate=True)
    services.document_upload(
        measure=measure, by=owner, uploaded_file=_pdf("closure-report.pdf"), kind=DocumentKind.CLOSURE
    )
    gate(controller)  # DoI 5: only the controller signs off


def load_effects(cast: dict, scopes: dict) -> None:
    titles = [title for rows in MEASURES.values() for title, _, _ in rows]
    months = horizon()
    with emails_suppressed():
        _walk(cast, scopes)
        measures = list(
            Measure.objects.filter(title__in=titles).exclude(effect_values__isnull=False).order_by("code")
        )
        decided, closed = [], []
        for number, measure in enumerate(measures):
            if measure.stage == Stage.CANCELLED or not measure.effect_lines.exists():
                continue
            _replay_plan(measure, months, cast["pm"])
            if measure.doi < 3:
                continue
            locked = Measure.objects.select_for_update().get(pk=measure.pk)
            services.plan_freeze(measure=locked, by=cast["controller"])
            kind = _scenario(
                locked, number, months, cast, leaking=locked.stage == Stage.CLOSED and not closed
            )
            if locked.stage == Stage.CLOSED:
                closed.append(locked)
            elif kind == "green" and locked.stage in (Stage.DECIDED, Stage.IMPLEMENTED):
                decided.append(locked)
        for measure in closed:
            _close_history(measure)
        _rebaselines(decided, cast)
