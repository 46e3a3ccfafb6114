"""State changes of post-incident reviews and their actions (DESIGN §7; STYLE 2, 7).

Views, the API, the signal handler, the demo and tests call these. Each checks permission and
four-eyes itself, locks what it changes inside `transaction.atomic()`, calls the django-fsm
transition and saves. Promotion goes through `measures.services.measure_create`, so measures' own
permission rule and audit row apply.
"""

from __future__ import annotations

import logging
from datetime import date, datetime
from typing import Any

from django.conf import settings
from django.contrib.auth.models import AbstractBaseUser
from django.db import IntegrityError, transaction
from django.db.models import Q
from django.utils import timezone
from django_fsm import can_proceed

from config.errors import (
    Conflict,
    CriteriaUnmet,
    DomainError,
    InvalidInput,
    NotFound,
    PermissionRefused,
    StaleVersion,
)
from config.errors import SeparationOfDutiesViolation as FourEyes
from config.limits import LINE_MAX_CHARS, check_text_lengths
from incidents import selectors as incident_selectors
from incidents.models import Incident
from incidents.policy import check_due_dates
from measures import permissions as measure_permissions
from measures import services as measure_services
from measures.models import Measure, Scope
from reviews import permissions, selectors
from reviews.choices import (
    SETTLED_STATES,
    ActionKind,
    ActionState,
    ApprovalRole,
    Priority,
    ReviewState,
)
from reviews.models import (
    SECTIONS,
    Action,
    ContributingFactor,
    FactorCategory,
    Review,
    ReviewApproval,
    ReviewRevision,
)

User = AbstractBaseUser
logger = logging.getLogger(__name__)


# --- Opening the PIR (DESIGN §7: one per major incident, created when it is restored) ------------


def review_open(*, incident_id: int, by: User | None = None) -> Review:
    """Open the PIR of a restored incident, due N business days after restoration (N by
    severity). Idempotent: a second call (a reopened and again restored incident, a replayed
    signal) returns the existing PIR. A new PIR also checks verified actions of earlier PIRs for
    a repeat on the same service (effectiveness)."""
    with transaction.atomic():
        incident = Incident.objects.select_for_update().get(pk=incident_id)
        existing = Review.objects.filter(incident=incident).first()
        if existing:
            return existing
        due = incident_selectors.pir_due_at(incident)
        if due is None:
            raise Conflict("A PIR is opened when the incident is restored.")
        check_due_dates({"due_at": due})
        review = Review.objects.create(incident=incident, due_at=due)
        actions_mark_ineffective(incident=incident)
    return review


class PirNotOpened(Conflict):
    code = "pir_not_opened"


def on_incident_restored(sender: Any, incident_id: int, by: User | None = None, **kwargs: Any) -> None:
    """Receiver of `incidents.signals.incident_restored` (connected in ReviewsConfig.ready). It
    runs inside the restore transaction: when the PIR cannot be opened the error rolls the
    restoration back, so no restored incident is left without its PIR (DESIGN §7) and the client
    gets a sentence instead of a 500. review_open's own savepoint keeps the transaction usable."""
    try:
        review_open(incident_id=incident_id, by=by)
    except DomainError:
        raise
    except Exception as exc:
        logger.exception(
            "Opening the PIR of incident %s failed; the restoration is rolled back.", incident_id
        )
        raise PirNotOpened(
            "The post-incident review could not be opened, so the incident was not restored and nothing "
            "changed. Check the incident's times and try again; if it fails again, tell an administrator.",
            details={"review": [f"{type(exc).__name__}: {exc}"]},
        ) from exc


def incident_close_unmet(incident: Incident) -> list[dict[str, str]]:
    """Close guard registered with incidents (issue 6): an incident with a PIR closes only once
    the PIR is approved, published or waived."""
    review = Review.objects.filter(incident_id=incident.pk).first()
    if review is None or review.state in SETTLED_STATES:
        return []
    return [
        {
            "criterion": "pir",
            "message": f"The PIR is {review.get_state_display().lower()}: it must be approved, "
            "published or waived before the incident can be closed.",
        }
    ]


# --- Writing the PIR ------------------------------------------------------------------------------


def _locked(review: Review) -> Review:
    return Review.objects.select_for_update().select_related("incident").get(pk=review.pk)


def _require_edit(by: User, review: Review) -> None:
    if not permissions.can_edit_review(by, review.incident):
        raise PermissionRefused(
            "Only the people of the incident (response roles, service owners) and incident managers "
            "write its PIR."
        )


