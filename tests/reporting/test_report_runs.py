import io

import pytest
from pypdf import PdfReader

from config.errors import NotFound
from reporting import services
from reporting.models import ReportRun, RunStatus


def _pdf_text(run: ReportRun) -> str:
    with run.file.open("rb") as handle:
        reader = PdfReader(io.BytesIO(handle.read()))
    # Long titles wrap in the PDF: compare with whitespace collapsed.
    return " ".join(" ".join(page.extract_text() for page in reader.pages).split())


def test_requesting_a_steering_pack_renders_a_pdf_with_the_scope(api, cast, tree, settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path
    response = api.as_user(cast["pm"]).post(
        "/api/v1/report-runs/",
        {"kind": "steering_pack", "parameters": {"scope": tree.program.pk}},
        format="json",
    )
    assert response.status_code == 202
    run_id = response.json()["id"]
    polled = api.get(f"/api/v1/report-runs/{run_id}/").json()
    assert polled["status"] == "done"  # eager Celery in tests without Redis
    assert len(polled["sha256"]) == 64 and polled["pages"] >= 2
    text = _pdf_text(ReportRun.objects.get(pk=run_id))
    assert "Payments" in text and "Failover" in text
    assert "Cloud" not in text
    assert "Page 2 of" in text
    download = api.get(polled["download_url"])
    assert download.status_code == 200
    assert download["Content-Type"] == "application/pdf"


def test_a_report_on_an_invisible_scope_is_refused(api, cast, tree):
    response = api.as_user(cast["pm"]).post(
        "/api/v1/report-runs/",
        {"kind": "steering_pack", "parameters": {"scope": tree.other_program.pk}},
        format="json",
    )
    assert response.status_code == 404
    assert ReportRun.objects.count() == 0


def test_missing_parameter_is_a_clear_400(api, cast):
    response = api.as_user(cast["pm"]).post(
        "/api/v1/report-runs/", {"kind": "steering_pack", "parameters": {}}, format="json"
    )
    assert response.status_code == 400
    assert "needs the parameter 'scope'" in response.json()["detail"]


def test_others_cannot_download_or_see_a_run(api, cast, tree, settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path
    run = services.report_run_request(
        kind="steering_pack", parameters={"scope": tree.package.pk}, by=cast["pm"]
    )
    assert api.as_user(cast["outsider"]).get(f"/api/v1/report-runs/{run.pk}/").status_code == 404
    assert api.get(f"/api/v1/report-runs/{run.pk}/download/").status_code == 404


def test_render_twice_renders_once(cast, tree, settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path
    run = ReportRun.objects.create(
        kind="steering_pack", parameters={"scope": tree.program.pk}, params_hash="x"
    )
    first = services.report_run_render(run_id=run.pk)
    second = services.report_run_render(run_id=run.pk)
    assert first.status == RunStatus.DONE and second is None
    run.refresh_from_db()
    assert run.attempts == 1


def test_a_failing_render_is_recorded_with_its_error(cast, tree, settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path
    run = ReportRun.objects.create(kind="steering_pack", parameters={"scope": 987654}, params_hash="x")
    services.report_run_render(run_id=run.pk)
    run.refresh_from_db()
    assert run.status == RunStatus.FAILED
    assert "No such scope" in run.error
    assert run.finished_at is not None


@pytest.mark.parametrize(
    "url", ["file:///etc/passwd", "https://example.com/x.css", "https://valuegate.pdf/media/x"]
)
def test_pdf_fetcher_refuses_anything_but_static_files(url):
    from reporting.pdf import StaticOnlyFetcher

    with pytest.raises(ValueError, match="Refusing"):
        StaticOnlyFetcher().fetch(url)


def test_reports_page_offers_visible_scopes_and_polls_unfinished_runs(client, cast, tree):
    client.force_login(cast["pm"])
    ReportRun.objects.create(
        kind="steering_pack", parameters={"scope": tree.program.pk}, params_hash="x", requested_by=cast["pm"]
    )
    page = client.get("/reports/").content.decode()
    assert "Payments" in page and "Cloud" not in page
    assert 'hx-trigger="every 2s"' in page


def test_measure_one_pager_and_incident_report_render_their_subjects(cast, tree, settings, tmp_path):
    from django.utils import timezone

    from incidents import services as incident_services
    from measures import services as measure_services

    settings.MEDIA_ROOT = tmp_path
    measure = measure_services.measure_create(
        by=cast["pm"], title="Automate failover <runbook>", objective="Cut restore time", package=tree.package
    )
    run = services.report_run_request(
        kind="measure_one_pager", parameters={"measure": measure.pk}, by=cast["pm"]
    )
    run.refresh_from_db()
    assert run.status == "done", run.error
    text = _pdf_text(run)
    assert measure.code in text and "Automate failover <runbook>" in text and "Cut restore time" in text
    with pytest.raises(NotFound):
        services.report_run_request(
            kind="measure_one_pager", parameters={"measure": measure.pk}, by=cast["outsider"]
        )

    now = timezone.now()
    incident = incident_services.incident_log(
        by=cast["mim"], title="Payments gateway down", impact_started_at=now, detected_at=now, reported_at=now
    )
    run = services.report_run_request(
        kind="incident_report", parameters={"incident": incident.pk}, by=cast["leader"]
    )
    run.refresh_from_db()
    text = _pdf_text(run)
    assert incident.reference in text and "Payments gateway down" in text and "Timeline and decisions" in text


def test_pir_report_prints_sections_factors_and_actions(cast, settings, tmp_path):
    from django.core.management import call_command

    from reviews.models import Review

    settings.MEDIA_ROOT = tmp_path
    call_command("demo", no_serve=True, verbosity=0)
    review = Review.objects.exclude(summary="").filter(factors__isnull=False).first()
    from django.contrib.auth import get_user_model

    leader = get_user_model().objects.get(username="leader")
    run = services.report_run_request(kind="pir_report", parameters={"review": review.pk}, by=leader)
    run.refresh_from_db()
    assert run.status == "done", run.error
    text = _pdf_text(run)
    assert review.incident.reference in text
    assert "Contributing factors" in text and review.factors.first().category.name in text
    assert "Blameless review" in text


def test_the_steering_pack_appendix_lists_every_measure_with_its_whole_title_and_figures(
    api, cast, tree, settings, tmp_path
):
    from measures import services as measure_services

    settings.MEDIA_ROOT = tmp_path
    long_title = "Automate the failover runbook of the payment gateway across both data centres"
    measure = measure_services.measure_create(
        by=cast["pm"], title=long_title, objective="Less downtime.", package=tree.package, owner=cast["owner"]
    )
    measure_services.effect_line_create(
        measure=measure, by=cast["owner"], account="pl_cost", annual_potential=1000
    )
    run = services.report_run_request(
        kind="steering_pack", parameters={"scope": tree.program.pk}, by=cast["pm"]
    )
    text = _pdf_text(ReportRun.objects.get(pk=run.pk))
    appendix = text[text.index("Appendix: measures by plan") :]
    assert measure.code in appendix
    assert "Automate the failover runbook of the payment" in appendix  # first line of the title
    assert "gateway across both data centres" in appendix  # its continuation, nothing cut
    assert "Plan rec." in appendix and "Validated" in appendix
