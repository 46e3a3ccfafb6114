"""Browser journey (headless Chromium): an owner requests DoI 1, the program manager approves it
from the approvals inbox, and the measure page shows the new DoI."""

from __future__ import annotations

import pytest

from measures.models import Measure
from tests.e2e.conftest import browser, login, page, shoot  # noqa: F401 - fixtures for this module

pytestmark = [pytest.mark.e2e]


def test_request_and_approve_doi1_in_the_browser(page, cast, ready_measure, shoot):  # noqa: F811
    login(page, "owner")
    page.get_by_role("link", name="Measures").first.click()
    page.get_by_role("link", name=ready_measure.code).click()
    assert page.get_by_role("heading", name="Next gate: DoI 1 · Identified").is_visible()
    page.get_by_label("Note to the approvers").fill("Sized with finance")
    page.get_by_role("button", name="Request DoI 1").click()
    assert page.get_by_text("Gate requested; the approvers have been notified.").is_visible()
    assert page.get_by_role("heading", name="Gate request: DoI 0 → 1").is_visible()
    assert page.get_by_role("button", name="Approve").count() == 0
    shoot(page, "requested")
    page.get_by_role("button", name="Log out").click()

    login(page, "pm")
    page.get_by_role("link", name="Approvals").click()
    row = page.get_by_role("row").filter(has_text=ready_measure.code)
    row.get_by_placeholder("Comment (required to reject)").fill("Good case")
    row.get_by_role("button", name="Approve").click()
    assert page.get_by_role("status").get_by_text("Approved.").is_visible()
    assert page.get_by_text("No requests wait for your approval.").is_visible()
    page.goto(f"/measures/{ready_measure.pk}/")
    assert page.locator("[aria-current=step]").inner_text() == "DoI 1 · Identified"
    shoot(page, "approved")
    assert Measure.objects.get(pk=ready_measure.pk).stage == "identified"
