"""Integrity of the governance core under random use (DESIGN §5.1): a Hypothesis state machine.

Every actor of every role calls the real services on real PostgreSQL in random order: measures,
people, lines, values, milestones, risks, documents, dependencies, side states, gates, actuals,
re-baselines and memberships. A refusal must be a `DomainError` (a 4xx); anything else fails the
test (the "no 5xx" invariant). After every step the invariants of `integrity_model` must hold.

Each example runs in a savepoint of the test's transaction that is rolled back at its end, so the
examples are independent and share the measures built once by the fixture.

A longer run (the CI run is 25 examples of 30 steps):

    VALUEGATE_PROPERTY_EXAMPLES=500 VALUEGATE_PROPERTY_STEPS=60 \
        uv run pytest tests/measures/test_integrity_properties.py -q

The gates are what the four-eyes invariant checks, so the machine submits gates whose criteria are
met and asks mostly the people who could decide (and, adversarially, those who must not). It counts
submissions, approvals, rejections, refusals and the transitions the invariant checked; the test
fails if the run reached too few gates to mean anything. `-s` prints the counts.

The plain tests at the end pin one reported hole each.
"""

from __future__ import annotations

import json
import os
from collections import Counter
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal

import pytest
from django.contrib.auth import get_user_model
from django.db import transaction
from django.utils import timezone
from hypothesis import HealthCheck, seed, settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    RuleBasedStateMachine,
    initialize,
    invariant,
    precondition,
    rule,
    run_state_machine_as_test,
)

from config.errors import Conflict, DomainError, InvalidInput, PermissionRefused, StaleVersion
from config.errors import SeparationOfDutiesViolation as FourEyes
from measures import services
from measures.choices import (
    DocumentKind,
    GateRequestState,
    RebaselineState,
    ScopeRole,
    Series,
    Stage,
    ValidationState,
)
from measures.models import (
    AuditEntry,
    Dependency,
    Document,
    EffectLine,
    EffectValue,
    GateRequest,
    Measure,
    Membership,
    Milestone,
    PlanVersion,
    PlanVersionValue,
    RebaselineRequest,
    Risk,
    Scope,
)
from measures.models.measure import ACTIVE_STAGES
from measures.selectors.figures import add_months, closure_window
from measures.selectors.gates import gate_unmet
from tests.measures import effects_builders as build
from tests.measures import integrity_model as model

pytestmark = pytest.mark.django_db

EXAMPLES = int(os.environ.get("VALUEGATE_PROPERTY_EXAMPLES", "25"))
STEPS = int(os.environ.get("VALUEGATE_PROPERTY_STEPS", "30"))
SEED = int(os.environ.get("VALUEGATE_PROPERTY_SEED", "20261201"))

ACTORS = ["pm", "ctrl1", "ctrl2", "owner", "contrib", "sponsor", "viewer", "admin", "outsider"]
REFUSED = object()

# The order `submit_ready_gate` offers ready measures in (Hypothesis draws small picks most): the
# gate with two approvals first, then the controller-only sign-off, then the one-approval gates.
GATE_PREFERENCE = [3, 5, 4, 1, 2]

# What the gate rules did over the whole run (all examples): the test asserts a floor on it.
TALLY: Counter[str] = Counter()


