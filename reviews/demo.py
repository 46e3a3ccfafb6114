"""Demo post-incident reviews for the demo incidents, built through the services: PIRs in every
state (draft, in review, approved, published, waived, one on its second revision), factors from the
taxonomy, ~45 actions (some overdue), 15 governed by measures at DoI 0–5 (8 promoted into new
measures, 7 linked to existing ones), one proved ineffective
by a repeat. Idempotent: an incident whose PIR already has content is left alone.

The PIRs are opened by the `incident_restored` signal inside each restoration; this loader opens
them again (idempotent) to find them. A validated incident older than a day gets a settled PIR and
is then closed here: closing needs the settled PIR, which the incidents demo cannot write.
As the measures demo does for gates, past sign-off times are written back to when they happened.
"""

from __future__ import annotations

import random
from datetime import timedelta

from django.contrib.auth import get_user_model
from django.utils import timezone

from incidents import services as incident_services
from incidents.choices import EXCLUDED_STATES, IncidentState, RoleKind
from incidents.models import Incident, IncidentRole
from measures.demo_measures import _build_parts, _replay_gate
from measures.models import Measure, Scope
from measures.services.notify import emails_suppressed
from reviews import services
from reviews.choices import DEFAULT_CATEGORIES, ActionKind, Priority, ReviewState
from reviews.models import Action, FactorCategory, Review, ReviewApproval, ReviewRevision

# service: (factor categories, package the actions' measures go to)
FACTORS = {
    "Card payments": (["configuration", "vendor"], "Failover automation"),
    "Online shop": (["capacity", "software_defect"], "Capacity headroom"),
    "Order management": (["software_defect", "process"], "Synthetic checks"),
    "Warehouse management": (["network", "change"], "Failover automation"),
    "Customer portal": (["change", "software_defect"], "Synthetic checks"),
    "E-mail and collaboration": (["vendor", "configuration"], "Major incident process"),
    "Payroll": (["process", "change"], "Major incident process"),
    "VPN and remote access": (["security", "network"], "Knowledge and self-service"),
    "Data warehouse": (["capacity", "unknown"], "Knowledge and self-service"),
    "Service desk tooling": (["change", "process"], "Major incident process"),
}
FACTOR_TEXT = {
    "configuration": "A certificate and a timeout setting were not covered by configuration monitoring.",
    "vendor": "The supplier's status page lagged the outage by 40 minutes; escalation waited on it.",
    "capacity": "Peak load exceeded the tested headroom; auto-scaling limits were set for last year's volumes.",
    "software_defect": "A retry loop in the release amplified load on the database under error conditions.",
    "process": "The runbook step for failover was out of date, so the team rebuilt it during the incident.",
    "network": "A firewall rule change blocked health checks between the two sites.",
    "change": "A change was deployed in business hours without a tested rollback.",
    "security": "An expired MFA signing key was rotated manually with no second check.",
    "unknown": "The trigger of the first failure is not established; logs were rotated before analysis.",
}
ACTIONS = [
    (
        ActionKind.CORRECTIVE,
        "Automate failover for {service}",
        "Failover took 40 minutes by hand; make it one step.",
    ),
    (ActionKind.DETECTIVE, "Alert on early error signals of {service}", "Detection relied on user calls."),
    (
        ActionKind.PREVENTIVE,
        "Add {service} to change freeze and rollback checks",
        "Changes need a tested rollback.",
    ),
]
# Ten promoted actions go this far (DoI); the cycle places some at every stage.
PROMOTE_DOI = [0, 1, 2, 3, 4, 5, 2, 5]
# Further actions link to existing demo measures at these stages ("link to measure"). Eight new
# measures keep the measures demo within the size its own test expects.
LINK_STAGES = ["decided", "implemented", "closed", "identified", "detailed", "implemented", "closed"]


