"""Incident metrics of DESIGN §6 (ADR 0010): aggregated in PostgreSQL where possible
(percentile_cont, AVG, LAG); `incident_gaps` states the cadence rule in Python for one incident."""

from __future__ import annotations

from bisect import bisect_left
from collections import defaultdict
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Any

from django.conf import settings
from django.contrib.auth.models import AbstractBaseUser
from django.db import connection
from django.db.models import (
    Aggregate,
    Avg,
    Count,
    DecimalField,
    F,
    FloatField,
    Func,
    OuterRef,
    Q,
    QuerySet,
    Subquery,
    Sum,
    Value,
)
from django.db.models.functions import Cast, Coalesce, Now, TruncMonth
from django.utils import timezone

from incidents import permissions
from incidents.choices import EXCLUDED_STATES, UpdateState
from incidents.models import (
    Incident,
    Service,
    StatusUpdate,
)
from incidents.policy import policies
from incidents.selectors.record import pir_due_at

REPEAT_WINDOW = timedelta(days=90)

# name: (from, to) — DESIGN §6.
DURATIONS: dict[str, tuple[str, str]] = {
    "time_to_detect": ("impact_started_at", "detected_at"),
    "time_to_acknowledge": ("reported_at", "acknowledged_at"),
    "time_to_declare": ("detected_at", "declared_at"),
    "time_to_assemble": ("declared_at", "team_assembled_at"),
    "time_to_restore": ("impact_started_at", "restored_at"),
}

# --- Metrics (DESIGN §6) ------------------------------------------------------------------------------


class PercentileCont(Aggregate):
    """PostgreSQL's continuous percentile (median = 0.5), interpolating like numpy's default."""

    function = "percentile_cont"
    template = "%(function)s(%(percentile)s) WITHIN GROUP (ORDER BY %(expressions)s)"
    output_field = FloatField()

    def __init__(self, expression: Any, percentile: float, **extra: Any) -> None:
        super().__init__(expression, percentile=float(percentile), **extra)


def minutes_between(start: str, end: str) -> Func:
    return Func(
        F(end) - F(start), template="EXTRACT(EPOCH FROM %(expressions)s) / 60.0", output_field=FloatField()
    )


@dataclass(frozen=True)
class MetricFilters:
    date_from: date | None = None
    date_to: date | None = None
    service: int | None = None
    severity: int | None = None


def metric_incidents(filters: MetricFilters = MetricFilters()) -> QuerySet[Incident]:
    """The incidents metrics are computed over: never cancelled or not-major ones; the period
    is on `reported_at`, both ends inclusive."""
    qs = Incident.objects.exclude(state__in=EXCLUDED_STATES)
    if filters.date_from:
        qs = qs.filter(reported_at__date__gte=filters.date_from)
    if filters.date_to:
        qs = qs.filter(reported_at__date__lte=filters.date_to)
    if filters.service:
        qs = qs.filter(
            pk__in=Incident.services.through.objects.filter(service_id=filters.service).values("incident_id")
        )
    if filters.severity:
        qs = qs.filter(severity=filters.severity)
    return qs


def _cost_per_minute() -> Subquery:
    rows = (
        Service.objects.filter(incidents=OuterRef("pk"))
        .values("incidents")
        .annotate(total=Sum("cost_per_minute"))
        .values("total")
    )
    return Coalesce(
        Subquery(rows), Value(Decimal("0")), output_field=DecimalField(max_digits=14, decimal_places=2)
    )


def hourly_rate() -> Decimal:
    return Decimal(str(settings.VALUEGATE_INCIDENT_HOURLY_RATE))


def with_figures(qs: QuerySet[Incident]) -> QuerySet[Incident]:
    """Annotate each incident with its durations (minutes) and cost: downtime minutes
    (impact start → restored, or → now while unrestored) × the summed cost per minute of its
    services + response effort hours × the hourly rate."""
    money = DecimalField(max_digits=16, decimal_places=2)
    return qs.annotate(
        **{name: minutes_between(a, b) for name, (a, b) in DURATIONS.items()},
        downtime_minutes=_downtime_minutes(),
        cost_per_minute_total=_cost_per_minute(),
    ).annotate(
        cost=Cast(F("downtime_minutes"), money) * F("cost_per_minute_total")
        + F("response_effort_hours") * Value(hourly_rate(), output_field=money),
    )


