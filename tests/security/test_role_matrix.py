"""Role matrix (DESIGN §4, §10): every object-bearing route of the URL conf and the DRF routers ×
every role × an object of side A (the Payments program of the cast) and of side B (the Cloud
program, where only `outsider` works), compared with ONE expectation table below.

- GET on every route; a 200 answer must not carry anything of a side the person may not see.
- POST on every object route for the people who may not change the object (it is invisible to
  them, or they only read it): refused, and nothing in the database or the mailbox changes.
- Exports (CSV/XLSX) carry only rows the person may see; PDF requests for an invisible subject are
  refused; notification e-mails reach only people who may see the measure.

A route the table does not classify fails the test, so new endpoints must be classified.
"""

from __future__ import annotations

import hashlib
import io
import re
import time
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal

import pytest
from django.apps import apps
from django.core import mail
from django.test import Client
from django.urls import reverse
from django.utils import timezone
from openpyxl import load_workbook

from incidents import services as incident_services
from incidents.models import IncidentRole, TimelineEntry
from measures import services
from measures.choices import ScopeRole, Series
from reporting import services as reporting_services
from reviews import services as review_services
from reviews.models import Review
from tests.measures.effects_builders import benefit_line, fy_months, to_doi3
from tests.security.test_permission_matrix import ROUTES, _expected_anonymous

ROLES = ("pm", "controller", "sponsor", "owner", "viewer", "leader", "mim", "admin", "outsider", "anonymous")

# --- the one expectation table --------------------------------------------------------------------
# Who sees the measure-side objects of side A (Payments) and side B (Cloud): measures and everything
# around them, scopes, report subjects. Incidents, PIRs and their parts are not scoped: every
# signed-in person reads them (DESIGN §6, incidents/permissions.py).
SEES = {
    "A": {"pm", "controller", "sponsor", "owner", "viewer", "leader", "admin"},
    "B": {"outsider", "leader", "admin"},
}
# Report runs and schedules belong to the person who asked for them (and admins).
REQUESTERS = {"A": {"pm", "admin"}, "B": {"outsider", "admin"}}
ADMINS = {"A": {"admin"}, "B": {"admin"}}
EVERYONE = {"A": {*ROLES} - {"anonymous"}, "B": {*ROLES} - {"anonymous"}}
# Who may change an object at all. Everyone else is POSTed at (with POST_BODY, which satisfies the
# action endpoints' input) and must be refused with nothing changed; people who may change are not
# POSTed at (the app tests walk those paths).
MEASURE_WRITERS = {"A": {"pm", "controller", "sponsor", "owner", "admin"}, "B": {"outsider", "admin"}}
MEASURE_EDITORS = {"A": {"pm", "owner", "admin"}, "B": {"outsider", "admin"}}  # can_edit_measure
INCIDENT_WRITERS = {"A": {"mim", "admin"}, "B": {"mim", "admin"}}
# Anyone who sees a measure may comment on it, leadership excepted (tests/measures/test_services.py).
MEASURE_COMMENTERS = {"A": MEASURE_WRITERS["A"] | {"viewer"}, "B": MEASURE_WRITERS["B"]}
REVIEW_WRITERS = {"A": {"mim", "admin", "owner"}, "B": {"mim", "admin"}}  # owner: of the service

OK, HIDDEN, DENIED, NOT_ALLOWED, BACK = {200}, {404}, {403}, {405}, {302}
ANON_PAGE, ANON_API = {302}, {401, 403}
# Refusing a POST about an object the person sees: 403, 405 (a read-only route), 409 (the state
# is checked before the person; reviews), 400/415 (the body is checked first); pages answer 302 back
# to the object with the refusal as a message, or 200 (a read page, or the form with the refusal).
# An object the person does not see is 404 (405 on a read-only route). Nothing may change.
REFUSED_API = {400, 403, 405, 409, 415}
REFUSED_PAGE = {200, 302, 403, 405}
INVISIBLE_POST = {404, 405}


