"""Derived financial figures and the potential light (DESIGN §5.2, §5.3) — the one place each
figure is computed; pages, the API, dashboards and PDFs call these functions.

How the numbers are made (ADR 0008):
- One SQL statement aggregates the effect values of any set of measures per measure × recurrence ×
  nature: per line and month it takes the estimate (validated actual, else forecast, else plan),
  then sums target, plan, forecast, validated actual, estimate, the fiscal-year slices and the
  run-rate months. Its cost does not depend on how many measures are asked for in queries, only in
  rows; roll-ups then add up one small row per measure.
- Money is always split into `recurring` and `one_time` (`Money`); the two are never added.
- Figures of benefit lines are the value (target, plan, …); cost-to-achieve lines appear only as
  `cost_to_achieve` and in `net` (benefits − costs-to-achieve).
- Run rates concern recurring benefit lines only: before DoI 3 the annualized potential, from DoI 3
  the estimate of the last closed month × 12. The planned run rate is the plan of the plan's last
  month × 12, the exit run rate the estimate of that same month × 12, the validated run rate the
  validated actuals of the latest validated month × 12.
- Cancelled measures are counted but carry no money in roll-ups.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal

from django.conf import settings
from django.db import connection, transaction
from django.db.models import Case, Count, F, Q, QuerySet, Sum, Value, When
from django.db.models.functions import Coalesce
from django.utils import timezone

from measures import permissions
from measures.choices import DOI_NAMES, Nature, Recurrence, Series, Stage, ValidationState
from measures.models import (
    EffectLine,
    EffectValue,
    FigureBasis,
    FigureDirty,
    FigureRow,
    Measure,
    Milestone,
    Scope,
    ScopeFigureRow,
)
from measures.models.figures import MONEY_FIGURES
from readcache.selectors import in_callers_transaction

ZERO = Decimal("0")
LIGHT_NAMES = ["grey", "green", "amber", "red"]


# --- Value types --------------------------------------------------------------------------------


@dataclass(frozen=True)
class Money:
    """An amount split into recurring and one-time value, which are never added together."""

    recurring: Decimal = ZERO
    one_time: Decimal = ZERO

    def __add__(self, other: Money) -> Money:
        return Money(self.recurring + other.recurring, self.one_time + other.one_time)

    def __sub__(self, other: Money) -> Money:
        return Money(self.recurring - other.recurring, self.one_time - other.one_time)

    def scaled(self, factor: Decimal) -> Money:
        cent = Decimal("0.01")
        return Money((self.recurring * factor).quantize(cent), (self.one_time * factor).quantize(cent))

    def positive(self) -> Money:
        return Money(max(self.recurring, ZERO), max(self.one_time, ZERO))

    def get(self, recurrence: str) -> Decimal:
        return self.recurring if recurrence == Recurrence.RECURRING else self.one_time


@dataclass(frozen=True)
class Light:
    """A status light: the computed colour with its reason, and the override beside it."""

    computed: str
    reason: str
    override: str = ""
    override_comment: str = ""

    @property
    def status(self) -> str:
        """The colour shown: the override when there is one, else the computed colour."""
        return self.override or self.computed


@dataclass(frozen=True)
class FiscalYear:
    start: date  # first month
    end: date  # last month

    @property
    def label(self) -> str:
        if self.start.month == 1:
            return f"FY {self.start.year}"
        return f"FY {self.start.year}/{str(self.end.year)[2:]}"


@dataclass(frozen=True)
class MeasureFigures:
    """Every derived figure of one measure (DESIGN §5.2) and its two lights (§5.3)."""

    measure_id: int
    code: str
    title: str
    doi: int
    stage: str
    fiscal_year: FiscalYear
    target: Money
    plan: Money
    forecast: Money
    actual: Money  # validated actuals only
    estimate: Money  # per line-month: validated actual, else forecast, else plan
    in_year: Money  # Σ estimate over the current fiscal year
    plan_in_year: Money
    cost_to_achieve: Money  # estimate of the cost-to-achieve lines
    net: Money  # estimate − cost_to_achieve
    gap: Money  # target − estimate
    committed: Money  # plan when DoI ≥ 3
    pipeline: Money  # plan × stage weight
    value_at_risk: Money  # (plan − forecast)⁺ when the potential light is amber or red
    run_rate: Decimal
    planned_run_rate: Decimal
    exit_run_rate: Decimal
    validated_run_rate: Decimal | None
    closed_run_rate: Decimal | None
    implementation: Light
    potential: Light
    leakage: bool
    leakage_reason: str


@dataclass(frozen=True)
class ScopeFigures:
    """A roll-up of every measure visible to a user at or below a scope (or everywhere)."""

    scope_id: int | None
    fiscal_year: FiscalYear
    measure_count: int
    count_by_doi: dict[int, int]
    on_hold: int
    cancelled: int
    target: Money
    plan: Money
    forecast: Money
    actual: Money
    estimate: Money
    in_year: Money
    plan_in_year: Money
    cost_to_achieve: Money
    net: Money
    gap: Money
    committed: Money
    pipeline: Money
    value_at_risk: Money
    run_rate: Decimal
    planned_run_rate: Decimal
    red_count: int
    leakage_count: int


@dataclass(frozen=True)
class DoiValue:
    doi: int
    name: str
    count: int
    plan: Money
    forecast: Money
    actual: Money


@dataclass(frozen=True)
class StatusCell:
    implementation: str
    potential: str
    count: int
    plan: Money
    estimate: Money


@dataclass(frozen=True)
class StatusMatrix:
    """Implementation light × potential light (shown colours, overrides applied)."""

    cells: list[StatusCell]

    def cell(self, implementation: str, potential: str) -> StatusCell:
        return next(c for c in self.cells if c.implementation == implementation and c.potential == potential)

    @property
    def on_time_but_short(self) -> StatusCell:
        """Green implementation with red potential: the combination leadership must see first."""
        return self.cell("green", "red")


# --- Calendar --------------------------------------------------------------------------------------


def add_months(month: date, count: int) -> date:
    index = month.year * 12 + month.month - 1 + count
    return date(index // 12, index % 12 + 1, 1)


def fiscal_year(today: date | None = None) -> FiscalYear:
    """The fiscal year containing `today` (VALUEGATE_FISCAL_YEAR_START is its first month)."""
    today = today or timezone.localdate()
    first = int(settings.VALUEGATE_FISCAL_YEAR_START)
    year = today.year if today.month >= first else today.year - 1
    start = date(year, first, 1)
    return FiscalYear(start=start, end=add_months(start, 11))


def effect_horizon(today: date | None = None) -> FiscalYear:
    """The months effect values may be entered for (ADR 0016): from the fiscal year
    VALUEGATE_HORIZON_YEARS_BACK before the current one to the end of the one
    VALUEGATE_HORIZON_YEARS_AHEAD after it. A month outside it is a typo, not a plan."""
    year = fiscal_year(today)
    return FiscalYear(
        start=add_months(year.start, -12 * int(settings.VALUEGATE_HORIZON_YEARS_BACK)),
        end=add_months(year.end, 12 * int(settings.VALUEGATE_HORIZON_YEARS_AHEAD)),
    )


def last_closed_month(today: date | None = None) -> date:
    today = today or timezone.localdate()
    return add_months(today.replace(day=1), -1)


def closure_window(today: date | None = None) -> list[date]:
    """The months of validated actuals DoI 5 needs: the last N closed months, oldest first."""
    last = last_closed_month(today)
    n = int(settings.VALUEGATE_CLOSURE_WINDOW_MONTHS)
    return [add_months(last, -offset) for offset in range(n - 1, -1, -1)]


def stage_weights() -> list[Decimal]:
    return [Decimal(str(weight)) / 100 for weight in settings.VALUEGATE_PIPELINE_WEIGHTS]


def short_money(amount: Decimal | None) -> str:
    """410000 → '410k', 1250000 → '1.25m' (for reasons shown beside a light)."""
    if amount is None:
        return "—"
    value = abs(amount)
    sign = "-" if amount < 0 else ""
    if value >= 1_000_000:
        text = f"{(value / 1_000_000).quantize(Decimal('0.01')).normalize():f}m"
    elif value >= 1000:
        text = f"{(value / 1000).quantize(Decimal('0.1')).normalize():f}k"
    else:
        text = f"{value.quantize(Decimal('1')):f}"
    return sign + text


# --- The one aggregation ------------------------------------------------------------------------------

_SUMS = [
    "target",
    "plan",
    "forecast",
    "actual",
    "estimate",
    "in_year",
    "plan_in_year",
    "closed_month",
    "last_plan",
    "exit_estimate",
    "last_actual",
]

_SQL = """
WITH cells AS (
    SELECT v.measure_id, l.recurrence, l.nature, v.line_id, v.month,
           SUM(v.amount) FILTER (WHERE v.series = 'target') AS target,
           SUM(v.amount) FILTER (WHERE v.series = 'plan') AS plan,
           SUM(v.amount) FILTER (WHERE v.series = 'forecast') AS forecast,
           SUM(v.amount) FILTER (WHERE v.series = 'actual' AND v.validation_state = 'validated') AS actual
    FROM measures_effectvalue v
    JOIN measures_effectline l ON l.id = v.line_id
    WHERE v.measure_id IN ({measures})
    GROUP BY v.measure_id, l.recurrence, l.nature, v.line_id, v.month
), est AS (
    SELECT cells.*, COALESCE(actual, forecast, plan) AS estimate FROM cells
), marks AS (
    SELECT measure_id,
           MAX(month) FILTER (WHERE plan IS NOT NULL) AS last_plan_month,
           MAX(month) FILTER (WHERE actual IS NOT NULL) AS last_actual_month
    FROM est WHERE recurrence = 'recurring' AND nature = 'benefit'
    GROUP BY measure_id
)
SELECT e.measure_id, e.recurrence, e.nature,
       SUM(e.target), SUM(e.plan), SUM(e.forecast), SUM(e.actual), SUM(e.estimate),
       SUM(e.estimate) FILTER (WHERE e.month BETWEEN %s AND %s),
       SUM(e.plan) FILTER (WHERE e.month BETWEEN %s AND %s),
       SUM(e.estimate) FILTER (WHERE e.month = %s),
       SUM(e.plan) FILTER (WHERE e.month = m.last_plan_month),
       SUM(e.estimate) FILTER (WHERE e.month = m.last_plan_month),
       SUM(e.actual) FILTER (WHERE e.month = m.last_actual_month)
