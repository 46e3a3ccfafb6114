"""Query counts of the benchmarked endpoints (issue 10) do not grow with the data: each endpoint is
measured on a small data set, more rows are added through the services, and it is measured again."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from incidents import services as incident_services
from incidents.choices import EntryKind, RoleKind
from measures import services

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def fast_passwords(settings):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


def queries(client, url: str) -> int:
    client.get(url)  # one-off lookups (content types, policies) happen on the first call
    with CaptureQueriesContext(connection) as ctx:
        response = client.get(url)
    assert response.status_code == 200, (url, response.status_code)
    return len(ctx.captured_queries)


def add_measures(cast, tree, n: int, milestones: int = 2):
    made = []
    for i in range(n):
        measure = services.measure_create(
            by=cast["pm"],
            title=f"Measure {i}",
            objective="Less manual work.",
            package=tree.package if i % 2 else tree.sibling_package,
            owner=cast["owner"],
        )
        add_around(cast, measure, milestones)
        made.append(measure)
    return made


def add_around(cast, measure, milestones: int) -> None:
    today = timezone.localdate()
    for j in range(milestones):
        services.milestone_create(
            measure=measure,
            by=cast["owner"],
            title=f"M{j}",
            due_date=today - timedelta(days=j * 10),
            critical=j == 1,
        )
    services.effect_line_create(measure=measure, by=cast["owner"], account="pl_cost", annual_potential=1000)
    services.risk_create(measure=measure, by=cast["owner"], title="Risk", probability=2, impact=2)


def add_incident(mim, entries: int):
    start = timezone.now() - timedelta(days=2)
    incident = incident_services.incident_log(
        by=mim,
        title="Payments down",
        severity=2,
        impact_started_at=start,
        detected_at=start + timedelta(minutes=5),
        reported_at=start + timedelta(minutes=10),
    )
    incident_services.role_assign(incident=incident, by=mim, role=RoleKind.MIM, user=mim, at=start)
    incident = incident_services.incident_declare(incident=incident, by=mim, at=start + timedelta(minutes=20))
    add_entries(incident, mim, entries)
    return incident


def add_entries(incident, mim, n: int) -> None:
    for k in range(n):
        incident_services.timeline_entry_add(
            incident=incident,
            by=mim,
            kind=EntryKind.DECISION if k % 3 == 0 else EntryKind.ACTION,
            text=f"Step {k}",
            rationale="Fastest safe path." if k % 3 == 0 else "",
            decided_by=mim if k % 3 == 0 else None,
            occurred_at=incident.declared_at + timedelta(minutes=k + 1),
        )


@pytest.fixture
def computed(settings):
    """No read cache: the counts below are what computing each response costs (ADR 0014)."""
    settings.CACHES = {"default": {"BACKEND": "django.core.cache.backends.dummy.DummyCache"}}


@pytest.fixture
def clients(cast, api):
    page = Client()
    page.force_login(cast["leader"])
    return {"page": page, "api": api.as_user(cast["leader"])}


def test_measure_endpoints_constant(cast, tree, clients, computed):
    first, *_ = add_measures(cast, tree, 2)
    urls = {
        "list page": ("page", f"/measures/?scope={tree.program.pk}"),
        "list api": ("api", f"/api/v1/measures/?page_size=50&scope={tree.program.pk}"),
        "detail page": ("page", f"/measures/{first.pk}/"),
        "detail api": ("api", f"/api/v1/measures/{first.pk}/"),
        "scope dashboard": ("page", f"/dashboard/scopes/{tree.program.pk}/"),
        "leadership dashboard": ("page", "/"),
    }
    before = {name: queries(clients[kind], url) for name, (kind, url) in urls.items()}
    add_measures(cast, tree, 8, milestones=3)
    add_around(cast, first, 4)
    after = {name: queries(clients[kind], url) for name, (kind, url) in urls.items()}
    assert after == before


def test_incident_endpoints_constant(cast, clients, computed):
    mim = cast["mim"]
    incident = add_incident(mim, 3)
    urls = {
        "detail page": ("page", f"/incidents/{incident.pk}/"),
        "detail api": ("api", f"/api/v1/incidents/{incident.pk}/"),
        "metrics api": ("api", "/api/v1/metrics/incidents/"),
        "leadership dashboard": ("page", "/"),
    }
    before = {name: queries(clients[kind], url) for name, (kind, url) in urls.items()}
    add_entries(incident, mim, 20)
    for _ in range(4):
        add_incident(mim, 5)
    after = {name: queries(clients[kind], url) for name, (kind, url) in urls.items()}
    assert after == before


def test_a_cached_read_costs_a_fixed_handful_of_queries(cast, tree, clients, settings):
    """Served from the read cache: the session and its user (pages; the API is authenticated by the
    test client here) and the data version, read once per request. Nothing else: whether the reader may see the scope,
    measure or incident was decided when the entry was computed for them at this version."""
    settings.CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}
    first, *_ = add_measures(cast, tree, 3)
    incident = add_incident(cast["mim"], 3)
    urls = {
        "list page": ("page", f"/measures/?scope={tree.program.pk}", 3),
        "list api": ("api", f"/api/v1/measures/?page_size=50&scope={tree.program.pk}", 1),
        "detail page": ("page", f"/measures/{first.pk}/", 3),
        "detail api": ("api", f"/api/v1/measures/{first.pk}/", 1),
        "scope figures api": ("api", f"/api/v1/scopes/{tree.program.pk}/figures/", 1),
        "scope dashboard": ("page", f"/dashboard/scopes/{tree.program.pk}/", 3),
        "leadership dashboard": ("page", "/", 3),
        "incident page": ("page", f"/incidents/{incident.pk}/", 3),
        "incident api": ("api", f"/api/v1/incidents/{incident.pk}/", 1),
        "incident metrics api": ("api", "/api/v1/metrics/incidents/", 1),
    }
    counts = {name: queries(clients[kind], url) for name, (kind, url, _) in urls.items()}
    assert counts == {name: limit for name, (_, _, limit) in urls.items()}