def _open_for_edit(review: Review, by: User, version: int | None = None) -> Review:
    """Lock and check; an approved or published PIR moves to its next revision (DESIGN §7: an
    edit after approval creates a new revision, the approved one stays readable)."""
    review = _locked(review)
    _require_edit(by, review)
    if version is not None and int(version) != review.version:
        raise StaleVersion(
            f"The PIR was changed meanwhile (you sent version {version}, it is now at {review.version}). "
            "Reload it and apply your change again."
        )
    if review.state == ReviewState.WAIVED:
        raise Conflict("A waived PIR is not written.")
    if review.state == ReviewState.IN_REVIEW:
        raise Conflict("The PIR is in review: return it to draft before changing it.")
    if review.state in (ReviewState.APPROVED, ReviewState.PUBLISHED):
        review.revise()
    review.version += 1
    return review


def review_update(*, review: Review, by: User, version: int | None = None, **sections: str) -> Review:
    """Write sections (also the autosave of drafts)."""
    unknown = set(sections) - set(SECTIONS)
    if unknown:
        raise InvalidInput(
            "These fields are not sections of a PIR.", details={n: ["Not editable."] for n in sorted(unknown)}
        )
    check_text_lengths(sections)
    with transaction.atomic():
        review = _open_for_edit(review, by, version)
        for name, text in sections.items():
            setattr(review, name, (text or "").strip())
        review.save()
    return review


def _category(category: FactorCategory | int | str) -> FactorCategory:
    if isinstance(category, FactorCategory):
        return category
    lookup = Q(code=category) if isinstance(category, str) and not category.isdigit() else Q(pk=category)
    found = FactorCategory.objects.filter(lookup, active=True).first()
    if found is None:
        raise InvalidInput(
            "Unknown factor category.", details={"category": ["Choose a category of the taxonomy."]}
        )
    return found


def factor_add(
    *, review: Review, by: User, category: FactorCategory | int | str, description: str
) -> ContributingFactor:
    """Add a contributing factor tagged from the taxonomy (several per PIR). A new category on
    this incident may reveal that a verified action elsewhere did not work."""
    check_text_lengths({"description": description})
    if not (description or "").strip():
        raise InvalidInput("Describe the factor.", details={"description": ["This field is required."]})
    category = _category(category)
    with transaction.atomic():
        review = _open_for_edit(review, by)
        review.save()
        position = review.factors.count() + 1
        factor = ContributingFactor.objects.create(
            review=review, category=category, description=description.strip(), position=position
        )
        actions_mark_ineffective(incident=review.incident)
    return factor


def factor_update(
    *, factor: ContributingFactor, by: User, category=None, description: str | None = None
) -> ContributingFactor:
    check_text_lengths({"description": description})
    with transaction.atomic():
        review = _open_for_edit(factor.review, by)
        review.save()
        factor = ContributingFactor.objects.select_for_update().get(pk=factor.pk)
        if category is not None:
            factor.category = _category(category)
        if description is not None:
            if not description.strip():
                raise InvalidInput(
                    "Describe the factor.", details={"description": ["This field is required."]}
                )
            factor.description = description.strip()
        factor.save()
        actions_mark_ineffective(incident=review.incident)
    return factor


def factor_remove(*, factor: ContributingFactor, by: User) -> None:
    with transaction.atomic():
        review = _open_for_edit(factor.review, by)
        review.save()
        ContributingFactor.objects.filter(pk=factor.pk).delete()


# --- Sign-off (DESIGN §7: service owner and MIM, two different people) ---------------------------


def submit_unmet(review: Review) -> list[dict[str, str]]:
    unmet = []
    if not review.summary.strip():
        unmet.append({"criterion": "summary", "message": "Write the summary."})
    if not review.business_impact.strip():
        unmet.append({"criterion": "business_impact", "message": "Describe the business impact."})
    if not review.factors.exists():
        unmet.append({"criterion": "factors", "message": "Name at least one contributing factor."})
    return unmet


def _transition_conflict(review: Review, method: str, verb: str) -> None:
    if not can_proceed(getattr(review, method), check_conditions=False):
        raise Conflict(f"A PIR that is {review.get_state_display().lower()} cannot be {verb}.")


def review_submit(*, review: Review, by: User) -> Review:
    """Draft → in review, once the summary, the business impact and a factor are written."""
    with transaction.atomic():
        review = _locked(review)
        _require_edit(by, review)
        _transition_conflict(review, "submit", "submitted")
        unmet = submit_unmet(review)
        if unmet:
            raise CriteriaUnmet("The PIR is not ready for review.", unmet=unmet)
        review.submit(by)
        review.save()
    return review


