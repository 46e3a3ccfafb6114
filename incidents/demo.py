"""Demo major incidents: ~25 over the last 12 months on 10 services, built through the services
with realistic timelines (decisions, updates — some late —, vendor escalations, two reopened,
repeats on Card payments). Idempotent: every incident is keyed by its reference."""

from __future__ import annotations

import random
from datetime import datetime, timedelta
from decimal import Decimal

from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.db import transaction
from django.utils import timezone

from incidents import services
from incidents.choices import EntryKind, RoleKind
from incidents.models import DistributionList, Incident, Service
from incidents.policy import close_unmet, policies

# name: (tier, customer-facing, regulated, vendor, cost per minute, business process)
SERVICES = {
    "Card payments": (1, True, True, "PayCo", "250.00", "Take payments in stores and online"),
    "Online shop": (1, True, False, "", "180.00", "Sell online"),
    "Order management": (1, False, False, "", "120.00", "Fulfil orders"),
    "Warehouse management": (2, False, False, "LogiSoft", "90.00", "Pick, pack and ship"),
    "Customer portal": (2, True, False, "", "60.00", "Self-service for customers"),
    "E-mail and collaboration": (2, False, False, "Microsoft", "40.00", "Internal communication"),
    "Payroll": (2, False, True, "PayrollCo", "30.00", "Pay employees"),
    "VPN and remote access": (2, False, False, "NetSecure", "50.00", "Remote work"),
    "Data warehouse": (3, False, False, "", "15.00", "Reporting and analytics"),
    "Service desk tooling": (3, False, False, "", "10.00", "Run IT support"),
}

# (days ago, service, severity, title, users affected, special)
INCIDENTS = [
    (350, "Card payments", 1, "Card terminals decline all transactions", 12000, ""),
    (331, "E-mail and collaboration", 2, "Mail delivery delayed by hours", 3000, ""),
    (305, "Warehouse management", 2, "Scanners cannot confirm picks", 400, ""),
    (290, "Online shop", 1, "Checkout returns server errors", 25000, "reopen"),
    (262, "Payroll", 2, "Payroll run stopped at validation", 2100, ""),
    (240, "VPN and remote access", 2, "VPN gateway rejects logins", 1800, ""),
    (221, "Card payments", 1, "Payment gateway timeouts in peak hours", 15000, ""),
    (200, "Customer portal", 2, "Portal login loop after release", 5000, ""),
    (183, "Order management", 1, "Orders stuck in 'received'", 900, ""),
    (170, "Card payments", 2, "Contactless payments fail on one terminal model", 4000, ""),
    (152, "Data warehouse", 2, "Nightly load failed; finance reports missing", 150, ""),
    (139, "Online shop", 2, "Search returns no results", 9000, ""),
    (121, "Card payments", 1, "Settlement file rejected by acquirer", 0, "reopen"),
    (104, "Service desk tooling", 2, "Ticketing tool unavailable", 600, ""),
    (92, "Warehouse management", 1, "WMS database failover loops", 700, ""),
    (80, "E-mail and collaboration", 2, "Calendar sync broken for mobile", 2500, ""),
    (66, "Customer portal", 2, "Invoices show wrong amounts", 1200, ""),
    (55, "Card payments", 1, "Card payments down after certificate expiry", 18000, ""),
    (43, "VPN and remote access", 2, "MFA push notifications not delivered", 2200, ""),
    (31, "Order management", 2, "Order export to carriers stalled", 300, ""),
    (22, "Online shop", 1, "Product pages load in 20 seconds", 30000, ""),
    (12, "Payroll", 2, "Payslips show last month's data", 2100, ""),
    (6, "Card payments", 2, "Refunds fail with error 502", 800, ""),
    (0.25, "Customer portal", 1, "Customer portal down for all users", 20000, "open"),
    (0.9, "Warehouse management", 2, "Label printers offline in two sites", 350, "restored"),
    (60, "Data warehouse", 3, "Dashboard slow for one team", 10, "not_major"),
    (15, "Online shop", 2, "Duplicate alert for search outage", 0, "cancelled"),
]

DECISIONS = [
    ("Fail over to the secondary data centre", "Primary storage cannot recover within the hour",
     "Wait for the storage vendor's fix (estimated 3 hours)"),
    ("Roll back the morning release", "Errors started with the release; rollback is tested and takes 15 minutes",
     "Hot-fix forward (untested)"),
    ("Disable the new feature flag for all users", "Isolates the failing component with no data loss",
     "Scale out the service (did not help in the first attempt)"),
    ("Switch payments to the backup acquirer", "Keeps stores trading while the primary acquirer investigates",
     "Keep retrying the primary acquirer"),
]  # fmt: skip


