"""Criteria, roles, timeline, status updates, vendor escalations (DESIGN §6)."""

from datetime import timedelta

import pytest
from django.core import mail
from django.db import IntegrityError, ProgrammingError, transaction
from django.utils import timezone

from config.errors import Conflict, InvalidInput, PermissionRefused, SeparationOfDutiesViolation
from incidents import selectors, services
from incidents.choices import EntryKind, RoleKind, UpdateState
from incidents.models import DeclarationCriterion, DistributionList, IncidentRole, TimelineEntry
from tests.incidents.conftest import at

# --- Declaration criteria ---------------------------------------------------------------------


def test_logging_records_the_criteria_met_and_suggests_declaring(mim, catalog):
    incident = services.incident_log(
        by=mim, title="Checkout down", services=[catalog["payments"]], users_affected=20
    )
    assert incident.declaration_suggested is True
    assert set(incident.criteria_met) == {"Tier 1 or 2 service affected", "Customer-facing service affected"}
    assert "Declaration suggested" in incident.timeline.get(kind=EntryKind.DETECTION).text


def test_a_minor_incident_meets_no_criterion(mim, catalog):
    incident = services.incident_log(
        by=mim, title="Wiki slow", services=[catalog["intranet"]], users_affected=3
    )
    assert (incident.criteria_met, incident.declaration_suggested) == ([], False)


@pytest.mark.parametrize(
    ("facts", "met"),
    [
        ({"users_affected": 499}, []),
        ({"users_affected": 500}, ["users_affected"]),
        ({"estimated_downtime_minutes": 60}, ["estimated_downtime"]),
        ({"estimated_downtime_minutes": 59}, []),
        ({"revenue_impact": True}, ["revenue_impact"]),
        ({"regulatory_risk": True}, ["regulatory_risk"]),
        ({"executive_visibility": True}, ["executive_visibility"]),
    ],
)
def test_each_criterion_kind_with_its_threshold(catalog, facts, met):
    results = selectors.criteria_evaluation(services=[catalog["intranet"]], **facts)
    assert sorted(r.kind for r in results if r.met) == met


def test_inactive_criteria_are_ignored_and_thresholds_are_configurable(catalog, mim):
    criterion = DeclarationCriterion.objects.get(kind="users_affected")
    services.criterion_save(by=mim, criterion=criterion, threshold=10)
    DeclarationCriterion.objects.filter(kind="service_tier").update(active=False)
    results = {
        r.kind: r.met
        for r in selectors.criteria_evaluation(services=[catalog["payments"]], users_affected=10)
    }
    assert results["users_affected"] is True and "service_tier" not in results


def test_a_thresholded_criterion_needs_its_threshold(mim):
    with pytest.raises(Exception) as refused:
        services.criterion_save(by=mim, name="Many users", kind="users_affected", threshold=None)
    assert "threshold" in str(refused.value).lower() or isinstance(refused.value, IntegrityError)


def test_only_incident_managers_configure_the_catalog(people):
    with pytest.raises(PermissionRefused):
        services.service_save(by=people["leader"], name="ERP", tier=1)


# --- Roles -------------------------------------------------------------------------------------------


def test_hand_over_ends_the_previous_holder_and_writes_the_timeline(walk, people, mim):
    incident = walk("declared")
    services.role_assign(incident=incident, by=mim, role=RoleKind.MIM, user=people["mim2"], at=at(60))
    holders = list(IncidentRole.objects.filter(incident=incident, role=RoleKind.MIM).order_by("assigned_at"))
    assert [(h.user.username, h.ended_at) for h in holders] == [("mim", at(60)), ("mim2", None)]
    entry = incident.timeline.filter(kind=EntryKind.ROLE_CHANGE).last()
    assert entry.text == "Major Incident Manager handed over from Mia Ivanova to Jonas Berg."


def test_one_holder_per_role_is_a_database_constraint(walk, people):
    incident = walk("declared")
    with pytest.raises(IntegrityError), transaction.atomic():
        IncidentRole.objects.create(
            incident=incident, role=RoleKind.MIM, user=people["mim2"], assigned_at=at(40)
        )


def test_the_assignee_is_told_by_mail_after_commit(walk, people, mim, django_capture_on_commit_callbacks):
    incident = walk("declared")
    with django_capture_on_commit_callbacks(execute=True):
        services.role_assign(incident=incident, by=mim, role=RoleKind.TECHNICAL_LEAD, user=people["mim2"])
    assert mail.outbox[-1].subject == f"[{incident.reference}] You are Technical lead"
    assert mail.outbox[-1].to == ["mim2@example.test"]


