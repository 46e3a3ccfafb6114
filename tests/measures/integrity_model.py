"""The integrity rules of DESIGN §5.1 as checks over the database, and the ledger they compare to.

The property test (`test_integrity_properties.py`) and the race test (`test_integrity_races.py`)
drive the real services and then call the `check_*` functions below. The `Ledger` is the test's own
model of what may never change except through an audited service: validated actuals, the plan of a
frozen measure and every plan version. It is updated only when such a service succeeds, from what
that service was asked to do, and compared with the database after every step.

The eligibility oracle (`roles_held`) reads memberships directly, not through
`measures.permissions`, so that a bug there cannot hide itself.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal

from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group

from measures import services
from measures.choices import (
    GATE_APPROVERS,
    ApproverRole,
    Decision,
    GateRequestState,
    GlobalGroup,
    ScopeRole,
    Series,
    ValidationState,
)
from measures.models import (
    AuditEntry,
    EffectValue,
    FigureDirty,
    FigureRow,
    GateApproval,
    GateRequest,
    Measure,
    Membership,
    PlanVersion,
    PlanVersionValue,
    Scope,
)
from measures.selectors import figures

# Far outside any fiscal horizon a deployment could configure: a stored month outside is a bug.
HORIZON_FLOOR = date(1900, 1, 1)
HORIZON_CEILING = date(2200, 1, 1)

Cells = dict[tuple[int, date], Decimal]


# --- The eligibility oracle (DESIGN §4) ----------------------------------------------------------


def roles_held(user_id: int | None, scope: Scope) -> set[str]:
    """Every scope role an active user holds in `scope`, directly or inherited from above."""
    if user_id is None:
        return set()
    held = Membership.objects.filter(user_id=user_id, user__is_active=True).values_list("scope__path", "role")
    return {role for path, role in held if scope.path.startswith(path)}


def is_admin(user_id: int) -> bool:
    user = get_user_model().objects.get(pk=user_id)
    return user.is_superuser or Group.objects.filter(user=user, name=GlobalGroup.ADMIN).exists()


FITTING_ROLES = {
    "owner": {ScopeRole.CONTRIBUTOR, ScopeRole.PROGRAM_MANAGER},
    "sponsor": {ScopeRole.CONTRIBUTOR, ScopeRole.PROGRAM_MANAGER, ScopeRole.CONTROLLER},
    "controller": {ScopeRole.CONTROLLER},
}


def unfitting_people(measure: Measure) -> list[str]:
    """Why the measure's owner, sponsor and controller do not fit (DESIGN §4, §5.1), or []."""
    problems = []
    people = {name: getattr(measure, f"{name}_id") for name in FITTING_ROLES}
    for name, user_id in people.items():
        if user_id is not None and not roles_held(user_id, measure.package) & FITTING_ROLES[name]:
            problems.append(f"{measure.code}: the {name} (user {user_id}) holds no fitting role")
    named = [user_id for user_id in people.values() if user_id is not None]
    if len(named) != len(set(named)):
        problems.append(f"{measure.code}: owner, sponsor and controller are not three people {people}")
    return problems


def approval_refusal(*, slot: GateApproval, request: GateRequest, request_owner: int | None) -> str:
    """Why the person who filled `slot` was not entitled to, judged now (call it right after the
    approval, in the same transaction), or "" when they were."""
    measure = Measure.objects.select_related("package").get(pk=request.measure_id)
    who = slot.user_id
    if who == request.requested_by_id:
        return f"request {request.pk}: the requester {who} approved it"
    if who is not None and who == request_owner:
        return f"request {request.pk}: its owner at request time ({who}) approved it"
    held = roles_held(who, measure.package)
    if slot.role == ApproverRole.SPONSOR and who != measure.sponsor_id:
        return f"request {request.pk}: user {who} approved as sponsor but is not the sponsor"
    if slot.role == ApproverRole.PROGRAM_MANAGER and ScopeRole.PROGRAM_MANAGER not in held:
        return f"request {request.pk}: user {who} approved as program manager without the role"
    if slot.role == ApproverRole.CONTROLLER and (ScopeRole.CONTROLLER not in held or who == measure.owner_id):
        return f"request {request.pk}: user {who} gave the controller sign-off without the right"
    return ""


SCOPE_ROLE_OF_APPROVER = {
    ApproverRole.PROGRAM_MANAGER: ScopeRole.PROGRAM_MANAGER,
    ApproverRole.CONTROLLER: ScopeRole.CONTROLLER,
}


