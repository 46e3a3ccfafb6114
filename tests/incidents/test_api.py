"""The incident API per DESIGN §9: field names, status per persona, refusals, query counts."""

from datetime import timedelta

import pytest
from django.utils import timezone

from incidents import services
from incidents.choices import RoleKind
from incidents.models import Incident, TimelineEntry
from tests.incidents.conftest import at, complete_validation, settle_pir

INCIDENT_FIELDS = {
    "id", "reference", "title", "severity", "state", "services", "impact_started_at", "detected_at",
    "reported_at", "acknowledged_at", "declared_at", "team_assembled_at", "restored_at", "validated_at",
    "closed_at", "users_affected",
}  # fmt: skip


@pytest.fixture
def as_mim(api, mim):
    return api.as_user(mim)


def test_log_an_incident_and_read_it_back(as_mim, catalog):
    response = as_mim.post(
        "/api/v1/incidents/",
        {
            "title": "Checkout errors",
            "severity": 1,
            "services": [catalog["payments"].pk],
            "users_affected": 800,
        },
        format="json",
    )
    assert response.status_code == 201, response.json()
    body = response.json()
    assert set(body) >= INCIDENT_FIELDS
    assert body["state"] == "reported" and body["severity"] == 1
    assert body["services"] == [catalog["payments"].pk]
    assert body["declaration_suggested"] is True
    assert "500 or more users affected" in body["criteria_met"]
    assert as_mim.get(f"/api/v1/incidents/{body['id']}/").json()["reference"] == body["reference"]


def test_the_full_lifecycle_through_the_api(as_mim, mim, catalog):
    incident = as_mim.post(
        "/api/v1/incidents/", {"title": "DB down", "services": [catalog["payments"].pk]}, format="json"
    ).json()
    url = f"/api/v1/incidents/{incident['id']}"
    refused = as_mim.post(f"{url}/declare/", {}, format="json")
    assert refused.status_code == 422
    assert refused.json()["unmet_criteria"][0]["criterion"] == "mim"
    assert as_mim.post(f"{url}/roles/", {"role": "mim", "user": mim.pk}, format="json").status_code == 201
    assert as_mim.post(f"{url}/declare/", {}, format="json").json()["state"] == "declared"
    assert as_mim.post(f"{url}/restore/", {}, format="json").json()["state"] == "restored"
    refused = as_mim.post(f"{url}/validate/", {}, format="json")
    assert refused.status_code == 422 and len(refused.json()["unmet_criteria"]) == 6
    checklist = {
        "service_restored": True, "users_still_affected": False, "workarounds_still_needed": False,
        "monitoring_stable": True, "residual_risks_open": False, "business_confirmed_by": "Retail ops",
    }  # fmt: skip
    response = as_mim.put(f"{url}/validation/", checklist, format="json")
    assert response.status_code == 200 and response.json()["unmet"] == []
    assert as_mim.post(f"{url}/validate/", {}, format="json").json()["state"] == "validated"
    assert (
        as_mim.post(f"{url}/reopen/", {"reason": "Errors again"}, format="json").json()["reopen_count"] == 1
    )
    assert as_mim.post(f"{url}/restore/", {}, format="json").status_code == 200
    assert as_mim.post(f"{url}/validate/", {}, format="json").status_code == 200
    refused = as_mim.post(f"{url}/close/", {}, format="json")  # the PIR opened on restoration
    assert refused.status_code == 422 and refused.json()["unmet_criteria"][0]["criterion"] == "pir"
    settle_pir(Incident.objects.get(pk=incident["id"]), mim)
    closed = as_mim.post(f"{url}/close/", {}, format="json").json()
    assert closed["state"] == "closed" and closed["closed_at"]


def test_a_transition_not_allowed_from_the_state_is_409(as_mim, walk):
    incident = walk("reported")
    response = as_mim.post(f"/api/v1/incidents/{incident.pk}/close/", {}, format="json")
    assert response.status_code == 409
    assert response.json() == {"detail": "A reported incident cannot be closed.", "code": "conflict"}