def load(stdout=None) -> None:
    def say(text: str) -> None:
        if stdout is not None:
            stdout.write(text)

    people = _people()
    catalog = _catalog(people["mim2"], people["admin"])
    DistributionList.objects.filter(audience="executives", recipients="").update(
        recipients="exec-team@example.test"
    )
    now = timezone.now().replace(second=0, microsecond=0)
    created = 0
    for number, row in enumerate(INCIDENTS, start=1):
        days_ago, service, severity, title, users, special = row
        start = now - timedelta(days=days_ago)
        reference = f"MI-{start.year}-D{number:03d}"
        if Incident.objects.filter(reference=reference).exists():
            continue
        with transaction.atomic():
            rng = random.Random(number)  # noqa: S311 - demo data, not security
            _incident(reference, start, catalog[service], severity, title, users, special, people, rng, now)
        created += 1
    say(f"Incidents: {created} demo incidents created ({len(INCIDENTS) - created} already there).")


def _people() -> dict:
    User = get_user_model()
    names = {"mim": ("Mia", "Ivanova", "incident_manager"), "mim2": ("Jonas", "Berg", "incident_manager"),
             "admin": ("Ada", "Admin", "admin"), "owner": ("Omar", "Hassan", None), "leader": ("Lena", "Fischer", "leadership")}  # fmt: skip
    people = {}
    for username, (first, last, group) in names.items():
        user = User.objects.filter(username=username).first()
        if user is None:
            user = User.objects.create_user(username=username, first_name=first, last_name=last,
                                            email=f"{username}@example.test", password="valuegate-demo")  # fmt: skip
            if group:
                user.groups.add(Group.objects.get_or_create(name=group)[0])
        people[username] = user
    return people


def _catalog(owner, admin) -> dict[str, Service]:
    catalog = {}
    for name, (tier, customer, regulated, vendor, cost, process) in SERVICES.items():
        service = Service.objects.filter(name=name).first() or services.service_save(
            by=admin, name=name, tier=tier, customer_facing=customer, regulated=regulated, vendor=vendor,
            cost_per_minute=Decimal(cost), business_process=process, owner=owner,
        )  # fmt: skip
        catalog[name] = service
    return catalog


def _incident(reference, start, service, severity, title, users, special, people, rng, now) -> None:
    mim, mim2 = people["mim"], people["mim2"]
    t = {"impact": start}
    t["detected"] = start + timedelta(minutes=rng.randint(2, 25))
    t["reported"] = t["detected"] + timedelta(minutes=rng.randint(1, 10))
    incident = services.incident_log(
        by=mim, title=title, services=[service], severity=severity, users_affected=users or None,
        revenue_impact=service.customer_facing, estimated_downtime_minutes=rng.choice([30, 60, 120, 240]),
        impact_started_at=t["impact"], detected_at=t["detected"], reported_at=t["reported"], reference=reference,
        description=f"{title}. Reported by {'monitoring' if rng.random() < 0.6 else 'the service desk'}.",
    )  # fmt: skip
    if special == "cancelled":
        services.incident_cancel(
            incident=incident, by=mim, reason="Duplicate of an incident already being handled"
        )
        return
    if special == "not_major":
        services.incident_mark_not_major(
            incident=incident, by=mim, reason="One team affected; handled as a standard incident"
        )
        return
    manager = mim if rng.random() < 0.65 else mim2
    services.role_assign(incident=incident, by=manager, role=RoleKind.MIM, user=manager, at=t["reported"])
    declared = t["reported"] + timedelta(minutes=rng.randint(3, 20))
    incident = services.incident_declare(incident=incident, by=manager, at=declared)
    assembled = min(declared + timedelta(minutes=rng.randint(5, 25)), now)
    incident = services.incident_team_assembled(incident=incident, by=manager, at=assembled)
    _roles(incident, manager, people, service, assembled)
    restore_after = rng.randint(45, 300) if severity == 1 else rng.randint(30, 240)
    restored = assembled + timedelta(minutes=restore_after)
    if special == "open":
        restored = now + timedelta(days=1)  # not yet
    _response(incident, manager, service, declared, min(restored, now), rng, late=rng.random() < 0.35)
    if special == "open":
        return
    if rng.random() < 0.25:
        new = 1 if severity == 2 else 2
        services.incident_severity_change(incident=incident, by=manager, severity=new,
                                          reason="Impact re-assessed with the service owner")  # fmt: skip
    incident = services.incident_restore(
        incident=incident, by=manager, at=restored, note="Monitoring back to normal."
    )
    if special == "reopen":
        back = restored + timedelta(minutes=40)
        services.timeline_entry_add(incident=incident, by=manager, kind=EntryKind.DETECTION,
                                    text="Errors returned: same symptoms as before.", occurred_at=back)  # fmt: skip
        incident = services.incident_reopen(
            incident=incident, by=manager, reason="Impact returned 40 minutes after restoration"
        )
        restored = back + timedelta(minutes=rng.randint(30, 90))
        services.status_update_create(
            incident=incident, by=manager, kind="progress", audience="business", channel="email",
            affected_service=service.name, business_impact="The problem has returned.", current_status="Reopened; team re-engaged",
            next_update_due_at=back + timedelta(minutes=30), sent_at=back + timedelta(minutes=10),
        )  # fmt: skip
        incident = services.incident_restore(incident=incident, by=manager, at=restored)
    if special == "restored":
        return
    _validate_and_close(incident, manager, restored, now, rng)
    effort = Decimal(rng.randint(4, 12)) * Decimal(restore_after) / Decimal(60)
    services.incident_update(
        incident=incident, by=manager, response_effort_hours=effort.quantize(Decimal("0.1"))
    )


