"""Accessibility smoke check: axe-core (vendored) runs inside Chromium on the main pages and may
find no serious or critical violation."""

from pathlib import Path

import pytest
from django.core.management import call_command

from tests.e2e.conftest import login

pytestmark = pytest.mark.e2e

AXE = (Path(__file__).parent / "vendor" / "axe.min.js").read_text()
PAGES = ["/", "/measures/", "/approvals/", "/incidents/", "/incidents/metrics/", "/reports/", "/scopes/"]


def _violations(page) -> list[dict]:
    page.evaluate(AXE)  # through the DevTools protocol: our CSP forbids inline scripts
    result = page.evaluate(
        "async () => await axe.run(document, {resultTypes: ['violations'], "
        "runOnly: {type: 'tag', values: ['wcag2a', 'wcag2aa']}})"
    )
    return [v for v in result["violations"] if v["impact"] in ("serious", "critical")]


@pytest.fixture
def demo(transactional_db):
    call_command("demo", no_serve=True, verbosity=0)


def test_main_pages_have_no_serious_accessibility_violations(page, demo, shoot):
    login(page, "pm", "valuegate-demo")
    found = {}
    for url in PAGES:
        page.goto(url)
        shoot(page, url.strip("/").replace("/", "-") or "home")
        problems = _violations(page)
        if problems:
            found[url] = [(v["id"], v["help"], [n["target"] for n in v["nodes"][:3]]) for v in problems]
    assert not found, found


def test_measure_and_incident_pages_are_accessible(page, demo):
    from incidents.models import Incident
    from measures.models import Measure

    login(page, "leader", "valuegate-demo")
    found = {}
    for url in (f"/measures/{Measure.objects.first().pk}/", f"/incidents/{Incident.objects.first().pk}/"):
        page.goto(url)
        problems = _violations(page)
        if problems:
            found[url] = [(v["id"], v["help"], [n["target"] for n in v["nodes"][:3]]) for v in problems]
    assert not found, found
