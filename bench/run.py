"""Benchmarks of DESIGN §10 / issue 10 against a gunicorn server, beside the floor view.

    DATABASE_URL=postgres://…/vg_bench uv run python bench/run.py [--requests 200] [--duration 10]

Assumes DATABASE_URL points at a database seeded with `manage.py seed_bench`. See bench/README.md.
"""

from __future__ import annotations

import argparse
import os
import platform
import re
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path

import requests

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "bench" / "results"
PASSWORD = "bench-password"
USER = "bench-leader"  # leadership: sees every scope, the heaviest case for lists and dashboards

# (ratio of median, ratio of p95) to the floor that issue 10 allows, per kind of endpoint.
TARGETS = {"list": (3, 5), "detail": (3, 5), "aggregate": (5, 8), "floor": (1, 1)}


@dataclass
class Endpoint:
    name: str
    path: str
    kind: str  # floor | list | detail | aggregate
    auth: str  # none | session | token
    note: str = ""
    latencies: list[float] = field(default_factory=list)
    rps: float | None = None
    errors: int = 0
    queries: int | None = None
    computed_queries: int | None = None
    computed_ms: float | None = None
    # The floor view measured alternately with this endpoint (one floor request before each of its
    # requests), so that the ratio compares like with like on a host whose speed drifts.
    floor_latencies: list[float] = field(default_factory=list)

    @property
    def median(self) -> float:
        return statistics.median(self.latencies) * 1000

    @property
    def p95(self) -> float:
        return _p95(self.latencies)

    @property
    def floor_median(self) -> float | None:
        return statistics.median(self.floor_latencies) * 1000 if self.floor_latencies else None

    @property
    def floor_p95(self) -> float | None:
        return _p95(self.floor_latencies) if self.floor_latencies else None


def _p95(latencies: list[float]) -> float:
    return statistics.quantiles(latencies, n=20, method="inclusive")[18] * 1000


# --- in-process part: ids, routes, query counts, PDF -------------------------------------------------
# The per-user API throttle (2000/minute by default) would answer 429 under load, and to the
# in-process query counts after a few runs: lift it, we measure the application, not the limiter.
# Nothing else differs from a deployment.
UNTHROTTLED = "10000000/minute"


def django_setup() -> None:
    sys.path.insert(0, str(ROOT))
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    os.environ["VALUEGATE_THROTTLE_USER"] = UNTHROTTLED
    import django

    django.setup()


def pick_subjects() -> dict:
    """The largest program, a measure in it with milestones and values, an incident with the most
    timeline entries (20+), and the benchmark user."""
    from django.contrib.auth import get_user_model
    from django.db.models import Count

    from incidents.models import Incident
    from measures.models import Measure, Scope

    user = get_user_model().objects.filter(username=USER).first()
    if user is None:
        sys.exit(f"No user {USER}: seed the database first (uv run manage.py seed_bench).")
    programs = Scope.objects.filter(kind="program", path__startswith=_root_path())
    counts = {
        p: Measure.objects.filter(package__path__startswith=p.path).count() for p in programs.order_by("pk")
    }
    program = max(counts, key=counts.get)
    measure = (
        Measure.objects.filter(package__path__startswith=program.path, stage__in=["decided", "implemented"])
        .annotate(n=Count("milestones"))
        .filter(n__gte=2)
        .order_by("pk")
        .first()
    ) or Measure.objects.filter(package__path__startswith=program.path).order_by("pk").first()
    incident = (
        Incident.objects.annotate(n=Count("timeline"))
        .filter(n__gte=20, state="closed")
        .order_by("-reported_at")
        .first()
    )
    if incident is None:
        sys.exit("No incident with 20+ timeline entries: seed with --timeline-per-incident 20.")
    return {
        "user": user,
        "program": program,
        "program_measures": counts[program],
        "measure": measure,
        "incident": incident,
    }


def _root_path() -> str:
    from measures.models import Scope

    root = Scope.objects.filter(parent__isnull=True, name="Bench portfolio").first()
    return root.path if root else "/"


