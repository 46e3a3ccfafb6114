"""Demo measures (issue 3): ~60 measures over every DoI and side state in the three programs, with
effect lines, milestones, risks, overlaps, and pending requests in each role's inbox.

Idempotent: a measure is looked up by title and package first and only built when missing.
DoI 0 → 1, holds, cancellations, requests and rejections go through the services. The money
criteria of DoI 2-5 cannot be met before the Financial effects issue, so later DoIs are replayed
as history: the approved gate request, its approvals, the stage and the audit rows are written the
way the services write them.
"""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal

from django.core.files.uploadedfile import SimpleUploadedFile
from django.utils import timezone

from measures import services
from measures.choices import DOI_STAGES, GATE_APPROVERS, ApproverRole, Decision, GateRequestState
from measures.models import GATE_TRANSITIONS, GateApproval, GateRequest, Measure, Scope
from measures.services.audit import audit_append
from measures.services.measures import run_transition
from measures.services.notify import emails_suppressed

# package: [(title, target, owner)]; target is a DoI 0-5, or "hold:<doi>" / "cancel:<doi>", and
# "+pending" (a request waiting for the next gate) or "+rejected" (a request sent back to revise).
# The demo runs inside `demo`'s transaction, so the row locks taken here are held until it commits.
MEASURES = {
    "Failover automation": [
        ("Automate failover runbook for payments gateway", "3", "owner2"),
        ("One-click database failover for card authorisation", "2+pending", "owner2"),
        ("Quarterly failover drills with business sign-off", "4", "owner"),
        ("Remove manual DNS switch from failover path", "1", "owner2"),
        ("Standby region warm-up before peak season", "0+pending", "owner"),
        ("Failover readiness checklist in change process", "5", "owner2"),
        ("Replace legacy HSM cluster failover scripts", "hold:2", "owner"),
        ("Vendor escalation contract for gateway outages", "0+rejected", "owner2"),
    ],
    "Capacity headroom": [
        ("Autoscale payment API pods on queue depth", "3+pending", "owner"),
        ("Capacity model for Black Friday transaction peaks", "2", "owner2"),
        ("Connection-pool limits per merchant tier", "1+pending", "owner2"),
        ("Retire over-provisioned batch settlement servers", "5", "owner"),
        ("Load-test gateway at 3x peak every release", "4+pending", "owner"),
        ("Throttle abusive merchant retries", "cancel:1", "owner2"),
        ("Headroom alerts at 70 % sustained CPU", "0", "owner"),
        ("Queue back-pressure for settlement batch", "1", "owner2"),
    ],
    "Synthetic checks": [
        ("Synthetic card payment every minute from three regions", "4", "owner2"),
        ("Detect certificate expiry 30 days ahead", "5", "owner"),
        ("End-to-end refund journey probe", "2", "owner2"),
        ("Alert routing by service tier", "1", "owner"),
        ("Status page fed from synthetic checks", "0+pending", "owner2"),
        ("Merchant-facing latency SLO dashboard", "3", "owner"),
        ("Retire duplicate uptime monitors", "hold:1", "owner2"),
        ("Synthetic checks for 3-D Secure challenge flow", "0", "owner"),
    ],
    "Major incident process": [
        ("Declare major incidents within 15 minutes", "4", "owner"),
        ("Pre-approved status update templates for executives", "5", "owner"),
        ("Automated bridge call and roster paging", "3", "owner"),
        ("Blameless PIR within five business days", "2+pending", "owner"),
        ("Incident commander rota with hand-over checklist", "1", "owner"),
        ("Recovery validation with business confirmation", "1+pending", "owner"),
        ("Timeline capture from chat into the incident record", "0+rejected", "owner"),
        ("Vendor escalation matrix for tier-1 services", "cancel:0", "owner"),
        ("Major incident cost reporting per service", "0", "owner"),
        ("Post-incident action tracking to closure", "3", "owner"),
        ("Follow-the-sun incident coordination", "0+pending", "owner"),
    ],
    "Knowledge and self-service": [
        ("Self-service password reset for all staff", "5", "owner"),
        ("Known-error articles linked from every PIR", "3", "owner"),
        ("Chatbot deflection for VPN issues", "2", "owner"),
        ("Retire outdated knowledge articles", "1", "owner"),
        ("Self-service laptop swap booking", "hold:3", "owner"),
        ("Service catalogue clean-up", "4", "owner"),
        ("Guided troubleshooting for payment terminals", "0", "owner"),
        ("Automated ticket routing by service", "2+pending", "owner"),
        ("Knowledge search analytics", "cancel:2", "owner"),
    ],
    "Reserved capacity": [
        ("Three-year reservations for steady database load", "4+pending", "owner"),
        ("Savings plan for compute baseline", "3+pending", "owner"),
        ("Reserved storage tiers for log archives", "2", "owner"),
        ("Rightsize reserved instances after migration", "1", "owner"),
        ("Commitment coverage dashboard", "0", "owner"),
        ("Renegotiate enterprise support tier", "5", "owner"),
        ("Spot capacity for CI runners", "hold:0", "owner"),
    ],
    "Idle resources": [
        ("Shut down idle non-production environments at night", "5", "owner"),
        ("Delete unattached volumes older than 30 days", "4", "owner"),
        ("Tag enforcement for cost ownership", "3", "owner"),
        ("Idle load balancer clean-up", "2", "owner"),
        ("Right-size over-provisioned Kubernetes nodes", "1+pending", "owner"),
        ("Archive cold object storage", "1", "owner"),
        ("Decommission legacy reporting cluster", "cancel:3", "owner"),
        ("Idle IP address release", "0", "owner"),
        ("Storage lifecycle policies for backups", "4", "owner"),
    ],
}