@dataclass(frozen=True)
class Group:
    """Routes about one kind of object, and how each role × side answers a GET.

    get: "read" 200 if seen, else 404 · "post" a POST-only route: 405 · "form" 200 for writers,
    `denied` for other readers, 404 if unseen · "redirect" 302 if seen (to the page that does it)."""

    routes: str  # regex over route names
    obj: str  # the object type the route's pk names
    get: str
    sees: dict = field(default_factory=lambda: SEES)
    writers: dict = field(default_factory=lambda: MEASURE_WRITERS)
    denied: frozenset = frozenset({403})


_MEASURE_POSTS = (
    r"measure-(cancel|hold|resume|status-override|effect-import|submit-actuals|effect-grid|closure-shortfall)"
    r"|measures:(actuals-submit|dependency-add|document-add|effect-line-add|gate-request"
    r"|milestone-add|risk-add|side-state|status-override|effect-grid|closure-shortfall)"
)
_INCIDENT_POSTS = (
    r"incident-(acknowledge|cancel|close|declare|not-major|reopen|restore|severity|team-assembled|validate)"
    r"|incidents:(transition|role-assign|severity|entry-add|entry-pin|update-approve|validation"
    r"|vendor-add|vendor-responded)"
)
_REVIEW_POSTS = (
    r"review-(approve|publish|return-to-draft|submit|waive)"
    r"|reviews:(transition|action-add|action-step|action-link|action-promote|factor-add|factor-remove|save)"
)
_INCIDENT_READS = r"incident-(detail|metrics|roles|status-updates|status-update-prefill|timeline|validation|vendor-escalations)"
_PARTS = r"incident-role|status-update|timeline-entry|vendor-escalation"
_CATALOG = r"service|declaration-criterion|status-update-template|factor-category|contributing-factor"
W_INC, W_REV = {"sees": EVERYONE, "writers": INCIDENT_WRITERS}, {"sees": EVERYONE, "writers": REVIEW_WRITERS}

