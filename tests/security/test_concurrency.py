"""N=5 simultaneous approvals / edits on PostgreSQL: one wins, the rest are clean refusals (never 500)."""

from __future__ import annotations

import pytest
from django.db import connection

from config.errors import Conflict, StaleVersion
from measures import permissions, services
from measures.choices import ScopeRole, Stage
from measures.models import GateRequest, Measure
from tests.measures.test_concurrency import _run_together

pytestmark = [pytest.mark.postgres_concurrency]
N = 5


def test_five_simultaneous_approvals_make_one_transition(
    transactional_db, cast, tree, ready_measure, make_user
):
    assert connection.vendor == "postgresql"
    approvers = [cast["pm"]] + [
        make_user(f"pm{i}", roles=[(tree.program, ScopeRole.PROGRAM_MANAGER)]) for i in range(N - 1)
    ]
    gate = services.gate_request_submit(measure=ready_measure, by=cast["owner"])

    def approve(user):
        def call():
            permissions.forget_cached_permissions(user)
            return services.gate_request_approve(request=GateRequest.objects.get(pk=gate.pk), by=user)

        return call

    outcomes = _run_together(*(approve(u) for u in approvers))
    successes = [o for o in outcomes if isinstance(o, GateRequest)]
    refusals = [
        o
        for o in outcomes
        if isinstance(o, Conflict | PermissionError) or getattr(o, "status_code", 0) in (403, 409)
    ]
    assert len(successes) == 1 and len(refusals) == N - 1, outcomes
    assert Measure.objects.get(pk=ready_measure.pk).stage == Stage.IDENTIFIED
    assert services.audit_verify() is None


def test_five_simultaneous_edits_with_one_version_keep_one(transactional_db, cast, ready_measure):
    version = ready_measure.version

    def edit(title):
        return lambda: services.measure_update(
            measure=Measure.objects.get(pk=ready_measure.pk), by=cast["pm"], version=version, title=title
        )

    outcomes = _run_together(*(edit(f"Edit {i}") for i in range(N)))
    winners = [o for o in outcomes if isinstance(o, Measure)]
    stale = [o for o in outcomes if isinstance(o, StaleVersion | Conflict)]
    assert len(winners) == 1 and len(stale) == N - 1, outcomes
    assert Measure.objects.get(pk=ready_measure.pk).version == version + 1