OVERLAPS = [
    (
        "Automate failover runbook for payments gateway",
        "One-click database failover for card authorisation",
        30,
    ),
    (
        "Quarterly failover drills with business sign-off",
        "Failover readiness checklist in change process",
        20,
    ),
    ("Three-year reservations for steady database load", "Savings plan for compute baseline", 40),
    (
        "Shut down idle non-production environments at night",
        "Right-size over-provisioned Kubernetes nodes",
        15,
    ),
    ("Declare major incidents within 15 minutes", "Automated bridge call and roster paging", 25),
]
LINKS = [
    (
        "Synthetic card payment every minute from three regions",
        "Status page fed from synthetic checks",
        "blocks",
    ),
    ("Blameless PIR within five business days", "Known-error articles linked from every PIR", "relates"),
    (
        "Capacity model for Black Friday transaction peaks",
        "Autoscale payment API pods on queue depth",
        "blocks",
    ),
]
BUSINESS_UNITS = {
    "Payments resilience": "Payments",
    "Service desk efficiency": "IT Service Management",
    "Cloud cost optimisation": "Cloud Platform",
}
PDF = b"%PDF-1.4\n% Valuegate demo document\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"


def _parse(target: str) -> tuple[int, str, str]:
    """('3+pending') -> (3, '', 'pending'); ('hold:2') -> (2, 'hold', '')."""
    extra = ""
    if "+" in target:
        target, extra = target.split("+")
    side = ""
    if ":" in target:
        side, target = target.split(":")
    return int(target), side, extra


def _pdf(name: str) -> SimpleUploadedFile:
    return SimpleUploadedFile(name, PDF, content_type="application/pdf")


