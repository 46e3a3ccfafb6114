"""Browser pages for major incidents. Each view reads through selectors or makes one service
call; domain errors become messages on the page they came from."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from functools import wraps

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.views.decorators.http import require_POST

from config import charts
from config.errors import DomainError
from config.pages import render_cached
from incidents import permissions, selectors, services
from incidents.choices import EntryKind, IncidentState, RoleKind, UpdateKind
from incidents.filters import IncidentFilter
from incidents.forms import (
    LogIncidentForm,
    MetricsFilterForm,
    ReasonForm,
    RoleForm,
    SeverityForm,
    StatusUpdateForm,
    TimelineEntryForm,
    TimesForm,
    ValidationForm,
    VendorEscalationForm,
)
from incidents.models import (
    TIME_FIELDS,
    Incident,
    RecoveryValidation,
    StatusUpdate,
    TimelineEntry,
    VendorEscalation,
)
from incidents.policy import policies


def _incident(request: HttpRequest, pk: int) -> Incident:
    return get_object_or_404(selectors.incident_list(user=request.user), pk=pk)


def _detail(incident: Incident, anchor: str = "") -> HttpResponseRedirect:
    url = redirect("incidents:detail", pk=incident.pk).url
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


def incident_action(view: Callable) -> Callable:
    """POST-only, signed-in; a DomainError goes back to the incident page as a message."""

    @wraps(view)
    @login_required
    @require_POST
    def wrapper(request: HttpRequest, pk: int, *args, **kwargs) -> HttpResponse:
        incident = _incident(request, pk)
        try:
            return view(request, incident, *args, **kwargs)
        except DomainError as error:
            _report(request, error)
            return _detail(incident)

    return wrapper


# --- List and logging ------------------------------------------------------------------------------


@login_required
def incident_list(request: HttpRequest) -> HttpResponse:
    open_majors = selectors.open_major_incidents(user=request.user)
    if request.GET.get("partial") == "pinned":
        return render(request, "incidents/_pinned.html", {"open_majors": open_majors, "now": timezone.now()})
    filterset = IncidentFilter(request.GET, queryset=selectors.incident_list(user=request.user))
    page = Paginator(filterset.qs, 25).get_page(request.GET.get("page"))
    query = request.GET.copy()
    query.pop("page", None)
    return render(
        request,
        "incidents/list.html",
        {
            "filterset": filterset, "page": page, "open_majors": open_majors, "query": query.urlencode(),
            "can_change": permissions.can_change_incidents(request.user), "now": timezone.now(),
        },
    )  # fmt: skip


@login_required
def incident_new(request: HttpRequest) -> HttpResponse:
    if not permissions.can_change_incidents(request.user):
        messages.error(request, "Only incident managers and admins log major incidents.")
        return redirect("incidents:list")
    form = LogIncidentForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            incident = services.incident_log(
                by=request.user, title=data["title"], severity=data["severity"], description=data["description"],
                impact_started_at=data["impact_started_at"], detected_at=data["detected_at"], **form.criteria_input(),
            )  # fmt: skip
        except DomainError as error:
            _report(request, error)
            _field_errors(form, error)
        else:
            messages.success(request, f"{incident.reference} logged.")
            return redirect("incidents:detail", pk=incident.pk)
    results = _criteria(form)
    return render(
        request,
        "incidents/new.html",
        {"form": form, "results": results, "any_met": any(r.met for r in results)},
        status=_form_status(form),
    )


def _field_errors(form, error: DomainError) -> None:
    """Show a service's refusal next to the fields it names (the rest above the form)."""
    details = error.details if isinstance(error.details, dict) else {}
    for field, errors in details.items():
        form.add_error(field if field in form.fields else None, errors)


def _form_status(form) -> int:
    """A refused submission answers 400, as the API does; the page shows why."""
    return 400 if form.is_bound and form.errors else 200


