"""A report schedule runs through real Celery beat and a real worker, and the PDF arrives by mail."""

import datetime as dt
import email
from email import policy

import pytest
from django_celery_beat.models import IntervalSchedule

from reporting import services
from tests.integration.processes import beat_args, process_env, running, wait_until, worker_args

pytestmark = pytest.mark.integration


def test_beat_and_worker_deliver_a_scheduled_steering_pack(transactional_db, redis_url, cast, tree, tmp_path):
    mail_dir = tmp_path / "mail"
    mail_dir.mkdir()
    schedule = services.report_schedule_create(
        name="Payments weekly",
        kind="steering_pack",
        scope=tree.program,
        frequency="weekly",
        time=dt.time(7, 0),
        recipients=[cast["pm"]],
        by=cast["pm"],
    )
    # Make beat fire now rather than next Monday: same task, an interval of a few seconds.
    task = schedule.periodic_task
    task.crontab = None
    task.interval = IntervalSchedule.objects.create(every=3, period=IntervalSchedule.SECONDS)
    task.save()

    env = process_env(EMAIL_URL=f"filemail:///{mail_dir}", MEDIA_ROOT=str(tmp_path / "media"))
    with (
        running(worker_args(), env, tmp_path / "worker.log"),
        running(beat_args(tmp_path / "beat-schedule"), env, tmp_path / "beat.log"),
    ):
        files = wait_until(lambda: list(mail_dir.iterdir()), timeout=60, what="the scheduled e-mail")

    message = email.message_from_bytes(files[0].read_bytes(), policy=policy.default)
    assert message["To"] == "pm@example.test"
    assert "Payments weekly" in message["Subject"]
    attachments = [
        part for part in message.iter_attachments() if part.get_content_type() == "application/pdf"
    ]
    assert attachments and attachments[0].get_content().startswith(b"%PDF")
    assert schedule.runs.filter(status="done").exists()
