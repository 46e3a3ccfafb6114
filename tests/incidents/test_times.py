"""The time-order rule of DESIGN §6, for every ordered pair, with the offending field named."""

from datetime import timedelta

import pytest
from django.db import IntegrityError, transaction

from config.errors import InvalidInput
from incidents import services
from incidents.choices import EntryKind
from incidents.models import Incident
from incidents.models.incident import ordered_time_pairs
from tests.incidents.conftest import at

PAIRS = ordered_time_pairs()


def test_the_rule_covers_every_pair():
    assert len(PAIRS) == 35  # 9 times: 36 pairs less acknowledged|declared, which share a level
    assert ("acknowledged_at", "declared_at") not in PAIRS and ("declared_at", "acknowledged_at") not in PAIRS


@pytest.mark.parametrize(("earlier", "later"), PAIRS)
def test_a_later_time_before_an_earlier_one_is_refused_naming_the_changed_field(walk, mim, earlier, later):
    incident = walk("closed")
    before = Incident.objects.get(pk=incident.pk)
    # move `later` just before `earlier`: the changed field is named
    with pytest.raises(InvalidInput) as refused:
        services.incident_update(
            incident=incident, by=mim, **{later: getattr(before, earlier) - timedelta(minutes=1)}
        )
    assert list(refused.value.details) == [later]
    # and move `earlier` just after `later`
    with pytest.raises(InvalidInput) as refused:
        services.incident_update(
            incident=incident, by=mim, **{earlier: getattr(before, later) + timedelta(minutes=1)}
        )
    assert list(refused.value.details) == [earlier]
    after = Incident.objects.get(pk=incident.pk)
    assert (getattr(after, earlier), getattr(after, later)) == (
        getattr(before, earlier),
        getattr(before, later),
    )


def test_equal_times_are_in_order(walk, mim):
    incident = walk("closed")
    incident = services.incident_update(incident=incident, by=mim, detected_at=at(0), reported_at=at(0))
    assert incident.detected_at == incident.impact_started_at == incident.reported_at


def test_acknowledged_may_come_after_declared(walk, mim):
    incident = walk("closed", assemble=60)
    incident = services.incident_update(incident=incident, by=mim, acknowledged_at=at(25))
    assert incident.acknowledged_at > incident.declared_at


def test_the_database_refuses_out_of_order_times_too(walk):
    incident = walk("closed")
    with pytest.raises(IntegrityError), transaction.atomic():
        Incident.objects.filter(pk=incident.pk).update(restored_at=at(-60))


def test_a_transition_at_a_time_before_an_earlier_time_is_refused(walk, mim):
    incident = walk("declared")
    with pytest.raises(InvalidInput) as refused:
        services.incident_restore(incident=incident, by=mim, at=at(25))  # team assembled at 30
    assert list(refused.value.details) == ["restored_at"]
    assert Incident.objects.get(pk=incident.pk).state == "declared"


def test_times_in_the_future_are_refused(walk, mim):
    from django.utils import timezone

    incident = walk("declared")
    with pytest.raises(InvalidInput) as refused:
        services.incident_restore(incident=incident, by=mim, at=timezone.now() + timedelta(hours=2))
    assert list(refused.value.details) == ["restored_at"]


def test_a_time_correction_is_audited_on_the_timeline(walk, mim):
    incident = walk("closed")
    services.incident_update(
        incident=incident, by=mim, detected_at=at(3), reason="Monitoring alert found later"
    )
    entry = incident.timeline.get(kind=EntryKind.CORRECTION)
    assert entry.text == (
        "Times corrected. Detected time: 2026-03-02 09:05 → 2026-03-02 09:03. Reason: Monitoring alert found later"
    )
    assert entry.author == mim


def test_a_time_correction_leaves_row_history(walk, mim):
    incident = walk("closed")
    services.incident_update(incident=incident, by=mim, detected_at=at(3))
    events = Incident.pgh_event_model.objects.filter(pgh_obj=incident).order_by("pgh_id")
    assert events.last().detected_at == at(3)
    assert any(event.detected_at == at(5) for event in events)


def test_required_times_cannot_be_cleared(walk, mim):
    incident = walk("declared")
    with pytest.raises(InvalidInput) as refused:
        services.incident_update(incident=incident, by=mim, detected_at=None)
    assert "detected_at" in refused.value.details
