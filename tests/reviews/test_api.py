"""The reviews API (DESIGN §9): lists with filters and constant query counts, sections, the
four-eyes transitions with their status codes, actions, promotion and linking."""

from __future__ import annotations

from datetime import date

import pytest

from measures import services as measure_services
from reviews import services
from reviews.models import Action, FactorCategory, Review
from tests.reviews.conftest import validated, write


@pytest.fixture
def as_(api):
    def client(user):
        api.force_authenticate(user=None)
        return api.as_user(user)

    return client


def test_list_filters_and_query_count_does_not_grow(as_, restored, cast, mim, django_assert_max_num_queries):
    for i in range(6):
        incident = restored(start=i * 600)
        review = Review.objects.get(incident=incident)
        services.factor_add(review=review, by=mim, category="change", description="Release")
        services.action_create(
            review=review, by=mim, title="Fix", owner=cast["owner"], due_date=date(2026, 1, 1)
        )
    client = as_(cast["leader"])
    with django_assert_max_num_queries(8):
        small = client.get("/api/v1/reviews/?page_size=2")
    with django_assert_max_num_queries(8):
        large = client.get("/api/v1/reviews/?page_size=6")
    assert len(small.json()["results"]) == 2 and len(large.json()["results"]) == 6
    row = large.json()["results"][0]
    assert {"id", "incident", "state", "due_at"} <= set(row) and row["factors"][0][
        "category_code"
    ] == "change"
    assert row["overdue"] is True and row["overdue_actions"] == 1
    assert client.get("/api/v1/reviews/?show=overdue").json()["count"] == 6
    assert client.get("/api/v1/reviews/?show=waived").json()["count"] == 0
    with django_assert_max_num_queries(8):
        few = client.get("/api/v1/actions/?page_size=2")
    with django_assert_max_num_queries(8):
        many = client.get("/api/v1/actions/?page_size=6")
    assert len(few.json()["results"]) == 2 and len(many.json()["results"]) == 6
    assert client.get("/api/v1/actions/?overdue=true&state=proposed").json()["count"] == 6


def test_anonymous_is_refused(api):
    assert api.get("/api/v1/reviews/").status_code in (401, 403)


def test_sections_and_transitions_with_status_codes(as_, review, writer, mim, service_owner, cast):
    url = f"/api/v1/reviews/{review.pk}/"
    assert as_(cast["outsider"]).patch(url, {"summary": "x"}, format="json").status_code == 403
    response = as_(writer).patch(
        url, {"summary": "Payments failed", "business_impact": "No sales", "version": 1}, format="json"
    )
    assert response.status_code == 200 and response.json()["version"] == 2
    assert as_(writer).patch(url, {"summary": "stale", "version": 1}, format="json").status_code == 409
    unmet = as_(writer).post(url + "submit/")
    assert unmet.status_code == 422 and unmet.json()["unmet_criteria"][0]["criterion"] == "factors"
    category = FactorCategory.objects.get(code="capacity").pk
    factor = as_(writer).post(
        "/api/v1/contributing-factors/",
        {"review": review.pk, "category": category, "description": "Peak load"},
        format="json",
    )
    assert factor.status_code == 201
    assert as_(writer).post(url + "submit/").json()["state"] == "in_review"
    assert as_(writer).post(url + "approve/").status_code == 403  # submitted it
    assert as_(cast["pm"]).post(url + "approve/").status_code == 403
    assert as_(service_owner).post(url + "approve/", {"comment": "ok"}, format="json").status_code == 200
    refused = as_(service_owner).post(url + "approve/")
    assert refused.status_code == 403 and refused.json()["code"] == "separation_of_duties"
    approved = as_(mim).post(url + "approve/").json()
    assert approved["state"] == "approved" and {a["role"] for a in approved["approvals"]} == {
        "mim",
        "service_owner",
    }
    assert as_(mim).post(url + "approve/").status_code == 409
    assert as_(writer).post(url + "publish/").json()["state"] == "published"
    revised = as_(writer).patch(url, {"lessons": "Load-test before peak"}, format="json").json()
    assert revised["revision"] == 2 and revised["state"] == "draft"
    assert [r["number"] for r in as_(cast["viewer"]).get(url + "revisions/").json()] == [1]
    diff = as_(cast["viewer"]).get(url + "diff/?from=1").json()
    assert diff == [{"section": "Lessons", "lines": ["@@ -0,0 +1 @@", "+Load-test before peak"]}]


def test_waive_needs_reason_and_incident_manager(as_, review, mim, service_owner):
    url = f"/api/v1/reviews/{review.pk}/waive/"
    assert as_(mim).post(url, {}, format="json").status_code == 400
    assert as_(service_owner).post(url, {"reason": "dup"}, format="json").status_code == 403
    body = as_(mim).post(url, {"reason": "Duplicate"}, format="json").json()
    assert body["state"] == "waived" and body["waived_by"] == mim.pk
    assert as_(mim).post(url, {"reason": "again"}, format="json").status_code == 409


