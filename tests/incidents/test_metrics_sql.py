"""The set-based metric computations (issue 10) agree with their definitions computed from scratch."""

import random
from datetime import timedelta
from decimal import Decimal

import pytest

from incidents import selectors, services
from incidents.choices import EXCLUDED_STATES
from incidents.models import Incident
from incidents.selectors.metrics import REPEAT_WINDOW, category_repeats, service_repeat_pairs
from tests.incidents.conftest import T0, at

DAY = 24 * 60


def pairwise_category_repeats(ids, categories, starts):
    """The definition (ADR 0010), pair by pair: an earlier incident within 90 days sharing a category."""
    result = {}
    for pk in ids:
        if pk not in starts:
            continue
        for other, started in starts.items():
            gap = starts[pk] - started
            shared = set(categories.get(pk, ())) & set(categories.get(other, ()))
            if other != pk and shared and timedelta(0) < gap <= REPEAT_WINDOW:
                result.setdefault(pk, set()).update(f"category:{name}" for name in shared)
    return result


def test_category_repeats_match_the_pairwise_definition_on_random_data():
    rng = random.Random(11)
    for _ in range(20):
        n = rng.randint(1, 60)
        starts = {
            pk: T0 + timedelta(days=rng.choice([0, 1, 30, 89, 90, 91, 120]) * rng.randint(0, 4))
            for pk in range(n)
        }
        categories = {pk: rng.sample(["change", "capacity", "vendor"], rng.randint(0, 2)) for pk in range(n)}
        ids = rng.sample(range(n + 5), rng.randint(0, n + 5))  # some ids without a start: excluded ones
        assert category_repeats(ids, categories, starts) == pairwise_category_repeats(ids, categories, starts)


@pytest.fixture
def history(walk, catalog, mim):
    """40 incidents at random times over a year on one or both services, a few cancelled."""
    rng = random.Random(5)
    made = []
    for _ in range(40):
        start = -rng.randint(0, 365) * DAY + rng.choice([0, 0, 37])
        service = rng.choice([catalog["payments"], catalog["intranet"]])
        if rng.random() < 0.1:
            incident = walk("reported", start=start, service=service)
            services.incident_cancel(incident=incident, by=mim, reason="Duplicate")
            continue
        restore = rng.choice([30, 90, 600])
        incident = walk(
            "closed", start=start, service=service, restore=restore, validate=restore + 10, close=restore + 20
        )
        if rng.random() < 0.3:
            incident.services.add(
                catalog["intranet"] if service == catalog["payments"] else catalog["payments"]
            )
        made.append(incident)
    return made


def expected_service_pairs(wanted):
    """Per service, each incident whose latest earlier start (ties broken by id) is less than 90 days
    before its own and strictly earlier."""
    rows = []
    for incident in Incident.objects.exclude(state__in=EXCLUDED_STATES).prefetch_related("services"):
        rows += [(s.pk, incident.impact_started_at, incident.pk) for s in incident.services.all()]
    result = set()
    for service in {s for s, _, _ in rows}:
        mine = sorted((start, pk) for s, start, pk in rows if s == service)
        for (previous, _), (started, pk) in zip(mine, mine[1:], strict=False):
            if previous < started and started - previous <= REPEAT_WINDOW and pk in wanted:
                result.add((service, pk))
    return result


def test_service_repeat_pairs_match_the_definition(history):
    every = selectors.metric_incidents()
    assert service_repeat_pairs(every) == expected_service_pairs(set(every.values_list("pk", flat=True)))
    some = every.filter(reported_at__lt=at(-180 * DAY))
    assert service_repeat_pairs(some) == expected_service_pairs(set(some.values_list("pk", flat=True)))


def test_cost_totals_equal_the_per_incident_costs_summed(history, people):
    """The total and monthly costs (summed over incident–service rows) equal `with_figures`' cost of
    each incident (a subquery per incident) summed, and the mean is that total over the count."""
    figures = selectors.incident_metrics(user=people["leader"])
    costs = {i.pk: i.cost for i in selectors.with_figures(selectors.metric_incidents())}
    total = sum(costs.values(), Decimal(0))
    assert figures["cost"]["total"] == str(total.quantize(Decimal("0.01")))
    assert figures["cost"]["mean"] == str((total / len(costs)).quantize(Decimal("0.01")))
    by_month = {}
    for incident in selectors.metric_incidents():
        month = incident.reported_at.strftime("%Y-%m")
        by_month[month] = by_month.get(month, Decimal(0)) + costs[incident.pk]
    assert {m["month"]: m["cost"] for m in figures["by_month"]} == {
        month: str(cost.quantize(Decimal("0.01"))) for month, cost in by_month.items()
    }
