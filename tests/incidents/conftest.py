"""Incident fixtures: a small catalog and helpers that walk an incident through its life with
hand-chosen times, always through the services."""

from __future__ import annotations

import importlib
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest

from incidents import services
from incidents.choices import RoleKind
from incidents.models import Service
from reviews import services as review_services
from reviews.models import Review

T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)  # a Monday


def at(minutes: float) -> datetime:
    return T0 + timedelta(minutes=minutes)


@pytest.fixture(autouse=True)
def fast_password_hashing(settings):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture
def seeded(db):
    """The rows migrations seed (groups, criteria, policies, templates): transactional tests flush
    the database, so put them back (idempotent) before building people and incidents."""
    from django.apps import apps
    from django.contrib.auth.models import Group

    for name in ("incident_manager", "admin", "leadership"):
        Group.objects.get_or_create(name=name)
    defaults = importlib.import_module("incidents.migrations.0002_defaults")
    defaults.forwards(apps, None)


@pytest.fixture
def people(seeded, make_user):
    """Our own cast (independent of the scope tree): two incident managers, an admin, leadership
    and a signed-in user with no global role."""
    return {
        "mim": make_user("mim", groups=["incident_manager"], first_name="Mia", last_name="Ivanova"),
        "mim2": make_user("mim2", groups=["incident_manager"], first_name="Jonas", last_name="Berg"),
        "admin": make_user("ada", groups=["admin"]),
        "leader": make_user("leader", groups=["leadership"]),
        "staff": make_user("staff"),
    }


@pytest.fixture
def mim(people):
    return people["mim"]


@pytest.fixture
def catalog(mim):
    payments = services.service_save(
        by=mim,
        name="Payments",
        tier=1,
        customer_facing=True,
        cost_per_minute=Decimal("100.00"),
        vendor="PayCo",
    )
    intranet = services.service_save(by=mim, name="Intranet", tier=4, cost_per_minute=Decimal("2.50"))
    return {"payments": payments, "intranet": intranet}


@pytest.fixture
def walk(mim, catalog):
    """walk(to="closed", start=0, **offsets) logs an incident at `start` minutes after T0 and takes
    it to the target state with times at the given offsets (minutes after its start)."""

    def run(
        to: str = "declared",
        *,
        start: float = 0,
        service: Service | None = None,
        severity: int = 2,
        detect: float = 5,
        report: float = 10,
        declare: float = 20,
        assemble: float | None = 30,
        restore: float = 120,
        validate: float = 150,
        close: float = 200,
        title: str = "Card payments failing",
        by=None,
    ):
        by = by or mim
        incident = services.incident_log(
            by=by,
            title=title,
            services=[service or catalog["payments"]],
            severity=severity,
            impact_started_at=at(start),
            detected_at=at(start + detect),
            reported_at=at(start + report),
        )
        if to == "reported":
            return incident
        services.role_assign(incident=incident, by=by, role=RoleKind.MIM, user=mim, at=at(start + report))
        incident = services.incident_declare(incident=incident, by=by, at=at(start + declare))
        if assemble is not None:
            incident = services.incident_team_assembled(incident=incident, by=by, at=at(start + assemble))
        if to == "declared":
            return incident
        incident = services.incident_restore(incident=incident, by=by, at=at(start + restore))
        if to == "restored":
            return incident
        complete_validation(incident, by)
        incident = services.incident_validate(incident=incident, by=by, at=at(start + validate))
        if to == "validated":
            return incident
        settle_pir(incident, by)
        return services.incident_close(incident=incident, by=by, at=at(start + close))

    return run


def settle_pir(incident, by):
    """Restoring opened the PIR in the same transaction; closing needs it settled (reviews' close
    guard), so these incident tests waive it."""
    review = Review.objects.filter(incident=incident).first()
    if review is not None:
        review_services.review_waive(review=review, by=by, reason="Not under test here.")


def complete_validation(incident, by):
    return services.recovery_validation_save(
        incident=incident,
        by=by,
        service_restored=True,
        users_still_affected=False,
        workarounds_still_needed=False,
        monitoring_stable=True,
        residual_risks_open=False,
        business_confirmed_by="Head of Payments Operations",
    )
