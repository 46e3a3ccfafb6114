"""The tamper-evident governance audit log (DESIGN §5.1 "Audit log"; ADR 0004, ADR 0015).

Rows are appended by `measures.services.audit.audit_append` only, one at a time under an advisory
lock, each carrying the SHA-256 of its content and of the row before it. Database triggers refuse
UPDATE, DELETE and TRUNCATE; `manage.py verify_audit` recomputes the chain and compares it with the
checkpoints, which anchor its length and head where the audit rows are not.
"""

from __future__ import annotations

import pgtrigger
from django.db import models

# pgtrigger's Protect supports TRUNCATE only as a row trigger, which PostgreSQL does not allow;
# a plain BEFORE ... FOR EACH STATEMENT trigger refuses it.
NO_TRUNCATE = pgtrigger.Trigger(
    name="no_truncate",
    when=pgtrigger.Before,
    operation=pgtrigger.Truncate,
    level=pgtrigger.Statement,
    func="RAISE EXCEPTION 'pgtrigger: Cannot truncate % table', TG_TABLE_NAME;",
)


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
            NO_TRUNCATE,
        ]

    def __str__(self) -> str:
        return f"#{self.pk} {self.action} by {self.actor_name or 'system'}"

    @property
    def action_label(self) -> str:
        return self.action.replace("_", " ").capitalize()


class AuditCheckpoint(models.Model):
    """What the audit chain looked like at `at`: its row count, last id and head hash (ADR 0015).

    Each checkpoint carries an HMAC (keyed from SECRET_KEY) over its content and the previous
    checkpoint's `mac`, so the checkpoints are a chain of their own that cannot be edited or
    forged without the key; `prev_mac` is unique, so the chain cannot fork."""

    at = models.DateTimeField()
    row_count = models.BigIntegerField()
    last_id = models.BigIntegerField(null=True, blank=True)  # None while the log is empty
    head_hash = models.CharField(max_length=64)
    prev_mac = models.CharField(max_length=64, unique=True)
    mac = models.CharField(max_length=64, unique=True)

    class Meta:
        ordering = ["id"]
        default_permissions = ("view",)
        constraints = [
            models.CheckConstraint(condition=models.Q(row_count__gte=0), name="checkpoint_count_gte_0"),
        ]
        triggers = [
            pgtrigger.Protect(name="append_only", operation=pgtrigger.Update | pgtrigger.Delete),
            NO_TRUNCATE,
        ]

    def __str__(self) -> str:
        return f"checkpoint of {self.at:%Y-%m-%d %H:%M:%S} ({self.row_count} rows)"
