"""Every state-changing service writes its audit rows (DESIGN §5.1, ADR 0004).

The public functions of the services of measures, incidents, reviews and reporting are found by
introspection. Each is either AUDITED (called here in a realistic setup; the new audit rows must be
exactly the documented ones) or EXEMPT with the reason it writes no governance audit row. A service
added to any of these packages and listed in neither makes `test_every_service_is_classified` fail:
whoever adds it decides, in review, whether it must be audited.
"""

from __future__ import annotations

import importlib
import inspect
from collections.abc import Callable
from decimal import Decimal

import pytest

from measures import services
from measures.choices import Series
from measures.models import AuditEntry
from measures.selectors.figures import closure_window
from reviews import services as review_services
from tests.measures.effects_builders import (
    benefit_line,
    fill_doi2,
    fy_months,
    to_doi1,
    to_doi3,
    to_doi4,
)

PACKAGES = ["measures.services", "incidents.services", "reviews.services", "reporting.services"]

READ_ONLY = "reads or checks only; changes nothing"
ROW_HISTORY = (
    "edits around a measure (not a gate, approval, transition, override, freeze, re-baseline or "
    "actual validation): django-pghistory keeps their row history (DESIGN §5.1)"
)
PEOPLE = "users, scopes and memberships: django-pghistory row history, not the governance log"
INCIDENT = (
    "incidents record their changes in their own timeline (DESIGN §6, STYLE 'Where shared pieces "
    "live'), tested in tests/incidents; the governance audit log is the measures' (ADR 0004)"
)
PIR = (
    "PIR workflow: state, sign-offs and frozen revisions are kept on the review itself "
    "(ReviewApproval, ReviewRevision) and by pghistory; only links to measures are governance"
)
REPORTING = "report runs, schedules and snapshots are operational records, not governance decisions"

EXEMPT: dict[str, str] = {
    # measures
    "audit_append": "is the audit writer itself",
    "audit_verify": READ_ONLY,
    "check_scope_placement": READ_ONLY,
    "effect_accounts": READ_ONLY,
    "gate_request_can_decide": READ_ONLY,
    "gate_request_refusal": READ_ONLY,
    "comment_create": ROW_HISTORY,
    "dependency_create": ROW_HISTORY,
    "dependency_delete": ROW_HISTORY,
    "document_delete": ROW_HISTORY,
    "document_upload": ROW_HISTORY,
    "effect_line_create": ROW_HISTORY,
    "effect_line_delete": ROW_HISTORY,
    "effect_line_update": ROW_HISTORY,
    "effect_value_delete": ROW_HISTORY + "; values before DoI 3 are plan drafts, frozen plans are audited",
    "effect_value_set": ROW_HISTORY + "; values before DoI 3 are plan drafts, frozen plans are audited",
    "effect_value_update": ROW_HISTORY + "; values before DoI 3 are plan drafts, frozen plans are audited",
    "effect_values_save": ROW_HISTORY + "; values before DoI 3 are plan drafts, frozen plans are audited",
    "milestone_complete": ROW_HISTORY,
    "milestone_create": ROW_HISTORY,
    "milestone_delete": ROW_HISTORY,
    "milestone_update": ROW_HISTORY,
    "risk_create": ROW_HISTORY,
    "risk_delete": ROW_HISTORY,
    "risk_update": ROW_HISTORY,
    "membership_create": PEOPLE,
    "membership_delete": PEOPLE,
    "scope_create": PEOPLE,
    "scope_update": PEOPLE,
    "user_create": PEOPLE,
    "user_deactivate": PEOPLE,
    # incidents
    "EDITABLE_FIELDS": "a constant, not a service",
    "check_time_order": READ_ONLY,
    **dict.fromkeys(
        [
            "criterion_save",
            "incident_acknowledge",
            "incident_cancel",
            "incident_close",
            "incident_declare",
            "incident_log",
            "incident_mark_not_major",
            "incident_reopen",
            "incident_restore",
            "incident_severity_change",
            "incident_team_assembled",
            "incident_update",
            "incident_validate",
            "incidents_import",
            "recovery_validation_save",
            "role_assign",
            "role_release",
            "service_save",
            "status_update_approve",
            "status_update_create",
            "template_save",
            "timeline_entry_add",
            "timeline_entry_pin",
            "vendor_escalation_add",
            "vendor_escalation_responded",
        ],
        INCIDENT,
    ),
    # reviews
    "incident_close_unmet": READ_ONLY,
    "submit_unmet": READ_ONLY,
    **dict.fromkeys(
        [
            "on_incident_restored",
            "review_open",
            "review_update",
            "review_submit",
            "review_return",
            "review_approve",
            "review_publish",
            "review_waive",
            "factor_add",
            "factor_update",
            "factor_remove",
            "action_create",
            "action_update",
            "action_accept",
            "action_start",
            "action_complete",
            "action_verify",
            "action_reject",
            "actions_mark_ineffective",
        ],
        PIR,
    ),
    # reporting
    "report_subject": READ_ONLY,
    "report_run_for_download": READ_ONLY,
    **dict.fromkeys(
        [
            "report_run_claim",
            "report_run_fail",
            "report_run_render",
            "report_run_request",
            "report_runs_requeue",
            "report_schedule_create",
            "report_schedule_delete",
            "report_schedule_deliver",
            "snapshots_take",
        ],
        REPORTING,
    ),
}


