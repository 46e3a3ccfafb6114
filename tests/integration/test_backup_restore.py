"""Backup and restore as the README's "Backup and restore" section says: pg_dump -Fc of the database
and a copy of the media folder, pg_restore into a fresh database, `verify_audit` passes there and the
portfolio figures, the incident metrics and the documents are the same as before."""

from __future__ import annotations

import importlib
import importlib.util
import json
import os
import shutil
import subprocess
import sys
import uuid
from pathlib import Path

import pytest
from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection, transaction
from django.test.utils import override_settings

from measures import services
from measures.models import Document, Measure
from reporting.management.commands.demo import DEMO_MODULES
from tests.conftest import need_service

pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True)]

ROOT = Path(settings.BASE_DIR)
PDF = b"%PDF-1.4\n1 0 obj<</Type/Catalog>>endobj\ntrailer<</Root 1 0 R>>\n%%EOF\n"

# Run in a fresh process against DATABASE_URL: the figures a client reads, as JSON. The downtime
# cost of an incident still open grows with the database clock, so the metrics cover the incidents
# reported before the first one still open; every incident's own fields are compared as well.
FIGURES = """
import json
from datetime import timedelta
from django.contrib.auth import get_user_model
from django.test import Client
from incidents.models import Incident
client = Client()
client.force_login(get_user_model().objects.get(username="leader"))
open_since = Incident.objects.filter(restored_at=None).order_by("reported_at").first()
metrics = "/api/v1/metrics/incidents/"
if open_since is not None:
    metrics += f"?to={open_since.reported_at.date() - timedelta(days=1)}"
paths = ("/api/v1/portfolio/figures/", metrics, "/api/v1/incidents/?page_size=200", "/api/v1/measures/?page_size=200")
print(json.dumps({path: client.get(path, HTTP_ACCEPT="application/json").json() for path in paths}, sort_keys=True))
"""
DOCUMENTS = """
import hashlib, json
from measures.models import Document
print(json.dumps(sorted(
    [d.filename, hashlib.sha256(d.file.open("rb").read()).hexdigest() == d.sha256] for d in Document.objects.all()
)))
"""


def _pg_binary(name: str) -> str:
    """The client tool whose major version matches the server's (pg_dump refuses newer servers)."""
    major = connection.cursor().connection.info.server_version // 10_000
    for candidate in (Path(f"/usr/lib/postgresql/{major}/bin/{name}"), shutil.which(name)):
        if candidate and Path(candidate).exists():
            return str(candidate)
    need_service(False, f"{name} for PostgreSQL {major} is not installed")
    return name


def _url(database: str) -> str:
    db = connection.settings_dict
    return f"postgres://{db['USER']}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}/{database}"


def _manage(database: str, media: Path, *args: str) -> subprocess.CompletedProcess:
    env = os.environ | {
        "DATABASE_URL": _url(database),
        "MEDIA_ROOT": str(media),
        "REDIS_URL": "",  # a fresh local cache: figures are computed from the database itself
        "DJANGO_SETTINGS_MODULE": "config.settings",
    }
    return subprocess.run(
        [sys.executable, "manage.py", *args], cwd=ROOT, env=env, capture_output=True, text=True, timeout=180
    )


def _json(database: str, media: Path, code: str):
    result = _manage(database, media, "shell", "-c", code)
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout.strip().splitlines()[-1])


@pytest.fixture
def media(tmp_path, settings):
    settings.MEDIA_ROOT = tmp_path / "media"
    return settings.MEDIA_ROOT


@pytest.fixture
def demo_loaded(media):
    with (
        override_settings(EMAIL_BACKEND="django.core.mail.backends.dummy.EmailBackend"),
        transaction.atomic(),
    ):
        for name in DEMO_MODULES:
            if importlib.util.find_spec(name) is not None:
                importlib.import_module(name).load(stdout=None)
    pm = get_user_model().objects.get(username="pm")
    upload = SimpleUploadedFile("Business_case_Zahlungsverkehr.pdf", PDF, content_type="application/pdf")
    services.document_upload(measure=Measure.objects.order_by("id").first(), by=pm, uploaded_file=upload)


@pytest.fixture
def restored_name():
    name = f"vg_restored_{uuid.uuid4().hex[:8]}"
    yield name
    with connection.cursor() as cursor:
        cursor.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def test_a_dump_restores_into_an_empty_database_with_the_same_figures(
    demo_loaded, media, restored_name, tmp_path
):
    original = connection.settings_dict["NAME"]
    dump = tmp_path / "valuegate.dump"
    subprocess.run([_pg_binary("pg_dump"), "-Fc", "-f", str(dump), _url(original)], check=True, timeout=180)
    shutil.make_archive(str(tmp_path / "media"), "gztar", root_dir=media)

    with connection.cursor() as cursor:
        cursor.execute(f'CREATE DATABASE "{restored_name}"')
    subprocess.run(
        [_pg_binary("pg_restore"), "--no-owner", "--exit-on-error", "-d", _url(restored_name), str(dump)],
        check=True,
        timeout=180,
    )
    restored_media = tmp_path / "restored-media"
    shutil.unpack_archive(str(tmp_path / "media.tar.gz"), restored_media)

    verified = _manage(restored_name, restored_media, "verify_audit")
    assert verified.returncode == 0, verified.stderr
    assert "Audit log intact" in verified.stdout

    assert _json(restored_name, restored_media, FIGURES) == _json(original, media, FIGURES)
    documents = _json(restored_name, restored_media, DOCUMENTS)
    assert (
        len(documents) == Document.objects.count()
        and ["Business_case_Zahlungsverkehr.pdf", True] in documents
    )
    assert all(readable for _, readable in documents), "a restored document is missing or changed"
