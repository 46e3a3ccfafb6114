"""Helpers every incident service shares: permission, locking, timeline entries, the time-order rule."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

from django.contrib.auth.models import AbstractBaseUser
from django.db import connection
from django.utils import timezone

from config.errors import InvalidInput, PermissionRefused
from incidents import permissions
from incidents.models import TIME_FIELDS, TIME_LEVELS, Incident, TimelineEntry
from incidents.models.incident import ordered_time_pairs
from incidents.policy import check_event_times

User = AbstractBaseUser


_REFERENCE_LOCK = 7_206_001  # pg advisory lock: two incidents logged at once get distinct numbers


def _require_change(by: User) -> None:
    if not permissions.can_change_incidents(by):
        raise PermissionRefused("Only incident managers and admins may change major incidents.")


def _locked(incident: Incident) -> Incident:
    return Incident.objects.select_for_update().get(pk=incident.pk)


def _entry(
    incident: Incident, by: User | None, kind: str, text: str, at: datetime | None = None, **extra
) -> TimelineEntry:
    return TimelineEntry.objects.create(
        incident=incident, kind=kind, text=text, occurred_at=at or timezone.now(), author=by, **extra
    )


# --- The time-order rule (DESIGN §6, ADR 0010) ---------------------------------------------------


def check_time_order(values: dict[str, datetime | None], changed: Iterable[str] = ()) -> None:
    """Refuse times that break impact_started ≤ detected ≤ reported ≤ acknowledged/declared ≤
    team_assembled ≤ restored ≤ validated ≤ closed, naming the offending field: the changed one
    of a broken pair, else the later one. Changed times must lie in the plausible window
    (incidents.policy.check_event_times); unchanged ones are left alone, so old history stays editable."""
    changed = set(changed)
    check_event_times({name: values.get(name) for name in sorted(changed)})
    for earlier, later in _PAIRS_NEAREST_FIRST:
        a, b = values.get(earlier), values.get(later)
        if a is None or b is None or a <= b:
            continue
        if earlier in changed and later not in changed:
            raise InvalidInput(
                f"{_label(earlier)} must not be later than {_label(later).lower()} ({b:%Y-%m-%d %H:%M}).",
                details={earlier: [f"Must not be later than {later} ({b.isoformat()})."]},
            )
        raise InvalidInput(
            f"{_label(later)} must not be earlier than {_label(earlier).lower()} ({a:%Y-%m-%d %H:%M}).",
            details={later: [f"Must not be earlier than {earlier} ({a.isoformat()})."]},
        )


_LEVEL = {name: i for i, level in enumerate(TIME_LEVELS) for name in level}
# Neighbouring times first, so the message names the nearest time that is out of order.
_PAIRS_NEAREST_FIRST = sorted(
    ordered_time_pairs(), key=lambda pair: (_LEVEL[pair[1]] - _LEVEL[pair[0]], _LEVEL[pair[0]])
)


def _label(field: str) -> str:
    return field.removesuffix("_at").replace("_", " ").capitalize() + " time"


def _times(incident: Incident) -> dict[str, datetime | None]:
    return {name: getattr(incident, name) for name in TIME_FIELDS}


def _fmt(value: datetime | None) -> str:
    return timezone.localtime(value).strftime("%Y-%m-%d %H:%M") if value else "unset"


def _name(user: User) -> str:
    return user.get_full_name() or user.get_username()


def _next_reference(year: int) -> str:
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_advisory_xact_lock(%s)", [_REFERENCE_LOCK])
    prefix = f"MI-{year}-"
    numbers = [
        int(ref[len(prefix) :])
        for ref in Incident.objects.filter(reference__startswith=prefix).values_list("reference", flat=True)
        if ref[len(prefix) :].isdigit()
    ]
    return f"{prefix}{max(numbers, default=0) + 1:04d}"
