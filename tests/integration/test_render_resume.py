"""A render whose worker process dies resumes within about a minute (ADR 0007), and the lease
that decides it: a lapsed lease is claimable, a live (renewed) one is not.

The integration test runs the production worker command against the test PostgreSQL and Redis,
with the default lease, and SIGKILLs the pool child mid-render the way an OOM kill would. The
Celery main process survives, the message comes back (acks_late + reject_on_worker_lost), finds
the dead renderer's lease still live, and looks again when it lapses."""

from __future__ import annotations

import io
import os
import signal
import time
from datetime import timedelta
from pathlib import Path

import pytest
from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.management import call_command
from django.utils import timezone
from pypdf import PdfReader

from measures.models import Scope
from reporting import leases, services
from reporting.models import ReportRun, RunStatus
from tests.integration.processes import process_env, running, wait_until, worker_args
from tests.integration.test_faults import killed_runs  # noqa: F401 (fixture: leaves the broker clean)


def _claimed(run: ReportRun) -> int:
    attempt = services.report_run_claim(run_id=run.pk)
    assert attempt is not None
    return attempt


def _lapse(run: ReportRun) -> None:
    ReportRun.objects.filter(pk=run.pk).update(lease_expires_at=timezone.now() - timedelta(seconds=1))


def test_a_lapsed_lease_is_claimable_and_a_live_one_is_not(db):
    run = ReportRun.objects.create(kind="steering_pack", parameters={"scope": 1}, params_hash="x")
    first = _claimed(run)
    assert services.report_run_claim(run_id=run.pk) is None  # held: the lease is live
    run.refresh_from_db()
    assert run.lease_expires_at - timezone.now() > timedelta(
        seconds=settings.VALUEGATE_REPORT_LEASE_SECONDS - 5
    )

    _lapse(run)
    assert leases.lease_renew(run_id=run.pk, attempt=first)  # the renderer is alive after all
    assert services.report_run_claim(run_id=run.pk) is None

    _lapse(run)  # the renderer died: nobody renews
    second = _claimed(run)
    assert second == first + 1
    assert not leases.lease_renew(run_id=run.pk, attempt=first)  # the dead claim's renewal stops
    services.report_run_fail(run_id=run.pk, error="late", attempt=first)  # nor can it fail the run
    run.refresh_from_db()
    assert (run.status, run.attempts, run.error) == (RunStatus.RENDERING, second, "")


def test_the_heartbeat_renews_until_the_run_is_claimed_by_another(transactional_db):
    run = ReportRun.objects.create(kind="steering_pack", parameters={"scope": 1}, params_hash="x")
    attempt = _claimed(run)
    with leases.LeaseHeartbeat(run_id=run.pk, attempt=attempt, every=0.1) as heartbeat:
        _lapse(run)
        wait_until(
            lambda: ReportRun.objects.get(pk=run.pk).lease_expires_at > timezone.now(),
            timeout=5,
            what="the heartbeat to renew the lapsed lease",
        )
        assert services.report_run_claim(run_id=run.pk) is None
        ReportRun.objects.filter(pk=run.pk).update(attempts=attempt + 1)  # claimed elsewhere
        wait_until(lambda: heartbeat.lost, timeout=5, what="the heartbeat to notice")
        renewals = heartbeat.renewals
        time.sleep(0.3)
        assert heartbeat.renewals == renewals >= 1


def _pool_child(pid: int) -> int:
    """The one pool process (-c 1) of the Celery main process `pid`."""
    children = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[1]) == pid:
            children.append(int(stat.parent.name))
    assert len(children) == 1, children
    return children[0]


@pytest.mark.integration
def test_a_render_whose_worker_child_is_killed_is_done_within_90_seconds(
    transactional_db,
    killed_runs,  # noqa: F811
    tmp_path,
):
    assert settings.VALUEGATE_REPORT_LEASE_SECONDS == 60  # the default, not a test-only lease
    # Enough measures that the steering pack takes seconds to render: time to kill the child.
    call_command("seed_bench", measures=120, incidents=0, months=12, stdout=io.StringIO())
    portfolio = Scope.objects.get(parent=None)
    leader = get_user_model().objects.get(username="bench-leader")
    media = tmp_path / "media"
    env = process_env(MEDIA_ROOT=str(media))
    env.pop("VALUEGATE_REPORT_LEASE_SECONDS", None)

    with running(worker_args(), env, tmp_path / "worker.log") as worker:
        run = services.report_run_request(kind="steering_pack", parameters={"scope": portfolio.pk}, by=leader)
        killed_runs.append(run.pk)
        wait_until(
            lambda: ReportRun.objects.filter(pk=run.pk, status=RunStatus.RENDERING).exists(),
            timeout=40,
            interval=0.05,
            what="the worker to claim the run",
        )
        os.kill(_pool_child(worker.pid), signal.SIGKILL)
        killed_at = time.monotonic()
        run.refresh_from_db()
        assert (run.status, run.attempts) == (RunStatus.RENDERING, 1)

        wait_until(
            lambda: ReportRun.objects.filter(pk=run.pk, status__in=["done", "failed"]).exists(),
            timeout=90,
            what="the killed render to be resumed and finished",
        )
        resumed_after = time.monotonic() - killed_at

    run.refresh_from_db()
    assert run.status == RunStatus.DONE, run.error
    assert resumed_after < 90
    assert run.attempts == 2 and run.error == "" and run.lease_expires_at is None
    files = sorted((media / "reports").rglob("*.pdf"))
    assert [path.relative_to(media).as_posix() for path in files] == [run.file.name]
    text = "\n".join(page.extract_text() or "" for page in PdfReader(io.BytesIO(files[0].read_bytes())).pages)
    assert "Bench portfolio" in text
    assert "SIGKILL" in (tmp_path / "worker.log").read_text()  # the child did die