def _build_parts(measure: Measure, doi: int, cast: dict, number: int) -> None:
    pm, today = cast["pm"], timezone.localdate()
    potential = Decimal(20000 + (number * 7919) % 180000).quantize(Decimal("1000"))
    baseline = {"baseline_value": potential * 4, "baseline_definition": "Run cost of the last twelve months"}
    services.effect_line_create(
        measure=measure,
        by=pm,
        account=["pl_cost", "pl_cost", "cash", "fte"][number % 4],
        annual_potential=potential,
        **(baseline if doi >= 2 else {}),
    )
    services.risk_create(
        measure=measure,
        by=pm,
        title=["Vendor delivery slips", "Key engineer unavailable", "Change freeze over peak"][number % 3],
        probability=1 + number % 5,
        impact=1 + (number * 3) % 5,
        mitigation="Tracked in the weekly program review.",
    )
    if doi >= 2:
        services.effect_line_create(
            measure=measure,
            by=pm,
            account="pl_cost",
            nature="cost_to_achieve",
            recurrence="one_time",
            annual_potential=potential / 4,
            baseline_value=0,
            baseline_definition="Project budget",
        )
        services.document_upload(
            measure=measure, by=pm, uploaded_file=_pdf("business-case.pdf"), kind="business_case"
        )
    if doi >= 1:
        _milestones(measure, doi, pm, today, number)
    if doi >= 5:
        services.document_upload(
            measure=measure, by=pm, uploaded_file=_pdf("closure-report.pdf"), kind="closure"
        )


def _milestones(measure: Measure, doi: int, pm, today: date, number: int) -> None:
    # Offsets in days from today: some overdue (amber), a critical one long overdue (red) now and then.
    plans = [("Design agreed", -60, False), ("Pilot live", -20 if number % 4 == 0 else 25, False)]
    if number % 5 == 0:
        plans.append(("Go/no-go decision", -5, True))
    if number % 7 == 0:
        plans.append(("Cut-over", -30, True))
    plans.append(("Rollout complete", 90, True))
    for title, offset, critical in plans:
        milestone = services.milestone_create(
            measure=measure, by=pm, title=title, due_date=today + timedelta(days=offset), critical=critical
        )
        if doi >= 4 or (offset < -40):
            services.milestone_complete(
                milestone=milestone,
                by=pm,
                completed_at=today + timedelta(days=min(offset, 0) - 2),
                evidence_note="Confirmed in the program review.",
            )


def _replay_gate(measure: Measure, to_doi: int, cast: dict) -> None:
    """Write an approved gate request the way `gate_request_approve` would (see module doc)."""
    requested_by = measure.owner
    request = GateRequest.objects.create(
        measure=measure,
        from_doi=to_doi - 1,
        to_doi=to_doi,
        requested_by=requested_by,
        state=GateRequestState.APPROVED,
    )
    people = {
        ApproverRole.SPONSOR: cast["sponsor"],
        ApproverRole.CONTROLLER: cast["controller"],
        ApproverRole.PROGRAM_MANAGER: cast["pm"],
    }
    now = timezone.now()
    audit_append(
        actor=requested_by,
        action="gate_requested",
        subject=request,
        measure_id=measure.pk,
        after={"from_doi": to_doi - 1, "to_doi": to_doi},
        comment="Demo history",
    )
    for role in GATE_APPROVERS[to_doi]:
        GateApproval.objects.create(
            request=request,
            role=role,
            user=people[role],
            decision=Decision.APPROVED,
            comment="Agreed.",
            decided_at=now,
        )
        audit_append(
            actor=people[role],
            action="gate_approved",
            subject=request,
            measure_id=measure.pk,
            after={"role": role, "to_doi": to_doi},
            comment="Agreed.",
        )
    before = DOI_STAGES[to_doi - 1]
    locked = Measure.objects.select_for_update().get(pk=measure.pk)
    run_transition(locked, GATE_TRANSITIONS[to_doi])
    GateRequest.objects.filter(pk=request.pk).update(decided_at=now)
    audit_append(
        actor=people[GATE_APPROVERS[to_doi][-1]],
        action="transition",
        subject=measure,
        measure_id=measure.pk,
        before={"stage": before},
        after={"stage": DOI_STAGES[to_doi], "doi": to_doi, "gate_request": request.pk},
    )