def load(stdout=None) -> None:
    say = stdout.write if stdout else (lambda text: None)
    people = {u.username: u for u in get_user_model().objects.filter(username__in=_USERNAMES)}
    if not {"mim", "mim2", "owner", "pm"} <= set(people):
        say("Reviews: demo people missing, nothing loaded.")
        return
    for position, (code, name, description) in enumerate(DEFAULT_CATEGORIES, start=1):
        FactorCategory.objects.get_or_create(
            code=code, defaults={"name": name, "description": description, "position": position}
        )
    rng = random.Random(6)  # noqa: S311  (demo data, not security)
    incidents = list(
        Incident.objects.filter(restored_at__isnull=False)
        .exclude(state__in=EXCLUDED_STATES)
        .order_by("impact_started_at")
        .prefetch_related("services")
    )
    created = 0
    counter = {"actions": 0, "promoted": 0, "linked": 0}
    with emails_suppressed():
        for number, incident in enumerate(incidents):
            review = services.review_open(incident_id=incident.pk)
            if review.summary or review.state != ReviewState.DRAFT:
                continue
            created += 1
            _build(review, incident, number, people, rng, counter)
        _ineffective(incidents, people)
    say(
        f"Reviews: {created} PIRs written, {counter['actions']} actions, {counter['promoted']} promoted to new measures, "
        f"{counter['linked']} linked to existing ones "
        f"({len(incidents) - created} already there)."
    )


_USERNAMES = ["mim", "mim2", "owner", "owner2", "sponsor", "pm", "controller", "admin"]


def _holder(incident: Incident, role: str):
    row = (
        IncidentRole.objects.filter(incident=incident, role=role, ended_at__isnull=True)
        .select_related("user")
        .first()
    )
    return row.user if row else None


def _to_close(incident: Incident) -> bool:
    """Validated more than a day ago: the incidents demo would have closed it by now."""
    return incident.state == IncidentState.VALIDATED and incident.validated_at < timezone.now() - timedelta(
        days=1
    )


def _close(incident: Incident, by, rng) -> None:
    if _to_close(incident):
        closed = incident.validated_at + timedelta(minutes=rng.randint(60, 1440))
        incident_services.incident_close(incident=incident, by=by, at=closed)


def _target_state(incident: Incident, number: int) -> str:
    """Closed incidents need a settled PIR (a later edit may reopen it as revision 2); open ones
    show the earlier states."""
    if incident.state == IncidentState.CLOSED or _to_close(incident):
        cycle = [ReviewState.PUBLISHED, ReviewState.APPROVED, ReviewState.PUBLISHED, "revised", ReviewState.PUBLISHED,
                 "revising", ReviewState.PUBLISHED, ReviewState.WAIVED]  # fmt: skip
        return cycle[number % len(cycle)]
    return [ReviewState.IN_REVIEW, ReviewState.DRAFT][number % 2]


