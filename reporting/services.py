"""Report runs, schedules and snapshots (DESIGN §8). Tasks and views call these."""

from __future__ import annotations

import hashlib
import json
import logging
from datetime import timedelta

from django.conf import settings
from django.contrib.auth.models import AbstractBaseUser
from django.core.files.base import ContentFile
from django.core.mail import EmailMessage
from django.db import InterfaceError, OperationalError, transaction
from django.db.models import Q
from django.utils import timezone

from config.errors import NotFound
from measures import permissions
from reporting import leases, reports, selectors
from reporting.errors import ReportsUnavailable
from reporting.models import ReportRun, ReportSchedule, RunStatus
from reporting.pdf import render_pdf

log = logging.getLogger(__name__)

# Errors worth a retry: the database or the storage was briefly unreachable.
TRANSIENT = (OperationalError, InterfaceError, ConnectionError, TimeoutError)


def _params_hash(kind: str, parameters: dict) -> str:
    return hashlib.sha256(json.dumps([kind, parameters], sort_keys=True).encode()).hexdigest()


def report_subject(*, kind: str, parameters: dict, user: AbstractBaseUser | None):
    """The object a report is about, if `user` may see it (None = the system, for schedules)."""
    spec = reports.spec_for(kind)
    return spec, spec.subject(user, reports.subject_id(spec, parameters))


def report_run_request(*, kind: str, parameters: dict, by: AbstractBaseUser) -> ReportRun:
    """Record a run and queue it. An identical run of the same person still queued or rendering
    is returned instead of a duplicate. If the queue is down the run stays recorded as queued
    (the requeue task picks it up) and ReportsUnavailable tells the person so."""
    spec, _ = report_subject(kind=kind, parameters=parameters, user=by)
    parameters = {spec.param: reports.subject_id(spec, parameters)}
    digest = _params_hash(kind, parameters)
    with transaction.atomic():
        existing = (
            ReportRun.objects.select_for_update()
            .filter(requested_by=by, params_hash=digest, status__in=[RunStatus.QUEUED, RunStatus.RENDERING])
            .first()
        )
        if existing:
            return existing
        run = ReportRun.objects.create(kind=kind, parameters=parameters, params_hash=digest, requested_by=by)
    _enqueue(run)
    return run


def _enqueue(run: ReportRun) -> None:
    from reporting.tasks import render_report_run

    try:
        render_report_run.apply_async(args=[run.pk], retry=False)
    except Exception as exc:  # kombu raises several connection error types
        log.warning("Could not queue report run %s: %s", run.pk, exc)
        raise ReportsUnavailable(
            f"Reports are temporarily unavailable (the queue cannot be reached). Your request "
            f"#{run.pk} is kept and will be produced as soon as the queue is back."
        ) from exc


def report_run_claim(*, run_id: int) -> int | None:
    """Compare-and-swap (STYLE §9): only one renderer holds a run. Claims a queued run, or one
    whose renderer died (its lease lapsed, ADR 0007); returns the claim's attempt number, which
    the heartbeat and the final write check, or None when the run is not claimable."""
    attempts = (
        ReportRun.objects.filter(leases.claimable(), pk=run_id).values_list("attempts", flat=True).first()
    )
    if attempts is None:
        return None
    claimed = ReportRun.objects.filter(leases.claimable(), pk=run_id, attempts=attempts).update(
        status=RunStatus.RENDERING,
        started_at=timezone.now(),
        lease_expires_at=leases.lease_end(),
        attempts=attempts + 1,
        error="",
    )
    return attempts + 1 if claimed == 1 else None