def _roles(incident, manager, people, service, at: datetime) -> None:
    others = {RoleKind.TECHNICAL_LEAD: people["owner"], RoleKind.SERVICE_OWNER: service.owner or people["mim2"],
              RoleKind.COMMUNICATIONS_LEAD: people["admin"], RoleKind.RECORDER: people["mim2"] if manager != people["mim2"] else people["mim"]}  # fmt: skip
    for role, user in others.items():
        services.role_assign(incident=incident, by=manager, role=role, user=user, at=at)
    if service.vendor:
        services.role_assign(
            incident=incident, by=manager, role=RoleKind.VENDOR_OWNER, user=people["owner"], at=at
        )


def _response(incident, manager, service, declared, end, rng, late: bool) -> None:
    """Escalation, a decision, and status updates at the cadence (some late) until `end`."""
    cadence = policies()[incident.severity].cadence
    services.timeline_entry_add(incident=incident, by=manager, kind=EntryKind.ACTION, occurred_at=declared + timedelta(minutes=3),
                                text="Bridge opened; technical teams and service owner joined.")  # fmt: skip
    if service.vendor:
        contacted = declared + timedelta(minutes=rng.randint(5, 20))
        responded = contacted + timedelta(minutes=rng.randint(10, 90))
        services.vendor_escalation_add(incident=incident, by=manager, vendor=service.vendor, contacted_at=contacted,
                                       reference=f"{service.vendor[:3].upper()}-{rng.randint(10000, 99999)}",
                                       responded_at=responded if responded <= end else None)  # fmt: skip
    text, rationale, alternatives = rng.choice(DECISIONS)
    decided = declared + timedelta(minutes=rng.randint(15, 40))
    if decided < end:
        entry = services.timeline_entry_add(incident=incident, by=manager, kind=EntryKind.DECISION, text=text,
                                            rationale=rationale, alternatives=alternatives, decided_by=manager,
                                            occurred_at=decided)  # fmt: skip
        services.timeline_entry_pin(entry=entry, by=manager)
    sent, kinds = declared, ["initial"]
    while True:
        gap = cadence * (1.6 if late and rng.random() < 0.5 else rng.uniform(0.6, 0.95))
        sent = sent + gap
        if sent >= end:
            break
        kind = kinds.pop() if kinds else rng.choice(["progress", "progress", "workaround", "executive"])
        services.status_update_create(
            incident=incident, by=manager, kind=kind, audience="executives" if kind == "executive" else "business",
            channel="email", affected_service=service.name,
            business_impact=f"About {incident.users_affected or 'some'} users affected.",
            current_status="Diagnosis continues; recovery options are being tested.",
            workaround="Use the manual fallback procedure." if kind == "workaround" else "",
            next_update_due_at=sent + cadence, sent_at=sent,
        )  # fmt: skip


def _validate_and_close(incident, manager, restored, now, rng) -> None:
    services.recovery_validation_save(
        incident=incident, by=manager, service_restored=True, users_still_affected=False,
        workarounds_still_needed=False, monitoring_stable=True, residual_risks_open=rng.random() < 0.3,
        residual_risks="Capacity headroom is thin until the permanent fix ships.",
        business_confirmed_by=rng.choice(["Head of Retail Operations", "Finance operations lead", "Logistics duty manager"]),
    )  # fmt: skip
    validated = restored + timedelta(minutes=rng.randint(20, 60))
    if validated > now:
        return
    incident = services.incident_validate(incident=incident, by=manager, at=validated)
    closed = validated + timedelta(minutes=rng.randint(60, 1440))
    # With reviews installed the PIR (opened on restoration) must be settled first: reviews' demo
    # settles it and closes the incident then.
    if closed <= now and not close_unmet(incident):
        services.incident_close(incident=incident, by=manager, at=closed)
