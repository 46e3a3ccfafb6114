"""Actions: states, rejection rationale, four-eyes verification, overdue lists, promotion to a
governed measure (fields carried over, links both ways, state following the DoI), linking and
effectiveness on a repeat (DESIGN §7)."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal

import pytest

from config.errors import Conflict, InvalidInput, NotFound, PermissionRefused
from config.errors import SeparationOfDutiesViolation as FourEyes
from incidents import selectors as incident_selectors
from measures import services as measure_services
from measures.demo_measures import _replay_gate
from measures.models import AuditEntry
from reviews import selectors, services
from reviews.choices import ActionState
from reviews.models import Action, Review
from tests.reviews.conftest import at


def state_of(action):
    return selectors.action_list(user=action.owner).get(pk=action.pk).effective_state


def test_an_action_walks_proposed_to_verified(action, service_owner, mim):
    action = services.action_accept(action=action, by=service_owner)
    action = services.action_start(action=action, by=service_owner)
    action = services.action_complete(action=action, by=service_owner)
    assert action.state == ActionState.DONE and action.done_at
    with pytest.raises(FourEyes):
        services.action_verify(action=action, by=service_owner)
    action = services.action_verify(action=action, by=mim)
    assert action.state == ActionState.VERIFIED and action.verified_by == mim
    with pytest.raises(Conflict):
        services.action_start(action=action, by=service_owner)


def test_rejection_needs_a_rationale(action, mim, service_owner):
    with pytest.raises(InvalidInput):
        services.action_reject(action=action, by=mim, rationale="")
    action = services.action_reject(action=action, by=mim, rationale="Covered by the vendor's fix")
    assert (
        action.state == ActionState.REJECTED and action.rejection_rationale == "Covered by the vendor's fix"
    )


def test_only_people_of_the_incident_and_the_owner_move_actions(action, cast):
    with pytest.raises(PermissionRefused):
        services.action_accept(action=action, by=cast["outsider"])


def test_action_input_is_checked(review, mim, cast):
    with pytest.raises(InvalidInput) as refused:
        services.action_create(
            review=review, by=mim, title="", owner=cast["owner"], due_date=None, kind="blame"
        )
    assert set(refused.value.details) == {"title", "kind", "due_date"}


def test_overdue_actions_per_owner_and_on_the_pir(review, mim, service_owner, cast):
    make = services.action_create
    late = make(review=review, by=mim, title="Late", owner=service_owner, due_date=date(2026, 1, 1))
    make(review=review, by=mim, title="Later", owner=cast["pm"], due_date=date(2026, 1, 5))
    make(review=review, by=mim, title="Future", owner=service_owner, due_date=date(2031, 1, 1))
    done = make(review=review, by=mim, title="Done", owner=service_owner, due_date=date(2026, 1, 1))
    services.action_complete(action=services.action_accept(action=done, by=mim), by=mim)
    today = date(2026, 6, 1)
    assert {a.title for a in selectors.overdue_actions(user=cast["leader"], today=today)} == {"Late", "Later"}
    groups = selectors.overdue_actions_by_owner(user=cast["leader"], today=today)
    assert [(g.owner.username, g.count) for g in groups] == [("owner", 1), ("pm", 1)]
    assert selectors.review_list(user=cast["viewer"]).get(pk=review.pk).overdue_actions == 2
    assert late in selectors.overdue_actions(user=cast["leader"])


# --- Promotion ------------------------------------------------------------------------------------


def test_promotion_creates_a_doi0_measure_linked_both_ways(action, service_owner, tree, review):
    action = services.action_promote(action=action, by=service_owner, package=tree.package)
    measure = action.measure
    assert measure.stage == "defined" and measure.doi == 0
    assert measure.title == "Automate gateway failover" and measure.owner == service_owner
    assert measure.package == tree.package
    assert f"Born from the PIR of {review.incident.reference}" in measure.objective
    assert "Failover took 40 minutes by hand." in measure.objective
    assert list(measure.review_actions.all()) == [action]
    assert action.state == ActionState.ACCEPTED and action.promoted_by == service_owner
    # 120 minutes of downtime at 100.00 a minute; no other Payments incident in the year before.
    cost = (
        incident_selectors.with_figures(incident_selectors.metric_incidents()).get(pk=review.incident_id).cost
    )
    assert action.baseline_suggestion == Decimal("12000.00") == cost
    assert AuditEntry.objects.filter(measure_id=measure.pk, action="action_promoted").exists()


def test_the_baseline_counts_earlier_incidents_on_the_same_service(restored, mim, service_owner, tree):
    restored(start=0)
    later = restored(start=60 * 24 * 30)
    review = Review.objects.get(incident=later)
    action = services.action_create(
        review=review, by=mim, title="Fix it", owner=service_owner, due_date=date(2026, 5, 1)
    )
    action = services.action_promote(action=action, by=service_owner, package=tree.package)
    assert action.baseline_suggestion == Decimal("24000.00")


def test_one_action_promotes_once(action, service_owner, tree):
    services.action_promote(action=action, by=service_owner, package=tree.package)
    with pytest.raises(Conflict, match="already promoted"):
        services.action_promote(action=action, by=service_owner, package=tree.package)


def test_the_promoter_must_be_allowed_to_create_measures_in_the_package(action, mim, service_owner, tree):
    with pytest.raises(PermissionRefused):
        services.action_promote(action=action, by=mim, package=tree.package)  # no role in the package
    with pytest.raises(PermissionRefused):
        services.action_promote(action=action, by=service_owner, package=tree.other_package)
    assert Action.objects.get(pk=action.pk).measure is None


def test_several_actions_link_to_one_visible_measure(review, action, mim, service_owner, cast, tree):
    measure = measure_services.measure_create(
        by=cast["pm"], title="Gateway resilience", objective="x", package=tree.package
    )
    other = services.action_create(
        review=review, by=mim, title="Alert on timeouts", owner=service_owner, due_date=date(2026, 5, 1)
    )
    services.action_link_measure(action=action, by=service_owner, measure=measure)
    services.action_link_measure(action=other, by=service_owner, measure=measure)
    assert set(measure.review_actions.all()) == {action, other}
    with pytest.raises(Conflict):
        services.action_link_measure(action=other, by=service_owner, measure=measure)
    hidden = measure_services.measure_create(
        by=cast["outsider"], title="Hidden", objective="x", package=tree.other_package
    )
    third = services.action_create(
        review=review, by=mim, title="Third", owner=service_owner, due_date=date(2026, 5, 1)
    )
    with pytest.raises(NotFound):
        services.action_link_measure(action=third, by=service_owner, measure=hidden)


def test_a_promoted_action_follows_the_measure(action, service_owner, tree, cast):
    action = services.action_promote(action=action, by=service_owner, package=tree.package)
    measure = action.measure
    assert state_of(action) == ActionState.ACCEPTED
    _replay_gate(measure, 1, cast)
    assert state_of(action) == ActionState.IN_PROGRESS
    for doi in (2, 3, 4):
        _replay_gate(measure, doi, cast)
    assert state_of(action) == ActionState.DONE
    with pytest.raises(Conflict, match=f"follows measure {measure.code}"):
        services.action_complete(action=action, by=service_owner)
    _replay_gate(measure, 5, cast)
    row = selectors.action_list(user=service_owner).get(pk=action.pk)
    assert row.effective_state == ActionState.VERIFIED and row.effective_verified_at is not None
    action.refresh_from_db()
    assert selectors.effective_state(action) == ActionState.VERIFIED


# --- Effectiveness ----------------------------------------------------------------------------------


def _verified(action, owner, verifier, when):
    services.action_complete(action=services.action_accept(action=action, by=owner), by=owner)
    services.action_verify(action=action, by=verifier)
    Action.objects.filter(pk=action.pk).update(verified_at=when)  # verified back then


def test_a_repeat_on_the_same_service_marks_a_verified_action_ineffective(
    action, mim, service_owner, restored, catalog
):
    _verified(action, service_owner, mim, at(60 * 24 * 3))
    restored(start=60 * 24 * 100, service=catalog["intranet"])  # other service: no repeat
    assert Action.objects.get(pk=action.pk).ineffective_incident is None
    repeat = restored(start=60 * 24 * 10)
    action.refresh_from_db()
    assert action.ineffective_incident == repeat and action.ineffective_because == "service"
    row = selectors.review_list(user=mim).get(pk=action.review_id)
    assert row.ineffective_actions == 1
    assert list(selectors.ineffective_actions(user=mim)) == [action]


def test_a_repeat_by_factor_category_marks_it_too(action, review, mim, service_owner, restored, catalog):
    services.factor_add(review=review, by=mim, category="configuration", description="Expired certificate")
    _verified(action, service_owner, mim, at(60 * 24 * 3))
    other = restored(start=60 * 24 * 20, service=catalog["intranet"], title="Intranet down")
    assert Action.objects.get(pk=action.pk).ineffective_incident is None
    services.factor_add(
        review=Review.objects.get(incident=other),
        by=mim,
        category="configuration",
        description="Expired certificate again",
    )
    action.refresh_from_db()
    assert action.ineffective_incident == other and action.ineffective_because == "category:configuration"


def test_an_incident_before_verification_or_long_after_is_not_a_repeat(action, mim, service_owner, restored):
    _verified(action, service_owner, mim, at(60 * 24 * 30))
    restored(start=60 * 24 * 10)  # before verification
    restored(start=60 * 24 * 200)  # beyond the 90-day window
    assert Action.objects.get(pk=action.pk).ineffective_incident is None


def test_repeat_metrics_of_incidents_use_the_factor_categories(review, mim, restored, catalog):
    services.factor_add(review=review, by=mim, category="vendor", description="Acquirer outage")
    other = restored(start=60 * 24 * 5, service=catalog["intranet"], title="Intranet down")
    services.factor_add(
        review=Review.objects.get(incident=other), by=mim, category="vendor", description="Host outage"
    )
    figures = incident_selectors.incident_metrics(user=mim)
    repeats = {row["reference"]: row["because"] for row in figures["repeat_incidents"]["incidents"]}
    assert repeats == {other.reference: ["category:vendor"]}
    assert timedelta(days=90) == incident_selectors.REPEAT_WINDOW
