"""Logging, editing and the lifecycle transitions of a major incident (DESIGN §6; STYLE 7)."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from datetime import datetime
from decimal import Decimal
from typing import Any

from django.contrib.auth.models import AbstractBaseUser
from django.db import transaction
from django.utils import timezone
from django_fsm import can_proceed

from config.errors import Conflict, CriteriaUnmet, InvalidInput
from config.limits import LINE_MAX_CHARS, check_text_lengths
from incidents import selectors, signals
from incidents.choices import EntryKind, IncidentState, Severity
from incidents.models import TIME_FIELDS, Incident, RecoveryValidation, Service
from incidents.policy import close_unmet
from incidents.services._common import (
    _entry,
    _fmt,
    _label,
    _locked,
    _next_reference,
    _require_change,
    _times,
    check_time_order,
)

User = AbstractBaseUser


# --- Logging and editing ------------------------------------------------------------------------


def incident_log(
    *,
    by: User,
    title: str,
    services: Iterable[Service] = (),
    severity: int = Severity.SEV2,
    description: str = "",
    users_affected: int | None = None,
    estimated_downtime_minutes: int | None = None,
    revenue_impact: bool = False,
    regulatory_risk: bool = False,
    executive_visibility: bool = False,
    impact_started_at: datetime | None = None,
    detected_at: datetime | None = None,
    reported_at: datetime | None = None,
    reference: str | None = None,
) -> Incident:
    """Log an incident quickly (seed step 2): evaluate the declaration criteria and record which
    were met, so the page can make "declare" prominent and the PIR can see the suggestion."""
    _require_change(by)
    check_text_lengths(
        {"title": title, "description": description, "reference": reference}, limits=INCIDENT_TEXT_LIMITS
    )
    if not title.strip():
        raise InvalidInput("Give the incident a title.", details={"title": ["This field is required."]})
    if severity not in Severity.values:
        raise InvalidInput("Severity is 1 to 4.", details={"severity": ["Choose SEV1 to SEV4."]})
    services = list(services)
    reported_at = reported_at or timezone.now()
    detected_at = detected_at or reported_at
    impact_started_at = impact_started_at or detected_at
    times = {"impact_started_at": impact_started_at, "detected_at": detected_at, "reported_at": reported_at}
    check_time_order(times, changed=times)
    results = selectors.criteria_evaluation(
        services=services,
        users_affected=users_affected,
        estimated_downtime_minutes=estimated_downtime_minutes,
        revenue_impact=revenue_impact,
        regulatory_risk=regulatory_risk,
        executive_visibility=executive_visibility,
    )
    met = [r.name for r in results if r.met]
    with transaction.atomic():
        incident = Incident.objects.create(
            reference=reference or _next_reference(reported_at.year),
            title=title.strip(),
            description=description,
            severity=severity,
            users_affected=users_affected,
            estimated_downtime_minutes=estimated_downtime_minutes,
            revenue_impact=revenue_impact,
            regulatory_risk=regulatory_risk,
            executive_visibility=executive_visibility,
            criteria_met=met,
            declaration_suggested=bool(met),
            created_by=by,
            **times,
        )
        incident.services.set(services)
        note = (
            f"Criteria met: {', '.join(met)}. Declaration suggested."
            if met
            else "No declaration criterion met."
        )
        _entry(incident, by, EntryKind.DETECTION, f"Incident logged. {note}", at=detected_at)
    return incident


INCIDENT_TEXT_LIMITS = {"title": LINE_MAX_CHARS, "reference": LINE_MAX_CHARS}
EDITABLE_FIELDS = (
    "title",
    "description",
    "users_affected",
    "estimated_downtime_minutes",
    "revenue_impact",
    "regulatory_risk",
    "executive_visibility",
    "response_effort_hours",
)


def incident_update(
    *,
    incident: Incident,
    by: User,
    reason: str = "",
    services: Iterable[Service] | None = None,
    **fields: Any,
) -> Incident:
    """Edit descriptive fields and, with an audit entry, the times (DESIGN §6: editable afterwards,
    must stay in order). Each changed time is listed on a correction entry with old and new value."""
    _require_change(by)
    unknown = set(fields) - set(EDITABLE_FIELDS) - set(TIME_FIELDS)
    if unknown:
        raise InvalidInput(
            "These fields cannot be changed here.",
            details={name: ["Not editable."] for name in sorted(unknown)},
        )
    check_text_lengths({**fields, "reason": reason}, limits=INCIDENT_TEXT_LIMITS)
    if "title" in fields and not (fields["title"] or "").strip():
        raise InvalidInput("Give the incident a title.", details={"title": ["This field is required."]})
    with transaction.atomic():
        incident = _locked(incident)
        old_times = _times(incident)
        changed_times = {n for n in TIME_FIELDS if n in fields and fields[n] != old_times[n]}
        if changed_times and {"impact_started_at", "detected_at", "reported_at"} & {
            n for n in changed_times if fields[n] is None
        }:
            raise InvalidInput(
                "This time is required.",
                details={n: ["This time is required."] for n in changed_times if fields[n] is None},
            )
        for name, value in fields.items():
            setattr(incident, name, value)
        if "response_effort_hours" in fields and Decimal(fields["response_effort_hours"] or 0) < 0:
            raise InvalidInput(
                "Effort cannot be negative.", details={"response_effort_hours": ["Must be ≥ 0."]}
            )
        check_time_order(_times(incident), changed=changed_times)
        incident.save()
        if services is not None:
            _set_services(incident, by, list(services))
        if changed_times:
            lines = [
                f"{_label(n)}: {_fmt(old_times[n])} → {_fmt(getattr(incident, n))}"
                for n in sorted(changed_times)
            ]
            text = "Times corrected. " + "; ".join(lines) + (f". Reason: {reason}" if reason else "")
            _entry(incident, by, EntryKind.CORRECTION, text)
    return incident


def _set_services(incident: Incident, by: User, services: list[Service]) -> None:
    before = sorted(s.name for s in incident.services.all())
    after = sorted(s.name for s in services)
    if before != after:
        incident.services.set(services)
        text = f"Affected services changed: {', '.join(before) or 'none'} → {', '.join(after) or 'none'}."
        _entry(incident, by, EntryKind.NOTE, text)


def incident_severity_change(*, incident: Incident, by: User, severity: int, reason: str = "") -> Incident:
    """Change severity; always a timeline event (DESIGN §6)."""
    _require_change(by)
    check_text_lengths({"reason": reason})
    if severity not in Severity.values:
        raise InvalidInput("Severity is 1 to 4.", details={"severity": ["Choose SEV1 to SEV4."]})
    with transaction.atomic():
        incident = _locked(incident)
        if incident.severity == severity:
            return incident
        old = incident.severity
        incident.severity = severity
        incident.save(update_fields=["severity", "updated_at"])
        text = f"Severity changed from SEV{old} to SEV{severity}." + (f" Reason: {reason}" if reason else "")
        _entry(incident, by, EntryKind.SEVERITY_CHANGE, text)
    return incident


def _mark_time(incident: Incident, by: User, field: str, at: datetime | None, text: str) -> Incident:
    _require_change(by)
    with transaction.atomic():
        incident = _locked(incident)
        if incident.state in (IncidentState.CLOSED, IncidentState.CANCELLED, IncidentState.NOT_MAJOR):
            raise Conflict(f"A {incident.get_state_display().lower()} incident takes no new times.")
        if getattr(incident, field) is not None:
            raise Conflict(f"{_label(field)} is already set; correct it by editing the times.")
        setattr(incident, field, at or timezone.now())
        check_time_order(_times(incident), changed={field})
        incident.save(update_fields=[field, "updated_at"])
        _entry(incident, by, EntryKind.NOTE, text, at=getattr(incident, field))
    return incident


def incident_acknowledge(*, incident: Incident, by: User, at: datetime | None = None) -> Incident:
    """Record that the response acknowledged the report (starts time to acknowledge)."""
    return _mark_time(incident, by, "acknowledged_at", at, "Report acknowledged by the response team.")


def incident_team_assembled(*, incident: Incident, by: User, at: datetime | None = None) -> Incident:
    """Record that the response team is assembled (seed step 4)."""
    return _mark_time(incident, by, "team_assembled_at", at, "Response team assembled.")


# --- Lifecycle (DESIGN §6; STYLE 7) -----------------------------------------------------------------


def _transition(
    incident: Incident,
    by: User,
    method: str,
    *,
    guard: Callable[[Incident], list[dict[str, str]]] | None = None,
    time_field: str | None = None,
    at: datetime | None = None,
    text: str,
    kind: str = EntryKind.STATE_CHANGE,
    within: Callable[[Incident], None] | None = None,
    after_commit: Callable[[Incident], None] | None = None,
) -> Incident:
    """Lock, check, transition, save and timeline in one transaction. `within` runs inside it, so
    what it changes commits with the transition or not at all (an error rolls both back);
    `after_commit` is for side effects only (notifications), which cannot leave half a change."""
    _require_change(by)
    with transaction.atomic():
        incident = _locked(incident)
        bound = getattr(incident, method)
        if not can_proceed(bound, check_conditions=False):
            raise Conflict(f"A {incident.get_state_display().lower()} incident cannot be {_past(method)}.")
        unmet = guard(incident) if guard else []
        if unmet:
            raise CriteriaUnmet(f"The incident cannot be {_past(method)} yet.", unmet=unmet)
        old_state = incident.state
        if time_field:
            bound(at or timezone.now())
            check_time_order(_times(incident), changed={time_field})
        else:
            bound()
        incident.save()
        when = getattr(incident, time_field) if time_field else None
        _entry(
            incident,
            by,
            kind,
            f"{text} ({IncidentState(old_state).label} → {incident.get_state_display()})",
            at=when,
        )
        if within:
            within(incident)
        if after_commit:
            transaction.on_commit(lambda: after_commit(incident))
    return incident


def _past(method: str) -> str:
    return {
        "declare": "declared",
        "mark_not_major": "marked not major",
        "cancel": "cancelled",
        "restore": "restored",
        "validate": "validated",
        "close": "closed",
        "reopen": "reopened",
    }[method]


def _mim_guard(incident: Incident) -> list[dict[str, str]]:
    if incident.has_mim():
        return []
    return [{"criterion": "mim", "message": "Assign a Major Incident Manager before declaring."}]


def _validation_guard(incident: Incident) -> list[dict[str, str]]:
    validation = RecoveryValidation.objects.filter(incident=incident).first()
    return (validation or RecoveryValidation(incident=incident)).unmet()


def incident_declare(
    *, incident: Incident, by: User, at: datetime | None = None, reason: str = ""
) -> Incident:
    """Declare a major incident; a MIM must be assigned first (DESIGN §6)."""
    check_text_lengths({"reason": reason})
    suffix = f" {reason}" if reason else ""
    if incident.criteria_met:
        suffix += f" The declaration criteria suggested it: {', '.join(incident.criteria_met)}."
    else:
        suffix += " No declaration criterion was met: declared on judgement."
    return _transition(
        incident, by, "declare", guard=_mim_guard, time_field="declared_at", at=at,
        kind=EntryKind.DECLARATION, text=f"Major incident declared.{suffix}",
    )  # fmt: skip


def incident_mark_not_major(*, incident: Incident, by: User, reason: str) -> Incident:
    """Reviewed and not declared: it stays a standard incident and leaves the metrics."""
    _require_reason(reason)
    return _transition(
        incident, by, "mark_not_major", text=f"Reviewed: not a major incident. Reason: {reason}"
    )


def incident_cancel(*, incident: Incident, by: User, reason: str) -> Incident:
    """Logged in error or a duplicate; leaves the metrics."""
    _require_reason(reason)
    return _transition(incident, by, "cancel", text=f"Cancelled. Reason: {reason}")


def _require_reason(reason: str) -> None:
    check_text_lengths({"reason": reason})
    if not (reason or "").strip():
        raise InvalidInput("Give a reason.", details={"reason": ["This field is required."]})


def _send_restored(incident: Incident, by: User) -> None:
    signals.incident_restored.send(sender=Incident, incident_id=incident.pk, by=by)


def incident_restore(*, incident: Incident, by: User, at: datetime | None = None, note: str = "") -> Incident:
    """Service restored (seed step 6). Inside the same transaction, `signals.incident_restored`
    lets reviews open the PIR (DESIGN §7) without this app knowing about reviews: if the PIR
    cannot be opened, the restoration is rolled back and the receiver's error reaches the caller,
    so no restored major incident is left without its PIR."""
    check_text_lengths({"note": note})
    return _transition(
        incident, by, "restore", time_field="restored_at", at=at, kind=EntryKind.RECOVERY,
        text="Service restored." + (f" {note}" if note else ""),
        within=lambda inc: _send_restored(inc, by),
    )  # fmt: skip


def incident_validate(*, incident: Incident, by: User, at: datetime | None = None) -> Incident:
    """Recovery validated: the checklist of seed step 7 is complete with a named business confirmation."""
    return _transition(
        incident, by, "validate", guard=_validation_guard, time_field="validated_at", at=at,
        kind=EntryKind.VALIDATION, text="Recovery validated.",
    )  # fmt: skip


def incident_close(*, incident: Incident, by: User, at: datetime | None = None) -> Incident:
    """Close a validated incident; other apps' close guards must pass (reviews: the PIR is settled)."""
    return _transition(
        incident, by, "close", guard=close_unmet, time_field="closed_at", at=at, text="Incident closed.",
        after_commit=lambda inc: signals.incident_closed.send(sender=Incident, incident_id=inc.pk, by=by),
    )  # fmt: skip


def incident_reopen(*, incident: Incident, by: User, reason: str) -> Incident:
    """Impact returned after restoration: back to declared, counted for the reopen rate. The
    previous restoration and validation times are kept on the timeline entry."""
    _require_reason(reason)
    previous = f"was restored {_fmt(incident.restored_at)}" if incident.restored_at else "was not restored"
    return _transition(incident, by, "reopen", text=f"Reopened ({previous}). Reason: {reason}")
