"""Browser journey in headless Chromium: a MIM logs, declares and restores a major incident while
the criteria and the next-update countdown react; leadership reads the same page without buttons."""

import pytest

from incidents.models import Incident
from tests.e2e.conftest import browser, login, page  # noqa: F401  (fixtures shared with tests/e2e)

# Transactional (a live server): the `seeded` fixture puts back what earlier flushes removed.
pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


def test_mim_runs_a_major_incident_in_the_browser(page, people, catalog):  # noqa: F811
    login(page, "mim")
    page.goto("/incidents/new/")
    page.get_by_label("Title").fill("Tills cannot take cards")
    page.get_by_label("Services").select_option(label="Payments")
    page.get_by_text("This looks major").wait_for()
    page.get_by_role("button", name="Log incident").click()
    page.get_by_text("Declaration criteria met when logged").wait_for()

    page.locator("#roles select[name=user]").select_option(label="Mia Ivanova (mim)")
    page.get_by_role("button", name="Assign / hand over").click()
    page.get_by_role("button", name="Declare major incident").click()
    page.get_by_text("is declared").wait_for()
    assert page.locator("#next-update").inner_text().startswith("Next status update due")

    page.get_by_role("link", name="Initial notice").click()
    page.get_by_label("Business impact").fill("No card payments in stores")
    page.get_by_label("Current status").fill("Investigating with PayCo")
    page.get_by_label("Next update due").fill("2099-01-01T10:00")
    page.get_by_role("button", name="Send (or submit for approval)").click()
    page.get_by_text("Status update recorded.").wait_for()

    page.get_by_role("button", name="Service restored").click()
    page.get_by_text("is restored").wait_for()
    incident = Incident.objects.get(title="Tills cannot take cards")
    assert incident.state == "restored" and incident.status_updates.count() == 1


def test_leadership_reads_without_action_buttons(page, people, walk):  # noqa: F811
    incident = walk("declared", title="Checkout down")
    login(page, "leader")
    page.goto("/incidents/")
    page.get_by_role("link", name=f"{incident.reference} Checkout down").first.click()
    page.get_by_role("heading", name="Timeline and decisions").wait_for()
    assert page.get_by_role("button", name="Service restored").count() == 0
    assert page.get_by_text("Status update overdue").count() == 1