def transitions_floor(examples: int) -> int:
    """The fewest transitions the four-eyes invariant must have checked over a run of `examples`
    examples: one per five examples (runs of the CI size reach 10 to 30). Below it the machine
    has stopped reaching the gates and the invariant checks next to nothing."""
    return max(1, examples // 5)


# --- The world every example starts from ----------------------------------------------------------


@dataclass
class World:
    users: dict[str, int]
    measure_ids: list[int]
    scopes: dict[str, int]


def make_people(make_user, tree, admin_user) -> dict:
    program = tree.program
    return {
        "pm": make_user("pm", roles=[(program, ScopeRole.PROGRAM_MANAGER)]),
        "ctrl1": make_user("ctrl1", roles=[(program, ScopeRole.CONTROLLER)]),
        "ctrl2": make_user("ctrl2", roles=[(program, ScopeRole.CONTROLLER)]),
        # The owner of the built measures also holds the controller role (four-eyes must stop them).
        "owner": make_user(
            "owner", roles=[(program, ScopeRole.CONTRIBUTOR), (program, ScopeRole.CONTROLLER)]
        ),
        "contrib": make_user("contrib", roles=[(program, ScopeRole.CONTRIBUTOR)]),
        "sponsor": make_user("sponsor", roles=[(program, ScopeRole.CONTRIBUTOR)]),
        "viewer": make_user("viewer", roles=[(tree.package, ScopeRole.VIEWER)]),
        "admin": admin_user,
        "outsider": make_user("outsider", roles=[(tree.other_program, ScopeRole.PROGRAM_MANAGER)]),
    }


def builder_cast(people: dict) -> dict:
    """The names `effects_builders` uses, mapped to this test's people."""
    return {
        "owner": people["owner"],
        "pm": people["pm"],
        "sponsor": people["sponsor"],
        "controller": people["ctrl1"],
    }


def ready_measure(people: dict, package, title: str) -> Measure:
    """A DoI 0 measure that meets every DoI 1 criterion, owned by `owner`, controlled by ctrl1."""
    measure = services.measure_create(
        by=people["pm"], title=title, objective="Make it cheaper.", package=package, owner=people["owner"]
    )
    measure = services.measure_update(
        measure=measure,
        by=people["pm"],
        version=measure.version,
        sponsor=people["sponsor"],
        controller=people["ctrl1"],
        business_unit="Payments",
        no_known_overlaps=True,
    )
    services.effect_line_create(
        measure=measure, by=people["owner"], account="pl_cost", annual_potential=Decimal("120000.00")
    )
    services.risk_create(measure=measure, by=people["owner"], title="Vendor change", probability=2, impact=3)
    measure.refresh_from_db()
    return measure


def submitted_actuals(measure: Measure, people: dict, months: list[date]) -> None:
    line = build.benefit_line(measure)
    services.effect_values_save(
        measure=measure,
        by=people["owner"],
        series=Series.ACTUAL,
        cells=[(line.pk, month, Decimal("9000")) for month in months],
    )
    services.actuals_submit(measure=measure, by=people["owner"])


def complete_milestones(measure: Measure, people: dict) -> None:
    for milestone in measure.milestones.all():
        services.milestone_complete(
            milestone=milestone, by=people["owner"], completed_at=timezone.localdate(), evidence_note="Done."
        )


@pytest.fixture
def media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path


@pytest.fixture
def people(make_user, tree, admin_user, media):
    return make_people(make_user, tree, admin_user)


@pytest.fixture
def doi0(people, tree) -> Measure:
    """Ready for DoI 1."""
    return ready_measure(people, tree.package, "Ready for DoI 1")


@pytest.fixture
def doi1(people, tree) -> Measure:
    """At DoI 1 with everything DoI 2 asks for: ready for DoI 2."""
    measure = build.to_doi1(ready_measure(people, tree.package, "Ready for DoI 2"), builder_cast(people))
    return build.fill_doi2(measure, builder_cast(people))


@pytest.fixture
def doi2(people, tree) -> Measure:
    """At DoI 2 with a complete plan: ready for DoI 3."""
    return build.to_doi2(ready_measure(people, tree.package, "Ready for DoI 3"), builder_cast(people))


@pytest.fixture
def doi3(people, tree) -> Measure:
    """At DoI 3 (plan frozen), milestones completed, two actuals awaiting validation: ready for DoI 4."""
    measure = build.to_doi3(ready_measure(people, tree.package, "Ready for DoI 4"), builder_cast(people))
    complete_milestones(measure, people)
    submitted_actuals(measure, people, build.fy_months()[:2])
    return measure


@pytest.fixture
def doi4(people, tree) -> Measure:
    """At DoI 4 with validated actuals for the closure window and closure evidence (ready for
    DoI 5), and one more actual awaiting validation."""
    cast = builder_cast(people)
    measure = build.to_doi4(ready_measure(people, tree.sibling_package, "Ready for DoI 5"), cast)
    build.validated_actuals(measure, cast, dict.fromkeys(closure_window(), Decimal("10000")))
    services.document_upload(
        measure=measure, by=people["owner"], uploaded_file=build.pdf("closure.pdf"), kind=DocumentKind.CLOSURE
    )
    submitted_actuals(measure, people, [add_months(closure_window()[0], -1)])
    return measure


@pytest.fixture
def world(people, tree, doi0, doi1, doi2, doi3, doi4) -> World:
    """A measure ready for each gate, built through the services once per test."""
    measures = [Measure.objects.get(pk=built.pk) for built in (doi0, doi1, doi2, doi3, doi4)]
    assert [measure.next_doi for measure in measures] == [1, 2, 3, 4, 5]
    for measure in measures:
        assert gate_unmet(measure=measure, to_doi=measure.next_doi) == [], measure.title
    return World(
        users={name: user.pk for name, user in people.items()},
        measure_ids=[measure.pk for measure in measures],
        scopes={
            "program": tree.program.pk,
            "package": tree.package.pk,
            "sibling": tree.sibling_package.pk,
            "other": tree.other_package.pk,
        },
    )


# --- Strategies ------------------------------------------------------------------------------------

actors = st.sampled_from(ACTORS)


def actor_among(*likely: str):
    """Half the time someone who may well be allowed, half the time anyone (refusals matter too)."""
    return st.one_of(st.sampled_from(likely), actors)


EDITORS = ("owner", "pm", "admin")
people_or_none = st.sampled_from([*ACTORS, None])
picks = st.integers(min_value=0, max_value=63)
FAR_MONTHS = [date(1, 1, 1), date(9999, 12, 1), "0001-01", "9999-12", "0001-01-01"]


def _months() -> list[date]:
    first = build.fy_months()[0]
    return [add_months(first, offset) for offset in range(-1, 14)]


in_horizon = st.sampled_from(_months())
months = st.one_of(in_horizon, in_horizon, in_horizon, st.sampled_from(FAR_MONTHS))
ODD_AMOUNTS = ["١٢٣", "1_000", "NaN", "Infinity", "-Infinity", "1e400", "12,5", "", "abc", "٣"]
amounts = st.one_of(
    st.decimals(min_value=-1_000_000, max_value=1_000_000, places=2, allow_nan=False),
    st.sampled_from(["1000", "250.50", "0", "-40", " 12 ", "99999999999999.99", *ODD_AMOUNTS]),
)
series = st.sampled_from([Series.PLAN, Series.FORECAST, Series.ACTUAL, Series.ACTUAL, Series.TARGET])


plausibly = st.integers(0, 9)  # below 7: someone who could do it, else anyone
deciders = st.lists(st.tuples(plausibly, picks), min_size=1, max_size=3)


def copy_of(function, name: str):
    """`function` under another name, to register a rule again (see `IntegrityMachine`)."""

    def copy(self, **kwargs):
        return function(self, **kwargs)

    copy.__name__ = copy.__qualname__ = name
    return copy


def far_month(month) -> bool:
    if isinstance(month, date):
        return not model.HORIZON_FLOOR <= month < model.HORIZON_CEILING
    return str(month).startswith(("0001", "9999"))


def odd_amount(amount) -> bool:
    """Amounts DESIGN §5.2 refuses: not finite, or written with other than ASCII digits."""
    text = str(amount)
    return "_" in text or any(char.isdigit() and not char.isascii() for char in text)


# --- The machine -----------------------------------------------------------------------------------


class IntegrityMachine(RuleBasedStateMachine):
    """Random actors call the services; refusals are fine, broken rules and 500s are not."""

    world: World  # set by the test before running

    def __init__(self) -> None:
        super().__init__()
        # A savepoint that counts as the test's own transaction: figure rows are still maintained
        # inside it (readcache.selectors.in_callers_transaction), and it is rolled back at the end.
        self._example = transaction.atomic()
        self._example._from_testcase = True
        self._example.__enter__()
        self.ledger = model.Ledger.from_database()
        self.measure_ids = list(self.world.measure_ids)
        self.names = {pk: name for name, pk in self.world.users.items()}
        self.former_owners: dict[int, list[int]] = {}  # measure -> owners before a hand-over
        self.steps = 0

    def teardown(self) -> None:
        TALLY["examples"] += 1
        TALLY["steps"] += self.steps
        transaction.set_rollback(True)
        self._example.__exit__(None, None, None)

    # --- helpers ---

    def user(self, name: str | None):
        if name is None:
            return None
        return get_user_model().objects.get(pk=self.world.users[name])  # fresh: no cached roles

    def measure(self, pick: int) -> Measure:
        return Measure.objects.select_related("package").get(
            pk=self.measure_ids[pick % len(self.measure_ids)]
        )

    @staticmethod
    def nth(queryset, pick: int):
        rows = list(queryset.order_by("pk"))
        return rows[pick % len(rows)] if rows else None

    @staticmethod
    def attempt(service, **kwargs):
        """Call a service; a domain refusal is a legitimate answer, any other exception fails."""
        try:
            return service(**kwargs)
        except DomainError:
            return REFUSED

    @staticmethod
    def frozen(measure: Measure) -> bool:
        return PlanVersion.objects.filter(measure_id=measure.pk).exists()

    @staticmethod
    def audit_head() -> int:
        return AuditEntry.objects.order_by("-id").values_list("id", flat=True).first() or 0

    def expect_audited(self, head: int, measure: Measure, what: str) -> None:
        if not AuditEntry.objects.filter(id__gt=head, measure_id=measure.pk).exists():
            self.ledger.find(f"{what} of {measure.code} wrote no audit row")

    def locked_change(self, measure: Measure, what: str, by) -> None:
        self.ledger.find(f"{what} of {measure.code} accepted from {by.username} at {measure.stage} (frozen)")

    # --- measures and people ---

    @rule(
        by=actor_among("pm", "contrib", "owner", "admin"),
        package=st.sampled_from(["package", "sibling", "other"]),
        owner=st.one_of(st.sampled_from(["owner", "contrib", None]), people_or_none),
        sponsor=st.one_of(st.sampled_from(["sponsor", None]), people_or_none),
        controller=st.one_of(st.sampled_from(["ctrl1", "ctrl2", None]), people_or_none),
    )
    def create_measure(self, by, package, owner, sponsor, controller):
        created = self.attempt(
            services.measure_create,
            by=self.user(by),
            title="A measure",
            objective="Save money.",
            package=Scope.objects.get(pk=self.world.scopes[package]),
            owner=self.user(owner),
            sponsor=self.user(sponsor),
            controller=self.user(controller),
        )
        if created is not REFUSED:
            self.measure_ids.append(created.pk)
            created = Measure.objects.select_related("package").get(pk=created.pk)
            for problem in model.unfitting_people(created):
                self.ledger.find(f"created with {problem}")

    @rule(
        by=actor_among("pm", "admin"),
        pick=picks,
        role=st.sampled_from(["owner", "sponsor", "controller"]),
        person=people_or_none,
    )
    def change_people(self, by, pick, role, person):
        measure, actor, new = self.measure(pick), self.user(by), self.user(person)
        pending = measure.gate_requests.filter(state=GateRequestState.PENDING).exists()
        entitled = model.is_admin(actor.pk) or ScopeRole.PROGRAM_MANAGER in model.roles_held(
            actor.pk, measure.package
        )
        before = getattr(measure, f"{role}_id")
        result = self.attempt(
            services.measure_update, measure=measure, by=actor, version=measure.version, **{role: new}
        )
        after = Measure.objects.select_related("package").get(pk=measure.pk)
        if result is REFUSED or getattr(after, f"{role}_id") == before:
            return
        if role == "owner" and before is not None:
            self.former_owners.setdefault(measure.pk, []).append(before)
        where = f"{measure.code}: {by} set the {role} to {person}"
        if pending:
            self.ledger.find(f"{where} while a gate request was pending")
        if not entitled:
            self.ledger.find(f"{where} without being a program manager of the scope or an admin")
        for problem in model.unfitting_people(after):
            if role in problem or "three people" in problem:
                self.ledger.find(f"{where}: {problem}")

    @rule(
        by=actor_among(*EDITORS),
        pick=picks,
        change=st.sampled_from(
            [
                {"business_unit": "Cards"},
                {"title": "Renamed"},
                {"title": "  "},
                {"no_known_risks": True},
                {"no_known_overlaps": True},
            ]
        ),
        stale=st.booleans(),
    )
    def edit_measure(self, by, pick, change, stale):
        measure = self.measure(pick)
        version = measure.version - 1 if stale else measure.version
        result = self.attempt(
            services.measure_update, measure=measure, by=self.user(by), version=version, **change
        )
        after = Measure.objects.get(pk=measure.pk)
        if stale and result is not REFUSED and after.version != measure.version:
            self.ledger.find(f"{measure.code}: a stale edit was saved")

    # --- effect lines and values ---

    @rule(
        by=actor_among(*EDITORS),
        pick=picks,
        account=st.sampled_from(["pl_cost", "capex", "fte", "bogus"]),
        kind=st.sampled_from(
            [("benefit", "recurring"), ("benefit", "one_time"), ("cost_to_achieve", "one_time")]
        ),
        potential=st.sampled_from([None, Decimal("0"), Decimal("50000"), Decimal("-5")]),
    )
    def line_create(self, by, pick, account, kind, potential):
        measure, actor = self.measure(pick), self.user(by)
        result = self.attempt(
            services.effect_line_create,
            measure=measure,
            by=actor,
            account=account,
            nature=kind[0],
            recurrence=kind[1],
            annual_potential=potential,
            baseline_value=Decimal("1000"),
            baseline_definition="Last year",
        )
        if result is not REFUSED and self.frozen(measure):
            self.locked_change(measure, "a new effect line", actor)

    @rule(
        by=actor_among(*EDITORS),
        pick=picks,
        line=picks,
        change=st.sampled_from(
            [{"annual_potential": Decimal("1")}, {"baseline_value": Decimal("7")}, {"recurrence": "one_time"}]
        ),
    )
    def line_update(self, by, pick, line, change):
        measure, actor = self.measure(pick), self.user(by)
        target = self.nth(EffectLine.objects.filter(measure=measure), line)
        if target is None:
            return
        result = self.attempt(services.effect_line_update, line=target, by=actor, **change)
        if result is not REFUSED and self.frozen(measure):
            self.locked_change(measure, "an effect line update", actor)

    @rule(by=actor_among(*EDITORS), pick=picks, line=picks)
    def line_delete(self, by, pick, line):
        measure, actor = self.measure(pick), self.user(by)
        target = self.nth(EffectLine.objects.filter(measure=measure), line)
        if target is None:
            return
        head = self.audit_head()
        if self.attempt(services.effect_line_delete, line=target, by=actor) is REFUSED:
            return
        if self.frozen(measure):
            self.locked_change(measure, "deleting an effect line", actor)
        self.expect_audited(head, measure, "deleting an effect line")

    @rule(by=actor_among(*EDITORS), pick=picks, line=picks, month=months, series=series, amount=amounts)
    def value_set(self, by, pick, line, month, series, amount):
        measure, actor = self.measure(pick), self.user(by)
        target = self.nth(EffectLine.objects.filter(measure=measure), line)
        if target is None:
            return
        result = self.attempt(
            services.effect_value_set, line=target, month=month, series=series, amount=amount, by=actor
        )
        if result is REFUSED:
            return
        if far_month(month):
            self.ledger.find(f"{measure.code}: a {series} value for month {month!r} was accepted")
        if odd_amount(amount):
            self.ledger.find(f"{measure.code}: the amount {amount!r} was accepted")
        if series == Series.PLAN and self.frozen(measure):
            self.locked_change(measure, "a plan value", actor)

    @rule(by=actor_among(*EDITORS), pick=picks, value=picks, amount=amounts)
    def value_update(self, by, pick, value, amount):
        measure, actor = self.measure(pick), self.user(by)
        target = self.nth(EffectValue.objects.filter(measure=measure), value)
        if target is None:
            return
        result = self.attempt(services.effect_value_update, value=target, amount=amount, by=actor)
        if result is not REFUSED and odd_amount(amount):
            self.ledger.find(f"{measure.code}: the amount {amount!r} was accepted")

    @rule(by=actor_among(*EDITORS), pick=picks, value=picks)
    def value_delete(self, by, pick, value):
        measure, actor = self.measure(pick), self.user(by)
        target = self.nth(EffectValue.objects.filter(measure=measure), value)
        if target is None:
            return
        head = self.audit_head()
        if self.attempt(services.effect_value_delete, value=target, by=actor) is not REFUSED:
            self.expect_audited(head, measure, f"deleting a {target.series} value")

    @rule(by=actor_among(*EDITORS), pick=picks, line=picks, month=months, series=series, amount=amounts)
    def values_import(self, by, pick, line, month, series, amount):
        measure, actor = self.measure(pick), self.user(by)
        target = self.nth(EffectLine.objects.filter(measure=measure), line)
        if target is None:
            return
        text = f"line,month,series,amount\n{target.pk},{month},{series},{amount}\n"
        result = self.attempt(
            services.effect_values_import, measure=measure, by=actor, text=text, dry_run=False
        )
        if result is REFUSED:
            return
        if far_month(month):
            self.ledger.find(f"{measure.code}: an imported {series} value for month {month!r} was accepted")
        if odd_amount(amount):
            self.ledger.find(f"{measure.code}: the imported amount {amount!r} was accepted")

    # --- around the measure ---

    @rule(by=actor_among(*EDITORS), pick=picks, days=st.sampled_from([-30, 10, 90]), critical=st.booleans())
    def milestone_create(self, by, pick, days, critical):
        self.attempt(
            services.milestone_create,
            measure=self.measure(pick),
            by=self.user(by),
            title="Step",
            due_date=timezone.localdate() + timedelta(days=days),
            critical=critical,
        )

    @rule(by=actor_among(*EDITORS), pick=picks, milestone=picks, note=st.sampled_from(["", "Signed off"]))
    def milestone_complete(self, by, pick, milestone, note):
        measure = self.measure(pick)
        target = self.nth(Milestone.objects.filter(measure=measure), milestone)
        if target is not None:
            self.attempt(
                services.milestone_complete,
                milestone=target,
                by=self.user(by),
                completed_at=timezone.localdate(),
                evidence_note=note,
            )

    @rule(by=actor_among(*EDITORS), pick=picks, milestone=picks)
    def milestone_delete(self, by, pick, milestone):
        measure = self.measure(pick)
        target = self.nth(Milestone.objects.filter(measure=measure), milestone)
        if target is None:
            return
        head = self.audit_head()
        if self.attempt(services.milestone_delete, milestone=target, by=self.user(by)) is not REFUSED:
            self.expect_audited(head, measure, "deleting a milestone")

    @rule(by=actor_among(*EDITORS), pick=picks, probability=st.sampled_from([0, 3, 6]))
    def risk_create(self, by, pick, probability):
        self.attempt(
            services.risk_create,
            measure=self.measure(pick),
            by=self.user(by),
            title="Risk",
            probability=probability,
            impact=2,
        )

    @rule(by=actor_among(*EDITORS), pick=picks, risk=picks)
    def risk_delete(self, by, pick, risk):
        measure = self.measure(pick)
        target = self.nth(Risk.objects.filter(measure=measure), risk)
        if target is None:
            return
        head = self.audit_head()
        if self.attempt(services.risk_delete, risk=target, by=self.user(by)) is not REFUSED:
            self.expect_audited(head, measure, "deleting a risk")

    @rule(by=actor_among(*EDITORS), pick=picks, kind=st.sampled_from(list(DocumentKind.values)))
    def document_upload(self, by, pick, kind):
        self.attempt(
            services.document_upload,
            measure=self.measure(pick),
            by=self.user(by),
            uploaded_file=build.pdf("evidence.pdf"),
            kind=kind,
        )

    @rule(by=actor_among(*EDITORS), pick=picks, document=picks)
    def document_delete(self, by, pick, document):
        measure = self.measure(pick)
        target = self.nth(Document.objects.filter(measure=measure), document)
        if target is None:
            return
        head = self.audit_head()
        if self.attempt(services.document_delete, document=target, by=self.user(by)) is not REFUSED:
            self.expect_audited(head, measure, "deleting a document")

    @rule(
        by=actor_among(*EDITORS),
        pick=picks,
        other=picks,
        kind=st.sampled_from(["blocks", "relates", "overlaps"]),
    )
    def dependency_create(self, by, pick, other, kind):
        self.attempt(
            services.dependency_create,
            source=self.measure(pick),
            target=self.measure(other),
            kind=kind,
            by=self.user(by),
            share_percent=Decimal("25") if kind == "overlaps" else None,
        )

    @rule(by=actor_among(*EDITORS), pick=picks, dependency=picks)
    def dependency_delete(self, by, pick, dependency):
        measure = self.measure(pick)
        target = self.nth(Dependency.objects.filter(source=measure), dependency)
        if target is None:
            return
        head = self.audit_head()
        if self.attempt(services.dependency_delete, dependency=target, by=self.user(by)) is not REFUSED:
            self.expect_audited(head, measure, "deleting a dependency")

    # --- side states ---

    @rule(
        by=actor_among("owner", "sponsor", "pm"),
        pick=picks,
        action=st.sampled_from(["hold", "resume", "cancel"]),
    )
    def side_state(self, by, pick, action):
        service = {
            "hold": services.measure_hold,
            "resume": services.measure_resume,
            "cancel": services.measure_cancel,
        }[action]
        extra = {} if action == "resume" else {"reason": "Steering decision"}
        self.attempt(service, measure=self.measure(pick), by=self.user(by), **extra)

    # --- gates ---

    def pending_requests(self):
        return GateRequest.objects.filter(state=GateRequestState.PENDING, measure_id__in=self.measure_ids)

    def has_pending(self) -> bool:
        return self.pending_requests().exists()

    def submit(self, measure: Measure, by: str) -> None:
        request = self.attempt(services.gate_request_submit, measure=measure, by=self.user(by))
        if request is REFUSED:
            TALLY["submission refused"] += 1
            return
        TALLY[f"submitted DoI {request.to_doi}"] += 1
        self.ledger.request_owner[request.pk] = Measure.objects.get(pk=measure.pk).owner_id

    def decide(self, request: GateRequest, by: str, *, approve: bool) -> None:
        """Approve or reject as `by`; a refusal is counted, a decision is judged by the oracle."""
        measure, actor = request.measure, self.user(by)
        request_owner = self.ledger.request_owner.get(request.pk, request.owner_id)
        try:
            if approve:
                services.gate_request_approve(request=request, by=actor)
            else:
                services.gate_request_reject(request=request, by=actor, comment="Not yet")
        except DomainError as refusal:
            TALLY[f"refused: {type(refusal).__name__}"] += 1
            if actor.pk in (request.requested_by_id, request_owner, measure.owner_id):
                TALLY["refused: the requester or the owner (now or then)"] += 1
            return
        request.refresh_from_db()
        slot = request.approvals.get(user_id=actor.pk)
        wrong = model.approval_refusal(slot=slot, request=request, request_owner=request_owner)
        if approve:
            TALLY["approval"] += 1
            self.ledger.approvals[slot.pk] = wrong
        else:
            TALLY["rejection"] += 1
        if wrong:
            self.ledger.find(f"{measure.code}: {by} {'approved' if approve else 'rejected'}: {wrong}")
        if request.state == GateRequestState.APPROVED:
            TALLY[f"transition to DoI {request.to_doi}"] += 1
            if request.to_doi == 3:
                self.ledger.frozen(measure.pk)

    def decider(self, request: GateRequest, plausible: int, pick: int) -> str:
        """Seven times in ten someone who could decide (or whom four-eyes must stop), else anyone."""
        if plausible < 7:
            former = tuple(self.former_owners.get(request.measure_id, ()))
            names = [self.names[pk] for pk in model.could_decide(request, former_owners=former)]
            if names:
                return names[pick % len(names)]
        return ACTORS[pick % len(ACTORS)]

    @rule(by=actor_among("owner", "sponsor", "pm"), pick=picks)
    def gate_submit(self, by, pick):
        self.submit(self.measure(pick), by)

    @initialize(plausible=plausibly, pick=picks, who=picks)
    def open_a_gate(self, plausible, pick, who):
        """Every example starts with a request for a gate one of the measures is ready for."""
        self.submit_ready_gate(plausible=plausible, pick=pick, who=who)

    @rule(plausible=plausibly, pick=picks, who=picks)
    def submit_ready_gate(self, plausible, pick, who):
        """Ask for the next gate of a measure that meets its criteria (`gate_unmet`): six times in
        ten as its owner, one time in ten as its sponsor or a program manager (who may ask, but
        then, being the only one who may approve some gates, leave them to nobody), else anyone."""
        candidates = (
            Measure.objects.filter(pk__in=self.measure_ids, stage__in=ACTIVE_STAGES)
            .exclude(gate_requests__state=GateRequestState.PENDING)
            .select_related("package")
            .order_by("pk")
        )
        ready = [
            measure for measure in candidates if not gate_unmet(measure=measure, to_doi=measure.next_doi)
        ]
        ready.sort(key=lambda measure: GATE_PREFERENCE.index(measure.next_doi))
        if not ready:
            TALLY["no measure ready for its next gate"] += 1
            return
        measure = ready[pick % len(ready)]
        if plausible < 6 and measure.owner_id in self.names:
            by = self.names[measure.owner_id]
        elif plausible < 7 and measure.sponsor_id in self.names:
            by = [self.names[measure.sponsor_id], "pm"][who % 2]
        else:
            by = ACTORS[who % len(ACTORS)]
        self.submit(measure, by)

    @rule(
        by=actor_among("pm", "sponsor", "ctrl1", "ctrl2", "owner", "admin"),
        pick=picks,
        approve=st.sampled_from([True, True, True, False]),
    )
    def gate_decide(self, by, pick, approve):
        request = self.nth(self.pending_requests(), pick)
        if request is not None:
            self.decide(request, by, approve=approve)

    @precondition(lambda self: self.has_pending())
    @rule(pick=picks, deciders=deciders)
    def approve_pending(self, pick, deciders):
        """One to three people try to approve the same pending request, one after the other (so
        the two approvals of DoI 3, and a wrong person before the right one, happen in one step;
        each turn moves one person on, or Hypothesis's repeated draws would ask the same one)."""
        request = self.nth(self.pending_requests(), pick)
        for turn, (plausible, who) in enumerate(deciders):
            request.refresh_from_db()
            if request.state != GateRequestState.PENDING:
                return
            self.decide(request, self.decider(request, plausible, who + turn), approve=True)

    @precondition(lambda self: self.has_pending())
    @rule(pick=picks)
    def approve_in_turn(self, pick):
        """Everyone worth asking approves one pending request in turn, the likely entitled first,
        until it passes: the only rule that reliably completes the two approvals of DoI 3 (and so
        the plan freeze) before a random rejection ends the request."""
        request = self.nth(self.pending_requests(), pick)
        former = tuple(self.former_owners.get(request.measure_id, ()))
        for person in model.could_decide(request, former_owners=former):
            request.refresh_from_db()
            if request.state != GateRequestState.PENDING:
                return
            if person in self.names:
                self.decide(request, self.names[person], approve=True)

    @precondition(lambda self: self.has_pending())
    @rule(plausible=plausibly, pick=picks, who=picks)
    def reject_pending(self, plausible, pick, who):
        request = self.nth(self.pending_requests(), pick)
        self.decide(request, self.decider(request, plausible, who), approve=False)

    @precondition(lambda self: self.has_pending())
    @rule(pick=picks, to=st.sampled_from(["contrib", "contrib", "contrib", "pm"]))
    def hand_over_behind_the_back(self, pick, to):
        """A hand-over while a request is pending: the services must refuse it (DESIGN §5.1);
        made anyway as an out-of-band data fix, the request keeps the owner it recorded, and that
        former owner (who also holds the controller role) must still not approve it."""
        request = self.nth(self.pending_requests(), pick)
        measure, new = request.measure, self.world.users[to]
        if new in (measure.owner_id, measure.sponsor_id, measure.controller_id) or not (
            model.roles_held(new, measure.package) & model.FITTING_ROLES["owner"]
        ):
            return
        pm = self.user("pm")
        result = self.attempt(
            services.measure_update, measure=measure, by=pm, version=measure.version, owner=self.user(to)
        )
        if result is not REFUSED:
            self.ledger.find(
                f"{measure.code}: the owner was handed over while request {request.pk} was pending"
            )
            return
        Measure.objects.filter(pk=measure.pk).update(owner_id=new)
        if measure.owner_id is not None:
            self.former_owners.setdefault(measure.pk, []).append(measure.owner_id)
        TALLY["hand-over behind the back"] += 1

    # Hypothesis draws every rule about as often as any other (it has no weights), and among some
    # forty rules a gate, which needs a submission and then one or two approvals in the same
    # example, would rarely pass: the gate rules are registered again under other names.
    approve_pending_again = precondition(lambda self: self.has_pending())(
        rule(pick=picks, deciders=deciders)(copy_of(approve_pending, "approve_pending_again"))
    )
    approve_pending_once_more = precondition(lambda self: self.has_pending())(
        rule(pick=picks, deciders=deciders)(copy_of(approve_pending, "approve_pending_once_more"))
    )
    approve_pending_yet_again = precondition(lambda self: self.has_pending())(
        rule(pick=picks, deciders=deciders)(copy_of(approve_pending, "approve_pending_yet_again"))
    )

    # --- actuals ---

    @rule(by=actor_among("owner", "pm"), pick=picks)
    def actuals_submit(self, by, pick):
        self.attempt(services.actuals_submit, measure=self.measure(pick), by=self.user(by))

    @rule(by=actor_among("ctrl1", "ctrl2", "owner"), pick=picks, value=picks, validate=st.booleans())
    def actual_decide(self, by, pick, value, validate):
        submitted = EffectValue.objects.filter(
            measure_id__in=self.measure_ids, series=Series.ACTUAL, validation_state=ValidationState.SUBMITTED
        )
        target = self.nth(submitted, value + pick)
        if target is None:
            return
        measure, actor = Measure.objects.select_related("package").get(pk=target.measure_id), self.user(by)
        if not validate:
            self.attempt(services.actual_reject, value=target, by=actor, comment="Wrong month")
            return
        if self.attempt(services.actual_validate, value=target, by=actor) is REFUSED:
            return
        target.refresh_from_db()
        self.ledger.validated_actual(target)
        if ScopeRole.CONTROLLER not in model.roles_held(actor.pk, measure.package) or actor.pk in (
            measure.owner_id,
            target.entered_by_id,
        ):
            self.ledger.find(f"{measure.code}: {by} validated an actual without the right")

    # --- re-baselines ---

    @rule(
        by=actor_among("owner", "pm"),
        pick=picks,
        cells=st.lists(st.tuples(picks, months, st.one_of(st.none(), amounts)), min_size=1, max_size=3),
    )
    def rebaseline_submit(self, by, pick, cells):
        measure = self.measure(pick)
        lines = list(EffectLine.objects.filter(measure=measure).order_by("pk").values_list("pk", flat=True))
        if not lines:
            return
        values = [
            {"line": lines[line % len(lines)], "month": str(month), "amount": amount}
            for line, month, amount in cells
        ]
        result = self.attempt(
            services.rebaseline_request_submit,
            measure=measure,
            by=self.user(by),
            reason="Scope cut",
            values=values,
        )
        if result is REFUSED:
            return
        for _, month, amount in cells:
            if far_month(month):
                self.ledger.find(f"{measure.code}: a re-baseline to month {month!r} was accepted")
            if amount is not None and odd_amount(amount):
                self.ledger.find(f"{measure.code}: a re-baseline amount {amount!r} was accepted")

    @rule(
        by=actor_among("ctrl1", "ctrl2", "owner"),
        pick=picks,
        approve=st.sampled_from([True, True, True, False]),
    )
    def rebaseline_decide(self, by, pick, approve):
        pending = RebaselineRequest.objects.filter(
            state=RebaselineState.PENDING, measure_id__in=self.measure_ids
        )
        request = self.nth(pending, pick)
        if request is None:
            return
        measure, actor = Measure.objects.select_related("package").get(pk=request.measure_id), self.user(by)
        if not approve:
            self.attempt(services.rebaseline_request_reject, request=request, by=actor, comment="No")
            return
        if self.attempt(services.rebaseline_request_approve, request=request, by=actor) is REFUSED:
            return
        request.refresh_from_db()
        self.ledger.rebaselined(measure.pk, request.values, request.version_id)
        held = model.roles_held(actor.pk, measure.package)
        if ScopeRole.CONTROLLER not in held or actor.pk in (measure.owner_id, request.requested_by_id):
            self.ledger.find(f"{measure.code}: {by} approved a re-baseline without the right")

    # --- memberships ---

    @rule(
        by=actor_among("admin"),
        person=st.sampled_from([name for name in ACTORS if name != "admin"]),
        scope=st.sampled_from(["program", "package", "sibling"]),
        role=st.sampled_from(list(ScopeRole.values)),
    )
    def grant_role(self, by, person, scope, role):
        self.attempt(
            services.membership_create,
            user=self.user(person),
            scope=Scope.objects.get(pk=self.world.scopes[scope]),
            role=role,
            by=self.user(by),
        )

    @rule(by=actor_among("admin"), membership=picks)
    def revoke_role(self, by, membership):
        ours = Membership.objects.filter(user_id__in=list(self.world.users.values()))
        target = self.nth(ours, membership)
        if target is not None:
            self.attempt(services.membership_delete, membership=target, by=self.user(by))

    # --- invariants (each one is a function of integrity_model) ---

    @invariant()
    def transitions_have_their_approvals(self):
        for doi in model.check_transitions_have_their_approvals(self.ledger):
            TALLY[f"checked transition to DoI {doi}"] += 1

    @invariant()
    def locked_values_match_the_ledger(self):
        model.check_locked_values_match_the_ledger(self.ledger)

    @invariant()
    def stored_figures_equal_scratch(self):
        # Every fifth step (and the first): the refresh and the full computation cost ~250 ms, and
        # a stale row stays stale until its measure is marked again, so little escapes.
        self.steps += 1
        if self.steps % 5 == 1:
            model.check_stored_figures_equal_scratch()

    @invariant()
    def audit_chain_verifies(self):
        model.check_audit_chain()

    @invariant()
    def people_are_three_fitting_people(self):
        model.check_people_of_measures(self.ledger)

    @invariant()
    def no_value_outside_the_horizon(self):
        model.check_no_value_outside_the_horizon()

    @invariant()
    def no_rule_was_broken(self):
        model.check_no_findings(self.ledger)


def test_random_use_keeps_every_integrity_rule(world):
    IntegrityMachine.world = world
    TALLY.clear()
    machine = seed(SEED)(IntegrityMachine)
    run_state_machine_as_test(
        machine,
        settings=settings(
            max_examples=EXAMPLES,
            stateful_step_count=STEPS,
            deadline=None,
            database=None,
            print_blob=False,
            suppress_health_check=list(HealthCheck),
        ),
    )
    print(f"\nGates over {EXAMPLES} examples of {STEPS} steps:")
    for what, count in sorted(TALLY.items()):
        print(f"  {what}: {count}")
    checked = sum(TALLY[f"checked transition to DoI {doi}"] for doi in range(1, 6))
    assert checked >= transitions_floor(EXAMPLES), (
        f"the machine reached too few gates for the four-eyes invariant to mean anything: {dict(TALLY)}"
    )


# --- One regression test per reported hole ----------------------------------------------------------


def _status(exc: DomainError) -> int:
    return exc.status_code


def test_owner_cannot_delete_a_line_of_a_doi4_measure_put_on_hold(doi4, people):
    measure = Measure.objects.get(pk=doi4.pk)
    validated = model.db_validated()
    versions = PlanVersionValue.objects.filter(version__measure=measure).count()
    services.measure_hold(measure=measure, by=people["owner"], reason="Budget freeze")
    line = build.benefit_line(measure)
    with pytest.raises(DomainError) as refused:
        services.effect_line_delete(line=line, by=people["owner"])
    assert _status(refused.value) == 409
    assert model.db_validated() == validated
    assert PlanVersionValue.objects.filter(version__measure=measure).count() == versions


def test_owner_cannot_change_plan_values_of_a_doi3_measure_put_on_hold(doi3, people):
    measure = Measure.objects.get(pk=doi3.pk)
    plan = model.db_plan(measure.pk)
    services.measure_hold(measure=measure, by=people["owner"], reason="Budget freeze")
    value = measure.effect_values.filter(series=Series.PLAN).first()
    with pytest.raises(Conflict):
        services.effect_value_update(value=value, amount="1", by=people["owner"])
    with pytest.raises(Conflict):
        services.effect_line_update(line=value.line, by=people["owner"], annual_potential=Decimal("1"))
    assert model.db_plan(measure.pk) == plan


def test_deleting_a_milestone_writes_an_audit_row_in_the_same_transaction(doi0, people):
    measure = Measure.objects.get(pk=doi0.pk)
    milestone = services.milestone_create(
        measure=measure, by=people["owner"], title="Pilot", due_date=timezone.localdate()
    )
    head = AuditEntry.objects.order_by("-id").values_list("id", flat=True).first()
    services.milestone_delete(milestone=milestone, by=people["owner"])
    assert AuditEntry.objects.filter(id__gt=head, measure_id=measure.pk).exists()


def _doi5_request(doi4, people) -> tuple[Measure, GateRequest]:
    measure = Measure.objects.get(pk=doi4.pk)
    # The actual still awaiting validation is not needed for closure; validate it to keep it simple.
    for value in measure.effect_values.filter(validation_state=ValidationState.SUBMITTED):
        services.actual_validate(value=value, by=people["ctrl1"])
    return measure, services.gate_request_submit(measure=measure, by=people["sponsor"])


def test_ownership_cannot_change_while_a_doi5_request_is_pending(doi4, people):
    measure, _ = _doi5_request(doi4, people)
    for by in (people["pm"], people["admin"]):
        measure.refresh_from_db()
        with pytest.raises(Conflict):
            services.measure_update(measure=measure, by=by, version=measure.version, owner=people["contrib"])
    with pytest.raises(DomainError) as refused:
        services.measure_update(
            measure=measure, by=people["owner"], version=measure.version, owner=people["contrib"]
        )
    assert _status(refused.value) in (403, 409)
    assert Measure.objects.get(pk=measure.pk).owner_id == people["owner"].pk


def test_the_owner_at_request_time_may_not_sign_off_even_after_a_hand_over(doi4, people):
    """The request records its owner: a hand-over that reached the row anyway (an admin data fix,
    a migration) does not make the former owner, who also holds the controller role, an approver."""
    measure, request = _doi5_request(doi4, people)
    assert getattr(request, "owner_id", people["owner"].pk) == people["owner"].pk
    Measure.objects.filter(pk=measure.pk).update(owner=people["contrib"])
    with pytest.raises(FourEyes):
        services.gate_request_approve(request=request, by=people["owner"])
    with pytest.raises(FourEyes):
        services.gate_request_approve(request=request, by=people["sponsor"])  # the requester


def test_a_hand_over_before_the_request_makes_the_new_owner_the_requests_owner(doi4, people):
    """Hand-over first (by the program manager, nothing pending): the request records the new
    owner, so the former owner — a controller of the scope — may give the DoI 5 sign-off."""
    measure = Measure.objects.get(pk=doi4.pk)
    for value in measure.effect_values.filter(validation_state=ValidationState.SUBMITTED):
        services.actual_validate(value=value, by=people["ctrl1"])
    measure.refresh_from_db()
    services.measure_update(
        measure=measure, by=people["pm"], version=measure.version, owner=people["contrib"]
    )
    request = services.gate_request_submit(measure=measure, by=people["contrib"])
    assert getattr(request, "owner_id", people["contrib"].pk) == people["contrib"].pk
    services.gate_request_approve(request=request, by=people["owner"])
    assert Measure.objects.get(pk=measure.pk).stage == Stage.CLOSED


def test_owner_cannot_name_themselves_sponsor_or_drop_the_controller(doi0, people, api):
    measure = Measure.objects.get(pk=doi0.pk)
    owner = people["owner"]
    with pytest.raises(PermissionRefused):
        services.measure_update(measure=measure, by=owner, version=measure.version, sponsor=owner)
    with pytest.raises(PermissionRefused):
        services.measure_update(measure=measure, by=owner, version=measure.version, controller=None)
    url = f"/api/v1/measures/{measure.pk}/"
    client = api.as_user(owner)
    assert (
        client.patch(url, {"version": measure.version, "sponsor": owner.pk}, format="json").status_code == 403
    )
    assert (
        client.patch(url, {"version": measure.version, "controller": None}, format="json").status_code == 403
    )
    after = Measure.objects.get(pk=measure.pk)
    assert (after.sponsor_id, after.controller_id) == (people["sponsor"].pk, people["ctrl1"].pk)


@pytest.mark.parametrize("month", ["0001-01-01", "9999-12-01", "0001-01", "9999-12"])
def test_effect_values_outside_the_fiscal_horizon_are_refused_naming_the_month(doi0, people, api, month):
    measure = Measure.objects.get(pk=doi0.pk)
    line = measure.effect_lines.first()
    with pytest.raises(InvalidInput) as refused:
        services.effect_value_set(line=line, month=month, series=Series.PLAN, amount="10", by=people["owner"])
    assert "month" in json.dumps(refused.value.details)
    response = api.as_user(people["owner"]).post(
        "/api/v1/effect-values/",
        {"line": line.pk, "month": month, "series": "plan", "amount": "10"},
        format="json",
    )
    assert response.status_code == 400 and "month" in json.dumps(response.json())
    assert not EffectValue.objects.filter(line=line).exists()


@pytest.mark.parametrize("amount", ["١٢٣", "1_000", "NaN", "Infinity", "٣.٥"])
def test_amounts_must_be_finite_ascii_numbers(doi0, people, api, amount):
    measure = Measure.objects.get(pk=doi0.pk)
    line = measure.effect_lines.first()
    month = build.fy_months()[0]
    with pytest.raises(InvalidInput):
        services.effect_value_set(
            line=line, month=month, series=Series.PLAN, amount=amount, by=people["owner"]
        )
    response = api.as_user(people["owner"]).post(
        "/api/v1/effect-values/",
        {"line": line.pk, "month": f"{month:%Y-%m-%d}", "series": "plan", "amount": amount},
        format="json",
    )
    assert response.status_code == 400, response.content
    assert not EffectValue.objects.filter(line=line).exists()


def test_a_stale_people_change_is_refused(doi0, people):
    measure = Measure.objects.get(pk=doi0.pk)
    with pytest.raises(StaleVersion):
        services.measure_update(
            measure=measure, by=people["pm"], version=measure.version - 1, sponsor=people["contrib"]
        )
