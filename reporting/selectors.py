"""Read side of reporting: what dashboards and PDFs show. Figures come from the selectors of
measures, incidents and reviews; nothing here recomputes them."""

from __future__ import annotations

import textwrap

from django.contrib.auth.models import AbstractBaseUser
from django.db.models import QuerySet

from measures import permissions
from measures.choices import Stage
from measures.models import Scope
from reporting.models import ReportRun


def report_run_list(*, user: AbstractBaseUser) -> QuerySet[ReportRun]:
    runs = ReportRun.objects.select_related("requested_by")
    if permissions.is_admin(user):
        return runs
    return runs.filter(requested_by=user)


# The appendix lists the largest measures by plan; the rest are counted and left to the CSV export.
# It is printed as a fixed-width listing: WeasyPrint lays out a preformatted line ~15x faster than a
# table row of 11 cells (~0.4 ms against ~6 ms per measure on the bench pack).
APPENDIX_LIMIT = 500
APPENDIX_TITLE_WIDTH = 44
_MONEY_COLUMNS = (
    ("Plan rec.", lambda r: r.plan.recurring),
    ("Plan 1-time", lambda r: r.plan.one_time),
    ("Est. rec.", lambda r: r.estimate.recurring),
    ("Est. 1-time", lambda r: r.estimate.one_time),
    ("Run rate", lambda r: r.run_rate),
    ("Planned RR", lambda r: r.planned_run_rate),
    ("Validated", lambda r: r.actual.recurring),
)


def appendix_listing(rows) -> list[str]:
    """The appendix as fixed-width lines, a header first: code, title (wrapped onto continuation
    lines, nothing cut), DoI, both lights and seven money columns right-aligned in whole units."""

    def line(code: str, title: str, doi: str, impl: str, pot: str, money: list[str]) -> str:
        cells = [f"{code:<10}", f"{title:<{APPENDIX_TITLE_WIDTH}}", f"{doi:>3}", f"{impl:<6}", f"{pot:<6}"]
        return " ".join(cells + [f"{value:>12}" for value in money]).rstrip()

    lines = [line("Measure", "Title", "DoI", "Impl.", "Pot.", [name for name, _ in _MONEY_COLUMNS])]
    for row in rows:
        note = {Stage.ON_HOLD: " · on hold", Stage.CANCELLED: " · cancelled"}.get(row.stage, "")
        title = textwrap.wrap(f"{row.title}{note}", APPENDIX_TITLE_WIDTH) or [""]
        money = [f"{value(row):,.0f}" for _, value in _MONEY_COLUMNS]
        lines.append(
            line(row.code, title[0], str(row.doi), row.implementation.status, row.potential.status, money)
        )
        lines.extend(line("", rest, "", "", "", [""] * len(money)) for rest in title[1:])
    return lines


def steering_pack_context(*, scope: Scope, reader: AbstractBaseUser) -> dict:
    """Everything the steering pack prints for one scope, as `reader` may see it: the same sections
    as the scope dashboard plus incident metrics and an appendix per measure (the largest
    APPENDIX_LIMIT by plan)."""
    from django.conf import settings

    from measures.selectors import figures as figure_selectors
    from reporting import dashboards

    measures = permissions.visible_measures(reader).filter(package__path__startswith=scope.path)
    appendix = sorted(
        figure_selectors.figures_for(measures),
        key=lambda row: (-(row.plan.recurring + row.plan.one_time), row.code),
    )
    return {
        "scope": scope,
        "scopes": permissions.visible_scopes(reader).filter(path__startswith=scope.path).order_by("path"),
        "value": dashboards.value_section(user=reader, scope=scope),
        "incidents": dashboards.incident_section(user=reader),
        "extra_sections": dashboards.extra_sections(user=reader, scope=scope),
        "appendix": appendix_listing(appendix[:APPENDIX_LIMIT]),
        "appendix_omitted": max(0, len(appendix) - APPENDIX_LIMIT),
        "currency": settings.VALUEGATE_CURRENCY,
    }


def system_reader():
    """An unsaved superuser: the principal for jobs that must see every scope (the nightly
    snapshot, a report whose requester was deleted — only admins may fetch that one), so they go
    through the same permission-aware selectors as people do."""
    from django.contrib.auth import get_user_model

    return get_user_model()(username="valuegate-system", is_superuser=True, is_active=True)


SNAPSHOT_FIGURES = ("target", "plan", "forecast", "actual", "estimate", "in_year", "committed", "pipeline",
                    "value_at_risk", "gap")  # fmt: skip


def scope_key_figures() -> dict[int, dict]:
    """Key figures of every scope for the nightly snapshot (trend charts read these)."""
    from measures.selectors import figures as figure_selectors

    reader = system_reader()
    result = {}
    for scope in Scope.objects.order_by("path"):
        figures = figure_selectors.scope_figures(scope=scope, user=reader)
        row: dict[str, object] = {
            "measure_count": figures.measure_count,
            "red_count": figures.red_count,
            "leakage_count": figures.leakage_count,
            "run_rate": str(figures.run_rate),
        }
        for name in SNAPSHOT_FIGURES:
            money = getattr(figures, name)
            row[f"{name}_recurring"] = str(money.recurring)
            row[f"{name}_one_time"] = str(money.one_time)
        result[scope.pk] = row
    return result


def overdue_milestones(*, user: AbstractBaseUser, scope: Scope):
    """Open milestones past their due date in measures the user may see below `scope`."""
    from django.utils import timezone

    from measures.models import Milestone

    return (
        Milestone.objects.filter(
            measure__in=permissions.visible_measures(user).filter(package__path__startswith=scope.path),
            completed_at__isnull=True,
            due_date__lt=timezone.localdate(),
        )
        .select_related("measure")
        .order_by("due_date")
    )


def report_schedule_list(*, user: AbstractBaseUser):
    from reporting.models import ReportSchedule

    schedules = ReportSchedule.objects.select_related("scope", "created_by").prefetch_related("recipients")
    return schedules if permissions.is_admin(user) else schedules.filter(created_by=user)
