"""Anchor the audit chain (ADR 0015): TRUNCATE refused on the audit table, an append-only table of
HMAC-chained checkpoints, and the beat schedule that writes one every five minutes."""

import pgtrigger.compiler
import pgtrigger.migrations
from django.db import migrations, models

NAME = "Checkpoint the audit log"


def create_schedule(apps, schema_editor):
    CrontabSchedule = apps.get_model("django_celery_beat", "CrontabSchedule")
    PeriodicTask = apps.get_model("django_celery_beat", "PeriodicTask")
    every_five_minutes, _ = CrontabSchedule.objects.get_or_create(
        minute="*/5", hour="*", day_of_week="*", day_of_month="*", month_of_year="*"
    )
    PeriodicTask.objects.get_or_create(
        name=NAME, defaults={"task": "measures.audit_checkpoint", "crontab": every_five_minutes}
    )


def remove_schedule(apps, schema_editor):
    apps.get_model("django_celery_beat", "PeriodicTask").objects.filter(name=NAME).delete()


class Migration(migrations.Migration):
    dependencies = [
        ("measures", "0009_scope_figure_rows"),
        ("django_celery_beat", "0019_alter_periodictasks_options"),
    ]

    operations = [
        migrations.CreateModel(
            name="AuditCheckpoint",
            fields=[
                ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                ("at", models.DateTimeField()),
                ("row_count", models.BigIntegerField()),
                ("last_id", models.BigIntegerField(blank=True, null=True)),
                ("head_hash", models.CharField(max_length=64)),
                ("prev_mac", models.CharField(max_length=64, unique=True)),
                ("mac", models.CharField(max_length=64, unique=True)),
            ],
            options={
                "ordering": ["id"],
                "default_permissions": ("view",),
            },
        ),
        pgtrigger.migrations.AddTrigger(
            model_name="auditentry",
            trigger=pgtrigger.compiler.Trigger(name='no_truncate', sql=pgtrigger.compiler.UpsertTriggerSql(func="RAISE EXCEPTION 'pgtrigger: Cannot truncate % table', TG_TABLE_NAME;", hash='ce5b2b8c70f6748a37c236c38eabb70c0ae7ba15', level='STATEMENT', operation='TRUNCATE', pgid='pgtrigger_no_truncate_85b05', table='measures_auditentry', when='BEFORE')),
        ),
        migrations.AddConstraint(
            model_name="auditcheckpoint",
            constraint=models.CheckConstraint(condition=models.Q(("row_count__gte", 0)), name="checkpoint_count_gte_0"),
        ),
        pgtrigger.migrations.AddTrigger(
            model_name="auditcheckpoint",
            trigger=pgtrigger.compiler.Trigger(name='append_only', sql=pgtrigger.compiler.UpsertTriggerSql(func="RAISE EXCEPTION 'pgtrigger: Cannot update or delete rows from % table', TG_TABLE_NAME;", hash='45198460b0e921a64ba99c7f34b3358e8f80f975', operation='UPDATE OR DELETE', pgid='pgtrigger_append_only_2a07f', table='measures_auditcheckpoint', when='BEFORE')),
        ),
        pgtrigger.migrations.AddTrigger(
            model_name="auditcheckpoint",
            trigger=pgtrigger.compiler.Trigger(name='no_truncate', sql=pgtrigger.compiler.UpsertTriggerSql(func="RAISE EXCEPTION 'pgtrigger: Cannot truncate % table', TG_TABLE_NAME;", hash='31ae283bb69beee7f8208ecb7129caea86d9c336', level='STATEMENT', operation='TRUNCATE', pgid='pgtrigger_no_truncate_7a923', table='measures_auditcheckpoint', when='BEFORE')),
        ),
        migrations.RunPython(create_schedule, remove_schedule),
    ]
