"""Requests the application must refuse cleanly, never with a 500 or an HTML page to an API client
(DESIGN §9): deeply nested or oversized bodies, conflicts PostgreSQL resolves by aborting a
transaction, outages (503 with Retry-After), and throttles that a forged X-Forwarded-For cannot lift."""

from __future__ import annotations

import json
import runpy
import socket
import threading
from pathlib import Path
from urllib.parse import urlencode

import pytest
from django.conf import settings as django_settings
from django.core.cache import cache
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import OperationalError, connection, connections, transaction
from django.http import HttpResponse
from django.urls import include, path
from psycopg.errors import DeadlockDetected, SerializationFailure
from rest_framework.test import APIClient
from rest_framework.views import APIView

from config.celery import app as celery_app
from measures.models import Document, Scope
from reporting.models import ReportRun

MB = 1024 * 1024


def _assert_api_error(response, status: int, code: str) -> dict:
    assert response.status_code == status, response.content[:300]
    assert response["Content-Type"] == "application/json"
    body = response.json()
    assert body["code"] == code and body["detail"], body
    return body


# --- 1. Nested JSON: 400, not a RecursionError ------------------------------------------------------


@pytest.mark.django_db
@pytest.mark.parametrize(
    "url", ["/api/v1/measures/", "/api/v1/incidents/", "/api/v1/report-runs/", "/api/v1/scopes/"]
)
@pytest.mark.parametrize("depth", [65, 1000, 100_000])
def test_json_nested_too_deep_is_a_400_on_api_endpoints(api, cast, url, depth):
    body = "[" * depth + "]" * depth
    response = api.as_user(cast["pm"]).generic("POST", url, body, content_type="application/json")
    body = _assert_api_error(response, 400, "json_too_deep")
    assert "64 levels" in body["detail"]


@pytest.mark.django_db
def test_nested_objects_count_as_deep_as_arrays_even_for_anonymous_clients():
    body = '{"a":' * 200 + "1" + "}" * 200
    response = APIClient().generic("POST", "/api/v1/auth/token/", body, content_type="application/json")
    _assert_api_error(response, 400, "json_too_deep")


@pytest.mark.django_db
def test_json_at_the_depth_limit_reaches_the_serializer(api, cast):
    package = "[" * 63 + "]" * 63  # 64 levels with the object around it
    body = f'{{"title": "Deep", "objective": "x", "package": {package}}}'
    response = api.as_user(cast["pm"]).generic(
        "POST", "/api/v1/measures/", body, content_type="application/json"
    )
    _assert_api_error(response, 400, "invalid")  # a field error for `package`, not json_too_deep
    assert "package" in response.json()["errors"]


# --- 2. Oversized bodies: 413 with the limit, JSON for the API ----------------------------------------


@pytest.mark.django_db
def test_a_10_mb_json_body_is_413_json_naming_the_limit(api, cast):
    body = json.dumps({"title": "x" * (10 * MB), "objective": "y"})
    response = api.as_user(cast["pm"]).generic(
        "POST", "/api/v1/measures/", body, content_type="application/json"
    )
    body = _assert_api_error(response, 413, "request_too_large")
    assert f"{django_settings.DATA_UPLOAD_MAX_MEMORY_SIZE:,} bytes" in body["detail"]


@pytest.mark.django_db
def test_a_60_mb_upload_to_the_documents_api_is_413_and_stores_nothing(api, cast, ready_measure):
    upload = SimpleUploadedFile("big.pdf", b"%PDF-1.4\n" + b"0" * (60 * MB))
    response = api.as_user(cast["owner"]).post(
        "/api/v1/documents/",
        {"measure": ready_measure.pk, "kind": "other", "file": upload},
        format="multipart",
    )
    body = _assert_api_error(response, 413, "request_too_large")
    limit = django_settings.VALUEGATE_MAX_UPLOAD_BYTES + 1024 * 1024
    assert f"the limit is {limit:,} bytes" in body["detail"]
    assert not Document.objects.exists()


@pytest.mark.django_db
def test_an_upload_within_the_limit_still_reaches_the_documents_api(api, cast, ready_measure):
    upload = SimpleUploadedFile(
        "note.pdf", b"%PDF-1.4\n1 0 obj<</Type/Catalog>>endobj\ntrailer<</Root 1 0 R>>\n%%EOF\n"
    )
    response = api.as_user(cast["owner"]).post(
        "/api/v1/documents/",
        {"measure": ready_measure.pk, "kind": "other", "file": upload},
        format="multipart",
    )
    assert response.status_code == 201, response.json()


@pytest.mark.django_db
def test_large_form_fields_beside_a_file_are_413_json(api, cast, ready_measure):
    """Below the multipart limit, but more than DATA_UPLOAD_MAX_MEMORY_SIZE of plain fields:
    Django's RequestDataTooBig, which it would answer with an HTML 400."""
    upload = SimpleUploadedFile("note.pdf", b"%PDF-1.4\n%%EOF\n")
    fields = {"measure": ready_measure.pk, "kind": "k" * (6 * MB), "file": upload}
    response = api.as_user(cast["owner"]).post("/api/v1/documents/", fields, format="multipart")
    _assert_api_error(response, 413, "request_too_large")