def _duration_aggregates() -> dict[str, Any]:
    aggregates: dict[str, Any] = {}
    for name, (a, b) in DURATIONS.items():
        minutes = minutes_between(a, b)
        aggregates[f"{name}__median"] = PercentileCont(minutes, 0.5)
        aggregates[f"{name}__p90"] = PercentileCont(minutes, 0.9)
        aggregates[f"{name}__mean"] = Avg(minutes)
        aggregates[f"{name}__count"] = Count("pk", filter=Q(**{f"{a}__isnull": False, f"{b}__isnull": False}))
    return aggregates


def _durations_from(row: Mapping[str, Any]) -> dict[str, dict[str, float | int | None]]:
    return {
        name: {stat: _round(row[f"{name}__{stat}"]) for stat in ("median", "p90", "mean", "count")}
        for name in DURATIONS
    }


def _downtime_minutes(prefix: str = "") -> Func:
    """Downtime in minutes: impact start → restored, or → now while unrestored."""
    return Func(
        Coalesce(F(f"{prefix}restored_at"), Now()) - F(f"{prefix}impact_started_at"),
        template="EXTRACT(EPOCH FROM %(expressions)s) / 60.0",
        output_field=FloatField(),
    )


def _service_rows(qs: QuerySet[Incident]) -> QuerySet:
    """The incident–service rows of the incidents of `qs`."""
    return Incident.services.through.objects.filter(incident__in=qs.order_by().values("pk")).order_by()


def _downtime_cost() -> Sum:
    """Summed over incident–service rows, the downtime part of `with_figures`' cost: Σ per incident of
    minutes × Σ of its services' cost per minute = Σ per (incident, service) of minutes × that
    service's cost per minute — the same figure, without a subquery per incident."""
    money = DecimalField(max_digits=16, decimal_places=2)
    return Sum(
        Cast(_downtime_minutes("incident__"), money) * F("service__cost_per_minute"), output_field=money
    )


def _effort_cost() -> Sum:
    money = DecimalField(max_digits=16, decimal_places=2)
    return Sum(F("response_effort_hours") * Value(hourly_rate(), output_field=money), output_field=money)


def duration_summary(qs: QuerySet[Incident]) -> dict[str, dict[str, float | int | None]]:
    """Median, p90 and mean of each duration in minutes, one query."""
    return _durations_from(qs.order_by().aggregate(**_duration_aggregates()))


def _round(value: Any) -> Any:
    return round(value, 2) if isinstance(value, float) else value


# Cadence adherence ------------------------------------------------------------------------------


@dataclass
class Adherence:
    gaps: int = 0
    within: int = 0
    per_incident: dict[int, tuple[int, int]] = field(default_factory=dict)

    @property
    def share(self) -> float | None:
        return round(self.within / self.gaps, 4) if self.gaps else None


def incident_gaps(
    *, declared_at: datetime, restored_at: datetime | None, sent: Iterable[datetime], cadence: timedelta,
    as_of: datetime,
) -> tuple[int, int]:  # fmt: skip
    """(gaps, gaps within cadence) for one incident (ADR 0010): the points are the declaration,
    each distinct update time up to restoration, and the restoration. A gap equal to the cadence
    is within it. While unrestored, the open gap to `as_of` counts only once it is already late."""
    end = restored_at or as_of
    points = [declared_at, *sorted({t for t in sent if declared_at < t <= end})]
    gaps = [b - a for a, b in zip(points, points[1:], strict=False)]
    trailing = end - points[-1]
    if restored_at is not None or trailing > cadence:
        gaps.append(trailing)
    return len(gaps), sum(1 for gap in gaps if gap <= cadence)


def cadence_adherence(qs: QuerySet[Incident], as_of: datetime | None = None) -> Adherence:
    """Share of gaps between consecutive updates within the severity's cadence, pooled over the
    declared incidents of `qs`: `incident_gaps` for every incident at once, in one query (the
    points are de-duplicated by UNION and each gap taken to the next point with LEAD)."""
    as_of = as_of or timezone.now()
    policy_map = policies()
    ids_sql, ids_params = qs.filter(declared_at__isnull=False).order_by().values("pk").query.sql_with_params()
    values = ", ".join(["(%s, make_interval(mins => %s))"] * len(policy_map))
    sql = _CADENCE_SQL.format(
        policies=values, ids=ids_sql, incident=Incident._meta.db_table, update=StatusUpdate._meta.db_table
    )
    params = [v for p in policy_map.values() for v in (p.severity, p.update_cadence_minutes)]
    params += [as_of, *ids_params, UpdateState.SENT]
    result = Adherence()
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        for pk, gaps, within in cursor.fetchall():
            result.per_incident[pk] = (gaps, within)
            result.gaps += gaps
            result.within += within
    return result