def review_return(*, review: Review, by: User, comment: str = "") -> Review:
    """In review → draft (changes requested); sign-offs already given on this revision lapse."""
    check_text_lengths({"comment": comment})
    with transaction.atomic():
        review = _locked(review)
        if not (
            permissions.can_edit_review(by, review.incident)
            or permissions.approval_roles(by, review.incident)
        ):
            raise PermissionRefused("Only the PIR's writers and approvers return it to draft.")
        _transition_conflict(review, "return_to_draft", "returned to draft")
        review.approvals.filter(revision=review.revision).delete()
        review.return_to_draft()
        review.save()
    return review


def _approval_role(review: Review, by: User) -> str:
    if review.submitted_by_id == by.pk:
        raise FourEyes("You submitted this PIR; its sign-offs must come from other people.")
    given = list(review.approvals.filter(revision=review.revision))
    if any(a.user_id == by.pk for a in given):
        raise FourEyes(
            "You have already signed off this PIR; the other sign-off must come from a different person."
        )
    held = permissions.approval_roles(by, review.incident)
    open_roles = [role for role in ApprovalRole.values if role not in {a.role for a in given}]
    for role in open_roles:
        if role in held:
            return role
    needed = " and ".join(ApprovalRole(role).label.lower() for role in open_roles)
    raise PermissionRefused(
        f"This PIR still needs the sign-off of the {needed} of the incident; you are not."
    )


def review_approve(*, review: Review, by: User, comment: str = "") -> Review:
    """Give one of the two sign-offs. The second one approves the PIR and freezes the content
    of this revision."""
    check_text_lengths({"comment": comment})
    with transaction.atomic():
        review = _locked(review)
        if review.state != ReviewState.IN_REVIEW:
            raise Conflict(f"A PIR that is {review.get_state_display().lower()} is not waiting for sign-off.")
        role = _approval_role(review, by)
        try:
            with transaction.atomic():
                ReviewApproval.objects.create(
                    review=review, revision=review.revision, role=role, user=by, comment=comment
                )
        except IntegrityError as exc:  # pragma: no cover - the row lock serialises sign-offs
            raise Conflict("This sign-off was just given by someone else.") from exc
        if review.has_both_approvals():
            review.approve()
            review.save()
            _freeze_revision(review)
    return review


def _freeze_revision(review: Review) -> None:
    approvers = [
        {"role": a.role, "user": a.user_id, "name": a.user.get_full_name() or a.user.get_username()}
        for a in review.approvals.filter(revision=review.revision).select_related("user")
    ]
    ReviewRevision.objects.update_or_create(
        review=review,
        number=review.revision,
        defaults={
            "content": selectors.review_content(review),
            "approved_at": review.approved_at,
            "approvers": approvers,
        },
    )


def review_publish(*, review: Review, by: User) -> Review:
    with transaction.atomic():
        review = _locked(review)
        _require_edit(by, review)
        _transition_conflict(review, "publish", "published")
        review.publish()
        review.save()
    return review


def review_waive(*, review: Review, by: User, reason: str) -> Review:
    """No PIR needed (e.g. a duplicate of a reviewed incident): an incident manager waives it
    with a reason; the waiver names them."""
    check_text_lengths({"reason": reason})
    if not (reason or "").strip():
        raise InvalidInput("Say why the PIR is waived.", details={"reason": ["This field is required."]})
    with transaction.atomic():
        review = _locked(review)
        if not permissions.can_waive_review(by):
            raise PermissionRefused("Only incident managers and admins waive a PIR.")
        _transition_conflict(review, "waive", "waived")
        review.waive(by, reason.strip())
        review.save()
    return review


# --- Actions (DESIGN §7) ------------------------------------------------------------------------

ACTION_FIELDS = ("kind", "title", "description", "owner", "due_date", "priority")


def _check_action_fields(fields: dict[str, Any]) -> None:
    check_text_lengths(
        {n: fields[n] for n in ("title", "description") if n in fields}, limits={"title": LINE_MAX_CHARS}
    )
    if isinstance(fields.get("due_date"), date):
        check_due_dates({"due_date": fields["due_date"]})
    errors = {}
    if "title" in fields and not (fields["title"] or "").strip():
        errors["title"] = ["Give the action a title."]
    if "kind" in fields and fields["kind"] not in ActionKind.values:
        errors["kind"] = [f"Choose one of {', '.join(ActionKind.values)}."]
    if "priority" in fields and fields["priority"] not in Priority.values:
        errors["priority"] = [f"Choose one of {', '.join(Priority.values)}."]
    if "owner" in fields and (fields["owner"] is None or not fields["owner"].is_active):
        errors["owner"] = ["Name an active owner."]
    if "due_date" in fields and not isinstance(fields["due_date"], date):
        errors["due_date"] = ["Give a due date."]
    if errors:
        raise InvalidInput("The action is incomplete.", details=errors)


