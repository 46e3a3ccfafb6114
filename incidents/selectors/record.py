"""Reads of one incident's record: visibility, declaration criteria, what is due, update prefill."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.contrib.auth.models import AbstractBaseUser
from django.db.models import (
    OuterRef,
    Prefetch,
    QuerySet,
    Subquery,
)
from django.template import Context, Template
from django.utils import timezone

from incidents import permissions
from incidents.choices import CriterionKind, IncidentState, RoleKind, UpdateState
from incidents.models import (
    DeclarationCriterion,
    Incident,
    IncidentRole,
    Service,
    StatusUpdate,
    StatusUpdateTemplate,
)
from incidents.policy import Policy, add_business_days, policies

# --- Visibility -----------------------------------------------------------------------------------


def incident_list(*, user: AbstractBaseUser) -> QuerySet[Incident]:
    """Every incident for any active user (incidents are not scoped), with what a list shows,
    in a number of queries that does not depend on the number of rows."""
    if not permissions.can_read_incidents(user):
        return Incident.objects.none()
    last_sent = (
        StatusUpdate.objects.filter(incident=OuterRef("pk"), state=UpdateState.SENT)
        .order_by("-sent_at")
        .values("sent_at")[:1]
    )
    promised = (
        StatusUpdate.objects.filter(incident=OuterRef("pk"), state=UpdateState.SENT)
        .order_by("-sent_at")
        .values("next_update_due_at")[:1]
    )
    return (
        Incident.objects.annotate(last_update_at=Subquery(last_sent), promised_update_at=Subquery(promised))
        .prefetch_related(
            Prefetch("services", queryset=Service.objects.order_by("name")),
            Prefetch(
                "roles",
                queryset=IncidentRole.objects.filter(ended_at__isnull=True).select_related("user"),
                to_attr="current_roles",
            ),
        )
        .order_by("-reported_at", "-id")
    )


# --- Declaration criteria (seed step 1) -----------------------------------------------------------


@dataclass(frozen=True)
class CriterionResult:
    id: int
    name: str
    kind: str
    met: bool


def criteria_evaluation(
    *,
    services: Iterable[Service] = (),
    users_affected: int | None = None,
    estimated_downtime_minutes: int | None = None,
    revenue_impact: bool = False,
    regulatory_risk: bool = False,
    executive_visibility: bool = False,
) -> list[CriterionResult]:
    """Which active criteria the facts known so far meet."""
    services = list(services)
    best_tier = min((s.tier for s in services), default=None)
    checks: dict[str, Callable[[int | None], bool]] = {
        CriterionKind.USERS_AFFECTED: lambda t: users_affected is not None and users_affected >= (t or 0),
        CriterionKind.SERVICE_TIER: lambda t: best_tier is not None and best_tier <= (t or 0),
        CriterionKind.CUSTOMER_FACING: lambda t: any(s.customer_facing for s in services),
        CriterionKind.REVENUE_IMPACT: lambda t: revenue_impact,
        CriterionKind.REGULATORY_RISK: lambda t: regulatory_risk or any(s.regulated for s in services),
        CriterionKind.ESTIMATED_DOWNTIME: lambda t: (
            estimated_downtime_minutes is not None and estimated_downtime_minutes >= (t or 0)
        ),
        CriterionKind.EXECUTIVE_VISIBILITY: lambda t: executive_visibility,
    }
    return [
        CriterionResult(c.pk, c.name, c.kind, bool(checks[c.kind](c.threshold)))
        for c in DeclarationCriterion.objects.filter(active=True)
    ]


# --- What is due ------------------------------------------------------------------------------------


def next_update_due(incident: Incident, policy: Policy, last_update_at: datetime | None = None,
                    promised_at: datetime | None = None) -> datetime | None:  # fmt: skip
    """While declared, the next update is due one cadence after the last one sent (or after the
    declaration), or earlier if the last update promised an earlier time."""
    if incident.state != IncidentState.DECLARED or incident.declared_at is None:
        return None
    start = max(filter(None, [incident.declared_at, last_update_at]))
    due = start + policy.cadence
    if promised_at and last_update_at and promised_at < due:
        due = promised_at
    return due


def incident_due(incident: Incident, policy_map: Mapping[int, Policy] | None = None) -> datetime | None:
    """`next_update_due` for an incident from `incident_list` (annotated) or loaded alone."""
    policy_map = policy_map or policies()
    last = getattr(incident, "last_update_at", None)
    promised = getattr(incident, "promised_update_at", None)
    if not hasattr(incident, "last_update_at"):
        sent = incident.status_updates.filter(state=UpdateState.SENT).order_by("-sent_at").first()
        last, promised = (sent.sent_at, sent.next_update_due_at) if sent else (None, None)
    return next_update_due(incident, policy_map[incident.severity], last, promised)


@dataclass
class OpenIncident:
    incident: Incident
    next_update_due_at: datetime | None
    overdue: bool
    mim: Any = None


def open_major_incidents(*, user: AbstractBaseUser, now: datetime | None = None) -> list[OpenIncident]:
    """Declared or restored major incidents, newest declaration first, with their next update."""
    now = now or timezone.now()
    policy_map = policies()
    rows = incident_list(user=user).filter(state__in=[IncidentState.DECLARED, IncidentState.RESTORED])
    result = []
    for incident in rows.order_by("-declared_at"):
        due = incident_due(incident, policy_map)
        mim = next((r.user for r in incident.current_roles if r.role == RoleKind.MIM), None)
        result.append(OpenIncident(incident, due, bool(due and due < now), mim))
    return result


def pir_due_at(incident: Incident) -> datetime | None:
    """The PIR is due N business days after restoration, N by severity (DESIGN §6, §7)."""
    if incident.restored_at is None:
        return None
    return add_business_days(incident.restored_at, policies()[incident.severity].pir_due_business_days)


def status_update_prefill(*, incident: Incident, kind: str) -> dict[str, Any]:
    """Initial values of an update form: the template rendered with the incident's fields."""
    template = StatusUpdateTemplate.objects.filter(kind=kind).first()
    services = ", ".join(s.name for s in incident.services.all()) or "the affected service"
    last = incident.status_updates.filter(state=UpdateState.SENT).order_by("-sent_at").first()
    due = incident_due(incident)
    mim = incident.roles.filter(role=RoleKind.MIM, ended_at__isnull=True).select_related("user").first()
    values = {
        "affected_service": services,
        "business_impact": last.business_impact if last else _impact_summary(incident),
        "current_status": last.current_status if last else "",
        "workaround": last.workaround if last else "",
        "decisions_needed": "",
        "next_update_due_at": due,
    }
    context = Context({
        "incident": incident, "services": services, "mim": mim.user.get_full_name() or mim.user.username if mim else "",
        **values,
        "next_update_due_at": timezone.localtime(due).strftime("%H:%M %Z") if due else "",
    })  # fmt: skip
    subject = (
        Template(template.subject).render(context) if template else f"[{incident.reference}] {incident.title}"
    )
    body = Template(template.body).render(context) if template else ""
    return {**values, "kind": kind, "subject": subject.strip(), "body": body.strip()}


def _impact_summary(incident: Incident) -> str:
    parts = []
    if incident.users_affected:
        parts.append(f"about {incident.users_affected:,} users affected")
    if incident.revenue_impact:
        parts.append("revenue or operations impacted")
    return "; ".join(parts).capitalize()