def test_not_major_and_cancel_need_a_reason(as_mim, walk):
    incident = walk("reported")
    assert as_mim.post(f"/api/v1/incidents/{incident.pk}/not-major/", {}, format="json").status_code == 400
    response = as_mim.post(
        f"/api/v1/incidents/{incident.pk}/not-major/", {"reason": "One user"}, format="json"
    )
    assert response.json()["state"] == "not_major"
    other = walk("declared")
    assert (
        as_mim.post(f"/api/v1/incidents/{other.pk}/cancel/", {"reason": "Dup"}, format="json").json()["state"]
        == "cancelled"
    )


def test_a_time_out_of_order_is_400_naming_the_field(as_mim, walk):
    incident = walk("closed")
    response = as_mim.patch(
        f"/api/v1/incidents/{incident.pk}/",
        {"restored_at": at(10).isoformat(), "reason": "typo"},
        format="json",
    )
    assert response.status_code == 400
    body = response.json()
    assert list(body["errors"]) == ["restored_at"]
    assert body["detail"].startswith("Restored time must not be earlier than team assembled time")


def test_a_time_correction_through_the_api(as_mim, walk):
    incident = walk("closed")
    response = as_mim.patch(
        f"/api/v1/incidents/{incident.pk}/",
        {"detected_at": at(4).isoformat(), "reason": "log"},
        format="json",
    )
    assert response.status_code == 200 and response.json()["detected_at"] == "2026-03-02T09:04:00Z"
    entries = as_mim.get(f"/api/v1/incidents/{incident.pk}/timeline/?kind=correction").json()["results"]
    assert len(entries) == 1 and "Reason: log" in entries[0]["text"]


def test_timeline_decision_pin_and_filter(as_mim, mim, walk):
    incident = walk("declared")
    url = f"/api/v1/incidents/{incident.pk}/timeline/"
    bad = as_mim.post(url, {"kind": "decision", "text": "Fail over"}, format="json")
    assert bad.status_code == 400 and set(bad.json()["errors"]) == {"rationale", "decided_by"}
    entry = as_mim.post(
        url,
        {"kind": "decision", "text": "Fail over", "rationale": "Faster", "alternatives": "Wait", "decided_by": mim.pk,
         "occurred_at": at(40).isoformat()},
        format="json",
    ).json()  # fmt: skip
    assert entry["occurred_at"] == "2026-03-02T09:40:00Z" and entry["recorded_at"] != entry["occurred_at"]
    pinned = as_mim.post(f"/api/v1/timeline-entries/{entry['id']}/pin/", {}, format="json").json()
    assert pinned["pinned"] is True
    decisions = as_mim.get(f"{url}?kind=decision").json()["results"]
    assert [d["id"] for d in decisions] == [entry["id"]]
    assert as_mim.get(f"/api/v1/timeline-entries/?incident={incident.pk}&pinned=true").json()["count"] == 1


def test_timeline_entries_have_no_edit_endpoint(as_mim, walk):
    entry = TimelineEntry.objects.filter(incident=walk("declared")).first()
    assert (
        as_mim.patch(f"/api/v1/timeline-entries/{entry.pk}/", {"text": "x"}, format="json").status_code == 405
    )
    assert as_mim.delete(f"/api/v1/timeline-entries/{entry.pk}/").status_code == 405


def test_status_updates_prefill_create_and_approve(api, people, walk):
    incident = walk("declared")
    mim_client = api.as_user(people["mim"])
    prefill = mim_client.get(f"/api/v1/incidents/{incident.pk}/status-updates/prefill/?kind=initial").json()
    assert prefill["subject"].startswith(f"[{incident.reference}] Major incident")
    payload = {
        "kind": "initial", "audience": "executives", "channel": "email", "affected_service": "Payments",
        "business_impact": "No card payments", "current_status": "Investigating",
        "next_update_due_at": (timezone.now() + timedelta(minutes=30)).isoformat(), "requires_approval": True,
    }  # fmt: skip
    created = mim_client.post(f"/api/v1/incidents/{incident.pk}/status-updates/", payload, format="json")
    assert created.status_code == 201 and created.json()["state"] == "awaiting_approval"
    update_id = created.json()["id"]
    own = mim_client.post(f"/api/v1/status-updates/{update_id}/approve/")
    assert own.status_code == 403 and own.json()["code"] == "separation_of_duties"
    approved = api.as_user(people["mim2"]).post(f"/api/v1/status-updates/{update_id}/approve/")
    assert approved.status_code == 200 and approved.json()["state"] == "sent"


