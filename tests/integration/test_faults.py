"""Faults in the real processes (DESIGN §10): a worker killed mid-render, and Redis down.

Nothing of ours is mocked: the worker, beat and gunicorn are the production commands, started
against the test PostgreSQL and Redis (or a Redis port where nothing listens)."""

from __future__ import annotations

import http.cookiejar
import io
import json
import os
import re
import signal
import subprocess
import urllib.error
import urllib.parse
import urllib.request
from contextlib import contextmanager
from datetime import timedelta
from pathlib import Path

import pytest
import redis
from django.contrib.auth import get_user_model
from django.core.management import call_command
from django.utils import timezone
from django_celery_beat.models import IntervalSchedule, PeriodicTask
from pypdf import PdfReader

from config.celery import app as celery_app
from measures.models import Scope
from reporting import services
from reporting.models import ReportRun, RunStatus
from tests.integration.processes import (
    ROOT,
    beat_args,
    free_port,
    gunicorn_args,
    process_env,
    running,
    wait_until,
    worker_args,
)

pytestmark = pytest.mark.integration

PASSWORD = "a-long-test-password"


@contextmanager
def process_group(args: list[str], env: dict[str, str], log: Path):
    """Like `running`, but in its own session, so the test can SIGKILL the whole group (the
    Celery main process and its pool child) the way an OOM kill or a lost host would."""
    with log.open("wb") as out:
        proc = subprocess.Popen(
            args, cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT, start_new_session=True
        )
        try:
            yield proc
        finally:
            if proc.poll() is None:
                os.killpg(proc.pid, signal.SIGTERM)
                try:
                    proc.wait(timeout=15)
                except subprocess.TimeoutExpired:
                    os.killpg(proc.pid, signal.SIGKILL)
                    proc.wait()


def _requeue_every_second() -> None:
    """The requeue schedule the migration installs (every minute), made to fire every second."""
    every_second, _ = IntervalSchedule.objects.get_or_create(every=1, period=IntervalSchedule.SECONDS)
    PeriodicTask.objects.update_or_create(
        name="Requeue waiting report runs",
        defaults={"task": "reporting.requeue_report_runs", "interval": every_second, "crontab": None},
    )


def _stored_pdfs(media: Path) -> list[Path]:
    return sorted((media / "reports").rglob("*.pdf")) if (media / "reports").exists() else []


def _pdf_text(path: Path) -> str:
    return "\n".join(page.extract_text() or "" for page in PdfReader(io.BytesIO(path.read_bytes())).pages)


@pytest.fixture
def killed_runs(redis_url):
    """Ids of runs whose worker the test kills. Afterwards the broker is left as the test found it:
    the killed worker's unacknowledged message is dropped (kombu would redeliver it after its
    visibility timeout, into some later test), and so are the requeue messages beat sent after the
    last worker stopped."""
    run_ids: list[int] = []
    yield run_ids
    client = redis.Redis.from_url(redis_url)
    for tag, payload in client.hgetall("unacked").items():
        headers = json.loads(payload)[0]["headers"]
        if headers.get("task") == "reporting.render_report_run" and headers.get("argsrepr") in {
            f"[{run_id}]" for run_id in run_ids
        }:
            client.hdel("unacked", tag)
            client.zrem("unacked_index", tag)
    celery_app.control.purge()


def test_a_report_whose_worker_is_killed_mid_render_is_rendered_once_by_the_next_worker(
    transactional_db, killed_runs, tmp_path
):
    # Enough measures that the steering pack takes seconds to render: time to kill the worker.
    call_command("seed_bench", measures=80, incidents=0, months=12, stdout=io.StringIO())
    portfolio = Scope.objects.get(parent=None)
    leader = get_user_model().objects.get(username="bench-leader")
    _requeue_every_second()
    media = tmp_path / "media"
    env = process_env(MEDIA_ROOT=str(media), VALUEGATE_REPORT_LEASE_SECONDS="15")

    with running(beat_args(tmp_path / "beat-schedule"), env, tmp_path / "beat.log"):
        with process_group(worker_args(), env, tmp_path / "worker-1.log") as first_worker:
            run = services.report_run_request(
                kind="steering_pack", parameters={"scope": portfolio.pk}, by=leader
            )
            killed_runs.append(run.pk)
            wait_until(
                lambda: ReportRun.objects.filter(pk=run.pk, status=RunStatus.RENDERING).exists(),
                timeout=40,
                interval=0.05,
                what="the first worker to claim the run",
            )
            os.killpg(first_worker.pid, signal.SIGKILL)
            first_worker.wait()
        run.refresh_from_db()
        assert (run.status, run.attempts, _stored_pdfs(media)) == (RunStatus.RENDERING, 1, [])
        killed_at = timezone.now()

        with running(worker_args(), env, tmp_path / "worker-2.log"):
            wait_until(
                lambda: ReportRun.objects.filter(pk=run.pk, status__in=["done", "failed"]).exists(),
                timeout=60,
                what="the requeued run to finish",
            )

    run.refresh_from_db()
    assert run.status == RunStatus.DONE, run.error
    assert run.attempts == 2  # the killed claim and the one that finished
    assert run.started_at > killed_at and run.finished_at > run.started_at
    assert run.error == ""
    files = _stored_pdfs(media)
    assert [path.relative_to(media).as_posix() for path in files] == [run.file.name]
    assert run.size_bytes == files[0].stat().st_size
    assert "Bench portfolio" in _pdf_text(files[0])


# --- Redis down ----------------------------------------------------------------------------------


