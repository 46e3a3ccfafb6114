"""Browser pages. Each view reads through selectors, writes through one service call, and turns
domain errors into messages or form errors (STYLE §2, §6)."""

from __future__ import annotations

from collections.abc import Callable

from django.contrib import messages
from django.contrib.auth import get_user_model
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_POST

from config.errors import CriteriaUnmet, DomainError
from config.pages import render_cached
from measures import forms, permissions, selectors, services, views_effects
from measures.api.views import document_response
from measures.choices import DOI_NAMES, LIGHTS, GateRequestState, Stage
from measures.filters import MeasureFilter
from measures.models import Document, Measure, Milestone
from measures.models.measure import CANCELLABLE, HOLDABLE

SORTS = {
    "code": "code",
    "title": "title",
    "stage": "stage",
    "owner": "owner__username",
    "updated": "updated_at",
}

SORT_COLUMNS = [
    ("code", "Code"),
    ("title", "Title"),
    ("stage", "Stage"),
    ("owner", "Owner"),
    ("updated", "Updated"),
]


@login_required
def scope_browser(request: HttpRequest) -> HttpResponse:
    tree = selectors.scope_tree(user=request.user)
    return render(request, "measures/scope_browser.html", {"tree": tree})


@login_required
def measure_list(request: HttpRequest) -> HttpResponse:
    if request.htmx:
        return render(request, "measures/_measure_table.html", _list_context(request))
    return render_cached(
        request, "measure-list", template="measures/measure_list.html", context=lambda: _list_context(request)
    )


def _list_context(request: HttpRequest) -> dict:
    filterset = MeasureFilter(request.GET or None, queryset=selectors.measure_list(user=request.user))
    queryset = filterset.qs if filterset.is_bound and filterset.is_valid() else filterset.queryset
    sort = request.GET.get("sort", "code")
    field = SORTS.get(sort.lstrip("-"), "code")
    queryset = queryset.order_by(f"-{field}" if sort.startswith("-") else field, "code")
    page = Paginator(queryset, 25).get_page(request.GET.get("page"))
    page.object_list = list(page.object_list)
    lights = selectors.potential_lights(page.object_list)
    for measure in page.object_list:
        measure.potential_light = lights.get(measure.pk)
    params = request.GET.copy()
    params.pop("page", None)
    unsorted = params.copy()
    unsorted.pop("sort", None)
    return {
        "filter": filterset,
        "page": page,
        "sort": sort,
        "query": params.urlencode(),
        "query_without_sort": unsorted.urlencode(),
        "sort_columns": SORT_COLUMNS,
        "scope_options": [
            (scope.pk, "\u00a0\u00a0" * scope.depth + scope.name)
            for scope in permissions.visible_scopes(request.user)
        ],
        "stages": Stage.choices,
        "selected_stages": request.GET.getlist("stage"),
        "owners": get_user_model()
        .objects.filter(owned_measures__in=permissions.visible_measures(request.user))
        .distinct()
        .order_by("first_name", "username"),
        "lights": LIGHTS,
        "can_create": permissions.visible_scopes(request.user).exists()
        and not permissions.is_leadership(request.user),
    }


def _visible(request: HttpRequest, pk: int) -> Measure:
    measure = selectors.measure_detail(user=request.user, measure_id=pk)
    if measure is None:
        raise Http404("No such measure.")
    return measure


def _stepper(measure: Measure) -> list[dict]:
    reached = measure.doi
    return [
        {
            "doi": doi,
            "name": name,
            "state": "done" if doi < reached else ("current" if doi == reached else ""),
        }
        for doi, name in enumerate(DOI_NAMES)
    ]


