"""Reads of post-incident reviews and actions (DESIGN §7, §8). The effective state of an action
that follows a measure, overdue actions, PIR completion and on-time rate, revision diffs and the
yearly cost of the incidents an action addresses are computed here once and reused by the pages,
the API and reporting."""

from __future__ import annotations

import difflib
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Any

from django.contrib.auth.models import AbstractBaseUser
from django.db.models import (
    Case,
    CharField,
    Count,
    DateTimeField,
    Exists,
    F,
    OuterRef,
    Prefetch,
    Q,
    QuerySet,
    Subquery,
    Sum,
    Value,
    When,
)
from django.utils import timezone

from incidents import selectors as incident_selectors
from incidents.choices import RoleKind
from incidents.models import Incident, IncidentRole, TimelineEntry
from measures import permissions as measure_permissions
from measures.choices import GateRequestState, Stage
from measures.models import GateRequest, Scope
from reviews import permissions
from reviews.choices import (
    ACTION_OPEN_STATES,
    OPEN_STATES,
    ActionState,
    ApprovalRole,
    ReviewState,
)
from reviews.models import SECTIONS, Action, ContributingFactor, Review, ReviewApproval

# --- Actions that follow a measure (DESIGN §7) ------------------------------------------------------

# Measure stage → action state. DoI 0 and a cancelled measure leave the action's own state.
FOLLOWS = {
    Stage.IDENTIFIED: ActionState.IN_PROGRESS,
    Stage.DETAILED: ActionState.IN_PROGRESS,
    Stage.DECIDED: ActionState.IN_PROGRESS,
    Stage.IMPLEMENTED: ActionState.DONE,
    Stage.CLOSED: ActionState.VERIFIED,
}


def effective_state_expression() -> Case:
    whens = []
    for stage, state in FOLLOWS.items():
        whens.append(When(measure__stage=stage, then=Value(state.value)))
        whens.append(
            When(measure__stage=Stage.ON_HOLD, measure__stage_before_hold=stage, then=Value(state.value))
        )
    return Case(*whens, default=F("state"), output_field=CharField())


def _closed_at() -> Subquery:
    """When the measure passed DoI 5 (the approved closure gate)."""
    return Subquery(
        GateRequest.objects.filter(measure=OuterRef("measure_id"), to_doi=5, state=GateRequestState.APPROVED)
        .order_by("-decided_at")
        .values("decided_at")[:1],
        output_field=DateTimeField(),
    )


def with_effective_state(qs: QuerySet[Action]) -> QuerySet[Action]:
    """Annotate `effective_state` and `effective_verified_at`: an action linked to a measure is
    in progress from DoI 1, done at DoI 4 and verified at DoI 5 (when the closure gate passed)."""
    return qs.annotate(
        effective_state=effective_state_expression(),
        effective_verified_at=Case(
            When(measure__stage=Stage.CLOSED, then=_closed_at()),
            default=F("verified_at"),
            output_field=DateTimeField(),
        ),
    )


def action_list(*, user: AbstractBaseUser) -> QuerySet[Action]:
    """Every action for any active user, with what a list shows in a constant number of queries;
    `measure_visible` says whether the user may open the linked measure."""
    if not permissions.can_read_reviews(user):
        return Action.objects.none()
    visible = measure_permissions.visible_measures(user).filter(pk=OuterRef("measure_id"))
    return (
        with_effective_state(Action.objects.all())
        .annotate(measure_visible=Exists(visible))
        .select_related("owner", "review__incident", "measure", "ineffective_incident")
        .order_by("due_date", "id")
    )


def effective_state(action: Action) -> str:
    """The state of one action, following its measure when it has one."""
    if action.measure_id is None:
        return action.state
    measure = action.measure
    stage = measure.stage_before_hold if measure.stage == Stage.ON_HOLD else measure.stage
    follows = FOLLOWS.get(stage)
    return follows.value if follows else action.state


def overdue_actions(
    *, user: AbstractBaseUser, scope: Scope | None = None, today: date | None = None
) -> QuerySet[Action]:
    """Open actions past their due date (DESIGN §7, §8); with `scope`, only those linked to a
    measure in that scope or below it."""
    today = today or timezone.localdate()
    qs = action_list(user=user).filter(
        due_date__lt=today, effective_state__in=[s.value for s in ACTION_OPEN_STATES]
    )
    if scope is not None:
        qs = qs.filter(measure__package__path__startswith=scope.path)
    return qs


@dataclass
class OwnerOverdue:
    owner: Any
    actions: list[Action] = field(default_factory=list)

    @property
    def count(self) -> int:
        return len(self.actions)