def could_decide(request: GateRequest, *, former_owners: tuple[int, ...] = ()) -> list[int]:
    """The people worth asking to decide on `request`, without repeats: first those who may well
    be entitled to an approval it still needs (the sponsor, the program managers or controllers of
    the scope), then, adversarially, those four-eyes must stop: the owner now and at request time,
    the requester, former owners and whoever already approved it."""
    measure = Measure.objects.select_related("package").get(pk=request.measure_id)
    slots = list(request.approvals.all())
    wanted = {slot.role for slot in slots if slot.decision == Decision.PENDING}
    scope_roles = [SCOPE_ROLE_OF_APPROVER[role] for role in wanted if role in SCOPE_ROLE_OF_APPROVER]
    holders = [
        user_id
        for user_id, path in Membership.objects.filter(role__in=scope_roles, user__is_active=True)
        .order_by("user_id")
        .values_list("user_id", "scope__path")
        if measure.package.path.startswith(path)
    ]
    people = [
        measure.sponsor_id if ApproverRole.SPONSOR in wanted else None,
        *holders,
        measure.owner_id,
        request.owner_id,
        request.requested_by_id,
        *former_owners,
        *(slot.user_id for slot in slots),
    ]
    return list(dict.fromkeys(person for person in people if person is not None))


# --- The ledger ----------------------------------------------------------------------------------


def _cells(rows) -> Cells:
    return {(line_id, month): amount for line_id, month, amount in rows}


def db_validated() -> Cells:
    return _cells(
        EffectValue.objects.filter(
            series=Series.ACTUAL, validation_state=ValidationState.VALIDATED
        ).values_list("line_id", "month", "amount")
    )


def db_plan(measure_id: int) -> Cells:
    return _cells(
        EffectValue.objects.filter(measure_id=measure_id, series=Series.PLAN).values_list(
            "line_id", "month", "amount"
        )
    )


def db_version(version_id: int) -> Cells:
    return _cells(
        PlanVersionValue.objects.filter(version_id=version_id).values_list("line_id", "month", "amount")
    )


@dataclass
class Ledger:
    """What the audited services have made true; nothing else may change it."""

    validated: Cells = field(default_factory=dict)
    plans: dict[int, Cells] = field(default_factory=dict)  # measure -> plan, once frozen
    versions: dict[int, Cells] = field(default_factory=dict)  # plan version -> its cells
    request_owner: dict[int, int | None] = field(default_factory=dict)  # gate request -> owner then
    approvals: dict[int, str] = field(default_factory=dict)  # gate approval -> refusal ("" = fine)
    findings: list[str] = field(default_factory=list)  # a rule saw something that must not happen
    transitions_checked: int = 0  # audit id up to which transitions were checked

    @classmethod
    def from_database(cls) -> Ledger:
        """The starting point: what the setup made through the services."""
        ledger = cls(validated=db_validated())
        for measure_id in PlanVersion.objects.values_list("measure_id", flat=True).distinct():
            ledger.frozen(measure_id)
        return ledger

    def frozen(self, measure_id: int) -> None:
        """The plan was frozen (DoI 3 approved): take the plan and its versions as they are now."""
        self.plans[measure_id] = db_plan(measure_id)
        for version_id in PlanVersion.objects.filter(measure_id=measure_id).values_list("pk", flat=True):
            self.versions[version_id] = db_version(version_id)

    def rebaselined(self, measure_id: int, proposed: list[dict], version_id: int) -> None:
        """An approved re-baseline applies the proposed cells (None removes) as version n+1."""
        plan = dict(self.plans.get(measure_id, {}))
        for cell in proposed:
            key = (int(cell["line"]), date.fromisoformat(cell["month"]))
            if cell["amount"] is None:
                plan.pop(key, None)
            else:
                plan[key] = Decimal(cell["amount"])
        self.plans[measure_id] = plan
        self.versions[version_id] = dict(plan)

    def validated_actual(self, value: EffectValue) -> None:
        self.validated[(value.line_id, value.month)] = value.amount

    def find(self, finding: str) -> None:
        self.findings.append(finding)


# --- The invariants ------------------------------------------------------------------------------