# fmt: off
GROUPS = {
    "measure": Group(r"measure-(detail|criteria|gate-requests|history|figures|plan-diff)|measures:(detail|gate)", "measure", "read"),
    "measure-actions": Group(_MEASURE_POSTS, "measure", "post"),
    "measure-comment": Group(r"measures:comment-add", "measure", "post", writers=MEASURE_COMMENTERS),
    "measure-edit": Group(r"measures:edit", "measure", "form", writers=MEASURE_EDITORS),
    "measure-import": Group(r"measures:effect-import", "measure", "redirect"),
    "effect-line": Group(r"effect-line-detail", "effect_line", "read"),
    "effect-value": Group(r"effect-value-detail", "effect_value", "read"),
    "effect-value-actions": Group(r"effect-value-(reject|validate)|measures:actual-decide", "effect_value", "post"),
    "milestone": Group(r"milestone-detail", "milestone", "read"),
    "milestone-actions": Group(r"milestone-complete|measures:milestone-complete", "milestone", "post"),
    "risk": Group(r"risk-detail", "risk", "read"),
    "dependency": Group(r"dependency-detail", "dependency", "read"),
    "document": Group(r"document-(detail|download)|measures:document", "document", "read"),
    "comment": Group(r"comment-detail", "comment", "read"),
    "gate-request": Group(r"gate-request-detail", "gate_request", "read"),
    "gate-request-actions": Group(r"gate-request-(approve|reject)|measures:gate-decide", "gate_request", "post"),
    "rebaseline": Group(r"rebaseline-request-detail", "rebaseline", "read"),
    "rebaseline-actions": Group(r"rebaseline-request-(approve|reject)|measures:rebaseline-decide", "rebaseline", "post"),
    "plan-version": Group(r"plan-version-detail", "plan_version", "read"),
    "scope": Group(r"scope-(detail|figures)|reporting:scope-dashboard", "scope", "read"),
    "report-run": Group(r"report-run-(detail|download)|reporting:run-(status|download)", "run", "read", REQUESTERS, REQUESTERS),
    "schedule": Group(r"reporting:schedule-delete", "schedule", "post", REQUESTERS, REQUESTERS),
    "incident": Group(_INCIDENT_READS + r"|incidents:detail", "incident", "read", **W_INC),
    "incident-actions": Group(_INCIDENT_POSTS, "incident", "post", **W_INC),
    # The incident forms send other people back to the incident with a message.
    "incident-forms": Group(r"incidents:(times|update-new)", "incident", "form", **W_INC, denied=frozenset({302})),
    "incident-parts": Group(rf"({_PARTS})-detail", "incident_part", "read", **W_INC),
    "incident-part-actions": Group(r"incident-role-release|status-update-approve|timeline-entry-pin|vendor-escalation-responded", "incident_part", "post", **W_INC),
    "review": Group(r"review-(detail|diff|figures|revisions|timeline)|reviews:(detail|diff)", "review", "read", **W_REV),
    "review-actions": Group(_REVIEW_POSTS, "review", "post", **W_REV),
    "action": Group(r"action-detail", "action", "read", **W_REV),
    "action-actions": Group(r"action-(accept|complete|link|promote|reject|start|verify)", "action", "post", **W_REV),
    "catalog": Group(rf"({_CATALOG})-detail", "catalog", "read", **W_INC),
    # People and memberships are administered by admins only: 403 for everyone else, seen or not.
    "membership": Group(r"membership-detail|user-detail", "people", "form", ADMINS, ADMINS),
    "deactivate": Group(r"user-deactivate", "people", "post", ADMINS, ADMINS),
}
# fmt: on
# Routes without an object: one GET per role; 200 unless said here.
LISTS = re.compile(
    r".*-list|.*:(list|new|home|reports|schedules|scopes|inbox|actions|criteria|metrics|actuals-awaiting"
    r"|controller-inbox|export)|portfolio-figures|incident-metrics|effect-value-awaiting-validation"
    r"|declaration-criterion-evaluate|incident-import-|user-me"
)
LIST_RULES: dict[str, dict[str, set[int]]] = {
    "reporting:controller-inbox": {role: OK if role == "controller" else DENIED for role in ROLES},
    "membership-list": {role: OK if role == "admin" else DENIED for role in ROLES},
    "user-list": {role: OK if role == "admin" else DENIED for role in ROLES},
    "incidents:new": {role: OK if role in ("mim", "admin") else BACK for role in ROLES},
    "declaration-criterion-evaluate": dict.fromkeys(ROLES, NOT_ALLOWED),  # POST-only
    "incident-import-": dict.fromkeys(ROLES, NOT_ALLOWED),
    "incidents:criteria": dict.fromkeys(ROLES, NOT_ALLOWED),
}
SKIPPED = {"api-docs", "api-schema", "api-token", "healthz", "login", "logout"}  # test_permission_matrix

MARKER = {"A": "Payments-secret", "B": "Cloud-secret"}
# One body that satisfies the action endpoints' input (reason, comment, light, completion, ...), so a
# refusal comes from the permission check, not from a missing field.
POST_BODY = {
    "reason": "Matrix", "comment": "Matrix", "light": "implementation", "status": "red",
    "completed_at": "2026-01-15", "evidence_note": "Matrix", "body": "Matrix", "title": "Matrix",
    "decision": "approve", "vendor": "Matrix", "severity": 1, "kind": "note", "summary": "Matrix",
}  # fmt: skip


def expected_get(group: Group, role: str, side: str, api: bool) -> set[int]:
    if role == "anonymous":
        return ANON_API if api else ANON_PAGE
    sees = role in group.sees[side]
    if group.obj == "people" and not sees:
        return DENIED
    if group.get == "post":  # the method is checked before the object is looked up
        return NOT_ALLOWED
    if not sees:
        return HIDDEN
    if group.get == "form":
        return OK if role in group.writers[side] else set(group.denied)
    return BACK if group.get == "redirect" else OK