class Browser:
    """A cookie-keeping HTTP client for one gunicorn, following redirects like a browser."""

    def __init__(self, base: str) -> None:
        self.base = base
        self.cookies = http.cookiejar.CookieJar()
        self.opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(self.cookies))

    def request(self, path: str, *, data=None, headers=None, method=None) -> tuple[int, str]:
        body = None
        if isinstance(data, dict):
            body = urllib.parse.urlencode(data).encode()
        elif isinstance(data, str):
            body = data.encode()
        request = urllib.request.Request(  # noqa: S310 (loopback only)
            self.base + path, data=body, headers=headers or {}, method=method
        )
        try:
            with self.opener.open(request, timeout=15) as response:
                return response.status, response.read().decode()
        except urllib.error.HTTPError as exc:
            return exc.code, exc.read().decode()

    def csrf(self, path: str) -> str:
        _, page = self.request(path)
        return re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page).group(1)

    def post_form(self, path: str, fields: dict, *, csrf_from: str) -> tuple[int, str]:
        fields = {"csrfmiddlewaretoken": self.csrf(csrf_from), **fields}
        return self.request(path, data=fields, headers={"Referer": self.base + csrf_from})

    def api(self, method: str, path: str, *, token: str = "", payload=None) -> tuple[int, dict]:
        headers = {"Content-Type": "application/json", "Accept": "application/json"}
        if token:
            headers["Authorization"] = f"Token {token}"
        data = json.dumps(payload) if payload is not None else None
        status, body = self.request(path, data=data, headers=headers, method=method)
        return status, json.loads(body) if body else {}


def _answering(browser: Browser) -> bool:
    try:
        return browser.request("/accounts/login/")[0] == 200
    except OSError:
        return False


def test_pages_and_api_serve_while_redis_is_down_and_reports_wait_for_the_queue(
    transactional_db, redis_url, cast, tree, tmp_path
):
    dead_redis = f"redis://127.0.0.1:{free_port()}/0"  # nothing listens there
    port = free_port()
    down = process_env(REDIS_URL=dead_redis)
    with running(gunicorn_args(port), down, tmp_path / "gunicorn.log"):
        browser = Browser(f"http://127.0.0.1:{port}")
        wait_until(lambda: _answering(browser), what="gunicorn to answer")

        status, page = browser.request("/accounts/login/")
        assert status == 200 and "Log in" in page
        status, page = browser.post_form(
            "/accounts/login/", {"username": "pm", "password": PASSWORD}, csrf_from="/accounts/login/"
        )
        assert status == 200 and "Payments" in page  # the dashboard, after the login redirect
        status, _ = browser.request(f"/dashboard/scopes/{tree.program.pk}/")
        assert status == 200

        # A client without the session: its token request and lists go through DRF's throttles,
        # which count in the (unreachable) cache.
        client = Browser(browser.base)
        status, body = client.api(
            "POST", "/api/v1/auth/token/", payload={"username": "pm", "password": PASSWORD}
        )
        assert status == 200, body
        token = body["token"]
        status, body = client.api("GET", "/api/v1/scopes/", token=token)
        assert status == 200 and "Payments" in {scope["name"] for scope in body["results"]}

        status, body = client.api(
            "POST",
            "/api/v1/report-runs/",
            token=token,
            payload={"kind": "steering_pack", "parameters": {"scope": tree.program.pk}},
        )
        assert status == 503, body
        assert body["code"] == "reports_unavailable"
        assert "temporarily unavailable" in body["detail"]

        # The browser form says the same, and keeps the request too.
        status, page = browser.post_form(
            "/reports/", {"kind": "steering_pack", "scope": tree.project.pk}, csrf_from="/reports/"
        )
        assert status == 200
        assert "Reports are temporarily unavailable" in page

    runs = ReportRun.objects.order_by("pk")
    assert [(run.status, run.parameters) for run in runs] == [
        (RunStatus.QUEUED, {"scope": tree.program.pk}),
        (RunStatus.QUEUED, {"scope": tree.project.pk}),
    ]

    # Redis is back. The beat task re-queues runs that have waited over a minute: pretend the
    # outage lasted that long, then let it run (here called directly, as beat's task does).
    runs.update(created_at=timezone.now() - timedelta(minutes=2))
    media = tmp_path / "media"
    with running(worker_args(), process_env(MEDIA_ROOT=str(media)), tmp_path / "worker.log"):
        assert services.report_runs_requeue() == 2
        wait_until(
            lambda: not ReportRun.objects.exclude(status__in=["done", "failed"]).exists(),
            timeout=50,
            what="the worker to produce the kept runs",
        )
    assert [(run.status, run.attempts, run.error) for run in runs] == [(RunStatus.DONE, 1, "")] * 2
    assert len(_stored_pdfs(media)) == 2


def test_the_cache_answers_misses_and_drops_writes_while_redis_is_down():
    from config.cache import FailSoftRedisCache

    cache = FailSoftRedisCache(
        f"redis://127.0.0.1:{free_port()}/0", {"OPTIONS": {"socket_connect_timeout": 1}}
    )
    assert cache.get("key", "default") == "default"
    assert cache.get_or_set("key", 5) == 5
    assert not any([cache.add("key", 1), cache.touch("key"), cache.delete("key"), cache.has_key("key")])
    assert cache.get_many(["a", "b"]) == {}
    assert cache.set_many({"a": 1, "b": 2}) == ["a", "b"]
    assert cache.set("key", 1) is None and cache.delete_many(["a"]) is None and cache.clear() is False
    with pytest.raises(ValueError):
        cache.incr("key")
