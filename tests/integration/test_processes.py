"""The processes of docker-compose.yml, started for real against the test PostgreSQL and Redis."""

import urllib.request
import uuid

import pytest
from django.core.cache import cache

from tests.integration.processes import (
    free_port,
    gunicorn_args,
    process_env,
    running,
    wait_until,
    worker_args,
)

pytestmark = pytest.mark.integration


def _get(url: str) -> tuple[int, bytes]:
    try:
        with urllib.request.urlopen(url, timeout=5) as response:  # noqa: S310 (loopback only)
            return response.status, response.read()
    except OSError:
        return 0, b""


def test_gunicorn_serves_the_login_page(transactional_db, redis_url, tmp_path):
    port = free_port()
    with running(gunicorn_args(port), process_env(), tmp_path / "gunicorn.log"):
        status, body = wait_until(
            lambda: (r := _get(f"http://127.0.0.1:{port}/accounts/login/"))[0] and r,
            what="gunicorn to answer",
        )
    assert status == 200
    assert b"Log in" in body


def test_a_task_round_trips_through_a_real_worker(transactional_db, redis_url, tmp_path):
    from config.celery import ping

    token = uuid.uuid4().hex
    with running(worker_args(), process_env(), tmp_path / "worker.log"):
        ping.delay(token)
        result = wait_until(lambda: cache.get(f"valuegate:ping:{token}"), what="the worker to run ping")
    assert result == "pong"


def test_a_real_worker_folds_the_read_cache_change_rows_and_keeps_the_version(
    transactional_db, redis_url, tmp_path, cast, tree
):
    from config.celery import app
    from readcache.models import DataChange
    from readcache.selectors import data_version

    assert DataChange.objects.exists()  # the fixtures' writes
    before = data_version()
    with running(worker_args(), process_env(), tmp_path / "worker.log"):
        app.send_task("readcache.compact_changes")
        wait_until(lambda: not DataChange.objects.exists(), what="the worker to fold the change rows")
    assert data_version() == before