def expected_post(group: Group, role: str, side: str, api: bool) -> set[int]:
    if group.obj == "people":
        return DENIED
    if role not in group.sees[side]:
        return INVISIBLE_POST
    return REFUSED_API if api else REFUSED_PAGE


def route_group(name: str) -> str | None:
    hits = [key for key, group in GROUPS.items() if re.fullmatch(group.routes, name)]
    assert len(hits) <= 1, (name, hits)
    return hits[0] if hits else None


# --- the object set: built once per test through the services ------------------------------------

PART_KEYS = {
    "incident-role": "incident_role",
    "status-update": "status_update",
    "timeline-entry": "timeline_entry",
    "vendor-escalation": "vendor_escalation",
    "service": "service",
    "declaration-criterion": "criterion",
    "status-update-template": "template",
    "factor-category": "factor_category",
    "contributing-factor": "factor",
}
EXTRA_KWARGS = {
    "entry_pk": "timeline_entry",
    "update_pk": "status_update",
    "escalation_pk": "vendor_escalation",
    "action_pk": "action",
    "factor_pk": "factor",
}
SLUGS = {"incidents:transition": "declare", "reviews:transition": "submit", "reviews:action-step": "accept"}


def _measure_side(cast_side: dict, package, tag: str) -> dict:
    owner, pm = cast_side["owner"], cast_side["pm"]
    measure = services.measure_create(
        title=f"{MARKER[tag]} failover", objective="Matrix", package=package, owner=owner, by=pm
    )
    measure = services.measure_update(
        measure=measure, by=pm, version=measure.version, sponsor=cast_side["sponsor"],
        controller=cast_side["controller"], business_unit="BU", no_known_overlaps=True,
    )  # fmt: skip
    services.effect_line_create(
        measure=measure, by=owner, account="pl_cost", annual_potential=Decimal("1200")
    )
    risk = services.risk_create(
        measure=measure, by=owner, title=f"{MARKER[tag]} risk", probability=2, impact=3
    )
    measure = to_doi3(measure, cast_side)
    line, months = benefit_line(measure), fy_months()
    services.effect_values_save(
        measure=measure, by=owner, series=Series.ACTUAL, cells=[(line.pk, months[0], 5)]
    )
    services.actuals_submit(measure=measure, by=owner)
    rebaseline = services.rebaseline_request_submit(
        measure=measure, by=owner, reason=f"{MARKER[tag]} later",
        values=[{"line": line.pk, "month": str(months[1]), "amount": "0"}],
    )  # fmt: skip
    second = services.measure_create(
        title=f"{MARKER[tag]} second", objective="Matrix", package=package, owner=owner, by=pm
    )
    second = services.measure_update(
        measure=second, by=pm, version=second.version, sponsor=cast_side["sponsor"],
        controller=cast_side["controller"], business_unit="BU", no_known_overlaps=True,
    )  # fmt: skip
    services.effect_line_create(measure=second, by=owner, account="pl_cost", annual_potential=Decimal("1"))
    services.risk_create(measure=second, by=owner, title="Second risk", probability=1, impact=1)
    gate_request = services.gate_request_submit(measure=second, by=owner)
    measure.refresh_from_db()
    return {
        "measure": measure,
        "second": second,
        "effect_line": line,
        "effect_value": measure.effect_values.get(series=Series.ACTUAL, validation_state="submitted"),
        "milestone": measure.milestones.first(),
        "risk": risk,
        "dependency": services.dependency_create(source=measure, target=second, kind="relates", by=pm),
        "document": measure.documents.first(),
        "comment": services.comment_create(measure=measure, by=owner, body=f"{MARKER[tag]} comment"),
        "gate_request": gate_request,
        "rebaseline": rebaseline,
        "plan_version": measure.plan_versions.first(),
        "scope": package,
    }