def check_transitions_have_their_approvals(ledger: Ledger) -> list[int]:
    """Every DoI transition in the audit log was made by a request whose required approvals
    (GATE_APPROVERS) were all given, by distinct people, none of them its requester or the
    measure's owner at request time, each entitled to their role when they approved.

    The log is append-only (`check_audit_chain`), so each transition is checked once, when it
    appears; `ledger.transitions_checked` remembers how far. Returns the DoI reached by each
    newly checked transition whose request was submitted and approved while the test watched
    (so that a test can tell how often the check had something to check)."""
    watched: list[int] = []
    entries = list(
        AuditEntry.objects.filter(action="transition", id__gt=ledger.transitions_checked).order_by("id")
    )
    requests = GateRequest.objects.prefetch_related("approvals").in_bulk(
        [entry.after["gate_request"] for entry in entries]
    )
    for entry in entries:
        request = requests[entry.after["gate_request"]]
        slots = list(request.approvals.all())
        where = f"transition {entry.pk} (request {request.pk}, DoI {request.to_doi})"
        assert request.state == GateRequestState.APPROVED, where
        assert sorted(slot.role for slot in slots) == sorted(GATE_APPROVERS[request.to_doi]), where
        assert all(slot.decision == Decision.APPROVED for slot in slots), where
        people = [slot.user_id for slot in slots]
        assert None not in people and len(set(people)) == len(people), f"{where}: {people}"
        assert request.requested_by_id not in people, f"{where}: the requester approved"
        recorded_owner = getattr(request, "owner_id", None)
        owner = ledger.request_owner.get(request.pk, recorded_owner)
        if recorded_owner is not None and request.pk in ledger.request_owner:
            assert recorded_owner == ledger.request_owner[request.pk], f"{where}: recorded owner"
        assert owner is None or owner not in people, f"{where}: the owner at request time approved"
        for slot in slots:
            if request.pk in ledger.request_owner:  # submitted while the test watched
                assert ledger.approvals.get(slot.pk) == "", (
                    f"{where}: {ledger.approvals.get(slot.pk, 'approval not seen by the test')}"
                )
        if request.pk in ledger.request_owner:
            watched.append(request.to_doi)
        ledger.transitions_checked = entry.pk
    return watched


def check_locked_values_match_the_ledger(ledger: Ledger) -> None:
    """Validated actuals, the plan of every frozen measure and every plan version are exactly what
    the audited services made them: no edit, delete, cascade or side state changed them."""
    assert db_validated() == ledger.validated, "validated actuals changed outside actual_validate"
    versions: dict[int, Cells] = {pk: {} for pk in PlanVersion.objects.values_list("pk", flat=True)}
    for version_id, line_id, month, amount in PlanVersionValue.objects.values_list(
        "version_id", "line_id", "month", "amount"
    ):
        versions[version_id][(line_id, month)] = amount
    assert versions.keys() == ledger.versions.keys(), "a plan version appeared or disappeared"
    for version_id, cells in ledger.versions.items():
        assert versions[version_id] == cells, f"plan version {version_id} changed"
    plans: dict[int, Cells] = {measure_id: {} for measure_id in ledger.plans}
    for measure_id, line_id, month, amount in EffectValue.objects.filter(
        measure_id__in=list(ledger.plans), series=Series.PLAN
    ).values_list("measure_id", "line_id", "month", "amount"):
        plans[measure_id][(line_id, month)] = amount
    for measure_id, cells in ledger.plans.items():
        assert plans[measure_id] == cells, f"the frozen plan of measure {measure_id} changed"


def check_stored_figures_equal_scratch() -> None:
    """The maintained figure rows (ADR 0013), read as every page reads them, equal the
    from-scratch computation of every measure."""
    everything = Measure.objects.all()
    stored = figures.figures_for(everything)
    assert not FigureDirty.objects.exists(), "figure rows were not refreshed (a caller's transaction?)"
    assert FigureRow.objects.count() == everything.count()
    assert stored == figures.compute_figures(everything)


def check_audit_chain() -> None:
    """The hash-chained audit log verifies from its first row to its last."""
    problem = services.audit_verify()
    assert problem is None, problem


def check_people_of_measures(ledger: Ledger) -> None:
    """Owner, sponsor and controller of every measure are three different people; each held a
    fitting role in the scope when assigned, by a program manager of the scope or an admin, and
    never while a gate request was pending (the rules record what they saw in `findings`)."""
    for measure in Measure.objects.select_related("package"):
        people = [measure.owner_id, measure.sponsor_id, measure.controller_id]
        named = [person for person in people if person is not None]
        assert len(named) == len(set(named)), f"{measure.code}: owner/sponsor/controller {people}"


def check_no_value_outside_the_horizon() -> None:
    """No effect value, proposed re-baseline cell or plan version value lies centuries away."""
    for model in (EffectValue, PlanVersionValue):
        far = model.objects.exclude(month__gte=HORIZON_FLOOR, month__lt=HORIZON_CEILING)
        assert not far.exists(), f"{model.__name__} outside the horizon: {list(far.values('month'))}"


def check_no_findings(ledger: Ledger) -> None:
    """Nothing a rule saw broke a rule of DESIGN §5.1 (accepted bad input, unaudited delete,
    people changed by the wrong person or while a request was pending, four-eyes)."""
    assert not ledger.findings, "\n".join(ledger.findings)


def check_all(ledger: Ledger) -> None:
    check_transitions_have_their_approvals(ledger)
    check_locked_values_match_the_ledger(ledger)
    check_stored_figures_equal_scratch()
    check_audit_chain()
    check_people_of_measures(ledger)
    check_no_value_outside_the_horizon()
    check_no_findings(ledger)
