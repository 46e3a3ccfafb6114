"""The maintained figures of each measure (ADR 0013).

Every derived figure of a measure (DESIGN §5.2, §5.3) is stored in one `FigureRow`, so that
dashboards and roll-ups are SQL aggregates over one narrow table instead of a recomputation over
every effect value. Database triggers (migration 0007) append the id of every measure whose inputs
change — effect values, effect lines, milestones, the measure itself, its program's thresholds — to
`FigureDirty`; `measures.selectors.figures` recomputes those rows before it reads, so a figure is
never older than the change that moved it. `FigureBasis` remembers the day and settings the rows
were computed for: a new day or a changed setting rebuilds them all.
"""

from __future__ import annotations

from django.core.serializers.json import DjangoJSONEncoder
from django.db import models

# The Money figures of `MeasureFigures`, each stored as a recurring and a one-time column.
MONEY_FIGURES = [
    "target",
    "plan",
    "forecast",
    "actual",
    "estimate",
    "in_year",
    "plan_in_year",
    "cost_to_achieve",
    "net",
    "gap",
    "committed",
    "pipeline",
    "value_at_risk",
]


def _amount(**extra) -> models.DecimalField:
    return models.DecimalField(max_digits=18, decimal_places=2, **extra)


class FigureRow(models.Model):
    measure = models.OneToOneField(
        "measures.Measure", on_delete=models.CASCADE, primary_key=True, related_name="figure_row"
    )
    doi = models.PositiveSmallIntegerField()
    stage = models.CharField(max_length=20)
    run_rate = _amount()
    planned_run_rate = _amount()
    exit_run_rate = _amount()
    validated_run_rate = _amount(null=True)
    closed_run_rate = _amount(null=True)
    implementation_computed = models.CharField(max_length=10)
    implementation_reason = models.TextField()
    implementation_override = models.CharField(max_length=10, blank=True)
    implementation_override_comment = models.TextField(blank=True)
    implementation_status = models.CharField(max_length=10)  # the colour shown
    potential_computed = models.CharField(max_length=10)
    potential_reason = models.TextField()
    potential_override = models.CharField(max_length=10, blank=True)
    potential_override_comment = models.TextField(blank=True)
    potential_status = models.CharField(max_length=10)
    leakage = models.BooleanField()
    leakage_reason = models.TextField(blank=True)
    package_path = models.CharField(max_length=500, default="")  # where the measure sat when computed
    computed_at = models.DateTimeField(auto_now=True)

    # One recurring and one one-time column per name in MONEY_FIGURES.
    target_recurring = _amount(default=0)
    target_one_time = _amount(default=0)
    plan_recurring = _amount(default=0)
    plan_one_time = _amount(default=0)
    forecast_recurring = _amount(default=0)
    forecast_one_time = _amount(default=0)
    actual_recurring = _amount(default=0)
    actual_one_time = _amount(default=0)
    estimate_recurring = _amount(default=0)
    estimate_one_time = _amount(default=0)
    in_year_recurring = _amount(default=0)
    in_year_one_time = _amount(default=0)
    plan_in_year_recurring = _amount(default=0)
    plan_in_year_one_time = _amount(default=0)
    cost_to_achieve_recurring = _amount(default=0)
    cost_to_achieve_one_time = _amount(default=0)
    net_recurring = _amount(default=0)
    net_one_time = _amount(default=0)
    gap_recurring = _amount(default=0)
    gap_one_time = _amount(default=0)
    committed_recurring = _amount(default=0)
    committed_one_time = _amount(default=0)
    pipeline_recurring = _amount(default=0)
    pipeline_one_time = _amount(default=0)
    value_at_risk_recurring = _amount(default=0)
    value_at_risk_one_time = _amount(default=0)

    class Meta:
        indexes = [
            models.Index(fields=["implementation_status", "potential_status"]),
            models.Index(fields=["doi"]),
        ]

    def __str__(self) -> str:
        return f"figures of measure {self.measure_id}"


class ScopeFigureRow(models.Model):
    """The roll-up, value by DoI and status matrix of every measure at or below one scope, for
    readers who see the whole scope (ADR 0013); recomputed with the figure rows below it."""

    scope = models.OneToOneField(
        "measures.Scope", on_delete=models.CASCADE, primary_key=True, related_name="figure_row"
    )
    values = models.JSONField(encoder=DjangoJSONEncoder)
    computed_at = models.DateTimeField(auto_now=True)

    def __str__(self) -> str:
        return f"figures of scope {self.scope_id}"


class FigureDirty(models.Model):
    """A measure whose figure row must be recomputed; written by triggers only."""

    id = models.BigAutoField(primary_key=True)
    measure_id = models.BigIntegerField()
    marked_at = models.DateTimeField(auto_now_add=True)

    def __str__(self) -> str:
        return f"measure {self.measure_id} changed at {self.marked_at}"


class FigureBasis(models.Model):
    """One row: the day and settings the figure rows were last fully computed for."""

    basis = models.CharField(max_length=200)

    def __str__(self) -> str:
        return self.basis
