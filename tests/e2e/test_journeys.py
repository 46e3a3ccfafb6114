"""The five browser journeys of issue 8, in Debian's Chromium against a live server on PostgreSQL.

Each journey starts from data built through the services (the state the previous journey leaves
behind) and then clicks through the steps a person takes. Every gate request, approval, validation
and sign-off is clicked in the browser; only data that would take months to accumulate (three
months of actuals, completed milestones) is prepared through the services, with months computed
relative to today."""

from __future__ import annotations

import importlib
import re
from datetime import timedelta
from decimal import Decimal

import pytest
from django.apps import apps
from django.utils import timezone
from playwright.sync_api import expect

from incidents import services as incident_services
from incidents.models import Incident
from reviews.models import Review
from tests.e2e.conftest import login

# A live server: transactional, so the rows the data migrations seeded are flushed between tests.
pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


@pytest.fixture(autouse=True)
def fast_passwords(settings):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture
def seeded(transactional_db):
    """Put back what the data migrations seed (criteria, severity policies, update templates,
    PIR factor categories): earlier transactional tests flushed them."""
    importlib.import_module("incidents.migrations.0002_defaults").forwards(apps, None)
    importlib.import_module("reviews.migrations.0002_factor_categories").seed(apps, None)


@pytest.fixture
def payments(seeded, cast):
    """A tier-1 customer-facing service owned by `owner` (so owner signs its PIRs off)."""
    return incident_services.service_save(
        by=cast["mim"],
        name="Payments",
        tier=1,
        customer_facing=True,
        owner=cast["owner"],
        cost_per_minute=Decimal("100.00"),
        vendor="PayCo",
    )


def _logout(page) -> None:
    page.get_by_role("button", name="Log out").click()
    page.wait_for_url("**/accounts/login/**")


def _local(moment) -> str:
    """A datetime-local value in the server's time zone."""
    return timezone.localtime(moment).strftime("%Y-%m-%dT%H:%M")


def _status_update(page, template: str, status: str) -> None:
    page.get_by_role("link", name=template, exact=True).click()
    page.get_by_role("heading", name="Status update").wait_for()
    page.get_by_label("Business impact").fill("No card payments in stores")
    page.get_by_label("Current status").fill(status)
    page.get_by_label("Next update due").fill(_local(timezone.now() + timedelta(minutes=30)))
    page.get_by_role("button", name="Send (or submit for approval)").click()
    page.get_by_text("Status update recorded.").wait_for()


