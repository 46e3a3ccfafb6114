"""Effect lines of a measure (DESIGN §5.2, first bullet). Monthly values come with the financial
effects; the account chart is configurable (settings.VALUEGATE_EFFECT_ACCOUNTS)."""

from __future__ import annotations

import pghistory
from django.db import models

from measures.choices import ACCOUNT_LABELS, Hardness, Nature, Recurrence


@pghistory.track()
class EffectLine(models.Model):
    measure = models.ForeignKey("measures.Measure", on_delete=models.CASCADE, related_name="effect_lines")
    account = models.CharField(max_length=40)
    recurrence = models.CharField(max_length=20, choices=Recurrence.choices, default=Recurrence.RECURRING)
    nature = models.CharField(max_length=20, choices=Nature.choices, default=Nature.BENEFIT)
    hardness = models.CharField(max_length=20, choices=Hardness.choices, default=Hardness.HARD)
    annual_potential = models.DecimalField(max_digits=16, decimal_places=2, null=True, blank=True)
    baseline_value = models.DecimalField(max_digits=16, decimal_places=2, null=True, blank=True)
    baseline_definition = models.TextField(blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["measure", "id"]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(annual_potential__isnull=True) | models.Q(annual_potential__gte=0),
                name="effect_line_potential_not_negative",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.account_label} ({self.get_nature_display()})"

    @property
    def account_label(self) -> str:
        return ACCOUNT_LABELS.get(self.account, self.account.replace("_", " ").capitalize())