def _gate_context(request: HttpRequest, measure: Measure) -> dict:
    user = request.user
    pending = (
        measure.gate_requests.filter(state=GateRequestState.PENDING)
        .select_related("requested_by")
        .prefetch_related("approvals__user")
        .first()
    )
    next_doi = measure.next_doi
    can_decide = bool(pending and services.gate_request_can_decide(request=pending, measure=measure, by=user))
    refusal = ""
    if (
        pending
        and not can_decide
        and (permissions.approver_roles(user, measure) or pending.requested_by_id == user.pk)
    ):
        refusal = services.gate_request_refusal(request=pending, measure=measure, by=user)
    return {
        "measure": measure,
        "next_doi": next_doi,
        "next_name": DOI_NAMES[next_doi] if next_doi is not None and next_doi < len(DOI_NAMES) else None,
        "checklist": selectors.gate_checklist(measure=measure, to_doi=next_doi) if next_doi else [],
        "pending": pending,
        "can_request": bool(next_doi and not pending and permissions.can_request_gate(user, measure)),
        "can_decide": can_decide,
        "decide_refusal": refusal,
        "last_decided": measure.gate_requests.exclude(state=GateRequestState.PENDING)
        .prefetch_related("approvals__user")
        .first(),
    }


@login_required
def measure_detail(request: HttpRequest, pk: int) -> HttpResponse:
    return render_cached(
        request,
        "measure-detail",
        template="measures/measure_detail.html",
        context=lambda: _detail_context(request, pk),
        key=pk,
    )


def _detail_context(request: HttpRequest, pk: int) -> dict:
    measure = _visible(request, pk)
    user = request.user
    editable = permissions.can_edit_measure(user, measure) and measure.stage not in (
        Stage.CLOSED,
        Stage.CANCELLED,
    )
    dependencies, dependents = selectors.measure_links(measure=measure, user=user)
    context = {
        **_gate_context(request, measure),
        "stepper": _stepper(measure),
        "implementation_status": selectors.implementation_status(measure),
        "potential_status": selectors.potential_status(measure),
        "editable": editable,
        "can_hold": measure.stage in HOLDABLE and permissions.can_hold_measure(user, measure),
        "can_resume": measure.stage == Stage.ON_HOLD and permissions.can_hold_measure(user, measure),
        "can_cancel": measure.stage in CANCELLABLE and permissions.can_cancel_measure(user, measure),
        "can_override": permissions.can_override_status(user, measure),
        "lights": LIGHTS,
        "effect_lines": measure.effect_lines.all(),
        "milestones": measure.milestones.select_related("evidence_document"),
        "risks": measure.risks.select_related("owner"),
        "dependencies": dependencies,
        "dependents": dependents,
        "documents": measure.documents.select_related("uploaded_by"),
        "comments": measure.comments.select_related("author"),
        "history": selectors.measure_history(measure=measure)[:50],
        "forms": {
            "milestone": forms.MilestoneForm(auto_id="id_milestone_%s"),
            "complete": forms.MilestoneCompleteForm(),
            "risk": forms.RiskForm(auto_id="id_risk_%s"),
            "line": forms.EffectLineForm(auto_id="id_line_%s"),
            "dependency": forms.DependencyForm(user=user, measure=measure, auto_id="id_dependency_%s"),
            "document": forms.DocumentForm(auto_id="id_document_%s"),
            "comment": forms.CommentForm(),
            "reason": forms.ReasonForm(initial={"version": measure.version}),
        },
    }
    context.update(views_effects.financial_context(request, measure))
    return context


@login_required
def gate_panel(request: HttpRequest, pk: int) -> HttpResponse:
    measure = _visible(request, pk)
    return render(request, "measures/_gate_panel.html", _gate_context(request, measure))


def _form_errors(form, exc: DomainError) -> None:
    details = exc.details if isinstance(exc.details, dict) else {}
    placed = False
    for field, errors in details.items():
        if field in form.fields:
            for error in errors if isinstance(errors, list) else [errors]:
                form.add_error(field, str(error))
            placed = True
    if not placed:
        form.add_error(None, exc.message)


