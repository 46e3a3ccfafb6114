"""Metrics of DESIGN §6 against figures computed by hand."""

from datetime import timedelta
from decimal import Decimal

import pytest

from incidents import selectors, services
from incidents.selectors import MetricFilters, incident_gaps
from tests.incidents.conftest import T0, at

DAY = 24 * 60


def _update_at(incident, by, minute):
    return services.status_update_create(
        incident=incident, by=by, kind="progress", audience="business", channel="email",
        affected_service="Payments", business_impact="Stores cannot take cards", current_status="Working on it",
        next_update_due_at=at(minute + 60), sent_at=at(minute),
    )  # fmt: skip


@pytest.fixture
def five(walk, mim, catalog):
    """Five closed SEV2 incidents, 200 days apart going back from T0 (no repeats), with
    time to detect 2, 4, 6, 8, 100 and time to restore 60, 90, 120, 150, 600 minutes."""
    rows = [(2, 60), (4, 90), (6, 120), (8, 150), (100, 600)]
    result = []
    for i, (detect, restore) in enumerate(rows):
        result.append(
            walk("closed", start=-i * 200 * DAY, detect=detect, report=detect + 1, declare=detect + 2,
                 assemble=detect + 3, restore=restore, validate=restore + 10, close=restore + 20)
        )  # fmt: skip
    # never counted: a cancelled and a not-major incident with absurd times
    services.incident_cancel(incident=walk("reported", detect=5000, report=5001), by=mim, reason="Duplicate")
    services.incident_mark_not_major(
        incident=walk("reported", detect=9000, report=9001), by=mim, reason="One user"
    )
    return result


def test_median_p90_and_mean_against_hand_computation(five, people):
    figures = selectors.incident_metrics(user=people["leader"])
    assert figures["incident_count"] == 5
    detect = figures["durations_minutes"]["time_to_detect"]
    # sorted 2,4,6,8,100: median 6; p90 at rank 0.9*4 = 3.6 -> 8 + 0.6*(100-8) = 63.2; mean 120/5
    assert detect == {"median": 6.0, "p90": 63.2, "mean": 24.0, "count": 5}
    restore = figures["durations_minutes"]["time_to_restore"]
    # 60,90,120,150,600: median 120; p90 150 + 0.6*450 = 420; mean 1020/5 = 204
    assert restore == {"median": 120.0, "p90": 420.0, "mean": 204.0, "count": 5}
    # each: acknowledged = declared = detect+2, reported = detect+1 -> 1 min; declare = detected+2 -> 2 min
    assert figures["durations_minutes"]["time_to_acknowledge"]["median"] == 1.0
    assert figures["durations_minutes"]["time_to_declare"]["mean"] == 2.0
    assert figures["durations_minutes"]["time_to_assemble"]["p90"] == 1.0


def test_filters_by_period_service_and_severity(five, walk, catalog, people):
    walk("closed", start=10 * DAY, severity=1, service=catalog["intranet"], restore=30, validate=40, close=50)
    leader = people["leader"]
    by_severity = selectors.incident_metrics(user=leader, filters=MetricFilters(severity=1))
    assert by_severity["incident_count"] == 1
    assert by_severity["durations_minutes"]["time_to_restore"]["median"] == 30.0
    by_service = selectors.incident_metrics(
        user=leader, filters=MetricFilters(service=catalog["payments"].pk)
    )
    assert by_service["incident_count"] == 5
    first_two = MetricFilters(
        date_from=(T0 - timedelta(days=200)).date(), date_to=(T0 + timedelta(days=10)).date()
    )
    assert (
        selectors.incident_metrics(user=leader, filters=first_two)["incident_count"] == 3
    )  # days -200, 0 and the SEV1 on day 10


def test_reopen_rate(five, walk, mim, people):
    incident = walk("validated", start=-1100 * DAY)
    services.incident_reopen(incident=incident, by=mim, reason="Errors back")
    figures = selectors.incident_metrics(user=people["leader"])
    assert (figures["reopened"], figures["reopen_rate"]) == (1, round(1 / 6, 4))


