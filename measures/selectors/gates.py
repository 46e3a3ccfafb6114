"""Gate criteria (DESIGN §5.1): one function per gate, each returning its checklist.

A checklist item has a stable `code` (clients and tests rely on it), a label for the checklist and
the sentence shown when it is unmet. `gate_unmet()` is what a gate request is refused with.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from django.db.models import Q

from measures.choices import DependencyKind, DocumentKind, Nature, Recurrence
from measures.models import Measure


@dataclass(frozen=True)
class Criterion:
    code: str
    label: str
    met: bool
    message: str

    def as_unmet(self) -> dict[str, str]:
        return {"code": self.code, "message": self.message}


def _item(code: str, label: str, met: bool, message: str | None = None) -> Criterion:
    return Criterion(code=code, label=label, met=bool(met), message=message or f"{label}: missing.")


def criteria_doi1(measure: Measure) -> list[Criterion]:
    """Identified: people named, business unit, a sized effect line, risks and overlaps considered."""
    lines = measure.effect_lines.all()
    overlaps = (
        measure.dependencies.filter(kind=DependencyKind.OVERLAPS).exists()
        or measure.dependents.filter(kind=DependencyKind.OVERLAPS).exists()
    )
    return [
        _item("title_missing", "Title", measure.title.strip()),
        _item("objective_missing", "Objective and starting point", measure.objective.strip()),
        _item("owner_missing", "Owner named", measure.owner_id, "Name the measure's owner."),
        _item("sponsor_missing", "Sponsor named", measure.sponsor_id, "Name the measure's sponsor."),
        _item(
            "controller_missing", "Controller named", measure.controller_id, "Name the measure's controller."
        ),
        _item(
            "business_unit_missing",
            "Business unit",
            measure.business_unit.strip(),
            "Enter the business unit.",
        ),
        _item(
            "effect_line_missing",
            "At least one effect line with an annualized potential",
            lines.filter(annual_potential__isnull=False).exists(),
            "Add an effect line with its annualized potential.",
        ),
        _item(
            "risks_not_considered",
            "Risks considered",
            measure.no_known_risks or measure.risks.exists(),
            "Record the risks, or confirm that none are known.",
        ),
        _item(
            "overlap_check_missing",
            "Overlap check done",
            measure.no_known_overlaps or overlaps,
            "List the overlapping measures in the overlap register, or confirm there are none.",
        ),
    ]


def criteria_doi2(measure: Measure) -> list[Criterion]:
    """Detailed: baselines, monthly plan, one-time costs, a milestone and the business case."""
    lines = list(measure.effect_lines.all())
    without_baseline = [
        line for line in lines if line.baseline_value is None or not line.baseline_definition.strip()
    ]
    one_time_costs = any(
        line.nature == Nature.COST_TO_ACHIEVE and line.recurrence == Recurrence.ONE_TIME for line in lines
    )
    return [
        _item(
            "baseline_missing",
            "Baseline value and written definition on every effect line",
            lines and not without_baseline,
            "Enter a baseline value and a written baseline definition on "
            + (", ".join(line.account_label for line in without_baseline) or "an effect line")
            + ".",
        ),
        *financial_criteria(measure, 2),
        _item(
            "one_time_costs_missing",
            "One-time costs entered (may be zero)",
            one_time_costs,
            "Add a one-time cost-to-achieve effect line (its amount may be zero).",
        ),
        _item("milestone_missing", "At least one milestone", measure.milestones.exists(), "Add a milestone."),
        _item(
            "business_case_missing",
            "Business case attached",
            measure.documents.filter(kind=DocumentKind.BUSINESS_CASE).exists(),
            "Attach the business-case document.",
        ),
    ]


def criteria_doi3(measure: Measure) -> list[Criterion]:
    """Decided: everything of DoI 1 and 2 still true, and the plan complete for the fiscal horizon."""
    return [*criteria_doi1(measure), *criteria_doi2(measure), *financial_criteria(measure, 3)]


def criteria_doi4(measure: Measure) -> list[Criterion]:
    """Implemented: every milestone completed, each with evidence (a document or a note)."""
    milestones = list(measure.milestones.all())
    open_ones = [m.title for m in milestones if m.completed_at is None]
    no_evidence = [m.title for m in milestones if m.completed_at and not m.has_evidence]
    return [
        _item("milestone_missing", "At least one milestone", milestones, "Add a milestone."),
        _item(
            "milestones_open",
            "Every milestone completed",
            not open_ones,
            "Complete the open milestones: " + ", ".join(open_ones) + ".",
        ),
        _item(
            "milestone_evidence_missing",
            "Evidence on every completed milestone",
            not no_evidence,
            "Add evidence (a document or a note) to: " + ", ".join(no_evidence) + ".",
        ),
    ]


def criteria_doi5(measure: Measure) -> list[Criterion]:
    """Closed: validated actuals for the closure window, closure evidence, run rate confirmed."""
    return [
        *financial_criteria(measure, 5),
        _item(
            "closure_evidence_missing",
            "Closure evidence attached",
            measure.documents.filter(kind=DocumentKind.CLOSURE).exists(),
            "Attach the closure evidence.",
        ),
    ]


def financial_criteria(measure: Measure, to_doi: int) -> list[Criterion]:
    """The money criteria of DoI 2, 3 and 5 (DESIGN §5.1, §5.2), checked on the effect values.

    - DoI 2 `plan_values_missing`: every effect line has monthly plan values.
    - DoI 3 `plan_incomplete`: every effect line has a plan value (zero counts) for each month of
      the current fiscal year.
    - DoI 5 `actuals_not_validated`: each month of the closure window (the last
      VALUEGATE_CLOSURE_WINDOW_MONTHS closed months) has a validated actual on every recurring line,
      or on some line when the measure has no recurring line; `run_rate_below_plan`: the validated
      run rate reaches the planned run rate, or the controller recorded why it closes lower.
    """
    from django.conf import settings

    from measures.choices import Series, ValidationState
    from measures.models import EffectValue
    from measures.selectors import figures

    lines = list(measure.effect_lines.all())
    if to_doi == 2:
        planned = set(
            EffectValue.objects.filter(measure=measure, series=Series.PLAN).values_list("line_id", flat=True)
        )
        missing = [line.account_label for line in lines if line.pk not in planned]
        return [
            _item(
                "plan_values_missing",
                "Monthly plan values entered",
                lines and not missing,
                "Enter the monthly plan values"
                + (f" of {', '.join(missing)}." if missing and lines else "."),
            )
        ]
    if to_doi == 3:
        year = figures.fiscal_year()
        months = {figures.add_months(year.start, offset) for offset in range(12)}
        have: dict[int, set] = {line.pk: set() for line in lines}
        for line_id, month in EffectValue.objects.filter(
            measure=measure, series=Series.PLAN, month__in=months
        ).values_list("line_id", "month"):
            have[line_id].add(month)
        short = [line.account_label for line in lines if have[line.pk] != months]
        return [
            _item(
                "plan_incomplete",
                f"Plan complete for the fiscal horizon ({year.label})",
                lines and not short,
                f"Complete the monthly plan for every month of {year.label}"
                + (f": {', '.join(short)}." if short else "."),
            )
        ]
    if to_doi != 5:
        return []
    window = figures.closure_window()
    recurring = [line.pk for line in lines if line.recurrence == Recurrence.RECURRING]
    validated = set(
        EffectValue.objects.filter(
            measure=measure,
            series=Series.ACTUAL,
            validation_state=ValidationState.VALIDATED,
            month__in=window,
        ).values_list("line_id", "month")
    )
    if recurring:
        gaps = [m for m in window if any((line_id, m) not in validated for line_id in recurring)]
    else:
        gaps = [m for m in window if not any(month == m for _, month in validated)]
    count = settings.VALUEGATE_CLOSURE_WINDOW_MONTHS
    shown = figures.measure_figures(measure=measure)
    rate, planned = shown.validated_run_rate, shown.planned_run_rate
    if measure.closure_shortfall_reason:
        rate_met, rate_message = True, ""
    elif rate is None:
        rate_met = not recurring
        rate_message = "The validated run rate cannot be compared with the plan until actuals are validated."
    else:
        rate_met = rate >= planned
        rate_message = (
            f"The validated run rate {figures.short_money(rate)} is below the planned "
            f"{figures.short_money(planned)}; raise it, or the controller records why the measure closes lower."
        )
    return [
        _item(
            "actuals_not_validated",
            f"Actuals entered and validated for the closure window ({count} months)",
            not gaps,
            "Enter actuals and have a controller validate them for "
            + ", ".join(f"{m:%Y-%m}" for m in gaps)
            + ".",
        ),
        _item(
            "run_rate_below_plan",
            "Validated run rate reaches the planned run rate (or the controller records why not)",
            rate_met,
            rate_message,
        ),
    ]


GATE_CRITERIA: dict[int, Callable[[Measure], list[Criterion]]] = {
    1: criteria_doi1,
    2: criteria_doi2,
    3: criteria_doi3,
    4: criteria_doi4,
    5: criteria_doi5,
}


def gate_checklist(*, measure: Measure, to_doi: int) -> list[Criterion]:
    return GATE_CRITERIA[to_doi](measure) if to_doi in GATE_CRITERIA else []


def gate_unmet(*, measure: Measure, to_doi: int) -> list[dict[str, str]]:
    """The unmet items for the gate into `to_doi`, de-duplicated by code, in checklist order."""
    seen: set[str] = set()
    unmet = []
    for item in gate_checklist(measure=measure, to_doi=to_doi):
        if not item.met and item.code not in seen:
            seen.add(item.code)
            unmet.append(item.as_unmet())
    return unmet


def overlapping_measures(*, measure: Measure) -> list:
    """The overlap register around one measure: (other measure, share %) both ways."""
    from measures.models import Dependency

    rows = (
        Dependency.objects.filter(kind=DependencyKind.OVERLAPS)
        .filter(Q(source=measure) | Q(target=measure))
        .select_related("source", "target")
    )
    return [(row.target if row.source_id == measure.pk else row.source, row.share_percent) for row in rows]