# 1 ─────────────────────────────────────────────────────────────────────────────────────────────
def test_1_incident_manager_runs_a_major_incident_to_its_pir(page, cast, payments, shoot):
    mim, owner = cast["mim"], cast["owner"]
    login(page, "mim")
    page.get_by_role("link", name="Incidents").first.click()
    page.goto("/incidents/new/")
    page.get_by_label("Title").fill("Tills cannot take cards")
    page.get_by_label("Services").select_option(label="Payments")
    page.get_by_text("This looks major").wait_for()
    shoot(page, "log")
    page.get_by_role("button", name="Log incident").click()
    page.get_by_text("Declaration criteria met when logged").wait_for()
    incident = Incident.objects.get(title="Tills cannot take cards")

    roles = page.locator("#roles")
    for role, person in (("Major Incident Manager", mim), ("Service owner", owner)):
        roles.get_by_label("Role").select_option(label=role)
        roles.get_by_label("Person").select_option(value=str(person.pk))
        roles.get_by_role("button", name="Assign / hand over").click()
        page.locator("#roles tr").filter(has_text=role).locator("td").get_by_text(person.username).wait_for()
    assert incident.roles.filter(ended_at__isnull=True).count() == 2
    page.get_by_role("button", name="Declare major incident").click()
    page.get_by_text(f"{incident.reference} is declared").wait_for()

    page.get_by_text("Add entry or decision").click()
    entry = page.locator("#add-entry")
    entry.get_by_label("Kind").select_option(label="Decision")
    entry.get_by_label("Text").fill("Fail over to the secondary acquirer")
    entry.get_by_label("Rationale").fill("PayCo cannot give a fix time")
    entry.get_by_role("button", name="Add to timeline").click()
    page.locator("#timeline").get_by_text("Fail over to the secondary acquirer").wait_for()

    _status_update(page, "Initial notice", "Investigating with PayCo")
    _status_update(page, "Progress", "Failing over to the secondary acquirer")
    assert page.locator("#updates tbody tr").count() == 2
    shoot(page, "declared")

    page.get_by_role("button", name="Service restored").click()
    page.get_by_text(f"{incident.reference} is restored").wait_for()

    validation = page.locator("#validation")
    for question, answer in (
        ("Is the affected service restored?", "Yes"),
        ("Are users or customers still affected?", "No"),
        ("Are workarounds still needed?", "No"),
        ("Are monitoring alerts stable?", "Yes"),
        ("Are any residual risks still open?", "No"),
    ):
        validation.get_by_label(question).select_option(label=answer)
    validation.get_by_label("Business confirmation by (name)").fill("Head of Payments Operations")
    validation.get_by_role("button", name="Save checklist").click()
    page.locator("#validation").get_by_text("Checklist complete").wait_for()
    page.get_by_role("button", name="Recovery validated").click()
    page.get_by_text(f"{incident.reference} is recovery validated").or_(
        page.get_by_text(f"{incident.reference} is validated")
    ).first.wait_for()
    shoot(page, "validated")

    page.get_by_role("link", name="Reviews").first.click()
    page.get_by_role("link", name=incident.reference).click()
    page.get_by_role("heading", name="Post-incident review").wait_for()
    shoot(page, "pir")
    assert Review.objects.filter(incident=incident).exists()


def _restored(cast, service, title: str = "Card payments failing") -> Incident:
    """A major incident restored two hours ago, its MIM `mim`; the PIR opens from the real
    `incident_restored` signal inside the restore."""
    mim, start = cast["mim"], timezone.now() - timedelta(hours=3)
    incident = incident_services.incident_log(
        by=mim, title=title, services=[service], severity=2, impact_started_at=start,
        detected_at=start + timedelta(minutes=5), reported_at=start + timedelta(minutes=10),
    )  # fmt: skip
    incident_services.role_assign(
        incident=incident, by=mim, role="mim", user=mim, at=start + timedelta(minutes=10)
    )
    incident = incident_services.incident_declare(incident=incident, by=mim, at=start + timedelta(minutes=20))
    return incident_services.incident_restore(incident=incident, by=mim, at=start + timedelta(minutes=60))


@pytest.fixture
def pir(cast, payments, make_user):
    incident = _restored(cast, payments)
    review = Review.objects.get(incident=incident)
    return review


