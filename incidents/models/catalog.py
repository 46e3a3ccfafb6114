"""What is configured before an incident happens (DESIGN §6, seed step 1): the services catalog,
the declaration criteria, the per-severity policy, update templates and distribution lists."""

from __future__ import annotations

from decimal import Decimal

import pghistory
from django.conf import settings
from django.core.validators import MinValueValidator
from django.db import models

from incidents.choices import THRESHOLD_KINDS, Audience, CriterionKind, Severity, Tier, UpdateKind


@pghistory.track()
class Service(models.Model):
    name = models.CharField(max_length=200, unique=True)
    tier = models.PositiveSmallIntegerField(choices=Tier.choices, default=Tier.TIER3)
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    business_process = models.CharField(max_length=200, blank=True)
    customer_facing = models.BooleanField(default=False)
    regulated = models.BooleanField(default=False)
    vendor = models.CharField(max_length=200, blank=True)
    cost_per_minute = models.DecimalField(
        max_digits=12, decimal_places=2, default=Decimal("0"), validators=[MinValueValidator(0)]
    )
    active = models.BooleanField(default=True)

    class Meta:
        ordering = ["tier", "name"]
        constraints = [
            models.CheckConstraint(condition=models.Q(tier__gte=1, tier__lte=4), name="service_tier_1_to_4"),
            models.CheckConstraint(
                condition=models.Q(cost_per_minute__gte=0), name="service_cost_not_negative"
            ),
        ]

    def __str__(self) -> str:
        return self.name


@pghistory.track()
class DeclarationCriterion(models.Model):
    """One rule that says "this looks major". `threshold` is N users, tier T or M minutes."""

    name = models.CharField(max_length=200)
    kind = models.CharField(max_length=30, choices=CriterionKind.choices)
    threshold = models.PositiveIntegerField(null=True, blank=True)
    active = models.BooleanField(default=True)

    class Meta:
        ordering = ["kind", "threshold", "name"]
        verbose_name_plural = "declaration criteria"
        constraints = [
            models.CheckConstraint(
                condition=~models.Q(kind__in=THRESHOLD_KINDS) | models.Q(threshold__isnull=False),
                name="criterion_threshold_when_needed",
            ),
        ]

    def __str__(self) -> str:
        return self.name


class SeverityPolicy(models.Model):
    """How often updates go out and when the PIR is due, per severity (defaults: migration 0002)."""

    severity = models.PositiveSmallIntegerField(choices=Severity.choices, unique=True)
    update_cadence_minutes = models.PositiveIntegerField(validators=[MinValueValidator(1)])
    pir_due_business_days = models.PositiveIntegerField()

    class Meta:
        ordering = ["severity"]
        verbose_name_plural = "severity policies"
        constraints = [
            models.CheckConstraint(
                condition=models.Q(update_cadence_minutes__gte=1), name="policy_cadence_positive"
            ),
        ]

    def __str__(self) -> str:
        return f"SEV{self.severity}: every {self.update_cadence_minutes} min"


class DistributionList(models.Model):
    """Who receives status updates by e-mail for one audience."""

    audience = models.CharField(max_length=20, choices=Audience.choices, unique=True)
    recipients = models.TextField(blank=True, help_text="E-mail addresses, comma or newline separated.")

    def __str__(self) -> str:
        return self.get_audience_display()

    @property
    def addresses(self) -> list[str]:
        return [part.strip() for part in self.recipients.replace("\n", ",").split(",") if part.strip()]


@pghistory.track()
class StatusUpdateTemplate(models.Model):
    """Text an update starts from; Django template syntax with the incident's fields."""

    kind = models.CharField(max_length=20, choices=UpdateKind.choices, unique=True)
    subject = models.CharField(max_length=300)
    body = models.TextField()

    class Meta:
        ordering = ["kind"]

    def __str__(self) -> str:
        return self.get_kind_display()