_CADENCE_SQL = """
WITH policy(severity, cadence) AS (VALUES {policies}),
inc AS (
    SELECT i.id, i.declared_at AS d, i.restored_at AS r, COALESCE(i.restored_at, %s) AS e, p.cadence AS c
    FROM {incident} i JOIN policy p ON p.severity = i.severity
    WHERE i.id IN ({ids})
),
pts AS (
    SELECT id, d AS t FROM inc
    UNION
    SELECT inc.id, u.sent_at FROM {update} u JOIN inc ON u.incident_id = inc.id
    WHERE u.state = %s AND u.sent_at > inc.d AND u.sent_at <= inc.e
),
-- each point's gap runs to the next point; the last one's to the end (restoration or `as_of`),
-- which counts when restored, or when already late while unrestored
steps AS (
    SELECT pts.id, pts.t, LEAD(pts.t) OVER (PARTITION BY pts.id ORDER BY pts.t) AS nxt,
        inc.r, inc.e, inc.c
    FROM pts JOIN inc ON inc.id = pts.id
)
SELECT id,
    count(*) FILTER (WHERE nxt IS NOT NULL OR r IS NOT NULL OR e - t > c),
    count(*) FILTER (WHERE CASE WHEN nxt IS NOT NULL THEN nxt - t <= c ELSE r IS NOT NULL AND e - t <= c END)
FROM steps GROUP BY id
"""


# Repeat incidents --------------------------------------------------------------------------------

# A provider maps incident ids (a list, or a query of ids) to contributing-factor categories. `reviews` registers one in its
# AppConfig.ready(); incidents never imports reviews (DESIGN §2).
CategoryProvider = Callable[[Iterable[int]], Mapping[int, Iterable[str]]]
_category_providers: list[CategoryProvider] = []


def register_category_provider(provider: CategoryProvider) -> None:
    if provider not in _category_providers:
        _category_providers.append(provider)


def unregister_category_provider(provider: CategoryProvider) -> None:
    if provider in _category_providers:
        _category_providers.remove(provider)


def incident_categories(ids: Iterable[int]) -> dict[int, set[str]]:
    merged: dict[int, set[str]] = defaultdict(set)
    for provider in _category_providers:
        for pk, categories in provider(ids).items():
            merged[pk].update(categories)
    return dict(merged)


def service_repeat_pairs(qs: QuerySet[Incident]) -> set[tuple[int, int]]:
    """(service id, incident id) for each incident of `qs` that started within 90 days after an
    earlier incident (not cancelled or not-major) on that same service. One query: per service, LAG
    gives each incident's predecessor among all incidents on the services of `qs` (whole partitions);
    only then are the rows narrowed to `qs`.
    (Two incidents starting in the same second on one service count as one event.)"""
    ids_sql, ids_params = qs.order_by().values("pk").query.sql_with_params()
    sql = _REPEAT_SQL.format(
        through=Incident.services.through._meta.db_table,
        incident=Incident._meta.db_table,
        excluded=", ".join(["%s"] * len(EXCLUDED_STATES)),
        ids=ids_sql,
    )
    with connection.cursor() as cursor:
        cursor.execute(sql, [*EXCLUDED_STATES, *ids_params, REPEAT_WINDOW, *ids_params])
        return {(service, incident) for service, incident in cursor.fetchall()}


_REPEAT_SQL = """
WITH s AS (
    SELECT t.service_id, t.incident_id, i.impact_started_at AS started,
        LAG(i.impact_started_at) OVER (
            PARTITION BY t.service_id ORDER BY i.impact_started_at, t.incident_id
        ) AS previous
    FROM {through} t JOIN {incident} i ON i.id = t.incident_id
    WHERE i.state NOT IN ({excluded})
        AND t.service_id IN (SELECT service_id FROM {through} WHERE incident_id IN ({ids}))
)
SELECT service_id, incident_id FROM s
WHERE previous < started AND previous >= started - %s AND incident_id IN ({ids})
"""


def service_repeat_ids(qs: QuerySet[Incident]) -> set[int]:
    """Incidents of `qs` that repeat an earlier incident on one of their services."""
    return {incident for _, incident in service_repeat_pairs(qs)}


