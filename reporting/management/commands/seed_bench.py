"""`uv run manage.py seed_bench --measures 10000 --incidents 5000`: the large deployment of DESIGN §10.

Builds, on PostgreSQL, a scope tree (1 portfolio, 6 programs, 4 projects each, 3 packages per
project), a handful of users with memberships, N measures spread over the DoI stages (more at low
DoI) with owner, sponsor and controller, two effect lines each (a recurring benefit and a one-time
cost-to-achieve), milestones (some overdue, some critical and overdue, so the implementation lights
vary), risks, a few pending gate requests, monthly effect values when the model exists (36 months ×
target/plan/forecast/actual per line; actuals only up to the current month and only from DoI 3,
mostly validated), and M major incidents over three years across 40 services, with every time in
the order the model's check constraint demands, roles, recovery validations, sent status updates
and K timeline entries each.

Why it bypasses the services: they do one row at a time with row locks, permission checks and a
hash-chained audit entry each — hours for 10,000 measures and 100,000 timeline entries. This
command writes with `bulk_create` in batches of 2,000 instead, and therefore itself keeps every
rule the services and the database keep: codes and references follow the services' schemes
(M-<id> from the measure id sequence, MI-<year>-<nnnn>), stage-dependent fields are consistent
(on hold remembers its stage, DoI ≥ 1 has the overlap check, DoI ≥ 3 has a controller), the
controller is never the owner, completed milestones carry evidence, decisions carry a rationale
and a decider, sent updates have a send time, incident times are in order, and declared incidents
have a Major Incident Manager. Check, unique and foreign-key constraints and the append-only
triggers stay in force. The pghistory event triggers are skipped for the seed's transaction
(`pgtrigger.ignore` as a transaction setting): each fires two PL/pgSQL blocks with EXCEPTION
handlers per row, i.e. subtransactions, which inside one large transaction cost ~0.5 ms a row
(measured: 10,000 effect values 5.4 s with them, 0.37 s without) — about 20 minutes for the 2.5
million effect values. Seeded rows therefore have no "insert" history event; their first change
through the services records one as usual. `Measure.stage` and `Incident.state` are protected FSM
fields: protection blocks assignment after construction only, so instances are built with the
stage in the constructor. No audit entries are written: the audit log records governance actions,
and seeding is none.

Bench data is recognised by its users (`bench-*`), its root scope and its services (`Bench …`).
The command refuses to run twice unless `--reset`, which deletes the earlier bench data first.
Logins (password `bench-password`): bench-leader (leadership), bench-pm (program manager of the
largest program), bench-controller (controller of the portfolio), bench-mim (incident manager),
bench-admin (admin).
"""

from __future__ import annotations

import math
import random
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date, timedelta
from decimal import Decimal

import pgtrigger
from django.apps import apps
from django.contrib.auth import get_user_model
from django.contrib.auth.hashers import make_password
from django.contrib.auth.models import Group
from django.core.management.base import BaseCommand, CommandError
from django.db import connection, models, transaction
from django.utils import timezone

from incidents.choices import Audience, EntryKind, IncidentState, RoleKind, UpdateKind, UpdateState
from incidents.models import (
    Incident,
    IncidentRole,
    RecoveryValidation,
    Service,
    SeverityPolicy,
    StatusUpdate,
    TimelineEntry,
)
from measures.choices import (
    DOI_OF_STAGE,
    GATE_APPROVERS,
    GateRequestState,
    GlobalGroup,
    Hardness,
    Nature,
    Recurrence,
    ScopeKind,
    ScopeRole,
    Stage,
)
from measures.models import (
    EffectLine,
    GateApproval,
    GateRequest,
    Measure,
    Membership,
    Milestone,
    Risk,
    Scope,
)
from measures.selectors import refresh_figures
from readcache.services import compact_changes

BATCH = 2000
PASSWORD = "bench-password"
ROOT_NAME = "Bench portfolio"
SERVICE_PREFIX = "Bench "
PROGRAMS = ["Payments", "Cloud", "Workplace", "Data platform", "Customer channels", "Security"]
PROGRAM_WEIGHTS = [30, 20, 17, 14, 11, 8]  # the first program is the largest (PDF, scope dashboard)
PROJECTS = ["Platform", "Operations", "Automation", "Resilience"]
PACKAGES = ["Quick wins", "Structural", "Enablers"]
# DoI stages and side states, more at low DoI (per cent).
STAGE_WEIGHTS = {
    Stage.DEFINED: 24,
    Stage.IDENTIFIED: 20,
    Stage.DETAILED: 17,
    Stage.DECIDED: 13,
    Stage.IMPLEMENTED: 12,
    Stage.CLOSED: 7,
    Stage.ON_HOLD: 4,
    Stage.CANCELLED: 3,
}
SERIES = ("target", "plan", "forecast", "actual")
WORDS = (
    "Automate failover runbook",
    "Consolidate monitoring",
    "Rightsize compute",
    "Retire legacy batch",
    "Shorten change lead time",
    "Self-service password reset",
    "Reduce licence spend",
    "Harden backup restore",
    "Move reports to the warehouse",
    "Negotiate vendor support",
    "Standardise incident bridge",
    "Cut duplicate tooling",
)


