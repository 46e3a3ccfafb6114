"""Appending to and verifying the hash-chained audit log (DESIGN §5.1; ADR 0004)."""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

from django.db import connection, transaction
from django.utils import timezone

from measures.models import AuditEntry

AUDIT_LOCK = 7_201_004  # pg advisory lock key: appends happen one at a time, in id order
GENESIS = "0" * 64


def plain(value: Any) -> Any:
    """A JSON value that survives a round trip through jsonb unchanged (no floats, no objects)."""
    if isinstance(value, dict):
        return {str(key): plain(item) for key, item in value.items()}
    if isinstance(value, list | tuple | set):
        return [plain(item) for item in value]
    if isinstance(value, Decimal | date | datetime):
        return str(value)
    if isinstance(value, float):
        return str(value)
    if value is None or isinstance(value, bool | int | str):
        return value
    return getattr(value, "pk", str(value))


def entry_hash(entry: AuditEntry) -> str:
    content = {
        "at": entry.at.astimezone(UTC).isoformat(),
        "actor_id": entry.actor_id,
        "actor_name": entry.actor_name,
        "action": entry.action,
        "subject_type": entry.subject_type,
        "subject_id": entry.subject_id,
        "measure_id": entry.measure_id,
        "before": entry.before,
        "after": entry.after,
        "comment": entry.comment,
        "prev_hash": entry.prev_hash,
    }
    canonical = json.dumps(content, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(canonical.encode()).hexdigest()


def audit_append(
    *,
    actor,
    action: str,
    subject: Any,
    measure_id: int | None = None,
    before: dict | None = None,
    after: dict | None = None,
    comment: str = "",
) -> AuditEntry:
    """Append one row to the chain. Runs inside the caller's transaction, so the row exists exactly
    when the change it records does; the advisory lock serialises appends until commit."""
    with transaction.atomic():
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_xact_lock(%s)", [AUDIT_LOCK])
        last = AuditEntry.objects.order_by("-id").values_list("hash", flat=True).first()
        entry = AuditEntry(
            at=timezone.now(),
            actor_id=getattr(actor, "pk", None),
            actor_name=getattr(actor, "username", "") or "",
            action=action,
            subject_type=type(subject).__name__.lower() if subject is not None else "",
            subject_id=getattr(subject, "pk", None),
            measure_id=measure_id,
            before=plain(before or {}),
            after=plain(after or {}),
            comment=comment,
            prev_hash=last or GENESIS,
        )
        entry.hash = entry_hash(entry)
        entry.save(force_insert=True)
    return entry


@dataclass
class AuditProblem:
    entry_id: int
    reason: str


def audit_verify() -> AuditProblem | None:
    """Walk the chain in id order; return the first row whose content or link does not match."""
    previous = GENESIS
    for entry in AuditEntry.objects.order_by("id").iterator(chunk_size=2000):
        if entry.prev_hash != previous:
            return AuditProblem(
                entry.pk, "its link to the previous row is broken (a row was removed or altered)"
            )
        if entry_hash(entry) != entry.hash:
            return AuditProblem(entry.pk, "its content does not match its hash (the row was altered)")
        previous = entry.hash
    return None
