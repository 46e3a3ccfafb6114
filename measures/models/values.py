"""Monthly effect values, frozen plan versions and re-baseline requests (DESIGN §5.2).

The current plan lives in `EffectValue` rows of series `plan`; each numbered `PlanVersion` keeps a
copy of the plan as it was frozen (version 1 at DoI 3) or re-baselined (n+1), so every version stays
readable and two versions can be compared without replaying history.
"""

from __future__ import annotations

import pghistory
import pgtrigger
from django.conf import settings
from django.db import models

from measures.choices import RebaselineState, Series, ValidationState


@pghistory.track()
class EffectValue(models.Model):
    """One amount of one effect line in one month (stored as the first day) and one series."""

    # PROTECT: a value disappears only through a service that audits it, never with its line.
    line = models.ForeignKey("measures.EffectLine", on_delete=models.PROTECT, related_name="values")
    # Denormalised from the line so that roll-ups filter and group without another join.
    measure = models.ForeignKey("measures.Measure", on_delete=models.PROTECT, related_name="effect_values")
    month = models.DateField(help_text="First day of the month.")
    series = models.CharField(max_length=10, choices=Series.choices)
    amount = models.DecimalField(max_digits=16, decimal_places=2)
    validation_state = models.CharField(max_length=10, choices=ValidationState.choices, blank=True)
    entered_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    submitted_at = models.DateTimeField(null=True, blank=True)
    validated_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    validated_at = models.DateTimeField(null=True, blank=True)
    validation_comment = models.TextField(blank=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["line", "month", "series"]
        indexes = [
            models.Index(fields=["measure", "series", "month"]),
            models.Index(fields=["series", "validation_state"]),
        ]
        constraints = [
            models.UniqueConstraint(fields=["line", "month", "series"], name="effect_value_one_per_cell"),
            models.CheckConstraint(condition=models.Q(month__day=1), name="effect_value_first_of_month"),
            models.CheckConstraint(
                condition=(models.Q(series="actual") & ~models.Q(validation_state=""))
                | (~models.Q(series="actual") & models.Q(validation_state="")),
                name="effect_value_state_only_on_actuals",
            ),
        ]
        triggers = [
            # DESIGN §5.1: a validated actual is final; not even SQL outside the services removes
            # or changes it (ADR 0016).
            pgtrigger.Protect(
                name="validated_actual_final",
                operation=pgtrigger.Update | pgtrigger.Delete,
                condition=pgtrigger.Q(old__validation_state="validated"),
            ),
        ]

    def __str__(self) -> str:
        return f"{self.get_series_display()} {self.month:%Y-%m} {self.amount}"


class PlanVersion(models.Model):
    """A numbered, read-only copy of a measure's plan: 1 is the baseline frozen at DoI 3."""

    measure = models.ForeignKey("measures.Measure", on_delete=models.PROTECT, related_name="plan_versions")
    number = models.PositiveIntegerField()
    reason = models.TextField(blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["measure", "number"]
        constraints = [
            models.UniqueConstraint(fields=["measure", "number"], name="plan_version_number_unique"),
        ]
        triggers = [pgtrigger.Protect(name="frozen", operation=pgtrigger.Update | pgtrigger.Delete)]

    def __str__(self) -> str:
        return f"Plan version {self.number} of {self.measure_id}"


class PlanVersionValue(models.Model):
    version = models.ForeignKey(PlanVersion, on_delete=models.PROTECT, related_name="values")
    line = models.ForeignKey("measures.EffectLine", on_delete=models.PROTECT, related_name="+")
    month = models.DateField()
    amount = models.DecimalField(max_digits=16, decimal_places=2)

    class Meta:
        ordering = ["version", "line", "month"]
        constraints = [
            models.UniqueConstraint(fields=["version", "line", "month"], name="plan_version_value_unique"),
        ]
        triggers = [pgtrigger.Protect(name="frozen", operation=pgtrigger.Update | pgtrigger.Delete)]

    def __str__(self) -> str:
        return f"{self.month:%Y-%m} {self.amount}"


@pghistory.track()
class RebaselineRequest(models.Model):
    """A proposed new plan after the freeze; a controller's approval makes it version n+1.

    `values` holds the proposed plan cells: [{"line": id, "month": "YYYY-MM-01", "amount": "..."}];
    an amount of null removes the cell from the plan."""

    measure = models.ForeignKey(
        "measures.Measure", on_delete=models.CASCADE, related_name="rebaseline_requests"
    )
    reason = models.TextField()
    values = models.JSONField(default=list)
    state = models.CharField(max_length=10, choices=RebaselineState.choices, default=RebaselineState.PENDING)
    requested_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    # Who owned the measure when the request was made: neither they nor the requester may decide.
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    requested_at = models.DateTimeField(auto_now_add=True)
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    decided_at = models.DateTimeField(null=True, blank=True)
    decision_comment = models.TextField(blank=True)
    version = models.OneToOneField(
        PlanVersion, null=True, blank=True, on_delete=models.PROTECT, related_name="rebaseline_request"
    )

    class Meta:
        ordering = ["-requested_at", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["measure"],
                condition=models.Q(state="pending"),
                name="rebaseline_one_pending_per_measure",
            ),
        ]

    def __str__(self) -> str:
        return f"Re-baseline of {self.measure_id} ({self.state})"