def public_services() -> set[str]:
    """Public names of each services package: its `__all__`, or the functions its module defines."""
    names: set[str] = set()
    for package in PACKAGES:
        module = importlib.import_module(package)
        exported = getattr(module, "__all__", None)
        if exported is None:
            exported = [
                name
                for name, value in vars(module).items()
                if inspect.isfunction(value) and value.__module__ == package and not name.startswith("_")
            ]
        names |= set(exported)
    return names


# --- Scenarios: set up, then return the one service call whose audit rows are counted ------------
# Each returns (call, measure whose id the rows carry, [(action, subject type)] expected in order).

Scenario = Callable[..., tuple[Callable[[], object], object, list[tuple[str, str]]]]


def _actual(measure, cast, amount=Decimal("9000")):
    return services.effect_value_set(
        line=benefit_line(measure),
        month=fy_months()[0],
        series=Series.ACTUAL,
        amount=amount,
        by=cast["owner"],
    )


def measure_create(cast, measure, tree, **_):
    def call():
        return services.measure_create(
            by=cast["pm"], title="Second measure", objective="x", package=tree.package, owner=cast["owner"]
        )

    return call, None, [("measure_created", "measure")]


def measure_update(cast, measure, **_):
    def call():
        return services.measure_update(measure=measure, by=cast["pm"], version=measure.version, title="New")

    return call, measure, [("measure_updated", "measure")]


def measure_hold(cast, measure, **_):
    return (
        lambda: services.measure_hold(measure=measure, by=cast["pm"], reason="Budget freeze."),
        measure,
        [("measure_hold", "measure")],
    )


def measure_resume(cast, measure, **_):
    services.measure_hold(measure=measure, by=cast["pm"], reason="Budget freeze.")
    return (
        lambda: services.measure_resume(measure=measure, by=cast["pm"]),
        measure,
        [("measure_resume", "measure")],
    )


def measure_cancel(cast, measure, **_):
    return (
        lambda: services.measure_cancel(measure=measure, by=cast["pm"], reason="Superseded."),
        measure,
        [("measure_cancel", "measure")],
    )


def measure_status_override(cast, measure, **_):
    def call():
        return services.measure_status_override(
            measure=measure, by=cast["pm"], light="potential", status="amber", comment="Vendor late."
        )

    return call, measure, [("status_override", "measure")]


def gate_request_submit(cast, measure, **_):
    return (
        lambda: services.gate_request_submit(measure=measure, by=cast["owner"]),
        measure,
        [("gate_requested", "gaterequest")],
    )


def gate_request_approve(cast, measure, **_):
    """The last approval of DoI 1 (the program manager's alone) also records the transition."""
    request = services.gate_request_submit(measure=measure, by=cast["owner"])
    return (
        lambda: services.gate_request_approve(request=request, by=cast["pm"], comment="ok"),
        measure,
        [("gate_approved", "gaterequest"), ("transition", "measure")],
    )


def gate_request_reject(cast, measure, **_):
    request = services.gate_request_submit(measure=measure, by=cast["owner"])
    return (
        lambda: services.gate_request_reject(request=request, by=cast["pm"], comment="Not yet."),
        measure,
        [("gate_rejected", "gaterequest")],
    )


def effect_values_import(cast, measure, **_):
    line = benefit_line(measure)
    text = f"line,month,series,amount\n{line.pk},{fy_months()[0]:%Y-%m},plan,1000\n"
    return (
        lambda: services.effect_values_import(measure=measure, by=cast["owner"], text=text, dry_run=False),
        measure,
        [("effect_values_imported", "measure")],
    )


def actuals_submit(cast, measure, **_):
    measure = to_doi3(measure, cast)
    _actual(measure, cast)
    return (
        lambda: services.actuals_submit(measure=measure, by=cast["owner"]),
        measure,
        [("actuals_submitted", "measure")],
    )


def actual_validate(cast, measure, **_):
    measure = to_doi3(measure, cast)
    value = _actual(measure, cast)
    services.actuals_submit(measure=measure, by=cast["owner"])
    return (
        lambda: services.actual_validate(value=value, by=cast["controller"]),
        measure,
        [("actual_validated", "effectvalue")],
    )


