"""Admin: configuration goes through the services; incidents are read-only there."""

from incidents.models import Service


def test_admin_pages_open_and_incidents_are_read_only(client, make_user, walk):
    incident = walk("declared")
    superuser = make_user("root", is_superuser=True, is_staff=True)
    client.force_login(superuser)
    for url in ["/admin/incidents/service/", "/admin/incidents/declarationcriterion/", "/admin/incidents/incident/",
                "/admin/incidents/severitypolicy/", "/admin/incidents/statusupdatetemplate/",
                f"/admin/incidents/incident/{incident.pk}/change/"]:  # fmt: skip
        assert client.get(url).status_code == 200, url
    assert client.get("/admin/incidents/incident/add/").status_code == 403
    page = client.get(f"/admin/incidents/incident/{incident.pk}/change/").content.decode()
    assert 'name="_save"' not in page


def test_a_service_saved_in_the_admin_goes_through_the_service_layer(client, make_user):
    superuser = make_user("root", is_superuser=True, is_staff=True)
    client.force_login(superuser)
    response = client.post(
        "/admin/incidents/service/add/",
        {
            "name": "ERP",
            "tier": 1,
            "cost_per_minute": "75.00",
            "business_process": "Finance",
            "vendor": "",
            "active": "on",
        },
    )
    assert response.status_code == 302
    erp = Service.objects.get(name="ERP")
    assert erp.cost_per_minute == 75 and erp.pgh_event_model.objects.filter(pgh_obj=erp).exists()
