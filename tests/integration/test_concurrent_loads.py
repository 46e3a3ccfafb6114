"""Loads that may run twice at once: `demo` started in two terminals, and two nightly snapshot
runs (beat fired twice, or a manual run during the nightly one). Neither duplicates anything."""

from __future__ import annotations

import subprocess
import sys
import threading
from datetime import timedelta

import pytest
from django.apps import apps
from django.db import connection, transaction
from django.utils import timezone

from measures.models import Measure, Scope
from reporting import services
from reporting.management.commands.demo import DEMO_LOCK
from reporting.models import Snapshot
from tests.integration.processes import ROOT, process_env, wait_until

pytestmark = [pytest.mark.integration, pytest.mark.postgres_concurrency]


def _row_counts() -> dict[str, int]:
    tables = [model for model in apps.get_models() if model._meta.managed and not model._meta.proxy]
    return {model._meta.label: model._base_manager.count() for model in tables}


def _demo(tmp_path, name: str) -> subprocess.Popen:
    """`manage.py demo --no-serve` in its own process (so its own connection), without REDIS_URL
    as `demo` is meant to run: tasks run eagerly and leave no messages in the test's Redis."""
    env = process_env()
    env.pop("REDIS_URL", None)
    with (tmp_path / f"{name}.log").open("wb") as log:
        return subprocess.Popen(
            [sys.executable, "manage.py", "demo", "--no-serve"], cwd=ROOT, env=env, stdout=log, stderr=log
        )


def _demo_lock_requests() -> list[bool]:
    """Who asks for the demo's advisory lock in this database: True = holds it, False = waits."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT granted FROM pg_locks WHERE locktype = 'advisory' AND classid = 0 AND objid = %s"
            " AND database = (SELECT oid FROM pg_database WHERE datname = current_database())",
            [DEMO_LOCK],
        )
        return [row[0] for row in cursor.fetchall()]


def test_two_demo_loads_at_once_leave_what_one_load_leaves(transactional_db, tmp_path):
    """The second `demo` starts while the first is loading. The test queues for the demo lock
    between them, so it counts the rows of exactly one load before the second load runs."""
    assert not Measure.objects.exists()
    after_one: dict[str, int] = {}

    def count_after_the_first_load() -> None:
        try:
            with transaction.atomic(), connection.cursor() as cursor:
                cursor.execute("SELECT pg_advisory_xact_lock(%s)", [DEMO_LOCK])
                after_one.update(_row_counts())
        finally:
            connection.close()

    first = _demo(tmp_path, "demo-first")
    wait_until(lambda: _demo_lock_requests() == [True], timeout=90, what="the first demo to take its lock")
    counter = threading.Thread(target=count_after_the_first_load)
    counter.start()
    wait_until(lambda: sorted(_demo_lock_requests()) == [False, True], what="the test to queue for the lock")
    second = _demo(tmp_path, "demo-second")
    codes = [first.wait(timeout=120), second.wait(timeout=120)]
    counter.join(timeout=30)

    assert codes == [0, 0], (tmp_path / "demo-second.log").read_text()
    assert after_one["measures.Measure"] > 0 and after_one["incidents.Incident"] > 0
    assert _row_counts() == after_one


def test_two_snapshot_runs_at_once_store_one_snapshot_per_scope_and_day(transactional_db, tree):
    days = [timezone.localdate() - timedelta(days=n) for n in range(3)]  # three races to insert
    results: list[object] = []

    def take(day, start: threading.Barrier) -> None:
        try:
            start.wait(timeout=10)
            results.append(services.snapshots_take(day=day))
        except Exception as exc:  # reported by the assertion below
            results.append(exc)
        finally:
            connection.close()  # each thread has its own connection

    for day in days:
        start = threading.Barrier(2)
        threads = [threading.Thread(target=take, args=(day, start)) for _ in range(2)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=60)

    scopes = Scope.objects.count()
    assert results == [scopes] * 6
    stored = list(Snapshot.objects.values_list("scope_id", "taken_on"))
    assert sorted(stored) == sorted(
        (pk, day) for pk in Scope.objects.values_list("pk", flat=True) for day in days
    )
