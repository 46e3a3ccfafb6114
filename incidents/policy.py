"""Per-severity policy lookups: update cadence and PIR due period (DESIGN §6)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

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


# --- Close guards -------------------------------------------------------------------------------
# Other apps add rules for closing an incident without this app importing them (DESIGN §2): a
# guard takes the incident and returns unmet items ({"criterion", "message"}); `reviews` registers
# "the PIR is approved, published or waived" in its AppConfig.ready().
CloseGuard = Callable[[Any], list[dict[str, str]]]
_close_guards: list[CloseGuard] = []


def register_close_guard(guard: CloseGuard) -> None:
    if guard not in _close_guards:
        _close_guards.append(guard)


def close_unmet(incident: Any) -> list[dict[str, str]]:
    return [item for guard in _close_guards for item in guard(incident)]