def test_vendor_escalations_and_roles(as_mim, people, walk):
    incident = walk("declared")
    url = f"/api/v1/incidents/{incident.pk}"
    esc = as_mim.post(
        f"{url}/vendor-escalations/", {"vendor": "PayCo", "contacted_at": at(40).isoformat()}, format="json"
    )
    assert esc.status_code == 201
    done = as_mim.post(
        f"/api/v1/vendor-escalations/{esc.json()['id']}/responded/", {"reference": "PC-1"}, format="json"
    )
    assert done.status_code == 200 and done.json()["responded_at"]
    as_mim.post(f"{url}/roles/", {"role": "mim", "user": people["mim2"].pk}, format="json")
    roles = as_mim.get(f"{url}/roles/").json()["results"]
    assert [(r["user"], r["ended_at"] is None) for r in roles if r["role"] == "mim"] == [
        (people["mim2"].pk, True),
        (people["mim"].pk, False),
    ]
    current = as_mim.get(f"{url}/").json()["roles"]
    assert current == [{"role": "mim", "user": people["mim2"].pk, "name": "Jonas Berg"}]


def test_criteria_evaluate_while_typing(as_mim, catalog):
    response = as_mim.post(
        "/api/v1/declaration-criteria/evaluate/",
        {"services": [catalog["intranet"].pk], "users_affected": 600},
        format="json",
    )
    met = {row["kind"] for row in response.json() if row["met"]}
    assert met == {"users_affected"}


def test_metrics_endpoint(api, people, walk, catalog):
    walk("closed", restore=60)
    walk("closed", start=-100 * 24 * 60, restore=120, severity=1)
    client = api.as_user(people["leader"])
    body = client.get("/api/v1/metrics/incidents/").json()
    assert body["incident_count"] == 2
    assert body["durations_minutes"]["time_to_restore"]["median"] == 90.0
    one = client.get(
        f"/api/v1/metrics/incidents/?severity=1&service={catalog['payments'].pk}&from=2025-01-01&to=2026-12-31"
    ).json()
    assert one["incident_count"] == 1 and one["filters"]["severity"] == "1"
    bad = client.get("/api/v1/metrics/incidents/?from=2026-05-01&to=2026-01-01")
    assert bad.status_code == 400 and "to" in bad.json()["errors"]
    assert client.get("/api/v1/metrics/incidents/?severity=9").status_code == 400


def test_list_filters(api, people, walk, catalog):
    walk("closed", severity=1)
    walk("declared", start=60, service=catalog["intranet"])
    client = api.as_user(people["leader"])
    assert client.get("/api/v1/incidents/?state=declared").json()["count"] == 1
    assert client.get("/api/v1/incidents/?severity=1").json()["count"] == 1
    assert client.get(f"/api/v1/incidents/?service={catalog['intranet'].pk}").json()["count"] == 1
    assert client.get("/api/v1/incidents/?reported_from=2026-03-03").json()["count"] == 0


def test_list_query_count_does_not_grow_with_page_size(api, people, walk, django_assert_max_num_queries):
    for i in range(12):
        incident = walk("declared", start=i * 300)
        incident.services.add(*incident.services.all())
    client = api.as_user(people["leader"])
    with django_assert_max_num_queries(8):
        small = client.get("/api/v1/incidents/?page_size=2")
    with django_assert_max_num_queries(8):
        large = client.get("/api/v1/incidents/?page_size=12")
    assert len(small.json()["results"]) == 2 and len(large.json()["results"]) == 12
    assert large.json()["results"][0]["next_update_due_at"] is not None


def test_unknown_incident_is_404(as_mim):
    assert as_mim.get("/api/v1/incidents/999999/").status_code == 404


def test_schema_is_valid(api, people):
    response = api.as_user(people["leader"]).get("/api/schema/")
    assert response.status_code == 200
    assert b"/api/v1/incidents/{id}/declare/" in response.content
    assert b"/api/v1/metrics/incidents/" in response.content


# --- Permissions ------------------------------------------------------------------------------------