# --- Timeline ---------------------------------------------------------------------------------------


def test_a_decision_needs_rationale_and_who_decided(walk, mim):
    incident = walk("declared")
    with pytest.raises(InvalidInput) as refused:
        services.timeline_entry_add(
            incident=incident, by=mim, kind=EntryKind.DECISION, text="Fail over to DC2"
        )
    assert set(refused.value.details) == {"rationale", "decided_by"}
    entry = services.timeline_entry_add(
        incident=incident, by=mim, kind=EntryKind.DECISION, text="Fail over to DC2",
        rationale="DC1 storage unrecoverable within the hour", alternatives="Wait for vendor fix",
        decided_by=mim, occurred_at=at(45),
    )  # fmt: skip
    assert entry.occurred_at == at(45)
    assert entry.recorded_at > at(45)  # back-dated: recorded now


def test_entries_cannot_be_edited_or_deleted(walk, mim):
    incident = walk("declared")
    entry = incident.timeline.first()
    with pytest.raises(ProgrammingError), transaction.atomic():
        TimelineEntry.objects.filter(pk=entry.pk).update(text="rewritten history")
    with pytest.raises(ProgrammingError), transaction.atomic():
        TimelineEntry.objects.filter(pk=entry.pk).delete()
    assert TimelineEntry.objects.get(pk=entry.pk).text == entry.text


def test_pinning_is_the_one_change_an_entry_accepts(walk, mim):
    incident = walk("declared")
    entry = incident.timeline.first()
    services.timeline_entry_pin(entry=entry, by=mim)
    assert TimelineEntry.objects.get(pk=entry.pk).pinned is True
    services.timeline_entry_pin(entry=entry, by=mim, pinned=False)
    assert TimelineEntry.objects.get(pk=entry.pk).pinned is False


def test_a_correction_is_a_new_entry_pointing_at_the_corrected_one(walk, mim):
    incident = walk("declared")
    wrong = services.timeline_entry_add(
        incident=incident, by=mim, kind=EntryKind.ACTION, text="Restarted DB1"
    )
    fix = services.timeline_entry_add(
        incident=incident,
        by=mim,
        kind=EntryKind.CORRECTION,
        text="It was DB2 that was restarted",
        corrects=wrong,
    )
    assert fix.corrects == wrong and list(wrong.corrections.all()) == [fix]
    with pytest.raises(InvalidInput):
        services.timeline_entry_add(incident=incident, by=mim, kind=EntryKind.CORRECTION, text="?")


def test_system_kinds_cannot_be_written_by_hand(walk, mim):
    incident = walk("declared")
    with pytest.raises(InvalidInput):
        services.timeline_entry_add(
            incident=incident, by=mim, kind=EntryKind.DECLARATION, text="Declared again"
        )


def test_severity_change_is_a_timeline_event(walk, mim):
    incident = walk("declared")
    incident = services.incident_severity_change(
        incident=incident, by=mim, severity=1, reason="All stores down"
    )
    assert incident.severity == 1
    assert incident.timeline.get(kind=EntryKind.SEVERITY_CHANGE).text == (
        "Severity changed from SEV2 to SEV1. Reason: All stores down"
    )


# --- Status updates ------------------------------------------------------------------------------------


def _update(incident, by, **extra):
    values = {
        "kind": "progress", "audience": "business", "channel": "email", "affected_service": "Payments",
        "business_impact": "Card payments fail in all stores", "current_status": "Failing over",
        "next_update_due_at": timezone.now() + timedelta(minutes=30),
    }  # fmt: skip
    return services.status_update_create(incident=incident, by=by, **{**values, **extra})


def test_an_update_needs_the_required_fields(walk, mim):
    incident = walk("declared")
    with pytest.raises(InvalidInput) as refused:
        _update(incident, mim, business_impact="", current_status=" ", next_update_due_at=None)
    assert set(refused.value.details) == {"business_impact", "current_status", "next_update_due_at"}


def test_an_update_goes_to_the_audience_list_after_commit(walk, mim, django_capture_on_commit_callbacks):
    DistributionList.objects.filter(audience="business").update(
        recipients="ops@example.test, cfo@example.test"
    )
    incident = walk("declared")
    mail.outbox.clear()
    with django_capture_on_commit_callbacks(execute=True):
        update = _update(incident, mim)
    assert update.state == UpdateState.SENT and update.sent_at is not None
    assert mail.outbox[-1].to == ["ops@example.test", "cfo@example.test"]
    assert "Card payments fail in all stores" in mail.outbox[-1].body
    assert incident.timeline.filter(kind=EntryKind.COMMUNICATION).exists()


