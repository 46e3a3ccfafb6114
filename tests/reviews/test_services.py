"""PIR life: automatic opening and due dates, sections, factors, four-eyes sign-off, revisions,
waiver, and the incident closure guard (DESIGN §7)."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from config.errors import Conflict, CriteriaUnmet, InvalidInput, PermissionRefused, StaleVersion
from config.errors import SeparationOfDutiesViolation as FourEyes
from incidents import services as incident_services
from reviews import selectors, services
from reviews.choices import ReviewState
from reviews.models import Review
from tests.reviews.conftest import at, validated, write


def test_restoring_a_major_incident_opens_one_pir_due_by_severity(restored):
    incident = restored(severity=2)  # SEV2: 10 business days
    review = Review.objects.get(incident=incident)
    assert review.state == ReviewState.DRAFT
    # Restored Monday 2026-03-02 11:00 → ten working days later is Monday 2026-03-16.
    assert review.due_at == datetime(2026, 3, 16, 11, 0, tzinfo=UTC)
    sev1 = restored(start=60 * 24, severity=1)  # restored Tuesday → 5 business days: next Tuesday
    assert Review.objects.get(incident=sev1).due_at == datetime(2026, 3, 10, 11, 0, tzinfo=UTC)


def test_opening_is_idempotent(restored, mim):
    incident = restored()
    first = Review.objects.get(incident=incident)
    assert services.review_open(incident_id=incident.pk, by=mim) == first
    services.on_incident_restored(sender=None, incident_id=incident.pk, by=mim)
    assert Review.objects.filter(incident=incident).count() == 1


def test_a_reopened_and_again_restored_incident_keeps_its_pir(
    restored, mim, django_capture_on_commit_callbacks
):
    incident = restored()
    incident = incident_services.incident_reopen(incident=incident, by=mim, reason="Errors returned")
    with django_capture_on_commit_callbacks(execute=True):
        incident_services.incident_restore(incident=incident, by=mim, at=at(200))
    assert Review.objects.filter(incident=incident).count() == 1


def test_sections_are_written_by_the_people_of_the_incident(review, mim, service_owner, cast):
    review = services.review_update(review=review, by=mim, summary="  What happened  ")
    assert review.summary == "What happened" and review.version == 2
    services.review_update(review=review, by=service_owner, lessons="Alert on timeouts")
    for outsider in ("outsider", "leader", "viewer"):
        with pytest.raises(PermissionRefused):
            services.review_update(review=review, by=cast[outsider], summary="x")
    with pytest.raises(InvalidInput):
        services.review_update(review=review, by=mim, root_cause_person="Bob")
    with pytest.raises(StaleVersion):
        services.review_update(review=review, by=mim, version=1, summary="late autosave")


def test_several_factors_each_tagged_from_the_taxonomy(review, mim):
    services.factor_add(review=review, by=mim, category="change", description="Release changed timeouts")
    services.factor_add(review=review, by=mim, category="vendor", description="Acquirer answered late")
    assert [f.category.code for f in review.factors.all()] == ["change", "vendor"]
    with pytest.raises(InvalidInput):
        services.factor_add(review=review, by=mim, category="blame", description="x")
    with pytest.raises(InvalidInput):
        services.factor_add(review=review, by=mim, category="change", description=" ")


def test_submit_needs_summary_impact_and_a_factor(review, writer):
    with pytest.raises(CriteriaUnmet) as refused:
        services.review_submit(review=review, by=writer)
    assert {u["criterion"] for u in refused.value.unmet} == {"summary", "business_impact", "factors"}
    write(review, writer)
    assert services.review_submit(review=review, by=writer).state == ReviewState.IN_REVIEW


def test_in_review_is_not_edited_until_returned(review, writer, mim):
    write(review, writer)
    services.review_submit(review=review, by=writer)
    with pytest.raises(Conflict):
        services.review_update(review=review, by=writer, summary="x")
    assert (
        services.review_return(review=review, by=mim, comment="Add vendor timing").state == ReviewState.DRAFT
    )


def test_approval_needs_service_owner_and_mim(review, writer, mim, service_owner, cast):
    write(review, writer)
    services.review_submit(review=review, by=writer)
    with pytest.raises(PermissionRefused, match="service owner and major incident manager"):
        services.review_approve(review=review, by=cast["pm"])
    review = services.review_approve(review=review, by=service_owner)
    assert review.state == ReviewState.IN_REVIEW
    assert selectors.approval_status(review).missing[0].startswith("Sign-off by the major incident manager")
    review = services.review_approve(review=review, by=mim)
    assert review.state == ReviewState.APPROVED and review.approved_at is not None
    assert review.revisions.get().number == 1


def test_nobody_approves_their_own_submission(review, mim, service_owner):
    write(review, mim)
    services.review_submit(review=review, by=mim)
    with pytest.raises(FourEyes, match="You submitted this PIR"):
        services.review_approve(review=review, by=mim)


def test_one_person_holding_both_roles_signs_off_once(review, writer, mim, make_user, catalog):
    catalog["payments"].owner = mim
    catalog["payments"].save()
    write(review, writer)
    services.review_submit(review=review, by=writer)
    services.review_approve(review=review, by=mim)
    with pytest.raises(FourEyes, match="different person"):
        services.review_approve(review=review, by=mim)
    assert Review.objects.get(pk=review.pk).state == ReviewState.IN_REVIEW


def test_approve_outside_review_conflicts(review, mim):
    with pytest.raises(Conflict):
        services.review_approve(review=review, by=mim)


def test_publish_after_approval_only(approved, writer, review):
    with pytest.raises(Conflict):
        services.review_submit(review=approved, by=writer)
    published = services.review_publish(review=approved, by=writer)
    assert published.state == ReviewState.PUBLISHED and published.published_at
    with pytest.raises(Conflict):
        services.review_publish(review=published, by=writer)


def test_an_edit_after_approval_opens_a_new_revision_and_keeps_the_old_one(
    approved, writer, mim, service_owner
):
    review = services.review_update(review=approved, by=writer, lessons="Rehearse failover monthly.")
    assert review.state == ReviewState.DRAFT and review.revision == 2
    old = review.revisions.get(number=1)
    assert old.content["sections"]["lessons"] == ""
    assert {a["role"] for a in old.approvers} == {"service_owner", "mim"}
    diff = selectors.review_diff(old.content, selectors.review_content(review))
    assert diff == [{"section": "Lessons", "lines": ["@@ -0,0 +1 @@", "+Rehearse failover monthly."]}]
    services.review_submit(review=review, by=writer)
    services.review_approve(review=review, by=service_owner)
    review = services.review_approve(review=review, by=mim)
    assert review.state == ReviewState.APPROVED
    assert list(review.revisions.values_list("number", flat=True)) == [1, 2]


def test_adding_a_factor_after_publication_also_revises(approved, writer):
    published = services.review_publish(review=approved, by=writer)
    services.factor_add(review=published, by=writer, category="process", description="Runbook was stale")
    review = Review.objects.get(pk=published.pk)
    assert review.revision == 2 and review.state == ReviewState.DRAFT


def test_waiver_needs_reason_and_an_incident_manager(review, mim, service_owner):
    with pytest.raises(InvalidInput):
        services.review_waive(review=review, by=mim, reason=" ")
    with pytest.raises(PermissionRefused):
        services.review_waive(review=review, by=service_owner, reason="Duplicate")
    waived = services.review_waive(review=review, by=mim, reason="Duplicate of MI-2026-0001")
    assert waived.state == ReviewState.WAIVED and waived.waived_by == mim
    with pytest.raises(Conflict):
        services.review_update(review=waived, by=mim, summary="x")
    with pytest.raises(Conflict):
        services.review_waive(review=waived, by=mim, reason="again")


def test_state_cannot_be_assigned_directly(review):
    with pytest.raises(AttributeError):
        review.state = ReviewState.APPROVED


# --- The incident closure guard ---------------------------------------------------------------


def test_an_incident_closes_only_once_its_pir_is_settled(restored, mim, writer, service_owner):
    incident = validated(restored(), mim)
    with pytest.raises(CriteriaUnmet) as refused:
        incident_services.incident_close(incident=incident, by=mim, at=at(200))
    assert refused.value.unmet[0]["criterion"] == "pir"
    assert "approved, published or waived" in refused.value.unmet[0]["message"]
    review = Review.objects.get(incident=incident)
    write(review, writer)
    services.review_submit(review=review, by=writer)
    services.review_approve(review=review, by=service_owner)
    services.review_approve(review=review, by=mim)
    assert incident_services.incident_close(incident=incident, by=mim, at=at(200)).state == "closed"


def test_a_waived_pir_lets_the_incident_close(restored, mim):
    incident = validated(restored(), mim)
    services.review_waive(review=Review.objects.get(incident=incident), by=mim, reason="Test exercise")
    assert incident_services.incident_close(incident=incident, by=mim, at=at(200)).state == "closed"