def endpoints(s: dict) -> list[Endpoint]:
    program, measure, incident = s["program"].pk, s["measure"].pk, s["incident"].pk
    return [
        Endpoint("floor: /healthz/", "/healthz/", "floor", "none"),
        Endpoint("leadership dashboard", "/", "aggregate", "session"),
        Endpoint("scope dashboard (program)", f"/dashboard/scopes/{program}/", "aggregate", "session"),
        Endpoint("measure list page", f"/measures/?scope={program}", "list", "session"),
        Endpoint("measure list API (50)", f"/api/v1/measures/?page_size=50&scope={program}", "list", "token"),
        Endpoint("measure detail page", f"/measures/{measure}/", "detail", "session"),
        Endpoint("measure detail API", f"/api/v1/measures/{measure}/", "detail", "token"),
        Endpoint("scope figures roll-up API", f"/api/v1/scopes/{program}/figures/", "aggregate", "token"),
        Endpoint("incident metrics API (all)", "/api/v1/metrics/incidents/", "aggregate", "token"),
        Endpoint("incident detail page", f"/incidents/{incident}/", "detail", "session"),
        Endpoint("incident detail API", f"/api/v1/incidents/{incident}/", "detail", "token"),
    ]


def route_exists(path: str) -> bool:
    from django.urls import Resolver404, resolve

    try:
        resolve(path.split("?")[0])
    except Resolver404:
        return False
    return True


def count_queries(eps: list[Endpoint], user, computed_runs: int = 5) -> None:
    """Each endpoint's query count in-process with the test client: served from the read cache
    (second call) and computed with the cache off (ADR 0014), with the computed path's median time."""
    from django.db import connection
    from django.test import Client
    from django.test.utils import CaptureQueriesContext, override_settings
    from rest_framework.authtoken.models import Token

    token, _ = Token.objects.get_or_create(user=user)
    session = Client()
    session.force_login(user)
    api = Client(HTTP_AUTHORIZATION=f"Token {token.key}")
    for ep in eps:
        client = {"session": session, "token": api, "none": Client()}[ep.auth]
        client.get(ep.path)
        with CaptureQueriesContext(connection) as ctx:
            response = client.get(ep.path)
        if response.status_code != 200:
            ep.note = f"in-process status {response.status_code}"
        ep.queries = len(ctx.captured_queries)
        with override_settings(
            CACHES={"default": {"BACKEND": "django.core.cache.backends.dummy.DummyCache"}}
        ):
            with CaptureQueriesContext(connection) as ctx:
                client.get(ep.path)
            ep.computed_queries = len(ctx.captured_queries)
            times = []
            for _ in range(computed_runs):
                start = time.perf_counter()
                client.get(ep.path)
                times.append((time.perf_counter() - start) * 1000)
            ep.computed_ms = statistics.median(times)


def steering_pack(program) -> tuple[list[float], int, int]:
    """Render the steering pack of the largest program in-process: times of three runs, pages, bytes."""
    from reporting import reports
    from reporting.pdf import render_pdf

    spec = reports.spec_for("steering_pack")
    times, pages, size = [], 0, 0
    for _ in range(3):
        start = time.perf_counter()
        subject = spec.subject(None, program.pk)
        pdf, pages = render_pdf(spec.template, reports.build(spec, subject))
        times.append(time.perf_counter() - start)
        size = len(pdf)
    return times, pages, size


def data_size() -> str:
    from django.apps import apps

    labels = [
        "measures.Measure",
        "measures.EffectLine",
        "measures.EffectValue",
        "measures.Milestone",
        "incidents.Incident",
        "incidents.TimelineEntry",
        "incidents.StatusUpdate",
    ]
    parts = []
    for label in labels:
        try:
            model = apps.get_model(label)
        except LookupError:
            continue
        parts.append(f"{model.__name__} {model.objects.count():,}")
    return ", ".join(parts)


