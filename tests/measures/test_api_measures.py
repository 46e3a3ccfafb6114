"""The measures API (DESIGN §9): the DoI 0 → 1 walk, refusals, visibility and query counts."""

from __future__ import annotations

import pytest

from config.errors import InvalidInput
from measures import services
from measures.choices import ScopeRole
from measures.models import AuditEntry, GateRequest, Measure, Membership
from measures.selectors import refresh_figures


def test_walk_from_doi0_to_doi1_with_each_refusal(api, cast, tree):
    owner, pm, sponsor, controller = cast["owner"], cast["pm"], cast["sponsor"], cast["controller"]

    created = api.as_user(owner).post(
        "/api/v1/measures/",
        {
            "title": "Automate failover runbook for payments gateway",
            "objective": "Manual failover takes 40 minutes.",
            "package": tree.package.pk,
        },
        format="json",
    )
    assert created.status_code == 201, created.json()
    measure = created.json()
    assert measure["code"] == f"M-{measure['id']:05d}"
    assert (measure["stage"], measure["doi"], measure["owner"], measure["version"]) == (
        "defined",
        0,
        owner.pk,
        1,
    )
    assert measure["implementation_status"] == "grey" and measure["potential_status"] == "grey"
    url = f"/api/v1/measures/{measure['id']}/"

    refused = api.post(url + "gate-requests/", {}, format="json")
    assert refused.status_code == 422
    body = refused.json()
    assert body["code"] == "criteria_unmet"
    assert [item["code"] for item in body["unmet_criteria"]] == [
        "sponsor_missing",
        "controller_missing",
        "business_unit_missing",
        "effect_line_missing",
        "risks_not_considered",
        "overlap_check_missing",
    ]
    assert not GateRequest.objects.exists()

    own_people = api.patch(url, {"version": 1, "sponsor": owner.pk}, format="json")
    assert own_people.status_code == 403
    assert "program manager" in own_people.json()["detail"]

    bad_controller = api.as_user(pm).patch(url, {"version": 1, "controller": sponsor.pk}, format="json")
    assert bad_controller.status_code == 400
    assert "controller" in bad_controller.json()["errors"]

    named = api.as_user(pm).patch(
        url, {"version": 1, "sponsor": sponsor.pk, "controller": controller.pk}, format="json"
    )
    assert named.status_code == 200, named.json()
    patched = api.as_user(owner).patch(
        url, {"version": 2, "business_unit": "Payments", "no_known_overlaps": True}, format="json"
    )
    assert patched.status_code == 200, patched.json()
    assert patched.json()["version"] == 3

    stale = api.patch(url, {"version": 1, "title": "Overwrite"}, format="json")
    assert stale.status_code == 409
    assert stale.json()["code"] == "stale_version"

    line = api.post(
        "/api/v1/effect-lines/",
        {"measure": measure["id"], "account": "pl_cost", "annual_potential": "120000.00"},
        format="json",
    )
    assert line.status_code == 201, line.json()
    bad_account = api.post(
        "/api/v1/effect-lines/", {"measure": measure["id"], "account": "bitcoin"}, format="json"
    )
    assert bad_account.status_code == 400
    risk = api.post(
        "/api/v1/risks/",
        {"measure": measure["id"], "title": "Vendor API change", "probability": 2, "impact": 4},
        format="json",
    )
    assert risk.status_code == 201 and risk.json()["score"] == 8

    criteria = api.get(url + "criteria/").json()
    assert criteria["to_doi"] == 1 and all(item["met"] for item in criteria["criteria"])

    submitted = api.post(url + "gate-requests/", {"comment": "Ready"}, format="json")
    assert submitted.status_code == 201, submitted.json()
    gate = submitted.json()
    assert (gate["from_doi"], gate["to_doi"], gate["state"]) == (0, 1, "pending")
    assert gate["approvals"] == [
        {"role": "program_manager", "user": None, "decision": "pending", "comment": "", "decided_at": None}
    ]
    gate_url = f"/api/v1/gate-requests/{gate['id']}/"

    again = api.post(url + "gate-requests/", {}, format="json")
    assert again.status_code == 409

    own = api.as_user(owner).post(gate_url + "approve/", {}, format="json")
    assert own.status_code == 403
    assert own.json() == {
        "detail": "You submitted this request; someone else must decide on it.",
        "code": "separation_of_duties",
    }

    wrong_person = api.as_user(sponsor).post(gate_url + "approve/", {}, format="json")
    assert wrong_person.status_code == 403
    assert "needs the approval of: program manager" in wrong_person.json()["detail"]

    outsider = api.as_user(cast["outsider"]).post(gate_url + "approve/", {}, format="json")
    assert outsider.status_code == 404

    approved = api.as_user(pm).post(gate_url + "approve/", {"comment": "Sized well"}, format="json")
    assert approved.status_code == 200, approved.json()
    assert approved.json()["state"] == "approved"
    assert approved.json()["approvals"][0]["user"] == pm.pk

    listed = api.get(url + "gate-requests/").json()
    assert [(row["id"], row["state"]) for row in listed] == [(gate["id"], "approved")]

    after = api.get(url).json()
    assert (after["stage"], after["doi"], after["version"]) == ("identified", 1, 4)

    twice = api.post(gate_url + "approve/", {}, format="json")
    assert twice.status_code == 409

    history = api.get(url + "history/").json()
    assert [row["action"] for row in history][:3] == ["transition", "gate_approved", "gate_requested"]
    # created, people named by the pm, edited by the owner, requested, approved, transition
    assert AuditEntry.objects.filter(measure_id=measure["id"]).count() == 6