@pytest.mark.django_db
def test_too_many_form_fields_are_a_400_json():
    fields = "&".join(f"f{i}=x" for i in range(django_settings.DATA_UPLOAD_MAX_NUMBER_FIELDS + 1))
    response = APIClient().generic(
        "POST", "/api/v1/auth/token/", fields, content_type="application/x-www-form-urlencoded"
    )
    _assert_api_error(response, 400, "too_many_fields")


@pytest.mark.django_db
def test_an_oversized_form_to_a_page_gets_a_413_page(client):
    form = urlencode({"username": "x" * (6 * MB), "password": "y"})
    response = client.post("/accounts/login/", form, content_type="application/x-www-form-urlencoded")
    assert response.status_code == 413
    assert response["Content-Type"].startswith("text/html")
    assert b"Too large" in response.content
    assert f"{django_settings.DATA_UPLOAD_MAX_MEMORY_SIZE:,} bytes".encode() in response.content


# --- 3. Every 503 says when to come back ----------------------------------------------------------


@pytest.fixture
def queue_down():
    """The broker unreachable (nothing listens on the port), as when Redis is down."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    saved = celery_app.conf.broker_url, celery_app.conf.task_always_eager
    celery_app.conf.broker_url, celery_app.conf.task_always_eager = f"redis://127.0.0.1:{port}/0", False
    _forget_broker_connections()
    yield
    celery_app.conf.broker_url, celery_app.conf.task_always_eager = saved
    _forget_broker_connections()


def _forget_broker_connections() -> None:
    celery_app._pool = None
    celery_app.amqp._producer_pool = None


@pytest.mark.django_db
def test_reports_unavailable_is_503_json_with_retry_after(api, cast, tree, queue_down):
    response = api.as_user(cast["pm"]).post(
        "/api/v1/report-runs/",
        {"kind": "steering_pack", "parameters": {"scope": tree.program.pk}},
        format="json",
    )
    _assert_api_error(response, 503, "reports_unavailable")
    assert response["Retry-After"] == "60"
    assert ReportRun.objects.count() == 1  # kept for the requeue task


# --- 4. Deadlocks and serialization failures: 409, never 500 ------------------------------------------

RAISED: dict[str, Exception] = {}


class ConflictingApiView(APIView):
    permission_classes: list = []

    def post(self, request):
        raise RAISED["error"]


def conflicting_page(request):
    raise RAISED["error"]


def unavailable_page(request):
    return HttpResponse("Down for maintenance.", status=503)


urlpatterns = [
    path("api/v1/test-conflict/", ConflictingApiView.as_view()),
    path("test-conflict/", conflicting_page),
    path("test-unavailable/", unavailable_page),
    path("", include("config.urls")),
]


def _real_deadlock() -> Exception:
    """Two connections take two advisory locks in opposite order; PostgreSQL aborts one of them."""
    barrier = threading.Barrier(2)
    outcomes: list = []

    def lock(first: int, second: int) -> None:
        try:
            with transaction.atomic(), connection.cursor() as cursor:
                cursor.execute("SELECT pg_advisory_xact_lock(%s)", [first])
                barrier.wait(timeout=10)
                cursor.execute("SELECT pg_advisory_xact_lock(%s)", [second])
        except Exception as exc:  # noqa: BLE001 - the error is what the test needs
            outcomes.append(exc)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=lock, args=keys) for keys in ((71_001, 71_002), (71_002, 71_001))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    assert len(outcomes) == 1, outcomes
    return outcomes[0]


def _real_serialization_failure(scope: Scope) -> Exception:
    """A repeatable-read transaction updates a row another connection changed after it began."""
    table = Scope._meta.db_table
    other = connections.create_connection("default")
    try:
        with transaction.atomic(), connection.cursor() as cursor:
            cursor.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ")
            cursor.execute(f"SELECT name FROM {table} WHERE id = %s", [scope.pk])  # noqa: S608
            with other.cursor() as elsewhere:
                elsewhere.execute(f"UPDATE {table} SET name = name || '' WHERE id = %s", [scope.pk])  # noqa: S608
            cursor.execute(f"UPDATE {table} SET name = name WHERE id = %s", [scope.pk])  # noqa: S608
    except Exception as exc:  # noqa: BLE001 - the error is what the test needs
        return exc
    finally:
        other.close()
    raise AssertionError("PostgreSQL let both changes through")


@pytest.fixture
def conflict(request, transactional_db, tree):
    assert connection.vendor == "postgresql"
    error = _real_deadlock() if request.param == "deadlock" else _real_serialization_failure(tree.program)
    RAISED["error"] = error
    yield error
    RAISED.clear()


CONFLICTS = pytest.mark.parametrize("conflict", ["deadlock", "serialization"], indirect=True)


@pytest.mark.postgres_concurrency
@pytest.mark.urls(__name__)
@CONFLICTS
def test_a_real_deadlock_or_serialization_failure_is_a_409_for_api_clients(conflict):
    assert isinstance(conflict, OperationalError)
    assert isinstance(conflict.__cause__, DeadlockDetected | SerializationFailure), repr(conflict.__cause__)
    response = APIClient().post("/api/v1/test-conflict/", {}, format="json")
    body = _assert_api_error(response, 409, "concurrent_change")
    assert body["detail"] == "Another change to the same record happened at the same moment. Try again."


@pytest.mark.postgres_concurrency
@pytest.mark.urls(__name__)
@CONFLICTS
def test_a_real_deadlock_or_serialization_failure_is_a_409_page(client, cast, conflict):
    client.force_login(cast["pm"])
    response = client.post("/test-conflict/")
    assert response.status_code == 409
    assert response["Content-Type"].startswith("text/html")
    assert b"Another change to the same record happened at the same moment" in response.content


@pytest.mark.django_db
@pytest.mark.urls(__name__)
def test_any_503_page_carries_retry_after(client):
    response = client.get("/test-unavailable/")
    assert response.status_code == 503
    assert int(response["Retry-After"]) > 0


# --- 5. Throttles and lockouts count per real client, not per claimed X-Forwarded-For ------------------


@pytest.fixture
def fresh_throttles():
    cache.clear()
    yield int(django_settings.REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"]["login"].split("/")[0])
    cache.clear()


@pytest.fixture
def one_trusted_proxy(settings):
    """What VALUEGATE_TRUSTED_PROXIES=1 sets (see test_trusted_proxies_come_from_the_environment)."""
    settings.VALUEGATE_TRUSTED_PROXIES = 1
    settings.REST_FRAMEWORK = {**settings.REST_FRAMEWORK, "NUM_PROXIES": 1}


def _token_requests(forwarded_for: list[str]) -> list:
    client = APIClient()
    return [
        client.post(
            "/api/v1/auth/token/",
            {"username": "ada", "password": "wrong"},
            format="json",
            HTTP_X_FORWARDED_FOR=address,
        )
        for address in forwarded_for
    ]


@pytest.mark.django_db
def test_a_new_x_forwarded_for_per_request_does_not_lift_the_token_throttle(fresh_throttles):
    limit = fresh_throttles
    responses = _token_requests([f"198.51.100.{i}" for i in range(20)])
    statuses = [r.status_code for r in responses]
    assert 429 not in statuses[:limit] and set(statuses[limit:]) == {429}, statuses
    throttled = responses[limit]
    _assert_api_error(throttled, 429, "throttled")
    assert int(throttled["Retry-After"]) > 0


@pytest.mark.django_db
def test_behind_one_trusted_proxy_the_address_it_appended_is_the_client(fresh_throttles, one_trusted_proxy):
    limit = fresh_throttles
    different_clients = [
        r.status_code for r in _token_requests([f"198.51.100.{i}" for i in range(limit + 2)])
    ]
    assert 429 not in different_clients, different_clients
    # The client's own part of the header is ignored: only what our proxy appended counts.
    forged = [r.status_code for r in _token_requests([f"10.0.0.{i}, 203.0.113.7" for i in range(limit + 1)])]
    assert 429 not in forged[:limit] and forged[limit] == 429, forged


def _failed_logins_then_the_right_password(client, forwarded_for: list[str]):
    for address in forwarded_for:
        client.post(
            "/accounts/login/", {"username": "target", "password": "nope"}, HTTP_X_FORWARDED_FOR=address
        )
    return client.post(
        "/accounts/login/",
        {"username": "target", "password": "a-long-test-password"},
        HTTP_X_FORWARDED_FOR="192.0.2.99",
    )


@pytest.mark.django_db
def test_a_new_x_forwarded_for_per_attempt_does_not_escape_the_login_lockout(client, make_user, settings):
    make_user("target")
    addresses = [f"198.51.100.{i}" for i in range(settings.AXES_FAILURE_LIMIT)]
    response = _failed_logins_then_the_right_password(client, addresses)
    assert response.status_code == 429
    assert b"Too many failed log-ins" in response.content


@pytest.mark.django_db
def test_behind_one_trusted_proxy_lockouts_count_per_forwarded_address(
    client, make_user, settings, one_trusted_proxy
):
    make_user("target")
    addresses = [f"198.51.100.{i}" for i in range(settings.AXES_FAILURE_LIMIT)]
    response = _failed_logins_then_the_right_password(client, addresses)
    assert response.status_code == 302  # a different client (192.0.2.99) logs in


@pytest.mark.parametrize(("value", "expected"), [(None, 0), ("2", 2)])
def test_trusted_proxies_come_from_the_environment(monkeypatch, value, expected):
    if value is None:
        monkeypatch.delenv("VALUEGATE_TRUSTED_PROXIES", raising=False)
    else:
        monkeypatch.setenv("VALUEGATE_TRUSTED_PROXIES", value)
    loaded = runpy.run_path(str(Path(django_settings.BASE_DIR) / "config" / "settings.py"))
    assert loaded["REST_FRAMEWORK"]["NUM_PROXIES"] == expected
    assert loaded["AXES_CLIENT_IP_CALLABLE"] == "config.requestlimits.client_address"