# --- the server ------------------------------------------------------------------------------------
def _dashboard_forecast(html: str) -> Decimal:
    """The recurring forecast of the scope dashboard: the sum of its "Value by DoI" column (each
    cell printed rounded to whole units)."""
    cells = re.findall(
        r'<th scope="row">DoI \d[^<]*</th><td class="num">[^<]*</td>\s*'
        r'<td class="num">[^<]*</td><td class="num">([^<]*)</td>',
        html,
    )
    return sum((Decimal(re.sub(r"[^\d.-]", "", cell) or 0) for cell in cells), Decimal(0))


def freshness(
    base: str, api: requests.Session, pages: requests.Session, subjects: dict, attempts: int = 5
) -> tuple[list[float], list[float]]:
    """Seconds from a committed change of an effect value (through the service, as a user would
    make it) until the program's roll-up API, and then its dashboard page, served by gunicorn show
    it (issue 10: ≤ 60 s)."""
    from measures.models import EffectValue
    from measures.services import effects

    program = subjects["program"]
    url = f"{base}/api/v1/scopes/{program.pk}/figures/"
    page = f"{base}/dashboard/scopes/{program.pk}/"
    value = (
        EffectValue.objects.filter(
            measure__package__path__startswith=program.path,
            measure__stage__in=["decided", "implemented"],
            series="forecast",
            line__nature="benefit",
            line__recurrence="recurring",
        )
        .select_related("measure__owner")
        .order_by("pk")
        .first()
    )
    if value is None:
        return [], []

    def rollup() -> Decimal:
        return Decimal(api.get(url, timeout=60).json()["forecast"]["recurring"])

    def dashboard() -> Decimal:
        return _dashboard_forecast(pages.get(page, timeout=60).text)

    def wait(read, expected, changed: float, tolerance: Decimal) -> float:
        while abs(read() - expected) > tolerance:
            if time.perf_counter() - changed > 120:
                return float("inf")
            time.sleep(0.05)
        return time.perf_counter() - changed

    api_seconds, page_seconds = [], []
    rows = len(DOI_ROWS)
    for attempt in range(attempts):
        before, page_before = rollup(), dashboard()
        step = Decimal("1000.00") if attempt % 2 == 0 else Decimal("-1000.00")
        value.refresh_from_db()
        effects.effect_value_update(value=value, amount=value.amount + step, by=value.measure.owner)
        changed = time.perf_counter()
        api_seconds.append(wait(rollup, before + step, changed, Decimal(0)))
        # Each DoI row is rounded to whole units on the page.
        page_seconds.append(wait(dashboard, page_before + step, changed, Decimal(rows)))
    return api_seconds, page_seconds


DOI_ROWS = range(6)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def start_gunicorn(port: int) -> subprocess.Popen:
    env = dict(os.environ)  # DATABASE_URL, REDIS_URL, DATABASE_CONN_MAX_AGE … pass through unchanged
    env["VALUEGATE_THROTTLE_USER"] = UNTHROTTLED
    env["DJANGO_SETTINGS_MODULE"] = "config.settings"
    command = [
        sys.executable, "-m", "gunicorn", "config.wsgi",
        "-w", "2", "-b", f"127.0.0.1:{port}", "--log-level", "warning", "--timeout", "120",
    ]  # fmt: skip
    proc = subprocess.Popen(command, cwd=ROOT, env=env)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            sys.exit("gunicorn exited during start-up.")
        try:
            if requests.get(f"http://127.0.0.1:{port}/healthz/", timeout=1).status_code == 200:
                return proc
        except requests.RequestException:  # not listening yet, or a worker still booting
            time.sleep(0.2)
    proc.terminate()
    sys.exit("gunicorn did not answer /healthz/ within 30 s.")


