"""Cached reads (ADR 0014): a change shows on the very next read, each person gets only what was
computed for them, and the data version moves with every committed write to a covered table."""

from __future__ import annotations

import importlib
import re
from datetime import date

import pytest
from django.apps import apps
from django.contrib.auth.models import Group
from django.db import connection, transaction
from django.test import Client, RequestFactory

from measures import services
from measures.models import Measure
from readcache import selectors as readcache
from readcache.services import compact_changes
from tests.test_bench_queries import add_incident

pytestmark = pytest.mark.django_db

initial = importlib.import_module("readcache.migrations.0001_initial")

# Tables of ours that do not move the version, and why (everything else must).
EXEMPT = {
    "readcache_datachange": "the version's own rows",
    "readcache_datachangetotal": "the version's own rows",
    "measures_auditentry": "written only beside a covered table, in the same transaction",
    "measures_auditcheckpoint": "the audit log's anchor (ADR 0015), shown on no page",
    "measures_figurerow": "stored figures (ADR 0013), rewritten by reads; they follow covered tables",
    "measures_scopefigurerow": "stored figures (ADR 0013), rewritten by reads",
    "measures_figuredirty": "marks written by the figure triggers of covered tables",
    "measures_figurebasis": "the stored figures' day and settings, rewritten by reads",
}


def _ours() -> set[str]:
    tables = set()
    for label in ("measures", "incidents", "reviews", "reporting", "readcache"):
        for model in apps.get_app_config(label).get_models(include_auto_created=True):
            table = model._meta.db_table
            if not table.endswith("event"):  # pghistory events: written by triggers of tracked tables
                tables.add(table)
    return tables | {"auth_user", "auth_user_groups", "auth_group"}


def test_every_table_shown_on_a_page_moves_its_part_of_the_version():
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT c.relname, t.tgname, encode(t.tgargs, 'escape') FROM pg_trigger t "
            "JOIN pg_class c ON c.oid = t.tgrelid WHERE t.tgname LIKE 'readcache_%'"
        )
        rows = cursor.fetchall()
    covered: dict[str, set] = {}
    for table, trigger, args in rows:
        covered.setdefault(table, set()).add((trigger, args.removesuffix("\\000")))
    missing = []
    for table in sorted(_ours() - set(EXEMPT)):
        domain = initial.domain_of(table)
        expected = {(f"readcache_{event}", domain) for event in ("insert", "update", "delete", "truncate")}
        if covered.get(table) != expected:
            missing.append(table)
    assert not missing, f"add the readcache triggers (note_changes_sql) to: {missing}"


def test_each_write_moves_only_its_own_part_and_incident_reads_ignore_measures(cast, tree):
    before = readcache.data_version()
    measure = _measure(cast, tree)
    after_measure = readcache.data_version()
    assert after_measure["value"] > before["value"]
    assert after_measure["incidents"] == before["incidents"]
    add_incident(cast["mim"], 0)
    after_incident = readcache.data_version()
    assert after_incident["incidents"] > after_measure["incidents"]
    cast["pm"].groups.add(Group.objects.get_or_create(name="Somebody")[0])
    assert readcache.data_version()["people"] > after_incident["people"]
    assert measure.pk


def _kpi(html: str) -> str:
    return re.search(r"Major incidents</span><strong>(\d+)</strong>", html).group(1)


def test_a_new_incident_shows_at_once_in_metrics_and_on_the_dashboard(cast, tree):
    client = _client(cast["leader"])
    add_incident(cast["mim"], 0)
    assert client.get("/api/v1/metrics/incidents/").json()["incident_count"] == 1
    assert _kpi(client.get("/").content.decode()) == "1"
    _measure(cast, tree, "Unrelated edit")  # moves the dashboard's value part only
    assert "Unrelated edit" not in client.get("/api/v1/metrics/incidents/").content.decode()
    add_incident(cast["mim"], 0)
    assert client.get("/api/v1/metrics/incidents/").json()["incident_count"] == 2
    assert _kpi(client.get("/").content.decode()) == "2"


def test_a_measure_edit_leaves_the_cached_incident_metrics_in_place(
    cast, tree, django_assert_max_num_queries
):
    client = _client(cast["leader"])
    add_incident(cast["mim"], 0)
    client.get("/api/v1/metrics/incidents/")
    _measure(cast, tree, "Unrelated edit")
    with django_assert_max_num_queries(3):  # session, user and data version: served, not computed
        assert client.get("/api/v1/metrics/incidents/").json()["incident_count"] == 1


def _measure(cast, tree, title="Faster failover") -> Measure:
    return services.measure_create(
        by=cast["pm"], title=title, objective="Less downtime.", package=tree.package, owner=cast["owner"]
    )


def test_a_write_moves_the_version_a_statement_that_changes_nothing_does_not(cast, tree):
    before = readcache.data_version()
    measure = _measure(cast, tree)
    after = readcache.data_version()
    assert after != before
    Measure.objects.filter(pk=-1).update(title="nobody")
    assert readcache.data_version() == after
    Measure.objects.filter(pk=measure.pk).update(title="Renamed")
    assert readcache.data_version() != after


