"""Per-severity policy lookups: update cadence and PIR due period (DESIGN §6)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from incidents.models import SeverityPolicy

# Used when an administrator deleted a policy row; the same values migration 0002 installs.
DEFAULTS = {1: (30, 5), 2: (60, 10), 3: (240, 20), 4: (480, 30)}


@dataclass(frozen=True)
class Policy:
    severity: int
    update_cadence_minutes: int
    pir_due_business_days: int

    @property
    def cadence(self) -> timedelta:
        return timedelta(minutes=self.update_cadence_minutes)


def policies() -> dict[int, Policy]:
    """All four policies in one query."""
    found = {
        p.severity: Policy(p.severity, p.update_cadence_minutes, p.pir_due_business_days)
        for p in SeverityPolicy.objects.all()
    }
    return {sev: found.get(sev, Policy(sev, *DEFAULTS[sev])) for sev in DEFAULTS}


def policy_for(severity: int) -> Policy:
    return policies()[severity]


def add_business_days(start: datetime, days: int) -> datetime:
    """`days` working days (Monday–Friday) after `start`, at the same time of day."""
    current = start
    while days > 0:
        current += timedelta(days=1)
        if current.weekday() < 5:
            days -= 1
    return current
