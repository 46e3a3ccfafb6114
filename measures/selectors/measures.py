"""Reads about measures: lists with their status light, details, the approvals inbox, history."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from django.conf import settings
from django.db.models import (
    BigIntegerField,
    Case,
    Count,
    DateField,
    Exists,
    F,
    Func,
    IntegerField,
    Min,
    OuterRef,
    Q,
    QuerySet,
    Subquery,
    Value,
    When,
)
from django.db.models.functions import Cast, Coalesce
from django.utils import timezone

from measures import permissions
from measures.choices import ApproverRole, Decision, GateRequestState, ScopeRole
from measures.models import (
    AuditEntry,
    Dependency,
    GateApproval,
    GateRequest,
    Measure,
    Milestone,
    Notification,
    Scope,
)


def _milestone_count(**filters) -> Coalesce:
    rows = (
        Milestone.objects.filter(measure=OuterRef("pk"), **filters)
        .order_by()
        .values("measure")
        .annotate(n=Count("id"))
        .values("n")
    )
    return Coalesce(Subquery(rows, output_field=IntegerField()), Value(0))


def with_implementation_status(queryset: QuerySet[Measure], today: date | None = None) -> QuerySet[Measure]:
    """Annotate the implementation light (DESIGN §5.3) computed in the database: grey without
    milestones, red when a critical milestone is overdue by the program's red threshold or more
    (Scope.milestone_red_days, else VALUEGATE_MILESTONE_RED_DAYS), amber when any milestone is
    overdue, else green."""
    today = today or timezone.localdate()
    open_overdue = {"completed_at__isnull": True, "due_date__lt": today}
    oldest_critical = (
        Milestone.objects.filter(measure=OuterRef("pk"), critical=True, **open_overdue)
        .order_by()
        .values("measure")
        .annotate(oldest=Min("due_date"))
        .values("oldest")
    )
    # The program is the second scope on the package's path ("/portfolio/program/...").
    program_id = Cast(
        Func(F("package__path"), Value("/"), Value(3), function="split_part"), BigIntegerField()
    )
    program_days = Scope.objects.filter(pk=OuterRef("program_id")).values("milestone_red_days")[:1]
    return (
        queryset.annotate(
            milestone_total=_milestone_count(),
            milestones_overdue=_milestone_count(**open_overdue),
            oldest_critical_due=Subquery(oldest_critical),
            program_id=program_id,
        )
        .annotate(
            red_days=Coalesce(
                Subquery(program_days, output_field=IntegerField()),
                Value(settings.VALUEGATE_MILESTONE_RED_DAYS),
            ),
            critical_days_overdue=Func(
                Value(today, output_field=DateField()),
                F("oldest_critical_due"),
                template="(%(expressions)s)",
                arg_joiner=" - ",
                output_field=IntegerField(),
            ),
        )
        .annotate(
            implementation_status=Case(
                When(milestone_total=0, then=Value("grey")),
                When(critical_days_overdue__gte=F("red_days"), then=Value("red")),
                When(milestones_overdue__gt=0, then=Value("amber")),
                default=Value("green"),
            )
        )
    )


def implementation_status(measure: Measure) -> str:
    annotated = getattr(measure, "implementation_status", None)
    if annotated is not None:
        return annotated
    return with_implementation_status(Measure.objects.filter(pk=measure.pk)).values_list(
        "implementation_status", flat=True
    )[0]


def potential_status(measure: Measure) -> str:
    """The computed potential light (DESIGN §5.3); the rule and its reason live in
    `selectors.figures`. A list may set `measure.potential_light` first (see
    `figures.potential_lights`) so that a page of measures costs no query per row."""
    light = getattr(measure, "potential_light", None)
    if light is None:
        from measures.selectors.figures import measure_figures

        light = measure_figures(measure=measure).potential
        measure.potential_light = light
    return light.computed


def measure_list(*, user, filters: dict | None = None) -> QuerySet[Measure]:
    """Every measure `user` may see, with what a list row shows, in a constant number of queries."""
    queryset = (
        permissions.visible_measures(user)
        .select_related("package", "owner", "sponsor", "controller")
        .order_by("code")
    )
    return with_implementation_status(queryset)


def measure_detail(*, user, measure_id: int) -> Measure | None:
    return measure_list(user=user).filter(pk=measure_id).first()


def gate_request_list(*, user) -> QuerySet[GateRequest]:
    return (
        GateRequest.objects.filter(measure__in=permissions.visible_measures(user))
        .select_related("measure", "requested_by")
        .prefetch_related("approvals__user")
    )


def pending_approvals_for(user) -> QuerySet[GateApproval]:
    """Open approvals `user` could give now (DESIGN §5.1 approvers, minus the four-eyes cases:
    their own requests, requests on measures they own or owned when asked, and requests they
    already approved). The same rules as `services.gates`, as a query."""
    if not user.is_authenticated:
        return GateApproval.objects.none()
    path = "request__measure__package__path"
    fits = (
        (
            Q(role=ApproverRole.SPONSOR, request__measure__sponsor=user)
            & permissions.scope_filter(user, path, permissions.PEOPLE_ROLES["sponsor"])
        )
        | (
            Q(role=ApproverRole.PROGRAM_MANAGER)
            & permissions.scope_filter(user, path, [ScopeRole.PROGRAM_MANAGER])
        )
        | (Q(role=ApproverRole.CONTROLLER) & permissions.scope_filter(user, path, [ScopeRole.CONTROLLER]))
    )
    already = GateApproval.objects.filter(user=user).values("request")
    return (
        GateApproval.objects.filter(fits, decision=Decision.PENDING, request__state=GateRequestState.PENDING)
        .exclude(request__requested_by=user)
        .exclude(request__measure__owner=user)
        .exclude(request__owner=user)
        .exclude(request__in=already)
        .select_related("request__measure__package", "request__requested_by")
        .order_by("request__requested_at")
    )


@dataclass
class Inbox:
    approvals: list[GateApproval]
    revisions: list[Notification]
    updates: list[Notification]

    @property
    def count(self) -> int:
        return len(self.approvals) + len(self.revisions)


def inbox(*, user) -> Inbox:
    """What waits for `user`: requests to approve and rejected requests to revise."""
    approvals = list(pending_approvals_for(user))
    open_notes = list(
        Notification.objects.filter(user=user, resolved_at__isnull=True)
        .select_related("measure", "gate_request")
        .order_by("-created_at")[:100]
    )
    return Inbox(
        approvals=approvals,
        revisions=[n for n in open_notes if n.kind == "revision_requested"],
        updates=[n for n in open_notes if n.kind != "revision_requested"][:10],
    )


def measure_history(*, measure: Measure) -> QuerySet[AuditEntry]:
    """The measure's governance history, from the audit log (newest first)."""
    return AuditEntry.objects.filter(measure_id=measure.pk).order_by("-id")


def measure_links(*, measure: Measure, user) -> tuple[QuerySet, QuerySet]:
    """The measure's dependencies and dependents, each with `other_visible`: whether `user` may
    open the measure at the other end. Pages show a code and title only where it is true (DESIGN
    §4: nobody sees a measure outside their scopes, not even by its link)."""
    visible = permissions.visible_measures(user)
    outgoing = (
        Dependency.objects.filter(source=measure)
        .select_related("target")
        .annotate(other_visible=Exists(visible.filter(pk=OuterRef("target_id"))))
    )
    incoming = (
        Dependency.objects.filter(target=measure)
        .select_related("source")
        .annotate(other_visible=Exists(visible.filter(pk=OuterRef("source_id"))))
    )
    return outgoing, incoming
