"""Browser journey (headless Chromium): an owner requests DoI 1, the program manager approves it
from the approvals inbox, and the measure page shows the new DoI.

Playwright runs in its own thread here, so it never meets the session-wide browser of tests/e2e
(two sync Playwright instances cannot share one thread)."""

from __future__ import annotations

import shutil
import threading
from pathlib import Path

import pytest

from measures.models import Measure
from tests.conftest import need_service

pytestmark = [pytest.mark.e2e]

CHROMIUM = "/usr/bin/chromium"
ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts" / "screenshots"


def _login(page, username: str) -> None:
    page.goto("/accounts/login/")
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password").fill("a-long-test-password")
    page.get_by_role("button", name="Log in").click()
    page.wait_for_url(lambda url: "/accounts/login/" not in url)


def _journey(base_url: str, code: str, pk: int) -> None:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox", "--disable-gpu"])
        page = browser.new_context(base_url=base_url, viewport={"width": 1366, "height": 900}).new_page()
        page.set_default_timeout(15_000)
        _login(page, "owner")
        page.get_by_role("link", name="Measures").first.click()
        page.get_by_role("link", name=code).click()
        assert page.get_by_role("heading", name="Next gate: DoI 1 · Identified").is_visible()
        page.get_by_label("Note to the approvers").fill("Sized with finance")
        page.get_by_role("button", name="Request DoI 1").click()
        assert page.get_by_text("Gate requested; the approvers have been notified.").is_visible()
        assert page.get_by_role("heading", name="Gate request: DoI 0 → 1").is_visible()
        assert page.get_by_role("button", name="Approve").count() == 0
        page.get_by_role("button", name="Log out").click()

        _login(page, "pm")
        page.get_by_role("link", name="Approvals").click()
        row = page.get_by_role("row").filter(has_text=code)
        row.get_by_placeholder("Comment (required to reject)").fill("Good case")
        row.get_by_role("button", name="Approve").click()
        assert page.get_by_role("status").get_by_text("Approved.").is_visible()
        assert page.get_by_text("No requests wait for your approval.").is_visible()
        page.goto(f"/measures/{pk}/")
        assert page.locator("[aria-current=step]").inner_text() == "DoI 1 · Identified"
        ARTIFACTS.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(ARTIFACTS / "measures-gate-journey.png"), full_page=True)
        browser.close()


def test_request_and_approve_doi1_in_the_browser(live_server, cast, ready_measure):
    need_service(shutil.which(CHROMIUM) is not None, f"{CHROMIUM} is missing")
    failures: list[BaseException] = []

    def run() -> None:
        try:
            _journey(live_server.url, ready_measure.code, ready_measure.pk)
        except BaseException as exc:  # noqa: BLE001 - re-raised in the test thread below
            failures.append(exc)

    thread = threading.Thread(target=run)
    thread.start()
    thread.join(timeout=120)
    if failures:
        raise failures[0]
    assert not thread.is_alive()
    assert Measure.objects.get(pk=ready_measure.pk).stage == "identified"