def report_run_render(*, run_id: int) -> ReportRun | None:
    """Render a claimed run into its PDF file, drawn for the run's reader (its requester; the
    system only when that person was deleted, and then only admins may fetch it): the document
    shows only what the reader may open (DESIGN §4). Safe to call twice: the second call finds the
    run held or done and does nothing. The lease is renewed while WeasyPrint works."""
    attempt = report_run_claim(run_id=run_id)
    if attempt is None:
        return None
    run = ReportRun.objects.select_related("requested_by").get(pk=run_id)
    reader = run.requested_by or selectors.system_reader()
    try:
        with leases.LeaseHeartbeat(run_id=run_id, attempt=attempt):
            spec, subject = report_subject(kind=run.kind, parameters=run.parameters, user=reader)
            pdf, pages = render_pdf(spec.template, reports.build(spec, subject, reader))
    except TRANSIENT:
        # Hand the run back so the task's retry can claim it (if even this fails, the lease
        # lapses and the run is claimed again after it).
        leases.held(run_id=run_id, attempt=attempt).update(status=RunStatus.QUEUED, lease_expires_at=None)
        raise
    except Exception as exc:
        log.exception("Report run %s failed", run_id)
        report_run_fail(run_id=run_id, error=f"{type(exc).__name__}: {exc}", attempt=attempt)
        return ReportRun.objects.get(pk=run_id)
    return _store(run_id, attempt, pdf, pages)


def _store(run_id: int, attempt: int, pdf: bytes, pages: int) -> ReportRun:
    """Keep the file, unless the run stopped being this claim's while it rendered (its lease
    lapsed and another renderer claimed it): then that renderer's file is the one."""
    digest = hashlib.sha256(pdf).hexdigest()
    with transaction.atomic():
        run = ReportRun.objects.select_for_update().get(pk=run_id)
        if run.status != RunStatus.RENDERING or run.attempts != attempt:
            return run
        run.file.save(f"{run.kind}-{run.pk}.pdf", ContentFile(pdf), save=False)
        run.sha256, run.pages, run.size_bytes = digest, pages, len(pdf)
        run.status, run.finished_at, run.lease_expires_at = RunStatus.DONE, timezone.now(), None
        run.save()
    return run


def report_run_fail(*, run_id: int, error: str, attempt: int | None = None) -> None:
    """Record the error; with `attempt`, only while that claim still holds the run."""
    runs = ReportRun.objects.filter(pk=run_id).exclude(status=RunStatus.DONE)
    if attempt is not None:
        runs = leases.held(run_id=run_id, attempt=attempt)
    runs.update(
        status=RunStatus.FAILED, finished_at=timezone.now(), lease_expires_at=None, error=error[:4000]
    )


def report_runs_requeue() -> int:
    """Queue again what is waiting: runs recorded while the queue was down, and runs whose
    renderer died. Returns how many were queued."""
    stale_queued = timezone.now() - timedelta(seconds=60)
    ids = list(
        ReportRun.objects.filter(leases.claimable())
        .filter(Q(status=RunStatus.RENDERING) | Q(created_at__lt=stale_queued))
        .values_list("pk", flat=True)[:200]
    )
    for pk in ids:
        try:
            _enqueue(ReportRun(pk=pk))
        except ReportsUnavailable:
            break
    return len(ids)


def report_run_for_download(*, run_id: int, user: AbstractBaseUser) -> ReportRun:
    """A finished run's file, only for someone who may see its subject now."""
    run = ReportRun.objects.filter(pk=run_id).first() if str(run_id).isdigit() else None
    if run is None or not (run.requested_by_id == user.pk or permissions.is_admin(user)):
        raise NotFound("No such report.")
    report_subject(kind=run.kind, parameters=run.parameters, user=user)
    return run


# --- Schedules --------------------------------------------------------------------------------


def report_schedule_deliver(*, schedule_id: int) -> list[ReportRun]:
    """Render the schedule's report once per recipient who may still see its scope, drawn for
    that recipient, and mail each their own copy: recipients see only what they may see
    (DESIGN §8). Returns the runs, one per recipient served."""
    schedule = ReportSchedule.objects.select_related("scope").filter(pk=schedule_id, active=True).first()
    if schedule is None:
        return []
    spec = reports.spec_for(schedule.kind)
    parameters = {spec.param: schedule.scope_id}
    runs = []
    for user in schedule.recipients.filter(is_active=True).exclude(email="").order_by("pk"):
        if not permissions.can_see_scope(user, schedule.scope):
            continue
        run = ReportRun.objects.create(
            kind=schedule.kind,
            parameters=parameters,
            params_hash=_params_hash(schedule.kind, parameters),
            schedule=schedule,
            requested_by=user,
        )
        run = report_run_render(run_id=run.pk) or run
        if run.status == RunStatus.DONE:
            _mail_run(run, schedule=schedule, title=spec.title(schedule.scope), to=user.email)
        runs.append(run)
    return runs