@pytest.mark.parametrize("who", ["leader", "staff"])
def test_readers_read_but_do_not_change(api, people, walk, catalog, who):
    incident = walk("declared")
    client = api.as_user(people[who])
    assert client.get("/api/v1/incidents/").json()["count"] == 1
    assert client.get(f"/api/v1/incidents/{incident.pk}/timeline/").status_code == 200
    assert client.get("/api/v1/metrics/incidents/").status_code == 200
    writes = [
        ("post", "/api/v1/incidents/", {"title": "x"}),
        ("post", f"/api/v1/incidents/{incident.pk}/restore/", {}),
        ("patch", f"/api/v1/incidents/{incident.pk}/", {"title": "y"}),
        ("post", f"/api/v1/incidents/{incident.pk}/timeline/", {"kind": "note", "text": "hi"}),
        ("post", f"/api/v1/incidents/{incident.pk}/roles/", {"role": "recorder", "user": people[who].pk}),
        ("post", "/api/v1/services/", {"name": "ERP", "tier": 1}),
        ("patch", f"/api/v1/services/{catalog['payments'].pk}/", {"tier": 2}),
    ]
    for method, url, data in writes:
        response = getattr(client, method)(url, data, format="json")
        assert response.status_code == 403, (url, response.json())
        assert response.json()["code"] == "permission_denied"
    assert Incident.objects.get(pk=incident.pk).state == "declared"


def test_admins_change_incidents(api, people, walk):
    incident = walk("declared")
    response = api.as_user(people["admin"]).post(
        f"/api/v1/incidents/{incident.pk}/restore/", {}, format="json"
    )
    assert response.status_code == 200


def test_anonymous_is_401(api):
    assert api.get("/api/v1/incidents/").status_code == 401


def test_incident_managers_configure_services_and_criteria(as_mim):
    service = as_mim.post(
        "/api/v1/services/", {"name": "ERP", "tier": 1, "cost_per_minute": "40.00"}, format="json"
    )
    assert service.status_code == 201 and service.json()["cost_per_minute"] == "40.00"
    criterion = as_mim.post(
        "/api/v1/declaration-criteria/",
        {"name": "Huge", "kind": "users_affected", "threshold": 5000},
        format="json",
    )
    assert criterion.status_code == 201
    bad = as_mim.post(
        "/api/v1/declaration-criteria/", {"name": "No N", "kind": "users_affected"}, format="json"
    )
    assert bad.status_code == 400


def test_declare_through_the_api_after_role(as_mim, mim, walk):
    incident = walk("reported")
    as_mim.post(
        f"/api/v1/incidents/{incident.pk}/roles/", {"role": RoleKind.MIM, "user": mim.pk}, format="json"
    )
    response = as_mim.post(
        f"/api/v1/incidents/{incident.pk}/declare/", {"at": at(20).isoformat()}, format="json"
    )
    assert response.json()["declared_at"] == "2026-03-02T09:20:00Z"


def test_validation_checklist_read(as_mim, walk, mim):
    incident = walk("restored")
    assert len(as_mim.get(f"/api/v1/incidents/{incident.pk}/validation/").json()["unmet"]) == 6
    complete_validation(incident, mim)
    assert as_mim.get(f"/api/v1/incidents/{incident.pk}/validation/").json()["unmet"] == []


def test_criteria_evaluate_with_no_services(as_mim):
    response = as_mim.post(
        "/api/v1/declaration-criteria/evaluate/", {"executive_visibility": True}, format="json"
    )
    assert response.status_code == 200
    assert {row["kind"] for row in response.json() if row["met"]} == {"executive_visibility"}


def test_per_incident_metrics(as_mim, walk, mim):
    incident = walk("closed", restore=120)
    services.incident_update(incident=incident, by=mim, response_effort_hours="2")
    body = as_mim.get(f"/api/v1/incidents/{incident.pk}/metrics/").json()
    assert body["durations_minutes"] == {
        "time_to_detect": 5.0, "time_to_acknowledge": 10.0, "time_to_declare": 15.0,
        "time_to_assemble": 10.0, "time_to_restore": 120.0,
    }  # fmt: skip
    assert body["cost"] == "12170.00"  # 120 min x 100 + 2 h x 85
    assert body["pir_due_at"].startswith("2026-03-16T11:00")  # 10 business days after restoration
