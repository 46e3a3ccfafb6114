"""Gate requests and their required approvals (DESIGN §5.1 "Requests and approvals")."""

from __future__ import annotations

import pghistory
from django.conf import settings
from django.db import models

from measures.choices import ApproverRole, Decision, GateRequestState


@pghistory.track()
class GateRequest(models.Model):
    measure = models.ForeignKey("measures.Measure", on_delete=models.CASCADE, related_name="gate_requests")
    from_doi = models.PositiveSmallIntegerField()
    to_doi = models.PositiveSmallIntegerField()
    state = models.CharField(
        max_length=20, choices=GateRequestState.choices, default=GateRequestState.PENDING
    )
    requested_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    # Who owned the measure when the request was made: neither they nor the requester may approve.
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    requested_at = models.DateTimeField(auto_now_add=True)
    comment = models.TextField(blank=True)
    decided_at = models.DateTimeField(null=True, blank=True)
    unmet_criteria = models.JSONField(default=list, blank=True)

    class Meta:
        ordering = ["-requested_at", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["measure"],
                condition=models.Q(state="pending"),
                name="gate_request_one_pending_per_measure",
            ),
            models.CheckConstraint(
                condition=models.Q(to_doi=models.F("from_doi") + 1), name="gate_request_next"
            ),
        ]

    def __str__(self) -> str:
        return f"DoI {self.from_doi}→{self.to_doi} for {self.measure_id}"


class GateApproval(models.Model):
    """One required approval of a request: the role that must approve, and who decided."""

    request = models.ForeignKey(GateRequest, on_delete=models.CASCADE, related_name="approvals")
    role = models.CharField(max_length=20, choices=ApproverRole.choices)
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    decision = models.CharField(max_length=20, choices=Decision.choices, default=Decision.PENDING)
    comment = models.TextField(blank=True)
    decided_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["request", "id"]
        constraints = [
            models.UniqueConstraint(fields=["request", "role"], name="gate_approval_one_per_role"),
            models.UniqueConstraint(
                fields=["request", "user"],
                condition=models.Q(user__isnull=False),
                name="gate_approval_one_per_person",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.get_role_display()}: {self.get_decision_display()}"