def _incident_side(incident, mim, catalog) -> dict:
    review = Review.objects.get(incident=incident)
    factor = review_services.factor_add(review=review, by=mim, category="change", description="Timeouts.")
    update = incident_services.status_update_create(
        incident=incident, by=mim, kind="progress", audience="business", channel="email",
        affected_service="Payments", business_impact="Some", current_status="Working",
    )  # fmt: skip
    from incidents.models import DeclarationCriterion, StatusUpdateTemplate
    from reviews.models import FactorCategory

    return {
        "incident": incident,
        "review": review,
        "factor": factor,
        "incident_role": IncidentRole.objects.filter(incident=incident).first(),
        "timeline_entry": TimelineEntry.objects.filter(incident=incident).first(),
        "status_update": update,
        "vendor_escalation": incident_services.vendor_escalation_add(
            incident=incident, by=mim, vendor="Acme"
        ),
        "service": catalog["payments"],
        "criterion": DeclarationCriterion.objects.first(),
        "template": StatusUpdateTemplate.objects.first(),
        "factor_category": FactorCategory.objects.first(),
    }


@dataclass
class World:
    people: dict
    objects: dict  # side → {key: object}


@pytest.fixture
def world(cast, tree, admin_user, make_user, mim, catalog, restored, settings, tmp_path) -> World:
    settings.MEDIA_ROOT = str(tmp_path)
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    cloud = tree.other_program
    cast_b = {
        "pm": cast["outsider"],
        "owner": make_user("cloud_owner", roles=[(cloud, ScopeRole.CONTRIBUTOR)]),
        "sponsor": make_user("cloud_sponsor", roles=[(cloud, ScopeRole.CONTRIBUTOR)]),
        "controller": make_user("cloud_controller", roles=[(cloud, ScopeRole.CONTROLLER)]),
    }
    objects = {
        "A": _measure_side(cast, tree.package, "A"),
        "B": _measure_side(cast_b, tree.other_package, "B"),
    }
    incidents = {
        "A": restored(),
        "B": restored(start=300, service=catalog["intranet"], title="Intranet down"),
    }
    for side, people in (("A", cast), ("B", cast_b)):
        objects[side].update(_incident_side(incidents[side], mim, catalog))
        action = review_services.action_create(
            review=objects[side]["review"], by=mim, title=f"Action {side}", owner=people["owner"],
            due_date=date(2026, 4, 1), description="Matrix.",
        )  # fmt: skip
        objects[side]["action"] = review_services.action_link_measure(
            action=action, by=admin_user, measure=objects[side]["measure"]
        )
        objects[side]["run"] = reporting_services.report_run_request(
            kind="steering_pack", parameters={"scope": objects[side]["scope"].pk}, by=people["pm"]
        )
        objects[side]["schedule"] = reporting_services.report_schedule_create(
            name=f"{MARKER[side]} weekly", kind="steering_pack", scope=objects[side]["scope"],
            frequency="weekly", time=timezone.now().time().replace(microsecond=0),
            recipients=[people["pm"]], by=people["pm"],
        )  # fmt: skip
        objects[side]["membership"] = people["owner"].memberships.first()
        objects[side]["user"] = people["owner"]
    mail.outbox.clear()
    return World(people={**cast, "admin": admin_user, "cloud": cast_b}, objects=objects)


def _object_key(name: str, group: Group) -> str:
    if group.obj == "people":
        return "membership" if name.startswith("membership") else "user"
    if group.obj in ("incident_part", "catalog"):
        return PART_KEYS[re.sub(r"-(detail|release|approve|pin|responded)$", "", name)]
    return group.obj


def _path(route: str, name: str, group: Group, objects: dict) -> str:
    kwargs = {}
    for param in re.findall(r"<(?:\w+:)?(\w+)>|\(\?P<(\w+)>", route):
        param = param[0] or param[1]
        if param == "pk":
            kwargs[param] = objects[_object_key(name, group)].pk
        elif param in EXTRA_KWARGS:
            kwargs[param] = objects[EXTRA_KWARGS[param]].pk
        elif param == "action":
            kwargs[param] = "hold"
        else:
            kwargs[param] = SLUGS[name]
    return reverse(name, kwargs=kwargs)


