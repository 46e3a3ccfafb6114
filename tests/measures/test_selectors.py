"""Selectors: the implementation light (DESIGN §5.3), visibility per persona, the inbox."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from measures import selectors, services
from measures.models import Measure


def light(measure) -> str:
    return selectors.implementation_status(Measure.objects.get(pk=measure.pk))


def add_milestone(cast, measure, days_from_today, critical=False, done=False):
    today = timezone.localdate()
    milestone = services.milestone_create(
        measure=measure,
        by=cast["pm"],
        title="M",
        due_date=today + timedelta(days=days_from_today),
        critical=critical,
    )
    if done:
        services.milestone_complete(
            milestone=milestone, by=cast["pm"], completed_at=today, evidence_note="ok"
        )


def test_grey_without_milestones(new_measure):
    assert light(new_measure) == "grey"


def test_green_when_nothing_is_overdue(cast, new_measure):
    add_milestone(cast, new_measure, 10, critical=True)
    add_milestone(cast, new_measure, -30, done=True)
    assert light(new_measure) == "green"


def test_amber_when_a_milestone_is_overdue(cast, new_measure):
    add_milestone(cast, new_measure, -40)
    assert light(new_measure) == "amber"


def test_amber_when_a_critical_milestone_is_overdue_less_than_the_threshold(cast, new_measure):
    add_milestone(cast, new_measure, -13, critical=True)
    assert light(new_measure) == "amber"


def test_red_when_a_critical_milestone_is_overdue_by_the_threshold(cast, new_measure):
    add_milestone(cast, new_measure, -14, critical=True)
    assert light(new_measure) == "red"


def test_the_red_threshold_is_configurable_per_program(cast, tree, new_measure, admin_user, settings):
    add_milestone(cast, new_measure, -10, critical=True)
    assert light(new_measure) == "amber"
    services.scope_update(scope=tree.program, by=admin_user, milestone_red_days=7)
    assert light(new_measure) == "red"
    settings.VALUEGATE_MILESTONE_RED_DAYS = 5
    services.scope_update(scope=tree.program, by=admin_user, milestone_red_days=None)
    assert light(new_measure) == "red"


def test_list_filter_by_light(cast, new_measure):
    add_milestone(cast, new_measure, -20, critical=True)
    rows = selectors.measure_list(user=cast["pm"]).filter(implementation_status="red")
    assert list(rows) == [new_measure]


@pytest.mark.parametrize(
    ("person", "sees"),
    [
        ("pm", True),
        ("controller", True),
        ("sponsor", True),
        ("owner", True),
        ("viewer", True),
        ("leader", True),
        ("mim", False),
        ("outsider", False),
    ],
)
def test_visibility_per_persona(cast, new_measure, person, sees):
    assert selectors.measure_list(user=cast[person]).filter(pk=new_measure.pk).exists() is sees


def test_inbox_shows_each_approver_their_own_work(cast, ready_measure):
    services.gate_request_submit(measure=ready_measure, by=cast["owner"])
    assert len(selectors.inbox(user=cast["pm"]).approvals) == 1
    for person in ("owner", "sponsor", "controller", "viewer", "leader", "outsider"):
        assert selectors.inbox(user=cast[person]).approvals == [], person
