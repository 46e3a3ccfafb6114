"""Browser pages: the PIR list with its tabs, the PIR page with sections, pinned timeline,
computed figures, factors, actions and the approval panel, autosave, diff and the actions board."""

from __future__ import annotations

from datetime import date

import pytest

from incidents import services as incident_services
from incidents.choices import EntryKind
from reviews import services
from reviews.models import Action, FactorCategory, Review
from tests.reviews.conftest import at, write


@pytest.fixture
def browser(client):
    def as_user(user):
        client.force_login(user)
        return client

    return as_user


def test_list_shows_tabs_figures_and_nav(browser, review, cast):
    page = browser(cast["viewer"]).get("/reviews/")
    text = page.content.decode()
    assert page.status_code == 200 and review.incident.reference in text
    assert 'href="/reviews/"' in text  # navigation entry "Reviews"
    assert "PIRs due" in text and "On time" in text
    assert review.incident.reference in browser(cast["viewer"]).get("/reviews/?show=overdue").content.decode()
    assert (
        review.incident.reference not in browser(cast["viewer"]).get("/reviews/?show=waived").content.decode()
    )


def test_list_needs_login(client):
    assert client.get("/reviews/").status_code == 302


def test_pir_page_shows_pinned_timeline_and_computed_figures(browser, review, mim, cast):
    entry = incident_services.timeline_entry_add(
        incident=review.incident, by=mim, kind=EntryKind.DECISION, text="Fail over to the second gateway",
        rationale="Primary unrecoverable", decided_by=mim, occurred_at=at(60),
    )  # fmt: skip
    incident_services.timeline_entry_add(
        incident=review.incident, by=mim, kind=EntryKind.NOTE, text="Coffee arrived", occurred_at=at(61)
    )
    incident_services.timeline_entry_pin(entry=entry, by=mim)
    text = browser(cast["viewer"]).get(f"/reviews/{review.pk}/").content.decode()
    assert "Fail over to the second gateway" in text and "Coffee arrived" not in text
    assert "Time to detect" in text and "5 min" in text and "Time to declare" in text
    assert "Communication review" in text
    assert "Submit for review" not in text  # a viewer has no buttons
    assert "Sign-off by the service owner" in text


def test_writer_saves_sections_and_autosave_answers_with_a_note(browser, review, mim):
    client = browser(mim)
    response = client.post(f"/reviews/{review.pk}/sections/", {"summary": "Gateway timeouts", "version": 1})
    assert response.status_code == 302
    assert Review.objects.get(pk=review.pk).summary == "Gateway timeouts"
    note = client.post(
        f"/reviews/{review.pk}/sections/", {"lessons": "Test failover", "version": 2}, HTTP_HX_REQUEST="true"
    )
    assert b"Draft saved" in note.content and Review.objects.get(pk=review.pk).version == 3
    stale = client.post(
        f"/reviews/{review.pk}/sections/", {"lessons": "late", "version": 2}, HTTP_HX_REQUEST="true"
    )
    assert b"Not saved" in stale.content


def test_outsider_cannot_write(browser, review, cast):
    client = browser(cast["outsider"])
    client.post(f"/reviews/{review.pk}/sections/", {"summary": "x"})
    assert Review.objects.get(pk=review.pk).summary == ""


def test_factor_action_and_transitions_from_the_page(browser, review, writer, mim, service_owner):
    client = browser(writer)
    write(review, writer)
    client.post(
        f"/reviews/{review.pk}/factors/",
        {"category": FactorCategory.objects.get(code="capacity").pk, "description": "Peak load"},
    )
    assert review.factors.count() == 2
    client.post(f"/reviews/{review.pk}/actions/", {
        "kind": "preventive", "title": "Load test before peak", "owner": service_owner.pk,
        "due_date": "2026-04-01", "priority": "high",
    })  # fmt: skip
    assert Action.objects.filter(review=review, title="Load test before peak").exists()
    client.post(f"/reviews/{review.pk}/do/submit/")
    refused = client.post(f"/reviews/{review.pk}/do/approve/", follow=True)
    assert "You submitted this PIR" in refused.content.decode()
    browser(service_owner).post(f"/reviews/{review.pk}/do/approve/")
    browser(mim).post(f"/reviews/{review.pk}/do/approve/", {"comment": "Good"})
    assert Review.objects.get(pk=review.pk).state == "approved"
    page = browser(writer).get(f"/reviews/{review.pk}/").content.decode()
    assert "Publish" in page and "No approved revision yet" not in page


def test_promote_and_link_buttons(browser, action, service_owner, tree, cast, mim):
    review = action.review
    page = browser(service_owner).get(f"/reviews/{review.pk}/").content.decode()
    assert "Promote to measure" in page and "Failover" in page  # the package is offered
    response = browser(service_owner).post(
        f"/reviews/{review.pk}/actions/{action.pk}/promote/",
        {"package": tree.package.pk, "title": ""},
        follow=True,
    )
    action.refresh_from_db()
    assert (
        action.measure is not None
        and f"Promoted to measure {action.measure.code}" in response.content.decode()
    )
    other = services.action_create(
        review=review, by=mim, title="Second", owner=service_owner, due_date=date(2026, 5, 1)
    )
    browser(service_owner).post(
        f"/reviews/{review.pk}/actions/{other.pk}/link/", {"code": action.measure.code}
    )
    assert Action.objects.get(pk=other.pk).measure == action.measure
    board = browser(cast["viewer"]).get("/reviews/actions/").content.decode()
    assert "Accepted" in board and action.title in board


def test_diff_page_shows_changes_after_approval(browser, approved, writer, cast):
    services.review_update(
        review=approved, by=writer, summary="Card payments failed for 100 minutes.\nRoot: timeouts."
    )
    text = browser(cast["viewer"]).get(f"/reviews/{approved.pk}/diff/?from=1").content.decode()
    assert "+Root: timeouts." in text and "Summary" in text


def test_board_lists_overdue_per_owner(browser, review, mim, service_owner, cast):
    services.action_create(
        review=review, by=mim, title="Long overdue", owner=service_owner, due_date=date(2020, 1, 1)
    )
    text = browser(cast["leader"]).get("/reviews/actions/").content.decode()
    assert "Overdue per owner" in text and "Long overdue" in text
