"""The response: roles, timeline, status updates, vendor escalations, recovery validation."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from django.contrib.auth.models import AbstractBaseUser
from django.core.mail import send_mail
from django.db import transaction
from django.utils import timezone

from config.errors import Conflict, InvalidInput, SeparationOfDutiesViolation
from config.limits import LINE_MAX_CHARS, check_text_lengths
from incidents import selectors
from incidents.choices import (
    MANUAL_ENTRY_KINDS,
    Audience,
    Channel,
    EntryKind,
    IncidentState,
    RoleKind,
    UpdateKind,
    UpdateState,
)
from incidents.models import (
    DistributionList,
    Incident,
    IncidentRole,
    RecoveryValidation,
    StatusUpdate,
    TimelineEntry,
    VendorEscalation,
)
from incidents.policy import check_due_dates, check_event_times
from incidents.services._common import _entry, _fmt, _locked, _name, _require_change

User = AbstractBaseUser


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
    check_event_times({"at": at})
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
    check_text_lengths({"text": text, "rationale": rationale, "alternatives": alternatives})
    check_event_times({"occurred_at": occurred_at})
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
    check_text_lengths(
        {"affected_service": affected_service, "business_impact": business_impact,
         "current_status": current_status, "workaround": workaround, "decisions_needed": decisions_needed,
         "subject": subject, "body": body},
        limits=UPDATE_TEXT_LIMITS,
    )  # fmt: skip
    check_event_times({"sent_at": sent_at})
    check_due_dates({"next_update_due_at": next_update_due_at})
    errors = _update_errors(
        incident, kind=kind, audience=audience, channel=channel, workaround=workaround,
        next_update_due_at=next_update_due_at, sent_at=sent_at, requires_approval=requires_approval,
        required={"affected_service": affected_service, "business_impact": business_impact,
                  "current_status": current_status},
    )  # fmt: skip
    if errors:
        raise InvalidInput("The status update is incomplete.", details=errors)
    if incident.state not in UPDATE_STATES:
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


# Subject and affected service are single lines, but prefilled from templates and service lists
# that may exceed LINE_MAX_CHARS: their columns' width is the limit.
UPDATE_TEXT_LIMITS = {"subject": 300, "affected_service": 300}
UPDATE_STATES = (
    IncidentState.DECLARED,
    IncidentState.RESTORED,
    IncidentState.VALIDATED,
    IncidentState.CLOSED,
)


def _update_errors(
    incident: Incident, *, kind: str, audience: str, channel: str, workaround: str,
    next_update_due_at: datetime | None, sent_at: datetime | None, requires_approval: bool, required: dict[str, str],
) -> dict[str, list[str]]:  # fmt: skip
    """Field errors of a status update: the required fields of DESIGN §6, known choices, a next
    update time while the incident is declared (after the update itself), a sane back-dated time."""
    errors = {
        name: ["This field is required."] for name, value in required.items() if not (value or "").strip()
    }
    for name, value, choices in (
        ("kind", kind, UpdateKind),
        ("audience", audience, Audience),
        ("channel", channel, Channel),
    ):
        if value not in choices.values:
            errors[name] = [f"Choose one of {', '.join(choices.values)}."]
    if kind == UpdateKind.WORKAROUND and not workaround.strip():
        errors["workaround"] = ["A workaround update describes the workaround."]
    sent = sent_at or timezone.now()
    if next_update_due_at is None and kind != UpdateKind.CLOSURE and incident.state == IncidentState.DECLARED:
        errors["next_update_due_at"] = ["Say when the next update is due."]
    elif next_update_due_at is not None and next_update_due_at <= sent:
        errors["next_update_due_at"] = ["The next update is due after this one."]
    if sent_at is not None and requires_approval:
        errors["sent_at"] = ["A back-dated update is already sent: it needs no approval."]
    return errors


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


# --- Vendor escalations and recovery validation ---------------------------------------------------


VENDOR_TEXT_LIMITS = {"vendor": LINE_MAX_CHARS, "reference": LINE_MAX_CHARS}


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
    check_text_lengths({"vendor": vendor, "reference": reference, "notes": notes}, limits=VENDOR_TEXT_LIMITS)
    if not vendor.strip():
        raise InvalidInput("Name the vendor.", details={"vendor": ["This field is required."]})
    check_event_times({"contacted_at": contacted_at, "responded_at": responded_at})
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
    check_text_lengths({"reference": reference}, limits=VENDOR_TEXT_LIMITS)
    check_event_times({"responded_at": responded_at})
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
    check_text_lengths(answers, limits={"business_confirmed_by": LINE_MAX_CHARS})
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
