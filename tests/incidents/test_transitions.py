"""Every lifecycle transition from every state, and its guard (DESIGN §6)."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from config.errors import Conflict, CriteriaUnmet, PermissionRefused
from incidents import services, signals
from incidents.choices import EntryKind, IncidentState, RoleKind
from incidents.models import Incident
from tests.incidents.conftest import at, complete_validation, settle_pir

S = IncidentState

# transition -> (service, states it may leave, target)
TRANSITIONS = {
    "declare": (S.REPORTED,),
    "mark_not_major": (S.REPORTED,),
    "cancel": (S.REPORTED, S.DECLARED),
    "restore": (S.DECLARED,),
    "validate": (S.RESTORED,),
    "close": (S.VALIDATED,),
    "reopen": (S.RESTORED, S.VALIDATED),
}
TARGET = {
    "declare": S.DECLARED,
    "mark_not_major": S.NOT_MAJOR,
    "cancel": S.CANCELLED,
    "restore": S.RESTORED,
    "validate": S.VALIDATED,
    "close": S.CLOSED,
    "reopen": S.DECLARED,
}


def _in_state(walk, mim, state):
    if state in (S.NOT_MAJOR, S.CANCELLED):
        incident = walk("reported")
        if state == S.NOT_MAJOR:
            return services.incident_mark_not_major(incident=incident, by=mim, reason="Single user")
        return services.incident_cancel(incident=incident, by=mim, reason="Duplicate")
    return walk(state)


def _call(name, incident, mim):
    if name in ("declare", "validate"):
        # satisfy the guards so only the source state decides
        if not incident.has_mim():
            services.role_assign(incident=incident, by=mim, role=RoleKind.MIM, user=mim)
        if incident.state == S.RESTORED:
            complete_validation(incident, mim)
    if name == "close":
        settle_pir(incident, mim)  # reviews' close guard: the PIR opened on restoration
    kwargs = {"reason": "because"} if name in ("mark_not_major", "cancel", "reopen") else {}
    return getattr(services, f"incident_{name}")(incident=incident, by=mim, **kwargs)


@pytest.mark.parametrize("state", list(S))
@pytest.mark.parametrize("name", list(TRANSITIONS))
def test_every_transition_from_every_state(walk, mim, state, name):
    incident = _in_state(walk, mim, state)
    if state in TRANSITIONS[name]:
        result = _call(name, incident, mim)
        assert Incident.objects.get(pk=incident.pk).state == TARGET[name] == result.state
    else:
        with pytest.raises(Conflict):
            _call(name, incident, mim)
        assert Incident.objects.get(pk=incident.pk).state == state


def test_declare_needs_a_mim(walk, mim):
    incident = walk("reported")
    with pytest.raises(CriteriaUnmet) as refused:
        services.incident_declare(incident=incident, by=mim)
    assert refused.value.unmet == [
        {"criterion": "mim", "message": "Assign a Major Incident Manager before declaring."}
    ]
    assert Incident.objects.get(pk=incident.pk).state == S.REPORTED


def test_declare_sets_declared_and_acknowledged_and_writes_the_timeline(walk, mim):
    incident = walk("reported")
    services.role_assign(incident=incident, by=mim, role=RoleKind.MIM, user=mim, at=at(10))
    incident = services.incident_declare(incident=incident, by=mim, at=at(20))
    assert (incident.declared_at, incident.acknowledged_at) == (at(20), at(20))
    entry = incident.timeline.get(kind=EntryKind.DECLARATION)
    assert entry.occurred_at == at(20) and "Reported → Declared" in entry.text


def test_validate_needs_the_complete_checklist_with_business_confirmation(walk, mim):
    incident = walk("restored")
    with pytest.raises(CriteriaUnmet) as refused:
        services.incident_validate(incident=incident, by=mim)
    assert {item["criterion"] for item in refused.value.unmet} == {
        "service_restored", "users_still_affected", "workarounds_still_needed", "monitoring_stable",
        "residual_risks_open", "business_confirmed_by",
    }  # fmt: skip
    complete_validation(incident, mim)
    services.recovery_validation_save(incident=incident, by=mim, business_confirmed_by="")
    with pytest.raises(CriteriaUnmet) as refused:
        services.incident_validate(incident=incident, by=mim)
    assert [item["criterion"] for item in refused.value.unmet] == ["business_confirmed_by"]
    services.recovery_validation_save(
        incident=incident, by=mim, business_confirmed_by="Store operations lead"
    )
    assert services.incident_validate(incident=incident, by=mim).state == S.VALIDATED


def test_validate_refuses_an_unrestored_service(walk, mim):
    incident = walk("restored")
    complete_validation(incident, mim)
    services.recovery_validation_save(incident=incident, by=mim, service_restored=False)
    with pytest.raises(CriteriaUnmet) as refused:
        services.incident_validate(incident=incident, by=mim)
    assert refused.value.unmet[0]["message"] == "The service is not restored yet."


def test_close_needs_validated(walk, mim):
    incident = walk("restored")
    with pytest.raises(Conflict, match="restored incident cannot be closed"):
        services.incident_close(incident=incident, by=mim)


def test_reopen_is_recorded_and_counted(walk, mim):
    incident = walk("validated")
    incident = services.incident_reopen(incident=incident, by=mim, reason="Errors returned after the fix")
    assert incident.state == S.DECLARED
    assert incident.reopen_count == 1
    assert incident.restored_at is None and incident.validated_at is None
    entry = incident.timeline.filter(kind=EntryKind.STATE_CHANGE).last()
    assert "Reopened (was restored 2026-03-02 11:00)" in entry.text
    assert "Errors returned after the fix" in entry.text


def test_transitions_need_an_incident_manager(walk, people):
    incident = walk("reported")
    services.role_assign(incident=incident, by=people["mim"], role=RoleKind.MIM, user=people["mim"])
    for who in ("leader", "staff"):
        with pytest.raises(PermissionRefused):
            services.incident_declare(incident=incident, by=people[who])
    assert services.incident_declare(incident=incident, by=people["admin"]).state == S.DECLARED


def test_restore_sends_the_restored_signal_inside_its_transaction(walk, mim):
    """Receivers (reviews opens the PIR) change rows together with the restoration: they run
    before commit, and a receiver that fails rolls the restoration back."""
    received = []

    def listener(sender, incident_id, by, **kwargs):
        received.append((incident_id, by, Incident.objects.get(pk=incident_id).state))

    signals.incident_restored.connect(listener)
    try:
        incident = walk("declared")
        services.incident_restore(incident=incident, by=mim, at=at(120))
        assert received == [(incident.pk, mim, S.RESTORED)]
    finally:
        signals.incident_restored.disconnect(listener)


def test_the_state_field_cannot_be_assigned_directly(walk):
    incident = walk("reported")
    with pytest.raises(AttributeError):
        incident.state = S.CLOSED


def test_transition_locks_the_row(walk, mim):
    incident = walk("declared")
    with CaptureQueriesContext(connection) as queries:
        services.incident_restore(incident=incident, by=mim, at=at(120))
    assert any("FOR UPDATE" in q["sql"] for q in queries.captured_queries)


def test_the_declaration_entry_says_whether_the_criteria_suggested_it(walk, mim, catalog):
    suggested = walk("declared")  # Payments: tier 1, customer-facing
    text = suggested.timeline.get(kind=EntryKind.DECLARATION).text
    assert "The declaration criteria suggested it: " in text and "Customer-facing service affected" in text
    judged = walk("declared", service=catalog["intranet"], start=500)
    assert "declared on judgement" in judged.timeline.get(kind=EntryKind.DECLARATION).text
