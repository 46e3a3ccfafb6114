"""Bad input: huge JSON rejected early (not 500), HTML in text escaped on pages, unicode round-trips."""

import json

import pytest
from django.conf import settings

from measures import services


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
