"""State changes of major incidents (DESIGN §6). Views, the API, admin, the import command and
the demo call these; each checks permission itself, locks what it changes, writes the timeline in
the same transaction and defers e-mail and signals until the transaction commits."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

from django.contrib.auth import get_user_model
from django.contrib.auth.models import AbstractBaseUser
from django.core.mail import send_mail
from django.db import IntegrityError, connection, transaction
from django.db.models import Model
from django.template import Context, Template
from django.utils import timezone
from django.utils.dateparse import parse_datetime
from django_fsm import can_proceed

from config.errors import (
    Conflict,
    CriteriaUnmet,
    InvalidInput,
    PermissionRefused,
    SeparationOfDutiesViolation,
)
from incidents import permissions, selectors, signals
from incidents.choices import (
    MANUAL_ENTRY_KINDS,
    Audience,
    Channel,
    EntryKind,
    IncidentState,
    RoleKind,
    Severity,
    UpdateKind,
    UpdateState,
)
from incidents.models import (
    TIME_FIELDS,
    TIME_LEVELS,
    DeclarationCriterion,
    DistributionList,
    Incident,
    IncidentRole,
    RecoveryValidation,
    Service,
    StatusUpdate,
    StatusUpdateTemplate,
    TimelineEntry,
    VendorEscalation,
)
from incidents.models.incident import ordered_time_pairs

User = AbstractBaseUser
FUTURE_TOLERANCE = timedelta(minutes=5)
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
    of a broken pair, else the later one. Changed times may not lie in the future either."""
    changed = set(changed)
    now = timezone.now()
    for name in changed:
        value = values.get(name)
        if value is not None and value > now + FUTURE_TOLERANCE:
            raise InvalidInput(
                f"{_label(name)} cannot be in the future.", details={name: ["This time is in the future."]}
            )
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


# --- Catalog (seed step 1) ---------------------------------------------------------------------


def _save_config(model: type[Model], instance: Model | None, by: User, fields: dict[str, Any]) -> Model:
    if not permissions.can_configure(by):
        raise PermissionRefused("Only incident managers and admins may change the incident configuration.")
    instance = instance or model()
    for name, value in fields.items():
        setattr(instance, name, value)
    try:
        with transaction.atomic():
            instance.full_clean()
            instance.save()
    except IntegrityError as exc:
        raise Conflict(f"This {model._meta.verbose_name} conflicts with an existing one.") from exc
    return instance


def service_save(*, by: User, service: Service | None = None, **fields: Any) -> Service:
    """Create or change a catalog service (DESIGN §6)."""
    return _save_config(Service, service, by, fields)


def criterion_save(
    *, by: User, criterion: DeclarationCriterion | None = None, **fields: Any
) -> DeclarationCriterion:
    """Create or change a declaration criterion; thresholded kinds need a threshold."""
    return _save_config(DeclarationCriterion, criterion, by, fields)


# --- Logging and editing ------------------------------------------------------------------------


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
    if not title.strip() or len(title) > 300:
        raise InvalidInput(
            "Give the incident a title (up to 300 characters).",
            details={"title": ["Required, at most 300 characters."]},
        )
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
            incident.services.set(list(services))
        if changed_times:
            lines = [
                f"{_label(n)}: {_fmt(old_times[n])} → {_fmt(getattr(incident, n))}"
                for n in sorted(changed_times)
            ]
            text = "Times corrected. " + "; ".join(lines) + (f". Reason: {reason}" if reason else "")
            _entry(incident, by, EntryKind.CORRECTION, text)
    return incident


def _fmt(value: datetime | None) -> str:
    return timezone.localtime(value).strftime("%Y-%m-%d %H:%M") if value else "unset"


def incident_severity_change(*, incident: Incident, by: User, severity: int, reason: str = "") -> Incident:
    """Change severity; always a timeline event (DESIGN §6)."""
    _require_change(by)
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
    after_commit: Callable[[Incident], None] | None = None,
) -> Incident:
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
    suffix = f" {reason}" if reason else ""
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
    if not (reason or "").strip():
        raise InvalidInput("Give a reason.", details={"reason": ["This field is required."]})


