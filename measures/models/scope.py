"""The scope tree and the memberships that grant roles in it (DESIGN §4)."""

from __future__ import annotations

from django.conf import settings
from django.db import models

from measures.choices import ScopeKind, ScopeRole


class Scope(models.Model):
    """One node of Portfolio → Program → Project → Measure Package.

    `path` is a materialised path of ids ("/1/4/9/"), maintained by `measures.services`, so that
    "everything below" is one indexed prefix match and roles inherit down the tree cheaply.
    """

    name = models.CharField(max_length=200)
    kind = models.CharField(max_length=20, choices=ScopeKind.choices)
    parent = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.PROTECT, related_name="children"
    )
    path = models.CharField(max_length=500, editable=False, default="")
    description = models.TextField(blank=True)
    milestone_red_days = models.PositiveSmallIntegerField(
        null=True,
        blank=True,
        help_text="Programs: days a critical milestone may be overdue before the implementation light "
        "turns red (empty: VALUEGATE_MILESTONE_RED_DAYS).",
    )
    potential_tolerance_percent = models.DecimalField(
        max_digits=5,
        decimal_places=2,
        null=True,
        blank=True,
        help_text="Programs: how far (in %) the in-year estimate may fall below plan and the potential "
        "light stay green (empty: VALUEGATE_POTENTIAL_TOLERANCE_PERCENT).",
    )
    leakage_percent = models.DecimalField(
        max_digits=5,
        decimal_places=2,
        null=True,
        blank=True,
        help_text="Programs: how far (in %) the validated run rate of a closed measure may fall below "
        "its closing run rate before it is flagged as leaking (empty: VALUEGATE_LEAKAGE_PERCENT).",
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["path"]
        indexes = [
            models.Index(fields=["path"], name="scope_path_prefix", opclasses=["varchar_pattern_ops"]),
        ]
        constraints = [
            models.UniqueConstraint(fields=["parent", "name"], name="scope_unique_name_per_parent"),
            models.CheckConstraint(
                condition=models.Q(parent__isnull=True) | ~models.Q(kind=ScopeKind.PORTFOLIO),
                name="scope_portfolio_is_root",
            ),
        ]

    def __str__(self) -> str:
        return self.name

    @property
    def depth(self) -> int:
        return self.path.count("/") - 2 if self.path else 0

    @property
    def ancestor_ids(self) -> list[int]:
        """Ids from the root down to and including this scope."""
        return [int(part) for part in self.path.strip("/").split("/") if part]


class Membership(models.Model):
    """A user's role in a scope, inherited by every scope below it."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="memberships")
    scope = models.ForeignKey(Scope, on_delete=models.CASCADE, related_name="memberships")
    role = models.CharField(max_length=20, choices=ScopeRole.choices)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["scope__path", "role"]
        constraints = [
            models.UniqueConstraint(fields=["user", "scope", "role"], name="membership_unique"),
        ]

    def __str__(self) -> str:
        return f"{self.user} — {self.get_role_display()} of {self.scope}"
