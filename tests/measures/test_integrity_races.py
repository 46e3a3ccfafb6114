"""Racing the governance core on PostgreSQL (DESIGN §5.1 "Concurrency", ADR 0016 "One lock order").

Threads on separate connections approve a gate, put the measure on hold, edit it, change its
people, validate an actual and approve a re-baseline at the same moment, several rounds. Every
outcome must be a result or a `DomainError` (a 4xx): a deadlock, a serialization failure or any
other exception is a 500 waiting to happen. Afterwards the invariants of `integrity_model` hold.
"""

from __future__ import annotations

import threading
from collections.abc import Callable

import pytest
from django.contrib.auth import get_user_model
from django.db import connection, connections

from config.errors import DomainError
from measures import services
from measures.choices import GateRequestState, RebaselineState, Series, Stage, ValidationState
from measures.models import EffectValue, GateRequest, Measure, RebaselineRequest
from tests.measures import effects_builders as build
from tests.measures import integrity_model as model
from tests.measures.test_integrity_properties import (
    builder_cast,
    complete_milestones,
    make_people,
    ready_measure,
    submitted_actuals,
)

pytestmark = [pytest.mark.postgres_concurrency]
ROUNDS = 3
HOLD_ROUNDS = 8


@pytest.fixture
def people(make_user, tree, admin_user, settings, tmp_path):
    """The actors of the property test: pm, ctrl1, ctrl2, owner (also a controller), contrib,
    sponsor, viewer, admin, outsider."""
    settings.MEDIA_ROOT = tmp_path
    return make_people(make_user, tree, admin_user)


def run_together(calls: dict[str, Callable]) -> dict[str, object]:
    """Start every call at the same moment, each on its own thread and connection; return each
    call's result or exception. A thread still running after 60 s is reported as a hang."""
    barrier = threading.Barrier(len(calls))
    outcomes: dict[str, object] = dict.fromkeys(calls, "hung")

    def run(name: str, call: Callable) -> None:
        try:
            barrier.wait(timeout=10)
            outcomes[name] = call()
        except Exception as exc:  # noqa: BLE001 - the outcome is what the test inspects
            outcomes[name] = exc
        finally:
            connections.close_all()

    threads = [threading.Thread(target=run, args=item) for item in calls.items()]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    return outcomes


def assert_only_domain_refusals(outcomes: dict[str, object]) -> None:
    """No 500: every call returned or was refused with a DomainError."""
    bad = {
        name: repr(outcome)
        for name, outcome in outcomes.items()
        if outcome == "hung" or (isinstance(outcome, BaseException) and not isinstance(outcome, DomainError))
    }
    assert not bad, bad


def fresh(name_to_pk: dict[str, int], name: str):
    return get_user_model().objects.get(pk=name_to_pk[name])


def _round_measure(people: dict, package, title: str) -> dict:
    """A DoI 3 measure with a pending DoI 4 request (by the owner), an actual awaiting validation
    and a pending re-baseline request (by the owner)."""
    measure = build.to_doi3(ready_measure(people, package, title), builder_cast(people))
    complete_milestones(measure, people)
    submitted_actuals(measure, people, build.fy_months()[:1])
    line = build.benefit_line(measure)
    gate = services.gate_request_submit(measure=measure, by=people["owner"])
    rebaseline = services.rebaseline_request_submit(
        measure=measure,
        by=people["owner"],
        reason="Volume lower",
        values=[{"line": line.pk, "month": build.fy_months()[5].isoformat(), "amount": "8000"}],
    )
    actual = EffectValue.objects.get(
        measure=measure, series=Series.ACTUAL, validation_state=ValidationState.SUBMITTED
    )
    return {"measure": measure.pk, "gate": gate.pk, "rebaseline": rebaseline.pk, "actual": actual.pk}


def _racers(pks: dict[str, int], ids: dict[str, int]) -> dict[str, Callable]:
    measure_version = Measure.objects.get(pk=ids["measure"]).version

    def approve_gate():
        return services.gate_request_approve(
            request=GateRequest.objects.get(pk=ids["gate"]), by=fresh(pks, "sponsor"), comment="Go"
        )

    def hold():
        return services.measure_hold(
            measure=Measure.objects.get(pk=ids["measure"]), by=fresh(pks, "owner"), reason="Budget freeze"
        )

    def edit():
        return services.measure_update(
            measure=Measure.objects.get(pk=ids["measure"]),
            by=fresh(pks, "pm"),
            version=measure_version,
            business_unit="Cards",
        )

    def change_sponsor():
        measure = Measure.objects.get(pk=ids["measure"])
        return services.measure_update(
            measure=measure, by=fresh(pks, "pm"), version=measure.version, sponsor=fresh(pks, "contrib")
        )

    def validate():
        return services.actual_validate(
            value=EffectValue.objects.get(pk=ids["actual"]), by=fresh(pks, "ctrl2")
        )

    def approve_rebaseline():
        return services.rebaseline_request_approve(
            request=RebaselineRequest.objects.get(pk=ids["rebaseline"]), by=fresh(pks, "ctrl1")
        )

    def edit_forecast():
        value = EffectValue.objects.filter(measure_id=ids["measure"], series=Series.FORECAST).first()
        return services.effect_value_update(value=value, amount="9500", by=fresh(pks, "owner"))

    return {
        "approve_gate": approve_gate,
        "hold": hold,
        "edit": edit,
        "change_sponsor": change_sponsor,
        "validate": validate,
        "approve_rebaseline": approve_rebaseline,
        "edit_forecast": edit_forecast,
    }


