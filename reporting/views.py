from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.http import FileResponse, Http404, HttpRequest, HttpResponse, StreamingHttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.views.decorators.http import require_http_methods, require_POST

from config.errors import DomainError, NotFound
from config.pages import render_cached
from measures import permissions
from measures.choices import ScopeRole
from readcache.selectors import INCIDENT_DOMAINS, cached_read
from reporting import dashboards, exports, selectors, services
from reporting.forms import ScheduleForm
from reporting.models import ReportKind, RunStatus


@login_required
def home(request: HttpRequest) -> HttpResponse:
    """The leadership dashboard over everything the user may see (DESIGN §8), from the read cache
    (ADR 0014). Its incident section, the costliest part, is cached apart by the incident part of
    the data version, so it survives edits to measures."""
    user = request.user

    def incidents():
        return cached_read(
            "incident-section",
            request=request,
            key=(),
            compute=lambda: dashboards.incident_section(user=user),
            domains=INCIDENT_DOMAINS,
        )

    return render_cached(
        request,
        "leadership-dashboard",
        template="reporting/dashboard.html",
        context=lambda: {
            "dashboard": dashboards.leadership_dashboard(user=user, incidents=incidents),
            "memberships": user.memberships.select_related("scope").order_by("scope__path"),
            "is_leadership": permissions.sees_everything(user),
            "currency": settings.VALUEGATE_CURRENCY,
        },
    )


@login_required
def scope_dashboard(request: HttpRequest, pk: int) -> HttpResponse:
    def context() -> dict:
        scope = permissions.visible_scopes(request.user).filter(pk=pk).first()
        if scope is None:
            raise Http404("No such scope, or it lies outside your scopes.")
        return {"dashboard": dashboards.scope_dashboard(user=request.user, scope=scope)}

    return render_cached(request, "scope-dashboard", template="reporting/dashboard.html", context=context)


@login_required
def controller_inbox(request: HttpRequest) -> HttpResponse:
    if not permissions.holds_role_anywhere(request.user, ScopeRole.CONTROLLER):
        raise PermissionDenied("The controller inbox is for controllers of a scope.")
    context = dashboards.controller_inbox(user=request.user)
    return render(
        request, "reporting/controller_inbox.html", {**context, "currency": settings.VALUEGATE_CURRENCY}
    )


@login_required
@require_http_methods(["GET", "POST"])
def reports(request: HttpRequest) -> HttpResponse:
    """The person's report runs, and a form to request a steering pack for a scope."""
    if request.method == "POST":
        kind = request.POST.get("kind", "")
        # Each kind names its subject with one parameter (scope, incident, measure, review).
        parameters = {
            key: request.POST[key]
            for key in ("scope", "incident", "measure", "review")
            if key in request.POST
        }
        try:
            run = services.report_run_request(kind=kind, parameters=parameters, by=request.user)
        except DomainError as exc:
            messages.error(request, exc.message)
        else:
            messages.success(request, f"Report #{run.pk} requested; it appears below when ready.")
        return redirect("reporting:reports")
    page = Paginator(selectors.report_run_list(user=request.user), 25).get_page(request.GET.get("page"))
    return render(
        request,
        "reporting/reports.html",
        {
            "page": page,
            "scopes": permissions.visible_scopes(request.user),
            "kinds": [(ReportKind.STEERING_PACK, ReportKind.STEERING_PACK.label)],
        },
    )


@login_required
def run_status(request: HttpRequest, pk: int) -> HttpResponse:
    """One run's row; htmx polls it until the run is finished."""
    run = selectors.report_run_list(user=request.user).filter(pk=pk).first()
    if run is None:
        raise Http404("No such report.")
    return render(request, "reporting/_run_row.html", {"run": run})


@login_required
def run_download(request: HttpRequest, pk: int) -> FileResponse:
    try:
        run = services.report_run_for_download(run_id=pk, user=request.user)
    except NotFound as exc:
        raise Http404(exc.message) from exc
    if run.status != RunStatus.DONE:
        raise Http404("This report has no file yet.")
    return FileResponse(run.file.open("rb"), as_attachment=True, filename=f"{run.kind}-{run.pk}.pdf")


@login_required
def export(request: HttpRequest, name: str, fmt: str) -> HttpResponse:
    """CSV or XLSX of a dataset, limited to what the user may see (and to `?scope=` if given)."""
    try:
        data = exports.dataset(name)
    except DomainError as exc:
        raise Http404(exc.message) from exc
    scope = None
    if request.GET.get("scope"):
        wanted = request.GET["scope"]
        scope = (
            permissions.visible_scopes(request.user).filter(pk=wanted).first() if wanted.isdigit() else None
        )
        if scope is None:
            raise Http404("No such scope, or it lies outside your scopes.")
    stamp = timezone.localdate().isoformat()
    if fmt == "csv":
        response = StreamingHttpResponse(
            exports.export_csv(data, user=request.user, scope=scope), content_type="text/csv; charset=utf-8"
        )
    else:
        response = HttpResponse(
            exports.export_xlsx(data, user=request.user, scope=scope),
            content_type="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        )
    response["Content-Disposition"] = f'attachment; filename="valuegate-{name}-{stamp}.{fmt}"'
    return response


@login_required
@require_http_methods(["GET", "POST"])
def schedules(request: HttpRequest) -> HttpResponse:
    """Report schedules the user made (all for admins) and a form to add one."""
    form = ScheduleForm(request.POST or None, user=request.user)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            services.report_schedule_create(by=request.user, **data)
        except DomainError as exc:
            _show_on_form(form, exc)
        else:
            messages.success(request, f"Schedule '{data['name']}' saved; it runs {data['frequency']}.")
            return redirect("reporting:schedules")
    return render(
        request,
        "reporting/schedules.html",
        {"form": form, "schedules": selectors.report_schedule_list(user=request.user)},
    )


def _show_on_form(form, exc: DomainError) -> None:
    """The service's message above the form, and its field errors next to their fields."""
    form.add_error(None, exc.message)
    details = exc.details if isinstance(exc.details, dict) else {}
    for field, problems in details.items():
        if field in form.fields:
            for problem in problems:
                form.add_error(field, problem)


@login_required
@require_POST
def schedule_delete(request: HttpRequest, pk: int) -> HttpResponse:
    schedule = selectors.report_schedule_list(user=request.user).filter(pk=pk).first()
    if schedule is None:
        raise Http404("No such schedule.")
    try:
        services.report_schedule_delete(schedule=schedule, by=request.user)
    except DomainError as exc:
        messages.error(request, exc.message)
    else:
        messages.success(request, f"Schedule '{schedule.name}' deleted.")
    return redirect("reporting:schedules")
