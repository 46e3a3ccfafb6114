"""Browser pages of the financial effects (DESIGN §5.2, §5.3): the financial section of the measure
page (figures, monthly grid, bulk entry, CSV import, plan versions and re-baselines) and the
controller's list of actuals awaiting validation. Reads through selectors, writes through one
service call each."""

from __future__ import annotations

from datetime import date

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_POST

from config.errors import DomainError
from measures import permissions, selectors, services
from measures.choices import RebaselineState, Series, Stage, ValidationState
from measures.models import EffectValue, Measure, RebaselineRequest
from measures.services.effects import edit_refusal, frozen_version


def _visible(request: HttpRequest, pk: int) -> Measure:
    measure = permissions.visible_measures(request.user).select_related("package").filter(pk=pk).first()
    if measure is None:
        raise Http404("No such measure.")
    return measure


def _back(measure: Measure, series: str | None = None, anchor: str = "financials") -> HttpResponse:
    url = reverse("measures:detail", args=[measure.pk])
    return redirect(f"{url}{f'?series={series}' if series else ''}#{anchor}")


def _default_series(measure: Measure) -> str:
    return Series.PLAN if measure.doi < 3 else Series.FORECAST


def _cell_name(line_id: int, month: date) -> str:
    return f"cell-{line_id}-{month:%Y-%m}"


def financial_context(request: HttpRequest, measure: Measure) -> dict:
    """Everything the financial section of the measure page shows."""
    user = request.user
    figures = selectors.measure_figures(measure=measure)
    months = selectors.grid_months(measure=measure)
    series = request.GET.get("series") or _default_series(measure)
    if series not in Series.values:
        series = _default_series(measure)
    refusal = edit_refusal(measure, series)
    may_write = (
        permissions.can_set_targets(user, measure)
        if series == Series.TARGET
        else permissions.can_edit_measure(user, measure)
    )
    version = frozen_version(measure)
    proposes = (
        series == Series.PLAN
        and version is not None
        and may_write
        and measure.stage
        not in (
            Stage.CLOSED,
            Stage.CANCELLED,
        )
    )
    grid = selectors.effect_grid(measure=measure, series=series, months=months)
    versions = list(measure.plan_versions.select_related("created_by"))
    diff = None
    if len(versions) > 1:
        numbers = [v.number for v in versions]
        try:
            to_version = int(request.GET.get("to") or numbers[-1])
            from_version = int(request.GET.get("from") or numbers[-2])
        except ValueError:
            to_version, from_version = numbers[-1], numbers[-2]
        if from_version in numbers and to_version in numbers:
            diff = selectors.plan_version_diff(
                measure=measure, from_version=from_version, to_version=to_version
            )
    pending = (
        measure.rebaseline_requests.filter(state=RebaselineState.PENDING)
        .select_related("requested_by")
        .first()
    )
    drafts = measure.effect_values.filter(
        series=Series.ACTUAL, validation_state=ValidationState.DRAFT
    ).count()
    return {
        "currency": settings.VALUEGATE_CURRENCY,
        "figures": figures,
        "monthly": selectors.measure_monthly(measure=measure, months=months),
        "months": months,
        "series": series,
        "series_choices": Series.choices,
        "grid": [
            {
                "line": row.line,
                "total": row.total,
                "cells": [
                    {
                        "name": _cell_name(row.line.pk, month),
                        "month": month,
                        "value": cell,
                        "locked": bool(
                            cell
                            and cell.series == Series.ACTUAL
                            and cell.validation_state in ("submitted", "validated")
                        ),
                    }
                    for month, cell in zip(months, row.cells, strict=True)
                ],
            }
            for row in grid
        ],
        "grid_editable": may_write and (refusal is None or proposes),
        "grid_refusal": refusal,
        "grid_proposes_rebaseline": proposes,
        "plan_versions": versions,
        "plan_diff": diff,
        "rebaseline_pending": pending,
        "can_decide_rebaseline": bool(
            pending and permissions.can_validate_actuals(user, measure) and pending.requested_by_id != user.pk
        ),
        "draft_actuals": drafts if permissions.can_edit_measure(user, measure) else 0,
        "can_record_shortfall": measure.stage == Stage.IMPLEMENTED
        and permissions.can_validate_actuals(user, measure),
        "can_import": permissions.can_edit_measure(user, measure) and measure.stage != Stage.CANCELLED,
    }


def _posted_cells(request: HttpRequest, measure: Measure) -> list[tuple[int, str, str]]:
    """(line id, month, amount) for every grid input the form sent back."""
    cells = []
    for key, amount in request.POST.items():
        if not key.startswith("cell-"):
            continue
        try:
            _, line_id, year, month = key.split("-")
            cells.append((int(line_id), f"{int(year):04d}-{int(month):02d}", amount.strip()))
        except ValueError:
            continue
    return cells


