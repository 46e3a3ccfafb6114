"""Celery tasks of reporting: thin wrappers that take ids and call one service each."""

from __future__ import annotations

import logging

from celery import Task, shared_task

from reporting import leases, services
from reporting.services import TRANSIENT

log = logging.getLogger(__name__)


class RenderTask(Task):
    def on_failure(self, exc, task_id, args, kwargs, einfo) -> None:
        services.report_run_fail(run_id=args[0], error=f"{type(exc).__name__}: {exc}")


@shared_task(
    base=RenderTask,
    bind=True,
    name="reporting.render_report_run",
    acks_late=True,
    reject_on_worker_lost=True,
    autoretry_for=TRANSIENT,
    retry_backoff=True,
    max_retries=3,
)
def render_report_run(self, run_id: int) -> None:
    """Render the run. When another renderer holds it — typically this very message, redelivered
    because its worker process died mid-render — come back when that lease lapses: a dead
    renderer's run is then claimed at once instead of waiting for beat (ADR 0007). An in-process
    (eager) call has no broker to come back through."""
    if services.report_run_render(run_id=run_id) is None and not self.request.is_eager:
        wait = leases.lease_remaining(run_id=run_id)
        if wait is not None:
            try:
                render_report_run.apply_async(args=[run_id], countdown=wait + 1, retry=False)
            except Exception as exc:  # kombu raises several connection error types
                log.warning("Report run %s: could not queue the look after its lease: %s", run_id, exc)


@shared_task(name="reporting.requeue_report_runs", acks_late=True)
def requeue_report_runs() -> int:
    return services.report_runs_requeue()


@shared_task(name="reporting.run_report_schedule", acks_late=True, autoretry_for=TRANSIENT, max_retries=3)
def run_report_schedule(schedule_id: int) -> None:
    services.report_schedule_deliver(schedule_id=schedule_id)


@shared_task(name="reporting.take_snapshots", acks_late=True, autoretry_for=TRANSIENT, max_retries=3)
def take_snapshots() -> int:
    return services.snapshots_take()