# 2 ─────────────────────────────────────────────────────────────────────────────────────────────
def test_2_service_owner_and_mim_complete_and_approve_the_pir_and_promote_an_action(
    page, cast, pir, make_user, tree, shoot
):
    make_user("writer", groups=["incident_manager"])  # writes and submits; the two sign off
    reference = pir.incident.reference

    login(page, "writer")
    page.goto(f"/reviews/{pir.pk}/")
    page.get_by_label("Summary").fill("Card payments failed for 40 minutes after a gateway release.")
    page.get_by_label("Business impact").fill("No card sales in 120 stores.")
    page.get_by_label("Lessons").fill("Release the gateway outside trading hours.")
    page.get_by_role("button", name="Save", exact=True).click()
    factors = page.locator("#factors")
    factors.get_by_label("Category").select_option(index=1)
    factors.get_by_label("Contributing factor").fill("A gateway release changed the timeouts.")
    factors.get_by_role("button", name="Add factor").click()
    page.locator("#factors").get_by_text("A gateway release changed the timeouts.").wait_for()

    page.get_by_text("Add action", exact=True).first.click()
    form = page.locator("#actions form").last
    form.get_by_label("Title").fill("Automate gateway failover")
    form.get_by_label("Description").fill("Failover took 40 minutes by hand.")
    form.get_by_label("Owner").select_option(label="owner")
    form.get_by_label("Due date").fill((timezone.localdate() + timedelta(days=30)).isoformat())
    form.get_by_role("button", name="Add action").click()
    page.get_by_role("row").filter(has_text="Automate gateway failover").wait_for()
    page.get_by_role("button", name="Submit for review").click()
    page.get_by_text("The PIR is in review").wait_for()
    _logout(page)

    login(page, "owner")
    page.goto(f"/reviews/{pir.pk}/")
    page.get_by_label("Sign-off comment").fill("Impact figures agreed with the stores")
    page.get_by_role("button", name="Sign off").click()
    page.get_by_text("The PIR is in review").wait_for()
    _logout(page)

    login(page, "mim")
    page.get_by_role("link", name="Reviews").first.click()
    page.get_by_role("link", name=reference).click()
    page.get_by_role("button", name="Sign off").click()
    page.get_by_text("The PIR is approved").wait_for()
    shoot(page, "approved")
    _logout(page)

    login(page, "owner")
    page.goto(f"/reviews/{pir.pk}/")
    row = page.get_by_role("row").filter(has_text="Automate gateway failover")
    row.get_by_text("Promote to measure").click()
    row.get_by_label("Measure package").select_option(label="Failover")
    row.get_by_role("button", name="Create DoI 0 measure").click()
    page.get_by_role("row").filter(has_text="Automate gateway failover").get_by_text("promoted;").wait_for()
    pir.refresh_from_db()
    action = pir.actions.get(title="Automate gateway failover")
    assert action.measure is not None
    page.get_by_role("link", name=action.measure.code).click()
    page.get_by_role("heading", name="Automate gateway failover").wait_for()
    shoot(page, "measure")
    assert action.measure.stage == "defined"


# 5 ─────────────────────────────────────────────────────────────────────────────────────────────
def test_5_refusals_a_user_understands(page, cast, tree, shoot):
    from measures import permissions
    from measures import services as measure_services
    from measures.choices import ScopeRole
    from measures.models import GateApproval, GateRequest, Membership

    owner = cast["owner"]
    # The owner is also a controller of the program: the one person who might sign off their own
    # measure's closure, and must not.
    Membership.objects.create(user=owner, scope=tree.program, role=ScopeRole.CONTROLLER)
    permissions.forget_cached_permissions(owner)
    mine = measure_services.measure_create(
        by=cast["pm"], title="Retire the legacy card router", objective="Two routers; keep one.",
        package=tree.package, owner=owner,
    )  # fmt: skip
    # A pending DoI 5 sign-off, written as the service writes it (the months of validated actuals
    # a real closure needs are journey 3's business).
    request = GateRequest.objects.create(measure=mine, from_doi=4, to_doi=5, requested_by=cast["pm"])
    GateApproval.objects.create(request=request, role="controller")
    elsewhere = measure_services.measure_create(
        by=cast["outsider"], title="Rightsize the cloud estate", objective="Too many idle VMs.",
        package=tree.other_package,
    )  # fmt: skip

    login(page, "owner")
    page.goto(f"/measures/{mine.pk}/")
    panel = page.locator("#gate-panel")
    panel.get_by_role("heading", name="Gate request: DoI 4 → 5").wait_for()
    assert panel.get_by_role("button", name="Approve").count() == 0
    assert panel.get_by_text(
        "You cannot decide on this request: You own this measure (or owned it when the request was "
        "made); someone else must decide."
    ).is_visible()
    page.get_by_role("link", name="Approvals").first.click()
    assert page.get_by_role("row").filter(has_text=mine.code).count() == 0
    page.goto(f"/measures/{mine.pk}/")
    shoot(page, "own-sign-off-refused")
    _logout(page)

    login(page, "viewer")
    response = page.goto(f"/measures/{elsewhere.pk}/")
    assert response.status == 404
    alert = page.get_by_role("alert")
    assert alert.get_by_role("heading", name="Not found").is_visible()
    assert "No such measure." in alert.inner_text()
    assert "outside the scopes you hold a role in" in alert.inner_text()
    alert.get_by_role("link", name="Back to the dashboard").wait_for()
    shoot(page, "out-of-scope-404")


