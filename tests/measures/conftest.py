"""Measures built through the services, at the points the gate tests start from."""

from __future__ import annotations

from decimal import Decimal

import pytest

from measures import services


@pytest.fixture(autouse=True)
def fast_passwords(settings):
    """The cast logs in with passwords; a cheap hasher keeps these tests quick."""
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture
def new_measure(cast, tree):
    """A bare DoI 0 measure owned by `owner`, created by the program manager."""
    return services.measure_create(
        by=cast["pm"],
        title="Automate failover runbook for payments gateway",
        objective="Failover takes 40 minutes by hand; make it one click.",
        package=tree.package,
        owner=cast["owner"],
    )


@pytest.fixture
def ready_measure(cast, new_measure):
    """A DoI 0 measure that meets every DoI 1 criterion."""
    measure = services.measure_update(
        measure=new_measure,
        by=cast["pm"],
        version=new_measure.version,
        sponsor=cast["sponsor"],
        controller=cast["controller"],
        business_unit="Payments",
        no_known_overlaps=True,
    )
    services.effect_line_create(
        measure=measure, by=cast["owner"], account="pl_cost", annual_potential=Decimal("120000.00")
    )
    services.risk_create(
        measure=measure, by=cast["owner"], title="Vendor API changes", probability=2, impact=3
    )
    measure.refresh_from_db()
    return measure
