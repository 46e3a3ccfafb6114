"""What happens during an incident: the timeline, status updates and vendor escalations."""

from __future__ import annotations

import pghistory
import pgtrigger
from django.conf import settings
from django.db import models

from incidents.choices import Audience, Channel, EntryKind, UpdateKind, UpdateState
from incidents.models.incident import Incident


class TimelineEntry(models.Model):
    """One fact on the incident's timeline. Append-only: the database refuses any change but the
    `pinned` flag, and any delete; a correction is a new entry that points at the one it corrects."""

    incident = models.ForeignKey(Incident, on_delete=models.PROTECT, related_name="timeline")
    kind = models.CharField(max_length=20, choices=EntryKind.choices)
    occurred_at = models.DateTimeField()
    recorded_at = models.DateTimeField(auto_now_add=True)
    author = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    text = models.TextField()
    rationale = models.TextField(blank=True)
    alternatives = models.TextField(blank=True)
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    corrects = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.PROTECT, related_name="corrections"
    )
    pinned = models.BooleanField(default=False)

    class Meta:
        ordering = ["occurred_at", "id"]
        verbose_name_plural = "timeline entries"
        indexes = [models.Index(fields=["incident", "occurred_at"], name="timeline_incident_time")]
        constraints = [
            models.CheckConstraint(
                condition=~models.Q(kind=EntryKind.DECISION)
                | (~models.Q(rationale="") & models.Q(decided_by__isnull=False)),
                name="timeline_decision_has_rationale_and_decider",
            ),
        ]
        triggers = [
            pgtrigger.Protect(
                name="timeline_append_only",
                operation=pgtrigger.Update,
                condition=pgtrigger.AnyChange(exclude=["pinned"]),
            ),
            pgtrigger.Protect(name="timeline_no_delete", operation=pgtrigger.Delete),
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} at {self.occurred_at:%Y-%m-%d %H:%M}"


@pghistory.track()
class StatusUpdate(models.Model):
    """A communication to one audience (seed step 5) with the fields every update must carry."""

    incident = models.ForeignKey(Incident, on_delete=models.CASCADE, related_name="status_updates")
    kind = models.CharField(max_length=20, choices=UpdateKind.choices)
    audience = models.CharField(max_length=20, choices=Audience.choices)
    channel = models.CharField(max_length=20, choices=Channel.choices, default=Channel.EMAIL)
    affected_service = models.CharField(max_length=300)
    business_impact = models.TextField()
    current_status = models.TextField()
    workaround = models.TextField(blank=True)
    next_update_due_at = models.DateTimeField(null=True, blank=True)
    decisions_needed = models.TextField(blank=True)
    subject = models.CharField(max_length=300)
    body = models.TextField(blank=True)
    state = models.CharField(max_length=20, choices=UpdateState.choices, default=UpdateState.DRAFT)
    requires_approval = models.BooleanField(default=False)
    approved_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    approved_at = models.DateTimeField(null=True, blank=True)
    sent_at = models.DateTimeField(null=True, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["incident", "sent_at"], name="update_incident_sent")]
        constraints = [
            models.CheckConstraint(
                condition=~models.Q(state=UpdateState.SENT) | models.Q(sent_at__isnull=False),
                name="update_sent_has_time",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} to {self.get_audience_display()}"


@pghistory.track()
class VendorEscalation(models.Model):
    incident = models.ForeignKey(Incident, on_delete=models.CASCADE, related_name="vendor_escalations")
    vendor = models.CharField(max_length=200)
    contacted_at = models.DateTimeField()
    responded_at = models.DateTimeField(null=True, blank=True)
    reference = models.CharField(max_length=200, blank=True)
    notes = models.TextField(blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )

    class Meta:
        ordering = ["contacted_at", "id"]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(responded_at__isnull=True)
                | models.Q(responded_at__gte=models.F("contacted_at")),
                name="vendor_responded_after_contact",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.vendor} ({self.reference or 'no reference'})"

    @property
    def response_minutes(self) -> float | None:
        if self.responded_at is None:
            return None
        return (self.responded_at - self.contacted_at).total_seconds() / 60
