"""Read side of reporting: what dashboards and PDFs show. Figures come from the selectors of
measures, incidents and reviews; nothing here recomputes them."""

from __future__ import annotations

from django.contrib.auth.models import AbstractBaseUser
from django.db.models import QuerySet

from measures import permissions
from measures.models import Scope
from reporting.models import ReportRun


def report_run_list(*, user: AbstractBaseUser) -> QuerySet[ReportRun]:
    runs = ReportRun.objects.select_related("requested_by")
    if permissions.is_admin(user):
        return runs
    return runs.filter(requested_by=user)


def steering_pack_context(*, scope: Scope) -> dict:
    below = Scope.objects.filter(path__startswith=scope.path).order_by("path")
    return {"scope": scope, "scopes": below}


def scope_key_figures() -> dict[int, dict]:
    """Key figures per scope for the nightly snapshot. Grows with the measures' figures."""
    return {pk: {"scopes_below": 0} for pk in Scope.objects.values_list("pk", flat=True)}
