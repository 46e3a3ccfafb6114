"""Background work of the read cache."""

from __future__ import annotations

from celery import shared_task

from readcache.services import compact_changes


@shared_task(name="readcache.compact_changes", acks_late=True)
def compact_changes_task() -> None:
    """Keep the change rows that `data_version` counts few (ADR 0014)."""
    compact_changes()