def _state(objects: dict) -> str:
    """A digest of every row of our apps (figure caches aside) and of the mailbox."""
    digest = hashlib.sha256()
    for label in ("measures", "incidents", "reviews", "reporting"):
        for model in apps.get_app_config(label).get_models():
            if model.__name__.startswith("Figure"):
                continue
            digest.update(repr(list(model.objects.order_by("pk").values_list())).encode())
    digest.update(repr([(m.to, m.subject) for m in mail.outbox]).encode())
    return digest.hexdigest()


# --- the matrix -------------------------------------------------------------------------------------


def _classified() -> tuple[list, list, list]:
    objects, lists, unclassified = [], [], []
    for route, name in ROUTES:
        if name in SKIPPED or route.startswith("api/docs") or _expected_anonymous(route, name) is None:
            continue
        group = route_group(name)
        if group:
            objects.append((route, name, GROUPS[group]))
        elif LISTS.fullmatch(name.split(":")[-1]) or LISTS.fullmatch(name):
            lists.append((route, name))
        else:
            unclassified.append((route, name))
    return objects, lists, unclassified


def test_every_route_is_in_the_role_table():
    objects, lists, unclassified = _classified()
    assert not unclassified, f"classify these routes in GROUPS or LISTS: {unclassified}"
    assert len(objects) > 100 and len(lists) > 20


def _clients(world: World) -> dict:
    from rest_framework.test import APIClient

    clients = {}
    for role in ROLES:
        page, api = Client(), APIClient()
        if role != "anonymous":
            page.force_login(world.people[role])
            api.force_authenticate(world.people[role])
        clients[role] = (page, api)
    return clients


def _leaks(role: str, body: bytes) -> list[str]:
    return [MARKER[side] for side in "AB" if role not in SEES[side] and MARKER[side].encode() in body]


@pytest.mark.django_db
def test_role_matrix(world):
    started = time.monotonic()
    objects, lists, _ = _classified()
    clients = _clients(world)
    cells, unexpected, shown = 0, [], set()
    for role in ROLES:
        page, api = clients[role]
        before = _state(world.objects)
        for route, name, group in objects:
            for side in "AB":
                path = _path(route, name, group, world.objects[side])
                client = api if route.startswith("api/") else page
                response = client.get(path)
                cells += 1
                expected = expected_get(group, role, side, route.startswith("api/"))
                body = b"" if response.streaming else response.content
                shown |= {(role, s) for s in "AB" if MARKER[s].encode() in body}
                if response.status_code not in expected or _leaks(role, body):
                    unexpected.append(("GET", role, side, name, response.status_code, _leaks(role, body)))
                if role == "anonymous" or role in group.writers[side]:
                    continue
                response = client.post(path, POST_BODY, **({"format": "json"} if client is api else {}))
                cells += 1
                if response.status_code not in expected_post(group, role, side, route.startswith("api/")):
                    unexpected.append(("POST", role, side, name, response.status_code, ""))
        for route, name in lists:
            if name == "reporting:export":
                continue
            client = api if route.startswith("api/") else page
            response = client.get(reverse(name))
            cells += 1
            if role == "anonymous":
                expected = ANON_API if route.startswith("api/") else ANON_PAGE
            else:
                expected = LIST_RULES.get(name, {}).get(role, OK)
            body = b"" if response.streaming else response.content
            if response.status_code not in expected or _leaks(role, body):
                unexpected.append(("GET", role, "-", name, response.status_code, _leaks(role, body)))
        if _state(world.objects) != before:
            unexpected.append(("POST", role, "-", "*", "the database or the mailbox changed", ""))
    print(f"\nrole matrix: {cells} cells in {time.monotonic() - started:.0f}s")
    assert not unexpected, f"{len(unexpected)} unexpected answers: {unexpected[:20]}"
    # The leak check is not vacuous: people do see their own side's markers.
    assert {(role, side) for side in "AB" for role in SEES[side]} <= shown