def _mail_run(run: ReportRun, *, schedule: ReportSchedule, title: str, to: str) -> None:
    message = EmailMessage(
        subject=f"[Valuegate] {schedule.name}",
        body=f"{title} — attached, generated {run.finished_at:%Y-%m-%d %H:%M %Z}.",
        to=[to],
    )
    with run.file.open("rb") as handle:
        message.attach(run.file.name.rsplit("/", 1)[-1], handle.read(), "application/pdf")
    message.send()


def _crontab_for(schedule: ReportSchedule):
    from django_celery_beat.models import CrontabSchedule

    weekly = schedule.frequency == "weekly"
    crontab, _ = CrontabSchedule.objects.get_or_create(
        minute=str(schedule.time.minute),
        hour=str(schedule.time.hour),
        day_of_week=str(schedule.weekday % 7) if weekly else "*",
        day_of_month="*" if weekly else str(schedule.day_of_month),
        month_of_year="*",
        timezone=settings.TIME_ZONE,
    )
    return crontab


def report_schedule_create(
    *,
    name: str,
    kind: str,
    scope,
    frequency: str,
    time,
    recipients: list,
    by: AbstractBaseUser,
    weekday: int = 1,
    day_of_month: int = 1,
) -> ReportSchedule:
    """A recurring report. Refused when the creator or any recipient may not see the scope:
    a schedule never mails a report to someone outside it (DESIGN §8)."""
    from django_celery_beat.models import PeriodicTask

    from config.errors import InvalidInput, PermissionRefused

    reports.spec_for(kind)
    if not permissions.can_see_scope(by, scope):
        raise NotFound("No such scope, or it lies outside your scopes.")
    if not (
        permissions.is_admin(by) or permissions.has_scope_role(by, scope, "program_manager", "controller")
    ):
        raise PermissionRefused(
            "Only a program manager or controller of the scope (or an admin) schedules reports."
        )
    if not recipients:
        raise InvalidInput("Name at least one recipient.", details={"recipients": ["Required."]})
    outside = [user.username for user in recipients if not permissions.can_see_scope(user, scope)]
    if outside:
        raise InvalidInput(
            f"These recipients may not see '{scope.name}': {', '.join(outside)}. Remove them or grant them a role first.",
            details={"recipients": [f"{name} may not see this scope." for name in outside]},
        )
    with transaction.atomic():
        schedule = ReportSchedule.objects.create(
            name=name,
            kind=kind,
            scope=scope,
            frequency=frequency,
            weekday=weekday,
            day_of_month=day_of_month,
            time=time,
            created_by=by,
        )
        schedule.recipients.set(recipients)
        schedule.periodic_task = PeriodicTask.objects.create(
            name=f"Report schedule {schedule.pk}: {name}"[:200],
            task="reporting.run_report_schedule",
            crontab=_crontab_for(schedule),
            args=json.dumps([schedule.pk]),
        )
        schedule.save(update_fields=["periodic_task"])
    return schedule


def report_schedule_delete(*, schedule: ReportSchedule, by: AbstractBaseUser) -> None:
    from config.errors import PermissionRefused

    if not (permissions.is_admin(by) or schedule.created_by_id == by.pk):
        raise PermissionRefused("Only the schedule's creator or an admin may delete it.")
    with transaction.atomic():
        if schedule.periodic_task:
            schedule.periodic_task.delete()
        schedule.delete()


# --- Snapshots --------------------------------------------------------------------------------


def snapshots_take(*, day=None) -> int:
    """Store today's key figures for every scope; running twice replaces, never duplicates."""
    from reporting.models import Snapshot
    from reporting.selectors import scope_key_figures

    day = day or timezone.localdate()
    count = 0
    for scope_id, figures in scope_key_figures().items():
        Snapshot.objects.update_or_create(scope_id=scope_id, taken_on=day, defaults={"figures": figures})
        count += 1
    return count