FROM est e LEFT JOIN marks m ON m.measure_id = e.measure_id
GROUP BY e.measure_id, e.recurrence, e.nature
"""

Sums = dict[tuple[str, str], dict[str, Decimal]]


def _value_sums(measure_ids_query: QuerySet, today: date) -> dict[int, Sums]:
    """{measure id: {(recurrence, nature): {sum name: amount}}} in one query."""
    year = fiscal_year(today)
    inner, inner_params = measure_ids_query.values("pk").query.sql_with_params()
    params = [*inner_params, year.start, year.end, year.start, year.end, last_closed_month(today)]
    result: dict[int, Sums] = defaultdict(dict)
    with connection.cursor() as cursor:
        cursor.execute(_SQL.format(measures=inner), params)
        for measure_id, recurrence, nature, *sums in cursor.fetchall():
            result[measure_id][(recurrence, nature)] = {
                name: (amount if amount is not None else None)
                for name, amount in zip(_SUMS, sums, strict=True)
            }
    return result


def _potentials(measure_ids_query: QuerySet) -> dict[int, Decimal]:
    """Annualized potential of the recurring benefit lines per measure (the run rate before DoI 3)."""
    rows = (
        EffectLine.objects.filter(
            measure__in=measure_ids_query.values("pk"),
            recurrence=Recurrence.RECURRING,
            nature=Nature.BENEFIT,
        )
        .values("measure")
        .annotate(total=Sum("annual_potential"))
        .order_by()
    )
    return {row["measure"]: row["total"] or ZERO for row in rows}


def _money(sums: Sums, name: str, nature: str = Nature.BENEFIT) -> Money:
    def one(recurrence: str) -> Decimal:
        return sums.get((recurrence, nature), {}).get(name) or ZERO

    return Money(one(Recurrence.RECURRING), one(Recurrence.ONE_TIME))


def _recurring(sums: Sums, name: str) -> Decimal | None:
    return sums.get((Recurrence.RECURRING, Nature.BENEFIT), {}).get(name)


@dataclass
class _ProgramRules:
    tolerance: Decimal
    leakage: Decimal


def _program_rules(measures: Iterable[Measure]) -> dict[int, _ProgramRules]:
    """Tolerance and leakage percentages per program (its own, else the settings' defaults)."""
    program_ids = {_program_id(measure) for measure in measures} - {None}
    programs = Scope.objects.filter(pk__in=program_ids).values_list(
        "pk", "potential_tolerance_percent", "leakage_percent"
    )
    default_tolerance = Decimal(str(settings.VALUEGATE_POTENTIAL_TOLERANCE_PERCENT))
    default_leakage = Decimal(str(settings.VALUEGATE_LEAKAGE_PERCENT))
    rules = {
        pk: _ProgramRules(t if t is not None else default_tolerance, k if k is not None else default_leakage)
        for pk, t, k in programs
    }
    rules[None] = _ProgramRules(default_tolerance, default_leakage)
    return rules


def _program_id(measure: Measure) -> int | None:
    ids = measure.package.ancestor_ids
    return ids[1] if len(ids) > 1 else None


# --- Lights -------------------------------------------------------------------------------------------------


def _potential_light(
    *,
    measure: Measure,
    in_year: Money,
    plan_in_year: Money,
    plan: Money,
    estimate: Money,
    planned_run_rate: Decimal,
    exit_run_rate: Decimal,
    tolerance: Decimal,
) -> tuple[str, str]:
    """DESIGN §5.3: grey before the freeze; green when the in-year estimate reaches the in-year plan
    less the tolerance (recurring and one-time each); else red when the run rate will not reach the
    planned run rate (or one-time value falls short of plan over the whole horizon), else amber
    (ramp-up delayed)."""
    if measure.stage == Stage.CANCELLED:
        return "grey", "Cancelled."
    if measure.doi < 3:
        return "grey", "No frozen plan yet (the plan freezes at DoI 3)."
    keep = 1 - tolerance / 100
    short = [
        kind
        for kind in (Recurrence.RECURRING, Recurrence.ONE_TIME)
        if in_year.get(kind) < plan_in_year.get(kind) * keep
    ]
    kind = (
        Recurrence.RECURRING if plan_in_year.recurring or not plan_in_year.one_time else Recurrence.ONE_TIME
    )
    headline = f"in-year {short_money(in_year.get(kind))} of {short_money(plan_in_year.get(kind))} planned"
    if not short:
        return "green", headline
    kind = short[0]
    headline = f"in-year {short_money(in_year.get(kind))} of {short_money(plan_in_year.get(kind))} planned"
    one_time_short = estimate.one_time < plan.one_time * keep
    if exit_run_rate < planned_run_rate:
        return "red", f"run rate {short_money(exit_run_rate)} of {short_money(planned_run_rate)} planned"
    if one_time_short:
        return (
            "red",
            f"one-time {short_money(estimate.one_time)} of {short_money(plan.one_time)} planned",
        )
    return (
        "amber",
        f"{headline}; run rate reaches {short_money(exit_run_rate)} of {short_money(planned_run_rate)} "
        "planned (ramp-up delayed)",
    )


def _implementation_light(measure: Measure, names: dict[int, str]) -> Light:
    from measures.selectors.measures import implementation_status

    computed = implementation_status(measure)
    days = getattr(measure, "critical_days_overdue", None)
    overdue = getattr(measure, "milestones_overdue", 0) or 0
    if computed == "grey":
        reason = "No milestones yet."
    elif computed == "red":
        name = names.get(measure.pk)
        reason = f"critical milestone {('“' + name + '” ') if name else ''}{days} days overdue"
    elif computed == "amber":
        reason = f"{overdue} milestone{'s' if overdue != 1 else ''} overdue"
        if days:
            reason += f" (a critical one {days} days, red from {measure.red_days})"
    else:
        reason = "No milestone overdue."
    return Light(computed, reason, measure.implementation_override, measure.implementation_override_comment)


def _critical_names(measures: list[Measure], today: date) -> dict[int, str]:
    red = [m.pk for m in measures if getattr(m, "implementation_status", None) == "red"]
    if not red:
        return {}
    names: dict[int, str] = {}
    rows = (
        Milestone.objects.filter(
            measure_id__in=red, critical=True, completed_at__isnull=True, due_date__lt=today
        )
        .order_by("measure_id", "due_date")
        .values_list("measure_id", "title")
    )
    for measure_id, title in rows:
        names.setdefault(measure_id, title)
    return names


# --- Per-measure figures -----------------------------------------------------------------------------


def _figures(
    measure: Measure,
    sums: Sums,
    potential: Decimal,
    rules: _ProgramRules,
    today: date,
    names: dict[int, str],
) -> MeasureFigures:
    doi = measure.doi
    target = _money(sums, "target")
    plan = _money(sums, "plan")
    forecast = _money(sums, "forecast")
    estimate = _money(sums, "estimate")
    in_year = _money(sums, "in_year")
    plan_in_year = _money(sums, "plan_in_year")
    cost = _money(sums, "estimate", Nature.COST_TO_ACHIEVE)
    twelve = Decimal(12)
    planned_run_rate = (_recurring(sums, "last_plan") or ZERO) * twelve
    exit_run_rate = (_recurring(sums, "exit_estimate") or ZERO) * twelve
    last_actual = _recurring(sums, "last_actual")
    validated_run_rate = last_actual * twelve if last_actual is not None else None
    run_rate = potential if doi < 3 else (_recurring(sums, "closed_month") or ZERO) * twelve
    colour, reason = _potential_light(
        measure=measure,
        in_year=in_year,
        plan_in_year=plan_in_year,
        plan=plan,
        estimate=estimate,
        planned_run_rate=planned_run_rate,
        exit_run_rate=exit_run_rate,
        tolerance=rules.tolerance,
    )
    potential_light = Light(colour, reason, measure.potential_override, measure.potential_override_comment)
    at_risk = potential_light.status in ("amber", "red")
    leakage, leakage_reason = False, ""
    closed = measure.closed_run_rate
    if measure.stage == Stage.CLOSED and closed is not None and validated_run_rate is not None:
        floor = closed * (1 - rules.leakage / 100)
        if validated_run_rate < floor:
            leakage = True
            leakage_reason = (
                f"validated run rate {short_money(validated_run_rate)} is more than {rules.leakage.normalize():f} % "
                f"below the {short_money(closed)} it closed with"
            )
    weights = stage_weights()
    return MeasureFigures(
        measure_id=measure.pk,
        code=measure.code,
        title=measure.title,
        doi=doi,
        stage=measure.stage,
        fiscal_year=fiscal_year(today),
        target=target,
        plan=plan,
        forecast=forecast,
        actual=_money(sums, "actual"),
        estimate=estimate,
        in_year=in_year,
        plan_in_year=plan_in_year,
        cost_to_achieve=cost,
        net=estimate - cost,
        gap=target - estimate,
        committed=plan if doi >= 3 else Money(),
        pipeline=plan.scaled(weights[doi]) if doi < len(weights) else plan,
        value_at_risk=(plan - forecast).positive() if at_risk else Money(),
        run_rate=run_rate,
        planned_run_rate=planned_run_rate,
        exit_run_rate=exit_run_rate,
        validated_run_rate=validated_run_rate,
        closed_run_rate=closed,
        implementation=_implementation_light(measure, names),
        potential=potential_light,
        leakage=leakage,
        leakage_reason=leakage_reason,
    )


def _measures(queryset: QuerySet[Measure], today: date) -> list[Measure]:
    from measures.selectors.measures import with_implementation_status

    return list(with_implementation_status(queryset.select_related("package"), today).order_by("code"))


def compute_figures(queryset: QuerySet[Measure], *, today: date | None = None) -> list[MeasureFigures]:
    """Figures of every measure in `queryset` computed from the effect values, in a constant number
    of queries (four). `figures_for` reads the maintained rows instead; this is what fills them."""
    today = today or timezone.localdate()
    measures = _measures(queryset, today)
    if not measures:
        return []
    ids = Measure.objects.filter(pk__in=[m.pk for m in measures])
    sums = _value_sums(ids, today)
    potentials = _potentials(ids)
    rules = _program_rules(measures)
    names = _critical_names(measures, today)
    return [
        _figures(
            m,
            sums.get(m.pk, {}),
            potentials.get(m.pk, ZERO),
            rules.get(_program_id(m), rules[None]),
            today,
            names,
        )
        for m in measures
    ]


# --- The maintained rows (ADR 0013) -----------------------------------------------------------------


def _basis(today: date) -> str:
    """What every stored row depends on besides the measure's own data: the day and the settings."""
    return "|".join(
        str(part)
        for part in (
            today.isoformat(),
            settings.VALUEGATE_FISCAL_YEAR_START,
            settings.VALUEGATE_PIPELINE_WEIGHTS,
            settings.VALUEGATE_POTENTIAL_TOLERANCE_PERCENT,
            settings.VALUEGATE_LEAKAGE_PERCENT,
            settings.VALUEGATE_MILESTONE_RED_DAYS,
        )
    )


def _row_of(figures: MeasureFigures, package_path: str) -> FigureRow:
    money = {
        f"{name}_{kind}": getattr(getattr(figures, name), kind)
        for name in MONEY_FIGURES
        for kind in ("recurring", "one_time")
    }
    lights = {
        f"{light}_{part}": getattr(getattr(figures, light), part)
        for light in ("implementation", "potential")
        for part in ("computed", "reason", "override", "override_comment", "status")
    }
    return FigureRow(
        measure_id=figures.measure_id,
        doi=figures.doi,
        stage=figures.stage,
        run_rate=figures.run_rate,
        planned_run_rate=figures.planned_run_rate,
        exit_run_rate=figures.exit_run_rate,
        validated_run_rate=figures.validated_run_rate,
        closed_run_rate=figures.closed_run_rate,
        leakage=figures.leakage,
        leakage_reason=figures.leakage_reason,
        package_path=package_path,
        **money,
        **lights,
    )


def _figures_of(row: FigureRow, year: FiscalYear) -> MeasureFigures:
    def light(name: str) -> Light:
        return Light(
            getattr(row, f"{name}_computed"),
            getattr(row, f"{name}_reason"),
            getattr(row, f"{name}_override"),
            getattr(row, f"{name}_override_comment"),
        )

    return MeasureFigures(
        measure_id=row.measure_id,
        code=row.measure_code,
        title=row.measure_title,
        doi=row.doi,
        stage=row.stage,
        fiscal_year=year,
        run_rate=row.run_rate,
        planned_run_rate=row.planned_run_rate,
        exit_run_rate=row.exit_run_rate,
        validated_run_rate=row.validated_run_rate,
        closed_run_rate=row.closed_run_rate,
        implementation=light("implementation"),
        potential=light("potential"),
        leakage=row.leakage,
        leakage_reason=row.leakage_reason,
        **{
            name: Money(getattr(row, f"{name}_recurring"), getattr(row, f"{name}_one_time"))
            for name in MONEY_FIGURES
        },
    )


_UPDATED = [
    field.name for field in FigureRow._meta.concrete_fields if field.name not in ("measure", "computed_at")
] + ["computed_at"]


def _store(measure_ids: list[int] | None, today: date) -> None:
    """Recompute and upsert the rows of the measures (all when None), then the rows of every scope
    above them — where they sit now and where they sat when last computed (a measure may have
    moved; a deleted one leaves no trace, so then every scope is recomputed)."""
    measures = Measure.objects.all() if measure_ids is None else Measure.objects.filter(pk__in=measure_ids)
    paths = dict(measures.values_list("pk", "package__path"))
    before = FigureRow.objects.filter(measure_id__in=list(paths)).values_list("package_path", flat=True)
    above = {int(part) for path in [*before, *paths.values()] for part in path.split("/") if part}
    everywhere = measure_ids is None or not set(measure_ids) <= set(paths)
    rows = sorted(
        (_row_of(f, paths[f.measure_id]) for f in compute_figures(measures, today=today)),
        key=lambda row: row.measure_id,  # one lock order
    )
    FigureRow.objects.bulk_create(
        rows, batch_size=2000, update_conflicts=True, unique_fields=["measure"], update_fields=_UPDATED
    )
    scopes = Scope.objects.all() if everywhere else Scope.objects.filter(pk__in=above)
    scopes = sorted(scopes, key=lambda scope: scope.pk)
    ScopeFigureRow.objects.bulk_create(
        [ScopeFigureRow(scope=scope, values=_scope_values(scope)) for scope in scopes],
        update_conflicts=True,
        unique_fields=["scope"],
        update_fields=["values", "computed_at"],
    )


@dataclass(frozen=True)
class _Staleness:
    everything: bool  # the day or a setting changed since the rows were computed
    measure_ids: frozenset[int]  # measures changed since their row was computed

    @property
    def fresh(self) -> bool:
        return not self.everything and not self.measure_ids


def refresh_figures(*, today: date | None = None) -> _Staleness:
    """Recompute the stored rows of the measures that changed (all of them on a new day or after
    a settings change), when this connection may write them; returns what is still stale."""
    today = timezone.localdate() if today is None else today
    basis = _basis(today)
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT (SELECT basis FROM measures_figurebasis WHERE id = 1), "
            "ARRAY(SELECT id FROM measures_figuredirty), "
            "ARRAY(SELECT DISTINCT measure_id FROM measures_figuredirty)"
        )
        stored_basis, dirty_ids, measure_ids = cursor.fetchone()
    if stored_basis == basis and not dirty_ids:
        return _Staleness(False, frozenset())
    # Rows are written only outside a transaction of the caller's: a service that reads figures inside
    # its own transaction must not hold locks on other measures' rows (two such services would deadlock).
    if in_callers_transaction():
        return _Staleness(stored_basis != basis, frozenset(measure_ids))
    with transaction.atomic():
        if stored_basis != basis:
            # One rebuild at a time; whoever waited for the lock finds it done.
            with connection.cursor() as cursor:
                cursor.execute("SELECT pg_advisory_xact_lock(hashtext('valuegate.figures.rebuild'))")
            if not FigureBasis.objects.filter(pk=1, basis=basis).exists():
                dirty_ids = list(FigureDirty.objects.values_list("id", flat=True))
                _store(None, today)
                FigureBasis.objects.update_or_create(pk=1, defaults={"basis": basis})
                FigureDirty.objects.filter(id__in=dirty_ids).delete()
                return _Staleness(False, frozenset())
        _store(list(measure_ids), today)
        FigureDirty.objects.filter(id__in=dirty_ids).delete()
    return _Staleness(False, frozenset())


