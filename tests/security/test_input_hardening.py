"""Bad input (DESIGN §10): uploads checked by content and name, huge JSON rejected early (not 500),
HTML in text escaped on pages and literal in PDFs, spreadsheet formulas neutralised in exports,
unicode round-trips through the API, pages, CSV, XLSX and PDF."""

import csv
import io
import json
from pathlib import Path

import pytest
from django.conf import settings
from django.core.files.uploadedfile import SimpleUploadedFile
from openpyxl import load_workbook
from pypdf import PdfReader

from incidents import services as incident_services
from measures import services
from measures.models import Document
from reporting import reports
from reporting import services as report_services
from reporting.pdf import render_pdf
from reviews import services as review_services
from tests.reviews.conftest import at

pytestmark = pytest.mark.django_db


@pytest.mark.django_db
def test_a_huge_json_payload_is_refused_not_a_server_error(client, api, cast):
    size = settings.DATA_UPLOAD_MAX_MEMORY_SIZE or 2_621_440
    body = json.dumps({"title": "x" * (size + 1024), "objective": "y"})
    response = api.as_user(cast["pm"]).generic(
        "POST", "/api/v1/measures/", body, content_type="application/json"
    )
    assert response.status_code in (400, 413), response.status_code


@pytest.mark.django_db
def test_html_in_a_title_is_escaped_on_the_page_and_unicode_round_trips(client, api, cast, tree):
    title = "<script>alert(1)</script> Ünïcødé 🚀 שלום"
    measure = services.measure_create(
        title=title, objective="<b>bold</b>", package=tree.package, owner=cast["owner"], by=cast["pm"]
    )
    assert api.as_user(cast["pm"]).get(f"/api/v1/measures/{measure.pk}/").json()["title"] == title
    client.force_login(cast["pm"])
    page = client.get(f"/measures/{measure.pk}/").content.decode()
    assert "<script>alert(1)</script>" not in page
    assert "&lt;script&gt;alert(1)&lt;/script&gt; Ünïcødé 🚀 שלום" in page
    csv = client.get("/exports/measures.csv")
    assert csv.status_code == 200
    assert title in b"".join(csv.streaming_content if csv.streaming else [csv.content]).decode("utf-8-sig")


# --- Uploads through the API: type by content, names that try to leave the media folder -------------

PDF = b"%PDF-1.4\n1 0 obj<</Type/Catalog>>endobj\ntrailer<</Root 1 0 R>>\n%%EOF\n"


def _upload(api, user, measure, name, content):
    upload = SimpleUploadedFile(name, content)
    return api.as_user(user).post(
        "/api/v1/documents/", {"measure": measure.pk, "kind": "other", "file": upload}, format="multipart"
    )


@pytest.mark.parametrize(
    "content", [b"MZ\x90\x00\x03 an executable", b"<html><script>alert(1)</script></html>"]
)
def test_a_pdf_name_with_other_content_is_refused(api, cast, ready_measure, content):
    response = _upload(api, cast["owner"], ready_measure, "invoice.pdf", content)
    assert response.status_code == 400
    assert response.json()["code"] == "file_type_not_allowed"
    assert not Document.objects.exists()


@pytest.mark.parametrize("name", ["../../etc/passwd", "..\\..\\windows\\win.ini", "/etc/passwd.pdf"])
def test_path_traversal_names_never_leave_the_media_folder(
    api, cast, ready_measure, settings, tmp_path, name
):
    settings.MEDIA_ROOT = tmp_path / "media"
    response = _upload(api, cast["owner"], ready_measure, name, PDF)
    if response.status_code == 400:  # no allowed extension left after sanitising: refused
        assert response.json()["code"] == "file_type_not_allowed"
        return
    assert response.status_code == 201, response.json()
    document = Document.objects.get()
    assert "/" not in document.filename and "\\" not in document.filename and ".." not in document.filename
    stored = Path(document.file.path).resolve()
    assert stored.is_relative_to(Path(settings.MEDIA_ROOT).resolve())
    assert not (tmp_path / "etc").exists()


# --- HTML in text fields: escaped on pages, shown literally in PDFs --------------------------------

SCRIPT = "<script>alert(1)</script>"
# DejaVu covers Latin, Greek, Cyrillic and Hebrew; Noto CJK (Dockerfile, .ci/run) the rest here.
UNICODE = "Ünïcødé Ωμέγα Привет שלום 日本語 中文 한국어"


def _pdf_text(kind: str, parameters: dict, user) -> str:
    spec, subject = report_services.report_subject(kind=kind, parameters=parameters, user=user)
    pdf, _ = render_pdf(spec.template, reports.build(spec, subject, user))
    text = " ".join(page.extract_text() for page in PdfReader(io.BytesIO(pdf)).pages)
    return _squeezed(text)


def _squeezed(text: str) -> str:
    """Long titles wrap anywhere in a PDF (even inside `</script>`): compare without whitespace."""
    return "".join(text.split())


@pytest.fixture
def incident(mim, catalog):
    return incident_services.incident_log(
        by=mim, title=f"{SCRIPT} {UNICODE}", services=[catalog["payments"]], severity=2,
        impact_started_at=at(0), detected_at=at(5), reported_at=at(10),
    )  # fmt: skip