# --- exports, PDF requests and references to objects out of scope ----------------------------------


def _export_text(response) -> str:
    if response["Content-Type"].startswith("text/csv"):
        return b"".join(response.streaming_content).decode()
    sheet = load_workbook(io.BytesIO(response.content), read_only=True).active
    return "\n".join(
        ",".join(str(cell) for cell in row if cell is not None) for row in sheet.iter_rows(values_only=True)
    )


def _foreign_requests(world: World, role: str) -> list[tuple[str, str, dict]]:
    """(kind, path, body) requests by `role` that name an object of side B the role does not see."""
    a, b = world.objects["A"], world.objects["B"]
    me = world.people[role].pk
    return [
        ("api", "/api/v1/comments/", {"measure": b["measure"].pk, "body": "Matrix"}),
        ("api", "/api/v1/milestones/", {"measure": b["measure"].pk, "title": "Matrix", "due_date": "2027-01-01"}),
        ("api", "/api/v1/risks/", {"measure": b["measure"].pk, "title": "Matrix", "probability": 1, "impact": 1}),
        ("api", "/api/v1/effect-lines/", {"measure": b["measure"].pk, "account": "pl_cost", "annual_potential": "1"}),
        ("api", "/api/v1/dependencies/", {"source": a["measure"].pk, "target": b["measure"].pk, "kind": "relates"}),
        ("api", "/api/v1/measures/", {"title": "Matrix", "objective": "x", "package": b["scope"].pk, "owner": me}),
        ("api", "/api/v1/memberships/", {"user": me, "scope": b["scope"].pk, "role": "program_manager"}),
        ("api", "/api/v1/report-runs/", {"kind": "steering_pack", "parameters": {"scope": b["scope"].pk}}),
        ("api", "/api/v1/report-runs/", {"kind": "measure_one_pager", "parameters": {"measure": b["measure"].pk}}),
        ("api", f"/api/v1/actions/{a['action'].pk}/link/", {"measure": b["measure"].pk}),
        ("api", f"/api/v1/actions/{a['free_action'].pk}/promote/", {"package": b["scope"].pk}),
        ("page", reverse("reporting:reports"), {"kind": "steering_pack", "scope": b["scope"].pk}),
        ("page", reverse("reporting:reports"), {"kind": "measure_one_pager", "measure": b["measure"].pk}),
        ("page", reverse("measures:dependency-add", args=[a["measure"].pk]), {"target": b["measure"].pk, "kind": "relates"}),
        ("page", reverse("reviews:action-link", args=[a["review"].pk, a["action"].pk]), {"code": b["measure"].code}),
        ("page", reverse("reviews:action-promote", args=[a["review"].pk, a["free_action"].pk]), {"package": b["scope"].pk}),
        ("page", reverse("reporting:schedules"), {"name": "x", "kind": "steering_pack", "scope": b["scope"].pk, "frequency": "weekly", "time": "07:00", "weekday": 1, "day_of_month": 1, "recipients": [me]}),
    ]  # fmt: skip