def _criteria(form: LogIncidentForm) -> list[selectors.CriterionResult]:
    """Evaluate whatever is valid so far: a half-filled form still shows what it meets."""
    if form.is_bound:
        form.is_valid()
        return selectors.criteria_evaluation(**form.criteria_input())
    return selectors.criteria_evaluation(services=[])


@login_required
@require_POST
def criteria_check(request: HttpRequest) -> HttpResponse:
    """htmx: the criteria panel re-evaluated as the log form is typed into."""
    form = LogIncidentForm(request.POST)
    form.is_valid()
    results = _criteria(form)
    return render(
        request, "incidents/_criteria.html", {"results": results, "any_met": any(r.met for r in results)}
    )


# --- The incident page ----------------------------------------------------------------------------


def _durations(incident: Incident, now: datetime) -> list[tuple[str, str]]:
    end = incident.restored_at or now
    rows = [
        (
            "Impact so far" if not incident.restored_at else "Downtime",
            (end - incident.impact_started_at).total_seconds() / 60,
        ),
        ("Time to detect", _minutes(incident.impact_started_at, incident.detected_at)),
        ("Time to declare", _minutes(incident.detected_at, incident.declared_at)),
        ("Time to assemble", _minutes(incident.declared_at, incident.team_assembled_at)),
        (
            "Since declaration",
            _minutes(incident.declared_at, now) if incident.state == IncidentState.DECLARED else None,
        ),
    ]
    return [(label, format_minutes(minutes)) for label, minutes in rows if minutes is not None]


def format_minutes(minutes: float) -> str:
    """ "45 min", "2 h 05 min", "3 d 4 h": readable under pressure."""
    minutes = int(round(minutes))
    if minutes < 60:
        return f"{minutes} min"
    hours, rest = divmod(minutes, 60)
    if hours < 48:
        return f"{hours} h {rest:02d} min"
    days, hours = divmod(hours, 24)
    return f"{days} d {hours} h"


def _minutes(a: datetime | None, b: datetime | None) -> float | None:
    return (b - a).total_seconds() / 60 if a and b else None


def _timeline(request: HttpRequest, incident: Incident):
    kinds = [k for k in request.GET.getlist("kind") if k in EntryKind.values]
    entries = (
        incident.timeline.select_related("author", "decided_by", "corrects")
        .prefetch_related("corrections")
        .order_by("occurred_at", "id")
    )
    return (entries.filter(kind__in=kinds) if kinds else entries), kinds


@login_required
def incident_detail(request: HttpRequest, pk: int) -> HttpResponse:
    partial = request.GET.get("partial")
    if request.htmx and partial == "timeline":
        incident = _incident(request, pk)
        entries, kinds = _timeline(request, incident)
        return render(request, "incidents/_timeline.html", {"incident": incident, "entries": entries, "kinds": kinds,
                                                              "kind_choices": EntryKind.choices, "can_change": permissions.can_change_incidents(request.user)})  # fmt: skip
    if partial == "next-update":
        incident, now = _incident(request, pk), timezone.now()
        due = selectors.incident_due(incident, policies())
        context = {"incident": incident, "next_update_due_at": due, "overdue": bool(due and due < now)}
        return render(request, "incidents/_next_update.html", context)
    return render_cached(
        request,
        "incident-detail",
        template="incidents/detail.html",
        context=lambda: _detail_context(request, pk),
        key=pk,
    )