def action_create(
    *,
    review: Review,
    by: User,
    title: str,
    owner: User,
    due_date: date,
    kind: str = ActionKind.CORRECTIVE,
    priority: str = Priority.MEDIUM,
    description: str = "",
) -> Action:
    fields = {
        "kind": kind,
        "title": title,
        "description": description,
        "owner": owner,
        "due_date": due_date,
        "priority": priority,
    }
    _check_action_fields(fields)
    with transaction.atomic():
        review = _locked(review)
        _require_edit(by, review)
        if review.state == ReviewState.WAIVED:
            raise Conflict("A waived PIR takes no actions.")
        fields["title"] = title.strip()
        return Action.objects.create(review=review, created_by=by, **fields)


def _locked_action(action: Action) -> Action:
    return (
        Action.objects.select_for_update(of=("self",))
        .select_related("review__incident", "measure")
        .get(pk=action.pk)
    )


def action_update(*, action: Action, by: User, **fields: Any) -> Action:
    unknown = set(fields) - set(ACTION_FIELDS)
    if unknown:
        raise InvalidInput(
            "These fields cannot be changed here.", details={n: ["Not editable."] for n in sorted(unknown)}
        )
    _check_action_fields(fields)
    with transaction.atomic():
        action = _locked_action(action)
        if not permissions.can_work_on_action(by, action):
            raise PermissionRefused("Only the action's owner and the PIR's writers change it.")
        for name, value in fields.items():
            setattr(action, name, value.strip() if isinstance(value, str) else value)
        action.save()
    return action


_VERBS = {
    "accept": "accepted",
    "start": "started",
    "complete": "marked done",
    "verify": "verified",
    "reject": "rejected",
}


def _action_transition(action: Action, by: User, method: str, *args: Any, check=None) -> Action:
    with transaction.atomic():
        action = _locked_action(action)
        if not permissions.can_work_on_action(by, action):
            raise PermissionRefused("Only the action's owner and the PIR's writers move it.")
        if action.measure_id is not None:
            raise Conflict(
                f"This action follows measure {action.measure.code}: it is done at DoI 4 and verified at DoI 5."
            )
        if check:
            check(action)
        if not can_proceed(getattr(action, method), check_conditions=False):
            raise Conflict(f"A {action.get_state_display().lower()} action cannot be {_VERBS[method]}.")
        getattr(action, method)(*args)
        action.save()
    return action


def action_accept(*, action: Action, by: User) -> Action:
    return _action_transition(action, by, "accept")


def action_start(*, action: Action, by: User) -> Action:
    return _action_transition(action, by, "start")


def action_complete(*, action: Action, by: User) -> Action:
    return _action_transition(action, by, "complete")


def action_verify(*, action: Action, by: User) -> Action:
    """Done → verified, confirmed by a writer of the PIR who is not the action's owner."""

    def four_eyes(locked: Action) -> None:
        if locked.owner_id == by.pk:
            raise FourEyes("You own this action; someone else must verify it.")
        if not permissions.can_edit_review(by, locked.review.incident):
            raise PermissionRefused("Only the PIR's writers verify actions.")

    return _action_transition(action, by, "verify", by, check=four_eyes)


def action_reject(*, action: Action, by: User, rationale: str) -> Action:
    check_text_lengths({"rationale": rationale})
    if not (rationale or "").strip():
        raise InvalidInput(
            "Say why the action is rejected.", details={"rationale": ["This field is required."]}
        )

    def writers_only(locked: Action) -> None:
        if not permissions.can_edit_review(by, locked.review.incident):
            raise PermissionRefused("Only the PIR's writers reject actions.")

    return _action_transition(action, by, "reject", rationale.strip(), check=writers_only)


# --- Promotion into governed measures (DESIGN §7) --------------------------------------------------