def login(base: str) -> tuple[requests.Session, requests.Session, str, str]:
    """A browser-like session through the login form (with its CSRF token), and an API token."""
    pages = requests.Session()
    form = pages.get(f"{base}/accounts/login/", timeout=10)
    match = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', form.text)
    if not match:
        sys.exit("No CSRF token in the login form.")
    done = pages.post(
        f"{base}/accounts/login/",
        data={"username": USER, "password": PASSWORD, "csrfmiddlewaretoken": match.group(1)},
        headers={"Referer": f"{base}/accounts/login/"},
        timeout=10,
        allow_redirects=False,
    )
    if done.status_code != 302 or "sessionid" not in pages.cookies:
        sys.exit(f"Login failed (status {done.status_code}).")
    answer = requests.post(
        f"{base}/api/v1/auth/token/", json={"username": USER, "password": PASSWORD}, timeout=10
    )
    answer.raise_for_status()
    token = answer.json()["token"]
    api = requests.Session()
    api.headers["Authorization"] = f"Token {token}"
    cookie = f"sessionid={pages.cookies['sessionid']}; csrftoken={pages.cookies.get('csrftoken', '')}"
    return pages, api, cookie, token


def sequential(
    ep: Endpoint,
    client: requests.Session,
    base: str,
    n: int,
    warmup: int,
    budget: float = 90,
    floor: requests.Session | None = None,
) -> None:
    """Warm-up, then up to n timed requests; an endpoint that takes seconds per request stops
    after `budget` seconds with at least 5 samples (noted in the report). With `floor`, each timed
    request is preceded by a timed request of the floor view."""
    url = base + ep.path
    began = time.monotonic()
    for _ in range(warmup):
        client.get(url, timeout=600)
        if time.monotonic() - began > budget / 3:
            break
    began = time.monotonic()
    for _ in range(n):
        if floor is not None:
            start = time.perf_counter()
            floor.get(f"{base}/healthz/", timeout=60)
            ep.floor_latencies.append(time.perf_counter() - start)
        start = time.perf_counter()
        response = client.get(url, timeout=600)
        ep.latencies.append(time.perf_counter() - start)
        if response.status_code != 200:
            ep.errors += 1
        if len(ep.latencies) >= 5 and time.monotonic() - began > budget:
            ep.note = f"only {len(ep.latencies)} sequential samples (over {budget:.0f} s)"
            break


def drain(base: str) -> None:
    """Wait until the workers are idle again (requests of the load phase still queued)."""
    deadline = time.monotonic() + 900
    while time.monotonic() < deadline:
        try:
            requests.get(f"{base}/healthz/", timeout=1)
            return
        except requests.RequestException:
            continue


def throughput_wrk(ep: Endpoint, base: str, headers: dict, duration: int, concurrency: int) -> None:
    command = ["wrk", "-t", "2", "-c", str(concurrency), "-d", f"{duration}s", "--timeout", "30s"]
    for key, value in headers.items():
        command += ["-H", f"{key}: {value}"]
    out = subprocess.run([*command, base + ep.path], capture_output=True, text=True, check=True).stdout
    match = re.search(r"Requests/sec:\s+([\d.]+)", out)
    ep.rps = float(match.group(1)) if match else None
    bad = re.search(r"Non-2xx or 3xx responses:\s+(\d+)", out)
    ep.errors += int(bad.group(1)) if bad else 0


def throughput_threads(ep: Endpoint, base: str, headers: dict, duration: int, concurrency: int) -> None:
    done, bad = [0] * concurrency, [0] * concurrency
    stop = time.monotonic() + duration

    def worker(i: int) -> None:
        session = requests.Session()
        session.headers.update(headers)
        while time.monotonic() < stop:
            if session.get(base + ep.path, timeout=60).status_code != 200:
                bad[i] += 1
            done[i] += 1

    threads = [threading.Thread(target=worker, args=(i,)) for i in range(concurrency)]
    start = time.monotonic()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    ep.rps = sum(done) / (time.monotonic() - start)
    ep.errors += sum(bad)


