"""Two approvals of one request at the same moment: one transition, the other 409 (DESIGN §5.1).

Runs on PostgreSQL with two threads, each with its own connection."""

from __future__ import annotations

import threading

import pytest
from django.db import connection, connections

from config.errors import Conflict, StaleVersion
from measures import permissions, services
from measures.choices import ScopeRole, Stage
from measures.models import AuditEntry, GateRequest, Measure

pytestmark = [pytest.mark.postgres_concurrency]


def _run_together(*calls):
    barrier = threading.Barrier(len(calls))
    outcomes: list = [None] * len(calls)

    def run(index, call):
        try:
            barrier.wait(timeout=10)
            outcomes[index] = call()
        except Exception as exc:  # noqa: BLE001 - the outcome is what the test inspects
            outcomes[index] = exc
        finally:
            connections.close_all()

    threads = [threading.Thread(target=run, args=(i, call)) for i, call in enumerate(calls)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    return outcomes


def test_two_simultaneous_approvals_make_one_transition(
    transactional_db, cast, tree, ready_measure, make_user
):
    assert connection.vendor == "postgresql"
    second_pm = make_user("pm2", roles=[(tree.program, ScopeRole.PROGRAM_MANAGER)])
    gate = services.gate_request_submit(measure=ready_measure, by=cast["owner"])
    audit_before = AuditEntry.objects.count()

    def approve(user):
        def call():
            permissions.forget_cached_permissions(user)
            return services.gate_request_approve(request=GateRequest.objects.get(pk=gate.pk), by=user)

        return call

    outcomes = _run_together(approve(cast["pm"]), approve(second_pm))
    successes = [o for o in outcomes if isinstance(o, GateRequest)]
    conflicts = [o for o in outcomes if isinstance(o, Conflict)]
    assert len(successes) == 1 and len(conflicts) == 1, outcomes
    measure = Measure.objects.get(pk=ready_measure.pk)
    assert measure.stage == Stage.IDENTIFIED
    assert AuditEntry.objects.filter(action="transition", measure_id=measure.pk).count() == 1
    assert AuditEntry.objects.count() == audit_before + 2
    assert services.audit_verify() is None


def test_two_simultaneous_edits_with_one_version_keep_one(transactional_db, cast, ready_measure):
    version = ready_measure.version

    def edit(user, title):
        return lambda: services.measure_update(
            measure=Measure.objects.get(pk=ready_measure.pk), by=user, version=version, title=title
        )

    outcomes = _run_together(edit(cast["pm"], "From the PM"), edit(cast["owner"], "From the owner"))
    assert sum(isinstance(o, StaleVersion) for o in outcomes) == 1, outcomes
    measure = Measure.objects.get(pk=ready_measure.pk)
    assert measure.version == version + 1
    assert measure.title in ("From the PM", "From the owner")