@login_required
def measure_new(request: HttpRequest) -> HttpResponse:
    form = forms.MeasureForm(request.POST or None, user=request.user)
    if request.method == "POST" and form.is_valid():
        values = {k: v for k, v in form.cleaned_data.items() if k != "version"}
        try:
            measure = services.measure_create(by=request.user, **values)
        except DomainError as exc:
            _form_errors(form, exc)
        else:
            messages.success(request, f"{measure.code} created at DoI 0.")
            return redirect("measures:detail", pk=measure.pk)
    return render(request, "measures/measure_form.html", {"form": form, "measure": None})


@login_required
def measure_edit(request: HttpRequest, pk: int) -> HttpResponse:
    measure = _visible(request, pk)
    if not permissions.can_edit_measure(request.user, measure):
        raise PermissionDenied(permissions.EDIT_REFUSAL)
    if request.method == "POST":
        form = forms.MeasureForm(request.POST, user=request.user, measure=measure)
        if form.is_valid():
            values = dict(form.cleaned_data)
            version = values.pop("version")
            try:
                services.measure_update(measure=measure, by=request.user, version=version, **values)
            except DomainError as exc:
                _form_errors(form, exc)
            else:
                messages.success(request, "Saved.")
                return redirect("measures:detail", pk=measure.pk)
    else:
        form = forms.MeasureForm(user=request.user, measure=measure)
    return render(request, "measures/measure_form.html", {"form": form, "measure": measure})


def _act(request: HttpRequest, measure: Measure, run: Callable[[], object], success: str) -> HttpResponse:
    """Run one service call; show its refusal (with unmet criteria) as a message; back to the page."""
    try:
        run()
    except CriteriaUnmet as exc:
        messages.error(request, exc.message + " " + " ".join(item["message"] for item in exc.unmet))
    except DomainError as exc:
        messages.error(request, exc.message)
    else:
        messages.success(request, success)
    response = redirect("measures:detail", pk=measure.pk)
    if request.htmx:
        response = HttpResponse(status=204)
        response["HX-Redirect"] = response_url(measure)
    return response


def response_url(measure: Measure) -> str:
    from django.urls import reverse

    return reverse("measures:detail", args=[measure.pk])


@login_required
@require_POST
def gate_request(request: HttpRequest, pk: int) -> HttpResponse:
    measure = _visible(request, pk)
    comment = request.POST.get("comment", "")
    return _act(
        request,
        measure,
        lambda: services.gate_request_submit(measure=measure, by=request.user, comment=comment),
        "Gate requested; the approvers have been notified.",
    )


@login_required
@require_POST
def gate_decide(request: HttpRequest, pk: int) -> HttpResponse:
    gate = get_object_or_404(selectors.gate_request_list(user=request.user), pk=pk)
    form = forms.DecisionForm(request.POST)
    if not form.is_valid():
        messages.error(request, "Choose approve or reject.")
        return redirect("measures:detail", pk=gate.measure_id)
    comment = form.cleaned_data["comment"]
    if form.cleaned_data["decision"] == "approve":
        run, done = (
            lambda: services.gate_request_approve(request=gate, by=request.user, comment=comment),
            "Approved.",
        )
    else:
        run, done = (
            lambda: services.gate_request_reject(request=gate, by=request.user, comment=comment),
            "Rejected; the owner has been asked to revise.",
        )
    response = _act(request, gate.measure, run, done)
    if request.POST.get("next") == "inbox" and not request.htmx:
        return redirect("measures:inbox")
    return response


@login_required
@require_POST
def side_state(request: HttpRequest, pk: int, action: str) -> HttpResponse:
    measure = _visible(request, pk)
    form = forms.ReasonForm(request.POST)
    form.is_valid()
    reason, version = form.cleaned_data.get("reason", ""), form.cleaned_data.get("version")
    calls = {
        "hold": (
            lambda: services.measure_hold(measure=measure, by=request.user, reason=reason, version=version),
            "Put on hold.",
        ),
        "resume": (
            lambda: services.measure_resume(measure=measure, by=request.user, version=version),
            "Resumed.",
        ),
        "cancel": (
            lambda: services.measure_cancel(measure=measure, by=request.user, reason=reason, version=version),
            "Cancelled.",
        ),
    }
    if action not in calls:
        raise Http404("No such action.")
    run, done = calls[action]
    return _act(request, measure, run, done)


