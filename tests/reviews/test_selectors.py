"""Figures the dashboards call: PIR completion and on-time rate, overdue actions by scope, and
visibility of linked measures (DESIGN §8)."""

from __future__ import annotations

from datetime import date

from django.utils import timezone

from incidents.selectors import MetricFilters
from reviews import selectors, services
from reviews.models import Review
from tests.reviews.conftest import T0, write


def _approve(review, writer, owner, mim):
    write(review, writer)
    services.review_submit(review=review, by=writer)
    services.review_approve(review=review, by=owner)
    return services.review_approve(review=review, by=mim)


def test_pir_completion_and_on_time_rate(restored, writer, service_owner, mim, cast, catalog):
    recent = (timezone.now() - T0).total_seconds() / 60 - 60 * 24  # restored yesterday: due next week
    on_time = Review.objects.get(incident=restored(start=recent))
    late = Review.objects.get(incident=restored(start=0))
    still_open = Review.objects.get(incident=restored(start=60 * 24 * 2))
    waived = Review.objects.get(incident=restored(start=60 * 24 * 4, service=catalog["intranet"]))
    _approve(on_time, writer, service_owner, mim)
    _approve(late, writer, service_owner, mim)
    services.review_waive(review=waived, by=mim, reason="Exercise")
    figures = selectors.pir_completion(user=cast["leader"])
    assert (figures.due, figures.completed, figures.on_time, figures.overdue, figures.waived) == (
        3,
        2,
        1,
        1,
        1,
    )
    assert figures.completion_rate == 0.6667 and figures.on_time_rate == 0.3333
    march = selectors.pir_completion(user=cast["leader"], period=(date(2026, 3, 1), date(2026, 3, 31)))
    assert (march.due, march.completed, march.on_time, march.waived) == (2, 1, 0, 1)
    same = selectors.pir_completion(
        user=cast["leader"], period=MetricFilters(date(2026, 3, 1), date(2026, 3, 31))
    )
    assert same == march
    assert still_open.pk in {r.pk for r in selectors.review_list(user=cast["viewer"]) if r.is_overdue}


def test_a_later_revision_does_not_undo_completion(approved, writer, cast):
    services.review_update(review=approved, by=writer, lessons="More")
    figures = selectors.pir_completion(user=cast["leader"])
    assert figures.completed == 1 and figures.overdue == 0


def test_overdue_actions_by_scope_of_their_measure(review, action, mim, service_owner, tree, cast):
    services.action_promote(action=action, by=service_owner, package=tree.package)
    services.action_create(
        review=review, by=mim, title="Unlinked", owner=service_owner, due_date=date(2026, 1, 1)
    )
    today = date(2026, 6, 1)
    assert selectors.overdue_actions(user=cast["leader"], today=today).count() == 2
    in_scope = selectors.overdue_actions(user=cast["leader"], scope=tree.program, today=today)
    assert [a.title for a in in_scope] == ["Automate gateway failover"]
    assert not selectors.overdue_actions(user=cast["leader"], scope=tree.other_program, today=today).exists()


def test_linked_measure_is_flagged_visible_only_to_those_who_may_see_it(action, service_owner, tree, cast):
    services.action_promote(action=action, by=service_owner, package=tree.package)
    assert selectors.action_list(user=cast["viewer"]).get(pk=action.pk).measure_visible
    assert not selectors.action_list(user=cast["outsider"]).get(pk=action.pk).measure_visible


def test_inactive_users_read_nothing(review, cast):
    cast["viewer"].is_active = False
    assert not selectors.review_list(user=cast["viewer"]).exists()
    assert selectors.pir_completion(user=cast["viewer"]).due == 0


def test_yearly_cost_counts_incidents_sharing_a_factor_category(restored, mim, catalog):
    first = Review.objects.get(incident=restored(start=0, service=catalog["intranet"]))
    services.factor_add(review=first, by=mim, category="network", description="Switch failure")
    later = Review.objects.get(incident=restored(start=60 * 24 * 10))
    assert selectors.yearly_cost(later) == 12000  # Payments only
    services.factor_add(review=later, by=mim, category="network", description="Firewall rule")
    assert selectors.yearly_cost(later) == 12000 + 120 * 2.5