def _record(ledger: model.Ledger, ids: dict[str, int], outcomes: dict[str, object]) -> None:
    """What the audited services that won did, for the ledger (the model of locked values)."""
    if not isinstance(outcomes["validate"], BaseException):
        ledger.validated_actual(EffectValue.objects.get(pk=ids["actual"]))
    if not isinstance(outcomes["approve_rebaseline"], BaseException):
        request = RebaselineRequest.objects.get(pk=ids["rebaseline"])
        ledger.rebaselined(ids["measure"], request.values, request.version_id)


def _assert_invariants(ledger: model.Ledger) -> None:
    model.check_transitions_have_their_approvals(ledger)
    model.check_locked_values_match_the_ledger(ledger)
    model.check_stored_figures_equal_scratch()
    model.check_audit_chain()
    model.check_people_of_measures(ledger)
    model.check_no_value_outside_the_horizon()


def test_approve_hold_edit_validate_and_rebaseline_race_cleanly(transactional_db, people, tree):
    assert connection.vendor == "postgresql"
    pks = {name: user.pk for name, user in people.items()}
    rounds = [_round_measure(people, tree.package, f"Race {n}") for n in range(ROUNDS)]
    ledger = model.Ledger.from_database()
    for ids in rounds:
        outcomes = run_together(_racers(pks, ids))
        assert_only_domain_refusals(outcomes)
        _record(ledger, ids, outcomes)
        measure = Measure.objects.get(pk=ids["measure"])
        gate = GateRequest.objects.get(pk=ids["gate"])
        # Exactly one of: the gate passed (then maybe held from DoI 4), or the hold withdrew it.
        assert (gate.state, measure.stage) in {
            (GateRequestState.APPROVED, Stage.IMPLEMENTED),
            (GateRequestState.APPROVED, Stage.ON_HOLD),
            (GateRequestState.WITHDRAWN, Stage.ON_HOLD),
        }, (gate.state, measure.stage, outcomes)
        assert RebaselineRequest.objects.get(pk=ids["rebaseline"]).state in RebaselineState.values
        _assert_invariants(ledger)


def test_approve_and_hold_never_deadlock(transactional_db, people, tree):
    """DESIGN §5.1 / ADR 0016: approve and hold lock the measure row first, then the request."""
    pks = {name: user.pk for name, user in people.items()}
    ledger = model.Ledger.from_database()
    for n in range(HOLD_ROUNDS):
        measure = ready_measure(people, tree.package, f"Hold race {n}")
        gate = services.gate_request_submit(measure=measure, by=people["owner"])
        outcomes = run_together(
            {
                "approve": lambda gate=gate: services.gate_request_approve(
                    request=GateRequest.objects.get(pk=gate.pk), by=fresh(pks, "pm")
                ),
                "hold": lambda measure=measure: services.measure_hold(
                    measure=Measure.objects.get(pk=measure.pk), by=fresh(pks, "owner"), reason="Pause"
                ),
                "reject": lambda gate=gate: services.gate_request_reject(
                    request=GateRequest.objects.get(pk=gate.pk), by=fresh(pks, "admin"), comment="No"
                ),
            }
        )
        assert_only_domain_refusals(outcomes)
        assert Measure.objects.get(pk=measure.pk).stage == Stage.ON_HOLD or not isinstance(
            outcomes["hold"], Measure
        )
    _assert_invariants(ledger)


def test_validated_actuals_and_frozen_plan_survive_racing_deletes(transactional_db, people, tree):
    """Deleting lines and values while the controller validates: nothing validated or frozen goes."""
    pks = {name: user.pk for name, user in people.items()}
    ids = _round_measure(people, tree.package, "Delete race")
    services.measure_hold(measure=Measure.objects.get(pk=ids["measure"]), by=people["owner"], reason="Pause")
    ledger = model.Ledger.from_database()
    line = build.benefit_line(Measure.objects.get(pk=ids["measure"]))
    plan_value = EffectValue.objects.filter(line=line, series=Series.PLAN).first()
    outcomes = run_together(
        {
            "validate": lambda: services.actual_validate(
                value=EffectValue.objects.get(pk=ids["actual"]), by=fresh(pks, "ctrl2")
            ),
            "delete_line": lambda: services.effect_line_delete(line=line, by=fresh(pks, "owner")),
            "delete_plan_value": lambda: services.effect_value_delete(value=plan_value, by=fresh(pks, "pm")),
            "approve_rebaseline": lambda: services.rebaseline_request_approve(
                request=RebaselineRequest.objects.get(pk=ids["rebaseline"]), by=fresh(pks, "ctrl1")
            ),
        }
    )
    assert_only_domain_refusals(outcomes)
    _record(ledger, ids, outcomes)
    assert isinstance(outcomes["delete_line"], DomainError), outcomes
    assert isinstance(outcomes["delete_plan_value"], DomainError), outcomes
    _assert_invariants(ledger)
