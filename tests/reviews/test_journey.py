"""Browser journey in headless Chromium on the demo data: an approver reads a PIR in review with
its computed figures and signs off; the PIR pages pass the axe accessibility check.

Playwright runs in a thread of its own so it never meets the session-wide browser of tests/e2e
(two sync Playwright instances cannot share one thread), as tests/incidents/test_journey.py does."""

from __future__ import annotations

import shutil
import threading
from collections.abc import Callable

import pytest
from django.contrib.auth import get_user_model
from django.core.management import call_command

from reviews import permissions
from reviews.models import Review
from tests.conftest import need_service
from tests.e2e.test_accessibility import AXE

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

CHROMIUM = "/usr/bin/chromium"


def _in_browser(base_url: str, username: str, steps: Callable) -> None:
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
                page.get_by_label("Password").fill("valuegate-demo")
                page.get_by_role("button", name="Log in").click()
                page.wait_for_url(lambda url: "/accounts/login/" not in url)
                steps(page)
                browser.close()
        except BaseException as exc:  # noqa: BLE001 - re-raised in the test thread below
            failures.append(exc)

    thread = threading.Thread(target=run)
    thread.start()
    thread.join(timeout=180)
    if failures:
        raise failures[0]
    assert not thread.is_alive()


@pytest.fixture
def demo():
    call_command("demo", no_serve=True, verbosity=0)


def _approver(review):
    """Someone who may give one of the open sign-offs (not the submitter, not signed already)."""
    given = list(review.approvals.filter(revision=review.revision))
    for user in get_user_model().objects.filter(username__in=["owner", "mim", "mim2", "admin"]):
        roles = permissions.approval_roles(user, review.incident) - {a.role for a in given}
        if roles and user.pk != review.submitted_by_id and user.pk not in {a.user_id for a in given}:
            return user
    raise AssertionError("the demo has no PIR waiting for a sign-off")


def test_an_approver_signs_off_a_pir_in_the_browser(live_server, demo):
    review = Review.objects.filter(state="in_review").select_related("incident").first()
    approver = _approver(review)
    before = review.approvals.filter(revision=review.revision).count()

    def steps(page):
        page.goto(f"/reviews/{review.pk}/")
        page.get_by_role("heading", name="Detection and escalation timing").wait_for()
        assert page.get_by_text("Time to detect").is_visible()
        page.get_by_role("button", name="Sign off").click()
        page.get_by_text("The PIR is").wait_for()

    _in_browser(live_server.url, approver.username, steps)
    assert review.approvals.filter(revision=review.revision).count() == before + 1


def test_review_pages_are_accessible(live_server, demo):
    review = Review.objects.exclude(state="waived").order_by("-revision").first()
    urls = ["/reviews/", f"/reviews/{review.pk}/", "/reviews/actions/", f"/reviews/{review.pk}/diff/?from=1"]
    found: dict = {}

    def steps(page):
        for url in urls:
            page.goto(url)
            page.evaluate(AXE)
            result = page.evaluate(
                "async () => await axe.run(document, {resultTypes: ['violations'], "
                "runOnly: {type: 'tag', values: ['wcag2a', 'wcag2aa']}})"
            )
            serious = [v for v in result["violations"] if v["impact"] in ("serious", "critical")]
            if serious:
                found[url] = [(v["id"], v["help"], [n["target"] for n in v["nodes"][:3]]) for v in serious]

    _in_browser(live_server.url, "pm", steps)
    assert not found, found
