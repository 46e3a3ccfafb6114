"""DoI gates: criteria, requests, approvals, rejection and resubmission (DESIGN §5.1)."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from config.errors import (
    Conflict,
    CriteriaUnmet,
    InvalidInput,
    NotFound,
    PermissionRefused,
    SeparationOfDutiesViolation,
)
from measures import permissions, selectors, services
from measures.choices import DocumentKind, GateRequestState, Nature, Recurrence, ScopeRole, Stage
from measures.models import GateRequest, Measure, Membership, Notification


def unmet_codes(measure, to_doi):
    return {item["code"] for item in selectors.gate_unmet(measure=measure, to_doi=to_doi)}


# --- DoI 1 criteria: one test each, unmet and met ------------------------------------------------


def test_new_measure_lists_every_missing_doi1_item(new_measure):
    assert unmet_codes(new_measure, 1) == {
        "sponsor_missing",
        "controller_missing",
        "business_unit_missing",
        "effect_line_missing",
        "risks_not_considered",
        "overlap_check_missing",
    }


def test_ready_measure_meets_doi1(ready_measure):
    assert unmet_codes(ready_measure, 1) == set()


@pytest.mark.parametrize(
    ("change", "code"),
    [
        ({"owner": None}, "owner_missing"),
        ({"sponsor": None}, "sponsor_missing"),
        ({"controller": None}, "controller_missing"),
        ({"business_unit": ""}, "business_unit_missing"),
        ({"objective": ""}, "objective_missing"),
    ],
)
def test_each_missing_doi1_field_is_named(cast, ready_measure, change, code):
    measure = services.measure_update(
        measure=ready_measure, by=cast["pm"], version=ready_measure.version, **change
    )
    assert unmet_codes(measure, 1) == {code}


def test_effect_line_without_potential_does_not_count(cast, new_measure):
    services.effect_line_create(measure=new_measure, by=cast["owner"], account="capex")
    assert "effect_line_missing" in unmet_codes(new_measure, 1)
    services.effect_line_create(measure=new_measure, by=cast["owner"], account="fte", annual_potential=2)
    assert "effect_line_missing" not in unmet_codes(new_measure, 1)


def test_risks_are_considered_by_a_risk_or_by_confirming_none(cast, new_measure):
    assert "risks_not_considered" in unmet_codes(new_measure, 1)
    measure = services.measure_update(
        measure=new_measure, by=cast["owner"], version=new_measure.version, no_known_risks=True
    )
    assert "risks_not_considered" not in unmet_codes(measure, 1)


def test_overlap_check_is_met_by_the_overlap_register(cast, tree, new_measure):
    other = services.measure_create(by=cast["pm"], title="Other", objective="x", package=tree.sibling_package)
    assert "overlap_check_missing" in unmet_codes(new_measure, 1)
    services.dependency_create(
        source=other, target=new_measure, kind="overlaps", share_percent=30, by=cast["pm"]
    )
    assert "overlap_check_missing" not in unmet_codes(new_measure, 1)


# --- DoI 2-5 criteria ------------------------------------------------------------------------


def pdf(name="case.pdf"):
    return SimpleUploadedFile(name, b"%PDF-1.4\n%\xe2\xe3\n1 0 obj<<>>endobj\n%%EOF\n", "application/pdf")


def test_doi2_criteria_unmet_then_met_except_the_money(cast, ready_measure):
    assert unmet_codes(ready_measure, 2) == {
        "baseline_missing",
        "plan_values_missing",
        "one_time_costs_missing",
        "milestone_missing",
        "business_case_missing",
    }
    owner = cast["owner"]
    line = ready_measure.effect_lines.get()
    services.effect_line_update(
        line=line,
        by=owner,
        baseline_value=Decimal("300000"),
        baseline_definition="Cost of failover drills 2025",
    )
    services.effect_line_create(
        measure=ready_measure,
        by=owner,
        account="pl_cost",
        nature=Nature.COST_TO_ACHIEVE,
        recurrence=Recurrence.ONE_TIME,
        annual_potential=0,
        baseline_value=0,
        baseline_definition="Project cost",
    )
    services.milestone_create(
        measure=ready_measure, by=owner, title="Runbook automated", due_date=date(2027, 3, 1)
    )
    services.document_upload(
        measure=ready_measure, by=owner, uploaded_file=pdf(), kind=DocumentKind.BUSINESS_CASE
    )
    # Monthly plan values arrive with the Financial effects issue: honestly unmet until then.
    assert unmet_codes(ready_measure, 2) == {"plan_values_missing"}


def test_baseline_needs_value_and_written_definition(cast, ready_measure):
    line = ready_measure.effect_lines.get()
    services.effect_line_update(line=line, by=cast["owner"], baseline_value=Decimal("10"))
    assert "baseline_missing" in unmet_codes(ready_measure, 2)
    services.effect_line_update(line=line, by=cast["owner"], baseline_definition="Last year's spend")
    assert "baseline_missing" not in unmet_codes(ready_measure, 2)


def test_doi3_repeats_everything_above_and_needs_a_complete_plan(cast, ready_measure):
    codes = unmet_codes(ready_measure, 3)
    assert {"plan_values_missing", "plan_incomplete", "milestone_missing"} <= codes
    measure = services.measure_update(
        measure=ready_measure, by=cast["pm"], version=ready_measure.version, sponsor=None
    )
    assert "sponsor_missing" in unmet_codes(measure, 3)


def test_doi4_needs_every_milestone_completed_with_evidence(cast, ready_measure):
    owner = cast["owner"]
    assert unmet_codes(ready_measure, 4) == {"milestone_missing"}
    first = services.milestone_create(
        measure=ready_measure, by=owner, title="Design", due_date=date(2027, 1, 1)
    )
    assert unmet_codes(ready_measure, 4) == {"milestones_open"}
    with pytest.raises(Exception, match="evidence"):
        services.milestone_complete(milestone=first, by=owner, completed_at=date(2026, 12, 1))
    services.milestone_complete(
        milestone=first, by=owner, completed_at=date(2026, 12, 1), evidence_note="Signed off"
    )
    assert unmet_codes(ready_measure, 4) == set()


def test_doi5_needs_validated_actuals_and_closure_evidence(cast, ready_measure):
    assert unmet_codes(ready_measure, 5) == {
        "actuals_not_validated",
        "run_rate_below_plan",
        "closure_evidence_missing",
    }
    services.document_upload(
        measure=ready_measure, by=cast["owner"], uploaded_file=pdf(), kind=DocumentKind.CLOSURE
    )
    assert unmet_codes(ready_measure, 5) == {"actuals_not_validated", "run_rate_below_plan"}


# --- Requests, approvals and rejections ------------------------------------------------------


def test_unmet_criteria_refuse_the_request_and_create_nothing(cast, new_measure):
    with pytest.raises(CriteriaUnmet) as refused:
        services.gate_request_submit(measure=new_measure, by=cast["owner"])
    assert {item["code"] for item in refused.value.unmet} >= {"sponsor_missing", "effect_line_missing"}
    assert not GateRequest.objects.exists()


def test_program_manager_approval_moves_the_measure_to_doi1(
    cast, ready_measure, mailoutbox, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        request = services.gate_request_submit(measure=ready_measure, by=cast["owner"])
    assert [a.role for a in request.approvals.all()] == ["program_manager"]
    assert any("pm@example.test" in mail.to for mail in mailoutbox)
    assert list(selectors.pending_approvals_for(cast["pm"])) == list(request.approvals.all())
    with django_capture_on_commit_callbacks(execute=True):
        services.gate_request_approve(request=request, by=cast["pm"], comment="Good case")
    ready_measure.refresh_from_db()
    assert ready_measure.stage == Stage.IDENTIFIED and ready_measure.doi == 1
    request.refresh_from_db()
    assert request.state == GateRequestState.APPROVED
    assert not selectors.pending_approvals_for(cast["pm"]).exists()


def test_second_pending_request_conflicts(cast, ready_measure):
    services.gate_request_submit(measure=ready_measure, by=cast["owner"])
    with pytest.raises(Conflict, match="already pending"):
        services.gate_request_submit(measure=ready_measure, by=cast["pm"])


def test_rejection_returns_the_measure_to_its_owner_and_resubmission_works(
    cast, ready_measure, mailoutbox, django_capture_on_commit_callbacks
):
    request = services.gate_request_submit(measure=ready_measure, by=cast["sponsor"])
    with pytest.raises(InvalidInput, match="Say why"):
        services.gate_request_reject(request=request, by=cast["pm"], comment="")
    with django_capture_on_commit_callbacks(execute=True):
        services.gate_request_reject(request=request, by=cast["pm"], comment="Size the FTE effect too")
    ready_measure.refresh_from_db()
    assert ready_measure.stage == Stage.DEFINED
    revision = selectors.inbox(user=cast["owner"]).revisions
    assert [n.kind for n in revision] == ["revision_requested"]
    assert "Size the FTE effect too" in revision[0].message
    assert any(mail.to == ["owner@example.test"] and "Revision" in mail.subject for mail in mailoutbox)
    with pytest.raises(Conflict):
        services.gate_request_approve(request=request, by=cast["pm"])
    again = services.gate_request_submit(measure=ready_measure, by=cast["owner"])
    assert selectors.inbox(user=cast["owner"]).revisions == []
    services.gate_request_approve(request=again, by=cast["pm"])
    ready_measure.refresh_from_db()
    assert ready_measure.doi == 1


def test_viewer_and_leadership_cannot_request_or_approve(cast, ready_measure):
    for person in ("viewer", "leader", "controller"):
        with pytest.raises(PermissionRefused):
            services.gate_request_submit(measure=ready_measure, by=cast[person])
    request = services.gate_request_submit(measure=ready_measure, by=cast["owner"])
    for person in ("viewer", "leader", "sponsor"):
        with pytest.raises(PermissionRefused, match="program manager"):
            services.gate_request_approve(request=request, by=cast[person])


def test_last_approval_rechecks_the_criteria(cast, ready_measure):
    request = services.gate_request_submit(measure=ready_measure, by=cast["owner"])
    ready_measure.effect_lines.all().delete()
    with pytest.raises(CriteriaUnmet):
        services.gate_request_approve(request=request, by=cast["pm"])
    assert Measure.objects.get(pk=ready_measure.pk).stage == Stage.DEFINED
    assert not request.approvals.filter(user__isnull=False).exists()


# --- Four-eyes (DESIGN §5.1), each rule refused with a reason ---------------------------------


def test_nobody_approves_a_request_they_submitted(cast, ready_measure):
    request = services.gate_request_submit(measure=ready_measure, by=cast["pm"])
    with pytest.raises(SeparationOfDutiesViolation, match="You submitted this request"):
        services.gate_request_approve(request=request, by=cast["pm"])


def _request_to_doi(measure, to_doi, by, roles):
    """A pending request for a higher DoI. The money criteria of DoI 2-5 cannot be met before the
    Financial effects issue, so the request row is written directly, as the service would."""
    from measures.models import GateApproval

    request = GateRequest.objects.create(measure=measure, from_doi=to_doi - 1, to_doi=to_doi, requested_by=by)
    for role in roles:
        GateApproval.objects.create(request=request, role=role)
    return request


def test_the_owner_never_gives_the_controller_sign_off(cast, tree, ready_measure):
    Membership.objects.create(user=cast["owner"], scope=tree.program, role=ScopeRole.CONTROLLER)
    permissions.forget_cached_permissions(cast["owner"])
    request = _request_to_doi(ready_measure, 3, cast["pm"], ["sponsor", "controller"])
    with pytest.raises(SeparationOfDutiesViolation, match="You own this measure"):
        services.gate_request_approve(request=request, by=cast["owner"])


def test_one_person_cannot_fill_two_required_approvals(cast, tree, ready_measure, make_user):
    both = make_user("both", roles=[(tree.program, ScopeRole.CONTROLLER)])
    services.measure_update(measure=ready_measure, by=cast["pm"], version=ready_measure.version, sponsor=both)
    request = _request_to_doi(ready_measure, 3, cast["pm"], ["sponsor", "controller"])
    services.gate_request_approve(request=request, by=both)
    with pytest.raises(SeparationOfDutiesViolation, match="different person"):
        services.gate_request_approve(request=request, by=both)


@pytest.mark.parametrize("to_doi", [3, 5])
def test_only_a_controller_of_the_scope_signs_off_doi3_and_doi5(cast, ready_measure, to_doi):
    roles = ["sponsor", "controller"] if to_doi == 3 else ["controller"]
    request = _request_to_doi(ready_measure, to_doi, cast["owner"], roles)
    if to_doi == 3:
        services.gate_request_approve(request=request, by=cast["sponsor"])
    with pytest.raises(NotFound):
        services.gate_request_approve(request=request, by=cast["outsider"])
    with pytest.raises(PermissionRefused, match="Only a controller of the measure's scope"):
        services.gate_request_approve(request=request, by=cast["pm"])
    # The scope's controller passes the four-eyes checks; the money criteria then hold the gate
    # until the Financial effects issue supplies plan values and validated actuals.
    with pytest.raises(CriteriaUnmet) as held:
        services.gate_request_approve(request=request, by=cast["controller"])
    money = {3: "plan_incomplete", 5: "actuals_not_validated"}[to_doi]
    assert money in {item["code"] for item in held.value.unmet}


def test_controller_must_hold_the_controller_role_in_the_scope(cast, new_measure):
    with pytest.raises(InvalidInput, match="must hold the controller role in 'Failover'"):
        services.measure_update(
            measure=new_measure, by=cast["pm"], version=new_measure.version, controller=cast["sponsor"]
        )


def test_owner_cannot_be_the_controller(cast, tree, new_measure):
    Membership.objects.create(user=cast["owner"], scope=tree.program, role=ScopeRole.CONTROLLER)
    with pytest.raises(InvalidInput, match="controller must be someone other than the owner"):
        services.measure_update(
            measure=new_measure, by=cast["pm"], version=new_measure.version, controller=cast["owner"]
        )


def test_notifications_are_kept_per_owner(cast, ready_measure):
    request = services.gate_request_submit(measure=ready_measure, by=cast["owner"])
    services.gate_request_reject(request=request, by=cast["pm"], comment="Not yet")
    assert Notification.objects.filter(user=cast["owner"], kind="revision_requested").count() == 1