def category_repeats(
    ids: Iterable[int], categories: Mapping[int, Iterable[str]], starts: Mapping[int, datetime]
) -> dict[int, set[str]]:
    """Of `ids`, those whose impact started within 90 days after an earlier incident (of `starts`)
    sharing a contributing-factor category, with the shared categories. Per category the earlier
    start times are sorted once and searched by bisection, not compared pairwise."""
    by_category: dict[str, list[datetime]] = defaultdict(list)
    for pk, names in categories.items():
        if pk in starts:
            for name in set(names):
                by_category[name].append(starts[pk])
    for times in by_category.values():
        times.sort()
    result: dict[int, set[str]] = defaultdict(set)
    for pk in ids:
        if pk not in starts:
            continue
        started = starts[pk]
        for name in set(categories.get(pk, ())):
            times = by_category[name]
            # an earlier start in [started - 90 days, started): strictly before, at most 90 days
            i = bisect_left(times, started - REPEAT_WINDOW)
            if i < len(times) and times[i] < started:
                result[pk].add(f"category:{name}")
    return dict(result)


def repeat_incidents(
    qs: QuerySet[Incident],
    categories: Mapping[int, Iterable[str]] | None = None,
    ids: list[int] | None = None,
) -> dict[int, set[str]]:
    """Incidents of `qs` that repeat an earlier one within 90 days, with why: "service" and/or
    "category:<name>". `categories` (incident id → categories) defaults to the registered providers;
    `ids`, the primary keys of `qs`, when the caller has them already."""
    result: dict[int, set[str]] = defaultdict(set)
    for pk in service_repeat_ids(qs):
        result[pk].add("service")
    for pk, why in _category_repeat_reasons(qs, categories, ids).items():
        result[pk].update(why)
    return dict(result)


def _category_repeat_reasons(
    qs: QuerySet[Incident],
    categories: Mapping[int, Iterable[str]] | None = None,
    ids: list[int] | None = None,
) -> dict[int, set[str]]:
    if categories is None and not _category_providers:
        return {}
    if categories is None:  # the ids go to the providers as a subquery, not thousands of parameters
        categories = incident_categories(qs.order_by().values_list("pk", flat=True))
    if ids is None:
        ids = list(qs.order_by().values_list("pk", flat=True))
    if not categories:
        return {}
    starts = dict(
        Incident.objects.exclude(state__in=EXCLUDED_STATES)
        .filter(pk__in=list(categories))
        .values_list("pk", "impact_started_at")
    )
    return category_repeats(ids, categories, starts)


# Putting it together ---------------------------------------------------------------------------------


def incident_metrics(*, user: AbstractBaseUser, filters: MetricFilters = MetricFilters(),
                     as_of: datetime | None = None) -> dict[str, Any]:  # fmt: skip
    """The aggregated figures of DESIGN §6 over the filtered incidents. The cost is `with_figures`'
    cost summed (mean = total / count), taken as its effort part over the incidents plus its downtime
    part over their incident–service rows."""
    if not permissions.can_read_incidents(user):
        return {}
    qs = metric_incidents(filters)
    row = qs.order_by().aggregate(
        total=Count("pk"),
        reopened=Count("pk", filter=Q(reopen_count__gt=0)),
        effort_cost=_effort_cost(),
        **_duration_aggregates(),
    )
    downtime_cost = _service_rows(qs).aggregate(total=_downtime_cost())["total"]
    adherence = cadence_adherence(qs, as_of)
    references = dict(qs.order_by().values_list("pk", "reference"))
    repeats = repeat_incidents(qs, ids=list(references))
    total = row["total"]
    cost_total = None if not total else (row["effort_cost"] or Decimal(0)) + (downtime_cost or Decimal(0))
    return {
        "incident_count": total,
        "durations_minutes": _durations_from(row),
        "cadence_adherence": {"gaps": adherence.gaps, "within": adherence.within, "share": adherence.share},
        "reopened": row["reopened"],
        "reopen_rate": round(row["reopened"] / total, 4) if total else None,
        "repeat_incidents": {
            "count": len(repeats),
            "rate": round(len(repeats) / total, 4) if total else None,
            "incidents": sorted(
                (
                    {"id": pk, "reference": references[pk], "because": sorted(why)}
                    for pk, why in repeats.items()
                ),
                key=lambda row: row["reference"],
            ),
        },
        "cost": {
            "total": _money(cost_total),
            "mean": _money(None if cost_total is None else cost_total / total),
            "currency": settings.VALUEGATE_CURRENCY,
            "hourly_rate": _money(hourly_rate()),
        },
        "by_month": metrics_by_month(qs),
    }


