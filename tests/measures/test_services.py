"""Measure services: creation, editing, side states and what they leave in the audit log."""

from __future__ import annotations

import pytest

from config.errors import Conflict, InvalidInput, PermissionRefused, StaleVersion
from measures import services
from measures.choices import GateRequestState, Stage
from measures.models import AuditEntry, GateRequest


def test_codes_are_generated_in_sequence(cast, tree):
    first = services.measure_create(by=cast["pm"], title="A", objective="x", package=tree.package)
    second = services.measure_create(by=cast["pm"], title="B", objective="x", package=tree.package)
    assert first.code == f"M-{first.pk:05d}" and second.pk > first.pk


def test_a_measure_needs_a_title_objective_and_a_package(cast, tree):
    with pytest.raises(InvalidInput) as refused:
        services.measure_create(by=cast["pm"], title=" ", objective="", package=tree.package)
    assert set(refused.value.details) == {"title", "objective"}
    with pytest.raises(InvalidInput, match="measure package"):
        services.measure_create(by=cast["pm"], title="T", objective="O", package=tree.project)


def test_contributor_becomes_owner_of_what_they_create(cast, tree):
    measure = services.measure_create(by=cast["sponsor"], title="T", objective="O", package=tree.package)
    assert measure.owner == cast["sponsor"]


def test_outsider_and_viewer_cannot_create(cast, tree):
    for person in ("outsider", "viewer", "leader"):
        with pytest.raises(PermissionRefused):
            services.measure_create(by=cast[person], title="T", objective="O", package=tree.package)


def test_stale_version_is_refused(cast, new_measure):
    services.measure_update(measure=new_measure, by=cast["owner"], version=1, title="New")
    with pytest.raises(StaleVersion):
        services.measure_update(measure=new_measure, by=cast["pm"], version=1, title="Other")


def test_hold_and_resume_return_to_the_doi_left_and_withdraw_the_request(cast, ready_measure):
    gate = services.gate_request_submit(measure=ready_measure, by=cast["owner"])
    with pytest.raises(InvalidInput):
        services.measure_hold(measure=ready_measure, by=cast["owner"], reason="")
    held = services.measure_hold(measure=ready_measure, by=cast["owner"], reason="Vendor contract pending")
    assert (held.stage, held.stage_before_hold, held.hold_reason) == (
        Stage.ON_HOLD,
        Stage.DEFINED,
        "Vendor contract pending",
    )
    gate.refresh_from_db()
    assert gate.state == GateRequestState.WITHDRAWN
    with pytest.raises(Conflict):
        services.measure_hold(measure=held, by=cast["owner"], reason="again")
    resumed = services.measure_resume(measure=held, by=cast["pm"])
    assert resumed.stage == Stage.DEFINED and resumed.stage_before_hold == ""
    actions = list(AuditEntry.objects.filter(measure_id=ready_measure.pk).values_list("action", flat=True))
    assert actions[-3:] == ["gate_request_withdrawn", "measure_hold", "measure_resume"]


def test_cancel_needs_sponsor_or_program_manager_and_a_reason(cast, ready_measure):
    with pytest.raises(PermissionRefused):
        services.measure_cancel(measure=ready_measure, by=cast["owner"], reason="No longer needed")
    with pytest.raises(InvalidInput):
        services.measure_cancel(measure=ready_measure, by=cast["sponsor"], reason=" ")
    cancelled = services.measure_cancel(measure=ready_measure, by=cast["sponsor"], reason="Superseded by M-2")
    assert cancelled.stage == Stage.CANCELLED and cancelled.cancel_reason == "Superseded by M-2"
    with pytest.raises(Conflict):
        services.measure_resume(measure=cancelled, by=cast["pm"])
    with pytest.raises(Conflict):
        services.measure_update(measure=cancelled, by=cast["pm"], version=cancelled.version, title="x")
    with pytest.raises(Conflict):
        services.risk_create(measure=cancelled, by=cast["pm"], title="r", probability=1, impact=1)


def test_closed_cannot_be_cancelled_or_held(cast, ready_measure):
    from measures.models import Measure

    Measure.objects.filter(pk=ready_measure.pk).update(stage=Stage.CLOSED)
    for call in (
        lambda: services.measure_cancel(measure=ready_measure, by=cast["pm"], reason="x"),
        lambda: services.measure_hold(measure=ready_measure, by=cast["pm"], reason="x"),
        lambda: services.gate_request_submit(measure=ready_measure, by=cast["pm"]),
    ):
        with pytest.raises(Conflict):
            call()
    assert not GateRequest.objects.exists()