@login_required
@require_POST
def status_override(request: HttpRequest, pk: int) -> HttpResponse:
    measure = _visible(request, pk)
    post = request.POST
    version = int(post["version"]) if post.get("version", "").isdigit() else None
    return _act(
        request,
        measure,
        lambda: services.measure_status_override(
            measure=measure,
            by=request.user,
            light=post.get("light", ""),
            status=post.get("status", ""),
            comment=post.get("comment", ""),
            version=version,
        ),
        "Status override saved.",
    )


def _part(request: HttpRequest, pk: int, form_class, call, done: str, **form_kwargs) -> HttpResponse:
    measure = _visible(request, pk)
    form = (
        form_class(request.POST, request.FILES, **form_kwargs)
        if form_kwargs.pop("files", False)
        else form_class(request.POST, **form_kwargs)
    )
    if not form.is_valid():
        errors = "; ".join(
            f"{form.fields[f].label or f}: {' '.join(e)}" if f in form.fields else " ".join(e)
            for f, e in form.errors.items()
        )
        messages.error(request, f"Please correct: {errors}")
        return redirect("measures:detail", pk=measure.pk)
    return _act(request, measure, lambda: call(measure, form.cleaned_data), done)


@login_required
@require_POST
def milestone_add(request: HttpRequest, pk: int) -> HttpResponse:
    return _part(
        request,
        pk,
        forms.MilestoneForm,
        lambda m, data: services.milestone_create(measure=m, by=request.user, **data),
        "Milestone added.",
    )


@login_required
@require_POST
def milestone_done(request: HttpRequest, pk: int) -> HttpResponse:
    milestone = get_object_or_404(
        Milestone.objects.filter(measure__in=permissions.visible_measures(request.user)), pk=pk
    )
    return _part(
        request,
        milestone.measure_id,
        forms.MilestoneCompleteForm,
        lambda m, data: services.milestone_complete(milestone=milestone, by=request.user, **data),
        "Milestone completed.",
    )


@login_required
@require_POST
def risk_add(request: HttpRequest, pk: int) -> HttpResponse:
    return _part(
        request,
        pk,
        forms.RiskForm,
        lambda m, data: services.risk_create(measure=m, by=request.user, **data),
        "Risk added.",
    )


@login_required
@require_POST
def effect_line_add(request: HttpRequest, pk: int) -> HttpResponse:
    return _part(
        request,
        pk,
        forms.EffectLineForm,
        lambda m, data: services.effect_line_create(measure=m, by=request.user, **data),
        "Effect line added.",
    )


@login_required
@require_POST
def dependency_add(request: HttpRequest, pk: int) -> HttpResponse:
    measure = _visible(request, pk)
    return _part(
        request,
        pk,
        forms.DependencyForm,
        lambda m, data: services.dependency_create(source=m, by=request.user, **data),
        "Link added.",
        user=request.user,
        measure=measure,
    )


@login_required
@require_POST
def document_add(request: HttpRequest, pk: int) -> HttpResponse:
    return _part(
        request,
        pk,
        forms.DocumentForm,
        lambda m, data: services.document_upload(
            measure=m, by=request.user, uploaded_file=data["file"], kind=data["kind"]
        ),
        "Document uploaded.",
        files=True,
    )


@login_required
def document_download(request: HttpRequest, pk: int) -> HttpResponse:
    document = get_object_or_404(
        Document.objects.filter(measure__in=permissions.visible_measures(request.user)), pk=pk
    )
    return document_response(document)


@login_required
@require_POST
def comment_add(request: HttpRequest, pk: int) -> HttpResponse:
    return _part(
        request,
        pk,
        forms.CommentForm,
        lambda m, data: services.comment_create(measure=m, by=request.user, **data),
        "Comment added.",
    )


@login_required
def approvals_inbox(request: HttpRequest) -> HttpResponse:
    return render(request, "measures/inbox.html", {"inbox": selectors.inbox(user=request.user)})