def _stored(queryset: QuerySet[Measure]) -> QuerySet[FigureRow]:
    return (
        FigureRow.objects.filter(measure__in=queryset.values("pk"))
        .annotate(measure_code=F("measure__code"), measure_title=F("measure__title"))
        .order_by("measure_code")
    )


def _historical(today: date | None) -> bool:
    return today is not None and today != timezone.localdate()


def figures_for(queryset: QuerySet[Measure], *, today: date | None = None) -> list[MeasureFigures]:
    """Figures of every measure in `queryset`, ordered by code: read from the maintained rows
    (recomputed first where a measure changed), computed afresh for another day than today."""
    if _historical(today):
        return compute_figures(queryset, today=today)
    today = timezone.localdate()
    stale = refresh_figures(today=today)
    if stale.everything:
        return compute_figures(queryset, today=today)
    year = fiscal_year(today)
    rows = [_figures_of(row, year) for row in _stored(queryset.exclude(pk__in=stale.measure_ids))]
    if stale.measure_ids:
        rows += compute_figures(queryset.filter(pk__in=stale.measure_ids), today=today)
        rows.sort(key=lambda row: row.code)
    return rows


def measure_figures(*, measure: Measure, today: date | None = None) -> MeasureFigures:
    """All derived figures and both lights of one measure (DESIGN §5.2, §5.3)."""
    return figures_for(Measure.objects.filter(pk=measure.pk), today=today)[0]


