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