def test_reject_through_the_api_needs_a_comment(api, cast, ready_measure):
    gate = services.gate_request_submit(measure=ready_measure, by=cast["owner"])
    url = f"/api/v1/gate-requests/{gate.pk}/reject/"
    assert api.as_user(cast["pm"]).post(url, {}, format="json").status_code == 400
    response = api.post(url, {"comment": "Add the FTE effect"}, format="json")
    assert response.status_code == 200
    assert response.json()["state"] == "rejected"
    assert response.json()["approvals"][0]["decision"] == "rejected"


def test_hold_resume_cancel_through_the_api(api, cast, ready_measure):
    url = f"/api/v1/measures/{ready_measure.pk}/"
    client = api.as_user(cast["owner"])
    assert client.post(url + "hold/", {}, format="json").status_code == 400
    held = client.post(url + "hold/", {"reason": "Waiting for vendor"}, format="json")
    assert held.status_code == 200 and held.json()["stage"] == "on_hold"
    assert held.json()["doi"] == 0
    assert client.post(url + "hold/", {"reason": "again"}, format="json").status_code == 409
    assert client.post(url + "gate-requests/", {}, format="json").status_code == 409
    assert client.post(url + "resume/", {}, format="json").json()["stage"] == "defined"
    refused = client.post(url + "cancel/", {"reason": "Obsolete"}, format="json")
    assert refused.status_code == 403
    assert "sponsor or a program manager" in refused.json()["detail"]
    cancelled = api.as_user(cast["sponsor"]).post(url + "cancel/", {"reason": "Obsolete"}, format="json")
    assert cancelled.json()["stage"] == "cancelled"
    assert api.post(url + "resume/", {}, format="json").status_code == 409


def test_out_of_scope_user_gets_404_and_an_empty_list(api, cast, ready_measure):
    client = api.as_user(cast["outsider"])
    assert client.get(f"/api/v1/measures/{ready_measure.pk}/").status_code == 404
    assert client.get("/api/v1/measures/").json()["count"] == 0
    assert client.get("/api/v1/effect-lines/").json()["count"] == 0
    assert client.post(f"/api/v1/measures/{ready_measure.pk}/hold/", {"reason": "x"}).status_code == 404
    line = client.post(
        "/api/v1/effect-lines/", {"measure": ready_measure.pk, "account": "pl_cost"}, format="json"
    )
    assert line.status_code == 400


@pytest.mark.parametrize(
    ("person", "sees"),
    [("pm", True), ("controller", True), ("owner", True), ("viewer", True), ("leader", True), ("mim", False)],
)
def test_measure_visibility_per_persona(api, cast, ready_measure, person, sees):
    codes = [row["code"] for row in api.as_user(cast[person]).get("/api/v1/measures/").json()["results"]]
    assert (ready_measure.code in codes) is sees


def test_owner_outside_the_scope_still_sees_their_measure(api, cast, tree, make_user):
    stranger = make_user("stranger", roles=[(tree.package, ScopeRole.CONTRIBUTOR)])
    measure = services.measure_create(
        by=cast["pm"], title="Owned by a stranger", objective="x", package=tree.package, owner=stranger
    )
    Membership.objects.filter(user=stranger).delete()  # moved to another team since
    assert api.as_user(stranger).get(f"/api/v1/measures/{measure.pk}/").status_code == 200