def potential_lights(measures: Iterable[Measure], *, today: date | None = None) -> dict[int, Light]:
    """The potential light of many measures at once (list pages and list endpoints)."""
    ids = [m.pk for m in measures]
    return {f.measure_id: f.potential for f in figures_for(Measure.objects.filter(pk__in=ids), today=today)}


# --- Roll-ups ------------------------------------------------------------------------------------------------


def _scope_measures(user, scope: Scope | None) -> QuerySet[Measure]:
    queryset = permissions.visible_measures(user)
    if scope is not None:
        queryset = queryset.filter(package__path__startswith=scope.path)
    return queryset


def _total(rows: list[MeasureFigures], name: str) -> Money:
    total = Money()
    for row in rows:
        total = total + getattr(row, name)
    return total


def _rollup(scope_id: int | None, rows: list[MeasureFigures], today: date) -> ScopeFigures:
    money_rows = [row for row in rows if row.stage != Stage.CANCELLED]
    by_doi = dict.fromkeys(range(6), 0)
    for row in money_rows:
        by_doi[row.doi] += 1
    totals = {name: _total(money_rows, name) for name in MONEY_FIGURES}
    return ScopeFigures(
        scope_id=scope_id,
        fiscal_year=fiscal_year(today),
        measure_count=len(rows),
        count_by_doi=by_doi,
        on_hold=sum(1 for row in rows if row.stage == Stage.ON_HOLD),
        cancelled=sum(1 for row in rows if row.stage == Stage.CANCELLED),
        run_rate=sum((row.run_rate for row in money_rows), ZERO),
        planned_run_rate=sum((row.planned_run_rate for row in money_rows), ZERO),
        red_count=sum(1 for row in money_rows if "red" in (row.implementation.status, row.potential.status)),
        leakage_count=sum(1 for row in money_rows if row.leakage),
        **totals,
    )


