"""What surrounds a measure (DESIGN §5.4): milestones, risks, dependencies, documents, comments."""

from __future__ import annotations

import pghistory
from django.conf import settings
from django.db import models

from measures.choices import DependencyKind, DocumentKind, RiskStatus


@pghistory.track()
class Milestone(models.Model):
    measure = models.ForeignKey("measures.Measure", on_delete=models.CASCADE, related_name="milestones")
    title = models.CharField(max_length=200)
    due_date = models.DateField()
    critical = models.BooleanField(default=False)
    completed_at = models.DateField(null=True, blank=True)
    evidence_note = models.TextField(blank=True)
    evidence_document = models.ForeignKey(
        "measures.Document", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    class Meta:
        ordering = ["due_date", "id"]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(completed_at__isnull=True)
                | ~models.Q(evidence_note="")
                | models.Q(evidence_document__isnull=False),
                name="milestone_completion_has_evidence",
            ),
        ]

    def __str__(self) -> str:
        return self.title

    @property
    def has_evidence(self) -> bool:
        return bool(self.evidence_note or self.evidence_document_id)


@pghistory.track()
class Risk(models.Model):
    measure = models.ForeignKey("measures.Measure", on_delete=models.CASCADE, related_name="risks")
    title = models.CharField(max_length=200)
    probability = models.PositiveSmallIntegerField()
    impact = models.PositiveSmallIntegerField()
    mitigation = models.TextField(blank=True)
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    status = models.CharField(max_length=20, choices=RiskStatus.choices, default=RiskStatus.OPEN)

    class Meta:
        ordering = ["-id"]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(probability__gte=1, probability__lte=5, impact__gte=1, impact__lte=5),
                name="risk_scales_one_to_five",
            ),
        ]

    def __str__(self) -> str:
        return self.title

    @property
    def score(self) -> int:
        return self.probability * self.impact


@pghistory.track()
class Dependency(models.Model):
    """`source` blocks / relates to / overlaps `target`; an overlap carries the share of value that
    may be counted twice (the overlap register)."""

    source = models.ForeignKey("measures.Measure", on_delete=models.CASCADE, related_name="dependencies")
    target = models.ForeignKey("measures.Measure", on_delete=models.CASCADE, related_name="dependents")
    kind = models.CharField(max_length=20, choices=DependencyKind.choices)
    share_percent = models.DecimalField(max_digits=5, decimal_places=2, null=True, blank=True)
    note = models.TextField(blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["id"]
        verbose_name_plural = "dependencies"
        constraints = [
            models.CheckConstraint(
                condition=~models.Q(source=models.F("target")), name="dependency_not_self"
            ),
            models.UniqueConstraint(fields=["source", "target", "kind"], name="dependency_unique"),
            models.CheckConstraint(
                condition=~models.Q(kind="overlaps") | models.Q(share_percent__gt=0, share_percent__lte=100),
                name="dependency_overlap_share",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.source} {self.kind} {self.target}"


class Document(models.Model):
    measure = models.ForeignKey("measures.Measure", on_delete=models.CASCADE, related_name="documents")
    kind = models.CharField(max_length=20, choices=DocumentKind.choices, default=DocumentKind.OTHER)
    file = models.FileField(upload_to="documents/%Y/%m/")
    filename = models.CharField(max_length=200)
    content_type = models.CharField(max_length=120)
    size = models.PositiveBigIntegerField()
    sha256 = models.CharField(max_length=64)
    uploaded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    uploaded_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-uploaded_at", "-id"]

    def __str__(self) -> str:
        return self.filename


class Comment(models.Model):
    measure = models.ForeignKey("measures.Measure", on_delete=models.CASCADE, related_name="comments")
    author = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    body = models.TextField()
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["created_at", "id"]

    def __str__(self) -> str:
        return self.body[:60]