def overdue_actions_by_owner(*, user: AbstractBaseUser, today: date | None = None) -> list[OwnerOverdue]:
    groups: dict[int, OwnerOverdue] = {}
    for action in overdue_actions(user=user, today=today).order_by("owner__username", "due_date"):
        groups.setdefault(action.owner_id, OwnerOverdue(action.owner)).actions.append(action)
    return sorted(groups.values(), key=lambda group: (-group.count, group.owner.get_username()))


def ineffective_actions(*, user: AbstractBaseUser) -> QuerySet[Action]:
    """Verified actions a repeat incident showed not to work (DESIGN §7 effectiveness)."""
    return action_list(user=user).filter(ineffective_incident__isnull=False)


# --- Reviews --------------------------------------------------------------------------------------


def review_list(*, user: AbstractBaseUser, now: datetime | None = None) -> QuerySet[Review]:
    """PIRs with their incident and action counts, in a constant number of queries."""
    if not permissions.can_read_reviews(user):
        return Review.objects.none()
    now = now or timezone.now()
    today = timezone.localdate(now)
    open_states = [s.value for s in ACTION_OPEN_STATES]
    actions = with_effective_state(Action.objects.filter(review=OuterRef("pk")))
    return (
        Review.objects.select_related("incident", "waived_by")
        .annotate(
            action_count=Count("actions", distinct=True),
            overdue_actions=_count(actions.filter(due_date__lt=today, effective_state__in=open_states)),
            ineffective_actions=_count(actions.filter(ineffective_incident__isnull=False)),
            is_overdue=Case(
                When(state__in=OPEN_STATES, due_at__lt=now, first_approved_at__isnull=True, then=Value(True)),
                default=Value(False),
            ),
        )
        .prefetch_related("incident__services")
        .order_by("due_at", "id")
    )


def _count(qs: QuerySet) -> Subquery:
    return Subquery(qs.order_by().values("review").annotate(n=Count("pk")).values("n")[:1])


def review_detail(*, user: AbstractBaseUser, review_id: int) -> Review | None:
    return (
        review_list(user=user)
        .prefetch_related(
            Prefetch("factors", queryset=ContributingFactor.objects.select_related("category")),
            Prefetch("approvals", queryset=ReviewApproval.objects.select_related("user")),
            "revisions",
        )
        .filter(pk=review_id)
        .first()
    )


def pinned_timeline(review: Review) -> QuerySet[TimelineEntry]:
    """The timeline section: the incident's pinned entries (DESIGN §6, §7)."""
    return TimelineEntry.objects.filter(incident_id=review.incident_id, pinned=True).select_related(
        "author", "decided_by"
    )


def review_figures(review: Review) -> dict[str, Any]:
    """Detection/escalation timing and cadence adherence of the incident, from the incidents
    app's own selector — never retyped."""
    return incident_selectors.incident_figures(review.incident)


def review_content(review: Review) -> dict[str, Any]:
    """What a revision freezes: the written sections and the contributing factors."""
    factors = [
        {"category": f.category.name, "description": f.description}
        for f in review.factors.select_related("category").order_by("position", "id")
    ]
    return {"sections": review.sections(), "factors": factors}


def _lines(content: dict[str, Any]) -> dict[str, list[str]]:
    result = {SECTIONS[name]: (text or "").splitlines() for name, text in content["sections"].items()}
    result["Contributing factors"] = [f"[{f['category']}] {f['description']}" for f in content["factors"]]
    return result


def review_diff(old: dict[str, Any], new: dict[str, Any]) -> list[dict[str, Any]]:
    """Per section, the unified diff between two contents (only sections that changed)."""
    before, after = _lines(old), _lines(new)
    changes = []
    for title in after:
        lines = list(difflib.unified_diff(before.get(title, []), after[title], lineterm="", n=2))[2:]
        if lines:
            changes.append({"section": title, "lines": lines})
    return changes


@dataclass
class ApprovalStatus:
    given: list[ReviewApproval]
    missing: list[str]


def approval_status(review: Review) -> ApprovalStatus:
    """Who signed off the current revision and what is still missing (the approval panel)."""
    given = [a for a in review.approvals.all() if a.revision == review.revision]
    have = {a.role for a in given}
    missing = []
    if review.state == ReviewState.DRAFT:
        missing.append("Submit the PIR for review.")
    for role in ApprovalRole:
        if role.value not in have:
            holder = _role_holder(review.incident, role)
            missing.append(f"Sign-off by the {role.label.lower()}" + (f" ({holder})." if holder else "."))
    if len(given) == 1:
        missing.append("The second sign-off must come from a different person than the first.")
    return ApprovalStatus(given, missing if review.state in OPEN_STATES else [])


def _role_holder(incident: Incident, role: ApprovalRole) -> str:
    kind = RoleKind.MIM if role == ApprovalRole.MIM else RoleKind.SERVICE_OWNER
    row = (
        IncidentRole.objects.filter(incident=incident, role=kind, ended_at__isnull=True)
        .select_related("user")
        .first()
    )
    if row is None:
        return ""
    return row.user.get_full_name() or row.user.get_username()