def _detail_context(request: HttpRequest, pk: int) -> dict:
    incident = _incident(request, pk)
    entries, kinds = _timeline(request, incident)
    now = timezone.now()
    due = selectors.incident_due(incident, policies())
    validation = RecoveryValidation.objects.filter(incident=incident).first()
    can_change = permissions.can_change_incidents(request.user)
    context = {
        "incident": incident,
        "now": now,
        "can_change": can_change,
        "durations": _durations(incident, now),
        "times": [
            (name.removesuffix("_at").replace("_", " ").capitalize(), getattr(incident, name))
            for name in TIME_FIELDS
        ],
        "roles": incident.roles.select_related("user").order_by("role", "-assigned_at"),
        "current_roles": {r.role: r for r in incident.current_roles},
        "role_choices": RoleKind.choices,
        "entries": entries,
        "kinds": kinds,
        "kind_choices": EntryKind.choices,
        "updates": incident.status_updates.select_related("created_by", "approved_by").order_by(
            "-created_at"
        ),
        "escalations": incident.vendor_escalations.order_by("contacted_at"),
        "validation": validation,
        "unmet": (validation or RecoveryValidation(incident=incident)).unmet(),
        "next_update_due_at": due,
        "overdue": bool(due and due < now),
        "figures": selectors.incident_figures(incident, as_of=now),
        "actions": _allowed_actions(incident) if can_change else [],
        "update_kinds": UpdateKind.choices,
        "currency": settings.VALUEGATE_CURRENCY,
    }
    if can_change:
        context.update(
            role_form=RoleForm(), entry_form=_entry_form(request, incident), vendor_form=VendorEscalationForm(),
            correcting=_correcting(request, incident),
            severity_form=SeverityForm(initial={"severity": incident.severity}),
            validation_form=ValidationForm(initial=_validation_initial(validation)),
        )  # fmt: skip
    return context


def _correcting(request: HttpRequest, incident: Incident) -> TimelineEntry | None:
    pk = request.GET.get("correct", "")
    return incident.timeline.filter(pk=pk).first() if pk.isdigit() else None


def _entry_form(request: HttpRequest, incident: Incident) -> TimelineEntryForm:
    """Decisions default to the person recording them; "Correct" opens a correction of one entry."""
    initial = {"decided_by": request.user.pk}
    corrected = _correcting(request, incident)
    if corrected is not None:
        initial.update(kind=EntryKind.CORRECTION, corrects=corrected.pk)
    return TimelineEntryForm(initial=initial)


def _validation_initial(validation: RecoveryValidation | None) -> dict:
    if validation is None:
        return {}
    initial = {
        name: {True: "true", False: "false"}.get(getattr(validation, name), "")
        for name in RecoveryValidation.QUESTIONS
    }
    return {
        **initial,
        "residual_risks": validation.residual_risks,
        "business_confirmed_by": validation.business_confirmed_by,
    }


# (name, label, needs a reason, primary)
ACTIONS = {
    IncidentState.REPORTED: [("acknowledge", "Acknowledge", False), ("declare", "Declare major incident", False),
                             ("not-major", "Not major", True), ("cancel", "Cancel", True)],
    IncidentState.DECLARED: [("team-assembled", "Team assembled", False), ("restore", "Service restored", False),
                             ("cancel", "Cancel", True)],
    IncidentState.RESTORED: [("validate", "Recovery validated", False), ("reopen", "Reopen", True)],
    IncidentState.VALIDATED: [("close", "Close", False), ("reopen", "Reopen", True)],
}  # fmt: skip


def _allowed_actions(incident: Incident) -> list[dict]:
    result = []
    for name, label, needs_reason in ACTIONS.get(incident.state, []):
        if name == "acknowledge" and incident.acknowledged_at:
            continue
        if name == "team-assembled" and incident.team_assembled_at:
            continue
        primary = name in ("restore", "validate", "close") or (
            name == "declare" and incident.declaration_suggested
        )
        result.append({"name": name, "label": label, "reason": needs_reason, "primary": primary})
    return result


TRANSITIONS = {
    "acknowledge": services.incident_acknowledge,
    "team-assembled": services.incident_team_assembled,
    "declare": services.incident_declare,
    "restore": services.incident_restore,
    "validate": services.incident_validate,
    "close": services.incident_close,
    "reopen": services.incident_reopen,
    "not-major": services.incident_mark_not_major,
    "cancel": services.incident_cancel,
}
_WITH_REASON = {"reopen", "not-major", "cancel"}