def test_cost_is_downtime_times_cost_per_minute_plus_effort(walk, mim, catalog, settings):
    settings.VALUEGATE_INCIDENT_HOURLY_RATE = 85
    incident = walk("closed", restore=120)  # impact start -> restored: 120 min on Payments at 100/min
    services.incident_update(incident=incident, by=mim, response_effort_hours=Decimal("10"))
    assert selectors.incident_figures(incident)["cost"] == "12850.00"  # 120*100 + 10*85
    incident.services.add(catalog["intranet"])  # 2.50/min more
    assert selectors.incident_figures(incident)["cost"] == "13150.00"  # 120*102.5 + 850


def test_aggregate_cost_total_and_mean(five, people):
    # downtime 60+90+120+150+600 = 1020 min at 100/min, no effort
    cost = selectors.incident_metrics(user=people["leader"])["cost"]
    assert (cost["total"], cost["mean"]) == ("102000.00", "20400.00")


def test_repeat_incidents_on_the_same_service_within_90_days(walk, catalog, people):
    first = walk("closed", start=0)
    second = walk("closed", start=10 * DAY)
    third = walk("closed", start=99 * DAY)  # 89 days after the second
    walk("closed", start=20 * DAY, service=catalog["intranet"])
    later = walk("closed", start=200 * DAY)  # 101 days after the third: not a repeat
    repeats = selectors.repeat_incidents(selectors.metric_incidents())
    assert repeats == {second.pk: {"service"}, third.pk: {"service"}}
    assert first.pk not in repeats and later.pk not in repeats
    figures = selectors.incident_metrics(user=people["leader"])
    assert figures["repeat_incidents"]["count"] == 2


def test_repeats_by_contributing_factor_category_through_the_hook(walk, catalog):
    a = walk("closed", start=0, service=catalog["intranet"])
    b = walk("closed", start=30 * DAY)
    c = walk("closed", start=200 * DAY)
    categories = {a.pk: ["change"], b.pk: ["change", "capacity"], c.pk: ["change"]}
    assert selectors.repeat_incidents(selectors.metric_incidents(), categories=categories) == {
        b.pk: {"category:change"}
    }

    def provider(ids):
        return {pk: cats for pk, cats in categories.items() if pk in ids}

    selectors.register_category_provider(provider)
    try:
        assert selectors.repeat_incidents(selectors.metric_incidents()) == {b.pk: {"category:change"}}
    finally:
        selectors.unregister_category_provider(provider)


# --- Update-cadence adherence (ADR 0010) ----------------------------------------------------------

SIXTY = timedelta(minutes=60)


def test_cadence_with_no_updates_at_all():
    assert incident_gaps(declared_at=at(0), restored_at=at(50), sent=[], cadence=SIXTY, as_of=at(999)) == (
        1,
        1,
    )
    assert incident_gaps(declared_at=at(0), restored_at=at(61), sent=[], cadence=SIXTY, as_of=at(999)) == (
        1,
        0,
    )


def test_an_update_exactly_on_the_boundary_is_within_cadence():
    assert incident_gaps(
        declared_at=at(0), restored_at=at(120), sent=[at(60)], cadence=SIXTY, as_of=at(999)
    ) == (2, 2)
    assert incident_gaps(
        declared_at=at(0), restored_at=at(120), sent=[at(61)], cadence=SIXTY, as_of=at(999)
    ) == (2, 1)


def test_updates_outside_the_declared_period_do_not_count():
    sent = [at(-10), at(30), at(200)]
    assert incident_gaps(declared_at=at(0), restored_at=at(90), sent=sent, cadence=SIXTY, as_of=at(999)) == (
        2,
        2,
    )


def test_an_open_incident_counts_its_last_gap_only_once_late():
    assert incident_gaps(declared_at=at(0), restored_at=None, sent=[at(40)], cadence=SIXTY, as_of=at(90)) == (
        1,
        1,
    )
    assert incident_gaps(
        declared_at=at(0), restored_at=None, sent=[at(40)], cadence=SIXTY, as_of=at(101)
    ) == (2, 1)


