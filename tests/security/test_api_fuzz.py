"""Schemathesis against /api/schema/ (DESIGN §10: "schemathesis against the schema finds no 500s").

Every operation of the schema is fuzzed in-process through the WSGI app, authenticated with the DRF
token of the demo's program manager, with the demo's measures, incidents and reviews present. Path ids
are drawn half the time from objects the list endpoints return, so detail and action endpoints meet
real rows, not only 404s. Each example runs in a savepoint that is rolled back, so the fuzzer never
wears the data down (a DELETE does not remove the object the next example needs).

Bounds for CI (fixed seed, a few examples per operation, < 90 s on two cores); the README's
"Fuzzing the API" gives the longer maintainer run.
"""

from __future__ import annotations

import importlib
import importlib.util
import re
import time
from datetime import timedelta

import pytest
import schemathesis
from django.contrib.auth import get_user_model
from django.core.signals import request_finished, request_started
from django.core.wsgi import get_wsgi_application
from django.db import close_old_connections, transaction
from django.test.utils import override_settings
from hypothesis import HealthCheck, given, seed
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st
from rest_framework.authtoken.models import Token
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from reporting.management.commands.demo import DEMO_MODULES

MAX_EXAMPLES = 3  # per operation; the maintainer run in the README uses 200
SEED = 20_260_901
DEADLINE = timedelta(seconds=10)  # per example: generous on a busy two-core CI machine
CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance, response_schema_conformance]
DETAIL = re.compile(r"^(?P<list>/api/v1/[a-z-]+/)\{id\}/")


@pytest.fixture
def wsgi_app():
    """The real WSGI app, minus the per-request connection closing (as Django's test client
    does): requests then run inside the test's transaction and see its data."""
    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)
    yield get_wsgi_application()
    request_started.connect(close_old_connections)
    request_finished.connect(close_old_connections)


@pytest.fixture
def demo_token(db, settings) -> str:
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]  # token fuzzing logs in
    with override_settings(EMAIL_BACKEND="django.core.mail.backends.dummy.EmailBackend"):
        for name in DEMO_MODULES:
            if importlib.util.find_spec(name) is not None:
                importlib.import_module(name).load(stdout=None)
    pm = get_user_model().objects.get(username="pm")
    return Token.objects.create(user=pm).key


def _known_ids(schema, headers: dict[str, str]) -> dict[str, list[int]]:
    """Ids the program manager can see, per list endpoint, read through the API itself."""
    known: dict[str, list[int]] = {}
    for path in {m.group("list") for p in schema.raw_schema["paths"] if (m := DETAIL.match(p))}:
        operation = schema.find_operation_by_label(f"GET {path}")
        if operation is None:
            continue
        response = operation.Case(query={"page_size": 200}).call(headers=headers)
        if response.status_code == 200:
            body = response.json()
            rows = body["results"] if isinstance(body, dict) else body
            known[path] = [row["id"] for row in rows if isinstance(row, dict) and "id" in row][:20]
    return known


def _fuzz(operation, headers: dict[str, str], ids: list[int], ran: list[int]) -> None:
    @seed(SEED)
    @hypothesis_settings(
        max_examples=MAX_EXAMPLES,
        deadline=DEADLINE,
        database=None,
        derandomize=False,
        suppress_health_check=list(HealthCheck),
    )
    @given(case=operation.as_strategy(), data=st.data())
    def run(case, data):
        if ids and "id" in (case.path_parameters or {}) and data.draw(st.booleans()):
            case.path_parameters["id"] = data.draw(st.sampled_from(ids))
        ran[0] += 1
        savepoint = transaction.savepoint()
        try:
            response = case.call(headers=headers)
        finally:
            transaction.savepoint_rollback(savepoint)
        case.validate_response(response, checks=CHECKS)

    run()


def _summary(exc: BaseException) -> str:
    """The check that failed and the request to reproduce it, without the long schema dumps."""
    text = str(exc) if not isinstance(exc, BaseExceptionGroup) else "\n".join(map(str, exc.exceptions))
    lines = [line for line in text.splitlines() if line.strip()]
    keep = [line for line in lines if line.lstrip().startswith(("-", "curl", "[", "Received", "Documented"))]
    return "\n  ".join((keep or lines)[:8])


def test_the_api_survives_schemathesis(wsgi_app, demo_token):
    started = time.monotonic()
    headers = {"Authorization": f"Token {demo_token}"}
    schema = schemathesis.openapi.from_wsgi("/api/schema/", wsgi_app, headers=headers)
    known = _known_ids(schema, headers)
    ran = [0]
    failures: list[str] = []
    slow: list[tuple[float, str]] = []
    operations = [result.ok() for result in schema.get_all_operations()]
    for operation in operations:
        match = DETAIL.match(operation.path)
        op_started = time.monotonic()
        try:
            _fuzz(operation, headers, known.get(match.group("list"), []) if match else [], ran)
        except (Exception, BaseExceptionGroup) as exc:  # collect them all, then report
            failures.append(f"{operation.label}: {_summary(exc)}")
        slow.append((time.monotonic() - op_started, operation.label))
    elapsed = time.monotonic() - started
    print(f"schemathesis: {ran[0]} examples over {len(operations)} operations in {elapsed:.0f} s")
    print("slowest:", sorted(slow, reverse=True)[:8])
    assert not failures, "\n\n".join(failures)