def _pending_request(measure: Measure, to_doi: int, cast: dict) -> None:
    if to_doi == 1:
        services.gate_request_submit(measure=measure, by=measure.owner, comment="Ready for identification.")
        return
    # Beyond DoI 1 the money criteria cannot be met yet (Financial effects issue): the request is
    # recorded as waiting, and approving it will show those criteria as unmet.
    request = GateRequest.objects.create(
        measure=measure,
        from_doi=to_doi - 1,
        to_doi=to_doi,
        requested_by=measure.owner,
        comment="Please review.",
    )
    for role in GATE_APPROVERS[to_doi]:
        decided = role == ApproverRole.SPONSOR and len(GATE_APPROVERS[to_doi]) > 1
        GateApproval.objects.create(
            request=request,
            role=role,
            user=cast["sponsor"] if decided else None,
            decision=Decision.APPROVED if decided else Decision.PENDING,
            comment="Fine from my side." if decided else "",
            decided_at=timezone.now() if decided else None,
        )
    audit_append(
        actor=measure.owner,
        action="gate_requested",
        subject=request,
        measure_id=measure.pk,
        after={"from_doi": to_doi - 1, "to_doi": to_doi},
        comment="Please review.",
    )


def _create(package: Scope, title: str, target: str, owner, cast: dict, number: int) -> Measure:
    doi, _, _ = _parse(target)
    program = Scope.objects.get(pk=package.ancestor_ids[1]).name
    measure = services.measure_create(
        by=cast["pm"],
        title=title,
        objective=f"{title}: today this is manual or missing, which lengthened recent major incidents "
        "or costs money every month.",
        package=package,
        owner=owner,
        sponsor=cast["sponsor"],
        controller=cast["controller"],
        business_unit=BUSINESS_UNITS[program],
        no_known_overlaps=not any(title in pair[:2] for pair in OVERLAPS),
    )
    _build_parts(measure, doi, cast, number)
    return measure


def _progress(measure: Measure, target: str, cast: dict) -> None:
    doi, side, extra = _parse(target)
    pm, owner = cast["pm"], measure.owner
    if doi >= 1:
        request = services.gate_request_submit(measure=measure, by=owner)
        services.gate_request_approve(request=request, by=pm, comment="Sized and owned.")
    for to_doi in range(2, doi + 1):
        _replay_gate(measure, to_doi, cast)
    measure.refresh_from_db()
    if extra == "pending":
        _pending_request(measure, doi + 1, cast)
    elif extra == "rejected":
        request = services.gate_request_submit(measure=measure, by=owner)
        services.gate_request_reject(
            request=request, by=pm, comment="Please quantify the potential per business unit."
        )
    if side == "hold":
        services.measure_hold(measure=measure, by=pm, reason="Waiting for the vendor's contract renewal.")
    elif side == "cancel":
        services.measure_cancel(measure=measure, by=pm, reason="Superseded by a platform decision.")


def load_measures(cast: dict, scopes: dict) -> None:
    """Create what is missing, link the overlap register, then walk the new measures forward."""
    created: list[tuple[Measure, str]] = []
    with emails_suppressed():
        number = 0
        for package_name, rows in MEASURES.items():
            package = scopes[package_name]
            for title, target, owner_key in rows:
                number += 1
                if not Measure.objects.filter(package=package, title=title).exists():
                    measure = _create(package, title, target, cast[owner_key], cast, number)
                    created.append((measure, target))
        titles = [title for rows in MEASURES.values() for title, _, _ in rows]
        by_title = {m.title: m for m in Measure.objects.filter(title__in=titles)}
        for first, second, share in OVERLAPS:
            _link(by_title[first], by_title[second], "overlaps", cast, share)
        for first, second, kind in LINKS:
            _link(by_title[first], by_title[second], kind, cast)
        for measure, target in created:
            _progress(measure, target, cast)


def _link(source: Measure, target: Measure, kind: str, cast: dict, share=None) -> None:
    from measures.models import Dependency

    if Dependency.objects.filter(source=source, target=target, kind=kind).exists():
        return
    services.dependency_create(source=source, target=target, kind=kind, share_percent=share, by=cast["pm"])