def _build(review: Review, incident: Incident, number: int, people: dict, rng, counter: dict) -> None:
    service = incident.services.all()[0]
    mim = _holder(incident, RoleKind.MIM) or people["mim"]
    owner = _holder(incident, RoleKind.SERVICE_OWNER) or people["owner"]
    if mim.pk == owner.pk and people["owner"].pk != mim.pk:
        # One person held both roles; the two sign-offs need two people, so the service-owner
        # role goes to the service's business owner (a recorded hand-over on the incident).
        owner = people["owner"]
        incident_services.role_assign(
            incident=incident,
            by=people["mim"],
            role=RoleKind.SERVICE_OWNER,
            user=owner,
            at=incident.restored_at,
        )
    candidates = [_holder(incident, RoleKind.RECORDER), people["mim2"], people["mim"], people.get("admin")]
    writer = next(p for p in candidates if p is not None and p.pk not in (mim.pk, owner.pk))
    target = _target_state(incident, number)
    if target == ReviewState.WAIVED:
        services.review_waive(
            review=review, by=people["mim"], reason="Duplicate of a reviewed incident with the same cause."
        )
        _backdate(review, incident, rng)
        _close(incident, mim, rng)
        return
    categories, package_name = FACTORS.get(service.name, (["unknown"], "Major incident process"))
    services.review_update(review=review, by=writer, **_sections(incident, service))
    for code in categories[: 1 + number % 2]:
        services.factor_add(review=review, by=writer, category=code, description=FACTOR_TEXT[code])
    package = Scope.objects.filter(name=package_name, kind="package").first()
    for index, (kind, title, text) in enumerate(ACTIONS[: 1 + (number % 3 != 2) + (number % 2 == 0)]):
        _action(
            review,
            incident,
            writer,
            kind,
            title.format(service=service.name),
            text,
            index,
            number,
            people,
            package,
            counter,
        )
    if target == ReviewState.DRAFT:
        return
    services.review_submit(review=review, by=writer)
    if target == ReviewState.IN_REVIEW:
        if number % 4 == 1:
            services.review_approve(review=review, by=owner, comment="Agreed from the service side.")
        return
    _approve(review, writer, owner, mim)
    if target != ReviewState.APPROVED:
        services.review_publish(review=review, by=writer)
    _backdate(review, incident, rng)
    _close(incident, mim, rng)
    if target in ("revised", "revising"):
        # An edit after publication opens revision 2; "revised" is signed off and published again.
        lessons = (
            _sections(incident, service)["lessons"]
            + "\nAsk the vendor for their own timeline within 48 hours."
        )
        services.review_update(review=review, by=writer, lessons=lessons)
        if target == "revised":
            _approve(review, writer, owner, mim)
            services.review_publish(review=review, by=writer)
        elif number % 2:
            services.review_submit(review=review, by=writer)
            services.review_approve(review=review, by=owner, comment="Fine from the service side.")


def _approve(review: Review, writer, owner, mim) -> None:
    review.refresh_from_db()
    if review.state == ReviewState.DRAFT:
        services.review_submit(review=review, by=writer)
    services.review_approve(review=review, by=owner, comment="Agreed from the service side.")
    services.review_approve(review=review, by=mim, comment="Matches the incident record.")


def _sections(incident: Incident, service) -> dict[str, str]:
    return {
        "summary": f"{incident.title}. {service.name} was impaired from "
        f"{timezone.localtime(incident.impact_started_at):%d %b %H:%M} until restoration.",
        "business_impact": f"About {incident.users_affected or 'a few hundred'} users could not use {service.name}; "
        f"business process affected: {service.business_process or 'internal work'}.",
        "detection_notes": "Monitoring raised the first alert; declaration followed once the service owner confirmed impact.",
        "communication_notes": "Updates went out at the severity's cadence most of the time; one gap ran late during diagnosis.",
        "worked_well": "The bridge assembled quickly and decisions were recorded with their rationale.",
        "went_wrong": "Diagnosis waited on information that was not visible to the on-call team.",
        "lessons": "Make the failure visible earlier and rehearse the recovery path.",
    }


def _action(review, incident, writer, kind, title, text, index, number, people, package, counter) -> None:
    if Action.objects.filter(review=review, title=title).exists():
        return
    owners = [
        people.get("owner2") or people["owner"],
        people["owner"],
        people.get("sponsor") or people["pm"],
        people["mim2"],
    ]
    due = timezone.localdate(incident.restored_at) + timedelta(days=30 + 20 * index)
    promote = index == 0 and package is not None and counter["promoted"] < len(PROMOTE_DOI)
    # A promoted action's owner owns the measure too, so it is a contributor distinct from the
    # sponsor (ADR 0016).
    owner = people["owner"] if promote else owners[(number + index) % len(owners)]
    action = services.action_create(
        review=review, by=writer, kind=kind, title=title, description=text, owner=owner,
        due_date=due, priority=[Priority.HIGH, Priority.MEDIUM, Priority.CRITICAL, Priority.LOW][(number + index) % 4],
    )  # fmt: skip
    counter["actions"] += 1
    if promote:
        _promote(action, package, people, counter)
        return
    if index == 1 and counter["linked"] < len(LINK_STAGES) and _link(action, people, counter):
        return
    _progress(action, writer, number + index, people)