# Roll-ups read the stored rows with SQL aggregates; `_rollup` and the list comprehensions over
# `compute_figures` do the same from scratch (another day than today, or rows still stale inside a
# caller's transaction) — and prove in the tests that both agree.

_LIVE = ~Q(stage=Stage.CANCELLED)
_RED = Q(implementation_status="red") | Q(potential_status="red")


def _stored_rows(user, scope: Scope | None, today: date | None) -> QuerySet[FigureRow] | None:
    """The fresh stored rows of what `user` sees at or below `scope`, or None when they cannot be
    used (another day, or rows still stale)."""
    if _historical(today) or not refresh_figures().fresh:
        return None
    return FigureRow.objects.filter(measure__in=_scope_measures(user, scope).values("pk"))


def _money_sums(names: Iterable[str], condition: Q | None = None) -> dict[str, Coalesce]:
    return {
        f"{name}_{kind}": Coalesce(Sum(f"{name}_{kind}", filter=condition), ZERO)
        for name in names
        for kind in ("recurring", "one_time")
    }


def _money_of(values: dict, name: str) -> Money:
    return Money(values[f"{name}_recurring"], values[f"{name}_one_time"])


def _rollup_values(rows: QuerySet[FigureRow]) -> dict:
    return rows.aggregate(
        measure_count=Count("pk"),
        on_hold=Count("pk", filter=Q(stage=Stage.ON_HOLD)),
        cancelled=Count("pk", filter=Q(stage=Stage.CANCELLED)),
        run_rate=Coalesce(Sum("run_rate", filter=_LIVE), ZERO),
        planned_run_rate=Coalesce(Sum("planned_run_rate", filter=_LIVE), ZERO),
        red_count=Count("pk", filter=_LIVE & _RED),
        leakage_count=Count("pk", filter=_LIVE & Q(leakage=True)),
        **{f"doi_{doi}": Count("pk", filter=_LIVE & Q(doi=doi)) for doi in range(6)},
        **_money_sums(MONEY_FIGURES, _LIVE),
    )


