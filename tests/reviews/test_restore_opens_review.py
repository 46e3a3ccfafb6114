"""Restoring an incident opens its PIR in the same transaction (DESIGN §7): a restore either
comes with exactly one PIR or does not happen, and the client gets a sentence, never a 500.
PIR texts and action due dates are held to plausible sizes and ranges."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest

from incidents import services as incident_services
from incidents.choices import EntryKind, RoleKind
from incidents.models import Incident, TimelineEntry
from reviews import services as review_services
from reviews.models import Action, Review
from tests.reviews.conftest import at

MEGABYTE = "x" * 1_000_000


@pytest.fixture
def declared(mim, catalog):
    incident = incident_services.incident_log(
        by=mim, title="Card payments failing", services=[catalog["payments"]],
        impact_started_at=at(0), detected_at=at(5), reported_at=at(10),
    )  # fmt: skip
    incident_services.role_assign(incident=incident, by=mim, role=RoleKind.MIM, user=mim, at=at(10))
    return incident_services.incident_declare(incident=incident, by=mim, at=at(20))


@pytest.fixture
def as_mim(api, mim):
    return api.as_user(mim)


def test_restore_opens_exactly_one_pir_before_commit(as_mim, declared, django_capture_on_commit_callbacks):
    url = f"/api/v1/incidents/{declared.pk}/restore/"
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        response = as_mim.post(url, {"at": at(120).isoformat()}, format="json")
        # No after-commit callback is needed: the PIR is there inside the restore's transaction.
        assert Review.objects.filter(incident=declared).count() == 1
    assert response.status_code == 200 and response.json()["state"] == "restored"
    assert callbacks == []
    review = Review.objects.get(incident=declared)
    assert review.state == "draft" and review.due_at == datetime(2026, 3, 16, 11, 0, tzinfo=UTC)
    listed = as_mim.get(f"/api/v1/reviews/?incident={declared.pk}").json()
    assert [row["id"] for row in listed["results"]] == [review.pk]


def test_a_restore_whose_pir_cannot_be_opened_changes_nothing(as_mim, declared):
    """An impact start in year 1 stored before the plausibility rule (the reported 500): opening
    the PIR overflows. The restoration is rolled back with a clear 409, and once the time is
    corrected the retry restores with exactly one PIR (it used to answer 409 without a PIR)."""
    Incident.objects.filter(pk=declared.pk).update(impact_started_at=datetime(1, 1, 1, tzinfo=UTC))
    entries = TimelineEntry.objects.filter(incident=declared).count()
    url = f"/api/v1/incidents/{declared.pk}/restore/"

    response = as_mim.post(url, {"at": at(120).isoformat()}, format="json")

    assert response.status_code == 409
    body = response.json()
    assert body["code"] == "pir_not_opened"
    assert body["detail"].startswith(
        "The post-incident review could not be opened, so the incident was not restored"
    )
    incident = Incident.objects.get(pk=declared.pk)
    assert incident.state == "declared" and incident.restored_at is None
    assert not Review.objects.filter(incident=declared).exists()
    assert TimelineEntry.objects.filter(incident=declared).count() == entries
    assert not TimelineEntry.objects.filter(incident=declared, kind=EntryKind.RECOVERY).exists()

    fixed = as_mim.patch(
        f"/api/v1/incidents/{declared.pk}/", {"impact_started_at": at(0).isoformat()}, format="json"
    )
    assert fixed.status_code == 200, fixed.json()
    retry = as_mim.post(url, {"at": at(120).isoformat()}, format="json")
    assert retry.status_code == 200 and retry.json()["state"] == "restored"
    assert Review.objects.filter(incident=declared).count() == 1


def test_the_page_reports_a_refused_restore_as_a_message(client, mim, declared):
    Incident.objects.filter(pk=declared.pk).update(impact_started_at=datetime(1, 1, 1, tzinfo=UTC))
    client.force_login(mim)
    response = client.post(f"/incidents/{declared.pk}/do/restore/", follow=True)
    assert response.status_code == 200
    assert "The post-incident review could not be opened" in response.content.decode()
    assert Incident.objects.get(pk=declared.pk).state == "declared"
    assert not Review.objects.filter(incident=declared).exists()


def test_a_restore_at_an_implausible_time_opens_no_pir(as_mim, declared):
    response = as_mim.post(
        f"/api/v1/incidents/{declared.pk}/restore/", {"at": "0001-01-01T00:00:00Z"}, format="json"
    )
    assert response.status_code == 400 and "restored_at" in response.json()["errors"]
    assert Incident.objects.get(pk=declared.pk).state == "declared"
    assert not Review.objects.exists()


@pytest.mark.parametrize("due_date", ["1999-12-31", "2099-01-01"])
def test_an_action_due_date_out_of_range_is_refused(as_mim, review, service_owner, due_date):
    response = as_mim.post(
        "/api/v1/actions/",
        {"review": review.pk, "title": "Fix", "owner": service_owner.pk, "due_date": due_date},
        format="json",
    )
    assert response.status_code == 400
    assert "due_date" in response.json()["errors"] and "due_date" in response.json()["detail"]
    assert not Action.objects.exists()


def test_an_action_due_date_change_out_of_range_is_refused(as_mim, review, mim, service_owner):
    action = review_services.action_create(
        review=review, by=mim, title="Fix", owner=service_owner, due_date=date(2026, 5, 1)
    )
    response = as_mim.patch(f"/api/v1/actions/{action.pk}/", {"due_date": "1900-01-01"}, format="json")
    assert response.status_code == 400 and "due_date" in response.json()["errors"]
    assert Action.objects.get(pk=action.pk).due_date == date(2026, 5, 1)


def test_megabyte_pir_text_is_refused_naming_the_field(as_mim, review, service_owner):
    response = as_mim.patch(f"/api/v1/reviews/{review.pk}/", {"summary": MEGABYTE}, format="json")
    assert response.status_code == 400
    assert response.json()["errors"]["summary"] == ["At most 20,000 characters (this has 1,000,000)."]
    response = as_mim.post(
        "/api/v1/actions/",
        {"review": review.pk, "title": "Fix", "owner": service_owner.pk, "due_date": "2026-05-01",
         "description": MEGABYTE},
    )  # fmt: skip
    assert response.status_code == 400 and "description" in response.json()["errors"]
    response = as_mim.post(f"/api/v1/reviews/{review.pk}/waive/", {"reason": MEGABYTE}, format="json")
    assert response.status_code == 400 and "reason" in response.json()["errors"]
    stored = Review.objects.get(pk=review.pk)
    assert stored.summary == "" and stored.state == "draft" and not Action.objects.exists()
