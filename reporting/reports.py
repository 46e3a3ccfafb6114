"""The report kinds: who may have each, what goes into it, which print template draws it.

Adding a kind = one `ReportSpec` here plus its template under reporting/templates/reporting/pdf/.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from django.contrib.auth.models import AbstractBaseUser
from django.utils import timezone

from config.errors import InvalidInput, NotFound
from measures import permissions
from measures.models import Scope
from reporting.models import ReportKind


@dataclass(frozen=True)
class ReportSpec:
    kind: str
    param: str  # the one parameter naming the subject, e.g. "scope"
    template: str
    subject: Callable[[AbstractBaseUser | None, int], object]  # raises NotFound when invisible
    # What the document shows about the subject, drawn for its reader: only what they may open.
    context: Callable[[object, AbstractBaseUser], dict]
    title: Callable[[object], str]


def _scope_for(user: AbstractBaseUser | None, pk: int) -> Scope:
    queryset = Scope.objects.all() if user is None else permissions.visible_scopes(user)
    scope = queryset.filter(pk=pk).first()
    if scope is None:
        raise NotFound("No such scope, or it lies outside your scopes.")
    return scope


def _incident_for(user: AbstractBaseUser | None, pk: int):
    from incidents import selectors as incident_selectors
    from incidents.models import Incident

    queryset = Incident.objects.all() if user is None else incident_selectors.incident_list(user=user)
    incident = queryset.filter(pk=pk).first()
    if incident is None:
        raise NotFound("No such incident.")
    return incident


def _incident_context(incident, reader: AbstractBaseUser) -> dict:
    from incidents import selectors as incident_selectors

    return {
        "incident": incident,
        "figures": incident_selectors.incident_figures(incident),
        "roles": incident.roles.select_related("user").order_by("role", "assigned_at"),
        "entries": incident.timeline.select_related("author", "decided_by").order_by("occurred_at", "id"),
        "updates": incident.status_updates.order_by("created_at"),
        "escalations": incident.vendor_escalations.order_by("contacted_at"),
    }


def _measure_for(user: AbstractBaseUser | None, pk: int):
    from measures.models import Measure

    queryset = Measure.objects.all() if user is None else permissions.visible_measures(user)
    measure = queryset.select_related("package", "owner", "sponsor", "controller").filter(pk=pk).first()
    if measure is None:
        raise NotFound("No such measure, or it lies outside your scopes.")
    return measure


def _measure_context(measure, reader: AbstractBaseUser) -> dict:
    from measures import selectors as measure_selectors

    return {
        "measure": measure,
        "implementation_status": measure_selectors.implementation_status(measure),
        "potential_status": measure_selectors.potential_status(measure),
        "lines": measure.effect_lines.order_by("id"),
        "milestones": measure.milestones.order_by("due_date"),
        "risks": measure.risks.order_by("-probability"),
        "history": measure_selectors.measure_history(measure=measure)[:30],
        "links": _measure_links(measure, reader),
    }


@dataclass(frozen=True)
class MeasureLink:
    """One dependency or overlap of the one-pager's measure, told from that measure's side;
    `other` is None when the reader may not open the measure at the other end."""

    kind: str
    outgoing: bool  # this measure blocks / relates to / overlaps the other one
    other: object | None
    share_percent: object | None


def _measure_links(measure, reader: AbstractBaseUser) -> list[MeasureLink]:
    outgoing = [(d, d.target, True) for d in measure.dependencies.select_related("target")]
    incoming = [(d, d.source, False) for d in measure.dependents.select_related("source")]
    ends = outgoing + incoming
    visible = set(
        permissions.visible_measures(reader)
        .filter(pk__in=[m.pk for _, m, _ in ends])
        .values_list("pk", flat=True)
    )
    return [
        MeasureLink(d.get_kind_display(), out, other if other.pk in visible else None, d.share_percent)
        for d, other, out in ends
    ]


def _review_for(user: AbstractBaseUser | None, pk: int):
    from reviews import selectors as review_selectors
    from reviews.models import Review

    if user is None:
        review = Review.objects.select_related("incident").filter(pk=pk).first()
    else:
        review = review_selectors.review_detail(user=user, review_id=pk)
    if review is None:
        raise NotFound("No such post-incident review.")
    return review


def _review_context(review, reader: AbstractBaseUser) -> dict:
    from reviews import selectors as review_selectors
    from reviews.models import SECTIONS

    return {
        "review": review,
        "incident": review.incident,
        "sections": [(SECTIONS[name], text) for name, text in review.sections().items()],
        "figures": review_selectors.review_figures(review),
        "timeline": review_selectors.pinned_timeline(review).order_by("occurred_at"),
        "factors": review.factors.select_related("category").order_by("position", "id"),
        # `measure_visible` on each action says whether the reader may open its measure.
        "actions": review_selectors.action_list(user=reader).filter(review=review).order_by("due_date", "id"),
        "approval": review_selectors.approval_status(review),
    }


def _steering_context(scope: Scope, reader: AbstractBaseUser) -> dict:
    from reporting import selectors

    return selectors.steering_pack_context(scope=scope, reader=reader)


SPECS: dict[str, ReportSpec] = {
    ReportKind.STEERING_PACK: ReportSpec(
        kind=ReportKind.STEERING_PACK,
        param="scope",
        template="reporting/pdf/steering_pack.html",
        subject=_scope_for,
        context=_steering_context,
        title=lambda scope: f"Steering pack — {scope.name}",
    ),
    ReportKind.INCIDENT_REPORT: ReportSpec(
        kind=ReportKind.INCIDENT_REPORT,
        param="incident",
        template="reporting/pdf/incident_report.html",
        subject=_incident_for,
        context=_incident_context,
        title=lambda incident: f"Incident report — {incident.reference}",
    ),
    ReportKind.PIR_REPORT: ReportSpec(
        kind=ReportKind.PIR_REPORT,
        param="review",
        template="reporting/pdf/pir_report.html",
        subject=_review_for,
        context=_review_context,
        title=lambda review: f"Post-incident review — {review.incident.reference}",
    ),
    ReportKind.MEASURE_ONE_PAGER: ReportSpec(
        kind=ReportKind.MEASURE_ONE_PAGER,
        param="measure",
        template="reporting/pdf/measure_one_pager.html",
        subject=_measure_for,
        context=_measure_context,
        title=lambda measure: f"{measure.code} — {measure.title}",
    ),
}


def register(spec: ReportSpec) -> None:
    SPECS[spec.kind] = spec


def spec_for(kind: str) -> ReportSpec:
    try:
        return SPECS[kind]
    except KeyError:
        known = ", ".join(sorted(SPECS))
        raise InvalidInput(f"Unknown report kind '{kind}'. Choose one of: {known}.") from None


def subject_id(spec: ReportSpec, parameters: dict) -> int:
    value = parameters.get(spec.param)
    try:
        return int(value)
    except (TypeError, ValueError):
        raise InvalidInput(
            f"A {spec.kind.replace('_', ' ')} needs the parameter '{spec.param}' (an id).",
            details={"parameters": [f"'{spec.param}' must be an integer id."]},
        ) from None


def build(spec: ReportSpec, subject: object, reader: AbstractBaseUser) -> dict:
    """The template context of one document about `subject`, as `reader` may see it."""
    return {
        "title": spec.title(subject),
        "generated_at": timezone.now(),
        **spec.context(subject, reader),
    }