def _rollup_of(scope_id: int | None, values: dict, today: date | None) -> ScopeFigures:
    return ScopeFigures(
        scope_id=scope_id,
        fiscal_year=fiscal_year(today),
        measure_count=values["measure_count"],
        count_by_doi={doi: values[f"doi_{doi}"] for doi in range(6)},
        on_hold=values["on_hold"],
        cancelled=values["cancelled"],
        run_rate=values["run_rate"],
        planned_run_rate=values["planned_run_rate"],
        red_count=values["red_count"],
        leakage_count=values["leakage_count"],
        **{name: _money_of(values, name) for name in MONEY_FIGURES},
    )


def _stored_rollup(scope_id: int | None, rows: QuerySet[FigureRow], today: date | None) -> ScopeFigures:
    return _rollup_of(scope_id, _rollup_values(rows), today)


def _scope_values(scope: Scope) -> dict:
    """What a `ScopeFigureRow` holds: the three aggregates of every measure below `scope`."""
    rows = FigureRow.objects.filter(measure__package__path__startswith=scope.path)
    return {"rollup": _rollup_values(rows), "by_doi": _by_doi_values(rows), "matrix": _matrix_values(rows)}


def _decimals(values):
    """JSON gives the stored amounts back as strings; counts stay integers."""
    if isinstance(values, dict):
        return {key: _decimals(value) for key, value in values.items()}
    return Decimal(values) if isinstance(values, str) else values


def _whole_scope_values(user, scope: Scope | None, today: date | None) -> dict | None:
    """The stored aggregates of `scope` (of the one portfolio when None) if `user` sees every
    measure below it and the rows are fresh; else None and the caller aggregates what they see."""
    if _historical(today) or not refresh_figures().fresh:
        return None
    if scope is None:
        if not permissions.sees_everything(user):
            return None
        roots = list(Scope.objects.filter(parent__isnull=True)[:2])
        if len(roots) != 1:
            return None
        scope = roots[0]
    elif not permissions.can_see_scope(user, scope):
        return None
    stored = ScopeFigureRow.objects.filter(scope=scope).values_list("values", flat=True).first()
    return _decimals(stored) if stored is not None else None


def scope_figures(*, scope: Scope, user, today: date | None = None) -> ScopeFigures:
    """Roll-up of every measure `user` may see at or below `scope`: target, plan, forecast,
    validated actual, estimate, in-year, run rate, committed, pipeline, value at risk, gap, net and
    the measure counts by DoI. Query count is constant in the number of measures."""
    whole = _whole_scope_values(user, scope, today)
    if whole is not None:
        return _rollup_of(scope.pk, whole["rollup"], today)
    rows = _stored_rows(user, scope, today)
    if rows is not None:
        return _stored_rollup(scope.pk, rows, today)
    return _rollup(scope.pk, compute_figures(_scope_measures(user, scope), today=today), _day(today))


