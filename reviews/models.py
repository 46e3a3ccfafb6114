"""Post-incident reviews, their contributing factors, sign-offs, revisions and actions (DESIGN §7).

Transitions change only their own row (STYLE 7); `reviews.services` locks, checks permission and
four-eyes, calls them and writes the rest. Blameless by construction: no field names a person as
a cause — people appear only as authors, approvers and action owners.
"""

from __future__ import annotations

import pghistory
from django.conf import settings
from django.db import models
from django.utils import timezone
from django_fsm import FSMField, FSMModelMixin, transition

from reviews.choices import ActionKind, ActionState, ApprovalRole, Priority, ReviewState

R = ReviewState
A = ActionState

# The written sections of a PIR (seed step 8), in page order. The timeline, the timing figures
# and the cadence adherence are not typed in: they come from the incident.
SECTIONS: dict[str, str] = {
    "summary": "Summary",
    "business_impact": "Business impact",
    "detection_notes": "Detection and escalation",
    "communication_notes": "Communication review",
    "worked_well": "What worked well",
    "went_wrong": "What failed or slowed the response",
    "lessons": "Lessons",
}


class FactorCategory(models.Model):
    """One entry of the contributing-factor taxonomy (managed in admin)."""

    code = models.SlugField(max_length=40, unique=True)
    name = models.CharField(max_length=80, unique=True)
    description = models.TextField(blank=True)
    active = models.BooleanField(default=True)
    position = models.PositiveSmallIntegerField(default=0)

    class Meta:
        ordering = ["position", "name"]
        verbose_name_plural = "factor categories"

    def __str__(self) -> str:
        return self.name


