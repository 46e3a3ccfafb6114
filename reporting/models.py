"""Report runs, schedules and nightly snapshots (DESIGN §8)."""

from __future__ import annotations

from django.conf import settings
from django.db import models


class ReportKind(models.TextChoices):
    STEERING_PACK = "steering_pack", "Steering pack"
    INCIDENT_REPORT = "incident_report", "Incident report"
    PIR_REPORT = "pir_report", "Post-incident review report"
    MEASURE_ONE_PAGER = "measure_one_pager", "Measure one-pager"


class RunStatus(models.TextChoices):
    QUEUED = "queued", "Queued"
    RENDERING = "rendering", "Rendering"
    DONE = "done", "Ready"
    FAILED = "failed", "Failed"


class ReportRun(models.Model):
    """One request for a PDF and what became of it. The row is claimed by a compare-and-swap on
    `status` and `attempts`, so a task delivered twice renders once. `requested_by` is the reader
    the PDF is drawn for: it shows only what they may open (a schedule makes one run per
    recipient)."""

    kind = models.CharField(max_length=30, choices=ReportKind.choices)
    parameters = models.JSONField(default=dict)
    params_hash = models.CharField(max_length=64, db_index=True)
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    schedule = models.ForeignKey(
        "ReportSchedule", null=True, blank=True, on_delete=models.SET_NULL, related_name="runs"
    )
    status = models.CharField(max_length=20, choices=RunStatus.choices, default=RunStatus.QUEUED)
    created_at = models.DateTimeField(auto_now_add=True)
    started_at = models.DateTimeField(null=True, blank=True)
    # While rendering: when the renderer's lease lapses unless its heartbeat renews it (ADR 0007).
    lease_expires_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    attempts = models.PositiveIntegerField(default=0)
    file = models.FileField(upload_to="reports/%Y/%m/", blank=True)
    sha256 = models.CharField(max_length=64, blank=True)
    pages = models.PositiveIntegerField(null=True, blank=True)
    size_bytes = models.PositiveIntegerField(null=True, blank=True)
    error = models.TextField(blank=True)

    class Meta:
        ordering = ["-created_at"]
        indexes = [models.Index(fields=["status", "created_at"])]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} #{self.pk} ({self.status})"

    @property
    def duration_seconds(self) -> float | None:
        if self.started_at and self.finished_at:
            return (self.finished_at - self.started_at).total_seconds()
        return None

    @property
    def is_finished(self) -> bool:
        return self.status in (RunStatus.DONE, RunStatus.FAILED)


class Frequency(models.TextChoices):
    WEEKLY = "weekly", "Weekly"
    MONTHLY = "monthly", "Monthly"


class ReportSchedule(models.Model):
    """A recurring report, e-mailed to its recipients; the timing lives in django-celery-beat."""

    name = models.CharField(max_length=200)
    kind = models.CharField(max_length=30, choices=ReportKind.choices, default=ReportKind.STEERING_PACK)
    scope = models.ForeignKey("measures.Scope", on_delete=models.CASCADE, related_name="report_schedules")
    frequency = models.CharField(max_length=10, choices=Frequency.choices, default=Frequency.WEEKLY)
    weekday = models.PositiveSmallIntegerField(default=1, help_text="1 = Monday … 7 = Sunday (weekly)")
    day_of_month = models.PositiveSmallIntegerField(default=1, help_text="1–28 (monthly)")
    time = models.TimeField(default="07:00")
    recipients = models.ManyToManyField(settings.AUTH_USER_MODEL, related_name="report_schedules")
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    periodic_task = models.OneToOneField(
        "django_celery_beat.PeriodicTask", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    active = models.BooleanField(default=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["name"]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(weekday__gte=1, weekday__lte=7), name="schedule_weekday"
            ),
            models.CheckConstraint(
                condition=models.Q(day_of_month__gte=1, day_of_month__lte=28), name="schedule_day_of_month"
            ),
        ]

    def __str__(self) -> str:
        return self.name


class Snapshot(models.Model):
    """Key figures of one scope on one day; trend charts read these instead of recomputing."""

    scope = models.ForeignKey("measures.Scope", on_delete=models.CASCADE, related_name="snapshots")
    taken_on = models.DateField()
    figures = models.JSONField(default=dict)
    taken_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["scope", "taken_on"]
        constraints = [models.UniqueConstraint(fields=["scope", "taken_on"], name="snapshot_one_per_day")]

    def __str__(self) -> str:
        return f"{self.scope} on {self.taken_on}"
