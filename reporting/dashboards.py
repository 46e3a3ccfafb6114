"""What each dashboard shows (DESIGN §8), assembled from the selectors of measures, incidents and
reviews. Nothing here computes a figure of its own: it picks, arranges and charts."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import Decimal
from typing import Any

from django.contrib.auth.models import AbstractBaseUser
from django.utils import timezone

from config import charts
from incidents import selectors as incident_selectors
from measures import selectors as measure_selectors
from measures.models import Scope
from measures.selectors import figures as figure_selectors
from reporting import selectors as reporting_selectors
from reviews import selectors as review_selectors


@dataclass
class IncidentSection:
    metrics: dict[str, Any]
    trend: charts.Chart | None
    cost_trend: charts.Chart | None
    period_from: date
    period_to: date
    breakdown: dict[str, Any] = field(default_factory=dict)
    cost_by_service: charts.Chart | None = None


@dataclass
class ValueSection:
    figures: figure_selectors.ScopeFigures
    by_doi: list[figure_selectors.DoiValue]
    matrix: figure_selectors.StatusMatrix
    red: list[figure_selectors.MeasureFigures]
    leakage: list[figure_selectors.MeasureFigures]
    doi_chart: charts.Chart
    value_chart: charts.Chart
    trend: charts.Chart | None

    @property
    def lights(self) -> list[str]:
        return ["green", "amber", "red", "grey"]

    @property
    def matrix_rows(self) -> list[tuple[str, list[figure_selectors.StatusCell]]]:
        return [(impl, [self.matrix.cell(impl, pot) for pot in self.lights]) for impl in self.lights]


@dataclass
class Dashboard:
    title: str
    scope: Scope | None
    incidents: IncidentSection | None
    value: ValueSection | None = None
    sections: dict[str, Any] = field(default_factory=dict)


def value_section(*, user: AbstractBaseUser, scope: Scope | None = None) -> ValueSection:
    """Value by DoI, target vs committed vs estimate vs actual, the dual-status matrix, value at
    risk, red measures and leakage — all from measures' figure selectors."""
    if scope is None:
        figures = figure_selectors.portfolio_figures(user=user)
    else:
        figures = figure_selectors.scope_figures(scope=scope, user=user)
    by_doi = figure_selectors.value_by_doi(user=user, scope=scope)
    labels = [f"DoI {row.doi}" for row in by_doi]
    doi_chart = charts.bar_chart(
        "Recurring value by DoI (plan, forecast, validated actual)",
        labels,
        {
            "plan": [row.plan.recurring for row in by_doi],
            "forecast": [row.forecast.recurring for row in by_doi],
            "actual": [row.actual.recurring for row in by_doi],
        },
    )
    value_chart = charts.bar_chart(
        "Target, committed, estimate and actual (recurring | one-time)",
        ["recurring", "one-time"],
        {
            name: [getattr(figures, name).recurring, getattr(figures, name).one_time]
            for name in ("target", "committed", "estimate", "actual")
        },
    )
    return ValueSection(
        figures=figures,
        by_doi=by_doi,
        matrix=figure_selectors.status_matrix(user=user, scope=scope),
        red=figure_selectors.red_measures(user=user, scope=scope, limit=25),
        leakage=figure_selectors.leakage_measures(user=user, scope=scope),
        doi_chart=doi_chart,
        value_chart=value_chart,
        trend=snapshot_trend(scope=scope) if scope is not None else None,
    )


def _number(value: str | None) -> Decimal | None:
    return None if value is None else Decimal(value)


def snapshot_trend(*, scope: Scope, days: int = 180) -> charts.Chart | None:
    """Estimate and committed value over time, read from the nightly snapshots."""
    from reporting.models import Snapshot

    since = timezone.localdate() - timedelta(days=days)
    rows = list(Snapshot.objects.filter(scope=scope, taken_on__gte=since).order_by("taken_on"))
    if len(rows) < 2:
        return None
    return charts.line_chart(
        "Recurring estimate and committed value over time",
        [row.taken_on.isoformat() for row in rows],
        {
            "estimate": [_number(row.figures.get("estimate_recurring")) for row in rows],
            "committed": [_number(row.figures.get("committed_recurring")) for row in rows],
        },
    )