@login_required
@require_POST
def effect_grid_save(request: HttpRequest, pk: int) -> HttpResponse:
    """Save the monthly grid of one series in one request (empty cells remove values)."""
    measure = _visible(request, pk)
    series = request.POST.get("series", "")
    cells = _posted_cells(request, measure)
    try:
        if series == Series.PLAN and frozen_version(measure) is not None:
            current = {
                (value.line_id, f"{value.month:%Y-%m}"): value.amount
                for value in measure.effect_values.filter(series=Series.PLAN)
            }
            changed = []
            for line_id, month, amount in cells:
                before = current.get((line_id, month))
                after = None if amount == "" else services.effects.parse_amount(amount)
                if before != after:
                    changed.append(
                        {"line": line_id, "month": month, "amount": None if after is None else str(after)}
                    )
            if not changed:
                messages.warning(request, "Nothing changed in the plan.")
                return _back(measure, series)
            services.rebaseline_request_submit(
                measure=measure, by=request.user, reason=request.POST.get("reason", ""), values=changed
            )
            messages.success(request, f"Re-baseline of {len(changed)} plan value(s) sent to the controller.")
        else:
            count = services.effect_values_save(measure=measure, by=request.user, series=series, cells=cells)
            messages.success(request, f"Saved {count} {Series(series).label.lower()} value(s).")
    except DomainError as exc:
        detail = exc.details if isinstance(exc.details, dict) else {}
        extra = " ".join(
            str(item) for items in detail.values() for item in (items if isinstance(items, list) else [items])
        )
        messages.error(request, f"{exc.message} {extra}".strip())
    return _back(measure, series if series in Series.values else None)


@login_required
def effect_import(request: HttpRequest, pk: int) -> HttpResponse:
    """CSV upload: the first post previews (row-level errors, nothing saved); "Import" saves all or nothing."""
    measure = _visible(request, pk)
    if request.method != "POST":
        return _back(measure, anchor="import")
    upload = request.FILES.get("file")
    text = request.POST.get("text", "")
    if upload is not None:
        try:
            text = upload.read().decode("utf-8-sig")
        except UnicodeDecodeError:
            messages.error(request, "The file is not UTF-8 text.")
            return _back(measure, anchor="import")
    confirm = request.POST.get("confirm") == "1"
    try:
        result = services.effect_values_import(
            measure=measure, by=request.user, text=text, dry_run=not confirm
        )
    except DomainError as exc:
        if confirm and isinstance(exc.details, dict) and "rows" in exc.details:
            result = services.effect_values_import(measure=measure, by=request.user, text=text, dry_run=True)
        else:
            messages.error(request, exc.message)
            return _back(measure, anchor="import")
    if confirm and result.saved:
        messages.success(request, f"Imported {result.saved} value(s).")
        return _back(measure)
    return render(
        request, "measures/effect_import.html", {"measure": measure, "result": result, "text": text}
    )


@login_required
@require_POST
def actuals_submit(request: HttpRequest, pk: int) -> HttpResponse:
    measure = _visible(request, pk)
    try:
        count = services.actuals_submit(measure=measure, by=request.user)
    except DomainError as exc:
        messages.error(request, exc.message)
    else:
        messages.success(request, f"{count} actual(s) submitted for validation.")
    return _back(measure, Series.ACTUAL)


@login_required
@require_POST
def rebaseline_decide(request: HttpRequest, pk: int) -> HttpResponse:
    proposal = RebaselineRequest.objects.filter(
        pk=pk, measure__in=permissions.visible_measures(request.user)
    ).first()
    if proposal is None:
        raise Http404("No such re-baseline request.")
    comment = request.POST.get("comment", "")
    try:
        if request.POST.get("decision") == "approve":
            decided = services.rebaseline_request_approve(request=proposal, by=request.user, comment=comment)
            messages.success(request, f"Re-baseline approved: plan version {decided.version.number}.")
        else:
            services.rebaseline_request_reject(request=proposal, by=request.user, comment=comment)
            messages.success(request, "Re-baseline rejected; the owner has the reason.")
    except DomainError as exc:
        messages.error(request, exc.message)
    return _back(proposal.measure, anchor="plan-versions")


@login_required
@require_POST
def closure_shortfall(request: HttpRequest, pk: int) -> HttpResponse:
    measure = _visible(request, pk)
    try:
        services.closure_shortfall_record(
            measure=measure, by=request.user, reason=request.POST.get("reason", "")
        )
    except DomainError as exc:
        messages.error(request, exc.message)
    else:
        messages.success(request, "Recorded: the measure may close below its planned run rate.")
    return _back(measure)


@login_required
def actuals_awaiting(request: HttpRequest) -> HttpResponse:
    """The controller page: submitted actuals the user may validate, oldest month first."""
    values = list(selectors.actuals_awaiting_validation(user=request.user)[:500])
    return render(request, "measures/actuals_awaiting.html", {"values": values})


@login_required
@require_POST
def actual_decide(request: HttpRequest, pk: int) -> HttpResponse:
    value = EffectValue.objects.filter(pk=pk, measure__in=permissions.visible_measures(request.user)).first()
    if value is None:
        raise Http404("No such value.")
    comment = request.POST.get("comment", "")
    try:
        if request.POST.get("decision") == "validate":
            services.actual_validate(value=value, by=request.user, comment=comment)
            messages.success(request, f"Validated {value.measure.code} {value.month:%Y-%m}.")
        else:
            services.actual_reject(value=value, by=request.user, comment=comment)
            messages.success(
                request, f"Rejected {value.measure.code} {value.month:%Y-%m}; the owner will correct it."
            )
    except DomainError as exc:
        messages.error(request, exc.message)
    if request.POST.get("next") == "measure":
        return _back(value.measure, Series.ACTUAL)
    return redirect("measures:actuals-awaiting")
