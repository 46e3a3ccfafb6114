from django.urls import reverse

from incidents import selectors as incident_selectors
from reporting import dashboards


def test_dashboard_incident_figures_are_the_incident_selectors_figures(cast):
    section = dashboards.incident_section(user=cast["leader"])
    filters = incident_selectors.MetricFilters(date_from=section.period_from, date_to=section.period_to)
    assert section.metrics == incident_selectors.incident_metrics(user=cast["leader"], filters=filters)


def test_home_shows_the_dashboard_with_roles(client, cast, tree):
    client.force_login(cast["pm"])
    page = client.get(reverse("reporting:home")).content.decode()
    assert "Leadership dashboard" in page
    assert "Your scopes" in page
    assert f'href="/dashboard/scopes/{tree.program.pk}/"' in page


def test_scope_dashboard_is_404_outside_the_users_scopes(client, cast, tree):
    client.force_login(cast["pm"])
    assert client.get(f"/dashboard/scopes/{tree.program.pk}/").status_code == 200
    assert client.get(f"/dashboard/scopes/{tree.other_program.pk}/").status_code == 404


def test_controller_inbox_page_renders_empty_states(client, cast):
    client.force_login(cast["controller"])
    page = client.get("/inbox/controller/").content.decode()
    assert "No gate waits for you." in page
    assert "No closure waits for your sign-off." in page


def test_dashboard_value_figures_are_the_measure_selectors_figures(cast, tree):
    from measures import services as measure_services
    from measures.selectors import figures as figure_selectors

    measure_services.measure_create(by=cast["pm"], title="A", objective="B", package=tree.package)
    section = dashboards.value_section(user=cast["pm"], scope=tree.program)
    assert section.figures == figure_selectors.scope_figures(scope=tree.program, user=cast["pm"])
    assert section.by_doi == figure_selectors.value_by_doi(user=cast["pm"], scope=tree.program)
    assert section.figures.measure_count == 1
    assert [row.count for row in section.by_doi] == [1, 0, 0, 0, 0, 0]


def test_program_manager_dashboard_shows_only_their_scopes(cast, tree):
    from measures import services as measure_services

    measure_services.measure_create(by=cast["pm"], title="Mine", objective="B", package=tree.package)
    measure_services.measure_create(
        by=cast["outsider"], title="Theirs", objective="B", package=tree.other_package
    )
    assert dashboards.leadership_dashboard(user=cast["pm"]).value.figures.measure_count == 1
    assert dashboards.leadership_dashboard(user=cast["leader"]).value.figures.measure_count == 2


def test_scope_dashboard_lists_overdue_milestones_and_pending_gates(client, cast, tree):
    client.force_login(cast["pm"])
    page = client.get(f"/dashboard/scopes/{tree.program.pk}/").content.decode()
    assert "Overdue milestones" in page and "No milestone is overdue." in page
    assert "Pending gate requests" in page
    assert "Dual status: implementation × potential" in page


def test_nightly_snapshot_stores_the_scope_figures(cast, tree):
    import datetime as dt

    from measures import services as measure_services
    from reporting import services
    from reporting.models import Snapshot

    measure_services.measure_create(by=cast["pm"], title="A", objective="B", package=tree.package)
    services.snapshots_take(day=dt.date(2026, 11, 1))
    snap = Snapshot.objects.get(scope=tree.program, taken_on=dt.date(2026, 11, 1))
    assert snap.figures["measure_count"] == 1
    assert Snapshot.objects.get(scope=tree.other_program).figures["measure_count"] == 0


def test_dashboard_review_and_incident_breakdowns_come_from_their_selectors(cast):
    from incidents import selectors as incident_selectors
    from reviews import selectors as review_selectors

    dashboard = dashboards.leadership_dashboard(user=cast["leader"])
    reviews = dashboard.sections["reviews"]
    period = (dashboards._months_back(12), dashboards.timezone.localdate())
    assert reviews.completion == review_selectors.pir_completion(user=cast["leader"], period=period)
    assert reviews.overdue_count == review_selectors.overdue_actions(user=cast["leader"]).count()
    section = dashboard.incidents
    filters = incident_selectors.MetricFilters(date_from=section.period_from, date_to=section.period_to)
    assert section.breakdown == incident_selectors.incident_breakdown(user=cast["leader"], filters=filters)
