"""Gate requests, approvals and rejections with separation of duties (DESIGN §5.1)."""

from __future__ import annotations

from django.db import IntegrityError, transaction
from django.urls import reverse
from django.utils import timezone

from config.errors import Conflict, CriteriaUnmet, InvalidInput, NotFound, PermissionRefused
from config.errors import SeparationOfDutiesViolation as FourEyes
from config.limits import check_text_lengths
from measures import permissions
from measures.choices import (
    DOI_NAMES,
    GATE_APPROVERS,
    ApproverRole,
    Decision,
    GateRequestState,
    NotificationKind,
    ScopeRole,
    Stage,
)
from measures.models import GATE_TRANSITIONS, GateApproval, GateRequest, Measure
from measures.selectors.gates import gate_unmet
from measures.services.audit import audit_append
from measures.services.effects import closure_record, plan_freeze
from measures.services.measures import measure_for_update, run_transition
from measures.services.notify import email_after_commit, notification_create, notifications_resolve


def _gate_name(doi: int) -> str:
    return f"DoI {doi} ({DOI_NAMES[doi]})"


def _refuse_if_unmet(measure: Measure, to_doi: int) -> None:
    unmet = gate_unmet(measure=measure, to_doi=to_doi)
    if unmet:
        raise CriteriaUnmet(
            f"{measure.code} does not meet {len(unmet)} criteria of {_gate_name(to_doi)}.", unmet=unmet
        )


def gate_request_submit(*, measure: Measure, by, comment: str = "") -> GateRequest:
    """Ask for the next DoI. The criteria are evaluated first; unmet → 422 and nothing is created.
    The owner, the sponsor or a program manager of the scope may ask; the approvers of the gate
    (DESIGN §5.1 table) get an approval slot each and an e-mail."""
    check_text_lengths({"comment": comment})
    with transaction.atomic():
        measure = measure_for_update(measure_id=measure.pk, by=by)
        if not permissions.can_request_gate(by, measure):
            raise PermissionRefused("Only the owner, the sponsor or a program manager may request a gate.")
        to_doi = measure.next_doi
        if to_doi is None:
            raise Conflict(f"A measure that is {Stage(measure.stage).label} cannot request a gate.")
        pending = measure.gate_requests.filter(state=GateRequestState.PENDING).first()
        if pending:
            raise Conflict(f"A request for {_gate_name(pending.to_doi)} is already pending.")
        _refuse_if_unmet(measure, to_doi)
        try:
            request = GateRequest.objects.create(
                measure=measure,
                from_doi=to_doi - 1,
                to_doi=to_doi,
                requested_by=by,
                owner_id=measure.owner_id,
                comment=comment,
            )
        except IntegrityError as exc:  # pragma: no cover - the row lock above serialises submissions
            raise Conflict("A request for this measure is already pending.") from exc
        GateApproval.objects.bulk_create(
            GateApproval(request=request, role=role) for role in GATE_APPROVERS[to_doi]
        )
        audit_append(
            actor=by,
            action="gate_requested",
            subject=request,
            measure_id=measure.pk,
            after={"from_doi": request.from_doi, "to_doi": to_doi},
            comment=comment,
        )
        notifications_resolve(measure=measure, kinds=[NotificationKind.REVISION_REQUESTED])
        email_after_commit(
            users=gate_request_approvers(request=request, measure=measure),
            subject=f"[Valuegate] {measure.code} asks for {_gate_name(to_doi)}",
            body=f"{by} asks you to approve {_gate_name(to_doi)} for {measure}.\n"
            f"Open {reverse('measures:detail', args=[measure.pk])} to decide.",
        )
    return request


def gate_request_approvers(*, request: GateRequest, measure: Measure) -> list:
    """Everyone who could fill one of the request's open approvals (for e-mail)."""
    people = []
    for role in GATE_APPROVERS[request.to_doi]:
        if role == ApproverRole.SPONSOR:
            people.append(measure.sponsor)
        else:
            scope_role = (
                ScopeRole.PROGRAM_MANAGER if role == ApproverRole.PROGRAM_MANAGER else ScopeRole.CONTROLLER
            )
            people.extend(permissions.users_with_scope_role(measure.package, scope_role))
    excluded = (request.requested_by_id, request.owner_id, measure.owner_id)
    return [person for person in people if person is not None and person.pk not in excluded]


def _lock_request(request_id: int, by) -> tuple[GateRequest, Measure]:
    """Lock the measure, then the request (the one lock order, see `measure_for_update`)."""
    measure_id = GateRequest.objects.filter(pk=request_id).values_list("measure_id", flat=True).first()
    if measure_id is None:
        raise NotFound("No such gate request.")
    measure = measure_for_update(measure_id=measure_id, by=by)
    request = GateRequest.objects.select_for_update().get(pk=request_id)
    if request.state != GateRequestState.PENDING:
        raise Conflict(f"This request is already {request.get_state_display().lower()}.")
    return request, measure


