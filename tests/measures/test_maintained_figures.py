"""The maintained figure rows (ADR 0013) always equal a computation from scratch.

The demo portfolio gives every stage, light and series; random changes then hit each input the
triggers watch — through the ORM, so that no code path can forget to mark a measure — and after
each round every measure's stored figures and every roll-up must equal the from-scratch result.
"""

from __future__ import annotations

import random
from datetime import timedelta
from decimal import Decimal

import pgtrigger
import pytest
from django.contrib.auth import get_user_model
from django.db import transaction
from django.utils import timezone

from measures import demo as measure_demo
from measures.choices import Series, Stage, ValidationState
from measures.models import (
    EffectLine,
    EffectValue,
    FigureDirty,
    FigureRow,
    Measure,
    Milestone,
    PlanVersion,
    PlanVersionValue,
    Scope,
    ScopeFigureRow,
)
from measures.selectors import figures
from measures.services import effects as effect_services


@pytest.fixture
def leader(db):
    """The demo's leadership reader, who sees every measure."""
    measure_demo.load()
    assert Measure.objects.count() >= 20
    return get_user_model().objects.get(username="leader")


def _assert_stored_equals_scratch(user) -> None:
    everything = Measure.objects.all()
    stored = figures.figures_for(everything)
    assert not FigureDirty.objects.exists()
    assert FigureRow.objects.count() == Measure.objects.count()
    scratch = figures.compute_figures(everything)
    assert stored == scratch
    rows = FigureRow.objects.all()
    assert figures._stored_rollup(None, rows, None) == figures._rollup(None, scratch, timezone.localdate())
    assert figures._stored_by_doi(rows) == figures._computed_by_doi(scratch)
    assert figures._stored_matrix(rows) == figures._computed_matrix(scratch)
    assert figures._stored_red(rows, None) == figures._computed_red(scratch, None)
    assert figures.portfolio_figures(user=user) == figures._rollup(None, scratch, timezone.localdate())
    assert ScopeFigureRow.objects.count() == Scope.objects.count()
    for scope in Scope.objects.all():  # the stored scope rows (user sees every scope)
        below = figures.compute_figures(figures._scope_measures(user, scope))
        assert figures.scope_figures(scope=scope, user=user) == figures._rollup(
            scope.pk, below, timezone.localdate()
        )
        assert figures.value_by_doi(user=user, scope=scope) == figures._computed_by_doi(below)
        assert figures.status_matrix(user=user, scope=scope) == figures._computed_matrix(below)


# Raw writes that go around the services on purpose (the triggers must see every write); the
# database's own protection of validated actuals and frozen plans (ADR 0016) is lifted for them.
FINAL_ROWS = (
    "measures.EffectValue:validated_actual_final",
    "measures.PlanVersion:frozen",
    "measures.PlanVersionValue:frozen",
)


def _delete_measure(measure: Measure) -> None:
    PlanVersionValue.objects.filter(version__measure=measure).delete()
    PlanVersion.objects.filter(measure=measure).delete()
    EffectValue.objects.filter(measure=measure).delete()
    measure.delete()


def _random_changes(rng: random.Random) -> None:
    with pgtrigger.ignore(*FINAL_ROWS):
        _raw_changes(rng)


def _raw_changes(rng: random.Random) -> None:
    values = list(EffectValue.objects.order_by("pk"))
    for value in rng.sample(values, min(15, len(values))):
        value.amount = Decimal(rng.randrange(0, 40_000)) + Decimal("0.25")
        value.save(update_fields=["amount"])
    actuals = list(EffectValue.objects.filter(series=Series.ACTUAL).order_by("pk"))
    for value in rng.sample(actuals, min(5, len(actuals))):
        value.validation_state = rng.choice([ValidationState.VALIDATED, ValidationState.SUBMITTED])
        value.save(update_fields=["validation_state"])
    EffectValue.objects.filter(pk__in=[v.pk for v in rng.sample(values, 3)]).delete()
    line = rng.choice(list(EffectLine.objects.all()))
    EffectLine.objects.filter(pk=line.pk).update(annual_potential=Decimal(rng.randrange(1, 900_000)))
    milestones = list(Milestone.objects.order_by("pk"))
    for milestone in rng.sample(milestones, min(4, len(milestones))):
        milestone.due_date = timezone.localdate() - timedelta(days=rng.randrange(-30, 90))
        milestone.critical = rng.random() < 0.5
        milestone.save(update_fields=["due_date", "critical"])
    measures = list(Measure.objects.order_by("pk"))
    chosen = rng.choice(measures)
    Measure.objects.filter(pk=chosen.pk).update(
        potential_override=rng.choice(["", "red", "green"]), potential_override_comment="steering call"
    )
    Measure.objects.filter(pk=rng.choice(measures).pk).update(
        stage=rng.choice([Stage.CANCELLED, Stage.DECIDED])
    )
    packages = list(Scope.objects.filter(kind="package").order_by("pk"))
    moved = rng.choice(measures)
    Measure.objects.filter(pk=moved.pk).update(package=rng.choice(packages))  # old and new scopes change
    if rng.random() < 0.5:
        _delete_measure(rng.choice(measures))
    program = rng.choice(list(Scope.objects.filter(kind="program")))
    program.potential_tolerance_percent = Decimal(rng.randrange(0, 30))
    program.milestone_red_days = rng.randrange(1, 40)
    program.save()


def test_stored_figures_equal_a_computation_from_scratch_after_random_changes(leader):
    rng = random.Random(20261127)
    _assert_stored_equals_scratch(leader)
    for _ in range(5):
        _random_changes(rng)
        assert FigureDirty.objects.exists()  # the triggers saw the changes
        _assert_stored_equals_scratch(leader)


def test_a_changed_effect_value_moves_the_portfolio_figure_on_the_next_read(leader):
    before = figures.portfolio_figures(user=leader)
    value = (
        EffectValue.objects.filter(
            series=Series.PLAN, measure__stage=Stage.DEFINED, measure__owner__isnull=False
        )
        .order_by("pk")
        .first()
    )
    effect_services.effect_value_update(value=value, amount=value.amount + 1000, by=value.measure.owner)
    after = figures.portfolio_figures(user=leader)
    assert after.plan.get(value.line.recurrence) - before.plan.get(value.line.recurrence) == Decimal("1000")


def test_a_changed_setting_rebuilds_every_row(leader, settings):
    figures.figures_for(Measure.objects.all())
    settings.VALUEGATE_PIPELINE_WEIGHTS = [0, 0, 0, 0, 0, 0]
    assert not figures.refresh_figures().everything  # rebuilt at once
    assert all(row.pipeline.recurring == 0 for row in figures.figures_for(Measure.objects.all()))


def test_inside_a_callers_transaction_figures_see_its_changes_without_writing_rows(leader):
    figures.figures_for(Measure.objects.all())
    value = EffectValue.objects.filter(series=Series.PLAN).order_by("pk").first()
    stored = FigureRow.objects.get(measure=value.measure_id).plan_recurring
    with transaction.atomic():
        EffectValue.objects.filter(pk=value.pk).update(amount=value.amount + 500)
        seen = figures.figures_for(Measure.objects.filter(pk=value.measure_id))[0]
        assert FigureRow.objects.get(measure=value.measure_id).plan_recurring == stored
        assert seen == figures.compute_figures(Measure.objects.filter(pk=value.measure_id))[0]
        assert figures.portfolio_figures(user=leader) == figures._rollup(
            None, figures.compute_figures(Measure.objects.all()), timezone.localdate()
        )