def _money(value: Decimal | None) -> str | None:
    return None if value is None else str(Decimal(value).quantize(Decimal("0.01")))


def metrics_by_month(qs: QuerySet[Incident]) -> list[dict[str, Any]]:
    """Per month of `reported_at`: count, time to restore (median, p90, mean), cost (as in
    `incident_metrics`), two queries."""
    restore = minutes_between("impact_started_at", "restored_at")
    rows = (
        qs.order_by()
        .annotate(month=TruncMonth("reported_at"))
        .values("month")
        .annotate(
            count=Count("pk"),
            restore_median=PercentileCont(restore, 0.5),
            restore_p90=PercentileCont(restore, 0.9),
            restore_mean=Avg(restore),
            effort_cost=_effort_cost(),
            reopened=Count("pk", filter=Q(reopen_count__gt=0)),
        )
        .order_by("month")
    )
    downtime = dict(
        _service_rows(qs)
        .annotate(month=TruncMonth("incident__reported_at"))
        .values("month")
        .annotate(cost=_downtime_cost())
        .values_list("month", "cost")
    )
    return [
        {
            "month": timezone.localtime(row["month"]).strftime("%Y-%m")
            if timezone.is_aware(row["month"])
            else row["month"].strftime("%Y-%m"),
            "count": row["count"],
            "time_to_restore_median": _round(row["restore_median"]),
            "time_to_restore_p90": _round(row["restore_p90"]),
            "time_to_restore_mean": _round(row["restore_mean"]),
            "cost": _money((row["effort_cost"] or Decimal(0)) + (downtime.get(row["month"]) or Decimal(0))),
            "reopened": row["reopened"],
        }
        for row in rows
    ]


def incident_figures(incident: Incident, as_of: datetime | None = None) -> dict[str, Any]:
    """The same figures for one incident (its page and `incidents/{id}/metrics/`)."""
    row = (
        with_figures(Incident.objects.filter(pk=incident.pk))
        .values(*DURATIONS, "downtime_minutes", "cost")
        .get()
    )
    qs = Incident.objects.filter(pk=incident.pk)
    adherence = cadence_adherence(qs, as_of)
    repeats = repeat_incidents(qs, ids=[incident.pk])
    return {
        "durations_minutes": {name: _round(row[name]) for name in DURATIONS},
        "downtime_minutes": _round(row["downtime_minutes"]),
        "cost": _money(row["cost"]),
        "cadence_adherence": {"gaps": adherence.gaps, "within": adherence.within, "share": adherence.share},
        "reopen_count": incident.reopen_count,
        "repeat": sorted(repeats.get(incident.pk, ())),
        "pir_due_at": pir_due_at(incident),
    }


def incident_breakdown(*, user: AbstractBaseUser, filters: MetricFilters = MetricFilters()) -> dict[str, Any]:
    """Per service: incidents, repeats and the downtime cost the service carries (downtime minutes ×
    that service's cost per minute; response effort is not split across services); and repeats per
    contributing-factor category. For the dashboards' "by service" and "by factor" views."""
    if not permissions.can_read_incidents(user):
        return {"by_service": [], "repeat_by_category": []}
    qs = metric_incidents(filters)
    pairs = service_repeat_pairs(qs)
    rows = (
        _service_rows(qs)
        .values("service_id", "service__name")
        .annotate(incidents=Count("incident_id", distinct=True), cost=_downtime_cost())
        .order_by("-cost", "service__name")
    )
    repeats_per_service: dict[int, int] = defaultdict(int)
    for service, _ in pairs:
        repeats_per_service[service] += 1
    by_service = [
        {
            "service": row["service__name"],
            "incidents": row["incidents"],
            "repeats": repeats_per_service[row["service_id"]],
            "cost": _money(row["cost"]),
        }
        for row in rows
    ]
    per_category: dict[str, int] = defaultdict(int)
    for why in _category_repeat_reasons(qs).values():
        for reason in why:
            if reason.startswith("category:"):
                per_category[reason.removeprefix("category:")] += 1
    return {
        "by_service": by_service,
        "repeat_by_category": sorted(per_category.items(), key=lambda item: (-item[1], item[0])),
    }
