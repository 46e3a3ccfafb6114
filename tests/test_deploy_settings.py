"""`manage.py check --deploy` with the production environment of docker-compose.yml is clean."""

import secrets
import subprocess
import sys

import pytest

from tests.integration.processes import ROOT, process_env


def _check(**env) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "manage.py", "check", "--deploy", "--fail-level", "WARNING"],
        cwd=ROOT,
        env=process_env(**env),
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_production_settings_pass_the_deploy_check(db):
    result = _check(
        DEBUG="false",
        SECRET_KEY=secrets.token_urlsafe(50),
        VALUEGATE_HTTPS="true",
        VALUEGATE_REQUIRE_SECRET_KEY="true",
        ALLOWED_HOSTS="valuegate.example.com",
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "no issues" in result.stdout


def test_production_refuses_to_start_without_a_secret_key(db):
    result = _check(DEBUG="false", SECRET_KEY="", VALUEGATE_REQUIRE_SECRET_KEY="true")
    assert result.returncode != 0
    assert "SECRET_KEY must be set" in result.stderr


@pytest.mark.parametrize("first", ["config.api", "config.parsers", "measures.api.views"])
def test_a_process_may_import_any_api_module_first(first):
    """A command or worker whose first import is config.api must start (DRF reads the parser
    classes while rest_framework.views is imported: a parser in config.api was half-initialised)."""
    code = f"import django; django.setup(); import {first}; print('started')"
    done = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        timeout=120,
        env=process_env(),
        cwd=ROOT,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout.strip() == "started"