def _send_restored(incident: Incident, by: User) -> None:
    signals.incident_restored.send(sender=Incident, incident_id=incident.pk, by=by)


def incident_restore(*, incident: Incident, by: User, at: datetime | None = None, note: str = "") -> Incident:
    """Service restored (seed step 6). After commit, `signals.incident_restored` lets reviews
    open the PIR (DESIGN §7) without this app knowing about reviews."""
    return _transition(
        incident, by, "restore", time_field="restored_at", at=at, kind=EntryKind.RECOVERY,
        text="Service restored." + (f" {note}" if note else ""),
        after_commit=lambda inc: _send_restored(inc, by),
    )  # fmt: skip


def incident_validate(*, incident: Incident, by: User, at: datetime | None = None) -> Incident:
    """Recovery validated: the checklist of seed step 7 is complete with a named business confirmation."""
    return _transition(
        incident, by, "validate", guard=_validation_guard, time_field="validated_at", at=at,
        kind=EntryKind.VALIDATION, text="Recovery validated.",
    )  # fmt: skip


def incident_close(*, incident: Incident, by: User, at: datetime | None = None) -> Incident:
    """Close a validated incident."""
    return _transition(
        incident, by, "close", time_field="closed_at", at=at, text="Incident closed.",
        after_commit=lambda inc: signals.incident_closed.send(sender=Incident, incident_id=inc.pk, by=by),
    )  # fmt: skip


def incident_reopen(*, incident: Incident, by: User, reason: str) -> Incident:
    """Impact returned after restoration: back to declared, counted for the reopen rate. The
    previous restoration and validation times are kept on the timeline entry."""
    _require_reason(reason)
    previous = f"was restored {_fmt(incident.restored_at)}" if incident.restored_at else "was not restored"
    return _transition(incident, by, "reopen", text=f"Reopened ({previous}). Reason: {reason}")


# --- Roles (seed step 4) --------------------------------------------------------------------------


def role_assign(
    *, incident: Incident, by: User, role: str, user: User, at: datetime | None = None
) -> IncidentRole:
    """Give `role` to `user`; an existing holder hands over (one holder per role at a time)."""
    _require_change(by)
    if role not in RoleKind.values:
        raise InvalidInput(
            "Unknown role.", details={"role": [f"Choose one of {', '.join(RoleKind.values)}."]}
        )
    if not user.is_active:
        raise InvalidInput("This user is deactivated.", details={"user": ["The user is not active."]})
    at = at or timezone.now()
    with transaction.atomic():
        incident = _locked(incident)
        current = incident.roles.filter(role=role, ended_at__isnull=True).select_related("user").first()
        if current and current.user_id == user.pk:
            return current
        if current:
            if at < current.assigned_at:
                raise InvalidInput(
                    "A hand-over cannot precede the assignment.", details={"at": ["Too early."]}
                )
            current.ended_at = at
            current.save(update_fields=["ended_at"])
        assignment = IncidentRole.objects.create(
            incident=incident, role=role, user=user, assigned_at=at, assigned_by=by
        )
        label = RoleKind(role).label
        name = _name(user)
        text = (
            f"{label} handed over from {_name(current.user)} to {name}." if current else f"{name} is {label}."
        )
        _entry(incident, by, EntryKind.ROLE_CHANGE, text, at=at)
        if user.email:
            subject = f"[{incident.reference}] You are {label}"
            body = f"You are {label} on {incident.reference} {incident.title}."
            transaction.on_commit(lambda: send_mail(subject, body, None, [user.email], fail_silently=True))
    return assignment


def role_release(*, assignment: IncidentRole, by: User) -> IncidentRole:
    """End a role without a successor (a timeline event)."""
    _require_change(by)
    with transaction.atomic():
        assignment = IncidentRole.objects.select_for_update().get(pk=assignment.pk)
        if assignment.ended_at is None:
            assignment.ended_at = timezone.now()
            assignment.save(update_fields=["ended_at"])
            _entry(
                assignment.incident,
                by,
                EntryKind.ROLE_CHANGE,
                f"{_name(assignment.user)} released as {assignment.get_role_display()}.",
            )
    return assignment


