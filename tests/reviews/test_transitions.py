"""Every PIR state × every transition, and every action state × every step: allowed ones move,
the others are 409 (DESIGN §7, §9)."""

from __future__ import annotations

import pytest

from config.errors import Conflict
from reviews import services
from reviews.models import Action, Review
from tests.reviews.conftest import write

ALLOWED = {
    "draft": {"submit", "waive"},
    "in_review": {"return", "approve", "waive"},
    "approved": {"publish"},
    "published": set(),
    "waived": set(),
}


def _in_state(state, review, writer, mim, service_owner):
    write(review, writer)
    if state == "waived":
        return services.review_waive(review=review, by=mim, reason="Exercise")
    if state == "draft":
        return review
    services.review_submit(review=review, by=writer)
    if state == "in_review":
        return review
    services.review_approve(review=review, by=service_owner)
    review = services.review_approve(review=review, by=mim)
    if state == "published":
        review = services.review_publish(review=review, by=writer)
    return review


@pytest.mark.parametrize("state", list(ALLOWED))
@pytest.mark.parametrize("step", ["submit", "return", "approve", "publish", "waive"])
def test_review_transition_matrix(state, step, review, writer, mim, service_owner):
    review = _in_state(state, review, writer, mim, service_owner)
    assert Review.objects.get(pk=review.pk).state == state
    calls = {
        "submit": lambda: services.review_submit(review=review, by=writer),
        "return": lambda: services.review_return(review=review, by=writer),
        "approve": lambda: services.review_approve(review=review, by=service_owner),
        "publish": lambda: services.review_publish(review=review, by=writer),
        "waive": lambda: services.review_waive(review=review, by=mim, reason="Exercise"),
    }
    if step in ALLOWED[state]:
        calls[step]()
    else:
        with pytest.raises(Conflict):
            calls[step]()
        assert Review.objects.get(pk=review.pk).state == state


ACTION_ALLOWED = {
    "proposed": {"accept", "start", "reject"},
    "accepted": {"start", "complete", "reject"},
    "in_progress": {"complete", "reject"},
    "done": {"verify"},
    "verified": set(),
    "rejected": set(),
}
PATH = {
    "proposed": [],
    "accepted": ["accept"],
    "in_progress": ["start"],
    "done": ["accept", "complete"],
    "verified": ["accept", "complete", "verify"],
    "rejected": ["reject"],
}


def _step(name, action, owner, mim):
    if name == "reject":
        return services.action_reject(action=action, by=mim, rationale="Not needed")
    if name == "verify":
        return services.action_verify(action=action, by=mim)
    return getattr(services, f"action_{name}")(action=action, by=owner)


@pytest.mark.parametrize("state", list(ACTION_ALLOWED))
@pytest.mark.parametrize("step", ["accept", "start", "complete", "verify", "reject"])
def test_action_transition_matrix(state, step, action, service_owner, mim):
    for name in PATH[state]:
        _step(name, action, service_owner, mim)
    assert Action.objects.get(pk=action.pk).state == state
    if step in ACTION_ALLOWED[state]:
        _step(step, action, service_owner, mim)
    else:
        with pytest.raises(Conflict):
            _step(step, action, service_owner, mim)
        assert Action.objects.get(pk=action.pk).state == state
