"""Background work of the measures app."""

from __future__ import annotations

from celery import shared_task

from measures.selectors import refresh_figures
from measures.services.audit import audit_checkpoint, checkpoint_time


@shared_task(name="measures.refresh_figures", acks_late=True)
def refresh_figures_task() -> None:
    """Bring the stored figure rows up to date (ADR 0013): after a change, and after midnight."""
    refresh_figures()


@shared_task(name="measures.audit_checkpoint", acks_late=True)
def audit_checkpoint_task() -> str:
    """Anchor the audit chain every five minutes (ADR 0015; beat schedule in migration 0010). Fails,
    writing nothing, when the chain no longer holds what the latest checkpoint saw. The returned line
    lands in the worker's log: a copy of the anchor outside the database."""
    checkpoint = audit_checkpoint()
    return f"checkpoint of {checkpoint_time(checkpoint)}: {checkpoint.row_count} rows, mac {checkpoint.mac}"
