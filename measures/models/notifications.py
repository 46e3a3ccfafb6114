"""In-app notifications: the "waiting for you" items that are not pending approvals (those are
computed from open approvals), e.g. a rejected gate request the owner must revise."""

from __future__ import annotations

from django.conf import settings
from django.db import models

from measures.choices import NotificationKind


class Notification(models.Model):
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="notifications")
    kind = models.CharField(max_length=30, choices=NotificationKind.choices)
    measure = models.ForeignKey("measures.Measure", on_delete=models.CASCADE, related_name="notifications")
    gate_request = models.ForeignKey(
        "measures.GateRequest", null=True, blank=True, on_delete=models.CASCADE, related_name="notifications"
    )
    message = models.TextField()
    created_at = models.DateTimeField(auto_now_add=True)
    resolved_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["user", "resolved_at"])]

    def __str__(self) -> str:
        return self.message[:80]