def _check_linkable(action: Action, by: User) -> None:
    if not permissions.can_work_on_action(by, action):
        raise PermissionRefused("Only the action's owner and the PIR's writers promote or link it.")
    if action.promoted_at is not None:
        raise Conflict(f"This action was already promoted to measure {action.measure.code}.")
    if action.measure_id is not None:
        raise Conflict(f"This action already points to measure {action.measure.code}.")
    if action.state in (ActionState.REJECTED, ActionState.DONE, ActionState.VERIFIED):
        raise Conflict(f"A {action.get_state_display().lower()} action is not turned into a measure.")


def _objective(action: Action, cost) -> str:
    incident = action.review.incident
    text = action.description.strip() or action.title
    return (
        f"{text}\n\nBorn from the PIR of {incident.reference} ({incident.title}): "
        f"{action.get_kind_display().lower()} action. Yearly cost of the incidents it addresses: "
        f"{settings.VALUEGATE_CURRENCY} {cost:,.2f} (suggested baseline)."
    )


def action_promote(
    *,
    action: Action,
    by: User,
    package: Scope,
    title: str | None = None,
    sponsor: User | None = None,
    controller: User | None = None,
) -> Action:
    """Create a DoI 0 measure in `package` from the action (title, owner and objective carried
    over; the yearly cost of the incidents it addresses offered as the baseline), linked both
    ways (action.measure, measure.review_actions). One action promotes once. The promoter must
    be allowed to create measures in the package (measures' own rule, in measure_create)."""
    check_text_lengths({"title": title}, limits={"title": LINE_MAX_CHARS})
    with transaction.atomic():
        action = _locked_action(action)
        _check_linkable(action, by)
        cost = selectors.yearly_cost(action.review)
        measure = measure_services.measure_create(
            by=by,
            title=(title or action.title).strip(),
            objective=_objective(action, cost),
            package=package,
            owner=action.owner,
            sponsor=sponsor,
            controller=controller,
        )
        action.measure = measure
        action.promoted_at = timezone.now()
        action.promoted_by = by
        action.baseline_suggestion = cost
        if action.state == ActionState.PROPOSED:
            action.accept()
        action.save()
        _audit(by, "action_promoted", action, measure, baseline_suggestion=str(cost))
    return action


def action_link_measure(*, action: Action, by: User, measure: Measure) -> Action:
    """Point the action at an existing measure the user may see; several actions may share one."""
    with transaction.atomic():
        action = _locked_action(action)
        if not measure_permissions.visible_measures(by).filter(pk=measure.pk).exists():
            raise NotFound("No such measure.")
        _check_linkable(action, by)
        action.measure = measure
        if action.state == ActionState.PROPOSED:
            action.accept()
        action.save()
        _audit(by, "action_linked", action, measure)
    return action


def _audit(by: User, what: str, action: Action, measure: Measure, **extra: Any) -> None:
    measure_services.audit_append(
        actor=by,
        action=what,
        subject=measure,
        measure_id=measure.pk,
        after={"pir_action": action.pk, "incident": action.review.incident.reference, **extra},
    )


# --- Effectiveness (DESIGN §7) ----------------------------------------------------------------------


def actions_mark_ineffective(*, incident: Incident, now: datetime | None = None) -> list[Action]:
    """A verified action of another incident's PIR is ineffective when this incident started
    within 90 days (incidents' repeat window) after its verification on one of the same services,
    or shares a contributing-factor category with it. Marked once, with the repeat and why."""
    window = incident_selectors.REPEAT_WINDOW
    started = incident.impact_started_at
    service_ids = set(incident.services.values_list("pk", flat=True))
    categories = set(
        ContributingFactor.objects.filter(review__incident=incident).values_list("category__code", flat=True)
    )
    candidates = (
        selectors.with_effective_state(Action.objects.all())
        .filter(
            effective_state=ActionState.VERIFIED,
            ineffective_incident__isnull=True,
            effective_verified_at__lt=started,
            effective_verified_at__gte=started - window,
        )
        .exclude(review__incident=incident)
        .filter(
            Q(review__incident__services__in=service_ids) | Q(review__factors__category__code__in=categories)
        )
        .distinct()
    )
    marked = []
    for action in candidates.prefetch_related("review__incident__services", "review__factors__category"):
        because = []
        if service_ids & {s.pk for s in action.review.incident.services.all()}:
            because.append("service")
        because += sorted(
            f"category:{f.category.code}"
            for f in action.review.factors.all()
            if f.category.code in categories
        )
        Action.objects.filter(pk=action.pk, ineffective_incident__isnull=True).update(
            ineffective_incident=incident,
            ineffective_at=now or timezone.now(),
            ineffective_because=", ".join(dict.fromkeys(because)),
        )
        marked.append(action)
    return marked