# 4 ─────────────────────────────────────────────────────────────────────────────────────────────
def test_4_leadership_reads_the_dashboard_and_downloads_the_steering_pack(
    page, cast, tree, payments, shoot, tmp_path
):
    from pypdf import PdfReader

    from measures import services as measure_services
    from measures.selectors import figures

    measure = measure_services.measure_create(
        by=cast["pm"], title="Automate gateway failover", objective="Failover takes 40 minutes by hand.",
        package=tree.package, owner=cast["owner"],
    )  # fmt: skip
    line = measure_services.effect_line_create(
        measure=measure, by=cast["owner"], account="pl_cost", annual_potential=Decimal("120000.00")
    )
    year = figures.fiscal_year()
    measure_services.effect_values_save(
        measure=measure, by=cast["owner"], series="plan",
        cells=[(line.pk, f"{figures.add_months(year.start, i):%Y-%m}", "10000") for i in range(12)],
    )  # fmt: skip
    _restored(cast, payments)  # 60 minutes of impact at 100 EUR a minute

    login(page, "leader")
    page.get_by_role("link", name="Dashboard").first.click()
    page.get_by_role("heading", name="Leadership dashboard").wait_for()
    doi0 = page.get_by_role("row").filter(has_text="DoI 0 · Defined")
    assert "120,000" in doi0.inner_text()  # the year's plan
    incidents = page.locator("section[aria-labelledby=incidents-heading]")
    assert incidents.locator(".kpi").filter(has_text="Major incidents").locator("strong").inner_text() == "1"
    assert "6,000 EUR" in incidents.locator(".kpi").filter(has_text="Incident cost").inner_text()
    shoot(page, "dashboard")

    page.get_by_role("link", name="Reports").first.click()
    page.get_by_label("Report").select_option(label="Steering pack")
    page.get_by_label("Scope").select_option(label="Payments (Program)")
    page.get_by_role("button", name="Generate PDF").click()
    page.get_by_text("requested; it appears below when ready").wait_for()
    link = page.get_by_role("link", name="Download PDF").first
    link.wait_for(timeout=60_000)
    shoot(page, "reports")
    with page.expect_download() as info:
        link.click()
    path = tmp_path / "steering-pack.pdf"
    info.value.save_as(path)
    text = "\n".join(p.extract_text() or "" for p in PdfReader(path).pages)
    assert "Payments" in text
    assert re.search(r"120[,.\s\u202f]?000", text), text[:2000]  # the year's plan


PDF_BYTES = b"%PDF-1.4\n%\xe2\xe3\n1 0 obj<<>>endobj\n%%EOF\n"


def _upload(page, kind: str, name: str) -> None:
    documents = page.locator("section[aria-labelledby=doc-title]")
    documents.get_by_text("Upload a document").click()
    documents.get_by_label("Kind").select_option(label=kind)
    documents.get_by_label("File").set_input_files(
        {"name": name, "mimeType": "application/pdf", "buffer": PDF_BYTES}
    )
    documents.get_by_role("button", name="Upload").click()
    page.get_by_role("link", name=name).wait_for()


def _unmet(page) -> list[str]:
    """The labels of the unmet criteria on the gate panel's checklist."""
    items = page.locator("#gate-panel .checklist li.unmet").all_inner_texts()
    return [item.split("Unmet:")[-1].split(" — ")[0].strip() for item in items]


def _approve_in_inbox(page, code: str, comment: str) -> None:
    page.get_by_role("link", name="Approvals").first.click()
    row = page.get_by_role("row").filter(has_text=code)
    row.get_by_placeholder("Comment (required to reject)").fill(comment)
    row.get_by_role("button", name="Approve").click()
    page.get_by_role("status").get_by_text("Approved.").wait_for()