def _promote(action: Action, package: Scope, people: dict, counter: dict) -> None:
    doi = PROMOTE_DOI[counter["promoted"]]
    action = services.action_promote(
        action=action,
        by=people["owner"],
        package=package,
        sponsor=people.get("sponsor"),
        controller=people.get("controller"),
    )
    counter["promoted"] += 1
    cast = {"pm": people["pm"], "sponsor": people.get("sponsor"), "controller": people.get("controller")}
    _build_parts(action.measure, doi, cast, 500 + action.pk)
    for to_doi in range(1, doi + 1):
        _replay_gate(action.measure, to_doi, cast)


def _link(action: Action, people: dict, counter: dict) -> bool:
    stage = LINK_STAGES[counter["linked"]]
    taken = Action.objects.filter(measure__isnull=False).values("measure")
    measure = (
        Measure.objects.filter(stage=stage, review_actions__isnull=True)
        .exclude(pk__in=taken)
        .order_by("code")
        .first()
    )
    if measure is None:
        return False
    services.action_link_measure(action=action, by=people["owner"], measure=measure)
    counter["linked"] += 1
    return True


def _progress(action: Action, writer, n: int, people: dict) -> None:
    """Old actions mostly done or verified, some stuck (overdue), one rejected now and then."""
    step = n % 6
    owner = action.owner
    if step == 5:
        services.action_reject(
            action=action, by=writer, rationale="Covered by the failover action of the same PIR."
        )
        return
    if step >= 1:
        services.action_accept(action=action, by=owner)
    if step >= 2:
        services.action_start(action=action, by=owner)
    if step >= 3:
        services.action_complete(action=action, by=owner)
    if step >= 4:
        verifier = writer if writer.pk != owner.pk else people["mim"]
        services.action_verify(action=action, by=verifier)


def _backdate(review: Review, incident: Incident, rng) -> None:
    """Sign-offs happened days after restoration, mostly within the due period."""
    late = rng.random() < 0.2
    when = incident.restored_at + timedelta(
        days=rng.randint(2, 8) + (10 if late else 0), hours=rng.randint(1, 6)
    )
    review.refresh_from_db()
    if review.state == ReviewState.WAIVED:
        Review.objects.filter(pk=review.pk).update(waived_at=when)
        return
    Review.objects.filter(pk=review.pk).update(
        submitted_at=when - timedelta(days=1), approved_at=when, first_approved_at=when,
        published_at=when + timedelta(hours=2) if review.published_at else None,
    )  # fmt: skip
    ReviewApproval.objects.filter(review=review).update(decided_at=when)
    ReviewRevision.objects.filter(review=review).update(approved_at=when)


def _ineffective(incidents: list[Incident], people: dict) -> None:
    """The demo's ineffective action: a verified action on an earlier Card payments PIR, and the
    Card payments incident that repeated within 90 days of its verification."""
    card = [i for i in incidents if any(s.name == "Card payments" for s in i.services.all())]
    if len(card) < 3 or Action.objects.filter(ineffective_incident__isnull=False).exists():
        return
    earlier, repeat = card[1], card[2]
    review = Review.objects.filter(incident=earlier).first()
    if review is None or review.state == ReviewState.WAIVED:
        return
    title = "Monitor certificate expiry on the payment gateway"
    action = Action.objects.filter(review=review, title=title).first()
    if action is None:
        owner, verifier = people["owner"], people["mim2"]
        action = services.action_create(
            review=review, by=verifier, kind=ActionKind.DETECTIVE, title=title, owner=owner,
            due_date=timezone.localdate(earlier.restored_at) + timedelta(days=14),
            description="Alert 30 days before any gateway certificate expires.",
        )  # fmt: skip
        services.action_accept(action=action, by=owner)
        services.action_complete(action=action, by=owner)
        services.action_verify(action=action, by=verifier)
    verified = repeat.impact_started_at - timedelta(days=20)
    Action.objects.filter(pk=action.pk).update(verified_at=verified, done_at=verified - timedelta(days=2))
    services.actions_mark_ineffective(incident=repeat)
