"""Browser pages of post-incident reviews. Each view reads through selectors or makes one service
call; domain errors become messages on the page they came from."""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import get_object_or_404, render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_POST

from config.errors import DomainError, InvalidInput
from incidents.views import format_minutes
from measures import permissions as measure_permissions
from reviews import permissions, selectors, services
from reviews.choices import ActionState, ReviewState
from reviews.filters import SHOW, ActionFilter, ReviewFilter
from reviews.forms import (
    ActionForm,
    FactorForm,
    LinkForm,
    PromoteForm,
    RationaleForm,
    ReasonForm,
    SectionsForm,
)
from reviews.models import SECTIONS, Action, ContributingFactor, Review

TIMING = [
    ("time_to_detect", "Time to detect"),
    ("time_to_acknowledge", "Time to acknowledge"),
    ("time_to_declare", "Time to declare"),
    ("time_to_assemble", "Time to assemble"),
    ("time_to_restore", "Time to restore"),
]


def _review(request: HttpRequest, pk: int) -> Review:
    review = selectors.review_detail(user=request.user, review_id=pk)
    if review is None:
        raise Http404("No such PIR.")
    return review


def _page(review: Review, anchor: str = "") -> HttpResponseRedirect:
    url = reverse("reviews:detail", args=[review.pk])
    return HttpResponseRedirect(f"{url}#{anchor}" if anchor else url)


def _report(request: HttpRequest, error: DomainError) -> None:
    text = error.message
    unmet = getattr(error, "unmet", None)
    if unmet:
        text += " " + " ".join(item["message"] for item in unmet)
    elif isinstance(error.details, dict):
        text += " " + "; ".join(
            f"{k}: {' '.join(map(str, v))}" for k, v in error.details.items() if isinstance(v, list)
        )
    messages.error(request, text)


def _invalid(form) -> InvalidInput:
    return InvalidInput("Check the form.", details={k: list(v) for k, v in form.errors.items()})


def review_action(view: Callable) -> Callable:
    """POST-only, signed-in; a DomainError goes back to the PIR page as a message."""

    @wraps(view)
    @login_required
    @require_POST
    def wrapper(request: HttpRequest, pk: int, *args, **kwargs) -> HttpResponse:
        review = _review(request, pk)
        try:
            return view(request, review, *args, **kwargs)
        except DomainError as error:
            _report(request, error)
            return _page(review)

    return wrapper


# --- Lists -----------------------------------------------------------------------------------------


@login_required
def review_list(request: HttpRequest) -> HttpResponse:
    filterset = ReviewFilter(request.GET, queryset=selectors.review_list(user=request.user))
    page = Paginator(filterset.qs, 25).get_page(request.GET.get("page"))
    query = request.GET.copy()
    query.pop("page", None)
    context = {
        "filterset": filterset, "page": page, "query": query.urlencode(), "tabs": SHOW,
        "show": request.GET.get("show", ""), "completion": selectors.pir_completion(user=request.user),
        "now": timezone.now(),
    }  # fmt: skip
    return render(request, "reviews/list.html", context)


@login_required
def action_board(request: HttpRequest) -> HttpResponse:
    """Actions by state (the board), with overdue actions per owner."""
    filterset = ActionFilter(request.GET, queryset=selectors.action_list(user=request.user))
    rows = list(filterset.qs[:500])
    columns = [(state, [a for a in rows if a.effective_state == state.value]) for state in ActionState]
    context = {
        "filterset": filterset, "columns": columns, "today": timezone.localdate(),
        "by_owner": selectors.overdue_actions_by_owner(user=request.user), "truncated": len(rows) == 500,
        "action_states": ActionState.choices,
    }  # fmt: skip
    return render(request, "reviews/actions.html", context)


# --- The PIR page ----------------------------------------------------------------------------------


def _timing(figures: dict) -> list[tuple[str, str]]:
    durations = figures.get("durations_minutes", {})
    return [
        (label, format_minutes(durations[key])) for key, label in TIMING if durations.get(key) is not None
    ]


@login_required
def review_detail(request: HttpRequest, pk: int) -> HttpResponse:
    review = _review(request, pk)
    user = request.user
    incident = review.incident
    can_edit = permissions.can_edit_review(user, incident) and review.state != ReviewState.WAIVED
    figures = selectors.review_figures(review)
    actions = list(selectors.action_list(user=user).filter(review=review))
    today = timezone.localdate()
    context = {
        "review": review,
        "incident": incident,
        "sections": [(SECTIONS[name], getattr(review, name)) for name in SECTIONS],
        "timeline": selectors.pinned_timeline(review),
        "figures": figures,
        "timing": _timing(figures),
        "actions": actions,
        "overdue_count": sum(1 for a in actions if a.effective_state in _OPEN and a.due_date < today),
        "ineffective": [a for a in actions if a.ineffective_incident_id],
        "approval": selectors.approval_status(review),
        "revisions": list(review.revisions.all()),
        "can_edit": can_edit,
        "editable_now": can_edit and review.state != ReviewState.IN_REVIEW,
        "can_approve": review.state == ReviewState.IN_REVIEW
        and bool(permissions.approval_roles(user, incident)),
        "can_waive": permissions.can_waive_review(user)
        and review.state in (ReviewState.DRAFT, ReviewState.IN_REVIEW),
        "today": today,
        "action_states": ActionState.choices,
        "currency": settings.VALUEGATE_CURRENCY,
        "can_promote": measure_permissions.is_admin(user)
        or bool(PromoteForm(user=user).fields["package"].queryset.exists()),
    }
    if can_edit:
        initial = {name: getattr(review, name) for name in SECTIONS} | {"version": review.version}
        context.update(
            sections_form=SectionsForm(initial=initial), factor_form=FactorForm(), action_form=ActionForm(auto_id="id_action_%s"),
            promote_form=PromoteForm(user=user), link_form=LinkForm(), reason_form=ReasonForm(),
        )  # fmt: skip
    return render(request, "reviews/detail.html", context)


