"""Ids printed into pages must not be grouped: with USE_THOUSAND_SEPARATOR an id of 1234 would
render as "1,234" in an option value or a URL, and the form it feeds would fail (seen in CI once
the suite had created more than a thousand scopes)."""

from __future__ import annotations

import re
from pathlib import Path

from django.db import connection

from measures.models import Scope

ROOT = Path(__file__).resolve().parents[1]
BARE_ID = re.compile(r"\{\{ ?[a-z_.]*(?:\.pk|_id|\.id|_page_number) ?\}\}")


def test_no_template_prints_an_id_or_page_number_through_localisation():
    offenders = [
        f"{path.relative_to(ROOT)}: {match}"
        for path in ROOT.glob("*/templates/**/*.html")
        for match in BARE_ID.findall(path.read_text())
        if not match.endswith("auto_id }}")
    ]
    offenders += [
        f"{path.relative_to(ROOT)}: {match}"
        for path in (ROOT / "templates").glob("**/*.html")
        for match in BARE_ID.findall(path.read_text())
    ]
    assert not offenders, "print ids with |stringformat:'d': " + ", ".join(offenders)


def test_the_report_form_offers_a_scope_with_a_large_id_as_plain_digits(client, cast, tree):
    with connection.cursor() as cursor:
        cursor.execute("UPDATE measures_scope SET id = 123456 WHERE id = %s", [tree.other_package.pk])
    assert Scope.objects.filter(pk=123456).exists()
    client.force_login(cast["leader"])
    page = client.get("/reports/").content.decode()
    assert 'value="123456"' in page
    assert "123,456" not in page
