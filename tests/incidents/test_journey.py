"""Browser journey in headless Chromium: a MIM logs, declares and restores a major incident while
the criteria and the next-update countdown react; leadership reads the same page without buttons.

Playwright runs in its own thread so it never meets the session-wide browser of tests/e2e (two
sync Playwright instances cannot share one thread)."""

from __future__ import annotations

import shutil
import threading
from collections.abc import Callable
from datetime import timedelta

import pytest
from django.utils import timezone

from incidents.models import Incident
from tests.conftest import need_service

# Transactional (a live server): the `seeded` fixture puts back what earlier flushes removed.
pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

CHROMIUM = "/usr/bin/chromium"


def _in_browser(base_url: str, username: str, steps: Callable) -> None:
    """Log in as `username` and run `steps(page)` in a fresh Chromium, in a thread of its own."""
    need_service(shutil.which(CHROMIUM) is not None, f"{CHROMIUM} is missing")
    failures: list[BaseException] = []

    def run() -> None:
        from playwright.sync_api import sync_playwright

        try:
            with sync_playwright() as playwright:
                browser = playwright.chromium.launch(
                    executable_path=CHROMIUM, args=["--no-sandbox", "--disable-gpu"]
                )
                page = browser.new_context(
                    base_url=base_url, viewport={"width": 1366, "height": 900}
                ).new_page()
                page.set_default_timeout(15_000)
                page.goto("/accounts/login/")
                page.get_by_label("Username").fill(username)
                page.get_by_label("Password").fill("a-long-test-password")
                page.get_by_role("button", name="Log in").click()
                page.wait_for_url(lambda url: "/accounts/login/" not in url)
                steps(page)
                browser.close()
        except BaseException as exc:  # noqa: BLE001 - re-raised in the test thread below
            failures.append(exc)

    thread = threading.Thread(target=run)
    thread.start()
    thread.join(timeout=120)
    if failures:
        raise failures[0]
    assert not thread.is_alive()


def _in_half_an_hour() -> str:
    """A plausible next-update time for the form (a year like 2099 is refused as a typo)."""
    return (timezone.localtime() + timedelta(minutes=30)).strftime("%Y-%m-%dT%H:%M")


def _run_an_incident(page) -> None:
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
    page.get_by_label("Next update due").fill(_in_half_an_hour())
    page.get_by_role("button", name="Send (or submit for approval)").click()
    page.get_by_text("Status update recorded.").wait_for()

    page.get_by_role("button", name="Service restored").click()
    page.get_by_text("is restored").wait_for()


def test_mim_runs_a_major_incident_in_the_browser(live_server, people, catalog):
    _in_browser(live_server.url, "mim", _run_an_incident)
    incident = Incident.objects.get(title="Tills cannot take cards")
    assert incident.state == "restored" and incident.status_updates.count() == 1


def test_leadership_reads_without_action_buttons(live_server, people, walk):
    incident = walk("declared", title="Checkout down")

    def read(page) -> None:
        page.goto("/incidents/")
        page.get_by_role("link", name=f"{incident.reference} Checkout down").first.click()
        page.get_by_role("heading", name="Timeline and decisions").wait_for()
        assert page.get_by_role("button", name="Service restored").count() == 0
        assert page.get_by_text("Status update overdue").count() == 1

    _in_browser(live_server.url, "leader", read)
