"""Start the production processes (gunicorn, Celery worker and beat) against the test database."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from contextlib import contextmanager
from pathlib import Path
from urllib.parse import quote

from django.db import connection

ROOT = Path(__file__).resolve().parents[2]


def database_url() -> str:
    """A DATABASE_URL for the test database the current test runs on."""
    cfg = connection.settings_dict
    host = cfg.get("HOST") or ""
    options = cfg.get("OPTIONS", {})
    user = quote(cfg.get("USER") or "postgres")
    password = f":{quote(cfg['PASSWORD'])}" if cfg.get("PASSWORD") else ""
    if options.get("host"):  # the embedded server listens on a Unix socket
        return f"postgres://{user}{password}@/{cfg['NAME']}?host={options['host']}"
    port = f":{cfg['PORT']}" if cfg.get("PORT") else ""
    return f"postgres://{user}{password}@{host}{port}/{cfg['NAME']}"


def process_env(**extra: str) -> dict[str, str]:
    env = dict(os.environ)
    env.pop("DJANGO_ALLOW_ASYNC_UNSAFE", None)  # set for Playwright in this process only
    env.update({"DATABASE_URL": database_url(), "DJANGO_SETTINGS_MODULE": "config.settings", **extra})
    return env


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@contextmanager
def running(args: list[str], env: dict[str, str], log: Path):
    with log.open("wb") as out:
        proc = subprocess.Popen(args, cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT)
        try:
            yield proc
        finally:
            proc.terminate()
            try:
                proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()


def gunicorn_args(port: int) -> list[str]:
    return [
        sys.executable, "-m", "gunicorn", "config.wsgi", "-b", f"127.0.0.1:{port}", "-w", "2",
        "--timeout", "60", "--graceful-timeout", "30",
    ]  # fmt: skip


def worker_args(*extra: str) -> list[str]:
    return [sys.executable, "-m", "celery", "-A", "config", "worker", "-l", "info", "-c", "1", *extra]


def beat_args(schedule_file: Path) -> list[str]:
    return [sys.executable, "-m", "celery", "-A", "config", "beat", "-l", "info", "-s", str(schedule_file)]


def wait_until(predicate, *, timeout: float = 30.0, interval: float = 0.2, what: str = "condition"):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(interval)
    raise AssertionError(f"Timed out after {timeout}s waiting for {what}")
