"""The financial-effects API: the full walk of one measure from DoI 0 to DoI 5 with the right
people, effect-value CRUD and filters, CSV import, plan versions and re-baselines, roll-ups."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

from django.core.files.uploadedfile import SimpleUploadedFile
from django.utils import timezone

from measures.models import AuditEntry, EffectValue
from measures.selectors.figures import closure_window
from tests.measures.effects_builders import benefit_line, fy_months, pdf, to_doi3

V1 = "/api/v1/"


def ok(response, code=200):
    assert response.status_code == code, (response.status_code, response.content[:500])
    return response.json()


def test_walk_one_measure_from_doi0_to_doi5(api, cast, tree):
    owner, pm, sponsor, controller = cast["owner"], cast["pm"], cast["sponsor"], cast["controller"]
    months = [str(m) for m in fy_months()]

    # DoI 0 — the owner creates the measure
    measure = ok(
        api.as_user(owner).post(
            V1 + "measures/",
            {
                "title": "Retire legacy batch servers",
                "objective": "Twelve idle servers.",
                "package": tree.package.pk,
            },
            format="json",
        ),
        201,
    )
    url = f"{V1}measures/{measure['id']}/"
    # The program manager names the sponsor and controller (DESIGN §5.1: never the owner).
    ok(
        api.as_user(pm).patch(
            url,
            {
                "version": measure["version"],
                "sponsor": sponsor.pk,
                "controller": controller.pk,
                "business_unit": "Payments",
                "no_known_overlaps": True,
                "no_known_risks": True,
            },
            format="json",
        )
    )
    api.as_user(owner)
    line = ok(
        api.post(
            V1 + "effect-lines/",
            {
                "measure": measure["id"],
                "account": "pl_cost",
                "annual_potential": "120000",
                "baseline_value": "400000",
                "baseline_definition": "Server run cost FY before",
            },
            format="json",
        ),
        201,
    )
    cost = ok(
        api.post(
            V1 + "effect-lines/",
            {
                "measure": measure["id"],
                "account": "capex",
                "nature": "cost_to_achieve",
                "recurrence": "one_time",
                "annual_potential": "5000",
                "baseline_value": "0",
                "baseline_definition": "Project budget",
            },
            format="json",
        ),
        201,
    )
    # forecast before the freeze is refused with the reason
    early = api.post(
        V1 + "effect-values/",
        {"line": line["id"], "month": months[0], "series": "forecast", "amount": "1"},
        format="json",
    )
    assert early.status_code == 409 and "DoI 3" in early.json()["detail"]

    # DoI 1 — program manager approves
    gate = ok(api.post(url + "gate-requests/", {}, format="json"), 201)
    ok(api.as_user(pm).post(f"{V1}gate-requests/{gate['id']}/approve/", {}, format="json"))

    # DoI 2 — the plan in one grid request per series, a milestone, the business case; sponsor approves
    refused = api.as_user(owner).post(url + "gate-requests/", {}, format="json")
    assert refused.status_code == 422
    assert "plan_values_missing" in {item["code"] for item in refused.json()["unmet_criteria"]}
    grid = {
        "series": "plan",
        "cells": [{"line": line["id"], "month": m, "amount": "10000"} for m in months]
        + [
            {"line": cost["id"], "month": m, "amount": "5000" if i == 0 else "0"}
            for i, m in enumerate(months)
        ],
    }
    assert ok(api.post(url + "effect-grid/", grid, format="json")) == {"saved": 24}
    milestone = ok(
        api.post(
            V1 + "milestones/",
            {
                "measure": measure["id"],
                "title": "Servers switched off",
                "due_date": str(timezone.localdate() + timedelta(days=30)),
                "critical": True,
            },
            format="json",
        ),
        201,
    )
    ok(
        api.post(
            V1 + "documents/",
            {"measure": measure["id"], "kind": "business_case", "file": pdf("case.pdf")},
            format="multipart",
        ),
        201,
    )
    gate = ok(api.post(url + "gate-requests/", {}, format="json"), 201)
    ok(api.as_user(sponsor).post(f"{V1}gate-requests/{gate['id']}/approve/", {}, format="json"))

    # DoI 3 — sponsor and controller; the plan freezes as version 1 and the forecast starts from it
    gate = ok(api.as_user(owner).post(url + "gate-requests/", {}, format="json"), 201)
    ok(api.as_user(sponsor).post(f"{V1}gate-requests/{gate['id']}/approve/", {}, format="json"))
    decided = ok(api.as_user(controller).post(f"{V1}gate-requests/{gate['id']}/approve/", {}, format="json"))
    assert decided["state"] == "approved"
    versions = ok(api.get(f"{V1}plan-versions/?measure={measure['id']}"))["results"]
    assert [(v["number"], len(v["values"])) for v in versions] == [(1, 24)]
    forecasts = ok(api.get(f"{V1}effect-values/?measure={measure['id']}&series=forecast&page_size=100"))
    assert forecasts["count"] == 24
    frozen = api.as_user(owner).post(
        V1 + "effect-values/",
        {"line": line["id"], "month": months[0], "series": "plan", "amount": "1"},
        format="json",
    )
    assert frozen.status_code == 409 and "re-baseline" in frozen.json()["detail"]
    figures = ok(api.get(url + "figures/"))
    assert figures["potential"]["computed"] == "green" and figures["committed"]["recurring"] == "120000.00"

    # DoI 4 — milestone done with evidence; sponsor approves
    ok(
        api.post(
            f"{V1}milestones/{milestone['id']}/complete/",
            {"completed_at": str(timezone.localdate()), "evidence_note": "All twelve powered off."},
            format="json",
        )
    )
    gate = ok(api.post(url + "gate-requests/", {}, format="json"), 201)
    ok(api.as_user(sponsor).post(f"{V1}gate-requests/{gate['id']}/approve/", {}, format="json"))

    # DoI 5 — actuals for the closure window, submitted, validated by the controller (not the owner)
    ids = []
    for month in closure_window():
        value = ok(
            api.as_user(owner).post(
                V1 + "effect-values/",
                {"line": line["id"], "month": str(month), "series": "actual", "amount": "10200"},
                format="json",
            ),
            201,
        )
        assert value["validation_state"] == "draft"
        ids.append(value["id"])
    assert ok(api.post(url + "submit-actuals/", {}, format="json")) == {"submitted": 3}
    own = api.post(f"{V1}effect-values/{ids[0]}/validate/", {}, format="json")
    assert own.status_code == 403
    awaiting = ok(api.as_user(controller).get(V1 + "effect-values/awaiting-validation/"))
    assert sorted(row["id"] for row in awaiting["results"]) == sorted(ids)
    for value_id in ids:
        validated = ok(
            api.post(f"{V1}effect-values/{value_id}/validate/", {"comment": "Ledger"}, format="json")
        )
        assert validated["validation_state"] == "validated" and validated["validated_by"] == controller.pk
    ok(
        api.as_user(owner).post(
            V1 + "documents/",
            {"measure": measure["id"], "kind": "closure", "file": pdf("closure.pdf")},
            format="multipart",
        ),
        201,
    )
    gate = ok(api.post(url + "gate-requests/", {}, format="json"), 201)
    assert ok(api.as_user(sponsor).post(f"{V1}gate-requests/{gate['id']}/approve/", {}, format="json"), 403)
    ok(
        api.as_user(controller).post(
            f"{V1}gate-requests/{gate['id']}/approve/", {"comment": "Realised"}, format="json"
        )
    )

    closed = ok(api.get(url))
    assert (closed["stage"], closed["doi"]) == ("closed", 5)
    figures = ok(api.get(url + "figures/"))
    assert figures["validated_run_rate"] == "122400.00" and figures["closed_run_rate"] == "122400.00"
    assert figures["actual"] == {"recurring": "30600.00", "one_time": "0.00"}
    actions = set(AuditEntry.objects.filter(measure_id=measure["id"]).values_list("action", flat=True))
    assert {"plan_frozen", "actual_validated", "closing_run_rate", "transition"} <= actions


def test_effect_values_filters_and_visibility(api, cast, tree, ready_measure):
    measure = to_doi3(ready_measure, cast)
    months = fy_months()
    base = f"{V1}effect-values/?measure={measure.pk}"
    everything = ok(api.as_user(cast["viewer"]).get(base + "&page_size=200"))
    assert everything["count"] == 48  # plan and forecast of two lines
    plan = ok(api.get(base + "&series=plan&month_from=" + str(months[2]) + "&month_to=" + str(months[4])))
    assert plan["count"] == 6
    assert ok(api.get(f"{V1}effect-values/?scope={tree.program.pk}&series=plan&page_size=1"))["count"] == 24
    assert ok(api.get(f"{V1}effect-values/?scope={tree.other_program.pk}"))["count"] == 0
    assert ok(api.as_user(cast["outsider"]).get(base))["count"] == 0
    value_id = plan["results"][0]["id"]
    assert api.as_user(cast["outsider"]).get(f"{V1}effect-values/{value_id}/").status_code == 404
    hidden = api.post(
        V1 + "effect-values/",
        {"line": benefit_line(measure).pk, "month": str(months[0]), "series": "actual", "amount": "1"},
        format="json",
    )
    assert hidden.status_code == 400


def test_forecast_patch_and_delete(api, cast, ready_measure):
    measure = to_doi3(ready_measure, cast)
    value = EffectValue.objects.filter(measure=measure, series="forecast").first()
    url = f"{V1}effect-values/{value.pk}/"
    assert ok(api.as_user(cast["owner"]).patch(url, {"amount": "777"}, format="json"))["amount"] == "777.00"
    assert api.as_user(cast["viewer"]).patch(url, {"amount": "1"}, format="json").status_code == 403
    assert api.as_user(cast["owner"]).delete(url).status_code == 204
    plan = EffectValue.objects.filter(measure=measure, series="plan").first()
    assert api.delete(f"{V1}effect-values/{plan.pk}/").status_code == 409


def test_csv_import_preview_errors_and_all_or_nothing(api, cast, ready_measure):
    line = benefit_line(ready_measure)
    url = f"{V1}measures/{ready_measure.pk}/effect-values/import/"
    good = f"line,month,series,amount\n{line.pk},2026-04,plan,1000\n{line.pk},2026-05-01,plan,1100\n"
    bad = (
        "line,month,series,amount\n"
        f"{line.pk},2026-04,plan,1000\n"
        f"999999,2026-05,plan,10\n"
        f"{line.pk},2026-13,plan,10\n"
        f"{line.pk},2026-06,forecast,10\n"
        f"{line.pk},2026-07,plan,ten\n"
        f"{line.pk},2026-04,plan,5\n"
    )

    def upload(text, dry_run):
        file = SimpleUploadedFile("values.csv", text.encode(), "text/csv")
        return api.as_user(cast["owner"]).post(url, {"file": file, "dry_run": dry_run}, format="multipart")

    preview = ok(upload(bad, True))
    assert preview["ok"] is False and preview["saved"] == 0
    errors = {row["number"]: row["errors"] for row in preview["rows"] if row["errors"]}
    assert set(errors) == {3, 4, 5, 6, 7}
    assert "not an effect line" in errors[3][0]
    assert "not a month" in errors[4][0]
    assert "DoI 3" in errors[5][0]
    assert "not an amount" in errors[6][0]
    assert "row 2" in errors[7][0]
    refused = upload(bad, False)
    assert refused.status_code == 400 and len(refused.json()["errors"]["rows"]) == 5
    assert not EffectValue.objects.filter(measure=ready_measure).exists()
    assert ok(upload(good, True))["ok"] is True
    assert not EffectValue.objects.filter(measure=ready_measure).exists()
    saved = ok(upload(good, False))
    assert saved["saved"] == 2
    assert EffectValue.objects.filter(measure=ready_measure, series="plan").count() == 2
    missing_column = upload("line,month,amount\n1,2026-04,5\n", True)
    assert missing_column.status_code == 400


def test_rebaseline_through_the_api_with_versions_and_diff(api, cast, ready_measure):
    measure = to_doi3(ready_measure, cast)
    line = benefit_line(measure)
    m0 = str(fy_months()[0])
    created = ok(
        api.as_user(cast["owner"]).post(
            V1 + "rebaseline-requests/",
            {
                "measure": measure.pk,
                "reason": "Late delivery",
                "values": [{"line": line.pk, "month": m0, "amount": "2500"}],
            },
            format="json",
        ),
        201,
    )
    assert created["state"] == "pending" and created["version"] is None
    url = f"{V1}rebaseline-requests/{created['id']}/"
    assert api.post(url + "approve/", {}, format="json").status_code == 403  # the requester (owner)
    assert api.as_user(cast["pm"]).post(url + "approve/", {}, format="json").status_code == 403
    approved = ok(api.as_user(cast["controller"]).post(url + "approve/", {"comment": "OK"}, format="json"))
    assert approved["state"] == "approved" and approved["version"] == 2
    diff = ok(api.get(f"{V1}measures/{measure.pk}/plan-diff/?from=1&to=2"))
    assert diff["rows"] == [
        {
            "line": line.pk,
            "line_label": str(line),
            "month": m0,
            "before": "10000.00",
            "after": "2500.00",
            "change": "-7500.00",
        }
    ]
    assert diff["total_change"] == "-7500.00"
    assert api.get(f"{V1}measures/{measure.pk}/plan-diff/?from=1&to=9").status_code == 404
    versions = ok(api.get(f"{V1}plan-versions/?measure={measure.pk}"))["results"]
    assert [v["number"] for v in versions] == [1, 2]


def test_scope_and_portfolio_figures(api, cast, tree, ready_measure):
    to_doi3(ready_measure, cast)
    body = ok(api.as_user(cast["leader"]).get(f"{V1}scopes/{tree.project.pk}/figures/"))
    assert body["plan"] == {"recurring": "120000.00", "one_time": "0.00"}
    assert body["cost_to_achieve"]["one_time"] == "3000.00"
    assert body["count_by_doi"] == {"0": 0, "1": 0, "2": 0, "3": 1, "4": 0, "5": 0}
    assert body["committed"]["recurring"] == "120000.00"
    assert api.as_user(cast["outsider"]).get(f"{V1}scopes/{tree.project.pk}/figures/").status_code == 404
    assert ok(api.as_user(cast["outsider"]).get(f"{V1}portfolio/figures/"))["measure_count"] == 0
    assert Decimal(
        ok(api.as_user(cast["pm"]).get(f"{V1}portfolio/figures/"))["pipeline"]["recurring"]
    ) == Decimal("90000")


def test_csv_that_is_not_text_is_a_400_not_a_500(api, cast, ready_measure):
    url = f"{V1}measures/{ready_measure.pk}/effect-values/import/"

    def upload(content):
        file = SimpleUploadedFile("values.csv", content, "text/csv")
        return api.as_user(cast["owner"]).post(url, {"file": file, "dry_run": True}, format="multipart")

    assert upload(b"\xff\xfe\x00bad").status_code == 400
    odd = upload(b"line,month,series,amount\n1,\x00,plan,1\n")
    assert odd.status_code == 200 and odd.json()["ok"] is False