def actual_reject(cast, measure, **_):
    measure = to_doi3(measure, cast)
    value = _actual(measure, cast)
    services.actuals_submit(measure=measure, by=cast["owner"])
    return (
        lambda: services.actual_reject(value=value, by=cast["controller"], comment="Invoice missing."),
        measure,
        [("actual_rejected", "effectvalue")],
    )


def plan_freeze(cast, measure, **_):
    measure = fill_doi2(to_doi1(measure, cast), cast)
    return (
        lambda: services.plan_freeze(measure=measure, by=cast["controller"]),
        measure,
        [("plan_frozen", "planversion")],
    )


def _rebaseline(cast, measure):
    measure = to_doi3(measure, cast)
    values = [{"line": benefit_line(measure).pk, "month": str(fy_months()[0]), "amount": "0"}]
    return measure, values


def rebaseline_request_submit(cast, measure, **_):
    measure, values = _rebaseline(cast, measure)

    def call():
        return services.rebaseline_request_submit(
            measure=measure, by=cast["owner"], reason="Late.", values=values
        )

    return call, measure, [("rebaseline_requested", "rebaselinerequest")]


def rebaseline_request_approve(cast, measure, **_):
    measure, values = _rebaseline(cast, measure)
    request = services.rebaseline_request_submit(
        measure=measure, by=cast["owner"], reason="Late.", values=values
    )
    return (
        lambda: services.rebaseline_request_approve(request=request, by=cast["controller"]),
        measure,
        [("rebaseline_approved", "rebaselinerequest")],
    )


def rebaseline_request_reject(cast, measure, **_):
    measure, values = _rebaseline(cast, measure)
    request = services.rebaseline_request_submit(
        measure=measure, by=cast["owner"], reason="Late.", values=values
    )
    return (
        lambda: services.rebaseline_request_reject(request=request, by=cast["controller"], comment="No."),
        measure,
        [("rebaseline_rejected", "rebaselinerequest")],
    )


def closure_shortfall_record(cast, measure, **_):
    from tests.measures.effects_builders import validated_actuals

    measure = to_doi4(measure, cast)
    validated_actuals(measure, cast, {month: Decimal("8000") for month in closure_window()})
    return (
        lambda: services.closure_shortfall_record(
            measure=measure, by=cast["controller"], reason="Volume fell."
        ),
        measure,
        [("closure_shortfall_recorded", "measure")],
    )


def action_promote(cast, measure, tree, pir_action, **_):
    def call():
        return review_services.action_promote(action=pir_action, by=cast["owner"], package=tree.package)

    return call, None, [("measure_created", "measure"), ("action_promoted", "measure")]


def action_link_measure(cast, measure, pir_action, **_):
    return (
        lambda: review_services.action_link_measure(action=pir_action, by=cast["owner"], measure=measure),
        measure,
        [("action_linked", "measure")],
    )


AUDITED: dict[str, Scenario] = {
    scenario.__name__: scenario
    for scenario in [
        measure_create,
        measure_update,
        measure_hold,
        measure_resume,
        measure_cancel,
        measure_status_override,
        gate_request_submit,
        gate_request_approve,
        gate_request_reject,
        effect_values_import,
        actuals_submit,
        actual_validate,
        actual_reject,
        plan_freeze,
        rebaseline_request_submit,
        rebaseline_request_approve,
        rebaseline_request_reject,
        closure_shortfall_record,
        action_promote,
        action_link_measure,
    ]
}
NEEDS_ACTION = {"action_promote", "action_link_measure"}


@pytest.mark.django_db
def test_every_service_is_classified():
    found = public_services()
    assert not set(AUDITED) & set(EXEMPT), "a service is both audited and exempt"
    assert found - set(AUDITED) - set(EXEMPT) == set(), "new services: audit them or add them to EXEMPT"
    assert (set(AUDITED) | set(EXEMPT)) - found == set(), "listed services that no longer exist"


@pytest.mark.parametrize("name", sorted(AUDITED))
def test_service_writes_its_audit_rows(name, request, cast, tree, ready_measure):
    extra = {"pir_action": request.getfixturevalue("action")} if name in NEEDS_ACTION else {}
    call, measure, expected = AUDITED[name](cast=cast, measure=ready_measure, tree=tree, **extra)
    last = AuditEntry.objects.order_by("-id").values_list("id", flat=True).first() or 0

    result = call()

    rows = list(AuditEntry.objects.filter(id__gt=last).order_by("id"))
    assert [(row.action, row.subject_type) for row in rows] == expected
    measure_id = measure.pk if measure is not None else _measure_of(result)
    assert {row.measure_id for row in rows} == {measure_id}
    assert services.audit_verify() is None


def _measure_of(result) -> int:
    """The measure a service created: itself, or the one an action was promoted to."""
    return getattr(result, "measure_id", None) or result.pk