_OPEN = ("proposed", "accepted", "in_progress")


@login_required
def review_diff(request: HttpRequest, pk: int) -> HttpResponse:
    review = _review(request, pk)
    old, new = request.GET.get("from"), request.GET.get("to")
    before, after = selectors.revision_pair(review, old, new)
    context = {
        "review": review, "changes": selectors.review_diff(before, after),
        "from_label": f"revision {old}" if old else "the last approved revision",
        "to_label": f"revision {new}" if new else "the current text",
    }  # fmt: skip
    return render(request, "reviews/diff.html", context)


# --- Writing ---------------------------------------------------------------------------------------


@review_action
def review_save(request: HttpRequest, review: Review) -> HttpResponse:
    """Save the sections; with htmx (autosave of drafts) answer with the small "saved" note."""
    form = SectionsForm(request.POST)
    if not form.is_valid():
        raise _invalid(form)
    data = {name: form.cleaned_data[name] for name in SECTIONS if name in request.POST}
    try:
        review = services.review_update(
            review=review, by=request.user, version=form.cleaned_data.get("version"), **data
        )
    except DomainError as error:
        if request.htmx:
            return render(request, "reviews/_saved.html", {"error": error.message})
        raise
    if request.htmx:
        return render(request, "reviews/_saved.html", {"review": review, "saved_at": timezone.now()})
    messages.success(request, f"Saved (revision {review.revision}).")
    return _page(review, "sections")


@review_action
def factor_add(request: HttpRequest, review: Review) -> HttpResponse:
    form = FactorForm(request.POST)
    if not form.is_valid():
        raise _invalid(form)
    services.factor_add(review=review, by=request.user, **form.cleaned_data)
    return _page(review, "factors")


@review_action
def factor_remove(request: HttpRequest, review: Review, factor_pk: int) -> HttpResponse:
    factor = get_object_or_404(ContributingFactor, pk=factor_pk, review=review)
    services.factor_remove(factor=factor, by=request.user)
    return _page(review, "factors")


TRANSITIONS = {
    "submit": lambda r, by, data: services.review_submit(review=r, by=by),
    "approve": lambda r, by, data: services.review_approve(review=r, by=by, comment=data.get("comment", "")),
    "return": lambda r, by, data: services.review_return(review=r, by=by, comment=data.get("comment", "")),
    "publish": lambda r, by, data: services.review_publish(review=r, by=by),
    "waive": lambda r, by, data: services.review_waive(review=r, by=by, reason=data.get("reason", "")),
}


@review_action
def review_transition(request: HttpRequest, review: Review, name: str) -> HttpResponse:
    if name not in TRANSITIONS:
        raise Http404("No such step.")
    review = TRANSITIONS[name](review, request.user, request.POST)
    messages.success(request, f"The PIR is {review.get_state_display().lower()}.")
    return _page(review, "approval")


# --- Actions ---------------------------------------------------------------------------------------


@review_action
def action_add(request: HttpRequest, review: Review) -> HttpResponse:
    form = ActionForm(request.POST)
    if not form.is_valid():
        raise _invalid(form)
    services.action_create(review=review, by=request.user, **form.cleaned_data)
    return _page(review, "actions")


ACTION_STEPS = {
    "accept": services.action_accept,
    "start": services.action_start,
    "complete": services.action_complete,
    "verify": services.action_verify,
}


@review_action
def action_step(request: HttpRequest, review: Review, action_pk: int, name: str) -> HttpResponse:
    action = get_object_or_404(Action, pk=action_pk, review=review)
    if name == "reject":
        form = RationaleForm(request.POST)
        if not form.is_valid():
            raise _invalid(form)
        services.action_reject(action=action, by=request.user, rationale=form.cleaned_data["rationale"])
    elif name in ACTION_STEPS:
        ACTION_STEPS[name](action=action, by=request.user)
    else:
        raise Http404("No such step.")
    return _page(review, f"action-{action.pk}")


@review_action
def action_promote(request: HttpRequest, review: Review, action_pk: int) -> HttpResponse:
    action = get_object_or_404(Action, pk=action_pk, review=review)
    form = PromoteForm(request.POST, user=request.user)
    if not form.is_valid():
        raise _invalid(form)
    action = services.action_promote(
        action=action,
        by=request.user,
        package=form.cleaned_data["package"],
        title=form.cleaned_data["title"] or None,
    )
    messages.success(
        request,
        f"Promoted to measure {action.measure.code} at DoI 0. Suggested baseline: yearly cost of the addressed "
        f"incidents {action.baseline_suggestion:,.2f} {settings.VALUEGATE_CURRENCY}.",
    )
    return _page(review, f"action-{action.pk}")


@review_action
def action_link(request: HttpRequest, review: Review, action_pk: int) -> HttpResponse:
    action = get_object_or_404(Action, pk=action_pk, review=review)
    form = LinkForm(request.POST)
    if not form.is_valid():
        raise _invalid(form)
    measure = (
        measure_permissions.visible_measures(request.user)
        .filter(code__iexact=form.cleaned_data["code"].strip())
        .first()
    )
    if measure is None:
        raise InvalidInput(f"No measure {form.cleaned_data['code']} that you may see.")
    services.action_link_measure(action=action, by=request.user, measure=measure)
    messages.success(request, f"Linked to measure {measure.code}.")
    return _page(review, f"action-{action.pk}")
