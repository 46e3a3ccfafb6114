"""Browser pages of the financial effects: the measure page's financial section, grid entry,
CSV preview and import, re-baseline from the grid, and the controller's validation page."""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from measures.models import EffectValue, PlanVersion, RebaselineRequest
from tests.measures.effects_builders import benefit_line, fy_months, to_doi3


@pytest.fixture
def browser(client):
    def login(user):
        client.force_login(user)
        return client

    return login


def test_measure_page_shows_figures_lights_and_grid(browser, cast, ready_measure):
    measure = to_doi3(ready_measure, cast)
    page = browser(cast["viewer"]).get(f"/measures/{measure.pk}/")
    html = page.content.decode()
    assert page.status_code == 200
    assert "Financial effects" in html and "Risk-weighted pipeline" in html
    assert "in-year 120k of 120k planned" in html
    assert "Version 1 (baseline)" in html
    assert 'name="cell-' not in html  # a viewer sees the grid read-only


def test_owner_saves_the_forecast_grid_in_one_post(browser, cast, ready_measure):
    measure = to_doi3(ready_measure, cast)
    line = benefit_line(measure)
    months = fy_months()
    client = browser(cast["owner"])
    page = client.get(f"/measures/{measure.pk}/?series=forecast").content.decode()
    assert f'name="cell-{line.pk}-{months[0]:%Y-%m}"' in page
    data = {"series": "forecast"} | {f"cell-{line.pk}-{m:%Y-%m}": "9000" for m in months}
    response = client.post(f"/measures/{measure.pk}/effect-grid/", data)
    assert response.status_code == 302
    amounts = set(EffectValue.objects.filter(line=line, series="forecast").values_list("amount", flat=True))
    assert amounts == {Decimal("9000")}


def test_frozen_plan_grid_sends_a_rebaseline_and_the_controller_approves_it(browser, cast, ready_measure):
    measure = to_doi3(ready_measure, cast)
    line = benefit_line(measure)
    m0 = fy_months()[0]
    client = browser(cast["owner"])
    assert "Request re-baseline" in client.get(f"/measures/{measure.pk}/?series=plan").content.decode()
    client.post(
        f"/measures/{measure.pk}/effect-grid/",
        {"series": "plan", "reason": "Later start", f"cell-{line.pk}-{m0:%Y-%m}": "0"},
    )
    proposal = RebaselineRequest.objects.get(measure=measure)
    assert proposal.values == [{"line": line.pk, "month": str(m0), "amount": "0.00"}]
    browser(cast["controller"]).post(f"/rebaseline-requests/{proposal.pk}/decide/", {"decision": "approve"})
    assert PlanVersion.objects.filter(measure=measure).count() == 2
    page = browser(cast["viewer"]).get(f"/measures/{measure.pk}/").content.decode()
    assert "Version 1 → 2: 1 cell changed" in page


def test_plan_grid_refuses_forecast_before_doi3_with_the_reason(browser, cast, ready_measure):
    line = benefit_line(ready_measure)
    client = browser(cast["owner"])
    assert (
        "The forecast starts when the plan is frozen"
        in client.get(f"/measures/{ready_measure.pk}/?series=forecast").content.decode()
    )
    response = client.post(
        f"/measures/{ready_measure.pk}/effect-grid/",
        {"series": "forecast", f"cell-{line.pk}-2026-04": "5"},
        follow=True,
    )
    assert "The forecast starts when the plan is frozen" in response.content.decode()
    assert not EffectValue.objects.exists()


def test_csv_preview_then_import(browser, cast, ready_measure):
    line = benefit_line(ready_measure)
    client = browser(cast["owner"])
    bad = SimpleUploadedFile("v.csv", f"line,month,series,amount\n{line.pk},2026-04,plan,x\n".encode())
    page = client.post(f"/measures/{ready_measure.pk}/effect-import/", {"file": bad}).content.decode()
    assert "imports nothing" in page and "not an amount" in page
    text = f"line,month,series,amount\n{line.pk},2026-04,plan,100\n"
    page = client.post(
        f"/measures/{ready_measure.pk}/effect-import/", {"file": SimpleUploadedFile("v.csv", text.encode())}
    ).content.decode()
    assert "Nothing has been saved yet" in page and not EffectValue.objects.exists()
    client.post(f"/measures/{ready_measure.pk}/effect-import/", {"text": text, "confirm": "1"})
    assert EffectValue.objects.get().amount == Decimal("100")


def test_controller_validates_from_the_awaiting_page(browser, cast, ready_measure):
    measure = to_doi3(ready_measure, cast)
    line = benefit_line(measure)
    owner = browser(cast["owner"])
    owner.post(
        f"/measures/{measure.pk}/effect-grid/",
        {"series": "actual", f"cell-{line.pk}-{fy_months()[0]:%Y-%m}": "8000"},
    )
    owner.post(f"/measures/{measure.pk}/actuals/submit/")
    value = EffectValue.objects.get(series="actual")
    assert value.validation_state == "submitted"
    controller = browser(cast["controller"])
    page = controller.get("/actuals/awaiting/").content.decode()
    assert measure.code in page and "8,000.00" in page
    controller.post(f"/effect-values/{value.pk}/decide/", {"decision": "reject"})
    value.refresh_from_db()
    assert value.validation_state == "submitted"  # a rejection needs a comment
    controller.post(f"/effect-values/{value.pk}/decide/", {"decision": "validate", "comment": "OK"})
    value.refresh_from_db()
    assert value.validation_state == "validated"
    assert "Nothing to validate." in controller.get("/actuals/awaiting/").content.decode()