def test_overlap_needs_a_share(cast, tree, ready_measure):
    other = services.measure_create(by=cast["pm"], title="Other", objective="x", package=tree.package)
    with pytest.raises(InvalidInput, match="share"):
        services.dependency_create(source=ready_measure, target=other, kind="overlaps", by=cast["pm"])
    with pytest.raises(InvalidInput):
        services.dependency_create(source=ready_measure, target=ready_measure, kind="relates", by=cast["pm"])
    link = services.dependency_create(
        source=ready_measure, target=other, kind="overlaps", share_percent=25, by=cast["pm"]
    )
    assert link.share_percent == 25
    with pytest.raises(Conflict):
        services.dependency_create(
            source=ready_measure, target=other, kind="overlaps", share_percent=10, by=cast["pm"]
        )


def test_risk_scales_are_one_to_five(cast, ready_measure):
    with pytest.raises(InvalidInput):
        services.risk_create(measure=ready_measure, by=cast["owner"], title="r", probability=6, impact=1)


def test_effect_lines_are_fixed_from_doi3(cast, ready_measure):
    from measures.models import Measure

    Measure.objects.filter(pk=ready_measure.pk).update(stage=Stage.DECIDED)
    with pytest.raises(Conflict, match="re-baseline"):
        services.effect_line_create(measure=ready_measure, by=cast["pm"], account="cash", annual_potential=1)


def test_comments_by_anyone_who_sees_except_leadership(cast, ready_measure):
    assert (
        services.comment_create(measure=ready_measure, by=cast["viewer"], body="Looks good").author
        == cast["viewer"]
    )
    with pytest.raises(PermissionRefused):
        services.comment_create(measure=ready_measure, by=cast["leader"], body="x")


def test_status_override_needs_a_comment_is_audited_and_keeps_the_computed_light(cast, ready_measure, api):
    with pytest.raises(InvalidInput):
        services.measure_status_override(
            measure=ready_measure, by=cast["pm"], light="implementation", status="red", comment=""
        )
    for person in ("owner", "sponsor", "viewer", "leader"):
        with pytest.raises(PermissionRefused):
            services.measure_status_override(
                measure=ready_measure, by=cast[person], light="implementation", status="red", comment="x"
            )
    measure = services.measure_status_override(
        measure=ready_measure,
        by=cast["controller"],
        light="implementation",
        status="red",
        comment="Vendor slipped",
    )
    assert (measure.implementation_override, measure.implementation_override_comment) == (
        "red",
        "Vendor slipped",
    )
    entry = AuditEntry.objects.filter(measure_id=measure.pk).last()
    assert (entry.action, entry.after, entry.comment) == (
        "status_override",
        {"light": "implementation", "status": "red"},
        "Vendor slipped",
    )
    body = api.as_user(cast["pm"]).get(f"/api/v1/measures/{measure.pk}/").json()
    assert (body["implementation_status"], body["implementation_override"]) == ("grey", "red")
    cleared = api.post(
        f"/api/v1/measures/{measure.pk}/status-override/",
        {"light": "implementation", "status": "", "comment": "Back on track"},
        format="json",
    )
    assert cleared.status_code == 200 and cleared.json()["implementation_override"] == ""


def test_only_a_controller_who_is_not_the_owner_validates_actuals(cast, tree, ready_measure):
    from measures import permissions
    from measures.choices import ScopeRole
    from measures.models import Membership

    assert permissions.can_validate_actuals(cast["controller"], ready_measure)
    assert not permissions.can_validate_actuals(cast["pm"], ready_measure)
    Membership.objects.create(user=cast["owner"], scope=tree.program, role=ScopeRole.CONTROLLER)
    permissions.forget_cached_permissions(cast["owner"])
    assert not permissions.can_validate_actuals(cast["owner"], ready_measure)


def test_row_history_is_kept_by_pghistory(cast, new_measure):
    from measures.models import Measure

    services.measure_update(measure=new_measure, by=cast["owner"], version=1, title="Renamed")
    titles = list(Measure.pgh_event_model.objects.filter(pgh_obj=new_measure).values_list("title", flat=True))
    assert titles[-1] == "Renamed" and len(titles) >= 2


def test_evidence_document_cannot_be_deleted_from_under_its_milestone(
    cast, ready_measure, settings, tmp_path
):
    from datetime import date

    from django.core.files.uploadedfile import SimpleUploadedFile

    settings.MEDIA_ROOT = tmp_path
    doc = services.document_upload(
        measure=ready_measure, by=cast["owner"], uploaded_file=SimpleUploadedFile("e.pdf", b"%PDF-1.4 x")
    )
    milestone = services.milestone_create(
        measure=ready_measure, by=cast["owner"], title="M", due_date=date(2027, 1, 1)
    )
    services.milestone_complete(
        milestone=milestone, by=cast["owner"], completed_at=date(2026, 1, 1), evidence_document=doc
    )
    with pytest.raises(Conflict, match="only evidence"):
        services.document_delete(document=doc, by=cast["owner"])
