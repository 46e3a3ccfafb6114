"""Per-severity policy lookups (update cadence, PIR due period; DESIGN §6), the plausible range
of event times and due dates, and the close guards other apps register."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

from django.conf import settings
from django.utils import timezone

from config.errors import InvalidInput
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


# --- Plausible times and due dates --------------------------------------------------------------
# One rule for every entry path (API, forms, import, timeline, status updates, vendors, PIR
# actions): a year typed as 0001 or 1900 would otherwise give a time to detect of millions of
# minutes, and date arithmetic near year 1 overflows.

DUE_DATE_EARLIEST = date(2000, 1, 1)
DUE_DATE_MAX_AHEAD = timedelta(days=3653)  # about ten years


def event_window(now: datetime | None = None) -> tuple[datetime, datetime]:
    """The earliest and latest time an event may be recorded at (settings VALUEGATE_EVENT_*)."""
    now = now or timezone.now()
    earliest = now - timedelta(days=settings.VALUEGATE_EVENT_MAX_AGE_DAYS)
    return earliest, now + timedelta(minutes=settings.VALUEGATE_EVENT_CLOCK_SKEW_MINUTES)


def check_event_times(values: Mapping[str, datetime | None]) -> None:
    """Refuse each time before the window (older than VALUEGATE_EVENT_MAX_AGE_DAYS) or in the
    future (beyond the clock-skew allowance), naming every such field."""
    earliest, latest = event_window()
    errors = {}
    for name, value in values.items():
        if value is None:
            continue
        if value < earliest:
            errors[name] = [
                f"{value.date().isoformat()} is too long ago: times before {earliest.date().isoformat()} "
                f"({settings.VALUEGATE_EVENT_MAX_AGE_DAYS} days back) are refused. Check the year."
            ]
        elif value > latest:
            errors[name] = ["This time is in the future."]
    if errors:
        raise InvalidInput(
            f"Implausible time: {', '.join(sorted(errors))}. Enter when it really happened.", details=errors
        )


def check_due_dates(values: Mapping[str, date | None]) -> None:
    """Refuse due dates before 2000 or more than about ten years ahead, naming each field."""
    latest = timezone.localdate() + DUE_DATE_MAX_AHEAD
    errors = {}
    for name, value in values.items():
        day = value.date() if isinstance(value, datetime) else value
        if isinstance(day, date) and not DUE_DATE_EARLIEST <= day <= latest:
            errors[name] = [
                f"Choose a date between {DUE_DATE_EARLIEST.isoformat()} and {latest.isoformat()} "
                f"({day.isoformat()} looks like a typing error)."
            ]
    if errors:
        raise InvalidInput(f"Implausible due date: {', '.join(sorted(errors))}.", details=errors)


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
