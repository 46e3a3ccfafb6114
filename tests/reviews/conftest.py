"""Review fixtures: a catalog whose Payments service is owned by `owner`, incidents walked to
restoration through the incidents services (the PIR opens from the real signal inside the restore),
and a helper that takes a PIR to approval through the reviews services."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

import pytest

from incidents import services as incident_services
from incidents.choices import RoleKind
from reviews import services
from reviews.models import Review

T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)  # a Monday


def at(minutes: float) -> datetime:
    return T0 + timedelta(minutes=minutes)


@pytest.fixture(autouse=True)
def fast_password_hashing(settings):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture
def mim(cast):
    return cast["mim"]


@pytest.fixture
def service_owner(cast):
    """The owner of the Payments service, also a contributor of the program (may create measures)."""
    return cast["owner"]


@pytest.fixture
def catalog(mim, service_owner):
    save = incident_services.service_save
    return {
        "payments": save(
            by=mim, name="Payments", tier=1, owner=service_owner, cost_per_minute=Decimal("100.00")
        ),
        "intranet": save(by=mim, name="Intranet", tier=4, cost_per_minute=Decimal("2.50")),
    }


@pytest.fixture
def restored(mim, catalog, django_capture_on_commit_callbacks):
    """restored(start=0, service=None, severity=2) → an incident restored 120 minutes after it
    started, its PIR opened by the `incident_restored` signal inside the restore."""

    def run(start: float = 0, service=None, severity: int = 2, title: str = "Card payments failing"):
        incident = incident_services.incident_log(
            by=mim, title=title, services=[service or catalog["payments"]], severity=severity,
            impact_started_at=at(start), detected_at=at(start + 5), reported_at=at(start + 10),
        )  # fmt: skip
        incident_services.role_assign(
            incident=incident, by=mim, role=RoleKind.MIM, user=mim, at=at(start + 10)
        )
        incident = incident_services.incident_declare(incident=incident, by=mim, at=at(start + 20))
        with django_capture_on_commit_callbacks(execute=True):
            incident = incident_services.incident_restore(incident=incident, by=mim, at=at(start + 120))
        return incident

    return run


@pytest.fixture
def review(restored):
    return Review.objects.get(incident=restored())


def write(review, by, factor="change"):
    review = services.review_update(
        review=review,
        by=by,
        summary="Card payments failed for 100 minutes.",
        business_impact="No card sales.",
    )
    services.factor_add(
        review=review, by=by, category=factor, description="A gateway release changed timeouts."
    )
    return review


@pytest.fixture
def writer(make_user):
    """Another incident manager, who writes and submits PIRs."""
    return make_user("writer", groups=["incident_manager"], first_name="Wim", last_name="Ritter")


@pytest.fixture
def approved(review, mim, service_owner, writer):
    """The PIR written and submitted by `writer`, signed off by the service owner and the MIM."""
    write(review, writer)
    services.review_submit(review=review, by=writer)
    services.review_approve(review=review, by=service_owner)
    return services.review_approve(review=review, by=mim)


@pytest.fixture
def action(review, mim, service_owner):
    return services.action_create(
        review=review, by=mim, title="Automate gateway failover", owner=service_owner,
        due_date=date(2026, 4, 1), description="Failover took 40 minutes by hand.",
    )  # fmt: skip


def validated(incident, mim):
    incident_services.recovery_validation_save(
        incident=incident, by=mim, service_restored=True, users_still_affected=False,
        workarounds_still_needed=False, monitoring_stable=True, residual_risks_open=False,
        business_confirmed_by="Head of Payments",
    )  # fmt: skip
    return incident_services.incident_validate(incident=incident, by=mim, at=at(150))
