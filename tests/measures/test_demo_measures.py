"""The demo's measures: every DoI and side state, inboxes filled, idempotent, audit intact."""

from __future__ import annotations

from django.contrib.auth import get_user_model
from django.core.management import call_command

from measures import selectors, services
from measures.choices import Stage
from measures.models import AuditEntry, Dependency, GateRequest, Measure, Milestone


def _counts():
    return (
        Measure.objects.count(),
        GateRequest.objects.count(),
        Milestone.objects.count(),
        Dependency.objects.count(),
        AuditEntry.objects.count(),
    )


def test_demo_measures_cover_every_stage_and_inbox(transactional_db):
    call_command("demo", no_serve=True)
    first = _counts()
    call_command("demo", no_serve=True)
    assert _counts() == first
    # ~60 from the measures demo, plus the reviews demo's actions promoted to measures.
    assert 55 <= first[0] <= 90
    assert set(Measure.objects.values_list("stage", flat=True)) == set(Stage.values)
    people = {user.username: user for user in get_user_model().objects.all()}
    for role in ("pm", "sponsor", "controller"):
        assert selectors.inbox(user=people[role]).approvals, f"{role} has nothing to approve"
    assert selectors.inbox(user=people["owner"]).revisions
    lights = set(
        selectors.measure_list(user=people["leader"]).values_list("implementation_status", flat=True)
    )
    assert lights == {"grey", "green", "amber", "red"}
    assert Dependency.objects.filter(kind="overlaps").count() >= 5
    assert services.audit_verify() is None
    viewer_sees = selectors.measure_list(user=people["viewer"]).values_list("package__name", flat=True)
    assert set(viewer_sees) <= {"Major incident process", "Knowledge and self-service"}