@pytest.mark.django_db
def test_exports_pdf_requests_and_references_out_of_scope(world):
    started = time.monotonic()
    a, b = world.objects["A"], world.objects["B"]
    a["free_action"] = review_services.action_create(
        review=a["review"], by=world.people["mim"], title="Free action", owner=world.people["owner"],
        due_date=date(2026, 4, 1), description="Matrix.",
    )  # fmt: skip
    clients = _clients(world)
    codes = {"A": a["measure"].code, "B": b["measure"].code}
    cells, unexpected = 0, []
    for role in ROLES[:-1]:  # anonymous: test_permission_matrix
        page, api = clients[role]
        for name in ("measures", "effect-values", "incidents"):
            for fmt in ("csv", "xlsx"):
                response = page.get(reverse("reporting:export", kwargs={"name": name, "fmt": fmt}))
                cells += 1
                text = _export_text(response) if response.status_code == 200 else ""
                for side in "AB" if name != "incidents" else "":
                    if (codes[side] in text) != (role in SEES[side]) or (
                        role not in SEES[side] and MARKER[side] in text
                    ):
                        unexpected.append((role, name, fmt, side, response.status_code))
        for side in "AB":
            response = page.get(
                reverse("reporting:export", kwargs={"name": "measures", "fmt": "csv"}),
                {"scope": world.objects[side]["scope"].pk},
            )
            cells += 1
            if response.status_code != (200 if role in SEES[side] else 404):
                unexpected.append((role, "export ?scope=", side, response.status_code))
        if role in SEES["B"]:
            continue
        before = _state(world.objects)
        for kind, path, body in _foreign_requests(world, role):
            client = api if kind == "api" else page
            response = client.post(path, body, **({"format": "json"} if kind == "api" else {}))
            cells += 1
            if response.status_code not in {400, 403, 404, 409} | ({302, 200} if kind == "page" else set()):
                unexpected.append((role, path, body, response.status_code))
        if _state(world.objects) != before:
            unexpected.append((role, "the database or the mailbox changed"))
    print(
        f"\nexports, PDF requests and foreign references: {cells} cells in {time.monotonic() - started:.0f}s"
    )
    assert not unexpected, unexpected


# --- e-mail recipients -------------------------------------------------------------------------------


@pytest.mark.django_db
def test_gate_mails_reach_only_people_who_see_the_measure(
    cast, tree, make_user, ready_measure, django_capture_on_commit_callbacks
):
    """Gate request, rejection and approval mail the approvers, the owner and the requester; nobody
    outside the measure's scopes (a program manager of the sibling package or of another program,
    a deactivated program manager) and nothing of a measure elsewhere."""
    from django.contrib.auth import get_user_model

    from measures.permissions import can_see_measure

    make_user("sibling_pm", roles=[(tree.sibling_package, ScopeRole.PROGRAM_MANAGER)])
    make_user("gone_pm", roles=[(tree.program, ScopeRole.PROGRAM_MANAGER)], is_active=False)
    elsewhere = services.measure_create(
        title=f"{MARKER['B']} measure", objective="x", package=tree.other_package,
        owner=cast["outsider"], by=cast["outsider"],
    )  # fmt: skip
    mail.outbox.clear()
    with django_capture_on_commit_callbacks(execute=True):
        request = services.gate_request_submit(measure=ready_measure, by=cast["owner"])
    with django_capture_on_commit_callbacks(execute=True):
        services.gate_request_reject(request=request, by=cast["pm"], comment="Not yet.")
    with django_capture_on_commit_callbacks(execute=True):
        request = services.gate_request_submit(measure=ready_measure, by=cast["sponsor"])
    with django_capture_on_commit_callbacks(execute=True):
        services.gate_request_approve(request=request, by=cast["pm"], comment="Agreed.")
    users = {user.email: user for user in get_user_model().objects.all()}
    recipients = [address for message in mail.outbox for address in message.to]
    assert len(mail.outbox) >= 4 and {"pm@example.test", "owner@example.test"} <= set(recipients)
    refused = [address for address in recipients if not can_see_measure(users[address], ready_measure)]
    assert not refused, f"mail to people who may not see {ready_measure.code}: {refused}"
    assert not {"sibling_pm@example.test", "gone_pm@example.test", "outsider@example.test"} & set(recipients)
    for message in mail.outbox:
        text = message.subject + message.body
        assert MARKER["B"] not in text and elsewhere.code not in text, text
    print(f"\ngate mails: {len(mail.outbox)} messages to {sorted(set(recipients))}")
