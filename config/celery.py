"""The Celery app shared by the web process, the worker and beat."""

import os

from celery import Celery

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")

app = Celery("valuegate")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()


@app.task(name="valuegate.ping")
def ping(token: str) -> str:
    """A trivial task: proves a worker consumes the queue and reaches the shared cache
    (the health check of `docker compose` and the integration tests use it)."""
    from django.core.cache import cache

    cache.set(f"valuegate:ping:{token}", "pong", timeout=300)
    return "pong"
