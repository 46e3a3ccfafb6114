"""The lease on a report run (ADR 0007). A renderer holds a run while its lease is live and renews
it from a heartbeat thread while WeasyPrint works; a run whose lease lapsed — its renderer died —
may be claimed again, within about one lease. The lease is short so that a lost render resumes
soon; the heartbeat keeps a long render held however long it takes."""

from __future__ import annotations

import logging
import threading
from datetime import datetime, timedelta

from django.conf import settings
from django.db import InterfaceError, OperationalError, connections
from django.db.models import Q
from django.utils import timezone

from reporting.models import ReportRun, RunStatus

log = logging.getLogger(__name__)


def lease_seconds() -> int:
    return settings.VALUEGATE_REPORT_LEASE_SECONDS


def heartbeat_seconds() -> float:
    """Renew four times per lease: one or two missed beats (a busy database) do not lose it."""
    return lease_seconds() / 4


def lease_end() -> datetime:
    return timezone.now() + timedelta(seconds=lease_seconds())


def claimable() -> Q:
    """Runs a renderer may claim: queued, or rendering under a lease that lapsed. (A run claimed
    before leases were stored has none; its start time stands in for the last renewal.)"""
    now = timezone.now()
    lapsed = Q(lease_expires_at__lt=now) | Q(
        lease_expires_at__isnull=True, started_at__lt=now - timedelta(seconds=lease_seconds())
    )
    return Q(status=RunStatus.QUEUED) | (Q(status=RunStatus.RENDERING) & lapsed)


def held(*, run_id: int, attempt: int):
    """The run, only while the claim numbered `attempt` still holds it."""
    return ReportRun.objects.filter(pk=run_id, status=RunStatus.RENDERING, attempts=attempt)


def lease_renew(*, run_id: int, attempt: int) -> bool:
    """Extend the lease by a full term; False when the run is no longer this claim's (finished,
    handed back, or claimed again by another renderer after the lease lapsed)."""
    return held(run_id=run_id, attempt=attempt).update(lease_expires_at=lease_end()) == 1


def lease_remaining(*, run_id: int) -> float | None:
    """Seconds until the lease of a rendering run lapses (0 if it has); None if it is not rendering."""
    run = ReportRun.objects.filter(pk=run_id, status=RunStatus.RENDERING).only("lease_expires_at").first()
    if run is None:
        return None
    if run.lease_expires_at is None:
        return float(lease_seconds())
    return max(0.0, (run.lease_expires_at - timezone.now()).total_seconds())


class LeaseHeartbeat:
    """`with LeaseHeartbeat(run_id=..., attempt=...):` renews the lease every heartbeat_seconds()
    from a thread (with its own database connection) until the block ends or a renewal finds the
    run no longer ours; `lost` then says so."""

    def __init__(self, *, run_id: int, attempt: int, every: float | None = None) -> None:
        self.run_id, self.attempt = run_id, attempt
        self.every = heartbeat_seconds() if every is None else every
        self.lost = False
        self.renewals = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._beat, name=f"lease-run-{run_id}", daemon=True)

    def __enter__(self) -> LeaseHeartbeat:
        self._thread.start()
        return self

    def __exit__(self, *exc_info) -> None:
        self._stop.set()
        self._thread.join(timeout=self.every + 10)

    def _beat(self) -> None:
        try:
            while not self._stop.wait(self.every):
                if not self._renew():
                    self.lost = True
                    log.warning("Report run %s: lease of attempt %s lost", self.run_id, self.attempt)
                    return
        finally:
            connections.close_all()  # this thread's connections only

    def _renew(self) -> bool:
        try:
            renewed = lease_renew(run_id=self.run_id, attempt=self.attempt)
        except (OperationalError, InterfaceError) as exc:  # try again at the next beat
            log.warning("Report run %s: could not renew the lease: %s", self.run_id, exc)
            connections.close_all()
            return True
        self.renewals += renewed
        return renewed