def test_timeline_and_figures_come_from_the_incident(as_, review, cast):
    figures = as_(cast["viewer"]).get(f"/api/v1/reviews/{review.pk}/figures/").json()
    assert figures["durations_minutes"]["time_to_detect"] == 5.0
    assert figures["durations_minutes"]["time_to_declare"] == 15.0
    assert "share" in figures["cadence_adherence"]
    assert as_(cast["viewer"]).get(f"/api/v1/reviews/{review.pk}/timeline/").status_code == 200


def test_action_lifecycle_through_the_api(as_, review, mim, service_owner):
    created = as_(mim).post("/api/v1/actions/", {
        "review": review.pk, "kind": "detective", "title": "Alert on gateway timeouts",
        "owner": service_owner.pk, "due_date": "2026-04-01", "priority": "high",
    }, format="json")  # fmt: skip
    assert created.status_code == 201 and created.json()["state"] == "proposed"
    url = f"/api/v1/actions/{created.json()['id']}/"
    assert as_(service_owner).post(url + "reject/", {}, format="json").status_code == 400
    assert as_(service_owner).post(url + "complete/").status_code == 409  # proposed → done is not a step
    as_(service_owner).post(url + "accept/")
    assert as_(service_owner).post(url + "complete/").json()["state"] == "done"
    assert as_(service_owner).post(url + "verify/").status_code == 403
    assert as_(mim).post(url + "verify/").json()["state"] == "verified"


def test_promote_walk(as_, action, service_owner, tree, cast, mim):
    url = f"/api/v1/actions/{action.pk}/promote/"
    assert as_(mim).post(url, {"package": tree.package.pk}, format="json").status_code == 403
    response = as_(service_owner).post(
        url, {"package": tree.package.pk, "sponsor": cast["sponsor"].pk}, format="json"
    )
    assert response.status_code == 201
    body = response.json()
    assert body["measure_code"].startswith("M-") and body["baseline_suggestion"] == "12000.00"
    assert body["state"] == "accepted" and body["promoted_by"] == service_owner.pk
    measure = as_(service_owner).get(f"/api/v1/measures/{body['measure']}/").json()
    assert (
        measure["doi"] == 0
        and measure["owner"] == service_owner.pk
        and measure["sponsor"] == cast["sponsor"].pk
    )
    again = as_(service_owner).post(url, {"package": tree.package.pk}, format="json")
    assert again.status_code == 409 and "already promoted" in again.json()["detail"]
    # Someone who may not see the measure gets the action without its code.
    assert as_(cast["outsider"]).get(f"/api/v1/actions/{action.pk}/").json()["measure_code"] is None


def test_link_to_a_visible_measure(as_, review, action, service_owner, cast, tree, mim):
    measure = measure_services.measure_create(
        by=cast["pm"], title="Gateway resilience", objective="x", package=tree.package
    )
    url = f"/api/v1/actions/{action.pk}/link/"
    assert as_(service_owner).post(url, {"measure": 999999}, format="json").status_code == 404
    assert (
        as_(service_owner).post(url, {"measure": measure.pk}, format="json").json()["measure"] == measure.pk
    )
    assert as_(service_owner).post(url, {"measure": measure.pk}, format="json").status_code == 409
    hidden = measure_services.measure_create(
        by=cast["outsider"], title="Hidden", objective="x", package=tree.other_package
    )
    other = services.action_create(
        review=review, by=mim, title="Other", owner=service_owner, due_date=date(2026, 5, 1)
    )
    assert (
        as_(service_owner)
        .post(f"/api/v1/actions/{other.pk}/link/", {"measure": hidden.pk}, format="json")
        .status_code
        == 404
    )
    assert Action.objects.filter(measure=measure).count() == 1


def test_factor_categories_are_the_taxonomy(as_, cast):
    codes = [row["code"] for row in as_(cast["viewer"]).get("/api/v1/factor-categories/").json()]
    assert codes == [
        "change",
        "capacity",
        "software_defect",
        "configuration",
        "vendor",
        "network",
        "security",
        "process",
        "unknown",
    ]


def test_schema_has_the_review_endpoints(as_, cast):
    schema = as_(cast["leader"]).get("/api/schema/?format=json").json()
    for path in (
        "/api/v1/reviews/{id}/approve/",
        "/api/v1/reviews/{id}/waive/",
        "/api/v1/actions/{id}/promote/",
        "/api/v1/actions/{id}/link/",
    ):
        assert path in schema["paths"]


def test_closing_an_incident_with_an_open_pir_is_422_with_the_reason(as_, review, mim, writer):
    write(review, writer)
    incident = review.incident
    validated(incident, mim)
    response = as_(mim).post(f"/api/v1/incidents/{incident.pk}/close/", {}, format="json")
    assert response.status_code == 422 and response.json()["unmet_criteria"][0]["criterion"] == "pir"