def test_an_update_needing_approval_waits_for_a_second_person(walk, mim, people):
    incident = walk("declared")
    update = _update(incident, mim, requires_approval=True)
    assert update.state == UpdateState.AWAITING_APPROVAL and update.sent_at is None
    with pytest.raises(SeparationOfDutiesViolation):
        services.status_update_approve(update=update, by=mim)
    update = services.status_update_approve(update=update, by=people["mim2"])
    assert (update.state, update.approved_by) == (UpdateState.SENT, people["mim2"])
    with pytest.raises(Conflict):
        services.status_update_approve(update=update, by=people["admin"])


def test_the_form_is_prefilled_from_the_template(walk, mim):
    incident = walk("declared")
    prefill = selectors.status_update_prefill(incident=incident, kind="initial")
    assert prefill["subject"] == f"[{incident.reference}] Major incident: Card payments failing"
    assert "affecting Payments" in prefill["body"] and "Mia Ivanova" in prefill["body"]
    assert prefill["affected_service"] == "Payments"


def test_admins_edit_templates_and_a_broken_one_is_refused(people):
    from incidents.models import StatusUpdateTemplate

    template = StatusUpdateTemplate.objects.get(kind="closure")
    with pytest.raises(PermissionRefused):
        services.template_save(by=people["mim"], template=template, subject="x", body="y")
    with pytest.raises(InvalidInput):
        services.template_save(by=people["admin"], template=template, subject="x", body="{% if %}")
    services.template_save(
        by=people["admin"], template=template, subject="Closed {{ incident.reference }}", body="Done."
    )


def test_next_update_due_counts_from_the_last_update_and_turns_overdue(walk, mim, people):
    incident = walk("declared", severity=1)  # declared at 09:20, cadence 30 min
    assert selectors.incident_due(incident) == at(50)
    [item] = selectors.open_major_incidents(user=people["leader"])
    assert item.overdue is True and item.next_update_due_at == at(50) and item.mim == mim
    update = _update(incident, mim, next_update_due_at=timezone.now() + timedelta(minutes=10))
    due = selectors.incident_due(incident)
    assert due == update.next_update_due_at  # promised earlier than the cadence
    assert selectors.open_major_incidents(user=people["leader"])[0].overdue is False


# --- Vendor escalations and recovery validation -----------------------------------------------------------


def test_vendor_escalation_and_response(walk, mim):
    incident = walk("declared")
    escalation = services.vendor_escalation_add(
        incident=incident, by=mim, vendor="PayCo", contacted_at=at(35)
    )
    with pytest.raises(InvalidInput):
        services.vendor_escalation_responded(escalation=escalation, by=mim, responded_at=at(30))
    escalation = services.vendor_escalation_responded(
        escalation=escalation, by=mim, responded_at=at(50), reference="PC-991"
    )
    assert escalation.response_minutes == 15 and escalation.reference == "PC-991"
    assert incident.timeline.filter(kind=EntryKind.VENDOR).count() == 2
    with pytest.raises(Conflict):
        services.vendor_escalation_responded(escalation=escalation, by=mim, responded_at=at(55))


def test_the_validation_checklist_is_timelined(walk, mim):
    incident = walk("restored")
    services.recovery_validation_save(
        incident=incident, by=mim, service_restored=True, business_confirmed_by="Ops lead"
    )
    entry = incident.timeline.filter(kind=EntryKind.VALIDATION).last()
    assert entry.text == "Recovery checklist updated: 1/5 answered; business confirmation by Ops lead."


def test_pir_due_in_business_days_by_severity(walk):
    incident = walk("restored", severity=2)  # restored Monday 2 March 11:00, 10 business days
    assert selectors.pir_due_at(incident) == at(120) + timedelta(days=14)


def test_changing_the_affected_services_is_timelined(walk, mim, catalog):
    incident = walk("declared")
    services.incident_update(incident=incident, by=mim, services=[catalog["payments"], catalog["intranet"]])
    assert incident.timeline.filter(text="Affected services changed: Payments → Intranet, Payments.").exists()


def test_the_next_update_is_due_after_the_update(walk, mim):
    incident = walk("declared")
    with pytest.raises(InvalidInput) as refused:
        _update(incident, mim, next_update_due_at=timezone.now() - timedelta(minutes=1))
    assert refused.value.details == {"next_update_due_at": ["The next update is due after this one."]}