def _slot_for(*, request: GateRequest, measure: Measure, by) -> GateApproval:
    """The approval `by` may give on this request, or the four-eyes/permission reason why not."""
    if request.requested_by_id == by.pk:
        raise FourEyes("You submitted this request; someone else must decide on it.")
    if by.pk in (request.owner_id, measure.owner_id):
        raise FourEyes(
            "You own this measure (or owned it when the request was made); someone else must decide."
        )
    slots = list(request.approvals.all())
    if any(slot.user_id == by.pk for slot in slots):
        raise FourEyes(
            "You have already given an approval on this request; the other required approval "
            "must come from a different person."
        )
    open_slots = [slot for slot in slots if slot.decision == Decision.PENDING]
    roles = permissions.approver_roles(by, measure)
    for slot in open_slots:
        if slot.role in roles:
            return slot
    if any(slot.role == ApproverRole.CONTROLLER for slot in open_slots):
        raise PermissionRefused(
            f"Only a controller of the measure's scope may sign off {_gate_name(request.to_doi)}."
        )
    needed = ", ".join(ApproverRole(slot.role).label.lower() for slot in open_slots)
    raise PermissionRefused(f"This request needs the approval of: {needed}. You are not one of them.")


def _decide(slot: GateApproval, by, decision: str, comment: str) -> None:
    slot.user = by
    slot.decision = decision
    slot.comment = comment
    slot.decided_at = timezone.now()
    slot.save()


def gate_request_approve(*, request: GateRequest, by, comment: str = "") -> GateRequest:
    """Give one required approval. The last one re-checks the criteria and performs the transition
    in the same transaction, under row locks, so two simultaneous approvals make one transition."""
    check_text_lengths({"comment": comment})
    with transaction.atomic():
        request, measure = _lock_request(request.pk, by)
        slot = _slot_for(request=request, measure=measure, by=by)
        _decide(slot, by, Decision.APPROVED, comment)
        audit_append(
            actor=by,
            action="gate_approved",
            subject=request,
            measure_id=measure.pk,
            after={"role": slot.role, "to_doi": request.to_doi},
            comment=comment,
        )
        if request.approvals.filter(decision=Decision.PENDING).exists():
            return request
        _refuse_if_unmet(measure, request.to_doi)
        _pass_gate(request=request, measure=measure, by=by)
    return request


def _pass_gate(*, request: GateRequest, measure: Measure, by) -> None:
    before = measure.stage
    run_transition(measure, GATE_TRANSITIONS[request.to_doi])
    if request.to_doi == 3:
        plan_freeze(measure=measure, by=by)
    elif request.to_doi == 5:
        closure_record(measure=measure, by=by)
    request.state = GateRequestState.APPROVED
    request.decided_at = timezone.now()
    request.save(update_fields=["state", "decided_at"])
    audit_append(
        actor=by,
        action="transition",
        subject=measure,
        measure_id=measure.pk,
        before={"stage": before},
        after={"stage": measure.stage, "doi": measure.doi, "gate_request": request.pk},
    )
    notification_create(
        user=measure.owner or request.requested_by,
        kind=NotificationKind.GATE_PASSED,
        measure=measure,
        gate_request=request,
        message=f"{measure.code} passed {_gate_name(request.to_doi)}.",
    )
    email_after_commit(
        users=[measure.owner, request.requested_by],
        subject=f"[Valuegate] {measure.code} reached {_gate_name(request.to_doi)}",
        body=f"{measure} passed {_gate_name(request.to_doi)}.",
    )


def gate_request_reject(*, request: GateRequest, by, comment: str) -> GateRequest:
    """Reject with a comment: the measure stays at its DoI and goes back to its owner for revision
    ("revision requested" in their inbox, and an e-mail)."""
    if not (comment or "").strip():
        raise InvalidInput("Say why you reject the request.", details={"comment": ["A comment is required."]})
    check_text_lengths({"comment": comment})
    with transaction.atomic():
        request, measure = _lock_request(request.pk, by)
        slot = _slot_for(request=request, measure=measure, by=by)
        _decide(slot, by, Decision.REJECTED, comment)
        request.state = GateRequestState.REJECTED
        request.decided_at = timezone.now()
        request.save(update_fields=["state", "decided_at"])
        audit_append(
            actor=by,
            action="gate_rejected",
            subject=request,
            measure_id=measure.pk,
            after={"role": slot.role, "to_doi": request.to_doi},
            comment=comment,
        )
        owner = measure.owner or request.requested_by
        notification_create(
            user=owner,
            kind=NotificationKind.REVISION_REQUESTED,
            measure=measure,
            gate_request=request,
            message=f"{by} rejected {_gate_name(request.to_doi)} for {measure.code}: {comment}",
        )
        email_after_commit(
            users=[owner],
            subject=f"[Valuegate] Revision requested: {measure.code}",
            body=f"{by} rejected the request for {_gate_name(request.to_doi)} of {measure}:\n\n{comment}\n",
        )
    return request


def gate_request_refusal(*, request: GateRequest, measure: Measure, by) -> str:
    """Why `by` may not decide on the pending request, or "" when they may (shown on the gate
    panel so an approver who is refused, e.g. the owner who is also a controller, knows why)."""
    if request.state != GateRequestState.PENDING or not by.is_authenticated:
        return ""
    try:
        _slot_for(request=request, measure=measure, by=by)
    except (PermissionRefused, FourEyes) as exc:
        return exc.message
    return ""


def gate_request_can_decide(*, request: GateRequest, measure: Measure, by) -> bool:
    """Whether `by` may approve or reject the pending request now (for showing the buttons); the
    same check `gate_request_approve` and `gate_request_reject` enforce."""
    if request.state != GateRequestState.PENDING or not by.is_authenticated:
        return False
    try:
        _slot_for(request=request, measure=measure, by=by)
    except (PermissionRefused, FourEyes):
        return False
    return True
