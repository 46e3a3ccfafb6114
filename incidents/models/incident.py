"""The major incident itself, its roles and its recovery validation (DESIGN §6)."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from functools import reduce
from operator import and_

import pghistory
from django.conf import settings
from django.db import models
from django_fsm import FSMField, FSMModelMixin, transition

from incidents.choices import IncidentState, RoleKind, Severity
from incidents.models.catalog import Service

S = IncidentState

# The times of DESIGN §6 in their required order. Fields on one level are not ordered among
# themselves (acknowledged and declared may come in either order).
TIME_LEVELS: tuple[tuple[str, ...], ...] = (
    ("impact_started_at",),
    ("detected_at",),
    ("reported_at",),
    ("acknowledged_at", "declared_at"),
    ("team_assembled_at",),
    ("restored_at",),
    ("validated_at",),
    ("closed_at",),
)
TIME_FIELDS: tuple[str, ...] = tuple(name for level in TIME_LEVELS for name in level)


def ordered_time_pairs() -> list[tuple[str, str]]:
    """Every (earlier, later) pair the order rule checks."""
    pairs = []
    for i, level in enumerate(TIME_LEVELS):
        for later_level in TIME_LEVELS[i + 1 :]:
            pairs += [(a, b) for a in level for b in later_level]
    return pairs


def _pair_in_order(a: str, b: str) -> models.Q:
    return (
        models.Q(**{f"{a}__isnull": True})
        | models.Q(**{f"{b}__isnull": True})
        | models.Q(**{f"{a}__lte": models.F(b)})
    )


@pghistory.track(exclude=["updated_at"])
class Incident(FSMModelMixin, models.Model):
    reference = models.CharField(max_length=40, unique=True)
    title = models.CharField(max_length=300)
    description = models.TextField(blank=True)
    severity = models.PositiveSmallIntegerField(choices=Severity.choices, default=Severity.SEV2)
    state = FSMField(default=S.REPORTED, choices=S.choices, protected=True)
    services = models.ManyToManyField(Service, related_name="incidents", blank=True)

    # What the declaration criteria look at (recorded when logged).
    users_affected = models.PositiveIntegerField(null=True, blank=True)
    estimated_downtime_minutes = models.PositiveIntegerField(null=True, blank=True)
    revenue_impact = models.BooleanField(default=False)
    regulatory_risk = models.BooleanField(default=False)
    executive_visibility = models.BooleanField(default=False)
    criteria_met = models.JSONField(default=list, blank=True)
    declaration_suggested = models.BooleanField(default=False)

    impact_started_at = models.DateTimeField()
    detected_at = models.DateTimeField()
    reported_at = models.DateTimeField()
    acknowledged_at = models.DateTimeField(null=True, blank=True)
    declared_at = models.DateTimeField(null=True, blank=True)
    team_assembled_at = models.DateTimeField(null=True, blank=True)
    restored_at = models.DateTimeField(null=True, blank=True)
    validated_at = models.DateTimeField(null=True, blank=True)
    closed_at = models.DateTimeField(null=True, blank=True)

    response_effort_hours = models.DecimalField(max_digits=9, decimal_places=2, default=Decimal("0"))
    reopen_count = models.PositiveIntegerField(default=0)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-reported_at", "-id"]
        indexes = [
            models.Index(fields=["state", "severity"], name="incident_state_severity"),
            models.Index(fields=["reported_at"], name="incident_reported_at"),
        ]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(severity__gte=1, severity__lte=4), name="incident_severity_1_to_4"
            ),
            models.CheckConstraint(
                condition=reduce(and_, (_pair_in_order(a, b) for a, b in ordered_time_pairs())),
                name="incident_times_in_order",
            ),
            models.CheckConstraint(
                condition=models.Q(response_effort_hours__gte=0), name="incident_effort_not_negative"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.reference} {self.title}"

    @property
    def is_major(self) -> bool:
        return self.severity <= Severity.SEV2

    # --- Guards: pure reads, no side effects --------------------------------------------------
    def has_mim(self) -> bool:
        return self.roles.filter(role=RoleKind.MIM, ended_at__isnull=True).exists()

    def validation_complete(self) -> bool:
        validation = RecoveryValidation.objects.filter(incident=self).first()
        return validation is not None and not validation.unmet()

    # --- Transitions: change only this row's own fields (STYLE 7) -----------------------------
    @transition(field=state, source=S.REPORTED, target=S.DECLARED, conditions=[has_mim])
    def declare(self, at: datetime) -> None:
        self.declared_at = at
        if self.acknowledged_at is None:
            self.acknowledged_at = at

    @transition(field=state, source=S.REPORTED, target=S.NOT_MAJOR)
    def mark_not_major(self) -> None:
        pass

    @transition(field=state, source=[S.REPORTED, S.DECLARED], target=S.CANCELLED)
    def cancel(self) -> None:
        pass

    @transition(field=state, source=S.DECLARED, target=S.RESTORED)
    def restore(self, at: datetime) -> None:
        self.restored_at = at

    @transition(field=state, source=S.RESTORED, target=S.VALIDATED, conditions=[validation_complete])
    def validate(self, at: datetime) -> None:
        self.validated_at = at

    @transition(field=state, source=S.VALIDATED, target=S.CLOSED)
    def close(self, at: datetime) -> None:
        self.closed_at = at

    @transition(field=state, source=[S.RESTORED, S.VALIDATED], target=S.DECLARED)
    def reopen(self) -> None:
        self.restored_at = None
        self.validated_at = None
        self.reopen_count += 1


@pghistory.track()
class IncidentRole(models.Model):
    """Who holds a response role (seed step 4). A hand-over ends one row and starts the next."""

    incident = models.ForeignKey(Incident, on_delete=models.CASCADE, related_name="roles")
    role = models.CharField(max_length=30, choices=RoleKind.choices)
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="incident_roles"
    )
    assigned_at = models.DateTimeField()
    assigned_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    ended_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["role", "-assigned_at"]
        constraints = [
            models.UniqueConstraint(
                fields=["incident", "role"],
                condition=models.Q(ended_at__isnull=True),
                name="incident_role_one_holder",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.get_role_display()}: {self.user}"


@pghistory.track()
class RecoveryValidation(models.Model):
    """The questions of seed step 7, answered before an incident may be validated."""

    incident = models.OneToOneField(Incident, on_delete=models.CASCADE, related_name="recovery_validation")
    service_restored = models.BooleanField(null=True)
    users_still_affected = models.BooleanField(null=True)
    workarounds_still_needed = models.BooleanField(null=True)
    monitoring_stable = models.BooleanField(null=True)
    residual_risks_open = models.BooleanField(null=True)
    residual_risks = models.TextField(blank=True)
    business_confirmed_by = models.CharField(max_length=200, blank=True)
    business_confirmed_at = models.DateTimeField(null=True, blank=True)
    updated_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    updated_at = models.DateTimeField(auto_now=True)

    QUESTIONS = {
        "service_restored": "Is the affected service restored?",
        "users_still_affected": "Are users or customers still affected?",
        "workarounds_still_needed": "Are workarounds still needed?",
        "monitoring_stable": "Are monitoring alerts stable?",
        "residual_risks_open": "Are any residual risks still open?",
    }

    def __str__(self) -> str:
        return f"Recovery validation of {self.incident}"

    def unmet(self) -> list[dict[str, str]]:
        """What still blocks validation, one item per missing answer (DESIGN §6)."""
        items = [
            {"criterion": field, "message": f"Not answered: {question}"}
            for field, question in self.QUESTIONS.items()
            if getattr(self, field) is None
        ]
        if self.service_restored is False:
            items.append({"criterion": "service_restored", "message": "The service is not restored yet."})
        if self.residual_risks_open and not self.residual_risks.strip():
            items.append(
                {"criterion": "residual_risks", "message": "Describe the residual risks still open."}
            )
        if not self.business_confirmed_by.strip():
            items.append(
                {
                    "criterion": "business_confirmed_by",
                    "message": "Name who in the business confirmed recovery.",
                }
            )
        return items
