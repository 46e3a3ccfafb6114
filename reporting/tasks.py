"""Celery tasks of reporting: thin wrappers that take ids and call one service each."""

from __future__ import annotations

from celery import Task, shared_task

from reporting import services
from reporting.services import TRANSIENT


class RenderTask(Task):
    def on_failure(self, exc, task_id, args, kwargs, einfo) -> None:
        services.report_run_fail(run_id=args[0], error=f"{type(exc).__name__}: {exc}")


@shared_task(
    base=RenderTask,
    name="reporting.render_report_run",
    acks_late=True,
    reject_on_worker_lost=True,
    autoretry_for=TRANSIENT,
    retry_backoff=True,
    max_retries=3,
)
def render_report_run(run_id: int) -> None:
    services.report_run_render(run_id=run_id)


@shared_task(name="reporting.requeue_report_runs", acks_late=True)
def requeue_report_runs() -> int:
    return services.report_runs_requeue()


@shared_task(name="reporting.run_report_schedule", acks_late=True, autoretry_for=TRANSIENT, max_retries=3)
def run_report_schedule(schedule_id: int) -> None:
    services.report_schedule_deliver(schedule_id=schedule_id)


@shared_task(name="reporting.take_snapshots", acks_late=True, autoretry_for=TRANSIENT, max_retries=3)
def take_snapshots() -> int:
    return services.snapshots_take()