# --- Figures for dashboards (DESIGN §8) ----------------------------------------------------------


@dataclass(frozen=True)
class PirCompletion:
    due: int  # PIRs due in the period that were not waived
    completed: int  # approved at least once (a later revision does not undo it)
    on_time: int  # first approved no later than due
    overdue: int  # still open after their due date
    waived: int

    @property
    def completion_rate(self) -> float | None:
        return round(self.completed / self.due, 4) if self.due else None

    @property
    def on_time_rate(self) -> float | None:
        return round(self.on_time / self.due, 4) if self.due else None


def _period_bounds(period: Any) -> tuple[date | None, date | None]:
    if period is None:
        return None, None
    if hasattr(period, "date_from"):
        return period.date_from, period.date_to
    start, end = period
    return start, end


def pir_completion(
    *, user: AbstractBaseUser, period: Any = None, now: datetime | None = None
) -> PirCompletion:
    """Completion and on-time rate of the PIRs due in `period` ((from, to) dates, both ends
    inclusive, or anything with `date_from`/`date_to` such as incidents' MetricFilters; None = all).
    Waived PIRs are counted apart and left out of both rates; on time = first approved by the due
    date. One query."""
    if not permissions.can_read_reviews(user):
        return PirCompletion(0, 0, 0, 0, 0)
    now = now or timezone.now()
    start, end = _period_bounds(period)
    qs = Review.objects.all()
    if start:
        qs = qs.filter(due_at__date__gte=start)
    if end:
        qs = qs.filter(due_at__date__lte=end)
    row = qs.aggregate(
        due=Count("pk", filter=~Q(state=ReviewState.WAIVED)),
        completed=Count("pk", filter=Q(first_approved_at__isnull=False) & ~Q(state=ReviewState.WAIVED)),
        on_time=Count("pk", filter=Q(first_approved_at__lte=F("due_at")) & ~Q(state=ReviewState.WAIVED)),
        overdue=Count("pk", filter=Q(state__in=OPEN_STATES, due_at__lt=now, first_approved_at__isnull=True)),
        waived=Count("pk", filter=Q(state=ReviewState.WAIVED)),
    )
    return PirCompletion(**row)


# --- Cost of the incidents an action addresses (baseline suggestion) ----------------------------

YEAR = timedelta(days=365)


def addressed_incidents(review: Review) -> QuerySet[Incident]:
    """The PIR's incident and every incident of the twelve months before it on one of its
    services or sharing one of its contributing-factor categories."""
    incident = review.incident
    since = incident.impact_started_at - YEAR
    categories = review.factors.values("category_id")
    same_category = ContributingFactor.objects.filter(category_id__in=categories).values(
        "review__incident_id"
    )
    services = incident.services.values("pk")
    return (
        incident_selectors.metric_incidents()
        .filter(
            Q(pk=incident.pk)
            | (
                Q(impact_started_at__gte=since, impact_started_at__lte=incident.impact_started_at)
                & (Q(services__in=services) | Q(pk__in=same_category))
            )
        )
        .distinct()
    )


def yearly_cost(review: Review) -> Decimal:
    """The summed incident cost (incidents' own cost metric) of the addressed incidents."""
    ids = list(addressed_incidents(review).values_list("pk", flat=True))
    qs = incident_selectors.with_figures(Incident.objects.filter(pk__in=ids))
    total = qs.order_by().aggregate(total=Sum("cost"))["total"]
    return Decimal(total or 0).quantize(Decimal("0.01"))


# --- Contributing-factor categories for the incidents app (ADR 0010, 0011) ------------------------


def incident_factor_categories(ids: Iterable[int]) -> dict[int, set[str]]:
    """incident id → category codes of its PIR's contributing factors; registered with
    `incidents.selectors.register_category_provider` so repeat incidents use them."""
    result: dict[int, set[str]] = defaultdict(set)
    rows = ContributingFactor.objects.filter(review__incident_id__in=ids).values_list(
        "review__incident_id", "category__code"
    )
    for incident_id, code in rows:
        result[incident_id].add(code)
    return dict(result)


def revision_pair(review: Review, old: Any = None, new: Any = None) -> tuple[dict[str, Any], dict[str, Any]]:
    """Contents to compare: revision numbers `old`/`new` (strings from a query are fine); by
    default the last approved revision against the current text."""
    frozen = {r.number: r.content for r in review.revisions.all()}
    current = review_content(review)
    empty = {"sections": dict.fromkeys(SECTIONS, ""), "factors": []}

    def pick(number: Any, default: dict[str, Any]) -> dict[str, Any]:
        try:
            return frozen.get(int(number), default) if number not in (None, "") else default
        except (TypeError, ValueError):
            return default

    last = frozen[max(frozen)] if frozen else empty
    return pick(old, last), pick(new, current)
