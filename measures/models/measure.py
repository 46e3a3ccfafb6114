"""The measure and its DoI state machine (DESIGN §5.1).

Transitions change only the measure's own fields; `measures.services` locks the row, checks
permission and four-eyes, calls the transition, saves and writes the audit row (STYLE §7).
"""

from __future__ import annotations

import pghistory
from django.conf import settings
from django.db import models
from django_fsm import RETURN_VALUE, ConcurrentTransitionMixin, FSMField, transition

from measures.choices import DOI_OF_STAGE, LIGHTS, Stage

ACTIVE_STAGES = [
    Stage.DEFINED,
    Stage.IDENTIFIED,
    Stage.DETAILED,
    Stage.DECIDED,
    Stage.IMPLEMENTED,
]
HOLDABLE = ACTIVE_STAGES
CANCELLABLE = [*ACTIVE_STAGES, Stage.ON_HOLD]


@pghistory.track(exclude=["stage"])
class Measure(ConcurrentTransitionMixin, models.Model):
    code = models.CharField(max_length=20, unique=True, editable=False)
    title = models.CharField(max_length=200)
    objective = models.TextField(blank=True, help_text="Objective and starting point.")
    package = models.ForeignKey("measures.Scope", on_delete=models.PROTECT, related_name="measures")
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="owned_measures",
    )
    sponsor = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="sponsored_measures",
    )
    controller = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="controlled_measures",
    )
    business_unit = models.CharField(max_length=120, blank=True)
    stage = FSMField(max_length=20, choices=Stage.choices, default=Stage.DEFINED, protected=True)
    stage_before_hold = models.CharField(max_length=20, choices=Stage.choices, blank=True)
    hold_reason = models.TextField(blank=True)
    cancel_reason = models.TextField(blank=True)
    no_known_risks = models.BooleanField(
        default=False, help_text="Risks were considered and none were found (DoI 1)."
    )
    no_known_overlaps = models.BooleanField(
        default=False, help_text="The overlap check found no overlapping measures (DoI 1)."
    )
    implementation_override = models.CharField(max_length=10, choices=LIGHTS, blank=True)
    implementation_override_comment = models.TextField(blank=True)
    potential_override = models.CharField(max_length=10, choices=LIGHTS, blank=True)
    potential_override_comment = models.TextField(blank=True)
    closed_run_rate = models.DecimalField(
        max_digits=16,
        decimal_places=2,
        null=True,
        blank=True,
        help_text="Validated recurring run rate when the measure closed (DESIGN §5.3 leakage).",
    )
    closure_shortfall_reason = models.TextField(
        blank=True, help_text="The controller's reason for closing below the planned run rate."
    )
    version = models.PositiveIntegerField(default=1)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["code"]
        indexes = [models.Index(fields=["stage"]), models.Index(fields=["package", "stage"])]
        constraints = [
            models.CheckConstraint(
                condition=~models.Q(stage="on_hold") | ~models.Q(stage_before_hold=""),
                name="measure_hold_remembers_stage",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.code} {self.title}"

    @property
    def doi(self) -> int:
        """The DoI reached; on hold it is the DoI left, cancelled keeps none of its own."""
        stage = self.stage_before_hold if self.stage == Stage.ON_HOLD else self.stage
        return DOI_OF_STAGE.get(stage, 0)

    @property
    def next_doi(self) -> int | None:
        if self.stage not in ACTIVE_STAGES:
            return None
        return DOI_OF_STAGE[self.stage] + 1

    # --- DoI gates: one transition per gate ------------------------------------------------
    @transition(field=stage, source=Stage.DEFINED, target=Stage.IDENTIFIED)
    def identify(self) -> None:
        self.version += 1

    @transition(field=stage, source=Stage.IDENTIFIED, target=Stage.DETAILED)
    def detail(self) -> None:
        self.version += 1

    @transition(field=stage, source=Stage.DETAILED, target=Stage.DECIDED)
    def decide(self) -> None:
        self.version += 1

    @transition(field=stage, source=Stage.DECIDED, target=Stage.IMPLEMENTED)
    def implement(self) -> None:
        self.version += 1

    @transition(field=stage, source=Stage.IMPLEMENTED, target=Stage.CLOSED)
    def close(self) -> None:
        self.version += 1

    # --- Side states ------------------------------------------------------------------------
    @transition(field=stage, source=HOLDABLE, target=Stage.ON_HOLD)
    def hold(self, reason: str) -> None:
        self.stage_before_hold = self.stage
        self.hold_reason = reason
        self.version += 1

    @transition(
        field=stage,
        source=Stage.ON_HOLD,
        target=RETURN_VALUE(*ACTIVE_STAGES),
    )
    def resume(self) -> str:
        previous = self.stage_before_hold
        self.stage_before_hold = ""
        self.hold_reason = ""
        self.version += 1
        return previous

    @transition(field=stage, source=CANCELLABLE, target=Stage.CANCELLED)
    def cancel(self, reason: str) -> None:
        self.cancel_reason = reason
        self.version += 1


# The transition that enters each DoI.
GATE_TRANSITIONS = {1: "identify", 2: "detail", 3: "decide", 4: "implement", 5: "close"}