def _months_back(n: int) -> date:
    today = timezone.localdate()
    first = today.replace(day=1)
    for _ in range(n - 1):
        first = (first - timedelta(days=1)).replace(day=1)
    return first


def incident_section(*, user: AbstractBaseUser, months: int = 12) -> IncidentSection | None:
    period_from, period_to = _months_back(months), timezone.localdate()
    filters = incident_selectors.MetricFilters(date_from=period_from, date_to=period_to)
    metrics = incident_selectors.incident_metrics(user=user, filters=filters)
    if not metrics:
        return None
    by_month = metrics["by_month"]
    labels = [row["month"] for row in by_month]
    trend = charts.line_chart(
        "Time to restore by month (minutes)",
        labels,
        {
            "median": [row["time_to_restore_median"] for row in by_month],
            "p90": [row["time_to_restore_p90"] for row in by_month],
        },
    )
    cost_trend = charts.bar_chart(
        "Major incidents and their cost by month",
        labels,
        {"incidents": [row["count"] for row in by_month]},
    )
    breakdown = incident_selectors.incident_breakdown(user=user, filters=filters)
    services = breakdown["by_service"][:10]
    cost_by_service = charts.bar_chart(
        "Downtime cost by service (top 10)",
        [row["service"] for row in services],
        {"cost": [Decimal(row["cost"] or 0) for row in services]},
    )
    return IncidentSection(
        metrics,
        trend if labels else None,
        cost_trend if labels else None,
        period_from,
        period_to,
        breakdown,
        cost_by_service if services else None,
    )


def leadership_dashboard(
    *, user: AbstractBaseUser, incidents: Callable[[], IncidentSection | None] | None = None
) -> Dashboard:
    """Everything the user may see: leadership sees the whole portfolio, a program manager their
    scopes only (the selectors filter by the user). `incidents` gives the incident section when the
    caller keeps it apart (the page caches it by the incident part of the data version)."""
    return Dashboard(
        title="Leadership dashboard",
        scope=None,
        incidents=incidents() if incidents else incident_section(user=user),
        value=value_section(user=user),
        sections=extra_sections(user=user, scope=None),
    )


def scope_dashboard(*, user: AbstractBaseUser, scope: Scope) -> Dashboard:
    dashboard = Dashboard(
        title=f"{scope.name}", scope=scope, incidents=None, value=value_section(user=user, scope=scope)
    )
    dashboard.sections.update(extra_sections(user=user, scope=scope))
    dashboard.sections["pending_gates"] = list(
        measure_selectors.gate_request_list(user=user)
        .filter(state="pending", measure__package__path__startswith=scope.path)
        .order_by("requested_at")[:50]
    )
    dashboard.sections["overdue_milestones"] = list(
        reporting_selectors.overdue_milestones(user=user, scope=scope)[:50]
    )
    return dashboard


@dataclass
class ReviewSection:
    completion: review_selectors.PirCompletion
    overdue_actions: list
    overdue_count: int
    ineffective: list
    template: str = "reporting/_review_section.html"


def review_section(*, user: AbstractBaseUser, scope: Scope | None = None, months: int = 12) -> ReviewSection:
    """PIR completion and on-time rate over the period, overdue corrective actions (within
    `scope` when given) and actions a repeat incident showed ineffective."""
    period = (_months_back(months), timezone.localdate())
    overdue = review_selectors.overdue_actions(user=user, scope=scope).select_related(
        "owner", "review__incident"
    )
    return ReviewSection(
        completion=review_selectors.pir_completion(user=user, period=period),
        overdue_actions=list(overdue.order_by("due_date")[:20]),
        overdue_count=overdue.count(),
        ineffective=list(
            review_selectors.ineffective_actions(user=user).select_related("ineffective_incident")[:20]
        ),
    )


def extra_sections(*, user: AbstractBaseUser, scope: Scope | None) -> dict[str, Any]:
    """Sections contributed by the reviews app (overdue corrective actions, PIR completion)."""
    return {"reviews": review_section(user=user, scope=scope)}


def controller_inbox(*, user: AbstractBaseUser) -> dict[str, Any]:
    inbox = measure_selectors.inbox(user=user)
    return {
        "gates": [a for a in inbox.approvals if a.request.to_doi != 5],
        "closures": [a for a in inbox.approvals if a.request.to_doi == 5],
        "actuals": list(figure_selectors.actuals_awaiting_validation(user=user)[:200]),
    }