def _name(user: User) -> str:
    return user.get_full_name() or user.get_username()


# --- Timeline (DESIGN §6) -------------------------------------------------------------------------


def timeline_entry_add(
    *,
    incident: Incident,
    by: User,
    kind: str,
    text: str,
    occurred_at: datetime | None = None,
    rationale: str = "",
    alternatives: str = "",
    decided_by: User | None = None,
    corrects: TimelineEntry | None = None,
) -> TimelineEntry:
    """Append an entry; `occurred_at` may be back-dated, `recorded_at` is always now. A decision
    needs its rationale and who decided; a correction names the entry it corrects."""
    _require_change(by)
    errors: dict[str, list[str]] = {}
    if kind not in MANUAL_ENTRY_KINDS:
        errors["kind"] = [f"Choose one of {', '.join(MANUAL_ENTRY_KINDS)}."]
    if not text.strip():
        errors["text"] = ["This field is required."]
    if kind == EntryKind.DECISION:
        if not rationale.strip():
            errors["rationale"] = ["A decision needs its rationale."]
        if decided_by is None:
            errors["decided_by"] = ["Say who decided."]
    if kind == EntryKind.CORRECTION and corrects is None:
        errors["corrects"] = ["Name the entry this corrects."]
    if corrects is not None and corrects.incident_id != incident.pk:
        errors["corrects"] = ["That entry belongs to another incident."]
    if occurred_at and occurred_at > timezone.now() + FUTURE_TOLERANCE:
        errors["occurred_at"] = ["This time is in the future."]
    if errors:
        raise InvalidInput("The timeline entry is incomplete.", details=errors)
    with transaction.atomic():
        incident = _locked(incident)
        if incident.state == IncidentState.CLOSED and kind != EntryKind.CORRECTION:
            raise Conflict("A closed incident only takes corrections.")
        return _entry(
            incident, by, kind, text.strip(), at=occurred_at,
            rationale=rationale, alternatives=alternatives, decided_by=decided_by, corrects=corrects,
        )  # fmt: skip


def timeline_entry_pin(*, entry: TimelineEntry, by: User, pinned: bool = True) -> TimelineEntry:
    """Pin an entry for the PIR (the only change an entry accepts)."""
    _require_change(by)
    TimelineEntry.objects.filter(pk=entry.pk).update(pinned=pinned)
    entry.pinned = pinned
    return entry


# --- Status updates (seed step 5) ---------------------------------------------------------------

REQUIRED_UPDATE_FIELDS = ("affected_service", "business_impact", "current_status")


def status_update_create(
    *,
    incident: Incident,
    by: User,
    kind: str,
    audience: str,
    channel: str,
    affected_service: str,
    business_impact: str,
    current_status: str,
    workaround: str = "",
    next_update_due_at: datetime | None = None,
    decisions_needed: str = "",
    subject: str = "",
    body: str = "",
    requires_approval: bool = False,
    sent_at: datetime | None = None,
) -> StatusUpdate:
    """Write an update with the fields of DESIGN §6. Without approval it is sent at once; with
    approval it waits for a second person (`status_update_approve`). `sent_at` records an update
    already sent by other means (back-dated; no e-mail goes out)."""
    _require_change(by)
    values = {
        "affected_service": affected_service,
        "business_impact": business_impact,
        "current_status": current_status,
    }
    errors = {
        name: ["This field is required."] for name, value in values.items() if not (value or "").strip()
    }
    open_incident = incident.state in (
        IncidentState.DECLARED,
        IncidentState.RESTORED,
        IncidentState.VALIDATED,
    )
    for name, value, choices in (
        ("kind", kind, UpdateKind),
        ("audience", audience, Audience),
        ("channel", channel, Channel),
    ):
        if value not in choices.values:
            errors[name] = [f"Choose one of {', '.join(choices.values)}."]
    if kind == UpdateKind.WORKAROUND and not workaround.strip():
        errors["workaround"] = ["A workaround update describes the workaround."]
    if next_update_due_at is None and kind != UpdateKind.CLOSURE and incident.state == IncidentState.DECLARED:
        errors["next_update_due_at"] = ["Say when the next update is due."]
    if sent_at is not None and (requires_approval or sent_at > timezone.now() + FUTURE_TOLERANCE):
        errors["sent_at"] = ["A back-dated update is already sent: no approval, not in the future."]
    if errors:
        raise InvalidInput("The status update is incomplete.", details=errors)
    if not open_incident and incident.state != IncidentState.CLOSED:
        raise Conflict("Status updates go out once the incident is declared.")
    prefill = selectors.status_update_prefill(incident=incident, kind=kind)
    with transaction.atomic():
        update = StatusUpdate.objects.create(
            incident=incident, kind=kind, audience=audience, channel=channel,
            affected_service=affected_service, business_impact=business_impact, current_status=current_status,
            workaround=workaround, next_update_due_at=next_update_due_at, decisions_needed=decisions_needed,
            subject=(subject or prefill["subject"])[:300], body=body or prefill["body"],
            requires_approval=requires_approval, created_by=by,
            state=UpdateState.AWAITING_APPROVAL if requires_approval else UpdateState.DRAFT,
        )  # fmt: skip
        if not requires_approval:
            _send(update, by, sent_at=sent_at)
    return update