@incident_action
def incident_transition(request: HttpRequest, incident: Incident, name: str) -> HttpResponse:
    if name not in TRANSITIONS:
        messages.error(request, "Unknown action.")
        return _detail(incident)
    form = ReasonForm(request.POST)
    form.is_valid()
    data = form.cleaned_data
    kwargs = {"reason": data.get("reason") or ""} if name in _WITH_REASON else {}
    if name not in _WITH_REASON and data.get("at"):
        kwargs["at"] = data["at"]
    incident = TRANSITIONS[name](incident=incident, by=request.user, **kwargs)
    messages.success(request, f"{incident.reference} is {incident.get_state_display().lower()}.")
    return _detail(incident)


@incident_action
def incident_severity(request: HttpRequest, incident: Incident) -> HttpResponse:
    form = SeverityForm(request.POST)
    if form.is_valid():
        services.incident_severity_change(incident=incident, by=request.user, **form.cleaned_data)
    return _detail(incident)


@incident_action
def role_assign(request: HttpRequest, incident: Incident) -> HttpResponse:
    form = RoleForm(request.POST)
    if form.is_valid():
        services.role_assign(incident=incident, by=request.user, **form.cleaned_data)
        messages.success(request, f"{RoleKind(form.cleaned_data['role']).label} assigned.")
    else:
        messages.error(request, "Choose a role and a person.")
    return _detail(incident, "roles")


@incident_action
def entry_add(request: HttpRequest, incident: Incident) -> HttpResponse:
    form = TimelineEntryForm(request.POST)
    if not form.is_valid():
        messages.error(request, "The entry needs a kind and a text.")
        return _detail(incident, "timeline")
    data = dict(form.cleaned_data)
    corrects_id = data.pop("corrects")
    data["corrects"] = TimelineEntry.objects.filter(pk=corrects_id).first() if corrects_id else None
    services.timeline_entry_add(incident=incident, by=request.user, **data)
    return _detail(incident, "timeline")


@incident_action
def entry_pin(request: HttpRequest, incident: Incident, entry_pk: int) -> HttpResponse:
    entry = get_object_or_404(TimelineEntry, pk=entry_pk, incident=incident)
    services.timeline_entry_pin(entry=entry, by=request.user, pinned=not entry.pinned)
    return _detail(incident, f"entry-{entry.pk}")


@incident_action
def vendor_add(request: HttpRequest, incident: Incident) -> HttpResponse:
    form = VendorEscalationForm(request.POST)
    if form.is_valid():
        data = {k: v for k, v in form.cleaned_data.items() if v not in (None, "")}
        services.vendor_escalation_add(incident=incident, by=request.user, **data)
    else:
        messages.error(request, "Name the vendor.")
    return _detail(incident, "vendors")


@incident_action
def vendor_responded(request: HttpRequest, incident: Incident, escalation_pk: int) -> HttpResponse:
    escalation = get_object_or_404(VendorEscalation, pk=escalation_pk, incident=incident)
    services.vendor_escalation_responded(escalation=escalation, by=request.user)
    return _detail(incident, "vendors")


@incident_action
def validation_save(request: HttpRequest, incident: Incident) -> HttpResponse:
    form = ValidationForm(request.POST)
    form.is_valid()
    services.recovery_validation_save(incident=incident, by=request.user, **form.cleaned_data)
    messages.success(request, "Recovery checklist saved.")
    return _detail(incident, "validation")


@incident_action
def update_approve(request: HttpRequest, incident: Incident, update_pk: int) -> HttpResponse:
    update = get_object_or_404(StatusUpdate, pk=update_pk, incident=incident)
    services.status_update_approve(update=update, by=request.user)
    messages.success(request, "Update approved and sent.")
    return _detail(incident, "updates")


