import datetime as dt

import pytest
from django.core import mail
from django_celery_beat.models import PeriodicTask

from config.errors import InvalidInput, NotFound, PermissionRefused
from reporting import services
from reporting.models import ReportSchedule, Snapshot


def _create(cast, scope, recipients, by=None, **extra):
    return services.report_schedule_create(
        name="Weekly steering",
        kind="steering_pack",
        scope=scope,
        frequency=extra.pop("frequency", "weekly"),
        time=dt.time(7, 30),
        recipients=recipients,
        by=by or cast["pm"],
        **extra,
    )


def test_a_schedule_is_stored_in_celery_beat(cast, tree):
    schedule = _create(cast, tree.program, [cast["pm"], cast["controller"]], weekday=1)
    task = PeriodicTask.objects.get(pk=schedule.periodic_task_id)
    assert task.task == "reporting.run_report_schedule"
    assert task.crontab.hour == "7" and task.crontab.minute == "30" and task.crontab.day_of_week == "1"


def test_monthly_schedule_runs_on_its_day(cast, tree):
    schedule = _create(cast, tree.program, [cast["pm"]], frequency="monthly", day_of_month=3)
    assert schedule.periodic_task.crontab.day_of_month == "3"
    assert schedule.periodic_task.crontab.day_of_week == "*"


def test_a_recipient_outside_the_scope_is_refused_at_creation(cast, tree):
    with pytest.raises(InvalidInput, match="outsider"):
        _create(cast, tree.program, [cast["pm"], cast["outsider"]])
    assert ReportSchedule.objects.count() == 0
    assert not PeriodicTask.objects.filter(task="reporting.run_report_schedule").exists()


def test_a_schedule_for_an_invisible_scope_is_refused(cast, tree):
    with pytest.raises(NotFound):
        _create(cast, tree.other_program, [cast["pm"]])


def test_contributors_cannot_schedule(cast, tree):
    with pytest.raises(PermissionRefused):
        _create(cast, tree.program, [cast["owner"]], by=cast["owner"])


def test_delivery_mails_the_pdf_only_to_recipients_who_still_see_the_scope(cast, tree, settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path
    schedule = _create(cast, tree.program, [cast["pm"], cast["controller"]])
    cast["controller"].memberships.all().delete()  # lost the role after the schedule was made
    [run] = services.report_schedule_deliver(schedule_id=schedule.pk)
    assert run.status == "done" and run.requested_by == cast["pm"]
    assert len(mail.outbox) == 1
    message = mail.outbox[0]
    assert message.to == ["pm@example.test"]
    name, content, mime = message.attachments[0]
    assert mime == "application/pdf" and content.startswith(b"%PDF")


def test_snapshots_are_idempotent_per_day(tree):
    day = dt.date(2026, 11, 26)
    first = services.snapshots_take(day=day)
    second = services.snapshots_take(day=day)
    assert first == second == 7
    assert Snapshot.objects.filter(taken_on=day).count() == 7


def test_schedule_page_refuses_an_outside_recipient_next_to_the_field(client, cast, tree):
    client.force_login(cast["pm"])
    response = client.post(
        "/reports/schedules/",
        {
            "name": "Weekly",
            "kind": "steering_pack",
            "scope": tree.program.pk,
            "frequency": "weekly",
            "weekday": 1,
            "day_of_month": 1,
            "time": "07:00",
            "recipients": [cast["pm"].pk, cast["outsider"].pk],
        },
    )
    assert response.status_code == 200
    page = response.content.decode()
    assert "outsider may not see this scope." in page
    assert ReportSchedule.objects.count() == 0


def test_schedule_page_creates_and_deletes(client, cast, tree):
    client.force_login(cast["pm"])
    data = {"name": "Monthly pack", "kind": "steering_pack", "scope": tree.program.pk, "frequency": "monthly",
            "weekday": 1, "day_of_month": 5, "time": "06:30", "recipients": [cast["pm"].pk]}  # fmt: skip
    assert client.post("/reports/schedules/", data).status_code == 302
    schedule = ReportSchedule.objects.get()
    assert "Monthly pack" in client.get("/reports/schedules/").content.decode()
    assert client.post(f"/reports/schedules/{schedule.pk}/delete/").status_code == 302
    assert not ReportSchedule.objects.exists()
    assert not PeriodicTask.objects.filter(task="reporting.run_report_schedule").exists()