def portfolio_figures(*, user, today: date | None = None) -> ScopeFigures:
    """The same roll-up over everything `user` may see."""
    whole = _whole_scope_values(user, None, today)
    if whole is not None:
        return _rollup_of(None, whole["rollup"], today)
    rows = _stored_rows(user, None, today)
    if rows is not None:
        return _stored_rollup(None, rows, today)
    return _rollup(None, compute_figures(_scope_measures(user, None), today=today), _day(today))


def _day(today: date | None) -> date:
    return today or timezone.localdate()


def _live(figures: list[MeasureFigures]) -> list[MeasureFigures]:
    return [row for row in figures if row.stage != Stage.CANCELLED]


def value_by_doi(*, user, scope: Scope | None = None, today: date | None = None) -> list[DoiValue]:
    """Plan, forecast and validated actual per DoI 0–5 (recurring and one-time apart); measures on
    hold count at the DoI they left, cancelled ones not at all."""
    whole = _whole_scope_values(user, scope, today)
    if whole is not None:
        return _by_doi_of(whole["by_doi"])
    rows = _stored_rows(user, scope, today)
    if rows is not None:
        return _stored_by_doi(rows)
    return _computed_by_doi(compute_figures(_scope_measures(user, scope), today=today))


def _by_doi_values(rows: QuerySet[FigureRow]) -> dict[str, dict]:
    sums = _money_sums(["plan", "forecast", "actual"])
    grouped = rows.filter(_LIVE).values("doi").annotate(count=Count("pk"), **sums).order_by()
    return {str(values.pop("doi")): values for values in grouped}


def _by_doi_of(grouped: dict[str, dict]) -> list[DoiValue]:
    empty = {"count": 0, **dict.fromkeys(_money_sums(["plan", "forecast", "actual"]), ZERO)}
    return [
        DoiValue(
            doi=doi,
            name=name,
            count=grouped.get(str(doi), empty)["count"],
            plan=_money_of(grouped.get(str(doi), empty), "plan"),
            forecast=_money_of(grouped.get(str(doi), empty), "forecast"),
            actual=_money_of(grouped.get(str(doi), empty), "actual"),
        )
        for doi, name in enumerate(DOI_NAMES)
    ]


def _stored_by_doi(rows: QuerySet[FigureRow]) -> list[DoiValue]:
    return _by_doi_of(_by_doi_values(rows))


def _computed_by_doi(figures: list[MeasureFigures]) -> list[DoiValue]:
    live = _live(figures)
    result = []
    for doi, name in enumerate(DOI_NAMES):
        at = [row for row in live if row.doi == doi]
        result.append(
            DoiValue(
                doi=doi,
                name=name,
                count=len(at),
                plan=_total(at, "plan"),
                forecast=_total(at, "forecast"),
                actual=_total(at, "actual"),
            )
        )
    return result


def status_matrix(*, user, scope: Scope | None = None, today: date | None = None) -> StatusMatrix:
    """Implementation light × potential light: how many measures and how much plan and estimate sit
    in each combination (shown colours, i.e. overrides applied; cancelled measures left out)."""
    whole = _whole_scope_values(user, scope, today)
    if whole is not None:
        return _matrix_of(whole["matrix"])
    rows = _stored_rows(user, scope, today)
    if rows is not None:
        return _stored_matrix(rows)
    return _computed_matrix(compute_figures(_scope_measures(user, scope), today=today))


def _matrix_values(rows: QuerySet[FigureRow]) -> dict[str, dict]:
    grouped = (
        rows.filter(_LIVE)
        .values("implementation_status", "potential_status")
        .annotate(count=Count("pk"), **_money_sums(["plan", "estimate"]))
        .order_by()
    )
    return {
        f"{values.pop('implementation_status')}|{values.pop('potential_status')}": values
        for values in grouped
    }


def _matrix_of(grouped: dict[str, dict]) -> StatusMatrix:
    cells = []
    for implementation in LIGHT_NAMES:
        for potential in LIGHT_NAMES:
            values = grouped.get(f"{implementation}|{potential}")
            if values is None:
                cells.append(StatusCell(implementation, potential, 0, Money(), Money()))
                continue
            plan, estimate = _money_of(values, "plan"), _money_of(values, "estimate")
            cells.append(StatusCell(implementation, potential, values["count"], plan, estimate))
    return StatusMatrix(cells=cells)


def _stored_matrix(rows: QuerySet[FigureRow]) -> StatusMatrix:
    return _matrix_of(_matrix_values(rows))


def _computed_matrix(figures: list[MeasureFigures]) -> StatusMatrix:
    live = _live(figures)
    cells = []
    for implementation in LIGHT_NAMES:
        for potential in LIGHT_NAMES:
            at = [
                row
                for row in live
                if row.implementation.status == implementation and row.potential.status == potential
            ]
            cells.append(
                StatusCell(implementation, potential, len(at), _total(at, "plan"), _total(at, "estimate"))
            )
    return StatusMatrix(cells=cells)


def _red_first(row: MeasureFigures) -> tuple[bool, str]:
    return (row.potential.status != "red", row.code)


def red_measures(
    *, user, scope: Scope | None = None, today: date | None = None, limit: int | None = None
) -> list[MeasureFigures]:
    """Measures with a red light (either one, overrides applied), potential-red first; the first
    `limit` of them when given."""
    rows = _stored_rows(user, scope, today)
    if rows is not None:
        return _stored_red(rows, limit)
    return _computed_red(compute_figures(_scope_measures(user, scope), today=today), limit)


def _stored_red(rows: QuerySet[FigureRow], limit: int | None) -> list[MeasureFigures]:
    chosen = (
        rows.filter(_LIVE & _RED)
        .annotate(
            potential_red=Case(When(potential_status="red", then=Value(0)), default=Value(1)),
            code=F("measure__code"),
        )
        .order_by("potential_red", "code")
        .values_list("measure_id", flat=True)
    )
    ids = list(chosen[:limit] if limit is not None else chosen)
    return sorted(figures_for(Measure.objects.filter(pk__in=ids)), key=_red_first)


