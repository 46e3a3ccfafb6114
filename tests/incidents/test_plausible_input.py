"""Implausible input is refused wherever incident data enters: times outside the plausible window
(a year typed as 0001 or 1900, a time in the future), due dates beyond ten years, megabytes of
text. Each refusal is a 400 naming the field, and nothing is stored."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from incidents.models import Incident, StatusUpdate, TimelineEntry, VendorEscalation
from tests.incidents.conftest import at

MEGABYTE = "x" * 1_000_000
ANCIENT = ["0001-01-01T00:00:00Z", "1900-01-01T00:00:00Z"]


@pytest.fixture
def as_mim(api, mim):
    return api.as_user(mim)


def _refused(response, field: str) -> dict:
    assert response.status_code == 400, response.content
    body = response.json()
    assert field in body["errors"], body
    assert field in body["detail"]
    return body


@pytest.mark.parametrize("impact_started_at", ANCIENT)
def test_an_impact_start_in_year_1_or_1900_is_refused_by_the_api(as_mim, catalog, impact_started_at):
    response = as_mim.post(
        "/api/v1/incidents/",
        {
            "title": "Checkout errors",
            "services": [catalog["payments"].pk],
            "impact_started_at": impact_started_at,
        },
        format="json",
    )
    body = _refused(response, "impact_started_at")
    assert "too long ago" in body["errors"]["impact_started_at"][0]
    assert "Check the year" in body["errors"]["impact_started_at"][0]
    assert not Incident.objects.exists()


def test_a_detection_time_in_the_future_is_refused(as_mim, catalog):
    tomorrow = timezone.now() + timedelta(days=1)
    response = as_mim.post(
        "/api/v1/incidents/", {"title": "Checkout errors", "detected_at": tomorrow.isoformat()}, format="json"
    )
    body = _refused(response, "detected_at")
    assert body["errors"]["detected_at"] == ["This time is in the future."]
    assert not Incident.objects.exists()


def test_a_time_within_the_clock_skew_allowance_is_accepted(as_mim, catalog):
    soon = timezone.now() + timedelta(minutes=2)
    response = as_mim.post(
        "/api/v1/incidents/", {"title": "Checkout errors", "reported_at": soon.isoformat()}, format="json"
    )
    assert response.status_code == 201, response.json()


def test_the_earliest_point_follows_the_setting(as_mim, catalog, settings):
    two_years_ago = (timezone.now() - timedelta(days=730)).isoformat()
    settings.VALUEGATE_EVENT_MAX_AGE_DAYS = 365
    response = as_mim.post(
        "/api/v1/incidents/", {"title": "Old outage", "impact_started_at": two_years_ago}, format="json"
    )
    assert "365 days back" in _refused(response, "impact_started_at")["errors"]["impact_started_at"][0]
    settings.VALUEGATE_EVENT_MAX_AGE_DAYS = 3650
    response = as_mim.post(
        "/api/v1/incidents/", {"title": "Old outage", "impact_started_at": two_years_ago}, format="json"
    )
    assert response.status_code == 201


@pytest.mark.parametrize("impact_started_at", ANCIENT)
def test_correcting_a_time_to_year_1_or_1900_is_refused(as_mim, walk, impact_started_at):
    incident = walk("declared")
    response = as_mim.patch(
        f"/api/v1/incidents/{incident.pk}/", {"impact_started_at": impact_started_at}, format="json"
    )
    _refused(response, "impact_started_at")
    assert Incident.objects.get(pk=incident.pk).impact_started_at == at(0)


def test_a_transition_time_in_1900_is_refused(as_mim, walk):
    incident = walk("declared")
    response = as_mim.post(f"/api/v1/incidents/{incident.pk}/restore/", {"at": ANCIENT[1]}, format="json")
    # Before the window rule this was an order error at best; now the year itself is named.
    assert "too long ago" in _refused(response, "restored_at")["errors"]["restored_at"][0]
    assert Incident.objects.get(pk=incident.pk).state == "declared"


@pytest.mark.parametrize("impact_started_at", ["0001-01-01T00:00", "1900-01-01T00:00"])
def test_the_log_form_refuses_an_impossible_impact_start(client, mim, catalog, impact_started_at):
    client.force_login(mim)
    response = client.post(
        "/incidents/new/",
        {"title": "Tills frozen", "severity": 2, "services": [catalog["payments"].pk],
         "impact_started_at": impact_started_at},
    )  # fmt: skip
    assert response.status_code == 400
    page = response.content.decode()
    assert "impact_started_at" in page and "too long ago" in page
    assert not Incident.objects.exists()


def test_the_times_form_refuses_a_future_detection(client, mim, walk):
    incident = walk("declared")
    client.force_login(mim)
    future = (timezone.localtime() + timedelta(days=2)).strftime("%Y-%m-%dT%H:%M")
    form = {
        name: timezone.localtime(getattr(incident, name)).strftime("%Y-%m-%dT%H:%M")
        for name in (
            "impact_started_at",
            "reported_at",
            "acknowledged_at",
            "declared_at",
            "team_assembled_at",
        )
    }
    response = client.post(f"/incidents/{incident.pk}/times/", {**form, "detected_at": future})
    assert response.status_code == 400
    assert "This time is in the future." in response.content.decode()
    assert Incident.objects.get(pk=incident.pk).detected_at == at(5)


@pytest.mark.parametrize("impact_started_at", ANCIENT)
def test_the_import_refuses_an_impossible_impact_start(as_mim, catalog, impact_started_at):
    rows = [
        {"reference": "OLD-1", "title": "Fine", "reported_at": "2025-11-03T08:10:00+00:00"},
        {"reference": "OLD-2", "title": "Typo", "impact_started_at": impact_started_at,
         "reported_at": "2025-11-03T08:10:00+00:00"},
    ]  # fmt: skip
    response = as_mim.post("/api/v1/incidents/import/", rows, format="json")
    assert response.status_code == 400
    problems = response.json()["errors"]["rows"]
    assert [p["row"] for p in problems] == [2]
    assert "too long ago" in problems[0]["errors"]["impact_started_at"][0]
    assert not Incident.objects.exists()


def test_the_import_refuses_a_future_time_and_a_megabyte_description(as_mim, catalog):
    future = (timezone.now() + timedelta(days=3)).isoformat()
    rows = [{"title": "Later", "reported_at": future, "description": MEGABYTE}]
    response = as_mim.post("/api/v1/incidents/import/", rows, format="json")
    errors = response.json()["errors"]["rows"][0]["errors"]
    assert response.status_code == 400
    assert errors["reported_at"] == ["This time is in the future."]
    assert errors["description"][0].startswith("At most 20,000 characters")
    assert not Incident.objects.exists()


def test_timeline_status_update_vendor_and_role_times_are_checked(as_mim, walk, mim):
    incident = walk("declared")
    base = f"/api/v1/incidents/{incident.pk}"
    entries = TimelineEntry.objects.filter(incident=incident).count()
    response = as_mim.post(f"{base}/timeline/", {"kind": "note", "text": "Typo", "occurred_at": ANCIENT[1]})
    _refused(response, "occurred_at")
    response = as_mim.post(f"{base}/vendor-escalations/", {"vendor": "PayCo", "contacted_at": ANCIENT[0]})
    _refused(response, "contacted_at")
    response = as_mim.post(f"{base}/roles/", {"role": "technical_lead", "user": mim.pk, "at": ANCIENT[1]})
    _refused(response, "at")
    update = {
        "kind": "progress", "audience": "business", "affected_service": "Payments",
        "business_impact": "No cards", "current_status": "Investigating",
    }  # fmt: skip
    far = (timezone.now() + timedelta(days=365 * 30)).isoformat()
    _refused(
        as_mim.post(f"{base}/status-updates/", {**update, "next_update_due_at": far}), "next_update_due_at"
    )
    assert TimelineEntry.objects.filter(incident=incident).count() == entries
    assert not VendorEscalation.objects.exists() and not StatusUpdate.objects.exists()


def test_a_vendor_response_in_the_future_is_refused(as_mim, walk, mim):
    incident = walk("declared")
    created = as_mim.post(
        f"/api/v1/incidents/{incident.pk}/vendor-escalations/", {"vendor": "PayCo"}, format="json"
    )
    assert created.status_code == 201
    future = (timezone.now() + timedelta(hours=2)).isoformat()
    response = as_mim.post(
        f"/api/v1/vendor-escalations/{created.json()['id']}/responded/",
        {"responded_at": future},
        format="json",
    )
    _refused(response, "responded_at")
    assert VendorEscalation.objects.get().responded_at is None


def test_megabyte_text_is_refused_naming_the_field(as_mim, walk, catalog):
    response = as_mim.post("/api/v1/incidents/", {"title": "Big", "description": MEGABYTE}, format="json")
    body = _refused(response, "description")
    assert body["errors"]["description"] == ["At most 20,000 characters (this has 1,000,000)."]
    assert not Incident.objects.exists()

    incident = walk("declared")
    base = f"/api/v1/incidents/{incident.pk}"
    _refused(as_mim.patch(f"{base}/", {"description": MEGABYTE}, format="json"), "description")
    _refused(as_mim.post(f"{base}/timeline/", {"kind": "note", "text": MEGABYTE}, format="json"), "text")
    _refused(as_mim.post(f"{base}/cancel/", {"reason": MEGABYTE}, format="json"), "reason")
    _refused(
        as_mim.post(f"{base}/vendor-escalations/", {"vendor": "PayCo", "notes": MEGABYTE}, format="json"),
        "notes",
    )
    _refused(as_mim.put(f"{base}/validation/", {"residual_risks": MEGABYTE}, format="json"), "residual_risks")
    update = {
        "kind": "progress", "audience": "business", "affected_service": "Payments",
        "business_impact": MEGABYTE, "current_status": "Investigating",
        "next_update_due_at": (timezone.now() + timedelta(minutes=30)).isoformat(),
    }  # fmt: skip
    _refused(as_mim.post(f"{base}/status-updates/", update, format="json"), "business_impact")
    stored = Incident.objects.get(pk=incident.pk)
    assert stored.state == "declared" and stored.description == ""


def test_a_title_is_one_line(as_mim, catalog):
    response = as_mim.post("/api/v1/incidents/", {"title": "t" * 201}, format="json")
    _refused(response, "title")
    assert as_mim.post("/api/v1/incidents/", {"title": "t" * 200}, format="json").status_code == 201


def test_metrics_stay_sane_after_refused_input(as_mim, walk):
    walk("closed", detect=5)
    walk("closed", start=600, detect=9)
    as_mim.post(
        "/api/v1/incidents/", {"title": "Typo", "impact_started_at": ANCIENT[0]}, format="json"
    )  # refused
    figures = as_mim.get("/api/v1/metrics/incidents/").json()
    detect = figures["durations_minutes"]["time_to_detect"]
    assert detect["count"] == 2 and detect["mean"] == 7 and detect["p90"] < 9
