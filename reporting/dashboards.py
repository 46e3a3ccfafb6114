"""What each dashboard shows (DESIGN §8), assembled from the selectors of measures, incidents and
reviews. Nothing here computes a figure of its own: it picks, arranges and charts."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any

from django.contrib.auth.models import AbstractBaseUser
from django.utils import timezone

from incidents import selectors as incident_selectors
from measures import selectors as measure_selectors
from measures.models import Scope
from reporting import charts


@dataclass
class IncidentSection:
    metrics: dict[str, Any]
    trend: charts.Chart | None
    cost_trend: charts.Chart | None
    period_from: date
    period_to: date


@dataclass
class Dashboard:
    title: str
    scope: Scope | None
    incidents: IncidentSection | None
    sections: dict[str, Any] = field(default_factory=dict)


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
    return IncidentSection(
        metrics, trend if labels else None, cost_trend if labels else None, period_from, period_to
    )


def leadership_dashboard(*, user: AbstractBaseUser) -> Dashboard:
    """Everything the user may see: leadership sees the whole portfolio, a program manager their
    scopes only (the selectors filter by the user)."""
    return Dashboard(title="Leadership dashboard", scope=None, incidents=incident_section(user=user))


def scope_dashboard(*, user: AbstractBaseUser, scope: Scope) -> Dashboard:
    dashboard = Dashboard(title=f"{scope.name}", scope=scope, incidents=None)
    dashboard.sections["pending_gates"] = list(
        measure_selectors.gate_request_list(user=user)
        .filter(state="pending", measure__package__path__startswith=scope.path)
        .order_by("requested_at")[:50]
    )
    return dashboard


def controller_inbox(*, user: AbstractBaseUser) -> dict[str, Any]:
    inbox = measure_selectors.inbox(user=user)
    return {
        "gates": [a for a in inbox.approvals if a.request.to_doi != 5],
        "closures": [a for a in inbox.approvals if a.request.to_doi == 5],
    }