def _request(page, pk: int, to_doi: int, note: str) -> None:
    page.goto(f"/measures/{pk}/")
    assert _unmet(page) == [], _unmet(page)
    page.get_by_label("Note to the approvers").fill(note)
    page.get_by_role("button", name=f"Request DoI {to_doi}").click()
    page.get_by_text("Gate requested; the approvers have been notified.").wait_for()


def _stage(page, pk: int) -> str:
    page.goto(f"/measures/{pk}/")
    return page.locator("[aria-current=step]").inner_text()


# 3 ─────────────────────────────────────────────────────────────────────────────────────────────
def test_3_measure_goes_from_doi_0_to_a_signed_off_doi_5(page, cast, tree, shoot):
    from measures import services as measure_services
    from measures.models import Measure
    from measures.selectors import figures

    pm, owner = cast["pm"], cast["owner"]
    # The DoI 0 measure journey 2 promotes from the PIR action.
    measure = measure_services.measure_create(
        by=owner, title="Automate gateway failover", objective="Failover took 40 minutes by hand.",
        package=tree.package, owner=owner,
    )  # fmt: skip
    pk, code = measure.pk, measure.code

    # DoI 0 → 1: the program manager completes the identification; the checklist turns green.
    login(page, "pm")
    page.goto(f"/measures/{pk}/")
    assert "Sponsor named" in _unmet(page) and len(_unmet(page)) == 6
    page.get_by_role("link", name="Edit").click()
    page.get_by_label("Sponsor").select_option(label="sponsor")
    page.get_by_label("Controller").select_option(label="controller")
    page.get_by_label("Business unit").fill("Payments")
    page.get_by_label("Risks considered: none known").check()
    page.get_by_label("Overlap check done: no overlapping measures").check()
    page.get_by_role("button", name="Save").click()
    expect(page.locator("#gate-panel .checklist li.unmet")).to_have_count(1)
    assert _unmet(page) == ["At least one effect line with an annualized potential"]
    lines = page.locator("section[aria-labelledby=lines-title]")
    lines.get_by_text("Add an effect line").click()
    lines.get_by_label("Account").select_option(value="pl_cost")
    lines.get_by_label("Annual potential").fill("120000")
    lines.get_by_label("Baseline value").fill("300000")
    lines.get_by_label("Baseline definition").fill("Cost of manual failovers 2025")
    lines.get_by_role("button", name="Add").click()
    expect(page.locator("#gate-panel .checklist li.unmet")).to_have_count(0)
    shoot(page, "doi1-ready")
    _logout(page)

    login(page, "owner")
    _request(page, pk, 1, "Sized with finance")
    _logout(page)
    login(page, "pm")
    _approve_in_inbox(page, code, "Good case")
    assert _stage(page, pk) == "DoI 1 · Identified"

    # DoI 1 → 2: milestone and business case in the browser; the second effect line and the
    # monthly plan (a grid of months) through the services.
    measure = Measure.objects.get(pk=pk)
    one_time = measure_services.effect_line_create(
        measure=measure, by=pm, account="pl_cost", nature="cost_to_achieve", recurrence="one_time",
        annual_potential=0, baseline_value=0, baseline_definition="Project cost",
    )  # fmt: skip
    recurring = measure.effect_lines.exclude(pk=one_time.pk).get()
    year = figures.fiscal_year()
    closed = [figures.add_months(figures.last_closed_month(), -i) for i in range(3)]
    months = sorted({figures.add_months(year.start, i) for i in range(12)} | set(closed))
    for line, amount in ((recurring, "10000"), (one_time, "0")):
        measure_services.effect_values_save(
            measure=measure, by=pm, series="plan", cells=[(line.pk, f"{m:%Y-%m}", amount) for m in months]
        )
    page.goto(f"/measures/{pk}/")
    milestones = page.locator("section[aria-labelledby=ms-title]")
    milestones.get_by_text("Add a milestone").click()
    milestones.get_by_label("Title").fill("Runbook automated")
    milestones.get_by_label("Due date").fill((timezone.localdate() + timedelta(days=60)).isoformat())
    milestones.get_by_role("button", name="Add").click()
    page.get_by_text("Runbook automated").first.wait_for()
    _upload(page, "Business case", "business-case.pdf")
    assert _unmet(page) == []
    shoot(page, "doi2-ready")
    _request(page, pk, 2, "Detailed and planned")
    _logout(page)

    login(page, "sponsor")
    page.goto(f"/measures/{pk}/")
    page.get_by_label("Comment (required to reject)").fill("Go ahead")
    page.get_by_role("button", name="Approve").click()
    page.get_by_role("status").get_by_text("Approved.").wait_for()
    assert _stage(page, pk) == "DoI 2 · Detailed"
    _logout(page)

    # DoI 2 → 3: sponsor and controller, each from their inbox.
    login(page, "pm")
    _request(page, pk, 3, "Plan complete for the year")
    _logout(page)
    login(page, "sponsor")
    _approve_in_inbox(page, code, "Funded")
    _logout(page)
    login(page, "controller")
    page.get_by_role("link", name="Controller inbox").click()
    page.get_by_role("link", name=f"{code} Automate gateway failover").wait_for()
    shoot(page, "controller-inbox")
    _approve_in_inbox(page, code, "Plan checked against the ledger")
    assert _stage(page, pk) == "DoI 3 · Decided"
    _logout(page)

    # DoI 3 → 4: the milestone was completed with evidence over the months of implementation.
    measure = Measure.objects.get(pk=pk)
    measure_services.milestone_complete(
        milestone=measure.milestones.get(), by=owner, completed_at=timezone.localdate(),
        evidence_note="Runbook runs in one click; drill passed",
    )  # fmt: skip
    login(page, "pm")
    _request(page, pk, 4, "Implemented")
    _logout(page)
    login(page, "sponsor")
    _approve_in_inbox(page, code, "Seen the drill")
    assert _stage(page, pk) == "DoI 4 · Implemented"
    _logout(page)

    # Actuals: the owner enters the last closed month in the grid (the two months before it were
    # entered as they closed) and submits them; closure evidence too.
    for month in closed[1:]:
        measure_services.effect_value_set(
            line=recurring, month=month, series="actual", amount="10000", by=owner
        )
    login(page, "owner")
    page.goto(f"/measures/{pk}/?series=actual#entry")
    page.get_by_label(f"P&L cost {closed[0]:%b %Y}").first.fill("10000")
    page.get_by_role("button", name="Save actual").click()
    page.get_by_text("Saved").first.wait_for()
    page.get_by_role("button", name="Submit 3 draft actuals for validation").click()
    page.get_by_text("3 actual(s) submitted for validation.").wait_for()
    _upload(page, "Closure evidence", "closure.pdf")
    _logout(page)

    # The controller validates the actuals and signs DoI 5 off.
    login(page, "controller")
    page.goto("/actuals/awaiting/")
    shoot(page, "actuals-awaiting")
    for month in closed:
        row = page.get_by_role("row").filter(has_text=f"{month:%b %Y}").filter(has_text=code)
        row.get_by_role("button", name="Validate").click()
        page.get_by_text(f"Validated {code} {month:%Y-%m}.").wait_for()
    _logout(page)
    login(page, "owner")
    _request(page, pk, 5, "Three months validated")
    _logout(page)
    login(page, "controller")
    page.goto(f"/measures/{pk}/")
    page.get_by_label("Comment (required to reject)").fill("Value signed off")
    page.get_by_role("button", name="Approve").click()
    page.get_by_role("status").get_by_text("Approved.").wait_for()
    assert _stage(page, pk) == "DoI 5 · Closed"
    shoot(page, "closed")
    assert Measure.objects.get(pk=pk).stage == "closed"