def status_update_approve(*, update: StatusUpdate, by: User) -> StatusUpdate:
    """Approve and send an update; the author cannot approve their own (four-eyes)."""
    _require_change(by)
    with transaction.atomic():
        update = StatusUpdate.objects.select_for_update().get(pk=update.pk)
        if update.state != UpdateState.AWAITING_APPROVAL:
            raise Conflict(f"This update is {update.get_state_display().lower()}, not awaiting approval.")
        if update.created_by_id == by.pk:
            raise SeparationOfDutiesViolation("The author of an update cannot approve it.")
        update.approved_by = by
        update.approved_at = timezone.now()
        _send(update, by)
    return update


def _send(update: StatusUpdate, by: User, sent_at: datetime | None = None) -> None:
    update.state = UpdateState.SENT
    update.sent_at = sent_at or timezone.now()
    update.save()
    text = f"{update.get_kind_display()} update sent to {update.get_audience_display()} by {update.get_channel_display()}."
    _entry(update.incident, by, EntryKind.COMMUNICATION, text, at=update.sent_at)
    if sent_at is not None:
        return
    recipients = DistributionList.objects.filter(audience=update.audience).first()
    addresses = recipients.addresses if recipients else []
    if addresses:
        subject, body = update.subject, _update_mail_body(update)
        transaction.on_commit(lambda: send_mail(subject, body, None, addresses, fail_silently=False))


def _update_mail_body(update: StatusUpdate) -> str:
    parts = [
        update.body,
        f"Affected service: {update.affected_service}",
        f"Business impact: {update.business_impact}",
        f"Current status: {update.current_status}",
    ]
    if update.workaround:
        parts.append(f"Workaround: {update.workaround}")
    if update.decisions_needed:
        parts.append(f"Decisions needed: {update.decisions_needed}")
    if update.next_update_due_at:
        parts.append(f"Next update: {_fmt(update.next_update_due_at)}")
    return "\n\n".join(part for part in parts if part)


def template_save(
    *, by: User, template: StatusUpdateTemplate, subject: str, body: str
) -> StatusUpdateTemplate:
    """Admins edit the texts updates start from; a template that does not render is refused."""
    if not permissions.is_admin(by):
        raise PermissionRefused("Only admins edit status update templates.")
    try:
        Template(body).render(Context({}))
        Template(subject).render(Context({}))
    except Exception as exc:
        raise InvalidInput("The template does not render.", details={"body": [str(exc)]}) from exc
    template.subject, template.body = subject, body
    template.save()
    return template


# --- Vendor escalations and recovery validation ---------------------------------------------------