def test_a_rolled_back_write_leaves_the_version(cast, tree):
    before = readcache.data_version()
    with pytest.raises(RuntimeError), transaction.atomic():
        _measure(cast, tree)
        raise RuntimeError("undo")
    assert readcache.data_version() == before


def test_compaction_keeps_the_version_and_the_next_write_still_moves_it(cast, tree):
    _measure(cast, tree)
    before = readcache.data_version()
    compact_changes()
    assert readcache.data_version() == before
    with connection.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM readcache_datachange")
        assert cursor.fetchone()[0] == 0
    _measure(cast, tree, "Second")
    assert readcache.data_version() != before


def _get(user):
    request = RequestFactory().get("/")
    request.user = user
    return request


def test_same_minute_same_version_computes_once_a_new_minute_computes_again(cast, monkeypatch):
    calls = []

    def compute():
        calls.append(1)
        return len(calls)

    clock = [1_800_000_000.0]
    monkeypatch.setattr(readcache.time, "time", lambda: clock[0])
    assert readcache.cached_read("t", request=_get(cast["pm"]), key=1, compute=compute) == 1
    assert readcache.cached_read("t", request=_get(cast["pm"]), key=1, compute=compute) == 1
    assert readcache.cached_read("t", request=_get(cast["pm"]), key=2, compute=compute) == 2
    assert readcache.cached_read("t", request=_get(cast["leader"]), key=1, compute=compute) == 3
    clock[0] += readcache.FRESH_SECONDS
    assert readcache.cached_read("t", request=_get(cast["pm"]), key=1, compute=compute) == 4


def test_inside_a_callers_transaction_nothing_is_cached(cast):
    calls = []
    with transaction.atomic():
        for _ in range(2):
            readcache.cached_read("t", request=_get(cast["pm"]), key=0, compute=lambda: calls.append(1))
    assert len(calls) == 2


def _client(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def test_an_edit_shows_on_the_next_page_and_api_read(cast, tree):
    measure = _measure(cast, tree)
    page, api = _client(cast["pm"]), _client(cast["pm"])
    assert "Faster failover" in page.get(f"/measures/{measure.pk}/").content.decode()
    assert api.get(f"/api/v1/measures/{measure.pk}/").json()["title"] == "Faster failover"
    services.measure_update(measure=measure, by=cast["pm"], version=measure.version, title="Failover drills")
    assert "Failover drills" in page.get(f"/measures/{measure.pk}/").content.decode()
    assert api.get(f"/api/v1/measures/{measure.pk}/").json()["title"] == "Failover drills"


def test_a_new_effect_value_moves_the_cached_roll_up_and_dashboard(cast, tree):
    measure = _measure(cast, tree)
    line = services.effect_line_create(
        measure=measure, by=cast["owner"], account="pl_cost", annual_potential=1000
    )
    client = _client(cast["pm"])
    url = f"/api/v1/scopes/{tree.program.pk}/figures/"
    before = client.get(url).json()
    dashboard_before = client.get(f"/dashboard/scopes/{tree.program.pk}/").content.decode()
    services.effect_value_set(
        line=line, month=date.today().replace(day=1), series="plan", amount=4321, by=cast["owner"]
    )
    after = client.get(url).json()
    assert after != before
    assert client.get(f"/dashboard/scopes/{tree.program.pk}/").content.decode() != dashboard_before


def test_what_one_person_may_see_is_never_served_to_another(cast, tree):
    measure = _measure(cast, tree, "Payments secret measure")
    pm = _client(cast["pm"])
    assert pm.get(f"/measures/{measure.pk}/").status_code == 200
    assert pm.get(f"/api/v1/measures/{measure.pk}/").status_code == 200
    assert "Payments secret measure" in pm.get("/measures/").content.decode()
    outsider = _client(cast["outsider"])
    assert outsider.get(f"/measures/{measure.pk}/").status_code == 404
    assert outsider.get(f"/api/v1/measures/{measure.pk}/").status_code == 404
    assert "Payments secret measure" not in outsider.get("/measures/").content.decode()
    assert outsider.get(f"/dashboard/scopes/{tree.program.pk}/").status_code == 404


def test_a_cached_page_carries_the_readers_own_csrf_token_and_flash_messages(cast, tree):
    measure = _measure(cast, tree)
    first = Client(enforce_csrf_checks=True)
    first.force_login(cast["owner"])
    first.get(f"/measures/{measure.pk}/")  # fills the cache
    second = Client(enforce_csrf_checks=True)  # another browser of the same person: another cookie
    second.force_login(cast["owner"])
    html = second.get(f"/measures/{measure.pk}/").content.decode()
    assert "valuegate-csrf-placeholder" not in html
    action = f"/measures/{measure.pk}/comments/"
    form = re.search(rf'<form[^>]*action="{action}".*?</form>', html, re.S)
    assert form, "the comment form is on the page"
    token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', form.group(0)).group(1)
    response = second.post(action, {"csrfmiddlewaretoken": token, "body": "Looks good."}, follow=True)
    assert response.status_code == 200
    assert measure.comments.filter(body="Looks good.").exists()
    page = response.content.decode()
    assert "Comment added." in page and "Looks good." in page  # the flash message fills its hole
    assert "Comment added." not in second.get(f"/measures/{measure.pk}/").content.decode()  # once only
    assert "valuegate:messages" not in page
