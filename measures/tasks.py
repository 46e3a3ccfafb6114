"""Background work of the measures app."""

from __future__ import annotations

from celery import shared_task

from measures.selectors import refresh_figures


@shared_task(name="measures.refresh_figures", acks_late=True)
def refresh_figures_task() -> None:
    """Bring the stored figure rows up to date (ADR 0013): after a change, and after midnight."""
    refresh_figures()