@pghistory.track(exclude=["updated_at"])
class Review(FSMModelMixin, models.Model):
    incident = models.OneToOneField("incidents.Incident", on_delete=models.PROTECT, related_name="review")
    state = FSMField(default=R.DRAFT, choices=R.choices, protected=True)
    due_at = models.DateTimeField()
    revision = models.PositiveIntegerField(default=1)
    version = models.PositiveIntegerField(default=1)

    summary = models.TextField(blank=True)
    business_impact = models.TextField(blank=True)
    detection_notes = models.TextField(blank=True)
    communication_notes = models.TextField(blank=True)
    worked_well = models.TextField(blank=True)
    went_wrong = models.TextField(blank=True)
    lessons = models.TextField(blank=True)

    submitted_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    submitted_at = models.DateTimeField(null=True, blank=True)
    approved_at = models.DateTimeField(null=True, blank=True)
    first_approved_at = models.DateTimeField(null=True, blank=True)
    published_at = models.DateTimeField(null=True, blank=True)
    waived_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    waived_at = models.DateTimeField(null=True, blank=True)
    waive_reason = models.TextField(blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["due_at", "id"]
        indexes = [models.Index(fields=["state", "due_at"], name="review_state_due")]
        constraints = [
            models.CheckConstraint(
                condition=~models.Q(state=R.WAIVED)
                | (~models.Q(waive_reason="") & models.Q(waived_at__isnull=False)),
                name="review_waiver_has_reason",
            ),
        ]

    def __str__(self) -> str:
        return f"PIR of {self.incident.reference}"

    def sections(self) -> dict[str, str]:
        return {name: getattr(self, name) for name in SECTIONS}

    # --- Guards: pure reads --------------------------------------------------------------------
    def has_both_approvals(self) -> bool:
        roles = set(self.approvals.filter(revision=self.revision).values_list("role", flat=True))
        return roles >= set(ApprovalRole.values)

    # --- Transitions: change only this row (STYLE 7) ------------------------------------------
    @transition(field=state, source=R.DRAFT, target=R.IN_REVIEW)
    def submit(self, by) -> None:
        self.submitted_by = by
        self.submitted_at = timezone.now()

    @transition(field=state, source=R.IN_REVIEW, target=R.DRAFT)
    def return_to_draft(self) -> None:
        pass

    @transition(field=state, source=R.IN_REVIEW, target=R.APPROVED, conditions=[has_both_approvals])
    def approve(self) -> None:
        self.approved_at = timezone.now()
        self.first_approved_at = self.first_approved_at or self.approved_at

    @transition(field=state, source=R.APPROVED, target=R.PUBLISHED)
    def publish(self) -> None:
        self.published_at = timezone.now()

    @transition(field=state, source=[R.APPROVED, R.PUBLISHED], target=R.DRAFT)
    def revise(self) -> None:
        """An edit after approval opens the next revision; it needs its own sign-off."""
        self.revision += 1
        self.approved_at = None
        self.published_at = None
        self.submitted_by = None
        self.submitted_at = None

    @transition(field=state, source=[R.DRAFT, R.IN_REVIEW], target=R.WAIVED)
    def waive(self, by, reason: str) -> None:
        self.waived_by = by
        self.waived_at = timezone.now()
        self.waive_reason = reason


class ReviewApproval(models.Model):
    """One sign-off on one revision; two per revision, by two different people."""

    review = models.ForeignKey(Review, on_delete=models.CASCADE, related_name="approvals")
    revision = models.PositiveIntegerField()
    role = models.CharField(max_length=20, choices=ApprovalRole.choices)
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    comment = models.TextField(blank=True)
    decided_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["decided_at", "id"]
        constraints = [
            models.UniqueConstraint(
                fields=["review", "revision", "role"], name="review_approval_one_per_role"
            ),
            models.UniqueConstraint(fields=["review", "revision", "user"], name="review_approval_two_people"),
        ]

    def __str__(self) -> str:
        return f"{self.get_role_display()} sign-off of {self.review} r{self.revision}"


class ReviewRevision(models.Model):
    """The content of an approved revision, frozen when it was approved (readable and diffable)."""

    review = models.ForeignKey(Review, on_delete=models.CASCADE, related_name="revisions")
    number = models.PositiveIntegerField()
    content = models.JSONField()
    approved_at = models.DateTimeField()
    approvers = models.JSONField(default=list)

    class Meta:
        ordering = ["number"]
        constraints = [
            models.UniqueConstraint(fields=["review", "number"], name="review_revision_unique"),
        ]

    def __str__(self) -> str:
        return f"{self.review} revision {self.number}"


@pghistory.track()
class ContributingFactor(models.Model):
    """Why it happened, tagged from the taxonomy. Describes conditions, never a person."""

    review = models.ForeignKey(Review, on_delete=models.CASCADE, related_name="factors")
    category = models.ForeignKey(FactorCategory, on_delete=models.PROTECT, related_name="factors")
    description = models.TextField()
    position = models.PositiveSmallIntegerField(default=0)

    class Meta:
        ordering = ["position", "id"]
        constraints = [
            models.CheckConstraint(condition=~models.Q(description=""), name="factor_has_description"),
        ]

    def __str__(self) -> str:
        return f"{self.category}: {self.description[:60]}"


@pghistory.track(exclude=["updated_at"])
class Action(FSMModelMixin, models.Model):
    """A corrective, preventive or detective action. Once linked to a measure its state follows
    the measure's DoI (see `reviews.selectors.effective_state`)."""

    review = models.ForeignKey(Review, on_delete=models.PROTECT, related_name="actions")
    kind = models.CharField(max_length=20, choices=ActionKind.choices, default=ActionKind.CORRECTIVE)
    title = models.CharField(max_length=200)
    description = models.TextField(blank=True)
    owner = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="pir_actions")
    due_date = models.DateField()
    priority = models.CharField(max_length=10, choices=Priority.choices, default=Priority.MEDIUM)
    state = FSMField(default=A.PROPOSED, choices=A.choices, protected=True)
    rejection_rationale = models.TextField(blank=True)
    done_at = models.DateTimeField(null=True, blank=True)
    verified_at = models.DateTimeField(null=True, blank=True)
    verified_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    measure = models.ForeignKey(
        "measures.Measure", null=True, blank=True, on_delete=models.PROTECT, related_name="review_actions"
    )
    promoted_at = models.DateTimeField(null=True, blank=True)
    promoted_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    baseline_suggestion = models.DecimalField(max_digits=16, decimal_places=2, null=True, blank=True)

    ineffective_incident = models.ForeignKey(
        "incidents.Incident", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    ineffective_at = models.DateTimeField(null=True, blank=True)
    ineffective_because = models.CharField(max_length=120, blank=True)

    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["due_date", "id"]
        indexes = [
            models.Index(fields=["state", "due_date"], name="action_state_due"),
            models.Index(fields=["owner", "due_date"], name="action_owner_due"),
        ]
        constraints = [
            models.CheckConstraint(
                condition=~models.Q(state=A.REJECTED) | ~models.Q(rejection_rationale=""),
                name="action_rejection_has_rationale",
            ),
            models.UniqueConstraint(
                fields=["measure"],
                condition=models.Q(promoted_at__isnull=False),
                name="action_one_promotion_per_measure",
            ),
            models.CheckConstraint(
                condition=models.Q(promoted_at__isnull=True) | models.Q(measure__isnull=False),
                name="action_promoted_has_measure",
            ),
        ]

    def __str__(self) -> str:
        return self.title

    # --- Transitions: change only this row (STYLE 7) ------------------------------------------
    @transition(field=state, source=A.PROPOSED, target=A.ACCEPTED)
    def accept(self) -> None:
        pass

    @transition(field=state, source=[A.PROPOSED, A.ACCEPTED], target=A.IN_PROGRESS)
    def start(self) -> None:
        pass

    @transition(field=state, source=[A.ACCEPTED, A.IN_PROGRESS], target=A.DONE)
    def complete(self) -> None:
        self.done_at = timezone.now()

    @transition(field=state, source=A.DONE, target=A.VERIFIED)
    def verify(self, by) -> None:
        self.verified_at = timezone.now()
        self.verified_by = by

    @transition(field=state, source=[A.PROPOSED, A.ACCEPTED, A.IN_PROGRESS], target=A.REJECTED)
    def reject(self, rationale: str) -> None:
        self.rejection_rationale = rationale