def vendor_escalation_add(
    *,
    incident: Incident,
    by: User,
    vendor: str,
    contacted_at: datetime | None = None,
    reference: str = "",
    notes: str = "",
    responded_at: datetime | None = None,
) -> VendorEscalation:
    """Record that a vendor was escalated to (a vendor timeline entry)."""
    _require_change(by)
    if not vendor.strip():
        raise InvalidInput("Name the vendor.", details={"vendor": ["This field is required."]})
    contacted_at = contacted_at or timezone.now()
    _check_response(contacted_at, responded_at)
    with transaction.atomic():
        escalation = VendorEscalation.objects.create(
            incident=incident, vendor=vendor.strip(), contacted_at=contacted_at, responded_at=responded_at,
            reference=reference, notes=notes, created_by=by,
        )  # fmt: skip
        ref = f" (reference {reference})" if reference else ""
        _entry(incident, by, EntryKind.VENDOR, f"Escalated to {escalation.vendor}{ref}.", at=contacted_at)
        if responded_at:
            _entry(incident, by, EntryKind.VENDOR, f"{escalation.vendor} responded.", at=responded_at)
    return escalation


def vendor_escalation_responded(
    *,
    escalation: VendorEscalation,
    by: User,
    responded_at: datetime | None = None,
    reference: str | None = None,
) -> VendorEscalation:
    """Record the vendor's response time (and their ticket reference if now known)."""
    _require_change(by)
    responded_at = responded_at or timezone.now()
    with transaction.atomic():
        escalation = VendorEscalation.objects.select_for_update().get(pk=escalation.pk)
        if escalation.responded_at is not None:
            raise Conflict("The vendor's response is already recorded.")
        _check_response(escalation.contacted_at, responded_at)
        escalation.responded_at = responded_at
        if reference:
            escalation.reference = reference
        escalation.save()
        _entry(escalation.incident, by, EntryKind.VENDOR, f"{escalation.vendor} responded.", at=responded_at)
    return escalation


def _check_response(contacted_at: datetime, responded_at: datetime | None) -> None:
    if responded_at is not None and responded_at < contacted_at:
        raise InvalidInput(
            "The vendor cannot respond before being contacted.",
            details={"responded_at": ["Must not be earlier than contacted_at."]},
        )


VALIDATION_FIELDS = (*RecoveryValidation.QUESTIONS, "residual_risks", "business_confirmed_by")


def recovery_validation_save(*, incident: Incident, by: User, **answers: Any) -> RecoveryValidation:
    """Answer the recovery questions of seed step 7 (any subset; the validate transition checks
    that all are answered and the business confirmation is named)."""
    _require_change(by)
    unknown = set(answers) - set(VALIDATION_FIELDS)
    if unknown:
        raise InvalidInput("Unknown question.", details={n: ["Unknown field."] for n in sorted(unknown)})
    with transaction.atomic():
        incident = _locked(incident)
        if incident.state not in (IncidentState.DECLARED, IncidentState.RESTORED):
            raise Conflict(
                f"Recovery is validated while restored, not while {incident.get_state_display().lower()}."
            )
        validation, _ = RecoveryValidation.objects.select_for_update().get_or_create(incident=incident)
        confirmed_before = validation.business_confirmed_by
        for name, value in answers.items():
            setattr(validation, name, value)
        if validation.business_confirmed_by and validation.business_confirmed_by != confirmed_before:
            validation.business_confirmed_at = timezone.now()
        validation.updated_by = by
        validation.save()
        done = len(RecoveryValidation.QUESTIONS) - sum(
            getattr(validation, q) is None for q in RecoveryValidation.QUESTIONS
        )
        text = f"Recovery checklist updated: {done}/{len(RecoveryValidation.QUESTIONS)} answered"
        if validation.business_confirmed_by:
            text += f"; business confirmation by {validation.business_confirmed_by}"
        _entry(incident, by, EntryKind.VALIDATION, text + ".")
    return validation


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
    if not values["title"] or len(values["title"]) > 300:
        errors["title"] = ["Required, at most 300 characters."]
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
    values["description"] = str(row.get("description") or "")
    if not errors:
        try:
            check_time_order({n: values[n] for n in TIME_FIELDS}, changed=TIME_FIELDS)
        except InvalidInput as exc:
            errors.update(exc.details)
    return values, errors


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
