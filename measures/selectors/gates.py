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
    """HOOK for the Financial effects issue: the money criteria of DoI 2, 3 and 5.

    Monthly effect values (plan, forecast, actual with validation) do not exist yet, so these
    criteria cannot be met and are reported unmet with their stable codes. The Financial effects
    issue replaces this body with real checks on the effect values; the codes stay.
    """
    from django.conf import settings

    window = settings.VALUEGATE_CLOSURE_WINDOW_MONTHS
    items = {
        2: [("plan_values_missing", "Monthly plan values entered", "Enter the monthly plan values.")],
        3: [
            (
                "plan_incomplete",
                "Plan complete for the fiscal horizon",
                "Complete the monthly plan for the fiscal horizon.",
            )
        ],
        5: [
            (
                "actuals_not_validated",
                f"Actuals entered and validated for the closure window ({window} months)",
                f"Enter actuals for the last {window} months and have a controller validate them.",
            ),
            (
                "run_rate_below_plan",
                "Validated run rate reaches the planned run rate (or the controller records why not)",
                "The validated run rate cannot be compared with the plan until actuals are validated.",
            ),
        ],
    }
    return [_item(code, label, False, message) for code, label, message in items.get(to_doi, [])]


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
