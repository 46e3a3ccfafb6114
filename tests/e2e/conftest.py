"""Browser journeys: Playwright drives Debian's Chromium against a live server on PostgreSQL."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

from tests.conftest import need_service

CHROMIUM = os.environ.get("VALUEGATE_CHROMIUM", "/usr/bin/chromium")
ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts" / "screenshots"

# Playwright's sync API runs an event loop in this thread; the test itself still talks to the
# database synchronously, which Django would otherwise refuse.
os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")


@pytest.fixture(scope="session")
def browser():
    need_service(shutil.which(CHROMIUM) is not None or Path(CHROMIUM).exists(), f"{CHROMIUM} is missing")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=CHROMIUM,
            args=[
                "--no-sandbox",
                "--disable-gpu",
                "--disable-background-networking",
                "--disable-dev-shm-usage",
            ],
        )
        yield browser
        browser.close()


@pytest.fixture
def page(browser, live_server):
    context = browser.new_context(viewport={"width": 1366, "height": 768}, base_url=live_server.url)
    page = context.new_page()
    page.set_default_timeout(30_000)  # generous: CI shares two cores with the live server
    yield page
    context.close()


@pytest.fixture
def shoot(request):
    """Save a screenshot of the page under test-artifacts/screenshots/<test>-<name>.png."""
    ARTIFACTS.mkdir(parents=True, exist_ok=True)

    def take(page, name: str) -> Path:
        path = ARTIFACTS / f"{request.node.name}-{name}.png"
        page.screenshot(path=str(path), full_page=True)
        return path

    return take


def login(page, username: str, password: str = "a-long-test-password") -> None:
    page.goto("/accounts/login/")
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Log in").click()
    page.wait_for_url(lambda url: "/accounts/login/" not in url)


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item, call):
    """On a failed browser test keep what the browser showed: a screenshot and the page's HTML."""
    report = yield
    page = item.funcargs.get("page") if hasattr(item, "funcargs") else None
    if report.failed and page is not None and not page.is_closed():
        folder = ARTIFACTS.parent / "failures"
        folder.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(folder / f"{item.name}.png"), full_page=True)
        (folder / f"{item.name}.html").write_text(f"<!-- {page.url} -->\n{page.content()}")
    return report
