"""Import of incident history from another tool (all rows or none)."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from django.contrib.auth import get_user_model
from django.contrib.auth.models import AbstractBaseUser
from django.db import transaction
from django.utils import timezone
from django.utils.dateparse import parse_datetime

from config.errors import InvalidInput
from config.limits import check_text_lengths
from incidents.choices import EntryKind, IncidentState, RoleKind, Severity
from incidents.models import TIME_FIELDS, Incident, IncidentRole, Service
from incidents.policy import check_event_times
from incidents.services._common import _entry, _name, _next_reference, _require_change, check_time_order
from incidents.services.lifecycle import INCIDENT_TEXT_LIMITS

User = AbstractBaseUser


# --- Import of history from another tool ------------------------------------------------------------

IMPORT_STATE_TIMES = {
    IncidentState.REPORTED: (),
    IncidentState.DECLARED: ("declared_at",),
    IncidentState.RESTORED: ("declared_at", "restored_at"),
    IncidentState.VALIDATED: ("declared_at", "restored_at", "validated_at"),
    IncidentState.CLOSED: ("declared_at", "restored_at", "validated_at", "closed_at"),
}


def incidents_import(*, by: User, rows: Any, source: str = "import") -> list[dict[str, Any]]:
    """Create incidents with their recorded times from a JSON list (migrating history). Every row
    is validated first; one bad row refuses the whole file (InvalidInput with row-level errors) and
    nothing is created. Returns one line per created incident."""
    _require_change(by)
    if not isinstance(rows, list) or not rows:
        raise InvalidInput(
            "Send a non-empty JSON list of incidents.", details={"rows": ["Expected a non-empty list."]}
        )
    services_by_name = {s.name: s for s in Service.objects.all()}
    existing = set(Incident.objects.values_list("reference", flat=True))
    parsed, problems, seen = [], [], set()
    for number, row in enumerate(rows, start=1):
        values, errors = _import_row(row, services_by_name)
        ref = values.get("reference")
        if ref and (ref in existing or ref in seen):
            errors.setdefault("reference", []).append(f"Reference {ref} already exists.")
        seen.add(ref)
        if errors:
            problems.append({"row": number, "reference": ref, "errors": errors})
        parsed.append(values)
    if problems:
        raise InvalidInput(
            f"{len(problems)} of {len(rows)} rows are invalid; nothing was imported.",
            details={"rows": problems},
        )
    created = []
    with transaction.atomic():
        for values in parsed:
            created.append(_import_create(values, by, source))
    return created


def _import_row(
    row: Any, services_by_name: dict[str, Service]
) -> tuple[dict[str, Any], dict[str, list[str]]]:
    errors: dict[str, list[str]] = {}
    if not isinstance(row, dict):
        return {}, {"row": ["Expected an object."]}
    values: dict[str, Any] = {"reference": str(row.get("reference") or "").strip() or None}
    if values["reference"] and len(values["reference"]) > 40:
        errors["reference"] = ["At most 40 characters."]
    values["title"] = str(row.get("title") or "").strip()
    values["description"] = str(row.get("description") or "")
    _collect(
        errors,
        check_text_lengths,
        {n: values[n] for n in ("title", "description")},
        limits=INCIDENT_TEXT_LIMITS,
    )
    if not values["title"]:
        errors["title"] = ["This field is required."]
    severity = row.get("severity", Severity.SEV2)
    if severity not in Severity.values:
        errors["severity"] = ["Choose 1 to 4."]
    values["severity"] = severity
    names = row.get("services") or []
    unknown = [name for name in names if name not in services_by_name] if isinstance(names, list) else names
    if unknown:
        errors["services"] = [
            f"Unknown service: {', '.join(map(str, unknown))}."
            if isinstance(unknown, list)
            else "Expected a list of names."
        ]
    values["services"] = (
        [services_by_name[n] for n in names if n in services_by_name] if isinstance(names, list) else []
    )
    for name in TIME_FIELDS:
        raw = row.get(name)
        parsed = parse_datetime(raw) if isinstance(raw, str) else None
        if raw is not None and (parsed is None or timezone.is_naive(parsed)):
            errors[name] = ["Expected an ISO 8601 time with a zone."]
        values[name] = parsed
    if values["reported_at"] is None and "reported_at" not in errors:
        errors["reported_at"] = ["This field is required."]
    values["detected_at"] = values["detected_at"] or values["reported_at"]
    values["impact_started_at"] = values["impact_started_at"] or values["detected_at"]
    _collect(errors, check_event_times, {n: values[n] for n in TIME_FIELDS if n not in errors})
    for name in ("users_affected", "estimated_downtime_minutes"):
        value = row.get(name)
        if value is not None and (
            not isinstance(value, int) or isinstance(value, bool) or not 0 <= value <= 2_147_483_647
        ):
            errors[name] = ["Expected a whole number ≥ 0."]
        values[name] = value
    try:
        values["response_effort_hours"] = Decimal(str(row.get("response_effort_hours", 0)))
        if not 0 <= values["response_effort_hours"] < 10_000_000:
            raise ValueError
    except (ArithmeticError, ValueError):
        errors["response_effort_hours"] = ["Expected a number ≥ 0."]
    values["state"] = row.get("state") or _state_from_times(values)
    if values["state"] not in IncidentState.values:
        errors["state"] = [f"Choose one of {', '.join(IncidentState.values)}."]
    else:
        missing = [
            n for n in IMPORT_STATE_TIMES.get(values["state"], ()) if values[n] is None and n not in errors
        ]
        for name in missing:
            errors[name] = [f"Required for a {values['state']} incident."]
    values["mim"] = _import_user(row.get("mim"), errors)
    if not errors:
        _collect(errors, check_time_order, {n: values[n] for n in TIME_FIELDS}, changed=TIME_FIELDS)
    return values, errors


def _collect(errors: dict[str, list[str]], check: Any, *args: Any, **kwargs: Any) -> None:
    """Run a service-wide check and keep its field errors with the row's other errors."""
    try:
        check(*args, **kwargs)
    except InvalidInput as exc:
        for name, messages in exc.details.items():
            errors.setdefault(name, []).extend(messages)


def _import_user(username: Any, errors: dict[str, list[str]]) -> Any:
    if not username:
        return None
    if not isinstance(username, str):
        errors["mim"] = ["Expected a username."]
        return None
    user = get_user_model().objects.filter(username=username, is_active=True).first()
    if user is None:
        errors["mim"] = [f"No active user '{username}'."]
    return user


def _state_from_times(values: dict[str, Any]) -> str:
    for state in (
        IncidentState.CLOSED,
        IncidentState.VALIDATED,
        IncidentState.RESTORED,
        IncidentState.DECLARED,
    ):
        if all(values.get(n) for n in IMPORT_STATE_TIMES[state]):
            return state
    return IncidentState.REPORTED


def _import_create(values: dict[str, Any], by: User, source: str) -> dict[str, Any]:
    services = values.pop("services")
    mim = values.pop("mim")
    reference = values.pop("reference") or _next_reference(values["reported_at"].year)
    incident = Incident.objects.create(reference=reference, created_by=by, **values)
    incident.services.set(services)
    if mim is not None:
        IncidentRole.objects.create(
            incident=incident, role=RoleKind.MIM, user=mim, assigned_by=by,
            assigned_at=incident.declared_at or incident.reported_at,
        )  # fmt: skip
    _entry(incident, by, EntryKind.NOTE, f"Imported from {source} by {_name(by)}.", at=incident.reported_at)
    return {"id": incident.pk, "reference": incident.reference, "state": incident.state}