def _computed_red(figures: list[MeasureFigures], limit: int | None) -> list[MeasureFigures]:
    red = [row for row in _live(figures) if "red" in (row.implementation.status, row.potential.status)]
    return sorted(red, key=_red_first)[:limit]


def leakage_measures(*, user, scope: Scope | None = None, today: date | None = None) -> list[MeasureFigures]:
    """Closed measures whose validated run rate fell more than the leakage % below their closing run rate."""
    closed = _scope_measures(user, scope).filter(stage=Stage.CLOSED)
    if _stored_rows(user, scope, today) is not None:
        return figures_for(closed.filter(figure_row__leakage=True))
    return [row for row in compute_figures(closed, today=today) if row.leakage]


def actuals_awaiting_validation(*, user) -> QuerySet[EffectValue]:
    """Submitted actuals `user` may validate (the controller inbox): in scopes where they are a
    controller, not of measures they own, not entered by themselves."""
    from measures.choices import ScopeRole

    if not user.is_authenticated:
        return EffectValue.objects.none()
    return (
        EffectValue.objects.filter(
            permissions.scope_filter(user, "measure__package__path", [ScopeRole.CONTROLLER]),
            series=Series.ACTUAL,
            validation_state=ValidationState.SUBMITTED,
        )
        .exclude(measure__owner=user)
        .exclude(entered_by=user)
        .select_related("measure", "line", "entered_by")
        .order_by("measure__code", "month", "line_id")
    )


# --- Plan versions --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class PlanDiffRow:
    line_id: int
    line: str
    month: date
    before: Decimal | None
    after: Decimal | None

    @property
    def change(self) -> Decimal:
        return (self.after or ZERO) - (self.before or ZERO)


@dataclass(frozen=True)
class PlanDiff:
    measure_id: int
    from_version: int
    to_version: int
    rows: list[PlanDiffRow] = field(default_factory=list)

    @property
    def total_change(self) -> Decimal:
        return sum((row.change for row in self.rows), ZERO)


def plan_version_diff(*, measure: Measure, from_version: int, to_version: int) -> PlanDiff:
    """The cells that differ between two plan versions of a measure (added, removed or changed)."""
    from measures.models import PlanVersionValue

    values = PlanVersionValue.objects.filter(
        version__measure=measure, version__number__in=[from_version, to_version]
    ).values_list("version__number", "line_id", "month", "amount")
    cells: dict[tuple[int, date], dict[int, Decimal]] = defaultdict(dict)
    for number, line_id, month, amount in values:
        cells[(line_id, month)][number] = amount
    labels = {line.pk: str(line) for line in measure.effect_lines.all()}
    rows = [
        PlanDiffRow(
            line_id,
            labels.get(line_id, str(line_id)),
            month,
            amounts.get(from_version),
            amounts.get(to_version),
        )
        for (line_id, month), amounts in sorted(cells.items())
        if amounts.get(from_version) != amounts.get(to_version)
    ]
    return PlanDiff(measure.pk, from_version, to_version, rows)


@dataclass(frozen=True)
class GridRow:
    line: EffectLine
    cells: list[EffectValue | None]
    total: Decimal


def effect_grid(*, measure: Measure, series: str, months: list[date]) -> list[GridRow]:
    """One series of the measure as lines × months (the bulk-entry grid), with row totals."""
    values = {
        (value.line_id, value.month): value
        for value in EffectValue.objects.filter(measure=measure, series=series, month__in=months)
    }
    rows = []
    for line in measure.effect_lines.all():
        cells = [values.get((line.pk, month)) for month in months]
        rows.append(GridRow(line, cells, sum((c.amount for c in cells if c), ZERO)))
    return rows


def grid_months(*, measure: Measure, today: date | None = None) -> list[date]:
    """The months the grid shows: the current fiscal year and the next, widened to any month that
    holds a value of the measure."""
    year = fiscal_year(today)
    months = [add_months(year.start, offset) for offset in range(24)]
    stored = EffectValue.objects.filter(measure=measure).values_list("month", flat=True).distinct()
    extra = sorted(set(stored) - set(months))
    return sorted({*months, *extra})


@dataclass(frozen=True)
class MonthRow:
    """One month of a measure's benefit lines: plan, forecast and validated actual side by side,
    recurring and one-time apart; `pending` is actual entered but not validated yet."""

    month: date
    in_year: bool
    plan: Money
    forecast: Money
    actual: Money
    pending: Money


def measure_monthly(*, measure: Measure, months: list[date], today: date | None = None) -> list[MonthRow]:
    """The financial grid of the measure page, from one grouped query."""
    year = fiscal_year(today)
    rows = (
        EffectValue.objects.filter(measure=measure, line__nature=Nature.BENEFIT, month__in=months)
        .values("month", "series", "validation_state", "line__recurrence")
        .annotate(total=Sum("amount"))
        .order_by()
    )
    cells: dict[tuple[date, str], dict[str, Decimal]] = defaultdict(lambda: defaultdict(Decimal))
    for row in rows:
        series = row["series"]
        if series == Series.ACTUAL and row["validation_state"] != ValidationState.VALIDATED:
            series = "pending"
        cells[(row["month"], series)][row["line__recurrence"]] += row["total"]

    def money_of(month: date, series: str) -> Money:
        found = cells.get((month, series), {})
        return Money(found.get(Recurrence.RECURRING, ZERO), found.get(Recurrence.ONE_TIME, ZERO))

    return [
        MonthRow(
            month=month,
            in_year=year.start <= month <= year.end,
            plan=money_of(month, Series.PLAN),
            forecast=money_of(month, Series.FORECAST),
            actual=money_of(month, Series.ACTUAL),
            pending=money_of(month, "pending"),
        )
        for month in months
    ]