def test_an_owner_must_hold_a_fitting_role_in_the_scope(cast, tree, make_user):
    stranger = make_user("stranger")
    with pytest.raises(InvalidInput) as refused:
        services.measure_create(
            by=cast["pm"], title="Owned by a stranger", objective="x", package=tree.package, owner=stranger
        )
    assert "contributor or program manager" in refused.value.details["owner"][0]


def test_contributors_edit_only_what_they_own(api, cast, ready_measure):
    url = f"/api/v1/measures/{ready_measure.pk}/"
    denied = api.as_user(cast["sponsor"]).patch(
        url, {"version": ready_measure.version, "title": "X"}, format="json"
    )
    assert denied.status_code == 403
    assert (
        api.as_user(cast["leader"])
        .patch(url, {"version": ready_measure.version, "title": "X"}, format="json")
        .status_code
        == 403
    )
    ok = api.as_user(cast["owner"]).patch(
        url, {"version": ready_measure.version, "title": "Better"}, format="json"
    )
    assert ok.status_code == 200


def test_viewer_cannot_create_measures(api, cast, tree):
    response = api.as_user(cast["viewer"]).post(
        "/api/v1/measures/", {"title": "T", "objective": "O", "package": tree.package.pk}, format="json"
    )
    assert response.status_code == 403


def test_filters_and_ordering(api, cast, tree, ready_measure):
    services.measure_create(by=cast["pm"], title="Zebra", objective="x", package=tree.sibling_package)
    client = api.as_user(cast["pm"])
    assert client.get(f"/api/v1/measures/?scope={tree.sibling_package.pk}").json()["count"] == 1
    assert client.get(f"/api/v1/measures/?scope={tree.program.pk}").json()["count"] == 2
    assert client.get("/api/v1/measures/?stage=identified").json()["count"] == 0
    assert client.get("/api/v1/measures/?implementation_status=grey").json()["count"] == 2
    titles = [row["title"] for row in client.get("/api/v1/measures/?ordering=-title").json()["results"]]
    assert titles[0] == "Zebra"


def _many_measures(cast, tree, count):
    """Measures with one of every part, and a pending gate request each."""
    from django.core.files.uploadedfile import SimpleUploadedFile

    previous = None
    for number in range(count):
        measure = services.measure_create(
            by=cast["pm"],
            title=f"Measure {number}",
            objective="x",
            package=tree.package,
            owner=cast["owner"],
            sponsor=cast["sponsor"],
            controller=cast["controller"],
            business_unit="BU",
            no_known_overlaps=True,
        )
        services.milestone_create(measure=measure, by=cast["pm"], title="M", due_date="2020-01-01")
        services.effect_line_create(measure=measure, by=cast["pm"], account="cash", annual_potential=5)
        services.risk_create(
            measure=measure, by=cast["pm"], title="R", probability=1, impact=2, owner=cast["owner"]
        )
        services.comment_create(measure=measure, by=cast["pm"], body="c")
        services.document_upload(
            measure=measure, by=cast["pm"], uploaded_file=SimpleUploadedFile("a.txt", b"hello")
        )
        if previous is not None:
            services.dependency_create(
                source=measure, target=previous, kind="overlaps", share_percent=10, by=cast["pm"]
            )
        services.gate_request_submit(measure=measure, by=cast["owner"])
        previous = measure


@pytest.mark.parametrize(
    "path",
    [
        "/api/v1/measures/",
        "/api/v1/gate-requests/",
        "/api/v1/milestones/",
        "/api/v1/effect-lines/",
        "/api/v1/risks/",
        "/api/v1/dependencies/",
        "/api/v1/documents/",
        "/api/v1/comments/",
    ],
)
def test_list_query_count_does_not_grow_with_page_size(
    api, cast, tree, path, django_assert_max_num_queries, settings, tmp_path
):
    settings.MEDIA_ROOT = tmp_path
    _many_measures(cast, tree, 3)
    client = api.as_user(cast["pm"])
    refresh_figures()  # the stored figure rows are current (ADR 0013); the read is measured
    with django_assert_max_num_queries(12) as small:
        client.get(path + "?page_size=2")
    _many_measures(cast, tree, 12)
    refresh_figures()
    with django_assert_max_num_queries(len(small.captured_queries)):
        response = client.get(path + "?page_size=15")
    assert response.status_code == 200


def test_schema_still_builds(api, cast):
    assert api.as_user(cast["pm"]).get("/api/schema/").status_code == 200
    assert Measure.objects.count() == 0
