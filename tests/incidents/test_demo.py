"""The demo data: realistic, idempotent, and exercising every figure."""

from incidents import demo, selectors
from incidents.models import Incident, StatusUpdate, VendorEscalation


def test_demo_loads_once_with_the_promised_shape(people):
    demo.load()
    count = Incident.objects.count()
    demo.load()
    assert Incident.objects.count() == count == len(demo.INCIDENTS)
    majors = selectors.metric_incidents()
    assert majors.count() == 25
    assert majors.filter(reopen_count__gt=0).count() == 2
    assert majors.values("services").distinct().count() == 10
    assert VendorEscalation.objects.exists() and StatusUpdate.objects.count() > 50
    figures = selectors.incident_metrics(user=people["leader"])
    assert 0 < figures["cadence_adherence"]["share"] < 1  # some updates were late
    card = [
        r
        for r in figures["repeat_incidents"]["incidents"]
        if "Card" in Incident.objects.get(pk=r["id"]).services.get().name
    ]
    assert len(card) >= 3
    assert len(selectors.open_major_incidents(user=people["leader"])) == 2
    assert len({m["month"] for m in figures["by_month"]}) >= 11
