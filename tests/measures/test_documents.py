"""Document uploads (DESIGN §5.4): size limit, type by content, SHA-256, served only to viewers."""

from __future__ import annotations

import hashlib
import io
import zipfile

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from config.errors import InvalidInput
from measures import services
from measures.models import Document

PDF = b"%PDF-1.4\n1 0 obj<<>>endobj\n%%EOF\n"
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 32


def docx_bytes() -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("[Content_Types].xml", "<Types/>")
        archive.writestr("word/document.xml", "<w:document/>")
    return buffer.getvalue()


@pytest.fixture(autouse=True)
def media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path


@pytest.mark.parametrize(
    ("name", "content", "content_type"),
    [
        ("case.pdf", PDF, "application/pdf"),
        ("chart.png", PNG, "image/png"),
        ("photo.JPG", b"\xff\xd8\xff\xe0" + b"\x00" * 20, "image/jpeg"),
        (
            "plan.docx",
            docx_bytes(),
            "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
        ),
        ("notes.txt", "Größe: ok\n".encode(), "text/plain"),
        ("values.csv", b"month,amount\n2026-01,10\n", "text/csv"),
    ],
)
def test_allowed_types_are_stored_with_their_hash(cast, ready_measure, name, content, content_type):
    document = services.document_upload(
        measure=ready_measure,
        by=cast["owner"],
        uploaded_file=SimpleUploadedFile(name, content),
        kind="evidence",
    )
    assert document.content_type == content_type
    assert document.sha256 == hashlib.sha256(content).hexdigest()
    assert document.size == len(content)
    assert document.file.read() == content


@pytest.mark.parametrize(
    ("name", "content"),
    [
        ("evil.pdf", b"MZ\x90\x00 this is an executable"),
        ("script.exe", PDF),
        ("page.html", b"<html><script>alert(1)</script></html>"),
        ("fake.docx", b"PK\x03\x04 not really a zip"),
        ("image.png", PDF),
        ("empty.txt", b""),
    ],
)
def test_disallowed_or_mismatched_content_is_refused(cast, ready_measure, name, content):
    with pytest.raises(InvalidInput) as refused:
        services.document_upload(
            measure=ready_measure, by=cast["owner"], uploaded_file=SimpleUploadedFile(name, content)
        )
    assert refused.value.code == "file_type_not_allowed"
    assert not Document.objects.exists()


def test_size_limit_from_settings(cast, ready_measure, settings, api):
    settings.VALUEGATE_MAX_UPLOAD_BYTES = 100
    big = SimpleUploadedFile("big.pdf", PDF + b"0" * 200)
    response = api.as_user(cast["owner"]).post(
        "/api/v1/documents/", {"measure": ready_measure.pk, "kind": "other", "file": big}, format="multipart"
    )
    assert response.status_code == 413
    assert response.json()["code"] == "file_too_large"
    assert not Document.objects.exists()


def test_filename_is_sanitised(cast, ready_measure):
    document = services.document_upload(
        measure=ready_measure,
        by=cast["owner"],
        uploaded_file=SimpleUploadedFile("../../etc/<passwd> report.pdf", PDF),
    )
    assert document.filename == "passwd_report.pdf"
    assert ".." not in document.file.name


def test_download_only_for_those_who_see_the_measure(cast, ready_measure, api, client):
    document = services.document_upload(
        measure=ready_measure,
        by=cast["owner"],
        uploaded_file=SimpleUploadedFile("case.pdf", PDF),
        kind="business_case",
    )
    url = f"/api/v1/documents/{document.pk}/download/"
    response = api.as_user(cast["viewer"]).get(url)
    assert response.status_code == 200
    assert b"".join(response.streaming_content) == PDF
    assert response["Content-Type"] == "application/pdf"
    assert "attachment" in response["Content-Disposition"]
    assert api.as_user(cast["outsider"]).get(url).status_code == 404
    client.force_login(cast["outsider"])
    assert client.get(f"/documents/{document.pk}/download/").status_code == 404
    client.force_login(cast["pm"])
    assert client.get(f"/documents/{document.pk}/download/").status_code == 200


def test_upload_through_the_api(cast, ready_measure, api):
    response = api.as_user(cast["owner"]).post(
        "/api/v1/documents/",
        {"measure": ready_measure.pk, "kind": "business_case", "file": SimpleUploadedFile("case.pdf", PDF)},
        format="multipart",
    )
    assert response.status_code == 201, response.json()
    assert response.json()["sha256"] == hashlib.sha256(PDF).hexdigest()
    assert (
        api.as_user(cast["viewer"])
        .post(
            "/api/v1/documents/",
            {"measure": ready_measure.pk, "kind": "other", "file": SimpleUploadedFile("x.pdf", PDF)},
            format="multipart",
        )
        .status_code
        == 403
    )