# --- report ---------------------------------------------------------------------------------------------
def table(eps: list[Endpoint], floor: Endpoint) -> list[str]:
    rows = [
        "| endpoint | median ms | p95 ms | req/s (c=8) | queries | floor alongside ms | median × floor "
        "| p95 × floor | target | ok | computed: ms in-process / queries |",
        "|---|--:|--:|--:|--:|--:|--:|--:|---|---|--:|",
    ]
    for ep in eps:
        if not ep.latencies:
            continue
        # The floor measured alternately with the endpoint when there is one, else the floor's own run.
        floor_median = ep.floor_median or floor.median
        floor_p95 = ep.floor_p95 or floor.p95
        m_ratio, p_ratio = ep.median / floor_median, ep.p95 / floor_p95
        limit = TARGETS[ep.kind]
        ok = (
            "—"
            if ep.kind == "floor"
            else ("yes" if m_ratio <= limit[0] and p_ratio <= limit[1] else "**no**")
        )
        if ep.errors:
            ok += f" ({ep.errors} non-200)"
        target = "—" if ep.kind == "floor" else f"≤{limit[0]}× / ≤{limit[1]}×"
        computed = "—" if ep.computed_ms is None else f"{ep.computed_ms:.1f} / {ep.computed_queries}"
        rps = "—" if ep.rps is None else (f"{ep.rps:.0f}" if ep.rps >= 10 else f"{ep.rps:.1f}")
        rows.append(
            f"| {ep.name} | {ep.median:.1f} | {ep.p95:.1f} | {rps} | {ep.queries if ep.queries is not None else '—'} "
            f"| {floor_median:.1f} / {floor_p95:.1f} | {m_ratio:.1f} | {p_ratio:.1f} | {target} | {ok} | {computed} |"
        )
    return rows