def month_start(day: date, delta_months: int = 0) -> date:
    index = day.year * 12 + day.month - 1 + delta_months
    return date(index // 12, index % 12 + 1, 1)


def bulk(model: type[models.Model], rows: list[models.Model]) -> list[models.Model]:
    return model.objects.bulk_create(rows, batch_size=BATCH)


def reserve_ids(model: type[models.Model], n: int) -> list[int]:
    """Take n ids from the model's sequence, as the services do one at a time (codes use them)."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT nextval(pg_get_serial_sequence(%s, 'id')) FROM generate_series(1, %s)",
            [model._meta.db_table, n],
        )
        return [row[0] for row in cursor.fetchall()]


def _has_model(label: str) -> bool:
    try:
        apps.get_model(label)
    except LookupError:
        return False
    return True


def history_triggers() -> str:
    """The pghistory event triggers of every tracked model, as a PostgreSQL text array literal."""
    names = [
        trigger.get_pgid(model)
        for model, trigger in pgtrigger.registered()
        if type(trigger).__module__.startswith("pghistory")
    ]
    return "{" + ",".join(names) + "}"


def copy_rows(model: type[models.Model], rows: list[dict], now) -> int:
    """Insert plain rows with PostgreSQL COPY: for the millions of effect values, building model
    instances for bulk_create costs more than the insert itself. Each column not given takes the
    field's default (auto_now fields: `now`), so a field added later does not break the seeder;
    the table's constraints and triggers apply to COPY as to INSERT."""
    fields = [f for f in model._meta.concrete_fields if not f.primary_key]
    defaults = {}
    for f in fields:
        if getattr(f, "auto_now", False) or getattr(f, "auto_now_add", False):
            defaults[f.attname] = now
        elif f.has_default():
            defaults[f.attname] = f.get_default()
        elif f.null:
            defaults[f.attname] = None
        else:
            defaults[f.attname] = ""
    columns = ", ".join(connection.ops.quote_name(f.column) for f in fields)
    sql = f"COPY {connection.ops.quote_name(model._meta.db_table)} ({columns}) FROM STDIN"
    with connection.cursor() as cursor, cursor.cursor.copy(sql) as copy:
        for row in rows:
            copy.write_row([row.get(f.attname, defaults[f.attname]) for f in fields])
    return len(rows)


class Command(BaseCommand):
    help = "Seed the large benchmark deployment of DESIGN §10 (PostgreSQL, bulk inserts)."

    def add_arguments(self, parser) -> None:
        parser.add_argument("--measures", type=int, default=10_000)
        parser.add_argument("--incidents", type=int, default=5_000)
        parser.add_argument("--timeline-per-incident", type=int, default=20)
        parser.add_argument("--months", type=int, default=36, help="Months of effect values per line.")
        parser.add_argument("--seed", type=int, default=20_261_127, help="Random seed (repeatable data).")
        parser.add_argument("--reset", action="store_true", help="Delete earlier bench data first.")

    # ------------------------------------------------------------------------------------------
    def handle(self, *args, **opts) -> None:
        if connection.vendor != "postgresql":
            raise CommandError("seed_bench needs PostgreSQL (DATABASE_URL).")
        self.rng = random.Random(opts["seed"])  # noqa: S311 — test data, not secrets
        self.now = timezone.now().replace(microsecond=0)
        self.today = timezone.localdate()
        self.timings: list[tuple[str, float, str]] = []
        total = time.perf_counter()
        if self._exists():
            if not opts["reset"]:
                raise CommandError(
                    "Bench data already exists in this database (users bench-*, scope "
                    f"'{ROOT_NAME}'). Run with --reset to delete it and seed again."
                )
            with self._part("reset (delete earlier bench data)"):
                self._reset()
        with transaction.atomic():
            with connection.cursor() as cursor:  # see the module docstring
                cursor.execute("SELECT set_config('pgtrigger.ignore', %s, true)", [history_triggers()])
            with self._part("users and memberships") as note:
                note(self._users())
            with self._part("scope tree") as note:
                note(self._scopes())
            with self._part("measures") as note:
                note(self._measures(opts["measures"]))
            with self._part("effect lines, milestones, risks, gate requests") as note:
                note(self._around())
            with self._part("effect values") as note:
                note(self._effect_values(opts["months"]))
            with self._part("services") as note:
                note(self._services())
            with self._part("incidents, roles, validations") as note:
                note(self._incidents(opts["incidents"]))
            with self._part("timeline entries") as note:
                note(self._timeline(opts["timeline_per_incident"]))
            with self._part("status updates") as note:
                note(self._updates())
        with self._part("ANALYZE"), connection.cursor() as cursor:
            cursor.execute("ANALYZE")
        with self._part("stored figures of every measure (ADR 0013)"):
            refresh_figures()
        compact_changes()  # the read cache's change rows of the load (ADR 0014)
        self.stdout.write("")
        for name, seconds, detail in self.timings:
            self.stdout.write(f"  {name:<50} {seconds:7.1f} s  {detail}")
        self.stdout.write(self.style.SUCCESS(f"Bench data seeded in {time.perf_counter() - total:.1f} s."))
        self.stdout.write(
            f"Logins (password {PASSWORD}): bench-leader, bench-pm, bench-controller, bench-mim."
        )

    @contextmanager
    def _part(self, name: str) -> Iterator:
        detail = [""]
        start = time.perf_counter()
        self.stdout.write(f"{name} …")
        yield lambda text: detail.__setitem__(0, text)
        self.timings.append((name, time.perf_counter() - start, detail[0]))
        self.stdout.write(f"  done in {self.timings[-1][1]:.1f} s {detail[0]}")

    # --- guard and reset ----------------------------------------------------------------------
    def _exists(self) -> bool:
        return (
            get_user_model().objects.filter(username__startswith="bench-").exists()
            or Scope.objects.filter(parent__isnull=True, name=ROOT_NAME).exists()
            or Service.objects.filter(name__startswith=SERVICE_PREFIX).exists()
        )

    def _reset(self) -> None:
        users = get_user_model().objects.filter(username__startswith="bench-")
        bench_incidents = Incident.objects.filter(created_by__in=users)
        frozen = (
            "measures.PlanVersion:frozen",
            "measures.PlanVersionValue:frozen",
            "measures.EffectValue:validated_actual_final",
        )
        with transaction.atomic(), pgtrigger.ignore("incidents.TimelineEntry:timeline_no_delete", *frozen):
            TimelineEntry.objects.filter(incident__in=bench_incidents)._raw_delete(connection.alias)
            bench_incidents.delete()
            Service.objects.filter(name__startswith=SERVICE_PREFIX).delete()
            for root in Scope.objects.filter(parent__isnull=True, name=ROOT_NAME):
                below = Scope.objects.filter(path__startswith=root.path)
                # Bench data only: values and frozen plans go explicitly (they are PROTECTed, ADR 0016).
                for label in ("measures.PlanVersionValue", "measures.EffectValue", "measures.PlanVersion"):
                    big = apps.get_model(label) if _has_model(label) else None
                    if big is not None:  # millions of rows: one DELETE, not Django's collector
                        field = "version__measure" if label.endswith("PlanVersionValue") else "measure"
                        big.objects.filter(**{f"{field}__package__path__startswith": root.path})._raw_delete(
                            connection.alias
                        )
                Measure.objects.filter(package__path__startswith=root.path).delete()
                for kind in (ScopeKind.PACKAGE, ScopeKind.PROJECT, ScopeKind.PROGRAM, ScopeKind.PORTFOLIO):
                    below.filter(kind=kind).delete()
            users.delete()

    # --- people and scopes ----------------------------------------------------------------------
    def _users(self) -> str:
        User = get_user_model()
        hashed = make_password(PASSWORD)
        names = ["admin", "leader", "pm", "pm2", "controller", "mim", "mim2"]
        names += [f"owner-{i:02d}" for i in range(1, 41)] + [f"sponsor-{i:02d}" for i in range(1, 11)]
        first = ["Ada", "Ben", "Chloe", "Dmitri", "Elif", "Farah", "Goran", "Hana", "Ivo", "Jana"]
        last = ["Meyer", "Okafor", "Lindqvist", "Novak", "Tanaka", "Costa", "Haddad", "Berg"]
        users = bulk(
            User,
            [
                User(
                    username=f"bench-{name}",
                    password=hashed,
                    email=f"bench-{name}@example.test",
                    first_name=first[i % len(first)],
                    last_name=last[i % len(last)],
                )
                for i, name in enumerate(names)
            ],
        )
        self.users = {u.username.removeprefix("bench-"): u for u in users}
        groups = {name: Group.objects.get_or_create(name=name)[0] for name in GlobalGroup.values}
        groups[GlobalGroup.ADMIN].user_set.add(self.users["admin"])
        groups[GlobalGroup.LEADERSHIP].user_set.add(self.users["leader"])
        groups[GlobalGroup.INCIDENT_MANAGER].user_set.add(self.users["mim"], self.users["mim2"])
        self.owners = [u for k, u in self.users.items() if k.startswith("owner-")]
        self.sponsors = [u for k, u in self.users.items() if k.startswith("sponsor-")]
        return f"({len(users)} users)"

    def _scopes(self) -> str:
        root = Scope.objects.create(name=ROOT_NAME, kind=ScopeKind.PORTFOLIO, parent=None)
        root.path = f"/{root.pk}/"
        root.save(update_fields=["path"])
        programs = bulk(
            Scope,
            [
                Scope(name=name, kind=ScopeKind.PROGRAM, parent=root, milestone_red_days=14 if i % 3 else 21)
                for i, name in enumerate(PROGRAMS)
            ],
        )
        projects = bulk(
            Scope,
            [Scope(name=n, kind=ScopeKind.PROJECT, parent=p) for p in programs for n in PROJECTS],
        )
        packages = bulk(
            Scope,
            [Scope(name=n, kind=ScopeKind.PACKAGE, parent=p) for p in projects for n in PACKAGES],
        )
        for scope in [*programs, *projects, *packages]:
            scope.path = f"{scope.parent.path}{scope.pk}/"
        Scope.objects.bulk_update([*programs, *projects, *packages], ["path"], batch_size=BATCH)
        self.root, self.programs = root, programs
        # Packages weighted by their program's share, with some spread inside each program.
        self.packages, self.package_weights = [], []
        for package in packages:
            program_index = programs.index(package.parent.parent)
            self.packages.append(package)
            self.package_weights.append(PROGRAM_WEIGHTS[program_index] * self.rng.uniform(0.5, 1.5))
        u = self.users
        members = [
            Membership(user=u["pm"], scope=programs[0], role=ScopeRole.PROGRAM_MANAGER),
            Membership(user=u["pm2"], scope=programs[1], role=ScopeRole.PROGRAM_MANAGER),
            Membership(user=u["controller"], scope=root, role=ScopeRole.CONTROLLER),
            *(Membership(user=o, scope=root, role=ScopeRole.CONTRIBUTOR) for o in self.owners),
            *(Membership(user=s, scope=root, role=ScopeRole.CONTRIBUTOR) for s in self.sponsors),
        ]
        bulk(Membership, members)
        return f"({1 + len(programs) + len(projects) + len(packages)} scopes, {len(members)} memberships)"

    # --- measures ----------------------------------------------------------------------------------
    def _measures(self, n: int) -> str:
        rng = self.rng
        stages = rng.choices(list(STAGE_WEIGHTS), weights=list(STAGE_WEIGHTS.values()), k=n)
        packages = rng.choices(self.packages, weights=self.package_weights, k=n)
        ids = reserve_ids(Measure, n)
        rows = []
        for pk, stage, package in zip(ids, stages, packages, strict=True):
            before = rng.choice(list(Stage)[:5]) if stage == Stage.ON_HOLD else ""
            doi = DOI_OF_STAGE.get(before or stage, rng.randint(0, 3))
            program = package.parent.parent.name
            rows.append(
                Measure(
                    pk=pk,
                    code=f"M-{pk:05d}",
                    title=f"{rng.choice(WORDS)} ({program}, {package.parent.name.lower()})",
                    objective="Starting point: manual work and duplicated tools. Objective: "
                    f"{rng.randint(10, 60)} % less effort and cost within {rng.randint(6, 24)} months.",
                    package=package,
                    owner=rng.choice(self.owners),
                    sponsor=rng.choice(self.sponsors) if doi >= 1 or rng.random() < 0.5 else None,
                    controller=self.users["controller"] if doi >= 1 or rng.random() < 0.3 else None,
                    business_unit=program,
                    stage=stage,
                    stage_before_hold=before,
                    hold_reason="Waiting for the platform decision." if before else "",
                    cancel_reason="Superseded by a larger measure." if stage == Stage.CANCELLED else "",
                    no_known_risks=False,
                    no_known_overlaps=doi >= 1,
                    version=1 + doi,
                    created_by=self.users["pm"],
                )
            )
        self.measures = bulk(Measure, rows)
        counts = {s: stages.count(s) for s in STAGE_WEIGHTS}
        return "(" + ", ".join(f"{s.value} {c}" for s, c in counts.items()) + ")"

    def _around(self) -> str:
        rng, today = self.rng, self.today
        lines, milestones, risks, requests = [], [], [], []
        accounts = ["pl_cost", "pl_revenue", "cash", "working_capital", "fte"]
        for m in self.measures:
            potential = Decimal(int(math.exp(rng.gauss(11.5, 1.0)))).quantize(Decimal("1"))
            lines.append(
                EffectLine(
                    measure=m,
                    account=rng.choice(accounts),
                    recurrence=Recurrence.RECURRING,
                    nature=Nature.BENEFIT,
                    hardness=rng.choices(list(Hardness), weights=[70, 20, 10])[0],
                    annual_potential=potential,
                    baseline_value=potential * 4,
                    baseline_definition="Run cost of the last four quarters.",
                )
            )
            lines.append(
                EffectLine(
                    measure=m,
                    account=rng.choice(["capex", "pl_cost"]),
                    recurrence=Recurrence.ONE_TIME,
                    nature=Nature.COST_TO_ACHIEVE,
                    hardness=Hardness.HARD,
                    annual_potential=(potential * Decimal(rng.uniform(0.2, 0.8))).quantize(Decimal("1")),
                )
            )
            doi = m.doi
            count = rng.choice([0, 0, 1, 2]) if doi == 0 else rng.randint(0 if doi < 3 else 2, 5)
            # Per measure, how late it runs: most on time, some late, some badly late.
            lateness = rng.choices(["on_time", "late", "very_late"], weights=[60, 28, 12])[0]
            for i in range(count):
                due = today + timedelta(days=rng.randint(-240, 240))
                done = due < today and (lateness == "on_time" or rng.random() < 0.5)
                if m.stage == Stage.CLOSED:
                    done = True
                critical = rng.random() < 0.3
                if lateness == "very_late" and i == 0:
                    due, critical, done = today - timedelta(days=rng.randint(15, 120)), True, False
                elif lateness == "late" and i == 0:
                    due, done = today - timedelta(days=rng.randint(1, 40)), False
                milestones.append(
                    Milestone(
                        measure=m,
                        title=f"Milestone {i + 1}",
                        due_date=due,
                        critical=critical,
                        completed_at=min(due, today) if done else None,
                        evidence_note="Signed off in the steering meeting." if done else "",
                    )
                )
            if doi >= 1:
                risks.append(
                    Risk(
                        measure=m,
                        title="Vendor capacity",
                        probability=rng.randint(1, 5),
                        impact=rng.randint(1, 5),
                        owner=m.owner,
                    )
                )
            active = (Stage.DEFINED, Stage.IDENTIFIED, Stage.DETAILED, Stage.DECIDED, Stage.IMPLEMENTED)
            if m.stage in active and rng.random() < 0.05:
                requests.append(
                    GateRequest(
                        measure=m,
                        from_doi=doi,
                        to_doi=doi + 1,
                        state=GateRequestState.PENDING,
                        requested_by=m.owner,
                        comment="All criteria met; please approve.",
                    )
                )
        self.lines = bulk(EffectLine, lines)
        bulk(Milestone, milestones)
        bulk(Risk, risks)
        bulk(GateRequest, requests)
        approvals = [
            GateApproval(request=r, role=role) for r in requests for role in GATE_APPROVERS[r.to_doi]
        ]
        bulk(GateApproval, approvals)
        return (
            f"({len(lines)} lines, {len(milestones)} milestones, {len(risks)} risks, "
            f"{len(requests)} pending gate requests)"
        )

    def _effect_values(self, months: int) -> str:
        """36 months from January of last year: target and plan for every line, forecast and
        actuals from DoI 3 (actuals for closed months only, mostly validated), and plan version 1
        (the baseline frozen at DoI 3) as a copy of the plan. Written with COPY (see copy_rows)."""
        try:
            from measures.models import EffectValue, PlanVersion, PlanVersionValue
        except ImportError:
            return "(skipped: no monthly effect value model in measures.models yet)"
        rng, now = self.rng, self.now
        this_month = month_start(self.today)
        first = date(self.today.year - 1, 1, 1)
        month_list = [month_start(first, i) for i in range(months)]
        controller, pm = self.users["controller"], self.users["pm"]
        measures = {m.pk: m for m in self.measures}
        frozen = [m for m in self.measures if m.doi >= 3 and m.stage != Stage.CANCELLED]
        versions = bulk(
            PlanVersion,
            [
                PlanVersion(
                    measure=m, number=1, created_by=controller, reason="Baseline frozen at DoI 3 approval."
                )
                for m in frozen
            ],
        )
        version_of = {v.measure_id: v.pk for v in versions}
        values, plan_copies = [], []
        cent = Decimal("0.01")
        closed_run_rates = {}
        for line in self.lines:
            measure = measures[line.measure_id]
            if measure.stage == Stage.CANCELLED and rng.random() < 0.5:
                continue
            doi = measure.doi
            recurring = line.recurrence == Recurrence.RECURRING
            annual = line.annual_potential or Decimal("0")
            start = rng.randint(0, 14)  # the month the effect starts (recurring) or the cost falls
            health = rng.choices([1.0, 0.9, 0.7], weights=[65, 25, 10])[0]  # potential light varies
            for i, month in enumerate(month_list):
                if recurring:
                    ramp = min(1, max(0, (i - start + 1) / 4))  # four months of ramp-up
                    plan = (annual / 12 * Decimal(ramp)).quantize(cent)
                else:
                    plan = (annual / 3).quantize(cent) if start <= i < start + 3 else Decimal("0.00")
                cells = {"target": (plan * Decimal("1.1")).quantize(cent), "plan": plan}
                if doi >= 3:
                    cells["forecast"] = (plan * Decimal(health * rng.uniform(0.95, 1.05))).quantize(cent)
                    if month < this_month:
                        cells["actual"] = (plan * Decimal(health * rng.uniform(0.85, 1.1))).quantize(cent)
                    plan_copies.append(
                        {
                            "version_id": version_of[measure.pk],
                            "line_id": line.pk,
                            "month": month,
                            "amount": plan,
                        }
                    )
                for series, amount in cells.items():
                    row = {
                        "line_id": line.pk,
                        "measure_id": measure.pk,
                        "month": month,
                        "series": series,
                        "amount": amount,
                        "entered_by_id": pm.pk if series == "target" else measure.owner_id,
                    }
                    if series == "actual":
                        state = rng.choices(["validated", "submitted", "draft"], weights=[85, 10, 5])[0]
                        row["validation_state"] = state
                        if state != "draft":
                            row["submitted_at"] = now - timedelta(days=rng.randint(5, 30))
                        if state == "validated":
                            row["validated_by_id"] = controller.pk
                            row["validated_at"] = now - timedelta(days=rng.randint(0, 4))
                        if recurring and measure.stage == Stage.CLOSED:
                            closed_run_rates[measure.pk] = amount * 12
                    values.append(row)
        written = copy_rows(EffectValue, values, now)
        copy_rows(PlanVersionValue, plan_copies, now)
        if closed_run_rates and any(f.name == "closed_run_rate" for f in Measure._meta.fields):
            closed = [m for m in self.measures if m.pk in closed_run_rates]
            for m in closed:
                m.closed_run_rate = closed_run_rates[m.pk]
            Measure.objects.bulk_update(closed, ["closed_run_rate"], batch_size=BATCH)
        return f"({written} effect values, {len(versions)} frozen plans with {len(plan_copies)} plan cells)"

    # --- incidents --------------------------------------------------------------------------------
    def _services(self) -> str:
        rng = self.rng
        names = [
            "Payments gateway", "Card issuing", "Online banking", "Mobile app", "Core ledger",
            "Data warehouse", "E-mail", "Intranet", "VPN", "Identity provider", "HR portal",
            "Service desk", "CRM", "Billing", "Trading desk", "Document archive", "ERP finance",
            "ERP logistics", "Print service", "Video conferencing", "Chat", "File shares",
            "Backup", "Monitoring", "CI/CD", "Source control", "Kubernetes platform", "DNS",
            "Load balancers", "Network core", "Wi-Fi", "Telephony", "Contact centre", "Web shop",
            "Search", "Recommendations", "Fraud detection", "Reporting", "API gateway", "SFTP hub",
        ]  # fmt: skip
        rows = []
        for name in names:
            tier = rng.choices([1, 2, 3, 4], weights=[20, 30, 30, 20])[0]
            rows.append(
                Service(
                    name=f"{SERVICE_PREFIX}{name}",
                    tier=tier,
                    owner=self.users["mim2"],
                    business_process=name,
                    customer_facing=tier <= 2 and rng.random() < 0.6,
                    regulated=rng.random() < 0.2,
                    vendor=rng.choice(["", "", "Acme Cloud", "NetCo", "SoftVendor"]),
                    cost_per_minute=Decimal(rng.choice([2, 5, 20, 50, 100, 250]) * (5 - tier)),
                )
            )
        self.services = bulk(Service, rows)
        # Some services fail far more often than others (repeat incidents).
        self.service_weights = [1 / (i + 1) ** 0.8 for i in range(len(self.services))]
        return f"({len(rows)} services)"

    def _incidents(self, n: int) -> str:
        rng, now = self.rng, self.now
        policy = dict(SeverityPolicy.objects.values_list("severity", "update_cadence_minutes"))
        start = now - timedelta(days=3 * 365)
        span = (now - timedelta(hours=3) - start).total_seconds()  # every incident is reported by now
        starts = sorted(start + timedelta(seconds=rng.random() * span) for _ in range(n))
        per_year: dict[int, int] = {}
        for ref in Incident.objects.filter(reference__startswith="MI-").values_list("reference", flat=True):
            year, _, number = ref.removeprefix("MI-").partition("-")
            if year.isdigit() and number.isdigit():
                per_year[int(year)] = max(per_year.get(int(year), 0), int(number))

        def minutes(lo: float, hi: float) -> timedelta:
            return timedelta(minutes=rng.uniform(lo, hi))

        incidents = []
        for t0 in starts:
            severity = rng.choices([1, 2, 3, 4], weights=[10, 35, 35, 20])[0]
            t = {"impact_started_at": t0}
            t["detected_at"] = t0 + minutes(1, 45)
            t["reported_at"] = t["detected_at"] + minutes(0, 20)
            t["acknowledged_at"] = t["reported_at"] + minutes(1, 15)
            t["declared_at"] = t["reported_at"] + minutes(2, 30)
            t["team_assembled_at"] = max(t["acknowledged_at"], t["declared_at"]) + minutes(5, 30)
            t["restored_at"] = t["team_assembled_at"] + timedelta(minutes=math.exp(rng.gauss(4.6, 0.9)))
            t["validated_at"] = t["restored_at"] + minutes(10, 120)
            t["closed_at"] = t["validated_at"] + minutes(60, 5 * 24 * 60)
            roll = rng.random()
            if roll < 0.04:
                target = IncidentState.NOT_MAJOR
            elif roll < 0.06:
                target = IncidentState.CANCELLED
            else:
                target = IncidentState.CLOSED
            # Walk back from closed to what has happened by now.
            order = ["closed_at", "validated_at", "restored_at", "declared_at"]
            state = target
            if target == IncidentState.CLOSED:
                states = [IncidentState.CLOSED, IncidentState.VALIDATED, IncidentState.RESTORED]
                for field, st in zip(order, [*states, IncidentState.DECLARED], strict=True):
                    if t[field] <= now:
                        state = st
                        break
                else:
                    state = IncidentState.REPORTED
            keep = {
                IncidentState.CLOSED: 9,
                IncidentState.VALIDATED: 8,
                IncidentState.RESTORED: 7,
                IncidentState.DECLARED: 6,
                IncidentState.REPORTED: 3,
                IncidentState.NOT_MAJOR: 4,
                IncidentState.CANCELLED: 6,
            }[state]
            names = [
                "impact_started_at", "detected_at", "reported_at", "acknowledged_at", "declared_at",
                "team_assembled_at", "restored_at", "validated_at", "closed_at",
            ]  # fmt: skip
            times = {name: (t[name] if i < keep and t[name] <= now else None) for i, name in enumerate(names)}
            if state == IncidentState.NOT_MAJOR:
                times["declared_at"] = None
            if state == IncidentState.DECLARED and times["team_assembled_at"] is None:
                pass  # the team is still assembling
            year = times["reported_at"].year
            per_year[year] = per_year.get(year, 0) + 1
            svc = rng.choices(self.services, weights=self.service_weights, k=rng.choice([1, 1, 1, 2]))
            incident = Incident(
                reference=f"MI-{year}-{per_year[year]:04d}",
                title=f"{svc[0].business_process}: {rng.choice(['outage', 'degraded', 'errors', 'slow'])}",
                description="Users report failures; monitoring confirms elevated error rates.",
                severity=severity,
                state=state,
                users_affected=rng.choice([None, 50, 500, 5000, 50000]),
                estimated_downtime_minutes=rng.choice([None, 30, 60, 240]),
                revenue_impact=rng.random() < 0.3,
                regulatory_risk=rng.random() < 0.1,
                executive_visibility=severity == 1,
                criteria_met=["service_tier"] + (["revenue_impact"] if severity == 1 else []),
                declaration_suggested=severity <= 2,
                response_effort_hours=Decimal(rng.randint(2, 80)),
                reopen_count=1 if rng.random() < 0.03 else 0,
                created_by=self.users["mim"],
                **times,
            )
            incident._bench_services = svc
            incidents.append(incident)
        self.incidents = bulk(Incident, incidents)
        through = Incident.services.through
        bulk(
            through,
            [
                through(incident_id=i.pk, service_id=s.pk)
                for i in self.incidents
                for s in {x.pk: x for x in i._bench_services}.values()
            ],
        )
        roles, validations = [], []
        for i in self.incidents:
            if i.declared_at is None:
                continue
            roles.append(
                IncidentRole(incident=i, role=RoleKind.MIM, user=self.users["mim"], assigned_at=i.reported_at)
            )
            roles.append(
                IncidentRole(
                    incident=i,
                    role=RoleKind.TECHNICAL_LEAD,
                    user=rng.choice(self.owners),
                    assigned_at=i.team_assembled_at or i.declared_at,
                    assigned_by=self.users["mim"],
                )
            )
            if i.validated_at is not None:
                validations.append(
                    RecoveryValidation(
                        incident=i,
                        service_restored=True,
                        users_still_affected=False,
                        workarounds_still_needed=False,
                        monitoring_stable=True,
                        residual_risks_open=False,
                        business_confirmed_by="Head of Operations",
                        business_confirmed_at=i.validated_at,
                        updated_by=self.users["mim"],
                    )
                )
        bulk(IncidentRole, roles)
        bulk(RecoveryValidation, validations)
        self.policy = policy
        states: dict[str, int] = {}
        for i in self.incidents:
            states[str(i.state)] = states.get(str(i.state), 0) + 1
        return (
            f"({len(self.incidents)} incidents: {states}; {len(roles)} roles, {len(validations)} validations)"
        )

    def _timeline(self, per_incident: int) -> str:
        rng, now = self.rng, self.now
        mim, total = self.users["mim"], 0
        batch: list[TimelineEntry] = []
        for i in self.incidents:
            fixed = [
                (i.detected_at, EntryKind.DETECTION, "Monitoring alert; impact confirmed."),
                (i.declared_at, EntryKind.DECLARATION, "Declared a major incident."),
                (i.restored_at, EntryKind.RECOVERY, "Service restored."),
                (i.validated_at, EntryKind.VALIDATION, "Recovery validated with the business."),
                (i.closed_at, EntryKind.STATE_CHANGE, "Closed."),
            ]
            rows = [(at, kind, text) for at, kind, text in fixed if at is not None]
            end = i.closed_at or i.restored_at or min(now, i.reported_at + timedelta(hours=12))
            lo, span = i.impact_started_at, max((end - i.impact_started_at).total_seconds(), 60)
            kinds = [EntryKind.ACTION, EntryKind.NOTE, EntryKind.COMMUNICATION, EntryKind.ESCALATION,
                     EntryKind.DECISION, EntryKind.ROLE_CHANGE, EntryKind.VENDOR]  # fmt: skip
            while len(rows) < per_incident:
                kind = rng.choices(kinds, weights=[40, 25, 15, 6, 6, 5, 3])[0]
                at = lo + timedelta(seconds=rng.random() * span)
                rows.append((at, kind, f"{kind.label}: step {len(rows) + 1} of the response."))
            for at, kind, text in rows[:per_incident]:
                decision = kind == EntryKind.DECISION
                batch.append(
                    TimelineEntry(
                        incident=i,
                        kind=kind,
                        occurred_at=at,
                        author=mim,
                        text=text,
                        rationale="Fastest safe path to restore service." if decision else "",
                        alternatives="Wait for the vendor fix." if decision else "",
                        decided_by=mim if decision else None,
                        pinned=decision and rng.random() < 0.3,
                    )
                )
            if len(batch) >= 10 * BATCH:
                total += len(bulk(TimelineEntry, batch))
                batch = []
        total += len(bulk(TimelineEntry, batch))
        return f"({total} entries)"

    def _updates(self) -> str:
        rng, now = self.rng, self.now
        rows = []
        for i in self.incidents:
            if i.declared_at is None:
                continue
            cadence = timedelta(minutes=self.policy.get(i.severity, 60))
            end = i.restored_at or now
            at = i.declared_at
            for n in range(8):
                at = at + cadence * rng.uniform(0.5, 1.25)
                if at > end:
                    break
                rows.append(
                    StatusUpdate(
                        incident=i,
                        kind=UpdateKind.INITIAL if n == 0 else UpdateKind.PROGRESS,
                        audience=rng.choice(list(Audience)),
                        affected_service=i.title.split(":")[0],
                        business_impact="Customers cannot complete payments.",
                        current_status="Investigating; failover in progress.",
                        next_update_due_at=at + cadence,
                        subject=f"[{i.reference}] Update {n + 1}",
                        body="Status as of now.",
                        state=UpdateState.SENT,
                        sent_at=at,
                        created_by=self.users["mim"],
                    )
                )
            if i.restored_at is not None:
                rows.append(
                    StatusUpdate(
                        incident=i,
                        kind=UpdateKind.RECOVERY,
                        audience=Audience.BUSINESS,
                        affected_service=i.title.split(":")[0],
                        business_impact="Resolved.",
                        current_status="Service restored.",
                        subject=f"[{i.reference}] Restored",
                        state=UpdateState.SENT,
                        sent_at=i.restored_at,
                        created_by=self.users["mim"],
                    )
                )
        bulk(StatusUpdate, rows)
        return f"({len(rows)} sent updates)"
