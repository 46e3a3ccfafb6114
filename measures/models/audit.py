"""The tamper-evident governance audit log (DESIGN §5.1 "Audit log"; ADR 0004).

Rows are appended by `measures.services.audit.audit_append` only, one at a time under an advisory
lock, each carrying the SHA-256 of its content and of the row before it. A database trigger refuses
UPDATE and DELETE; `manage.py verify_audit` recomputes the chain.
"""

from __future__ import annotations

import pgtrigger
from django.db import models


class AuditEntry(models.Model):
    at = models.DateTimeField()
    actor_id = models.BigIntegerField(null=True, blank=True)
    actor_name = models.CharField(max_length=150, blank=True)
    action = models.CharField(max_length=60)
    subject_type = models.CharField(max_length=60)
    subject_id = models.BigIntegerField(null=True, blank=True)
    measure_id = models.BigIntegerField(null=True, blank=True, db_index=True)
    before = models.JSONField(default=dict, blank=True)
    after = models.JSONField(default=dict, blank=True)
    comment = models.TextField(blank=True)
    prev_hash = models.CharField(max_length=64)
    hash = models.CharField(max_length=64, unique=True)

    class Meta:
        ordering = ["id"]
        verbose_name_plural = "audit entries"
        triggers = [
            pgtrigger.Protect(name="append_only", operation=pgtrigger.Update | pgtrigger.Delete),
        ]

    def __str__(self) -> str:
        return f"#{self.pk} {self.action} by {self.actor_name or 'system'}"

    @property
    def action_label(self) -> str:
        return self.action.replace("_", " ").capitalize()