def machine() -> str:
    cpu = ""
    try:
        cpu = next(
            line.split(":", 1)[1].strip()
            for line in Path("/proc/cpuinfo").read_text().splitlines()
            if line.startswith("model name")
        )
    except (OSError, StopIteration):
        cpu = platform.processor()
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("SHOW server_version")
        pg = cursor.fetchone()[0]
    commit = subprocess.run(
        ["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True, text=True
    ).stdout.strip()
    return (
        f"{platform.node()}: {os.cpu_count()} CPUs ({cpu}), Python {platform.python_version()}, "
        f"PostgreSQL {pg}, commit {commit or '?'}"
    )


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--requests", type=int, default=200, help="Sequential requests per endpoint.")
    parser.add_argument("--warmup", type=int, default=10, help="Requests before measuring.")
    parser.add_argument("--duration", type=int, default=10, help="Seconds of load per endpoint.")
    parser.add_argument("--concurrency", type=int, default=8)
    parser.add_argument("--no-wrk", action="store_true", help="Use Python threads even if wrk exists.")
    parser.add_argument("--only", default="", help="Comma-separated substrings of endpoint names.")
    args = parser.parse_args()
    if not os.environ.get("DATABASE_URL"):
        sys.exit("Set DATABASE_URL to the seeded PostgreSQL database (see bench/README.md).")

    # A SIGTERM (e.g. `timeout`) must still stop gunicorn: turn it into SystemExit so `finally` runs.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit("Terminated."))
    django_setup()
    subjects = pick_subjects()
    eps, notes = [], []
    for ep in endpoints(subjects):
        if args.only and ep.kind != "floor" and not any(s in ep.name for s in args.only.split(",")):
            continue
        if route_exists(ep.path):
            eps.append(ep)
        else:
            notes.append(f"Skipped {ep.name}: no route {ep.path.split('?')[0]} yet.")
    for note in notes:
        print(note)
    print(f"Data: {data_size()}")
    print(
        f"Subjects: program #{subjects['program'].pk} {subjects['program'].name} "
        f"({subjects['program_measures']} measures), measure #{subjects['measure'].pk}, "
        f"incident #{subjects['incident'].pk}"
    )
    print("Counting queries in-process …", flush=True)
    count_queries(eps, subjects["user"])
    for ep in eps:
        print(
            f"  {ep.name}: {ep.queries} queries cached; computed {ep.computed_ms:.1f} ms, "
            f"{ep.computed_queries} queries {ep.note}",
            flush=True,
        )
    print("Rendering the steering pack in-process …", flush=True)
    pdf_times, pdf_pages, pdf_bytes = steering_pack(subjects["program"])
    print(f"  {pdf_pages} pages, {min(pdf_times):.2f} s", flush=True)
    from django.db import connections

    connections.close_all()

    port = free_port()
    base = f"http://127.0.0.1:{port}"
    wrk = shutil.which("wrk") and not args.no_wrk
    print(f"Starting gunicorn (2 workers) on {base}; load with {'wrk' if wrk else 'threads'} …")
    server = start_gunicorn(port)
    try:
        pages, api, cookie, token = login(base)
        clients = {"none": requests.Session(), "session": pages, "token": api}
        headers = {"none": {}, "session": {"Cookie": cookie}, "token": {"Authorization": f"Token {token}"}}
        for ep in eps:
            print(f"  {ep.name} …", flush=True)
            try:
                floor = clients["none"] if ep.kind != "floor" else None
                sequential(ep, clients[ep.auth], base, args.requests, args.warmup, floor=floor)
                load = throughput_wrk if wrk else throughput_threads
                load(ep, base, headers[ep.auth], args.duration, args.concurrency)
            except (requests.RequestException, subprocess.CalledProcessError) as exc:
                ep.note = f"failed: {exc}"
            drain(base)
            if not ep.latencies:
                continue
            print(f"    median {ep.median:.1f} ms, p95 {ep.p95:.1f} ms, {ep.rps or 0:.1f} req/s", flush=True)
        print("  freshness of the roll-up after a change …", flush=True)
        fresh, fresh_page = freshness(base, api, pages, subjects)
    finally:
        server.terminate()
        server.wait(timeout=30)

    from django.conf import settings

    floor = eps[0]
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    lines = [
        f"# Benchmark {stamp}",
        "",
        f"- Machine: {machine()}",
        f"- Data: {data_size()}",
        f"- Server: gunicorn 2 sync workers, database connections kept {settings.DATABASES['default']['CONN_MAX_AGE']} s, "
        f"REDIS_URL {'set' if os.environ.get('REDIS_URL') else 'unset (local-memory cache)'}",
        f"- Latency: {args.requests} sequential requests after {args.warmup} warm-up; "
        f"req/s: concurrency {args.concurrency} for {args.duration} s ({'wrk' if wrk else 'Python threads'}); "
        "queries: in-process test client, second call (served from the read cache, ADR 0014); "
        "computed: the same request in-process with the cache off (what the first read after a write costs)",
        f"- User: {USER}; program #{subjects['program'].pk} ({subjects['program_measures']} measures), "
        f"measure #{subjects['measure'].pk}, incident #{subjects['incident'].pk}",
        "",
        *table(eps, floor),
        "",
        f"Steering pack (program #{subjects['program'].pk}, in-process): {pdf_pages} pages, "
        f"{pdf_bytes / 1024:.0f} KiB, render {min(pdf_times):.2f} s best / {max(pdf_times):.2f} s worst of 3 "
        f"(target: 20 pages ≤ 2 s)",
        "",
        "Freshness (change an effect value through the service, poll the program roll-up API, then the "
        "program's dashboard page, until they show it): "
        + (
            "API "
            + ", ".join(f"{x:.2f} s" for x in fresh)
            + "; page "
            + ", ".join(f"{x:.2f} s" for x in fresh_page)
            if fresh
            else "no forecast value to change"
        )
        + " (target ≤ 60 s)",
        *([""] + [f"- {n}" for n in notes] if notes else []),
        *[f"- {ep.name}: {ep.note}" for ep in eps if ep.note],
    ]
    text = "\n".join(lines) + "\n"
    print()
    print(text)
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / f"{stamp}.md").write_text(text)
    print(f"Written to {RESULTS.relative_to(ROOT) / (stamp + '.md')}")


if __name__ == "__main__":
    main()