def test_html_in_an_incident_title_is_escaped_on_the_page_and_literal_in_the_pdf(client, mim, incident):
    client.force_login(mim)
    page = client.get(f"/incidents/{incident.pk}/").content.decode()
    assert SCRIPT not in page
    assert f"&lt;script&gt;alert(1)&lt;/script&gt; {UNICODE}" in page
    text = _pdf_text("incident_report", {"incident": incident.pk}, mim)
    assert _squeezed(f"{SCRIPT} {UNICODE}") in text


def test_html_in_pir_text_is_escaped_on_the_page_and_literal_in_the_pdf(client, mim, review):
    review_services.review_update(
        review=review, by=mim, summary=f"<img src=x onerror=alert(1)> {UNICODE}", business_impact=SCRIPT
    )
    client.force_login(mim)
    page = client.get(f"/reviews/{review.pk}/").content.decode()
    assert "<img src=x" not in page and SCRIPT not in page
    assert f"&lt;img src=x onerror=alert(1)&gt; {UNICODE}" in page
    text = _pdf_text("pir_report", {"review": review.pk}, mim)
    assert _squeezed(f"<img src=x onerror=alert(1)> {UNICODE}") in text and SCRIPT in text


def test_html_in_a_measure_title_is_literal_in_the_one_pager(cast, tree):
    measure = services.measure_create(
        title=f"{SCRIPT} {UNICODE}", objective="<b>bold</b>", package=tree.package, by=cast["pm"]
    )
    text = _pdf_text("measure_one_pager", {"measure": measure.pk}, cast["pm"])
    assert _squeezed(f"{SCRIPT} {UNICODE}") in text and "<b>bold</b>" in text


# --- Spreadsheet formulas: every dangerous first character, in CSV and XLSX exports ---------------

FORMULAS = ['=HYPERLINK("http://evil","x")', "+1+cmd|' /C calc'!A0", "-2+3", "@SUM(1+1)"]


@pytest.mark.parametrize("fmt", ["csv", "xlsx"])
def test_formula_prefixes_are_neutralised_in_exports(client, cast, tree, fmt):
    for title in FORMULAS:
        services.measure_create(title=title, objective="x", package=tree.package, by=cast["pm"])
    client.force_login(cast["pm"])
    titles = _export_column(client, f"/exports/measures.{fmt}", column=1)
    assert sorted(titles) == sorted("'" + title for title in FORMULAS)


def test_formula_in_an_incident_title_is_neutralised_in_the_export(client, mim, catalog):
    incident_services.incident_log(
        by=mim, title="=cmd|' /C calc'!A0", services=[catalog["payments"]], severity=3,
        impact_started_at=at(0), detected_at=at(5), reported_at=at(10),
    )  # fmt: skip
    client.force_login(mim)
    for fmt in ("csv", "xlsx"):
        rows = _export_rows(client, f"/exports/incidents.{fmt}")
        assert any("'=cmd|' /C calc'!A0" in row for row in rows[1:]), rows
        assert not any(str(cell).startswith("=") for row in rows[1:] for cell in row)


def _export_rows(client, url: str) -> list[list]:
    response = client.get(url)
    assert response.status_code == 200
    if url.endswith(".csv"):
        body = b"".join(response.streaming_content if response.streaming else [response.content])
        return list(csv.reader(io.StringIO(body.decode("utf-8-sig"))))
    sheet = load_workbook(io.BytesIO(response.content)).active
    return [list(row) for row in sheet.iter_rows(values_only=True)]


def _export_column(client, url: str, *, column: int) -> list:
    return [row[column] for row in _export_rows(client, url)[1:]]


# --- Unicode round-trips through the API, XLSX and PDF (pages and CSV above) ----------------------

EVERYTHING = "Emoji 🚀✅ · RTL שלום مرحبا · CJK 東京 한국어 · Ünïcødé"


def test_unicode_round_trips_through_the_api_and_the_xlsx_export(api, client, cast, tree):
    response = api.as_user(cast["pm"]).post(
        "/api/v1/measures/",
        {"title": EVERYTHING, "objective": EVERYTHING, "package": tree.package.pk},
        format="json",
    )
    assert response.status_code == 201, response.json()
    created = api.get(f"/api/v1/measures/{response.json()['id']}/").json()
    assert created["title"] == created["objective"] == EVERYTHING
    client.force_login(cast["pm"])
    assert EVERYTHING in client.get(f"/measures/{created['id']}/").content.decode()
    assert _export_column(client, "/exports/measures.xlsx", column=1) == [EVERYTHING]
    assert _export_column(client, "/exports/measures.csv", column=1) == [EVERYTHING]


def test_unicode_in_an_incident_title_round_trips_through_the_api(api, mim, catalog):
    response = api.as_user(mim).post(
        "/api/v1/incidents/",
        {
            "title": EVERYTHING,
            "services": [catalog["payments"].pk],
            "severity": 3,
            "impact_started_at": at(0).isoformat(),
            "detected_at": at(5).isoformat(),
            "reported_at": at(10).isoformat(),
        },
        format="json",
    )
    assert response.status_code == 201, response.json()
    assert api.get(f"/api/v1/incidents/{response.json()['id']}/").json()["title"] == EVERYTHING


def test_a_huge_json_payload_to_the_incidents_api_is_refused_early(api, mim):
    size = settings.DATA_UPLOAD_MAX_MEMORY_SIZE
    body = json.dumps({"title": "x" * (size + 1024)})
    response = api.as_user(mim).generic("POST", "/api/v1/incidents/", body, content_type="application/json")
    assert response.status_code in (400, 413)