def test_cadence_adherence_pooled_over_incidents(walk, mim, people):
    # SEV2, cadence 60. A: declared 20, updates 80 (60: within) and 150 (70: late), restored 200 (50: within).
    a = walk("declared", declare=20, assemble=None)
    _update_at(a, mim, 80)
    _update_at(a, mim, 150)
    services.incident_restore(incident=a, by=mim, at=at(200))
    # B: declared 20 (on another day), restored 100, no updates: one gap of 80 -> late.
    b = walk("restored", start=DAY, declare=20, assemble=None, restore=100)
    adherence = selectors.cadence_adherence(selectors.metric_incidents(), as_of=at(2 * DAY))
    assert adherence.per_incident == {a.pk: (3, 2), b.pk: (1, 0)}
    assert (adherence.gaps, adherence.within, adherence.share) == (4, 2, 0.5)
    assert selectors.incident_figures(a)["cadence_adherence"] == {"gaps": 3, "within": 2, "share": 0.6667}


def test_metrics_by_month(five, people):
    months = selectors.incident_metrics(user=people["leader"])["by_month"]
    assert [(m["month"], m["count"], m["time_to_restore_median"]) for m in months] == [
        ("2023-12", 1, 600.0),
        ("2024-07", 1, 150.0),
        ("2025-01", 1, 120.0),
        ("2025-08", 1, 90.0),
        ("2026-03", 1, 60.0),
    ]


def test_the_database_computation_matches_the_definition_on_random_timelines(walk, mim):
    """`cadence_adherence` (SQL) agrees with `incident_gaps` (the definition) on 30 random incidents,
    including duplicate update times, updates on the boundary and unrestored incidents."""
    import random

    from incidents.models import StatusUpdate

    rng = random.Random(7)
    as_of = at(40 * DAY)
    for i in range(30):
        start = i * DAY
        restored = rng.choice([None, 300, 130])
        incident = walk("declared", start=start, declare=20, assemble=None, severity=rng.choice([1, 2]))
        minute = 20
        for _ in range(rng.randint(0, 5)):
            minute += rng.choice([0, 30, 60, 61, 90])
            if minute < (restored or 10_000):
                _update_at(incident, mim, start + minute)
        if restored:
            services.incident_restore(incident=incident, by=mim, at=at(start + restored))
    adherence = selectors.cadence_adherence(selectors.metric_incidents(), as_of=as_of)
    expected = {}
    for incident in selectors.metric_incidents():
        sent = list(StatusUpdate.objects.filter(incident=incident).values_list("sent_at", flat=True))
        cadence = timedelta(minutes=30 if incident.severity == 1 else 60)
        expected[incident.pk] = incident_gaps(
            declared_at=incident.declared_at,
            restored_at=incident.restored_at,
            sent=sent,
            cadence=cadence,
            as_of=as_of,
        )
    assert adherence.per_incident == expected
    assert adherence.gaps == sum(g for g, _ in expected.values())


def test_breakdown_by_service_attributes_downtime_cost_and_repeats(walk, catalog, people):
    walk("closed", start=0, restore=60)  # Payments: 60 min × 100
    second = walk("closed", start=10 * DAY, restore=30)  # Payments again within 90 days: a repeat
    second.services.add(catalog["intranet"])  # and Intranet: 30 min × 2.50
    breakdown = selectors.incident_breakdown(user=people["leader"])
    assert breakdown["by_service"] == [
        {"service": "Payments", "incidents": 2, "repeats": 1, "cost": "9000.00"},
        {"service": "Intranet", "incidents": 1, "repeats": 0, "cost": "75.00"},
    ]
    assert breakdown["repeat_by_category"] == []
    assert selectors.incident_breakdown(user=people["staff"])["by_service"] == breakdown["by_service"]