@login_required
def update_new(request: HttpRequest, pk: int) -> HttpResponse:
    """The status update form, prefilled from the chosen template with the incident's fields."""
    incident = _incident(request, pk)
    if not permissions.can_change_incidents(request.user):
        messages.error(request, "Only incident managers and admins send status updates.")
        return _detail(incident)
    kind = request.GET.get("kind") if request.GET.get("kind") in UpdateKind.values else UpdateKind.PROGRESS
    if request.method == "POST":
        form = StatusUpdateForm(request.POST)
        if form.is_valid():
            try:
                services.status_update_create(incident=incident, by=request.user, **form.cleaned_data)
            except DomainError as error:
                _report(request, error)
                _field_errors(form, error)
            else:
                messages.success(request, "Status update recorded.")
                return _detail(incident, "updates")
    else:
        prefill = selectors.status_update_prefill(incident=incident, kind=kind)
        audience = "executives" if kind == UpdateKind.EXECUTIVE else "business"
        form = StatusUpdateForm(initial={**prefill, "audience": audience, "channel": "email"})
    return render(
        request,
        "incidents/update_form.html",
        {"incident": incident, "form": form, "kind": kind, "update_kinds": UpdateKind.choices},
        status=_form_status(form),
    )


@login_required
def times_edit(request: HttpRequest, pk: int) -> HttpResponse:
    """Correct the times afterwards; the order rule applies and the change is timelined."""
    incident = _incident(request, pk)
    if not permissions.can_change_incidents(request.user):
        messages.error(request, "Only incident managers and admins correct times.")
        return _detail(incident)
    form = TimesForm(
        request.POST or None, initial={name: _local(getattr(incident, name)) for name in TIME_FIELDS}
    )
    if request.method == "POST" and form.is_valid():
        data = dict(form.cleaned_data)
        reason = data.pop("reason")
        changed = {k: v for k, v in data.items() if v != getattr(incident, k)}
        try:
            services.incident_update(incident=incident, by=request.user, reason=reason, **changed)
        except DomainError as error:
            _field_errors(form, error)
        else:
            messages.success(request, "Times saved." if changed else "Nothing changed.")
            return _detail(incident, "times")
    return render(
        request, "incidents/times_form.html", {"incident": incident, "form": form}, status=_form_status(form)
    )


def _local(value: datetime | None):
    return timezone.localtime(value).replace(second=0, microsecond=0) if value else None


# --- Metrics ------------------------------------------------------------------------------------------


@login_required
def metrics(request: HttpRequest) -> HttpResponse:
    form = MetricsFilterForm(request.GET or None)
    data = form.cleaned_data if form.is_valid() else {}
    filters = selectors.MetricFilters(
        date_from=data.get("date_from"), date_to=data.get("date_to"),
        service=getattr(data.get("service"), "pk", None), severity=data.get("severity"),
    )  # fmt: skip
    figures = selectors.incident_metrics(user=request.user, filters=filters)
    months = figures.get("by_month", [])
    chart_data = [
        ("Major incidents per month", [(m["month"], m["count"]) for m in months], "incidents"),
        (
            "Median time to restore (minutes)",
            [(m["month"], m["time_to_restore_median"]) for m in months],
            "min",
        ),
        (
            "Incident cost per month",
            [(m["month"], float(m["cost"]) if m["cost"] else None) for m in months],
            figures["cost"]["currency"],
        ),
    ]
    charts_svg = [
        (
            title,
            charts.bar_chart(title, [label for label, _ in points], {unit: [value for _, value in points]}),
        )
        for title, points, unit in chart_data
    ]
    durations = [
        (name.replace("_", " ").capitalize(), stats) for name, stats in figures["durations_minutes"].items()
    ]
    context = {
        "form": form,
        "figures": figures,
        "charts": charts_svg,
        "months": months,
        "durations": durations,
    }
    return render(request, "incidents/metrics.html", context)
